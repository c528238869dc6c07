#!/usr/bin/env bash
# Clearline: what `npm run reset` runs. Empties the development data, so that the next
# `npm start` begins clean:
#
#   PostgreSQL  drops database "clearline" and creates it again (owner: role clearline),
#               then runs the migrations
#   RabbitMQ    deletes vhost "clearline" (its queues, messages, exchanges) and creates it
#               again, with full permissions for user clearline (and guest, as up.sh)
#   Redis       deletes the keys under the development prefix, REDIS_KEY_PREFIX
#               [clearline:], with SCAN and DEL; never the whole database
#
# Nothing else is touched: other databases and vhosts (every test run makes its own) and
# other keys stay. These are the names `npm start` uses by default; DATABASE_URL and
# AMQP_URL are not read, so a reset can never reach a server they point elsewhere.
#
# It asks first; --yes (or -y) skips the question: `npm run reset -- --yes`. With no
# terminal to ask on and no --yes it refuses. It refuses while Clearline runs (one of
# the service ports answers, or something is connected to the database).
#
# Environment: GATEWAY_PORT, LEDGER_PORT, REFUND_PORT, SETTLEMENT_PORT (the ports checked),
# REDIS_KEY_PREFIX, and the CLEARLINE_*_PORT / CLEARLINE_PG_HOST overrides of up.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

CL_USER=clearline
CL_PASS=clearline
CL_DB=clearline
CL_VHOST=clearline
PG_HOST=${CLEARLINE_PG_HOST:-127.0.0.1}
PG_PORT=${CLEARLINE_PG_PORT:-5432}
MGMT_URL="http://127.0.0.1:${CLEARLINE_MGMT_PORT:-15672}"
REDIS_PORT=${CLEARLINE_REDIS_PORT:-6379}
REDIS_PREFIX=${REDIS_KEY_PREFIX:-clearline:}
# Keys are deleted this many at a time (one DEL per batch).
REDIS_DEL_BATCH_MAX=500

ok() { printf '✓ %s\n' "$*"; }
die() {
  printf '✗ %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
  cat <<'TEXT'
Usage: npm run reset [-- --yes]

Drops and recreates the development database "clearline" and RabbitMQ vhost
"clearline", deletes the Redis keys under REDIS_KEY_PREFIX (clearline:), then runs
the migrations. Asks first unless --yes (-y). Refuses while Clearline is running.
TEXT
}

yes=0
for arg in "$@"; do
  case $arg in
    -y | --yes) yes=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $arg"
      ;;
  esac
done

# The same characters the gateway accepts (REDIS_KEY_PREFIX_PATTERN): no glob characters,
# so "<prefix>*" matches the keys under the prefix and nothing else.
[[ $REDIS_PREFIX =~ ^[A-Za-z0-9_.:-]{1,64}$ ]] ||
  die "REDIS_KEY_PREFIX may hold only letters, digits and _ . : - (1 to 64 of them)"

for tool in psql curl redis-cli; do
  have "$tool" || die "$tool not found: install it (psql: postgresql-client, redis-cli: redis-tools)"
done

# ------------------------------------------------------------------ is it running?

declare -A PORT=(
  [gateway]=${GATEWAY_PORT:-3000}
  [ledger]=${LEDGER_PORT:-3001}
  [refund]=${REFUND_PORT:-3002}
  [settlement]=${SETTLEMENT_PORT:-3003}
)
for svc in gateway ledger refund settlement; do
  if timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "${PORT[$svc]}" >/dev/null 2>&1; then
    die "port ${PORT[$svc]} ($svc) answers: Clearline seems to be running. Stop it first (Ctrl-C where npm start runs)."
  fi
done

# ------------------------------------------------------------------------ confirm

if [[ -n ${DATABASE_URL:-}${AMQP_URL:-} ]]; then
  echo "note: DATABASE_URL / AMQP_URL are not read; only the development names below are reset."
fi
cat <<TEXT
This deletes all Clearline development data on this machine:
  PostgreSQL  database "$CL_DB" on $PG_HOST:$PG_PORT (dropped, created again, migrated)
  RabbitMQ    vhost "$CL_VHOST" with every queue and message in it (deleted, created again)
  Redis       every key starting with "$REDIS_PREFIX" on 127.0.0.1:$REDIS_PORT
TEXT
if ((!yes)); then
  if [[ ! -t 0 ]]; then
    hint=""
    [[ ${npm_config_yes:-} == true ]] && hint=" (npm took --yes for itself: pass it after --)"
    die "no terminal to ask on: run npm run reset -- --yes to reset without asking$hint"
  fi
  read -r -p 'Type "reset" to go on: ' answer
  [[ $answer == reset ]] || die "nothing was changed"
fi

# ---------------------------------------------------------- dependencies, servers

bash infra/local/deps.sh
bash infra/local/up.sh

# --------------------------------------------------------------------- PostgreSQL

admin_dsn="postgres://${CL_USER}:${CL_PASS}@${PG_HOST}:${PG_PORT}/postgres"
psql_admin() { psql -X -w -q -v ON_ERROR_STOP=1 "$admin_dsn" "$@"; }

# A session left in the database would make DROP DATABASE fail; say whose it is instead.
sessions=$(psql_admin -tA -F ' ' -c "
  SELECT pid, coalesce(nullif(application_name, ''), '(no name)'), usename
    FROM pg_stat_activity WHERE datname = '$CL_DB' AND pid <> pg_backend_pid()") ||
  die "cannot connect to PostgreSQL on $PG_HOST:$PG_PORT as $CL_USER"
if [[ -n $sessions ]]; then
  printf '✗ still connected to database %s (pid, application, user):\n' "$CL_DB" >&2
  sed 's/^/    /' <<<"$sessions" >&2
  die "stop them first (a service still running elsewhere, a psql session, a benchmark)"
fi
psql_admin -c "DROP DATABASE IF EXISTS \"$CL_DB\"" -c "CREATE DATABASE \"$CL_DB\" OWNER \"$CL_USER\"" ||
  die "could not drop and create database $CL_DB"
ok "PostgreSQL database $CL_DB dropped and created again"

# ----------------------------------------------------------------------- RabbitMQ

mgmt() { # method path [json body] -> HTTP status code
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 30 -u "$CL_USER:$CL_PASS" -X "$1")
  [[ $# -ge 3 ]] && args+=(-H 'content-type: application/json' -d "$3")
  curl "${args[@]}" "$MGMT_URL$2" || echo 000
}

full='{"configure":".*","write":".*","read":".*"}'
code=$(mgmt DELETE "/api/vhosts/$CL_VHOST")
[[ $code == 204 || $code == 404 ]] || die "deleting RabbitMQ vhost $CL_VHOST failed (HTTP $code)"
code=$(mgmt PUT "/api/vhosts/$CL_VHOST" '{}')
[[ $code == 201 || $code == 204 ]] || die "creating RabbitMQ vhost $CL_VHOST failed (HTTP $code)"
code=$(mgmt PUT "/api/permissions/$CL_VHOST/$CL_USER" "$full")
[[ $code == 201 || $code == 204 ]] || die "granting $CL_USER on vhost $CL_VHOST failed (HTTP $code)"
if [[ $(mgmt GET /api/users/guest) == 200 ]]; then
  code=$(mgmt PUT "/api/permissions/$CL_VHOST/guest" "$full")
  [[ $code == 201 || $code == 204 ]] || die "granting guest on vhost $CL_VHOST failed (HTTP $code)"
fi
ok "RabbitMQ vhost $CL_VHOST deleted and created again (the services declare their queues at start)"

# -------------------------------------------------------------------------- Redis

redis=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
deleted=$(
  "${redis[@]}" --scan --pattern "${REDIS_PREFIX}*" |
    xargs -r -d '\n' -n "$REDIS_DEL_BATCH_MAX" "${redis[@]}" DEL |
    awk '{ sum += $1 } END { print sum + 0 }'
) || die "deleting the Redis keys under $REDIS_PREFIX failed"
ok "Redis: $deleted keys under $REDIS_PREFIX deleted"

# --------------------------------------------------------------------- migrations

migrate_log=$(mktemp "${TMPDIR:-/tmp}/clearline-migrate.XXXXXX")
if DATABASE_URL="postgres://${CL_USER}:${CL_PASS}@${PG_HOST}:${PG_PORT}/${CL_DB}" \
  npm run --silent migration:run >"$migrate_log" 2>&1 </dev/null; then
  summary=$(grep -v '^[[:space:]]*$' "$migrate_log" | tail -n 1 | cut -c1-100 || true)
  rm -f "$migrate_log"
  ok "database migrated${summary:+: $summary}"
else
  printf '✗ npm run migration:run failed:\n' >&2
  sed 's/^/    /' "$migrate_log" >&2
  rm -f "$migrate_log"
  exit 1
fi

ok "reset done: npm start begins clean"

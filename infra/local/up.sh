#!/usr/bin/env bash
# Clearline: make sure the local infrastructure is up and configured.
#
#   PostgreSQL  role "clearline" (password "clearline", LOGIN CREATEDB) owning database "clearline"
#   RabbitMQ    plugins rabbitmq_management + rabbitmq_consistent_hash_exchange, user
#               "clearline" (password "clearline", tag administrator) with full permissions
#               on vhost "clearline"; the default guest user keeps working
#   Redis
#
# For each server, in this order: already answering on localhost -> use it; installed
# but stopped -> start it; not installed and apt-get exists -> install it and start it;
# otherwise, if a Docker engine answers -> `docker compose up -d` it (docker-compose.yml).
#
# Idempotent and quiet: one "✓" line per step; exits non-zero with a message (and the
# last output of the failing command) when something cannot be brought up. When all is
# already up and configured it only runs a few cheap checks (well under a second).
#
# Overrides (they tell this script where to look; they do not reconfigure a server that
# runs already, except that a Redis started by this script listens on its port):
#   CLEARLINE_PG_HOST (127.0.0.1)  CLEARLINE_PG_PORT (5432)
#   CLEARLINE_AMQP_PORT (5672)     CLEARLINE_MGMT_PORT (15672)
#   CLEARLINE_REDIS_PORT (6379)
#   CLEARLINE_UP_TIMEOUT (60)      seconds to wait for each server to answer
#
# This script never stops anything.
# shellcheck disable=SC2016 # single-quoted scripts for bash -c / su -c expand later, on purpose
set -euo pipefail

PG_HOST=${CLEARLINE_PG_HOST:-127.0.0.1}
PG_PORT=${CLEARLINE_PG_PORT:-5432}
RMQ_HOST=127.0.0.1
AMQP_PORT=${CLEARLINE_AMQP_PORT:-5672}
MGMT_PORT=${CLEARLINE_MGMT_PORT:-15672}
REDIS_HOST=127.0.0.1
REDIS_PORT=${CLEARLINE_REDIS_PORT:-6379}
TIMEOUT=${CLEARLINE_UP_TIMEOUT:-60}

CL_USER=clearline
CL_PASS=clearline
CL_VHOST=clearline
CL_DB=clearline
RMQ_PLUGINS=(rabbitmq_management rabbitmq_consistent_hash_exchange)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MGMT_URL="http://${RMQ_HOST}:${MGMT_PORT}"
APP_DSN="postgres://${CL_USER}:${CL_PASS}@${PG_HOST}:${PG_PORT}/${CL_DB}"

LOG=$(mktemp "${TMPDIR:-/tmp}/clearline-up.XXXXXX")
trap 'rm -f "$LOG"' EXIT

# =============================================================================== helpers

ok() { printf '✓ %s\n' "$*"; }

die() {
  printf '✗ %s\n' "$*" >&2
  if [[ -s $LOG ]]; then
    printf '  last output:\n' >&2
    tail -n 20 "$LOG" | sed 's/^/    /' >&2
  fi
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Run a command as root: directly, or through sudo when not root. Fd 9 (the lock
# below) is closed for it: a server it starts must not hold the lock forever.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@" 9>&-
  elif have sudo; then
    sudo -n "$@" 9>&-
  else
    echo "root is needed for: $*" >&2
    return 1
  fi
}

# quiet <what> <command...>: run with output to the log; die with it on failure.
quiet() {
  local what=$1
  shift
  : >"$LOG"
  "$@" >>"$LOG" 2>&1 </dev/null || die "$what failed ($*)"
  : >"$LOG"
}

tcp_open() { # host port
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# wait_until <what> <hint> <command...>: poll every 0.5 s until the command succeeds.
wait_until() {
  local what=$1 hint=$2
  shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what${hint:+ ($hint)}"
    sleep 0.5
  done
}

docker_ok() { have docker && docker info >/dev/null 2>&1; }

compose() {
  # The gateway in docker-compose.yml requires ADMIN_API_KEY; the infrastructure
  # services do not use it, so any value lets the file load.
  (cd "$REPO_ROOT" && ADMIN_API_KEY=${ADMIN_API_KEY:-unused-by-infrastructure} docker compose "$@" 9>&-)
}

# ============================================================================= readiness

pg_up() {
  if have pg_isready; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
  else
    tcp_open "$PG_HOST" "$PG_PORT"
  fi
}

rmq_up() { tcp_open "$RMQ_HOST" "$AMQP_PORT"; }

rmq_node_up() { rabbitmq-diagnostics -q ping; }

redis_up() {
  if have redis-cli; then
    [[ $(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  else
    [[ $(timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"; printf "PING\r\n" >&3; head -c 5 <&3' \
      _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null) == +PONG ]]
  fi
}

pg_installed() { have pg_ctlcluster && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
rmq_installed() { have rabbitmq-server && have rabbitmqctl && have rabbitmq-diagnostics; }
redis_installed() { have redis-server; }

# Two runs at once (npm start beside npm test, say) take turns, so that a server is
# never started or configured twice concurrently.
if have flock; then
  exec 9>"${TMPDIR:-/tmp}/clearline-up.lock"
  flock -w 900 9 || die "another infra/local/up.sh has held its lock for 15 minutes"
fi

# ====================================================== 1. install what is missing (once)

PG_STATE=up RMQ_STATE=up REDIS_STATE=up # up | start | docker
MISSING_PKGS=() MISSING_COMPOSE=()
if ! pg_up; then
  PG_STATE=start
  pg_installed || MISSING_PKGS+=(postgresql) MISSING_COMPOSE+=(postgres)
fi
if ! rmq_up; then
  RMQ_STATE=start
  rmq_installed || MISSING_PKGS+=(rabbitmq-server) MISSING_COMPOSE+=(rabbitmq)
fi
if ! redis_up; then
  REDIS_STATE=start
  redis_installed || MISSING_PKGS+=(redis-server) MISSING_COMPOSE+=(redis)
fi

if ((${#MISSING_PKGS[@]})); then
  if have apt-get; then
    have curl || MISSING_PKGS+=(curl)
    ok "installing ${MISSING_PKGS[*]} with apt-get (one time, may take a few minutes)"
    quiet "apt-get update" as_root apt-get update -q
    quiet "apt-get install ${MISSING_PKGS[*]}" \
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${MISSING_PKGS[@]}"
  elif docker_ok; then
    [[ -f $REPO_ROOT/docker-compose.yml ]] || die "docker-compose.yml not found in $REPO_ROOT"
    quiet "docker compose up -d ${MISSING_COMPOSE[*]}" compose up -d "${MISSING_COMPOSE[@]}"
    ok "started ${MISSING_COMPOSE[*]} with Docker Compose"
    for s in "${MISSING_COMPOSE[@]}"; do
      case $s in
        postgres) PG_STATE=docker ;;
        rabbitmq) RMQ_STATE=docker ;;
        redis) REDIS_STATE=docker ;;
      esac
    done
  else
    die "not running and not installed: ${MISSING_PKGS[*]}. Install them (apt-get install ${MISSING_PKGS[*]}), or start a Docker engine so that docker-compose.yml can run them."
  fi
fi

# ============================================= 2. start what is stopped, then wait for it
# Everything is launched first and waited for afterwards, so that the slow boots
# (RabbitMQ takes several seconds) overlap.

PG_CLUSTER=
if [[ $PG_STATE == start ]]; then
  # shellcheck disable=SC2012 # version directories have plain names
  pg_ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1) || true
  if [[ -z $pg_ver ]]; then
    # Server installed without a cluster: create the default one.
    # shellcheck disable=SC2012
    pg_ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    quiet "creating the PostgreSQL cluster $pg_ver/main" as_root pg_createcluster "$pg_ver" main
  fi
  if [[ -d /etc/postgresql/$pg_ver/main ]]; then
    pg_cluster=main
  else
    # shellcheck disable=SC2012
    pg_cluster=$(ls "/etc/postgresql/$pg_ver" | head -n 1)
  fi
  PG_CLUSTER="$pg_ver/$pg_cluster"
  : >"$LOG"
  # Exit status 2 is "already running" (it may still be starting up): fine.
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_cluster" start >>"$LOG" 2>&1 </dev/null ||
    [[ $? -eq 2 ]] || die "could not start PostgreSQL cluster $PG_CLUSTER"
  : >"$LOG"
fi

if [[ $RMQ_STATE == start ]]; then
  # A node that already runs (still booting, or listening elsewhere) is not started twice.
  if ! rmq_node_up >/dev/null 2>&1; then
    quiet "starting RabbitMQ (rabbitmq-server -detached)" as_root rabbitmq-server -detached
  fi
fi

if [[ $REDIS_STATE == start ]]; then
  quiet "creating the Redis directories" as_root mkdir -p /var/lib/redis /var/log/redis
  quiet "starting Redis" as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 \
    --port "$REDIS_PORT" --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

case $PG_STATE in
  up) ok "PostgreSQL answering on $PG_HOST:$PG_PORT" ;;
  start)
    wait_until "PostgreSQL $PG_CLUSTER on $PG_HOST:$PG_PORT" "see /var/log/postgresql/" pg_up
    ok "PostgreSQL $PG_CLUSTER started on $PG_HOST:$PG_PORT"
    ;;
  docker)
    wait_until "PostgreSQL (Docker) on $PG_HOST:$PG_PORT" "docker compose logs postgres" pg_up
    ok "PostgreSQL (Docker) answering on $PG_HOST:$PG_PORT"
    ;;
esac

case $RMQ_STATE in
  up) ok "RabbitMQ answering on $RMQ_HOST:$AMQP_PORT" ;;
  start)
    wait_until "the RabbitMQ node to answer" "see /var/log/rabbitmq/" rmq_node_up
    wait_until "RabbitMQ to accept connections on $RMQ_HOST:$AMQP_PORT" "see /var/log/rabbitmq/" rmq_up
    ok "RabbitMQ started on $RMQ_HOST:$AMQP_PORT"
    ;;
  docker)
    wait_until "RabbitMQ (Docker) on $RMQ_HOST:$AMQP_PORT" "docker compose logs rabbitmq" rmq_up
    ok "RabbitMQ (Docker) answering on $RMQ_HOST:$AMQP_PORT"
    ;;
esac

case $REDIS_STATE in
  up) ok "Redis answering on $REDIS_HOST:$REDIS_PORT" ;;
  start)
    wait_until "Redis on $REDIS_HOST:$REDIS_PORT" "see /var/log/redis/ci.log" redis_up
    ok "Redis started on $REDIS_HOST:$REDIS_PORT"
    ;;
  docker)
    wait_until "Redis (Docker) on $REDIS_HOST:$REDIS_PORT" "docker compose logs redis" redis_up
    ok "Redis (Docker) answering on $REDIS_HOST:$REDIS_PORT"
    ;;
esac

# ============================================================= 3. configure RabbitMQ

have curl || die "curl not found: install curl"

mgmt() { # GET a management API path as the Clearline user; fails on HTTP errors
  curl -fsS --max-time 5 -u "$CL_USER:$CL_PASS" "$MGMT_URL$1" 2>/dev/null
}

# What the services and the tests need, checked through the management API (fast).
rmq_configured() {
  local body
  body=$(mgmt /api/overview) || return 1
  [[ $body == *'"name":"x-consistent-hash"'* ]] || return 1
  body=$(mgmt /api/whoami) || return 1
  [[ $body == *administrator* ]] || return 1
  body=$(mgmt "/api/permissions/$CL_VHOST/$CL_USER") || return 1
  [[ $body == *'"configure":".*"'* && $body == *'"write":".*"'* && $body == *'"read":".*"'* ]]
}

mgmt_answers() { # any HTTP answer at all (401 included)
  local code
  code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$MGMT_URL/api/overview" 2>/dev/null) || true
  [[ -n $code && $code != 000 ]]
}

if rmq_configured; then
  ok "RabbitMQ plugins, user $CL_USER and vhost $CL_VHOST"
elif [[ $RMQ_STATE == docker ]] || ! have rabbitmqctl; then
  # A container enables the plugins from infra/rabbitmq/enabled_plugins and creates the
  # user and vhost from its environment; it may only need to finish booting.
  [[ $RMQ_STATE == docker ]] || docker_ok ||
    die "RabbitMQ on $RMQ_HOST:$AMQP_PORT is not configured for Clearline and rabbitmqctl is not available here: enable ${RMQ_PLUGINS[*]} and create user $CL_USER / $CL_PASS (administrator) with full permissions on vhost $CL_VHOST"
  wait_until "the RabbitMQ management API on $MGMT_URL to accept $CL_USER" "docker compose logs rabbitmq" rmq_configured
  ok "RabbitMQ plugins, user $CL_USER and vhost $CL_VHOST (Docker)"
else
  # Plugins: enabling again is harmless but slow, so only the missing ones.
  : >"$LOG"
  enabled=$(as_root rabbitmq-plugins list -q -e -m 2>>"$LOG" </dev/null) || die "rabbitmq-plugins list failed"
  missing_plugins=()
  for p in "${RMQ_PLUGINS[@]}"; do
    grep -qx "$p" <<<"$enabled" || missing_plugins+=("$p")
  done
  if ((${#missing_plugins[@]})); then
    quiet "enabling RabbitMQ plugins ${missing_plugins[*]}" \
      as_root rabbitmq-plugins enable --online "${missing_plugins[@]}"
    ok "RabbitMQ plugins enabled: ${missing_plugins[*]}"
  fi
  wait_until "the RabbitMQ management API on $MGMT_URL" "see /var/log/rabbitmq/" mgmt_answers

  : >"$LOG"
  users=$(as_root rabbitmqctl list_users -q 2>>"$LOG" </dev/null | awk '{print $1}') ||
    die "rabbitmqctl list_users failed"
  if grep -qx "$CL_USER" <<<"$users"; then
    quiet "setting the RabbitMQ password of $CL_USER" as_root rabbitmqctl change_password "$CL_USER" "$CL_PASS"
  else
    quiet "creating RabbitMQ user $CL_USER" as_root rabbitmqctl add_user "$CL_USER" "$CL_PASS"
  fi
  quiet "tagging RabbitMQ user $CL_USER administrator" as_root rabbitmqctl set_user_tags "$CL_USER" administrator

  : >"$LOG"
  vhosts=$(as_root rabbitmqctl list_vhosts -q 2>>"$LOG" </dev/null) || die "rabbitmqctl list_vhosts failed"
  if ! grep -qx "$CL_VHOST" <<<"$vhosts"; then
    quiet "creating RabbitMQ vhost $CL_VHOST" as_root rabbitmqctl add_vhost "$CL_VHOST"
  fi
  quiet "granting $CL_USER on vhost $CL_VHOST" \
    as_root rabbitmqctl set_permissions -p "$CL_VHOST" "$CL_USER" '.*' '.*' '.*'
  # Keep the default guest user working, on the Clearline vhost too.
  if grep -qx guest <<<"$users"; then
    quiet "granting guest on vhost $CL_VHOST" as_root rabbitmqctl set_permissions -p "$CL_VHOST" guest '.*' '.*' '.*'
  fi

  wait_until "the RabbitMQ management API on $MGMT_URL to accept $CL_USER" "see /var/log/rabbitmq/" rmq_configured
  ok "RabbitMQ user $CL_USER (administrator) and vhost $CL_VHOST configured"
fi

# =========================================================== 4. configure PostgreSQL

# psql as the superuser: over TCP as "postgres", or else through the local socket as
# the postgres OS user (a fresh Debian install wants a password over TCP).
PG_SUPER_MODE=
pg_super() {
  if [[ -z $PG_SUPER_MODE ]]; then
    if psql -X -w -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
      PG_SUPER_MODE=tcp
    elif [[ $EUID -eq 0 ]] && id postgres >/dev/null 2>&1; then
      PG_SUPER_MODE=socket
    elif have sudo && id postgres >/dev/null 2>&1; then
      PG_SUPER_MODE=sudo
    else
      PG_SUPER_MODE=none
    fi
  fi
  case $PG_SUPER_MODE in
    tcp) psql -X -w -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@" ;;
    socket)
      if have runuser; then
        (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@")
      else
        (cd / && su -s /bin/sh -c 'exec psql -X -q -v ON_ERROR_STOP=1 -p "$0" -d postgres "$@"' postgres -- "$PG_PORT" "$@")
      fi
      ;;
    sudo) (cd / && sudo -n -u postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@") ;;
    *) return 1 ;;
  esac
}

pg_app_ready() { # the role logs in to its database and may create databases (tests do)
  [[ $(psql -X -w -q "$APP_DSN" -tAc \
    "select rolcanlogin and rolcreatedb from pg_roles where rolname = current_user" 2>/dev/null) == t ]]
}

if ! have psql; then
  [[ $PG_STATE == docker ]] || die "psql not found: install postgresql-client"
  # The postgres container creates role and database "clearline" from its environment.
  ok "PostgreSQL role and database $CL_DB (Docker)"
elif pg_app_ready; then
  ok "PostgreSQL role and database $CL_DB"
else
  : >"$LOG"
  pg_super -tAc 'select 1' >>"$LOG" 2>&1 </dev/null ||
    die "cannot connect to PostgreSQL on $PG_HOST:$PG_PORT as the superuser postgres (tried TCP and the local socket); create role $CL_USER (password $CL_PASS, LOGIN CREATEDB) and database $CL_DB owned by it"
  : >"$LOG"
  pg_super >>"$LOG" 2>&1 <<SQL || die "creating the PostgreSQL role and database $CL_DB failed"
SELECT format('CREATE ROLE %I', '$CL_USER')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$CL_USER')
\gexec
ALTER ROLE "$CL_USER" WITH LOGIN CREATEDB PASSWORD '$CL_PASS';
SELECT format('CREATE DATABASE %I OWNER %I', '$CL_DB', '$CL_USER')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$CL_DB')
\gexec
ALTER DATABASE "$CL_DB" OWNER TO "$CL_USER";
GRANT ALL PRIVILEGES ON DATABASE "$CL_DB" TO "$CL_USER";
SQL
  : >"$LOG"
  psql -X -w -q "$APP_DSN" -tAc 'select 1' >>"$LOG" 2>&1 </dev/null ||
    die "role $CL_USER cannot log in to database $CL_DB on $PG_HOST:$PG_PORT (check pg_hba.conf)"
  ok "PostgreSQL role $CL_USER and database $CL_DB created"
fi

# Each service works as its own PostgreSQL role (clearline_<service>), granted its tables
# by the migrations; made here, with a login, since the migrating role may not make roles.
SERVICE_DB_PASSWORD=${CLEARLINE_SERVICE_DB_PASSWORD:-clearline-dev}
SERVICE_ROLES=(clearline_gateway clearline_ledger clearline_refund clearline_settlement)
roles_in=$(printf "'%s'," "${SERVICE_ROLES[@]}")
if [[ $PG_STATE != docker ]] &&
  [[ $(psql -X -w -q "$APP_DSN" -tAc "select count(*) from pg_roles where rolname in (${roles_in%,}) and rolcanlogin" 2>/dev/null </dev/null) != "${#SERVICE_ROLES[@]}" ]]; then
  : >"$LOG"
  for role in "${SERVICE_ROLES[@]}"; do
    pg_super >>"$LOG" 2>&1 <<SQL || die "creating the PostgreSQL role $role failed"
SELECT format('CREATE ROLE %I', '$role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role')
\gexec
ALTER ROLE "$role" WITH LOGIN PASSWORD '$SERVICE_DB_PASSWORD';
SQL
  done
  ok "PostgreSQL service roles ${SERVICE_ROLES[*]} created"
fi
# The operator's role sees what every service's session waits on (pg_stat_activity shows
# other roles' wait events only to members of pg_read_all_stats): tests and on-call alike.
if [[ $PG_STATE != docker ]] &&
  [[ $(psql -X -w -q "$APP_DSN" -tAc "select pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') and pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')" 2>/dev/null </dev/null) != t ]]; then
  : >"$LOG"
  # pg_signal_backend: dropping a test's database ends the sessions service roles left.
  pg_super >>"$LOG" 2>&1 <<<"GRANT pg_read_all_stats, pg_signal_backend TO \"$CL_USER\";" ||
    die "granting pg_read_all_stats to $CL_USER failed"
  ok "PostgreSQL role $CL_USER reads every session's activity"
fi
# bench:settlement flushes its seed (CHECKPOINT) before it times anything: pg_checkpoint
# (PostgreSQL 15 and later) lets the operator's role do that without being a superuser.
if [[ $PG_STATE != docker ]] &&
  [[ $(psql -X -w -q "$APP_DSN" -tAc "select current_setting('server_version_num')::int < 150000 or pg_has_role(current_user, 'pg_checkpoint', 'MEMBER')" 2>/dev/null </dev/null) != t ]]; then
  : >"$LOG"
  pg_super >>"$LOG" 2>&1 <<<"GRANT pg_checkpoint TO \"$CL_USER\";" ||
    die "granting pg_checkpoint to $CL_USER failed"
  ok "PostgreSQL role $CL_USER may run CHECKPOINT"
fi

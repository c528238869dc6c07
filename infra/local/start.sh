#!/usr/bin/env bash
# Clearline: what `npm start` runs. The whole platform on this machine:
#
#   1. installs node_modules when missing or older than package-lock.json
#      (infra/local/deps.sh: npm ci, or npm install without a lockfile)
#   2. brings up PostgreSQL, RabbitMQ and Redis (infra/local/up.sh)
#   3. sets the environment (each variable only when unset) and runs the migrations
#   4. starts gateway, ledger, refund and settlement as separate processes, their
#      output prefixed with their name, and waits until all four answer /health/ready
#   5. on Ctrl-C, SIGTERM or SIGHUP stops the four services gracefully (SIGTERM, then
#      SIGKILL after CLEARLINE_STOP_TIMEOUT seconds) and exits 0; the infrastructure
#      keeps running
#
# If a service exits, the others are stopped and this script exits 1.
#
# Environment (defaults in brackets): DATABASE_URL, AMQP_URL, RABBITMQ_MANAGEMENT_URL,
# REDIS_URL (the local infrastructure), GATEWAY_PORT [3000], LEDGER_PORT [3001],
# REFUND_PORT [3002], SETTLEMENT_PORT [3003], NODE_ENV [development], LOG_FORMAT [pretty
# when stdout is a terminal and NODE_ENV=development, else unset: JSON], ADMIN_API_KEY
# [generated for this run], CLEARLINE_READY_TIMEOUT [60], CLEARLINE_STOP_TIMEOUT [15],
# and the CLEARLINE_*_PORT / CLEARLINE_PG_HOST overrides of infra/local/up.sh.
# shellcheck disable=SC2016 # single-quoted scripts for bash -c / su -c expand later, on purpose
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SERVICES=(gateway ledger refund settlement)
READY_TIMEOUT=${CLEARLINE_READY_TIMEOUT:-60}
STOP_TIMEOUT=${CLEARLINE_STOP_TIMEOUT:-15}

ok() { printf '✓ %s\n' "$*"; }
fail() { printf '✗ %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# ------------------------------------------------------------------ 1. dependencies

bash infra/local/deps.sh

# --------------------------------------------------------------- 2. infrastructure

bash infra/local/up.sh

# ------------------------------------------------------------------ 3. environment

pg_host=${CLEARLINE_PG_HOST:-127.0.0.1}
pg_port=${CLEARLINE_PG_PORT:-5432}
amqp_port=${CLEARLINE_AMQP_PORT:-5672}
mgmt_port=${CLEARLINE_MGMT_PORT:-15672}
redis_port=${CLEARLINE_REDIS_PORT:-6379}

export DATABASE_URL=${DATABASE_URL:-postgres://clearline:clearline@${pg_host}:${pg_port}/clearline}
export AMQP_URL=${AMQP_URL:-amqp://clearline:clearline@127.0.0.1:${amqp_port}/clearline}
export RABBITMQ_MANAGEMENT_URL=${RABBITMQ_MANAGEMENT_URL:-http://clearline:clearline@127.0.0.1:${mgmt_port}}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${redis_port}}
export GATEWAY_PORT=${GATEWAY_PORT:-3000}
export LEDGER_PORT=${LEDGER_PORT:-3001}
export REFUND_PORT=${REFUND_PORT:-3002}
export SETTLEMENT_PORT=${SETTLEMENT_PORT:-3003}
export NODE_ENV=${NODE_ENV:-development}
# A development machine's webhook endpoints are local (http://localhost:…): allow them,
# unless the environment says otherwise. Production leaves both unset (https, public).
export WEBHOOK_ALLOW_PRIVATE=${WEBHOOK_ALLOW_PRIVATE:-1}
export WEBHOOK_ALLOW_HTTP=${WEBHOOK_ALLOW_HTTP:-1}

# Logs: the services write to a pipe (the prefixing sed below), never to the terminal,
# so they cannot see one; this script can. On a terminal in development they print
# readable lines (pino-pretty, level in colour), anywhere else (a file, CI, a pipe) one
# JSON object per line. LOG_FORMAT=json or pretty, set by the caller, wins.
if [[ -t 1 && $NODE_ENV == development && -z ${LOG_FORMAT:-} ]]; then
  export LOG_FORMAT=pretty
fi
# Colour through the pipe, unless NO_COLOR (https://no-color.org) asks for none.
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  export FORCE_COLOR=${FORCE_COLOR:-1}
fi

ADMIN_KEY_GENERATED=0
if [[ -z ${ADMIN_API_KEY:-} ]]; then
  if have openssl; then
    ADMIN_API_KEY="sk_admin_$(openssl rand -hex 24)"
  else
    ADMIN_API_KEY="sk_admin_$(node -e "process.stdout.write(require('crypto').randomBytes(24).toString('hex'))")"
  fi
  ADMIN_KEY_GENERATED=1
fi
# The gateway refuses a shorter key; say so before anything starts.
if ((${#ADMIN_API_KEY} < 32)); then
  fail 'ADMIN_API_KEY: must be at least 32 characters (unset it to have one generated)'
  exit 1
fi
export ADMIN_API_KEY

declare -A PORT=(
  [gateway]=$GATEWAY_PORT
  [ledger]=$LEDGER_PORT
  [refund]=$REFUND_PORT
  [settlement]=$SETTLEMENT_PORT
)

# ------------------------------------------------------------------- migrations

migrate_log=$(mktemp "${TMPDIR:-/tmp}/clearline-migrate.XXXXXX")
if npm run --silent migration:run >"$migrate_log" 2>&1 </dev/null; then
  migrate_summary=$(grep -v '^[[:space:]]*$' "$migrate_log" | tail -n 1 | cut -c1-100 || true)
  rm -f "$migrate_log"
  ok "database migrated${migrate_summary:+: $migrate_summary}"
else
  fail "npm run migration:run failed:"
  sed 's/^/    /' "$migrate_log" >&2
  rm -f "$migrate_log"
  exit 1
fi

# ------------------------------------------------------------------ broker users

# Each service connects as its own broker user (clearline-<service>), limited to its own
# queues, and the operator (AMQP_URL's user) declares the topology: what a deployment
# does (scripts/broker-setup.ts). In development every service user gets one password.
export CLEARLINE_SERVICE_AMQP_PASSWORD=${CLEARLINE_SERVICE_AMQP_PASSWORD:-clearline-dev}
broker_log=$(mktemp "${TMPDIR:-/tmp}/clearline-broker.XXXXXX")
if npm run --silent broker:setup >"$broker_log" 2>&1 </dev/null; then
  rm -f "$broker_log"
  ok "broker users and topology ready"
else
  fail "npm run broker:setup failed:"
  sed 's/^/    /' "$broker_log" >&2
  rm -f "$broker_log"
  exit 1
fi

# AMQP_URL with the service's own user (and its password) instead of the operator's.
service_amqp_url() {
  local password_var="AMQP_PASSWORD_${1^^}"
  local password=${!password_var:-$CLEARLINE_SERVICE_AMQP_PASSWORD}
  sed -E "s#^(amqps?://)([^@/]*@)?#\1clearline-$1:${password}@#" <<<"$AMQP_URL"
}

# DATABASE_URL with the service's own role (clearline_<service>, made by infra/local/up.sh,
# granted its tables by the migrations) instead of the operator's.
export CLEARLINE_SERVICE_DB_PASSWORD=${CLEARLINE_SERVICE_DB_PASSWORD:-clearline-dev}
service_database_url() {
  local password_var="DATABASE_PASSWORD_${1^^}"
  local password=${!password_var:-$CLEARLINE_SERVICE_DB_PASSWORD}
  sed -E "s#^(postgres(ql)?://)([^@/]*@)?#\1clearline_$1:${password}@#" <<<"$DATABASE_URL"
}

# A port that already answers would make the readiness checks below lie.
for svc in "${SERVICES[@]}"; do
  if timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "${PORT[$svc]}" >/dev/null 2>&1; then
    fail "port ${PORT[$svc]} ($svc) is already in use: is Clearline already running? (or set ${svc^^}_PORT)"
    exit 1
  fi
done

# --------------------------------------------------------------------- 4. services

# Each service runs in its own session and process group (setsid), so the terminal's
# Ctrl-C reaches only this script, which then stops the services in order. The group
# is: bash (the leader, whose pid is LEADER[svc]) -> node, plus the sed that prefixes
# the output. Only the node process is sent SIGTERM, exactly once (a second signal
# could cut its graceful shutdown short); sed ends when node's output closes, so
# nothing is lost.
#
# node runs the service as `npm run start:<service>` does, but without npm: npm would
# print a bare "Terminated" for its script when the service, after a graceful shutdown
# that logs what it drained, re-raises SIGTERM (Nest's enableShutdownHooks does).
declare -A LEADER=()
STOPPING=0

declare -A COLOR=()
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
  COLOR=([gateway]=36 [ledger]=33 [refund]=35 [settlement]=32)
fi

launch() {
  local svc=$1 prefix
  prefix=$(printf '%-13s' "[$svc]")
  if [[ -n ${COLOR[$svc]:-} ]]; then
    prefix=$'\e['"${COLOR[$svc]}m${prefix}"$'\e[0m'
  fi
  # sed ignores SIGTERM and SIGINT: it must outlive the service to pass on its last words.
  # The braces' own stderr is dropped: that is where bash would print "Terminated" for a
  # service that stopped gracefully on SIGTERM (Nest re-raises the signal after its
  # shutdown hooks). The service's output, stderr included, goes to sed.
  local script='set -o pipefail
    { node -r @swc-node/register "services/$1/src/main.ts" 2>&1; status=$?; exit $status; } 2>/dev/null |
      (trap "" TERM INT; exec sed -u "s/^/$2/")'
  if have setsid; then
    AMQP_URL=$(service_amqp_url "$svc") DATABASE_URL=$(service_database_url "$svc") setsid bash -c "$script" _ "$svc" "$prefix" </dev/null &
  else
    # Job control puts the background job in its own process group.
    set -m
    AMQP_URL=$(service_amqp_url "$svc") DATABASE_URL=$(service_database_url "$svc") bash -c "$script" _ "$svc" "$prefix" </dev/null &
    set +m
  fi
  LEADER[$svc]=$!
}

alive() { # svc
  local pid=${LEADER[$1]:-}
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

group_alive() { # svc: any process left in the service's process group
  local pid=${LEADER[$1]:-}
  [[ -n $pid ]] && kill -0 -- "-$pid" 2>/dev/null
}

# The service's node process: the process of the service's group (its pid is the
# leader's) that is neither one of the shells around it nor the output's sed. One ps
# snapshot serves all four services, so they are all sent SIGTERM at once.
service_pids() { # -> "svc pid" per service whose node process runs
  local snapshot svc pid
  snapshot=$(ps -e -o pid=,pgid=,comm= 2>/dev/null) || return 0
  for svc in "${!LEADER[@]}"; do
    pid=$(awk -v group="${LEADER[$svc]}" \
      '$2 == group && $3 != "bash" && $3 != "sed" { print $1; exit }' <<<"$snapshot")
    [[ -n $pid ]] && echo "$svc $pid"
  done
}

stop_services() {
  ((${#LEADER[@]})) || return 0
  local svc pid deadline
  declare -A node=()
  while read -r svc pid; do
    node[$svc]=$pid
  done < <(service_pids)
  for svc in "${!LEADER[@]}"; do
    group_alive "$svc" || continue
    if [[ -n ${node[$svc]:-} ]]; then
      kill -TERM "${node[$svc]}" 2>/dev/null || true
    else
      # Still starting (no node process yet): stop the whole group.
      kill -TERM -- "-${LEADER[$svc]}" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  while ((SECONDS < deadline)); do
    local running=0
    for svc in "${!LEADER[@]}"; do
      group_alive "$svc" && running=1
    done
    ((running)) || break
    sleep 0.2
  done
  for svc in "${!LEADER[@]}"; do
    if group_alive "$svc"; then
      fail "$svc did not stop within ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL -- "-${LEADER[$svc]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  LEADER=()
}

on_signal() {
  ((STOPPING)) && return
  STOPPING=1
  trap '' INT TERM HUP
  # The terminal may be gone (SIGHUP): output is best effort, stopping is not.
  { echo && echo "stopping the Clearline services..."; } 2>/dev/null || true
  stop_services
  ok "services stopped (PostgreSQL, RabbitMQ and Redis keep running)" 2>/dev/null || true
  exit 0
}

trap on_signal INT TERM HUP
trap 'stop_services' EXIT

for svc in "${SERVICES[@]}"; do
  launch "$svc"
done

# Wait until every service answers /health/ready; give up if one exits.
pending=("${SERVICES[@]}")
deadline=$((SECONDS + READY_TIMEOUT))
while ((${#pending[@]})); do
  still=()
  for svc in "${pending[@]}"; do
    if ! alive "$svc"; then
      fail "$svc exited during start-up (see its output above); stopping the others"
      stop_services
      exit 1
    fi
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${PORT[$svc]}/health/ready" 2>/dev/null; then
      ok "$svc ready on http://127.0.0.1:${PORT[$svc]}"
    else
      still+=("$svc")
    fi
  done
  pending=(${still[@]+"${still[@]}"})
  ((${#pending[@]})) || break
  if ((SECONDS >= deadline)); then
    fail "timed out after ${READY_TIMEOUT}s waiting for /health/ready of: ${pending[*]}; stopping the services"
    stop_services
    exit 1
  fi
  sleep 0.5
done

# ----------------------------------------------------------------------- the box

mgmt_ui=$(sed -E 's#^(https?://)[^@/]*@#\1#' <<<"$RABBITMQ_MANAGEMENT_URL")
mgmt_login=$(sed -nE 's#^https?://([^:@/]+):([^@/]*)@.*#\1 / \2#p' <<<"$RABBITMQ_MANAGEMENT_URL")
if ((ADMIN_KEY_GENERATED)); then
  admin_note="(generated for this run; export ADMIN_API_KEY to keep one)"
else
  admin_note="(from the environment)"
fi

if [[ ${LOG_FORMAT:-} == pretty ]]; then
  logs_note="readable lines (LOG_FORMAT=json npm start for JSON)"
else
  logs_note="JSON, one object per line (LOG_FORMAT=pretty for readable lines)"
fi

# One line per service and URL kind: "<label>  <service>  <url>".
service_urls() { # label path
  local label=$1 path=$2 svc
  for svc in "${SERVICES[@]}"; do
    printf '%-15s %-11s %s\n' "$label" "$svc" "http://127.0.0.1:${PORT[$svc]}$path"
    label=
  done
}

gw="http://127.0.0.1:${GATEWAY_PORT}"
lines=(
  "Clearline is running"
  ""
  "Gateway API     $gw"
  "API docs        $gw/docs"
)
mapfile -t -O "${#lines[@]}" lines < <(service_urls Ready /health/ready)
mapfile -t -O "${#lines[@]}" lines < <(service_urls Metrics /metrics)
lines+=(
  "RabbitMQ UI     $mgmt_ui${mgmt_login:+   login: $mgmt_login}"
  "PostgreSQL      DATABASE_URL=$DATABASE_URL"
  "Redis           REDIS_URL=$REDIS_URL"
  "Admin API key   ADMIN_API_KEY=$ADMIN_API_KEY"
  "                $admin_note"
  "Logs            $logs_note"
  ""
  "Ctrl-C stops the four services; npm run reset empties their data."
)
width=0
for l in "${lines[@]}"; do
  ((${#l} > width)) && width=${#l}
done
rule=$(printf '%*s' $((width + 2)) '' | sed 's/ /─/g')
printf '\n┌%s┐\n' "$rule"
for l in "${lines[@]}"; do
  printf '│ %-*s │\n' "$width" "$l"
done
printf '└%s┘\n\n' "$rule"

# --------------------------------------------------------------------- 5. run

# Wait for a signal (handled by on_signal), for a service to exit, or for the parent to
# go away: `npm start` runs this script through `sh -c`, and when npm is sent SIGTERM
# it is that shell, not this script, which receives it; this script then stops the
# services rather than leave them running.
START_PPID=$PPID
current_ppid() {
  local stat
  if stat=$(cat "/proc/$$/stat" 2>/dev/null); then
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split the fields on purpose
    set -- $stat
    echo "$2"
  else
    ps -o ppid= -p $$ | tr -d ' '
  fi
}

while true; do
  sleep 1 &
  wait -n 2>/dev/null || true
  ((STOPPING)) && continue
  for svc in "${SERVICES[@]}"; do
    if ! alive "$svc"; then
      fail "$svc exited; stopping the others"
      stop_services
      exit 1
    fi
  done
  if [[ $(current_ppid) != "$START_PPID" ]]; then
    fail "the parent process went away; stopping the services"
    on_signal
  fi
done

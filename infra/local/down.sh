#!/usr/bin/env bash
# Clearline: how to stop the local infrastructure. This script stops nothing itself:
# PostgreSQL, RabbitMQ and Redis are the machine's own servers, which other work may
# be using too. The four services started by `npm start` stop with Ctrl-C.
set -euo pipefail

pg_ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)

cat <<TEXT
Clearline leaves the infrastructure running. To stop it by hand:

  PostgreSQL   pg_ctlcluster --skip-systemctl-redirect ${pg_ver:-<version>} main stop
  RabbitMQ     rabbitmqctl stop
  Redis        redis-cli -p ${CLEARLINE_REDIS_PORT:-6379} shutdown nosave

Started with Docker Compose instead:

  docker compose stop postgres rabbitmq redis      (docker compose down -v also deletes the data)

infra/local/up.sh (run by npm start and npm test) starts them again.
TEXT

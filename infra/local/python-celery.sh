#!/usr/bin/env bash
# Clearline: make sure Python Celery 5, its Redis client and psycopg2 (Clearline's result
# backend for Python clients, infra/celery/clearline_celery.py) are importable by the
# system interpreter, /usr/bin/python3 (Debian's python3-celery, python3-redis and
# python3-psycopg2 install for it; a `python3` earlier on PATH may be another interpreter
# without them).
#
# Used by `npm run bench:tasks` (which runs a real Celery worker beside ours) and by
# tests that run the real Python Celery against Clearline.
#
#   `import celery, redis, psycopg2` works -> nothing to do ("✓ ... already installed")
#   otherwise, apt-get exists          -> apt-get update, then install
#                                         python3-celery python3-redis python3-psycopg2
#                                         (non-interactive)
#   otherwise                          -> exit 1 with a message saying what to install
#
# Idempotent. Waits (with a deadline) for another apt/dpkg run to finish rather than
# failing on its lock. Prints one "✓" line when all is well; on failure, "✗" with the
# last output of the failing command, and a non-zero exit.
#
# Overrides: CLEARLINE_APT_TIMEOUT (600) seconds to wait for the apt/dpkg locks.
set -euo pipefail

PYTHON=/usr/bin/python3
PACKAGES=(python3-celery python3-redis python3-psycopg2)
APT_TIMEOUT=${CLEARLINE_APT_TIMEOUT:-600}

LOG=$(mktemp "${TMPDIR:-/tmp}/clearline-python-celery.XXXXXX")
trap 'rm -f "$LOG"' EXIT

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

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif have sudo; then
    sudo -n "$@"
  else
    echo "root is needed for: $*" >&2
    return 1
  fi
}

importable() { [[ -x $PYTHON ]] && "$PYTHON" -c 'import celery, redis, psycopg2' >/dev/null 2>&1; }

version() { "$PYTHON" -c 'import celery, redis; print(f"celery {celery.__version__}, redis {redis.__version__}")'; }

if importable; then
  ok "Python Celery already installed for $PYTHON ($(version))"
  exit 0
fi

have apt-get || die "$PYTHON cannot import celery, redis and psycopg2, and there is no apt-get: install ${PACKAGES[*]} (or celery[redis] 5 and psycopg2 for $PYTHON) by hand"

# Two of these scripts (or a test and the benchmark) may start at once: one installs,
# the other waits and then finds everything in place.
if have flock; then
  exec 9>"${TMPDIR:-/tmp}/clearline-python-celery.lock"
  flock -w "$APT_TIMEOUT" 9 || die "another infra/local/python-celery.sh held its lock for ${APT_TIMEOUT} s"
  if importable; then
    ok "Python Celery installed meanwhile by another run ($(version))"
    exit 0
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-o "DPkg::Lock::Timeout=$APT_TIMEOUT" -o Dpkg::Options::=--force-confold)

printf '… apt-get update\n'
as_root apt-get "${APT_OPTS[@]}" update >"$LOG" 2>&1 || die "apt-get update failed"
printf '… apt-get install -y %s\n' "${PACKAGES[*]}"
as_root apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${PACKAGES[@]}" >"$LOG" 2>&1 ||
  die "apt-get install ${PACKAGES[*]} failed"

importable || die "installed ${PACKAGES[*]}, but $PYTHON still cannot import celery, redis and psycopg2"
ok "Python Celery installed for $PYTHON ($(version))"

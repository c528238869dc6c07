#!/usr/bin/env bash
# Clearline: install node_modules when they are missing or older than the lockfile.
# Run first by `npm start` (infra/local/start.sh) and `npm test`, so both work in a fresh
# clone.
#
#   no node_modules, or no node_modules/.package-lock.json    -> install
#   package-lock.json newer than node_modules/.package-lock.json -> install again
#   (npm writes that hidden lockfile at the end of every install, so it is older than
#   package-lock.json only when the lockfile changed since: a pull, a branch switch)
#
# The install is `npm ci` (exactly the lockfile; it replaces node_modules) or, without a
# package-lock.json, `npm install`. Quiet when there is nothing to do.
#
# Binaries installed here are found by the rest of the same npm script: npm puts
# node_modules/.bin on the script's PATH before it runs, whether or not it exists yet.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

hidden=node_modules/.package-lock.json

if [[ -f package-lock.json ]]; then
  if [[ ! -f $hidden ]]; then
    reason="node_modules is missing"
  elif [[ package-lock.json -nt $hidden ]]; then
    reason="package-lock.json changed since node_modules was installed"
  else
    exit 0
  fi
  echo "$reason: npm ci"
  npm ci --no-audit --no-fund
elif [[ ! -f $hidden ]]; then
  echo "node_modules is missing and there is no package-lock.json: npm install"
  npm install --no-audit --no-fund
fi

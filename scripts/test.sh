#!/usr/bin/env bash
# `npm test`: brings up what is missing (as `npm start` does), then runs Jest.
# With no arguments, in two phases (jest.config.js): every file that can share the machine,
# two at a time, then the few that must run alone. Arguments go to one Jest run as given
# (`npm test -- libs/ledger-core`), one file at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/local/deps.sh
bash infra/local/up.sh
if [ "$#" -gt 0 ]; then
  exec npx jest "$@"
fi
CLEARLINE_TESTS=shared npx jest
CLEARLINE_TESTS=exclusive npx jest

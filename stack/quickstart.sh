#!/usr/bin/env bash
# Quick start on a fresh machine: installs the npm dependencies, then `runlens demo`
# installs and starts the local stack, a simulated run tree, the watcher, the sink and
# the API + dashboard, and prints where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec node stack/runlens.mjs demo "$@"

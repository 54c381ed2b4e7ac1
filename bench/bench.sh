#!/usr/bin/env bash
# npm run bench [-- --scale small|full]: 10,000 SSE clients need file descriptors.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec node --import tsx bench/run.ts "$@"

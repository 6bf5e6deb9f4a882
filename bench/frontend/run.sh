#!/usr/bin/env bash
# Front-end bench (issue 4 budgets): bundle size, 300-node load time, pan/drag frame rates.
# Usage: bench/frontend/run.sh [options of bench.mjs]; see the header of bench.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node bench/frontend/bench.mjs "$@"

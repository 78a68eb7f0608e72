#!/usr/bin/env bash
# npm test: set up what the tests need (dependencies, redis-server, chromium for the browser test),
# typecheck, then run every test. Tests use only loopback peers they start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

need_node
need_modules
need_redis_server
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium fonts-dejavu-core || say "chromium is not installed: the browser test will be skipped (apt-get install chromium)"
fi
say "typecheck (tsc --noEmit)"
npx tsc --noEmit -p .
say "tests (vitest)"
exec npx vitest run "$@"

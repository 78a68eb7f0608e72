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
if ! [ -x /usr/sbin/dovecot ] && ! command -v dovecot >/dev/null 2>&1; then
  if ! apt_install dovecot-imapd; then
    say "dovecot is not installed: the IMAP tests need it. Install it and run again:"
    say "  Debian/Ubuntu: sudo apt-get install dovecot-imapd"
    exit 1
  fi
fi
if ! command -v openssl >/dev/null 2>&1; then
  apt_install openssl || { say "openssl is not installed (the TLS tests make certificates with it): sudo apt-get install openssl"; exit 1; }
fi
say "typecheck (tsc --noEmit)"
npx tsc --noEmit -p .
say "tests (vitest)"
exec npx vitest run "$@"

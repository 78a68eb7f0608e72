#!/usr/bin/env bash
# npm test: set up what the tests need (dependencies, redis-server, chromium for the browser test),
# typecheck, check the dependency rule between the floors, then run every test. Tests use only
# loopback peers they start themselves. MTAREP_SKIP_BROWSER=1 skips the browser test (said loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

need_node
need_modules
need_redis_server
if [ "${MTAREP_SKIP_BROWSER:-}" = 1 ]; then
  say "WARNING: MTAREP_SKIP_BROWSER=1: the browser test will be skipped"
else
  need_chromium
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
say "dependency rule between the floors (dependency-cruiser, .dependency-cruiser.cjs)"
npx depcruise lib cli collector web views --config .dependency-cruiser.cjs --output-type err
say "tests (vitest)"
status=0
npx vitest run "$@" || status=$?
if [ "${MTAREP_SKIP_BROWSER:-}" = 1 ]; then
  say "WARNING: the browser test was SKIPPED (MTAREP_SKIP_BROWSER=1): the dashboard was not tested in a real browser"
fi
exit "$status"

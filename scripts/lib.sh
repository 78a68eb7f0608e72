# Shared by start.sh and test.sh: make a fresh clone runnable. Sourced, not run.
set -euo pipefail

say() { printf 'mtarep: %s\n' "$*" >&2; }

need_node() {
  if ! command -v node >/dev/null 2>&1; then
    say "Node.js 20 or newer is required: install it (e.g. apt-get install nodejs) and run again."
    exit 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    say "Node.js $(node --version) is too old: mtarep needs 20 or newer."
    exit 1
  fi
}

# npm ci when node_modules is missing or older than the lock file.
need_modules() {
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# apt_install PKG... : install Debian packages when we can, else say exactly what to run.
apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing $* (apt-get)"
    if [ -z "${MTAREP_APT_UPDATED:-}" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
      export MTAREP_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    return 0
  fi
  return 1
}

need_redis_server() {
  if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || [ -x /usr/sbin/redis-server ]; then
    return 0
  fi
  if ! apt_install redis-server; then
    say "redis-server is not installed. Install it and run again:"
    say "  Debian/Ubuntu: sudo apt-get install redis-server"
    say "  Fedora/RHEL:   sudo dnf install redis"
    say "  macOS:         brew install redis"
    say "or set redis_url in mtarep.yml to use an existing Redis."
    exit 1
  fi
  # The Debian package starts a system-wide Redis on port 6379; mtarep does not use it.
}

# The browser test drives Debian's chromium (or MTAREP_CHROMIUM). A missing browser stops the run here
# unless the user opted out with MTAREP_SKIP_BROWSER=1.
need_chromium() {
  local bin="${MTAREP_CHROMIUM:-/usr/bin/chromium}"
  [ -x "$bin" ] && return 0
  if [ -z "${MTAREP_CHROMIUM:-}" ] && apt_install chromium fonts-dejavu-core && [ -x "$bin" ]; then
    return 0
  fi
  say "no browser at $bin: the browser test needs one. Install it and run again:"
  say "  Debian/Ubuntu: sudo apt-get install chromium   (npm test does this itself when run as root)"
  say "or point MTAREP_CHROMIUM at a Chromium binary, or skip the browser test explicitly: MTAREP_SKIP_BROWSER=1 npm test"
  exit 1
}

# Build dist/ when it is missing or older than the sources (tsc, then esbuild's bundle of the CLI).
need_build() {
  if [ ! -f dist/cli/main.js ] || [ ! -f dist/cli/mtarep.cjs ] || [ ! -f dist/bundle/mtarep.cjs ] || [ -n "$(find lib cli collector web views package.json tsconfig.json scripts/build-bundle.ts -newer dist/cli/mtarep.cjs -print -quit 2>/dev/null)" ]; then
    say "building (tsc, then the CLI bundle)"
    npm run --silent build
  fi
}

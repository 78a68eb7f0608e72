#!/usr/bin/env bash
# npm start: set up what a fresh clone needs, then run the dashboard and the collector.
#   npm start                          uses ./mtarep.yml (written by `mtarep init` when missing)
#   npm start -- --config /etc/mtarep/mtarep.yml
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

config=mtarep.yml
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --config|-c) config="${args[$((i + 1))]:-mtarep.yml}" ;;
    --config=*) config="${args[$i]#--config=}" ;;
  esac
done

need_node
need_modules
need_build
if [ ! -f "$config" ]; then
  node dist/cli/mtarep.cjs init --config "$config"
fi
if ! grep -Eq '^[[:space:]]*(redis_url|redis_server)[[:space:]]*:' "$config"; then
  need_redis_server
fi
exec node dist/cli/mtarep.cjs start --config "$config" "${args[@]}"

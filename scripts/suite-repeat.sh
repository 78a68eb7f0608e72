#!/usr/bin/env bash
# npm run test:repeat -- [RUNS] [BUSY]
# The whole suite (vitest, as `npm test` runs it after its setup) RUNS times in a row (default 20) while
# BUSY other processes (default: one per core) keep every core busy at normal priority, to show that no
# test depends on timing. Stops at the first failing run and keeps its log; prints each run's result,
# duration and the load average. Logs: .bench/suite-repeat/run-<n>.log
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

runs="${1:-20}"
busy="${2:-$(nproc)}"
logs=.bench/suite-repeat
mkdir -p "$logs"
need_node
need_modules
need_redis_server

pids=()
stop_busy() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_busy EXIT
for _ in $(seq 1 "$busy"); do
  sh -c 'while :; do :; done' &
  pids+=("$!")
done
say "suite x${runs} with ${busy} busy-loop processes on $(nproc) cores"

passed=0
for n in $(seq 1 "$runs"); do
  t0=$(date +%s)
  if npx vitest run >"$logs/run-$n.log" 2>&1; then
    passed=$((passed + 1))
    result=passed
  else
    result=FAILED
  fi
  t1=$(date +%s)
  tests=$(grep -aoE 'Tests +[^(]*' "$logs/run-$n.log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g' || true)
  say "run $n/$runs: $result in $((t1 - t0)) s (${tests:-no summary}); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$result" = FAILED ]; then
    say "stopped: run $n failed; its log is $logs/run-$n.log"
    grep -aE 'FAIL|✗|×|AssertionError|Error:' "$logs/run-$n.log" | head -20 || true
    exit 1
  fi
done
say "all $passed of $runs runs green"

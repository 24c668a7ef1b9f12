#!/usr/bin/env bash
# Runs every benchmark of fxbench (release build) against the local stack. Each reports its bridge
# against a baseline measured in the same run, as ratios (the machines are shared and noisy).
#   FX_BENCH_ROUNDS (default 5), FX_BENCH_MESSAGES (default 100000), FX_BENCH_ROWS (default 300000)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
bash scripts/stack.sh start
source scripts/env.sh
eval "$(bash scripts/stack.sh env)"
swift build -c release --product fxbench >/dev/null
BIN="$(swift build -c release --show-bin-path)"
ROUNDS="${FX_BENCH_ROUNDS:-5}"
# The local broker keeps every message in memory and grows slower with what it holds: each benchmark
# that moves many messages through it starts with a fresh one (the stack restarted).
fresh_stack() {
  bash scripts/stack.sh stop >/dev/null
  bash scripts/stack.sh start >/dev/null
  eval "$(bash scripts/stack.sh env)"
}
echo "# $(date -u +%Y-%m-%d) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$BIN/fxbench" kafka-produce --rounds "$ROUNDS" --messages "${FX_BENCH_MESSAGES:-100000}"
fresh_stack
"$BIN/fxbench" kafka-consume --rounds "$ROUNDS" --messages "${FX_BENCH_MESSAGES:-100000}"
"$BIN/fxbench" copy --rounds "$ROUNDS" --rows "${FX_BENCH_ROWS:-300000}"
"$BIN/fxbench" normalize --rounds "$ROUNDS" --messages 200000
"$BIN/fxbench" quote-streams --rounds "$ROUNDS" --messages 100000
"$BIN/fxbench" books --rounds "$ROUNDS" --updates 200000
"$BIN/fxbench" tick-parse --rounds "$ROUNDS"
fresh_stack
"$BIN/fxbench" aggregate --rounds "$ROUNDS" --ticks 100000
"$BIN/fxbench" tick-archive --rounds "$ROUNDS" --ticks 100000
"$BIN/fxbench" tick-archive --rounds "$ROUNDS" --ticks 100000 --database-url "$DATABASE_URL_PLAIN"
"$BIN/fxbench" backfill --rounds "$ROUNDS"
fresh_stack
"$BIN/fxbench" monitor --rounds "$ROUNDS"
fresh_stack
"$BIN/fxbench" ingest --rounds "$ROUNDS" --messages "${FX_BENCH_MESSAGES:-100000}"
fresh_stack
"$BIN/fxbench" capture --rounds "$ROUNDS" --messages "${FX_BENCH_MESSAGES:-100000}"
swift build -c release >/dev/null
bash scripts/bench-ingest-rss.sh
# End to end (sender process -> ingestor -> broker -> aggregator -> PostgreSQL; every executable built
# above), about 8 minutes.
fresh_stack
"$BIN/fxbench" pipeline

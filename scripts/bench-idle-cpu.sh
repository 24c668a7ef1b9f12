#!/usr/bin/env bash
# Idle CPU of each service: started against the local stack on topics of its own with no traffic (the
# ingestor on a simulator feed told to go silent, TCP kept open), measured for FX_IDLE_SECONDS (default
# 60) after it is ready: CPU seconds used (user + system, from /proc/PID/stat) per wall second, in %.
# FX_IDLE_BIN=DIR measures the executables in DIR instead of this checkout's release build (e.g. an
# older build, for a before/after comparison in the same run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
bash scripts/stack.sh start >/dev/null
source scripts/env.sh
eval "$(bash scripts/stack.sh env)"
if [ -z "${FX_IDLE_BIN:-}" ]; then
  swift build -c release >/dev/null
  BIN="$(swift build -c release --show-bin-path)"
else
  BIN="$FX_IDLE_BIN"
fi
SECONDS_IDLE="${FX_IDLE_SECONDS:-60}"
TICK="$(getconf CLK_TCK)"
PREFIX="idle$(date +%s)."
WORK="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_ready() {
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "not ready on port $1" >&2; return 1
}

"$BIN/fxadmin" create-topics --topic-prefix "$PREFIX" --partitions 3 >/dev/null
sim_port="$(free_port)"
"$BIN/fxsim" --port "$sim_port" >"$WORK/fxsim.log" 2>&1 & pids+=($!)
sleep 1

declare -A port pid
for svc in aggregator backfiller monitor ingestor; do
  port[$svc]="$(free_port)"
  args=(--http-port "${port[$svc]}" --topic-prefix "$PREFIX")
  [ "$svc" = ingestor ] && args+=(--provider coinbase --symbols BTC-USD --ws-url "ws://127.0.0.1:$sim_port/coinbase")
  KAFKA_PROPERTIES="session.timeout.ms=6000,heartbeat.interval.ms=500" "$BIN/$svc" "${args[@]}" >"$WORK/$svc.log" 2>&1 &
  pid[$svc]=$!; pids+=($!)
done
for svc in aggregator backfiller monitor ingestor; do wait_ready "${port[$svc]}"; done
# The feed goes quiet with the connection open (longer than the measurement).
curl -fs -X POST "http://127.0.0.1:$sim_port/control/silence?venue=coinbase&seconds=$((SECONDS_IDLE + 60))" >/dev/null
sleep 10
declare -A before
for svc in aggregator backfiller monitor ingestor; do before[$svc]="$(cpu_ticks "${pid[$svc]}")"; done
sleep "$SECONDS_IDLE"
echo "idle CPU over ${SECONDS_IDLE} s ($BIN):"
for svc in aggregator backfiller monitor ingestor; do
  used=$(( $(cpu_ticks "${pid[$svc]}") - before[$svc] ))
  python3 -c "import sys; u,t,s=map(int,sys.argv[1:4]); print(f'  {sys.argv[4]:<11} {u/t:.2f} CPU-s = {100*u/t/s:.2f} % of one core')" "$used" "$TICK" "$SECONDS_IDLE" "$svc"
done

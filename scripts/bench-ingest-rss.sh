#!/usr/bin/env bash
# Resident memory of the ingestor (release) streaming 1,000 Coinbase symbols from fxsim over pooled
# connections, against the same ingestor with 2 symbols measured in the same run. Prints VmRSS (now) and
# VmHWM (peak) after FX_RSS_SECONDS (default 30) seconds of streaming.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
eval "$(bash scripts/stack.sh env)"
BIN="$(swift build -c release --show-bin-path)"
SECONDS_TO_RUN="${FX_RSS_SECONDS:-30}"
SIM_PORT=18791
"$BIN/fxsim" --port "$SIM_PORT" --step-ms 100 --trade-probability 0.2 >/tmp/fx-rss-sim.log 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
sleep 1
measure() {
  local count=$1 port=$2 symbols
  symbols=$(python3 -c "print(','.join('R%04d-USD' % i for i in range($count)))")
  "$BIN/ingestor" --provider coinbase --symbols "$symbols" --ws-url "ws://127.0.0.1:$SIM_PORT/coinbase" \
    --topic-prefix "bench-rss-$count-$RANDOM." --http-port "$port" >/tmp/fx-rss-$count.log 2>&1 &
  local pid=$!
  sleep "$SECONDS_TO_RUN"
  local rss hwm ticks
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  ticks=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^fx_ingest_delivered_total\{topic_kind="ticks"\}/ {print $2}')
  kill -TERM $pid; wait $pid || true
  echo "$count $rss $hwm $ticks"
}
read -r _ base_rss base_hwm base_ticks < <(measure 2 19201)
read -r _ big_rss big_hwm big_ticks < <(measure 1000 19202)
python3 - "$base_rss" "$base_hwm" "$base_ticks" "$big_rss" "$big_hwm" "$big_ticks" "$SECONDS_TO_RUN" <<'PY'
import sys
br, bh, bt, r, h, t, s = sys.argv[1:]
br, bh, r, h = (int(x) / 1024 for x in (br, bh, r, h))
print(f"ingestor RSS, 2 symbols (baseline): {br:.1f} MiB now, {bh:.1f} MiB peak; {bt} ticks acked in {s} s")
print(f"ingestor RSS, 1,000 symbols / 10 connections: {r:.1f} MiB now, {h:.1f} MiB peak; {t} ticks acked in {s} s")
print(f"ratio 1,000 / 2 symbols: {r / br:.2f} (now), {h / bh:.2f} (peak); goal <= 64 MiB: {'met' if h <= 64 else 'NOT met'}")
PY

#!/usr/bin/env bash
# The main job: installs what is missing, starts the local stack (broker + PostgreSQL, topics, migrations),
# builds and runs the exchange simulator (fxsim, port 8790) and the pipeline's services — the ingestor
# streams the simulator's Coinbase, Finnhub, OANDA and IG feeds (deploy/ingestor.local.yaml, or INGESTOR_CONFIG) —
# waits until each reports ready, then keeps them running until Ctrl-C (or for FX_RUN_SECONDS seconds),
# and shuts them down gracefully (SIGTERM: flush, commit, close).
#   FX_BUILD_CONFIG=release   build optimized (default debug: faster first build)
#   FX_RUN_SECONDS=N          stop after N seconds (smoke runs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
CONFIG="${FX_BUILD_CONFIG:-debug}"
SERVICES=(ingestor aggregator backfiller monitor)
declare -A PORTS=([ingestor]=9101 [aggregator]=9102 [backfiller]=9103 [monitor]=9104)
log() { printf '[run] %s\n' "$*" >&2; }

bash scripts/stack.sh start
source scripts/env.sh   # again: the start may just have installed the broker
eval "$(bash scripts/stack.sh env)"
log "building ($CONFIG)"
# Only what this script runs (not the benchmark program or the test support): one product at a time.
: >"$FX_ROOT/.stack/build.log"
for product in fxsim "${SERVICES[@]}"; do
  swift build -c "$CONFIG" --product "$product" >>"$FX_ROOT/.stack/build.log" 2>&1 || { tail -50 "$FX_ROOT/.stack/build.log" >&2; exit 1; }
done
BIN="$(swift build -c "$CONFIG" --show-bin-path)"

mkdir -p .stack/logs
RUN_STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
declare -A PIDS=()
stop_all() {
  for s in "${!PIDS[@]}"; do kill -TERM "${PIDS[$s]}" 2>/dev/null || true; done
  for s in "${!PIDS[@]}"; do wait "${PIDS[$s]}" 2>/dev/null && log "$s stopped cleanly" || log "$s exited with status $?"; done
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# A day of simulated trade history behind the REST candles: the backfiller bootstraps each symbol from it.
"$BIN/fxsim" --port 8790 --history-minutes 1440 >".stack/logs/fxsim.log" 2>&1 &
PIDS[fxsim]=$!
export INGESTOR_CONFIG="${INGESTOR_CONFIG:-$FX_ROOT/deploy/ingestor.local.yaml}"
export FINNHUB_API_KEY="${FINNHUB_API_KEY:-simulator-token}"   # fxsim accepts any token
export OANDA_API_TOKEN="${OANDA_API_TOKEN:-simulator-token}"
export OANDA_ACCOUNT_ID="${OANDA_ACCOUNT_ID:-101-000-0000000-001}"
export IG_API_KEY="${IG_API_KEY:-simulator-key}" IG_IDENTIFIER="${IG_IDENTIFIER:-simulator-user}"   # fxsim accepts any login
export IG_PASSWORD="${IG_PASSWORD:-simulator-password}"
# The backfiller repairs from the simulator's REST history: one day of bootstrap per symbol, and gaps
# repaired 5 s after their last minute ends (the local aggregator flushes within a second).
export COINBASE_REST_URL="${COINBASE_REST_URL:-http://127.0.0.1:8790/coinbase}"
export FINNHUB_REST_URL="${FINNHUB_REST_URL:-http://127.0.0.1:8790/finnhub/api/v1}"
export OANDA_REST_URL="${OANDA_REST_URL:-http://127.0.0.1:8790/oanda}"
export IG_REST_URL="${IG_REST_URL:-http://127.0.0.1:8790/ig}"
export KRAKEN_REST_URL="${KRAKEN_REST_URL:-http://127.0.0.1:8790/kraken}"
export BINANCE_REST_URL="${BINANCE_REST_URL:-http://127.0.0.1:8790/binance}"
export BOOTSTRAP_DAYS="${BOOTSTRAP_DAYS:-1}"
export BACKFILL_SETTLE_SECONDS="${BACKFILL_SETTLE_SECONDS:-5}"
# Tansu (the local broker) completes a consumer-group join after about half of session.timeout.ms:
# the group members (aggregator, backfiller, monitor) use 6 s here instead of librdkafka's 45 s (real
# Kafka joins at once).
for s in "${SERVICES[@]}"; do
  if [ "$s" != ingestor ]; then
    KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-session.timeout.ms=6000,heartbeat.interval.ms=500,max.poll.interval.ms=30000}" \
      "$BIN/$s" --http-port "${PORTS[$s]}" >".stack/logs/$s.log" 2>&1 &
  else
    "$BIN/$s" --http-port "${PORTS[$s]}" >".stack/logs/$s.log" 2>&1 &
  fi
  PIDS[$s]=$!
done

log "waiting for the services to become ready"
for s in "${SERVICES[@]}"; do
  ready=0
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:${PORTS[$s]}/health/ready" >/dev/null 2>&1; then ready=1; break; fi
    kill -0 "${PIDS[$s]}" 2>/dev/null || break
    sleep 0.5
  done
  if [ $ready -ne 1 ]; then
    log "$s did not become ready; last log lines:"; tail -20 ".stack/logs/$s.log" >&2; exit 1
  fi
done

echo
echo "Status page: http://127.0.0.1:${PORTS[monitor]}/   (stream states, alerts, latency, candle charts; bash scripts/screenshot.sh saves a picture)"
echo
echo "FXStream is running on the local stack ($KAFKA_BROKERS, $DATABASE_URL):"
for s in "${SERVICES[@]}"; do
  printf '  %-11s http://127.0.0.1:%s/health/ready  /metrics  log .stack/logs/%s.log\n' "$s" "${PORTS[$s]}" "$s"
  curl -fsS "http://127.0.0.1:${PORTS[$s]}/health/ready" | sed 's/^/      /'
done
echo
grep -h "not built yet" .stack/logs/*.log | sed 's/^.*\] /  note: /' || true
echo
echo "Topics:"; "$BIN/fxadmin" describe-topics | sed 's/^/  /'
echo
echo "Simulator: http://127.0.0.1:8790/control/stats (faults: POST /control/drop|silence|skip|malformed|rate-limit|market|expire-token)"
echo
if [ -n "${FX_RUN_SECONDS:-}" ]; then
  log "running for $FX_RUN_SECONDS s (the simulator drops the Coinbase feed after 10 s: a gap to repair)"
  sleep "$(( FX_RUN_SECONDS < 10 ? FX_RUN_SECONDS : 10 ))"
  curl -fsS -X POST "http://127.0.0.1:8790/control/drop?venue=coinbase" >/dev/null || true
  [ "$FX_RUN_SECONDS" -gt 10 ] && sleep "$(( FX_RUN_SECONDS - 10 ))"
  echo "Ingestor counters after $FX_RUN_SECONDS s:"
  curl -fsS http://127.0.0.1:9101/metrics | grep -E '^fx_ingest_(ticks|gaps|rejects)_total' | grep -v ' 0$' | sed 's/^/  /' || true
  echo "Aggregator counters:"
  curl -fsS http://127.0.0.1:9102/metrics | grep -E '^fx_aggregator_(ticks|rows_written|rejects)_total' | sed 's/^/  /' || true
  echo "Backfiller: gaps of this run in the ledger (bootstrap = history loaded for a symbol seen for the first time):"
  psql "$DATABASE_URL" -c "SELECT source, symbol, array_to_string(reasons, ',') AS reasons, status, count(*) AS gaps, sum((to_ts / 60000000000) - (from_ts / 60000000000) + 1) AS minutes FROM gaps WHERE updated_at >= '$RUN_STARTED' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4" 2>/dev/null | sed 's/^/  /' || true
  curl -fsS http://127.0.0.1:9103/metrics | grep -E '^fx_backfill_(gaps|repaired_candles|candles_published)_total' | sed 's/^/  /' || true
  echo "Monitor: stream states (http://127.0.0.1:9104/api/streams):"
  curl -fsS http://127.0.0.1:9104/api/streams | python3 -c 'import json,sys
for s in json.load(sys.stdin)["streams"]: print("  %-9s %-9s %-6s %s" % (s["source"], s["symbol"], s["state"], s["reason"]))' || true
  echo "Candles in PostgreSQL (latest 1m trade candles):"
  psql "$DATABASE_URL" -c "SELECT source, symbol, bucket, open, high, low, close, volume, tick_count, origin, revision FROM candles WHERE timeframe = '1m' AND price_type = 'trade' ORDER BY bucket DESC, symbol LIMIT 6" 2>/dev/null | sed 's/^/  /' || true
else
  log "press Ctrl-C to stop"; wait
fi

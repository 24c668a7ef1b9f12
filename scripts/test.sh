#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts the local stack (broker + PostgreSQL),
# builds, runs `swift test`. Extra arguments go to `swift test` (e.g. --filter Kafka).
#   bash scripts/test.sh --unit   only the unit specs: everything not tagged `.integration` (no stack,
#                                 no child processes; the build, then seconds)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
if [ "${1:-}" = "--unit" ]; then
  shift
  swift build --build-tests
  exec swift test --skip-build --skip "$(python3 scripts/integration-suites.py)" "$@"
fi
bash scripts/stack.sh start
source scripts/env.sh   # again: the start may just have installed the broker
eval "$(bash scripts/stack.sh env)"
export TANSU_BIN PG_BIN
python3 -c "import yaml" 2>/dev/null || python3 -m pip install -q pyyaml 2>/dev/null || python3 -m pip install -q --break-system-packages pyyaml
python3 scripts/validate-deploy.py "$FX_ROOT"
# The Dockerfile is linted (hadolint); the compose files are checked against the Compose specification's
# schema and the Prometheus configurations by promtool (all installed by install-deps).
hadolint deploy/Dockerfile && echo "[test] hadolint: deploy/Dockerfile clean"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml deploy/compose.secrets.yaml
promtool check config deploy/prometheus/compose.yml deploy/prometheus/local.yml >/dev/null && echo "[test] promtool: Prometheus configurations valid"
amtool check-config deploy/alertmanager/compose.yml >/dev/null && echo "[test] amtool: the Alertmanager configuration is valid"
swift build --build-tests
# Which back-end the main database runs on (the suite covers both: see below).
TIMESCALE="$(psql "$DATABASE_URL" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'" 2>/dev/null || true)"
if [ -n "$TIMESCALE" ]; then echo "[test] database back-end: TimescaleDB $TIMESCALE"; else echo "[test] database back-end: plain PostgreSQL"; fi
# At most FX_TEST_PARALLELISM tests at a time (default 6): every integration spec starts processes of
# its own, and an unbounded start on 2 cores starves brokers and simulators into timing failures.
swift test --skip-build --experimental-maximum-parallelization-width "${FX_TEST_PARALLELISM:-6}" "$@" 2>&1 \
  | tee "$FX_ROOT/.stack/test.log"
status="${PIPESTATUS[0]}"
# With TimescaleDB on the main database, the candle suites (store, end to end, faults) run again on
# plain PostgreSQL (database fxstream_plain; private clusters without the extension).
if [ "$status" = 0 ] && [ $# -eq 0 ] && [ -n "$TIMESCALE" ]; then
  echo "[test] the candle suites again, on plain PostgreSQL"
  DATABASE_URL="$DATABASE_URL_PLAIN" FX_TEST_TIMESCALEDB=off \
    swift test --skip-build --experimental-maximum-parallelization-width "${FX_TEST_PARALLELISM:-6}" --filter 'CandleStoreTests|CandleRepairTests|CandleRetentionTests|AggregatorIntegrationTests|AggregatorFaultTests|AggregatorMetricsTests' 2>&1 \
    | tee "$FX_ROOT/.stack/test-plain.log"
  status="${PIPESTATUS[0]}"
fi
exit "$status"

#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts the local stack (broker + PostgreSQL),
# builds, runs `swift test`. Extra arguments go to `swift test` (e.g. --filter Kafka).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
bash scripts/stack.sh start
eval "$(bash scripts/stack.sh env)"
export TANSU_BIN PG_BIN
swift build --build-tests
swift test --skip-build "$@" 2>&1 | tee "$FX_ROOT/.stack/test.log"
exit "${PIPESTATUS[0]}"

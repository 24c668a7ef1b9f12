#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, starts the local stack (broker + PostgreSQL),
# builds, runs `swift test`. Extra arguments go to `swift test` (e.g. --filter Kafka).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$FX_ROOT"
bash scripts/stack.sh start
source scripts/env.sh   # again: the start may just have installed the broker
eval "$(bash scripts/stack.sh env)"
export TANSU_BIN PG_BIN
python3 -c "import yaml" 2>/dev/null || python3 -m pip install -q pyyaml 2>/dev/null || python3 -m pip install -q --break-system-packages pyyaml
python3 scripts/validate-deploy.py "$FX_ROOT"
swift build --build-tests
swift test --skip-build "$@" 2>&1 | tee "$FX_ROOT/.stack/test.log"
exit "${PIPESTATUS[0]}"

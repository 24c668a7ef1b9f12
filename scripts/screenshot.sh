#!/usr/bin/env bash
# Saves a screenshot of the monitor's status page (Debian's Chromium, headless):
#   bash scripts/screenshot.sh [URL] [OUT.png]     default http://127.0.0.1:9104/ and .stack/status.png
# Run it while scripts/run.sh runs. The page draws itself from the monitor's JSON API; the virtual time
# budget lets its first refresh (and the candle charts) complete before the picture is taken.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
URL="${1:-http://127.0.0.1:9104/}"
OUT="${2:-$FX_ROOT/.stack/status.png}"
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir="$PROFILE" \
  --window-size=1280,1400 --virtual-time-budget=6000 --screenshot="$OUT" "$URL" >/dev/null 2>&1
echo "$OUT"

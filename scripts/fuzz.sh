#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (their own package; scratch path .build-fuzz) and runs each one
# from its committed seed corpus (Fuzz/Corpus/<target>, copied to a temporary directory: runs never write
# into the repository) for SECONDS (default 20). One line per target; exits non-zero if any target
# crashed, broke an invariant or did not build. Crash inputs are kept in $FUZZ_ARTIFACTS (default
# .build-fuzz/artifacts). Needs only the Swift toolchain (Linux, libFuzzer): no downloads.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-20}"
shift || true
all=(FuzzJSON FuzzNormalizers FuzzTickCopy FuzzGapEvent FuzzMonitor FuzzHistory FuzzTLCP FuzzRawRecord)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
scratch="$PWD/.build-fuzz"
artifacts="${FUZZ_ARTIFACTS:-$scratch/artifacts}"
mkdir -p "$artifacts"

started=$(date +%s)
if ! nice -n 10 swift build -c release --package-path Fuzz --scratch-path "$scratch" >"$scratch/build.log" 2>&1; then
  tail -n 40 "$scratch/build.log"
  echo "fuzz: build failed (log: $scratch/build.log)"
  exit 1
fi
bin="$(swift build -c release --package-path Fuzz --scratch-path "$scratch" --show-bin-path)"
echo "fuzz: built in $(( $(date +%s) - started ))s; ${seconds}s per target"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for target in "${targets[@]}"; do
  corpus="$work/$target"
  mkdir -p "$corpus"
  cp Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  dict=()
  [ -f "Fuzz/Dictionaries/$target.dict" ] && dict=(-dict="Fuzz/Dictionaries/$target.dict")
  log="$work/$target.log"
  # The Swift runtime's backtracer would take the crash signal from libFuzzer (no crash file): off.
  SWIFT_BACKTRACE=enable=no nice -n 10 "$bin/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
    -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" >"$log" 2>&1
  status=$?
  runs="$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
  [ -z "$runs" ] && runs="$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || true)"
  if [ $status -eq 0 ]; then
    printf '%-16s ok     %10s runs\n' "$target" "${runs:-?}"
  else
    failed=1
    printf '%-16s FAILED %10s runs (exit %s)\n' "$target" "${runs:-?}" "$status"
    grep -E 'FUZZ INVARIANT BROKEN|Fatal error|ERROR: libFuzzer|SUMMARY|Test unit written|^ *#[0-9]+ ' "$log" | head -n 30 | sed 's/^/    /'
    cp "$log" "$artifacts/$target.log"
  fi
done
echo "fuzz: total $(( $(date +%s) - started ))s"
exit $failed

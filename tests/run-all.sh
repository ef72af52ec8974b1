#!/usr/bin/env bash
# The whole test suite, as README's test command runs it:
#   1. install the Debian packages (deploy/install-deps.sh)
#   2. build and run every test (unit, integration) in a normal build
#   3. build and run them again under AddressSanitizer + UndefinedBehaviorSanitizer
#   4. build the libFuzzer targets with clang and fuzz each for a while
# Exit status 0 only when everything passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The frame decoder (the network's door) is fuzzed longest; every other parser too.
FUZZ_SECONDS=${ENLACE_FUZZ_SECONDS:-60}
FUZZ_OTHER_SECONDS=${ENLACE_FUZZ_OTHER_SECONDS:-30}

bash deploy/install-deps.sh

echo "== build (RelWithDebInfo) =="
bash deploy/build.sh "$root/build"
echo "== tests (RelWithDebInfo) =="
ctest --test-dir "$root/build" --output-on-failure -j 2

echo "== build (ASan+UBSan) =="
bash deploy/build.sh "$root/build-asan" -DENLACE_SANITIZE=ON
echo "== tests (ASan+UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j 2

echo "== fuzz (libFuzzer: fuzz_frame ${FUZZ_SECONDS}s, other targets ${FUZZ_OTHER_SECONDS}s) =="
targets=$(cd "$root/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
CC=clang cmake -S "$root" -B "$root/build-fuzz" -DENLACE_FUZZ=ON >/dev/null
# shellcheck disable=SC2086
cmake --build "$root/build-fuzz" -j "$(nproc)" --target $targets
fails=0
for f in "$root"/build-fuzz/tests/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus="$root/build-fuzz/corpus-$name"
  mkdir -p "$corpus"
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  [ -d "$seeds" ] || seeds=""
  secs=$FUZZ_OTHER_SECONDS
  [ "$name" = fuzz_frame ] && secs=$FUZZ_SECONDS
  if "$f" -max_total_time="$secs" -print_final_stats=1 "$corpus" $seeds \
       >"$root/build-fuzz/$name.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$root/build-fuzz/$name.log")
    echo "fuzz: $name ok: ${runs:-?} inputs in ${secs}s, no crash, no leak"
  else
    echo "fuzz: $name FAILED"; tail -40 "$root/build-fuzz/$name.log"; fails=$((fails+1))
  fi
done
[ "$fails" -eq 0 ] || { echo "fuzz: $fails target(s) failed"; exit 1; }
echo "run-all: every test passed"

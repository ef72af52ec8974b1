#!/usr/bin/env bash
# 10-log-crash: the audit log survives SIGKILL at any moment without losing a record
# that was reported committed.
#
# A helper (logcrash write) appends batches of records to a log with fsync = always,
# 64 KiB segments and a checkpoint every 50 ms, and prints the committed size after
# each log_commit returns. We SIGKILL it at a random moment (during open and recovery,
# appends, segment rolls, fdatasync, checkpoint writes), ENLACE_CRASH_ROUNDS times
# (default 50), always on the same log. After each kill, `logcrash verify` reopens the
# log as the broker would and checks that every reported record is there with its
# content, that the Merkle root matches a recomputation and the latest signed
# checkpoint, and that log_scan finds no problem once the torn tail is cut. Every third
# round also appends garbage or zeros to the last segment (a power failure's torn tail).
# The writer prepares segments in the background (pre-zeroed space, common/log_prep.h),
# so kills also land in preparations and in rolls into prepared files, and often leave
# the last segment ending in zeros (a zero tail: not damage, nothing cut); zeros appended
# after it only lengthen it, garbage after it makes it a torn tail. Every other round the
# check exits without closing the log, so the next writer goes on filling a zero tail it
# found, rather than one that a clean close cut.
# Run directly: bash tests/integration/10-log-crash.sh (ENLACE_BUILD_DIR=<build dir>).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${ENLACE_SOURCE_DIR:=$(cd "$here/../.." && pwd)}"
: "${ENLACE_BUILD_DIR:=$ENLACE_SOURCE_DIR/build}"
helper="$ENLACE_BUILD_DIR/tests/logcrash"
rounds=${ENLACE_CRASH_ROUNDS:-50}
work=$(mktemp -d "${TMPDIR:-/tmp}/enlace-10-log-crash.XXXXXX")
writer=""

cleanup() {
  if [ -n "$writer" ] && kill -0 "$writer" 2>/dev/null; then
    kill -KILL "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
  fi
  if [ -z "${ENLACE_KEEP:-}" ]; then rm -rf -- "$work"; else echo "(kept $work)"; fi
}
trap cleanup EXIT

fail() {
  printf 'FAIL - %s\n' "$*" >&2
  exit 1
}

[ -x "$helper" ] || fail "helper $helper not built"
openssl genpkey -algorithm ed25519 -out "$work/key.pem" 2>/dev/null || fail "openssl genpkey"

reported=0 # largest committed size the writer ever reported
torn=0     # rounds in which recovery cut a torn tail
zero=0     # rounds that ended with a zero tail in the last segment
start=$SECONDS
for round in $(seq 1 "$rounds"); do
  : >"$work/out"
  "$helper" write "$work/log" "$work/key.pem" >"$work/out" 2>"$work/err" &
  writer=$!
  # 5..150 ms: some kills land during open/recovery, most during appends.
  sleep "0.$(printf '%03d' $((5 + RANDOM % 146)))"
  kill -KILL "$writer" 2>/dev/null || true
  status=0
  wait "$writer" 2>/dev/null || status=$?
  writer=""
  [ "$status" -eq 137 ] || fail "round $round: the writer exited by itself ($status): $(cat "$work/err")"
  last=$(grep -E '^[0-9]+$' "$work/out" | tail -n 1 || true)
  # A prepared segment is segment_size (64 KiB) bytes from the start; ending in a zero
  # byte, it has a zero tail (near enough: a record ends in 0 one time in 256).
  seg=$({ find "$work/log" -name 'seg-*.log' 2>/dev/null || true; } | sort | tail -n 1)
  if [ -n "$seg" ] && [ "$(stat -c %s "$seg")" -eq 65536 ] &&
    [ "$(tail -c 1 "$seg" | od -An -tx1 | tr -d ' ')" = "00" ]; then
    zero=$((zero + 1))
  fi
  # A kill rarely tears a write in the page cache, so every third round we also leave
  # what a power failure can: garbage or zeros after the last frame of the last segment.
  if [ $((round % 3)) -eq 0 ]; then
    seg=$({ find "$work/log" -name 'seg-*.log' 2>/dev/null || true; } | sort | tail -n 1)
    if [ $((round % 2)) -eq 0 ]; then src=/dev/urandom; else src=/dev/zero; fi
    # (no segment yet when the kill came before the writer created its directory)
    [ -z "$seg" ] || head -c $((1 + RANDOM % 1500)) "$src" >>"$seg"
  fi
  if [ -n "$last" ] && [ "$last" -gt "$reported" ]; then reported=$last; fi

  close=""
  if [ $((round % 2)) -eq 0 ]; then close=crash; fi
  if ! result=$("$helper" verify "$work/log" "$work/key.pem" "$reported" $close 2>&1); then
    fail "round $round (reported $reported): $result"
  fi
  case "$result" in *" 0 bytes cut"*) ;; *) torn=$((torn + 1)) ;; esac
  printf 'ok %d - %s\n' "$round" "$result"
done
echo "10-log-crash: $rounds kills, $reported records reported committed, all present;" \
  "$torn torn tails cut; $zero kills left a zero tail; $((SECONDS - start)) s"

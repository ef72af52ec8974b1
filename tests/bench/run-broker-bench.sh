#!/usr/bin/env bash
# run-broker-bench.sh: DESIGN.md section 8 broker benchmarks, end to end.
#
# Starts an enlace-broker on 127.0.0.1 (port 0, --ready-file) with a test PKI and its own
# configuration and policy in a temporary directory, runs bench_broker against it, stops
# it; a fresh broker (and audit log) for every measurement. Not part of ctest: it prints
# figures, it does not pass or fail on them. See tests/bench/README.md.
#
#   tests/bench/run-broker-bench.sh [options]
#     --build DIR          build tree (default: $ENLACE_BUILD_DIR, else <source>/build)
#     --fsync MODE         "always" (default) or "batch-ms N": [log] fsync of the main runs
#     --verify BOOL        true (default) or false: [log] verify_signatures of the main runs
#     --same-work-fsync M  fsync of the same-work comparison (default "batch-ms 5")
#     --io-threads N       [broker] io_threads (default 0 = one per core)
#     --only LIST          comma-separated subset of: throughput,latency,idle,samework
#                          (throughput = end to end, then ingest only)
#     --seconds S          measured seconds per load run (default 5, after 1 s warm-up)
#     --idle N             idle sessions (default 1000)
#     --json FILE          also write one JSON object per run to FILE (JSON lines)
#     --bench-args "ARGS"  extra bench_broker options for every run (e.g. --no-idle-ack)
#     --perf DIR           record a CPU profile of the broker per run (perf record -g)
#                          into DIR/<run>.perf.data (perf report -i FILE)
#     --keep               keep the temporary directory (broker logs, audit logs)
# Environment: ENLACE_TEST_PKI (a generated test PKI to copy; else one is generated);
# ENLACE_BENCH_BROKER_ENV: NAME=VALUE words put in the broker's environment (e.g. an
# LD_PRELOAD experiment), never in the benchmark's.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${ENLACE_BUILD_DIR:-$SRC/build}
FSYNC=always
VERIFY=true
SAME_FSYNC="batch-ms 5"
IO_THREADS=0
ONLY=throughput,latency,idle,samework
SECONDS_RUN=5
IDLE=1000
JSON_OUT=""
PERF_DIR=""
BENCH_EXTRA=""
KEEP=0

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --fsync) FSYNC=$2; shift 2 ;;
    --verify) VERIFY=$2; shift 2 ;;
    --same-work-fsync) SAME_FSYNC=$2; shift 2 ;;
    --io-threads) IO_THREADS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    --perf) PERF_DIR=$2; shift 2 ;;
    --bench-args) BENCH_EXTRA=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-broker-bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$FSYNC" in always | "batch-ms "[0-9]*) ;; *) echo "--fsync: always or 'batch-ms N'" >&2; exit 2 ;; esac
case "$VERIFY" in true | false) ;; *) echo "--verify: true or false" >&2; exit 2 ;; esac

BROKER="$BUILD/broker/enlace-broker"
BENCH="$BUILD/tests/bench_broker"
for f in "$BROKER" "$BENCH"; do
  [ -x "$f" ] || { echo "run-broker-bench.sh: $f not built (cmake --build $BUILD)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/enlace-bench.XXXXXX)
BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" -eq 1 ]; then echo "(files kept in $T)"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# 1000 idle sessions need 1000+ descriptors in the broker and in the benchmark.
want=$((IDLE + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

if [ -n "${ENLACE_TEST_PKI:-}" ] && [ -d "$ENLACE_TEST_PKI" ]; then
  cp -a "$ENLACE_TEST_PKI" "$T/pki"
elif [ -d "$BUILD/test-pki/agencies" ]; then
  cp -a "$BUILD/test-pki" "$T/pki"
else
  bash "$SRC/certs/enlace-pki.sh" --out "$T/pki" --quiet
fi
PKI="$T/pki"

# Every demo agency may publish and read bench/#; sessions per agency are not the limit.
{
  for id in MX.FGR US.FBI CO.DIJIN BR.PF GT.PNC INTERPOL.NCB-MEX; do
    printf '[%s]\nrole = agency\npublish = bench/#\nsubscribe = bench/#\ncertificate = %s\n\n' \
      "$id" "$PKI/agencies/$id.crt"
  done
  printf '[EU.EDPS]\nrole = auditor\n'
} >"$T/policy.ini"

# write_config FSYNC VERIFY
write_config() {
  cat >"$T/broker.conf" <<CONF
[broker]
listen = 127.0.0.1
port = 0
io_threads = $IO_THREADS
log_format = text

[tls]
certificate = $PKI/broker.crt
key = $PKI/broker.key
ca = $PKI/ca.pem
crl = $PKI/crl.pem

[policy]
file = $T/policy.ini

[log]
dir = $T/log
checkpoint_key = $PKI/checkpoint.key
origin = enlace.bench/log
fsync = $1
verify_signatures = $2

[limits]
max_sessions = 4096
max_sessions_per_agency = 2000
idle_timeout = 300s
CONF
}

start_broker() {
  rm -rf "$T/log" "$T/ready"
  mkdir -p "$T/log"
  # shellcheck disable=SC2086 # words on purpose; env execs, so $! is the broker
  env ${ENLACE_BENCH_BROKER_ENV:-} "$BROKER" --config "$T/broker.conf" --ready-file "$T/ready" \
    2>>"$T/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$T/ready" ] && break
    kill -0 "$BROKER_PID" 2>/dev/null || { tail -20 "$T/broker.log"; echo "broker exited at start" >&2; exit 1; }
    sleep 0.05
  done
  [ -s "$T/ready" ] || { tail -20 "$T/broker.log"; echo "broker not ready" >&2; exit 1; }
  PORT=$(cat "$T/ready")
}

stop_broker() {
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" || echo "(broker exited with $? on SIGTERM; see $T/broker.log)"
  BROKER_PID=""
  # A throughput run leaves hundreds of MB of log: delete it now and let the disk finish
  # the writeback and discards (the file system is mounted with `discard` here) before
  # the next measurement starts, which would otherwise pay for them.
  [ "$KEEP" -eq 1 ] || rm -rf "$T/log"
  sync
  sleep 2
}

VERIFY_PER_CORE="" # openssl speed runs once, in the first run; fdatasync in every load run
# run FSYNC VERIFY BENCH-ARGS...
run() {
  local fsync=$1 verify=$2
  shift 2
  write_config "$fsync" "$verify"
  start_broker
  local extra=()
  # shellcheck disable=SC2206 # split on purpose
  [ -z "$BENCH_EXTRA" ] || extra+=($BENCH_EXTRA)
  case " $* " in
    *" --idle "*) extra+=(--no-ceilings) ;;
    *) [ -z "$VERIFY_PER_CORE" ] || extra+=(--verify-per-core "$VERIFY_PER_CORE") ;;
  esac
  local label="fsync=$fsync verify_signatures=$verify io_threads=$IO_THREADS"
  [ -z "${ENLACE_BENCH_BROKER_ENV:-}" ] || label="$label env: $ENLACE_BENCH_BROKER_ENV"
  local perf_pid=""
  if [ -n "$PERF_DIR" ]; then
    mkdir -p "$PERF_DIR"
    RUN_NO=$((${RUN_NO:-0} + 1))
    perf record -g -q -p "$BROKER_PID" -o "$PERF_DIR/run$RUN_NO-${1#--}.perf.data" 2>/dev/null &
    perf_pid=$!
  fi
  echo "\$ bench_broker --port $PORT --pki PKI --broker-pid $BROKER_PID --log-dir LOG $* ${extra[*]:-} --label '$label' --json"
  set +e
  "$BENCH" --port "$PORT" --pki "$PKI" --broker-pid "$BROKER_PID" --log-dir "$T/log" \
    "$@" "${extra[@]}" --label "$label" --json >"$T/out" 2>"$T/err"
  local rc=$?
  set -e
  cat "$T/err"
  grep -v '^{' "$T/out" || true
  grep '^{' "$T/out" >>"$T/results.jsonl" || true
  if [ -z "$VERIFY_PER_CORE" ]; then
    VERIFY_PER_CORE=$(sed -n 's/.*"verify_per_core":\([0-9.]*\).*/\1/p' "$T/out" | head -1)
    [ "$VERIFY_PER_CORE" != 0 ] || VERIFY_PER_CORE=""
  fi
  [ "$rc" -eq 0 ] || echo "(bench_broker exited with $rc)"
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    echo "(profile: $PERF_DIR/run$RUN_NO-${1#--}.perf.data)"
  fi
  stop_broker
}

started=$(date +%s)
echo "Enlace broker benchmarks: $(nproc) cores, $(openssl version | cut -d' ' -f1-2), $(uname -r)"
echo "broker: $BROKER; temp dir $T (log dir on $(df -P "$T" | awk 'NR==2 {print $1}'))"
want() { case ",$ONLY," in *,"$1",*) return 0 ;; *) return 1 ;; esac; }
if want throughput; then
  # End to end: publishers wait for deliveries too, so what is measured is sustained.
  run "$FSYNC" "$VERIFY" --throughput "$SECONDS_RUN"
  # Ingest only: publishers wait for PublishAcks alone; deliveries may fall behind.
  run "$FSYNC" "$VERIFY" --throughput "$SECONDS_RUN" --deliver-window 0
fi
if want latency; then
  run "$FSYNC" "$VERIFY" --latency 1000 --seconds "$SECONDS_RUN"
  run "$FSYNC" "$VERIFY" --latency 2000 --seconds "$SECONDS_RUN"
fi
want idle && run "$FSYNC" "$VERIFY" --idle "$IDLE"
# Same work as Mosquitto/NATS do (no signature check, no fdatasync per commit).
want samework && run "$SAME_FSYNC" false --throughput "$SECONDS_RUN" --same-work \
  --pool $((SECONDS_RUN * 30000 + 30000))
[ -z "$JSON_OUT" ] || cp "$T/results.jsonl" "$JSON_OUT"
echo
echo "done in $(($(date +%s) - started)) s"

# Shared helpers for integration tests (sourced, not run).
#
# Each test gets its own temp dir with a private copy of the test PKI, a broker
# configuration and a policy, and starts a real enlace-broker on 127.0.0.1 with
# port 0 (the broker picks a free port and writes it to a ready file).
# Environment (set by CTest): ENLACE_BUILD_DIR, ENLACE_TEST_PKI, ENLACE_SOURCE_DIR.
set -euo pipefail

: "${ENLACE_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${ENLACE_BUILD_DIR:=$ENLACE_SOURCE_DIR/build}"
BROKER="$ENLACE_BUILD_DIR/broker/enlace-broker"
BT="$ENLACE_BUILD_DIR/tests/brokertest"
CLI="$ENLACE_BUILD_DIR/client/enlace"
AUDIT="$ENLACE_BUILD_DIR/client/enlace-audit"
PKI_SCRIPT="$ENLACE_SOURCE_DIR/certs/enlace-pki.sh"

T=$(mktemp -d /tmp/enlace-it.XXXXXX)
BROKER_PID=""
FAILED=0

cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  if [ "$FAILED" -eq 0 ] && [ -z "${ENLACE_KEEP:-}" ]; then rm -rf "$T"; else echo "(test files kept in $T)"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILED=1; exit 1; }
pass() { echo "  ok   $*"; }

# A private copy of the PKI (tests revoke and issue certificates in it).
setup_pki() {
  if [ -n "${ENLACE_TEST_PKI:-}" ] && [ -d "$ENLACE_TEST_PKI" ]; then
    cp -a "$ENLACE_TEST_PKI" "$T/pki"
  else
    bash "$PKI_SCRIPT" --out "$T/pki" --quiet
  fi
  PKI="$T/pki"
}

write_policy() {
  cat >"$T/policy.ini" <<POL
[MX.FGR]
role = agency
publish = alerts/#, cases/#, bulk/#
subscribe = alerts/#, cases/MX/#
certificate = $PKI/agencies/MX.FGR.crt

[US.FBI]
role = agency
publish = alerts/#
subscribe = alerts/#, cases/#, bulk/#
certificate = $PKI/agencies/US.FBI.crt

[CO.DIJIN]
role = agency
publish = alerts/#
subscribe = alerts/#, cases/#
certificate = $PKI/agencies/CO.DIJIN.crt

[BR.PF]
role = agency
subscribe = alerts/#
certificate = $PKI/agencies/BR.PF.crt

[GT.PNC]
role = agency
subscribe = alerts/#
certificate = $PKI/agencies/GT.PNC.crt

[INTERPOL.NCB-MEX]
role = agency
max_sessions = 2
publish = alerts/#, notices/#
subscribe = alerts/#, notices/#
certificate = $PKI/agencies/INTERPOL.NCB-MEX.crt

[EU.EDPS]
role = auditor
POL
}

# write_config [extra "section.key=value" lines are appended to [limits]]
write_config() {
  cat >"$T/broker.conf" <<CONF
[broker]
listen = 127.0.0.1
port = 0
io_threads = 2
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
origin = enlace.test/log
segment_size = ${SEGMENT_SIZE:-64M}
fsync = ${FSYNC:-always}
verify_signatures = true

[limits]
max_frame = 1M
handshake_timeout = ${HANDSHAKE_TIMEOUT:-5s}
idle_timeout = 300s
session_buffer = ${SESSION_BUFFER:-1M}
CONF
}

start_broker() {
  rm -f "$T/ready"
  # Under AddressSanitizer, freed memory sits in a quarantine (256 MiB by default)
  # that would hide whether the broker's memory is bounded: keep it small.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" \
    "$BROKER" --config "$T/broker.conf" --ready-file "$T/ready" 2>>"$T/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 1 200); do
    [ -s "$T/ready" ] && break
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$T/broker.log"; fail "broker exited at start"; }
    sleep 0.05
  done
  [ -s "$T/ready" ] || { cat "$T/broker.log"; fail "broker did not become ready"; }
  PORT=$(cat "$T/ready")
}

stop_broker() {
  kill -TERM "$BROKER_PID"
  local rc=0
  wait "$BROKER_PID" || rc=$?
  BROKER_PID=""
  [ "$rc" -eq 0 ] || { tail -20 "$T/broker.log"; fail "broker exited with $rc on SIGTERM"; }
  if grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:" "$T/broker.log"; then
    cat "$T/broker.log"; fail "sanitizer report in the broker log"
  fi
}

# bt SCENARIO ARGS... : run a brokertest scenario, failing the test if it fails.
bt() {
  if ! "$BT" --port "$PORT" --pki "$PKI" "$@"; then
    echo "--- broker log (tail) ---"; tail -30 "$T/broker.log"
    fail "scenario $*"
  fi
}

standard_setup() {
  setup_pki
  write_policy
  write_config
  start_broker
}

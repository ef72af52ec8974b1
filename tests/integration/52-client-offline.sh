#!/usr/bin/env bash
# 52-client-offline: the offline recipient, durable cursors across broker restarts, the
# poll(2) event loop, and deliveries that must be rejected.
#
#   - US.FBI reads one message under the durable name "inbox" and goes away; MX.FGR
#     publishes three messages to it (plus one for CO.DIJIN only and one on a topic
#     outside US.FBI's filter); the broker restarts; `enlace subscribe --from resume`
#     prints exactly those three, in order, verified and decrypted; a second run prints
#     nothing (the acks are durable); a name never acknowledged starts at the log's start;
#   - a running `enlace subscribe` survives a broker restart (reconnects, resumes);
#   - tests/clienttool poll: an event loop on enlace_fd()/poll() gets what is published;
#   - a delivery altered on the way (header, payload, signature, signer certificate) is
#     rejected by libenlace with the right code and no plaintext;
#   - a sender whose signed header names CO.DIJIN but whose CMS is not encrypted to it:
#     CO.DIJIN's `enlace subscribe` reports REJECTED, exits 4 and does not acknowledge
#     (delivered again); --skip-rejected acknowledges it and moves on.
source "$(dirname "$0")/lib.sh"
TOOL="$ENLACE_BUILD_DIR/tests/clienttool"
[ -x "$TOOL" ] || fail "$TOOL not built"
command -v jq >/dev/null || fail "jq is needed"
standard_setup
# Keep the port across restarts (subscribers reconnect to the same address).
sed -i "s/^port = 0$/port = $PORT/" "$T/broker.conf"

client_conf() {
  cat >"$T/$1.conf" <<CONF
[client]
broker = 127.0.0.1:$PORT
cert = $PKI/agencies/$1.crt
key = $PKI/agencies/$1.key
ca = $PKI/ca.pem
crl = $PKI/crl.pem
checkpoint_key = $PKI/checkpoint.pub
timeout = 10s
CONF
}
for a in MX.FGR US.FBI CO.DIJIN GT.PNC; do client_conf "$a"; done
run() { # NAME ARGS...: the CLI; exit code in RC, output in $T/NAME.out/.err
  local n=$1; shift
  RC=0
  "$CLI" "$@" >"$T/$n.out" 2>"$T/$n.err" </dev/null || RC=$?
}
expect_rc() {
  if [ "$RC" -ne "$2" ]; then
    echo "--- stdout"; cat "$T/$1.out"; echo "--- stderr"; cat "$T/$1.err"
    fail "$1: exit $RC, expected $2"
  fi
  if [ -n "${3:-}" ] && ! grep -qE -- "$3" "$T/$1.err"; then
    echo "--- stderr"; cat "$T/$1.err"; fail "$1: stderr lacks /$3/"
  fi
}
# publish NAME TOPIC TO TEXT: MX.FGR publishes TEXT; sets SEQ_<NAME> and ID_<NAME>.
publish() {
  printf '%s' "$4" >"$T/$1.txt"
  run "pub-$1" --config "$T/MX.FGR.conf" publish --topic "$2" --tlp amber --to "$3" \
    --file "$T/$1.txt" --json
  expect_rc "pub-$1" 0
  printf -v "SEQ_$1" '%s' "$(jq -r .seq "$T/pub-$1.out")"
  printf -v "ID_$1" '%s' "$(jq -r .message_id "$T/pub-$1.out")"
}

# ---- the offline recipient ---------------------------------------------------------------
publish m0 alerts/trafficking US.FBI "aviso 0"
run first --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name inbox --count 1 --json
expect_rc first 0
[ "$(jq -r .message_id "$T/first.out")" = "$ID_m0" ] || fail "first run: not m0"
run first2 --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name inbox --timeout 1
expect_rc first2 5
pass "US.FBI read m0 under the durable name 'inbox' and went away (nothing else pending)"

publish a1 alerts/trafficking US.FBI "aviso 1: lancha rápida"
publish other alerts/trafficking CO.DIJIN "solo para DIJIN"
publish a2 alerts/arms US.FBI,CO.DIJIN "aviso 2: armas"
publish case cases/MX/9 US.FBI "fuera del filtro"
publish a3 alerts/trafficking/maritime US.FBI "aviso 3: contenedor"
pass "MX.FGR published a1, a2, a3 for US.FBI (seq $SEQ_a1 $SEQ_a2 $SEQ_a3) and 2 others"

stop_broker
start_broker
pass "broker restarted on port $PORT"

run resume --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name inbox --from resume \
  --count 3 --timeout 10 --json
expect_rc resume 0
[ "$(wc -l <"$T/resume.out")" -eq 3 ] || { cat "$T/resume.out"; fail "resume: expected 3 lines"; }
[ "$(jq -r .seq "$T/resume.out" | tr '\n' ' ')" = "$SEQ_a1 $SEQ_a2 $SEQ_a3 " ] ||
  { cat "$T/resume.out"; fail "resume: not a1, a2, a3 in order"; }
[ "$(jq -r .message_id "$T/resume.out" | tr '\n' ' ')" = "$ID_a1 $ID_a2 $ID_a3 " ] ||
  fail "resume: message ids"
jq -se --arg p1 "$(cat "$T/a1.txt")" --arg p2 "$(cat "$T/a2.txt")" --arg p3 "$(cat "$T/a3.txt")" \
  '[.[].payload] == [$p1, $p2, $p3] and all(.[]; .sender == "MX.FGR" and .tlp == "TLP:AMBER")' \
  "$T/resume.out" >/dev/null || { cat "$T/resume.out"; fail "resume: payloads or headers"; }
pass "after the restart, --from resume prints exactly a1, a2, a3, in order, decrypted"

run again --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name inbox --from resume \
  --timeout 2 --json
expect_rc again 5
[ ! -s "$T/again.out" ] || { cat "$T/again.out"; fail "second resume printed messages again"; }
pass "running it again receives nothing new (exit 5): the acknowledgements were durable"

"$AUDIT" show --log "$T/log" --kind delivered --agency US.FBI --json >"$T/delivered.json" ||
  fail "enlace-audit show"
grep -q "$ID_a3" "$T/delivered.json" || { cat "$T/delivered.json"; fail "no Delivered record for a3"; }
pass "the audit log records US.FBI's acknowledgement of a3"

run archive --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name archive --from resume \
  --count 4 --timeout 10 --json
expect_rc archive 0
[ "$(jq -r .seq "$T/archive.out" | tr '\n' ' ')" = "$SEQ_m0 $SEQ_a1 $SEQ_a2 $SEQ_a3 " ] ||
  { cat "$T/archive.out"; fail "never-acknowledged name: expected m0 a1 a2 a3"; }
pass "a durable name never acknowledged resumes from the start of the log (m0 a1 a2 a3)"

# ---- a running subscriber across a broker restart ------------------------------------------
# From the next sequence number rather than "new": no race with the publish below.
"$CLI" --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name live \
  --from $((SEQ_a3 + 1)) --count 2 --json >"$T/live.out" 2>"$T/live.err" &
LIVE=$!
publish b1 alerts/trafficking CO.DIJIN "b1 antes del reinicio"
for _ in $(seq 1 100); do [ -s "$T/live.out" ] && break; sleep 0.1; done
[ "$(jq -r .message_id "$T/live.out")" = "$ID_b1" ] || { cat "$T/live.out" "$T/live.err"; fail "live: b1"; }
stop_broker
start_broker
publish b2 alerts/trafficking CO.DIJIN "b2 después del reinicio"
rc=0
for _ in $(seq 1 150); do kill -0 "$LIVE" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$LIVE" 2>/dev/null; then
  kill "$LIVE"; wait "$LIVE" || true; cat "$T/live.out" "$T/live.err"; fail "live subscriber did not get b2"
fi
wait "$LIVE" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/live.err"; fail "live subscriber exit $rc"; }
[ "$(jq -r .message_id "$T/live.out" | tr '\n' ' ')" = "$ID_b1 $ID_b2 " ] ||
  { cat "$T/live.out"; fail "live subscriber: expected b1 b2 once each"; }
pass "a running 'enlace subscribe' reconnects after a broker restart and gets b2 (b1 not repeated)"

# ---- the poll(2) event loop -----------------------------------------------------------------
"$TOOL" poll "$T/GT.PNC.conf" 'alerts/#' loop resume 2 15000 >"$T/poll.out" 2>"$T/poll.err" &
POLL=$!
for _ in $(seq 1 100); do grep -q subscribed "$T/poll.err" 2>/dev/null && break; sleep 0.1; done
grep -q subscribed "$T/poll.err" || { cat "$T/poll.err"; fail "clienttool poll did not subscribe"; }
publish p1 alerts/trafficking GT.PNC "p1"
publish p2 alerts/trafficking GT.PNC "p2"
rc=0
wait "$POLL" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/poll.out" "$T/poll.err"; fail "clienttool poll exit $rc"; }
[ "$(grep '^seq=' "$T/poll.out" | tr '\n' ' ')" = "seq=$SEQ_p1 payload=p1 seq=$SEQ_p2 payload=p2 " ] ||
  { cat "$T/poll.out"; fail "poll loop: expected p1, p2"; }
grep -qE '^polls=[1-9]' "$T/poll.out" || fail "poll loop never slept in poll(2)"
pass "event loop on enlace_fd + poll + enlace_pending + enlace_next(0) gets p1, p2"

# ---- deliveries altered on the way ----------------------------------------------------------
tamper() { # WHAT EXPECTED-STATUS [CERT]
  local out
  out=$("$TOOL" tamper "$T/US.FBI.conf" 'alerts/#' "t-$1" "$SEQ_a1" "$1" ${3:+"$3"}) ||
    fail "clienttool tamper $1"
  case "$2" in
    OK) [[ $out == "status=OK payload=yes error="* ]] || fail "tamper $1: $out" ;;
    *) [[ $out == "status=$2 payload=no error="?* ]] || fail "tamper $1: expected $2, got: $out" ;;
  esac
}
tamper none OK
tamper nosigner OK
tamper header BAD_SIGNATURE
tamper truncate MALFORMED
tamper payload HASH_MISMATCH
tamper signature BAD_SIGNATURE
tamper signer BAD_CERT "$PKI/agencies/CO.DIJIN.crt"
pass "altered deliveries: header/signature BAD_SIGNATURE, cut header MALFORMED, payload HASH_MISMATCH, other signer BAD_CERT, no plaintext"

# ---- a sender that lies to one of its addressees --------------------------------------------
"$TOOL" forge "$T/MX.FGR.conf" alerts/forged US.FBI,CO.DIJIN "$PKI/agencies/US.FBI.crt" \
  >"$T/forge.out" || fail "clienttool forge"
SEQ_F=$(awk '/^seq/{print $2}' "$T/forge.out")
ID_F=$(awk '/^message_id/{print $2}' "$T/forge.out")
run rej --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name forged --from "$SEQ_F" \
  --count 1 --timeout 10 --json
expect_rc rej 4 "REJECTED message seq $SEQ_F \(id $ID_F, claimed sender MX.FGR\): DECRYPT"
[ ! -s "$T/rej.out" ] || fail "rejected message printed"
run rej2 --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name forged --from resume \
  --count 1 --timeout 10 --json
expect_rc rej2 4 "REJECTED message seq $SEQ_F"
pass "CO.DIJIN (listed, not encrypted to): REJECTED, exit 4, not acknowledged (delivered again)"
run skip --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name forged --from "$SEQ_F" \
  --skip-rejected --timeout 2 --json
expect_rc skip 5 "REJECTED message seq $SEQ_F"
run skip2 --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name forged --from resume \
  --timeout 2 --json
expect_rc skip2 5
grep -q REJECTED "$T/skip2.err" && fail "after --skip-rejected the message came again"
run fbi-forged --config "$T/US.FBI.conf" subscribe --topic 'alerts/forged' --name f --from "$SEQ_F" \
  --count 1 --json
expect_rc fbi-forged 0
[ "$(jq -r .message_id "$T/fbi-forged.out")" = "$ID_F" ] || fail "US.FBI did not get the message"
pass "--skip-rejected acknowledges it (not delivered again); US.FBI, encrypted to, reads it"
stop_broker
echo "52-client-offline: all checks passed"

#!/usr/bin/env bash
# 50-client-cli: the `enlace` CLI against a real broker, driven through client
# configuration files, with the exit codes and outputs `enlace --help` documents.
#
#   publish   prints "message_id HEX" / "seq N" (or --json) and exits 0 after the ack;
#   subscribe delivers the exact payload (text and binary, --json and --out) with the
#             right header to each addressee; a non-addressee (BR.PF) gets nothing
#             (exit 5) yet does get a message sent to every reader of the topic;
#   directory lists every agency with its verified certificate (--topic narrows);
#   receipt   verifies (pinned key), refuses a third party (3) and a wrong pin (4);
#   refusals  forbidden topic (3, NOT_AUTHORIZED), TLP:RED/AMBER+STRICT without --to (1),
#             unknown recipient (7), unknown agency (2, UNKNOWN_AGENCY), revoked (2),
#             expired (2), foreign CA (2), wrong broker CA (2), broker certificate not
#             naming the host (2), no broker (2);
#   usage     --help of every command exits 0 with its manual; bad usage exits 1.
# Needs jq.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || fail "jq is needed"
standard_setup

# client_conf AGENCY [CERT KEY]: $T/AGENCY.conf for the running broker.
client_conf() {
  local id=$1 crt=${2:-$PKI/agencies/$1.crt} key=${3:-$PKI/agencies/$1.key}
  cat >"$T/$id.conf" <<CONF
[client]
broker = 127.0.0.1:$PORT
cert = $crt
key = $key
ca = $PKI/ca.pem
crl = $PKI/crl.pem
checkpoint_key = $PKI/checkpoint.pub
timeout = 10s
CONF
}
# all_confs: every configuration this test uses, for the broker's current port.
all_confs() {
  for a in MX.FGR US.FBI CO.DIJIN BR.PF GT.PNC; do client_conf "$a"; done
  client_conf UNKNOWN "$PKI/bad/unknown.crt" "$PKI/bad/unknown.key"
  client_conf REVOKED "$PKI/bad/revoked.crt" "$PKI/bad/revoked.key"
  client_conf EXPIRED "$PKI/bad/expired.crt" "$PKI/bad/expired.key"
  client_conf FOREIGN "$PKI/bad/foreign.crt" "$PKI/bad/foreign.key"
}
all_confs

# run NAME ARGS...: run the CLI; exit code in RC, output in $T/NAME.out and .err.
run() {
  local n=$1; shift
  RC=0
  "$CLI" "$@" >"$T/$n.out" 2>"$T/$n.err" </dev/null || RC=$?
}
# expect_rc NAME CODE [STDERR-PATTERN]: the last run exited CODE (and said PATTERN).
expect_rc() {
  if [ "$RC" -ne "$2" ]; then
    echo "--- stdout"; cat "$T/$1.out"; echo "--- stderr"; cat "$T/$1.err"
    fail "$1: exit $RC, expected $2"
  fi
  if [ -n "${3:-}" ] && ! grep -qE -- "$3" "$T/$1.err"; then
    echo "--- stderr"; cat "$T/$1.err"; fail "$1: stderr lacks /$3/"
  fi
}
# jfield FILE FILTER: jq -r on a one-line JSON file.
jfield() { jq -r "$2" "$1"; }

# ---- publish ------------------------------------------------------------------------
printf 'Cargamento sospechoso en Manzanillo — contenedor "MSCU 123"\n\tsalida 14:00\n' >"$T/alert.txt"
run pub1 --config "$T/MX.FGR.conf" publish --topic alerts/trafficking --tlp TLP:AMBER \
  --to US.FBI,CO.DIJIN --type alert --case TRAF-1 --file "$T/alert.txt"
expect_rc pub1 0
[ "$(wc -l <"$T/pub1.out")" -eq 2 ] || { cat "$T/pub1.out"; fail "publish: expected 2 lines"; }
grep -qE '^message_id [0-9a-f]{32}$' "$T/pub1.out" || fail "publish: no 'message_id HEX' line"
grep -qE '^seq [0-9]+$' "$T/pub1.out" || fail "publish: no 'seq N' line"
[ ! -s "$T/pub1.err" ] || { cat "$T/pub1.err"; fail "publish: unexpected stderr"; }
ID1=$(awk '/^message_id/{print $2}' "$T/pub1.out")
SEQ1=$(awk '/^seq/{print $2}' "$T/pub1.out")
pass "publish --to US.FBI,CO.DIJIN prints message_id $ID1 and seq $SEQ1, exit 0"

head -c 2000 /dev/urandom >"$T/blob.bin"
run pub2 --config "$T/MX.FGR.conf" publish --topic alerts/trafficking --tlp amber \
  --to US.FBI --content-type application/octet-stream --file "$T/blob.bin" --json
expect_rc pub2 0
[ "$(jfield "$T/pub2.out" '.duplicate')" = false ] || fail "publish --json: duplicate"
[ "$(jfield "$T/pub2.out" '.encrypted_to')" = 2 ] || fail "publish --json: encrypted_to != 2 (US.FBI + self)"
ID2=$(jfield "$T/pub2.out" .message_id)
SEQ2=$(jfield "$T/pub2.out" .seq)
[ "$SEQ2" -gt "$SEQ1" ] || fail "publish --json: seq $SEQ2 not after $SEQ1"
pass "publish --json (binary payload): message_id, seq $SEQ2, encrypted_to 2, duplicate false"

# ---- subscribe ----------------------------------------------------------------------
run sub1 --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name desk --from 0 \
  --count 2 --json
expect_rc sub1 0
[ "$(wc -l <"$T/sub1.out")" -eq 2 ] || { cat "$T/sub1.out"; fail "subscribe: expected 2 lines"; }
head -1 "$T/sub1.out" >"$T/m1.json"
want=$(jq -Rs . <"$T/alert.txt")
jq -e --arg id "$ID1" --argjson seq "$SEQ1" --argjson payload "$want" '
  .seq == $seq and .message_id == $id and .sender == "MX.FGR" and
  .topic == "alerts/trafficking" and .recipients == ["US.FBI","CO.DIJIN"] and
  .tlp == "TLP:AMBER" and .type == "alert" and .case_ref == "TRAF-1" and
  .payload_encoding == "utf-8" and .payload == $payload' "$T/m1.json" >/dev/null ||
  { cat "$T/m1.json"; fail "subscribe --json: wrong fields for message 1"; }
pass "US.FBI subscribe --json: seq, id, sender MX.FGR, recipients, TLP:AMBER, alert, TRAF-1, exact text"
sed -n 2p "$T/sub1.out" >"$T/m2.json"
jq -e --arg id "$ID2" '.message_id == $id and .payload_encoding == "base64" and
  .content_type == "application/octet-stream" and .recipients == ["US.FBI"]' "$T/m2.json" \
  >/dev/null || { cat "$T/m2.json"; fail "subscribe --json: wrong fields for message 2"; }
jq -r .payload "$T/m2.json" | base64 -d >"$T/blob.got"
cmp -s "$T/blob.got" "$T/blob.bin" || fail "subscribe --json: binary payload differs"
pass "US.FBI subscribe --json: binary payload as base64, byte for byte"

run sub1again --config "$T/US.FBI.conf" subscribe --topic 'alerts/#' --name desk --timeout 2 --json
expect_rc sub1again 5 "no message"
[ ! -s "$T/sub1again.out" ] || fail "subscribe --from resume after acks printed messages again"
pass "US.FBI subscribe --from resume (default) after its acks: nothing new, exit 5"

mkdir -p "$T/dijin-out"
run sub2 --config "$T/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name desk --from 0 \
  --count 1 --out "$T/dijin-out"
expect_rc sub2 0
bin="$T/dijin-out/$SEQ1-$ID1.bin"
[ -f "$bin" ] && [ -f "${bin%.bin}.json" ] || { ls -l "$T/dijin-out"; fail "subscribe --out: files"; }
cmp -s "$bin" "$T/alert.txt" || fail "subscribe --out: payload file differs"
jq -e '.sender == "MX.FGR" and .case_ref == "TRAF-1"' "${bin%.bin}.json" >/dev/null ||
  fail "subscribe --out: header file"
grep -q "^sender: *MX.FGR" "$T/sub2.out" || { cat "$T/sub2.out"; fail "subscribe text output"; }
pass "CO.DIJIN subscribe --out: $SEQ1-$ID1.bin equals the file sent, .json has the header"

run sub3 --config "$T/BR.PF.conf" subscribe --topic 'alerts/#' --name desk --from 0 \
  --timeout 2 --json
expect_rc sub3 5 "no message for 2000 ms"
[ ! -s "$T/sub3.out" ] || { cat "$T/sub3.out"; fail "BR.PF received a message not addressed to it"; }
pass "BR.PF (not a recipient) receives nothing: exit 5 (timeout)"

printf 'Alerta general\n' >"$T/general.txt"
run pub3 --config "$T/MX.FGR.conf" publish --topic alerts/general --tlp TLP:GREEN \
  --file "$T/general.txt" --json
expect_rc pub3 0
# Readers of alerts/#: MX.FGR (self), US.FBI, CO.DIJIN, BR.PF, GT.PNC, INTERPOL.NCB-MEX.
[ "$(jfield "$T/pub3.out" .encrypted_to)" = 6 ] ||
  { cat "$T/pub3.out" "$T/pub3.err"; fail "publish without --to: encrypted_to != 6"; }
ID3=$(jfield "$T/pub3.out" .message_id)
run sub4 --config "$T/BR.PF.conf" subscribe --topic 'alerts/#' --name desk --count 1 --json \
  --timeout 10
expect_rc sub4 0
jq -e --arg id "$ID3" '.message_id == $id and .recipients == [] and .payload == "Alerta general\n"' \
  "$T/sub4.out" >/dev/null || { cat "$T/sub4.out"; fail "BR.PF: message to all readers"; }
pass "publish without --to reaches every reader (6 incl. self); BR.PF gets it, exit 0"

# ---- directory ----------------------------------------------------------------------
run dir1 --config "$T/US.FBI.conf" directory --json
expect_rc dir1 0
[ "$(jq -r .agency "$T/dir1.out" | sort | tr '\n' ' ')" = \
  "BR.PF CO.DIJIN EU.EDPS GT.PNC INTERPOL.NCB-MEX MX.FGR US.FBI " ] ||
  { cat "$T/dir1.out"; fail "directory: agencies"; }
[ "$(jq -r 'select(.role=="agency") | .certificate' "$T/dir1.out" | sort -u)" = verified ] ||
  fail "directory: an agency certificate is not verified"
jq -se 'map(select(.agency=="EU.EDPS")) | length == 1 and .[0].role == "auditor" and
  .[0].certificate == "none"' "$T/dir1.out" >/dev/null || fail "directory: EU.EDPS"
[ "$(jq -r 'select(.agency=="MX.FGR") | .sha256' "$T/dir1.out")" = \
  "$(openssl x509 -in "$PKI/agencies/MX.FGR.crt" -outform DER | sha256sum | cut -c1-64)" ] ||
  fail "directory: MX.FGR fingerprint is not its certificate's SHA-256"
pass "directory --json: 7 agencies, agency certificates verified (fingerprints match), auditor without"
run dir2 --config "$T/MX.FGR.conf" directory --topic cases/MX/1 --json
expect_rc dir2 0
[ "$(jq -r .agency "$T/dir2.out" | sort | tr '\n' ' ')" = "CO.DIJIN MX.FGR US.FBI " ] ||
  { cat "$T/dir2.out"; fail "directory --topic cases/MX/1"; }
pass "directory --topic cases/MX/1: exactly the readers MX.FGR, US.FBI, CO.DIJIN"
run dir3 --config "$T/MX.FGR.conf" directory
expect_rc dir3 0
grep -qE '^US\.FBI +agency +verified' "$T/dir3.out" || { cat "$T/dir3.out"; fail "directory table"; }
pass "directory (table) exit 0"

# An agency whose policy entry names no certificate file: the directory serves the
# certificate it last connected with, and still does after a restart (from the log).
gt_sha=$(openssl x509 -in "$PKI/agencies/GT.PNC.crt" -outform DER | sha256sum | cut -c1-64)
restart_with_confs() {
  stop_broker
  start_broker
  all_confs
}
gt_entry() { jq -c 'select(.agency=="GT.PNC") | [.certificate, .sha256]' "$T/$1.out"; }
sed -i "\|^certificate = $PKI/agencies/GT.PNC.crt\$|d" "$T/policy.ini"
! grep -q GT.PNC.crt "$T/policy.ini" || fail "test setup: GT.PNC certificate line still there"
restart_with_confs
run dir4 --config "$T/US.FBI.conf" directory --json
expect_rc dir4 0
[ "$(jq -r 'select(.agency=="GT.PNC") | .certificate' "$T/dir4.out")" = none ] ||
  { cat "$T/dir4.out"; fail "directory: GT.PNC never connected yet has a certificate"; }
run dir5 --config "$T/GT.PNC.conf" directory
expect_rc dir5 0
run dir6 --config "$T/US.FBI.conf" directory --json
expect_rc dir6 0
[ "$(gt_entry dir6)" = "[\"verified\",\"$gt_sha\"]" ] ||
  { cat "$T/dir6.out"; fail "directory: GT.PNC's latest certificate is not served ($(gt_entry dir6))"; }
restart_with_confs
run dir7 --config "$T/MX.FGR.conf" directory --json
expect_rc dir7 0
[ "$(gt_entry dir7)" = "[\"verified\",\"$gt_sha\"]" ] ||
  { cat "$T/dir7.out"; fail "directory after restart: GT.PNC's certificate lost ($(gt_entry dir7))"; }
pass "directory without a certificate file: none, then the latest seen, kept across a restart"

# ---- receipt ------------------------------------------------------------------------
for who in MX.FGR US.FBI; do
  run rcpt-$who --config "$T/$who.conf" receipt "$ID1" --json
  expect_rc rcpt-$who 0
  jq -e --arg id "$ID1" --argjson seq "$SEQ1" '.message_id == $id and .seq == $seq and
    .verified == true and .key_pinned == true and .sender == "MX.FGR" and
    .origin == "enlace.test/log" and .tree_size > $seq' "$T/rcpt-$who.out" >/dev/null ||
    { cat "$T/rcpt-$who.out"; fail "receipt as $who"; }
done
pass "receipt --json as sender and as recipient: verified true, key pinned, seq $SEQ1"
run rcpt-text --config "$T/MX.FGR.conf" receipt "$ID1"
expect_rc rcpt-text 0
grep -q '^proof       verified yes' "$T/rcpt-text.out" || fail "receipt text: no 'verified yes'"
run rcpt-br --config "$T/BR.PF.conf" receipt "$ID1" --json
expect_rc rcpt-br 3 "NOT_AUTHORIZED"
run rcpt-none --config "$T/MX.FGR.conf" receipt 00112233445566778899aabbccddeeff
expect_rc rcpt-none 3 "NOT_FOUND"
pass "receipt: non-recipient BR.PF exit 3 NOT_AUTHORIZED, unknown id exit 3 NOT_FOUND"
grep -v '^checkpoint_key' "$T/MX.FGR.conf" >"$T/nopin.conf"
run rcpt-nopin --config "$T/nopin.conf" receipt "$ID1" --json
expect_rc rcpt-nopin 0 "not pinned"
jq -e '.verified == true and .key_pinned == false' "$T/rcpt-nopin.out" >/dev/null ||
  fail "receipt without pin"
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout >"$T/other.pub"
run rcpt-badpin --config "$T/MX.FGR.conf" --checkpoint-key "$T/other.pub" receipt "$ID1" --json
expect_rc rcpt-badpin 4 "did not verify"
jq -e '.verified == false' "$T/rcpt-badpin.out" >/dev/null || fail "receipt with wrong pin"
pass "receipt: unpinned says so (exit 0, key_pinned false); another pinned key fails (exit 4)"

# ---- refusals -----------------------------------------------------------------------
run r-topic --config "$T/MX.FGR.conf" publish --topic notices/red --tlp amber --file "$T/alert.txt"
expect_rc r-topic 3 "NOT_AUTHORIZED"
run r-nopub --config "$T/BR.PF.conf" publish --topic alerts/x --tlp amber --file "$T/alert.txt"
expect_rc r-nopub 3 "NOT_AUTHORIZED"
run r-sub --config "$T/MX.FGR.conf" subscribe --topic 'cases/#' --name x --timeout 2
expect_rc r-sub 3 "NOT_AUTHORIZED"
pass "forbidden publish topic, publisher without rights, forbidden filter: exit 3 NOT_AUTHORIZED"
run r-red --config "$T/MX.FGR.conf" publish --topic alerts/x --tlp TLP:RED --file "$T/alert.txt"
expect_rc r-red 1 "TLP:RED.*--to"
run r-strict --config "$T/MX.FGR.conf" publish --topic alerts/x --tlp amber+strict \
  --file "$T/alert.txt"
expect_rc r-strict 1 "AMBER\+STRICT.*--to"
[ ! -s "$T/r-red.out" ] && [ ! -s "$T/r-strict.out" ] || fail "refused TLP publish printed an id"
pass "TLP:RED / TLP:AMBER+STRICT without --to: refused, exit 1"
run red --config "$T/MX.FGR.conf" publish --topic alerts/x --tlp red --to US.FBI --file "$T/alert.txt"
expect_rc red 0
run r-who --config "$T/MX.FGR.conf" publish --topic alerts/x --tlp red --to XX.NOPE \
  --file "$T/alert.txt"
expect_rc r-who 7 "XX.NOPE is not in the directory"
pass "TLP:RED --to US.FBI accepted; unknown recipient XX.NOPE: exit 7"
run r-reader --config "$T/MX.FGR.conf" publish --topic cases/MX/1 --tlp red --to BR.PF \
  --file "$T/alert.txt"
expect_rc r-reader 3 "BAD_RECIPIENT"
head -c 1100000 /dev/zero >"$T/big.bin"
run r-big --config "$T/MX.FGR.conf" publish --topic alerts/x --tlp green --to US.FBI --file "$T/big.bin"
expect_rc r-big 7 "above the broker's limit"
pass "recipient not allowed to read the topic: exit 3 BAD_RECIPIENT; payload above max_frame: exit 7"
RC=0
printf 'por stdin' | "$CLI" --config "$T/MX.FGR.conf" publish --topic alerts/stdin --tlp clear \
  --to US.FBI >"$T/stdin.out" 2>"$T/stdin.err" || RC=$?
expect_rc stdin 0
run empty --config "$T/MX.FGR.conf" publish --topic alerts/empty --tlp clear --to US.FBI --file /dev/null
expect_rc empty 0
run sub5 --config "$T/US.FBI.conf" subscribe --topic 'alerts/+' --name plus \
  --from "$(awk '/^seq/{print $2}' "$T/stdin.out")" --count 2 --json
expect_rc sub5 0
[ "$(jq -r '.topic + "=" + .payload' "$T/sub5.out" | tr '\n' '|')" = "alerts/stdin=por stdin|alerts/empty=|" ] ||
  { cat "$T/sub5.out"; fail "payload from stdin / empty payload"; }
pass "payload from standard input and an empty payload arrive as sent ('alerts/+' filter)"

run r-unknown --config "$T/UNKNOWN.conf" directory
expect_rc r-unknown 2 "UNKNOWN_AGENCY"
run r-revoked --config "$T/REVOKED.conf" directory
expect_rc r-revoked 2 "broker rejected our certificate: .*revoked"
run r-expired --config "$T/EXPIRED.conf" directory
expect_rc r-expired 2 "broker rejected our certificate: .*expired"
run r-foreign --config "$T/FOREIGN.conf" directory
expect_rc r-foreign 2 "broker rejected our certificate"
pass "unknown agency (UNKNOWN_AGENCY), revoked, expired, foreign-CA certificates: exit 2, named"
for c in r-unknown r-revoked r-expired r-foreign; do
  [ ! -s "$T/$c.out" ] || fail "$c printed a directory"
done
grep -v '^crl' "$T/MX.FGR.conf" | sed "s|^ca = .*|ca = $PKI/bad/foreign-ca.pem|" >"$T/wrongca.conf"
run r-ca --config "$T/wrongca.conf" directory
expect_rc r-ca 2 "broker certificate refused"
run r-ca-pub --config "$T/wrongca.conf" publish --topic alerts/x --tlp green --file "$T/alert.txt"
expect_rc r-ca-pub 2 "broker certificate refused"
pass "wrong broker CA bundle: exit 2 'broker certificate refused' (directory, publish)"
run r-port --config "$T/MX.FGR.conf" --broker 127.0.0.1:1 directory
expect_rc r-port 2 "cannot connect"
run r-flag --config "$T/MX.FGR.conf" --cert "$PKI/bad/unknown.crt" --key "$PKI/bad/unknown.key" directory
expect_rc r-flag 2 "UNKNOWN_AGENCY"
pass "no broker at the address: exit 2; flags override the configuration file"

ENLACE_CONFIG="$T/US.FBI.conf" run env1 directory
expect_rc env1 0
printf '[client]\nbroker = 127.0.0.1:%s\nbogus = 1\n' "$PORT" >"$T/bad.conf"
run badconf --config "$T/bad.conf" directory
expect_rc badconf 1 "bad.conf:3"
run noconf directory
expect_rc noconf 1 "no --broker given"
pass "ENLACE_CONFIG used; unknown configuration key: exit 1 naming FILE:LINE; none: exit 1"

# ---- help and usage -----------------------------------------------------------------
for c in publish subscribe directory receipt; do
  run help-$c "$c" --help
  expect_rc help-$c 0
  grep -q "^  enlace $c" "$T/help-$c.out" && grep -q '^SYNOPSIS' "$T/help-$c.out" &&
    grep -q '^EXIT STATUS' "$T/help-$c.out" || fail "$c --help: no manual"
  run help2-$c help "$c"
  expect_rc help2-$c 0
  cmp -s "$T/help-$c.out" "$T/help2-$c.out" || fail "enlace help $c differs from $c --help"
  run help3-$c "$c" -h
  expect_rc help3-$c 0
done
run help --help
expect_rc help 0
grep -q '^COMMANDS' "$T/help.out" || fail "enlace --help: no command list"
pass "--help / -h / help CMD on every command: exit 0 with the manual"

bad() { # NAME PATTERN ARGS...: bad usage exits 1, says PATTERN, prints nothing on stdout
  local n=$1 pat=$2; shift 2
  run "$n" "$@"
  expect_rc "$n" 1 "$pat"
  [ ! -s "$T/$n.out" ] || fail "$n: printed on stdout"
}
bad u-none "no command given"
bad u-cmd "no command 'frobnicate'" frobnicate
bad u-opt "unrecognized option" publish --bogus
bad u-gopt "unknown option" --bogus directory
bad u-pub "--topic and --tlp are required" publish --topic alerts/x
bad u-tlp "--tlp: expected" publish --topic alerts/x --tlp purple
bad u-type "--type: expected" publish --topic alerts/x --tlp amber --type memo
bad u-sub "--topic and --name are required" subscribe --topic 'alerts/#'
bad u-from "--from: expected" subscribe --topic 'alerts/#' --name d --from yesterday
bad u-count "--count: expected a positive number" subscribe --topic 'alerts/#' --name d --count 0
bad u-rcpt "expected one MESSAGE-ID" receipt
bad u-rid "is not a message id" receipt 1234
bad u-dir "unexpected argument" directory extra
bad u-val "needs a value" --config
pass "bad usage (14 cases): exit 1 with a reason on stderr, nothing on stdout"

# ---- a broker certificate that does not name the address ----------------------------
# Issue one for DNS:broker.invalid only from the test intermediate CA (private PKI copy).
CA_DIR="$PKI/ca-db/intermediate"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/b2.key" 2>/dev/null
openssl req -new -key "$T/b2.key" -subj "/CN=broker.invalid" -out "$T/b2.csr" 2>/dev/null
printf 'subjectAltName=DNS:broker.invalid\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n' \
  >"$T/b2.ext"
openssl x509 -req -in "$T/b2.csr" -CA "$CA_DIR/ca.crt" -CAkey "$CA_DIR/ca.key" \
  -CAcreateserial -CAserial "$T/b2.srl" -days 2 -extfile "$T/b2.ext" -out "$T/b2.crt" 2>/dev/null
cat "$T/b2.crt" "$PKI/intermediate.crt" >"$T/b2.chain"
stop_broker
sed -i "s|^certificate = $PKI/broker.crt|certificate = $T/b2.chain|; s|^key = $PKI/broker.key|key = $T/b2.key|" \
  "$T/broker.conf"
start_broker
run r-host --config "$T/MX.FGR.conf" --broker "127.0.0.1:$PORT" directory
expect_rc r-host 2 "broker certificate refused: .*mismatch"
pass "broker certificate not naming 127.0.0.1: exit 2 'broker certificate refused: IP address mismatch'"
stop_broker
echo "50-client-cli: all checks passed"

#!/usr/bin/env bash
# enlace-audit: verify accepts a clean log and detects every tampering, naming the place
# (segment, offset, seq or checkpoint index); show/replay filters give exactly the
# expected records; prove/consistency -> check-proof round trips; fetch from a broker.
#
# Logs are written by tests/integration/logwriter (the common/ log library, real
# signed envelopes from the test PKI, checkpoints signed with PKI/checkpoint.key), then
# copied and damaged with small Python helpers that understand the segment framing.
source "$(dirname "$0")/lib.sh"
setup_pki
LW="$ENLACE_BUILD_DIR/tests/logwriter"
KEY="$PKI/checkpoint.pub"
ORIGIN="enlace.test/log"
OUT="$T/out.txt"

[ -x "$AUDIT" ] || fail "enlace-audit not built ($AUDIT)"
[ -x "$LW" ] || fail "logwriter not built ($LW)"

# --- helpers ---------------------------------------------------------------------------

# frames.py CMD SEGMENT [ARG]: offset I (byte offset of frame I) | delete I | swap I
# (frames I and I+1) | truncate I (cut in the middle of frame I) | flip OFFSET.
cat >"$T/frames.py" <<'PY'
import struct, sys
cmd, path = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
frames, o = [], 0
while o + 8 <= len(data):
    n = struct.unpack('>I', data[o:o + 4])[0]
    frames.append(data[o:o + 8 + n]); o += 8 + n
arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
if cmd == 'offset':
    print(sum(len(f) for f in frames[:arg])); sys.exit(0)
if cmd == 'count':
    print(len(frames)); sys.exit(0)
if cmd == 'delete':
    del frames[arg]; out = b''.join(frames)
elif cmd == 'swap':
    frames[arg], frames[arg + 1] = frames[arg + 1], frames[arg]; out = b''.join(frames)
elif cmd == 'truncate':
    out = b''.join(frames[:arg]) + frames[arg][:len(frames[arg]) // 2]
elif cmd == 'flip':
    b = bytearray(data); b[arg] ^= 0x5a; out = bytes(b)
open(path, 'wb').write(out)
PY
frames() { python3 "$T/frames.py" "$@"; }

# Replace entry I of DIR/checkpoints with the note read on stdin.
cat >"$T/sethist.py" <<'PY'
import sys
path, i = sys.argv[1], int(sys.argv[2])
parts = open(path).read().split('\f\n')
parts[i] = sys.stdin.read()
open(path, 'w').write('\f\n'.join(parts))
PY
# Print entry I of DIR/checkpoints.
gethist() { python3 -c "import sys; print(open(sys.argv[1]).read().split('\f\n')[int(sys.argv[2])], end='')" "$1" "$2"; }

# verify_rc DIR [ARGS]: run verify on DIR, output in $OUT, sets RC.
verify_rc() {
  local dir=$1; shift
  RC=0
  "$AUDIT" verify --log "$dir" --key "$KEY" "$@" >"$OUT" 2>&1 || RC=$?
}

# expect_ok NAME DIR [ARGS]
expect_ok() {
  local name=$1; shift
  verify_rc "$@"
  [ "$RC" -eq 0 ] || { cat "$OUT"; fail "$name: verify exit $RC, want 0"; }
  grep -q '^OK:' "$OUT" || { cat "$OUT"; fail "$name: no OK line"; }
  pass "$name"
}

# expect_bad NAME DIR "PATTERN..." [-- ARGS]: exit 2 and the FIRST problem line (the one
# also printed on stderr as "verification FAILED: ...") matches every PATTERN (grep -E).
expect_bad() {
  local name=$1 dir=$2; shift 2
  local pats=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do pats+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  verify_rc "$dir" "$@"
  [ "$RC" -eq 2 ] || { cat "$OUT"; fail "$name: verify exit $RC, want 2"; }
  local first
  first=$(grep 'verification FAILED:' "$OUT" || true)
  [ -n "$first" ] || { cat "$OUT"; fail "$name: no first error named"; }
  for p in "${pats[@]}"; do
    echo "$first" | grep -qE -- "$p" || { cat "$OUT"; fail "$name: first error lacks /$p/"; }
  done
  pass "$name: ${first#*FAILED: }"
}

fresh() { rm -rf "$T/t"; cp -a "$1" "$T/t"; }

# --- the logs ------------------------------------------------------------------------------
# old: 200 records, checkpoints every 40; base: old + 150 more (continued by a second run).
"$LW" write --dir "$T/base" --pki "$PKI" --records 200 --checkpoint-every 40 \
  --manifest "$T/man.jsonl" --no-fsync || fail "logwriter (first run)"
cp -a "$T/base" "$T/old"
"$LW" write --dir "$T/base" --pki "$PKI" --records 150 --checkpoint-every 40 \
  --manifest "$T/man.jsonl" --no-fsync || fail "logwriter (second run)"
SEGS=( $(cd "$T/base" && ls seg-*.log) )
[ "${#SEGS[@]}" -ge 5 ] || fail "want several segments, got ${#SEGS[@]}"
NHIST=$(python3 -c "import sys; print(len(open(sys.argv[1]).read().split('\f\n')) - 1)" "$T/base/checkpoints")
[ "$NHIST" -ge 5 ] || fail "want several checkpoints, got $NHIST"
pass "logwriter: 350 records in ${#SEGS[@]} segments, $NHIST checkpoints"

# --- clean logs verify ------------------------------------------------------------------------
expect_ok "clean log verifies" "$T/base"
expect_ok "clean log verifies with --ca and --crl" "$T/base" --ca "$PKI/ca.pem" --crl "$PKI/crl.pem"
expect_ok "clean log verifies with one thread" "$T/base" --ca "$PKI/ca.pem" --threads 1
expect_ok "older copy verifies on its own" "$T/old"
VK=$(grep '^key:' "$OUT" | awk '{print $2}')
expect_ok "pinned key as a verifier key string" "$T/base" --key "$VK"
"$AUDIT" verify --log "$T/base" --key "$KEY" --ca "$PKI/ca.pem" --json >"$T/sum.json" ||
  fail "verify --json exit $?"
python3 - "$T/sum.json" <<'PY' || fail "verify --json summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ok"] is True and s["records"] == 350 and s["problems"] == 0, s
assert s["first_error"] is None and s["signatures_checked"] == s["published"] > 100, s
assert s["checkpoint_size"] == 350 and s["checkpoints_valid"] >= 5, s
for k in ("elapsed_s", "records_per_s", "signatures_per_s", "segments", "bytes"):
    assert k in s, k
PY
pass "verify --json summary parses and counts"
RC=0; "$AUDIT" verify --log "$T/base" --key "$T/nonexistent.pub" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 3 ] || fail "missing key file: exit $RC, want 3"
RC=0; "$AUDIT" verify --log "$T/nowhere" --key "$KEY" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 3 ] || fail "missing log: exit $RC, want 3"
RC=0; "$AUDIT" verify --log "$T/base" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 1 ] || fail "no --key: exit $RC, want 1"
pass "exit codes: missing key 3, missing log 3, usage 1"

# --- byte flips -----------------------------------------------------------------------------
SEG=${SEGS[2]}
OFF=$(frames offset "$T/base/$SEG" 3)
fresh "$T/base"; frames flip "$T/t/$SEG" "$OFF"
expect_bad "flip in a frame length (high byte)" "$T/t" "$SEG" "offset $OFF" "bad-length"
fresh "$T/base"; frames flip "$T/t/$SEG" $((OFF + 3))
expect_bad "flip in a frame length (low byte)" "$T/t" "$SEG" "offset $OFF"
fresh "$T/base"; frames flip "$T/t/$SEG" $((OFF + 6))
expect_bad "flip in a CRC" "$T/t" "$SEG" "offset $OFF" "bad-crc"
fresh "$T/base"; frames flip "$T/t/$SEG" $((OFF + 20))
expect_bad "flip in a record body" "$T/t" "$SEG" "offset $OFF" "bad-crc"
FIRST=$((10#${SEG:4:20}))
expect_bad "the body flip names the seq" "$T/t" "seq $((FIRST + 3)) "

# --- frames removed, moved, cut ------------------------------------------------------------------
fresh "$T/base"; frames delete "$T/t/$SEG" 3
expect_bad "a record deleted" "$T/t" "seq-mismatch" "$SEG" "offset $OFF" "seq $((FIRST + 3)) "
fresh "$T/base"; frames swap "$T/t/$SEG" 3
expect_bad "two records swapped" "$T/t" "seq-mismatch" "$SEG" "offset $OFF" "seq $((FIRST + 3)) "
fresh "$T/base"; frames truncate "$T/t/$SEG" 3
expect_bad "a segment cut mid-record" "$T/t" "short-frame" "$SEG" "offset $OFF"
LAST=${SEGS[-1]}
NLAST=$(frames count "$T/base/$LAST")
fresh "$T/base"; frames truncate "$T/t/$LAST" $((NLAST - 1))
expect_bad "the last segment cut inside signed records" "$T/t" "rollback" "checkpoint #[0-9]+|latest checkpoint" "seq 349"
fresh "$T/base"; printf '\000\000\001\000\377\377\377\377partial' >>"$T/t/$LAST"
expect_ok "a torn tail after the last checkpoint is only a note" "$T/t"
grep -q "torn tail" "$OUT" || { cat "$OUT"; fail "the torn tail is reported"; }
"$AUDIT" show --log "$T/t" >/dev/null 2>&1 || fail "show accepts a torn tail"
fresh "$T/base"; rm "$T/t/${SEGS[1]}"
expect_bad "a whole segment removed" "$T/t" "segment-gap" "${SEGS[2]}"

# --- checkpoints replaced -------------------------------------------------------------------------
openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null || fail "openssl genpkey"
fresh "$T/base"
"$LW" resign --key "$T/other.key" --origin "$ORIGIN" <"$T/base/checkpoint" >"$T/t/checkpoint" ||
  fail "resign"
expect_bad "latest checkpoint re-signed with another key" "$T/t" "latest checkpoint file" "checkpoint-signature"
fresh "$T/base"
gethist "$T/base/checkpoints" 2 | "$LW" resign --key "$T/other.key" --origin "$ORIGIN" |
  python3 "$T/sethist.py" "$T/t/checkpoints" 2
expect_bad "history entry re-signed with another key" "$T/t" "checkpoint #2[: ]" "checkpoint-signature"
fresh "$T/base"
SIZE3=$(gethist "$T/base/checkpoints" 3 | sed -n 2p)
"$LW" sign --key "$PKI/checkpoint.key" --origin "$ORIGIN" --size "$SIZE3" \
  --root "$(head -c 32 /dev/urandom | base64)" | python3 "$T/sethist.py" "$T/t/checkpoints" 3
expect_bad "history entry with the right key but a wrong root" "$T/t" "checkpoint #3 " "checkpoint-root" "size $SIZE3"
fresh "$T/base"
"$LW" sign --key "$PKI/checkpoint.key" --origin "$ORIGIN" --size 10 \
  --root "$(head -c 32 /dev/urandom | base64)" | python3 "$T/sethist.py" "$T/t/checkpoints" 4
expect_bad "history entry signed for a smaller size" "$T/t" "checkpoint #4 " "checkpoint-order"

# --- rollback -------------------------------------------------------------------------------------
fresh "$T/old"; cp "$T/base/checkpoint" "$T/base/checkpoints" "$T/t/"
expect_bad "log rolled back to an older copy under the newer checkpoints" "$T/t" "rollback" "checkpoint #[0-9]+" "holds 200 records" "seq 200\.\."

# --- a live writer's zero tail -------------------------------------------------------------------
# A writer on a prepared segment (pre-zeroed space, common/log_prep.h) leaves its last
# segment ending in zeros until it closes: a copy taken meanwhile, and the directory of a
# writer killed there, must verify. logwriter --hang stops in that state.
"$LW" write --dir "$T/live" --pki "$PKI" --records 120 --checkpoint-every 40 \
  --segment-size 65536 --hang >"$T/hang.out" 2>&1 &
LWPID=$!
for _ in $(seq 1 600); do grep -q '^hanging' "$T/hang.out" && break; sleep 0.1; done
grep -q '^hanging' "$T/hang.out" || { kill -KILL "$LWPID" 2>/dev/null; cat "$T/hang.out"; fail "logwriter --hang"; }
cp -a "$T/live" "$T/live-copy"
kill -KILL "$LWPID" 2>/dev/null || true
wait "$LWPID" 2>/dev/null || true
python3 - "$T/live-copy" <<'PY' || fail "the copy's last segment has no zero tail"
import os, struct, sys
d = sys.argv[1]
last = sorted(f for f in os.listdir(d) if f.startswith('seg-'))[-1]
data = open(os.path.join(d, last), 'rb').read()
o = 0
while o + 8 <= len(data) and struct.unpack('>I', data[o:o + 4])[0] != 0:
    o += 8 + struct.unpack('>I', data[o:o + 4])[0]
assert len(data) == 65536 and o < len(data) and not any(data[o:]), (last, len(data), o)
PY
expect_ok "a log copied while its writer had a zero tail" "$T/live-copy" --ca "$PKI/ca.pem"
grep -q "torn tail" "$OUT" && { cat "$OUT"; fail "a zero tail is not a torn tail"; }
expect_ok "the directory of a writer killed with a zero tail" "$T/live"
"$AUDIT" show --log "$T/live-copy" >/dev/null 2>"$T/err.txt" || fail "show on a zero tail: exit $?"
[ ! -s "$T/err.txt" ] || { cat "$T/err.txt"; fail "show warns about a zero tail"; }
fresh "$T/live-copy"; printf 'junk' >>"$T/t/$(cd "$T/t" && ls seg-*.log | tail -n 1)"
expect_bad "zeros followed by other bytes are not a zero tail" "$T/t" "bad-length" "zero bytes followed by other data"

# --- sender signatures -----------------------------------------------------------------------------
"$LW" write --dir "$T/forged" --pki "$PKI" --records 150 --checkpoint-every 40 --no-fsync \
  --forge-signature-at 60 || fail "logwriter (forged)"
expect_ok "forged sender signature passes without --ca (CRCs and tree hold)" "$T/forged"
expect_bad "forged sender signature fails with --ca" "$T/forged" "seq 60 " "bad-signature" -- --ca "$PKI/ca.pem"
grep -c "bad-signature" "$OUT" | grep -qx 2 || { cat "$OUT"; fail "want exactly one bad signature (listed + first)"; }
"$LW" write --dir "$T/expired" --pki "$PKI" --records 120 --no-fsync --expired-signer-at 70 ||
  fail "logwriter (expired)"
expect_bad "publication signed with an expired certificate" "$T/expired" "seq 70 " "certificate-time" -- --ca "$PKI/ca.pem"
expect_ok "the same log without --ca" "$T/expired"
"$LW" write --dir "$T/revoked" --pki "$PKI" --records 120 --no-fsync --revoked-signer-at 50 ||
  fail "logwriter (revoked)"
expect_ok "a revoked signer passes without the CRL" "$T/revoked" --ca "$PKI/ca.pem"
expect_bad "a publication logged after its signer was revoked fails with --crl" "$T/revoked" "seq 50 " "certificate-time" "revoked at" -- --ca "$PKI/ca.pem" --crl "$PKI/crl.pem"
grep -q "FAILED: 1 problem" "$OUT" || { cat "$OUT"; fail "only the revoked signer's record fails"; }
expect_bad "a foreign CA bundle refuses every signer" "$T/base" "bad-certificate" -- --ca "$PKI/bad/foreign-ca.pem"

# --- show / replay filters against the manifest ---------------------------------------------------------
# expected FILTER...: the seqs the manifest says match (independent implementation).
cat >"$T/expect.py" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
args = dict(a.split('=', 1) for a in sys.argv[2:])
pub = {r['seq']: r for r in recs if r['kind'] == 'published'}
def match(f, t):
    f, t = f.split('/'), t.split('/')
    for i, p in enumerate(f):
        if p == '#': return True
        if i >= len(t) or (p != '+' and p != t[i]): return False
    return len(f) == len(t)
def ok(r):
    if 'agency' in args and args['agency'] not in r.get('agencies', []): return False
    if 'kind' in args and r['kind'] not in args['kind'].split(','): return False
    if 'from' in args and r['seq'] < int(args['from']): return False
    if 'to' in args and r['seq'] > int(args['to']): return False
    if 'since' in args and r['time_ms'] < int(args['since']): return False
    if 'until' in args and r['time_ms'] > int(args['until']): return False
    if 'message' in args:
        m = args['message']
        if r['kind'] == 'published': return r['message_id'] == m
        if r['kind'] == 'delivered': return any(pub.get(s, {}).get('message_id') == m for s in r['seqs'])
        return False
    if 'topic' in args:
        f = args['topic']
        if r['kind'] == 'published': return match(f, r['topic'])
        if r['kind'] == 'denied': return match(f, r['topic'])
        if r['kind'] == 'delivered': return any(match(f, pub[s]['topic']) for s in r['seqs'] if s in pub)
        if r['kind'] == 'subscription-changed': return f in ('#', 'alerts/#')
        return False
    return True
print(' '.join(str(r['seq']) for r in recs if ok(r)))
PY
# check_show NAME "EXPECT-ARGS" SHOW-ARGS...
check_show() {
  local name=$1 exp=$2; shift 2
  local want got n
  want=$(python3 "$T/expect.py" "$T/man.jsonl" $exp)
  "$AUDIT" show --log "$T/base" --json "$@" >"$T/show.jsonl" || fail "$name: show --json exit $?"
  python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$T/show.jsonl" ||
    fail "$name: JSON lines do not parse"
  got=$(python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))' <"$T/show.jsonl")
  [ "$got" = "$want" ] || fail "$name: got seqs [$got], want [$want]"
  [ -n "$want" ] || fail "$name: the filter selects nothing (test data problem)"
  n=$("$AUDIT" show --log "$T/base" --no-header "$@" | wc -l)
  [ "$n" -eq "$(echo "$want" | wc -w)" ] || fail "$name: table has $n lines, want $(echo "$want" | wc -w)"
  pass "$name ($(echo "$want" | wc -w) records)"
}
check_show "show everything" ""
check_show "show --agency US.FBI" "agency=US.FBI" --agency US.FBI
check_show "show --agency GT.PNC" "agency=GT.PNC" --agency GT.PNC
check_show "show --kind delivered,denied" "kind=delivered,denied" --kind delivered,denied
check_show "show --kind published --agency CO.DIJIN" "kind=published agency=CO.DIJIN" --kind published --agency CO.DIJIN
check_show "show --topic 'alerts/#'" "topic=alerts/#" --topic 'alerts/#'
check_show "show --topic 'cases/+/homicide'" "topic=cases/+/homicide" --topic 'cases/+/homicide'
MSG=$(python3 - "$T/man.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pub = {r['seq']: r['message_id'] for r in recs if r['kind'] == 'published'}
n = {}
for r in recs:
    if r['kind'] == 'delivered':
        for s in r['seqs']: n[s] = n.get(s, 0) + 1
print(pub[max(n, key=lambda s: n[s])])
PY
)
check_show "show --message (published + its deliveries)" "message=$MSG" --message "$MSG"
check_show "show --from-seq 100 --to-seq 149" "from=100 to=149" --from-seq 100 --to-seq 149
T0=$(python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1])][120]['time_ms'])" "$T/man.jsonl")
SINCE=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]+'Z')" "$T0")
UNTIL=$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000+59, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$T0")
T1=$(( T0 + 59000 ))
check_show "show --since/--until (ISO 8601)" "since=$T0 until=$T1" --since "$SINCE" --until "$UNTIL"
"$AUDIT" replay --log "$T/base" --json --message "$MSG" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert rows[0]["kind"] == "published" and rows[0]["payload_sha256"] and rows[0]["signer_cert_sha256"], rows[0]
assert all(r["kind"] == "delivered" and r["messages"] for r in rows[1:]), rows
' || fail "replay --json with full header fields"
"$AUDIT" replay --log "$T/base" --message "$MSG" | grep -q "acknowledged     seq" || fail "replay text shows deliveries"
pass "replay (text and JSON) shows the full header and resolved deliveries"
RC=0; "$AUDIT" show --log "$T/base" --message 00000000000000000000000000000000 >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 3 ] || fail "show --message of an unknown id: exit $RC, want 3"
RC=0; "$AUDIT" show --log "$T/base" --kind nonsense >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 1 ] || fail "show --kind nonsense: exit $RC, want 1"
fresh "$T/base"; frames flip "$T/t/$SEG" $((OFF + 20))
RC=0; "$AUDIT" show --log "$T/t" >/dev/null 2>"$T/err.txt" || RC=$?
[ "$RC" -eq 2 ] && grep -q "$SEG" "$T/err.txt" || fail "show on a damaged log: exit $RC, want 2 with a warning"
pass "show refusals: unknown message 3, bad kind 1, damaged log 2"

# --- proofs ------------------------------------------------------------------------------------------------
"$AUDIT" prove --log "$T/base" --key "$KEY" --message "$MSG" >"$T/proof.txt" || fail "prove exit $?"
"$AUDIT" check-proof "$T/proof.txt" --key "$KEY" >"$OUT" || { cat "$OUT"; fail "check-proof of a good proof"; }
grep -q "^OK: inclusion proof holds" "$OUT" || fail "check-proof says OK"
"$AUDIT" check-proof - --key "$KEY" --message "$MSG" <"$T/proof.txt" >"$OUT" || fail "check-proof from stdin with --message"
pass "prove -> check-proof round trip (file and stdin, --message)"
"$AUDIT" prove --log "$T/base" --key "$KEY" --seq 0 --checkpoint "$T/old/checkpoint" >"$T/proof0.txt" ||
  fail "prove --seq 0 against an older checkpoint"
"$AUDIT" check-proof "$T/proof0.txt" --key "$KEY" >"$OUT" || fail "check-proof of the seq-0 proof"
grep -q "size 200" "$OUT" || fail "the seq-0 proof is against the size-200 checkpoint"
pass "prove --seq against an older checkpoint file"
bad_proof() {
  local name=$1
  RC=0; "$AUDIT" check-proof "$T/bad.txt" --key "$KEY" "${@:2}" >"$OUT" 2>&1 || RC=$?
  [ "$RC" -eq 2 ] || { cat "$OUT"; fail "tampered proof ($name): exit $RC, want 2"; }
  grep -q "^INVALID" "$OUT" || fail "tampered proof ($name): no INVALID line"
  pass "tampered proof refused: $name"
}
python3 - "$T/proof.txt" "$T/bad.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
i = next(i for i, l in enumerate(lines) if l.startswith('hash '))
h = lines[i][5:]; lines[i] = 'hash ' + ('B' if h[0] == 'A' else 'A') + h[1:]
open(sys.argv[2], 'w').write('\n'.join(lines))
PY
bad_proof "a proof hash changed"
python3 - "$T/proof.txt" "$T/bad.txt" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split('\n')
i = next(i for i, l in enumerate(lines) if l.startswith('record '))
r = bytearray(base64.b64decode(lines[i][7:])); r[-1] ^= 1
lines[i] = 'record ' + base64.b64encode(bytes(r)).decode()
open(sys.argv[2], 'w').write('\n'.join(lines))
PY
bad_proof "a record byte changed"
sed 's/^leaf-index \([0-9]*\)$/leaf-index 1\1/' "$T/proof.txt" >"$T/bad.txt"
bad_proof "the leaf index changed"
sed 's/^tree-size \([0-9]*\)$/tree-size 1\1/' "$T/proof.txt" >"$T/bad.txt"
bad_proof "the tree size changed"
grep -v '^hash ' "$T/proof.txt" >"$T/bad.txt"
bad_proof "the hashes removed"
python3 - "$T/proof.txt" "$T/bad.txt" <<'PY'
import sys
t = open(sys.argv[1]).read()
a, b = t.split('checkpoint\n', 1)
body = b.split('\n')
body[1] = '| ' + str(int(body[1][2:]) - 1)   # the signed size
open(sys.argv[2], 'w').write(a + 'checkpoint\n' + '\n'.join(body))
PY
bad_proof "the checkpoint body changed"
cp "$T/proof.txt" "$T/bad.txt"
bad_proof "another message asked for" --message 00000000000000000000000000000000
head -5 "$T/proof.txt" >"$T/bad.txt"
bad_proof "a truncated proof"
RC=0; "$AUDIT" check-proof "$T/proof.txt" --key "$T/other.key" >"$OUT" 2>&1 || RC=$?
[ "$RC" -ne 0 ] || fail "check-proof with a private key file as the pinned key must fail"
openssl pkey -in "$T/other.key" -pubout -out "$T/other.pub" 2>/dev/null
cp "$T/proof.txt" "$T/bad.txt"
RC=0; "$AUDIT" check-proof "$T/bad.txt" --key "$T/other.pub" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 2 ] || fail "check-proof under another pinned key: exit $RC, want 2"
pass "tampered proof refused: another pinned key"

"$AUDIT" consistency --log "$T/base" --key "$KEY" --old '#0' --new latest >"$T/cons.txt" ||
  fail "consistency exit $?"
"$AUDIT" check-proof "$T/cons.txt" --key "$KEY" >"$OUT" || { cat "$OUT"; fail "check-proof consistency"; }
grep -q "^OK: consistency proof holds" "$OUT" || fail "consistency OK line"
"$AUDIT" consistency --log "$T/base" --key "$KEY" --old "$T/old/checkpoint" --new '#7' >"$T/cons2.txt" ||
  fail "consistency from a checkpoint file"
"$AUDIT" check-proof "$T/cons2.txt" --key "$KEY" >"$OUT" || fail "check-proof consistency 2"
pass "consistency -> check-proof round trip (history entries, files)"
python3 - "$T/cons.txt" "$T/bad.txt" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
i = max(i for i, l in enumerate(lines) if l.startswith('hash '))
h = lines[i][5:]; lines[i] = 'hash ' + ('B' if h[0] == 'A' else 'A') + h[1:]
open(sys.argv[2], 'w').write('\n'.join(lines))
PY
bad_proof "a consistency hash changed"
RC=0; "$AUDIT" consistency --log "$T/base" --key "$KEY" --old latest --new '#0' >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 2 ] || fail "consistency old > new: exit $RC, want 2"
fresh "$T/old"; cp "$T/base/checkpoint" "$T/t/"
RC=0; "$AUDIT" prove --log "$T/t" --key "$KEY" --seq 5 >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 2 ] || fail "prove on a rolled-back log: exit $RC, want 2"
pass "no proofs from inconsistent checkpoints or a rolled-back log"

# --- help texts --------------------------------------------------------------------------------------------
for cmd in verify show replay prove consistency check-proof fetch; do
  "$AUDIT" "$cmd" --help | grep -q "^Exit status" || fail "$cmd --help lacks the exit status section"
done
"$AUDIT" --help | grep -q "^Exit status" || fail "enlace-audit --help"
RC=0; "$AUDIT" frobnicate >/dev/null 2>&1 || RC=$?
[ "$RC" -eq 1 ] || fail "unknown command: exit $RC"
pass "--help on every command; unknown command exit 1"

# --- fetch from a running broker ---------------------------------------------------------------------
write_policy
write_config
start_broker
bt exchange >/dev/null
"$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/agencies/EU.EDPS.crt" \
  --key "$PKI/agencies/EU.EDPS.key" --ca "$PKI/ca.pem" --out "$T/fetched" >"$OUT" 2>&1 ||
  { cat "$OUT"; fail "fetch with the auditor certificate"; }
expect_ok "fetched log verifies, with --ca" "$T/fetched" --ca "$PKI/ca.pem" --crl "$PKI/crl.pem"
grep -q "published, [1-9][0-9]* verified" "$OUT" || { cat "$OUT"; fail "the fetched log holds verified publications"; }
"$AUDIT" show --log "$T/fetched" --kind published | grep -q "TLP:AMBER" || fail "show on the fetched log"
bt exchange >/dev/null
# Resume into a directory whose last segment ends in zeros, as a copy of a broker's own
# log directory can: the zero tail is cut, as the new records go into a new segment.
FLAST=$(cd "$T/fetched" && ls seg-*.log | tail -n 1)
FSIZE=$(stat -c %s "$T/fetched/$FLAST")
head -c 5000 /dev/zero >>"$T/fetched/$FLAST"
"$AUDIT" fetch --broker "localhost:$PORT" --cert "$PKI/agencies/EU.EDPS.crt" \
  --key "$PKI/agencies/EU.EDPS.key" --ca "$PKI/ca.pem" --out "$T/fetched" --resume --batch 5 \
  --checkpoint-key "$KEY" >"$OUT" 2>&1 || { cat "$OUT"; fail "fetch --resume"; }
[ "$(stat -c %s "$T/fetched/$FLAST")" -eq "$FSIZE" ] || fail "fetch --resume leaves a zero tail"
expect_ok "fetch --resume (batches of 5, by host name, key pinned, after a zero tail) verifies" "$T/fetched" --ca "$PKI/ca.pem"
RC=0; "$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/agencies/EU.EDPS.crt" \
  --key "$PKI/agencies/EU.EDPS.key" --ca "$PKI/ca.pem" --out "$T/fetched" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 3 ] || { cat "$OUT"; fail "fetch into a non-empty directory: exit $RC, want 3"; }
RC=0; "$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/agencies/MX.FGR.crt" \
  --key "$PKI/agencies/MX.FGR.key" --ca "$PKI/ca.pem" --out "$T/f2" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 4 ] && grep -q "auditor" "$OUT" || { cat "$OUT"; fail "fetch as an agency: exit $RC, want 4"; }
RC=0; "$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/bad/foreign.crt" \
  --key "$PKI/bad/foreign.key" --ca "$PKI/ca.pem" --out "$T/f3" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 4 ] && grep -qi "rejected our certificate\|alert" "$OUT" || { cat "$OUT"; fail "fetch with a foreign certificate: exit $RC, want 4"; }
RC=0; "$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/agencies/EU.EDPS.crt" \
  --key "$PKI/agencies/EU.EDPS.key" --ca "$PKI/bad/foreign-ca.pem" --out "$T/f4" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 4 ] && grep -q "broker certificate refused" "$OUT" || { cat "$OUT"; fail "fetch trusting another CA: exit $RC, want 4"; }
RC=0; "$AUDIT" fetch --broker "127.0.0.1:$PORT" --cert "$PKI/agencies/EU.EDPS.crt" \
  --key "$PKI/agencies/EU.EDPS.key" --ca "$PKI/ca.pem" --out "$T/f5" --checkpoint-key "$T/other.pub" >"$OUT" 2>&1 || RC=$?
[ "$RC" -eq 2 ] || { cat "$OUT"; fail "fetch with another pinned checkpoint key: exit $RC, want 2"; }
pass "fetch refusals: non-empty dir 3, agency role 4, foreign certificate 4, untrusted broker 4, other key 2"
stop_broker
echo "PASS"

#!/usr/bin/env bash
# 20-envelope-openssl: Enlace envelopes interoperate with the openssl CLI (DESIGN.md s5).
#
# Sealed by common/envelope (through tests/envtool), checked by openssl alone:
#   - `openssl cms -decrypt` opens the payload for each recipient (EC and RSA) and
#     refuses a non-recipient (CO.DIJIN);
#   - `openssl cms -cmsout -print` shows AuthEnvelopedData, AES-256-GCM
#     (id-aes256-GCM), ECDH with the SHA-256 X9.63 KDF and AES-256 key wrap, RSA-OAEP
#     with SHA-256 and MGF1-SHA-256;
#   - the signature over "enlace-envelope-v1" || 0x00 || header verifies with
#     `openssl dgst` (ECDSA P-256, RSA-PSS) or `openssl pkeyutl` (Ed25519) using the
#     public key taken from the sender's certificate, and not after a one-byte change.
# And the other way: CMS made by `openssl cms -encrypt -aes-256-gcm` opens with
# envelope_open; unauthenticated EnvelopedData (AES-CBC) is refused.
# Env: ENLACE_BUILD_DIR (envtool in $ENLACE_BUILD_DIR/tests/), ENLACE_TEST_PKI.
set -euo pipefail

build=${ENLACE_BUILD_DIR:?ENLACE_BUILD_DIR is not set}
pki=${ENLACE_TEST_PKI:?ENLACE_TEST_PKI is not set}
tool=$build/tests/envtool
[[ -x $tool ]] || { echo "FAIL: $tool not built"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"

checks=0
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
agency() { echo "$pki/agencies/$1.$2"; }

head -c 3000 /dev/urandom >plain.bin
printf 'enlace-envelope-v1\0' >context.bin

# --- 1. ECDSA P-256 sender (MX.FGR) to US.FBI and itself -----------------------------
"$tool" seal --cert "$(agency MX.FGR crt)" --key "$(agency MX.FGR key)" \
  --recip "$(agency US.FBI crt)" --recip "$(agency MX.FGR crt)" \
  --in plain.bin --out ec.env --cms ec.der --siginput ec.si --sig ec.sig >/dev/null
ok "envtool sealed a P-256 envelope"

openssl cms -decrypt -inform DER -in ec.der -recip "$(agency US.FBI crt)" \
  -inkey "$(agency US.FBI key)" -out fbi.out
cmp -s fbi.out plain.bin || fail "US.FBI: openssl cms -decrypt gave other bytes"
ok "openssl cms -decrypt opens it for US.FBI"
openssl cms -decrypt -inform DER -in ec.der -recip "$(agency MX.FGR crt)" \
  -inkey "$(agency MX.FGR key)" -out fgr.out
cmp -s fgr.out plain.bin || fail "MX.FGR: openssl cms -decrypt gave other bytes"
ok "openssl cms -decrypt opens the sender's own copy"
if openssl cms -decrypt -inform DER -in ec.der -recip "$(agency CO.DIJIN crt)" \
  -inkey "$(agency CO.DIJIN key)" -out dijin.out 2>dijin.err; then
  fail "CO.DIJIN (not a recipient) decrypted the payload"
fi
if [[ -s dijin.out ]] && cmp -s dijin.out plain.bin; then fail "CO.DIJIN got the plaintext"; fi
ok "openssl cms -decrypt refuses CO.DIJIN, not a recipient"

openssl cms -cmsout -print -inform DER -in ec.der >ec.txt
grep -q 'contentType: id-smime-ct-authEnvelopedData' ec.txt || fail "not AuthEnvelopedData"
grep -q 'algorithm: aes-256-gcm (2.16.840.1.101.3.4.1.46)' ec.txt || fail "not id-aes256-GCM"
grep -q 'algorithm: dhSinglePass-stdDH-sha256kdf-scheme' ec.txt || fail "ECDH KDF is not SHA-256"
grep -q 'id-aes256-wrap' ec.txt || fail "key wrap is not AES-256"
[[ $(grep -c 'd.kari:' ec.txt) -eq 2 ]] || fail "expected two key-agreement recipients"
ok "cms -print: AuthEnvelopedData, id-aes256-GCM, ECDH sha256kdf, aes256-wrap"

cmp -s <(head -c 19 ec.si) context.bin || fail "signature input does not start with the context"
[[ $(stat -c %s ec.si) -gt 19 ]] || fail "signature input has no header"
openssl x509 -in "$(agency MX.FGR crt)" -pubkey -noout >fgr.pub
openssl dgst -sha256 -verify fgr.pub -signature ec.sig ec.si | grep -q 'Verified OK' ||
  fail "openssl dgst does not verify the ECDSA signature"
openssl pkeyutl -verify -pubin -inkey fgr.pub -rawin -digest sha256 -in ec.si -sigfile ec.sig |
  grep -q 'Signature Verified Successfully' || fail "openssl pkeyutl does not verify the ECDSA signature"
ok "ECDSA P-256 signature over context||0||header verifies with openssl dgst and pkeyutl"
cp ec.si ec-tampered.si
printf '\xff' | dd of=ec-tampered.si bs=1 seek=30 conv=notrunc status=none
if openssl dgst -sha256 -verify fgr.pub -signature ec.sig ec-tampered.si >/dev/null 2>&1; then
  fail "openssl verified a tampered signature input"
fi
ok "a changed header byte breaks the signature for openssl too"

[[ $("$tool" verify --signer "$(agency MX.FGR crt)" --in ec.env) == ok ]] ||
  fail "envelope_verify refused its own envelope"
out=$("$tool" verify --signer "$(agency US.FBI crt)" --in ec.env || true)
[[ $out == BAD_CERT:* ]] || fail "envelope_verify with the wrong signer certificate: $out"
"$tool" open --cert "$(agency US.FBI crt)" --key "$(agency US.FBI key)" --in ec.env --out lib.out
cmp -s lib.out plain.bin || fail "envelope_open gave other bytes"
ok "envelope_verify/envelope_open agree with openssl"

# --- 2. RSA: RSA-PSS sender, RSA-OAEP recipient ---------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 2 \
  -subj "/CN=BR.PF" -addext "subjectAltName=URI:urn:enlace:agency:BR.PF" 2>/dev/null
"$tool" seal --cert rsa.crt --key rsa.key --recip rsa.crt --recip "$(agency US.FBI crt)" \
  --in plain.bin --out rsa.env --cms rsa.der --siginput rsa.si --sig rsa.sig >/dev/null
openssl cms -decrypt -inform DER -in rsa.der -recip rsa.crt -inkey rsa.key -out rsa.out
cmp -s rsa.out plain.bin || fail "RSA recipient: openssl cms -decrypt gave other bytes"
openssl cms -decrypt -inform DER -in rsa.der -recip "$(agency US.FBI crt)" \
  -inkey "$(agency US.FBI key)" -out rsa-fbi.out
cmp -s rsa-fbi.out plain.bin || fail "EC recipient of the RSA envelope: other bytes"
ok "openssl cms -decrypt opens RSA-OAEP and ECDH recipients of one envelope"

openssl cms -cmsout -print -inform DER -in rsa.der >rsa.txt
grep -q 'algorithm: rsaesOaep' rsa.txt || fail "RSA recipient is not RSAES-OAEP"
grep -A12 'algorithm: rsaesOaep' rsa.txt >oaep.txt
grep -q 'sha256' oaep.txt || fail "OAEP hash is not SHA-256"
grep -q 'mgf1' oaep.txt || fail "OAEP has no MGF1 parameter"
[[ $(grep -c sha256 oaep.txt) -ge 2 ]] || fail "OAEP MGF1 hash is not SHA-256"
ok "cms -print: rsaesOaep with SHA-256 and MGF1-SHA-256"

openssl x509 -in rsa.crt -pubkey -noout >rsa.pub
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
  -sigopt rsa_mgf1_md:sha256 -verify rsa.pub -signature rsa.sig rsa.si | grep -q 'Verified OK' ||
  fail "openssl dgst does not verify the RSA-PSS signature"
if openssl dgst -sha256 -verify rsa.pub -signature rsa.sig rsa.si >/dev/null 2>&1; then
  fail "the RSA signature verified as PKCS#1 v1.5"
fi
ok "RSA-PSS-SHA256 (salt 32, MGF1-SHA-256) signature verifies with openssl dgst"

# --- 3. Ed25519 sender ----------------------------------------------------------------
openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.crt -days 2 \
  -subj "/CN=INTERPOL.NCB-MEX" -addext "subjectAltName=URI:urn:enlace:agency:INTERPOL.NCB-MEX" \
  2>/dev/null
"$tool" seal --cert ed.crt --key ed.key --recip "$(agency US.FBI crt)" \
  --in plain.bin --out ed.env --siginput ed.si --sig ed.sig >/dev/null
openssl x509 -in ed.crt -pubkey -noout >ed.pub
openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in ed.si -sigfile ed.sig |
  grep -q 'Signature Verified Successfully' || fail "openssl pkeyutl does not verify Ed25519"
[[ $("$tool" verify --signer ed.crt --in ed.env) == ok ]] || fail "Ed25519 envelope refused"
ok "Ed25519 signature verifies with openssl pkeyutl -rawin"

# --- 4. The other direction: CMS from the openssl CLI ---------------------------------
openssl cms -encrypt -aes-256-gcm -binary -outform DER -in plain.bin -out cli-ec.der \
  -recip "$(agency US.FBI crt)" -keyopt ecdh_kdf_md:sha256
"$tool" open --cert "$(agency US.FBI crt)" --key "$(agency US.FBI key)" --cms cli-ec.der \
  --out cli-ec.out
cmp -s cli-ec.out plain.bin || fail "envelope_open of openssl's ECDH CMS gave other bytes"
openssl cms -encrypt -aes-256-gcm -binary -outform DER -in plain.bin -out cli-rsa.der \
  -recip rsa.crt -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 \
  -keyopt rsa_mgf1_md:sha256
"$tool" open --cert rsa.crt --key rsa.key --cms cli-rsa.der --out cli-rsa.out
cmp -s cli-rsa.out plain.bin || fail "envelope_open of openssl's RSA-OAEP CMS gave other bytes"
ok "envelope_open opens AuthEnvelopedData made by openssl cms -encrypt (ECDH, RSA-OAEP)"

out=$("$tool" open --cert "$(agency CO.DIJIN crt)" --key "$(agency CO.DIJIN key)" \
  --cms cli-ec.der --out no.out || true)
[[ $out == DECRYPT:* ]] || fail "envelope_open for a non-recipient: $out"
[[ ! -e no.out ]] || fail "plaintext file written for a non-recipient"
openssl cms -encrypt -aes-256-cbc -binary -outform DER -in plain.bin -out cli-cbc.der \
  -recip "$(agency US.FBI crt)"
out=$("$tool" open --cert "$(agency US.FBI crt)" --key "$(agency US.FBI key)" \
  --cms cli-cbc.der --out cbc.out || true)
[[ $out == DECRYPT:* ]] || fail "envelope_open of unauthenticated EnvelopedData: $out"
[[ ! -e cbc.out ]] || fail "plaintext file written for refused EnvelopedData"
ok "envelope_open refuses non-recipients and unauthenticated EnvelopedData"

echo "20-envelope-openssl: all $checks checks passed"

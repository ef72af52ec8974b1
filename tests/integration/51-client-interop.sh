#!/usr/bin/env bash
# 51-client-interop: what the `enlace` CLI publishes, as a recipient receives it through
# the broker, checks out with the openssl command line alone (DESIGN.md section 5).
#
# MX.FGR publishes with the CLI to US.FBI and GT.PNC (not CO.DIJIN); US.FBI takes the
# raw delivery with tests/clienttool (Envelope.header, .payload, .signature and
# Deliver.signer_cert as bytes), then:
#   - `openssl cms -decrypt` opens the payload for US.FBI, GT.PNC and the sender's own
#     copy, and refuses CO.DIJIN and BR.PF (not addressed): no plaintext;
#   - `openssl cms -print` shows AuthEnvelopedData with AES-256-GCM and exactly three
#     key-agreement recipients;
#   - the signature over "enlace-envelope-v1" || 0x00 || header verifies with
#     `openssl dgst -sha256 -verify` and MX.FGR's public key (DER ECDSA P-256), not with
#     another agency's key, not after a one-byte change of the header;
#   - the header binds the payload and the signer (payload_sha256, signer_cert_sha256
#     fields hold the SHA-256 of the CMS and of the certificate sent with the delivery),
#     and the audit log holds the same payload digest.
source "$(dirname "$0")/lib.sh"
TOOL="$ENLACE_BUILD_DIR/tests/clienttool"
[ -x "$TOOL" ] || fail "$TOOL not built"
command -v jq >/dev/null || fail "jq is needed"
standard_setup

client_conf() {
  cat >"$T/$1.conf" <<CONF
[client]
broker = 127.0.0.1:$PORT
cert = $PKI/agencies/$1.crt
key = $PKI/agencies/$1.key
ca = $PKI/ca.pem
crl = $PKI/crl.pem
checkpoint_key = $PKI/checkpoint.pub
CONF
}
for a in MX.FGR US.FBI; do client_conf "$a"; done
crt() { echo "$PKI/agencies/$1.crt"; }
key() { echo "$PKI/agencies/$1.key"; }

# ---- publish with the CLI, receive the raw delivery ----------------------------------
{ printf 'Informe TRAF-7: ruta Buenaventura - Manzanillo\n'; head -c 1500 /dev/urandom | base64; } \
  >"$T/plain.txt"
"$CLI" --config "$T/MX.FGR.conf" publish --topic alerts/trafficking --tlp TLP:AMBER \
  --to US.FBI,GT.PNC --type alert --case TRAF-7 --file "$T/plain.txt" >"$T/pub.out" ||
  fail "enlace publish failed"
ID=$(awk '/^message_id/{print $2}' "$T/pub.out")
SEQ=$(awk '/^seq/{print $2}' "$T/pub.out")
[ -n "$ID" ] && [ -n "$SEQ" ] || fail "publish printed no id/seq"
pass "MX.FGR published $ID (seq $SEQ) to US.FBI, GT.PNC with the CLI"

mkdir "$T/raw"
"$TOOL" raw "$T/US.FBI.conf" 'alerts/#' interop 0 1 "$T/raw" >"$T/raw.out" ||
  { cat "$T/raw.out"; fail "clienttool raw failed"; }
[ "$(cat "$T/raw.out")" = "seq=$SEQ status=OK sender=MX.FGR" ] ||
  { cat "$T/raw.out"; fail "raw delivery: expected seq=$SEQ verified from MX.FGR"; }
R="$T/raw/$SEQ"
for f in hdr cms sig signer.der; do [ -s "$R.$f" ] || fail "raw delivery: no $f"; done
pass "US.FBI received the raw delivery (header, CMS, signature, signer certificate); libenlace verifies it"

# ---- the payload: CMS AuthEnvelopedData for the addressees only ------------------------
for who in US.FBI GT.PNC MX.FGR; do
  openssl cms -decrypt -inform DER -in "$R.cms" -recip "$(crt $who)" -inkey "$(key $who)" \
    -out "$T/dec.$who" 2>"$T/dec.$who.err" || { cat "$T/dec.$who.err"; fail "openssl cms -decrypt as $who"; }
  cmp -s "$T/dec.$who" "$T/plain.txt" || fail "openssl cms -decrypt as $who: other bytes"
done
pass "openssl cms -decrypt opens it for US.FBI, GT.PNC and the sender's own copy, byte for byte"
for who in CO.DIJIN BR.PF; do
  if openssl cms -decrypt -inform DER -in "$R.cms" -recip "$(crt $who)" -inkey "$(key $who)" \
    -out "$T/dec.$who" 2>"$T/dec.$who.err"; then
    fail "openssl cms -decrypt succeeded for $who, not a recipient"
  fi
  if [ -s "$T/dec.$who" ] && cmp -s "$T/dec.$who" "$T/plain.txt"; then fail "$who got the plaintext"; fi
done
# Without -recip openssl tries every RecipientInfo with the key: still nothing.
if openssl cms -decrypt -inform DER -in "$R.cms" -inkey "$(key CO.DIJIN)" -out "$T/dec.any" \
  2>/dev/null && cmp -s "$T/dec.any" "$T/plain.txt"; then
  fail "CO.DIJIN's key opened the payload"
fi
pass "openssl cms -decrypt refuses CO.DIJIN and BR.PF (not addressed)"

openssl cms -cmsout -print -inform DER -in "$R.cms" >"$T/cms.txt"
grep -q 'contentType: id-smime-ct-authEnvelopedData' "$T/cms.txt" || fail "not AuthEnvelopedData"
grep -q 'aes-256-gcm' "$T/cms.txt" || fail "content encryption is not AES-256-GCM"
[ "$(grep -c 'd.kari:' "$T/cms.txt")" -eq 3 ] || fail "expected exactly 3 key-agreement recipients"
pass "cms -print: AuthEnvelopedData, AES-256-GCM, exactly 3 recipients (US.FBI, GT.PNC, sender)"

# ---- the signature --------------------------------------------------------------------
{ printf 'enlace-envelope-v1\0'; cat "$R.hdr"; } >"$T/siginput.bin"
[ "$(stat -c %s "$T/siginput.bin")" -eq $(($(stat -c %s "$R.hdr") + 19)) ] || fail "signature input size"
openssl x509 -in "$(crt MX.FGR)" -pubkey -noout >"$T/fgr.pub"
openssl dgst -sha256 -verify "$T/fgr.pub" -signature "$R.sig" "$T/siginput.bin" >"$T/dgst.out" 2>&1 ||
  { cat "$T/dgst.out"; fail "openssl dgst does not verify MX.FGR's signature"; }
grep -q 'Verified OK' "$T/dgst.out" || fail "openssl dgst: no 'Verified OK'"
openssl dgst -sha256 -verify <(openssl x509 -in "$(crt MX.FGR)" -pubkey -noout) \
  -signature "$R.sig" "$T/siginput.bin" >/dev/null 2>&1 || fail "dgst with process substitution"
pass "signature over \"enlace-envelope-v1\" || 0x00 || header verifies: openssl dgst -sha256 -verify"
openssl asn1parse -inform DER -in "$R.sig" >"$T/sig.asn1" 2>&1 || fail "signature is not DER"
[ "$(grep -c 'prim: INTEGER' "$T/sig.asn1")" -eq 2 ] && head -1 "$T/sig.asn1" | grep -q 'SEQUENCE' ||
  { cat "$T/sig.asn1"; fail "signature is not a DER ECDSA-Sig-Value"; }
pass "signature is a DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs)"
if openssl dgst -sha256 -verify <(openssl x509 -in "$(crt US.FBI)" -pubkey -noout) \
  -signature "$R.sig" "$T/siginput.bin" >/dev/null 2>&1; then
  fail "the signature verified with US.FBI's key"
fi
cp "$T/siginput.bin" "$T/tampered.bin"
printf '\x01' | dd of="$T/tampered.bin" bs=1 seek=40 conv=notrunc status=none
cmp -s "$T/tampered.bin" "$T/siginput.bin" && fail "tampering changed nothing"
if openssl dgst -sha256 -verify "$T/fgr.pub" -signature "$R.sig" "$T/tampered.bin" >/dev/null 2>&1; then
  fail "a changed header verified"
fi
if { printf 'enlace-envelope-v1'; cat "$R.hdr"; } | openssl dgst -sha256 -verify "$T/fgr.pub" \
  -signature "$R.sig" >/dev/null 2>&1; then
  fail "the signature verified without the 0x00 separator"
fi
pass "no verification with another agency's key, a changed header byte, or without the 0x00"

# ---- the header binds payload and signer ------------------------------------------------
hexof() { xxd -p "$1" | tr -d '\n'; }
cms_sha=$(sha256sum "$R.cms" | cut -c1-64)
signer_sha=$(sha256sum "$R.signer.der" | cut -c1-64)
# Header field 17 (payload_sha256) is tag 0x8a 0x01, field 18 (signer_cert_sha256) 0x92 0x01,
# each with length 0x20.
hexof "$R.hdr" | grep -q "8a0120$cms_sha" || fail "header payload_sha256 is not SHA-256 of the CMS"
hexof "$R.hdr" | grep -q "920120$signer_sha" || fail "header signer_cert_sha256 is not SHA-256 of the signer"
cmp -s "$R.signer.der" <(openssl x509 -in "$(crt MX.FGR)" -outform DER) ||
  fail "Deliver.signer_cert is not MX.FGR's certificate"
for s in MX.FGR US.FBI GT.PNC alerts/trafficking TRAF-7; do
  grep -qF "$s" "$R.hdr" || fail "header does not carry $s"
done
grep -qF CO.DIJIN "$R.hdr" && fail "header names CO.DIJIN"
id_bin_hex=$(hexof "$R.hdr" | grep -o "$ID" || true)
[ "$id_bin_hex" = "$ID" ] || fail "header does not hold the message id $ID"
pass "header holds id, sender, recipients, topic, case; payload_sha256 = SHA-256(CMS), signer_cert_sha256 = SHA-256(signer)"

"$AUDIT" replay --log "$T/log" --message "$ID" --json >"$T/replay.json" 2>"$T/replay.err" ||
  { cat "$T/replay.err"; fail "enlace-audit replay --message"; }
grep -q "$cms_sha" "$T/replay.json" ||
  { head -c 2000 "$T/replay.json"; fail "audit log: payload digest differs from the delivered CMS"; }
pass "the audit log's record of $ID names the same payload digest as the delivered CMS"
stop_broker
echo "51-client-interop: all checks passed"

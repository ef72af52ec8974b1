#!/usr/bin/env bash
# 01-pki-verify: certs/enlace-pki.sh makes the PKI every other test relies on.
#
# Generates a PKI into a temporary directory and checks with `openssl verify` (the
# same X509_verify_cert the broker calls, with CRL checks over the whole chain) that
# every good certificate passes and each bad one fails for its own reason and no other;
# then checks the script's behaviour: key modes, refusing to overwrite, --force,
# `revoke`, `issue`, `crl`, --rsa. Prints one line per check; stops at the first
# failure with the reason. Run directly: bash tests/integration/01-pki-verify.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${ENLACE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
pki_sh="$src/certs/enlace-pki.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/enlace-01-pki.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
pki="$work/pki"

readonly AGENCIES=(MX.FGR US.FBI CO.DIJIN BR.PF GT.PNC INTERPOL.NCB-MEX EU.EDPS)
checks=0

ok() {
  checks=$((checks + 1))
  printf 'ok %d - %s\n' "$checks" "$*"
}
fail() {
  printf 'FAIL - %s\n' "$*" >&2
  printf '01-pki-verify: %d check(s) passed before the failure\n' "$checks" >&2
  exit 1
}

# Run the generator; its exit status goes to $rc, its output (both streams) to $out.
run_pki() {
  rc=0
  out=$(bash "$pki_sh" "$@" 2>&1) || rc=$?
}

# verify PURPOSE CERT [extra openssl verify options]: output to $vout, status to $vrc.
verify() {
  local purpose=$1 cert=$2
  shift 2
  vrc=0
  vout=$(openssl verify -CAfile "$pki/ca.pem" -crl_check_all -CRLfile "$pki/crl.pem" \
    -purpose "$purpose" "$@" "$cert" 2>&1) || vrc=$?
}

expect_pass() {
  verify "$@"
  [[ $vrc -eq 0 && $vout == "$2: OK" ]] || fail "$2 should verify ($1) but: $vout"
}

# expect_refused PURPOSE CERT TEXT...: verification fails and says one of TEXT.
expect_refused() {
  local purpose=$1 cert=$2 t
  shift 2
  verify "$purpose" "$cert"
  [[ $vrc -ne 0 ]] || fail "$cert verified ($purpose) but must be refused with '$1'"
  for t in "$@"; do
    if grep -qF -- "$t" <<<"$vout"; then return 0; fi
  done
  fail "$cert refused for the wrong reason: wanted '$1', got: $vout"
}

ncerts() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1"; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
san() { openssl x509 -in "$1" -noout -ext subjectAltName | sed -n '2,$p' | tr -d ' '; }
eku() { openssl x509 -in "$1" -noout -ext extendedKeyUsage | sed -n '2,$p' | sed 's/^ *//'; }
spki_of_key() { openssl pkey -in "$1" -pubout; }
spki_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
mode() { stat -c %a "$1"; }

[[ -r $pki_sh ]] || fail "cannot find $pki_sh (set ENLACE_SOURCE_DIR)"
echo "# enlace-pki.sh: $pki_sh; $(openssl version)"

# --- command line -------------------------------------------------------------------
run_pki --help
[[ $rc -eq 0 && $out == *"EXIT STATUS"* && $out == *"revoke"* ]] || fail "--help: rc=$rc"
ok "--help prints the manual and exits 0"
run_pki --out "$pki" --no-such-option
[[ $rc -eq 2 ]] || fail "unknown option: exit $rc, want 2: $out"
[[ ! -e $pki/ca.pem ]] || fail "unknown option still generated files"
ok "unknown option: exit 2, nothing generated"
run_pki --quiet
[[ $rc -eq 2 ]] || fail "missing --out: exit $rc, want 2"
ok "missing --out: exit 2"

# --- generation ---------------------------------------------------------------------
t0=$(date +%s%N)
run_pki --out "$pki" --quiet
t1=$(date +%s%N)
[[ $rc -eq 0 ]] || fail "generate failed (exit $rc): $out"
[[ -z $out ]] || fail "--quiet printed: $out"
ok "generate --quiet: exit 0, silent, $(((t1 - t0) / 1000000)) ms"

for f in ca.pem root.crt intermediate.crt crl.pem broker.crt broker.key checkpoint.key \
  checkpoint.pub bad/foreign-ca.pem ca-db/intermediate/index.txt ca-db/intermediate/serial \
  ca-db/intermediate/crlnumber; do
  [[ -s $pki/$f ]] || fail "missing $f"
done
for id in "${AGENCIES[@]}"; do
  [[ -s $pki/agencies/$id.crt && -s $pki/agencies/$id.key ]] || fail "missing agencies/$id.{crt,key}"
done
for b in revoked expired foreign wrong-eku unknown; do
  [[ -s $pki/bad/$b.crt && -s $pki/bad/$b.key ]] || fail "missing bad/$b.{crt,key}"
done
ok "layout complete (CA files, broker, ${#AGENCIES[@]} agencies, 5 bad, checkpoint, ca-db)"

nkeys=0
while IFS= read -r -d '' k; do
  [[ $(mode "$k") == 600 ]] || fail "$k has mode $(mode "$k"), want 600"
  nkeys=$((nkeys + 1))
done < <(find "$pki" -name '*.key' -print0)
[[ $nkeys -eq 17 ]] || fail "found $nkeys key files, want 17 (broker, 7 agencies, 5 bad, 3 CAs, checkpoint)"
ok "all $nkeys private keys (leaves, CAs, checkpoint) are mode 0600"

# --- the CAs and the CRLs -----------------------------------------------------------
[[ $(ncerts "$pki/ca.pem") -eq 2 ]] || fail "ca.pem should hold root + intermediate"
[[ $(cat "$pki/root.crt" "$pki/intermediate.crt") == "$(cat "$pki/ca.pem")" ]] ||
  fail "ca.pem is not root.crt followed by intermediate.crt"
[[ $(subject "$pki/root.crt") == "$(openssl x509 -in "$pki/root.crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" ]] ||
  fail "root.crt is not self-signed"
ok "ca.pem = root.crt + intermediate.crt; root self-signed"

text=$(openssl x509 -in "$pki/intermediate.crt" -noout -ext basicConstraints,keyUsage)
grep -q 'Basic Constraints: critical' <<<"$text" || fail "intermediate basicConstraints not critical"
grep -q 'CA:TRUE, pathlen:0' <<<"$text" || fail "intermediate is not CA:TRUE pathlen:0: $text"
grep -q 'Key Usage: critical' <<<"$text" || fail "intermediate keyUsage not critical"
grep -q 'Certificate Sign, CRL Sign' <<<"$text" || fail "intermediate keyUsage: $text"
openssl verify -CAfile "$pki/root.crt" -crl_check -CRLfile "$pki/crl.pem" "$pki/intermediate.crt" >/dev/null 2>&1 ||
  fail "intermediate does not verify against the root"
ok "intermediate: CA:TRUE critical, pathlen 0, keyCertSign+cRLSign, issued by the root"

[[ $(grep -c -- '-----BEGIN X509 CRL-----' "$pki/crl.pem") -eq 2 ]] || fail "crl.pem should hold 2 CRLs"
issuers=$(awk '/BEGIN X509 CRL/{n++; f="'"$work"'/crl" n ".pem"} n{print > f}' "$pki/crl.pem"
  for i in 1 2; do openssl crl -in "$work/crl$i.pem" -noout -issuer -nameopt RFC2253; done)
[[ $issuers == *"CN=Enlace Demo Root CA"* && $issuers == *"CN=Enlace Demo Issuing CA 1"* ]] ||
  fail "crl.pem issuers: $issuers"
next=$(openssl crl -in "$work/crl2.pem" -noout -nextupdate | sed 's/^nextUpdate=//')
days=$((($(date -d "$next" +%s) - $(date +%s)) / 86400))
[[ $days -ge 29 && $days -le 30 ]] || fail "CRL nextUpdate in $days days, want 30"
ok "crl.pem: CRLs of root and intermediate, next update in 30 days"

# --- the good certificates ----------------------------------------------------------
expect_pass sslserver "$pki/broker.crt" -verify_hostname localhost
expect_pass sslserver "$pki/broker.crt" -verify_ip 127.0.0.1
[[ $(san "$pki/broker.crt") == "DNS:localhost,IPAddress:127.0.0.1" ]] || fail "broker SAN: $(san "$pki/broker.crt")"
[[ $(eku "$pki/broker.crt") == "TLS Web Server Authentication" ]] || fail "broker EKU: $(eku "$pki/broker.crt")"
[[ $(ncerts "$pki/broker.crt") -eq 2 ]] || fail "broker.crt should be leaf + intermediate"
# The chain in the file is enough with only the root as trust anchor.
openssl verify -CAfile "$pki/root.crt" -untrusted "$pki/broker.crt" -crl_check_all \
  -CRLfile "$pki/crl.pem" -purpose sslserver "$pki/broker.crt" >/dev/null 2>&1 ||
  fail "broker.crt's own chain does not lead to root.crt"
[[ $(spki_of_key "$pki/broker.key") == "$(spki_of_cert "$pki/broker.crt")" ]] || fail "broker.key does not match broker.crt"
ok "broker: verifies as sslserver for localhost and 127.0.0.1, EKU serverAuth, full chain, key matches"

for id in "${AGENCIES[@]}"; do
  c="$pki/agencies/$id.crt"
  expect_pass sslclient "$c"
  [[ $(san "$c") == "URI:urn:enlace:agency:$id" ]] || fail "$id SAN: $(san "$c")"
  [[ $(subject "$c") == "CN=$id,"* ]] || fail "$id subject: $(subject "$c")"
  [[ $(eku "$c") == "TLS Web Client Authentication" ]] || fail "$id EKU: $(eku "$c")"
  [[ $(ncerts "$c") -eq 2 ]] || fail "$id.crt should be leaf + intermediate"
  [[ $(fingerprint <(sed -n '/BEGIN/,$p' "$c" | awk '/BEGIN CERT/{n++} n==2')) == "$(fingerprint "$pki/intermediate.crt")" ]] ||
    fail "$id.crt: second certificate is not the intermediate"
  [[ $(spki_of_key "$pki/agencies/$id.key") == "$(spki_of_cert "$c")" ]] || fail "$id.key does not match"
  openssl pkey -in "$pki/agencies/$id.key" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-256' ||
    fail "$id.key is not EC P-256"
  ok "$id: verifies as sslclient, SAN urn:enlace:agency:$id, CN=$id, EKU clientAuth, chain, P-256 key"
done

# --- the bad certificates: each refused for its own reason, and only that one -------
expect_refused sslclient "$pki/bad/revoked.crt" "certificate revoked"
[[ $(san "$pki/bad/revoked.crt") == "URI:urn:enlace:agency:BR.PF" ]] || fail "revoked.crt is not BR.PF"
[[ $(fingerprint "$pki/bad/revoked.crt") != "$(fingerprint "$pki/agencies/BR.PF.crt")" ]] ||
  fail "revoked.crt is the same certificate as agencies/BR.PF.crt"
openssl verify -CAfile "$pki/ca.pem" -purpose sslclient "$pki/bad/revoked.crt" >/dev/null 2>&1 ||
  fail "revoked.crt fails even without CRL checks"
ok "bad/revoked (BR.PF): 'certificate revoked'; valid apart from the CRL; agencies/BR.PF still good"

expect_refused sslclient "$pki/bad/expired.crt" "certificate has expired"
[[ $(san "$pki/bad/expired.crt") == "URI:urn:enlace:agency:US.FBI" ]] || fail "expired.crt is not US.FBI"
end=$(openssl x509 -in "$pki/bad/expired.crt" -noout -enddate | sed 's/^notAfter=//')
[[ $(date -d "$end" +%s) -lt $(date +%s) ]] || fail "expired.crt notAfter $end is not in the past"
verify sslclient "$pki/bad/expired.crt" -no_check_time
[[ $vrc -eq 0 ]] || fail "expired.crt fails for another reason too: $vout"
ok "bad/expired (US.FBI): 'certificate has expired' (notAfter $end); valid apart from time"

expect_refused sslclient "$pki/bad/foreign.crt" "unable to get local issuer certificate"
[[ $(san "$pki/bad/foreign.crt") == "URI:urn:enlace:agency:MX.FGR" ]] || fail "foreign.crt is not MX.FGR"
openssl verify -CAfile "$pki/bad/foreign-ca.pem" -purpose sslclient "$pki/bad/foreign.crt" >/dev/null 2>&1 ||
  fail "foreign.crt does not verify against its own bad/foreign-ca.pem"
ok "bad/foreign (MX.FGR): 'unable to get local issuer certificate'; good under foreign-ca.pem"

# OpenSSL 3.0 says "unsuitable certificate purpose" (X509_V_ERR_INVALID_PURPOSE, 26);
# older releases said "unsupported".
expect_refused sslclient "$pki/bad/wrong-eku.crt" "unsuitable certificate purpose" "unsupported certificate purpose"
[[ $(eku "$pki/bad/wrong-eku.crt") == "TLS Web Server Authentication" ]] || fail "wrong-eku EKU: $(eku "$pki/bad/wrong-eku.crt")"
[[ $(san "$pki/bad/wrong-eku.crt") == "URI:urn:enlace:agency:MX.FGR" ]] || fail "wrong-eku.crt is not MX.FGR"
verify sslserver "$pki/bad/wrong-eku.crt"
[[ $vrc -eq 0 ]] || fail "wrong-eku.crt fails for another reason too: $vout"
ok "bad/wrong-eku (MX.FGR): 'unsuitable certificate purpose' as a client; valid as a server"

expect_pass sslclient "$pki/bad/unknown.crt"
[[ $(san "$pki/bad/unknown.crt") == "URI:urn:enlace:agency:XX.UNKNOWN" ]] || fail "unknown.crt SAN: $(san "$pki/bad/unknown.crt")"
ok "bad/unknown (XX.UNKNOWN): chain valid (refusing it is the policy's job)"

for b in revoked expired foreign wrong-eku unknown; do
  [[ $(spki_of_key "$pki/bad/$b.key") == "$(spki_of_cert "$pki/bad/$b.crt")" ]] || fail "bad/$b.key does not match"
done
ok "bad/*.key match their certificates"

# --- checkpoint key -----------------------------------------------------------------
head -1 "$pki/checkpoint.key" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "checkpoint.key is not PKCS#8 PEM"
head -1 "$pki/checkpoint.pub" | grep -qx -- '-----BEGIN PUBLIC KEY-----' || fail "checkpoint.pub is not SPKI PEM"
openssl pkey -in "$pki/checkpoint.key" -noout -text 2>/dev/null | grep -q 'ED25519 Private-Key' || fail "checkpoint.key is not Ed25519"
[[ $(spki_of_key "$pki/checkpoint.key") == "$(cat "$pki/checkpoint.pub")" ]] || fail "checkpoint.pub does not match checkpoint.key"
ok "checkpoint.key is Ed25519 PKCS#8 PEM; checkpoint.pub is its SPKI"

# --- re-running ---------------------------------------------------------------------
root_fp=$(fingerprint "$pki/root.crt")
run_pki --out "$pki"
[[ $rc -eq 2 ]] || fail "re-run without --force: exit $rc, want 2"
[[ $out == *"not empty"*"--force"* ]] || fail "re-run without --force: unclear message: $out"
[[ $(fingerprint "$pki/root.crt") == "$root_fp" ]] || fail "re-run without --force changed the PKI"
ok "re-run without --force: exit 2 ('$out'), PKI untouched"

run_pki --out "$pki" --force --quiet
[[ $rc -eq 0 ]] || fail "re-run with --force failed (exit $rc): $out"
[[ $(fingerprint "$pki/root.crt") != "$root_fp" ]] || fail "--force did not regenerate the root"
expect_pass sslclient "$pki/agencies/MX.FGR.crt"
ok "re-run with --force: exit 0, new root, certificates verify"

mkdir -p "$work/other"
echo keep >"$work/other/precious.txt"
run_pki --out "$work/other" --force
[[ $rc -eq 2 && -f $work/other/precious.txt ]] || fail "--force on an unrelated directory: exit $rc"
ok "--force refuses to wipe a directory that is not a PKI (exit 2, file kept)"

# --- revoke -------------------------------------------------------------------------
expect_pass sslclient "$pki/agencies/GT.PNC.crt"
run_pki revoke --out "$pki" --quiet "$pki/agencies/GT.PNC.crt"
[[ $rc -eq 0 && -z $out ]] || fail "revoke GT.PNC failed (exit $rc): $out"
expect_refused sslclient "$pki/agencies/GT.PNC.crt" "certificate revoked"
expect_pass sslclient "$pki/agencies/CO.DIJIN.crt"
ok "revoke GT.PNC: it now fails with 'certificate revoked'; CO.DIJIN still verifies"

run_pki revoke --out "$pki" "$pki/agencies/GT.PNC.crt"
[[ $rc -eq 3 ]] || fail "revoking twice: exit $rc, want 3"
run_pki revoke --out "$pki" "$pki/bad/foreign.crt"
[[ $rc -eq 3 ]] || fail "revoking a foreign certificate: exit $rc, want 3"
run_pki revoke --out "$work/other" "$pki/agencies/US.FBI.crt"
[[ $rc -eq 3 ]] || fail "revoke in a directory that is no PKI: exit $rc, want 3"
ok "revoke refuses (exit 3): already revoked, foreign certificate, not a PKI"

# --- issue --------------------------------------------------------------------------
run_pki issue --out "$pki" --id PE.DIRINCRI --quiet
[[ $rc -eq 0 && -z $out ]] || fail "issue PE.DIRINCRI failed (exit $rc): $out"
c="$pki/agencies/PE.DIRINCRI.crt"
expect_pass sslclient "$c"
[[ $(san "$c") == "URI:urn:enlace:agency:PE.DIRINCRI" ]] || fail "issued SAN: $(san "$c")"
[[ $(subject "$c") == "CN=PE.DIRINCRI,"* ]] || fail "issued subject: $(subject "$c")"
[[ $(eku "$c") == "TLS Web Client Authentication" ]] || fail "issued EKU: $(eku "$c")"
[[ $(mode "$pki/agencies/PE.DIRINCRI.key") == 600 ]] || fail "issued key mode $(mode "$pki/agencies/PE.DIRINCRI.key")"
[[ $(spki_of_key "$pki/agencies/PE.DIRINCRI.key") == "$(spki_of_cert "$c")" ]] || fail "issued key does not match"
ok "issue PE.DIRINCRI: verifies as sslclient, right SAN/CN/EKU, key 0600"

run_pki issue --out "$pki" --id EU.OLAF --auditor --quiet
[[ $rc -eq 0 ]] || fail "issue --auditor failed (exit $rc): $out"
[[ $(subject "$pki/agencies/EU.OLAF.crt") == "CN=EU.OLAF,OU=Auditor,"* ]] || fail "auditor subject: $(subject "$pki/agencies/EU.OLAF.crt")"
expect_pass sslclient "$pki/agencies/EU.OLAF.crt"
ok "issue --auditor EU.OLAF: verifies, OU=Auditor"

run_pki issue --out "$pki" --id PE.DIRINCRI
[[ $rc -eq 3 ]] || fail "issuing an existing id: exit $rc, want 3"
run_pki issue --out "$pki" --id "../evil"
[[ $rc -eq 2 && ! -e $pki/evil.crt ]] || fail "issuing id '../evil': exit $rc, want 2"
ok "issue refuses an existing id (exit 3) and an invalid id (exit 2)"

# --- crl ----------------------------------------------------------------------------
run_pki crl --out "$pki" --stale --quiet
[[ $rc -eq 0 ]] || fail "crl --stale failed (exit $rc): $out"
expect_refused sslclient "$pki/agencies/MX.FGR.crt" "CRL has expired"
run_pki crl --out "$pki" --quiet
[[ $rc -eq 0 ]] || fail "crl failed (exit $rc): $out"
expect_pass sslclient "$pki/agencies/MX.FGR.crt"
expect_refused sslclient "$pki/agencies/GT.PNC.crt" "certificate revoked"
ok "a stale CRL fails verification ('CRL has expired'); 'crl' refreshes it, revocations kept"

# Revoking the intermediate takes every leaf with it (CRL_CHECK_ALL reaches depth 1).
run_pki revoke --out "$pki" --quiet --reason CACompromise "$pki/intermediate.crt"
[[ $rc -eq 0 ]] || fail "revoking the intermediate failed (exit $rc): $out"
expect_refused sslclient "$pki/agencies/MX.FGR.crt" "error 23 at 1 depth lookup: certificate revoked"
ok "revoking the intermediate makes its leaves fail at depth 1"

# --- RSA ----------------------------------------------------------------------------
t0=$(date +%s%N)
run_pki --out "$work/rsa" --rsa --quiet
t1=$(date +%s%N)
[[ $rc -eq 0 ]] || fail "--rsa failed (exit $rc): $out"
pki="$work/rsa"
for k in broker.key agencies/US.FBI.key ca-db/root/ca.key ca-db/intermediate/ca.key; do
  openssl pkey -in "$pki/$k" -noout -text 2>/dev/null | grep -q 'Private-Key: (3072 bit' || fail "--rsa: $k is not RSA-3072"
done
expect_pass sslserver "$pki/broker.crt"
expect_pass sslclient "$pki/agencies/US.FBI.crt"
expect_refused sslclient "$pki/bad/revoked.crt" "certificate revoked"
ok "--rsa: RSA-3072 CA and leaf keys, chain verifies, $(((t1 - t0) / 1000000)) ms"

# --- the build tree's shared test PKI, read only ------------------------------------
if [[ -n ${ENLACE_TEST_PKI:-} && -f ${ENLACE_TEST_PKI}/ca.pem ]]; then
  pki=$ENLACE_TEST_PKI
  expect_pass sslserver "$pki/broker.crt"
  expect_pass sslclient "$pki/agencies/MX.FGR.crt"
  expect_refused sslclient "$pki/bad/revoked.crt" "certificate revoked"
  ok "the build's ENLACE_TEST_PKI ($pki) verifies"
fi

echo "01-pki-verify: all $checks checks passed"

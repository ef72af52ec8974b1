#!/usr/bin/env bash
# enlace-pki.sh: generate and maintain the Enlace demo/test PKI with the openssl CLI.
#
# One script makes the whole layout the tests and the demo expect (root and issuing CA,
# broker and agency certificates, deliberately bad certificates, CRLs, the broker's
# Ed25519 checkpoint key) and later issues or revokes certificates in it, using the CA
# database it keeps in DIR/ca-db/. Run with --help for the manual; certs/README.md says
# how a real deployment uses its national PKI instead.
set -euo pipefail
umask 022

readonly PROG=${0##*/}
readonly EX_FAIL=1 EX_USAGE=2 EX_STATE=3
readonly LAYOUT_VERSION=1

# The demo agencies: id|ISO 3166 country (empty where none fits)|organisation.
readonly AGENCIES=(
  "MX.FGR|MX|Fiscalía General de la República"
  "US.FBI|US|Federal Bureau of Investigation"
  "CO.DIJIN|CO|Dirección de Investigación Criminal e INTERPOL"
  "BR.PF|BR|Polícia Federal"
  "GT.PNC|GT|Policía Nacional Civil"
  "INTERPOL.NCB-MEX|MX|INTERPOL National Central Bureau Mexico City"
)
readonly AUDITORS=("EU.EDPS||European Data Protection Supervisor")
readonly PKI_ORG="Enlace Demo PKI"
readonly ROOT_DAYS=3650 INTER_DAYS=1825 LEAF_DAYS=825 CRL_DAYS=30
# Validity of bad/expired.crt: entirely in the past.
readonly EXPIRED_START=20200101000000Z EXPIRED_END=20210101000000Z
# Everything the generator writes at the top of DIR (what --force may wipe in a
# directory that has no ca-db/settings yet, e.g. one left by an interrupted run).
readonly KNOWN_ENTRIES=(ca.pem root.crt intermediate.crt crl.pem broker.crt broker.key
  agencies bad ca-db checkpoint.key checkpoint.pub)

quiet=0
out=""
DB=""
CNF=""
TMP=""
pids=()

say() { if [[ $quiet -eq 0 ]]; then printf '%s\n' "$*"; fi; }
err() { printf '%s: error: %s\n' "$PROG" "$*" >&2; }
die() {
  local code=$1
  shift
  err "$*"
  exit "$code"
}
usage_error() {
  err "$*"
  printf "Try '%s --help' for the manual.\n" "$PROG" >&2
  exit "$EX_USAGE"
}

cleanup() {
  if [[ -n $TMP && -d $TMP ]]; then rm -rf -- "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

usage() {
  cat <<EOF
NAME
    $PROG - generate and maintain the Enlace demo/test PKI

SYNOPSIS
    $PROG [generate] --out DIR [--rsa] [--force] [--quiet]
    $PROG issue  --out DIR --id AGENCY.ID [--auditor] [--org NAME] [--country CC]
                 [--rsa | --ec] [--days N | --seconds N] [--force] [--quiet]
    $PROG revoke --out DIR [--reason REASON] [--quiet] CERT.crt
    $PROG crl    --out DIR [--days N | --hours N | --seconds N | --stale] [--quiet]
    $PROG --help

DESCRIPTION
    Builds a complete two-level demonstration PKI for Enlace with the openssl command
    line tool only (no network, no other dependency), and keeps the CA database in
    DIR/ca-db/ so that certificates can be issued and revoked later. The test suite
    generates one per build directory; operators use it to try Enlace before they plug
    in their national PKI (see certs/README.md). It is NOT meant for production: the CA
    keys lie unencrypted next to the certificates.

COMMANDS
    generate (default)
        Create the whole layout in DIR (listed under FILES). DIR may be missing or
        empty; a non-empty DIR is refused unless --force is given.

    issue
        Issue one more client certificate, DIR/agencies/<ID>.crt and <ID>.key, from
        the issuing CA (an agency joining; tests that need a fresh identity). The key
        type is the one the PKI was generated with unless --rsa or --ec is given.

    revoke
        Revoke CERT.crt (a certificate issued by the intermediate or, to test a
        revoked intermediate, by the root) and rewrite DIR/crl.pem (atomically, by
        rename). The broker sees the revocation on its next reload.

    crl
        Re-sign both CRLs and rewrite DIR/crl.pem. A CRL past its nextUpdate makes
        every verification that checks it fail, so run this before the $CRL_DAYS days
        are over (cron), or with --stale to produce an out-of-date CRL for tests.

OPTIONS
    --out DIR       Directory to write to / the PKI to work on (required).
    --rsa           RSA-3072 keys for every CA and leaf (default: EC P-256). The
                    checkpoint key is always Ed25519.
    --ec            (issue) EC P-256 key even if the PKI was generated with --rsa.
    --force         generate: wipe DIR and regenerate. DIR is wiped only if it holds
                    a PKI made by this script or nothing but names of this layout;
                    anything else is refused (exit 2) so that a mistyped --out never
                    deletes unrelated files.
                    issue: replace an existing agencies/<ID>.crt (the old certificate
                    stays valid until revoked).
    --id ID         (issue) Agency id: [A-Z0-9] then up to 63 of [A-Z0-9._-], as
                    the broker's policy spells it, e.g. MX.FGR or INTERPOL.NCB-BOG.
    --auditor       (issue) Mark the certificate as an auditor's (OU=Auditor). The
                    role itself comes from the broker's policy, not the certificate.
    --org NAME      (issue) Subject O (default: the id).
    --country CC    (issue) Subject C (default: the id's first part when it is a
                    two-letter country code; "" for none).
    --days N        issue: validity in days (default $LEAF_DAYS).
                    crl: days until nextUpdate (default $CRL_DAYS).
    --hours N       (crl) Hours until nextUpdate.
    --seconds N     issue: certificate valid for N seconds from now (tests of
                    expiry during a session). crl: nextUpdate N seconds from now.
    --stale         (crl) lastUpdate two days ago, nextUpdate one day ago.
    --reason R      (revoke) unspecified (default), keyCompromise, CACompromise,
                    affiliationChanged, superseded, cessationOfOperation,
                    certificateHold.
    -q, --quiet     Print errors only.
    -h, --help      Print this manual.

FILES
    DIR/ca.pem                  trust bundle: root + intermediate
    DIR/root.crt                root CA (self-signed)
    DIR/intermediate.crt        issuing CA (pathlen 0)
    DIR/crl.pem                 CRL of the root, then CRL of the intermediate ($CRL_DAYS days)
    DIR/broker.crt, broker.key  broker server certificate (leaf + intermediate),
                                SAN DNS:localhost, IP:127.0.0.1, EKU serverAuth
    DIR/agencies/<ID>.crt, .key client certificates (leaf + intermediate), EKU
                                clientAuth, SAN URI urn:enlace:agency:<ID>, CN=<ID>:
                                MX.FGR US.FBI CO.DIJIN BR.PF GT.PNC INTERPOL.NCB-MEX,
                                and the auditor EU.EDPS
    DIR/bad/revoked.crt, .key   BR.PF, revoked (keyCompromise) in crl.pem
    DIR/bad/expired.crt, .key   US.FBI, valid $EXPIRED_START to $EXPIRED_END only
    DIR/bad/foreign.crt, .key   MX.FGR, issued by an unrelated CA (leaf only)
    DIR/bad/foreign-ca.pem      that unrelated CA
    DIR/bad/wrong-eku.crt, .key MX.FGR with EKU serverAuth only
    DIR/bad/unknown.crt, .key   XX.UNKNOWN, properly issued, in no policy
    DIR/checkpoint.key          broker's Ed25519 checkpoint signing key (PKCS#8 PEM)
    DIR/checkpoint.pub          its public key (SPKI PEM), for auditors to pin
    DIR/ca-db/                  CA keys, openssl.cnf, index.txt, serial, crlnumber
                                for root/, intermediate/ and foreign/ (mode 0700)
    Private keys are mode 0600; everything else is world-readable.

EXIT STATUS
    0   success
    1   an openssl command or a file operation failed (its output is printed; a
        generate that failed leaves a partial DIR: run again with --force)
    2   usage error: unknown option, missing or invalid argument, DIR not empty
        without --force, or DIR not safe to wipe
    3   the request does not fit the PKI's state: DIR is not a PKI made by this
        script, the certificate was not issued by it or is already revoked, or
        agencies/<ID>.crt already exists (issue without --force)

EXAMPLES
    $PROG --out /tmp/pki
    $PROG --out build/test-pki --force --quiet
    $PROG issue --out /tmp/pki --id PE.DIRINCRI --org "Policía Nacional del Perú"
    $PROG revoke --out /tmp/pki /tmp/pki/agencies/GT.PNC.crt --reason keyCompromise
    $PROG crl --out /tmp/pki          # monthly, before the CRL goes stale

SEE ALSO
    certs/README.md, openssl-ca(1), openssl-verify(1), openssl-crl(1)
EOF
}

# Run openssl; on failure print what failed with openssl's own output, and exit 1.
# Its output is kept in a log file so that --quiet stays quiet on success.
ossl() {
  local what=$1
  shift
  local log="$TMP/openssl.$BASHPID.log"
  if ! openssl "$@" >"$log" 2>&1; then
    err "$what failed (openssl $1):"
    sed 's/^/    /' "$log" >&2
    exit "$EX_FAIL"
  fi
}

# Like ossl, but the command's standard output is the function's.
ossl_out() {
  local what=$1
  shift
  local log="$TMP/openssl.$BASHPID.log"
  if ! openssl "$@" 2>"$log"; then
    err "$what failed (openssl $1):"
    sed 's/^/    /' "$log" >&2
    exit "$EX_FAIL"
  fi
}

# Run a command in the background; wait_all collects every one and fails if any did.
bg() {
  "$@" &
  pids+=("$!")
}
wait_all() {
  local p rc=0
  for p in "${pids[@]}"; do
    wait "$p" || rc=$?
  done
  pids=()
  if [[ $rc -ne 0 ]]; then exit "$EX_FAIL"; fi
}

# Escape a value for openssl's -subj syntax (/type=value/...).
dn_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\//\\/}
  s=${s//+/\\+}
  printf '%s' "$s"
}

# Build a subject: dn COUNTRY ORG OU CN (empty parts are left out).
dn() {
  local s=""
  if [[ -n $1 ]]; then s+="/C=$(dn_escape "$1")"; fi
  if [[ -n $2 ]]; then s+="/O=$(dn_escape "$2")"; fi
  if [[ -n $3 ]]; then s+="/OU=$(dn_escape "$3")"; fi
  s+="/CN=$(dn_escape "$4")"
  printf '%s' "$s"
}

valid_agency_id() { [[ $1 =~ ^[A-Z0-9][A-Z0-9._-]{0,63}$ ]]; }
valid_number() { [[ $1 =~ ^[1-9][0-9]{0,8}$ ]]; }

# keyUsage of a client certificate: signatures (TLS, envelopes) and receiving CMS
# payloads, by ECDH for EC keys and by RSA-OAEP for RSA keys.
client_ku() {
  if [[ $1 == rsa ]]; then
    printf 'critical, digitalSignature, nonRepudiation, keyEncipherment'
  else
    printf 'critical, digitalSignature, nonRepudiation, keyAgreement'
  fi
}

# The openssl configuration for the three CAs. Paths come from $ENLACE_PKI_DB and the
# per-certificate values (SAN, keyUsage) from $ENLACE_SAN and $ENLACE_KU, so one file
# serves every call and the PKI directory can be moved.
write_config() {
  local f
  cat >"$CNF" <<'EOF'
# Written by certs/enlace-pki.sh on every run; edits are lost. To use it by hand:
#   ENLACE_PKI_DB=DIR/ca-db ENLACE_SAN=URI:urn:enlace:agency:X ENLACE_KU=digitalSignature \
#   openssl ca -config DIR/ca-db/openssl.cnf -name intermediate_ca ...
[ ca ]
default_ca = intermediate_ca

[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no

[ req_dn ]
CN = unused

[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::ENLACE_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = $ENV::ENLACE_KU
extendedKeyUsage = clientAuth
subjectAltName = $ENV::ENLACE_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

# Negative material: a client certificate whose only purpose is serverAuth.
[ v3_wrong_eku ]
basicConstraints = critical, CA:false
keyUsage = $ENV::ENLACE_KU
extendedKeyUsage = serverAuth
subjectAltName = $ENV::ENLACE_SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
  for f in root intermediate foreign; do
    cat >>"$CNF" <<EOF

[ ${f}_ca ]
dir = \$ENV::ENLACE_PKI_DB/$f
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = $LEAF_DAYS
default_crl_days = $CRL_DAYS
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = no
copy_extensions = none
crl_extensions = crl_ext
EOF
  done
}

# Open the PKI in $out (an existing one for issue/revoke/crl): set DB, CNF, TMP.
open_pki() {
  local abs
  abs=$(cd "$out" 2>/dev/null && pwd -P) || die "$EX_STATE" "'$out' is not a directory"
  out=$abs
  DB="$out/ca-db"
  if [[ ! -f $DB/settings || ! -f $DB/intermediate/ca.key ]]; then
    die "$EX_STATE" "'$out' is not a PKI made by $PROG (no ca-db/settings); run '$PROG --out $out' first"
  fi
  CNF="$DB/openssl.cnf"
  export ENLACE_PKI_DB="$DB" ENLACE_SAN="DNS:unused" ENLACE_KU="digitalSignature"
  TMP=$(mktemp -d "$DB/.work.XXXXXX")
  write_config
}

setting() { sed -n "s/^$1=//p" "$DB/settings"; }

# Make a private key (0600 from the start) and a certificate request for it.
key_and_csr() {
  local key=$1 csr=$2 subj=$3 type=$4
  local -a newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  if [[ $type == rsa ]]; then newkey=(-newkey rsa:3072); fi
  (
    umask 077
    ossl "key for $subj" req -config "$CNF" -new -utf8 "${newkey[@]}" -noenc \
      -keyout "$key" -subj "$subj" -out "$csr"
  )
  chmod 600 "$key"
}

checkpoint_key() {
  (
    umask 077
    ossl "checkpoint key" genpkey -algorithm ED25519 -out "$out/checkpoint.key"
  )
  chmod 600 "$out/checkpoint.key"
  ossl "checkpoint public key" pkey -in "$out/checkpoint.key" -pubout -out "$out/checkpoint.pub"
}

# sign CA EXTENSIONS CSR OUT [openssl ca options...]: issue a certificate from a CA.
sign() {
  local ca=$1 ext=$2 csr=$3 crt=$4
  shift 4
  ossl "issuing $crt" ca -config "$CNF" -name "${ca}_ca" -batch -notext -utf8 \
    -extensions "$ext" -in "$csr" -out "$crt" "$@"
}

# leaf EXT ID KU CSR DEST [openssl ca options...]: issue a client/server certificate
# from the intermediate and write DEST as leaf + intermediate.
leaf() {
  local ext=$1 san=$2 ku=$3 csr=$4 dest=$5
  shift 5
  export ENLACE_SAN=$san ENLACE_KU=$ku
  sign intermediate "$ext" "$csr" "$TMP/leaf.pem" "$@"
  cat "$TMP/leaf.pem" "$DB/intermediate/ca.crt" >"$dest.tmp"
  mv -f -- "$dest.tmp" "$dest"
}

# Re-sign both CRLs and replace crl.pem by rename, so that a broker watching the file
# never reads half of it. Extra options (validity) go to both "openssl ca -gencrl".
write_crls() {
  local ca
  for ca in root intermediate; do
    ossl "$ca CRL" ca -config "$CNF" -name "${ca}_ca" -gencrl -out "$TMP/$ca.crl" "$@"
  done
  cat "$TMP/root.crl" "$TMP/intermediate.crl" >"$out/crl.pem.tmp"
  mv -f -- "$out/crl.pem.tmp" "$out/crl.pem"
}

# Make $out ready for generate: create it, or check it is empty, or wipe it with --force.
prepare_out() {
  local force=$1 e k name known
  local -a entries=()
  if [[ -e $out && ! -d $out ]]; then usage_error "--out '$out' exists and is not a directory"; fi
  if [[ -d $out ]]; then
    entries=()
    while IFS= read -r -d '' e; do entries+=("$e"); done \
      < <(find "$out" -mindepth 1 -maxdepth 1 -print0)
  fi
  if [[ ${#entries[@]} -gt 0 ]]; then
    if [[ $force -eq 0 ]]; then
      err "'$out' exists and is not empty; use --force to wipe it and generate a new PKI"
      exit "$EX_USAGE"
    fi
    if [[ ! -f $out/ca-db/settings ]]; then
      for e in "${entries[@]}"; do
        name=${e##*/}
        known=0
        for k in "${KNOWN_ENTRIES[@]}"; do if [[ $name == "$k" || $name == "$k.tmp" ]]; then known=1; fi; done
        if [[ $known -eq 0 ]]; then
          err "refusing to wipe '$out': it is not a PKI made by $PROG and holds '$name'"
          exit "$EX_USAGE"
        fi
      done
    fi
    find "$out" -mindepth 1 -delete
  fi
  mkdir -p -- "$out"
  out=$(cd "$out" && pwd -P)
}

cmd_generate() {
  local keytype=ec force=0 entry id country org a
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out) [[ $# -ge 2 ]] || usage_error "--out needs a directory"; out=$2; shift ;;
      --out=*) out=${1#--out=} ;;
      --rsa) keytype=rsa ;;
      --ec) keytype=ec ;;
      --force) force=1 ;;
      -q | --quiet) quiet=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "generate: unknown option or argument '$1'" ;;
    esac
    shift
  done
  [[ -n $out ]] || usage_error "--out DIR is required"
  prepare_out "$force"

  DB="$out/ca-db"
  CNF="$DB/openssl.cnf"
  mkdir -p -- "$out/agencies" "$out/bad" "$DB"/{root,intermediate,foreign}/newcerts
  chmod 700 "$DB"
  export ENLACE_PKI_DB="$DB" ENLACE_SAN="DNS:unused" ENLACE_KU="digitalSignature"
  TMP=$(mktemp -d "$DB/.work.XXXXXX")
  write_config
  printf 'version=%s\nkeytype=%s\n' "$LAYOUT_VERSION" "$keytype" >"$DB/settings"
  for a in root intermediate foreign; do
    : >"$DB/$a/index.txt"
    # Random 64-bit starting serial (positive: leading digit 1), then sequential.
    printf '1%s\n' "$(openssl rand -hex 8 | cut -c1-15)" >"$DB/$a/serial"
    printf '1000\n' >"$DB/$a/crlnumber"
  done

  # Phase 1, in parallel (RSA-3072 key generation is the slow part): every key and
  # certificate request, and the checkpoint key.
  bg key_and_csr "$DB/root/ca.key" "$TMP/root.csr" "$(dn "" "$PKI_ORG" "" "Enlace Demo Root CA")" "$keytype"
  bg key_and_csr "$DB/intermediate/ca.key" "$TMP/intermediate.csr" \
    "$(dn "" "$PKI_ORG" "" "Enlace Demo Issuing CA 1")" "$keytype"
  bg key_and_csr "$DB/foreign/ca.key" "$TMP/foreign-ca.csr" \
    "$(dn "" "Foreign Untrusted PKI" "" "Foreign Root CA")" "$keytype"
  bg key_and_csr "$out/broker.key" "$TMP/broker.csr" "$(dn "" "$PKI_ORG" "Broker" "localhost")" "$keytype"
  for entry in "${AGENCIES[@]}" "${AUDITORS[@]}"; do
    IFS='|' read -r id country org <<<"$entry"
    local ou=""
    if [[ " ${AUDITORS[*]} " == *" $entry "* ]]; then ou="Auditor"; fi
    bg key_and_csr "$out/agencies/$id.key" "$TMP/$id.csr" "$(dn "$country" "$org" "$ou" "$id")" "$keytype"
  done
  bg key_and_csr "$out/bad/revoked.key" "$TMP/revoked.csr" "$(dn BR "Polícia Federal" "" BR.PF)" "$keytype"
  bg key_and_csr "$out/bad/expired.key" "$TMP/expired.csr" \
    "$(dn US "Federal Bureau of Investigation" "" US.FBI)" "$keytype"
  bg key_and_csr "$out/bad/foreign.key" "$TMP/foreign.csr" \
    "$(dn MX "Fiscalía General de la República" "" MX.FGR)" "$keytype"
  bg key_and_csr "$out/bad/wrong-eku.key" "$TMP/wrong-eku.csr" \
    "$(dn MX "Fiscalía General de la República" "" MX.FGR)" "$keytype"
  bg key_and_csr "$out/bad/unknown.key" "$TMP/unknown.csr" "$(dn "" "Unknown Agency" "" XX.UNKNOWN)" "$keytype"
  bg checkpoint_key
  wait_all

  # Phase 2, in order (the CA databases are not safe for concurrent writers).
  sign root v3_root "$TMP/root.csr" "$DB/root/ca.crt" -selfsign -days "$ROOT_DAYS"
  sign root v3_intermediate "$TMP/intermediate.csr" "$DB/intermediate/ca.crt" -days "$INTER_DAYS"
  sign foreign v3_root "$TMP/foreign-ca.csr" "$DB/foreign/ca.crt" -selfsign -days "$ROOT_DAYS"
  cp -- "$DB/root/ca.crt" "$out/root.crt"
  cp -- "$DB/intermediate/ca.crt" "$out/intermediate.crt"
  cat "$out/root.crt" "$out/intermediate.crt" >"$out/ca.pem"
  cp -- "$DB/foreign/ca.crt" "$out/bad/foreign-ca.pem"

  local ku
  ku=$(client_ku "$keytype")
  leaf v3_server "DNS:localhost, IP:127.0.0.1" "digitalSignature" "$TMP/broker.csr" "$out/broker.crt"
  for entry in "${AGENCIES[@]}" "${AUDITORS[@]}"; do
    IFS='|' read -r id _ <<<"$entry"
    leaf v3_client "URI:urn:enlace:agency:$id" "$ku" "$TMP/$id.csr" "$out/agencies/$id.crt"
  done
  leaf v3_client "URI:urn:enlace:agency:BR.PF" "$ku" "$TMP/revoked.csr" "$out/bad/revoked.crt"
  leaf v3_client "URI:urn:enlace:agency:US.FBI" "$ku" "$TMP/expired.csr" "$out/bad/expired.crt" \
    -startdate "$EXPIRED_START" -enddate "$EXPIRED_END"
  leaf v3_wrong_eku "URI:urn:enlace:agency:MX.FGR" "$ku" "$TMP/wrong-eku.csr" "$out/bad/wrong-eku.crt"
  leaf v3_client "URI:urn:enlace:agency:XX.UNKNOWN" "$ku" "$TMP/unknown.csr" "$out/bad/unknown.crt"
  export ENLACE_SAN="URI:urn:enlace:agency:MX.FGR" ENLACE_KU=$ku
  # Leaf only: its issuer is in no trust bundle of ours, so there is no chain to send.
  sign foreign v3_client "$TMP/foreign.csr" "$out/bad/foreign.crt"

  ossl "revoking bad/revoked.crt" ca -config "$CNF" -name intermediate_ca \
    -revoke "$out/bad/revoked.crt" -crl_reason keyCompromise
  write_crls

  local kdesc="EC P-256"
  if [[ $keytype == rsa ]]; then kdesc="RSA-3072"; fi
  say "$PROG: demo PKI ($kdesc keys) written to $out"
  say "  trust bundle  ca.pem (root.crt + intermediate.crt); CRLs crl.pem ($CRL_DAYS days)"
  say "  broker        broker.crt, broker.key (localhost, 127.0.0.1)"
  say "  agencies      $(for e in "${AGENCIES[@]}"; do printf '%s ' "${e%%|*}"; done)"
  say "  auditor       $(for e in "${AUDITORS[@]}"; do printf '%s ' "${e%%|*}"; done)"
  say "  bad/          revoked expired foreign (+ foreign-ca.pem) wrong-eku unknown"
  say "  checkpoint    checkpoint.key (Ed25519), checkpoint.pub"
}

cmd_issue() {
  local id="" auditor=0 org="" org_set=0 country="" country_set=0 keytype="" force=0
  local -a validity=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out) [[ $# -ge 2 ]] || usage_error "--out needs a directory"; out=$2; shift ;;
      --out=*) out=${1#--out=} ;;
      --id) [[ $# -ge 2 ]] || usage_error "--id needs an agency id"; id=$2; shift ;;
      --id=*) id=${1#--id=} ;;
      --auditor) auditor=1 ;;
      --org) [[ $# -ge 2 ]] || usage_error "--org needs a name"; org=$2; org_set=1; shift ;;
      --country) [[ $# -ge 2 ]] || usage_error "--country needs a code"; country=$2; country_set=1; shift ;;
      --rsa) keytype=rsa ;;
      --ec) keytype=ec ;;
      --days)
        if [[ $# -lt 2 ]] || ! valid_number "$2"; then usage_error "--days needs a positive number"; fi
        validity=(-days "$2"); shift ;;
      --seconds)
        if [[ $# -lt 2 ]] || ! valid_number "$2"; then usage_error "--seconds needs a positive number"; fi
        validity=(-startdate "$(date -u +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "+$2 seconds" +%Y%m%d%H%M%SZ)")
        shift ;;
      --force) force=1 ;;
      -q | --quiet) quiet=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "issue: unknown option or argument '$1'" ;;
    esac
    shift
  done
  [[ -n $out ]] || usage_error "--out DIR is required"
  [[ -n $id ]] || usage_error "issue: --id AGENCY.ID is required"
  valid_agency_id "$id" || usage_error "issue: '$id' is not a valid agency id ([A-Z0-9] then up to 63 of [A-Z0-9._-])"
  if [[ $country_set -eq 1 && -n $country && ! $country =~ ^[A-Z]{2}$ ]]; then
    usage_error "issue: --country must be two capital letters (ISO 3166), or empty"
  fi
  open_pki
  local dest="$out/agencies/$id"
  if [[ -e $dest.crt && $force -eq 0 ]]; then
    die "$EX_STATE" "'$dest.crt' already exists; use --force to replace it (the old one stays valid until revoked)"
  fi
  [[ -n $keytype ]] || keytype=$(setting keytype)
  if [[ $org_set -eq 0 ]]; then org=$id; fi
  if [[ $country_set -eq 0 ]]; then
    country=${id%%.*}
    if [[ ! $country =~ ^[A-Z]{2}$ || $country == EU || $country == XX ]]; then country=""; fi
  fi
  local ou=""
  if [[ $auditor -eq 1 ]]; then ou="Auditor"; fi
  mkdir -p -- "$out/agencies"
  key_and_csr "$TMP/new.key" "$TMP/new.csr" "$(dn "$country" "$org" "$ou" "$id")" "$keytype"
  leaf v3_client "URI:urn:enlace:agency:$id" "$(client_ku "$keytype")" "$TMP/new.csr" "$TMP/new.crt" \
    "${validity[@]}"
  mv -f -- "$TMP/new.key" "$dest.key"
  mv -f -- "$TMP/new.crt" "$dest.crt"
  say "$PROG: issued $id ($keytype$([[ $auditor -eq 1 ]] && printf ', auditor')): $dest.crt, $dest.key"
}

cmd_revoke() {
  local cert="" reason=unspecified
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out) [[ $# -ge 2 ]] || usage_error "--out needs a directory"; out=$2; shift ;;
      --out=*) out=${1#--out=} ;;
      --reason) [[ $# -ge 2 ]] || usage_error "--reason needs a value"; reason=$2; shift ;;
      -q | --quiet) quiet=1 ;;
      -h | --help) usage; exit 0 ;;
      -*) usage_error "revoke: unknown option '$1'" ;;
      *) [[ -z $cert ]] || usage_error "revoke: one certificate at a time"; cert=$1 ;;
    esac
    shift
  done
  [[ -n $out ]] || usage_error "--out DIR is required"
  [[ -n $cert ]] || usage_error "revoke: which certificate? (CERT.crt)"
  case $reason in
    unspecified | keyCompromise | CACompromise | affiliationChanged | superseded | \
      cessationOfOperation | certificateHold) ;;
    *) usage_error "revoke: unknown reason '$reason'" ;;
  esac
  [[ -r $cert ]] || usage_error "revoke: cannot read '$cert'"
  open_pki

  # Find the CA that issued it: same serial in its database and the very same
  # certificate in its newcerts/ (a serial alone could come from another CA).
  local serial fp ca="" c status subject
  serial=$(ossl_out "reading $cert" x509 -in "$cert" -noout -serial)
  serial=${serial#serial=}
  fp=$(ossl_out "reading $cert" x509 -in "$cert" -noout -fingerprint -sha256)
  for c in intermediate root; do
    if [[ -f $DB/$c/newcerts/$serial.pem ]] &&
      [[ $(ossl_out "reading $c database" x509 -in "$DB/$c/newcerts/$serial.pem" -noout -fingerprint -sha256) == "$fp" ]]; then
      ca=$c
      break
    fi
  done
  [[ -n $ca ]] || die "$EX_STATE" "'$cert' was not issued by this PKI's CAs (serial $serial)"
  status=$(awk -F'\t' -v s="$serial" '$4 == s { print $1 }' "$DB/$ca/index.txt")
  [[ $status != R ]] || die "$EX_STATE" "'$cert' (serial $serial) is already revoked"
  if [[ $ca == root && $serial == "$(ossl_out "reading root" x509 -in "$DB/root/ca.crt" -noout -serial | sed 's/^serial=//')" ]]; then
    die "$EX_STATE" "the root cannot revoke itself; remove it from the trust bundle instead"
  fi
  ossl "revoking $cert" ca -config "$CNF" -name "${ca}_ca" -revoke "$cert" -crl_reason "$reason"
  write_crls
  subject=$(ossl_out "reading $cert" x509 -in "$cert" -noout -subject -nameopt oneline,-esc_msb)
  say "$PROG: revoked serial $serial (${subject#subject=}) by the $ca CA ($reason); $out/crl.pem rewritten"
}

cmd_crl() {
  local -a validity=()
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out) [[ $# -ge 2 ]] || usage_error "--out needs a directory"; out=$2; shift ;;
      --out=*) out=${1#--out=} ;;
      --days)
        if [[ $# -lt 2 ]] || ! valid_number "$2"; then usage_error "--days needs a positive number"; fi
        validity=(-crldays "$2"); shift ;;
      --hours)
        if [[ $# -lt 2 ]] || ! valid_number "$2"; then usage_error "--hours needs a positive number"; fi
        validity=(-crlhours "$2"); shift ;;
      --seconds)
        if [[ $# -lt 2 ]] || ! valid_number "$2"; then usage_error "--seconds needs a positive number"; fi
        validity=(-crlsec "$2"); shift ;;
      --stale)
        validity=(-crl_lastupdate "$(date -u -d '-2 days' +%Y%m%d%H%M%SZ)"
          -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)") ;;
      -q | --quiet) quiet=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "crl: unknown option or argument '$1'" ;;
    esac
    shift
  done
  [[ -n $out ]] || usage_error "--out DIR is required"
  open_pki
  write_crls "${validity[@]}"
  local next
  next=$(ossl_out "reading the CRL" crl -in "$TMP/intermediate.crl" -noout -nextupdate)
  say "$PROG: $out/crl.pem rewritten; ${next/=/: }"
}

main() {
  local cmd=generate
  if [[ $# -gt 0 ]]; then
    case $1 in
      generate | issue | revoke | crl) cmd=$1; shift ;;
      help | -h | --help) usage; exit 0 ;;
      -*) ;;
      *) usage_error "unknown command '$1'" ;;
    esac
  fi
  command -v openssl >/dev/null || die "$EX_FAIL" "the openssl command is not installed"
  "cmd_$cmd" "$@"
}

main "$@"

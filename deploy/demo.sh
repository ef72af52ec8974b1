#!/usr/bin/env bash
# The Enlace demo: a broker and agencies of four member states exchanging a
# signed, end-to-end encrypted alert, and an auditor verifying the log.
#
#   bash deploy/demo.sh [WORKDIR]        (default WORKDIR: ./demo-run)
#
# Installs what it needs (Debian packages), builds, generates a demo PKI,
# starts a real broker on 127.0.0.1, runs the scenario with the `enlace` CLI,
# stops the broker cleanly and verifies the audit log with `enlace-audit`.
# Everything it creates stays in WORKDIR for you to look at.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/demo-run}")

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
info() { printf '   %s\n' "$*"; }

say "1. Installing packages and building Enlace"
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh" "$root/build" >/dev/null
B="$root/build"
ENLACE="$B/client/enlace"
AUDIT="$B/client/enlace-audit"

say "2. Generating a demo PKI (root CA, issuing CA, broker, agencies, auditor)"
rm -rf "$work"
mkdir -p "$work"
bash "$root/certs/enlace-pki.sh" --out "$work/pki" --quiet
PKI="$work/pki"
info "certificates in $PKI: $(ls "$PKI/agencies" | grep -c '\.crt$') agencies, broker, CRL, checkpoint key"

cat >"$work/policy.ini" <<POL
; Who may publish and read what. Anything not granted is denied.
[MX.FGR]
role = agency
publish = alerts/#, cases/#
subscribe = alerts/#, cases/MX/#
certificate = $PKI/agencies/MX.FGR.crt

[US.FBI]
role = agency
publish = alerts/#
subscribe = alerts/#, cases/#
certificate = $PKI/agencies/US.FBI.crt

[CO.DIJIN]
role = agency
publish = alerts/#
subscribe = alerts/#, cases/#
certificate = $PKI/agencies/CO.DIJIN.crt

[BR.PF]
role = agency
subscribe = notices/#
certificate = $PKI/agencies/BR.PF.crt

[EU.EDPS]
role = auditor
POL

cat >"$work/broker.conf" <<CONF
[broker]
listen = 127.0.0.1
port = 0
io_threads = 2

[tls]
certificate = $PKI/broker.crt
key = $PKI/broker.key
ca = $PKI/ca.pem
crl = $PKI/crl.pem

[policy]
file = $work/policy.ini

[log]
dir = $work/log
checkpoint_key = $PKI/checkpoint.key
origin = enlace.demo/log
CONF

say "3. Starting the broker (mutual TLS 1.3 on 127.0.0.1, audit log in $work/log)"
"$B/broker/enlace-broker" --config "$work/broker.conf" --ready-file "$work/ready" \
  2>"$work/broker.log" &
broker=$!
trap 'kill -TERM $broker 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$work/ready" ] && break; sleep 0.05; done
[ -s "$work/ready" ] || { cat "$work/broker.log"; echo "broker did not start"; exit 1; }
port=$(cat "$work/ready")
info "broker pid $broker listening on 127.0.0.1:$port"

# One client configuration per agency.
for a in MX.FGR US.FBI CO.DIJIN BR.PF; do
  cat >"$work/$a.conf" <<CC
[client]
broker = 127.0.0.1:$port
cert = $PKI/agencies/$a.crt
key = $PKI/agencies/$a.key
ca = $PKI/ca.pem
crl = $PKI/crl.pem
checkpoint_key = $PKI/checkpoint.pub
CC
done

say "4. MX.FGR (Mexico) publishes a TLP:AMBER alert about a trafficking case to US.FBI and CO.DIJIN"
cat >"$work/alert.txt" <<'TXT'
Case TRAF-2026-0042: container MSCU-4471203 leaves Manzanillo on 2026-12-01
with 14 people hidden inside; destination Long Beach via Buenaventura.
TXT
info "payload: $(head -1 "$work/alert.txt")"
"$ENLACE" --config "$work/MX.FGR.conf" publish --topic alerts/trafficking/MX --tlp TLP:AMBER \
  --to US.FBI,CO.DIJIN --type alert --case TRAF-2026-0042 --handling H2 --reliability B \
  --accuracy 2 --language en --content-type text/plain --file "$work/alert.txt" \
  --json | tee "$work/published.json"
msgid=$(sed -n 's/.*"message_id": *"\([0-9a-f]*\)".*/\1/p' "$work/published.json")
info "signed with MX.FGR's key, encrypted to US.FBI, CO.DIJIN and MX.FGR itself;"
info "the broker acknowledged only after the record was durable in the audit log"

say "5. US.FBI (United States) receives it: checks the signature against its own CA, decrypts"
"$ENLACE" --config "$work/US.FBI.conf" subscribe --topic 'alerts/#' --name fbi-desk \
  --from resume --count 1 --timeout 10

say "6. BR.PF (Brazil) tries to read trafficking alerts: the policy refuses"
set +e
"$ENLACE" --config "$work/BR.PF.conf" subscribe --topic 'alerts/#' --name pf-desk --count 1 \
  --timeout 5
rc=$?
set -e
info "enlace exited with status $rc (3 = the broker refused the operation)"
[ "$rc" -eq 3 ] || { echo "expected the broker to refuse BR.PF"; exit 1; }

say "7. CO.DIJIN (Colombia) was offline; it connects now and still receives the alert"
"$ENLACE" --config "$work/CO.DIJIN.conf" subscribe --topic 'alerts/#' --name dijin-desk \
  --from resume --count 1 --timeout 10

say "8. MX.FGR asks for a receipt: a signed checkpoint and a Merkle inclusion proof"
"$ENLACE" --config "$work/MX.FGR.conf" receipt "$msgid"

say "9. Stopping the broker (SIGTERM): final checkpoint, clean exit"
kill -TERM "$broker"
wait "$broker"
trap - EXIT
info "broker exited with status 0; its log: $work/broker.log"

say "10. The auditor verifies the log offline (CRCs, tree, checkpoint signatures, every sender signature)"
"$AUDIT" verify --log "$work/log" --key "$PKI/checkpoint.pub" --ca "$PKI/ca.pem"

say "11. The auditor lists who did what, when, to whom"
"$AUDIT" show --log "$work/log"

say "Done. Everything is in $work"

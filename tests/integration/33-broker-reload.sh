#!/usr/bin/env bash
# SIGHUP reload: revocation of a live session, invalid policy refused, valid policy applied.
source "$(dirname "$0")/lib.sh"
standard_setup

# 1. GT.PNC is connected; its certificate is revoked and the broker reloads.
"$BT" --port "$PORT" --pki "$PKI" wait-goodbye GT.PNC 15 "revoked" >"$T/gt.out" 2>&1 &
waiter=$!
for _ in $(seq 1 100); do grep -q READY "$T/gt.out" && break; sleep 0.05; done
grep -q READY "$T/gt.out" || fail "GT.PNC did not connect"
bash "$PKI_SCRIPT" revoke --out "$PKI" --quiet "$PKI/agencies/GT.PNC.crt"
kill -HUP "$BROKER_PID"
wait "$waiter" || { cat "$T/gt.out"; tail -20 "$T/broker.log"; fail "revoked session was not closed"; }
cat "$T/gt.out"
pass "a live session whose certificate is revoked is closed with a Goodbye"
bt connect-refused GT.PNC
bt connect-ok MX.FGR

# 2. An invalid policy is refused; the old one stays in force.
cp "$T/policy.ini" "$T/policy.good"
printf '[MX.FGR]\nrole = emperor\n' >"$T/policy.ini"
kill -HUP "$BROKER_PID"
sleep 1
grep -q "event=reload.refused" "$T/broker.log" || fail "invalid policy was not reported"
pass "invalid policy refused and reported: $(grep 'event=reload.refused' "$T/broker.log" | tail -1 | sed 's/.*why=//' | cut -c1-100)"
bt publish-expect MX.FGR alerts/after-bad-reload ok

# 3. A valid policy that drops MX.FGR's right to publish alerts/# applies at once.
sed 's|^publish = alerts/#, cases/#, bulk/#|publish = cases/#|' "$T/policy.good" >"$T/policy.ini"
kill -HUP "$BROKER_PID"
sleep 1
bt publish-expect MX.FGR alerts/after-good-reload ERROR_NOT_AUTHORIZED
bt publish-expect MX.FGR cases/MX/x ok

# 4. A publish_rate added by a reload limits the agency, all its sessions together.
sed -i '/^\[INTERPOL.NCB-MEX\]$/a publish_rate = 5' "$T/policy.ini"
kill -HUP "$BROKER_PID"
sleep 1
bt rate INTERPOL.NCB-MEX 5
"$AUDIT" show --log "$T/log" --kind denied --agency INTERPOL.NCB-MEX --json >"$T/rate.json"
jq -e 'select(.code | test("RATE_LIMITED"))' "$T/rate.json" >/dev/null ||
  { cat "$T/rate.json"; fail "the rate refusal is not in the audit log"; }
pass "publish_rate: per agency across sessions, refusal audited"

# 5. A stale CRL (past nextUpdate) is refused at reload: it would fail every handshake.
bash "$PKI_SCRIPT" crl --out "$PKI" --stale --quiet
kill -HUP "$BROKER_PID"
sleep 1
grep "event=reload.refused" "$T/broker.log" | tail -1 | grep -qi "crl" || fail "stale CRL was not refused"
pass "stale CRL refused at reload: the previous one stays in force"
bt connect-ok US.FBI
bash "$PKI_SCRIPT" crl --out "$PKI" --quiet
kill -HUP "$BROKER_PID"
sleep 1
bt connect-ok US.FBI
stop_broker

#!/usr/bin/env bash
# Publish path: accepted exchange, every refusal, TLP rules, duplicates, receipts.
source "$(dirname "$0")/lib.sh"
standard_setup
bt exchange
bt refusals
bt tlp-red
bt receipt
bt audit-fetch
stop_broker
# The message-id collision of `refusals` is in the audit log, naming the agency and id.
"$AUDIT" show --log "$T/log" --kind denied --agency US.FBI --json >"$T/denied.json" ||
  fail "enlace-audit show failed"
jq -e 'select(.reason == "message id already used by another sender" and
  .message_id == "c0111de00102030405060708090a0b0c")' "$T/denied.json" >/dev/null ||
  { cat "$T/denied.json"; fail "no Denied record for the message-id collision"; }
pass "a message id reused by another agency is audited as a refusal"

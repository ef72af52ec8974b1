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

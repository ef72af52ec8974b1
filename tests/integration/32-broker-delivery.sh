#!/usr/bin/env bash
# Durable delivery: offline subscriber across a broker restart, slow consumer.
source "$(dirname "$0")/lib.sh"
standard_setup
bt offline setup
bt offline publish 50
stop_broker
pass "broker restarted while the subscriber is offline"
start_broker
bt offline resume 50
bt slow-consumer "$BROKER_PID" 2000 48
stop_broker

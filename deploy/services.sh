#!/usr/bin/env bash
# Bring up or down every local service the pipeline needs: the Kafka broker
# and the ClickHouse server, plus the GeoLite2 City database.
#
# Usage: deploy/services.sh up|down|status
#   up      install Kafka and ClickHouse when missing, start both, fetch GeoIP
#   down    stop Kafka and ClickHouse
#   status  report each service; exit 0 only when both run and respond
#
# The environment settings of deploy/kafka/kafka.sh and
# deploy/clickhouse/clickhouse.sh (ports, timeouts) apply here too.
set -euo pipefail

LOG_TAG=services
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"

KAFKA="$DEPLOY_DIR/kafka/kafka.sh"
CLICKHOUSE="$DEPLOY_DIR/clickhouse/clickhouse.sh"
GEOIP_FETCH="$DEPLOY_DIR/geoip/fetch.sh"

cmd_up() {
  "$KAFKA" install
  "$CLICKHOUSE" install
  "$KAFKA" start
  "$CLICKHOUSE" start
  "$GEOIP_FETCH"
  log "all services are up"
}

cmd_down() {
  # Stop both even when the first stop fails, then report the failure.
  local status=0
  "$KAFKA" stop || status=1
  "$CLICKHOUSE" stop || status=1
  ((status == 0)) || die "stopping a service failed; see the messages above"
  log "all services are stopped"
}

cmd_status() {
  local status=0
  "$KAFKA" status || status=1
  "$CLICKHOUSE" status || status=1
  if [[ -s "$VAR_DIR/geoip/GeoLite2-City.mmdb" ]]; then
    log "GeoIP database present: $VAR_DIR/geoip/GeoLite2-City.mmdb"
  else
    log "GeoIP database missing; run: $GEOIP_FETCH"
  fi
  return "$status"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: $0 up|down|status" ;;
esac

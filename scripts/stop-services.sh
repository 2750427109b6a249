#!/usr/bin/env bash
# Stop what scripts/start-services.sh started: RabbitMQ (node rabbit@localhost, and its epmd)
# and the PostgreSQL 15/main cluster. Idempotent: does nothing for a service that is not running.
# Progress goes to stderr. Must run as root.
#
# "Stopped" is decided by talking to the service (rabbitmqctl ping / pg_isready), never by PID:
# PID 1 here does not reap, so stopped daemons remain as zombies and still "exist" for kill -0.
set -euo pipefail

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
T0=${EPOCHREALTIME/./}
elapsed() { local d=$(( ${EPOCHREALTIME/./} - T0 )); printf '%d.%01d' $((d / 1000000)) $((d % 1000000 / 100000)); }
log() { printf '[stop-services %5ss]%s %s\n' "$(elapsed)" "${PREFIX:-}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

stop_rabbitmq() {
  local PREFIX=" [rabbitmq]"
  if ! command -v rabbitmqctl >/dev/null; then log "not installed"; return 0; fi
  if rabbitmqctl -q ping >/dev/null 2>&1; then
    log "rabbitmqctl stop"
    rabbitmqctl -q stop >/dev/null 2>&1 || true
  else
    log "not running"
  fi
  local deadline=$(( $(date +%s) + 30 ))
  while rabbitmqctl -q ping >/dev/null 2>&1 || port_open 5672; do
    [ "$(date +%s)" -lt "$deadline" ] || die "RabbitMQ still answering after 30 s"
    sleep 0.3
  done
  # epmd was started by the broker; stop it too if no Erlang node is registered any more.
  if epmd_bin=$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n1) && [ -n "$epmd_bin" ]; then
    if "$epmd_bin" -names 2>/dev/null | grep -q '^name '; then
      log "epmd still has nodes registered, leaving it"
    else
      "$epmd_bin" -kill >/dev/null 2>&1 || true
    fi
  fi
  log "stopped"
}

stop_postgres() {
  local PREFIX=" [postgres]"
  if ! command -v pg_ctlcluster >/dev/null || [ ! -f "/etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf" ]; then
    log "cluster $PG_VERSION/$PG_CLUSTER does not exist"; return 0
  fi
  if pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q '^online'; then
    log "pg_ctlcluster $PG_VERSION $PG_CLUSTER stop (fast)"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast >&2 </dev/null || true
  else
    log "not running"
  fi
  local deadline=$(( $(date +%s) + 30 ))
  # pg_isready exit status: 0 accepting, 1 rejecting (starting/stopping), 2 no response
  while pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1; [ $? -ne 2 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "PostgreSQL still answering after 30 s"
    sleep 0.2
  done
  log "stopped"
}

stop_postgres & pg_job=$!
stop_rabbitmq & rabbit_job=$!
rc=0
wait "$rabbit_job" || rc=1
wait "$pg_job" || rc=1
[ "$rc" = 0 ] || die "stopping failed"
log "all services stopped"

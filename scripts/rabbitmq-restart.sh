#!/usr/bin/env bash
# Restart the local RabbitMQ broker (as set up by scripts/start-services.sh) for integration
# tests that check how clients survive a broker restart. Must run as root.
#
# usage: scripts/rabbitmq-restart.sh [--mode app|node] [--down SECONDS]
#   --mode app   (default) `rabbitmqctl stop_app` + `start_app`: the Erlang VM stays up, the rabbit
#                application (listeners included) stops. Every client connection is closed: the
#                broker sends connection.close 320 CONNECTION_FORCED "broker forced connection
#                closure with reason 'shutdown'", then closes the socket; while it is down new
#                connections are refused. Faster of the two.
#   --mode node  `rabbitmqctl stop` + `rabbitmq-server -detached` + wait: the whole VM restarts
#                (same client-side effect, slower).
#   --down S     keep the broker down S seconds (fractions allowed) before starting it again,
#                e.g. to test reconnect back-off.
# Durable queues and persistent messages survive both modes; so do users, vhosts, permissions.
#
# Progress goes to stderr; the last line, on stdout, is the timing, e.g.
#   rabbitmq-restart mode=app stop=0.9s down=0.0s start=2.4s total=3.3s
# Exit status 0 only when the broker accepts AMQP connections on 127.0.0.1:5672 again.
set -euo pipefail

MODE=app
DOWN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=$2; shift 2 ;;
    --down) DOWN=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--mode app|node] [--down SECONDS]" >&2; exit 2 ;;
  esac
done
case "$MODE" in app|node) ;; *) echo "--mode must be app or node" >&2; exit 2 ;; esac

LOG_DIR=/var/log/actionflow-services
TIMEOUT=60
now_us() { echo "${EPOCHREALTIME/./}"; }
fmt() { printf '%d.%01ds' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }
log() { echo "[rabbitmq-restart] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

port_open() { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' 2>/dev/null; }
node_up() { rabbitmqctl -q ping >/dev/null 2>&1; }

wait_ready() {
  local deadline=$(( $(date +%s) + TIMEOUT ))
  # await_startup exits 69 at once until the node is registered with epmd: poll it
  until rabbitmqctl -q await_startup --timeout "$TIMEOUT" >/dev/null 2>&1 && port_open; do
    [ "$(date +%s)" -lt "$deadline" ] || die "RabbitMQ not ready after ${TIMEOUT}s"
    sleep 0.2
  done
}

t0=$(now_us)
if [ "$MODE" = app ]; then
  log "stop_app"
  rabbitmqctl -q stop_app >/dev/null
else
  log "stop"
  rabbitmqctl -q stop >/dev/null
  deadline=$(( $(date +%s) + 30 ))
  while node_up; do [ "$(date +%s)" -lt "$deadline" ] || die "node did not stop"; sleep 0.2; done
fi
# stop_app returns once the app is stopped; make sure the listener is really gone
deadline=$(( $(date +%s) + 30 ))
while port_open; do [ "$(date +%s)" -lt "$deadline" ] || die "port 5672 still open"; sleep 0.1; done
t1=$(now_us)

[ "$DOWN" = 0 ] || sleep "$DOWN"
t2=$(now_us)

if [ "$MODE" = app ]; then
  log "start_app"
  rabbitmqctl -q start_app >/dev/null
else
  log "rabbitmq-server -detached"
  mkdir -p "$LOG_DIR"
  # redirected: a daemon holding the caller's stdout/stderr pipe would hang `$(...)` and test runners
  rabbitmq-server -detached >>"$LOG_DIR/rabbitmq-start.log" 2>&1 </dev/null
fi
wait_ready
t3=$(now_us)

echo "rabbitmq-restart mode=$MODE stop=$(fmt $((t1 - t0))) down=$(fmt $((t2 - t1))) start=$(fmt $((t3 - t2))) total=$(fmt $((t3 - t0)))"

#!/usr/bin/env bash
# Start the services the Actionflow integration tests need: RabbitMQ and PostgreSQL 15,
# both on loopback only, on a Debian 12 machine WITHOUT systemd and without Docker.
#
# Idempotent: safe to run again, also while the services already run (then it takes ~1.5 s; a cold start ~6-8 s; with the apt install ~15-30 s).
# Must run as root (apt-get, rabbitmqctl with the Erlang cookie, runuser postgres).
#
# Output contract:
#   * all progress / diagnostics go to STDERR;
#   * STDOUT carries only the two connection strings:
#       scripts/start-services.sh          -> ACTIONFLOW_TEST_POSTGRES=...      (plain lines, for humans)
#                                             ACTIONFLOW_TEST_RABBITMQ=...
#       scripts/start-services.sh --env    -> export ACTIONFLOW_TEST_POSTGRES='...'   (shell-quoted, the PG
#                                             export ACTIONFLOW_TEST_RABBITMQ='...'    string has semicolons)
#   CI usage (do NOT write `eval "$(...)"` directly: under set -e a failure inside the
#   command substitution would be masked by eval's own exit status 0):
#       env_lines="$(scripts/start-services.sh --env)"   # fails the script if start fails
#       eval "$env_lines"
#
# Daemons are started with stdin/stdout/stderr redirected to log files, otherwise they would
# inherit the caller's pipe and `$(...)` / `| tee` would hang forever waiting for EOF.
# Logs of this script's daemon starts: /var/log/actionflow-services/*.log
#
# Readiness is always checked by talking to the service (rabbitmqctl / pg_isready), never by PID:
# PID 1 here does not reap, stopped daemons stay as zombies and `kill -0` still succeeds on them.
set -euo pipefail

MODE=plain
case "${1:-}" in
  --env) MODE=env ;;
  "") ;;
  -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--env]" >&2; exit 2 ;;
esac

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_CONF_DIR=/etc/postgresql/$PG_VERSION/$PG_CLUSTER
AF_USER=actionflow
AF_PASS=actionflow
AF_DB=actionflow
RABBIT_TIMEOUT=60
PG_TIMEOUT=60
LOG_DIR=/var/log/actionflow-services

PG_URL="Host=127.0.0.1;Port=$PG_PORT;Username=$AF_USER;Password=$AF_PASS;Database=$AF_DB"
AMQP_URL="amqp://$AF_USER:$AF_PASS@127.0.0.1:5672/"

export DEBIAN_FRONTEND=noninteractive
T0=${EPOCHREALTIME/./}
elapsed() { local d=$(( ${EPOCHREALTIME/./} - T0 )); printf '%d.%01d' $((d / 1000000)) $((d % 1000000 / 100000)); }
log() { printf '[start-services %5ss]%s %s\n' "$(elapsed)" "${PREFIX:-}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------------------------------------
# 1. packages
# ---------------------------------------------------------------------------------------------
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
# tzdata: schedules read IANA time zones from /usr/share/zoneinfo.
# python3-aiosmtpd: the real SMTP server the email action's tests send to (run with /usr/bin/python3).
for p in rabbitmq-server postgresql "postgresql-$PG_VERSION" tzdata python3-aiosmtpd; do
  pkg_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt-get update -qq >&2
  # only the missing ones: naming an installed package would upgrade it (seen: postgresql-15 15.18 -> 15.20)
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >&2 </dev/null
  log "packages installed"
else
  log "packages already installed"
fi
mkdir -p "$LOG_DIR"

# write_if_changed FILE  (content on stdin) -> returns 0 if the file changed, 1 if identical
write_if_changed() {
  local f=$1 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; return 1; fi
  install -m 0644 "$tmp" "$f"; rm -f "$tmp"; return 0
}

# ---------------------------------------------------------------------------------------------
# 2. RabbitMQ
# ---------------------------------------------------------------------------------------------
rabbit_node_up()    { rabbitmqctl -q ping >/dev/null 2>&1; }                        # Erlang node reachable
rabbit_app_up()     { rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }      # rabbit app running
rabbit_registered() { epmd -names 2>/dev/null | grep -q '^name rabbit at port'; }   # ~5 ms, vs ~0.6 s per rabbitmqctl
rabbit_port_open()  { timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' 2>/dev/null; }

rabbit_wait_ready() {
  # await_startup exits 69 at once until the node has registered with epmd, so poll it.
  local deadline=$(( $(date +%s) + RABBIT_TIMEOUT ))
  until rabbitmqctl -q await_startup --timeout "$RABBIT_TIMEOUT" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 30 "$LOG_DIR/rabbitmq-start.log" /var/log/rabbitmq/rabbit@localhost.log >&2 2>/dev/null || true; die "RabbitMQ not ready after ${RABBIT_TIMEOUT}s"; }
    sleep 0.3
  done
}

rabbit_start_detached() {
  # -detached returns at once; output to a log file so no pipe of ours is held open.
  rabbitmq-server -detached >>"$LOG_DIR/rabbitmq-start.log" 2>&1 </dev/null
}

setup_rabbitmq() {
  local PREFIX=" [rabbitmq]" changed=0
  mkdir -p /etc/rabbitmq
  if write_if_changed /etc/rabbitmq/rabbitmq.conf <<'EOF'
# written by actionflow scripts/start-services.sh
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
EOF
  then changed=1; fi
  # rabbitmq-env.conf is sourced by /bin/sh (as user rabbitmq) for the server AND for every CLI tool.
  # The hard file limit may be below 65536 (seen: 20000, and root lacks CAP_SYS_RESOURCE here),
  # in which case `ulimit -n 65536` fails: fall back to the hard limit.
  if write_if_changed /etc/rabbitmq/rabbitmq-env.conf <<'EOF'
# written by actionflow scripts/start-services.sh
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
ERL_EPMD_ADDRESS=127.0.0.1
# without this the Erlang distribution port 25672 listens on 0.0.0.0
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null || true
EOF
  then changed=1; fi
  chown -R rabbitmq:rabbitmq /etc/rabbitmq 2>/dev/null || true

  local ready=0
  if ! rabbit_registered; then
    # fast path for a cold start: no node registered with epmd, so no need to ask rabbitmqctl
    log "starting rabbitmq-server -detached"
    rabbit_start_detached
  elif [ "$changed" = 1 ] && rabbit_node_up; then
    log "config changed while running: full restart"
    rabbitmqctl -q stop >/dev/null 2>&1 || true
    local deadline=$(( $(date +%s) + 30 ))
    while rabbit_node_up; do [ "$(date +%s)" -lt "$deadline" ] || die "RabbitMQ did not stop"; sleep 0.3; done
    rabbit_start_detached
  elif rabbit_app_up; then
    log "already running"
    ready=1
  elif rabbit_node_up; then
    # Erlang node up but the rabbit app is not: stopped by `rabbitmqctl stop_app`, or still booting
    log "node up, app not running: start_app"
    rabbitmqctl -q start_app >/dev/null 2>&1 || true
  else
    log "starting rabbitmq-server -detached"
    rabbit_start_detached
  fi
  [ "$ready" = 1 ] || rabbit_wait_ready
  rabbit_port_open || die "RabbitMQ runs but 127.0.0.1:5672 does not accept connections"
  log "ready"

  # Each rabbitmqctl call costs ~0.6 s (it boots an Erlang VM), so look first, in parallel, and
  # change only what is missing.
  local tmp; tmp=$(mktemp -d)
  rabbitmqctl -q list_users >"$tmp/users" 2>&1 & local j1=$!
  rabbitmqctl -q list_permissions -p / >"$tmp/perms" 2>&1 & local j2=$!
  local auth_ok=1
  rabbitmqctl -q authenticate_user "$AF_USER" "$AF_PASS" >/dev/null 2>&1 || auth_ok=0
  wait "$j1" || die "rabbitmqctl list_users failed: $(cat "$tmp/users")"
  wait "$j2" || die "rabbitmqctl list_permissions failed: $(cat "$tmp/perms")"
  if ! awk -v u="$AF_USER" '$1==u {f=1} END {exit !f}' "$tmp/users"; then
    log "creating user $AF_USER"
    rabbitmqctl -q add_user "$AF_USER" "$AF_PASS" >/dev/null
  elif [ "$auth_ok" = 0 ]; then
    log "resetting password of $AF_USER"
    rabbitmqctl -q change_password "$AF_USER" "$AF_PASS" >/dev/null
  fi
  if ! awk -v u="$AF_USER" '$1==u && $0 ~ /administrator/ {f=1} END {exit !f}' "$tmp/users"; then
    rabbitmqctl -q set_user_tags "$AF_USER" administrator >/dev/null
  fi
  if ! awk -v u="$AF_USER" -F'\t' '$1==u && $2==".*" && $3==".*" && $4==".*" {f=1} END {exit !f}' "$tmp/perms"; then
    rabbitmqctl -q set_permissions -p / "$AF_USER" '.*' '.*' '.*' >/dev/null
  fi
  rm -rf "$tmp"
  log "user $AF_USER ok (administrator, full permissions on /)"
}

# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL 15
# ---------------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1; }
pg_running() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}' | grep -q '^online'; }
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
pg_psql() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

pg_wait_ready() {
  local deadline=$(( $(date +%s) + PG_TIMEOUT ))
  until pg_ready; do
    [ "$(date +%s)" -lt "$deadline" ] || { tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 || true; die "PostgreSQL not ready after ${PG_TIMEOUT}s"; }
    sleep 0.2
  done
}

setup_postgres() {
  local PREFIX=" [postgres]" conf_changed=0 hba_changed=0
  if [ ! -f "$PG_CONF_DIR/postgresql.conf" ]; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" >&2 </dev/null
  fi
  mkdir -p "$PG_CONF_DIR/conf.d"
  # conf.d is included at the end of Debian's postgresql.conf, so these win.
  if write_if_changed "$PG_CONF_DIR/conf.d/90-actionflow.conf" <<EOF
# written by actionflow scripts/start-services.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 300
password_encryption = 'scram-sha-256'
EOF
  then conf_changed=1; fi
  chown -R postgres:postgres "$PG_CONF_DIR/conf.d"

  # Password auth over TCP on 127.0.0.1: Debian's default already has
  # `host all all 127.0.0.1/32 scram-sha-256`; add one (first, so it wins) if not.
  local hba="$PG_CONF_DIR/pg_hba.conf"
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)[[:space:]]*$' "$hba"; then
    log "adding scram-sha-256 rule for 127.0.0.1/32 to pg_hba.conf"
    { echo "host    all    all    127.0.0.1/32    scram-sha-256   # actionflow"; cat "$hba"; } >"$hba.new"
    chown postgres:postgres "$hba.new"; chmod 0640 "$hba.new"; mv "$hba.new" "$hba"
    hba_changed=1
  fi

  if pg_running && pg_ready; then
    if [ "$conf_changed" = 1 ] || [ "$hba_changed" = 1 ]; then
      pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" reload >&2
      sleep 0.3
    fi
    # max_connections / listen_addresses need a restart; pg_settings.pending_restart tells after a reload.
    if [ "$(pg_psql -Atc "select count(*) from pg_settings where pending_restart")" != 0 ] \
       || [ "$(pg_psql -Atc "show max_connections")" != 300 ]; then
      log "restarting (settings need a restart)"
      pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart >>"$LOG_DIR/postgres-start.log" 2>&1 </dev/null
    else
      log "already running"
    fi
  else
    if pg_running; then
      # registered as online but not answering on 127.0.0.1 (e.g. old listen_addresses): restart
      log "online but not answering on 127.0.0.1: restart"
      pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart >>"$LOG_DIR/postgres-start.log" 2>&1 </dev/null
    else
      log "starting cluster $PG_VERSION/$PG_CLUSTER"
      pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >>"$LOG_DIR/postgres-start.log" 2>&1 </dev/null \
        || { tail -n 20 "$LOG_DIR/postgres-start.log" >&2; die "pg_ctlcluster start failed"; }
    fi
  fi
  pg_wait_ready
  log "ready on 127.0.0.1:$PG_PORT"

  pg_psql -d postgres >/dev/null <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$AF_USER') THEN
    CREATE ROLE $AF_USER LOGIN CREATEDB PASSWORD '$AF_PASS';
  ELSE
    ALTER ROLE $AF_USER LOGIN CREATEDB PASSWORD '$AF_PASS';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $AF_DB OWNER $AF_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$AF_DB')\gexec
SQL
  # password login over TCP, as the tests do it
  PGPASSWORD=$AF_PASS PGCONNECT_TIMEOUT=5 psql -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U "$AF_USER" -d "$AF_DB" \
    -c 'select 1' >/dev/null || die "password login as $AF_USER over 127.0.0.1 failed"
  log "role $AF_USER (LOGIN CREATEDB) and database $AF_DB ok, max_connections=$(pg_psql -Atc 'show max_connections')"
}

# ---------------------------------------------------------------------------------------------
# 4. run both in parallel. Both as background jobs on purpose: `( f ) || rc=$?` would switch
#    off `set -e` inside f (bash ignores errexit in any command that is part of an || list).
# ---------------------------------------------------------------------------------------------
setup_postgres &
pg_job=$!
setup_rabbitmq &
rabbit_job=$!
rabbit_rc=0; wait "$rabbit_job" || rabbit_rc=$?
pg_rc=0; wait "$pg_job" || pg_rc=$?
[ "$rabbit_rc" = 0 ] || die "RabbitMQ setup failed (exit $rabbit_rc)"
[ "$pg_rc" = 0 ] || die "PostgreSQL setup failed (exit $pg_rc)"
log "all services ready"

if [ "$MODE" = env ]; then
  # single-quoted; the values contain no single quote
  printf "export ACTIONFLOW_TEST_POSTGRES='%s'\n" "$PG_URL"
  printf "export ACTIONFLOW_TEST_RABBITMQ='%s'\n" "$AMQP_URL"
else
  printf 'ACTIONFLOW_TEST_POSTGRES=%s\n' "$PG_URL"
  printf 'ACTIONFLOW_TEST_RABBITMQ=%s\n' "$AMQP_URL"
fi

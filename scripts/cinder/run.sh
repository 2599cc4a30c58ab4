#!/usr/bin/env bash
# scripts/cinder/run.sh — a real OpenStack Cinder block-storage API (cinder 29.x, `cinder-api`
# only: no scheduler, no volume service, no RabbitMQ) on 127.0.0.1:8776 behind the project's
# Keystone on :5000. Everything lives under /tmp/apiclient-rs.
#
#   run.sh start    # (default) venv + install + config + db + Keystone registration + start
#                   # + wait until ready; idempotent (a running, answering server is left alone)
#   run.sh stop     # stop the processes 'start' started (checked by /proc/<pid>/cmdline)
#   run.sh status   # running and answering? prints the URL (exit 0), else "not running" (exit 1)
#   run.sh reset    # stop + delete config and data (keeps the venv and its migrated empty DB)
#
# It needs the main Keystone (`KS_CACHE=0 bash scripts/keystone/run.sh start`); 'start' waits
# for it (KS_WAIT seconds). Registration (once per Keystone data dir, mark
# $KS_DATA/.cinder-registered): service user `cinder` with roles `service` and `admin` on project
# `service`, a `block-storage` service and its RegionOne endpoints
# http://127.0.0.1:8776/v3/$(project_id)s, each looked up before it is created.
# keystonemiddleware's token cache is off, so a revoked token is refused at once.
#
# What works without a scheduler/volume service: version discovery, lists, gets, error shapes.
# A volume create is accepted (202: availability zone "nova", the storage_availability_zone,
# is valid even with no volume service) and stays in "creating" for ever (the cast to the
# scheduler goes into the fake transport); deleting it (no host) removes it at once.
#
# Tunables (environment):
#   CINDER_PORT=8776           port on 127.0.0.1 (the host is always 127.0.0.1)
#   CINDER_VERSION=29.0.0      cinder release (with the pins of constraints.txt next to this file)
#   CINDER_PASSWORD=cinderpass Keystone password of the `cinder` service user
#   CINDER_DEBUG=false         [DEFAULT] debug
#   CINDER_READY_TIMEOUT=120   seconds to wait for the started server to be ready
#   CINDER_PYTHON=             python >= 3.10 to build the venv with (auto-detected if empty)
#   CINDER_VENV=/tmp/apiclient-rs/cinder-venv  CINDER_ETC=/tmp/apiclient-rs/cinder-etc
#   CINDER_DATA=/tmp/apiclient-rs/cinder-data
#                              (each carries an owner mark written when this script created it;
#                              one without it is re-created under /tmp/apiclient-rs, refused
#                              elsewhere)
#   KS_URL=http://127.0.0.1:5000/v3  KS_DATA=/tmp/apiclient-rs/keystone-data
#   KS_ADMIN_PASSWORD=secret   KS_WAIT=180 (seconds to wait for Keystone to issue a token)
#   PIP_CACHE_DIR=/tmp/apiclient-rs/pip-cache
set -euo pipefail

SERVICE=cinder
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CINDER_HOST=127.0.0.1   # never change: tests must only use loopback
CINDER_PORT=${CINDER_PORT:-8776}
CINDER_VERSION=${CINDER_VERSION:-29.0.0}
CINDER_PASSWORD=${CINDER_PASSWORD:-cinderpass}
CINDER_DEBUG=${CINDER_DEBUG:-false}
CINDER_READY_TIMEOUT=${CINDER_READY_TIMEOUT:-120}
CINDER_VENV=${CINDER_VENV:-$STATE_ROOT/cinder-venv}
CINDER_ETC=${CINDER_ETC:-$STATE_ROOT/cinder-etc}
CINDER_DATA=${CINDER_DATA:-$STATE_ROOT/cinder-data}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_DATA=${KS_DATA:-$STATE_ROOT/keystone-data}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
KS_WAIT=${KS_WAIT:-180}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSTRAINTS="$HERE/constraints.txt"
URL="http://$CINDER_HOST:$CINDER_PORT"
# single quotes: $(project_id)s is Keystone's URL template, not a shell substitution
# shellcheck disable=SC2016
ENDPOINT_URL="$URL"'/v3/$(project_id)s'
CONF="$CINDER_ETC/cinder.conf"
LOG="$CINDER_DATA/log"
PIDFILE="$CINDER_DATA/cinder-api.pid"     # the session leader (cinder-api's parent process)
PIDSFILE="$CINDER_DATA/cinder-api.pids"   # every process of the session seen when ready
TEMPLATE_DB="$CINDER_VENV/apiclient-rs/cinder-empty.sqlite"   # migrated, empty; survives reset
# 3.11 first: constraints.txt was frozen with it
PYTHONS="${CINDER_PYTHON:-} python3.11 python3.12 python3.13 python3.10 python3"
PYTHON_MIN=3.10
VENV_PY="$CINDER_VENV/bin/python"
SERVICE_PASSWORD=$CINDER_PASSWORD

T_START=$(now)
owned_or_absent() { [ ! -e "$1" ] || owns "$1"; }   # for reset: may we delete it?

# --------------------------------------------------------------------------- config
write_config() {
  claim_dir "$CINDER_ETC" stop_server
  mkdir -p "$LOG" "$CINDER_DATA/state" "$CINDER_DATA/locks" "$CINDER_DATA/coordination"
  local shipped="$CINDER_VENV/etc/cinder"
  [ -f "$shipped/api-paste.ini" ] || die "no $shipped/api-paste.ini in the venv"
  # the shipped paste ini, with the healthcheck's disable file out of /etc/cinder
  sed "s|^disable_by_file_path = .*|disable_by_file_path = $CINDER_DATA/healthcheck_disable|" \
    "$shipped/api-paste.ini" >"$CINDER_ETC/api-paste.ini.new"
  cp "$shipped/resource_filters.json" "$CINDER_ETC/resource_filters.json.new"
  cat >"$CONF.new" <<EOF
# generated by scripts/cinder/run.sh — regenerated on every start
[DEFAULT]
debug = $CINDER_DEBUG
use_stderr = false
log_dir = $LOG
state_path = $CINDER_DATA/state
host = apiclient-rs-cinder
my_ip = 127.0.0.1
auth_strategy = keystone
# oslo.messaging's in-process driver: no RabbitMQ; casts to the (absent) scheduler go nowhere
transport_url = fake:/
enabled_backends =
api_paste_config = $CINDER_ETC/api-paste.ini
resource_query_filters_file = $CINDER_ETC/resource_filters.json
rootwrap_config = $shipped/rootwrap.conf
osapi_volume_listen = $CINDER_HOST
osapi_volume_listen_port = $CINDER_PORT
osapi_volume_workers = 1

[database]
connection = sqlite:///$CINDER_DATA/cinder.sqlite

[coordination]
backend_url = file://$CINDER_DATA/coordination

[oslo_concurrency]
lock_path = $CINDER_DATA/locks

[oslo_messaging_notifications]
# the fake transport would keep every notification in memory
driver = noop

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = cinder
password = $CINDER_PASSWORD
service_token_roles_required = false
# no token cache: a revoked token is refused at once
token_cache_time = -1
memcached_servers =
EOF
  # a running server with another configuration is restarted by start_server
  local f
  for f in "$CONF" "$CINDER_ETC/api-paste.ini" "$CINDER_ETC/resource_filters.json"; do
    if ! cmp -s "$f.new" "$f"; then CONFIG_CHANGED=1; mv "$f.new" "$f"; else rm -f "$f.new"; fi
  done
}
CONFIG_CHANGED=

ensure_db() {
  [ -f "$CINDER_DATA/cinder.sqlite" ] && return 0
  local t0; t0=$(now)
  if [ -f "$TEMPLATE_DB" ]; then
    cp "$TEMPLATE_DB" "$CINDER_DATA/cinder.sqlite"
    log "database copied from the migrated template in $(since "$t0")s"
    return 0
  fi
  log "cinder-manage db sync"
  if ! "$CINDER_VENV/bin/cinder-manage" --config-file "$CONF" db sync >>"$LOG/cinder-manage.log" 2>&1; then
    tail -n 20 "$LOG/cinder-manage.log" >&2; rm -f "$CINDER_DATA/cinder.sqlite"; die "db sync failed"
  fi
  mkdir -p "$(dirname "$TEMPLATE_DB")"
  cp "$CINDER_DATA/cinder.sqlite" "$TEMPLATE_DB.tmp" && mv "$TEMPLATE_DB.tmp" "$TEMPLATE_DB"
  log "database migrated in $(since "$t0")s (template kept in the venv)"
}

# --------------------------------------------------------------------------- process control
ours() { cmdline_has "${1:-}" "bin/cinder-api --config-file $CONF"; }   # a live cinder-api with our config
leader_pid() { read_pid "$PIDFILE"; }
session_pids() { # every live process of our cinder-api: recorded ones + the leader's session
  local leader; leader=$(leader_pid)
  {
    [ -n "$leader" ] && echo "$leader"
    [ -f "$PIDSFILE" ] && cat "$PIDSFILE"
    if [ -n "$leader" ]; then
      local p
      for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$(stat_field "$p" 4 2>/dev/null)" = "$leader" ] && echo "$p"
      done
    fi
  } 2>/dev/null | sort -un | while read -r p; do ours "$p" && echo "$p"; done || true
}

http_up() { # GET / answers (300 Multiple Choices)
  local code; code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$URL/" 2>/dev/null) || true
  [ "$code" = 300 ]
}
authed_ready() { service_check --url "$ENDPOINT_URL/volumes" 2>/dev/null; }   # an authenticated volume list answers
rss_mb() { local t=0 p r; for p in "$@"; do r=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${r:-0})); done; echo $((t / 1024)); }

start_server() {
  local leader; leader=$(leader_pid)
  if ours "$leader"; then
    if [ -n "$CONFIG_CHANGED" ]; then log "configuration changed; restarting"
    elif http_up; then log "already running (pid $leader)"; return 0
    else log "pid $leader exists but is not answering; restarting"; fi
  fi
  # leftovers of ours (e.g. a worker whose parent was killed) would hold the port
  [ -z "$(session_pids)" ] || stop_server
  port_busy "$CINDER_HOST" "$CINDER_PORT" && die "$CINDER_HOST:$CINDER_PORT is already in use by another process"
  rm -f "$PIDFILE" "$PIDSFILE"
  log "starting cinder-api on $URL"
  local t0; t0=$(now)
  # setsid: own session, survives the calling shell. setsid may fork (when the caller is a
  # process-group leader), so $! is not cinder-api: the wrapper shell writes its own pid (the
  # session leader) and execs cinder-api, whose oslo.service launcher forks the worker.
  # shellcheck disable=SC2016  # expanded by the inner shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' cinder-run "$PIDFILE" \
      "$CINDER_VENV/bin/cinder-api" --config-file "$CONF" \
      >>"$LOG/cinder-api.stdout" 2>&1 </dev/null &
  local deadline=$((SECONDS + CINDER_READY_TIMEOUT)) up=""
  while :; do
    leader=$(leader_pid)
    if [ -z "$up" ] && http_up; then up=1; log "GET / answers after $(since "$t0")s"; fi
    if [ -n "$up" ] && authed_ready; then break; fi
    if [ -n "$leader" ] && ! alive "$leader"; then
      tail -n 30 "$LOG/cinder-api.stdout" "$LOG/cinder-api.log" >&2 2>/dev/null || true
      stop_server; die "cinder-api exited"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOG/cinder-api.log" >&2 2>/dev/null || true
      stop_server; die "not ready after ${CINDER_READY_TIMEOUT}s"
    fi
    sleep 0.3
  done
  local pids; pids=$(session_pids)
  echo "$pids" >"$PIDSFILE"
  # shellcheck disable=SC2086
  log "ready (authenticated volume list) after $(since "$t0")s; pids" $pids"; RSS $(rss_mb $pids) MB"
}

stop_server() {
  local pids leader; leader=$(leader_pid); pids=$(session_pids)
  if [ -z "$pids" ]; then log "not running"; rm -f "$PIDFILE" "$PIDSFILE"; return 0; fi
  # the parent (oslo.service ProcessLauncher) stops its worker on SIGTERM
  if ours "$leader"; then kill -TERM "$leader" 2>/dev/null || true; else
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done; fi
  local _ left
  for _ in $(seq 1 50); do
    left=""; for p in $pids; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break; sleep 0.2
  done
  if [ -n "$left" ]; then
    log "still alive after 10s:$left; SIGKILL"
    for p in $left; do ours "$p" && kill -KILL "$p" 2>/dev/null || true; done
    for _ in $(seq 1 25); do
      left=""; for p in $pids; do alive "$p" && left="$left $p"; done
      [ -z "$left" ] && break; sleep 0.2
    done
  fi
  [ -z "$left" ] || die "could not stop:$left"
  rm -f "$PIDFILE" "$PIDSFILE"
  # shellcheck disable=SC2086
  log "stopped (pids" $pids")"
}

# --------------------------------------------------------------------------- commands
cmd=${1:-start}
case "$cmd" in
  start)
    ensure_venv "$CINDER_VENV" "$CONSTRAINTS" cinder-api "cinder==$CINDER_VERSION"
    claim_dir "$CINDER_DATA" stop_server   # nothing of ours may keep running from one not ours
    write_config
    ensure_db
    wait_keystone "$KS_WAIT"
    register_in_keystone --service-type block-storage --service-name cinderv3 --url "$ENDPOINT_URL" \
      --interfaces public,internal
    start_server
    log "start done in $(since "$T_START")s"
    echo "$URL"
    ;;
  stop) stop_server ;;
  status)
    pid=$(leader_pid)
    if ours "$pid" && http_up; then echo "running pid=$pid url=$URL"; else echo "not running"; exit 1; fi
    ;;
  reset)
    owned_or_absent "$CINDER_DATA" || die "$CINDER_DATA was not created by this script; not touching it"
    owned_or_absent "$CINDER_ETC" || die "$CINDER_ETC was not created by this script; not touching it"
    [ -d "$CINDER_DATA" ] && stop_server
    rm -rf "$CINDER_DATA" "$CINDER_ETC"
    log "reset $CINDER_DATA $CINDER_ETC (venv kept)"
    ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# scripts/placement/run.sh (called by `cargo xtask placement`) — a real OpenStack Placement
# (openstack-placement 16.0.0) on 127.0.0.1:8778 behind the project's Keystone on :5000.
# Everything lives under /tmp/apiclient-rs.
#
#   run.sh start    # venv + install + Keystone service user and catalog + db sync + start; idempotent
#   run.sh stop     # stop the server started by 'start' (by its PID)
#   run.sh status   # running?
#
# It needs the main Keystone running (`cargo xtask keystone start`), whose venv has the
# `openstack` CLI used to register the `placement` service user (role `service` on project
# `service`) and the catalog entry. keystonemiddleware's token cache is off, so a revoked
# token is refused at once.
set -euo pipefail

PL_HOST=127.0.0.1   # never change: tests must only use loopback
PL_PORT=${PL_PORT:-8778}
PL_VENV=${PL_VENV:-/tmp/apiclient-rs/placement-venv}
PL_ETC=${PL_ETC:-/tmp/apiclient-rs/placement-etc}
PL_DATA=${PL_DATA:-/tmp/apiclient-rs/placement-data}
PL_VERSION=${PL_VERSION:-16.0.0}
PL_PASSWORD=${PL_PASSWORD:-placementpass}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_VENV=${KS_VENV:-/tmp/apiclient-rs/keystone-venv}
URL="http://$PL_HOST:$PL_PORT"
PIDFILE="$PL_DATA/gunicorn.pid"

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-/tmp/apiclient-rs/pip-cache}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}

log() { printf '[run-placement] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_python() {
  local c
  for c in python3.13 python3.12 python3.11 python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  if [ -x "$PL_VENV/bin/placement-manage" ] && [ -x "$PL_VENV/bin/gunicorn" ] \
     && "$PL_VENV/bin/python" -c 'import keystonemiddleware' 2>/dev/null; then
    return 0
  fi
  local py; py=$(find_python) || die "no python >= 3.10 with venv"
  log "creating venv $PL_VENV with $py"
  local t0=$SECONDS
  "$py" -m venv "$PL_VENV"
  "$PL_VENV/bin/pip" install -q "openstack-placement==$PL_VERSION" keystonemiddleware gunicorn
  log "venv ready in $((SECONDS - t0))s"
}

openstack() {
  env OS_AUTH_URL="$KS_URL" OS_AUTH_TYPE=password OS_USERNAME=admin OS_PASSWORD=secret \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
    OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne OS_INTERFACE=public \
    "$KS_VENV/bin/openstack" "$@"
}

register_in_keystone() {
  [ -x "$KS_VENV/bin/openstack" ] || die "no Keystone venv at $KS_VENV: run 'cargo xtask keystone start' first"
  curl -fsS "$KS_URL" >/dev/null 2>&1 || die "Keystone is not answering at $KS_URL"
  # the mark lives with Keystone's data: a reset Keystone registers again
  local mark="${KS_DATA:-/tmp/apiclient-rs/keystone-data}/.placement-registered"
  if [ -f "$mark" ]; then return 0; fi
  log "registering the placement service user and catalog entry in Keystone"
  openstack project show service >/dev/null 2>&1 || openstack project create --domain default service >/dev/null
  openstack user show placement >/dev/null 2>&1 \
    || openstack user create --domain default --password "$PL_PASSWORD" placement >/dev/null
  openstack role add --project service --user placement service
  openstack role add --project service --user placement admin
  if ! openstack service show placement >/dev/null 2>&1; then
    openstack service create --name placement placement >/dev/null
    openstack endpoint create --region RegionOne placement public "$URL" >/dev/null
    openstack endpoint create --region RegionOne placement internal "$URL" >/dev/null
  fi
  touch "$mark"
}

write_config() {
  mkdir -p "$PL_ETC" "$PL_DATA/log"
  cat > "$PL_ETC/placement.conf" <<EOF
[DEFAULT]
debug = false

[api]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = placement
password = $PL_PASSWORD
service_token_roles_required = false
# no token cache: a revoked token is refused at once
token_cache_time = -1
memcached_servers =

[placement_database]
connection = sqlite:///$PL_DATA/placement.sqlite
EOF
}

ensure_db() {
  if [ -f "$PL_DATA/placement.sqlite" ]; then return 0; fi
  log "placement-manage db sync"
  OS_PLACEMENT_CONFIG_DIR="$PL_ETC" "$PL_VENV/bin/placement-manage" --config-file "$PL_ETC/placement.conf" db sync
}

server_pid() { [ -f "$PIDFILE" ] && cat "$PIDFILE" || true; }
ours() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
http_ready() { curl -fsS -o /dev/null "$URL/" 2>/dev/null; }

start_server() {
  local pid; pid=$(server_pid)
  if ours "$pid" && http_ready; then log "already running (pid $pid)"; return 0; fi
  log "starting gunicorn on $URL"
  OS_PLACEMENT_CONFIG_DIR="$PL_ETC" "$PL_VENV/bin/gunicorn" \
    --bind "$PL_HOST:$PL_PORT" --workers 1 --worker-class gthread --threads 4 \
    --timeout 60 --graceful-timeout 5 --pid "$PIDFILE" --daemon \
    --access-logfile "$PL_DATA/log/access.log" --error-logfile "$PL_DATA/log/gunicorn.log" \
    placement.wsgi.api:application
  local t0=$SECONDS
  until http_ready; do
    [ $((SECONDS - t0)) -lt 60 ] || { tail -20 "$PL_DATA/log/gunicorn.log" >&2; die "placement did not answer within 60 s"; }
    sleep 0.3
  done
  log "placement answers after $((SECONDS - t0))s (pid $(server_pid))"
}

stop_server() {
  local pid; pid=$(server_pid)
  if ours "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do ours "$pid" || break; sleep 0.1; done
    ours "$pid" && kill -9 "$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start)
    ensure_venv
    register_in_keystone
    write_config
    ensure_db
    start_server
    echo "$URL"
    ;;
  stop) stop_server ;;
  status)
    pid=$(server_pid)
    if ours "$pid" && http_ready; then echo "running pid=$pid url=$URL"; else echo "not running"; exit 1; fi
    ;;
  reset) stop_server; rm -rf "$PL_DATA" "$PL_ETC"; log "reset" ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

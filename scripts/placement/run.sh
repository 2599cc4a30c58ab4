#!/usr/bin/env bash
# scripts/placement/run.sh (called by `cargo xtask placement`) — a real OpenStack Placement
# (openstack-placement 16.0.0) on 127.0.0.1:8778 behind the project's Keystone on :5000.
# Everything lives under /tmp/apiclient-rs.
#
#   run.sh start    # venv + install + Keystone service user and catalog + db sync + start; idempotent
#   run.sh stop     # stop the server started by 'start' (by its PID, checked by its command line)
#   run.sh status   # running?
#   run.sh reset    # stop + delete config and database (keeps the venv)
#
# It needs the main Keystone running (`cargo xtask keystone start`). It registers there
# (scripts/lib/keystone_register.py, once per Keystone data dir: mark .placement-registered) the
# `placement` service user (roles `service` and `admin` on project `service`) and the RegionOne
# public+internal endpoints. keystonemiddleware's token cache is off, so a revoked token is
# refused at once.
#
# Tunables (environment):
#   PL_PORT=8778   PL_VERSION=16.0.0 (with the pins of constraints.txt next to this file)
#   PL_PASSWORD=placementpass   password of the Keystone service user `placement`
#   PL_VENV=/tmp/apiclient-rs/placement-venv  PL_ETC=/tmp/apiclient-rs/placement-etc
#   PL_DATA=/tmp/apiclient-rs/placement-data  (each carries an owner mark written when this
#                  script created it; one without it is re-created under /tmp/apiclient-rs,
#                  refused elsewhere)
#   KS_URL=http://127.0.0.1:5000/v3  KS_ADMIN_PASSWORD=secret  KS_DATA=/tmp/apiclient-rs/keystone-data
set -euo pipefail

SERVICE=placement
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

PL_HOST=127.0.0.1   # never change: tests must only use loopback
PL_PORT=${PL_PORT:-8778}
PL_VENV=${PL_VENV:-$STATE_ROOT/placement-venv}
PL_ETC=${PL_ETC:-$STATE_ROOT/placement-etc}
PL_DATA=${PL_DATA:-$STATE_ROOT/placement-data}
PL_VERSION=${PL_VERSION:-16.0.0}
PL_PASSWORD=${PL_PASSWORD:-placementpass}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
KS_DATA=${KS_DATA:-$STATE_ROOT/keystone-data}

CONSTRAINTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/constraints.txt"
URL="http://$PL_HOST:$PL_PORT"
PIDFILE="$PL_DATA/gunicorn.pid"
PYTHONS="python3.13 python3.12 python3.11 python3"
PYTHON_MIN=3.10
VENV_PY="$PL_VENV/bin/python"
SERVICE_PASSWORD=$PL_PASSWORD

write_config() {
  claim_dir "$PL_ETC"
  claim_dir "$PL_DATA" stop_server
  mkdir -p "$PL_DATA/log"
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

# the pid is the gunicorn master this script started (its --pid is our pid file)
ours() { cmdline_has "${1:-}" gunicorn "--pid $PIDFILE" placement.wsgi.api:application; }
http_ready() { curl -fsS -o /dev/null "$URL/" 2>/dev/null; }

start_server() {
  local pid; pid=$(read_pid "$PIDFILE")
  if ours "$pid"; then
    if http_ready; then log "already running (pid $pid)"; return 0; fi
    log "pid $pid exists but is not answering; restarting"; stop_server
  fi
  port_busy "$PL_HOST" "$PL_PORT" && die "$PL_HOST:$PL_PORT is already in use by another process"
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
  log "placement answers after $((SECONDS - t0))s (pid $(read_pid "$PIDFILE"))"
}

stop_server() { stop_gunicorn "$PIDFILE" ours; }

case "${1:-start}" in
  start)
    ensure_venv "$PL_VENV" "$CONSTRAINTS" placement-manage \
      "openstack-placement==$PL_VERSION" keystonemiddleware gunicorn
    wait_keystone 0
    register_in_keystone --service-type placement --service-name placement --url "$URL" \
      --interfaces public,internal
    write_config
    ensure_db
    start_server
    echo "$URL"
    ;;
  stop) stop_server ;;
  status)
    pid=$(read_pid "$PIDFILE")
    if ours "$pid" && http_ready; then echo "running pid=$pid url=$URL"; else echo "not running"; exit 1; fi
    ;;
  reset)
    if removable "$PL_DATA"; then stop_server; fi
    for d in "$PL_DATA" "$PL_ETC"; do
      if removable "$d"; then rm -rf "$d"; fi
    done
    log "reset"
    ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

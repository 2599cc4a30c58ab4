#!/usr/bin/env bash
# scripts/glance/run.sh — a real OpenStack Glance image API (glance 33.x, served by gunicorn) on
# 127.0.0.1:9292 behind the project's Keystone on :5000, for integration tests. All state lives
# under /tmp/apiclient-rs (glance-venv, glance-etc, glance-data); nothing is written elsewhere.
#
#   run.sh start    # (default) venv + install + config + db + Keystone registration + start, then
#                   # wait until GET /versions answers and an authenticated GET /v2/images works;
#                   # idempotent (a running, answering server is left alone)
#   run.sh stop     # stop the gunicorn started by 'start' (by its pid file; nothing else)
#   run.sh status   # exit 0 and print the URL when running and answering, else "not running", exit 1
#   run.sh reset    # stop + delete config, database and images (keeps the venv)
#
# It needs the main Keystone (`KS_CACHE=0 bash scripts/keystone/run.sh start`); 'start' waits
# for it up to GL_KS_TIMEOUT seconds. It registers (idempotently, by REST) a service user `glance`
# with roles `service` and `admin` on project `service`, the `image` service and its RegionOne
# public/internal/admin endpoints. A mark in Keystone's data directory (.glance-registered) skips
# that on later starts; a reset Keystone has no mark and is registered again.
#
# Backends: one filesystem store `fs` (default), plus the reserved staging and tasks stores, so the
# interoperable import works: PUT /v2/images/{id}/stage then
# POST /v2/images/{id}/import {"method": {"name": "glance-direct"}} -> active (the import runs as
# a taskflow task in a thread of the API process). keystonemiddleware's token cache is off, so a
# revoked token is refused at once.
#
# Tunables (environment):
#   GL_PORT=9292               port on 127.0.0.1 (the host is always 127.0.0.1). The catalog
#                              endpoints are set to http://127.0.0.1:$GL_PORT
#   GL_VENV=/tmp/apiclient-rs/glance-venv   GL_ETC=/tmp/apiclient-rs/glance-etc
#   GL_DATA=/tmp/apiclient-rs/glance-data   (images/, staging/, tasks/, work/, locks/, tmp/,
#                              log/, glance.sqlite, gunicorn.pid). A migrated empty database is
#                              kept in the venv and copied on a fresh start (db_sync only once
#                              per venv). Each of the three carries an owner mark written
#                              when this script created it: a directory without it is re-created
#                              when it lies under /tmp/apiclient-rs, refused elsewhere.
#   GL_VERSION=33.0.0          glance release (pip; pinned with scripts/glance/constraints.txt)
#   GL_PYTHON=                 python >= 3.10 to build the venv with (auto: python3.11 first)
#   GL_PASSWORD=glancepass     password of the Keystone service user `glance`
#   GL_WORKERS=1 GL_THREADS=8  gunicorn gthread workers / threads per worker
#   GL_IMPORT_METHODS=glance-direct   [DEFAULT] enabled_import_methods (comma separated)
#   GL_DEBUG=false             glance [DEFAULT] debug
#   GL_READY_TIMEOUT=90        seconds to wait for readiness after starting gunicorn
#   GL_KS_TIMEOUT=90           seconds to wait for Keystone to issue an admin token
#   KS_URL=http://127.0.0.1:5000/v3  KS_DATA=/tmp/apiclient-rs/keystone-data
#   KS_ADMIN_PASSWORD=secret   Keystone admin (user admin, project admin, domain Default)
#   PIP_CACHE_DIR=/tmp/apiclient-rs/pip-cache
set -euo pipefail

SERVICE=glance
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

GL_HOST=127.0.0.1   # never change: tests must only use loopback
GL_PORT=${GL_PORT:-9292}
GL_VENV=${GL_VENV:-$STATE_ROOT/glance-venv}
GL_ETC=${GL_ETC:-$STATE_ROOT/glance-etc}
GL_DATA=${GL_DATA:-$STATE_ROOT/glance-data}
GL_VERSION=${GL_VERSION:-33.0.0}
GL_PASSWORD=${GL_PASSWORD:-glancepass}
GL_WORKERS=${GL_WORKERS:-1}
GL_THREADS=${GL_THREADS:-8}
GL_IMPORT_METHODS=${GL_IMPORT_METHODS:-glance-direct}
GL_DEBUG=${GL_DEBUG:-false}
GL_READY_TIMEOUT=${GL_READY_TIMEOUT:-90}
GL_KS_TIMEOUT=${GL_KS_TIMEOUT:-90}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_DATA=${KS_DATA:-$STATE_ROOT/keystone-data}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSTRAINTS="$HERE/constraints.txt"
URL="http://$GL_HOST:$GL_PORT"
CONF="$GL_ETC/glance-api.conf"
PASTE="$GL_ETC/glance-api-paste.ini"
PIDFILE="$GL_DATA/gunicorn.pid"
LOG="$GL_DATA/log"
TEMPLATE_DB="$GL_VENV/apiclient-rs/glance-empty.sqlite"   # migrated empty DB: survives 'reset'
PYTHONS="${GL_PYTHON:-} python3.11 python3.12 python3.13 python3"
PYTHON_MIN=3.10
VENV_PY="$GL_VENV/bin/python"
SERVICE_PASSWORD=$GL_PASSWORD

T_START=$(now)

# --------------------------------------------------------------------------- config
write_config() {
  claim_dir "$GL_ETC"
  claim_dir "$GL_DATA"
  mkdir -p "$GL_DATA"/{images,staging,tasks,work,locks,tmp} "$LOG"
  local methods; methods="[$(echo "$GL_IMPORT_METHODS" | tr -d ' ')]"
  cat >"$CONF" <<EOF
# generated by scripts/glance/run.sh — regenerated on every start
[DEFAULT]
debug = $GL_DEBUG
use_stderr = false
log_file = $LOG/glance-api.log
enabled_backends = fs:file
enabled_import_methods = $methods
# the image cache is off (no 'cache' in the paste flavor); keep its directory out of /var/lib
image_cache_dir = $GL_DATA/image-cache

[database]
connection = sqlite:///$GL_DATA/glance.sqlite

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = $GL_DATA/images/

[os_glance_staging_store]
filesystem_store_datadir = $GL_DATA/staging/

[os_glance_tasks_store]
filesystem_store_datadir = $GL_DATA/tasks/

[task]
work_dir = $GL_DATA/work

[oslo_concurrency]
lock_path = $GL_DATA/locks

[paste_deploy]
flavor = keystone
config_file = $PASTE

[keystone_authtoken]
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = $GL_PASSWORD
service_token_roles_required = false
# no token cache: a revoked token is refused at once
token_cache_time = -1
memcached_servers =
EOF
  # the shipped paste ini, with the healthcheck's disable file moved out of /etc/glance
  sed "s|^disable_by_file_path = .*|disable_by_file_path = $GL_DATA/healthcheck_disable|" \
    "$GL_VENV/etc/glance/glance-api-paste.ini" >"$PASTE"
  grep -q "disable_by_file_path = $GL_DATA/" "$PASTE" || die "could not rewrite disable_by_file_path in $PASTE"
  grep -q '/etc/glance' "$PASTE" && die "$PASTE still refers to /etc/glance"
  return 0
}

ensure_db() {
  [ -f "$GL_DATA/glance.sqlite" ] && return 0
  local t0; t0=$(now)
  if [ -f "$TEMPLATE_DB" ]; then
    cp "$TEMPLATE_DB" "$GL_DATA/glance.sqlite.tmp"
    mv "$GL_DATA/glance.sqlite.tmp" "$GL_DATA/glance.sqlite"
    log "database copied from the migrated template in $(since "$t0")s"
    return 0
  fi
  log "glance-manage db_sync"
  rm -f "$GL_DATA/glance.sqlite"
  "$GL_VENV/bin/glance-manage" --config-file "$CONF" db_sync >>"$LOG/glance-manage.log" 2>&1 \
    || { tail -n 30 "$LOG/glance-manage.log" >&2; rm -f "$GL_DATA/glance.sqlite"; die "glance-manage db_sync failed"; }
  mkdir -p "$(dirname "$TEMPLATE_DB")"
  cp "$GL_DATA/glance.sqlite" "$TEMPLATE_DB.tmp" && mv "$TEMPLATE_DB.tmp" "$TEMPLATE_DB"
  log "database migrated in $(since "$t0")s (template kept in the venv)"
}

# --------------------------------------------------------------------------- process control
# the pid is the gunicorn master this script started: its title (setproctitle rewrites the command
# line to "gunicorn: master [<--name>]") names glance.wsgi.api and its working directory is GL_DATA
ours() {
  local pid=${1:-}
  cmdline_has "$pid" gunicorn glance.wsgi.api || return 1
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(cd "$GL_DATA" 2>/dev/null && pwd -P)" ]
}
server_pid() { read_pid "$PIDFILE"; }
versions_ok() { curl -fsS -m 5 -o /dev/null "$URL/versions" 2>/dev/null; }
# GET /versions answers and a token of the glance service user lists images
api_ready() { versions_ok && service_check --url "$URL/v2/images?limit=1" 2>/dev/null; }

start_server() {
  local pid; pid=$(server_pid)
  if ours "$pid"; then
    if api_ready; then log "already running (pid $pid)"; return 0; fi
    log "pid $pid exists but is not answering; restarting"; stop_server
  fi
  rm -f "$PIDFILE"
  port_busy "$GL_HOST" "$GL_PORT" && die "$GL_HOST:$GL_PORT is already in use by another process"
  log "starting gunicorn on $URL"
  local t0; t0=$(now)
  # setsid: own session, survives the calling shell; stdin/stdout detached so callers do not hang
  # TMPDIR and --worker-tmp-dir keep gunicorn's heartbeat files and Python temp files in GL_DATA
  OS_GLANCE_CONFIG_DIR="$GL_ETC" TMPDIR="$GL_DATA/tmp" setsid "$GL_VENV/bin/gunicorn" \
      --bind "$GL_HOST:$GL_PORT" --workers "$GL_WORKERS" --worker-class gthread --threads "$GL_THREADS" \
      --no-control-socket --worker-tmp-dir "$GL_DATA/tmp" \
      --timeout 120 --graceful-timeout 10 \
      --chdir "$GL_DATA" \
      --pid "$PIDFILE" \
      --access-logfile "$LOG/access.log" --error-logfile "$LOG/gunicorn.log" \
      glance.wsgi.api:application >>"$LOG/stdout.log" 2>&1 </dev/null 9>&- &
  local bgpid=$!
  local deadline=$((SECONDS + GL_READY_TIMEOUT)) versions_seen=""
  while :; do
    if [ -z "$versions_seen" ] && versions_ok; then versions_seen=$(since "$t0"); fi
    if [ -n "$versions_seen" ] && api_ready; then break; fi
    if ! alive "$bgpid" && ! ours "$(server_pid)"; then
      tail -n 30 "$LOG/gunicorn.log" "$LOG/glance-api.log" "$LOG/stdout.log" >&2 2>/dev/null || true
      die "gunicorn exited"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOG/gunicorn.log" "$LOG/glance-api.log" >&2 2>/dev/null || true
      stop_server; die "not ready after ${GL_READY_TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "ready $(since "$t0")s after launch: GET /versions after ${versions_seen:-?}s, then an authenticated GET /v2/images (pid $(server_pid))"
}

stop_server() { stop_gunicorn "$PIDFILE" ours; }

# --------------------------------------------------------------------------- commands
cmd=${1:-start}
# one start/stop/reset at a time (xtask and a shell may race); the server does not inherit the lock
if [ "$cmd" != status ]; then lock "$STATE_ROOT/.glance-run.lock" 300; fi
case "$cmd" in
  start)
    ensure_venv "$GL_VENV" "$CONSTRAINTS" glance-manage "glance==$GL_VERSION" gunicorn
    write_config
    ensure_db
    wait_keystone "$GL_KS_TIMEOUT"
    register_in_keystone --service-type image --service-name glance --url "$URL" \
      --interfaces public,internal,admin
    start_server
    log "start took $(since "$T_START")s"
    echo "$URL"
    ;;
  stop) stop_server ;;
  status)
    pid=$(server_pid)
    if ours "$pid" && versions_ok; then echo "running pid=$pid url=$URL"; else echo "not running"; exit 1; fi
    ;;
  reset)
    if removable "$GL_DATA"; then stop_server; fi
    for d in "$GL_DATA" "$GL_ETC"; do
      if removable "$d"; then rm -rf "$d"; fi
    done
    log "reset $GL_DATA $GL_ETC (kept $GL_VENV)"
    ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

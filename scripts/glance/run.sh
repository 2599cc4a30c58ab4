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
#   GL_KS_TIMEOUT=90           seconds to wait for Keystone to answer
#   KS_URL=http://127.0.0.1:5000/v3  KS_DATA=/tmp/apiclient-rs/keystone-data
#   KS_ADMIN_PASSWORD=secret   Keystone admin (user admin, project admin, domain Default)
#   PIP_CACHE_DIR=/tmp/apiclient-rs/pip-cache
set -euo pipefail

GL_HOST=127.0.0.1   # never change: tests must only use loopback
GL_PORT=${GL_PORT:-9292}
STATE_ROOT=/tmp/apiclient-rs
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
MARK_NAME=.apiclient-rs-glance
INSTALLED="$GL_VENV/.apiclient-rs-glance-installed"   # what was installed (version + constraints)
TEMPLATE_DB="$GL_VENV/.apiclient-rs-glance-empty.sqlite" # migrated empty DB: survives 'reset'
KS_MARK="$KS_DATA/.glance-registered"

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$STATE_ROOT/pip-cache}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}

T_START=$(date +%s.%N)
log() { printf '[run-glance] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# --------------------------------------------------------------------------- ownership
# A state directory is ours only with the owner mark written when this script created it.
# Without the mark: re-created under the project's state root, refused anywhere else.
claim_dir() { # dir
  local d=$1
  if [ -e "$d" ] && [ ! -f "$d/$MARK_NAME" ]; then
    case "$d" in
      "$STATE_ROOT"/*) log "$d was not created by this script; re-creating it"; rm -rf "$d" ;;
      *) die "$d exists but was not created by this script (no $MARK_NAME); remove it or choose another path" ;;
    esac
  fi
  mkdir -p "$d"
  [ -f "$d/$MARK_NAME" ] || echo "created by scripts/glance/run.sh $(date -u +%FT%TZ)" >"$d/$MARK_NAME"
}

# for stop/reset: may we delete it?
owned_or_ours_to_remove() { # dir
  local d=$1
  [ -e "$d" ] || return 1
  [ -f "$d/$MARK_NAME" ] && return 0
  case "$d" in "$STATE_ROOT"/*) return 0 ;; esac
  die "$d was not created by this script; not touching it"
}

# --------------------------------------------------------------------------- python / venv
find_python() {
  local c
  for c in ${GL_PYTHON:-} python3.11 python3.12 python3.13 python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

install_stamp() { printf 'glance==%s gunicorn\n%s\n' "$GL_VERSION" "$(sha256sum "$CONSTRAINTS" | cut -d' ' -f1)"; }

ensure_venv() {
  [ -f "$CONSTRAINTS" ] || die "missing $CONSTRAINTS"
  if [ -f "$GL_VENV/$MARK_NAME" ] && [ -x "$GL_VENV/bin/gunicorn" ] && [ -x "$GL_VENV/bin/glance-manage" ] \
     && [ "$(cat "$INSTALLED" 2>/dev/null)" = "$(install_stamp)" ]; then
    return 0
  fi
  local t0; t0=$(date +%s.%N)
  if [ ! -x "$GL_VENV/bin/python" ] || [ ! -f "$GL_VENV/$MARK_NAME" ]; then
    local py
    if ! py=$(find_python); then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "no python >= 3.10 with venv found; installing Debian python3 + python3-venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
        py=$(find_python) || die "still no python >= 3.10 with venv/ensurepip"
      else
        die "need python >= 3.10 with the venv module (Debian: apt-get install python3 python3-venv)"
      fi
    fi
    claim_dir "$GL_VENV"   # a venv without our mark is re-created (or refused outside the state root)
    log "creating venv $GL_VENV with $py ($("$py" -V 2>&1))"
    "$py" -m venv --clear "$GL_VENV"
    echo "created by scripts/glance/run.sh $(date -u +%FT%TZ)" >"$GL_VENV/$MARK_NAME"
  fi
  rm -f "$INSTALLED" "$TEMPLATE_DB"
  log "installing glance==$GL_VERSION + gunicorn (pinned by $(basename "$CONSTRAINTS"))"
  "$GL_VENV/bin/pip" install -q -c "$CONSTRAINTS" -U pip setuptools wheel
  "$GL_VENV/bin/pip" install -q -c "$CONSTRAINTS" "glance==$GL_VERSION" gunicorn
  install_stamp >"$INSTALLED"
  log "venv ready in $(elapsed "$t0")s"
}

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
  local t0; t0=$(date +%s.%N)
  if [ -f "$TEMPLATE_DB" ]; then
    cp "$TEMPLATE_DB" "$GL_DATA/glance.sqlite.tmp"
    mv "$GL_DATA/glance.sqlite.tmp" "$GL_DATA/glance.sqlite"
    log "database copied from the migrated template in $(elapsed "$t0")s"
    return 0
  fi
  log "glance-manage db_sync"
  rm -f "$GL_DATA/glance.sqlite"
  "$GL_VENV/bin/glance-manage" --config-file "$CONF" db_sync >>"$LOG/glance-manage.log" 2>&1 \
    || { tail -n 30 "$LOG/glance-manage.log" >&2; rm -f "$GL_DATA/glance.sqlite"; die "glance-manage db_sync failed"; }
  cp "$GL_DATA/glance.sqlite" "$TEMPLATE_DB.tmp" && mv "$TEMPLATE_DB.tmp" "$TEMPLATE_DB"
  log "database migrated in $(elapsed "$t0")s (template kept in the venv)"
}

# --------------------------------------------------------------------------- Keystone
wait_keystone() {
  local t0=$SECONDS
  until curl -fsS -m 5 -o /dev/null "$KS_URL" 2>/dev/null; do
    [ $((SECONDS - t0)) -lt "$GL_KS_TIMEOUT" ] \
      || die "Keystone is not answering at $KS_URL after ${GL_KS_TIMEOUT}s (start it: KS_CACHE=0 bash scripts/keystone/run.sh start)"
    [ $((SECONDS - t0)) = 0 ] && log "waiting for Keystone at $KS_URL"
    sleep 1
  done
}

registration_stamp() { printf '%s %s %s\n' "$KS_URL" "$URL" "$(printf %s "$GL_PASSWORD" | sha256sum | cut -d' ' -f1)"; }

register_in_keystone() {
  wait_keystone
  # the mark lives with Keystone's data: a reset Keystone registers again
  if [ -f "$KS_MARK" ] && [ "$(cat "$KS_MARK")" = "$(registration_stamp)" ]; then return 0; fi
  [ -d "$KS_DATA" ] || die "no Keystone data directory $KS_DATA"
  local t0; t0=$(date +%s.%N)
  log "registering user glance (service, admin on project service) and the image endpoints in Keystone"
  "$GL_VENV/bin/python" - "$KS_URL" "$KS_ADMIN_PASSWORD" "$GL_PASSWORD" "$URL" <<'EOF'
import json, sys, urllib.error, urllib.parse, urllib.request
ks, admin_pw, glance_pw, url = sys.argv[1:5]

def call(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["X-Auth-Token"] = token
    req = urllib.request.Request(ks + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path} -> {e.code}: {e.read().decode()}")

h, _ = call("POST", "/auth/tokens?nocatalog", {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_pw}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
T = h["X-Subject-Token"]
get = lambda p: call("GET", p, token=T)[1]
post = lambda p, b: call("POST", p, b, token=T)[1]
q = urllib.parse.urlencode

def one(collection, key, query, body):
    items = get(f"/{collection}?{q(query)}")[collection]
    return items[0] if items else post(f"/{collection}", {key: body})[key]

project = one("projects", "project", {"name": "service", "domain_id": "default"},
              {"name": "service", "domain_id": "default", "description": "service users"})
user = one("users", "user", {"name": "glance", "domain_id": "default"},
           {"name": "glance", "domain_id": "default", "password": glance_pw,
            "default_project_id": project["id"]})
# an existing user gets the configured password (the mark's stamp changed)
call("PATCH", f"/users/{user['id']}", {"user": {"password": glance_pw, "enabled": True}}, token=T)
for role in ("service", "admin"):
    r = one("roles", "role", {"name": role}, {"name": role})
    call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{r['id']}", token=T)

regions = {r["id"] for r in get("/regions")["regions"]}
if "RegionOne" not in regions:
    post("/regions", {"region": {"id": "RegionOne"}})
svc = one("services", "service", {"type": "image"}, {"type": "image", "name": "glance", "enabled": True})
for itf in ("public", "internal", "admin"):
    eps = get(f"/endpoints?{q({'service_id': svc['id'], 'interface': itf, 'region_id': 'RegionOne'})}")["endpoints"]
    if not eps:
        post("/endpoints", {"endpoint": {"service_id": svc["id"], "region_id": "RegionOne",
                                         "interface": itf, "url": url, "enabled": True}})
    elif eps[0]["url"] != url or not eps[0]["enabled"]:
        call("PATCH", f"/endpoints/{eps[0]['id']}", {"endpoint": {"url": url, "enabled": True}}, token=T)
EOF
  registration_stamp >"$KS_MARK"
  log "registered in Keystone in $(elapsed "$t0")s"
}

# --------------------------------------------------------------------------- process control
# PID 1 on these machines does not reap orphans, so a dead server can linger as a zombie:
# treat state Z as "not running" (kill -0 would still succeed on it).
alive() {
  local pid=${1:-} st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# the pid is the gunicorn master this script started: its title (setproctitle rewrites the command
# line to "gunicorn: master [<--name>]") names glance.wsgi.api and its working directory is GL_DATA
ours() {
  local pid=${1:-} cmd
  alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case "$cmd" in *gunicorn*glance.wsgi.api*) ;; *) return 1 ;; esac
  [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(cd "$GL_DATA" 2>/dev/null && pwd -P)" ]
}
server_pid() { [ -f "$PIDFILE" ] && cat "$PIDFILE" 2>/dev/null || true; }
versions_ok() { curl -fsS -m 5 -o /dev/null "$URL/versions" 2>/dev/null; }

# GET /versions answers and a token of the glance service user lists images
api_ready() {
  versions_ok || return 1
  "$GL_VENV/bin/python" - "$KS_URL" "$GL_PASSWORD" "$URL" <<'EOF'
import json, sys, urllib.request
ks, pw, url = sys.argv[1:4]
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "glance", "domain": {"name": "Default"}, "password": pw}}},
    "scope": {"project": {"name": "service", "domain": {"name": "Default"}}}}}
try:
    req = urllib.request.Request(ks + "/auth/tokens?nocatalog", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        tok = r.headers["X-Subject-Token"]
    req = urllib.request.Request(url + "/v2/images?limit=1", headers={"X-Auth-Token": tok})
    with urllib.request.urlopen(req, timeout=10) as r:
        sys.exit(0 if r.status == 200 and "images" in json.load(r) else 1)
except Exception:
    sys.exit(1)
EOF
}

port_busy() { "$GL_VENV/bin/python" -c "
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(('$GL_HOST', $GL_PORT)) == 0 else 1)"; }

start_server() {
  local pid; pid=$(server_pid)
  if ours "$pid"; then
    if api_ready; then log "already running (pid $pid)"; return 0; fi
    log "pid $pid exists but is not answering; restarting"; stop_server
  fi
  rm -f "$PIDFILE"
  port_busy && die "$GL_HOST:$GL_PORT is already in use by another process"
  log "starting gunicorn on $URL"
  local t0; t0=$(date +%s.%N)
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
    if [ -z "$versions_seen" ] && versions_ok; then versions_seen=$(elapsed "$t0"); fi
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
  log "ready $(elapsed "$t0")s after launch: GET /versions after ${versions_seen:-?}s, then an authenticated GET /v2/images (pid $(server_pid))"
}

stop_server() {
  local pid; pid=$(server_pid)
  if [ -z "$pid" ] || ! alive "$pid"; then log "not running"; rm -f "$PIDFILE"; return 0; fi
  ours "$pid" || die "pid $pid from $PIDFILE is not our gunicorn; not touching it"
  local kids; kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  kill -TERM "$pid"
  local i k
  for i in $(seq 1 75); do alive "$pid" || break; sleep 0.2; done
  if alive "$pid"; then log "master $pid did not exit; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  for i in $(seq 1 25); do
    local left=""
    for k in $kids; do alive "$k" && left="$left $k"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  for k in $kids; do alive "$k" && kill -KILL "$k" 2>/dev/null || true; done
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

# --------------------------------------------------------------------------- commands
cmd=${1:-start}
# one start/stop/reset at a time (xtask and a shell may race); the server does not inherit the lock
if [ "$cmd" != status ]; then
  mkdir -p "$STATE_ROOT"
  exec 9>"$STATE_ROOT/.glance-run.lock"
  flock -w 300 9 || die "another scripts/glance/run.sh holds $STATE_ROOT/.glance-run.lock"
fi
case "$cmd" in
  start)
    ensure_venv
    write_config
    ensure_db
    register_in_keystone
    start_server
    log "start took $(elapsed "$T_START")s"
    echo "$URL"
    ;;
  stop) stop_server ;;
  status)
    pid=$(server_pid)
    if ours "$pid" && versions_ok; then echo "running pid=$pid url=$URL"; else echo "not running"; exit 1; fi
    ;;
  reset)
    if owned_or_ours_to_remove "$GL_DATA"; then stop_server; fi
    for d in "$GL_DATA" "$GL_ETC"; do
      if owned_or_ours_to_remove "$d"; then rm -rf "$d"; fi
    done
    log "reset $GL_DATA $GL_ETC (kept $GL_VENV)"
    ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

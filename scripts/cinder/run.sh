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

CINDER_HOST=127.0.0.1   # never change: tests must only use loopback
CINDER_PORT=${CINDER_PORT:-8776}
CINDER_VERSION=${CINDER_VERSION:-29.0.0}
CINDER_PASSWORD=${CINDER_PASSWORD:-cinderpass}
CINDER_DEBUG=${CINDER_DEBUG:-false}
CINDER_READY_TIMEOUT=${CINDER_READY_TIMEOUT:-120}
STATE_ROOT=/tmp/apiclient-rs
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
CONF="$CINDER_ETC/cinder.conf"
LOG="$CINDER_DATA/log"
PIDFILE="$CINDER_DATA/cinder-api.pid"     # the session leader (cinder-api's parent process)
PIDSFILE="$CINDER_DATA/cinder-api.pids"   # every process of the session seen when ready
MARK_NAME=.apiclient-rs-cinder
TEMPLATE_DB="$CINDER_VENV/apiclient-rs/cinder-empty.sqlite"   # migrated, empty; survives reset
REG_MARK="$KS_DATA/.cinder-registered"

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$STATE_ROOT/pip-cache}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}   # eventlet/oslo deprecation noise

T_START=$(date +%s.%N)
log() { printf '[run-cinder] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

# --------------------------------------------------------------------------- ownership
# A state directory is ours only with the owner mark written when this script created it.
# One without it is re-created when it lies under the project's state root, refused elsewhere.
claim_dir() {
  local dir=$1
  case "$dir" in /*) ;; *) die "$dir: not an absolute path" ;; esac
  case "/$dir/" in */../*|*/./*) die "$dir: no . or .. components please" ;; esac
  if [ -e "$dir" ] && [ ! -f "$dir/$MARK_NAME" ]; then
    case "$dir" in
      "$STATE_ROOT"/?*)
        log "$dir was not created by this script; re-creating it"
        stop_server   # nothing of ours may keep running from it (only our own processes)
        rm -rf "$dir" ;;
      *) die "$dir exists but was not created by this script (no $MARK_NAME); remove it or choose another path" ;;
    esac
  fi
  mkdir -p "$dir"
  [ -f "$dir/$MARK_NAME" ] || echo "created by scripts/cinder/run.sh" >"$dir/$MARK_NAME"
}
owned_or_absent() { [ ! -e "$1" ] || [ -f "$1/$MARK_NAME" ]; }

# --------------------------------------------------------------------------- python / venv
find_python() {
  local c
  # 3.11 first: constraints.txt was frozen with it
  for c in ${CINDER_PYTHON:-} python3.11 python3.12 python3.13 python3.10 python3; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

install_stamp() { # what the venv was installed from: a change re-runs pip
  { echo "cinder==$CINDER_VERSION"; [ -f "$CONSTRAINTS" ] && cat "$CONSTRAINTS"; } | sha256sum | cut -c1-16
}

ensure_venv() {
  local stamp; stamp=$(install_stamp)
  if [ -f "$CINDER_VENV/$MARK_NAME" ] && [ "$(cat "$CINDER_VENV/.installed" 2>/dev/null)" = "$stamp" ] \
     && [ -x "$CINDER_VENV/bin/cinder-api" ] && [ -x "$CINDER_VENV/bin/cinder-manage" ]; then
    return 0
  fi
  local t0; t0=$(date +%s.%N)
  claim_dir "$CINDER_VENV"
  if [ ! -x "$CINDER_VENV/bin/python" ]; then
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
    log "creating venv $CINDER_VENV with $py ($("$py" -V 2>&1))"
    "$py" -m venv "$CINDER_VENV"
  fi
  local cons=()
  if [ -f "$CONSTRAINTS" ]; then cons=(-c "$CONSTRAINTS"); else log "WARNING: no $CONSTRAINTS: unpinned install"; fi
  log "pip install cinder==$CINDER_VERSION ${cons[*]} (cold: ~1-3 min)"
  "$CINDER_VENV/bin/pip" install -q "${cons[@]}" -U pip setuptools wheel
  "$CINDER_VENV/bin/pip" install -q "${cons[@]}" "cinder==$CINDER_VERSION"
  rm -f "$TEMPLATE_DB"   # another cinder may migrate differently
  echo "$stamp" >"$CINDER_VENV/.installed"
  log "venv ready in $(since "$t0")s"
}

# --------------------------------------------------------------------------- Keystone
# token for a user: prints "<token> <project_id>" (stdlib only)
ks_token() { # user password project
  "$CINDER_VENV/bin/python" - "$KS_URL" "$@" <<'EOF'
import json, sys, urllib.request
url, user, pw, project = sys.argv[1:5]
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": user, "domain": {"id": "default"}, "password": pw}}},
    "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
req = urllib.request.Request(url + "/auth/tokens?nocatalog", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.headers["X-Subject-Token"], json.load(r)["token"]["project"]["id"])
except Exception as e:
    print(e, file=sys.stderr)
    sys.exit(1)
EOF
}

wait_for_keystone() {
  local t0=$SECONDS waited=""
  until ks_token admin "$KS_ADMIN_PASSWORD" admin >/dev/null 2>&1; do
    [ $((SECONDS - t0)) -lt "$KS_WAIT" ] \
      || die "Keystone at $KS_URL issues no admin token after ${KS_WAIT}s (start it: KS_CACHE=0 bash scripts/keystone/run.sh start)"
    [ -n "$waited" ] || log "waiting for Keystone at $KS_URL (up to ${KS_WAIT}s)"
    waited=1; sleep 1
  done
  [ -z "$waited" ] || log "Keystone answered after $((SECONDS - t0))s"
}

register_in_keystone() {
  # the mark lives with Keystone's data: a reset Keystone registers again
  if [ -f "$REG_MARK" ] && ks_token cinder "$CINDER_PASSWORD" service >/dev/null 2>&1; then return 0; fi
  local t0; t0=$(date +%s.%N)
  log "registering the cinder service user and block-storage endpoints in Keystone"
  "$CINDER_VENV/bin/python" - "$KS_URL" "$KS_ADMIN_PASSWORD" "$CINDER_PASSWORD" \
      "$URL/v3/\$(project_id)s" <<'EOF'
import json, sys, urllib.error, urllib.parse, urllib.request
url, admin_pw, cinder_pw, ep_url = sys.argv[1:5]

def call(method, path, body=None, token=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["X-Auth-Token"] = token
    req = urllib.request.Request(url + path, method=method, headers=h,
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

def ensure(collection, key, query, body):
    items = get(f"/{collection}?{q(query)}")[collection]
    if items:
        return items[0]
    print(f"  create {key} {body.get('name', body)}", file=sys.stderr)
    return post(f"/{collection}", {key: body})[key]

project = ensure("projects", "project", {"name": "service", "domain_id": "default"},
                 {"name": "service", "domain_id": "default", "description": "service users"})
user = ensure("users", "user", {"name": "cinder", "domain_id": "default"},
              {"name": "cinder", "domain_id": "default", "password": cinder_pw})
# an existing user gets our password (idempotent)
call("PATCH", f"/users/{user['id']}", {"user": {"password": cinder_pw}}, token=T)
for role in ("service", "admin"):
    r = ensure("roles", "role", {"name": role}, {"name": role})
    call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{r['id']}", token=T)

services = get("/services?type=block-storage")["services"]
services.sort(key=lambda s: s.get("name") != "cinderv3")   # the seed's one first
svc = services[0] if services else post("/services", {"service": {
    "type": "block-storage", "name": "cinderv3", "enabled": True}})["service"]
for itf in ("public", "internal"):
    eps = get(f"/endpoints?{q({'service_id': svc['id'], 'interface': itf, 'region_id': 'RegionOne'})}")["endpoints"]
    if not eps:
        print(f"  create {itf} endpoint {ep_url}", file=sys.stderr)
        post("/endpoints", {"endpoint": {"service_id": svc["id"], "region_id": "RegionOne",
                                         "interface": itf, "url": ep_url, "enabled": True}})
    elif eps[0]["url"] != ep_url:
        print(f"  update {itf} endpoint {eps[0]['url']} -> {ep_url}", file=sys.stderr)
        call("PATCH", f"/endpoints/{eps[0]['id']}", {"endpoint": {"url": ep_url}}, token=T)
EOF
  [ -d "$KS_DATA" ] && touch "$REG_MARK"
  log "registered in $(since "$t0")s"
}

# --------------------------------------------------------------------------- config
write_config() {
  claim_dir "$CINDER_ETC"
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
  local t0; t0=$(date +%s.%N)
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
# PID 1 on these machines does not reap orphans, so a dead server can linger as a zombie:
# treat state Z as "not running" (kill -0 would still succeed on it).
stat_field() { # pid n: field n (1-based after the ')' of comm: 1=state 2=ppid 3=pgrp 4=session)
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  awk -v n="$2" '{print $n}' <<<"$s"
}
alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && [ "$(stat_field "$1" 1)" != Z ]; }
ours() { # a live cinder-api started with our config file
  alive "${1:-}" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "bin/cinder-api --config-file $CONF"
}
leader_pid() { [ -f "$PIDFILE" ] && cat "$PIDFILE" 2>/dev/null || true; }
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
authed_ready() { # an authenticated GET /v3/<project>/volumes answers 200
  local tp; tp=$(ks_token cinder "$CINDER_PASSWORD" service 2>/dev/null) || return 1
  local code; code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "X-Auth-Token: ${tp% *}" \
    "$URL/v3/${tp#* }/volumes" 2>/dev/null) || true
  [ "$code" = 200 ]
}
port_busy() { "$CINDER_VENV/bin/python" -c "
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(('$CINDER_HOST', $CINDER_PORT)) == 0 else 1)"; }
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
  port_busy && die "$CINDER_HOST:$CINDER_PORT is already in use by another process"
  rm -f "$PIDFILE" "$PIDSFILE"
  log "starting cinder-api on $URL"
  local t0; t0=$(date +%s.%N)
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
    ensure_venv
    claim_dir "$CINDER_DATA"
    write_config
    ensure_db
    wait_for_keystone
    register_in_keystone
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

#!/usr/bin/env bash
# scripts/swift/run.sh — a real OpenStack Swift (object-store, swift 2.38.x) on loopback behind the
# project's Keystone on :5000: a single-node "all in one" (proxy + account/container/object servers,
# one process each, 1 replica, object data on tmpfs). Everything lives under /tmp/apiclient-rs/swift-*
# and /dev/shm/apiclient-rs-swift; nothing is written elsewhere (no /etc/swift, no daemons).
#
#   run.sh start    # (default) venv + install + config + rings + Keystone registration + start +
#                   # wait until /healthcheck answers and an authenticated request works; idempotent
#   run.sh stop     # stop the four servers started by 'start' (by their PID files)
#   run.sh status   # running and answering? prints the URL (exit 0), else "not running" (exit 1)
#   run.sh reset    # stop + delete config, rings, pids/logs and object data (keeps the venv)
#
# It needs the project's Keystone (`KS_CACHE=0 bash scripts/keystone/run.sh start`); 'start' waits
# for it (SW_KS_WAIT) and registers (scripts/lib/keystone_register.py), idempotently: project `service`, user `swift` with roles
# `service` and `admin` on it, and RegionOne public+internal endpoints
# http://127.0.0.1:$SW_PORT/v1/AUTH_$(project_id)s for the object-store service (other endpoints,
# e.g. the seed's RegionTwo one, are kept). A mark in Keystone's data dir (.swift-registered) skips
# this on later starts; a reset Keystone registers again. keystonemiddleware's token cache is off,
# so a revoked token is refused at once. Users with role admin or member on a project are operators
# of its account AUTH_<project_id>.
#
# Tunables (environment):
#   SW_PORT=8080               proxy port on 127.0.0.1 (the host is always 127.0.0.1)
#   SW_OBJECT_PORT=16200 SW_CONTAINER_PORT=16201 SW_ACCOUNT_PORT=16202   backend servers
#   SW_MEMCACHE_PORT=16211     where the proxy's cache middleware looks for memcached; nothing has to
#                              listen there (a private port, so another memcached is never used)
#   SW_LOG_UDP_PORT=9          Swift logs by syslog over UDP when /dev/log is missing: its datagrams
#                              go to 127.0.0.1:9 (discard). The servers also log to stderr (-v),
#                              i.e. to $SW_RUN/<server>.log
#   SW_LOG_LEVEL=INFO          log_level of all servers (DEBUG for more)
#   SW_PASSWORD=swiftpass      password of the Keystone service user `swift`
#   SW_VERSION=2.38.3          swift version (must match constraints.txt next to this script)
#   SW_READY_TIMEOUT=90        seconds to wait for the servers after starting them
#   SW_KS_WAIT=180             seconds to wait for Keystone to issue a token
#   SW_PYTHON=                 python >= 3.10 to build the venv with (auto-detected if empty)
#   SW_VENV=/tmp/apiclient-rs/swift-venv  SW_ETC=/tmp/apiclient-rs/swift-etc
#   SW_RUN=/tmp/apiclient-rs/swift-run    SW_DATA=/dev/shm/apiclient-rs-swift (tmpfs: ext4's ~4 KiB
#                              xattr limit makes long names + many X-Object-Meta-* fail with 503)
#                              Each directory gets an owner mark when this script creates it; one
#                              without the mark is re-created when it lies under /tmp/apiclient-rs or
#                              is /dev/shm/apiclient-rs-*, refused anywhere else.
#   KS_URL=http://127.0.0.1:5000/v3  KS_ADMIN_PASSWORD=secret  KS_DATA=/tmp/apiclient-rs/keystone-data
#   PIP_CACHE_DIR=/tmp/apiclient-rs/pip-cache
set -euo pipefail

SERVICE=swift
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

SW_HOST=127.0.0.1   # never change: tests must only use loopback
SW_PORT=${SW_PORT:-8080}
SW_OBJECT_PORT=${SW_OBJECT_PORT:-16200}
SW_CONTAINER_PORT=${SW_CONTAINER_PORT:-16201}
SW_ACCOUNT_PORT=${SW_ACCOUNT_PORT:-16202}
SW_MEMCACHE_PORT=${SW_MEMCACHE_PORT:-16211}
SW_LOG_UDP_PORT=${SW_LOG_UDP_PORT:-9}
SW_LOG_LEVEL=${SW_LOG_LEVEL:-INFO}
SW_PASSWORD=${SW_PASSWORD:-swiftpass}
SW_VERSION=${SW_VERSION:-2.38.3}
SW_READY_TIMEOUT=${SW_READY_TIMEOUT:-90}
SW_KS_WAIT=${SW_KS_WAIT:-180}
SW_VENV=${SW_VENV:-$STATE_ROOT/swift-venv}
SW_ETC=${SW_ETC:-$STATE_ROOT/swift-etc}
SW_RUN=${SW_RUN:-$STATE_ROOT/swift-run}
SW_DATA=${SW_DATA:-/dev/shm/apiclient-rs-swift}
KS_URL=${KS_URL:-http://127.0.0.1:5000/v3}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
KS_DATA=${KS_DATA:-$STATE_ROOT/keystone-data}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONSTRAINTS="$HERE/constraints.txt"
URL="http://$SW_HOST:$SW_PORT"
# single quotes: $(project_id)s is Keystone's URL template, not a shell substitution
# shellcheck disable=SC2016
ENDPOINT_URL="$URL"'/v1/AUTH_$(project_id)s'
SERVERS="account-server container-server object-server proxy-server"
PYTHONS="${SW_PYTHON:-} python3.11 python3.12 python3.13 python3"
PYTHON_MIN=3.10
VENV_PY="$SW_VENV/bin/python"
SERVICE_PASSWORD=$SW_PASSWORD

server_port() {
  case "$1" in
    proxy-server) echo "$SW_PORT" ;;
    object-server) echo "$SW_OBJECT_PORT" ;;
    container-server) echo "$SW_CONTAINER_PORT" ;;
    account-server) echo "$SW_ACCOUNT_PORT" ;;
  esac
}

# --------------------------------------------------------------------------- config + rings
write_config() {
  local me; me=$(id -un)
  [ -s "$SW_ETC/hash" ] || od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$SW_ETC/hash"
  local hash; hash=$(cat "$SW_ETC/hash")
  cat >"$SW_ETC/swift.conf" <<EOF
# generated by scripts/swift/run.sh — regenerated on every start (the hash is kept in ./hash)
[swift-hash]
swift_hash_path_prefix = ${hash:0:16}
swift_hash_path_suffix = ${hash:16}

[storage-policy:0]
name = Policy-0
default = yes
EOF
  local common
  common="# generated by scripts/swift/run.sh — regenerated on every start
[DEFAULT]
bind_ip = $SW_HOST
workers = 0
user = $me
swift_dir = $SW_ETC
devices = $SW_DATA
mount_check = false
log_level = $SW_LOG_LEVEL
log_udp_host = 127.0.0.1
log_udp_port = $SW_LOG_UDP_PORT"
  local s
  for s in account container object; do
    cat >"$SW_ETC/$s-server.conf" <<EOF
$common
bind_port = $(server_port "$s-server")

[pipeline:main]
pipeline = healthcheck $s-server

[app:$s-server]
use = egg:swift#$s

[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  done
  cat >"$SW_ETC/proxy-server.conf" <<EOF
$common
bind_port = $SW_PORT

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl formpost authtoken keystoneauth staticweb copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = false

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = swift
password = $SW_PASSWORD
delay_auth_decision = True
include_service_catalog = False
# swift's own cache client (memcached_servers would need python-memcached)
cache = swift.cache
# no token cache: a revoked token is refused at once
token_cache_time = -1

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_admin_role = ResellerAdmin

[filter:cache]
use = egg:swift#memcache
# nothing needs to listen there: a private port so that no other memcached is ever used
memcache_servers = 127.0.0.1:$SW_MEMCACHE_PORT

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:formpost]
use = egg:swift#formpost

[filter:staticweb]
use = egg:swift#staticweb

[filter:copy]
use = egg:swift#copy

[filter:container-quotas]
use = egg:swift#container_quotas

[filter:account-quotas]
use = egg:swift#account_quotas

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true

[filter:symlink]
use = egg:swift#symlink
EOF
}

ensure_rings() {
  local want="part_power=8 replicas=1 a=$SW_ACCOUNT_PORT c=$SW_CONTAINER_PORT o=$SW_OBJECT_PORT"
  if [ -f "$SW_ETC/object.ring.gz" ] && [ "$(cat "$SW_ETC/rings.stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  local t0; t0=$(now)
  # one python process: nine swift-ring-builder calls take ~10 s
  "$SW_VENV/bin/python" - "$SW_ETC" "$SW_ACCOUNT_PORT" "$SW_CONTAINER_PORT" "$SW_OBJECT_PORT" <<'EOF'
import sys
from swift.common.ring import RingBuilder
etc, ports = sys.argv[1], dict(zip(("account", "container", "object"), map(int, sys.argv[2:5])))
for name, port in ports.items():
    b = RingBuilder(8, 1, 1)   # part power 8, 1 replica, min_part_hours 1
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port,
               "device": "d1", "weight": 100, "meta": ""})
    b.rebalance()
    b.save(f"{etc}/{name}.builder")
    b.get_ring().save(f"{etc}/{name}.ring.gz")
EOF
  echo "$want" >"$SW_ETC/rings.stamp"
  log "rings built in $(since "$t0")s"
}

# --------------------------------------------------------------------------- process control
server_pid() { read_pid "$SW_RUN/$1.pid"; }
ours() { cmdline_has "$2" "bin/swift-$1 $SW_ETC/$1.conf"; }   # NAME PID: our swift-NAME with our config
healthy() { curl -fsS -m 3 -o /dev/null "http://$SW_HOST:$(server_port "$1")/healthcheck" 2>/dev/null; }
all_running() {
  local s
  for s in $SERVERS; do ours "$s" "$(server_pid "$s")" && healthy "$s" || return 1; done
}
# a token for the service user + HEAD of its account through the proxy
auth_check() { service_check --method HEAD --url "$ENDPOINT_URL"; }

config_sum() { cat "$SW_ETC"/*.conf "$SW_ETC"/*.ring.gz 2>/dev/null | sha256sum | cut -c1-16; }

start_servers() {
  if all_running; then
    if [ "$(cat "$SW_RUN/config.sum" 2>/dev/null)" = "$(config_sum)" ]; then log "already running"; return 0; fi
    log "configuration changed; restarting"
  fi
  stop_servers quiet   # a partial set (one died) or a changed config: start all four afresh
  local s
  for s in $SERVERS; do
    port_busy "$SW_HOST" "$(server_port "$s")" && die "$SW_HOST:$(server_port "$s") ($s) is already in use by another process"
  done
  mkdir -p "$SW_DATA/d1"
  config_sum >"$SW_RUN/config.sum"
  local t0; t0=$(now)
  log "starting account/container/object servers on :$SW_ACCOUNT_PORT/:$SW_CONTAINER_PORT/:$SW_OBJECT_PORT and the proxy on $URL"
  for s in $SERVERS; do
    # swift calls setsid() itself and, with workers = 0, serves in this very process ($!);
    # -v: log to stderr too (no /dev/log here). 9>&-: do not inherit the start lock.
    "$SW_VENV/bin/swift-$s" "$SW_ETC/$s.conf" -v >>"$SW_RUN/$s.log" 2>&1 </dev/null 9>&- &
    echo $! >"$SW_RUN/$s.pid"
  done
  local deadline=$((SECONDS + SW_READY_TIMEOUT)) pending="$SERVERS" left
  while [ -n "$pending" ]; do
    left=""
    for s in $pending; do
      if ! alive "$(server_pid "$s")"; then
        tail -n 30 "$SW_RUN/$s.log" >&2 || true; stop_servers quiet; die "$s exited (log: $SW_RUN/$s.log)"
      fi
      healthy "$s" || left="$left $s"
    done
    pending=${left# }
    [ -z "$pending" ] && break
    if [ $SECONDS -ge $deadline ]; then
      for s in $pending; do tail -n 20 "$SW_RUN/$s.log" >&2 || true; done
      stop_servers quiet; die "not answering /healthcheck after ${SW_READY_TIMEOUT}s: $pending"
    fi
    sleep 0.2
  done
  log "/healthcheck answers after $(since "$t0")s"
  until auth_check; do
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$SW_RUN/proxy-server.log" >&2 || true
      stop_servers quiet; die "no authenticated request succeeded within ${SW_READY_TIMEOUT}s"
    fi
    sleep 0.5
  done
  log "authenticated HEAD of the service account works after $(since "$t0")s (pids$(for s in $SERVERS; do printf ' %s=%s' "${s%-server}" "$(server_pid "$s")"; done))"
}

stop_servers() {
  local quiet=${1:-} s pid stopped="" e
  for s in $SERVERS; do
    pid=$(server_pid "$s")
    if [ -z "$pid" ] || ! alive "$pid"; then rm -f "$SW_RUN/$s.pid"; continue; fi
    if ! ours "$s" "$pid"; then
      log "pid $pid from $SW_RUN/$s.pid is not our swift-$s; not touching it"
      rm -f "$SW_RUN/$s.pid"; continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    stopped="$stopped $s:$pid"
  done
  for _ in $(seq 1 50); do
    local any=""
    for e in $stopped; do alive "${e#*:}" && any=1; done
    [ -z "$any" ] && break
    sleep 0.1
  done
  for e in $stopped; do
    s=${e%%:*}; pid=${e#*:}
    if alive "$pid" && ours "$s" "$pid"; then log "$s ($pid) did not exit; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$SW_RUN/$s.pid"
  done
  if [ -n "$stopped" ]; then log "stopped${stopped}"; elif [ -z "$quiet" ]; then log "not running"; fi
}

# --------------------------------------------------------------------------- commands
case "${1:-start}" in
  start)
    T0=$(now)
    lock "$SW_RUN.lock" 900
    ensure_venv "$SW_VENV" "$CONSTRAINTS" swift-proxy-server "swift==$SW_VERSION" keystonemiddleware
    claim_dir "$SW_ETC"
    claim_dir "$SW_RUN"
    claim_dir "$SW_DATA"
    wait_keystone "$SW_KS_WAIT"
    register_in_keystone --service-type object-store --service-name swift --url "$ENDPOINT_URL" \
      --interfaces public,internal
    write_config
    ensure_rings
    start_servers
    log "start done in $(since "$T0")s"
    echo "$URL"
    ;;
  stop)
    lock "$SW_RUN.lock" 900
    if owns "$SW_RUN"; then stop_servers; else log "not running"; fi
    ;;
  status)
    if owns "$SW_RUN" && all_running; then
      echo "running url=$URL pids=$(for s in $SERVERS; do printf '%s,' "$(server_pid "$s")"; done | sed 's/,$//')"
    else
      echo "not running"; exit 1
    fi
    ;;
  reset)
    lock "$SW_RUN.lock" 900
    owns "$SW_RUN" && stop_servers
    for d in "$SW_ETC" "$SW_RUN" "$SW_DATA"; do
      if owns "$d"; then rm -rf "$d"
      elif [ -e "$d" ]; then log "$d was not created by this script; not touching it"; fi
    done
    log "reset $SW_ETC $SW_RUN $SW_DATA (venv kept)"
    ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac

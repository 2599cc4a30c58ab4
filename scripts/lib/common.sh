# shellcheck shell=bash
# scripts/lib/common.sh — helpers shared by scripts/<service>/run.sh. Sourced, never run:
#
#   SERVICE=swift
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#
# SERVICE names the log tag [run-$SERVICE], the owner mark .apiclient-rs-$SERVICE of the
# script's directories, the Keystone service user and its registration mark
# $KS_DATA/.$SERVICE-registered. Some helpers read a few more variables, set by the script:
#   PYTHONS PYTHON_MIN   ensure_venv, need_python: interpreters to try, best first, and the
#                        lowest version accepted (e.g. "python3.11 python3" and 3.10)
#   VENV_PY              the Keystone helpers: the python that runs keystone_register.py
#   KS_URL KS_ADMIN_PASSWORD KS_DATA SERVICE_PASSWORD   the Keystone helpers
# Everything here logs to stderr only: a script's stdout stays its own (start prints the URL).

STATE_ROOT=/tmp/apiclient-rs   # the project's state: venvs, configs, data, pip's cache
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# keep pip's cache and any $HOME writes under /tmp as well
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$STATE_ROOT/pip-cache}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore}   # eventlet/oslo/pkg_resources deprecation noise

log() { printf '[run-%s] %s\n' "$SERVICE" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { # T0 [DECIMALS]: seconds since T0 (a `now`)
  awk -v a="$1" -v b="$(now)" -v d="${2:-1}" 'BEGIN{printf "%." d "f", b-a}'
}

# one start/stop/reset at a time (a shell and xtask may race) on fd 9: start servers with 9>&-
# so that they do not keep holding it
lock() { # FILE SECONDS
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
  flock -w "$2" 9 || die "another scripts/$SERVICE/run.sh holds $1"
}

# --------------------------------------------------------------------------- ownership
# A state directory is ours only with the owner mark written when this script created it.
# Something else left at the same path is never reused: it is re-created when it lies under the
# project's state root (or is one of the project's /dev/shm/apiclient-rs-* directories), and
# refused anywhere else.
MARK_NAME=.apiclient-rs-$SERVICE

owns() { [ -d "$1" ] && [ -f "$1/$MARK_NAME" ]; }
mark_dir() { echo "created by scripts/$SERVICE/run.sh $(date -u +%FT%TZ)" >"$1/$MARK_NAME"; }
recreatable() { # DIR: may be removed and re-created although it is not ours
  case "/$1/" in */../*|*/./*) return 1 ;; esac
  case "$1" in
    "$STATE_ROOT"/?*|/dev/shm/apiclient-rs-?*) return 0 ;;
    *) return 1 ;;
  esac
}

claim_dir() { # DIR [COMMAND...]: make DIR ours; COMMAND runs before a DIR that is not ours is removed
  local d=$1; shift
  case "$d" in /*) ;; *) die "$d: not an absolute path" ;; esac
  if [ -e "$d" ] && ! owns "$d"; then
    recreatable "$d" || die "$d exists but was not created by this script (no $MARK_NAME); remove it or choose another path"
    log "$d was not created by this script; re-creating it"
    if [ $# -gt 0 ]; then "$@"; fi
    rm -rf "$d"
  fi
  mkdir -p "$d"
  owns "$d" || mark_dir "$d"
}

removable() { # DIR: exists and 'reset' may delete it (ours, or recreatable); dies for anything else
  [ -e "$1" ] || return 1
  owns "$1" || recreatable "$1" || die "$1 was not created by this script; not touching it"
}

# --------------------------------------------------------------------------- python / venv
find_python() { # the first of $PYTHONS that is >= $PYTHON_MIN and has venv + ensurepip
  local c
  for c in $PYTHONS; do
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import sys, venv, ensurepip
sys.exit(0 if sys.version_info >= tuple(map(int, sys.argv[1].split("."))) else 1)' "$PYTHON_MIN" 2>/dev/null; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

need_python() { # find_python, installing Debian's python3 + python3-venv (as root) when there is none
  find_python && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "no python >= $PYTHON_MIN with venv found; installing Debian python3 + python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    find_python || die "still no python >= $PYTHON_MIN with venv/ensurepip"
  else
    die "need python >= $PYTHON_MIN with the venv module (Debian: apt-get install python3 python3-venv)"
  fi
}

# ensure_venv VENV CONSTRAINTS EXE PACKAGE...: VENV has PACKAGE... installed with pip, pinned by
# CONSTRAINTS. It is left alone when it carries our owner mark, has bin/EXE and its install stamp
# (VENV/.installed: a hash of the packages and the constraints) is current; otherwise it is
# created (a VENV that is not ours is re-created, see claim_dir) and pip runs again. A constraints
# file that pins pip itself (a 'pip freeze --all') gets pip, setuptools and wheel at its versions
# first. VENV/apiclient-rs/ holds what a script derives from the packages (e.g. a migrated empty
# database): it is emptied by every install.
ensure_venv() {
  local venv=$1 constraints=$2 exe=$3; shift 3
  [ -f "$constraints" ] || die "missing $constraints"
  local stamp; stamp=$({ printf '%s\n' "$@"; cat "$constraints"; } | sha256sum | cut -c1-16)
  if owns "$venv" && [ -x "$venv/bin/$exe" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  local t0; t0=$(now)
  if ! owns "$venv" || [ ! -x "$venv/bin/python" ]; then
    local py; py=$(need_python)
    claim_dir "$venv"
    log "creating venv $venv with $py ($("$py" -V 2>&1))"
    "$py" -m venv --clear "$venv"
    mark_dir "$venv"   # --clear emptied it
  fi
  log "installing $* (pinned by $constraints)"
  rm -rf "$venv/.installed" "$venv/apiclient-rs"
  if grep -q '^pip==' "$constraints"; then
    "$venv/bin/pip" install -q -c "$constraints" -U pip setuptools wheel
  fi
  "$venv/bin/pip" install -q -c "$constraints" "$@"
  echo "$stamp" >"$venv/.installed"
  log "venv ready in $(since "$t0")s"
}

# --------------------------------------------------------------------------- processes
# PID 1 on these machines does not reap orphans, so a dead server can linger as a zombie:
# alive treats state Z as "not running" (kill -0 would still succeed on it).
stat_field() { # PID N: field N of /proc/PID/stat counted after the command's ')': 1 state, 2 ppid, 3 pgrp, 4 session
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  awk -v n="$2" '{print $n}' <<<"$s"
}
alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && [ "$(stat_field "$1" 1)" != Z ]; }

cmdline_has() { # PID TEXT...: PID is alive and its command line contains each TEXT, in this order
  local pid=${1:-} cmd t; shift
  alive "$pid" || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  for t in "$@"; do
    case "$cmd" in *"$t"*) cmd=${cmd#*"$t"} ;; *) return 1 ;; esac
  done
}

read_pid() { [ -f "$1" ] && cat "$1" 2>/dev/null || true; }   # PIDFILE
port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }       # HOST PORT: something listens

# stop_gunicorn PIDFILE OURS: stop the gunicorn master in PIDFILE and its workers. OURS is a
# command that succeeds for a pid of our master; any other process is never touched.
stop_gunicorn() {
  local pidfile=$1 ours=$2 pid kids k left
  pid=$(read_pid "$pidfile")
  if ! alive "$pid"; then log "not running"; rm -f "$pidfile"; return 0; fi
  "$ours" "$pid" || die "pid $pid from $pidfile is not our gunicorn; not touching it"
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 75); do alive "$pid" || break; sleep 0.2; done
  if alive "$pid"; then log "master $pid did not exit; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  for _ in $(seq 1 25); do
    left=""
    for k in $kids; do alive "$k" && left="$left $k"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  for k in $left; do kill -KILL "$k" 2>/dev/null || true; done
  rm -f "$pidfile"
  log "stopped (pid $pid)"
}

# --------------------------------------------------------------------------- Keystone
# keystone_register.py with the passwords in its environment only (a command line can be read by
# every local user)
ks_tool() {
  KS_ADMIN_PASSWORD="$KS_ADMIN_PASSWORD" SERVICE_PASSWORD="${SERVICE_PASSWORD:-}" \
    "$VENV_PY" "$LIB_DIR/keystone_register.py" --auth-url "$KS_URL" "$@"
}

# service_check [--url URL [--method M]]: the service user gets a token on project service (and a
# request to URL with it answers 2xx; $(project_id)s in URL is the token's project)
service_check() { ks_tool check --user "$SERVICE" "$@"; }

wait_keystone() { # SECONDS: until Keystone issues an admin token (0: one try)
  local timeout=$1 t0=$SECONDS waited=""
  until ks_tool check 2>/dev/null; do
    [ $((SECONDS - t0)) -lt "$timeout" ] \
      || die "Keystone at $KS_URL issued no admin token within ${timeout}s (start it: KS_CACHE=0 bash scripts/keystone/run.sh start)"
    [ -n "$waited" ] || log "waiting for Keystone at $KS_URL (up to ${timeout}s)"
    waited=1
    sleep 1
  done
  [ -z "$waited" ] || log "Keystone answered after $((SECONDS - t0))s"
}

# register_in_keystone ARG...: keystone_register.py register --user $SERVICE ARG... (the project
# service, the user with roles service and admin on it, the service and its endpoints; see there).
# The mark lives with Keystone's data, so a reset Keystone registers again. It names what was
# registered (with a hash of the password): a change of port or password registers again, and so
# does a service user that gets no token.
register_in_keystone() {
  local mark="$KS_DATA/.$SERVICE-registered" stamp t0
  stamp="user=$SERVICE pw=$(printf %s "$SERVICE_PASSWORD" | sha256sum | cut -c1-8) $*"
  if [ "$(cat "$mark" 2>/dev/null)" = "$stamp" ] && ks_tool check --user "$SERVICE" 2>/dev/null; then
    return 0
  fi
  t0=$(now)
  log "registering user $SERVICE (roles service and admin on project service) and its endpoints in Keystone"
  ks_tool register --user "$SERVICE" "$@" || die "registration in Keystone at $KS_URL failed"
  if [ -d "$KS_DATA" ]; then echo "$stamp" >"$mark"; fi
  log "registered in Keystone in $(since "$t0")s"
}

#!/usr/bin/env bash
# scripts/keystone/run.sh (called by `cargo xtask keystone`) — a throw-away OpenStack Keystone (identity v3) on 127.0.0.1 for
# integration tests. Everything lives under /tmp; nothing is written elsewhere.
#
#   run-keystone.sh start    # (default) venv + install + config + bootstrap + seed + start; idempotent
#   run-keystone.sh stop     # stop the server started by 'start' (by its PID)
#   run-keystone.sh status   # running? prints the URL
#   run-keystone.sh env      # print OS_* exports for the admin user (eval "$(run-keystone.sh env)")
#   run-keystone.sh reset    # stop + delete DB/keys/config (keeps the venv), next start is from scratch
#   run-keystone.sh purge    # reset + delete the venv too
#
# Tunables (environment):
#   KS_PORT=5000               port on 127.0.0.1 (the host is always 127.0.0.1)
#   KS_ADMIN_PASSWORD=secret   bootstrap admin password (user admin, project admin, domain Default)
#   KS_TOKEN_EXPIRATION=3600   [token] expiration in seconds (e.g. 60 for expiry tests)
#   KS_FAST_HASH=1             [identity] password_hash_rounds=4 (bcrypt minimum) instead of 12:
#                              saves ~250 ms of CPU per password/app-credential auth. Only affects
#                              hashes created after it is set, so change it together with 'reset'.
#   KS_WORKERS=1               gunicorn worker processes (keep 1 while KS_CACHE=1)
#   KS_WORKER_CLASS=gthread    gunicorn worker class: gthread (HTTP keep-alive, threads) | sync
#                              (sync answers every request with 'Connection: close')
#   KS_THREADS=4               threads per worker when KS_WORKER_CLASS=gthread
#   KS_SEED=1                  create extra regions/services/endpoints, a 'demo' user/project and an
#                              application credential (see seed_catalog below)
#   KS_CACHE=1                 [cache] enabled with the in-process dogpile.cache.memory backend:
#                              5-13x faster requests. The cache is per process, so with KS_WORKERS>1
#                              set KS_CACHE=0 (revocations are invalidated only in the worker that
#                              handled them).
#   KS_DEBUG=false             keystone [DEFAULT] debug
#   KS_PYTHON=                 python >= 3.11 to build the venv with (auto-detected if empty)
#   KS_VENV=/tmp/apiclient-rs/keystone-venv  KS_ETC=/tmp/apiclient-rs/keystone-etc
#   KS_DATA=/tmp/apiclient-rs/keystone-data
#                              (the project's own paths: a data directory this script did not
#                              create, i.e. without its owner mark, is never reused: it is
#                              re-created when it lies under /tmp/apiclient-rs, refused elsewhere)
#   KS_READY_TIMEOUT=90        seconds to wait for the first token after starting
set -euo pipefail

SERVICE=keystone
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

KS_HOST=127.0.0.1   # never change: tests must only use loopback
KS_PORT=${KS_PORT:-5000}
KS_ADMIN_PASSWORD=${KS_ADMIN_PASSWORD:-secret}
KS_TOKEN_EXPIRATION=${KS_TOKEN_EXPIRATION:-3600}
KS_FAST_HASH=${KS_FAST_HASH:-1}
KS_WORKERS=${KS_WORKERS:-1}
KS_WORKER_CLASS=${KS_WORKER_CLASS:-gthread}
KS_THREADS=${KS_THREADS:-4}
KS_SEED=${KS_SEED:-1}
KS_DEBUG=${KS_DEBUG:-false}
KS_CACHE=${KS_CACHE:-1}
KS_VENV=${KS_VENV:-$STATE_ROOT/keystone-venv}
KS_ETC=${KS_ETC:-$STATE_ROOT/keystone-etc}
KS_DATA=${KS_DATA:-$STATE_ROOT/keystone-data}
KS_READY_TIMEOUT=${KS_READY_TIMEOUT:-90}
KS_KEYSTONE_VERSION=${KS_KEYSTONE_VERSION:-30.0.0}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOCK="$HERE/requirements-lock.txt"
URL="http://$KS_HOST:$KS_PORT"
CONF="$KS_ETC/keystone.conf"
PIDFILE="$KS_DATA/gunicorn.pid"
LOG="$KS_DATA/log"
PYTHONS="${KS_PYTHON:-} python3.13 python3.12 python3.11 python3"
PYTHON_MIN=3.11

# --------------------------------------------------------------------------- python / venv
ensure_keystone_venv() { # not common.sh's ensure_venv: no owner mark or install stamp here
  if [ -x "$KS_VENV/bin/keystone-manage" ] && [ -x "$KS_VENV/bin/gunicorn" ] \
     && [ -x "$KS_VENV/bin/openstack" ]; then
    return 0
  fi
  local py; py=$(need_python)
  log "creating venv $KS_VENV with $py ($("$py" -V 2>&1))"
  local t0=$SECONDS
  rm -rf "$KS_VENV"
  "$py" -m venv "$KS_VENV"
  "$KS_VENV/bin/pip" install -q -U pip setuptools wheel
  local cons=()
  [ -f "$LOCK" ] && cons=(-c "$LOCK")
  "$KS_VENV/bin/pip" install -q "${cons[@]}" \
      "keystone==$KS_KEYSTONE_VERSION" gunicorn keystoneauth1 python-keystoneclient python-openstackclient
  log "venv ready in $((SECONDS - t0))s"
}

# --------------------------------------------------------------------------- config
write_config() {
  mkdir -p "$KS_ETC" "$KS_DATA" "$LOG"
  local hash_rounds=""
  [ "$KS_FAST_HASH" = 1 ] && hash_rounds="password_hash_rounds = 4"
  local cache="enabled = false"
  [ "$KS_CACHE" = 1 ] && cache=$'enabled = true\nbackend = dogpile.cache.memory'
  cat > "$CONF" <<EOF
# generated by run-keystone.sh — regenerated on every start
[DEFAULT]
debug = $KS_DEBUG
use_stderr = true

[database]
connection = sqlite:///$KS_DATA/keystone.db

[token]
provider = fernet
expiration = $KS_TOKEN_EXPIRATION

[fernet_tokens]
key_repository = $KS_DATA/fernet-keys

[fernet_receipts]
key_repository = $KS_DATA/fernet-keys

[credential]
key_repository = $KS_DATA/credential-keys

[identity]
$hash_rounds

[auth]
# the defaults plus totp (Keystone's own TOTP credentials, for the v3totp plugin tests)
methods = external,password,token,oauth1,mapped,application_credential,totp

[cache]
$cache
EOF
  # oslo.config parses sys.argv[1:] when keystone initialises. Under gunicorn that is gunicorn's
  # own command line -> "gunicorn: error: unrecognized arguments" and every worker exits with 2.
  cat > "$KS_ETC/keystone_wsgi.py" <<'EOF'
import sys

sys.argv = sys.argv[:1]
from keystone.wsgi.api import application  # noqa: E402,F401
EOF
  openrc > "$KS_ETC/admin-openrc"
}

openrc() {
  cat <<EOF
export OS_AUTH_URL=$URL/v3
export OS_AUTH_TYPE=password
export OS_USERNAME=admin
export OS_PASSWORD=$KS_ADMIN_PASSWORD
export OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_IDENTITY_API_VERSION=3
export OS_REGION_NAME=RegionOne
export OS_INTERFACE=public
EOF
}

kmanage() { "$KS_VENV/bin/keystone-manage" --config-file "$CONF" "$@" >>"$LOG/keystone-manage.log" 2>&1; }

ensure_db() {
  if [ -f "$KS_DATA/.bootstrapped" ]; then return 0; fi
  log "initialising database and keys in $KS_DATA"
  local t0=$SECONDS
  rm -f "$KS_DATA/keystone.db"
  install -d -m 700 "$KS_DATA/fernet-keys" "$KS_DATA/credential-keys"
  kmanage db_sync
  kmanage fernet_setup --keystone-user root --keystone-group root
  kmanage credential_setup --keystone-user root --keystone-group root
  kmanage bootstrap --bootstrap-password "$KS_ADMIN_PASSWORD" \
      --bootstrap-username admin --bootstrap-project-name admin \
      --bootstrap-role-name admin --bootstrap-service-name keystone \
      --bootstrap-region-id RegionOne \
      --bootstrap-admin-url "$URL/v3/" \
      --bootstrap-internal-url "$URL/v3/" \
      --bootstrap-public-url "$URL/v3/"
  chmod 700 "$KS_DATA/fernet-keys" "$KS_DATA/credential-keys"
  touch "$KS_DATA/.bootstrapped"
  log "database ready in $((SECONDS - t0))s"
}

# --------------------------------------------------------------------------- process control
ours() { cmdline_has "${1:-}" gunicorn keystone_wsgi:application; }   # the pid is our gunicorn master
server_pid() { read_pid "$PIDFILE"; }

http_ready() { # first successful token == ready
  "$KS_VENV/bin/python" - "$URL" "$KS_ADMIN_PASSWORD" <<'EOF'
import json, sys, urllib.request
url, pw = sys.argv[1], sys.argv[2]
body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": pw}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
req = urllib.request.Request(url + "/v3/auth/tokens", data=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        sys.exit(0 if r.status == 201 and r.headers.get("X-Subject-Token") else 1)
except Exception:
    sys.exit(1)
EOF
}

start_server() {
  local pid; pid=$(server_pid)
  if ours "$pid"; then
    if http_ready; then log "already running (pid $pid)"; return 0; fi
    log "pid $pid exists but is not answering; restarting"; stop_server
  fi
  port_busy "$KS_HOST" "$KS_PORT" && die "$KS_HOST:$KS_PORT is already in use by another process"
  local wargs=(--workers "$KS_WORKERS" --worker-class "$KS_WORKER_CLASS")
  [ "$KS_WORKER_CLASS" = gthread ] && wargs+=(--threads "$KS_THREADS")
  log "starting gunicorn on $URL"
  local t0; t0=$(now)
  # setsid: own session, survives the calling shell; stdin/stdout detached so callers do not hang
  OS_KEYSTONE_CONFIG_FILES="$CONF" setsid "$KS_VENV/bin/gunicorn" \
      --bind "$KS_HOST:$KS_PORT" "${wargs[@]}" \
      --no-control-socket \
      --timeout 60 --graceful-timeout 5 \
      --pythonpath "$KS_ETC" --chdir "$KS_DATA" \
      --pid "$PIDFILE" \
      --access-logfile "$LOG/access.log" --error-logfile "$LOG/gunicorn.log" \
      keystone_wsgi:application >>"$LOG/keystone.log" 2>&1 </dev/null &
  local bgpid=$!
  local deadline=$((SECONDS + KS_READY_TIMEOUT))
  until http_ready; do
    if ! alive "$bgpid" && ! ours "$(server_pid)"; then tail -n 30 "$LOG/keystone.log" "$LOG/gunicorn.log" >&2 || true; die "gunicorn exited"; fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$LOG/keystone.log" "$LOG/gunicorn.log" >&2 || true
      stop_server; die "not ready after ${KS_READY_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "first token after $(since "$t0" 2)s (pid $(server_pid))"
}

stop_server() { stop_gunicorn "$PIDFILE" ours; }

# --------------------------------------------------------------------------- seed data
# Idempotent: looks everything up by name before creating it.
seed_catalog() {
  "$KS_VENV/bin/python" - "$URL" "$KS_ADMIN_PASSWORD" "$KS_DATA" <<'EOF'
import json, sys, urllib.error, urllib.request
url, pw, data = sys.argv[1], sys.argv[2], sys.argv[3]

def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    h = {"Content-Type": "application/json"}
    if token:
        h["X-Auth-Token"] = token
    req = urllib.request.Request(url + path, method=method, headers=h,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, r.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return e.code, e.headers, None
        raise SystemExit(f"{method} {path} -> {e.code}: {e.read().decode()}")

def token(user, password, project):
    _, h, _ = call("POST", "/v3/auth/tokens?nocatalog", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    return h["X-Subject-Token"]

T = token("admin", pw, "admin")
get = lambda p: call("GET", p, token=T)[2]
post = lambda p, b: call("POST", p, b, token=T)[2]
put = lambda p: call("PUT", p, token=T)

def ensure(collection, key, name, body, query):
    items = get(f"/v3/{collection}?{query}")[collection]
    return items[0] if items else post(f"/v3/{collection}", {key: body})[key]

have_regions = {x["id"] for x in get("/v3/regions")["regions"]}
for r in ("RegionOne", "RegionTwo"):
    if r not in have_regions:
        post("/v3/regions", {"region": {"id": r}})

# type, name, [(region, interface, url), ...]  — ports are fake: nothing listens there
services = [
    ("compute", "nova", [(reg, itf, f"http://{host}:{port}/v2.1")
                         for reg, port in (("RegionOne", 8774), ("RegionTwo", 18774))
                         for itf, host in (("public", "127.0.0.1"), ("internal", "127.0.0.2"), ("admin", "127.0.0.3"))]),
    ("image", "glance", [("RegionOne", i, "http://127.0.0.1:9292") for i in ("public", "internal", "admin")]),
    ("network", "neutron", [("RegionOne", "public", "http://127.0.0.1:9696")]),
    ("block-storage", "cinderv3", [("RegionOne", "public", "http://127.0.0.1:8776/v3/$(project_id)s")]),
    ("object-store", "swift", [("RegionTwo", "public", "http://127.0.0.1:8080/v1/AUTH_$(project_id)s")]),
]
for stype, sname, eps in services:
    svc = ensure("services", "service", sname, {"type": stype, "name": sname, "enabled": True},
                 f"type={stype}")
    have = {(e["region_id"], e["interface"]) for e in get(f"/v3/endpoints?service_id={svc['id']}")["endpoints"]}
    for reg, itf, u in eps:
        if (reg, itf) not in have:
            post("/v3/endpoints", {"endpoint": {"service_id": svc["id"], "region_id": reg,
                                                "interface": itf, "url": u, "enabled": True}})

roles = {r["name"]: r["id"] for r in get("/v3/roles")["roles"]}
admin_id = get("/v3/users?name=admin")["users"][0]["id"]
put(f"/v3/domains/default/users/{admin_id}/roles/{roles['admin']}")   # allows domain-scoped admin tokens

demo_p = ensure("projects", "project", "demo", {"name": "demo", "domain_id": "default"}, "name=demo&domain_id=default")
demo_u = ensure("users", "user", "demo", {"name": "demo", "domain_id": "default", "password": "demopass",
                                          "default_project_id": demo_p["id"]}, "name=demo&domain_id=default")
put(f"/v3/projects/{demo_p['id']}/users/{demo_u['id']}/roles/{roles['member']}")

# application credential for demo (must be created with a token of that user, not an app-cred token)
DT = token("demo", "demopass", "demo")
acs = call("GET", f"/v3/users/{demo_u['id']}/application_credentials?name=ci-test", token=DT)[2]["application_credentials"]
ac = acs[0] if acs else call("POST", f"/v3/users/{demo_u['id']}/application_credentials",
                             {"application_credential": {"name": "ci-test", "secret": "appcredsecret",
                                                         "roles": [{"name": "member"}]}}, token=DT)[2]["application_credential"]
# a TOTP credential for demo (the secret is base32; tests compute the passcode)
TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
have_totp = [c for c in get(f"/v3/credentials?user_id={demo_u['id']}&type=totp")["credentials"]]
if not have_totp:
    post("/v3/credentials", {"credential": {"type": "totp", "user_id": demo_u["id"], "blob": TOTP_SECRET}})
# a multi-factor user: password and TOTP both required (auth receipts)
mfa_u = ensure("users", "user", "mfa", {"name": "mfa", "domain_id": "default", "password": "mfapass",
                                        "default_project_id": demo_p["id"]}, "name=mfa&domain_id=default")
put(f"/v3/projects/{demo_p['id']}/users/{mfa_u['id']}/roles/{roles['member']}")
if not get(f"/v3/credentials?user_id={mfa_u['id']}&type=totp")["credentials"]:
    post("/v3/credentials", {"credential": {"type": "totp", "user_id": mfa_u["id"], "blob": TOTP_SECRET}})
call("PATCH", f"/v3/users/{mfa_u['id']}", {"user": {"options": {
    "multi_factor_auth_enabled": True, "multi_factor_auth_rules": [["password", "totp"]]}}}, token=T)
# a trust: admin (trustor) lets demo (trustee) act with role member on project admin
admin_p = get("/v3/projects?name=admin")["projects"][0]
trusts = get(f"/v3/OS-TRUST/trusts?trustee_user_id={demo_u['id']}")["trusts"]
trust = trusts[0] if trusts else post("/v3/OS-TRUST/trusts", {"trust": {
    "trustor_user_id": admin_id, "trustee_user_id": demo_u["id"], "project_id": admin_p["id"],
    "impersonation": False, "roles": [{"name": "member"}]}})["trust"]
info = {"auth_url": url + "/v3", "admin": {"user": "admin", "password": pw, "project": "admin", "domain": "Default"},
        "demo": {"user": "demo", "password": "demopass", "project": "demo", "domain": "Default",
                 "user_id": demo_u["id"], "project_id": demo_p["id"]},
        "application_credential": {"id": ac["id"], "name": "ci-test", "secret": "appcredsecret",
                                   "user": "demo", "user_domain": "Default"},
        "totp": {"user": "demo", "secret": TOTP_SECRET},
        "mfa": {"user": "mfa", "password": "mfapass", "totp_secret": TOTP_SECRET, "rules": [["password", "totp"]]},
        "trust": {"id": trust["id"], "trustee": "demo", "project_id": admin_p["id"]}}
json.dump(info, open(f"{data}/seed.json", "w"), indent=2)
EOF
  log "seeded catalog/demo user/app credential -> $KS_DATA/seed.json"
}

# --------------------------------------------------------------------------- commands
cmd=${1:-start}
case "$cmd" in
  start)
    ensure_keystone_venv
    # Another Keystone runner may have left a data directory at the same path (another TOTP
    # secret, other users): reusing it would make the seeded facts wrong (see claim_dir)
    claim_dir "$KS_DATA" rm -rf "$KS_ETC"
    write_config
    ensure_db
    start_server
    # the mark names the seed's version: an older seed is completed (the seed is idempotent)
    if [ "$KS_SEED" = 1 ] && [ ! -f "$KS_DATA/.seeded-4" ]; then seed_catalog && touch "$KS_DATA/.seeded-4"; fi
    echo "$URL/v3"
    ;;
  stop) stop_server ;;
  status)
    pid=$(server_pid)
    if ours "$pid" && http_ready; then echo "running pid=$pid url=$URL/v3"; else echo "not running"; exit 1; fi
    ;;
  env) openrc ;;
  reset) [ -d "$KS_DATA" ] && ! owns "$KS_DATA" && die "$KS_DATA was not created by this script; not touching it"
         stop_server; rm -rf "$KS_DATA" "$KS_ETC"; log "reset $KS_DATA $KS_ETC" ;;
  purge) stop_server; rm -rf "$KS_DATA" "$KS_ETC" "$KS_VENV" "$PIP_CACHE_DIR"; log "purged" ;;
  *) echo "usage: $0 [start|stop|status|env|reset|purge]" >&2; exit 2 ;;
esac

#!/usr/bin/env python3
"""Register an OpenStack service in the project's Keystone (identity v3), or check a login.

Used by scripts/<service>/run.sh through scripts/lib/common.sh. Standard library only.

  keystone_register.py [--auth-url URL] register --user NAME --service-type TYPE
        --service-name NAME --url TEMPLATE [--regions R1,R2] [--interfaces public,internal]
        [--project service] [--roles service,admin]
    Idempotent: everything is looked up before it is created. Ensures the project, the user
    (enabled, default project, the service password: set only when it does not log in, since a
    password change revokes the user's tokens) with the roles on the project, the regions, the
    service (by type; one named NAME is preferred, one is created if there is none) and one
    endpoint per region and interface with the URL TEMPLATE (Keystone's $(project_id)s is left
    as it is); an endpoint with another URL, or disabled, is updated. Other endpoints of the
    service (other regions or interfaces) are kept.

  keystone_register.py [--auth-url URL] check [--user NAME [--project service]] [--url URL [--method GET]]
    Exit 0 when Keystone issues a token to the admin (default) or to NAME on its project and,
    with --url, a request with that token answers 2xx ($(project_id)s in URL becomes the token's
    project).

Passwords come from the environment, never from the command line (every local user can read
that): KS_ADMIN_PASSWORD, the admin's (user admin on project admin, domain Default; default
"secret"), and SERVICE_PASSWORD, the service user's. Nothing secret is printed: what is done
and errors go to stderr, stdout stays empty. Exit status 1 on any failure.
"""

import argparse
import http.client
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


class Failed(Exception):
    pass


def say(msg):
    print(f"  {msg}", file=sys.stderr)


class Keystone:
    def __init__(self, url, timeout):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token = None

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                raw = r.read()
                return r.headers, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raise Failed(f"{method} {path.split('?')[0]} -> {e.code}: {e.read().decode()[:300]}")
        except (OSError, http.client.HTTPException) as e:
            raise Failed(f"{method} {self.url}{path.split('?')[0]}: {e}")

    def login(self, user, password, project):
        """Token for user on project (both in domain default); returns the token's project id."""
        headers, body = self.call("POST", "/auth/tokens?nocatalog", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
        self.token = headers["X-Subject-Token"]
        return body["token"]["project"]["id"]

    def get(self, path, **query):
        return self.call("GET", f"{path}?{urllib.parse.urlencode(query)}")[1]

    def post(self, path, key, body):
        return self.call("POST", path, {key: body})[1][key]

    def patch(self, path, key, body):
        return self.call("PATCH", path, {key: body})[1][key]

    def ensure(self, collection, key, query, body):
        """The first of collection matching query, else a new one from body."""
        items = self.get(f"/{collection}", **query)[collection]
        if items:
            return items[0]
        say(f"create {key} {body.get('name', '')}".rstrip())
        return self.post(f"/{collection}", key, body)


def can_login(url, timeout, user, password, project):
    try:
        Keystone(url, timeout).login(user, password, project)
        return True
    except Failed:
        return False


def register(ks, a, admin_pw, service_pw):
    ks.login("admin", admin_pw, "admin")
    project = ks.ensure("projects", "project", {"name": a.project, "domain_id": "default"},
                        {"name": a.project, "domain_id": "default", "description": "service users"})
    user = ks.ensure("users", "user", {"name": a.user, "domain_id": "default"},
                     {"name": a.user, "domain_id": "default", "password": service_pw,
                      "default_project_id": project["id"], "enabled": True})
    if not user.get("enabled", True):
        say(f"enable user {a.user}")
        ks.patch(f"/users/{user['id']}", "user", {"enabled": True})
    for name in a.roles:
        role = ks.ensure("roles", "role", {"name": name}, {"name": name})
        ks.call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    if not can_login(ks.url, ks.timeout, a.user, service_pw, a.project):
        say(f"set the password of user {a.user}")
        ks.patch(f"/users/{user['id']}", "user", {"password": service_pw})
        if not can_login(ks.url, ks.timeout, a.user, service_pw, a.project):
            raise Failed(f"user {a.user} cannot log in to project {a.project}")

    have_regions = {r["id"] for r in ks.get("/regions")["regions"]}
    for region in a.regions:
        if region not in have_regions:
            say(f"create region {region}")
            ks.post("/regions", "region", {"id": region})
    services = ks.get("/services", type=a.service_type)["services"]
    services.sort(key=lambda s: s.get("name") != a.service_name)   # one named so first
    service = services[0] if services else None
    if service is None:
        say(f"create service {a.service_name} ({a.service_type})")
        service = ks.post("/services", "service", {"type": a.service_type, "name": a.service_name,
                                                   "enabled": True})
    for region in a.regions:
        for itf in a.interfaces:
            eps = ks.get("/endpoints", service_id=service["id"], interface=itf,
                         region_id=region)["endpoints"]
            if not eps:
                say(f"create {region} {itf} endpoint {a.url}")
                ks.post("/endpoints", "endpoint", {"service_id": service["id"], "region_id": region,
                                                   "interface": itf, "url": a.url, "enabled": True})
            elif eps[0]["url"] != a.url or not eps[0].get("enabled", True):
                say(f"update {region} {itf} endpoint {eps[0]['url']} -> {a.url}")
                ks.patch(f"/endpoints/{eps[0]['id']}", "endpoint", {"url": a.url, "enabled": True})
    say(f"project {a.project}={project['id']} user {a.user}={user['id']} "
        f"{a.service_type} service {service.get('name')}={service['id']}")


def check(ks, a, admin_pw, service_pw):
    if a.user:
        project_id = ks.login(a.user, service_pw, a.project)
    else:
        project_id = ks.login("admin", admin_pw, "admin")
    if a.url:
        url = a.url.replace("$(project_id)s", project_id)
        req = urllib.request.Request(url, method=a.method, headers={"X-Auth-Token": ks.token})
        try:
            with urllib.request.urlopen(req, timeout=ks.timeout) as r:
                r.read()
        except urllib.error.HTTPError as e:   # urllib raises for anything but 2xx (and redirects)
            raise Failed(f"{a.method} {url} -> {e.code}")
        except (OSError, http.client.HTTPException) as e:
            raise Failed(f"{a.method} {url}: {e}")


def comma_list(text):
    return [x for x in text.split(",") if x]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--auth-url", default="http://127.0.0.1:5000/v3", help="Keystone's v3 URL")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("register", help="register a service, its user and endpoints")
    r.add_argument("--user", required=True, help="service user (password: $SERVICE_PASSWORD)")
    r.add_argument("--service-type", required=True)
    r.add_argument("--service-name", required=True)
    r.add_argument("--url", required=True, help="endpoint URL template, e.g. http://127.0.0.1:8080/v1/AUTH_$(project_id)s")
    r.add_argument("--regions", type=comma_list, default=["RegionOne"])
    r.add_argument("--interfaces", type=comma_list, default=["public", "internal"])
    r.add_argument("--project", default="service")
    r.add_argument("--roles", type=comma_list, default=["service", "admin"])
    c = sub.add_parser("check", help="a token for the admin or a service user (and a request with it)")
    c.add_argument("--user", help="service user (password: $SERVICE_PASSWORD); default: the admin")
    c.add_argument("--project", default="service")
    c.add_argument("--url")
    c.add_argument("--method", default="GET")
    a = p.parse_args()

    admin_pw = os.environ.get("KS_ADMIN_PASSWORD") or "secret"
    service_pw = os.environ.get("SERVICE_PASSWORD", "")
    if a.command == "register" or a.user:
        if not service_pw:
            p.error("SERVICE_PASSWORD is not set")
    try:
        if a.command == "register":
            register(Keystone(a.auth_url, 30), a, admin_pw, service_pw)
        else:
            check(Keystone(a.auth_url, 10), a, admin_pw, service_pw)
    except Failed as e:
        print(f"keystone_register.py {a.command}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

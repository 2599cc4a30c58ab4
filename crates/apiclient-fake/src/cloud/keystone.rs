//! The fake Keystone v3: version documents, tokens (password, token and
//! application-credential methods; scoped, validated, revoked), the
//! catalog (with the mounted services), and federation (a trusted identity
//! provider's bearer token for an unscoped token; WebSSO, its token posted
//! to a loopback dashboard by the page Keystone answers).

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::request::Caller;
use super::state::{State, TokenInfo};
use crate::reply::{RespBody, full, json_resp, keystone_error, unauthorized};

/// What Keystone answers at `p` (the root's version document, or a path
/// under `/v3`).
pub(super) fn route(
    s: &mut State,
    method: &Method,
    p: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<RespBody> {
    let base = s.base.clone();
    match (method.as_str(), p) {
        ("GET", "") => {
            let mut r = json_resp(
                StatusCode::MULTIPLE_CHOICES,
                &json!({"versions": {"values": [version_v3(&base)]}}),
            );
            if let Ok(v) = http::HeaderValue::from_str(&format!("{base}/v3/")) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        ("GET", "/v3") => json_resp(StatusCode::OK, &json!({"version": version_v3(&base)})),
        ("POST", "/v3/auth/tokens") => auth_tokens(s, body, query, headers),
        ("POST", p) if p.starts_with("/v3/OS-FEDERATION/identity_providers/") => {
            federated_auth(s, p, headers)
        }
        ("GET", p) if p.starts_with("/v3/auth/OS-FEDERATION/") => websso(s, p, query, headers),
        (m @ ("GET" | "HEAD" | "DELETE"), "/v3/auth/tokens") => {
            if valid_token(s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            let Some((subject, info)) =
                valid_token(s, headers, "x-subject-token").map(|(k, t)| (k.clone(), t.clone()))
            else {
                return keystone_error(404, "Not Found", "Failed to validate token");
            };
            match m {
                "DELETE" => {
                    if let Some(t) = s.tokens.get_mut(&subject) {
                        t.revoked = true;
                    }
                    full(StatusCode::NO_CONTENT, &[], Bytes::new())
                }
                "HEAD" => full(
                    StatusCode::OK,
                    &[("content-type", "application/json".into())],
                    Bytes::new(),
                ),
                _ => {
                    let mut r = json_resp(StatusCode::OK, &token_body(s, &info, true));
                    if let Ok(v) = http::HeaderValue::from_str(&subject) {
                        r.headers_mut().insert("x-subject-token", v);
                    }
                    r
                }
            }
        }
        _ => keystone_error(404, "Not Found", "The resource could not be found."),
    }
}

fn ts(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .map(|s| s.replace('Z', ".000000Z"))
        .unwrap_or_default()
}

fn version_v3(base: &str) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
           "links": [{"rel": "self", "href": format!("{base}/v3/")}],
           "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]})
}

/// A built-in service of the catalog.
struct Builtin {
    kind: &'static str,
    name: &'static str,
    id: &'static str,
    /// (interface, URL)
    urls: Vec<(&'static str, String)>,
}

/// The built-in services.
fn builtins(base: &str, project_id: &str) -> Vec<Builtin> {
    let all = |url: String| {
        vec![
            ("public", url.clone()),
            ("internal", url.clone()),
            ("admin", url),
        ]
    };
    let b = |kind, name, id, urls| Builtin {
        kind,
        name,
        id,
        urls,
    };
    vec![
        b(
            "identity",
            "keystone",
            "s-identity",
            all(format!("{base}/v3/")),
        ),
        b("compute", "nova", "s-compute", all(format!("{base}/v2.1"))),
        b(
            "image",
            "glance",
            "s-image",
            vec![("public", format!("{base}/image"))],
        ),
        b(
            "block-storage",
            "cinderv3",
            "s-volume",
            vec![("public", format!("{base}/volume/v3/{project_id}"))],
        ),
        b(
            "object-store",
            "swift",
            "s-object",
            vec![("public", format!("{base}/v1/AUTH_{project_id}"))],
        ),
    ]
}

/// The catalog: the built-in services, each mounted service in the place
/// of the built-in of its type (or after them).
fn catalog_with_mounts(s: &State, project_id: &str) -> Value {
    let ep = |id: String, itf: &str, url: String| json!({"id": id, "interface": itf, "region_id": "RegionOne", "url": url, "region": "RegionOne"});
    let mounted = |i: usize, t: &str| {
        json!({"endpoints": [ep(format!("m{i}"), "public", format!("{}/svc/{t}", s.base))],
        "id": format!("s-mounted-{i}"), "type": t, "name": t})
    };
    let mut services = Vec::new();
    let mut n = 1;
    let builtin = builtins(&s.base, project_id);
    for b in &builtin {
        if let Some(i) = s.mounted.keys().position(|m| m == b.kind) {
            services.push(mounted(i, b.kind));
            continue;
        }
        let endpoints: Vec<Value> = b
            .urls
            .iter()
            .map(|(itf, url)| {
                let e = ep(format!("e{n}"), itf, url.clone());
                n += 1;
                e
            })
            .collect();
        services.push(json!({"endpoints": endpoints, "id": b.id, "type": b.kind, "name": b.name}));
    }
    for (i, t) in s.mounted.keys().enumerate() {
        if !builtin.iter().any(|b| b.kind == t) {
            services.push(mounted(i, t));
        }
    }
    Value::Array(services)
}

fn token_body(s: &State, t: &TokenInfo, with_catalog: bool) -> Value {
    let u = &s.users[t.user];
    let mut tok = json!({
        "methods": t.methods,
        "user": {"domain": {"id": "default", "name": "Default"}, "id": u.id, "name": u.name, "password_expires_at": null},
        "audit_ids": ["fake-audit"],
        "expires_at": ts(t.expires),
        "issued_at": ts(t.issued),
    });
    let scoped = !t.scope.is_null();
    if let (Some(obj), Some(scope)) = (tok.as_object_mut(), t.scope.as_object()) {
        for (k, v) in scope {
            obj.insert(k.clone(), v.clone());
        }
        if scoped {
            obj.insert("is_domain".into(), json!(false));
            obj.insert(
                "roles".into(),
                json!([{"id": "r-member", "name": "member"}]),
            );
            if with_catalog {
                let pid = t
                    .scope
                    .pointer("/project/id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                obj.insert("catalog".into(), catalog_with_mounts(s, pid));
            }
        }
    }
    json!({"token": tok})
}

/// Who the request's `X-Auth-Token` belongs to, if it is valid.
pub(super) fn caller(s: &State, headers: &HeaderMap) -> Option<Caller> {
    let (_, t) = valid_token(s, headers, "x-auth-token")?;
    let user = s.users.get(t.user)?;
    Some(Caller {
        user_id: user.id.clone(),
        project_id: t
            .scope
            .pointer("/project/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        admin: user.name == "admin",
    })
}

pub(super) fn valid_token<'a>(
    s: &'a State,
    headers: &HeaderMap,
    name: &str,
) -> Option<(&'a String, &'a TokenInfo)> {
    let tok = headers.get(name)?.to_str().ok()?;
    let (k, t) = s.tokens.get_key_value(tok)?;
    (!t.revoked && t.expires > OffsetDateTime::now_utc()).then_some((k, t))
}

/// A new token of `user`: its id, and its record (kept).
fn mint(s: &mut State, user: usize, scope: Value, methods: Vec<String>) -> (String, TokenInfo) {
    let now = OffsetDateTime::now_utc();
    let token = format!("gAAAAA{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let info = TokenInfo {
        user,
        scope,
        methods,
        issued: now,
        expires: now + s.token_lifetime,
        revoked: false,
    };
    s.tokens.insert(token.clone(), info.clone());
    (token, info)
}

fn issue(
    s: &mut State,
    user: usize,
    scope: Value,
    methods: Vec<String>,
    nocatalog: bool,
) -> Response<RespBody> {
    let (token, info) = mint(s, user, scope, methods);
    let body = token_body(s, &info, !nocatalog);
    let mut r = json_resp(StatusCode::CREATED, &body);
    if let Ok(v) = http::HeaderValue::from_str(&token) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

fn find_user(s: &State, u: &Value) -> Option<usize> {
    if let Some(id) = u.get("id").and_then(Value::as_str) {
        return s.users.iter().position(|x| x.id == id);
    }
    let name = u.get("name")?.as_str()?;
    let dom = u.get("domain")?;
    let dom_ok = dom.get("id").and_then(Value::as_str) == Some("default")
        || dom.get("name").and_then(Value::as_str) == Some("Default");
    if !dom_ok {
        return None;
    }
    s.users.iter().position(|x| x.name == name)
}

fn auth_tokens(
    s: &mut State,
    body: &[u8],
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response<RespBody> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return keystone_error(
            400,
            "Bad Request",
            "Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
        );
    };
    if headers
        .get("content-type")
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| !c.starts_with("application/json"))
    {
        return keystone_error(
            400,
            "Bad Request",
            "Expecting to find application/json in Content-Type header.",
        );
    }
    let identity = &v["auth"]["identity"];
    let methods: Vec<String> = identity["methods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(String::from))
        .collect();
    let (user, inherited_scope) = match methods.first().map(String::as_str) {
        Some("password") => {
            let u = &identity["password"]["user"];
            match find_user(s, u) {
                Some(i) if u["password"].as_str() == Some(s.users[i].password.as_str()) => {
                    (i, None)
                }
                _ => return unauthorized(),
            }
        }
        Some("token") => {
            let id = identity["token"]["id"].as_str().unwrap_or("");
            match s.tokens.get(id) {
                Some(t) if !t.revoked && t.expires > OffsetDateTime::now_utc() => (t.user, None),
                _ => return unauthorized(),
            }
        }
        Some("application_credential") => {
            let ac = &identity["application_credential"];
            let found = s.app_creds.iter().find(|(id, name, _, user)| {
                ac["id"].as_str() == Some(id.as_str())
                    || (ac["name"].as_str() == Some(name.as_str())
                        && find_user(s, &ac["user"]) == Some(*user))
            });
            match found {
                Some((id, name, secret, user))
                    if ac["secret"].as_str() == Some(secret.as_str()) =>
                {
                    let pid = s.users[*user].project_id.clone();
                    let pname = s
                        .projects
                        .iter()
                        .find(|p| p.0 == pid)
                        .map(|p| p.1.clone())
                        .unwrap_or_default();
                    let scope = json!({"project": {"domain": {"id": "default", "name": "Default"}, "id": pid, "name": pname},
                                       "application_credential": {"id": id, "name": name, "restricted": true}});
                    (*user, Some(scope))
                }
                _ => return unauthorized(),
            }
        }
        _ => {
            return keystone_error(
                400,
                "Bad Request",
                "Invalid input for field 'identity/methods'.",
            );
        }
    };
    let scope = match inherited_scope {
        Some(scope) => scope,
        None => {
            let sc = &v["auth"]["scope"];
            if let Some(p) = sc.get("project") {
                let proj = s
                    .projects
                    .iter()
                    .find(|(id, name)| {
                        p["id"].as_str() == Some(id) || p["name"].as_str() == Some(name)
                    })
                    .cloned();
                match proj {
                    Some((id, name))
                        if s.users[user].project_id == id || s.users[user].name == "admin" =>
                    {
                        json!({"project": {"domain": {"id": "default", "name": "Default"}, "id": id, "name": name}})
                    }
                    _ => return unauthorized(),
                }
            } else if sc.get("domain").is_some() {
                json!({"domain": {"id": "default", "name": "Default"}})
            } else if sc.get("system").is_some() {
                json!({"system": {"all": true}})
            } else {
                Value::Null
            }
        }
    };
    issue(s, user, scope, methods, query.contains_key("nocatalog"))
}

/// `POST /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`.
fn federated_auth(s: &mut State, path: &str, headers: &HeaderMap) -> Response<RespBody> {
    let parts: Vec<&str> = path.split('/').collect();
    // ["", "v3", "OS-FEDERATION", "identity_providers", idp, "protocols", protocol, "auth"]
    let (idp, protocol) = match parts.as_slice() {
        [_, _, _, _, idp, "protocols", protocol, "auth"] => (
            percent_encoding::percent_decode_str(idp)
                .decode_utf8_lossy()
                .into_owned(),
            percent_encoding::percent_decode_str(protocol)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        _ => return keystone_error(404, "Not Found", "The resource could not be found."),
    };
    let Some((check, user)) = s.federation.get(&(idp, protocol.clone())).cloned() else {
        return keystone_error(404, "Not Found", "Could not find Identity Provider.");
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        Some(token) if check(token) => issue(s, user, Value::Null, vec![protocol], false),
        _ => unauthorized(),
    }
}

fn decoded(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether the fake trusts `origin` as a WebSSO dashboard (Keystone's
/// `[federation] trusted_dashboard`): any `http://` URL on a loopback host.
fn trusted_dashboard(origin: &str) -> bool {
    url::Url::parse(origin).is_ok_and(|u| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// `GET /v3/auth/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/websso?origin=...`
/// and `GET /v3/auth/OS-FEDERATION/websso/{protocol}?origin=...` (the
/// identity provider of that protocol): the browser's request, signed in
/// at the identity provider (the fake wants `Authorization: Bearer` with a
/// token the provider's check accepts, as mod_auth_openidc would let
/// through), answered with Keystone's page whose form POSTs
/// `token=<unscoped token>` to the origin.
fn websso(
    s: &mut State,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response<RespBody> {
    let parts: Vec<&str> = path.split('/').collect();
    let found = match parts.as_slice() {
        [
            "",
            "v3",
            "auth",
            "OS-FEDERATION",
            "identity_providers",
            idp,
            "protocols",
            protocol,
            "websso",
        ] => {
            let key = (decoded(idp), decoded(protocol));
            s.federation.get(&key).cloned().map(|f| (key.1, f))
        }
        ["", "v3", "auth", "OS-FEDERATION", "websso", protocol] => {
            let protocol = decoded(protocol);
            s.federation
                .iter()
                .find(|((_, p), _)| *p == protocol)
                .map(|(_, f)| (protocol.clone(), f.clone()))
        }
        _ => return keystone_error(404, "Not Found", "The resource could not be found."),
    };
    let Some((protocol, (check, user))) = found else {
        return keystone_error(404, "Not Found", "Could not find Identity Provider.");
    };
    let Some(origin) = query.get("origin") else {
        return keystone_error(
            400,
            "Bad Request",
            "Request must have an origin query parameter",
        );
    };
    if !trusted_dashboard(origin) {
        return keystone_error(
            401,
            "Unauthorized",
            &format!("{origin} is not a trusted dashboard host"),
        );
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| check(t)) {
        return unauthorized();
    }
    let (token, _) = mint(s, user, Value::Null, vec![protocol]);
    let page = format!(
        r#"<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <title>Keystone WebSSO redirect</title>
  </head>
  <body>
     <form id="sso" name="sso" action="{}" method="post">
       Please wait...
       <br/>
       <input type="hidden" name="token" id="token" value="{}"/>
       <noscript>
         <input type="submit" name="submit_no_javascript" id="submit_no_javascript"
            value="If your JavaScript is disabled, please click to continue"/>
       </noscript>
     </form>
     <script type="text/javascript">
       window.onload = function() {{
         document.forms['sso'].submit();
       }}
     </script>
  </body>
</html>
"#,
        html_escape(origin),
        html_escape(&token)
    );
    full(
        StatusCode::OK,
        &[("content-type", "text/html; charset=UTF-8".into())],
        Bytes::from(page),
    )
}

//! The fake compute service, Nova-shaped: UUID server ids, servers (list,
//! detail, create, get, update, delete, actions) and flavors, microversions
//! 2.1 to 2.96 checked and echoed.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{Value, json};

use super::paging::page;
use super::state::State;
use crate::reply::{RespBody, full, json_resp, not_found};

/// The id of seeded server `i`: UUID-shaped, as Nova's.
pub(super) fn server_id(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-{i:012x}")
}

/// Seeded server `i`: `server-<i>`, ACTIVE, flavor 1.
pub(super) fn seeded_server(i: usize) -> (String, Value) {
    let id = server_id(i);
    let server = json!({"id": id, "name": format!("server-{i}"), "status": "ACTIVE",
        "flavor": {"id": "1"}, "metadata": {}});
    (id, server)
}

/// The flavors of the fake compute service.
fn flavors() -> Value {
    json!([
        {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
        {"id": "2", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
        {"id": "3", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40}
    ])
}

/// The compute microversions the fake speaks.
const COMPUTE_MIN: (u32, u32) = (2, 1);
const COMPUTE_MAX: (u32, u32) = (2, 96);

/// The microversion a compute request asks for (None: out of range or malformed).
fn compute_microversion(headers: &HeaderMap) -> Option<(u32, u32)> {
    let asked = headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("compute "))
        .or_else(|| {
            headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
        });
    let Some(asked) = asked.map(str::trim) else {
        return Some(COMPUTE_MIN);
    };
    if asked.eq_ignore_ascii_case("latest") {
        return Some(COMPUTE_MAX);
    }
    let (a, b) = asked.split_once('.')?;
    let v = (a.parse().ok()?, b.parse().ok()?);
    (COMPUTE_MIN..=COMPUTE_MAX).contains(&v).then_some(v)
}

/// What the compute service answers at `p` (under `/v2.1`; the token is
/// already checked): 406 for a microversion it does not speak, else the
/// answer with the microversion echoed.
pub(super) fn route(
    s: &mut State,
    method: &Method,
    p: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<RespBody> {
    let Some((a, b)) = compute_microversion(headers) else {
        return json_resp(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"computeFault": {"code": 406, "message": format!(
                "Version {} is not supported by the API. Minimum is {}.{} and maximum is {}.{}.",
                headers.get("openstack-api-version").and_then(|v| v.to_str().ok()).unwrap_or("?"),
                COMPUTE_MIN.0, COMPUTE_MIN.1, COMPUTE_MAX.0, COMPUTE_MAX.1)}}),
        );
    };
    let mut r = servers_and_flavors(s, method, p, query, body);
    let v = format!("{a}.{b}");
    if let (Ok(h1), Ok(h2)) = (
        http::HeaderValue::from_str(&format!("compute {v}")),
        http::HeaderValue::from_str(&v),
    ) {
        r.headers_mut().insert("openstack-api-version", h1);
        r.headers_mut().insert("x-openstack-nova-api-version", h2);
        r.headers_mut().insert(
            "vary",
            http::HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
        );
    }
    r
}

/// Servers (list, detail, create, get, update, delete, actions) and flavors.
fn servers_and_flavors(
    s: &mut State,
    method: &Method,
    p: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Response<RespBody> {
    let base = s.base.clone();
    match (method.as_str(), p) {
        ("GET", "/v2.1") => json_resp(
            StatusCode::OK,
            &json!({"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
                    "links": [{"rel": "self", "href": format!("{base}/v2.1/")}]}}),
        ),
        ("GET", "/v2.1/servers" | "/v2.1/servers/detail") => {
            // Nova filters on the server side; here `name` and `status` match exactly.
            let all = s.servers.values().filter(|srv| {
                ["name", "status"].iter().all(|k| {
                    query
                        .get(*k)
                        .is_none_or(|want| srv[*k].as_str() == Some(want.as_str()))
                })
            });
            let (items, next) = page(all, query);
            // the summary list has id, name and links; the detail list everything
            let items: Vec<Value> = if p.ends_with("/detail") {
                items
            } else {
                items
                    .into_iter()
                    .map(|srv| json!({"id": srv["id"], "name": srv["name"],
                        "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{}", srv["id"].as_str().unwrap_or_default())}]}))
                    .collect()
            };
            let mut body = json!({"servers": items});
            if let Some(marker) = next {
                let limit = query
                    .get("limit")
                    .map(|l| format!("limit={l}&"))
                    .unwrap_or_default();
                body["servers_links"] =
                    json!([{"rel": "next", "href": format!("{base}{p}?{limit}marker={marker}")}]);
            }
            json_resp(StatusCode::OK, &body)
        }
        ("POST", "/v2.1/servers") => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": "Malformed request body"}}),
                );
            };
            let Some(name) = v["server"]["name"].as_str() else {
                return json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": "Invalid input for field/attribute server. Value: name is a required property"}}),
                );
            };
            let id = format!("f0000000-0000-4000-8000-{:012x}", s.next_id);
            s.next_id += 1;
            let flavor = v["server"]["flavorRef"].as_str().unwrap_or("1").to_string();
            let metadata = match &v["server"]["metadata"] {
                Value::Object(m) => Value::Object(m.clone()),
                _ => json!({}),
            };
            let server = json!({"id": id, "name": name, "status": "BUILD", "flavor": {"id": flavor},
                "metadata": metadata});
            s.servers.insert(id.clone(), server);
            // Nova answers a create with the id, links and the admin password only
            json_resp(
                StatusCode::ACCEPTED,
                &json!({"server": {"id": id, "adminPass": format!("pw{:08x}", fastrand::u32(..)),
                    "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
                    "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{id}")}]}}),
            )
        }
        ("GET", "/v2.1/flavors" | "/v2.1/flavors/detail") => {
            let all = flavors();
            let items: Vec<Value> = all
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    if p.ends_with("/detail") {
                        f.clone()
                    } else {
                        json!({"id": f["id"], "name": f["name"]})
                    }
                })
                .collect();
            json_resp(StatusCode::OK, &json!({"flavors": items}))
        }
        ("GET", _) if p.starts_with("/v2.1/flavors/") => {
            let id = p.trim_start_matches("/v2.1/flavors/");
            match flavors()
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["id"].as_str() == Some(id)).cloned())
            {
                Some(f) => json_resp(StatusCode::OK, &json!({"flavor": f})),
                None => not_found(&format!("Flavor {id}")),
            }
        }
        ("POST", _) if p.starts_with("/v2.1/servers/") && p.ends_with("/action") => {
            let id = p
                .trim_start_matches("/v2.1/servers/")
                .trim_end_matches("/action")
                .to_string();
            let action = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()));
            let Some(srv) = s.servers.get_mut(&id) else {
                return not_found(&format!("Instance {id}"));
            };
            match action.as_deref() {
                Some("reboot" | "os-start" | "resize" | "confirmResize" | "pause" | "unpause") => {
                    full(StatusCode::ACCEPTED, &[], Bytes::new())
                }
                Some("os-stop") => {
                    srv["status"] = json!("SHUTOFF");
                    full(StatusCode::ACCEPTED, &[], Bytes::new())
                }
                other => json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": format!("There is no such action: {}", other.unwrap_or(""))}}),
                ),
            }
        }
        (m, _) if p.starts_with("/v2.1/servers/") => {
            let id = p.trim_start_matches("/v2.1/servers/").to_string();
            match (m, s.servers.get_mut(&id)) {
                ("GET", Some(srv)) => json_resp(StatusCode::OK, &json!({"server": srv})),
                ("PUT", Some(srv)) => {
                    if let Ok(v) = serde_json::from_slice::<Value>(body)
                        && let (Some(upd), Some(obj)) =
                            (v["server"].as_object(), srv.as_object_mut())
                    {
                        for (k, val) in upd {
                            obj.insert(k.clone(), val.clone());
                        }
                    }
                    json_resp(StatusCode::OK, &json!({"server": srv}))
                }
                ("DELETE", Some(_)) => {
                    s.servers.remove(&id);
                    full(StatusCode::NO_CONTENT, &[], Bytes::new())
                }
                _ => not_found(&format!("Instance {id}")),
            }
        }
        _ => not_found(&format!("Resource {p}")),
    }
}

//! The fake block-storage service, shaped like Cinder v3 (under `/volume`):
//! version documents at `/volume/` and `/volume/v3/`, a project-scoped
//! endpoint (`/volume/v3/<project_id>`), microversions 3.0 to 3.71 checked
//! and echoed, volumes (create, show, list, detailed list with
//! `volumes_links`, update, delete, actions) whose transitional statuses
//! (`creating`, `extending`, `deleting`) end after the cloud's status
//! delay, in the error status a queued [`VolumeFailure`] asks for.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::ids::uuid4;
use super::request::{Caller, Req, next_query};
use super::state::{Settle, State, Volume, VolumeFailure};
use crate::reply::{RespBody, full, json_resp, not_found, webob_error};

/// The microversions the fake speaks.
const MIN: (u32, u32) = (3, 0);
const MAX: (u32, u32) = (3, 71);

/// The id of the default volume type (`__DEFAULT__`).
const DEFAULT_TYPE_ID: &str = "5fed9d7c-401d-46e2-8e80-f30c70cb7e1d";

/// Where volumes are when created (the scheduler's pick).
const HOST: &str = "apiclient-fake@fake-backend#fake-pool";

/// The statuses `os-reset_status` accepts.
const STATUSES: &[&str] = &[
    "available",
    "error",
    "creating",
    "deleting",
    "in-use",
    "attaching",
    "detaching",
    "error_deleting",
    "maintenance",
    "reserved",
    "error_extending",
    "extending",
    "error_restoring",
    "error_managing",
    "downloading",
    "uploading",
    "retyping",
    "backing-up",
    "restoring-backup",
];

/// The statuses a volume can be deleted in.
const DELETABLE: &[&str] = &[
    "available",
    "error",
    "error_restoring",
    "error_extending",
    "error_managing",
];

/// A time as Cinder shows it: naive UTC with microseconds.
fn cinder_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn now() -> String {
    cinder_time(OffsetDateTime::now_utc())
}

/// The version document (`GET /volume/v3/`, and the root's).
fn versions(base: &str) -> Value {
    json!({"versions": [{
        "id": "v3.0",
        "links": [
            {"href": "https://docs.openstack.org/", "rel": "describedby", "type": "text/html"},
            {"href": format!("{base}/volume/v3/"), "rel": "self"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
        "min_version": format!("{}.{}", MIN.0, MIN.1),
        "status": "CURRENT",
        "updated": "2023-08-31T00:00:00Z",
        "version": format!("{}.{}", MAX.0, MAX.1),
    }]})
}

/// The version documents, which need no token: `GET /volume/` (300),
/// `/volume/v3` (302 to `/volume/v3/`), `/volume/v3/` (200). None for
/// any other request.
pub(super) fn discovery(
    s: &State,
    method: &http::Method,
    raw_path: &str,
) -> Option<Response<RespBody>> {
    if method != http::Method::GET {
        return None;
    }
    match raw_path {
        "/volume" | "/volume/" => Some(json_resp(StatusCode::MULTIPLE_CHOICES, &versions(&s.base))),
        "/volume/v3" => Some(full(
            StatusCode::FOUND,
            &[("location", format!("{}/volume/v3/", s.base))],
            Bytes::new(),
        )),
        "/volume/v3/" => Some(json_resp(StatusCode::OK, &versions(&s.base))),
        _ => None,
    }
}

/// The microversion asked for: Ok(version), or the error answer.
fn microversion(headers: &HeaderMap) -> Result<(u32, u32), Box<Response<RespBody>>> {
    let asked = headers
        .get_all("openstack-api-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| item.trim().strip_prefix("volume "))
        .map(str::trim)
        .next_back();
    let Some(asked) = asked else {
        return Ok(MIN);
    };
    if asked.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let parsed = asked
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    let Some(v) = parsed else {
        return Err(Box::new(json_resp(
            StatusCode::BAD_REQUEST,
            &json!({"badRequest": {"code": 400, "message": format!(
                "API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum.")}}),
        )));
    };
    if !(MIN..=MAX).contains(&v) {
        return Err(Box::new(json_resp(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"computeFault": {"code": 406, "message": format!(
                "Version {asked} is not supported by the API. Minimum is {}.{} and maximum is {}.{}.",
                MIN.0, MIN.1, MAX.0, MAX.1)}}),
        )));
    }
    Ok(v)
}

fn bad_request(message: &str) -> Response<RespBody> {
    json_resp(
        StatusCode::BAD_REQUEST,
        &json!({"badRequest": {"code": 400, "message": message}}),
    )
}

/// The router's 404 (webob's JSON).
fn no_route() -> Response<RespBody> {
    webob_error(
        StatusCode::NOT_FOUND,
        "The resource could not be found.",
        "",
    )
}

/// End the transitions whose time has come.
fn settle(s: &mut State) {
    let now = Instant::now();
    let at = self::now();
    s.volumes.retain_mut(|v| match &v.pending {
        Some((when, settle)) if *when <= now => match settle.clone() {
            Settle::Gone => false,
            Settle::Status(status, size) => {
                v.body["status"] = json!(status);
                if let Some(size) = size {
                    v.body["size"] = json!(size);
                }
                if status == "available" {
                    v.body["os-vol-host-attr:host"] = json!(HOST);
                }
                v.body["updated_at"] = json!(at);
                v.pending = None;
                true
            }
        },
        _ => true,
    });
}

/// Whether the next operation `kind` is to fail (and take that failure).
fn failing(s: &mut State, kind: VolumeFailure) -> bool {
    match s.volume_failures.iter().position(|f| *f == kind) {
        Some(i) => {
            s.volume_failures.remove(i);
            true
        }
        None => false,
    }
}

/// How a volume is shown: at microversion `mv`, to an admin or not, with
/// the extended attributes (show, lists) or without (create, update).
fn view(v: &Value, mv: (u32, u32), admin: bool, extended: bool) -> Value {
    let mut out = v.as_object().cloned().unwrap_or_default();
    let drop = |out: &mut Map<String, Value>, keys: &[&str]| {
        for k in keys {
            out.remove(*k);
        }
    };
    const ADMIN_ATTRS: [&str; 3] = [
        "os-vol-host-attr:host",
        "os-vol-mig-status-attr:migstat",
        "os-vol-mig-status-attr:name_id",
    ];
    if !extended {
        drop(&mut out, &ADMIN_ATTRS);
        drop(&mut out, &["os-vol-tenant-attr:tenant_id"]);
    } else if !admin {
        drop(&mut out, &ADMIN_ATTRS);
    }
    // Cinder's view shows the migration status to an administrator only
    if !admin {
        drop(&mut out, &["migration_status"]);
    }
    if mv < (3, 13) {
        drop(&mut out, &["group_id"]);
    }
    if mv < (3, 21) || !admin {
        drop(&mut out, &["provider_id"]);
    }
    if mv < (3, 48) {
        drop(&mut out, &["service_uuid", "shared_targets"]);
    } else if mv < (3, 69) && out.get("shared_targets") == Some(&Value::Null) {
        out.insert("shared_targets".into(), json!(true));
    }
    if mv < (3, 61) || !admin {
        drop(&mut out, &["cluster_name"]);
    }
    if mv < (3, 63) {
        drop(&mut out, &["volume_type_id"]);
    }
    if mv < (3, 65) {
        drop(&mut out, &["consumes_quota"]);
    }
    Value::Object(out)
}

/// What the block-storage service answers under `/volume` (but for the
/// version documents; the token is already checked).
pub(super) fn route(s: &mut State, req: &Req, who: &Caller) -> Response<RespBody> {
    let rest = req.path.strip_prefix("/volume/v3/").unwrap_or_default();
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let Some((project, segs)) = segs.split_first() else {
        return no_route();
    };
    let known = matches!(
        (req.method.as_str(), segs),
        ("GET" | "POST", ["volumes"])
            | ("GET", ["volumes", "detail"])
            | ("GET" | "PUT" | "DELETE", ["volumes", _])
            | ("POST", ["volumes", _, "action"])
    );
    if !known {
        return no_route();
    }
    let mv = match microversion(req.headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut r = if *project != who.project_id {
        bad_request("Malformed request url")
    } else {
        settle(s);
        volumes(s, req, who, mv, project, segs)
    };
    if let Ok(v) = http::HeaderValue::from_str(&format!("volume {}.{}", mv.0, mv.1)) {
        r.headers_mut().insert("openstack-api-version", v);
        r.headers_mut().insert(
            "vary",
            http::HeaderValue::from_static("OpenStack-API-Version"),
        );
    }
    r
}

fn volumes(
    s: &mut State,
    req: &Req,
    who: &Caller,
    mv: (u32, u32),
    project: &str,
    segs: &[&str],
) -> Response<RespBody> {
    match (req.method.as_str(), segs) {
        ("GET", ["volumes"]) => list(s, req, who, mv, project, false),
        ("GET", ["volumes", "detail"]) => list(s, req, who, mv, project, true),
        ("POST", ["volumes"]) => create(s, req, who, mv, project),
        (m, ["volumes", id, rest @ ..]) => {
            let Some(i) = s
                .volumes
                .iter()
                // an admin reaches any project's volume by id, as in Cinder
                .position(|v| v.body["id"] == *id && (who.admin || v.project == project))
            else {
                return not_found(&format!("Volume {id}"));
            };
            match (m, rest) {
                ("GET", []) => json_resp(
                    StatusCode::OK,
                    &json!({"volume": view(&s.volumes[i].body, mv, who.admin, true)}),
                ),
                ("PUT", []) => update(s, req, who, mv, i),
                ("DELETE", []) => delete(s, i),
                _ => action(s, req, who, i),
            }
        }
        _ => no_route(),
    }
}

fn list(
    s: &State,
    req: &Req,
    who: &Caller,
    mv: (u32, u32),
    project: &str,
    detail: bool,
) -> Response<RespBody> {
    let limit = match req.param("limit").map(str::parse::<usize>) {
        None => 1000,
        Some(Ok(n)) => n.min(1000),
        Some(Err(_)) => return bad_request("limit param must be an integer"),
    };
    let all_tenants = who.admin && req.param("all_tenants").is_some_and(|v| v != "0");
    // newest first, as Cinder sorts by default
    let mine = s
        .volumes
        .iter()
        .rev()
        .filter(|v| all_tenants || v.project == project)
        .map(|v| &v.body);
    let mut items: Vec<&Value> = mine
        .filter(|v| {
            ["name", "status", "bootable"]
                .iter()
                .all(|k| req.param(k).is_none_or(|want| v[*k].as_str() == Some(want)))
        })
        .collect();
    if let Some(m) = req.param("marker") {
        match items.iter().position(|v| v["id"] == m) {
            Some(p) => items.drain(..=p).for_each(drop),
            None => return not_found(&format!("Marker {m}")),
        }
    }
    items.truncate(limit);
    let shown: Vec<Value> = items
        .iter()
        .map(|v| {
            if detail {
                view(v, mv, who.admin, true)
            } else {
                json!({"id": v["id"], "links": v["links"], "name": v["name"]})
            }
        })
        .collect();
    let mut body = json!({"volumes": shown});
    if limit > 0
        && items.len() == limit
        && let Some(last) = items.last().and_then(|v| v["id"].as_str())
    {
        let path = if detail { "volumes/detail" } else { "volumes" };
        body["volumes_links"] = json!([{"rel": "next", "href": format!(
            "{}/volume/v3/{project}/{path}?{}", s.base, next_query(req.query, last))}]);
    }
    json_resp(StatusCode::OK, &body)
}

/// The body's `volume` member, or the 400 Cinder answers.
fn volume_member(body: &[u8]) -> Result<Map<String, Value>, Box<Response<RespBody>>> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(Box::new(bad_request("Malformed request body")));
    };
    match v.get("volume") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(Box::new(bad_request(
            "Missing required element 'volume' in request body.",
        ))),
    }
}

/// Whether `v` is a map of strings (volume metadata).
fn is_metadata(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.values().all(Value::is_string))
}

fn create(
    s: &mut State,
    req: &Req,
    who: &Caller,
    mv: (u32, u32),
    project: &str,
) -> Response<RespBody> {
    let fields = match volume_member(req.body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let size = match fields.get("size") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(t)) => t.parse::<u64>().ok(),
        _ => None,
    };
    let Some(size) = size.filter(|n| *n > 0) else {
        let shown = fields.get("size").map_or("None".to_string(), |v| match v {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        });
        return bad_request(&format!(
            "Invalid input received: Volume size '{shown}' must be an integer and greater than 0"
        ));
    };
    for k in ["name", "description"] {
        if fields
            .get(k)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return bad_request(&format!(
                "Invalid input for field/attribute {k}. Value: {}. It is not of type 'string', 'null'",
                fields[k]
            ));
        }
    }
    if fields.get("metadata").is_some_and(|m| !is_metadata(m)) {
        return bad_request("Invalid input received: Invalid metadata: values must be strings.");
    }
    match fields.get("availability_zone") {
        None | Some(Value::Null) => {}
        Some(Value::String(az)) if az == "nova" => {}
        Some(other) => {
            return bad_request(&format!(
                "Invalid input received: Availability zone '{}' is invalid.",
                other.as_str().unwrap_or_default()
            ));
        }
    }
    match fields.get("volume_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == "__DEFAULT__" || t == DEFAULT_TYPE_ID => {}
        Some(other) => {
            return not_found(&format!(
                "Volume type with name {}",
                other.as_str().unwrap_or_default()
            ));
        }
    }
    let id = uuid4();
    let base = &s.base;
    let body = json!({
        "attachments": [],
        "availability_zone": "nova",
        "bootable": "false",
        "consistencygroup_id": null,
        "created_at": now(),
        "description": fields.get("description").cloned().unwrap_or(Value::Null),
        "encrypted": false,
        "id": id,
        "links": [
            {"href": format!("{base}/volume/v3/{project}/volumes/{id}"), "rel": "self"},
            {"href": format!("{base}/volume/{project}/volumes/{id}"), "rel": "bookmark"}
        ],
        "metadata": fields.get("metadata").cloned().unwrap_or_else(|| json!({})),
        "migration_status": null,
        "multiattach": fields.get("multiattach").and_then(Value::as_bool).unwrap_or(false),
        "name": fields.get("name").cloned().unwrap_or(Value::Null),
        "os-vol-host-attr:host": null,
        "os-vol-mig-status-attr:migstat": null,
        "os-vol-mig-status-attr:name_id": null,
        "os-vol-tenant-attr:tenant_id": project,
        "replication_status": null,
        "size": size,
        "snapshot_id": null,
        "source_volid": null,
        "status": "creating",
        "updated_at": null,
        "user_id": who.user_id,
        "volume_type": "__DEFAULT__",
        "group_id": null,
        "provider_id": null,
        "service_uuid": null,
        "shared_targets": null,
        "cluster_name": null,
        "volume_type_id": DEFAULT_TYPE_ID,
        "consumes_quota": true,
    });
    let outcome = if failing(s, VolumeFailure::Create) {
        "error"
    } else {
        "available"
    };
    let shown = json!({"volume": view(&body, mv, who.admin, false)});
    s.volumes.push(Volume {
        body,
        project: project.to_string(),
        pending: Some((
            Instant::now() + s.status_delay,
            Settle::Status(outcome, None),
        )),
    });
    json_resp(StatusCode::ACCEPTED, &shown)
}

fn update(s: &mut State, req: &Req, who: &Caller, mv: (u32, u32), i: usize) -> Response<RespBody> {
    let fields = match volume_member(req.body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Some(k) = fields
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "description" | "metadata"))
    {
        return bad_request(&format!(
            "Invalid input for field/attribute volume. Value: {}. Additional properties are not allowed ('{k}' was unexpected)",
            Value::Object(fields.clone())
        ));
    }
    if fields.get("metadata").is_some_and(|m| !is_metadata(m)) {
        return bad_request("Invalid input received: Invalid metadata: values must be strings.");
    }
    let v = &mut s.volumes[i].body;
    for (k, val) in fields {
        v[k.as_str()] = val;
    }
    v["updated_at"] = json!(now());
    json_resp(
        StatusCode::OK,
        &json!({"volume": view(v, mv, who.admin, false)}),
    )
}

fn delete(s: &mut State, i: usize) -> Response<RespBody> {
    let status = s.volumes[i].body["status"].as_str().unwrap_or_default();
    if !DELETABLE.contains(&status) {
        return bad_request(
            "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.",
        );
    }
    let settle = if failing(s, VolumeFailure::Delete) {
        Settle::Status("error_deleting", None)
    } else {
        Settle::Gone
    };
    let when = Instant::now() + s.status_delay;
    let v = &mut s.volumes[i];
    v.body["status"] = json!("deleting");
    v.body["updated_at"] = json!(now());
    v.pending = Some((when, settle));
    full(StatusCode::ACCEPTED, &[], Bytes::new())
}

/// `true`/`false` (or their strings) as a bool.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(t) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn action(s: &mut State, req: &Req, who: &Caller, i: usize) -> Response<RespBody> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body) else {
        return bad_request("Malformed request body");
    };
    let Some((name, args)) = body.iter().next() else {
        return bad_request("Malformed request body");
    };
    let accepted = || full(StatusCode::ACCEPTED, &[], Bytes::new());
    match name.as_str() {
        "os-extend" => {
            let new_size = match &args["new_size"] {
                Value::Number(n) => n.as_u64(),
                Value::String(t) => t.parse().ok(),
                _ => None,
            };
            let Some(new_size) = new_size else {
                return bad_request(&format!(
                    "Invalid input for field/attribute new_size. Value: {}. It is not an integer",
                    args["new_size"]
                ));
            };
            let v = &s.volumes[i].body;
            let (id, status) = (
                v["id"].as_str().unwrap_or_default(),
                v["status"].as_str().unwrap_or_default(),
            );
            if status != "available" {
                return bad_request(&format!(
                    "Invalid volume: Volume {id} status must be available to extend, but current status is: {status}."
                ));
            }
            let size = v["size"].as_u64().unwrap_or(0);
            if new_size <= size {
                return bad_request(&format!(
                    "Invalid input received: New size for extend must be greater than current size. (current: {size}, extended: {new_size})."
                ));
            }
            let settle = if failing(s, VolumeFailure::Extend) {
                Settle::Status("error_extending", None)
            } else {
                Settle::Status("available", Some(new_size))
            };
            let when = Instant::now() + s.status_delay;
            let v = &mut s.volumes[i];
            v.body["status"] = json!("extending");
            v.pending = Some((when, settle));
            accepted()
        }
        "os-reset_status" => {
            if !who.admin {
                return json_resp(
                    StatusCode::FORBIDDEN,
                    &json!({"forbidden": {"code": 403, "message":
                        "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be performed."}}),
                );
            }
            let status = args["status"].as_str().unwrap_or_default();
            if !STATUSES.contains(&status) {
                return bad_request(&format!(
                    "Invalid input for field/attribute status. Value: {}. It is not one of the volume statuses",
                    args["status"]
                ));
            }
            let v = &mut s.volumes[i];
            v.body["status"] = json!(status);
            v.body["updated_at"] = json!(now());
            v.pending = None;
            accepted()
        }
        "os-set_bootable" => {
            let Some(bootable) = boolean(&args["bootable"]) else {
                return bad_request(&format!(
                    "Invalid input for field/attribute bootable. Value: {}. It is not a boolean",
                    args["bootable"]
                ));
            };
            s.volumes[i].body["bootable"] = json!(bootable.to_string());
            full(StatusCode::OK, &[], Bytes::new())
        }
        other => bad_request(&format!("There is no such action: {other}")),
    }
}

//! The fake image service, shaped like Glance v2 (under `/image`): images
//! with every field Glance shows, marker pagination with relative `next`
//! links, JSON-Patch updates, tags, delete, streamed data (upload with the
//! MD5 and SHA-512 computed as the bytes arrive, download with
//! `Content-MD5`), and the glance-direct import (stage, import, `active`
//! after the cloud's status delay). Errors are webob's JSON, as Glance's.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use md5::Md5;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::AsyncWriteExt;

use super::ids::uuid4;
use super::request::{Caller, Req, media_type, next_query};
use super::state::{DataSource, FakeImage, ImageData, State};
use crate::reply::{BoxError, RespBody, full, json_resp, webob_error};

/// The media type of a Glance image update.
const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

/// What only Glance sets (403 on create or patch).
const READ_ONLY: &[&str] = &[
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
];

/// What nobody sets (403).
const RESERVED: &[&str] = &["location", "deleted", "deleted_at"];

/// The image's own members (everything else is an additional property).
const BASE: &[&str] = &[
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "min_disk",
    "min_ram",
    "protected",
    "os_hidden",
    "tags",
    "owner",
];

const DISK_FORMATS: &[&str] = &[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];
const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];

/// Glance's default page size and its cap (`limit_param_default`, `api_limit_max`).
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// A time as Glance shows it: `2024-05-01T12:00:00Z`.
fn glance_time(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

fn now() -> String {
    glance_time(OffsetDateTime::now_utc())
}

/// Whether `s` is a UUID (hex, 8-4-4-4-12, dashes optional).
fn is_uuid(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && (s.len() == 32 || s.split('-').map(str::len).eq([8, 4, 4, 4, 12]))
}

/// A new image's JSON: queued, no data, Glance's defaults.
fn new_image(id: &str, owner: &str) -> Value {
    let at = now();
    json!({
        "id": id, "name": null, "status": "queued", "visibility": "shared",
        "disk_format": null, "container_format": null, "size": null, "virtual_size": null,
        "checksum": null, "os_hash_algo": null, "os_hash_value": null,
        "min_disk": 0, "min_ram": 0, "protected": false, "os_hidden": false, "tags": [],
        "owner": owner, "created_at": at, "updated_at": at,
        "self": format!("/v2/images/{id}"), "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    })
}

/// The data's digests as Glance records them.
fn data_of(source: DataSource, size: u64, md5: Md5, sha512: Sha512) -> ImageData {
    ImageData {
        source,
        size,
        md5: hex::encode(md5.finalize()),
        sha512: hex::encode(sha512.finalize()),
    }
}

/// `image` with `data` as its data: its size and digests set.
fn set_data(image: &mut Value, data: &ImageData) {
    image["size"] = json!(data.size);
    image["checksum"] = json!(data.md5);
    image["os_hash_algo"] = json!("sha512");
    image["os_hash_value"] = json!(data.sha512);
}

/// Seeded image `i`: `img-<i>` (six digits), `image-<i>`, public, active,
/// owned by the admin project, with a few bytes of data.
pub(super) fn seeded_image(i: usize) -> FakeImage {
    let id = format!("img-{i:06}");
    let mut body = new_image(&id, "p-admin");
    body["name"] = json!(format!("image-{i}"));
    body["status"] = json!("active");
    body["visibility"] = json!("public");
    body["disk_format"] = json!("raw");
    body["container_format"] = json!("bare");
    let bytes = Bytes::from(format!("the data of image-{i}\n"));
    let data = data_of(
        DataSource::Bytes(bytes.clone()),
        bytes.len() as u64,
        Md5::new_with_prefix(&bytes),
        Sha512::new_with_prefix(&bytes),
    );
    set_data(&mut body, &data);
    FakeImage {
        body,
        data: Some(data),
        staged: None,
        import_done: None,
    }
}

/// A Glance error: webob's JSON with this explanation.
fn error(status: StatusCode, explanation: &str) -> Response<RespBody> {
    webob_error(status, explanation, "")
}

fn no_image(id: &str) -> Response<RespBody> {
    error(
        StatusCode::NOT_FOUND,
        &format!("No image found with ID {id}"),
    )
}

fn schema_error(detail: &str) -> Response<RespBody> {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Provided object does not match schema 'image': {detail}"),
    )
}

/// Whether `who` sees `image`: its owner, the admin, or anyone for a
/// public or community image (shared images have no members here).
fn visible(image: &Value, who: &Caller) -> bool {
    who.admin
        || image["owner"].as_str() == Some(who.project_id.as_str())
        || matches!(image["visibility"].as_str(), Some("public" | "community"))
}

/// Whether `who` may change `image`: its owner or the admin.
fn owns(image: &Value, who: &Caller) -> bool {
    who.admin || image["owner"].as_str() == Some(who.project_id.as_str())
}

/// Finish the imports whose time has come.
fn settle(s: &mut State) {
    let now = Instant::now();
    for img in &mut s.images {
        if img.import_done.is_some_and(|at| at <= now) {
            img.import_done = None;
            if let Some(data) = img.staged.take() {
                set_data(&mut img.body, &data);
                img.data = Some(data);
            }
            img.body["status"] = json!("active");
            img.body["updated_at"] = json!(self::now());
        }
    }
}

/// The path's segments after `/image`, percent-decoded.
fn segments(path: &str) -> Vec<String> {
    path.strip_prefix("/image")
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// What the image service answers to a buffered request (under `/image`;
/// the token is already checked).
pub(super) fn route(s: &mut State, req: &Req, who: &Caller) -> Response<RespBody> {
    settle(s);
    let segs = segments(req.path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    match (method, segs.as_slice()) {
        ("GET", ["v2", "images"]) => list(s, req, who),
        ("POST", ["v2", "images"]) => create(s, req, who),
        ("GET", ["v2", "images", id]) => match find(s, id, who) {
            Some(i) => json_resp(StatusCode::OK, &s.images[i].body),
            None => no_image(id),
        },
        ("PATCH", ["v2", "images", id]) => patch(s, req, id, who),
        ("DELETE", ["v2", "images", id]) => delete(s, id, who),
        (m @ ("PUT" | "DELETE"), ["v2", "images", id, "tags", tag]) => {
            tags(s, m == "PUT", id, tag, who)
        }
        ("POST", ["v2", "images", id, "import"]) => import(s, req, id, who),
        ("GET", ["v2", "info", "import"]) => json_resp(
            StatusCode::OK,
            &json!({"import-methods": {"description": "Import methods available.", "type": "array",
                "value": ["glance-direct"]}}),
        ),
        (_, ["v2", "images"] | ["v2", "images", _] | ["v2", "images", _, "tags", _]) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for this resource.",
        ),
        _ => error(StatusCode::NOT_FOUND, "The resource could not be found."),
    }
}

/// The index of image `id` if `who` sees it.
fn find(s: &State, id: &str, who: &Caller) -> Option<usize> {
    s.images
        .iter()
        .position(|i| i.body["id"].as_str() == Some(id) && visible(&i.body, who))
}

fn list(s: &State, req: &Req, who: &Caller) -> Response<RespBody> {
    let limit = match req.param("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
            Ok(_) => return error(StatusCode::BAD_REQUEST, "limit param must be positive"),
            Err(_) => return error(StatusCode::BAD_REQUEST, "limit param must be an integer"),
        },
    };
    let start = match req.param("marker") {
        None => 0,
        Some(m) => match find(s, m, who) {
            Some(i) => i + 1,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Image with identifier {m} not found"),
                );
            }
        },
    };
    let hidden = req.param("os_hidden") == Some("true");
    let shown_visibility = req.param("visibility");
    let matches = |img: &Value| {
        visible(img, who)
            && img["os_hidden"].as_bool().unwrap_or(false) == hidden
            && match shown_visibility {
                None => img["visibility"] != "community",
                Some("all") => true,
                Some(v) => img["visibility"] == v,
            }
            && req.query.iter().all(|(k, v)| filter(img, k, v))
    };
    let page: Vec<Value> = s.images[start.min(s.images.len())..]
        .iter()
        .map(|i| &i.body)
        .filter(|b| matches(b))
        .take(limit)
        .cloned()
        .collect();
    let rest: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "marker")
        .cloned()
        .collect();
    let first = if rest.is_empty() {
        "/v2/images".to_string()
    } else {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&rest)
            .finish();
        format!("/v2/images?{q}")
    };
    let mut body = json!({"images": page, "first": first, "schema": "/v2/schemas/images"});
    // as Glance: a full page links to the next one (which may be empty)
    if limit > 0
        && page.len() == limit
        && let Some(last) = page.last().and_then(|l| l["id"].as_str())
    {
        body["next"] = json!(format!("/v2/images?{}", next_query(req.query, last)));
    }
    json_resp(StatusCode::OK, &body)
}

/// Whether `img` passes the query filter `k=v` (keys that are no filter pass).
fn filter(img: &Value, k: &str, v: &str) -> bool {
    match k {
        "limit" | "marker" | "sort_key" | "sort_dir" | "sort" | "member_status" | "created_at"
        | "updated_at" | "visibility" | "os_hidden" => true,
        "tag" => img["tags"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == v)),
        "protected" => img["protected"].as_bool() == v.parse::<bool>().ok(),
        "size_min" => v
            .parse::<u64>()
            .is_ok_and(|min| img["size"].as_u64().is_some_and(|s| s >= min)),
        "size_max" => v
            .parse::<u64>()
            .is_ok_and(|max| img["size"].as_u64().is_some_and(|s| s <= max)),
        // a member (name, status, owner, formats) or an additional property
        _ => img.get(k).and_then(Value::as_str) == Some(v),
    }
}

/// Check that `value` fits member `key` (Glance's image schema, in short).
fn check_member(key: &str, value: &Value) -> Result<(), String> {
    let one_of = |allowed: &[&str], nullable: bool| match value {
        Value::Null if nullable => Ok(()),
        Value::String(s) if allowed.contains(&s.as_str()) => Ok(()),
        other => Err(format!("{other} is not one of {allowed:?}")),
    };
    match key {
        "name" => match value {
            Value::Null => Ok(()),
            Value::String(s) if s.chars().count() <= 255 => Ok(()),
            other => Err(format!(
                "{other} is not of type 'null', 'string' (at most 255)"
            )),
        },
        "disk_format" => one_of(DISK_FORMATS, true),
        "container_format" => one_of(CONTAINER_FORMATS, true),
        "visibility" => one_of(VISIBILITIES, false),
        "min_disk" | "min_ram" => match value.as_u64() {
            Some(_) => Ok(()),
            None => Err(format!("{value} is not of type 'integer' (minimum 0)")),
        },
        "protected" | "os_hidden" => match value {
            Value::Bool(_) => Ok(()),
            other => Err(format!("{other} is not of type 'boolean'")),
        },
        "tags" => match value.as_array() {
            Some(tags) if tags.iter().all(Value::is_string) => Ok(()),
            _ => Err(format!("{value} is not an array of strings")),
        },
        "owner" => match value {
            Value::Null | Value::String(_) => Ok(()),
            other => Err(format!("{other} is not of type 'null', 'string'")),
        },
        // an additional property: a string
        _ => match value {
            Value::String(_) => Ok(()),
            other => Err(format!("{other} is not of type 'string'")),
        },
    }
}

/// 403 for what no client may set (`key`), else None.
fn forbidden_key(key: &str) -> Option<Response<RespBody>> {
    if READ_ONLY.contains(&key) {
        return Some(error(
            StatusCode::FORBIDDEN,
            &format!("Attribute '{key}' is read-only."),
        ));
    }
    if RESERVED.contains(&key) || key.starts_with("os_glance") {
        return Some(error(
            StatusCode::FORBIDDEN,
            &format!("Attribute '{key}' is reserved."),
        ));
    }
    None
}

fn publicize_forbidden() -> Response<RespBody> {
    error(
        StatusCode::FORBIDDEN,
        "You are not authorized to complete publicize_image action.",
    )
}

/// A deduplicated tag list, in first-seen order.
fn unique_tags(tags: &Value) -> Value {
    let mut seen = Vec::<&Value>::new();
    for t in tags.as_array().into_iter().flatten() {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    json!(seen)
}

fn create(s: &mut State, req: &Req, who: &Caller) -> Response<RespBody> {
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return error(StatusCode::BAD_REQUEST, "Malformed JSON in request body.");
    };
    let Value::Object(fields) = body else {
        return schema_error(&format!("{body} is not of type 'object'"));
    };
    let id = match fields.get("id") {
        None => uuid4(),
        Some(Value::String(id)) if is_uuid(id) => id.clone(),
        Some(other) => return schema_error(&format!("{other} is not a 'uuid'")),
    };
    if s.images.iter().any(|i| i.body["id"] == id.as_str()) {
        return error(
            StatusCode::CONFLICT,
            &format!("Image with identifier {id} already exists!"),
        );
    }
    let mut image = new_image(&id, &who.project_id);
    for (k, v) in &fields {
        if k == "id" {
            continue;
        }
        if let Some(refused) = forbidden_key(k) {
            return refused;
        }
        if let Err(e) = check_member(k, v) {
            return schema_error(&e);
        }
        if k == "visibility" && v == "public" && !who.admin {
            return publicize_forbidden();
        }
        image[k.as_str()] = if k == "tags" {
            unique_tags(v)
        } else {
            v.clone()
        };
    }
    let resp = json_resp(StatusCode::CREATED, &image);
    s.images.push(FakeImage {
        body: image,
        data: None,
        staged: None,
        import_done: None,
    });
    resp
}

fn delete(s: &mut State, id: &str, who: &Caller) -> Response<RespBody> {
    let Some(i) = find(s, id, who) else {
        return no_image(id);
    };
    let img = &s.images[i].body;
    if !owns(img, who) {
        return error(
            StatusCode::FORBIDDEN,
            "You are not authorized to complete delete_image action.",
        );
    }
    if img["protected"] == true {
        return error(
            StatusCode::FORBIDDEN,
            &format!("Image {id} is protected and cannot be deleted."),
        );
    }
    let gone = s.images.remove(i);
    for data in [gone.data, gone.staged].into_iter().flatten() {
        if let DataSource::File(f) = data.source {
            let _ = std::fs::remove_file(f);
        }
    }
    full(StatusCode::NO_CONTENT, &[], Bytes::new())
}

fn tags(s: &mut State, add: bool, id: &str, tag: &str, who: &Caller) -> Response<RespBody> {
    let Some(i) = find(s, id, who) else {
        return no_image(id);
    };
    if !owns(&s.images[i].body, who) {
        return error(
            StatusCode::FORBIDDEN,
            "You are not authorized to complete modify_image action.",
        );
    }
    let img = &mut s.images[i].body;
    let mut tags: Vec<Value> = img["tags"].as_array().cloned().unwrap_or_default();
    let had = tags.iter().any(|t| t == tag);
    match (add, had) {
        (true, false) => tags.push(json!(tag)),
        (false, true) => tags.retain(|t| t != tag),
        (true, true) => {}
        (false, false) => return error(StatusCode::NOT_FOUND, "The resource could not be found."),
    }
    img["tags"] = json!(tags);
    img["updated_at"] = json!(now());
    full(StatusCode::NO_CONTENT, &[], Bytes::new())
}

/// One JSON-Patch operation, checked: (op, member, value).
type Change = (String, String, Option<Value>);

/// The operations of a JSON-Patch body (draft 10, top-level members only).
fn changes(body: &[u8]) -> Result<Vec<Change>, Box<Response<RespBody>>> {
    let bad = |m: &str| Box::new(error(StatusCode::BAD_REQUEST, m));
    let Ok(Value::Array(ops)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad(
            "Request body must be a JSON array of operation objects.",
        ));
    };
    let mut out = Vec::new();
    for op in ops {
        let Value::Object(op) = op else {
            return Err(bad("Operations must be JSON objects."));
        };
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        if !matches!(name, "add" | "replace" | "remove") {
            return Err(bad(&format!(
                "Invalid operation: `{name}`. It must be one of the following: add, remove, replace."
            )));
        }
        let Some(path) = op.get("path").and_then(Value::as_str) else {
            return Err(bad("Unable to find `path` in JSON Schema change"));
        };
        let member = match path.strip_prefix('/') {
            Some(m) if !m.is_empty() && !m.contains('/') => m.replace("~1", "/").replace("~0", "~"),
            _ => {
                return Err(bad(&format!(
                    "Invalid JSON pointer for this resource: '{path}'"
                )));
            }
        };
        let value = op.get("value").cloned();
        if name != "remove" && value.is_none() {
            return Err(bad(&format!(
                "Operation \"{name}\" requires a member named \"value\"."
            )));
        }
        out.push((name.to_string(), member, value));
    }
    Ok(out)
}

fn patch(s: &mut State, req: &Req, id: &str, who: &Caller) -> Response<RespBody> {
    if req.media_type() != Some(JSON_PATCH) {
        let mut r = error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "The request media type {} is not supported by this server.",
                req.media_type().unwrap_or("None")
            ),
        );
        r.headers_mut()
            .insert("accept-patch", http::HeaderValue::from_static(JSON_PATCH));
        return r;
    }
    let Some(i) = find(s, id, who) else {
        return no_image(id);
    };
    if !owns(&s.images[i].body, who) {
        return error(
            StatusCode::FORBIDDEN,
            "You are not authorized to complete modify_image action.",
        );
    }
    let changes = match changes(req.body) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    // applied to a copy: one refused operation changes nothing
    let mut image = s.images[i].body.clone();
    for (op, key, value) in changes {
        if let Some(refused) = forbidden_key(&key) {
            return refused;
        }
        let base = BASE.contains(&key.as_str());
        let Value::Object(fields) = &mut image else {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "not an object");
        };
        match (op.as_str(), value) {
            ("remove", _) if base => {
                return error(
                    StatusCode::FORBIDDEN,
                    &format!("Property {key} may not be removed."),
                );
            }
            ("remove", _) => {
                if fields.remove(&key).is_none() {
                    return conflict(&format!("Property {key} does not exist."));
                }
            }
            ("replace", _) if !base && !fields.contains_key(&key) => {
                return conflict(&format!("Property {key} does not exist."));
            }
            (_, Some(value)) => {
                if let Err(e) = check_member(&key, &value) {
                    return schema_error(&e);
                }
                if matches!(key.as_str(), "disk_format" | "container_format")
                    && fields.get("status").and_then(Value::as_str) != Some("queued")
                {
                    return error(
                        StatusCode::FORBIDDEN,
                        &format!("Attribute {key} can be only replaced for a queued image."),
                    );
                }
                if key == "visibility" && value == "public" && !who.admin {
                    return publicize_forbidden();
                }
                let value = if key == "tags" {
                    unique_tags(&value)
                } else {
                    value
                };
                fields.insert(key, value);
            }
            (_, None) => return error(StatusCode::BAD_REQUEST, "a value is required"),
        }
    }
    image["updated_at"] = json!(now());
    s.images[i].body = image.clone();
    json_resp(StatusCode::OK, &image)
}

/// webob's 409: its explanation, then Glance's message as the detail.
fn conflict(detail: &str) -> Response<RespBody> {
    webob_error(
        StatusCode::CONFLICT,
        "There was a conflict when trying to complete your request.",
        detail,
    )
}

fn import(s: &mut State, req: &Req, id: &str, who: &Caller) -> Response<RespBody> {
    let Some(i) = find(s, id, who) else {
        return no_image(id);
    };
    let method = serde_json::from_slice::<Value>(req.body)
        .ok()
        .and_then(|v| {
            v.pointer("/method/name")
                .and_then(Value::as_str)
                .map(String::from)
        });
    let Some(method) = method else {
        return error(
            StatusCode::BAD_REQUEST,
            "Import request requires a 'method' field.",
        );
    };
    if method != "glance-direct" {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Import method {method} is not valid."),
        );
    }
    let delay = s.status_delay;
    let img = &mut s.images[i];
    if img.body["status"] != "uploading" || img.staged.is_none() {
        return conflict("Image needs to be staged before 'glance-direct' method can be used");
    }
    img.body["status"] = json!("importing");
    img.body["updated_at"] = json!(now());
    img.import_done = Some(Instant::now() + delay);
    settle(s);
    full(StatusCode::ACCEPTED, &[], Bytes::new())
}

/// The image requests whose bodies stream: the data's upload and stage
/// (`PUT /v2/images/{id}/file|stage`) and download (`GET .../file`).
pub(super) fn streams(method: &Method, path: &str) -> bool {
    let segs = segments(path);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    matches!(
        (method.as_str(), segs.as_slice()),
        ("PUT", ["v2", "images", _, "file" | "stage"]) | ("GET", ["v2", "images", _, "file"])
    )
}

/// A streamed image request (see [`streams`]; the token is already checked).
pub(super) async fn stream(
    state: &Arc<Mutex<State>>,
    parts: &http::request::Parts,
    body: Incoming,
    who: &Caller,
) -> Response<RespBody> {
    let segs = segments(parts.uri.path());
    let (Some(id), Some(what)) = (segs.get(2), segs.get(3)) else {
        return error(StatusCode::NOT_FOUND, "The resource could not be found.");
    };
    if parts.method == Method::GET {
        return download(state, id, who).await;
    }
    let stage = what == "stage";
    if media_type(&parts.headers) != Some("application/octet-stream") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Invalid content type {}",
                media_type(&parts.headers).unwrap_or("None")
            ),
        );
    }
    let file = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        settle(&mut s);
        let Some(i) = find(&s, id, who) else {
            return no_image(id);
        };
        if !owns(&s.images[i].body, who) {
            return error(
                StatusCode::FORBIDDEN,
                "You are not authorized to complete upload_image action.",
            );
        }
        let to = if stage { "uploading" } else { "saving" };
        let status = s.images[i].body["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if status != "queued" {
            return conflict(&format!(
                "Image status transition from {status} to {to} is not allowed"
            ));
        }
        s.images[i].body["status"] = json!(to);
        let n = s.next();
        s.data_dir.path().join(format!("image-{n}"))
    };
    let received = receive(&file, body).await;
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let found = s.images.iter().position(|i| i.body["id"] == id.as_str());
    let (Ok(data), Some(i)) = (received, found) else {
        let _ = std::fs::remove_file(&file);
        return match found {
            // the upload failed: the image is queued again, as Glance leaves it
            Some(i) => {
                s.images[i].body["status"] = json!("queued");
                error(
                    StatusCode::BAD_REQUEST,
                    "Error in upload: the data did not all arrive.",
                )
            }
            None => error(
                StatusCode::GONE,
                &format!(
                    "Image {id} could not be found after upload. The image may have been deleted during the upload."
                ),
            ),
        };
    };
    let img = &mut s.images[i];
    img.body["updated_at"] = json!(now());
    if stage {
        img.staged = Some(data);
    } else {
        set_data(&mut img.body, &data);
        img.body["status"] = json!("active");
        img.data = Some(data);
    }
    full(StatusCode::NO_CONTENT, &[], Bytes::new())
}

/// Write `body` to `file` as it arrives, hashing it on the way.
async fn receive(file: &std::path::Path, body: Incoming) -> Result<ImageData, BoxError> {
    let mut out = tokio::fs::File::create(file).await?;
    let (mut md5, mut sha512, mut size) = (Md5::new(), Sha512::new(), 0u64);
    let mut stream = std::pin::pin!(body.into_data_stream());
    while let Some(chunk) = stream.try_next().await? {
        md5.update(&chunk);
        sha512.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    Ok(data_of(
        DataSource::File(file.to_path_buf()),
        size,
        md5,
        sha512,
    ))
}

/// `GET /v2/images/{id}/file`: the data, streamed, with its length and
/// `Content-MD5`; 204 when there is none.
async fn download(state: &Arc<Mutex<State>>, id: &str, who: &Caller) -> Response<RespBody> {
    let data = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        settle(&mut s);
        let Some(i) = find(&s, id, who) else {
            return no_image(id);
        };
        match &s.images[i].data {
            Some(data) => data.clone(),
            None => return full(StatusCode::NO_CONTENT, &[], Bytes::new()),
        }
    };
    let headers = [
        ("content-type", "application/octet-stream".to_string()),
        ("content-md5", data.md5.clone()),
        ("content-length", data.size.to_string()),
    ];
    match data.source {
        DataSource::Bytes(b) => full(StatusCode::OK, &headers, b),
        DataSource::File(f) => {
            let Ok(file) = tokio::fs::File::open(&f).await else {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "The image data is gone.");
            };
            let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
                .map_ok(http_body::Frame::data)
                .map_err(|e| Box::new(e) as BoxError);
            let mut r = Response::new(http_body_util::StreamBody::new(stream).boxed());
            for (k, v) in headers {
                if let Ok(v) = http::HeaderValue::from_str(&v) {
                    r.headers_mut().insert(k, v);
                }
            }
            r
        }
    }
}

//! Every request of the fake cloud: counted by route (and by path, for
//! patterns), its fault applied (when one is due and the path is under the
//! fault prefix), then routed by path to Keystone, a mounted service,
//! compute, image, block storage or the object store, with the token
//! checked for all but Keystone and the version documents. Uploads,
//! downloads and streaming mounts get the body as it arrives; the rest
//! is read whole first.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::fault::{self, Fault};
use super::ids::request_id;
use super::keystone::{self, caller, valid_token};
use super::mount::MountBody;
use super::request::{Req, query_pairs};
use super::state::{Mounted, State};
use super::{block_storage, compute, image};
use crate::reply::{BoxError, RespBody, full, json_resp, not_found, unauthorized};

/// The route name of a request, for `FakeCloud::count`: `<METHOD> <path>`
/// with the ids of the built-in services replaced (`{id}`, `{tag}`,
/// `{project_id}`, `{account}`).
fn route_name(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at = |i: usize| segs.get(i).copied();
    let norm: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match (at(0), i) {
            (Some("v2.1"), 2) if matches!(at(1), Some("servers" | "flavors")) && *s != "detail" => {
                "{id}"
            }
            (Some("image"), 3) if at(2) == Some("images") => "{id}",
            (Some("image"), 5) if at(4) == Some("tags") => "{tag}",
            (Some("volume"), 2) if at(1) == Some("v3") => "{project_id}",
            (Some("volume"), 4) if at(3) == Some("volumes") && *s != "detail" => "{id}",
            (Some("v1"), 1) => "{account}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", norm.join("/"))
}

/// Whether `route` (`<METHOD> <path>`) matches `pattern`: `<METHOD>
/// <path>` or a path alone (any method), where a `{name}` segment matches
/// any one segment.
pub(super) fn matches_pattern(pattern: &str, route: &str) -> bool {
    let (method, path) = route.split_once(' ').unwrap_or(("", route));
    let (want_method, want_path) = match pattern.split_once(' ') {
        Some((m, p)) => (Some(m), p),
        None => (None, pattern),
    };
    if want_method.is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
        return false;
    }
    let want: Vec<&str> = want_path.split('/').filter(|s| !s.is_empty()).collect();
    let got: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    want.len() == got.len()
        && want
            .iter()
            .zip(&got)
            .all(|(w, g)| (w.starts_with('{') && w.ends_with('}')) || w == g)
}

/// Count the request; the fault due for it, if any.
fn count(state: &Mutex<State>, method: &Method, path: &str) -> Option<Fault> {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    *s.counts.entry(route_name(method, path)).or_default() += 1;
    *s.paths.entry(format!("{method} {path}")).or_default() += 1;
    if path.starts_with(&s.fault_prefix) {
        s.faults.pop_front()
    } else {
        None
    }
}

pub(super) async fn handle(
    state: Arc<Mutex<State>>,
    objects: Arc<crate::object_store::ObjectStore>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, BoxError> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let object_store = path.starts_with("/v1/AUTH_")
        && !state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replaced("object-store");
    if object_store {
        return Ok(object_request(&state, &objects, parts, body).await);
    }
    let fault = count(&state, &parts.method, &path);
    let rid = request_id();
    let mut resp = fault::answer(fault, || dispatch(&state, parts, body)).await?;
    if let Ok(v) = http::HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    Ok(resp)
}

/// The requests whose body streams (a streaming mount's, an image's data),
/// then the others, their body read whole.
async fn dispatch(
    state: &Arc<Mutex<State>>,
    parts: http::request::Parts,
    body: Incoming,
) -> Response<RespBody> {
    let path = parts.uri.path();
    let streamed = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rest) = path.strip_prefix("/svc/") {
            let t = rest.split('/').next().unwrap_or_default();
            match s.mounted.get(t) {
                Some(Mounted::Service(svc)) => {
                    Some((caller(&s, &parts.headers), Streamed::Mount(svc.clone())))
                }
                _ => None,
            }
        } else if path.starts_with("/image/")
            && !s.replaced("image")
            && image::streams(&parts.method, path)
        {
            Some((caller(&s, &parts.headers), Streamed::Image))
        } else {
            None
        }
    };
    match streamed {
        Some((None, _)) => unauthorized(),
        Some((Some(_), Streamed::Mount(svc))) => mounted_service(svc, parts, body).await,
        Some((Some(who), Streamed::Image)) => image::stream(state, &parts, body, &who).await,
        None => {
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            route(state, &parts, &body)
        }
    }
}

/// What serves a streamed request.
enum Streamed {
    Mount(super::mount::ServiceFn),
    Image,
}

/// A request to a streaming mount: its path made relative to the mount,
/// its body passed on as it arrives, the answer streamed back.
async fn mounted_service(
    svc: super::mount::ServiceFn,
    mut parts: http::request::Parts,
    body: Incoming,
) -> Response<RespBody> {
    let path = parts.uri.path();
    let rest = path.strip_prefix("/svc/").unwrap_or_default();
    let sub = rest.split_once('/').map_or("", |(_, sub)| sub);
    let relative = match parts.uri.query() {
        Some(q) => format!("/{sub}?{q}"),
        None => format!("/{sub}"),
    };
    if let Ok(uri) = relative.parse() {
        parts.uri = uri;
    }
    match svc(Request::from_parts(parts, MountBody::new(body))).await {
        Ok(resp) => resp.map(|b| b.boxed()),
        Err(e) => json_resp(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"code": 500, "title": "Internal Server Error",
                "message": format!("the mounted service failed: {e}")}}),
        ),
    }
}

/// The object store's requests: counted, faults applied, the token checked,
/// the body streamed (never collected).
async fn object_request(
    state: &Arc<Mutex<State>>,
    objects: &crate::object_store::ObjectStore,
    parts: http::request::Parts,
    body: Incoming,
) -> Response<RespBody> {
    let path = parts.uri.path().to_string();
    let query = query_pairs(&parts.uri).into_iter().collect();
    let fault = count(state, &parts.method, &path);
    let authorized = {
        let s = state.lock().unwrap_or_else(|p| p.into_inner());
        valid_token(&s, &parts.headers, "x-auth-token").is_some()
    };
    let store = |stop_after| {
        crate::object_store::handle(
            objects,
            &parts.method,
            &path,
            &query,
            &parts.headers,
            body,
            stop_after,
        )
    };
    let mut resp = match fault {
        Some(Fault::Unauthorized) => unauthorized(),
        Some(Fault::ServiceUnavailable) => json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"code": 503, "message": "Service Unavailable"}}),
        ),
        _ if !authorized => unauthorized(),
        Some(Fault::UnauthorizedAfter(n)) => store(Some(n)).await,
        _ => store(None).await,
    };
    if let Ok(v) = http::HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    resp
}

/// The 404 of a path no service serves.
fn no_service() -> Response<RespBody> {
    full(
        StatusCode::NOT_FOUND,
        &[("content-type", "text/html; charset=utf-8".into())],
        Bytes::from_static(b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"),
    )
}

/// A buffered request, routed by path.
fn route(
    state: &Arc<Mutex<State>>,
    parts: &http::request::Parts,
    body: &[u8],
) -> Response<RespBody> {
    let method = &parts.method;
    let headers = &parts.headers;
    let path = parts.uri.path();
    let query = query_pairs(&parts.uri);
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let p = path.trim_end_matches('/');
    let req = Req {
        method,
        path,
        query: &query,
        headers,
        body,
    };
    // the version documents need no token
    if p.starts_with("/volume")
        && !s.replaced("block-storage")
        && let Some(r) = block_storage::discovery(&s, method, path)
    {
        return r;
    }
    let service = |prefix: &str, t: &str| {
        (p == prefix || p.starts_with(&format!("{prefix}/"))) && !s.replaced(t)
    };
    let (builtin_compute, builtin_image, builtin_volume) = (
        service("/v2.1", "compute"),
        service("/image", "image"),
        service("/volume", "block-storage"),
    );
    match p {
        _ if (method == Method::GET && p.is_empty()) || p.starts_with("/v3") => {
            let query = query.into_iter().collect();
            keystone::route(&mut s, method, p, &query, headers, body)
        }
        _ if p.starts_with("/svc/") => {
            if caller(&s, headers).is_none() {
                return unauthorized();
            }
            let rest = p.trim_start_matches("/svc/");
            let (t, sub) = rest.split_once('/').unwrap_or((rest, ""));
            let Some(Mounted::Handler(handler)) = s.mounted.get(t).cloned() else {
                return not_found(&format!("Service {t}"));
            };
            drop(s);
            mounted_handler(&*handler, method, sub, query, headers, body)
        }
        _ if builtin_compute || builtin_image || builtin_volume => {
            let Some(who) = caller(&s, headers) else {
                return unauthorized();
            };
            if builtin_compute {
                let query = query.into_iter().collect();
                compute::route(&mut s, method, p, &query, headers, body)
            } else if builtin_image {
                image::route(&mut s, &req, &who)
            } else {
                block_storage::route(&mut s, &req, &who)
            }
        }
        _ => no_service(),
    }
}

/// A buffered mount's answer to its request (the path relative to the mount).
fn mounted_handler(
    handler: &(dyn Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync),
    method: &Method,
    sub: &str,
    query: Vec<(String, String)>,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Response<RespBody> {
    let req = crate::FakeRequest {
        method: method.clone(),
        path: format!("/{sub}"),
        params: Default::default(),
        query: query.into_iter().collect(),
        headers: headers.clone(),
        body: (!body.is_empty()).then(|| {
            serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
        }),
    };
    let r = handler(&req);
    let mut resp = full(
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &[],
        r.body,
    );
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

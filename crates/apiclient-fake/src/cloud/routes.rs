//! Every request of the fake cloud: counted by route, its fault applied
//! (when one is due and the path is under the fault prefix), then routed by
//! path to Keystone, a mounted service, compute, image or the object store,
//! with the token checked for all but Keystone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::fault::{self, Fault};
use super::keystone::{self, valid_token};
use super::state::State;
use super::{compute, image};
use crate::reply::{BoxError, RespBody, full, json_resp, not_found, unauthorized};

fn request_id() -> String {
    format!(
        "req-{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0xfff),
        fastrand::u16(..0xfff),
        fastrand::u64(..0xffff_ffff_ffff)
    )
}

fn route_name(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let norm: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match (segs.first(), i) {
            (Some(&"v2.1"), 2)
                if matches!(segs.get(1), Some(&"servers" | &"flavors")) && *s != "detail" =>
            {
                "{id}"
            }
            (Some(&"image"), 3) => "{id}",
            (Some(&"v1"), 1) => "{account}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", norm.join("/"))
}

pub(super) async fn handle(
    state: Arc<Mutex<State>>,
    objects: Arc<crate::object_store::ObjectStore>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, BoxError> {
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/v1/AUTH_") {
        return Ok(object_request(&state, &objects, parts, body).await);
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = query_map(&parts.uri);
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        *s.counts
            .entry(route_name(&parts.method, &path))
            .or_default() += 1;
        if path.starts_with(&s.fault_prefix) {
            s.faults.pop_front()
        } else {
            None
        }
    };
    let rid = request_id();
    let normal = || route(&state, &parts.method, &path, &query, &parts.headers, &body);
    let mut resp = fault::answer(fault, normal).await?;
    if let Ok(v) = http::HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    Ok(resp)
}

/// The query string as a map (the last value of a repeated key wins).
fn query_map(uri: &http::Uri) -> BTreeMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
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
    let query = query_map(&parts.uri);
    let (fault, authorized) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        *s.counts
            .entry(route_name(&parts.method, &path))
            .or_default() += 1;
        let fault = if path.starts_with(&s.fault_prefix) {
            s.faults.pop_front()
        } else {
            None
        };
        (
            fault,
            valid_token(&s, &parts.headers, "x-auth-token").is_some(),
        )
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

fn route(
    state: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<RespBody> {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let p = path.trim_end_matches('/');
    match p {
        _ if (method == Method::GET && p.is_empty()) || p.starts_with("/v3") => {
            keystone::route(&mut s, method, p, query, headers, body)
        }
        _ if p.starts_with("/svc/") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            let rest = p.trim_start_matches("/svc/");
            let (t, sub) = rest.split_once('/').unwrap_or((rest, ""));
            let Some(handler) = s.mounted.get(t).cloned() else {
                return not_found(&format!("Service {t}"));
            };
            drop(s);
            let req = crate::FakeRequest {
                method: method.clone(),
                path: format!("/{sub}"),
                params: BTreeMap::new(),
                query: query.clone(),
                headers: headers.clone(),
                body: (!body.is_empty()).then(|| {
                    serde_json::from_slice(body).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(body).into_owned())
                    })
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
        _ if p.starts_with("/v2.1") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            compute::route(&mut s, method, p, query, headers, body)
        }
        _ if p.starts_with("/image") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            image::route(&s, method, p, query)
        }
        _ if p.starts_with("/volume") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            not_found(&format!("Resource {p}"))
        }
        _ => full(
            StatusCode::NOT_FOUND,
            &[("content-type", "text/html; charset=utf-8".into())],
            Bytes::from_static(
                b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n",
            ),
        ),
    }
}

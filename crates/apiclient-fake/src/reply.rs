//! The replies the fake servers share: the body type, plain and JSON
//! answers, Keystone's error shape (its 401 is what every service of the
//! fake answers a bad token with), Nova's 404 (Cinder's too) and webob's
//! JSON error (Glance's errors, Cinder's router's).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type RespBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

pub(crate) fn full(
    status: StatusCode,
    headers: &[(&str, String)],
    body: Bytes,
) -> Response<RespBody> {
    let mut resp = Response::new(
        http_body_util::Full::new(body)
            .map_err(|e: Infallible| match e {})
            .boxed(),
    );
    *resp.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

pub(crate) fn json_resp(status: StatusCode, body: &Value) -> Response<RespBody> {
    full(
        status,
        &[("content-type", "application/json".into())],
        Bytes::from(body.to_string()),
    )
}

pub(crate) fn keystone_error(code: u16, title: &str, message: &str) -> Response<RespBody> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json_resp(
        status,
        &json!({"error": {"code": code, "message": message, "title": title}}),
    );
    if code == 401 {
        r.headers_mut().insert(
            "www-authenticate",
            http::HeaderValue::from_static("Keystone uri=\"fake\""),
        );
    }
    r
}

pub(crate) fn unauthorized() -> Response<RespBody> {
    keystone_error(
        401,
        "Unauthorized",
        "The request you have made requires authentication.",
    )
}

pub(crate) fn not_found(what: &str) -> Response<RespBody> {
    json_resp(
        StatusCode::NOT_FOUND,
        &json!({"itemNotFound": {"code": 404, "message": format!("{what} could not be found.")}}),
    )
}

/// webob's error for a client that accepts JSON (Glance's errors, the
/// 404 of Cinder's router): `{"message": "<explanation><br /><br />\n<detail>\n\n",
/// "code": "404 Not Found", "title": "Not Found"}`.
pub(crate) fn webob_error(
    status: StatusCode,
    explanation: &str,
    detail: &str,
) -> Response<RespBody> {
    let title = status.canonical_reason().unwrap_or("Error");
    json_resp(
        status,
        &json!({
            "message": format!("{explanation}<br /><br />\n{detail}\n\n"),
            "code": format!("{} {title}", status.as_u16()),
            "title": title,
        }),
    )
}

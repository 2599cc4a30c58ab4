//! The bodies of the fuzz targets (`fuzz/`), callable on stable so CI can
//! replay the seeds (`fuzz/seeds/<target>/`) as an ordinary test.
//!
//! Each function must never panic, whatever the bytes; the fuzzer and the
//! replay both treat a panic as a finding.
//!
//! ```
//! apiclient_fuzz_targets::from_response(b"\x01\x94content-type: application/json\n\n{}");
//! apiclient_fuzz_targets::redactor(br#"{"password": "x"}"#);
//! ```

use apiclient_auth::catalog::{EndpointFilter, Interface, ServiceCatalog};
use apiclient_auth::{AccessInfo, SecretString};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// The targets, by name, for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("from_response", from_response),
    ("token_catalog", token_catalog),
    ("clouds_yaml", clouds_yaml),
    ("redactor", redactor),
];

/// Split input into header lines and a body at the first blank line.
fn headers_and_body(data: &[u8]) -> (HeaderMap, &[u8]) {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&data[..0], data),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(k, v);
        }
    }
    (headers, body)
}

/// `from_response` with a status from the first two bytes, then headers and a body.
pub fn from_response(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let (headers, body) = headers_and_body(&data[2..]);
    let e = apiclient_errors::from_response(status, &headers, body, "GET", "http://fuzz/");
    assert_eq!(e.status(), status);
    let shown = e.to_string();
    assert!(shown.contains(&format!("(HTTP {status})")));
}

/// Token bodies (v3 and v2) and catalogs, then endpoint selection on them.
pub fn token_catalog(data: &[u8]) {
    let _ = AccessInfo::from_v2(data);
    if let Ok(a) = AccessInfo::from_v3(SecretString::from("t"), data) {
        let _ = a.will_expire_soon(
            std::time::Duration::from_secs(120),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let _ = AccessInfo::from_stored_json(&a.to_stored_json());
        select(&a.catalog);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        select(&ServiceCatalog::from_v3(&v));
        select(&ServiceCatalog::from_v2(&v));
    }
    // the other typed models read from Keystone: version documents, receipts
    if let Ok(d) = serde_json::from_slice::<apiclient_auth::wire::VersionDocument>(data) {
        let _ = (d.href_of("v3"), d.href_of("v2.0"));
    }
    let _ = serde_json::from_slice::<apiclient_auth::wire::ReceiptResponse>(data);
}

fn select(c: &ServiceCatalog) {
    for t in ["compute", "volumev3", "identity", "object-store"] {
        for i in [Interface::Public, Interface::Internal, Interface::Admin] {
            let _ = c.url_for(&EndpointFilter::new(t).interface(i));
            let _ = c.url_for(
                &EndpointFilter::new(t)
                    .interface(i)
                    .region(Some("RegionOne")),
            );
        }
    }
}

/// clouds.yaml text (and, after a NUL byte, secure.yaml text).
pub fn clouds_yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (clouds, secure) = match text.split_once('\0') {
        Some((c, s)) => (c.to_string(), Some(s.to_string())),
        None => (text.into_owned(), None),
    };
    for name in ["a", "mycloud", "devstack"] {
        if let Ok(c) = apiclient_auth::clouds::parse_cloud(&clouds, secure.as_deref(), name) {
            for k in ["auth_url", "password", "region_name", "interface", "cacert"] {
                let _ = c.get(k);
            }
        }
    }
}

/// The curl-log redactor over a body, and over a request and response built from the input.
pub fn redactor(data: &[u8]) {
    use apiclient_http::layers::curl_log::{format_request, format_response, redact_body};
    let shown = redact_body(data);
    // A value under a "password" key never survives redaction.
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(data)
        && let Some(serde_json::Value::String(pw)) = m.get("password")
        && pw.len() >= 4
        && !pw.contains('*')
    {
        assert!(!shown.contains(pw.as_str()), "password shown: {shown}");
    }
    let (headers, body) = headers_and_body(data);
    let mut req = http::Request::new(apiclient_http::Body::from(Bytes::copy_from_slice(body)));
    *req.headers_mut() = headers.clone();
    let _ = format_request(&req, true);
    let mut resp = http::Response::new(apiclient_http::Body::from(Bytes::copy_from_slice(body)));
    *resp.headers_mut() = headers;
    let _ = format_response(&resp);
}

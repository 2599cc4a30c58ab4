//! `from_response` over error bodies captured from a real Keystone 30.0.0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apiclient_errors::{HttpErrorKind, from_response};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keystone");

/// Status and headers from a captured `.headers` file (status line + raw headers).
fn load_headers(name: &str) -> (u16, HeaderMap) {
    let raw = std::fs::read_to_string(format!("{DIR}/{name}.headers")).unwrap();
    let mut lines = raw.lines();
    let status_line = lines.next().unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.append(
                HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(v.trim()).unwrap(),
            );
        }
    }
    (status, headers)
}

fn sample(name: &str, ext: &str) -> apiclient_errors::HttpError {
    let (status, headers) = load_headers(name);
    let body = std::fs::read(format!("{DIR}/{name}.{ext}")).unwrap();
    from_response(
        status,
        &headers,
        &body,
        "POST",
        "http://127.0.0.1:5000/v3/auth/tokens",
    )
}

#[test]
fn keystone_401_error_shape() {
    let e = sample("error-401-wrong-password", "json");
    assert_eq!(e.kind(), HttpErrorKind::Unauthorized);
    assert_eq!(
        e.message(),
        "The request you have made requires authentication."
    );
    assert_eq!(
        e.request_id(),
        Some("req-6df18803-f31b-4234-9f00-f45a39a0f156")
    );
    assert_eq!(
        e.to_string(),
        "The request you have made requires authentication. (HTTP 401) \
         (Request-ID: req-6df18803-f31b-4234-9f00-f45a39a0f156)"
    );
    // Keystone's error object has no details: the body text stands in.
    assert!(e.details().unwrap().contains("\"title\": \"Unauthorized\""));
}

#[test]
fn every_keystone_json_error_sample_keeps_status_message_and_request_id() {
    let mut seen = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if !stem.starts_with("error-")
            || !std::path::Path::new(&format!("{DIR}/{stem}.headers")).exists()
        {
            continue;
        }
        let (status, headers) = load_headers(stem);
        let e = sample(stem, "json");
        assert_eq!(e.status(), status, "{stem}");
        assert_eq!(e.kind(), HttpErrorKind::from_status(status), "{stem}");
        let body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{DIR}/{name}")).unwrap()).unwrap();
        let expected = body["error"]["message"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap();
        assert_eq!(e.message(), expected, "{stem}");
        let rid = headers["x-openstack-request-id"].to_str().unwrap();
        assert_eq!(e.request_id(), Some(rid), "{stem}");
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} samples");
}

#[test]
fn keystone_405_top_level_message() {
    let e = sample("error-405-method", "json");
    assert_eq!(e.kind(), HttpErrorKind::MethodNotAllowed);
    assert_eq!(
        e.message(),
        "The method is not allowed for the requested URL."
    );
}

#[test]
fn keystone_404_html_route_shows_its_visible_text() {
    let e = sample("error-404-route", "html");
    assert_eq!(e.kind(), HttpErrorKind::NotFound);
    // the page's visible text (not its <title>), on one line
    assert_eq!(
        e.message(),
        "Not Found The requested URL was not found on the server. If you entered \
         the URL manually please check your spelling and try again."
    );
    assert_eq!(
        e.to_string(),
        "Not Found The requested URL was not found on the server. If you entered \
         the URL manually please check your spelling and try again. (HTTP 404) \
         (Request-ID: req-e03bbe12-f3cf-44c2-b1c0-97bf45fa3f14)"
    );
    // the details keep the raw page
    assert!(e.details().unwrap().starts_with("<!doctype html>"));
    assert!(
        e.details()
            .unwrap()
            .contains("<title>404 Not Found</title>")
    );
}

#[test]
fn keystone_409_conflict() {
    let e = sample("error-409-duplicate-project", "json");
    assert_eq!(e.kind(), HttpErrorKind::Conflict);
    assert!(e.is_client_error());
    assert!(e.message().contains("Conflict occurred"), "{}", e.message());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn from_response_never_panics(
        status in any::<u16>(),
        ct in prop_oneof![
            Just("application/json".to_string()),
            Just("text/plain".to_string()),
            Just(String::new()),
            "[ -~]{0,30}",
        ],
        rid in proptest::option::of("[ -~]{0,40}"),
        retry in proptest::option::of("[ -~]{0,40}"),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            "\\{\"[a-z_]{1,10}\": (\\{\"message\": \"[a-z ]{0,10}\"\\}|[0-9]{1,3}|\"[a-z]*\"|\\[\\]|null)\\}"
                .prop_map(String::into_bytes),
        ],
    ) {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&ct) { h.insert("content-type", v); }
        if let Some(Ok(v)) = rid.as_deref().map(HeaderValue::from_str) { h.insert("x-openstack-request-id", v); }
        if let Some(Ok(v)) = retry.as_deref().map(HeaderValue::from_str) { h.insert("retry-after", v); }
        let e = from_response(status, &h, &body, "GET", "http://x/");
        prop_assert_eq!(e.status(), status);
        prop_assert_eq!(e.kind(), HttpErrorKind::from_status(status));
        let shown = e.to_string();
        let expected_suffix = format!("(HTTP {status})");
        prop_assert!(shown.contains(&expected_suffix));
    }
}

//! `from_response` over error responses of real Glance, Swift and webob
//! (tests/fixtures): the message is the server's text on one clean line, the
//! details keep the raw body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apiclient_errors::{HttpError, HttpErrorKind, from_response};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Status, headers and body of a raw response file.
fn load(name: &str) -> (u16, HeaderMap, Vec<u8>) {
    let raw = std::fs::read(format!("{DIR}/{name}.http")).unwrap();
    let split = raw.windows(2).position(|w| w == b"\n\n").unwrap();
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let body = raw[split + 2..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    (status, headers, body)
}

fn sample(name: &str) -> (HttpError, String) {
    let (status, headers, body) = load(name);
    let e = from_response(status, &headers, &body, "GET", "http://cloud/x");
    assert_eq!(e.status(), status, "{name}");
    (e, String::from_utf8(body).unwrap())
}

/// What every message shown must be: one line, no markup, no control.
fn assert_clean(shown: &str) {
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(!shown.contains("  "), "{shown:?}");
    for tag in ["<br", "<h1", "</h1", "<p>", "</p", "<html", "</html"] {
        assert!(!shown.contains(tag), "{tag} in {shown:?}");
    }
    assert_eq!(shown, shown.trim(), "{shown:?}");
}

#[test]
fn glance_webob_json_messages_are_one_line() {
    for (name, kind, message) in [
        (
            "glance-404-image",
            HttpErrorKind::NotFound,
            "No image found with ID 7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60",
        ),
        (
            "glance-409-transition",
            HttpErrorKind::Conflict,
            "Image status transition from active to saving is not allowed",
        ),
        (
            "glance-415-content-type",
            HttpErrorKind::UnsupportedMediaType,
            "Unsupported Content-Type",
        ),
    ] {
        let (e, body) = sample(name);
        assert_eq!(e.kind(), kind, "{name}");
        assert_eq!(e.message(), message, "{name}");
        assert_eq!(
            e.to_string(),
            format!("{message} (HTTP {})", e.status()),
            "{name}"
        );
        // the raw body, markup and newlines as sent, stays in the details
        assert_eq!(e.details(), Some(body.as_str()), "{name}");
        assert!(e.details().unwrap().contains(r"<br /><br />\n\n\n"));
    }
}

#[test]
fn swift_html_pages_show_their_text() {
    let (e, body) = sample("swift-404");
    assert_eq!(e.kind(), HttpErrorKind::NotFound);
    assert_eq!(e.message(), "Not Found The resource could not be found.");
    assert_eq!(
        e.to_string(),
        "Not Found The resource could not be found. (HTTP 404)"
    );
    assert_eq!(e.details(), Some(body.as_str()));

    let (e, body) = sample("swift-401");
    assert_eq!(e.kind(), HttpErrorKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        "Unauthorized This server could not verify that you are authorized to \
         access the document you requested. (HTTP 401)"
    );
    assert_eq!(e.details(), Some(body.as_str()));
}

#[test]
fn webob_plain_text_is_the_message() {
    let (e, body) = sample("webob-404-plain");
    assert_eq!(e.kind(), HttpErrorKind::NotFound);
    assert_eq!(
        e.message(),
        "404 Not Found The resource could not be found."
    );
    assert_eq!(
        e.to_string(),
        "404 Not Found The resource could not be found. (HTTP 404)"
    );
    // the details: the body trimmed, its lines kept
    assert_eq!(e.details(), Some(body.trim()));
    assert!(e.details().unwrap().contains("\n\n"));
}

#[test]
fn every_sample_displays_one_clean_line() {
    let mut seen = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".http") else {
            continue;
        };
        let (e, _) = sample(stem);
        assert_clean(e.message());
        let shown = e.to_string();
        assert_clean(&shown);
        assert!(
            e.message() != e.kind().default_message(),
            "{stem}: the server's text is hidden: {shown}"
        );
        seen += 1;
    }
    assert_eq!(seen, 6);
}

#[test]
fn a_long_page_is_cut_and_kept_whole_in_the_details() {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("text/html"));
    let body = format!(
        "<html><body><h1>Internal Server Error</h1><pre>{}</pre></body></html>",
        "Traceback line\n".repeat(1000)
    );
    let e = from_response(500, &h, body.as_bytes(), "GET", "/x");
    assert!(
        e.message()
            .starts_with("Internal Server Error Traceback line Traceback line")
    );
    assert_eq!(e.message().chars().count(), 512);
    assert!(e.message().ends_with('…'));
    assert_eq!(e.details(), Some(body.as_str()));
    assert_clean(&e.to_string());
}

#[test]
fn control_characters_and_entities_in_a_json_message() {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let body = br#"{"message": "Name &#39;a&amp;b&#39; is invalid:\n\t\u001b[31mred\r\n<br />", "code": "400 Bad Request", "title": "Bad Request"}"#;
    let e = from_response(400, &h, body, "POST", "/x");
    assert_eq!(e.message(), r"Name 'a&b' is invalid: \x1b[31mred");
    assert_eq!(
        e.to_string(),
        r"Name 'a&b' is invalid: \x1b[31mred (HTTP 400)"
    );
    // comparisons in a message are not markup
    let body = br#"{"badRequest": {"message": "Invalid input: 'min_disk' must be <= 'size' and > 0", "code": 400}}"#;
    let e = from_response(400, &h, body, "POST", "/x");
    assert_eq!(
        e.message(),
        "Invalid input: 'min_disk' must be <= 'size' and > 0"
    );
}

#[test]
fn display_is_one_line_whatever_the_message() {
    let e = HttpError::new(500)
        .with_message("first\nsecond\r\n\x1b[2Jthird  ")
        .with_request_id("req-1\nforged");
    assert_eq!(
        e.to_string(),
        r"first second \x1b[2Jthird (HTTP 500) (Request-ID: req-1 forged)"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn text_bodies_give_one_bounded_clean_line(
        status in 400u16..600,
        ct in prop_oneof![
            Just("text/html; charset=UTF-8"),
            Just("text/plain"),
            Just("application/json"),
        ],
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            proptest::collection::vec(
                prop_oneof![
                    Just("<html>".to_string()), Just("<h1>".to_string()), Just("</p>".to_string()),
                    Just("<br />".to_string()), Just("<title>".to_string()), Just("<script>".to_string()),
                    Just("</script>".to_string()), Just("<!--".to_string()), Just("-->".to_string()),
                    Just("&amp;".to_string()), Just("&#".to_string()), Just("&#x1b;".to_string()),
                    Just("<".to_string()), Just(">".to_string()), Just("&".to_string()),
                    Just("\n".to_string()), Just("\u{85}".to_string()), Just("\u{1b}".to_string()),
                    "[ -~é]{0,12}",
                ],
                0..200,
            ).prop_map(|parts| parts.concat().into_bytes()),
            "\\{\"message\": \"[ -~]{0,40}(<br />|\\\\n|\\\\u001b|&#39;){0,4}\"\\}".prop_map(String::into_bytes),
        ],
    ) {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static(ct));
        let e = from_response(status, &h, &body, "GET", "http://x/");
        let shown = e.to_string();
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        prop_assert!(!e.message().contains("  "), "{:?}", e.message());
        prop_assert_eq!(e.message(), e.message().trim());
        if ct != "application/json" {
            prop_assert!(e.message().chars().count() <= 512);
        }
        let suffix = format!("(HTTP {status})");
        prop_assert!(shown.ends_with(&suffix), "{:?}", shown);
    }
}

//! The fakes' own behaviour: FakeHttpClient, TestResponse, assert_has_keys,
//! and FakeCloud against real Keystone request and response samples.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use apiclient_fake::{
    FakeBody, FakeCloud, FakeHttpClient, TestResponse, assert_has_keys, fake_method_name,
};
use apiclient_http::ApiRequest;
use serde_json::{Value, json};

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected an assertion failure");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn test_response_content_type_rule() {
    let r = TestResponse::from_parts(200, None, FakeBody::Json(json!({"a": 1})));
    assert_eq!(
        r.headers,
        [("Content-Type".to_string(), "application/json".to_string())]
    );
    let r = TestResponse::from_parts(
        200,
        Some(vec![("X-Foo".into(), "1".into())]),
        FakeBody::Json(json!({})),
    );
    assert_eq!(
        r.headers,
        [("X-Foo".to_string(), "1".to_string())],
        "explicit headers stand alone"
    );
    let r = TestResponse::from_parts(404, Some(vec![]), FakeBody::Text("nope".into()));
    assert!(r.headers.is_empty());
    assert_eq!(r, TestResponse::text(404, "nope"));
}

#[test]
fn fixtures_win_over_handlers_and_everything_is_recorded() {
    let fake = FakeHttpClient::new();
    fake.fixture(
        "/servers?limit=1",
        "GET",
        vec![],
        json!({"servers": ["fixture"]}),
    );
    fake.on("GET", "/servers", |req| {
        TestResponse::json(
            200,
            &json!({"servers": ["handler"], "limit": req.query.get("limit")}),
        )
    });
    fake.on("POST", "/servers/{id}/action", |req| {
        TestResponse::json(
            202,
            &json!({"id": req.params["id"], "got": req.body.clone()}),
        )
    });
    let http = fake.http_client().unwrap();
    let c = http.service_client("compute");
    rt().block_on(async {
        let v: Value = c
            .request(ApiRequest::get("/servers").query("limit", "1"))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(v["servers"][0], "fixture");
        let v: Value = c
            .request(ApiRequest::get("/servers").query("limit", "2"))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(v["servers"][0], "handler");
        assert_eq!(v["limit"], "2");
        let v: Value = c
            .post("/servers/9/action", &json!({"reboot": {}}))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(v, json!({"id": "9", "got": {"reboot": {}}}));
    });
    let stack = fake.callstack();
    assert_eq!(stack.len(), 3);
    assert_eq!(
        (stack[2].method.as_str(), stack[2].url.as_str()),
        ("POST", "/servers/9/action")
    );
    assert!(stack[2].headers.iter().any(|(k, _)| k == "x-auth-token"));
    fake.assert_called(
        "POST",
        "/servers/9/action",
        Some(&json!({"reboot": {}})),
        None,
    );
    fake.assert_called("GET", "/servers?limit=1", None, Some(0));
    fake.assert_called_anytime("GET", "/servers?limit=2", None);
    assert!(
        fake.callstack().is_empty(),
        "assert_called_anytime clears the stack"
    );
}

#[test]
fn errors_flow_through_the_real_plumbing() {
    let fake = FakeHttpClient::new();
    fake.on("GET", "/servers/{id}", |req| {
        TestResponse::json(404, &json!({"itemNotFound": {"message": format!("Instance {} could not be found.", req.params["id"]), "code": 404}}))
            .header("x-openstack-request-id", "req-fake")
    });
    let http = fake.builder().timings(true).build().unwrap();
    let err = rt()
        .block_on(http.service_client("compute").get("/servers/x"))
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "Instance x could not be found. (HTTP 404) (Request-ID: req-fake)"
    );
    assert_eq!(http.get_timings().len(), 1);
    assert_eq!(http.last_request_id().as_deref(), Some("req-fake"));
}

#[test]
fn unknown_calls_and_bodies_on_get_fail_clearly() {
    let fake = FakeHttpClient::new();
    fake.on("GET", "/servers", |_| TestResponse::new(200));
    let http = fake.http_client().unwrap();
    let c = http.service_client("compute");
    let err = rt().block_on(c.get("/os-keypairs/a.b?x=1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "AssertionError: Called unknown API method: GET /os-keypairs/a.b?x=1, expected fakes method name: get_os_keypairs_a_b; handlers: [GET /servers]"
    );
    let err = rt()
        .block_on(c.request(ApiRequest::get("/servers").json(&json!({"a": 1}))))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "AssertionError: FakeHttpClient: GET /servers must not have a body"
    );
    let err = rt()
        .block_on(c.request(ApiRequest::new(http::Method::DELETE, "/servers").json(&json!({}))))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("DELETE /servers must not have a body")
    );
    assert_eq!(
        fake_method_name("GET", "/human_resources/1?x=1"),
        "get_human_resources_1"
    );
}

#[test]
fn assertion_messages() {
    let fake = FakeHttpClient::new();
    assert_eq!(
        panic_message(|| fake.assert_called("GET", "/x", None, None)),
        "Expected GET /x; but no calls were made"
    );
    assert_eq!(
        panic_message(|| fake.assert_called_anytime("GET", "/x", None)),
        "Expected GET /x; but no calls were made"
    );
    fake.on("GET", "/a", |_| TestResponse::new(200));
    fake.on("POST", "/a", |_| TestResponse::new(200));
    let http = fake.http_client().unwrap();
    rt().block_on(async {
        http.service_client("c").get("/a").await.unwrap();
        http.service_client("c")
            .post("/a", &json!({"k": 1}))
            .await
            .unwrap();
    });
    assert_eq!(
        panic_message(|| fake.assert_called("GET", "/b", None, None)),
        "Expected GET /b; got POST /a"
    );
    assert_eq!(
        panic_message(|| fake.assert_called("POST", "/a", Some(&json!({"k": 2})), None)),
        r#"Some(Object {"k": Number(1)}) != Object {"k": Number(2)}"#
    );
    assert_eq!(
        panic_message(|| fake.assert_called("GET", "/a", None, Some(5))),
        "Expected GET /a at position 5; but only 2 calls were made"
    );
    assert_eq!(
        panic_message(|| fake.assert_called_anytime("PUT", "/a", None)),
        "Expected PUT /a; got [GET /a, POST /a]"
    );
    fake.clear_callstack();
    assert!(fake.callstack().is_empty());
}

#[test]
fn assert_has_keys_names_the_missing_keys() {
    let m = json!({"id": 1, "name": "x", "extra": true});
    let m = m.as_object().unwrap();
    assert_has_keys(m, &["id", "name"], &["extra"]);
    assert_eq!(
        panic_message(|| assert_has_keys(m, &["id", "status", "flavor"], &["name"])),
        r#"missing required keys: ["status", "flavor"] (unexpected keys: ["extra"])"#
    );
}

// ------------------------------------------------------------ FakeCloud vs real Keystone

const KS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keystone");

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{KS}/{name}")).unwrap()).unwrap()
}

/// The structure of a JSON value: object keys (sorted) with their shapes; an
/// array's first element; a scalar's kind (a string, or null).
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), shape(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::Null => json!("null"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fakecloud_answers_keystones_request_bodies_like_keystone() {
    let cloud = FakeCloud::start().await.unwrap();
    for (request, response) in [
        (
            "auth-request-password-project.json",
            "token-password-project",
        ),
        ("auth-request-appcred-id.json", "token-appcred-id"),
        ("auth-request-appcred-name.json", "token-appcred-name"),
    ] {
        let mut body = sample(request);
        if let Some(id) = body.pointer_mut("/auth/identity/application_credential/id") {
            *id = json!("ac-1"); // the fake's application credential
        }
        let (status, headers, got) =
            post_json(&format!("{}/v3/auth/tokens", cloud.url()), &body).await;
        let raw = std::fs::read_to_string(format!("{KS}/{response}.headers")).unwrap();
        let want_status: u16 = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_eq!(status, want_status, "{request}");
        for h in ["x-subject-token", "x-openstack-request-id", "content-type"] {
            assert!(
                raw.to_ascii_lowercase().contains(&format!("{h}:")),
                "sample lacks {h}"
            );
            assert!(headers.contains_key(h), "{request}: the fake lacks {h}");
        }
        assert!(
            headers["x-openstack-request-id"]
                .to_str()
                .unwrap()
                .starts_with("req-")
        );
        let want = sample(&format!("{response}.json"));
        assert_eq!(
            shape(&got),
            shape(&want),
            "{request}: the body shape differs from Keystone's"
        );
    }
}

async fn post_json(url: &str, body: &Value) -> (u16, http::HeaderMap, Value) {
    let http = apiclient_http::HttpClient::builder(Box::new(
        apiclient_auth::KeystonePlugin::no_auth("http://unused"),
    ))
    .build()
    .unwrap();
    let resp = http
        .request(ApiRequest::new(http::Method::POST, url).json(body))
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.headers().clone(),
        resp.json().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fakecloud_errors_are_keystone_shaped() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = apiclient_http::HttpClient::builder(Box::new(
        apiclient_auth::KeystonePlugin::no_auth("http://unused"),
    ))
    .build()
    .unwrap();
    let mut body = sample("auth-request-password-project.json");
    *body
        .pointer_mut("/auth/identity/password/user/password")
        .unwrap() = json!("wrong");
    let err = http
        .request(
            ApiRequest::new(
                http::Method::POST,
                format!("{}/v3/auth/tokens", cloud.url()),
            )
            .json(&body),
        )
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    let details: Value = serde_json::from_str(err.as_http().unwrap().details().unwrap()).unwrap();
    assert_eq!(
        shape(&details),
        shape(&sample("error-401-wrong-password.json"))
    );
    let root = http
        .request(ApiRequest::get(format!("{}/", cloud.url())))
        .await
        .unwrap();
    assert_eq!(root.status().as_u16(), 300);
    assert_eq!(
        shape(&root.json::<Value>().unwrap()),
        shape(&sample("version-root.json"))
    );
    let v3 = http
        .request(ApiRequest::get(format!("{}/v3", cloud.url())))
        .await
        .unwrap();
    assert_eq!(
        shape(&v3.json::<Value>().unwrap()),
        shape(&sample("version-v3.json"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mounted_service_is_in_the_catalog_and_answers_behind_the_token() {
    use apiclient_fake::{FakeCloud, TestResponse};
    let cloud = FakeCloud::start().await.unwrap();
    cloud.mount("placement", |req| {
        TestResponse::json(
            200,
            &serde_json::json!({"path": req.path, "q": req.query.get("x")}),
        )
        .header("openstack-api-version", "placement 1.39")
    });
    let plugin = apiclient_auth::typed::V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(apiclient_auth::typed::Scope::project_name(
            "demo", "Default",
        ));
    let http = apiclient_http::HttpClient::builder(plugin).build().unwrap();
    let placement = http.service_client("placement");
    assert_eq!(
        placement.endpoint().await.unwrap(),
        format!("{}/svc/placement", cloud.url())
    );
    let resp = placement.get("/resource_providers?x=1").await.unwrap();
    let v: serde_json::Value = resp.json().unwrap();
    assert_eq!(
        v,
        serde_json::json!({"path": "/resource_providers", "q": "1"})
    );
    assert_eq!(
        resp.microversion(),
        Some(apiclient_http::Microversion::new(1, 39))
    );
    assert_eq!(cloud.count("GET /svc/placement/resource_providers"), 1);
    // no token, no answer
    let raw =
        apiclient_http::HttpClient::builder(Box::new(apiclient_auth::KeystonePlugin::admin_token(
            format!("{}/svc/placement", cloud.url()),
            "not-a-token",
        )))
        .build()
        .unwrap();
    assert!(
        raw.service_client("placement")
            .get("/x")
            .await
            .unwrap_err()
            .is_unauthorized()
    );
}

/// The recorded request carries the framing the wire would: the length of
/// a body of known length, chunked for a stream without one, nothing for
/// no body.
#[test]
fn recorded_requests_carry_their_content_length() {
    let fake = FakeHttpClient::new();
    for (method, url) in [
        ("PUT", "/v2/images/1/file"),
        ("PUT", "/v2/images/2/file"),
        ("POST", "/servers"),
        ("GET", "/servers"),
    ] {
        fake.respond(method, url, TestResponse::new(204));
    }
    let http = fake.http_client().unwrap();
    let c = http.service_client("image");
    rt().block_on(async {
        c.request(ApiRequest::put("/v2/images/1/file").body(vec![1u8; 300_000]))
            .await
            .unwrap();
        let stream = futures_util::stream::iter(
            [b"ab".as_slice(), b"cd"].map(|b| Ok::<_, std::io::Error>(bytes::Bytes::from(b))),
        );
        c.request(
            ApiRequest::put("/v2/images/2/file")
                .body(apiclient_http::Body::from_stream(stream, None)),
        )
        .await
        .unwrap();
        c.post("/servers", &json!({"a": 1})).await.unwrap();
        c.get("/servers").await.unwrap();
    });
    fake.assert_header("PUT", "/v2/images/1/file", "content-length", "300000");
    fake.assert_header("PUT", "/v2/images/2/file", "transfer-encoding", "chunked");
    fake.assert_header("POST", "/servers", "content-length", "7");
    let calls = fake.callstack();
    let header = |i: usize, name: &str| calls[i].headers.iter().any(|(k, _)| k == name);
    assert!(!header(1, "content-length"), "a stream has no length");
    assert!(
        !header(3, "content-length") && !header(3, "transfer-encoding"),
        "no body"
    );
    assert_eq!(calls[1].body, Some(json!("abcd")));
}

/// `FakeCloud::http_client` is the demo user in its project; the builder
/// takes the seeded users by name and refuses others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fakecloud_clients_in_one_line() {
    let cloud = FakeCloud::start().await.unwrap();
    let demo = cloud.http_client().unwrap();
    assert_eq!(
        demo.authenticate().await.unwrap().project_id(),
        Some("p-demo")
    );
    let servers = demo
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(servers.status(), 200);
    let admin = cloud.http_client_builder("admin").unwrap().build().unwrap();
    assert_eq!(
        admin.authenticate().await.unwrap().project_id(),
        Some("p-admin")
    );
    let err = cloud.http_client_builder("nobody").unwrap_err();
    assert!(
        matches!(err, apiclient_errors::Error::Validation(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("nobody"), "{err}");
}

//! The typed manager against FakeHttpClient: marker pagination, find's
//! rules, head, unwrapped bodies with another id field, per-result metadata
//! (moved from apiclient-base, which does not dev-depend on apiclient-fake).

use apiclient_base::{Api, Error, Microversion, ResourceType, UpdateVerb};
use apiclient_fake::{FakeHttpClient, RawServer, TestResponse};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Deserialize)]
struct Item {
    id: String,
    name: String,
}

impl ResourceType for Item {
    const SINGULAR: &'static str = "item";
    const PLURAL: &'static str = "items";
    const UPDATE: UpdateVerb = UpdateVerb::Patch;
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Provider {
    uuid: String,
}

impl ResourceType for Provider {
    const SINGULAR: &'static str = "resource_provider";
    const PLURAL: &'static str = "resource_providers";
    const ID_FIELD: &'static str = "uuid";
    const WRAPPED: bool = false;
    fn id(&self) -> &str {
        &self.uuid
    }
}

#[derive(Serialize)]
struct Query {
    limit: u32,
}

fn items() -> Vec<serde_json::Value> {
    (0..7).map(|i| json!({"id": format!("i{i}"), "name": if i >= 5 { "dup".to_string() } else { format!("n{i}") }})).collect()
}

#[tokio::test]
async fn marker_pages_find_head_and_metadata() {
    let fake = FakeHttpClient::new();
    fake.on("GET", "/items", |req| {
        let all = items();
        let start = req
            .query
            .get("marker")
            .and_then(|m| {
                all.iter()
                    .position(|i| i["id"] == m.as_str())
                    .map(|p| p + 1)
            })
            .unwrap_or(0);
        let limit: usize = req
            .query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(1000);
        let wanted = req.query.get("name");
        let page: Vec<_> = all[start..]
            .iter()
            .filter(|i| wanted.is_none_or(|w| i["name"] == w.as_str()))
            .take(limit)
            .cloned()
            .collect();
        TestResponse::json(200, &json!({"items": page}))
            .header("x-openstack-request-id", "req-list")
    });
    fake.on("GET", "/items/{id}", |req| {
        match items()
            .into_iter()
            .find(|i| i["id"] == req.params["id"].as_str())
        {
            Some(i) => TestResponse::json(200, &json!({"item": i}))
                .header("x-openstack-request-id", "req-get"),
            None => TestResponse::json(
                404,
                &json!({"itemNotFound": {"code": 404, "message": "no"}}),
            ),
        }
    });
    fake.respond("HEAD", "/items/i1", TestResponse::new(204));
    fake.respond("HEAD", "/items/i9", TestResponse::new(404));
    fake.on("PATCH", "/items/{id}", |req| TestResponse::json(200, &json!({"item": {"id": req.params["id"], "name": req.body.as_ref().unwrap()["item"]["name"]}})));
    let client = fake
        .http_client()
        .unwrap()
        .service_client("x")
        .with_microversion(Microversion::new(1, 2));
    let api: Api<Item> = Api::new(client);

    // marker/limit: pages of 3 while they come back full
    let all: Vec<Item> = api
        .list_all(&Query { limit: 3 })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(all[6].id, "i6");
    fake.assert_call_count("GET", "/items", 3);
    fake.assert_header("GET", "/items?limit=3", "openstack-api-version", "x 1.2");
    fake.assert_called_anytime("GET", "/items?limit=3&marker=i2", None); // (clears the stack)

    // find: id first, then the exact name; none is not-found, many is no-unique-match
    assert_eq!(api.find("i3").await.unwrap().name, "n3");
    assert_eq!(api.find("n4").await.unwrap().id, "i4");
    assert!(api.find("nobody").await.unwrap_err().is_not_found());
    let many = api.find("dup").await.unwrap_err();
    assert!(
        matches!(many, apiclient_base::Error::NoUniqueMatch(_)),
        "{many:?}"
    );

    // head, update by the type's verb, each result with its own request id
    assert!(api.head("i1").await.unwrap());
    assert!(!api.head("i9").await.unwrap());
    let updated = api.update("i2", &json!({"name": "renamed"})).await.unwrap();
    assert_eq!(updated.name, "renamed");
    fake.assert_called(
        "PATCH",
        "/items/i2",
        Some(&json!({"item": {"name": "renamed"}})),
        None,
    );
    fake.assert_header("PATCH", "/items/i2", "content-type", "application/json");
    assert_eq!(api.get("i1").await.unwrap().request_id(), Some("req-get"));
    assert_eq!(api.list(&()).await.unwrap().request_id(), Some("req-list"));
}

#[tokio::test]
async fn unwrapped_bodies_and_another_id_field() {
    let fake = FakeHttpClient::new();
    fake.on("POST", "/resource_providers", |req| {
        TestResponse::json(
            200,
            &json!({"uuid": "u-1", "name": req.body.as_ref().unwrap()["name"]}),
        )
    });
    fake.on("GET", "/resource_providers/{id}", |req| {
        TestResponse::json(200, &json!({"uuid": req.params["id"]}))
    });
    let api: Api<Provider> = Api::new(fake.http_client().unwrap().service_client("placement"));
    let created = api.create(&json!({"name": "rp"})).await.unwrap();
    assert_eq!(created.uuid, "u-1");
    fake.assert_called(
        "POST",
        "/resource_providers",
        Some(&json!({"name": "rp"})),
        None,
    );
    assert_eq!(api.get("u-1").await.unwrap().uuid, "u-1");
}

/// Glance's media type for an image update.
const GLANCE_PATCH: &str = "application/openstack-images-v2.1-json-patch";

/// A Glance v2 image: unwrapped bodies, JSON-Patch updates in Glance's media type.
#[derive(Debug, Clone, Deserialize)]
struct Image {
    id: String,
    name: String,
}

impl ResourceType for Image {
    const SINGULAR: &'static str = "image";
    const PLURAL: &'static str = "images";
    const PATH: Option<&'static str> = Some("/v2/images");
    const WRAPPED: bool = false;
    const UPDATE: UpdateVerb = UpdateVerb::Patch;
    const UPDATE_CONTENT_TYPE: &'static str = GLANCE_PATCH;
    fn id(&self) -> &str {
        &self.id
    }
}

/// The same collection declared without Glance's media type.
#[derive(Debug, Clone, Deserialize)]
struct PlainImage {
    id: String,
}

impl ResourceType for PlainImage {
    const SINGULAR: &'static str = "image";
    const PLURAL: &'static str = "images";
    const PATH: Option<&'static str> = Some("/v2/images");
    const WRAPPED: bool = false;
    const UPDATE: UpdateVerb = UpdateVerb::Patch;
    fn id(&self) -> &str {
        &self.id
    }
}

/// A fake Glance image PATCH: 415 (Glance's own body) for any other media
/// type, 400 for a body that is not a JSON-Patch array, else the patched image.
fn fake_glance() -> FakeHttpClient {
    let fake = FakeHttpClient::new();
    fake.on("PATCH", "/v2/images/{id}", |req| {
        let ct = req.headers.get("content-type").and_then(|v| v.to_str().ok());
        if ct != Some(GLANCE_PATCH) {
            return TestResponse::json(
                415,
                &json!({"message": "Unsupported Content-Type<br /><br />\n\n\n", "code": "415 Unsupported Media Type", "title": "Unsupported Media Type"}),
            );
        }
        let Some(ops) = req.body.as_ref().and_then(|b| b.as_array()) else {
            return TestResponse::json(400, &json!({"message": "not a JSON-Patch array", "code": "400 Bad Request", "title": "Bad Request"}));
        };
        let name = ops
            .iter()
            .find(|op| op["op"] == "replace" && op["path"] == "/name")
            .map(|op| op["value"].clone())
            .unwrap_or(json!("unchanged"));
        TestResponse::json(200, &json!({"id": req.params["id"], "name": name, "status": "active"}))
    });
    fake
}

#[tokio::test]
async fn glance_updates_send_its_json_patch_media_type_unwrapped() {
    let fake = fake_glance();
    let http = fake.http_client().unwrap();
    let images: Api<Image> = Api::new(http.service_client("image"));
    let ops = json!([{"op": "replace", "path": "/name", "value": "cirros-renamed"}]);

    // update: the type's verb and media type; an unwrapped type's body as is
    let updated = images.update("img-1", &ops).await.unwrap();
    assert_eq!(updated.name, "cirros-renamed");
    assert_eq!(updated.id, "img-1");
    fake.assert_header("PATCH", "/v2/images/img-1", "content-type", GLANCE_PATCH);
    fake.assert_called("PATCH", "/v2/images/img-1", Some(&ops), None);

    // patch: the same, whatever the type's wrapping
    let ops = json!([{"op": "replace", "path": "/name", "value": "patched"}]);
    let patched = images.patch("img-2", &ops).await.unwrap();
    assert_eq!(patched.name, "patched");
    fake.assert_header("PATCH", "/v2/images/img-2", "content-type", GLANCE_PATCH);
    fake.assert_called("PATCH", "/v2/images/img-2", Some(&ops), None);

    // exactly one Content-Type each time
    for call in fake.callstack() {
        let cts: Vec<_> = call
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .collect();
        assert_eq!(cts.len(), 1, "{call:?}");
    }

    // without the declaration Glance refuses, and says so on one line
    let plain: Api<PlainImage> = Api::new(http.service_client("image"));
    let e = plain.patch("img-3", &ops).await.unwrap_err();
    assert_eq!(e.status(), Some(415));
    fake.assert_header(
        "PATCH",
        "/v2/images/img-3",
        "content-type",
        "application/json",
    );
    assert_eq!(e.to_string(), "Unsupported Content-Type (HTTP 415)");
}

#[tokio::test]
async fn patch_sends_the_array_unwrapped_even_for_a_wrapped_type() {
    let fake = FakeHttpClient::new();
    fake.on("PATCH", "/items/{id}", |req| {
        TestResponse::json(200, &json!({"item": {"id": req.params["id"], "name": "x"}}))
    });
    let api: Api<Item> = Api::new(fake.http_client().unwrap().service_client("x"));
    let ops = json!([{"op": "add", "path": "/extra/k", "value": "v"}]);
    let item = api.patch("i1", &ops).await.unwrap();
    assert_eq!(item.id, "i1");
    fake.assert_called("PATCH", "/items/i1", Some(&ops), None);
    fake.assert_header("PATCH", "/items/i1", "content-type", "application/json");

    // not an array: refused before anything is sent
    let e = api.patch("i1", &json!({"name": "x"})).await.unwrap_err();
    assert!(matches!(e, Error::Validation(_)), "{e:?}");
    assert_eq!(fake.call_count("PATCH", "/items/{id}"), 1);
}

#[tokio::test]
async fn default_types_still_send_application_json() {
    let fake = FakeHttpClient::new();
    fake.on("PUT", "/resource_providers/{id}", |req| {
        TestResponse::json(200, &json!({"uuid": req.params["id"]}))
    });
    let api: Api<Provider> = Api::new(fake.http_client().unwrap().service_client("placement"));
    api.update("u-1", &json!({"name": "rp", "generation": 1}))
        .await
        .unwrap();
    fake.assert_header(
        "PUT",
        "/resource_providers/u-1",
        "content-type",
        "application/json",
    );
    fake.assert_called(
        "PUT",
        "/resource_providers/u-1",
        Some(&json!({"name": "rp", "generation": 1})),
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_wire_the_declared_media_type_once() {
    let server = RawServer::start(|req| {
        let body = format!(
            r#"{{"id": "img-1", "name": "{}", "uuid": "u-1"}}"#,
            req.method
        );
        RawServer::response(
            200,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    })
    .await
    .unwrap();
    let plugin = apiclient_auth::KeystonePlugin::admin_token(server.url(), "t");
    let http = apiclient_base::HttpClient::builder(Box::new(plugin))
        .build()
        .unwrap();
    let images: Api<Image> = Api::new(http.service_client("image"));
    let ops = json!([{"op": "replace", "path": "/name", "value": "n"}]);
    images.update("img-1", &ops).await.unwrap();
    images.patch("img-1", &ops).await.unwrap();
    let providers: Api<Provider> = Api::new(http.service_client("placement"));
    providers
        .update("u-1", &json!({"name": "rp"}))
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for (req, method, ct, body) in [
        (&requests[0], "PATCH", GLANCE_PATCH, ops.clone()),
        (&requests[1], "PATCH", GLANCE_PATCH, ops.clone()),
        (
            &requests[2],
            "PUT",
            "application/json",
            json!({"name": "rp"}),
        ),
    ] {
        assert_eq!(req.method, method);
        assert_eq!(req.header_values("content-type"), vec![ct], "{req:?}");
        let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(sent, body);
    }
}

/// A streamed answer's metadata, read before its body.
#[tokio::test]
async fn response_meta_of_a_streamed_answer() {
    let server = RawServer::start(|_| {
        RawServer::response(
            200,
            &[
                ("x-openstack-request-id", "req-stream-1"),
                ("OpenStack-API-Version", "image 2.5"),
            ],
            b"bytes",
        )
    })
    .await
    .unwrap();
    let http =
        apiclient_base::HttpClient::builder_for(apiclient_auth::typed::NoAuth::new(server.url()))
            .no_proxy()
            .build()
            .unwrap();
    let resp = http
        .service_client("image")
        .request_streamed(apiclient_base::ApiRequest::get("/file"))
        .await
        .unwrap();
    let meta = apiclient_base::ResponseMeta::of_streamed(&resp);
    assert_eq!(meta.status, 200);
    assert_eq!(meta.request_id.as_deref(), Some("req-stream-1"));
    assert_eq!(meta.microversion, Some(Microversion::new(2, 5)));
}

/// An empty id, `.` or `..` would name another resource once a proxy
/// normalises the path (`%2E` included): refused, nothing sent.
#[tokio::test]
async fn dot_segment_ids_are_refused() {
    let server = RawServer::start(|_| {
        RawServer::response(404, &[("Content-Type", "application/json")], b"{}")
    })
    .await
    .unwrap();
    let http =
        apiclient_base::HttpClient::builder_for(apiclient_auth::typed::NoAuth::new(server.url()))
            .no_proxy()
            .build()
            .unwrap();
    let images: Api<Image> = Api::new(http.service_client("image"));
    for id in ["", ".", ".."] {
        let err = images.get(id).await.unwrap_err();
        assert!(matches!(err, Error::Validation(_)), "{id:?}: {err:?}");
        assert!(matches!(images.delete(id).await, Err(Error::Validation(_))));
    }
    assert!(server.requests().is_empty());
    for id in ["a.b", "x-1_y", "..."] {
        assert!(images.get(id).await.unwrap_err().is_not_found());
    }
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    let base = targets[0].trim_end_matches("/a.b").to_string();
    assert_eq!(
        targets,
        [
            format!("{base}/a.b"),
            format!("{base}/x-1_y"),
            format!("{base}/...")
        ]
    );
}

//! The typed manager against FakeHttpClient: marker pagination, find's
//! rules, head, unwrapped bodies with another id field, per-result metadata
//! (moved from apiclient-base, which does not dev-depend on apiclient-fake);
//! `get_opt`, and the dynamic resource type against FakeCloud with the same
//! semantics as a typed one; a type described by `impl_resource_type!`.

use apiclient_base::{
    Api, DynamicResource, Error, InvalidKind, Microversion, ResourceInfo, ResourceType, UpdateVerb,
    impl_resource_type,
};
use apiclient_fake::{FakeCloud, FakeHttpClient, Fault, RawServer, TestResponse};
use futures_util::{StreamExt, TryStreamExt};
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

#[tokio::test]
async fn the_wrapper_key_is_found_however_it_is_written_and_wherever_it_is() {
    let fake = FakeHttpClient::new();
    // other members before and after it, and the key written with an escape
    // (the decoder compares keys without keeping them)
    fake.on("GET", "/items/{id}", |req| {
        TestResponse::text(
            200,
            format!(
                r#"{{"links":[{{"rel":"self"}}],"\u0069tem":{{"id":"{}","name":"n"}},"item_x":{{"id":"other"}}}}"#,
                req.params["id"]
            ),
        )
    });
    fake.on("GET", "/items", |_| {
        TestResponse::text(
            200,
            r#"{"item":{"id":"wrong"},"items":[{"id":"a","name":"x"}]}"#,
        )
    });
    let api: Api<Item> = Api::new(fake.http_client().unwrap().service_client("compute"));
    let got = api.get("i-9").await.unwrap();
    assert_eq!((got.id.as_str(), got.name.as_str()), ("i-9", "n"));
    let listed = api.list(&()).await.unwrap().into_inner();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "a");
    // no such member: a typed error naming it
    fake.on("GET", "/items/none", |_| {
        TestResponse::text(200, r#"{"items":[]}"#)
    });
    let err = api.get("none").await.unwrap_err();
    assert!(err.to_string().contains("no 'item'"), "{err}");
}

/// Glance's media type for an image update.
const GLANCE_PATCH: &str = "application/openstack-images-v2.1-json-patch";

/// A Glance v2 image: unwrapped bodies, JSON-Patch updates in Glance's
/// media type (its `ResourceType` written by the macro).
#[derive(Debug, Clone, Deserialize)]
struct Image {
    id: String,
    name: String,
}

impl_resource_type!(Image {
    singular: "image",
    plural: "images",
    name: name,
    path: "/v2/images",
    wrapped: false,
    update: Patch,
    update_content_type: GLANCE_PATCH,
});

/// The macro's impl says what the hand-written one said.
#[test]
fn the_macro_writes_the_constants() {
    assert_eq!((Image::SINGULAR, Image::PLURAL), ("image", "images"));
    assert_eq!(Image::PATH, Some("/v2/images"));
    assert_eq!(Image::collection_path(), "/v2/images");
    const { assert!(!Image::WRAPPED) };
    assert_eq!(Image::UPDATE, UpdateVerb::Patch);
    assert_eq!(Image::UPDATE_CONTENT_TYPE, GLANCE_PATCH);
    assert_eq!((Image::ID_FIELD, Image::DETAIL_PATH), ("id", None));
    let image = Image {
        id: "img-1".into(),
        name: "cirros".into(),
    };
    assert_eq!((image.id(), image.name()), ("img-1", Some("cirros")));
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
        apiclient_base::HttpClient::builder(apiclient_auth::typed::NoAuth::new(server.url()))
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
        apiclient_base::HttpClient::builder(apiclient_auth::typed::NoAuth::new(server.url()))
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

/// A Nova server on FakeCloud, typed (its `ResourceType` by the macro).
#[derive(Debug, Clone, Deserialize)]
struct Server {
    id: String,
    name: String,
    #[serde(default)]
    status: Option<String>,
}

impl_resource_type!(Server {
    singular: "server",
    plural: "servers",
    name: name,
    detail_path: "/servers/detail",
});

/// The dynamic form of [`Server`]'s collection.
fn server_info() -> ResourceInfo {
    ResourceInfo::new("server", "servers").detail_path("/servers/detail")
}

/// A FakeCloud client that does not retry (a fault is seen once).
fn no_retry_client(cloud: &FakeCloud) -> apiclient_base::HttpClient {
    crate::support::builder(cloud)
        .retry(apiclient_http::RetryPolicy::none())
        .build()
        .unwrap()
}

/// `get_opt`: a missing resource is `None`, an existing one `Some` (with
/// its response's metadata), any other failure still an error; typed and
/// dynamic alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_opt_is_none_only_when_not_found() {
    let cloud = FakeCloud::builder().servers(3).start().await.unwrap();
    let http = no_retry_client(&cloud);
    let typed: Api<Server> = Api::new(http.service_client("compute"));
    let dynamic = Api::dynamic(http.service_client("compute"), server_info());
    let existing = FakeCloud::server_id(1);
    let missing = FakeCloud::server_id(99);

    let found = typed.get_opt(&existing).await.unwrap().unwrap();
    assert_eq!(found.name, "server-1");
    assert_eq!(found.meta().status, 200);
    assert!(found.request_id().is_some_and(|r| r.starts_with("req-")));
    assert!(typed.get_opt(&missing).await.unwrap().is_none());

    let found = dynamic.get_opt(&existing).await.unwrap().unwrap();
    assert_eq!(found.name(), Some("server-1"));
    assert_eq!(found.get_str("status"), Some("ACTIVE"));
    assert!(dynamic.get_opt(&missing).await.unwrap().is_none());
    // what get says of the same ids
    assert!(dynamic.get(&missing).await.unwrap_err().is_not_found());
    assert_eq!(cloud.count("GET /v2.1/servers/{id}"), 5);

    // a 5xx, a 502 page, a body that is not JSON: errors, not "none"
    for (fault, status) in [
        (Fault::ServiceUnavailable, Some(503)),
        (Fault::BadGatewayHtml, Some(502)),
        (Fault::InvalidJson, None),
    ] {
        cloud.inject(fault.clone(), 1);
        let e = typed.get_opt(&existing).await.unwrap_err();
        assert_eq!(e.status(), status, "{fault:?}: {e:?}");
        assert!(!e.is_not_found());
        cloud.inject(fault.clone(), 1);
        let e = dynamic.get_opt(&missing).await.unwrap_err();
        assert_eq!(e.status(), status, "{fault:?}: {e:?}");
        if status.is_none() {
            assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
        }
    }

    // an id refused before sending is an error too
    let before = cloud.count("GET /v2.1/servers/{id}");
    for id in ["", ".", ".."] {
        let e = dynamic.get_opt(id).await.unwrap_err();
        assert_eq!(e.invalid_kind(), Some(InvalidKind::Id), "{id:?}: {e:?}");
    }
    assert_eq!(cloud.count("GET /v2.1/servers/{id}"), before);
}

/// `find` has one semantics, typed or dynamic: by id, else by exact name;
/// none is a 404-kind error, several `NoUniqueMatch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_is_the_same_for_typed_and_dynamic() {
    let cloud = FakeCloud::builder().servers(4).start().await.unwrap();
    let http = crate::support::builder(&cloud).build().unwrap();
    let typed: Api<Server> = Api::new(http.service_client("compute"));
    let dynamic = Api::dynamic(http.service_client("compute"), server_info());
    for _ in 0..2 {
        dynamic.create(&json!({"name": "twin"})).await.unwrap();
    }

    for (wanted, id) in [
        (FakeCloud::server_id(2), FakeCloud::server_id(2)),
        ("server-3".to_string(), FakeCloud::server_id(3)),
    ] {
        assert_eq!(typed.find(&wanted).await.unwrap().id, id);
        assert_eq!(dynamic.find(&wanted).await.unwrap().id(), Some(id.as_str()));
    }
    let (t, d) = (
        typed.find("nobody").await.unwrap_err(),
        dynamic.find("nobody").await.unwrap_err(),
    );
    assert!(t.is_not_found() && d.is_not_found(), "{t:?} {d:?}");
    assert_eq!(t.to_string(), d.to_string());
    assert!(
        d.to_string()
            .contains("No server with a name or ID of 'nobody' exists."),
        "{d}"
    );
    let (t, d) = (
        typed.find("twin").await.unwrap_err(),
        dynamic.find("twin").await.unwrap_err(),
    );
    assert!(matches!(t, Error::NoUniqueMatch(_)), "{t:?}");
    assert!(matches!(d, Error::NoUniqueMatch(_)), "{d:?}");
    assert_eq!(t.to_string(), d.to_string());
    // a name that is only a prefix of some is no match
    assert!(dynamic.find("server").await.unwrap_err().is_not_found());
}

/// The dynamic type's whole life on FakeCloud's compute service: list
/// (detailed and summary), every page, get, create (Nova's partial 202),
/// update (PUT, wrapped), an action, delete; requests as a typed Api's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_servers_on_fake_cloud() {
    let cloud = FakeCloud::builder().servers(5).start().await.unwrap();
    let http = crate::support::builder(&cloud).build().unwrap();
    let compute = http
        .service_client("compute")
        .with_microversion(Microversion::new(2, 79));
    let servers = Api::dynamic(compute.clone(), server_info());
    assert_eq!(servers.info().collection_path(), "/servers");
    assert_eq!(servers.info().list_path(), "/servers/detail");

    // list: the detailed listing, the response's own metadata
    let page = servers.list(&()).await.unwrap();
    assert_eq!(page.len(), 5);
    assert!(page.iter().all(|s| s.get_str("status") == Some("ACTIVE")));
    assert_eq!(page.meta().microversion, Some(Microversion::new(2, 79)));
    assert_eq!(cloud.count("GET /v2.1/servers/detail"), 1);
    // the summary listing is another collection description
    let summaries = Api::dynamic(compute.clone(), ResourceInfo::new("server", "servers"));
    let page = summaries.list(&()).await.unwrap();
    assert_eq!(page.len(), 5);
    assert!(
        page.iter()
            .all(|s| s.get("status").is_none() && s.contains_key("links"))
    );

    // every page: pages of 2 by servers_links
    let all: Vec<DynamicResource> = servers
        .list_all(&json!({"limit": 2}))
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = all.iter().filter_map(DynamicResource::name).collect();
    assert_eq!(
        names,
        ["server-0", "server-1", "server-2", "server-3", "server-4"]
    );
    assert_eq!(cloud.count("GET /v2.1/servers/detail"), 4);
    // the same stream, typed
    let typed: Vec<Server> = Api::<Server>::new(compute.clone())
        .list_all(&json!({"limit": 2}))
        .try_collect()
        .await
        .unwrap();
    let typed_ids: Vec<_> = typed.iter().map(|s| s.id.as_str()).collect();
    let dynamic_ids: Vec<_> = all.iter().filter_map(DynamicResource::id).collect();
    assert_eq!(typed_ids, dynamic_ids);
    assert!(typed.iter().all(|s| s.status.as_deref() == Some("ACTIVE")));

    // create: Nova's 202 with the id and the admin password only
    let mut body = DynamicResource::new();
    body.insert("name".into(), json!("web-1"));
    body.insert("flavorRef".into(), json!("2"));
    let created = servers.create(&body).await.unwrap();
    assert_eq!(created.meta().status, 202);
    assert!(created.get_str("adminPass").is_some());
    let id = created.id().unwrap().to_string();
    let got = servers.get(&id).await.unwrap();
    assert_eq!(got.name(), Some("web-1"));
    assert_eq!(
        got.get_as::<String>("status").unwrap().as_deref(),
        Some("BUILD")
    );
    assert_eq!(
        got.get("flavor").and_then(|f| f.get("id")),
        Some(&json!("2"))
    );

    // update: PUT, wrapped in "server"; the updated resource
    let renamed = servers
        .update(&id, &json!({"name": "web-2"}))
        .await
        .unwrap();
    assert_eq!(renamed.name(), Some("web-2"));
    assert_eq!(servers.find("web-2").await.unwrap().id(), Some(id.as_str()));
    assert!(servers.find("web-1").await.unwrap_err().is_not_found());

    // an action, then the resource as the service now has it
    let stopped = servers.action(&id, "os-stop", &json!(null)).await.unwrap();
    assert_eq!(stopped.meta().status, 202);
    let got = servers.get(&id).await.unwrap();
    assert_eq!(got.get_str("status"), Some("SHUTOFF"));
    // into the typed struct, when wanted
    let typed: Server = got.try_parse().unwrap();
    assert_eq!(
        (typed.name.as_str(), typed.status.as_deref()),
        ("web-2", Some("SHUTOFF"))
    );

    // delete: 204; then gone
    assert_eq!(servers.delete(&id).await.unwrap().status, 204);
    assert!(servers.get_opt(&id).await.unwrap().is_none());
    assert!(servers.find(&id).await.unwrap_err().is_not_found());
    assert!(servers.delete(&id).await.unwrap_err().is_not_found());
}

/// The dynamic type on FakeCloud's Glance-shaped image service: unwrapped
/// bodies at another path, pages by `next`, a text/plain 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_images_on_fake_cloud() {
    let cloud = FakeCloud::builder().images(5).start().await.unwrap();
    let http = crate::support::builder(&cloud).build().unwrap();
    let images = Api::dynamic(
        http.service_client("image"),
        ResourceInfo::new("image", "images")
            .path("/v2/images")
            .wrapped(false),
    );
    let all: Vec<DynamicResource> = images
        .list_all(&json!({"limit": 2}))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(cloud.count("GET /image/v2/images"), 3);
    let image = images.get("img-000003").await.unwrap();
    assert_eq!(image.name(), Some("image-3"));
    assert!(images.get_opt("img-999999").await.unwrap().is_none());
    assert_eq!(
        images.find("image-4").await.unwrap().id(),
        Some("img-000004")
    );
    assert!(images.find("image-9").await.unwrap_err().is_not_found());
    // the typed Image reads the same
    let typed: Api<Image> = Api::new(http.service_client("image"));
    assert_eq!(typed.find("image-4").await.unwrap().id, "img-000004");
    assert!(typed.get_opt("img-999999").await.unwrap().is_none());
}

/// A dynamic collection's update verb, media type and wrapping come from
/// its `ResourceInfo`: Glance's JSON-Patch, unwrapped, as a typed `Image`.
#[tokio::test]
async fn dynamic_updates_follow_the_resource_info() {
    let fake = fake_glance();
    let http = fake.http_client().unwrap();
    let info = ResourceInfo::new("image", "images")
        .path("/v2/images")
        .wrapped(false)
        .update(UpdateVerb::Patch);
    let glance = Api::dynamic(
        http.service_client("image"),
        info.clone().update_content_type(GLANCE_PATCH),
    );
    let ops = json!([{"op": "replace", "path": "/name", "value": "renamed"}]);
    let updated = glance.update("img-1", &ops).await.unwrap();
    assert_eq!(updated.name(), Some("renamed"));
    fake.assert_header("PATCH", "/v2/images/img-1", "content-type", GLANCE_PATCH);
    fake.assert_called("PATCH", "/v2/images/img-1", Some(&ops), None);
    let patched = glance.patch("img-2", &ops).await.unwrap();
    assert_eq!(patched.get_str("status"), Some("active"));
    fake.assert_called("PATCH", "/v2/images/img-2", Some(&ops), None);
    // not an array: refused before anything is sent
    let e = glance
        .patch("img-2", &json!({"name": "x"}))
        .await
        .unwrap_err();
    assert_eq!(e.invalid_kind(), Some(InvalidKind::Body));
    assert_eq!(fake.call_count("PATCH", "/v2/images/{id}"), 2);

    // without the media type, Glance refuses
    let plain = Api::dynamic(http.service_client("image"), info);
    let e = plain.update("img-3", &ops).await.unwrap_err();
    assert_eq!(e.status(), Some(415));

    // a wrapped collection (Keystone-like PATCH) wraps in its singular key
    let fake = FakeHttpClient::new();
    fake.on("PATCH", "/projects/{id}", |req| {
        TestResponse::json(200, &json!({"project": {"id": req.params["id"], "name": req.body.as_ref().unwrap()["project"]["name"]}}))
    });
    let projects = Api::dynamic(
        fake.http_client().unwrap().service_client("identity"),
        ResourceInfo::new("project", "projects").update(UpdateVerb::Patch),
    );
    let p = projects
        .update("p-1", &json!({"name": "demo"}))
        .await
        .unwrap();
    assert_eq!((p.id(), p.name()), (Some("p-1"), Some("demo")));
    fake.assert_called(
        "PATCH",
        "/projects/p-1",
        Some(&json!({"project": {"name": "demo"}})),
        None,
    );
    fake.assert_header("PATCH", "/projects/p-1", "content-type", "application/json");
}

/// Marker pagination of a dynamic collection reads the id from its
/// `id_field` (Placement's `uuid`, an integer id as its text); a full page
/// whose last item has none is an error, not a silent end.
#[tokio::test]
async fn dynamic_marker_pages_use_the_id_field() {
    let fake = FakeHttpClient::new();
    fake.on("GET", "/resource_providers", |req| {
        let all: Vec<_> = (0..5)
            .map(|i| json!({"uuid": format!("u-{i}"), "name": format!("rp-{i}")}))
            .collect();
        let start = req
            .query
            .get("marker")
            .and_then(|m| {
                all.iter()
                    .position(|p| p["uuid"] == m.as_str())
                    .map(|p| p + 1)
            })
            .unwrap_or(0);
        let page: Vec<_> = all[start..].iter().take(2).cloned().collect();
        TestResponse::json(200, &json!({"resource_providers": page}))
    });
    fake.on("GET", "/aggregates", |req| {
        let page = match req.query.get("marker").map(String::as_str) {
            None => json!([{"id": 1}, {"id": 2}]),
            Some("2") => json!([{"id": 3}]),
            Some(other) => panic!("marker {other}"),
        };
        TestResponse::json(200, &json!({"aggregates": page}))
    });
    fake.on("GET", "/things", |_| {
        TestResponse::json(200, &json!({"things": [{"id": "t-1"}, {"label": "no id"}]}))
    });
    let http = fake.http_client().unwrap();
    let providers = Api::dynamic(
        http.service_client("placement"),
        ResourceInfo::new("resource_provider", "resource_providers")
            .id_field("uuid")
            .wrapped(false),
    );
    let all: Vec<DynamicResource> = providers
        .list_all(&json!({"limit": 2}))
        .try_collect()
        .await
        .unwrap();
    let uuids: Vec<_> = all.iter().filter_map(|p| p.get_str("uuid")).collect();
    assert_eq!(uuids, ["u-0", "u-1", "u-2", "u-3", "u-4"]);
    fake.assert_called_anytime("GET", "/resource_providers?limit=2&marker=u-3", None);

    let aggregates = Api::dynamic(
        http.service_client("compute"),
        ResourceInfo::new("aggregate", "aggregates"),
    );
    let all: Vec<DynamicResource> = aggregates
        .list_all(&json!({"limit": 2}))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);

    let things = Api::dynamic(
        http.service_client("x"),
        ResourceInfo::new("thing", "things"),
    );
    let got: Vec<Result<DynamicResource, Error>> =
        things.list_all(&json!({"limit": 2})).collect().await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].is_ok() && got[1].is_ok());
    let e = got[2].as_ref().unwrap_err();
    assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
    assert!(e.to_string().contains("no 'id'"), "{e}");
}

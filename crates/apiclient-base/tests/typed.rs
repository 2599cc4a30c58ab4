//! The typed manager against FakeHttpClient: marker pagination, find's
//! rules, head, unwrapped bodies with another id field, per-result metadata.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use apiclient_base::{Api, Microversion, ResourceType, UpdateVerb};
use apiclient_fake::{FakeHttpClient, TestResponse};
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

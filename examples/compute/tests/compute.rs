//! The example compute client, tested two ways: against FakeHttpClient
//! (handlers and assertions) and against FakeCloud (a Nova-shaped server on
//! loopback).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{Api, Microversion};
use apiclient_fake::{FakeCloud, FakeHttpClient, Fault, TestResponse};
use apiclient_http::HttpClient;
use example_compute::{Compute, MICROVERSION, NewServer, ServerQuery, ServerSummary};
use futures_util::TryStreamExt;
use serde_json::json;

fn http(cloud: &FakeCloud) -> HttpClient {
    let plugin = V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    HttpClient::builder(plugin).build().unwrap()
}

#[tokio::test]
async fn against_handlers_every_call_carries_the_microversion() {
    let fake = FakeHttpClient::new();
    fake.on("GET", "/servers/detail", |_| {
        TestResponse::json(
            200,
            &json!({"servers": [{"id": "a", "name": "web", "status": "ACTIVE"}]}),
        )
    });
    // registered after the detail route, and less specific: never chosen for /servers/detail
    fake.on("GET", "/servers/{id}", |req| {
        TestResponse::json(
            200,
            &json!({"server": {"id": req.params["id"], "name": "web"}}),
        )
    });
    fake.respond("POST", "/servers/a/action", TestResponse::new(202));
    fake.respond("DELETE", "/servers/a", TestResponse::new(204));
    let nova = Compute::at(
        fake.http_client().unwrap().service_client("compute"),
        MICROVERSION,
    );

    let page = nova
        .servers
        .list(&ServerQuery {
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].status.as_deref(), Some("ACTIVE"));
    fake.assert_header(
        "GET",
        "/servers/detail?limit=10",
        "openstack-api-version",
        "compute 2.79",
    );
    fake.assert_header(
        "GET",
        "/servers/detail?limit=10",
        "x-openstack-nova-api-version",
        "2.79",
    );
    assert_eq!(nova.servers.get("a").await.unwrap().name, "web");
    nova.servers.reboot("a", "HARD").await.unwrap();
    fake.assert_called(
        "POST",
        "/servers/a/action",
        Some(&json!({"reboot": {"type": "HARD"}})),
        None,
    );
    nova.servers.delete("a").await.unwrap();
    fake.assert_call_count("GET", "/servers/a", 1);
    fake.assert_call_count("DELETE", "/servers/{id}", 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_fakecloud_the_whole_lifecycle() {
    let cloud = FakeCloud::builder().servers(7).start().await.unwrap();
    let http = http(&cloud);
    let nova = Compute::connect(&http).await.unwrap();
    assert_eq!(
        nova.microversion(),
        Some(MICROVERSION),
        "2.79 is within the cloud's 2.1..2.96"
    );

    // every server, three to a page, through servers_links
    let all: Vec<_> = nova
        .servers
        .list_all(&ServerQuery {
            limit: Some(3),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(cloud.count("GET /v2.1/servers/detail"), 3);

    // create (202, Nova's partial answer), read, rename, act, find, delete
    let created = nova
        .servers
        .create(&NewServer {
            name: "web-1".into(),
            flavor_ref: "2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.meta().status, 202);
    assert!(created.admin_pass.is_some());
    assert_eq!(
        created.meta().microversion,
        Some(MICROVERSION),
        "the answer says which microversion"
    );
    let server = nova.servers.get(&created.id).await.unwrap();
    assert_eq!(
        (server.name.as_str(), server.flavor.id.as_deref()),
        ("web-1", Some("2"))
    );
    assert!(
        server.request_id().unwrap().starts_with("req-"),
        "each result has its own request id"
    );
    nova.servers.update(&created.id, "web-2").await.unwrap();
    nova.servers.reboot(&created.id, "SOFT").await.unwrap();
    assert_eq!(nova.servers.find("web-2").await.unwrap().id, created.id);
    assert_eq!(nova.servers.find(&created.id).await.unwrap().name, "web-2");
    let missing = nova.servers.find("no-such-server").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    nova.servers.delete(&created.id).await.unwrap();
    assert!(
        nova.servers
            .get(&created.id)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // summaries upgrade to their full form, once
    let summaries = nova
        .servers
        .summaries(&ServerQuery::default())
        .await
        .unwrap();
    let first: ServerSummary = summaries.into_inner().remove(0);
    let full = Api::<example_compute::Server>::new(
        http.service_client("compute")
            .with_microversion(MICROVERSION),
    );
    let lazy = full.lazy(first);
    assert!(!lazy.is_loaded());
    assert_eq!(lazy.full().await.unwrap().status.as_deref(), Some("ACTIVE"));
    let gets = cloud.count("GET /v2.1/servers/{id}");
    lazy.full().await.unwrap();
    assert_eq!(cloud.count("GET /v2.1/servers/{id}"), gets, "loaded once");

    // flavors
    let flavors = nova.flavors.list().await.unwrap();
    assert_eq!(flavors.len(), 3);
    assert_eq!(nova.flavors.find("m1.small").await.unwrap().ram, Some(2048));

    // a 401 in the middle: one re-authentication, the call succeeds
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.inject(Fault::Unauthorized, 1);
    nova.flavors.get("1").await.unwrap();
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiation_and_microversions_the_cloud_refuses() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = http(&cloud);
    let compute = http.service_client("compute");
    assert_eq!(
        compute
            .negotiate(Microversion::new(2, 1), Microversion::Latest)
            .await
            .unwrap(),
        Microversion::new(2, 96)
    );
    let err = compute
        .negotiate(Microversion::new(3, 0), Microversion::new(3, 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, apiclient_base::Error::UnsupportedVersion(_)),
        "{err:?}"
    );
    assert!(err.to_string().contains("v2.1 2.1..2.96"), "{err}");
    // a microversion past the cloud's: Nova's 406
    let too_new = Compute::at(compute.clone(), Microversion::new(2, 200));
    assert_eq!(
        too_new.flavors.list().await.unwrap_err().status(),
        Some(406)
    );
}

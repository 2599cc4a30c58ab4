//! FakeCloud's block-storage service against what Cinder v3 does: its
//! version documents and project-scoped endpoint, microversions, volumes
//! whose statuses move after the cloud's delay (or fail on demand), their
//! lists and links, actions, and the key sets of the Cinder API
//! reference's samples (`tests/fixtures/cinder/`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use apiclient_fake::{FakeCloud, VolumeFailure};
use apiclient_http::microversion::Microversion;
use apiclient_http::{ApiRequest, ServiceClient};
use common::{eventually, keys, raw, token};
use serde_json::{Value, json};

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cinder");

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(format!("{SAMPLES}/{name}")).unwrap()).unwrap()
}

fn volumes_of(cloud: &FakeCloud, user: &str) -> ServiceClient {
    cloud
        .http_client_builder(user)
        .unwrap()
        .build()
        .unwrap()
        .service_client("block-storage")
}

async fn create(volumes: &ServiceClient, body: Value) -> Value {
    let resp = volumes
        .post("/volumes", &json!({"volume": body}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    resp.json::<Value>().unwrap()["volume"].clone()
}

async fn show(volumes: &ServiceClient, id: &str) -> Value {
    volumes
        .get(&format!("/volumes/{id}"))
        .await
        .unwrap()
        .json::<Value>()
        .unwrap()["volume"]
        .clone()
}

async fn status(volumes: &ServiceClient, id: &str) -> String {
    show(volumes, id).await["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Wait (bounded) until volume `id` has `want` status.
async fn until_status(volumes: &ServiceClient, id: &str, want: &str) {
    eventually(
        &format!("volume {id} becomes {want}"),
        Duration::from_secs(30),
        || async move { status(volumes, id).await == want },
    )
    .await;
}

/// POST an action; its status (an error fails the test).
async fn action(volumes: &ServiceClient, id: &str, body: Value) -> u16 {
    match volumes.post(&format!("/volumes/{id}/action"), &body).await {
        Ok(r) => r.status().as_u16(),
        Err(e) => panic!("{body}: {e}"),
    }
}

/// As a real cinder-api: `GET /` is a 300 with one `v3.0` (3.0 to 3.71),
/// `/v3` redirects to `/v3/`, which carries the same document; none needs
/// a token; `GET /v3/<project_id>` is webob's 404. The client finds the
/// versions above its project-scoped endpoint and negotiates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_discovery_is_cinders() {
    let cloud = FakeCloud::start().await.unwrap();
    let root = raw(&cloud, "GET", "/volume/", &[], b"").await;
    assert_eq!(root.status, 300);
    let doc = root.json();
    assert_eq!(
        doc["versions"].as_array().unwrap().len(),
        1,
        "no v2.0: {doc}"
    );
    let v3 = &doc["versions"][0];
    assert_eq!(
        (
            v3["id"].as_str(),
            v3["min_version"].as_str(),
            v3["version"].as_str(),
            v3["status"].as_str()
        ),
        (Some("v3.0"), Some("3.0"), Some("3.71"), Some("CURRENT"))
    );
    assert_eq!(
        keys(v3),
        [
            "id",
            "links",
            "media-types",
            "min_version",
            "status",
            "updated",
            "version"
        ]
    );
    assert_eq!(
        v3["links"][1]["href"],
        format!("{}/volume/v3/", cloud.url())
    );
    let moved = raw(&cloud, "GET", "/volume/v3", &[], b"").await;
    assert_eq!(moved.status, 302);
    assert_eq!(
        moved.header("location"),
        Some(format!("{}/volume/v3/", cloud.url()).as_str())
    );
    let same = raw(&cloud, "GET", "/volume/v3/", &[], b"").await;
    assert_eq!(same.status, 200);
    assert_eq!(same.json(), doc);

    let http = cloud.http_client().unwrap();
    let tok = token(&http).await;
    let scoped = raw(
        &cloud,
        "GET",
        "/volume/v3/p-demo",
        &[("X-Auth-Token", &tok)],
        b"",
    )
    .await;
    assert_eq!(scoped.status, 404);
    assert_eq!(
        scoped.json(),
        json!({"message": "The resource could not be found.<br /><br />\n\n\n", "code": "404 Not Found", "title": "Not Found"})
    );
    assert_eq!(
        raw(&cloud, "GET", "/volume/v3/p-demo/volumes", &[], b"")
            .await
            .status,
        401
    );

    let volumes = http.service_client("block-storage");
    assert_eq!(
        volumes.endpoint().await.unwrap(),
        format!("{}/volume/v3/p-demo", cloud.url())
    );
    let versions = volumes.versions().await.unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].id, "v3.0");
    assert_eq!(
        volumes
            .negotiate(Microversion::new(3, 0), Microversion::Latest)
            .await
            .unwrap(),
        Microversion::new(3, 71)
    );
    assert_eq!(
        volumes
            .negotiate(Microversion::new(3, 0), Microversion::new(3, 70))
            .await
            .unwrap(),
        Microversion::new(3, 70)
    );
}

/// `OpenStack-API-Version: volume 3.x` is answered with the version used
/// (3.0 when none is asked, the maximum for `latest`) and `Vary`; outside
/// 3.0..3.71 it is a 406 naming the version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microversions_are_checked_and_echoed() {
    let cloud = FakeCloud::start().await.unwrap();
    let volumes = cloud.http_client().unwrap().service_client("block-storage");
    let r = volumes.get("/volumes").await.unwrap();
    assert_eq!(r.microversion(), Some(Microversion::new(3, 0)));
    assert_eq!(r.headers()["vary"], "OpenStack-API-Version");
    for (asked, answered) in [
        (Microversion::new(3, 50), Microversion::new(3, 50)),
        (Microversion::new(3, 71), Microversion::new(3, 71)),
        (Microversion::Latest, Microversion::new(3, 71)),
    ] {
        let r = volumes
            .request(ApiRequest::get("/volumes").microversion(asked))
            .await
            .unwrap();
        assert_eq!(r.microversion(), Some(answered), "{asked}");
        assert_eq!(
            r.headers()["openstack-api-version"],
            format!("volume {answered}").as_str()
        );
    }
    for bad in [
        Microversion::new(9, 99),
        Microversion::new(3, 72),
        Microversion::new(2, 0),
    ] {
        let err = volumes
            .request(ApiRequest::get("/volumes").microversion(bad))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(406), "{bad}");
        assert!(err.to_string().contains(&bad.to_string()), "{err}");
    }
}

/// With a status delay (the builder's, then the runtime setter's): create
/// answers 202 `creating`, the volume is `available` once the delay is
/// over; extend goes through `extending` to the new size; delete through
/// `deleting` to gone. A volume still creating cannot be deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_move_after_the_delay() {
    let cloud = FakeCloud::builder()
        .status_delay(Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let volumes = cloud.http_client().unwrap().service_client("block-storage");
    let created = create(&volumes, json!({"size": 1, "name": "v1"})).await;
    assert_eq!(created["status"], "creating");
    let id = created["id"].as_str().unwrap();
    assert_eq!(status(&volumes, id).await, "creating");
    let err = volumes.delete(&format!("/volumes/{id}")).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "not deletable while creating");
    assert!(
        err.to_string()
            .starts_with("Invalid volume: Volume status must be available"),
        "{err}"
    );
    until_status(&volumes, id, "available").await;
    let v = show(&volumes, id).await;
    assert_eq!(v["size"], 1);
    assert!(v["updated_at"].is_string());

    assert_eq!(
        action(&volumes, id, json!({"os-extend": {"new_size": 3}})).await,
        202
    );
    assert_eq!(status(&volumes, id).await, "extending");
    assert_eq!(show(&volumes, id).await["size"], 1, "not yet");
    until_status(&volumes, id, "available").await;
    assert_eq!(show(&volumes, id).await["size"], 3);

    // the runtime setter: at once from now on
    cloud.set_status_delay(Duration::ZERO);
    let quick = create(&volumes, json!({"size": 2})).await;
    assert_eq!(quick["status"], "creating", "the create's answer");
    let quick = quick["id"].as_str().unwrap();
    assert_eq!(
        status(&volumes, quick).await,
        "available",
        "by the next request"
    );

    cloud.set_status_delay(Duration::from_secs(3));
    let r = volumes.delete(&format!("/volumes/{id}")).await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(status(&volumes, id).await, "deleting");
    eventually("the volume is gone", Duration::from_secs(30), || {
        let volumes = volumes.clone();
        async move {
            volumes
                .get(&format!("/volumes/{id}"))
                .await
                .is_err_and(|e| e.is_not_found())
        }
    })
    .await;
    let err = volumes.get(&format!("/volumes/{id}")).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("Volume {id} could not be found.")),
        "{err}"
    );
    assert_eq!(cloud.count("POST /volume/v3/{project_id}/volumes"), 2);
    assert_eq!(
        cloud.service_count("block-storage", "POST /volumes/{id}/action"),
        1
    );
}

/// `fail_next_volume`: the next create ends in `error`, the next extend in
/// `error_extending` (size kept), the next delete in `error_deleting`
/// (volume kept); one failure each, then things work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_demand() {
    let cloud = FakeCloud::start().await.unwrap();
    let volumes = volumes_of(&cloud, "demo");
    cloud.fail_next_volume(VolumeFailure::Create);
    let bad = create(&volumes, json!({"size": 1})).await;
    assert_eq!(bad["status"], "creating");
    let bad = bad["id"].as_str().unwrap();
    until_status(&volumes, bad, "error").await;
    let good = create(&volumes, json!({"size": 1})).await;
    let good = good["id"].as_str().unwrap();
    until_status(&volumes, good, "available").await;

    cloud.fail_next_volume(VolumeFailure::Extend);
    action(&volumes, good, json!({"os-extend": {"new_size": 2}})).await;
    until_status(&volumes, good, "error_extending").await;
    assert_eq!(show(&volumes, good).await["size"], 1);

    // an error volume can be deleted; a failed delete leaves it
    cloud.fail_next_volume(VolumeFailure::Delete);
    volumes.delete(&format!("/volumes/{bad}")).await.unwrap();
    until_status(&volumes, bad, "error_deleting").await;
    let err = volumes
        .delete(&format!("/volumes/{bad}"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    // the admin resets it (from its own project's endpoint), then it goes
    let admin = volumes_of(&cloud, "admin");
    assert_eq!(
        action(
            &admin,
            bad,
            json!({"os-reset_status": {"status": "available"}})
        )
        .await,
        202
    );
    assert_eq!(status(&volumes, bad).await, "available");
    volumes.delete(&format!("/volumes/{bad}")).await.unwrap();
    eventually("the volume is gone", Duration::from_secs(30), || {
        let volumes = volumes.clone();
        async move {
            volumes
                .get(&format!("/volumes/{bad}"))
                .await
                .is_err_and(|e| e.is_not_found())
        }
    })
    .await;
}

/// Lists: the summary (id, links, name) and the detail, newest first,
/// filtered by name and status, paged by `limit` and `marker` with an
/// absolute `volumes_links` next link on a full page; update, actions and
/// their refusals; another project's id in the path is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_links_updates_and_actions() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let volumes = http.service_client("block-storage");
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            create(&volumes, json!({"size": 1, "name": format!("v{i}")})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // another project's volume is not listed
    create(
        &volumes_of(&cloud, "admin"),
        json!({"size": 1, "name": "theirs"}),
    )
    .await;

    let list: Value = volumes.get("/volumes").await.unwrap().json().unwrap();
    let got: Vec<&str> = list["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [&ids[2], &ids[1], &ids[0]], "newest first");
    assert!(
        list.get("volumes_links").is_none(),
        "one partial page: {list}"
    );
    let page: Value = volumes
        .get("/volumes/detail?limit=2")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(page["volumes"].as_array().unwrap().len(), 2);
    assert_eq!(page["volumes"][0]["status"], "available");
    let next = page["volumes_links"][0]["href"].as_str().unwrap();
    assert_eq!(page["volumes_links"][0]["rel"], "next");
    assert_eq!(
        next,
        format!(
            "{}/volume/v3/p-demo/volumes/detail?limit=2&marker={}",
            cloud.url(),
            ids[1]
        )
    );
    let rest: Value = volumes.get(next).await.unwrap().json().unwrap();
    assert_eq!(rest["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(rest["volumes"][0]["id"], ids[0].as_str());
    assert!(rest.get("volumes_links").is_none());
    let named: Value = volumes
        .get("/volumes?name=v1")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(named["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(named["volumes"][0]["id"], ids[1].as_str());
    let err = volumes.get("/volumes?marker=nope").await.unwrap_err();
    assert!(err.is_not_found());

    // update
    let updated: Value = volumes
        .put(
            &format!("/volumes/{}", ids[0]),
            &json!({"volume": {"name": "renamed", "description": "d", "metadata": {"k": "v"}}}),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(updated["volume"]["name"], "renamed");
    assert_eq!(updated["volume"]["metadata"], json!({"k": "v"}));
    assert_eq!(show(&volumes, &ids[0]).await["description"], "d");
    let err = volumes
        .put(
            &format!("/volumes/{}", ids[0]),
            &json!({"volume": {"size": 9}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    // actions
    let r = volumes
        .post(
            &format!("/volumes/{}/action", ids[0]),
            &json!({"os-set_bootable": {"bootable": true}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(show(&volumes, &ids[0]).await["bootable"], "true");
    let refused = |body: Value| {
        let volumes = volumes.clone();
        let path = format!("/volumes/{}/action", ids[0]);
        async move { volumes.post(&path, &body).await.unwrap_err() }
    };
    let err = refused(json!({"os-reset_status": {"status": "error"}})).await;
    assert_eq!(err.status(), Some(403), "admin only: {err}");
    let err = refused(json!({"os-extend": {"new_size": 1}})).await;
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .contains("New size for extend must be greater than current size"),
        "{err}"
    );
    let err = refused(json!({"os-nope": {}})).await;
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .starts_with("There is no such action: os-nope"),
        "{err}"
    );

    // someone else's project in the path
    let tok = token(&http).await;
    let r = raw(
        &cloud,
        "GET",
        "/volume/v3/p-admin/volumes",
        &[("X-Auth-Token", &tok)],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"badRequest": {"code": 400, "message": "Malformed request url"}})
    );
}

/// The key sets of the Cinder API reference's samples (made by an
/// administrator): create, show and the detailed list at 3.0 and 3.69,
/// the summary list; a member sees the same minus the admin-only keys;
/// `shared_targets` is `true` for a null before 3.69.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_have_the_api_reference_samples_keys() {
    let cloud = FakeCloud::start().await.unwrap();
    let admin = volumes_of(&cloud, "admin");
    for (mv, dir) in [
        (Microversion::new(3, 0), ""),
        (Microversion::new(3, 69), "v3.69/"),
    ] {
        let at = admin.clone().with_microversion(mv);
        let created: Value = at
            .post("/volumes", &json!({"volume": {"size": 10}}))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            keys(&created["volume"]),
            keys(&sample(&format!("{dir}volume-create-response.json"))["volume"]),
            "create at {mv}"
        );
        let id = created["volume"]["id"].as_str().unwrap();
        let shown: Value = at
            .get(&format!("/volumes/{id}"))
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            keys(&shown["volume"]),
            keys(&sample(&format!("{dir}volume-show-response.json"))["volume"]),
            "show at {mv}"
        );
        let detail: Value = at.get("/volumes/detail").await.unwrap().json().unwrap();
        assert_eq!(
            keys(&detail["volumes"][0]),
            keys(&sample(&format!("{dir}volumes-list-detailed-response.json"))["volumes"][0]),
            "detail at {mv}"
        );
        let links = shown["volume"]["links"].as_array().unwrap();
        assert_eq!(links[0]["rel"], "self");
        assert_eq!(links[1]["rel"], "bookmark");
        assert!(
            links[0]["href"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/volume/v3/p-admin/volumes/{id}"))
        );
    }
    let list: Value = admin.get("/volumes").await.unwrap().json().unwrap();
    assert_eq!(
        keys(&list["volumes"][0]),
        keys(&sample("volumes-list-response.json")["volumes"][0])
    );

    // a member: no admin-only keys
    let demo = volumes_of(&cloud, "demo").with_microversion(Microversion::new(3, 69));
    let id = create(&demo, json!({"size": 1})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown: Value = demo
        .get(&format!("/volumes/{id}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    // (migration_status too: the real cinder-api's member view has none;
    // examples/block-storage/tests/cinder.rs compares the two)
    let admin_only = [
        "cluster_name",
        "migration_status",
        "os-vol-host-attr:host",
        "os-vol-mig-status-attr:migstat",
        "os-vol-mig-status-attr:name_id",
        "provider_id",
    ];
    let want: Vec<String> = keys(&sample("v3.69/volume-show-response.json")["volume"])
        .into_iter()
        .filter(|k| !admin_only.contains(&k.as_str()))
        .collect();
    assert_eq!(keys(&shown["volume"]), want);
    assert_eq!(shown["volume"]["shared_targets"], Value::Null);
    let older: Value = demo
        .clone()
        .with_microversion(Microversion::new(3, 48))
        .get(&format!("/volumes/{id}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(older["volume"]["shared_targets"], true);
    assert_eq!(shown["volume"]["os-vol-tenant-attr:tenant_id"], "p-demo");
    assert_eq!(shown["volume"]["user_id"], "u-demo");
}

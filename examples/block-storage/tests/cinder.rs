//! The example Cinder client against a real cinder-api 29 behind the real
//! Keystone (`scripts/keystone/run.sh start`, `scripts/cinder/run.sh
//! start`), as the `demo` user, and the shape of its volumes beside
//! FakeCloud's. cinder-api runs there without a scheduler: a volume it
//! accepts stays `creating`, and is deleted at once. Without the services
//! the test says so and passes; under CI a missing service is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::time::Duration;

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::wait::{Wait, WaitError};
use apiclient_base::{ApiRequest, Microversion};
use apiclient_fake::FakeCloud;
use apiclient_http::HttpClient;
use example_block_storage::{BlockStorage, NewVolume, VolumeQuery};

fn running() -> bool {
    let up = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .is_ok()
    };
    if up(5000) && up(8776) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must start Keystone and Cinder (scripts/keystone/run.sh start; scripts/cinder/run.sh start)"
    );
    eprintln!("skipping: needs Keystone on :5000 and cinder-api on :8776");
    false
}

/// The demo user's password, from the seed the Keystone script wrote.
fn demo_password() -> String {
    std::fs::read_to_string("/tmp/apiclient-rs/keystone-data/seed.json")
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["demo"]["password"].as_str().map(str::to_string))
        .unwrap_or_else(|| "demopass".into())
}

fn demo() -> HttpClient {
    let plugin = V3Password::new("http://127.0.0.1:5000/v3", "demo", &demo_password())
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap()
}

/// The keys of a volume's JSON as `GET /volumes/{id}` shows it.
async fn keys_of(http: &HttpClient, mv: Microversion, id: &str) -> BTreeSet<String> {
    let v: serde_json::Value = http
        .service_client("block-storage")
        .request(ApiRequest::get(format!("/volumes/{id}")).microversion(mv))
        .await
        .unwrap()
        .json()
        .unwrap();
    v["volume"].as_object().unwrap().keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_on_a_real_cinder_and_the_fake_has_its_shape() {
    if !running() {
        return;
    }
    let http = demo();
    let cinder = BlockStorage::connect(&http).await.unwrap();
    let mv = cinder.microversion().unwrap();
    assert_eq!(mv, Microversion::new(3, 71));

    let listed = cinder.volumes.page(&VolumeQuery::default()).await.unwrap();
    assert_eq!(listed.meta.microversion, Some(mv));
    let missing = "00000000-0000-0000-0000-000000000000";
    assert!(cinder.volumes.get_opt(missing).await.unwrap().is_none());
    assert!(
        cinder
            .volumes
            .find(missing)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let name = format!("apiclient-example-{}", std::process::id());
    let created = cinder
        .volumes
        .create(&NewVolume {
            size: 1,
            name: Some(name.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.meta().status, 202);
    assert_eq!(created.status, "creating");
    assert_eq!(cinder.volumes.find(&name).await.unwrap().id, created.id);

    // no scheduler here: the waiter times out with the status it last saw
    let short = cinder.clone().with_wait(
        Wait::new()
            .backoff(Duration::from_millis(100), Duration::from_millis(400), 2.0)
            .timeout(Duration::from_secs(2)),
    );
    match short.volumes.wait_available(&created.id).await {
        Err(WaitError::TimedOut { last_status, .. }) => {
            assert_eq!(last_status.as_deref(), Some("creating"))
        }
        other => panic!("{other:?}"),
    }

    // the fake's volume, at the same microversion and as a member, has the
    // real one's keys
    let real = keys_of(&http, mv, &created.id).await;
    let cloud = FakeCloud::start().await.unwrap();
    let fake_http = cloud.http_client().unwrap();
    let fake = BlockStorage::connect(&fake_http).await.unwrap();
    let made = fake
        .volumes
        .create(&NewVolume {
            size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let faked = keys_of(&fake_http, mv, &made.id).await;
    assert_eq!(
        faked, real,
        "the fake's volume keys against the real Cinder's"
    );

    cinder.volumes.delete(&created.id).await.unwrap();
    short.volumes.wait_deleted(&created.id).await.unwrap();
}

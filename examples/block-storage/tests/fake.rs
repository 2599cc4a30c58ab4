//! The example Cinder client on FakeCloud's block-storage service (Cinder
//! v3's shape: a project-scoped endpoint, `volume` microversions, statuses
//! that move after a delay, failures on demand), with the library's waiters.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use apiclient_base::wait::{Wait, WaitError};
use apiclient_base::{Error, Microversion};
use apiclient_fake::{FakeCloud, VolumeFailure};
use example_block_storage::{BlockStorage, NewVolume, VolumeQuery, VolumeUpdate};

/// Polls every 50 ms (up to 200 ms), for at most a minute: the fake's
/// transitions last `DELAY`.
fn quick() -> Wait {
    Wait::new()
        .backoff(Duration::from_millis(50), Duration::from_millis(200), 2.0)
        .timeout(Duration::from_secs(60))
}

/// Long enough that a waiter's first poll finds the volume in transition,
/// even on a busy machine.
const DELAY: Duration = Duration::from_millis(1500);

async fn cinder(cloud: &FakeCloud) -> BlockStorage {
    let http = cloud.http_client().unwrap();
    BlockStorage::connect(&http)
        .await
        .unwrap()
        .with_wait(quick())
}

fn new_volume(name: &str, size: u64) -> NewVolume {
    NewVolume {
        size,
        name: Some(name.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_is_created_waited_for_extended_and_deleted() {
    let cloud = FakeCloud::builder()
        .status_delay(DELAY)
        .start()
        .await
        .unwrap();
    let cinder = cinder(&cloud).await;
    assert_eq!(cinder.microversion(), Some(Microversion::new(3, 71)));

    let created = cinder.volumes.create(&new_volume("data", 1)).await.unwrap();
    assert_eq!(created.meta().status, 202);
    assert_eq!(created.status, "creating");
    // every answer confirms the microversion asked for
    assert_eq!(created.meta().microversion, Some(Microversion::new(3, 71)));
    let volume = cinder.volumes.wait_available(&created.id).await.unwrap();
    assert_eq!((volume.status.as_str(), volume.size), ("available", 1));
    // the waiter polled while it was `creating`: more than one GET
    let gets = cloud.service_count("block-storage", "GET /volumes/{id}");
    assert!(gets >= 2, "{gets} GETs");

    cinder.volumes.extend(&volume.id, 3).await.unwrap();
    assert_eq!(
        cinder.volumes.get(&volume.id).await.unwrap().status,
        "extending"
    );
    let grown = cinder.volumes.wait_available(&volume.id).await.unwrap();
    assert_eq!(grown.size, 3);

    cinder.volumes.set_bootable(&volume.id, true).await.unwrap();
    assert!(cinder.volumes.get(&volume.id).await.unwrap().is_bootable());
    let renamed = cinder
        .volumes
        .update(
            &volume.id,
            &VolumeUpdate {
                name: Some("data-2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("data-2"));
    assert_eq!(cinder.volumes.find("data-2").await.unwrap().id, volume.id);

    cinder.volumes.delete(&volume.id).await.unwrap();
    cinder.volumes.wait_deleted(&volume.id).await.unwrap();
    assert!(cinder.volumes.get_opt(&volume.id).await.unwrap().is_none());
    let err = cinder.volumes.find(&volume.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_end_the_waits_with_the_status_cinder_reports() {
    let cloud = FakeCloud::builder()
        .status_delay(DELAY)
        .start()
        .await
        .unwrap();
    let cinder = cinder(&cloud).await;

    cloud.fail_next_volume(VolumeFailure::Create);
    let created = cinder
        .volumes
        .create(&new_volume("broken", 1))
        .await
        .unwrap();
    match cinder.volumes.wait_available(&created.id).await {
        Err(WaitError::FailureState { status, .. }) => assert_eq!(status, "error"),
        other => panic!("{other:?}"),
    }

    let ok = cinder.volumes.create(&new_volume("ok", 1)).await.unwrap();
    cinder.volumes.wait_available(&ok.id).await.unwrap();
    cloud.fail_next_volume(VolumeFailure::Extend);
    cinder.volumes.extend(&ok.id, 2).await.unwrap();
    match cinder.volumes.wait_available(&ok.id).await {
        Err(WaitError::FailureState { status, .. }) => assert_eq!(status, "error_extending"),
        other => panic!("{other:?}"),
    }
    // a member may not reset a status (Cinder's policy); an administrator may
    let err = cinder
        .volumes
        .reset_status(&ok.id, "available")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    let admin = cloud.http_client_builder("admin").unwrap().build().unwrap();
    let as_admin = BlockStorage::connect(&admin).await.unwrap();
    as_admin
        .volumes
        .reset_status(&ok.id, "available")
        .await
        .unwrap();
    assert_eq!(
        cinder.volumes.get(&ok.id).await.unwrap().status,
        "available"
    );
    // then deleted, but the delete fails
    cloud.fail_next_volume(VolumeFailure::Delete);
    cinder.volumes.delete(&ok.id).await.unwrap();
    match cinder.volumes.wait_deleted(&ok.id).await {
        Err(WaitError::FailureState { status, .. }) => assert_eq!(status, "error_deleting"),
        other => panic!("{other:?}"),
    }

    // a volume that never settles: the wait times out with the last status
    cloud.set_status_delay(Duration::from_secs(3600));
    let slow = cinder.volumes.create(&new_volume("slow", 1)).await.unwrap();
    let short = quick().timeout(Duration::from_millis(400));
    let cinder = cinder.with_wait(short);
    match cinder.volumes.wait_available(&slow.id).await {
        Err(WaitError::TimedOut { last_status, .. }) => {
            assert_eq!(last_status.as_deref(), Some("creating"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_volumes_links_and_names_can_be_ambiguous() {
    let cloud = FakeCloud::start().await.unwrap();
    let cinder = cinder(&cloud).await;
    for i in 0..5 {
        cinder
            .volumes
            .create(&new_volume(&format!("v{i}"), 1))
            .await
            .unwrap();
    }
    cinder.volumes.create(&new_volume("v0", 2)).await.unwrap();

    let query = VolumeQuery {
        limit: Some(2),
        ..Default::default()
    };
    let mut page = cinder.volumes.page(&query).await.unwrap();
    let mut names = Vec::new();
    let mut pages = 1;
    loop {
        assert!(page.items.len() <= 2);
        names.extend(page.items.iter().filter_map(|v| v.name.clone()));
        // the token survives a round trip through text (a UI's link)
        let Some(next) = page.next.take() else { break };
        let kept: apiclient_base::PageToken = next.as_str().to_string().into();
        page = cinder.volumes.page_from(&kept).await.unwrap();
        pages += 1;
        assert!(pages < 10, "no end to the pages");
    }
    names.sort();
    assert_eq!(names, ["v0", "v0", "v1", "v2", "v3", "v4"]);
    assert!(pages >= 3);

    let err = cinder.volumes.find("v0").await.unwrap_err();
    match &err {
        Error::NoUniqueMatch(a) => assert_eq!(a.resource(), "volume"),
        other => panic!("{other:?}"),
    }
    assert_eq!(cinder.volumes.find("v3").await.unwrap().size, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_cinder_is_met_at_its_highest_microversion() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = cloud.http_client().unwrap();
    // a client written for an older Cinder asks for no more than it knows
    let service = http.service_client("block-storage");
    let v = service
        .negotiate(Microversion::new(3, 0), Microversion::new(3, 50))
        .await
        .unwrap();
    assert_eq!(v, Microversion::new(3, 50));
    let cinder = BlockStorage::at(service, v);
    let listed = cinder.volumes.list(&VolumeQuery::default()).await.unwrap();
    assert_eq!(listed.meta().microversion, Some(Microversion::new(3, 50)));
    // one the service does not have is refused by it, typed
    let err = BlockStorage::at(
        http.service_client("block-storage"),
        Microversion::new(3, 99),
    )
    .volumes
    .list(&VolumeQuery::default())
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(406), "{err}");
}

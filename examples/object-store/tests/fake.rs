//! The example Swift client against FakeCloud's Swift-like object store
//! (`apiclient_fake`), on loopback, no service needed.
//!
//! What the fake supports, and so what is tested here: containers (create,
//! account listing by name, delete, 409 when not empty), objects (PUT with
//! the `ETag` checked, 422 on a mismatch; GET, HEAD with `ETag` and length;
//! `Range` → 206; DELETE), container listings with `marker` and `limit`, and
//! its faults (a 401 after N bytes of an upload, revoked tokens). What it
//! does not: account and container `HEAD`, `POST` (metadata: 405), object
//! metadata (not stored), `prefix`, `marker` on the account listing (so
//! [`ObjectStore::all_containers`] meets a page that does not move forward
//! and stops with an error), static large objects (a manifest would
//! be stored as a plain object: only the segment uploads are tested), temp
//! URLs. Those are tested against the real Swift (`tests/swift.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::Error;
use apiclient_fake::{FakeCloud, Fault};
use apiclient_http::HttpClient;
use apiclient_http::transfer::{DigestAlgorithm, Progress};
use common::{Data, MIB, digest, file_digest};
use example_object_store::{
    DownloadOptions, LargeObjectOptions, ListQuery, Md5Check, Metadata, ObjectStore, UploadOptions,
};
use futures_util::{StreamExt, TryStreamExt};

fn http(cloud: &FakeCloud) -> HttpClient {
    let plugin = V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    HttpClient::builder(plugin)
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap()
}

fn list_requests(cloud: &FakeCloud, container: &str) -> u64 {
    cloud.count(&format!("GET /v1/{{account}}/{container}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_objects_listing_ranges_and_checks_on_the_fake() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = http(&cloud);
    let swift = ObjectStore::new(&http);
    assert!(
        swift
            .account_url()
            .await
            .unwrap()
            .starts_with(&format!("{}/v1/AUTH_", cloud.url()))
    );

    assert!(
        swift
            .create_container("c", &Metadata::new())
            .await
            .unwrap()
            .into_inner()
    );
    assert!(
        !swift
            .create_container("c", &Metadata::new())
            .await
            .unwrap()
            .into_inner(),
        "202: it existed"
    );
    swift
        .create_container("other", &Metadata::new())
        .await
        .unwrap();
    let page = swift.containers(&ListQuery::default()).await.unwrap();
    let names: Vec<&str> = page.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c", "other"]);
    // the fake's account listing ignores `marker`: the second page repeats
    // the first, and following markers stops with an error, not a loop
    let pages: Vec<Result<_, Error>> = swift
        .all_containers(&ListQuery::default())
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 3, "two entries, then the error: {pages:?}");
    let err = pages[2].as_ref().unwrap_err();
    assert!(
        err.to_string()
            .contains("did not move past the marker 'other'"),
        "{err}"
    );

    // five objects, then marker pagination with limit=2: 2 + 2 + 1, the short page ends it
    let data = Data::new();
    for i in 0..5u64 {
        let up = swift
            .put_object(
                "c",
                &format!("o{i}"),
                data.bytes(100 + i),
                &UploadOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(up.etag, digest(DigestAlgorithm::Md5, &data.bytes(100 + i)));
    }
    let before = list_requests(&cloud, "c");
    let all: Vec<_> = swift
        .all_objects("c", &ListQuery::default().with_limit(2))
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["o0", "o1", "o2", "o3", "o4"]);
    assert_eq!(all[2].bytes, 102);
    assert_eq!(all[2].hash, digest(DigestAlgorithm::Md5, &data.bytes(102)));
    assert_eq!(list_requests(&cloud, "c") - before, 3);
    // limit=5 over 5: a full page, then an empty one ends it
    let before = list_requests(&cloud, "c");
    let all: Vec<_> = swift
        .all_objects("c", &ListQuery::default().with_limit(5))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(list_requests(&cloud, "c") - before, 2);
    let page = swift
        .objects(
            "c",
            &ListQuery {
                marker: Some("o1".into()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = page.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["o2", "o3"]);

    // HEAD, a whole read (MD5 checked), a Range read
    let head = swift.object("c", "o3").await.unwrap();
    assert_eq!(head.content_length, 103);
    assert_eq!(
        head.etag.as_deref(),
        Some(digest(DigestAlgorithm::Md5, &data.bytes(103)).as_str())
    );
    let whole = swift.get_object("c", "o4").await.unwrap();
    assert_eq!(&whole.data[..], &data.bytes(104)[..]);
    let part = swift.read_range("c", "o4", 10..=19).await.unwrap();
    assert_eq!(part.meta().status, 206);
    assert_eq!(&part[..], &data.bytes(104)[10..20]);
    let err = swift.read_range("c", "o4", 500..).await.unwrap_err();
    assert_eq!(err.status(), Some(416));

    // a wrong MD5 is refused (422) and nothing is stored
    let err = swift
        .put_object(
            "c",
            "bad",
            "payload",
            &UploadOptions::new().md5(Md5Check::Known("f".repeat(32))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(swift.object("c", "bad").await.unwrap_err().is_not_found());
    // a caller's MD5 that is not one is refused before anything is sent
    let err = swift
        .put_object(
            "c",
            "bad",
            "x",
            &UploadOptions::new().md5(Md5Check::Known("xyz".into())),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");

    // files and readers, streamed, with progress; downloads checked
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let size = 3 * MIB + 7;
    let (sha, md5) = data.write_file(&src, size);
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let s = seen.clone();
    let up = swift
        .upload_file(
            "c",
            "file.bin",
            &src,
            &UploadOptions::new().on_progress(move |p| s.lock().unwrap().push(p)),
        )
        .await
        .unwrap();
    assert_eq!(up.etag, md5);
    assert_eq!(seen.lock().unwrap().last().unwrap().done(), size);
    let reader = tokio::fs::File::open(&src).await.unwrap();
    let up = swift
        .upload_reader("c", "reader.bin", reader, None, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.etag, md5, "hashed on the way, chunked");
    let dst = dir.path().join("dst.bin");
    let got = swift
        .download_to_file(
            "c",
            "reader.bin",
            &dst,
            &DownloadOptions::new().expect_sha256(&sha),
        )
        .await
        .unwrap();
    assert_eq!(got.bytes, size);
    assert_eq!(file_digest(&dst, DigestAlgorithm::Sha256), sha);
    std::fs::write(&dst, b"kept").unwrap();
    let err = swift
        .download_to_file(
            "c",
            "file.bin",
            &dst,
            &DownloadOptions::new().expect_digest(DigestAlgorithm::Sha512, "0".repeat(128)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                algorithm: "sha512",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&dst).unwrap(), b"kept");
    // a file that does not exist: an I/O error naming it, nothing sent
    let gone = dir.path().join("gone.bin");
    match swift
        .upload_file("c", "gone", &gone, &UploadOptions::new())
        .await
        .unwrap_err()
    {
        Error::Io { path, .. } => assert_eq!(path.as_deref(), Some(gone.as_path())),
        other => panic!("expected an I/O error, got {other:?}"),
    }

    // a missing container: 404
    let err = swift
        .upload_file("missing", "o", &src, &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // what the fake does not do is an HTTP error, not a panic
    let err = swift
        .set_container_metadata("c", &Metadata::from([("k".into(), "v".into())]))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(405));
    // names are validated before anything is sent
    assert!(matches!(
        swift.object("a/b", "o").await.unwrap_err(),
        Error::Validation(_)
    ));
    assert!(matches!(
        swift.delete_object("c", "").await.unwrap_err(),
        Error::Validation(_)
    ));

    // deletes: a container with objects is 409
    assert_eq!(
        swift.delete_container("c").await.unwrap_err().status(),
        Some(409)
    );
    let names: Vec<String> = swift
        .all_objects("c", &ListQuery::default())
        .map_ok(|o| o.name)
        .try_collect()
        .await
        .unwrap();
    for n in &names {
        swift.delete_object("c", n).await.unwrap();
    }
    assert!(swift.object("c", "o0").await.unwrap_err().is_not_found());
    swift.delete_container("c").await.unwrap();
    assert!(
        swift
            .objects("c", &ListQuery::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// Revoked tokens and a 401 in the middle of an upload: a file is re-opened
/// and sent again after one re-authentication; a one-shot reader is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_before_or_during_an_upload() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = http(&cloud);
    let swift = ObjectStore::new(&http);
    swift.create_container("c", &Metadata::new()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let size = 16 * MIB;
    let (sha, md5) = Data::new().write_file(&src, size);

    // every token revoked before the upload
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.revoke_all();
    let up = swift
        .upload_file("c", "revoked.bin", &src, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.etag, md5);
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
    assert_eq!(cloud.count("PUT /v1/{account}/c/revoked.bin"), 2);

    // a 401 after 4 MiB of the body: the file is sent again from its start
    cloud.set_fault_prefix("/v1");
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.inject(Fault::UnauthorizedAfter(4 * MIB), 1);
    let up = swift
        .upload_file("c", "cut.bin", &src, &UploadOptions::new())
        .await
        .unwrap();
    assert_eq!(up.etag, md5);
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
    assert_eq!(cloud.count("PUT /v1/{account}/c/cut.bin"), 2);
    let dst = dir.path().join("dst.bin");
    swift
        .download_to_file(
            "c",
            "cut.bin",
            &dst,
            &DownloadOptions::new().expect_sha256(&sha),
        )
        .await
        .unwrap();

    // the same with a one-shot reader: one re-authentication, then a clear error
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.inject(Fault::UnauthorizedAfter(4 * MIB), 1);
    let reader = tokio::fs::File::open(&src).await.unwrap();
    let err = swift
        .upload_reader("c", "once.bin", reader, Some(size), &UploadOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyNotReplayable { .. }), "{err:?}");
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
    assert_eq!(cloud.count("PUT /v1/{account}/c/once.bin"), 1, "sent once");
    assert!(
        swift
            .object("c", "once.bin")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

/// The segments of a large upload (the fake has no SLO middleware, so the
/// manifest is not sent): each a slice of the file with its MD5, in order;
/// a 401 between two segments costs one re-authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_segments_of_a_large_upload_on_the_fake() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = http(&cloud);
    let swift = ObjectStore::new(&http);
    swift.create_container("c", &Metadata::new()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    let size = 2 * MIB + 100;
    Data::new().write_file(&src, size);
    let whole = std::fs::read(&src).unwrap();

    let mut upload = swift
        .plan_large_upload("c", "big", &src, LargeObjectOptions::new(MIB))
        .await
        .unwrap();
    assert_eq!(upload.segment_count(), 3);
    assert_eq!(upload.segment_container(), "c_segments");
    assert!(matches!(
        upload.upload_segment(3).await.unwrap_err(),
        Error::Validation(_)
    ));
    upload.upload_segment(0).await.unwrap();
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.revoke_all();
    upload.upload_remaining().await.unwrap();
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
    let segments: Vec<_> = upload.segments().iter().flatten().cloned().collect();
    assert_eq!(segments.len(), 3);

    let listed: Vec<_> = swift
        .all_objects("c_segments", &ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["big/00000000", "big/00000001", "big/00000002"]);
    let m = MIB as usize;
    for (i, (o, s)) in listed.iter().zip(&segments).enumerate() {
        let slice = &whole[i * m..((i + 1) * m).min(whole.len())];
        assert_eq!(o.hash, digest(DigestAlgorithm::Md5, slice));
        assert_eq!(s.etag, o.hash);
        assert_eq!(s.size_bytes, slice.len() as u64);
        assert_eq!(s.path, format!("/c_segments/{}", o.name));
    }

    // given up: the segments are deleted
    upload.abort().await.unwrap();
    assert!(
        swift
            .objects("c_segments", &ListQuery::default())
            .await
            .unwrap()
            .is_empty()
    );

    // an empty file or a zero segment size is refused up front
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        swift
            .plan_large_upload("c", "e", &empty, LargeObjectOptions::new(MIB))
            .await
            .unwrap_err(),
        Error::Validation(_)
    ));
    assert!(matches!(
        swift
            .plan_large_upload("c", "e", &src, LargeObjectOptions::new(0))
            .await
            .unwrap_err(),
        Error::Validation(_)
    ));
}

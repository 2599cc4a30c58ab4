//! The example Swift client against a real Swift 2.38 behind the real
//! Keystone (`bash scripts/swift/run.sh start`, which needs the Keystone of
//! `cargo xtask keystone start`). Without them each test says so and
//! passes; under CI a missing service is a failure.
//!
//! The demo account is shared with other suites: every test works in
//! containers of its own and removes them, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use apiclient_base::{Error, Method};
use apiclient_http::transfer::{DigestAlgorithm, Progress};
use apiclient_http::{ApiRequest, HttpClient};
use common::*;
use example_object_store::{
    DownloadOptions, LargeObjectKind, LargeObjectOptions, ListQuery, Md5Check, Metadata,
    ObjectStore, UploadOptions,
};
use futures_util::TryStreamExt;

/// A client with no token at all, for temp URLs.
fn anonymous() -> HttpClient {
    HttpClient::builder(apiclient_auth::typed::NoAuth::new("http://127.0.0.1:8080"))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// The PUT attempts the client made to a URL ending in `tail`, by status.
fn put_attempts(http: &HttpClient, tail: &str) -> Vec<Option<u16>> {
    http.get_timings()
        .into_iter()
        .filter(|t| t.method == "PUT" && t.url.ends_with(tail))
        .map(|t| t.status)
        .collect()
}

fn meta(items: &[(&str, &str)]) -> Metadata {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_objects_metadata_listing_ranges_and_errors() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-crud");
    cleaning_up(&swift, &[&c], async {
        // the account: its URL is the project's, HEAD answers its counters
        let project = http
            .access()
            .await
            .unwrap()
            .project_id()
            .unwrap()
            .to_string();
        assert_eq!(
            swift.account_url().await.unwrap(),
            format!("http://127.0.0.1:8080/v1/AUTH_{project}")
        );
        let account = swift.account().await.unwrap();
        assert_eq!(account.meta().status, 204);
        assert!(
            account.request_id().unwrap().starts_with("tx"),
            "{:?}",
            account.meta()
        );
        // account metadata: set, read back, removed by an empty value
        let key = unique("k");
        swift
            .set_account_metadata(&meta(&[(&key, "on")]))
            .await
            .unwrap();
        let account = swift.account().await.unwrap().into_inner();
        assert_eq!(account.metadata.get(&key).map(String::as_str), Some("on"));
        swift
            .set_account_metadata(&meta(&[(&key, "")]))
            .await
            .unwrap();
        assert!(!swift.account().await.unwrap().metadata.contains_key(&key));

        // a container with metadata; created once, then 202 (existed)
        let created = swift
            .create_container(&c, &meta(&[("color", "blue"), ("Owner", "alice")]))
            .await
            .unwrap();
        assert!(created.into_inner(), "201 Created");
        assert!(
            !swift
                .create_container(&c, &Metadata::new())
                .await
                .unwrap()
                .into_inner()
        );
        let info = swift.container(&c).await.unwrap().into_inner();
        assert_eq!(info.object_count, 0);
        assert_eq!(
            info.metadata,
            meta(&[("color", "blue"), ("owner", "alice")])
        );
        assert_eq!(info.storage_policy.as_deref(), Some("Policy-0"));
        // POST adds and replaces items, keeps the others; remove drops one
        swift
            .set_container_metadata(&c, &meta(&[("color", "green"), ("size", "xl")]))
            .await
            .unwrap();
        swift
            .remove_container_metadata(&c, &["owner"])
            .await
            .unwrap();
        let info = swift.container(&c).await.unwrap().into_inner();
        assert_eq!(info.metadata, meta(&[("color", "green"), ("size", "xl")]));
        let listed: Vec<_> = swift
            .all_containers(&ListQuery::prefix(c.clone()))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, c);

        // objects with metadata; a name with a space, UTF-8 and a '?'
        let data = Data::new();
        for i in 0..5u64 {
            let up = swift
                .put_object(
                    &c,
                    &format!("obj-{i}"),
                    data.bytes(1000 + i),
                    &UploadOptions::new()
                        .meta("index", i.to_string())
                        .content_type("application/x-test"),
                )
                .await
                .unwrap();
            assert_eq!(up.etag, digest(DigestAlgorithm::Md5, &data.bytes(1000 + i)));
            assert_eq!(up.meta().status, 201);
        }
        let odd = "dir/ünï cödé?.txt";
        swift
            .put_object(&c, odd, "odd", &UploadOptions::new().meta("note", "grüße"))
            .await
            .unwrap();

        // HEAD: size, type, ETag, metadata
        let head = swift.object(&c, "obj-3").await.unwrap().into_inner();
        assert_eq!(head.content_length, 1003);
        assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(
            head.etag.unwrap(),
            digest(DigestAlgorithm::Md5, &data.bytes(1003))
        );
        assert_eq!(head.metadata, meta(&[("index", "3")]));
        assert_eq!(head.large_object, None);
        let odd_head = swift.object(&c, odd).await.unwrap().into_inner();
        assert_eq!(
            odd_head.metadata,
            meta(&[("note", "grüße")]),
            "UTF-8 metadata round trip"
        );
        assert_eq!(&swift.get_object(&c, odd).await.unwrap().data[..], b"odd");

        // object POST replaces the user metadata, keeps the content type
        swift
            .set_object_metadata(&c, "obj-3", &meta(&[("state", "reviewed")]))
            .await
            .unwrap();
        let head = swift.object(&c, "obj-3").await.unwrap().into_inner();
        assert_eq!(head.metadata, meta(&[("state", "reviewed")]));
        assert_eq!(head.content_type.as_deref(), Some("application/x-test"));

        // marker pagination: limit=2 over the 5 obj-* objects is 2 + 2 + 1,
        // and the short page ends it (3 requests)
        http.reset_timings();
        let names: Vec<String> = swift
            .all_objects(&c, &ListQuery::prefix("obj-").with_limit(2))
            .map_ok(|o| o.name)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(names, ["obj-0", "obj-1", "obj-2", "obj-3", "obj-4"]);
        let gets = |http: &HttpClient| {
            http.get_timings()
                .into_iter()
                .filter(|t| t.method == "GET")
                .map(|t| t.url)
                .collect::<Vec<_>>()
        };
        let pages = gets(&http);
        assert_eq!(pages.len(), 3, "{pages:#?}");
        assert!(
            pages[0].contains("format=json") && pages[0].contains("limit=2"),
            "{pages:?}"
        );
        assert!(pages[1].contains("marker=obj-1"), "{pages:?}");
        assert!(pages[2].contains("marker=obj-3"), "{pages:?}");
        // all six with limit=2: three full pages, then an empty one ends it
        http.reset_timings();
        let all: Vec<_> = swift
            .all_objects(&c, &ListQuery::default().with_limit(2))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0].name, odd, "byte order: 'd' before 'o'");
        assert_eq!(all[3].name, "obj-2");
        assert_eq!(all[3].hash, digest(DigestAlgorithm::Md5, &data.bytes(1002)));
        assert_eq!(all[3].bytes, 1002);
        assert_eq!(gets(&http).len(), 4);
        // one page from a marker
        let page = swift
            .objects(
                &c,
                &ListQuery {
                    marker: Some("obj-2".into()),
                    limit: Some(2),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let names: Vec<&str> = page.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["obj-3", "obj-4"]);

        // Range reads: 206 and exactly the bytes asked for
        let whole = data.bytes(1004);
        let part = swift.read_range(&c, "obj-4", 10..20).await.unwrap();
        assert_eq!(part.meta().status, 206);
        assert_eq!(&part[..], &whole[10..20]);
        assert_eq!(
            &swift.read_range(&c, "obj-4", 1000..).await.unwrap()[..],
            &whole[1000..]
        );
        assert_eq!(
            &swift.read_range(&c, "obj-4", ..=3).await.unwrap()[..],
            &whole[..4]
        );
        let err = swift.read_range(&c, "obj-4", 5000..6000).await.unwrap_err();
        assert_eq!(err.status(), Some(416), "{err:?}");
        assert!(matches!(
            swift.read_range(&c, "obj-4", 7..7).await.unwrap_err(),
            Error::Validation(_)
        ));

        // a wrong MD5: Swift's 422, nothing stored
        let err = swift
            .put_object(
                &c,
                "bad-md5",
                "payload",
                &UploadOptions::new().md5(Md5Check::Known("0".repeat(32))),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(422), "{err:?}");
        assert!(
            swift
                .object(&c, "bad-md5")
                .await
                .unwrap_err()
                .is_not_found()
        );

        // from a one-shot reader: hashed on the way, compared with the answer
        let bytes = data.bytes(300_000);
        let up = swift
            .upload_reader(
                &c,
                "from-reader",
                std::io::Cursor::new(bytes.clone()),
                None,
                &UploadOptions::new(),
            )
            .await
            .unwrap();
        assert_eq!(up.etag, digest(DigestAlgorithm::Md5, &bytes));
        assert_eq!(
            swift
                .object(&c, "from-reader")
                .await
                .unwrap()
                .content_length,
            300_000
        );

        // an object PUT into a missing container: 404, streamed or not
        let missing = unique("os-missing");
        let err = swift
            .put_object(&missing, "o", "x", &UploadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let file = dir.path().join("four-mib.bin");
        data.write_file(&file, 4 * MIB);
        let err = swift
            .upload_file(&missing, "o", &file, &UploadOptions::new())
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert!(swift.object(&c, "obj-9").await.unwrap_err().is_not_found());

        // a container with objects cannot be deleted; deletes
        let err = swift.delete_container(&c).await.unwrap_err();
        assert_eq!(err.status(), Some(409), "{err:?}");
        swift.delete_object(&c, "obj-0").await.unwrap();
        assert!(swift.object(&c, "obj-0").await.unwrap_err().is_not_found());
        assert!(
            swift
                .delete_object(&c, "obj-0")
                .await
                .unwrap_err()
                .is_not_found()
        );
        purge(&swift, &c).await;
        assert!(swift.container(&c).await.unwrap_err().is_not_found());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_file_transfers_with_digests_progress_and_temp_urls() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-stream");
    cleaning_up(&swift, &[&c], async {
        swift.create_container(&c, &Metadata::new()).await.unwrap();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let src = dir.path().join("src.bin");
        let size = 5 * MIB + 12345;
        let (sha, md5) = Data::new().write_file(&src, size);

        // upload from a file: MD5 computed first and sent as ETag, progress as it goes
        let up_seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let u = up_seen.clone();
        let up = swift
            .upload_file(
                &c,
                "data.bin",
                &src,
                &UploadOptions::new().on_progress(move |p| u.lock().unwrap().push(p)),
            )
            .await
            .unwrap();
        assert_eq!(up.etag, md5);
        assert_eq!(up.bytes, Some(size));
        let seen = up_seen.lock().unwrap().clone();
        assert!(seen.len() > 1, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0].done() < w[1].done()));
        assert_eq!(seen.last().unwrap().done(), size);
        assert_eq!(seen.last().unwrap().total(), Some(size));

        // download: ETag and SHA-256 checked as it streams, progress, atomic rename
        let dst = dir.path().join("dst.bin");
        let down_seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let d = down_seen.clone();
        let got = swift
            .download_to_file(
                &c,
                "data.bin",
                &dst,
                &DownloadOptions::new()
                    .expect_sha256(&sha)
                    .on_progress(move |p| d.lock().unwrap().push(p)),
            )
            .await
            .unwrap();
        assert_eq!(got.bytes, size);
        assert_eq!(got.info.etag.as_deref(), Some(md5.as_str()));
        assert_eq!(file_digest(&dst, DigestAlgorithm::Sha256), sha);
        assert_eq!(down_seen.lock().unwrap().last().unwrap().done(), size);

        // a wrong expected digest: DigestMismatch, the old file kept, no leftovers
        std::fs::write(&dst, b"old").unwrap();
        let err = swift
            .download_to_file(
                &c,
                "data.bin",
                &dst,
                &DownloadOptions::new().expect_sha256("00".repeat(32)),
            )
            .await
            .unwrap_err();
        match &err {
            Error::DigestMismatch {
                algorithm, actual, ..
            } => {
                assert_eq!(*algorithm, "sha256");
                assert_eq!(actual, &sha);
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
        assert_eq!(std::fs::read(&dst).unwrap(), b"old");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // a destination that cannot be written: Error::Io naming it
        let nowhere = dir.path().join("no/such/dir/x.bin");
        match swift
            .download_to_file(&c, "data.bin", &nowhere, &DownloadOptions::new())
            .await
            .unwrap_err()
        {
            Error::Io {
                operation, path, ..
            } => {
                assert_eq!(operation, "write");
                assert_eq!(path.as_deref(), Some(nowhere.as_path()));
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }

        // temp URLs from the account's key work without any token
        let key = unique("tempurl-key");
        swift.set_temp_url_key(&key).await.unwrap();
        let account = swift.account().await.unwrap().into_inner();
        assert!(account.temp_url_key.is_some(), "the owner sees the key");
        assert!(!account.metadata.contains_key("temp-url-key"));
        assert!(
            !format!("{account:?}").contains(&key),
            "the key is not in Debug"
        );
        let in_5_min = SystemTime::now() + Duration::from_secs(300);
        let url = swift
            .temp_url(Method::GET, &c, "data.bin", in_5_min, &key)
            .await
            .unwrap();
        assert!(
            !format!("{url:?}").contains(url.expose_url().split("temp_url_sig=").nth(1).unwrap())
        );
        let nobody = anonymous();
        let resp = nobody
            .request(ApiRequest::get(url.expose_url()))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(digest(DigestAlgorithm::Sha256, resp.body()), sha);
        // the signature covers the method, the path and the expiry
        let err = nobody
            .request(ApiRequest::put(url.expose_url()).body("overwrite"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(401), "{err:?}");
        assert!(
            !err.to_string()
                .contains(url.expose_url().split("temp_url_sig=").nth(1).unwrap())
        );
        let other = swift
            .temp_url(Method::GET, &c, "data.bin", in_5_min, "not-the-key")
            .await
            .unwrap();
        let err = nobody
            .request(ApiRequest::get(other.expose_url()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(401));
        let expired = swift
            .temp_url(
                Method::GET,
                &c,
                "data.bin",
                SystemTime::now() - Duration::from_secs(5),
                &key,
            )
            .await
            .unwrap();
        let err = nobody
            .request(ApiRequest::get(expired.expose_url()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(401));
        // the key removed (an empty value): its URLs stop working
        swift
            .set_account_metadata(&meta(&[("Temp-URL-Key", "")]))
            .await
            .unwrap();
        assert!(swift.account().await.unwrap().temp_url_key.is_none());
        let err = nobody
            .request(ApiRequest::get(url.expose_url()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(401));
        // a PUT URL stores an object; a container's own key signs too
        let ckey = unique("container-key");
        swift.set_container_temp_url_key(&c, &ckey).await.unwrap();
        let put = swift
            .temp_url(Method::PUT, &c, "dropped in/by temp url", in_5_min, &ckey)
            .await
            .unwrap();
        nobody
            .request(ApiRequest::put(put.expose_url()).body("hello"))
            .await
            .unwrap();
        let back = swift
            .get_object(&c, "dropped in/by temp url")
            .await
            .unwrap();
        assert_eq!(&back.data[..], b"hello");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_large_object_up_and_down() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-slo");
    let segs = format!("{c}_segments");
    cleaning_up(&swift, &[&c, &segs], async {
        swift.create_container(&c, &Metadata::new()).await.unwrap();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let src = dir.path().join("large.bin");
        let size = 2 * MIB + 12345;
        let (sha, _) = Data::new().write_file(&src, size);

        let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
        let s = seen.clone();
        let stored = swift
            .upload_large_file(
                &c,
                "large.bin",
                &src,
                LargeObjectOptions::new(MIB)
                    .content_type("application/x-large")
                    .meta("kind", "slo")
                    .on_progress(move |p| s.lock().unwrap().push(p.done())),
            )
            .await
            .unwrap();
        assert_eq!(stored.size, size);
        assert_eq!(stored.segments.len(), 3);
        assert_eq!(
            stored
                .segments
                .iter()
                .map(|s| s.size_bytes)
                .collect::<Vec<_>>(),
            [MIB, MIB, 12345]
        );
        assert_eq!(
            *seen.lock().unwrap().last().unwrap(),
            size,
            "progress over the whole file"
        );

        // the segments, in order, each with its MD5
        let listed: Vec<_> = swift
            .all_objects(&segs, &ListQuery::default())
            .try_collect()
            .await
            .unwrap();
        let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "large.bin/00000000",
                "large.bin/00000001",
                "large.bin/00000002"
            ]
        );
        for (o, s) in listed.iter().zip(&stored.segments) {
            assert_eq!(o.hash, s.etag);
            assert_eq!(s.path, format!("/{segs}/{}", o.name));
        }

        // HEAD: one object of the whole size, a static large object, its ETag the MD5 of MD5s
        let head = swift.object(&c, "large.bin").await.unwrap().into_inner();
        assert_eq!(head.large_object, Some(LargeObjectKind::Static));
        assert_eq!(head.content_length, size);
        assert_eq!(head.etag.as_deref(), Some(stored.etag.as_str()));
        assert_eq!(head.content_type.as_deref(), Some("application/x-large"));
        assert_eq!(head.metadata.get("kind").map(String::as_str), Some("slo"));

        // down: the concatenation; the ETag is not an MD5 of the bytes (skipped), SHA-256 is checked
        let dst = dir.path().join("copy.bin");
        let got = swift
            .download_to_file(
                &c,
                "large.bin",
                &dst,
                &DownloadOptions::new().expect_sha256(&sha),
            )
            .await
            .unwrap();
        assert_eq!(got.bytes, size);
        assert_eq!(file_digest(&dst, DigestAlgorithm::Sha256), sha);
        let err = swift
            .download_to_file(
                &c,
                "large.bin",
                &dst,
                &DownloadOptions::new().expect_sha256("ab".repeat(32)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");
        // a range across the first segment boundary
        let whole = std::fs::read(&src).unwrap();
        let part = swift
            .read_range(&c, "large.bin", MIB - 5..MIB + 5)
            .await
            .unwrap();
        assert_eq!(&part[..], &whole[(MIB - 5) as usize..(MIB + 5) as usize]);

        // delete with its segments
        let deleted = swift.delete_large_object(&c, "large.bin").await.unwrap();
        assert_eq!(deleted.deleted, 4, "the manifest and 3 segments");
        assert!(
            swift
                .object(&c, "large.bin")
                .await
                .unwrap_err()
                .is_not_found()
        );
        let left = swift.objects(&segs, &ListQuery::default()).await.unwrap();
        assert!(left.is_empty(), "{:?}", left.into_inner());
        // again: nothing to delete is a 404; a plain object is not a manifest
        let err = swift
            .delete_large_object(&c, "large.bin")
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        swift
            .put_object(&c, "plain", "x", &UploadOptions::new())
            .await
            .unwrap();
        let err = swift.delete_large_object(&c, "plain").await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{err:?}");
        assert!(err.to_string().contains("Not an SLO manifest"), "{err}");
        swift.object(&c, "plain").await.unwrap();
    })
    .await;
}

/// A token revoked right before an upload from a file: Swift answers 401,
/// the client re-authenticates once and sends the file again from its start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_before_a_file_upload_costs_one_reauthentication_and_a_replay() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-revoked");
    cleaning_up(&swift, &[&c], async {
        swift.create_container(&c, &Metadata::new()).await.unwrap();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let src = dir.path().join("src.bin");
        let size = 8 * MIB + 3;
        let (sha, md5) = Data::new().write_file(&src, size);

        let before = http.token_state().authentications();
        let old = token_of(&http).await;
        revoke(&old).await;
        http.reset_timings();
        let up = swift
            .upload_file(&c, "replayed.bin", &src, &UploadOptions::new())
            .await
            .unwrap();
        assert_eq!(up.etag, md5);
        assert_eq!(
            http.token_state().authentications(),
            before + 1,
            "exactly one re-authentication"
        );
        assert_ne!(token_of(&http).await, old, "a new token");
        assert_eq!(
            put_attempts(&http, "/replayed.bin"),
            [Some(401), Some(201)],
            "refused once, then sent again"
        );
        // the replay re-opened the file: the stored object is the whole file
        let dst = dir.path().join("dst.bin");
        swift
            .download_to_file(
                &c,
                "replayed.bin",
                &dst,
                &DownloadOptions::new().expect_sha256(&sha),
            )
            .await
            .unwrap();
        assert_eq!(file_digest(&dst, DigestAlgorithm::Sha256), sha);
        // and the new token is kept
        swift.object(&c, "replayed.bin").await.unwrap();
        assert_eq!(http.token_state().authentications(), before + 1);
    })
    .await;
}

/// A token revoked between two segments of a large-object upload: the next
/// segment is refused once, re-sent with a new token, and the object is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_between_segments_costs_one_reauthentication() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-revoked-slo");
    let segs = format!("{c}-segs");
    cleaning_up(&swift, &[&c, &segs], async {
        swift.create_container(&c, &Metadata::new()).await.unwrap();
        let dir = tempfile::tempdir_in("/tmp").unwrap();
        let src = dir.path().join("src.bin");
        let size = 3 * MIB;
        let (sha, _) = Data::new().write_file(&src, size);

        let mut upload = swift
            .plan_large_upload(
                &c,
                "big",
                &src,
                LargeObjectOptions::new(MIB).segment_container(&segs),
            )
            .await
            .unwrap();
        assert_eq!(upload.segment_count(), 3);
        upload.upload_segment(0).await.unwrap();
        let before = http.token_state().authentications();
        let old = token_of(&http).await;
        revoke(&old).await;
        http.reset_timings();
        upload.upload_segment(1).await.unwrap();
        assert_eq!(put_attempts(&http, "/big/00000001"), [Some(401), Some(201)]);
        let stored = upload.finish().await.unwrap();
        assert_eq!(stored.segments.len(), 3);
        assert_eq!(
            http.token_state().authentications(),
            before + 1,
            "exactly one re-authentication"
        );
        assert_ne!(token_of(&http).await, old);

        let dst = dir.path().join("dst.bin");
        swift
            .download_to_file(&c, "big", &dst, &DownloadOptions::new().expect_sha256(&sha))
            .await
            .unwrap();
        assert_eq!(file_digest(&dst, DigestAlgorithm::Sha256), sha);
        let deleted = swift.delete_large_object(&c, "big").await.unwrap();
        assert_eq!(deleted.deleted, 4);
    })
    .await;
}

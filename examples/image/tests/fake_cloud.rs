//! The example Glance client's flows against FakeCloud's Glance-shaped
//! image service (behind its Keystone, endpoint `/image`): create, get,
//! JSON-Patch, streamed upload and verified download, tags, listing with
//! Glance's relative `next` links, the glance-direct import and the wait
//! for `active`, delete.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use apiclient_base::ApiRequest;
use apiclient_fake::FakeCloud;
use example_image::{
    ContainerFormat, DigestAlgorithm, DiskFormat, Glance, Image, ImageQuery, ImageStatus,
    ImageWaitError, NewImage, PatchOp, Progress, Visibility, Wait, WaitError,
};
use futures_util::TryStreamExt;
use sha2::Digest;

fn md5_hex(data: &[u8]) -> String {
    let mut h = apiclient_base::Hasher::new(DigestAlgorithm::Md5);
    h.update(data);
    h.finish_hex()
}

/// `len` bytes of a pattern that does not repeat soon.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The seeded images: `list_all` follows the relative `next` links onto
/// the endpoint's path, `get` decodes an unwrapped image, a missing one is
/// a 404, `find` goes by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_and_get_on_the_fake_cloud() {
    let cloud = FakeCloud::builder().images(7).start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let glance = Glance::new(&http);

    let all: Vec<Image> = glance
        .images
        .list_all(&ImageQuery::new().limit(3))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        (0..7).map(|i| format!("img-{i:06}")).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|i| i.status == ImageStatus::Active));
    assert_eq!(cloud.count("GET /image/v2/images"), 3, "pages of 3, 3, 1");

    // one page, with its links
    let page = glance
        .images
        .page(&ImageQuery::new().limit(5))
        .await
        .unwrap();
    assert_eq!(page.images.len(), 5);
    assert_eq!(
        page.next.as_deref(),
        Some("/v2/images?limit=5&marker=img-000004")
    );
    let rest = glance
        .images
        .page_at(page.next.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(rest.images.len(), 2);
    assert_eq!(rest.next, None);

    let one = glance.images.get("img-000002").await.unwrap();
    assert_eq!(one.name.as_deref(), Some("image-2"));
    assert_eq!(one.meta().status, 200);
    assert_eq!(cloud.count("GET /image/v2/images/{id}"), 1);

    let err = glance.images.get("img-999999").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
    let found = glance.images.find("image-4").await.unwrap();
    assert_eq!(found.id, "img-000004");
}

/// The whole life of an image, as the example's end-to-end test runs it on
/// a real Glance: create, get, patch (and a plain-JSON patch refused), a
/// streamed upload with progress, a download checked against
/// `Content-MD5` and the SHA-512, tags, pages of a tag, delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_from_create_to_delete() {
    let cloud = FakeCloud::builder().images(2).start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let glance = Glance::new(&http);
    let images = &glance.images;
    let dir = tempfile::tempdir().unwrap();

    // create
    let image = images
        .create(
            &NewImage::new("cirros")
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare)
                .visibility(Visibility::Private)
                .tag("run")
                .tag("apiclient-rs")
                .min_disk(1)
                .min_ram(64)
                .property("apiclient_test", "true")
                .property("doomed", "x"),
        )
        .await
        .unwrap();
    assert_eq!(image.meta().status, 201);
    assert_eq!(image.status, ImageStatus::Queued);
    assert_eq!(image.visibility, Some(Visibility::Private));
    assert_eq!(image.disk_format, Some(DiskFormat::Raw));
    assert_eq!((image.min_disk, image.min_ram), (1, 64));
    assert_eq!(image.tags, ["run", "apiclient-rs"]);
    assert_eq!(image.property("apiclient_test"), Some("true"));
    assert_eq!(image.owner.as_deref(), Some("p-demo"));
    assert_eq!(image.size, None);
    let id = image.id.clone();
    assert_eq!(
        images.get(&id).await.unwrap().self_link.as_deref(),
        Some(format!("/v2/images/{id}").as_str())
    );

    // patch, in Glance's media type
    let patched = images
        .update(
            &id,
            &[
                PatchOp::replace("name", "cirros-renamed"),
                PatchOp::add("os_distro", "cirros"),
                PatchOp::remove("doomed"),
                PatchOp::replace("min_ram", 128),
            ],
        )
        .await
        .unwrap();
    assert_eq!(patched.name.as_deref(), Some("cirros-renamed"));
    assert_eq!(patched.property("os_distro"), Some("cirros"));
    assert_eq!(patched.property("doomed"), None);
    assert_eq!(patched.min_ram, 128);
    // plain application/json: 415, nothing changes
    let err = http
        .service_client("image")
        .request(
            ApiRequest::patch(format!("/v2/images/{id}"))
                .json(&[PatchOp::replace("name", "never")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(415), "{err:?}");
    // a read-only member: 403
    let err = images
        .update(&id, &[PatchOp::replace("status", "active")])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(
        images.get(&id).await.unwrap().name.as_deref(),
        Some("cirros-renamed")
    );

    // upload ~5 MiB from a file, with progress
    let bytes = data(5 * 1024 * 1024 + 12_345, 0x5eed);
    let src = dir.path().join("disk.raw");
    std::fs::write(&src, &bytes).unwrap();
    let last = Arc::new(AtomicU64::new(0));
    let l = last.clone();
    let meta = images
        .upload_file(
            &id,
            &src,
            Some(Arc::new(move |p: Progress| {
                l.store(p.done(), Ordering::SeqCst)
            })),
        )
        .await
        .unwrap();
    assert_eq!(meta.status, 204);
    assert_eq!(last.load(Ordering::SeqCst), bytes.len() as u64);
    let active = images.get(&id).await.unwrap().into_inner();
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.size, Some(bytes.len() as u64));
    assert_eq!(active.checksum.as_deref(), Some(md5_hex(&bytes).as_str()));
    assert_eq!(active.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(hex::encode(sha2::Sha512::digest(&bytes)).as_str())
    );
    // a second upload: 409
    let err = images.upload(&id, b"again".to_vec()).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err:?}");

    // download: both digests checked as it streams
    let out = dir.path().join("copy.raw");
    let got = images.download_to_file(&active, &out, None).await.unwrap();
    assert_eq!(got.bytes, bytes.len() as u64);
    assert!(got.md5_verified, "the fake sends Content-MD5");
    assert_eq!(got.hash_verified, Some(DigestAlgorithm::Sha512));
    assert!(std::fs::read(&out).unwrap() == bytes, "the same bytes");
    // a record whose hash does not match: refused, no file left
    let mut tampered = active.clone();
    tampered.os_hash_value = Some("00".repeat(64));
    let bad = dir.path().join("bad.raw");
    let err = images
        .download_to_file(&tampered, &bad, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            apiclient_base::Error::DigestMismatch {
                algorithm: "sha512",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!bad.exists());

    // tags
    images.add_tag(&id, "added tag").await.unwrap();
    images.remove_tag(&id, "apiclient-rs").await.unwrap();
    let mut tags = images.get(&id).await.unwrap().into_inner().tags;
    tags.sort();
    assert_eq!(tags, ["added tag", "run"]);
    let err = images.remove_tag(&id, "not-there").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // a tag's images, in pages; a full last page leads to an empty one
    for i in 0..2 {
        images
            .create(&NewImage::new(format!("more-{i}")).tag("run"))
            .await
            .unwrap();
    }
    for (limit, pages) in [(1u32, 4u64), (2, 2), (3, 2)] {
        cloud.reset_counts();
        let all: Vec<Image> = images
            .list_all(&ImageQuery::new().tag("run").limit(limit))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 3, "limit {limit}");
        assert_eq!(cloud.count("GET /image/v2/images"), pages, "limit {limit}");
    }
    let one = images
        .list(&ImageQuery::new().name("cirros-renamed"))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(images.find("cirros-renamed").await.unwrap().id, id);

    // delete: gone, and a wait for it is a typed failure
    assert_eq!(images.delete(&id).await.unwrap().status, 204);
    let err = images.get(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let shown = err.to_string();
    assert!(
        !shown.contains("<br") && !shown.contains('\n'),
        "webob's 404 as one clean line: {shown:?}"
    );
    let err = images
        .wait_for_active(&id, &Wait::new().timeout(Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ImageWaitError::Wait(WaitError::Request(e)) if e.is_not_found()),
        "{err:?}"
    );
}

/// The glance-direct import of a file: staged (`uploading`), imported, and
/// waited for through `importing` until `active` (the fake's status delay),
/// with the staged file's size and hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_waited_for_until_active() {
    let cloud = FakeCloud::builder()
        .images(0)
        // long enough that the first poll finds it importing, even on a busy machine
        .status_delay(Duration::from_millis(1500))
        .start()
        .await
        .unwrap();
    let http = cloud.http_client().unwrap();
    let glance = Glance::new(&http);
    assert_eq!(glance.import_methods().await.unwrap(), ["glance-direct"]);
    let image = glance
        .images
        .create(
            &NewImage::new("imported")
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let staged = dir.path().join("staged.raw");
    let bytes = data(3 * 1024 * 1024 + 7, 0xfeed);
    std::fs::write(&staged, &bytes).unwrap();
    let started = std::time::Instant::now();
    let active = glance
        .images
        .import_file(
            &image.id,
            &staged,
            None,
            &Wait::new().timeout(Duration::from_secs(60)).backoff(
                Duration::from_millis(50),
                Duration::from_millis(200),
                2.0,
            ),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "waited out the import: {:?}",
        started.elapsed()
    );
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.size, Some(bytes.len() as u64));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(hex::encode(sha2::Sha512::digest(&bytes)).as_str())
    );
    assert!(
        cloud.count("GET /image/v2/images/{id}") >= 2,
        "polled through importing"
    );
    assert_eq!(cloud.count("PUT /image/v2/images/{id}/stage"), 1);
    assert_eq!(cloud.count("POST /image/v2/images/{id}/import"), 1);

    // a timeout too short for the import: TimedOut while importing
    cloud.set_status_delay(Duration::from_secs(30));
    let slow = glance
        .images
        .create(
            &NewImage::new("slow")
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare),
        )
        .await
        .unwrap();
    let err = glance
        .images
        .import_file(
            &slow.id,
            &staged,
            None,
            &Wait::new().timeout(Duration::from_millis(300)).backoff(
                Duration::from_millis(50),
                Duration::from_millis(100),
                2.0,
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ImageWaitError::Wait(WaitError::TimedOut { last_status: Some(s), .. }) if s == "importing"
        ),
        "{err:?}"
    );
}

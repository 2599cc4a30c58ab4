//! The example Glance client against a real Glance 33.0.0 behind the real
//! Keystone (`scripts/keystone/run.sh start`, `scripts/glance/run.sh start`),
//! as the `demo` user (role `member` on project `demo`). Without them each
//! test says so and passes; under CI a missing service is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::ExposeSecret;
use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{ApiRequest, Error, HttpClient, Method};
use example_image::{
    ContainerFormat, DigestAlgorithm, DiskFormat, Glance, Image, ImageQuery, ImageStatus,
    ImportRequest, NewImage, PatchOp, Progress, Visibility, Wait,
};
use futures_util::TryStreamExt;
use sha2::Digest;

const AUTH_URL: &str = "http://127.0.0.1:5000/v3";

/// One test at a time against the real Glance: its sqlite database answers
/// a write that meets another thread's transaction with "database is
/// locked" (a 500), which concurrent tests would provoke.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn running() -> bool {
    let up = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .is_ok()
    };
    if up(5000) && up(9292) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must start Keystone and Glance (scripts/keystone/run.sh start; scripts/glance/run.sh start)"
    );
    eprintln!("skipping: needs Keystone on :5000 and Glance on :9292");
    false
}

/// The demo user's password, from the seed the Keystone script wrote
/// (its default, `demopass`, when there is none).
fn demo_password() -> String {
    std::fs::read_to_string("/tmp/apiclient-rs/keystone-data/seed.json")
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["demo"]["password"].as_str().map(str::to_string))
        .unwrap_or_else(|| "demopass".into())
}

fn client(user: &str, password: &str, project: &str) -> HttpClient {
    let plugin = V3Password::new(AUTH_URL, user, password)
        .user_domain_name("Default")
        .scope(Scope::project_name(project, "Default"));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .timings(true)
        .no_proxy()
        .build()
        .unwrap()
}

fn demo() -> HttpClient {
    client("demo", &demo_password(), "demo")
}

fn admin() -> HttpClient {
    client("admin", "secret", "admin")
}

fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{prefix}-{:016x}", h.finish())
}

/// `len` bytes of a deterministic, incompressible-looking pattern.
fn write_data(path: &Path, len: usize, seed: u64) {
    let mut x = seed | 1;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    std::fs::write(path, data).unwrap();
}

fn hex_digest<D: Digest>(path: &Path) -> String {
    hex::encode(D::digest(std::fs::read(path).unwrap()))
}

/// The images a test created, deleted at its end whatever happened.
#[derive(Clone, Default)]
struct Created(Arc<Mutex<Vec<String>>>);

impl Created {
    fn add(&self, image: &Image) {
        self.0.lock().unwrap().push(image.id.clone());
    }

    /// Run `flow` (spawned: a panic comes back as an error), delete every
    /// image it created, then fail as it failed.
    async fn run<F>(glance: &Glance, flow: F)
    where
        F: FnOnce(Created) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    {
        let created = Created::default();
        let outcome = tokio::spawn(flow(created.clone())).await;
        let ids = created.0.lock().unwrap().clone();
        for id in ids {
            match glance.images.delete(&id).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => eprintln!("cleanup: could not delete image {id}: {e}"),
            }
        }
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// GET requests of the image listing (with `needle` in the URL) this
/// client made, per its timings.
fn listing_requests(http: &HttpClient, needle: &str) -> Vec<String> {
    http.get_timings()
        .into_iter()
        .filter(|t| t.method == "GET" && t.url.contains("/v2/images?") && t.url.contains(needle))
        .map(|t| t.url)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_end_to_end_on_a_real_glance() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !running() {
        return;
    }
    let http = demo();
    let glance = Glance::new(&http);
    let g = glance.clone();
    let h = http.clone();
    Created::run(&glance, move |created| {
        Box::pin(async move { end_to_end(g, h, created).await })
    })
    .await;
}

async fn end_to_end(glance: Glance, http: HttpClient, created: Created) {
    let images = &glance.images;
    let dir = tempfile::tempdir().unwrap();

    // the interoperable import is on, with glance-direct
    let methods = glance.import_methods().await.unwrap();
    assert!(methods.iter().any(|m| m == "glance-direct"), "{methods:?}");

    // create, with tags, limits and an extra property
    let name = unique("apiclient-img");
    let run_tag = unique("run");
    let image = images
        .create(
            &NewImage::new(&name)
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare)
                .visibility(Visibility::Private)
                .tag(&run_tag)
                .tag("apiclient-rs")
                .min_disk(1)
                .min_ram(64)
                .property("apiclient_test", "true")
                .property("doomed", "x"),
        )
        .await
        .unwrap();
    created.add(&image);
    assert_eq!(image.meta().status, 201);
    assert_eq!(image.status, ImageStatus::Queued);
    assert_eq!(image.name.as_deref(), Some(name.as_str()));
    assert_eq!(image.visibility, Some(Visibility::Private));
    assert_eq!(image.disk_format, Some(DiskFormat::Raw));
    assert_eq!(image.container_format, Some(ContainerFormat::Bare));
    assert_eq!((image.min_disk, image.min_ram), (1, 64));
    let mut tags = image.tags.clone();
    tags.sort();
    assert_eq!(tags, {
        let mut t = vec![run_tag.clone(), "apiclient-rs".to_string()];
        t.sort();
        t
    });
    assert_eq!(image.property("apiclient_test"), Some("true"));
    assert_eq!(image.size, None);
    let id = image.id.clone();

    // get
    let got = images.get(&id).await.unwrap();
    assert_eq!(got.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        got.self_link.as_deref(),
        Some(format!("/v2/images/{id}").as_str())
    );
    assert!(
        got.request_id().unwrap().starts_with("req-"),
        "{:?}",
        got.meta()
    );

    // PATCH with Glance's JSON-Patch media type
    let renamed = format!("{name}-renamed");
    let patched = images
        .update(
            &id,
            &[
                PatchOp::replace("name", renamed.as_str()),
                PatchOp::add("os_distro", "cirros"),
                PatchOp::remove("doomed"),
                PatchOp::replace("min_ram", 128),
            ],
        )
        .await
        .unwrap();
    assert_eq!(patched.name.as_deref(), Some(renamed.as_str()));
    assert_eq!(patched.property("os_distro"), Some("cirros"));
    assert_eq!(patched.property("doomed"), None);
    assert_eq!(patched.min_ram, 128);
    // ... while plain application/json is a 415, and nothing changes
    let service = http.service_client("image");
    let err = service
        .request(
            ApiRequest::patch(format!("/v2/images/{id}"))
                .json(&[PatchOp::replace("name", "never")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(415), "{err:?}");
    assert_eq!(
        images.get(&id).await.unwrap().name.as_deref(),
        Some(renamed.as_str())
    );

    // upload ~20 MiB from a file, streamed, with progress
    let src = dir.path().join("disk.raw");
    let size = 20 * 1024 * 1024 + 12_345;
    write_data(&src, size, 0x5eed);
    let calls = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let (c, l) = (calls.clone(), last.clone());
    let started = std::time::Instant::now();
    let meta = images
        .upload_file(
            &id,
            &src,
            Some(Arc::new(move |p: Progress| {
                c.fetch_add(1, Ordering::SeqCst);
                l.store(p.done(), Ordering::SeqCst);
                assert_eq!(p.total(), Some(size as u64));
            })),
        )
        .await
        .unwrap();
    eprintln!("upload of {size} bytes: {:?}", started.elapsed());
    assert_eq!(meta.status, 204);
    assert_eq!(last.load(Ordering::SeqCst), size as u64);
    assert!(calls.load(Ordering::SeqCst) > 10, "progress as it went");
    let active = images.get(&id).await.unwrap().into_inner();
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.size, Some(size as u64));
    assert_eq!(active.checksum.as_deref(), Some(md5_hex(&src).as_str()));
    assert_eq!(active.os_hash_algo.as_deref(), Some("sha512"));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(hex_digest::<sha2::Sha512>(&src).as_str())
    );

    // download to a file, checked against Content-MD5 and os_hash_value
    let out = dir.path().join("copy.raw");
    let started = std::time::Instant::now();
    let done = Arc::new(AtomicU64::new(0));
    let d = done.clone();
    let downloaded = images
        .download_to_file(
            &active,
            &out,
            Some(Arc::new(move |p: Progress| {
                d.store(p.done(), Ordering::SeqCst)
            })),
        )
        .await
        .unwrap();
    eprintln!("download of {size} bytes: {:?}", started.elapsed());
    assert_eq!(downloaded.bytes, size as u64);
    assert!(downloaded.md5_verified, "Glance sends Content-MD5");
    assert_eq!(downloaded.hash_verified, Some(DigestAlgorithm::Sha512));
    assert_eq!(downloaded.meta.status, 200);
    assert!(
        downloaded
            .meta
            .request_id
            .as_deref()
            .unwrap()
            .starts_with("req-")
    );
    assert_eq!(done.load(Ordering::SeqCst), size as u64);
    assert_eq!(
        hex_digest::<sha2::Sha256>(&out),
        hex_digest::<sha2::Sha256>(&src),
        "the same bytes"
    );
    // a record whose hash does not match the data: refused, no file left
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
            Error::DigestMismatch {
                algorithm: "sha512",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!bad.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no part file"
    );

    // tags
    images.add_tag(&id, "added tag").await.unwrap();
    images.remove_tag(&id, "apiclient-rs").await.unwrap();
    let mut tags = images.get(&id).await.unwrap().into_inner().tags;
    tags.sort();
    assert_eq!(tags, {
        let mut t = vec![run_tag.clone(), "added tag".to_string()];
        t.sort();
        t
    });
    let err = images.remove_tag(&id, "not-there").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // listing: three images with the run's tag, in pages of 1, 2 and 3
    for i in 0..2 {
        let more = images
            .create(
                &NewImage::new(format!("{name}-list-{i}"))
                    .visibility(Visibility::Private)
                    .tag(&run_tag),
            )
            .await
            .unwrap();
        created.add(&more);
    }
    let mut expected: Vec<String> = created.0.lock().unwrap().clone();
    expected.sort();
    for (limit, pages) in [(1u32, 4usize), (2, 2), (3, 2)] {
        http.reset_timings();
        let all: Vec<Image> = images
            .list_all(&ImageQuery::new().tag(&run_tag).limit(limit))
            .try_collect()
            .await
            .unwrap();
        let mut ids: Vec<String> = all.into_iter().map(|i| i.id).collect();
        ids.sort();
        assert_eq!(ids, expected, "limit {limit}");
        let requests = listing_requests(&http, &run_tag);
        assert_eq!(requests.len(), pages, "limit {limit}: {requests:#?}");
    }
    // by hand, with the links: a full last page still has a next, to an empty page
    let page = images
        .page(&ImageQuery::new().tag(&run_tag).limit(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.images.len(), 3);
    let next = page.next.expect("Glance links a full page");
    assert!(next.starts_with("/v2/images?"), "relative: {next}");
    assert!(
        next.contains(&format!("marker={}", page.images[2].id)),
        "{next}"
    );
    let empty = images.page_at(&next).await.unwrap().into_inner();
    assert!(empty.images.is_empty());
    assert_eq!(empty.next, None);
    // one page, filtered by name; find by name
    let one = images
        .list(&ImageQuery::new().name(renamed.as_str()))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, id);
    assert_eq!(images.find(&renamed).await.unwrap().id, id);

    // the interoperable import: stage, import (glance-direct), wait until active
    let imported = images
        .create(
            &NewImage::new(format!("{name}-import"))
                .disk_format(DiskFormat::Raw)
                .container_format(ContainerFormat::Bare)
                .visibility(Visibility::Private),
        )
        .await
        .unwrap();
    created.add(&imported);
    let staged = dir.path().join("staged.raw");
    let staged_len = 3 * 1024 * 1024 + 7;
    write_data(&staged, staged_len, 0xfeed);
    images
        .stage_file(&imported.id, &staged, None)
        .await
        .unwrap();
    assert_eq!(
        images.get(&imported.id).await.unwrap().status,
        ImageStatus::Uploading
    );
    let accepted = images
        .import(&imported.id, &ImportRequest::glance_direct())
        .await
        .unwrap();
    assert_eq!(accepted.status, 202);
    let started = std::time::Instant::now();
    let seen = Arc::new(Mutex::new(Vec::<(Option<String>, u32)>::new()));
    let s = seen.clone();
    let active = images
        .wait_for_active(
            &imported.id,
            &Wait::new()
                .timeout(Duration::from_secs(120))
                .backoff(Duration::from_millis(100), Duration::from_secs(1), 2.0)
                .on_progress(move |p| {
                    s.lock()
                        .unwrap()
                        .push((p.status.map(str::to_string), p.polls))
                }),
        )
        .await
        .unwrap();
    eprintln!("glance-direct import until active: {:?}", started.elapsed());
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.meta().status, 200, "the last poll's metadata");
    // every poll told the callback, the last one saw `active`
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (1..=seen.len() as u32).collect::<Vec<_>>(),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().and_then(|(s, _)| s.as_deref()),
        Some("active"),
        "{seen:?}"
    );
    assert_eq!(active.size, Some(staged_len as u64));
    assert_eq!(
        active.os_hash_value.as_deref(),
        Some(hex_digest::<sha2::Sha512>(&staged).as_str())
    );
    assert!(active.failed_import_stores().is_empty());

    // a missing image: a 404, shown in one clean line
    let err = images
        .get("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let shown = err.to_string();
    eprintln!("Glance's 404 shown as: {shown:?}");
    assert!(
        !shown.contains("<br") && !shown.contains('\n'),
        "Glance's 404 message should be one clean line: {shown:?}"
    );

    // delete: then gone, and waiting for it is a typed failure
    let ids: Vec<String> = created.0.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(images.delete(id).await.unwrap().status, 204);
    }
    created.0.lock().unwrap().clear();
    let err = images.get(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = images
        .wait_for_active(&id, &Wait::new().timeout(Duration::from_secs(30)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            example_image::ImageWaitError::Wait(example_image::WaitError::Request(e))
                if e.is_not_found()
        ),
        "{err:?}"
    );
}

/// Keystone revokes the client's token; the upload's 401 costs exactly one
/// re-authentication, and the file is sent again (re-opened) and lands whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_with_a_revoked_token_reauthenticates_once_and_resends_the_file() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !running() {
        return;
    }
    let http = demo();
    let glance = Glance::new(&http);
    let h = http.clone();
    let g = glance.clone();
    Created::run(&glance, move |created| {
        Box::pin(async move {
            let images = &g.images;
            let image = images
                .create(
                    &NewImage::new(unique("apiclient-img-revoked"))
                        .disk_format(DiskFormat::Raw)
                        .container_format(ContainerFormat::Bare)
                        .visibility(Visibility::Private),
                )
                .await
                .unwrap();
            created.add(&image);
            let dir = tempfile::tempdir().unwrap();
            let src = dir.path().join("disk.raw");
            let size = 8 * 1024 * 1024 + 3;
            write_data(&src, size, 0xabcdef);

            let before = h.token_state().authentications();
            let old = h
                .access()
                .await
                .unwrap()
                .token()
                .expose_secret()
                .to_string();
            // revoke it out of band, as the admin
            admin()
                .service_client("identity")
                .request(
                    ApiRequest::new(Method::DELETE, "/auth/tokens").header("X-Subject-Token", &old),
                )
                .await
                .unwrap();

            h.reset_timings();
            let last = Arc::new(AtomicU64::new(0));
            let l = last.clone();
            images
                .upload_file(
                    &image.id,
                    &src,
                    Some(Arc::new(move |p: Progress| {
                        l.store(p.done(), Ordering::SeqCst)
                    })),
                )
                .await
                .unwrap();
            assert_eq!(
                h.token_state().authentications(),
                before + 1,
                "exactly one re-authentication"
            );
            let new = h
                .access()
                .await
                .unwrap()
                .token()
                .expose_secret()
                .to_string();
            assert_ne!(new, old, "a new token");
            let puts: Vec<Option<u16>> = h
                .get_timings()
                .into_iter()
                .filter(|t| t.method == "PUT" && t.url.ends_with("/file"))
                .map(|t| t.status)
                .collect();
            assert_eq!(
                puts,
                [Some(401), Some(204)],
                "refused once, then sent again"
            );
            let tokens = h
                .get_timings()
                .into_iter()
                .filter(|t| t.method == "POST" && t.url.ends_with("/auth/tokens"))
                .count();
            assert_eq!(tokens, 1, "one token request");
            assert_eq!(
                last.load(Ordering::SeqCst),
                size as u64,
                "the replay sent it all"
            );

            let active = images.get(&image.id).await.unwrap().into_inner();
            assert_eq!(active.status, ImageStatus::Active);
            assert_eq!(active.size, Some(size as u64));
            assert_eq!(
                active.os_hash_value.as_deref(),
                Some(hex_digest::<sha2::Sha512>(&src).as_str()),
                "the whole file, once"
            );
        })
    })
    .await;
}

/// FakeCloud's Glance shows an image with this Glance's members: queued
/// after the same create, active after an upload (but for `stores`, which
/// a multi-store Glance like this one adds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_glance_shows_the_real_members() {
    let _one = ONE_AT_A_TIME.lock().await;
    if !running() {
        return;
    }
    let http = demo();
    let glance = Glance::new(&http);
    Created::run(&glance, move |created| {
        Box::pin(async move {
            let cloud = apiclient_fake::FakeCloud::builder()
                .images(0)
                .start()
                .await
                .unwrap();
            let real = members(&http, Some(&created)).await;
            let fake = members(&cloud.http_client().unwrap(), None).await;
            assert_eq!(
                fake, real,
                "(queued, active) members: the fake's, then Glance's"
            );
        })
    })
    .await;
}

/// The sorted members of an image created, then uploaded to, on `http`'s
/// image service: (queued, active).
async fn members(http: &HttpClient, created: Option<&Created>) -> (Vec<String>, Vec<String>) {
    let image = http.service_client("image");
    let body = serde_json::json!({"name": unique("apiclient-shape"), "disk_format": "raw",
        "container_format": "bare", "visibility": "private", "tags": ["shape"], "apiclient_test": "true"});
    let queued: serde_json::Value = image
        .post("/v2/images", &body)
        .await
        .unwrap()
        .json()
        .unwrap();
    let id = queued["id"].as_str().unwrap().to_string();
    if let Some(created) = created {
        created.0.lock().unwrap().push(id.clone());
    }
    Glance::on(image.clone())
        .images
        .upload(&id, vec![7u8; 4096])
        .await
        .unwrap();
    let active: serde_json::Value = image
        .get(&format!("/v2/images/{id}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "stores")
            .cloned()
            .collect();
        k.sort();
        k
    };
    (keys(&queued), keys(&active))
}

/// The MD5 of a file, through the client's own hasher.
fn md5_hex(path: &Path) -> String {
    let mut h = apiclient_base::Hasher::new(DigestAlgorithm::Md5);
    h.update(&std::fs::read(path).unwrap());
    h.finish_hex()
}

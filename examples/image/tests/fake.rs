//! The example Glance client against `RawServer`s scripted as Glance, which
//! record exactly what the client sent (its flows against the `FakeCloud`'s
//! Glance-shaped image service are in `fake_cloud.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::typed::NoAuth;
use apiclient_base::Error;
use apiclient_base::HttpClient;
use apiclient_fake::{RawRequest, RawServer};
use example_image::{
    ContainerFormat, DigestAlgorithm, DiskFormat, Glance, Image, ImageQuery, ImageStatus,
    ImageWaitError, ImportRequest, NewImage, PatchOp, Progress, Visibility, Wait, WaitError,
};
use futures_util::TryStreamExt;
use sha2::Digest;

fn image_json(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "name": format!("name-{id}"), "status": status, "visibility": "private",
        "disk_format": "raw", "container_format": "bare", "size": null, "checksum": null,
        "os_hash_algo": null, "os_hash_value": null, "min_disk": 0, "min_ram": 0,
        "protected": false, "os_hidden": false, "tags": [], "owner": "p1",
        "self": format!("/v2/images/{id}"), "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image"
    })
}

fn json(status: u16, body: &serde_json::Value) -> Vec<u8> {
    RawServer::response(
        status,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn glance_at(endpoint: &str) -> (Glance, HttpClient) {
    let http = HttpClient::builder(NoAuth::new(endpoint))
        .no_proxy()
        .build()
        .unwrap();
    (Glance::new(&http), http)
}

fn query_of(target: &str) -> Vec<(String, String)> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Glance's own paging (a full last page still has a `next`, to an empty
/// page without one), scripted, behind a path-prefixed endpoint
/// (`http://host/image`, as devstack has it): `list_all` stops at the empty
/// page, every page stays under the prefix, and the filters ride along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_paging_ends_at_the_empty_page_behind_a_path_prefix() {
    let ids: Vec<String> = (1..=4).map(|i| format!("img-{i}")).collect();
    let served = ids.clone();
    let server = RawServer::start(move |req| {
        let Some(rest) = req.target.strip_prefix("/image/v2/images") else {
            return json(404, &serde_json::json!({"message": "wrong prefix"}));
        };
        let q = query_of(rest);
        let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(25);
        let start = match get("marker") {
            Some(m) => served.iter().position(|i| *i == m).map_or(served.len(), |p| p + 1),
            None => 0,
        };
        let page: Vec<_> = served[start..]
            .iter()
            .take(limit)
            .map(|id| image_json(id, "active"))
            .collect();
        let mut body = serde_json::json!({"images": page, "first": format!("/v2/images?limit={limit}&tag=ci"), "schema": "/v2/schemas/images"});
        if page.len() == limit {
            let last = page[limit - 1]["id"].as_str().unwrap().to_string();
            body["next"] = format!("/v2/images?limit={limit}&tag=ci&marker={last}").into();
        }
        json(200, &body)
    })
    .await
    .unwrap();
    let (glance, _http) = glance_at(&format!("{}/image", server.url()));

    let query = ImageQuery::new().tag("ci").limit(2);
    let all: Vec<Image> = glance.images.list_all(&query).try_collect().await.unwrap();
    assert_eq!(all.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), ids);
    let targets: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/image/v2/images?tag=ci&limit=2",
            "/image/v2/images?limit=2&tag=ci&marker=img-2",
            "/image/v2/images?limit=2&tag=ci&marker=img-4",
        ],
        "two full pages, then the empty one"
    );

    // by hand: the empty page has no next
    let mut link: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let page = match &link {
            None => glance.images.page(&ImageQuery::new().limit(1)).await,
            Some(l) => glance.images.page_at(l.as_str()).await,
        }
        .unwrap();
        sizes.push(page.images.len());
        match page.into_inner().next {
            Some(n) => link = Some(n),
            None => break,
        }
    }
    assert_eq!(sizes, [1, 1, 1, 1, 0]);
}

/// What goes on the wire: create (a flat body with extra properties), the
/// PATCH (Glance's JSON-Patch media type, an array body), tags (encoded path
/// segments), the upload and the stage (octet-stream, the file's bytes, its
/// length, progress), the import body, the info call, delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_shapes() {
    const ID: &str = "7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60";
    let server = RawServer::start(|req| {
        let path = req.target.split('?').next().unwrap_or_default();
        match (req.method.as_str(), path) {
            ("POST", "/v2/images") => json(201, &image_json(ID, "queued")),
            ("GET", "/v2/info/import") => json(
                200,
                &serde_json::json!({"import-methods": {"description": "Import methods available.", "type": "array", "value": ["glance-direct", "web-download"]}}),
            ),
            ("PATCH", _) => {
                let mut img = image_json(ID, "queued");
                img["name"] = "renamed".into();
                img["os_distro"] = "cirros".into();
                json(200, &img)
            }
            ("POST", p) if p.ends_with("/import") => RawServer::response(202, &[], b""),
            ("PUT" | "DELETE", _) => RawServer::response(204, &[], b""),
            _ => json(404, &serde_json::json!({"message": "unexpected"})),
        }
    })
    .await
    .unwrap();
    let (glance, _http) = glance_at(server.url());
    let images = &glance.images;
    let last = || server.requests().last().cloned().unwrap();

    // create
    let created = images
        .create(
            &NewImage::new("cirros")
                .disk_format(DiskFormat::Qcow2)
                .container_format(ContainerFormat::Bare)
                .visibility(Visibility::Private)
                .tag("a")
                .tag("b")
                .min_disk(1)
                .min_ram(64)
                .property("os_distro", "cirros"),
        )
        .await
        .unwrap();
    assert_eq!(created.id, ID);
    assert_eq!(created.meta().status, 201);
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/v2/images")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
            "visibility": "private", "tags": ["a", "b"], "min_disk": 1, "min_ram": 64, "os_distro": "cirros"})
    );

    // patch
    let updated = images
        .update(
            ID,
            &[
                PatchOp::replace("name", "renamed"),
                PatchOp::add("os_distro", "cirros"),
                PatchOp::remove("old/key"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("renamed"));
    assert_eq!(updated.property("os_distro"), Some("cirros"));
    let req = last();
    assert_eq!(req.method, "PATCH");
    assert_eq!(req.target, format!("/v2/images/{ID}"));
    assert_eq!(
        req.header_values("content-type"),
        ["application/openstack-images-v2.1-json-patch"],
        "one Content-Type, Glance's"
    );
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!([
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "add", "path": "/os_distro", "value": "cirros"},
            {"op": "remove", "path": "/old~1key"},
        ])
    );

    // tags: one path segment each, encoded
    images.add_tag(ID, "a b/c").await.unwrap();
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("PUT", format!("/v2/images/{ID}/tags/a%20b%2Fc").as_str())
    );
    assert!(req.body.is_empty());
    images.remove_tag(ID, "x.y-z_~").await.unwrap();
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("DELETE", format!("/v2/images/{ID}/tags/x.y-z_~").as_str())
    );

    // upload from a file, with progress (a file is read 1 MiB at a time:
    // 3 MB make several steps)
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disk.raw");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let s = seen.clone();
    images
        .upload_file(
            ID,
            &file,
            Some(Arc::new(move |p: Progress| s.lock().unwrap().push(p))),
        )
        .await
        .unwrap();
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("PUT", format!("/v2/images/{ID}/file").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/octet-stream"));
    assert_eq!(req.header("content-length"), Some("3000000"));
    assert!(req.body == data, "the file's bytes, as they are");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 1, "progress as it went: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].done() <= w[1].done()));
    assert_eq!(seen.last().unwrap().done(), 3_000_000);
    assert_eq!(seen.last().unwrap().total(), Some(3_000_000));

    // a missing file is the caller's I/O error, and nothing is sent
    let sent = server.requests().len();
    let missing = dir.path().join("missing.raw");
    let err = images.upload_file(ID, &missing, None).await.unwrap_err();
    match &err {
        Error::Io {
            operation, path, ..
        } => {
            assert_eq!(*operation, "read");
            assert_eq!(path.as_deref(), Some(missing.as_path()));
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(server.requests().len(), sent);

    // stage bytes, then import
    images.stage(ID, b"staged bytes".to_vec()).await.unwrap();
    let req = last();
    assert_eq!(req.target, format!("/v2/images/{ID}/stage"));
    assert_eq!(req.header("content-type"), Some("application/octet-stream"));
    assert_eq!(req.body, b"staged bytes");
    let meta = images
        .import(ID, &ImportRequest::glance_direct())
        .await
        .unwrap();
    assert_eq!(meta.status, 202);
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", format!("/v2/images/{ID}/import").as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"method": {"name": "glance-direct"}})
    );
    images
        .import(
            ID,
            &ImportRequest::web_download("https://example.invalid/cirros.img")
                .stores(vec!["fs".into()]),
        )
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&last().body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"method": {"name": "web-download", "uri": "https://example.invalid/cirros.img"}, "stores": ["fs"]})
    );

    // info and delete
    assert_eq!(
        glance.import_methods().await.unwrap(),
        ["glance-direct", "web-download"]
    );
    assert_eq!(last().target, "/v2/info/import");
    images.delete(ID).await.unwrap();
    let req = last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("DELETE", format!("/v2/images/{ID}").as_str())
    );
}

/// Bad input is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_sends_nothing() {
    let server = RawServer::start(|_| json(500, &serde_json::json!({})))
        .await
        .unwrap();
    let (glance, _http) = glance_at(server.url());
    let images = &glance.images;
    let invalid = |r: Result<_, Error>| matches!(r, Err(Error::Validation(_)));
    assert!(invalid(images.update("id", &[]).await.map(|_| ())));
    assert!(invalid(
        images
            .update("id", &[PatchOp::replace_at("name", "x")])
            .await
            .map(|_| ())
    ));
    assert!(invalid(
        images
            .update("id", &[PatchOp::replace_at("/", "x")])
            .await
            .map(|_| ())
    ));
    assert!(invalid(
        images
            .create(&NewImage::new("x").property("name", "y"))
            .await
            .map(|_| ())
    ));
    for id in ["", ".", ".."] {
        assert!(invalid(images.get(id).await.map(|_| ())), "{id:?}");
        assert!(invalid(images.delete(id).await.map(|_| ())), "{id:?}");
        assert!(invalid(images.upload(id, b"x".to_vec()).await.map(|_| ())));
    }
    assert!(invalid(images.add_tag("id", "").await.map(|_| ())));
    assert!(invalid(images.remove_tag("id", "..").await.map(|_| ())));
    let queued: Image = serde_json::from_value(image_json("q", "queued")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(invalid(
        images
            .download_to_file(&queued, dir.path().join("x"), None)
            .await
            .map(|_| ())
    ));
    assert_eq!(server.requests().len(), 0, "{:?}", server.requests());
}

/// Downloads are checked against Glance's `Content-MD5` and the image's
/// `os_hash_value`; a mismatch leaves no file (and no part file) behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_verified_and_a_mismatch_leaves_no_file() {
    let data: Arc<Vec<u8>> = Arc::new((0..200_000u32).map(|i| (i % 253) as u8).collect());
    let md5 = {
        use md5_hex::md5_of;
        md5_of(&data)
    };
    let served = data.clone();
    let good_md5 = md5.clone();
    let server = RawServer::start(move |req: &RawRequest| {
        let md5 = match req.target.as_str() {
            "/v2/images/bad-md5/file" => "0123456789abcdef0123456789abcdef".to_string(),
            "/v2/images/no-md5/file" => String::new(),
            _ => good_md5.clone(),
        };
        let mut headers = vec![("Content-Type", "application/octet-stream")];
        if !md5.is_empty() {
            headers.push(("Content-MD5", md5.as_str()));
        }
        RawServer::response(200, &headers, &served)
    })
    .await
    .unwrap();
    let (glance, _http) = glance_at(server.url());
    let sha512 = hex::encode(sha2::Sha512::digest(&*data));
    let image = |id: &str, hash: &str, checksum: Option<&str>| -> Image {
        let mut v = image_json(id, "active");
        v["size"] = data.len().into();
        v["checksum"] = checksum.into();
        v["os_hash_algo"] = "sha512".into();
        v["os_hash_value"] = hash.into();
        serde_json::from_value(v).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let leftovers = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };

    // good: both checked, progress to the end
    let done = Arc::new(AtomicU64::new(0));
    let d = done.clone();
    let out = dir.path().join("good.raw");
    let got = glance
        .images
        .download_to_file(
            &image("good", &sha512, Some(&md5)),
            &out,
            Some(Arc::new(move |p: Progress| {
                d.store(p.done(), Ordering::SeqCst)
            })),
        )
        .await
        .unwrap();
    assert_eq!(got.bytes, data.len() as u64);
    assert!(got.md5_verified);
    assert_eq!(got.hash_verified, Some(DigestAlgorithm::Sha512));
    assert_eq!(std::fs::read(&out).unwrap(), *data);
    assert_eq!(done.load(Ordering::SeqCst), data.len() as u64);

    // no Content-MD5: the image's checksum is checked instead
    let got = glance
        .images
        .download_to_file(
            &image("no-md5", &sha512, Some(&md5)),
            dir.path().join("b.raw"),
            None,
        )
        .await
        .unwrap();
    assert!(got.md5_verified);
    std::fs::remove_file(dir.path().join("b.raw")).unwrap();
    std::fs::remove_file(&out).unwrap();

    // a wrong secure hash, a wrong Content-MD5, a wrong checksum: refused, nothing left
    let cases = [
        (image("good", &"0".repeat(128), Some(&md5)), "sha512"),
        (image("bad-md5", &sha512, Some(&md5)), "md5"),
        (
            image("no-md5", &sha512, Some("0123456789abcdef0123456789abcdef")),
            "md5",
        ),
    ];
    for (img, algorithm) in cases {
        let target = dir.path().join("bad.raw");
        let err = glance
            .images
            .download_to_file(&img, &target, None)
            .await
            .unwrap_err();
        match &err {
            Error::DigestMismatch { algorithm: a, .. } => assert_eq!(*a, algorithm, "{err}"),
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
        assert!(leftovers().is_empty(), "{:?}", leftovers());
    }
}

/// `wait_for_active`, on the library's waiter: polls with a growing,
/// bounded pause until active, telling the progress callback each status;
/// `killed` is a failure status, a 404 a request error that ends the wait,
/// a reverted import is `ImportFailed`, and a stuck import times out within
/// the bound with the last status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_active_is_bounded_and_typed() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let server = RawServer::start(move |req| {
        let n = p.fetch_add(1, Ordering::SeqCst);
        let id = req.target.trim_start_matches("/v2/images/");
        let mut img = match id {
            "seq" => image_json(id, ["queued", "uploading", "importing", "active"][n.min(3)]),
            "killed" => image_json(id, if n == 0 { "importing" } else { "killed" }),
            "stuck" => image_json(id, "importing"),
            "reverted" => {
                let mut v = image_json(id, "queued");
                v["os_glance_failed_import"] = "fs".into();
                v["os_glance_importing_to_stores"] = "".into();
                v
            }
            _ => return json(404, &serde_json::json!({"message": "No image found"})),
        };
        img["os_glance_import_task"] = "t1".into();
        json(200, &img)
    })
    .await
    .unwrap();
    let (glance, _http) = glance_at(server.url());
    let fast = Wait::new().timeout(Duration::from_secs(30)).backoff(
        Duration::from_millis(5),
        Duration::from_millis(20),
        2.0,
    );

    // each poll's status and count reach the progress callback
    let seen = Arc::new(Mutex::new(Vec::<(Option<String>, u32)>::new()));
    let s = seen.clone();
    let watched = fast.clone().on_progress(move |p| {
        s.lock()
            .unwrap()
            .push((p.status.map(str::to_string), p.polls))
    });
    let active = glance
        .images
        .wait_for_active("seq", &watched)
        .await
        .unwrap();
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(active.property("os_glance_import_task"), Some("t1"));
    assert_eq!(active.meta().status, 200, "the last poll's metadata");
    assert_eq!(polls.swap(0, Ordering::SeqCst), 4);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (Some("queued".to_string()), 1),
            (Some("uploading".to_string()), 2),
            (Some("importing".to_string()), 3),
            (Some("active".to_string()), 4),
        ]
    );
    // no deadline the clock can hold, no pause bound: no overflow
    let unbounded =
        Wait::new()
            .timeout(Duration::MAX)
            .backoff(Duration::from_millis(1), Duration::MAX, 2.0);
    let active = glance
        .images
        .wait_for_active("seq", &unbounded)
        .await
        .unwrap();
    assert_eq!(active.status, ImageStatus::Active);
    assert_eq!(polls.swap(0, Ordering::SeqCst), 4);

    // killed: a failure status, after the poll that saw it
    let err = glance
        .images
        .wait_for_active("killed", &fast)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ImageWaitError::Wait(WaitError::FailureState { status, .. }) if status == "killed"),
        "{err:?}"
    );
    assert_eq!(polls.swap(0, Ordering::SeqCst), 2, "importing, then killed");

    // gone: the 404 ends the wait at once
    let err = glance
        .images
        .wait_for_active("gone", &fast)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ImageWaitError::Wait(WaitError::Request(e)) if e.is_not_found()),
        "{err:?}"
    );
    assert_eq!(polls.swap(0, Ordering::SeqCst), 1, "no second poll");

    // a reverted import: at once, with the stores
    let err = glance
        .images
        .wait_for_active("reverted", &fast)
        .await
        .unwrap_err();
    match &err {
        ImageWaitError::ImportFailed { id, stores, status } => {
            assert_eq!(id, "reverted");
            assert_eq!(stores, &["fs"]);
            assert_eq!(*status, ImageStatus::Queued);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("fs"), "{err}");
    assert_eq!(polls.swap(0, Ordering::SeqCst), 1);

    // stuck: the timeout, with the last status
    let started = std::time::Instant::now();
    let err = glance
        .images
        .wait_for_active(
            "stuck",
            &Wait::new().timeout(Duration::from_millis(300)).backoff(
                Duration::from_millis(10),
                Duration::from_millis(80),
                2.0,
            ),
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    match &err {
        ImageWaitError::Wait(WaitError::TimedOut {
            last_status,
            waited,
            ..
        }) => {
            assert_eq!(last_status.as_deref(), Some("importing"));
            assert!(*waited >= Duration::from_millis(300), "{waited:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("importing"), "{err}");
    assert!(took < Duration::from_secs(10), "bounded: {took:?}");
    let n = polls.load(Ordering::SeqCst);
    // 10, 20, 40, 80, 80, ... ms: about 6 polls in 300 ms, never a busy
    // loop (one, when a busy machine makes the first take the 300 ms)
    assert!((1..=10).contains(&n), "{n} polls");
}

/// The MD5 of the test data, without another dependency: the client's own
/// hasher.
mod md5_hex {
    pub fn md5_of(data: &[u8]) -> String {
        let mut h = apiclient_base::Hasher::new(apiclient_base::DigestAlgorithm::Md5);
        h.update(data);
        h.finish_hex()
    }
}

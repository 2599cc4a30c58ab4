//! Hostile servers, hostile configuration, shared machines: each test names
//! an attack or a mistake and asserts that the library stands.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiclient_auth::typed::AdminToken;
use apiclient_auth::{AccessInfo, AuthPlugin, EndpointFilter, KeystonePlugin};
use apiclient_base::{BaseClient, PageLimits, PageStyle, ResourceMeta, paginate_with};
use apiclient_errors::{ConnectionErrorKind, Error};
use apiclient_fake::{FakeCloud, Fault, RawServer};
use apiclient_http::{
    ApiRequest, FileTokenStore, HttpClient, MemoryTokenStore, RetryPolicy, TokenStore,
};
use futures_util::TryStreamExt;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::support::{builder, json_response, recording};

fn fixed(endpoint: &str, token: &str) -> AdminToken {
    AdminToken::new(endpoint, token)
}

// ---- 2. the token goes only to its own origin ---------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_url_on_another_origin_never_gets_the_token() {
    let cloud = FakeCloud::start().await.unwrap();
    let other = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    let err = compute
        .get(&format!("{}/steal", other.url()))
        .await
        .unwrap_err();
    assert_eq!(
        err.invalid_kind(),
        Some(apiclient_errors::InvalidKind::ForeignOrigin),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("refusing to send the token"),
        "{err}"
    );
    assert!(
        other.requests().is_empty(),
        "nothing reached the other host"
    );
    assert_eq!(other.connections_accepted(), 0);
    // the endpoint's own origin, given absolutely, is fine
    let own = format!("{}/v2.1/servers", cloud.url());
    assert_eq!(compute.get(&own).await.unwrap().status(), 200);
    // so is another endpoint of the catalog (the image service, same host here)
    let image = format!("{}/image/v2/images", cloud.url());
    compute.get(&image).await.unwrap();
}

#[tokio::test]
async fn next_links_stay_on_the_endpoint_origin_and_never_downgrade() {
    // page 1 links to another host over http; page 2 has no next link
    type Sent = Vec<(String, Option<String>)>;
    let seen: Arc<Mutex<Sent>> = Arc::default();
    let s2 = seen.clone();
    let svc = apiclient_http::buffered_service(move |req: http::Request<bytes::Bytes>| {
        let token = req
            .headers()
            .get("x-auth-token")
            .map(|v| v.to_str().unwrap().to_string());
        s2.lock().unwrap().push((req.uri().to_string(), token));
        let body = if req.uri().query().is_some_and(|q| q.contains("marker=a")) {
            json!({"items": [{"id": "b"}]})
        } else {
            json!({"items": [{"id": "a"}], "items_links": [{"rel": "next", "href": "http://internal-proxy:8774/v1/items?marker=a"}]})
        };
        async move { Ok::<_, apiclient_errors::BoxError>(json_response(200, &body, None)) }
    });
    let http = HttpClient::builder(Box::new(fixed("https://svc.example/v1", "t0k")))
        .base_transport(svc)
        .build()
        .unwrap();
    let client = BaseClient::new(&http, "items");
    let items: Vec<_> = paginate_with(
        client,
        "/items",
        "items",
        ResourceMeta::new("Item"),
        PageStyle::Links,
        PageLimits::default(),
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(items.len(), 2);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (
                "https://svc.example/v1/items".to_string(),
                Some("t0k".to_string())
            ),
            (
                "https://svc.example/v1/items?marker=a".to_string(),
                Some("t0k".to_string())
            ),
        ],
        "the second page is fetched on the endpoint's https origin"
    );
}

// ---- 9. pagination is bounded ------------------------------------------

#[tokio::test]
async fn a_server_that_never_stops_paging_meets_the_page_cap_and_the_deadline() {
    let counter = Arc::new(Mutex::new(0u64));
    let c2 = counter.clone();
    let (http, _seen) = recording(move |_req| {
        let mut n = c2.lock().unwrap();
        *n += 1;
        // a fresh next link every time: no loop to detect
        json_response(
            200,
            &json!({"items": [{"id": n.to_string()}], "items_links": [{"rel": "next", "href": format!("/items?marker={n}")}]}),
            None,
        )
    });
    let client = BaseClient::new(&http, "items");
    let limits = PageLimits::default().max_pages(5);
    let mut stream = std::pin::pin!(paginate_with(
        client.clone(),
        "/items",
        "items",
        ResourceMeta::new("Item"),
        PageStyle::Links,
        limits
    ));
    let mut got = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("the stream ended without the cap"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 5, "every fetched page's items are handed out first");
    assert!(err.to_string().contains("page cap"), "{err}");

    // The deadline of the whole listing: pages that take 100 ms each, 500 ms allowed.
    let slow = apiclient_http::buffered_service(|req: http::Request<bytes::Bytes>| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = req.uri().query().unwrap_or("marker=0").len();
        Ok::<_, apiclient_errors::BoxError>(json_response(
            200,
            &json!({"items": [{"id": n}], "next": format!("/items?marker={n}{}", "x".repeat(n))}),
            None,
        ))
    });
    let http = HttpClient::builder(Box::new(fixed("http://svc/v1", "t")))
        .base_transport(slow)
        .build()
        .unwrap();
    let limits = PageLimits::default()
        .max_pages(1_000_000)
        .deadline(Duration::from_millis(500));
    let t0 = Instant::now();
    let result: Result<Vec<_>, Error> = paginate_with(
        BaseClient::new(&http, "items"),
        "/items",
        "items",
        ResourceMeta::new("Item"),
        PageStyle::Links,
        limits,
    )
    .try_collect()
    .await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Connection(c) if c.kind() == ConnectionErrorKind::Deadline),
        "{err:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(30), "bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operation_deadline_bounds_retries_and_retry_after_waits() {
    let cloud = FakeCloud::start().await.unwrap();
    // warm up: authenticate first so the fault hits the service call
    let http = builder(&cloud)
        .operation_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.set_fault_prefix("/v2.1");
    cloud.inject(Fault::TooManyRequests { retry_after: 120 }, 1);
    let t0 = Instant::now();
    let err = compute.get("/servers").await.unwrap_err();
    // The 120 s wait would pass the 2 s deadline: the 429 stands, at once.
    assert_eq!(err.status(), Some(429), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    // (before: the retry slept the capped 60 s)
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());

    // A call stuck past the deadline ends with a Deadline error.
    cloud.inject(Fault::Delay(Duration::from_secs(30)), 1);
    let err = compute.get("/servers").await.unwrap_err();
    assert!(
        matches!(&err, Error::Connection(c) if c.kind() == ConnectionErrorKind::Deadline),
        "{err:?}"
    );
    assert!(err.is_timeout());
}

// ---- 4. a token that is not a header value ------------------------------

#[tokio::test]
async fn a_token_with_crlf_is_an_error_not_a_request_without_a_token() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let svc = apiclient_http::buffered_service({
        let seen = seen.clone();
        move |req: http::Request<bytes::Bytes>| {
            seen.lock().unwrap().push(req.uri().to_string());
            async { Ok::<_, apiclient_errors::BoxError>(json_response(200, &json!({}), None)) }
        }
    });
    let http = HttpClient::builder(Box::new(fixed("http://svc/v1", "abc\r\nX-Evil: 1")))
        .base_transport(svc)
        .build()
        .unwrap();
    let err = http.service_client("x").get("/items").await.unwrap_err();
    assert!(err.is_authorization_failure(), "{err:?}");
    assert!(
        err.to_string().contains("not a valid HTTP header value"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("X-Evil"),
        "the token is not echoed"
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

// ---- 11. clean errors for what hyper saw --------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_heads_and_redirects_are_named() {
    let garbage = RawServer::start(|_| b"HTTP/1.1 2x0 NOPE\r\n\r\n".to_vec())
        .await
        .unwrap();
    let huge = RawServer::start(|_| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n".to_vec();
        for i in 0..20_000 {
            r.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "y".repeat(30)).as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    })
    .await
    .unwrap();
    let redirect = RawServer::start(|_| {
        RawServer::response(302, &[("Location", "http://elsewhere.example/x")], b"")
    })
    .await
    .unwrap();
    for (server, kind) in [
        (&garbage, ConnectionErrorKind::Malformed),
        (&huge, ConnectionErrorKind::HeadTooLarge),
    ] {
        let http = HttpClient::builder(Box::new(fixed(&format!("{}/v1", server.url()), "t")))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = http.service_client("x").get("/y").await.unwrap_err();
        assert!(
            matches!(&err, Error::Connection(c) if c.kind() == kind),
            "{kind:?}: {err:?}"
        );
        assert!(!err.to_string().contains("closed"), "{err}");
    }
    let http = HttpClient::builder(Box::new(fixed(&format!("{}/v1", redirect.url()), "t")))
        .build()
        .unwrap();
    let err = http.service_client("x").get("/y").await.unwrap_err();
    assert_eq!(err.status(), Some(302));
    assert!(
        err.to_string()
            .contains("redirect to http://elsewhere.example/x not followed"),
        "{err}"
    );
    assert_eq!(
        err.as_http().unwrap().location(),
        Some("http://elsewhere.example/x")
    );
}

#[tokio::test]
async fn an_endpoint_that_is_not_an_absolute_url_is_a_configuration_error() {
    let (_, seen) = recording(|_| json_response(200, &json!({}), None));
    let http = HttpClient::builder(Box::new(fixed("svc.example/v1", "t")))
        .build()
        .unwrap();
    let err = http.service_client("x").get("/items").await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("not an absolute URL"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
    // a raw request to a path, with no service client, says so too
    let err = http
        .request(ApiRequest::get("/relative"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an absolute URL"), "{err}");
}

// ---- 12. a plugin that yields no endpoint -------------------------------

/// A plugin with an empty endpoint (and an empty token).
#[derive(Debug, Default)]
struct Hollow;

impl AuthPlugin for Hollow {
    fn auth_system(&self) -> &str {
        "hollow"
    }
    fn authenticate(
        &self,
        _t: apiclient_auth::transport::SharedTransport,
    ) -> apiclient_auth::transport::BoxFuture<'static, Result<AccessInfo, Error>> {
        Box::pin(async {
            Ok(AccessInfo::fixed(
                "".to_string().into(),
                Some(String::new()),
            ))
        })
    }
}

#[tokio::test]
async fn no_token_and_no_endpoint_is_an_authorization_failure_not_a_bare_path() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let svc = apiclient_http::buffered_service(move |req: http::Request<bytes::Bytes>| {
        s2.lock().unwrap().push(req.uri().to_string());
        async { Ok::<_, apiclient_errors::BoxError>(json_response(200, &json!({}), None)) }
    });
    let http = HttpClient::builder(Box::new(Hollow))
        .base_transport(svc)
        .build()
        .unwrap();
    let err = http
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap_err();
    assert!(err.is_authorization_failure(), "{err:?}");
    assert_eq!(err.to_string(), "Cannot find endpoint or token for request");
    assert!(seen.lock().unwrap().is_empty(), "no request to a bare path");
}

// ---- 17. nothing lives forever -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_client_frees_the_pool_the_token_and_the_password() {
    let server = RawServer::start(|_| {
        RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
    })
    .await
    .unwrap();
    let http = HttpClient::builder(Box::new(fixed(&format!("{}/v1", server.url()), "t")))
        .build()
        .unwrap();
    let state = Arc::downgrade(http.token_state());
    // service clients registered in the client, and clones of them
    let compute = http.service_client("compute");
    let image = http.service_client("image");
    compute.get("/a").await.unwrap();
    image.get("/b").await.unwrap();
    // keep-alive: the second call reuses the first's connection unless it
    // was not back in the pool yet (a busy machine)
    let open = server.connections_open();
    assert!((1..=2).contains(&open), "{open} connections");
    drop((http, compute, image));
    assert!(
        state.upgrade().is_none(),
        "the token state and plugin are freed"
    );
    // the pool is gone, so its connection closes
    let t0 = Instant::now();
    while server.connections_open() > 0 && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.connections_open(),
        0,
        "the pooled connection was closed"
    );
}

/// Waits until `server` has no connection open (30 s at most).
async fn until_closed(server: &RawServer) {
    let t0 = Instant::now();
    while server.connections_open() > 0 && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_pooled_connections_really_close() {
    let server = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    let http = HttpClient::builder(Box::new(fixed(&format!("{}/v1", server.url()), "t")))
        .pool_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    http.service_client("x").get("/a").await.unwrap();
    until_closed(&server).await;
    assert_eq!(
        server.connections_open(),
        0,
        "closed while the client lives"
    );
    // and the client still works: a new connection
    http.service_client("x").get("/a").await.unwrap();
    assert_eq!(server.connections_accepted(), 2);
    drop(http);
}

#[test]
fn idle_connections_close_after_the_runtime_that_reaped_them_ended() {
    // a client outlives the runtime it was first used on: the next one
    // closes its idle connections in time too
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt
        .block_on(RawServer::start(|_| RawServer::response(200, &[], b"{}")))
        .unwrap();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let http = first.block_on(async {
        let http = HttpClient::builder(Box::new(fixed(&format!("{}/v1", server.url()), "t")))
            .pool_idle_timeout(Duration::from_millis(200))
            .no_proxy()
            .build()
            .unwrap();
        http.service_client("x").get("/a").await.unwrap();
        http
    });
    // its connection, its pool's reaper: gone with it
    drop(first);
    let second = runtime();
    second.block_on(async {
        http.service_client("x").get("/a").await.unwrap();
        until_closed(&server).await;
    });
    assert_eq!(
        server.connections_open(),
        0,
        "the second runtime's idle connection was closed"
    );
    assert_eq!(server.connections_accepted(), 2);
    drop(http);
}

/// A store that records the thread each call ran on.
#[derive(Debug, Default)]
struct ThreadStore(Mutex<Vec<std::thread::ThreadId>>);

impl TokenStore for ThreadStore {
    fn load(&self, _key: &str) -> Option<AccessInfo> {
        self.0.lock().unwrap().push(std::thread::current().id());
        None
    }
    fn save(&self, _key: &str, _access: &AccessInfo) {
        self.0.lock().unwrap().push(std::thread::current().id());
    }
}

#[test]
fn token_store_io_runs_off_the_async_threads() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(ThreadStore::default());
    let s: Arc<dyn TokenStore> = store.clone();
    rt.block_on(async {
        let cloud = FakeCloud::start().await.unwrap();
        let http = builder(&cloud).token_store(s).build().unwrap();
        http.service_client("compute")
            .get("/servers")
            .await
            .unwrap();
    });
    let runtime_thread = std::thread::current().id();
    let calls = store.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one load, one save");
    assert!(
        calls.iter().all(|t| *t != runtime_thread),
        "store I/O ran on the runtime's thread"
    );
}

// ---- 13. two BaseClients, two endpoint caches ------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_base_clients_of_one_service_keep_their_own_endpoint_cache() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let a = BaseClient::new(&http, "compute");
    let b = BaseClient::new(&http, "compute");
    a.get("/servers").await.unwrap();
    assert!(a.cached_endpoint().is_some());
    assert_eq!(b.cached_endpoint(), None, "b has its own cache");
}

// ---- 1. the token cache trusts only the user's own private files ----------

fn token_for(cloud: &FakeCloud) -> (String, AccessInfo) {
    let key = crate::support::demo_plugin(cloud).cache_key().unwrap();
    let body = json!({"token": {"expires_at": "2099-01-01T00:00:00Z", "methods": ["password"],
        "user": {"id": "u-planted"}, "project": {"id": "p-planted", "name": "demo"}, "catalog": []}});
    let access = AccessInfo::from_v3(
        "planted-token".to_string().into(),
        body.to_string().as_bytes(),
    )
    .unwrap();
    (key, access)
}

#[cfg(unix)]
fn mode(path: &std::path::Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_or_exposed_token_files_are_never_used() {
    let cloud = FakeCloud::start().await.unwrap();
    let (key, planted) = token_for(&cloud);
    let root = tempfile::tempdir().unwrap();
    let uses_planted = |store: FileTokenStore| async {
        let http = builder(&cloud)
            .token_store(Arc::new(store))
            .build()
            .unwrap();
        let access = http.access().await.unwrap();
        access.token().expose_secret() == "planted-token"
    };

    // A well-kept file is used (the control).
    let dir = root.path().join("ok");
    let store = FileTokenStore::new(&dir);
    store.save(&key, &planted);
    assert!(
        uses_planted(store.clone()).await,
        "control: a private file is used"
    );

    // Group/other bits on the file: never read, and removed.
    let dir = root.path().join("exposed");
    let store = FileTokenStore::new(&dir);
    store.save(&key, &planted);
    mode(&store.path_for(&key), 0o644);
    assert!(store.load(&key).is_none(), "an exposed file is never read");
    assert!(
        !store.path_for(&key).exists(),
        "the exposed file was dropped"
    );
    store.save(&key, &planted);
    mode(&store.path_for(&key), 0o640);
    assert!(!uses_planted(store.clone()).await);
    let now = std::fs::read_to_string(store.path_for(&key)).unwrap();
    assert!(
        !now.contains("planted-token"),
        "replaced by the fresh token, at 0600"
    );

    // A directory others can write to: the whole cache is ignored.
    let dir = root.path().join("shared");
    let store = FileTokenStore::new(&dir);
    store.save(&key, &planted);
    mode(&dir, 0o777);
    assert!(!uses_planted(store.clone()).await);
    let before = std::fs::read(store.path_for(&key)).unwrap();
    store.save(&key, &AccessInfo::fixed("other".to_string().into(), None));
    assert_eq!(
        std::fs::read(store.path_for(&key)).unwrap(),
        before,
        "nothing is written into a shared directory either"
    );

    // A symlink to a good file elsewhere is not followed.
    let dir = root.path().join("linked");
    let store = FileTokenStore::new(&dir);
    let good = FileTokenStore::new(root.path().join("ok"));
    std::fs::create_dir_all(&dir).unwrap();
    mode(&dir, 0o700);
    std::os::unix::fs::symlink(good.path_for(&key), store.path_for(&key)).unwrap();
    assert!(!uses_planted(store.clone()).await);

    // A file owned by someone else (needs root to plant).
    if rustix_is_root() {
        let dir = root.path().join("foreign");
        let store = FileTokenStore::new(&dir);
        store.save(&key, &planted);
        std::os::unix::fs::chown(store.path_for(&key), Some(65534), Some(65534)).unwrap();
        assert!(!uses_planted(store.clone()).await);
        let dir = root.path().join("foreign-dir");
        let store = FileTokenStore::new(&dir);
        store.save(&key, &planted);
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        assert!(!uses_planted(store).await);
    } else {
        eprintln!("not root: the files-owned-by-others cases need root to plant them");
    }
}

#[cfg(unix)]
fn rustix_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // a file we create is owned by our uid
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::metadata(f.path()).unwrap().uid() == 0
}

#[test]
fn without_a_usable_home_the_cache_is_off() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| std::ffi::OsString::from(v))
        }
    };
    assert_eq!(FileTokenStore::default_dir_from(env(&[])), None);
    assert_eq!(
        FileTokenStore::default_dir_from(env(&[("HOME", "relative/home")])),
        None
    );
    assert_eq!(
        FileTokenStore::default_dir_from(env(&[("HOME", "/home/a")])),
        Some("/home/a/.cache/apiclient-rs/tokens".into())
    );
    assert_eq!(
        FileTokenStore::default_dir_from(env(&[("HOME", "/home/a"), ("XDG_CACHE_HOME", "/c")])),
        Some("/c/apiclient-rs/tokens".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_record_cannot_introduce_an_endpoint() {
    let cloud = FakeCloud::start().await.unwrap();
    let (key, mut planted) = token_for(&cloud);
    planted.endpoint_override = Some("http://127.0.0.1:9/evil".into());
    let store = Arc::new(MemoryTokenStore::default());
    store.save(&key, &planted);
    let http = builder(&cloud).token_store(store).build().unwrap();
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(
        cloud.count("POST /v3/auth/tokens"),
        1,
        "authenticated instead"
    );
}

// ---- 3. redaction by pattern in Debug and errors ------------------------

#[test]
fn debug_of_configs_requests_and_errors_shows_no_secret() {
    let cloud = apiclient_auth::clouds::parse_cloud(
        "clouds:\n  c:\n    auth:\n      auth_url: http://k/v3\n      username: u\n",
        Some(
            "clouds:\n  c:\n    auth:\n      password: hunter2\n      application_credential_secret: acs-1\n      totp_secret: ts-1\n",
        ),
        "c",
    )
    .unwrap();
    let shown = format!("{cloud:?}");
    for s in ["hunter2", "acs-1", "ts-1"] {
        assert!(!shown.contains(s), "{shown}");
    }
    assert!(shown.contains("http://k/v3"));

    let req = ApiRequest::new(http::Method::POST, "http://u:pw1@h/x?temp_url_sig=sig1")
        .header("X-Auth-Token", "tok1")
        .json(&json!({"auth": {"passcode": "pc1", "user": {"password": "pw2"}}}));
    let shown = format!("{req:?}");
    for s in ["pw1", "sig1", "tok1", "pc1", "pw2"] {
        assert!(!shown.contains(s), "{s} in {shown}");
    }

    let err: Error = apiclient_errors::ConnectionError::new(
        ConnectionErrorKind::Refused,
        "http://admin:pw3@127.0.0.1:1/v3?password=pw4",
        None,
    )
    .into();
    assert!(!err.to_string().contains("pw3") && !err.to_string().contains("pw4"));
    assert!(!format!("{err:?}").contains("pw3"));
}

// ---- 6. warnings ------------------------------------------------------------

#[test]
fn warnings_for_insecure_tls_and_passwords_over_plain_http() {
    let (_, log) = crate::support::with_captured_trace(|| async {
        let _ = HttpClient::builder(Box::new(fixed("http://svc/v1", "t")))
            .tls(apiclient_http::TlsConfig::default().insecure(true))
            .build()
            .unwrap();
        // a password to a non-loopback host over http, through an in-memory transport
        let keystone = Arc::new(apiclient_auth::transport::FnTransport::new(
            |_r: http::Request<bytes::Bytes>| async {
                Ok::<_, Error>(
                    http::Response::builder()
                        .status(401)
                        .body(bytes::Bytes::new())
                        .unwrap(),
                )
            },
        ));
        let plugin = KeystonePlugin::new("v3password")
            .unwrap()
            .with("auth_url", "http://keystone.example.com/v3")
            .with("username", "u")
            .with("password", "pw-5");
        let _ = plugin.authenticate(keystone.clone()).await;
        let local = KeystonePlugin::new("v3password")
            .unwrap()
            .with("auth_url", "http://127.0.0.1:5000/v3")
            .with("username", "u")
            .with("password", "pw-6");
        let _ = local.authenticate(keystone).await;
    });
    assert!(log.contains("TLS certificate verification is off"), "{log}");
    assert_eq!(
        log.matches("sending credentials over plain http://")
            .count(),
        1,
        "warned for the remote host only: {log}"
    );
    assert!(log.contains("keystone.example.com"));
    assert!(!log.contains("pw-5") && !log.contains("pw-6"));
}

#[tokio::test]
async fn version_discovery_never_downgrades_to_http() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s2 = seen.clone();
    let keystone = Arc::new(apiclient_auth::transport::FnTransport::new(
        move |r: http::Request<bytes::Bytes>| {
            s2.lock().unwrap().push(r.uri().to_string());
            let body = json!({"versions": {"values": [{"id": "v3.14", "status": "stable",
                "links": [{"rel": "self", "href": "http://keystone.example.com/v3/"}]}]}});
            async move {
                Ok::<_, Error>(
                    http::Response::builder()
                        .status(300)
                        .body(bytes::Bytes::from(body.to_string()))
                        .unwrap(),
                )
            }
        },
    ));
    let plugin = KeystonePlugin::new("password")
        .unwrap()
        .with("auth_url", "https://keystone.example.com")
        .with("username", "u")
        .with("password", "p");
    let _ = plugin.authenticate(keystone).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0], "https://keystone.example.com/");
    assert_eq!(
        seen[1], "https://keystone.example.com/v3/auth/tokens",
        "the token request stays on https"
    );
}

#[test]
fn a_v2_auth_url_with_domain_options_is_refused() {
    let plugin = KeystonePlugin::new("v2password")
        .or_else(|| KeystonePlugin::new("password"))
        .unwrap()
        .with("auth_url", "http://k/v2.0")
        .with("username", "u")
        .with("password", "p")
        .with("user_domain_name", "Default");
    let err = plugin.request_body(true).unwrap_err();
    assert!(
        err.to_string()
            .contains("the identity v2.0 API has no domains, but user_domain_name is given"),
        "{err}"
    );
}

#[test]
fn an_unscoped_token_says_what_to_set() {
    let access = AccessInfo::from_v3(
        "t".to_string().into(),
        br#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "user": {"id": "u"}, "methods": ["password"]}}"#,
    )
    .unwrap();
    let err = access
        .token_and_endpoint(&EndpointFilter::new("compute"))
        .unwrap_err();
    assert!(err.to_string().contains("the token is unscoped"), "{err}");
    assert!(err.to_string().contains("--os-project-name"), "{err}");
}

#[test]
fn registered_plugins_options_come_from_flags_env_and_clouds_yaml() {
    use apiclient_auth::options::OptionSpec;
    use apiclient_auth::{AuthArgs, AuthOptions, ConfigLoader, PluginRegistry};

    #[derive(Debug, Default)]
    struct Realm(AuthOptions);
    impl apiclient_auth::BaseAuthPlugin for Realm {
        fn option_specs(&self) -> Vec<OptionSpec> {
            vec![
                OptionSpec {
                    name: "realm_url",
                    help: "Realm URL",
                    aliases: &[],
                    secret: false,
                },
                OptionSpec {
                    name: "realm_key",
                    help: "Realm key",
                    aliases: &[],
                    secret: true,
                },
            ]
        }
        fn opts(&self) -> &AuthOptions {
            &self.0
        }
        fn opts_mut(&mut self) -> &mut AuthOptions {
            &mut self.0
        }
        fn sufficient_options(&self) -> Result<(), apiclient_errors::AuthorizationFailure> {
            match (self.0.has("realm_url"), self.0.has("realm_key")) {
                (true, true) => Ok(()),
                _ => Err(apiclient_errors::AuthorizationFailure::options_missing([
                    "realm_url",
                    "realm_key",
                ])),
            }
        }
    }
    impl AuthPlugin for Realm {
        fn auth_system(&self) -> &str {
            "realm"
        }
        fn authenticate(
            &self,
            _t: apiclient_auth::transport::SharedTransport,
        ) -> apiclient_auth::transport::BoxFuture<'static, Result<AccessInfo, Error>> {
            Box::pin(async { Err(Error::config("not used")) })
        }
    }
    let mut registry = PluginRegistry::default();
    registry.register("realm", || Box::new(Realm::default()));
    let cmd = AuthArgs::augment_args_with(clap::Command::new("tool"), &registry);
    let help = cmd.clone().render_help().to_string();
    assert!(help.contains("--os-realm-url"), "{help}");
    let m = cmd
        .try_get_matches_from([
            "tool",
            "--os-auth-type",
            "realm",
            "--os-realm-url",
            "http://r",
        ])
        .unwrap();
    let args = AuthArgs::from_matches_with(&m, &registry);
    let loader = ConfigLoader::new()
        .with_env_map([("OS_REALM_KEY".to_string(), "rk-secret".to_string())].into())
        .with_search_dirs(vec![]);
    let cfg = args.resolve(&loader).unwrap();
    assert_eq!(cfg.load_plugin(&registry).unwrap().auth_system(), "realm");
    let plugin = registry
        .load_plugin_from_options(cfg.auth_type.as_deref(), &cfg.auth)
        .unwrap();
    assert_eq!(plugin.auth_system(), "realm");
    assert_eq!(plugin.opts().get("realm_url"), Some("http://r"));
    assert_eq!(plugin.opts().expose("realm_key"), Some("rk-secret"));
    assert!(!format!("{plugin:?} {cfg:?} {args:?}").contains("rk-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_service_settings_of_the_configuration_reach_the_service_clients() {
    use apiclient_auth::{ConfigLoader, PluginRegistry};
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  c:\n    auth:\n      auth_url: {}\n      username: demo\n      password: demopass\n      project_name: demo\n    compute_endpoint_override: {}/v2.1-override\n    volume_interface: internal\n",
            cloud.auth_url(),
            cloud.url()
        ),
    )
    .unwrap();
    let cfg = ConfigLoader::new()
        .with_env_map([("OS_CLOUD".to_string(), "c".to_string())].into())
        .with_search_dirs(vec![dir.path().to_path_buf()])
        .resolve(&Default::default())
        .unwrap();
    let http = apiclient_http::HttpClientBuilder::from_config(&cfg, &PluginRegistry::default())
        .unwrap()
        .build()
        .unwrap();
    // the one-liner does the same
    let loader = ConfigLoader::new()
        .with_env_map([("OS_CLOUD".to_string(), "c".to_string())].into())
        .with_search_dirs(vec![dir.path().to_path_buf()]);
    let same = HttpClient::from_loader(&loader, None).unwrap();
    assert_eq!(
        same.service_client("compute").endpoint().await.unwrap(),
        format!("{}/v2.1-override", cloud.url())
    );
    let named = HttpClient::from_loader(&loader, Some("c")).unwrap();
    named.authenticate().await.unwrap();
    assert_eq!(
        http.service_client("compute").endpoint().await.unwrap(),
        format!("{}/v2.1-override", cloud.url())
    );
    // `volume_*` applies to block-storage by its official type
    assert_eq!(
        http.service_client("block-storage").filter().interface,
        apiclient_auth::Interface::Internal
    );
    // every door to a service client applies the same settings: BaseClient
    // (each with its own endpoint cache, as the reference's)
    let fresh = HttpClient::from_loader(&loader, None).unwrap();
    let base = apiclient_base::BaseClient::new(&fresh, "compute");
    assert_eq!(
        base.service().endpoint().await.unwrap(),
        format!("{}/v2.1-override", cloud.url())
    );
    assert_eq!(
        apiclient_base::BaseClient::new(&fresh, "block-storage")
            .service()
            .filter()
            .interface,
        apiclient_auth::Interface::Internal
    );
    let public = apiclient_base::BaseClient::with_interface(
        &fresh,
        "compute",
        apiclient_auth::Interface::Public,
    );
    assert_eq!(
        public.service().endpoint().await.unwrap(),
        format!("{}/v2.1-override", cloud.url()),
        "an explicit interface keeps the endpoint override"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_interfaces_fall_back_in_order_and_api_version_sets_the_microversion() {
    use apiclient_auth::ConfigLoader;
    let cloud = apiclient_fake::FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  c:\n    auth:\n      auth_url: {}\n      username: demo\n      password: demopass\n      project_name: demo\n    valid_interfaces: [internal, public]\n    compute_api_version: '2.53'\n",
            cloud.auth_url(),
        ),
    )
    .unwrap();
    let loader = ConfigLoader::new()
        .with_env_map(Default::default())
        .with_search_dirs(vec![dir.path().to_path_buf()]);
    let http = HttpClient::from_loader(&loader, Some("c")).unwrap();
    let image = http.service_client("image");
    assert_eq!(
        image.filter().interface,
        apiclient_auth::Interface::Internal
    );
    // the fake cloud's image service has a public endpoint only: the second
    // valid interface serves
    assert_eq!(
        image.endpoint().await.unwrap(),
        format!("{}/image", cloud.url())
    );
    let compute = http.service_client("compute");
    let r = compute.get("/servers").await.unwrap();
    assert_eq!(
        r.headers()["openstack-api-version"],
        "compute 2.53",
        "compute_api_version 2.53 is the default microversion"
    );
    let base = apiclient_base::BaseClient::new(&http, "compute");
    assert_eq!(
        base.service().filter().interface,
        apiclient_auth::Interface::Internal
    );
    let r = base.service().get("/servers").await.unwrap();
    assert_eq!(
        r.headers()["openstack-api-version"],
        "compute 2.53",
        "BaseClient::new applies the default microversion too"
    );
    // an interface named by the environment is the only one: no fallback
    let strict = ConfigLoader::new()
        .with_env_map([("OS_INTERFACE".to_string(), "internal".to_string())].into())
        .with_search_dirs(vec![dir.path().to_path_buf()]);
    let http = HttpClient::from_loader(&strict, Some("c")).unwrap();
    let err = http.service_client("image").endpoint().await.unwrap_err();
    assert!(err.to_string().contains("'internal'"), "{err}");
}

//! One token for many clients (issue 23): a plugin that cannot say who it
//! is never shares a store entry; clients (and processes) sharing a store
//! authenticate once; another scope of the same credentials is re-scoped;
//! expired entries are collected; a revoked token is forgotten.

use std::sync::Arc;
use std::time::Duration;

use apiclient_auth::transport::{BoxFuture, SharedTransport};
use apiclient_auth::typed::{Scope, V3Password};
use apiclient_auth::{AccessInfo, AuthPlugin, ExposeSecret, SecretString};
use apiclient_errors::Error;
use apiclient_fake::{FakeCloud, Fault, RawRequest, RawServer};
use apiclient_http::store::TryLock;
use apiclient_http::{FileTokenStore, HttpClient, MemoryTokenStore, TokenStore};
use bytes::Bytes;

use crate::support::{builder, demo_plugin};

const AUTH: &str = "POST /v3/auth/tokens";

/// Every wait of these tests ends within this (a busy machine is slow).
const BOUND: Duration = Duration::from_secs(120);

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("bounded wait ran out")
}

// ---- a plugin of one's own, and a loopback service that records tokens ----

/// A hand-written runtime plugin: logs `user` in at the loopback server's
/// `/login`; with `key`, it names a cache key, else it keeps the default.
#[derive(Debug)]
struct Login {
    url: String,
    user: &'static str,
    key: bool,
}

impl AuthPlugin for Login {
    fn auth_system(&self) -> &str {
        "login"
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        let req = http::Request::post(format!("{}/login", self.url))
            .body(Bytes::from(self.user))
            .unwrap();
        Box::pin(async move {
            let resp = transport.send(req).await?;
            let token = resp.headers()["x-subject-token"]
                .to_str()
                .unwrap()
                .to_string();
            AccessInfo::from_v3(SecretString::from(token), resp.body())
        })
    }

    fn cache_key(&self) -> Option<String> {
        self.key
            .then(|| format!("login|url={}|user={}", self.url, self.user))
    }
}

/// `/login` issues `tok-<user>-<n>` with a catalog of one service, `svc`,
/// on this server; `/svc/...` answers 200 to any token.
async fn login_server() -> RawServer {
    let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    RawServer::start(move |req: &RawRequest| {
        if req.target == "/login" {
            let user = String::from_utf8_lossy(&req.body).into_owned();
            let n = issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let host = req.header("host").unwrap_or_default();
            let body = serde_json::json!({"token": {
                "expires_at": "2099-01-01T00:00:00Z", "methods": ["password"],
                "user": {"id": format!("u-{user}"), "name": user},
                "project": {"id": "p-1", "name": "p"},
                "catalog": [{"type": "svc", "name": "svc", "id": "s",
                    "endpoints": [{"id": "e", "interface": "public", "region_id": "RegionOne",
                        "url": format!("http://{host}/svc")}]}]}});
            let token = format!("tok-{user}-{n}");
            return RawServer::response(
                201,
                &[
                    ("Content-Type", "application/json"),
                    ("X-Subject-Token", &token),
                ],
                body.to_string().as_bytes(),
            );
        }
        RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
    })
    .await
    .unwrap()
}

/// The tokens the service saw on requests for `path`.
fn tokens_at(server: &RawServer, path: &str) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.target == path)
        .map(|r| r.header("x-auth-token").unwrap_or("(none)").to_string())
        .collect()
}

fn logins_of(server: &RawServer, user: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.target == "/login" && r.body == user.as_bytes())
        .count()
}

// ---- 4. a plugin that cannot say who it is never shares an entry ---------

/// The bug of issue 23: the default key was the plugin's name, so bob's
/// client took alice's stored token and never authenticated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_without_a_cache_key_never_hands_alices_token_to_bob() {
    let server = login_server().await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = |user| {
        let plugin = Login {
            url: server.url().to_string(),
            user,
            key: false,
        };
        HttpClient::builder(plugin)
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    let alice = client("alice");
    bounded(alice.service_client("svc").get("/alice"))
        .await
        .unwrap();
    let bob = client("bob");
    bounded(bob.service_client("svc").get("/bob"))
        .await
        .unwrap();
    bounded(bob.service_client("svc").get("/bob"))
        .await
        .unwrap();

    assert_eq!(logins_of(&server, "alice"), 1);
    assert_eq!(logins_of(&server, "bob"), 1, "bob authenticated");
    let alices = tokens_at(&server, "/svc/alice");
    let bobs = tokens_at(&server, "/svc/bob");
    assert_eq!(alices, ["tok-alice-0"]);
    assert_eq!(bobs.len(), 2);
    assert!(
        bobs.iter().all(|t| t.starts_with("tok-bob-")),
        "bob carried only his own token: {bobs:?}"
    );
    // never stored, never loaded
    assert_eq!(format!("{store:?}"), "MemoryTokenStore { entries: 0 }");
}

/// A plugin that names its key shares stored tokens as before: a second
/// client of alice's uses her token; bob's key is his own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_names_its_key_shares_as_before() {
    let server = login_server().await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = |user| {
        let plugin = Login {
            url: server.url().to_string(),
            user,
            key: true,
        };
        HttpClient::builder(plugin)
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    bounded(client("alice").service_client("svc").get("/a1"))
        .await
        .unwrap();
    bounded(client("alice").service_client("svc").get("/a2"))
        .await
        .unwrap();
    bounded(client("bob").service_client("svc").get("/b"))
        .await
        .unwrap();
    assert_eq!(
        logins_of(&server, "alice"),
        1,
        "the second client used the stored token"
    );
    assert_eq!(logins_of(&server, "bob"), 1);
    assert_eq!(tokens_at(&server, "/svc/a1"), ["tok-alice-0"]);
    assert_eq!(tokens_at(&server, "/svc/a2"), ["tok-alice-0"]);
    assert_eq!(tokens_at(&server, "/svc/b"), ["tok-bob-1"]);
}

// ---- 5. many clients, one authentication ----------------------------------

/// A fake cloud whose authentications take a second: clients started
/// together are all waiting while the first authenticates.
async fn slow_keystone() -> FakeCloud {
    let cloud = FakeCloud::start().await.unwrap();
    cloud.set_fault_prefix("/v3/auth");
    cloud.inject(Fault::Delay(Duration::from_secs(1)), 12);
    cloud
}

async fn all_at_once(clients: Vec<HttpClient>) -> Vec<String> {
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(async move { c.access().await.unwrap() }))
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        let access = bounded(t).await.unwrap();
        tokens.push(access.token().expose_secret().to_string());
    }
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_a_memory_store_authenticate_once() {
    let cloud = slow_keystone().await;
    let store = Arc::new(MemoryTokenStore::default());
    let clients = (0..12)
        .map(|_| builder(&cloud).token_store(store.clone()).build().unwrap())
        .collect();
    let tokens = all_at_once(clients).await;
    assert_eq!(cloud.count(AUTH), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
}

/// Each client has its own `FileTokenStore` on one directory, as separate
/// processes would: the file lock makes them authenticate once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_with_their_own_file_stores_on_one_directory_authenticate_once() {
    let cloud = slow_keystone().await;
    let dir = tempfile::tempdir().unwrap();
    let clients = (0..12)
        .map(|_| {
            let store = FileTokenStore::new(dir.path().join("tokens"));
            builder(&cloud)
                .token_store(Arc::new(store))
                .build()
                .unwrap()
        })
        .collect();
    let tokens = all_at_once(clients).await;
    assert_eq!(cloud.count(AUTH), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let files: Vec<_> = std::fs::read_dir(dir.path().join("tokens"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "one entry, no lock file beside it");
}

/// A lock held (by another process, say) is waited for, bounded: a client
/// that finds the holder's token saved meanwhile uses it; one whose wait
/// runs out authenticates on its own rather than hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_is_waited_for_and_the_wait_is_bounded() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = demo_plugin(&cloud).cache_key().unwrap();
    let store = FileTokenStore::new(dir.path());
    let TryLock::Acquired(held) = store.try_lock(&key) else {
        panic!("the lock is free");
    };
    assert!(
        matches!(store.try_lock(&key), TryLock::Busy),
        "held means busy"
    );
    drop(held);
    let TryLock::Acquired(held) = store.try_lock(&key) else {
        panic!("released on drop");
    };

    // the holder saves its token while a client waits: the client reads it
    let holder_token = bounded(builder(&cloud).build().unwrap().authenticate())
        .await
        .unwrap();
    let waiting = builder(&cloud)
        .token_store(Arc::new(store.clone()))
        .build()
        .unwrap();
    let wait = tokio::spawn(async move { waiting.access().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.save(&key, &holder_token);
    let got = bounded(wait).await.unwrap();
    assert!(
        got.same_token(&holder_token),
        "the waiter used the holder's token"
    );
    assert_eq!(cloud.count(AUTH), 1, "the waiter did not authenticate");

    // a holder that never saves: the waiter gives up after its lock wait
    drop(held);
    store.remove(&key);
    let TryLock::Acquired(held) = store.try_lock(&key) else {
        panic!("the lock is free again");
    };
    let impatient = FileTokenStore::new(dir.path()).with_lock_wait(Duration::from_millis(300));
    let http = builder(&cloud)
        .token_store(Arc::new(impatient))
        .build()
        .unwrap();
    let own = bounded(http.access()).await.unwrap();
    assert_eq!(cloud.count(AUTH), 2, "it authenticated on its own");
    assert!(!own.same_token(&holder_token));
    drop(held);
}

// ---- 5. another scope of the same credentials: re-scoped ------------------

fn admin(cloud: &FakeCloud, project: &str) -> V3Password {
    V3Password::new(cloud.auth_url(), "admin", "secret")
        .user_domain_name("Default")
        .scope(Scope::project_name(project, "Default"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_scope_of_the_same_credentials_is_rescoped_not_reauthenticated() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(dir.path()));
    let with_store = |p: V3Password| {
        HttpClient::builder(p)
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    let first = bounded(with_store(admin(&cloud, "admin")).access())
        .await
        .unwrap();
    assert_eq!(first.methods, ["password"]);
    assert_eq!(first.project_id(), Some("p-admin"));

    // no entry for project demo, a valid token of the same credentials for
    // project admin: Keystone's token method, no password
    let demo = bounded(with_store(admin(&cloud, "demo")).access())
        .await
        .unwrap();
    assert_eq!(demo.methods, ["token"], "re-scoped");
    assert_eq!(demo.project_id(), Some("p-demo"));
    assert_eq!(cloud.count(AUTH), 2);
    // one entry per scope: both are there, and used
    let again = bounded(with_store(admin(&cloud, "demo")).access())
        .await
        .unwrap();
    assert!(again.same_token(&demo));
    let again = bounded(with_store(admin(&cloud, "admin")).access())
        .await
        .unwrap();
    assert!(again.same_token(&first));
    assert_eq!(cloud.count(AUTH), 2);

    // other credentials (another user) are never re-scoped from admin's token
    let other = bounded(with_store(demo_plugin(&cloud)).access())
        .await
        .unwrap();
    assert_eq!(other.methods, ["password"]);
    assert_eq!(other.user_id.as_deref(), Some("u-demo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescope_keystone_refuses_falls_back_to_the_password() {
    let cloud = FakeCloud::start().await.unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::default());
    let client = |p: V3Password| {
        HttpClient::builder(p)
            .token_store(store.clone())
            .build()
            .unwrap()
    };
    bounded(client(admin(&cloud, "admin")).access())
        .await
        .unwrap();
    cloud.revoke_all();
    let demo = bounded(client(admin(&cloud, "demo")).access())
        .await
        .unwrap();
    assert_eq!(demo.methods, ["password"]);
    assert_eq!(demo.project_id(), Some("p-demo"));
    assert_eq!(cloud.count(AUTH), 3, "password, refused token, password");
}

// ---- 5. expired entries collected; the trust rules kept -------------------

fn record(token: &str, expires_at: &str) -> AccessInfo {
    let body = serde_json::json!({"token": {"expires_at": expires_at, "methods": ["password"],
        "user": {"id": "u-x"}, "project": {"id": "p-x", "name": "x"}, "catalog": []}});
    AccessInfo::from_v3(token.to_string().into(), body.to_string().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_collects_expired_entries_and_nothing_else() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path().join("tokens"));
    store.save("other", &record("valid-token", "2099-01-01T00:00:00Z"));
    // (a save collects other expired entries, not the one it writes)
    store.save("old", &record("expired-token", "2001-01-01T00:00:00Z"));
    let notes = dir.path().join("tokens").join("notes.txt");
    std::fs::write(&notes, b"mine").unwrap();
    assert!(store.path_for("old").exists());

    let http = builder(&cloud)
        .token_store(Arc::new(store.clone()))
        .build()
        .unwrap();
    bounded(http.access()).await.unwrap();
    assert!(
        !store.path_for("old").exists(),
        "the expired entry was collected"
    );
    assert!(store.path_for("other").exists(), "a valid entry stays");
    assert!(notes.exists(), "a file the store did not write stays");
    let key = demo_plugin(&cloud).cache_key().unwrap();
    assert!(store.path_for(&key).exists());
    let listed: Vec<String> = store
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&"other".to_string()) && listed.contains(&key));
}

/// The lock creates nothing where the store would write nothing: a
/// directory others can write to stays as it was.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_locked_or_created_in_a_directory_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let store = FileTokenStore::new(&shared);
    let key = demo_plugin(&cloud).cache_key().unwrap();
    assert!(matches!(store.try_lock(&key), TryLock::Unsupported));
    let http = builder(&cloud)
        .token_store(Arc::new(store.clone()))
        .build()
        .unwrap();
    bounded(http.access()).await.unwrap();
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
    assert!(
        store.entries().is_err(),
        "an untrusted directory is not listed"
    );
    assert!(store.clear().is_err(), "nor cleared");
}

// ---- 6. a revoked token is forgotten --------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_stored_removes_the_entry_that_holds_the_revoked_token() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path()));
    let http = builder(&cloud).token_store(store.clone()).build().unwrap();
    let access = bounded(http.access()).await.unwrap();
    let state = http.token_state();
    let stored = bounded(state.stored()).await.unwrap();
    assert!(stored.same_token(&access));
    // another token is not the entry's: nothing goes
    let other = record("not-it", "2099-01-01T00:00:00Z");
    assert!(!bounded(state.forget_stored(&other)).await);
    assert!(bounded(state.stored()).await.is_some());
    assert!(bounded(state.forget_stored(&stored)).await);
    assert!(bounded(state.stored()).await.is_none());
    assert_eq!(store.entries().unwrap().len(), 0);
    // the client forgot it too: the next request authenticates
    bounded(http.service_client("compute").get("/servers"))
        .await
        .unwrap();
    assert_eq!(cloud.count(AUTH), 2);
}

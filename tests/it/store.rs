//! Token stores against FakeCloud.

use std::sync::Arc;

use apiclient_fake::FakeCloud;
use apiclient_http::{FileTokenStore, TokenStore};

use crate::support::builder;

const AUTH: &str = "POST /v3/auth/tokens";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_store_reuses_tokens_across_clients_and_is_private() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(dir.path().join("tokens")));

    let first = builder(&cloud).token_store(store.clone()).build().unwrap();
    first
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(cloud.count(AUTH), 1);

    let files: Vec<_> = std::fs::read_dir(dir.path().join("tokens"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(dir.path().join("tokens"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
    }
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains("demopass"), "the password is never stored");

    // A second client (a new process, say) uses the stored token: no authentication.
    let second = builder(&cloud).token_store(store.clone()).build().unwrap();
    second
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(cloud.count(AUTH), 1);

    // A stored token the server rejects costs one re-auth, not an error.
    cloud.revoke_all();
    let third = builder(&cloud).token_store(store.clone()).build().unwrap();
    third
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(cloud.count(AUTH), 2);

    // A corrupt file is ignored (and replaced after the next authentication).
    std::fs::write(&files[0], b"{ not json").unwrap();
    let fourth = builder(&cloud).token_store(store.clone()).build().unwrap();
    fourth
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(cloud.count(AUTH), 3);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&files[0]).unwrap()).is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_store_does_not_break_authentication() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let store = Arc::new(FileTokenStore::new(blocker.join("sub")));
    let http = builder(&cloud).token_store(store).build().unwrap();
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
}

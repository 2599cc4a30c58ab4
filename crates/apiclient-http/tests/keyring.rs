//! The OS keyring token store (feature `keyring`). On a machine whose kernel
//! refuses keyring calls, the test says so and passes.
#![cfg(feature = "keyring")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use apiclient_auth::{AccessInfo, SecretString};
use apiclient_http::{KeyringTokenStore, TokenStore};

#[test]
fn keyring_store_round_trips_a_token() {
    let probe =
        keyring::Entry::new("apiclient-rs-probe", "probe").and_then(|e| e.set_password("x"));
    if let Err(e) = probe {
        eprintln!("skipping: no usable OS keyring here ({e})");
        return;
    }
    let store = KeyringTokenStore::new(format!("apiclient-rs-test-{}", std::process::id()));
    let body = br#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p9"}, "catalog": []}}"#;
    let access = AccessInfo::from_v3(SecretString::from("gAAAA-keyring"), body).unwrap();
    assert!(store.load("k1").is_none());
    store.save("k1", &access);
    let back = store.load("k1").expect("stored");
    assert!(back.same_token(&access));
    assert_eq!(back.project_id(), Some("p9"));
    assert!(store.load("k2").is_none());
}

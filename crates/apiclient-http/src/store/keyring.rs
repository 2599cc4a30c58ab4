//! [`KeyringTokenStore`] (feature `keyring`): the OS keyring as a token store.

use apiclient_auth::AccessInfo;

use super::entry;
use super::token_store::TokenStore;

/// The OS keyring as a token store (feature `keyring`): one entry per key,
/// service `apiclient-rs`, account the SHA-256 of the key. It does not lock
/// and does not re-scope (a keyring cannot list its entries).
#[derive(Debug, Clone)]
pub struct KeyringTokenStore {
    service: String,
}

impl Default for KeyringTokenStore {
    fn default() -> Self {
        KeyringTokenStore {
            service: "apiclient-rs".into(),
        }
    }
}

impl KeyringTokenStore {
    /// A store under this keyring service name.
    pub fn new(service: impl Into<String>) -> Self {
        KeyringTokenStore {
            service: service.into(),
        }
    }

    fn entry(&self, key: &str) -> Option<keyring::Entry> {
        keyring::Entry::new(&self.service, &entry::hashed(key)).ok()
    }
}

impl TokenStore for KeyringTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        entry::decode(key, self.entry(key)?.get_password().ok()?.as_bytes())
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        let result = self
            .entry(key)
            .map(|e| e.set_password(&entry::encode(key, None, access)));
        if !matches!(result, Some(Ok(()))) {
            tracing::warn!(target: "apiclient_http::store", "cannot write the token to the OS keyring");
        }
    }

    fn remove(&self, key: &str) {
        if let Some(e) = self.entry(key) {
            let _ = e.delete_credential();
        }
    }
}

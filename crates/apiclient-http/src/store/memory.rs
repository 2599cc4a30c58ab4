//! [`MemoryTokenStore`]: the tokens of one process's clients, in memory,
//! with a per-key lock (N clients that need one key's token at once
//! authenticate once).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use apiclient_auth::AccessInfo;

use super::entry;
use super::token_store::{StoreLock, TokenStore, TryLock};

/// One entry of a [`MemoryTokenStore`].
#[derive(Clone)]
struct MemoryEntry {
    credentials: Option<String>,
    access: AccessInfo,
}

/// An in-memory store, shared by the clients of one process: N clients that
/// need a token for one key at once authenticate once (its per-key lock).
#[derive(Default)]
pub struct MemoryTokenStore {
    map: Mutex<HashMap<String, MemoryEntry>>,
    held: Arc<Mutex<HashSet<String>>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("MemoryTokenStore")
            .field("entries", &n)
            .finish()
    }
}

/// A key of a [`MemoryTokenStore`] held until dropped.
struct MemoryHold {
    held: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&self.key);
        }
    }
}

impl MemoryTokenStore {
    fn insert(&self, key: &str, credentials: Option<&str>, access: &AccessInfo) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(
                key.to_string(),
                MemoryEntry {
                    credentials: credentials.map(str::to_string),
                    access: access.clone(),
                },
            );
        }
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        let access = self.map.lock().ok()?.get(key)?.access.clone();
        (!entry::expired(&access)).then_some(access)
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        self.insert(key, None, access);
    }

    fn save_with_credentials(&self, key: &str, credentials: &str, access: &AccessInfo) {
        self.insert(key, Some(credentials), access);
    }

    fn load_other_scope(&self, credentials: &str, except: &str) -> Option<AccessInfo> {
        let map = self.map.lock().ok()?;
        map.iter()
            .filter(|(k, e)| {
                k.as_str() != except
                    && e.credentials.as_deref() == Some(credentials)
                    && !entry::expired(&e.access)
            })
            .map(|(_, e)| &e.access)
            .max_by_key(|a| a.expires_at)
            .cloned()
    }

    fn remove(&self, key: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(key);
        }
    }

    fn try_lock(&self, key: &str) -> TryLock {
        let Ok(mut held) = self.held.lock() else {
            return TryLock::Unsupported;
        };
        if !held.insert(key.to_string()) {
            return TryLock::Busy;
        }
        TryLock::Acquired(StoreLock::new(MemoryHold {
            held: self.held.clone(),
            key: key.to_string(),
        }))
    }
}

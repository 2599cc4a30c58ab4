//! Token stores ("store authentication information in a keyring"): consulted
//! before the first authentication, written after every one.
//!
//! A stored token that the server rejects costs one re-authentication, not an
//! error. Expired or corrupt entries are ignored, never a crash.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use apiclient_auth::AccessInfo;
use sha2::{Digest, Sha256};

/// Where tokens are kept between runs, keyed by the plugin's
/// [`cache_key`](apiclient_auth::AuthPlugin::cache_key) (auth URL, user,
/// scope, plugin; never a secret).
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored record for `key`, if there is a readable one.
    fn load(&self, key: &str) -> Option<AccessInfo>;
    /// Keep `access` under `key`. Failures are logged, not returned: a store
    /// that cannot write must not break authentication.
    fn save(&self, key: &str, access: &AccessInfo);
}

/// The stored form: the key (checked on load) and the record.
fn encode(key: &str, access: &AccessInfo) -> String {
    serde_json::json!({"key": key, "access": access.to_stored_json()}).to_string()
}

/// The record stored under `key`: None when the data is corrupt, belongs to
/// another key, or has expired.
fn decode(key: &str, data: &[u8]) -> Option<AccessInfo> {
    let stored: serde_json::Value = serde_json::from_slice(data).ok()?;
    if stored.get("key").and_then(|k| k.as_str()) != Some(key) {
        return None;
    }
    let access = AccessInfo::from_stored_json(stored.get("access")?).ok()?;
    match access.expires_at {
        Some(exp) if exp <= time::OffsetDateTime::now_utc() => None,
        _ => Some(access),
    }
}

/// An in-memory store (shared between clients of one process).
#[derive(Default)]
pub struct MemoryTokenStore {
    map: Mutex<HashMap<String, AccessInfo>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("MemoryTokenStore")
            .field("entries", &n)
            .finish()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        self.map.lock().ok()?.get(key).cloned()
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(key.to_string(), access.clone());
        }
    }
}

/// A store of one file per key in a directory: mode 0600, replaced
/// atomically (write a temporary file, then rename).
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
}

impl FileTokenStore {
    /// A store in `dir` (created, mode 0700, when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTokenStore { dir: dir.into() }
    }

    /// The default directory: `$XDG_CACHE_HOME/apiclient-rs/tokens`, else
    /// `~/.cache/apiclient-rs/tokens`.
    pub fn default_dir() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("apiclient-rs").join("tokens")
    }

    /// The file that holds `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            hex::encode(Sha256::digest(key.as_bytes()))
        ))
    }

    fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let tmp = self
            .dir
            .join(format!(".tmp-{}-{}", std::process::id(), fastrand::u64(..)));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let result = (|| {
            let mut f = opts.open(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        let path = self.path_for(key);
        let data = std::fs::read(&path).ok()?;
        let access = decode(key, &data);
        if access.is_none() {
            tracing::debug!(target: "apiclient_http::store", path = %path.display(), "ignoring an unusable token file");
        }
        access
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        let path = self.path_for(key);
        if let Err(e) = self.write(&path, encode(key, access).as_bytes()) {
            tracing::warn!(target: "apiclient_http::store", path = %path.display(), error = %e, "cannot write the token file");
        }
    }
}

/// The OS keyring as a token store (feature `keyring`): one entry per key,
/// service `apiclient-rs`, account the SHA-256 of the key.
#[cfg(feature = "keyring")]
#[derive(Debug, Clone)]
pub struct KeyringTokenStore {
    service: String,
}

#[cfg(feature = "keyring")]
impl Default for KeyringTokenStore {
    fn default() -> Self {
        KeyringTokenStore {
            service: "apiclient-rs".into(),
        }
    }
}

#[cfg(feature = "keyring")]
impl KeyringTokenStore {
    /// A store under this keyring service name.
    pub fn new(service: impl Into<String>) -> Self {
        KeyringTokenStore {
            service: service.into(),
        }
    }

    fn entry(&self, key: &str) -> Option<keyring::Entry> {
        keyring::Entry::new(&self.service, &hex::encode(Sha256::digest(key.as_bytes()))).ok()
    }
}

#[cfg(feature = "keyring")]
impl TokenStore for KeyringTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        decode(key, self.entry(key)?.get_password().ok()?.as_bytes())
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        let result = self
            .entry(key)
            .map(|e| e.set_password(&encode(key, access)));
        if !matches!(result, Some(Ok(()))) {
            tracing::warn!(target: "apiclient_http::store", "cannot write the token to the OS keyring");
        }
    }
}

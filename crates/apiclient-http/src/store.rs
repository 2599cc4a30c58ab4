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

/// A store of one file per key in a directory: mode 0600 in a 0700
/// directory, replaced atomically (write a temporary file, then rename).
///
/// What it trusts (on Unix): a directory that is the user's own, not a
/// symlink, and not writable by group or others; a file that is the user's
/// own regular file (never followed through a symlink) with no group or
/// other permission bits. Anything else is ignored with a warning and never
/// read: a planted file in a shared directory cannot hand the client a
/// token. A file of the user's own found with wider permissions is removed
/// (its token may have been read by others).
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
    /// `$HOME/.cache/apiclient-rs/tokens`; each must be an absolute path.
    /// `None` when neither is usable: the cache is then off, never in a
    /// fixed path of a shared temporary directory.
    pub fn default_dir() -> Option<PathBuf> {
        Self::default_dir_from(|k| std::env::var_os(k))
    }

    /// [`default_dir`](Self::default_dir) with an injected environment.
    pub fn default_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        env("XDG_CACHE_HOME")
            .and_then(absolute)
            .or_else(|| env("HOME").and_then(absolute).map(|h| h.join(".cache")))
            .map(|base| base.join("apiclient-rs").join("tokens"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key`.
    pub fn path_for(&self, key: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            hex::encode(Sha256::digest(key.as_bytes()))
        ))
    }

    fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.dir)?;
        if let Err(why) = trust::directory(&self.dir) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                why,
            ));
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

    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        if let Err(why) = trust::directory(&self.dir) {
            if self.dir.exists() {
                tracing::warn!(target: "apiclient_http::store", dir = %self.dir.display(), "ignoring the token cache: {why}");
            }
            return None;
        }
        match trust::read_own_file(path) {
            Ok(data) => Some(data),
            Err(trust::Refused::Missing) => None,
            Err(trust::Refused::Untrusted(why)) => {
                tracing::warn!(target: "apiclient_http::store", path = %path.display(), "ignoring a token cache file: {why}");
                None
            }
            Err(trust::Refused::Exposed) => {
                tracing::warn!(target: "apiclient_http::store", path = %path.display(), "removed a token cache file that group or others could read");
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        let path = self.path_for(key);
        let data = self.read(&path)?;
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

/// The ownership and permission checks of [`FileTokenStore`].
mod trust {
    use std::path::Path;

    /// Why a file was not read.
    pub(super) enum Refused {
        /// There is no such file.
        Missing,
        /// Not the user's own regular file (another owner, a symlink, ...).
        Untrusted(String),
        /// The user's own file, readable or writable by group or others.
        Exposed,
    }

    #[cfg(unix)]
    fn uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Ok when `dir` is a real directory of the user's own that group and
    /// others cannot write to.
    #[cfg(unix)]
    pub(super) fn directory(dir: &Path) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot inspect it ({e})"))?;
        if !m.file_type().is_dir() {
            return Err("it is not a directory (a symlink?)".into());
        }
        if m.uid() != uid() {
            return Err(format!("it belongs to uid {}, not to this user", m.uid()));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!(
                "group or others can write to it (mode {:o})",
                m.mode() & 0o777
            ));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    pub(super) fn directory(_dir: &Path) -> Result<(), String> {
        Ok(())
    }

    /// The content of `path` if it is the user's own regular file with no
    /// group or other permissions; opened without following a symlink and
    /// checked on the open file (no race between the check and the read).
    #[cfg(unix)]
    pub(super) fn read_own_file(path: &Path) -> Result<Vec<u8>, Refused> {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
        let f = match opts.open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refused::Missing),
            Err(e) => {
                return Err(Refused::Untrusted(format!(
                    "cannot open it without following links ({e})"
                )));
            }
        };
        let m = f
            .metadata()
            .map_err(|e| Refused::Untrusted(format!("cannot inspect it ({e})")))?;
        if !m.file_type().is_file() {
            return Err(Refused::Untrusted("it is not a regular file".into()));
        }
        if m.uid() != uid() {
            return Err(Refused::Untrusted(format!(
                "it belongs to uid {}, not to this user",
                m.uid()
            )));
        }
        if m.mode() & 0o077 != 0 {
            return Err(Refused::Exposed);
        }
        let mut data = Vec::new();
        f.take(MAX_TOKEN_FILE)
            .read_to_end(&mut data)
            .map_err(|e| Refused::Untrusted(format!("cannot read it ({e})")))?;
        Ok(data)
    }

    #[cfg(not(unix))]
    pub(super) fn read_own_file(path: &Path) -> Result<Vec<u8>, Refused> {
        match std::fs::read(path) {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Refused::Missing),
            Err(e) => Err(Refused::Untrusted(e.to_string())),
        }
    }

    /// The most of a token file read (a token body with a large catalog is
    /// well under this).
    #[cfg(unix)]
    const MAX_TOKEN_FILE: u64 = 16 * 1024 * 1024;
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

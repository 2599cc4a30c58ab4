//! [`FileTokenStore`]: one private file per key in a directory, shared by
//! the processes of one machine (the CLI's `--token-cache`): locked per key,
//! re-scopable, its expired entries collected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use apiclient_auth::AccessInfo;

use super::entry::{self, Decoded};
use super::token_store::{DEFAULT_LOCK_WAIT, TokenStore, TryLock};
use super::{lock, trust};

/// The most directory entries one save looks at to collect expired files,
/// and the most files a search for another scope's token reads.
const MAX_SCAN: usize = 256;

/// How old a file left by an interrupted process (a temporary file, an
/// empty lock file) must be before it is collected.
const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

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
///
/// Shared by processes (Unix): a client takes the advisory lock (`flock`)
/// of its entry's file from loading it to saving a new token, so N
/// processes that start at once with the same credentials and scope
/// authenticate once; the others wait (at most
/// [`with_lock_wait`](Self::with_lock_wait), 60 s by default; then they
/// authenticate on their own) and read the entry. Each save removes the
/// expired entries it finds (a bounded scan of the directory); only files
/// the store writes are ever removed.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    dir: PathBuf,
    lock_wait: Duration,
}

/// An entry of a [`FileTokenStore`], as [`FileTokenStore::entries`] lists it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredEntry {
    /// The key it is stored under (a plugin's
    /// [`cache_key`](apiclient_auth::AuthPlugin::cache_key): never a secret).
    pub key: String,
    /// The key of its credentials under any scope, when it has one.
    pub credentials: Option<String>,
    /// The record, expired or not. **It holds the token**: show its scope,
    /// user and expiry, never [`AccessInfo::token`].
    pub access: AccessInfo,
    /// Its file.
    pub path: PathBuf,
}

impl StoredEntry {
    /// Whether its token has expired.
    pub fn is_expired(&self) -> bool {
        entry::expired(&self.access)
    }
}

/// What a file name of the store's directory is.
#[derive(PartialEq, Eq)]
enum Kind {
    /// `<sha-256 of the key in hex>.json`: an entry (or its lock, while empty).
    Entry,
    /// `.tmp-<pid>-<n>`: a save under way, or left by an interrupted one.
    Temporary,
    /// Anything else: not the store's.
    Other,
}

fn kind(name: &std::ffi::OsStr) -> Kind {
    let Some(name) = name.to_str() else {
        return Kind::Other;
    };
    if let Some(hash) = name.strip_suffix(".json")
        && hash.len() == 64
        && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Kind::Entry;
    }
    if let Some(rest) = name.strip_prefix(".tmp-")
        && let Some((pid, n)) = rest.split_once('-')
        && !pid.is_empty()
        && !n.is_empty()
        && pid.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    {
        return Kind::Temporary;
    }
    Kind::Other
}

/// Whether a file was last changed more than [`STALE_AFTER`] ago.
fn stale(m: &std::fs::Metadata) -> bool {
    m.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_AFTER)
}

fn untrusted(dir: &Path, why: String) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!("the token cache {} is not private: {why}", dir.display()),
    )
}

impl FileTokenStore {
    /// A store in `dir` (created, mode 0700, when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTokenStore {
            dir: dir.into(),
            lock_wait: DEFAULT_LOCK_WAIT,
        }
    }

    /// How long a client waits for another process that holds the lock of
    /// its entry (authenticating the same credentials for the same scope)
    /// before it authenticates on its own (default 60 s).
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
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
        self.dir.join(format!("{}.json", entry::hashed(key)))
    }

    /// Every readable entry, expired or not, ordered by key (for a listing
    /// such as `apiclient auth status`). An absent directory has none; one
    /// the store does not trust is an error.
    pub fn entries(&self) -> std::io::Result<Vec<StoredEntry>> {
        let Some(files) = self.listing()? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<StoredEntry> = files
            .into_iter()
            .filter(|(_, k)| *k == Kind::Entry)
            .filter_map(|(path, _)| {
                let d = self.decoded(&path)?;
                Some(StoredEntry {
                    key: d.key,
                    credentials: d.credentials,
                    access: d.access,
                    path,
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Remove every entry, and every temporary file a save left; returns how
    /// many files went. Only files the store writes (its names, the user's
    /// own regular files) are removed: nothing else in the directory, and
    /// never through a symlink. An absent directory has nothing to clear;
    /// one the store does not trust is an error, and is left untouched.
    pub fn clear(&self) -> std::io::Result<usize> {
        let Some(files) = self.listing()? else {
            return Ok(0);
        };
        let mut removed = 0;
        for (path, kind) in files {
            if kind == Kind::Other {
                continue;
            }
            let own = std::fs::symlink_metadata(&path).is_ok_and(|m| trust::own_regular_file(&m));
            if own && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The store's files (path and kind), every one: None when the
    /// directory does not exist, an error when it is not trusted.
    fn listing(&self) -> std::io::Result<Option<Vec<(PathBuf, Kind)>>> {
        match std::fs::symlink_metadata(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        trust::directory(&self.dir).map_err(|why| untrusted(&self.dir, why))?;
        let mut files = Vec::new();
        for e in std::fs::read_dir(&self.dir)? {
            let e = e?;
            files.push((e.path(), kind(&e.file_name())));
        }
        Ok(Some(files))
    }

    /// The entry in `path` if it is the store's: readable, trusted, and
    /// named after its key.
    fn decoded(&self, path: &Path) -> Option<Decoded> {
        let data = self.read(path)?;
        let d = entry::decode_any(&data)?;
        (self.path_for(&d.key) == path).then_some(d)
    }

    /// Create the directory (0700) if needed, and check that it is trusted.
    fn ensure_dir(&self) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.dir)?;
        trust::directory(&self.dir).map_err(|why| untrusted(&self.dir, why))
    }

    fn write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.ensure_dir()?;
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

    fn save_entry(&self, key: &str, credentials: Option<&str>, access: &AccessInfo) {
        let path = self.path_for(key);
        match self.write(&path, entry::encode(key, credentials, access).as_bytes()) {
            Ok(()) => self.collect_expired(&path),
            Err(e) => {
                tracing::warn!(target: "apiclient_http::store", path = %path.display(), error = %e, "cannot write the token file");
            }
        }
    }

    /// Remove what has expired (a bounded scan; `keep` is the entry just
    /// written): entries whose token has expired, and files left by
    /// interrupted processes (temporary files, empty lock files) after
    /// [`STALE_AFTER`]. An entry goes only while its lock is held and its
    /// content, read again under the lock, is still expired: a process
    /// refreshing it meanwhile keeps it.
    fn collect_expired(&self, keep: &Path) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in dir.take(MAX_SCAN).flatten() {
            let path = e.path();
            let kind = kind(&e.file_name());
            if kind == Kind::Other || path == keep {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !trust::own_regular_file(&m) {
                continue;
            }
            if kind == Kind::Temporary {
                if stale(&m) {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            let gone = |data: &[u8]| match entry::decode_any(data) {
                Some(d) => entry::expired(&d.access),
                None => data.is_empty() && stale(&m),
            };
            let expired = m.len() == 0 || self.read(&path).is_some_and(|data| gone(&data));
            if !expired {
                continue;
            }
            if let TryLock::Acquired(held) = lock::try_exclusive(&path, false) {
                if self.read(&path).is_some_and(|data| gone(&data)) {
                    let _ = std::fs::remove_file(&path);
                }
                drop(held);
            }
        }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, key: &str) -> Option<AccessInfo> {
        let path = self.path_for(key);
        let data = self.read(&path)?;
        if data.is_empty() {
            // a lock file: another process is authenticating (or was)
            return None;
        }
        let access = entry::decode(key, &data);
        if access.is_none() {
            tracing::debug!(target: "apiclient_http::store", path = %path.display(), "ignoring an unusable token file");
        }
        access
    }

    fn save(&self, key: &str, access: &AccessInfo) {
        self.save_entry(key, None, access);
    }

    fn save_with_credentials(&self, key: &str, credentials: &str, access: &AccessInfo) {
        self.save_entry(key, Some(credentials), access);
    }

    fn load_other_scope(&self, credentials: &str, except: &str) -> Option<AccessInfo> {
        let files = self.listing().ok()??;
        files
            .into_iter()
            .filter(|(_, k)| *k == Kind::Entry)
            .take(MAX_SCAN)
            .filter_map(|(path, _)| self.decoded(&path))
            .filter(|d| {
                d.key != except
                    && d.credentials.as_deref() == Some(credentials)
                    && !entry::expired(&d.access)
            })
            .map(|d| d.access)
            .max_by_key(|a| a.expires_at)
    }

    fn remove(&self, key: &str) {
        let path = self.path_for(key);
        let own = std::fs::symlink_metadata(&path).is_ok_and(|m| trust::own_regular_file(&m));
        if own && trust::directory(&self.dir).is_ok() {
            let _ = std::fs::remove_file(&path);
        }
    }

    fn try_lock(&self, key: &str) -> TryLock {
        if let Err(e) = self.ensure_dir() {
            tracing::debug!(target: "apiclient_http::store", error = %e, "the token cache is not locked");
            return TryLock::Unsupported;
        }
        lock::try_exclusive(&self.path_for(key), true)
    }

    fn lock_wait(&self) -> Duration {
        self.lock_wait
    }
}

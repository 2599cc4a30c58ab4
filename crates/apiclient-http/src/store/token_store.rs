//! The [`TokenStore`] contract: load and save (required), and what sharing
//! needs (credentials for re-scoping, removal, a per-key lock), with
//! defaults that keep a store of one's own working as before.

use std::fmt;
use std::time::Duration;

use apiclient_auth::AccessInfo;

/// How long a client waits, by default, for another holder of a key's lock
/// (another process authenticating the same credentials) before it
/// authenticates on its own.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

/// Where tokens are kept between clients and runs, keyed by the plugin's
/// [`cache_key`](apiclient_auth::AuthPlugin::cache_key).
///
/// Only [`load`](Self::load) and [`save`](Self::save) are required; the
/// other methods have defaults that keep a store of one's own working as
/// before (no lock, no re-scoping, nothing removed).
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored record for `key`, if there is a readable, unexpired one.
    fn load(&self, key: &str) -> Option<AccessInfo>;

    /// Keep `access` under `key`. Failures are logged, not returned: a store
    /// that cannot write must not break authentication.
    fn save(&self, key: &str, access: &AccessInfo);

    /// Keep `access` under `key` as a token of `credentials` (the plugin's
    /// [`credentials_key`](apiclient_auth::AuthPlugin::credentials_key)), so
    /// that [`load_other_scope`](Self::load_other_scope) finds it. The
    /// default forgets the credentials: [`save`](Self::save).
    fn save_with_credentials(&self, key: &str, credentials: &str, access: &AccessInfo) {
        let _ = credentials;
        self.save(key, access);
    }

    /// A readable, unexpired record saved with `credentials` under a key
    /// other than `except` (the same user's token for another scope), to
    /// re-scope. The default: none.
    fn load_other_scope(&self, credentials: &str, except: &str) -> Option<AccessInfo> {
        let _ = (credentials, except);
        None
    }

    /// Forget the record under `key` (its token was revoked, say). The
    /// default does nothing.
    fn remove(&self, key: &str) {
        let _ = key;
    }

    /// Take the lock of `key` without waiting. A client holds it from
    /// loading the entry until it has saved a new one, so that of N clients
    /// (N processes, for a store shared between processes) that find no
    /// entry at once, one authenticates and the others read its token. The
    /// default: [`TryLock::Unsupported`].
    fn try_lock(&self, key: &str) -> TryLock {
        let _ = key;
        TryLock::Unsupported
    }

    /// How long a client waits for a busy lock (see
    /// [`try_lock`](Self::try_lock)) before it authenticates without it.
    /// [`DEFAULT_LOCK_WAIT`] unless the store says otherwise.
    fn lock_wait(&self) -> Duration {
        DEFAULT_LOCK_WAIT
    }
}

/// The outcome of [`TokenStore::try_lock`].
#[derive(Debug)]
#[non_exhaustive]
pub enum TryLock {
    /// Taken: held until the [`StoreLock`] is dropped.
    Acquired(StoreLock),
    /// Someone else holds it (try again a little later).
    Busy,
    /// This store does not lock, or cannot now (a directory it does not
    /// trust, a file system without locks): go on without the lock.
    Unsupported,
}

/// A held lock of a token store's key; dropping it releases the lock.
pub struct StoreLock {
    _held: Box<dyn Send>,
}

impl StoreLock {
    /// A lock held as long as `guard` lives (a store of one's own wraps its
    /// own guard: a locked file, a lease, ...).
    pub fn new(guard: impl Send + 'static) -> Self {
        StoreLock {
            _held: Box::new(guard),
        }
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreLock")
    }
}

//! Advisory locks on the entry files of a [`FileTokenStore`](super::FileTokenStore)
//! (`flock(2)`), so that processes of one machine that need the same entry
//! at once authenticate once.
//!
//! The lock is taken on the entry's own file (created empty when there is
//! none yet), so the store's directory holds nothing but its entries. An
//! entry is replaced by a rename and an expired one removed while its lock
//! is held, so a lock is good only while the path still names the locked
//! file: that is checked after taking it, and a lock on a replaced file
//! counts as busy (the caller tries again, on the new file).
//!
//! Without `flock` (Windows, Solaris, ...) the store does not lock: each
//! process then authenticates on its own, as before.

use std::path::Path;

use super::token_store::TryLock;

/// Try to lock the file at `path` (created, mode 0600, when `create`)
/// without waiting. Never follows a symlink; a file that is not the user's
/// own regular file is not locked ([`TryLock::Unsupported`]).
#[cfg(all(
    unix,
    not(any(
        target_os = "solaris",
        target_os = "espidf",
        target_os = "horizon",
        target_os = "vita"
    ))
))]
pub(super) fn try_exclusive(path: &Path, create: bool) -> TryLock {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    use rustix::fs::{FlockOperation, OFlags};

    use super::token_store::StoreLock;
    use super::trust;

    let mut opts = std::fs::OpenOptions::new();
    opts.read(true)
        .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32);
    if create {
        opts.write(true).create(true).mode(0o600);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(target: "apiclient_http::store", path = %path.display(), error = %e, "cannot open the token file to lock it");
            return TryLock::Unsupported;
        }
    };
    let Ok(locked) = file.metadata() else {
        return TryLock::Unsupported;
    };
    if !trust::own_regular_file(&locked) {
        return TryLock::Unsupported;
    }
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
            return TryLock::Busy;
        }
        Err(e) => {
            tracing::debug!(target: "apiclient_http::store", path = %path.display(), error = %e, "the token cache cannot lock its files");
            return TryLock::Unsupported;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(now) if now.dev() == locked.dev() && now.ino() == locked.ino() => {
            TryLock::Acquired(StoreLock::new(file))
        }
        // replaced or removed since it was opened: try again on the new one
        _ => TryLock::Busy,
    }
}

#[cfg(not(all(
    unix,
    not(any(
        target_os = "solaris",
        target_os = "espidf",
        target_os = "horizon",
        target_os = "vita"
    ))
)))]
pub(super) fn try_exclusive(_path: &Path, _create: bool) -> TryLock {
    TryLock::Unsupported
}

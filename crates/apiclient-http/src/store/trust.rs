//! The ownership and permission checks of the [`FileTokenStore`](super::FileTokenStore):
//! what it reads, locks and removes is the user's own, in a directory no one
//! else can write to, never through a symlink.

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

/// The effective user id.
#[cfg(unix)]
pub(super) fn uid() -> u32 {
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

/// Whether `path` itself (not what a symlink points to) is a regular file
/// of the user's own: one the store may have written, and may remove.
#[cfg(unix)]
pub(super) fn own_regular_file(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    m.file_type().is_file() && m.uid() == uid()
}

#[cfg(not(unix))]
pub(super) fn own_regular_file(m: &std::fs::Metadata) -> bool {
    m.file_type().is_file()
}

/// The content of `path` if it is the user's own regular file with no
/// group or other permissions; opened without following a symlink and
/// checked on the open file (no race between the check and the read).
#[cfg(unix)]
pub(super) fn read_own_file(path: &Path) -> Result<Vec<u8>, Refused> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32);
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

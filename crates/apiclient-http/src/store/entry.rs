//! The stored form of an entry, shared by the stores that serialize one (the
//! file and the keyring): its key (checked on load), the key of its
//! credentials (for re-scoping), and the access record.

use apiclient_auth::AccessInfo;
use sha2::{Digest, Sha256};

/// An entry as read back, whatever its key and expiry.
pub(super) struct Decoded {
    /// The key it was saved under.
    pub(super) key: String,
    /// The key of its credentials, when saved with one.
    pub(super) credentials: Option<String>,
    /// The record.
    pub(super) access: AccessInfo,
}

/// The SHA-256 of a key, in hex: the name of its file or keyring account
/// (a key is no secret, but it need not be shown either).
pub(super) fn hashed(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The stored form of `access` under `key`.
pub(super) fn encode(key: &str, credentials: Option<&str>, access: &AccessInfo) -> String {
    let mut stored = serde_json::json!({"key": key, "access": access.to_stored_json()});
    if let Some(c) = credentials {
        stored["credentials"] = c.into();
    }
    stored.to_string()
}

/// Any readable entry, expired or not; None when the data is corrupt.
pub(super) fn decode_any(data: &[u8]) -> Option<Decoded> {
    let stored: serde_json::Value = serde_json::from_slice(data).ok()?;
    let key = stored.get("key")?.as_str()?.to_string();
    let credentials = stored
        .get("credentials")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    let access = AccessInfo::from_stored_json(stored.get("access")?).ok()?;
    Some(Decoded {
        key,
        credentials,
        access,
    })
}

/// The record stored under `key`: None when the data is corrupt, belongs to
/// another key, or has expired.
pub(super) fn decode(key: &str, data: &[u8]) -> Option<AccessInfo> {
    let d = decode_any(data)?;
    (d.key == key && !expired(&d.access)).then_some(d.access)
}

/// Whether a record's token has expired (a record without an expiry never does).
pub(super) fn expired(access: &AccessInfo) -> bool {
    access
        .expires_at
        .is_some_and(|exp| exp <= time::OffsetDateTime::now_utc())
}

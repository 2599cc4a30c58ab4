//! Temporary URLs: a URL to one object that works without a token until it
//! expires, signed with a key set on the account (or the container).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiclient_base::{Error, InvalidKind, Method};
use sha2::{Digest, Sha256};

use crate::paths;

/// HMAC-SHA256 of `message` under `key` (RFC 2104 over the workspace's SHA-256).
///
/// ```
/// // RFC 4231, test case 2
/// let mac = example_object_store::hmac_sha256(b"Jefe", b"what do ya want for nothing?");
/// assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
/// ```
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The temp-URL signature of Swift's `tempurl` middleware: hex
/// HMAC-SHA256 over `"{method}\n{expires}\n{path}"`, where `path` is the
/// object's path as the server decodes it (`/v1/AUTH_<project>/<container>/<object>`,
/// not percent-encoded).
///
/// ```
/// let sig = example_object_store::temp_url_signature(
///     b"mykey", "GET", 1700000000, "/v1/AUTH_account/container/object");
/// assert_eq!(sig, "bb70eaa9a54a137fb5c124ed5417bc948e0c5b3a504bfec8ab0b4ee0074dfdf7");
/// ```
pub fn temp_url_signature(key: &[u8], method: &str, expires: u64, path: &str) -> String {
    hex::encode(hmac_sha256(
        key,
        format!("{method}\n{expires}\n{path}").as_bytes(),
    ))
}

/// A signed temporary URL. Its signature is a secret for as long as the URL
/// lives: `Debug` shows it as `temp_url_sig=***`; [`expose_url`](Self::expose_url)
/// gives the real URL, to hand to whoever may use it.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use example_object_store::TempUrl;
///
/// let url = TempUrl::sign(
///     "http://swift:8080/v1/AUTH_p",
///     apiclient_base::Method::GET,
///     "photos",
///     "2024/cat 1.jpg",
///     UNIX_EPOCH + Duration::from_secs(1700000000),
///     "mykey",
/// )
/// .unwrap();
/// assert!(url.expose_url().starts_with(
///     "http://swift:8080/v1/AUTH_p/photos/2024/cat%201.jpg?temp_url_sig="));
/// assert!(url.expose_url().ends_with("&temp_url_expires=1700000000"));
/// assert!(!format!("{url:?}").contains(&url.expose_url()[60..100]));
/// ```
#[derive(Clone)]
pub struct TempUrl {
    url: String,
    method: Method,
    expires: u64,
}

impl std::fmt::Debug for TempUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempUrl")
            .field("url", &apiclient_errors::redact::redact_url(&self.url))
            .field("method", &self.method)
            .field("expires", &self.expires)
            .finish()
    }
}

impl TempUrl {
    /// Sign a URL for `method` on `container`/`object` under the account
    /// `endpoint` (`http://host/v1/AUTH_<project>`), valid until `expires`,
    /// with the account's (or the container's) temp-URL `key`.
    pub fn sign(
        endpoint: &str,
        method: Method,
        container: &str,
        object: &str,
        expires: SystemTime,
        key: &str,
    ) -> Result<Self, Error> {
        paths::check_container(container)?;
        paths::check_object(object)?;
        if key.is_empty() {
            return Err(Error::invalid(
                InvalidKind::Other,
                "a temp-URL key must not be empty",
            ));
        }
        let expires = expires
            .duration_since(UNIX_EPOCH)
            .map_err(|_| {
                Error::invalid(InvalidKind::Other, "a temp URL cannot expire before 1970")
            })?
            .as_secs();
        let endpoint = endpoint.trim_end_matches('/');
        let account_path = paths::url_path_decoded(endpoint);
        let signed_path = format!("{account_path}/{container}/{object}");
        let sig = temp_url_signature(key.as_bytes(), method.as_str(), expires, &signed_path);
        let url = format!(
            "{endpoint}{}?temp_url_sig={sig}&temp_url_expires={expires}",
            paths::object_path(container, object)
        );
        Ok(TempUrl {
            url,
            method,
            expires,
        })
    }

    /// The URL, signature included: a secret until it expires.
    pub fn expose_url(&self) -> &str {
        &self.url
    }

    /// The method it is valid for.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// When it stops working.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.expires)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_and_python() {
        // RFC 4231 test case 1
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // test case 6: a key longer than the block is hashed first
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // Python: hmac.new(b'k'*100, b'PUT\n1\n/v1/AUTH_a/c/o with space', sha256)
        assert_eq!(
            temp_url_signature(&[b'k'; 100], "PUT", 1, "/v1/AUTH_a/c/o with space"),
            "e0cd63a5da0f9745ec04b39681a5a7baadb0e36ac93e38f1aeca726136be4905"
        );
    }

    #[test]
    fn the_url_is_encoded_the_signature_is_over_the_decoded_path() {
        let at = UNIX_EPOCH + Duration::from_secs(1);
        let t = TempUrl::sign(
            "http://h/v1/AUTH_a/",
            Method::PUT,
            "c",
            "o with space",
            at,
            &"k".repeat(100),
        )
        .unwrap();
        assert_eq!(
            t.expose_url(),
            "http://h/v1/AUTH_a/c/o%20with%20space?temp_url_sig=e0cd63a5da0f9745ec04b39681a5a7baadb0e36ac93e38f1aeca726136be4905&temp_url_expires=1"
        );
        assert_eq!(t.expires_at(), at);
        let shown = format!("{t:?}");
        assert!(shown.contains("temp_url_sig=***"), "{shown}");
        assert!(!shown.contains("e0cd63a5"), "{shown}");
        assert!(TempUrl::sign("http://h/v1/AUTH_a", Method::GET, "", "o", at, "k").is_err());
        assert!(TempUrl::sign("http://h/v1/AUTH_a", Method::GET, "c", "o", at, "").is_err());
    }
}

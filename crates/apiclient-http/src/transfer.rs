//! Transfers of large bodies: progress reports and digests.
//!
//! - [`Progress`]: how far an upload ([`Body::with_progress`](crate::Body::with_progress))
//!   or a download ([`StreamedResponse::on_progress`](crate::StreamedResponse::on_progress))
//!   has come, given to a callback as the bytes move.
//! - [`DigestAlgorithm`] and [`Hasher`]: MD5, SHA-256 and SHA-512, as the
//!   services announce them (Swift's `ETag`, Glance's `Content-MD5`,
//!   `checksum` and `os_hash_value`). A streamed download checked against a
//!   digest fails with [`Error::DigestMismatch`](apiclient_errors::Error::DigestMismatch)
//!   at its end.
//!
//! ```
//! use apiclient_http::transfer::{DigestAlgorithm, Hasher};
//!
//! let mut h = Hasher::new(DigestAlgorithm::Md5);
//! h.update(b"hello");
//! assert_eq!(h.finish_hex(), "5d41402abc4b2a76b9719d911017c592");
//! ```

use std::sync::Arc;

use md5::Digest as _;

/// How far a transfer has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    done: u64,
    total: Option<u64>,
}

impl Progress {
    /// Progress of `done` bytes out of `total` (when known).
    pub fn new(done: u64, total: Option<u64>) -> Self {
        Progress { done, total }
    }

    /// The bytes moved so far. A replay (after a 401, a retry) starts again
    /// from zero.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// The total, when the length is known.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// `done / total`, when the total is known and not zero.
    pub fn fraction(&self) -> Option<f64> {
        self.total
            .filter(|t| *t > 0)
            .map(|t| self.done as f64 / t as f64)
    }
}

/// A callback told of a transfer's progress (called on the task that moves
/// the bytes: keep it short).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A digest algorithm the OpenStack services announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// MD5 (Swift's `ETag`, Glance's `Content-MD5` and `checksum`).
    Md5,
    /// SHA-256.
    Sha256,
    /// SHA-512 (Glance's default `os_hash_algo`).
    Sha512,
}

impl DigestAlgorithm {
    /// The name as Glance's `os_hash_algo` spells it (`md5`, `sha256`, `sha512`).
    pub fn name(&self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "md5",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm of a name (`md5`, `sha256`, `sha512`, any case; `sha-256` too).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => Some(DigestAlgorithm::Md5),
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// A digest being computed.
#[derive(Clone)]
pub struct Hasher(HasherInner);

#[derive(Clone)]
enum HasherInner {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Hasher").field(&self.algorithm()).finish()
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        Hasher(match algorithm {
            DigestAlgorithm::Md5 => HasherInner::Md5(md5::Md5::new()),
            DigestAlgorithm::Sha256 => HasherInner::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => HasherInner::Sha512(sha2::Sha512::new()),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        match &self.0 {
            HasherInner::Md5(_) => DigestAlgorithm::Md5,
            HasherInner::Sha256(_) => DigestAlgorithm::Sha256,
            HasherInner::Sha512(_) => DigestAlgorithm::Sha512,
        }
    }

    /// Add bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherInner::Md5(h) => h.update(data),
            HasherInner::Sha256(h) => h.update(data),
            HasherInner::Sha512(h) => h.update(data),
        }
    }

    /// The digest in lowercase hex.
    pub fn finish_hex(self) -> String {
        match self.0 {
            HasherInner::Md5(h) => hex::encode(h.finalize()),
            HasherInner::Sha256(h) => hex::encode(h.finalize()),
            HasherInner::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// An MD5 as a header gives it: 32 hex digits (Swift's `ETag`, Glance's
/// `Content-MD5`), quoted or not, or base64 as RFC 1864 says.
pub(crate) fn md5_from_header(value: &str) -> Option<String> {
    if let Some(hex) = md5_from_hex(value) {
        return Some(hex);
    }
    base64_decode(value.trim().trim_matches('"'))
        .filter(|b| b.len() == 16)
        .map(hex::encode)
}

/// An MD5 as an `ETag` gives it: 32 hex digits, quoted or not.
pub(crate) fn md5_from_hex(value: &str) -> Option<String> {
    let v = value.trim().trim_matches('"');
    (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())).then(|| v.to_ascii_lowercase())
}

/// Standard base64 (with padding), enough for a 16-byte digest.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_headers_in_hex_quoted_or_base64() {
        let hex = "5d41402abc4b2a76b9719d911017c592";
        assert_eq!(md5_from_header(hex).as_deref(), Some(hex));
        assert_eq!(md5_from_header(&format!("\"{hex}\"")).as_deref(), Some(hex));
        assert_eq!(
            md5_from_header("XUFAKrxLKna5cZ2REBfFkg==").as_deref(),
            Some(hex)
        );
        assert_eq!(md5_from_header("not a digest"), None);
        assert_eq!(md5_from_header("W/\"abc\""), None);
        // an ETag is an MD5 only in hex
        assert_eq!(md5_from_hex("XUFAKrxLKna5cZ2REBfFkg=="), None);
        assert_eq!(md5_from_hex(&format!("\"{hex}\"")).as_deref(), Some(hex));
    }

    #[test]
    fn every_algorithm_hashes() {
        for (alg, want) in [
            (DigestAlgorithm::Md5, "5d41402abc4b2a76b9719d911017c592"),
            (
                DigestAlgorithm::Sha256,
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ),
        ] {
            let mut h = Hasher::new(alg);
            h.update(b"hel");
            h.update(b"lo");
            assert_eq!(h.finish_hex(), want);
            assert_eq!(DigestAlgorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Hasher::new(DigestAlgorithm::Sha512).finish_hex().len(), 128);
        assert_eq!(
            DigestAlgorithm::from_name("SHA-512"),
            Some(DigestAlgorithm::Sha512)
        );
        assert_eq!(Progress::new(1, Some(4)).fraction(), Some(0.25));
        assert_eq!(Progress::new(1, Some(0)).fraction(), None);
    }
}

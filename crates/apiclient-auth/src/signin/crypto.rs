//! What PKCE and the sign-in's `state` need: random bytes from the
//! operating system's generator (`getrandom`), SHA-256 (`sha2`) and unpadded
//! base64url (RFC 4648 §5, `base64`). A leaf.

use apiclient_errors::{AuthorizationFailure, Error};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// `n` random bytes from the operating system's generator; an error (never
/// a weaker source) when it cannot give them.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; n];
    getrandom::fill(&mut out).map_err(|e| {
        Error::from(AuthorizationFailure::Other(format!(
            "the operating system gave no random bytes for the sign-in: {e}"
        )))
    })?;
    Ok(out)
}

/// Unpadded base64url (RFC 4648 §5): what PKCE and `state` travel as.
pub(crate) fn base64url(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

/// A random value of `bytes` bytes, base64url: a `state`, a verifier.
pub(crate) fn random_token(bytes: usize) -> Result<String, Error> {
    Ok(base64url(&random_bytes(bytes)?))
}

/// A PKCE pair (RFC 7636): the verifier, kept secret until the code is
/// exchanged, and its S256 challenge, which travels in the authorization URL.
pub(crate) struct Pkce {
    pub(crate) verifier: SecretString,
    pub(crate) challenge: String,
}

impl Pkce {
    /// A fresh pair: a 64-character verifier (48 random bytes; RFC 7636 asks
    /// 43 to 128 characters of `[A-Za-z0-9-._~]`).
    pub(crate) fn new() -> Result<Self, Error> {
        let verifier = random_token(48)?;
        let challenge = s256(&verifier);
        Ok(Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        })
    }
}

/// The S256 challenge of `verifier`: `BASE64URL(SHA256(verifier))`.
pub(crate) fn s256(verifier: &str) -> String {
    base64url(&sha256(verifier.as_bytes()))
}

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_standards_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // more than one block, a length that is not a multiple of 64
        assert_eq!(
            hex(&sha256(&[b'a'; 1000])),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn the_s256_challenge_of_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn base64url_has_no_padding_and_the_url_alphabet() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn a_pkce_verifier_is_long_random_and_unreserved() {
        let (a, b) = (Pkce::new().unwrap(), Pkce::new().unwrap());
        let v = a.verifier.expose_secret();
        assert_eq!(v.len(), 64);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(v, b.verifier.expose_secret());
        assert_eq!(a.challenge, s256(v));
        assert_eq!(random_token(32).unwrap().len(), 43);
    }
}

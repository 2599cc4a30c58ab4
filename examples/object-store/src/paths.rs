//! Names to URL paths: each part percent-encoded, an object name keeping
//! its slashes (Swift's pseudo-directories).

use apiclient_base::{Error, InvalidKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What stays as it is in a container name: RFC 3986's unreserved characters.
const PART: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// An object name keeps its slashes.
const OBJECT: &AsciiSet = &PART.remove(b'/');

pub(crate) fn check_container(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::invalid(
            InvalidKind::Id,
            format!("'{name}' is not a container name (not empty, no '/')"),
        ));
    }
    Ok(())
}

pub(crate) fn check_object(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid(
            InvalidKind::Id,
            "an object name must not be empty",
        ));
    }
    Ok(())
}

/// `/<container>`, encoded.
pub(crate) fn container_path(container: &str) -> String {
    format!("/{}", utf8_percent_encode(container, PART))
}

/// `/<container>/<object>`, encoded.
pub(crate) fn object_path(container: &str, object: &str) -> String {
    format!(
        "/{}/{}",
        utf8_percent_encode(container, PART),
        utf8_percent_encode(object, OBJECT)
    )
}

/// The path of an absolute URL, percent-decoded, without a trailing `/`
/// (`http://h:8080/v1/AUTH_p` → `/v1/AUTH_p`).
pub(crate) fn url_path_decoded(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    percent_decode_str(path)
        .decode_utf8_lossy()
        .trim_end_matches('/')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_part_by_part() {
        assert_eq!(container_path("a b"), "/a%20b");
        assert_eq!(object_path("c", "dir/x?y#z%"), "/c/dir/x%3Fy%23z%25");
        assert_eq!(object_path("c", "ü"), "/c/%C3%BC");
        assert_eq!(url_path_decoded("http://h:1/v1/AUTH_p/"), "/v1/AUTH_p");
        assert_eq!(url_path_decoded("https://h/v1/AUTH%5Fp?x"), "/v1/AUTH_p");
        assert_eq!(url_path_decoded("http://h"), "");
        assert!(check_container("a/b").is_err());
        assert!(check_container("").is_err());
        assert!(check_object("").is_err());
    }
}

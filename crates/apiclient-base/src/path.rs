//! Paths built from values: [`segment`] percent-encodes one value as one
//! path segment (what [`Api`](crate::Api) does with ids), and
//! [`path!`](crate::path!) fills a template's `{}` placeholders with
//! encoded segments.
//!
//! A segment keeps RFC 3986's unreserved characters (`A`–`Z`, `a`–`z`,
//! `0`–`9`, `-`, `.`, `_`, `~`) as they are and encodes every other byte of
//! its UTF-8 (`/` is `%2F`, `?` `%3F`, `#` `%23`, `%` `%25`, a space
//! `%20`), so a value can name one resource only: it never adds a segment,
//! a query or a fragment. UUIDs and the usual ids pass unchanged. A value
//! that would still name another resource once a server or a proxy
//! normalises the path — empty, `.` or `..` (encoded or not) — is refused
//! with an [`InvalidKind::Url`] error, and nothing is sent.
//!
//! ```
//! use apiclient_base::{InvalidKind, path, path::segment};
//!
//! let id = "5c3f8f2e-6a1d-4e8b-9c7a-2f1e0d9c8b7a";
//! let tag = "a/b?c#d e%";
//! assert_eq!(
//!     path!("/v2/images/{}/tags/{}", id, tag).unwrap(),
//!     "/v2/images/5c3f8f2e-6a1d-4e8b-9c7a-2f1e0d9c8b7a/tags/a%2Fb%3Fc%23d%20e%25"
//! );
//! assert_eq!(segment("café~1.0").unwrap().to_string(), "caf%C3%A9~1.0");
//!
//! let e = path!("/v2/images/{}/tags/{}", id, "..").unwrap_err();
//! assert_eq!(e.invalid_kind(), Some(InvalidKind::Url));
//! ```

use std::fmt;

use apiclient_errors::{Error, InvalidKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// What a segment keeps as it is: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One value as one path segment: its [`Display`](fmt::Display) is the
/// percent-encoded form ([`segment`] makes it, refusing empty, `.` and
/// `..`).
///
/// ```
/// use apiclient_base::path::segment;
/// let s = segment("web 1/2").unwrap();
/// assert_eq!(s.to_string(), "web%201%2F2");
/// assert_eq!(s.as_str(), "web 1/2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment<'a>(&'a str);

impl<'a> Segment<'a> {
    /// The value, not encoded.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Append the encoded segment to `out` (what `Display` writes, without
    /// the formatter).
    pub(crate) fn push_to(&self, out: &mut String) {
        out.extend(percent_encoding::utf8_percent_encode(self.0, UNRESERVED));
    }
}

impl fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(
            &percent_encoding::utf8_percent_encode(self.0, UNRESERVED),
            f,
        )
    }
}

/// `value` as one path segment, percent-encoded when displayed: every byte
/// but the unreserved characters (`A`–`Z`, `a`–`z`, `0`–`9`, `-`, `.`, `_`,
/// `~`) is encoded, so `/`, `?`, `#`, `%`, spaces and non-ASCII characters
/// stay inside the segment. An empty value, `.` and `..` are refused
/// ([`InvalidKind::Url`]): as a segment they name the collection or its
/// parent once the path is normalised, encoded or not.
///
/// ```
/// use apiclient_base::{InvalidKind, path::segment};
/// assert_eq!(segment("9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b").unwrap().to_string(),
///            "9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b");
/// assert_eq!(segment("../admin").unwrap().to_string(), "..%2Fadmin");
/// for bad in ["", ".", ".."] {
///     assert_eq!(segment(bad).unwrap_err().invalid_kind(), Some(InvalidKind::Url));
/// }
/// ```
pub fn segment(value: &str) -> Result<Segment<'_>, Error> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(Error::invalid(
            InvalidKind::Url,
            format!("'{value}' cannot be a path segment: it would name another resource"),
        ));
    }
    Ok(Segment(value))
}

/// Build a path from a template and values: each `{}` of the template (a
/// string literal, trusted as it is) is replaced by the next value
/// ([`Display`](std::fmt::Display): a `&str`, a `String`, a number) encoded
/// as one [`segment`]. A `Result<String, Error>`: a value that cannot be a
/// segment (empty, `.`, `..`) is an [`InvalidKind::Url`](crate::InvalidKind::Url)
/// error. A template with another brace than `{}` (a named `{id}`), or
/// whose `{}` are not as many as the values, does not compile.
///
/// ```
/// use apiclient_base::path;
///
/// let image = "7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60";
/// assert_eq!(
///     path!("/v2/images/{}/tags/{}", image, "web/prod").unwrap(),
///     "/v2/images/7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60/tags/web%2Fprod"
/// );
/// assert_eq!(path!("/os-aggregates/{}/action", 7).unwrap(), "/os-aggregates/7/action");
/// assert!(path!("/servers/{}", "").is_err());
/// ```
///
/// ```compile_fail
/// // a named placeholder would be filled by `format!` unencoded: refused
/// let id = "x";
/// let _ = apiclient_base::path!("/servers/{id}");
/// ```
///
/// ```compile_fail
/// // two placeholders, one value
/// let _ = apiclient_base::path!("/images/{}/tags/{}", "x");
/// ```
#[macro_export]
macro_rules! path {
    ($template:literal $(, $value:expr)* $(,)?) => {{
        const _: () = ::core::assert!(
            $crate::path::__placeholders($template)
                == 0usize $(+ { let _ = ::core::stringify!($value); 1usize })*,
            "path!: the template's `{{}}` placeholders are not as many as the values (and a placeholder is `{{}}`, nothing else between braces)"
        );
        $crate::path::__fill($template, &[$(&$value as &dyn ::core::fmt::Display),*])
    }};
}

/// How many `{}` `template` has; `usize::MAX` when it has another brace.
#[doc(hidden)]
pub const fn __placeholders(template: &str) -> usize {
    let bytes = template.as_bytes();
    let mut i = 0;
    let mut n = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if i + 1 < bytes.len() && bytes[i + 1] == b'}' => {
                n += 1;
                i += 2;
            }
            b'{' | b'}' => return usize::MAX,
            _ => i += 1,
        }
    }
    n
}

/// The template with each `{}` replaced by the next value as a segment.
#[doc(hidden)]
pub fn __fill(template: &str, values: &[&dyn fmt::Display]) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len() + 16 * values.len());
    let mut values = values.iter();
    let mut parts = template.split("{}");
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        let Some(value) = values.next() else {
            return Err(Error::invalid(
                InvalidKind::Url,
                "path!: more placeholders than values",
            ));
        };
        let value = value.to_string();
        fmt::Write::write_fmt(&mut out, format_args!("{}", segment(&value)?))
            .map_err(|_| Error::invalid(InvalidKind::Url, "path!: a value did not format"))?;
        out.push_str(part);
    }
    if values.next().is_some() {
        return Err(Error::invalid(
            InvalidKind::Url,
            "path!: more values than placeholders",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        match segment(s) {
            Ok(seg) => seg.to_string(),
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn hostile_segments_stay_one_segment() {
        assert_eq!(enc("../etc/passwd"), "..%2Fetc%2Fpasswd");
        assert_eq!(enc("a/b"), "a%2Fb");
        assert_eq!(enc("x?admin=1"), "x%3Fadmin%3D1");
        assert_eq!(enc("x#frag"), "x%23frag");
        assert_eq!(enc("100%"), "100%25");
        assert_eq!(enc("%2e%2e"), "%252e%252e");
        assert_eq!(enc("a b\tc"), "a%20b%09c");
        assert_eq!(enc("é☃"), "%C3%A9%E2%98%83");
        assert_eq!(enc("a\\b"), "a%5Cb");
        assert_eq!(enc(";,=+&@:"), "%3B%2C%3D%2B%26%40%3A");
        assert_eq!(enc("\r\n"), "%0D%0A");
        assert_eq!(enc("..."), "...");
        for s in ["", ".", ".."] {
            let e = segment(s).err();
            assert_eq!(
                e.and_then(|e| e.invalid_kind()),
                Some(InvalidKind::Url),
                "{s:?}"
            );
        }
        // encoded output never holds a separator
        for s in ["a/b", "?", "#", "/../", "x y", "%2F", "ü/ü"] {
            let out = enc(s);
            assert!(!out.contains(['/', '?', '#', ' ']), "{s:?} -> {out}");
        }
    }

    #[test]
    fn unreserved_and_uuids_pass_unchanged() {
        let uuid = "9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b";
        assert_eq!(enc(uuid), uuid);
        assert_eq!(enc("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(enc("m1.small"), "m1.small");
        assert_eq!(segment(uuid).map(|s| s.as_str()).ok(), Some(uuid));
    }

    #[test]
    fn the_macro_fills_in_order_and_refuses_bad_values() {
        assert_eq!(
            crate::path!("/v2/images/{}/tags/{}", "i-1", "a b").ok(),
            Some("/v2/images/i-1/tags/a%20b".to_string())
        );
        assert_eq!(crate::path!("/flavors").ok(), Some("/flavors".to_string()));
        let id = String::from("../x");
        assert_eq!(
            crate::path!("/servers/{}/action", id,).ok(),
            Some("/servers/..%2Fx/action".to_string())
        );
        assert_eq!(crate::path!("{}{}", 1, 2u8).ok(), Some("12".to_string()));
        let e = crate::path!("/servers/{}", ".").err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Url));
    }

    #[test]
    fn placeholders_are_counted_and_other_braces_refused() {
        assert_eq!(__placeholders("/a/{}/b/{}"), 2);
        assert_eq!(__placeholders("/a"), 0);
        assert_eq!(__placeholders("/a/{id}"), usize::MAX);
        assert_eq!(__placeholders("/a/{"), usize::MAX);
        assert_eq!(__placeholders("/a/}"), usize::MAX);
        let one: [&dyn fmt::Display; 1] = [&"x"];
        assert!(__fill("/a/{}/{}", &one).is_err());
        assert!(__fill("/a", &one).is_err());
    }
}

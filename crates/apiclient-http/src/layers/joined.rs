//! The absolute URL of a request relative to its endpoint, made without
//! parsing the endpoint again on every request.
//!
//! Joined as text and parsed whole ([`concat_url`], then `Uri::try_from`),
//! the endpoint's scheme and authority were parsed again for every request
//! (about 900 instructions), and the URL's bytes, a `String`, were given a
//! shared header (one more allocation) the first time the URL was copied
//! (the auth layer keeps one, hyper takes the path). Here each thread keeps
//! the scheme and authority of the endpoint it joined to last (compared by
//! pointer: the service client's cached `Arc`), and the path's bytes are
//! made once with their reference count, in one allocation when short.
//! The URL is the one the text would have made; anything unusual (an
//! endpoint with no path, or one that does not parse) takes the text path.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use http::Uri;
use http::uri::{Authority, Parts, PathAndQuery, Scheme};

/// `endpoint` and `path` joined with exactly one `/` (Python's `concat_url`,
/// except that a trailing slash of the path is kept).
///
/// ```
/// use apiclient_http::layers::auth::concat_url;
/// assert_eq!(concat_url("http://h/v2.1/", "/servers"), "http://h/v2.1/servers");
/// assert_eq!(concat_url("http://h/v2.1", "servers?limit=1"), "http://h/v2.1/servers?limit=1");
/// ```
pub fn concat_url(endpoint: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return endpoint.to_string();
    }
    // one allocation of the final size (no formatter)
    let endpoint = endpoint.trim_end_matches('/');
    let mut url = String::with_capacity(endpoint.len() + 1 + path.len());
    url.push_str(endpoint);
    url.push('/');
    url.push_str(path);
    url
}

/// An endpoint's parsed scheme and authority, and where its path starts.
struct Origin {
    endpoint: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    path_at: usize,
}

thread_local! {
    /// The origin of the endpoint this thread joined to last.
    static LAST: RefCell<Option<Origin>> = const { RefCell::new(None) };
}

impl Origin {
    /// `endpoint`'s origin, when it is absolute with a path (`/...`) or none.
    fn of(endpoint: &Arc<str>) -> Option<Origin> {
        let uri: Uri = endpoint.parse().ok()?;
        let scheme = uri.scheme()?.clone();
        let authority = uri.authority()?.clone();
        let path_at = scheme.as_str().len() + "://".len() + authority.as_str().len();
        let rest = endpoint.get(path_at..)?;
        if !endpoint.get(..path_at)?.contains("://") || !(rest.is_empty() || rest.starts_with('/'))
        {
            return None;
        }
        Some(Origin {
            endpoint: endpoint.clone(),
            scheme,
            authority,
            path_at,
        })
    }
}

/// `endpoint` (absolute) and `path` joined as [`concat_url`] joins them,
/// as a URI; `None` when `endpoint` is not an absolute URL or the URL
/// made is none.
pub(crate) fn joined(endpoint: &Arc<str>, path: &str) -> Option<Uri> {
    from_origin(endpoint, path).or_else(|| Uri::try_from(concat_url(endpoint, path)).ok())
}

/// [`joined`]'s URI made of the endpoint's kept origin; `None` for the
/// unusual cases the text path takes (and on a thread whose locals are
/// gone: it is ending).
fn from_origin(endpoint: &Arc<str>, path: &str) -> Option<Uri> {
    LAST.try_with(|last| {
        let mut last = last.try_borrow_mut().ok()?;
        if !last
            .as_ref()
            .is_some_and(|o| Arc::ptr_eq(&o.endpoint, endpoint))
        {
            *last = Some(Origin::of(endpoint)?);
        }
        let origin = last.as_ref()?;
        let prefix = endpoint.get(origin.path_at..)?;
        let path_and_query = PathAndQuery::from_maybe_shared(path_bytes(prefix, path)?).ok()?;
        let mut parts = Parts::default();
        parts.scheme = Some(origin.scheme.clone());
        parts.authority = Some(origin.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).ok()
    })
    .ok()
    .flatten()
}

/// The path under the endpoint's path `prefix` that [`concat_url`] makes,
/// as shared bytes: `None` when it is empty (the URL is then the
/// endpoint's own, whose path the text path keeps as written).
fn path_bytes(prefix: &str, path: &str) -> Option<Bytes> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return None;
    }
    let prefix = prefix.trim_end_matches('/');
    let len = prefix.len() + 1 + path.len();
    if len <= Inline::CAPACITY {
        let mut inline = Inline {
            len: len as u8,
            buf: [0; Inline::CAPACITY],
        };
        inline.buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
        inline.buf[prefix.len()] = b'/';
        inline.buf[prefix.len() + 1..len].copy_from_slice(path.as_bytes());
        return Some(Bytes::from_owner(inline));
    }
    let mut joined = String::with_capacity(len);
    joined.push_str(prefix);
    joined.push('/');
    joined.push_str(path);
    Some(Bytes::from(joined))
}

/// A short path with its reference count in one allocation (`Bytes`'s
/// owner): copied (the auth layer's and hyper's copies) without the shared
/// header a `String`'s bytes are given on their first copy.
struct Inline {
    len: u8,
    buf: [u8; Inline::CAPACITY],
}

impl Inline {
    /// The longest path kept inline (the allocation is 104 bytes with the
    /// count and its drop).
    const CAPACITY: usize = 87;
}

impl AsRef<[u8]> for Inline {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URI joined here is the one the text path makes, for every kind
    /// of endpoint and path (slashes, queries, no path, a long path, an
    /// endpoint that is not absolute), and the same endpoint joined again
    /// on the thread (its origin kept) gives the same.
    #[test]
    fn a_joined_uri_is_the_one_the_text_makes() {
        let long = format!("items/{}?marker={}", "a".repeat(120), "m".repeat(30));
        let endpoints = [
            "http://h/v2.1",
            "http://h/v2.1/",
            "https://h.example:8774/compute/v2.1//",
            "http://h",
            "http://h/",
            "http://user:pw@h:1/x",
            "HTTP://H/V1",
            "http://[::1]:8080/v3",
            "/relative/only",
            "http://h?q=1",
        ];
        let paths = [
            "/servers",
            "servers",
            "//servers/x?limit=2&marker=a%20b",
            "",
            "/",
            "?limit=1",
            long.as_str(),
        ];
        for endpoint in endpoints {
            let endpoint: Arc<str> = Arc::from(endpoint);
            for path in paths {
                let text = Uri::try_from(concat_url(&endpoint, path)).ok();
                // the usual endpoint and a path under it take the origin's way
                let usual =
                    endpoint.to_ascii_lowercase().starts_with("http") && !endpoint.contains('?');
                let under = !path.trim_start_matches('/').is_empty();
                assert_eq!(
                    from_origin(&endpoint, path).is_some(),
                    usual && under,
                    "{endpoint} + {path}"
                );
                for _ in 0..2 {
                    let made = joined(&endpoint, path);
                    assert_eq!(made, text, "{endpoint} + {path}");
                    assert_eq!(
                        made.as_ref().map(Uri::to_string),
                        text.as_ref().map(Uri::to_string),
                        "{endpoint} + {path}"
                    );
                }
            }
        }
    }

    /// A request made while its thread ends (from a thread local's
    /// destructor, after this module's own is gone) is joined as text: no
    /// panic (which would abort the process there).
    #[test]
    fn a_thread_that_is_ending_joins_as_text() {
        struct Guard(Arc<str>, std::sync::mpsc::Sender<Option<Uri>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = self.1.send(joined(&self.0, "/x"));
            }
        }
        thread_local! {
            static GUARD: RefCell<Option<Guard>> = const { RefCell::new(None) };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let endpoint: Arc<str> = Arc::from("http://h/v1");
            // the guard's destructor is registered first, so it runs last
            GUARD.with(|g| *g.borrow_mut() = Some(Guard(endpoint.clone(), tx)));
            assert!(from_origin(&endpoint, "/x").is_some());
        })
        .join()
        .unwrap();
        let made = rx.recv().unwrap();
        assert_eq!(made, Some(Uri::from_static("http://h/v1/x")));
    }

    /// A short path is made with its count in one allocation, a long one
    /// from a string; copies share them.
    #[test]
    fn a_short_path_is_one_allocation_and_its_copies_share_it() {
        let short = path_bytes("/v2.1", "/servers/x").unwrap();
        assert_eq!(&short[..], b"/v2.1/servers/x");
        let copy = short.clone();
        assert_eq!(copy.as_ptr(), short.as_ptr());
        let long_path = "p".repeat(Inline::CAPACITY);
        let long = path_bytes("/v1/", &long_path).unwrap();
        assert_eq!(long.len(), 4 + Inline::CAPACITY);
        assert!(long.starts_with(b"/v1/p"));
        assert_eq!(path_bytes("/v1", "/"), None);
    }
}

//! The absolute URL of a request relative to its endpoint, made without
//! parsing the endpoint again on every request.
//!
//! Joined as text and parsed whole ([`concat_url`], then `Uri::try_from`),
//! the endpoint's scheme and authority were parsed again for every request
//! (about 900 instructions), and the URL's bytes, a `String`, were given a
//! shared header (one more allocation) the first time the URL was copied
//! (the auth layer keeps one, hyper takes the path). Here each thread keeps
//! the scheme and authority of the few endpoints it joined to last
//! (compared by pointer: the service client's cached `Arc`), and the path's
//! bytes are made once with their reference count, in one allocation when
//! short. The URL is the one the text would have made; the unusual cases
//! take the text path: an endpoint that is not an absolute URL, one whose
//! authority is followed by something other than a path (`?`, `#`), an
//! empty path (the URL is the endpoint as written), and a URL longer than
//! `http` allows.

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

/// The endpoints a thread keeps the origin of (a client talks to few).
const ORIGINS_KEPT: usize = 4;

/// The longest URL `http` makes (`Uri::try_from` refuses longer ones).
const MAX_URL: usize = u16::MAX as usize - 1;

thread_local! {
    /// The origins of the endpoints this thread joined to last, the most
    /// recent last.
    static ORIGINS: RefCell<Vec<Origin>> = const { RefCell::new(Vec::new()) };
}

impl Origin {
    /// `endpoint`'s origin, when it is an absolute URL whose authority is
    /// followed by a path (`/...`) or by nothing.
    fn of(endpoint: &Arc<str>) -> Option<Origin> {
        let uri: Uri = endpoint.parse().ok()?;
        let scheme = uri.scheme()?.clone();
        let authority = uri.authority()?.clone();
        let path_at = scheme.as_str().len() + "://".len() + authority.as_str().len();
        let rest = endpoint.get(path_at..)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
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

/// `endpoint` and `path` joined as [`concat_url`] joins them, as a URI:
/// the one `Uri::try_from` makes of the joined text (`None` when it makes
/// none). An endpoint that is not absolute gives what the text gives (a
/// relative URI, or none): the caller checks.
pub(crate) fn joined(endpoint: &Arc<str>, path: &str) -> Option<Uri> {
    from_origin(endpoint, path).or_else(|| Uri::try_from(concat_url(endpoint, path)).ok())
}

/// [`joined`]'s URI made of the endpoint's kept origin; `None` for the
/// unusual cases the text path takes (and on a thread whose locals are
/// gone: it is ending).
fn from_origin(endpoint: &Arc<str>, path: &str) -> Option<Uri> {
    ORIGINS
        .try_with(|origins| {
            let mut origins = origins.try_borrow_mut().ok()?;
            let at = match origins
                .iter()
                .position(|o| Arc::ptr_eq(&o.endpoint, endpoint))
            {
                Some(at) => at,
                None => {
                    let origin = Origin::of(endpoint)?;
                    if origins.len() == ORIGINS_KEPT {
                        // the oldest makes room
                        origins.remove(0);
                    }
                    origins.push(origin);
                    origins.len() - 1
                }
            };
            let origin = &origins[at];
            let prefix = endpoint.get(origin.path_at..)?;
            let bytes = path_bytes(prefix, path)?;
            if origin.path_at + bytes.len() > MAX_URL {
                return None;
            }
            let path_and_query = PathAndQuery::from_maybe_shared(bytes).ok()?;
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
    // (the path is not empty: `concat_url` joins it as above)
    Some(Bytes::from(concat_url(prefix, path)))
}

/// A short path with its reference count in one allocation (`Bytes`'s
/// owner): copied (the auth layer's and hyper's copies) without the shared
/// header a `String`'s bytes are given on their first copy.
struct Inline {
    len: u8,
    buf: [u8; Inline::CAPACITY],
}

impl Inline {
    /// The longest path kept inline (with the reference count, the
    /// allocation is under 110 bytes).
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
        // a path `http` takes alone, but not under the endpoint
        let longest = format!("/{}", "b".repeat(MAX_URL - 1));
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
            longest.as_str(),
        ];
        for endpoint in endpoints {
            let endpoint: Arc<str> = Arc::from(endpoint);
            for path in paths {
                let text = Uri::try_from(concat_url(&endpoint, path)).ok();
                // the usual endpoint and a path under it take the origin's way
                let usual =
                    endpoint.to_ascii_lowercase().starts_with("http") && !endpoint.contains('?');
                let under = !path.trim_start_matches('/').is_empty() && path.len() < MAX_URL - 40;
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
        struct Guard(Arc<str>, std::sync::mpsc::Sender<(bool, Option<Uri>)>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let kept = from_origin(&self.0, "/x").is_some();
                let _ = self.1.send((kept, joined(&self.0, "/x")));
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
        let (kept, made) = rx.recv().unwrap();
        assert!(!kept, "the origins kept outlived the thread's locals");
        assert_eq!(made, Some(Uri::from_static("http://h/v1/x")));
    }

    /// A thread keeps the origins of the last few endpoints it joined to:
    /// alternating between two parses neither again; a fifth endpoint
    /// makes room by dropping the oldest.
    #[test]
    fn a_thread_keeps_the_origins_of_its_last_few_endpoints() {
        std::thread::spawn(|| {
            let kept = || ORIGINS.with(|o| o.borrow().len());
            let endpoints: Vec<Arc<str>> = (0..5)
                .map(|i| Arc::from(format!("http://h{i}:8774/v2.1")))
                .collect();
            for _ in 0..3 {
                for endpoint in &endpoints[..2] {
                    assert!(from_origin(endpoint, "/servers").is_some());
                }
            }
            assert_eq!(kept(), 2);
            for endpoint in &endpoints {
                let uri = joined(endpoint, "/servers").unwrap();
                assert_eq!(uri.to_string(), format!("{endpoint}/servers"));
            }
            assert_eq!(kept(), ORIGINS_KEPT);
            let first = ORIGINS.with(|o| Arc::ptr_eq(&o.borrow()[0].endpoint, &endpoints[1]));
            assert!(first, "the oldest endpoint was not the one dropped");
        })
        .join()
        .unwrap();
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

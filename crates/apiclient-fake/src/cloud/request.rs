//! What a buffered request of the fake cloud's services is made of, and
//! who sent it (the token's user and project). A leaf.

use http::{HeaderMap, Method};

/// A request whose body was read whole: its method, its raw path (not
/// trimmed: Cinder tells `/v3` from `/v3/`), its query pairs in order
/// (repeated keys kept: Glance's `tag`), its headers and body.
pub(super) struct Req<'a> {
    pub(super) method: &'a Method,
    pub(super) path: &'a str,
    pub(super) query: &'a [(String, String)],
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
}

impl Req<'_> {
    /// The last value of query key `k`.
    pub(super) fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body (`Content-Type` without its parameters).
    pub(super) fn media_type(&self) -> Option<&str> {
        media_type(self.headers)
    }
}

/// The media type of `headers`' `Content-Type`, without its parameters.
pub(super) fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim())
}

/// The query string of `uri` as pairs, in order.
pub(super) fn query_pairs(uri: &http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// `pairs` (without `marker`) and then `marker=<marker>`, URL-encoded: the
/// query of a `next` link, as Glance and Cinder build it from the request.
pub(super) fn next_query(pairs: &[(String, String)], marker: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "marker") {
        q.append_pair(k, v);
    }
    q.append_pair("marker", marker);
    q.finish()
}

/// Who a request comes from: its token's user and project.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) user_id: String,
    /// The project the token is scoped to (empty when unscoped).
    pub(super) project_id: String,
    /// Whether the user is the cloud's `admin`.
    pub(super) admin: bool,
}

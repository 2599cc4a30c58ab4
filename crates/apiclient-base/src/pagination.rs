//! Pagination beyond the reference: a stream over every page.
//!
//! - [`PageStyle::Links`] follows `<collection>_links` / `links` with
//!   `rel=next` (Nova, Keystone), `links.next`, or a top-level `next`
//!   (Glance), until a page has none.
//! - [`PageStyle::Marker`] sends `limit` and `marker=<last id>` until a page
//!   comes back short.
//!
//! The stream holds one page at a time. A server that repeats itself (the
//! same `next` link or marker twice) ends the stream with an
//! [`Error::InvalidResponse`] naming the loop, instead of looping forever;
//! one that hands out fresh `next` links forever meets the page cap
//! ([`PageLimits::max_pages`]) and the deadline of the whole listing.
//!
//! A `next` link is followed on the endpoint's own origin only: a link to
//! another host, port or scheme (a proxy's internal name, `http` behind an
//! `https` endpoint) has its path and query taken onto the endpoint's
//! origin, so the token never leaves it and `https` is never downgraded.

use std::collections::{HashSet, VecDeque};

use apiclient_errors::Error;
use apiclient_http::ApiRequest;
use futures_util::Stream;
use serde_json::Value;

use crate::client::BaseClient;
use crate::resource::{Resource, ResourceMeta};

/// How pages are linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStyle {
    /// Follow the server's `next` links.
    Links,
    /// Send `limit` and `marker` (the last item's id).
    Marker {
        /// Page size.
        limit: usize,
    },
}

/// Bounds of one listing: [`PageLimits::default`] changed with the setters
/// (new fields may come, so the struct is not built by a literal).
///
/// ```
/// use apiclient_base::PageLimits;
/// let limits = PageLimits::default().max_pages(50);
/// assert_eq!(limits.max_pages, 50);
/// assert_eq!(limits.deadline, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageLimits {
    /// The most pages fetched (default 10 000); reaching it ends the stream
    /// with an error after the last page's items.
    pub max_pages: usize,
    /// The most time the whole listing may take (default: the HTTP client's
    /// operation timeout, if it has one).
    pub deadline: Option<std::time::Duration>,
}

impl PageLimits {
    /// The most pages fetched.
    pub fn max_pages(mut self, n: usize) -> Self {
        self.max_pages = n;
        self
    }

    /// The most time the whole listing may take.
    pub fn deadline(mut self, d: std::time::Duration) -> Self {
        self.deadline = Some(d);
        self
    }
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            max_pages: 10_000,
            deadline: None,
        }
    }
}

struct State {
    client: BaseClient,
    max_pages: usize,
    pages: usize,
    deadline: Option<tokio::time::Instant>,
    origin: Option<String>,
    meta: ResourceMeta,
    collection: String,
    style: PageStyle,
    base_path: String,
    next: Option<String>,
    page: VecDeque<Value>,
    seen: HashSet<String>,
    pending: Option<Error>,
    done: bool,
}

/// The `next` link of a page: `<collection>_links`/`links` with `rel=next`,
/// `links.next`, or a top-level `next`.
pub(crate) fn next_link(body: &Value, collection: &str) -> Option<String> {
    let rel_next = |v: &Value| -> Option<String> {
        v.as_array()?
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))?
            .get("href")?
            .as_str()
            .map(str::to_string)
    };
    body.get(format!("{collection}_links"))
        .and_then(rel_next)
        .or_else(|| body.get("links").and_then(rel_next))
        .or_else(|| {
            body.pointer("/links/next")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or_else(|| body.get("next").and_then(Value::as_str).map(str::to_string))
}

fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{q}")
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let uri = url.parse::<http::Uri>().ok()?;
    Some(format!(
        "{}://{}",
        uri.scheme_str()?.to_ascii_lowercase(),
        uri.authority()?.as_str().to_ascii_lowercase()
    ))
}

impl State {
    /// A `next` link as it is followed: relative links as they are, absolute
    /// ones on the endpoint's origin (rebased when they name another).
    async fn on_endpoint(&mut self, next: String) -> Result<String, Error> {
        let Some(their) = origin_of(&next) else {
            return Ok(next);
        };
        if self.origin.is_none() {
            let endpoint = self.client.service().endpoint().await?;
            self.origin = origin_of(&endpoint);
        }
        let Some(ours) = self.origin.clone() else {
            return Ok(next);
        };
        if their == ours {
            return Ok(next);
        }
        let path = next
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.path_and_query().map(|p| p.as_str().to_string()))
            .unwrap_or_else(|| "/".into());
        tracing::debug!(target: "apiclient_base::pagination", "a next link on {their} is followed on the endpoint's origin {ours}");
        Ok(format!("{ours}{path}"))
    }

    async fn fetch(&mut self) -> Result<(), Error> {
        let Some(url) = self.next.take() else {
            self.done = true;
            return Ok(());
        };
        if self.pages >= self.max_pages {
            return Err(Error::InvalidResponse {
                message: format!(
                    "pagination stopped after {} pages (the page cap); the server still had a next page",
                    self.max_pages
                ),
                url,
                source: None,
            });
        }
        self.pages += 1;
        let request = self.client.client_request(ApiRequest::get(url.clone()));
        let resp = match self.deadline {
            None => request.await?,
            Some(at) => tokio::time::timeout_at(at, request).await.map_err(|_| {
                Error::from(apiclient_errors::ConnectionError::new(
                    apiclient_errors::ConnectionErrorKind::Deadline,
                    url.clone(),
                    None,
                ))
            })??,
        };
        let body: Value = resp.json()?;
        let items = match body.get(&self.collection) {
            Some(Value::Array(items)) => items.clone(),
            _ => {
                return Err(Error::InvalidResponse {
                    message: format!("the page has no '{}' list", self.collection),
                    url,
                    source: None,
                });
            }
        };
        let next = match &self.style {
            PageStyle::Links => next_link(&body, &self.collection),
            PageStyle::Marker { limit } => {
                let last = items.last().and_then(|i| i.get("id")).map(|id| match id {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                match last {
                    Some(marker) if items.len() >= *limit => Some(with_query(
                        &self.base_path,
                        &[("limit", limit.to_string()), ("marker", marker)],
                    )),
                    _ => None,
                }
            }
        };
        self.page = items.into();
        if let Some(n) = &next
            && !self.seen.insert(n.clone())
        {
            // Hand out this page, then end with the error: nothing is lost.
            self.pending = Some(Error::InvalidResponse {
                message: format!("pagination loop: the server sent the next page '{n}' twice"),
                url,
                source: None,
            });
            return Ok(());
        }
        self.next = match next {
            Some(n) => Some(self.on_endpoint(n).await?),
            None => None,
        };
        Ok(())
    }
}

/// A stream of every resource of a collection, one page in memory at a time.
///
/// ```no_run
/// # async fn f(client: apiclient_base::BaseClient) -> Result<(), apiclient_errors::Error> {
/// use apiclient_base::{paginate, PageStyle, ResourceMeta};
/// use futures_util::TryStreamExt;
///
/// let servers = paginate(client, "/servers", "servers", ResourceMeta::new("Server"), PageStyle::Links);
/// futures_util::pin_mut!(servers);
/// while let Some(server) = servers.try_next().await? {
///     println!("{server:?}");
/// }
/// # Ok(()) }
/// ```
pub fn paginate(
    client: BaseClient,
    path: &str,
    collection: &str,
    meta: ResourceMeta,
    style: PageStyle,
) -> impl Stream<Item = Result<Resource, Error>> + Send + 'static {
    paginate_with(client, path, collection, meta, style, PageLimits::default())
}

/// [`paginate`] with explicit [`PageLimits`].
pub fn paginate_with(
    client: BaseClient,
    path: &str,
    collection: &str,
    meta: ResourceMeta,
    style: PageStyle,
    limits: PageLimits,
) -> impl Stream<Item = Result<Resource, Error>> + Send + 'static {
    let deadline = match limits.deadline {
        Some(d) => Some(tokio::time::Instant::now() + d),
        None => client.service().http().deadline().map(|d| d.0),
    };
    let first = match &style {
        PageStyle::Links => path.to_string(),
        PageStyle::Marker { limit } => with_query(path, &[("limit", limit.to_string())]),
    };
    let state = State {
        client,
        max_pages: limits.max_pages,
        pages: 0,
        deadline,
        origin: None,
        meta,
        collection: collection.to_string(),
        style,
        base_path: path.to_string(),
        next: Some(first),
        page: VecDeque::new(),
        seen: HashSet::new(),
        pending: None,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.page.pop_front() {
                if item.is_null() {
                    continue;
                }
                let r = Resource::new(st.meta, item, true);
                return Some((Ok(r), st));
            }
            if let Some(e) = st.pending.take() {
                st.done = true;
                return Some((Err(e), st));
            }
            if st.done {
                return None;
            }
            if let Err(e) = st.fetch().await {
                st.done = true;
                return Some((Err(e), st));
            }
        }
    })
}

/// How many items the stream holds right now is bounded by one page; this
/// helper exists for tests and benchmarks that check it.
pub fn page_of(body: &Value, collection: &str) -> usize {
    body.get(collection)
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0)
}

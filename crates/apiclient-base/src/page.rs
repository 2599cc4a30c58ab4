//! Pages of a collection: [`Api::list_page`] fetches one page with its
//! response metadata and a [`PageToken`] for the next, which a caller
//! keeps (a UI's "next" button: the token is `Clone`, `Serialize` and
//! `Deserialize`) and continues from with [`Api::list_page_from`];
//! [`Api::list_all`] is the stream of every item, built on the same page
//! logic.
//!
//! The next page is the server's `next` link when it sends one (Nova's and
//! Neutron's `<collection>_links`, Keystone's `links`, Glance's relative
//! `next`), else, when the query has a `limit` and the page came back
//! full, the same query with `marker` = the last item's id
//! ([`ResourceInfo::id_field`](crate::ResourceInfo::id_field)).
//!
//! ```no_run
//! use apiclient_base::{Api, DynamicResource, Error, PageToken};
//!
//! /// One screen of servers, and the token of the next (None: the last).
//! async fn screen(
//!     servers: &Api<DynamicResource>,
//!     from: Option<PageToken>,
//! ) -> Result<Option<PageToken>, Error> {
//!     let page = match from {
//!         None => servers.list_page(&serde_json::json!({"limit": 20})).await?,
//!         Some(token) => servers.list_page_from(&token).await?,
//!     };
//!     for server in &page.items {
//!         println!("{:?} {:?}", server.name(), server.status());
//!     }
//!     println!("(request {:?})", page.meta.request_id);
//!     Ok(page.next)
//! }
//! ```

use std::collections::{HashSet, VecDeque};
use std::marker::PhantomData;
use std::sync::Arc;

use apiclient_errors::{Error, InvalidKind};
use apiclient_http::{ApiRequest, ServiceClient};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::{Api, ApiObject, ResourceInfo, ResponseMeta};

/// Where the next page of a listing is: opaque, kept by a caller (it is
/// `Clone` and serializes as a string) and given back to
/// [`Api::list_page_from`]. It is the URL of that page (absolute or
/// relative to the endpoint), as the server linked it or as the marker
/// pagination built it.
///
/// A token is checked before it is followed, wherever it was kept: its path
/// must end with the collection's (list) path and hold no `.` or `..`
/// segment, and an absolute one gets the token only on the endpoint's (or
/// a catalog endpoint's) origin.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageToken(String);

impl PageToken {
    /// The token as text (to keep it, e.g. in a UI's link).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token as text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for PageToken {
    /// A token kept as text ([`as_str`](Self::as_str)); checked when
    /// followed.
    fn from(text: String) -> Self {
        PageToken(text)
    }
}

impl std::fmt::Debug for PageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PageToken")
            .field(&apiclient_errors::redact::redact_url(&self.0))
            .finish()
    }
}

/// One page of a collection: its items, the metadata of the response that
/// carried them, and where the next page is (`None` on the last).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The response's metadata (status, request id, microversion).
    pub meta: ResponseMeta,
    /// The next page, if there is one: [`Api::list_page_from`].
    pub next: Option<PageToken>,
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// One page as fetched: what follows is a URL, none, or an error (a full
/// page whose last item has no id to page on), known only after the items.
struct Fetched<T> {
    items: Vec<T>,
    meta: ResponseMeta,
    next: Result<Option<String>, Error>,
}

/// The URL of the first page of `info`'s listing with `query`. A query that
/// is not a map (or `()`) is refused here: it would otherwise be dropped.
fn first_url<Q: Serialize + ?Sized>(info: &ResourceInfo, query: &Q) -> Result<String, Error> {
    match serde_json::to_value(query) {
        Ok(Value::Object(_) | Value::Null) => Ok(ApiRequest::get(info.list_path().into_owned())
            .query_of(query)
            .full_url()),
        Ok(_) => Err(Error::invalid(
            InvalidKind::Query,
            "a query must serialize to a map",
        )),
        Err(e) => Err(Error::invalid(
            InvalidKind::Query,
            format!("the query cannot be serialized: {e}"),
        )),
    }
}

/// Why a page's body could not be read.
enum PageError {
    /// The body is not JSON.
    NotJson(serde_json::Error),
    /// The list is not a list of `T`.
    Items(serde_json::Error),
}

/// The members of a page other than its list that may say where the next
/// page is (what [`next_link`](crate::pagination::next_link) reads).
fn names_a_link(key: &str, plural: &str) -> bool {
    matches!(key, "links" | "next") || key.strip_suffix("_links") == Some(plural)
}

/// A page's body: its items (`plural`, none if absent), decoded straight
/// from their text, and the next page's link. Only the members that may
/// name a link are made into `Value`s: a page is not built as a whole tree
/// first (a 1 MB page of 1000 servers was a `Value` of ~16x its size). A
/// body that is JSON but not an object has no items and no link.
fn page_of<T: ApiObject>(body: &[u8], plural: &str) -> Result<(Vec<T>, Option<String>), PageError> {
    use serde_json::value::RawValue;
    // each member's value as its text, borrowed from the body (a repeated
    // key keeps its last value, as `Value` did)
    let members: std::collections::HashMap<String, &RawValue> = match serde_json::from_slice(body) {
        Ok(m) => m,
        // not an object: what `Value` made of it had no members either
        Err(e) if e.is_data() => {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(PageError::NotJson)?;
            Default::default()
        }
        Err(e) => return Err(PageError::NotJson(e)),
    };
    let mut list = None;
    let mut links = serde_json::Map::new();
    for (key, raw) in members {
        if key == plural {
            list = Some(raw);
        } else if names_a_link(&key, plural)
            && let Ok(v) = serde_json::from_str::<Value>(raw.get())
        {
            links.insert(key, v);
        }
    }
    let items = match list {
        Some(raw) => serde_json::from_str(raw.get()).map_err(PageError::Items)?,
        None => Vec::new(),
    };
    let link = crate::pagination::next_link(&Value::Object(links), plural);
    Ok((items, link))
}

/// The page at `url`: its items, and the next page's URL.
async fn fetch<T: ApiObject>(
    client: &ServiceClient,
    info: &ResourceInfo,
    url: &str,
) -> Result<Fetched<T>, Error> {
    let resp = client.request(ApiRequest::get(url)).await?;
    let meta = ResponseMeta::of(&resp);
    let plural = &*info.plural;
    let (items, link) = page_of::<T>(resp.body(), plural).map_err(|e| match e {
        PageError::NotJson(e) => Error::InvalidResponse {
            message: "the page is not JSON".to_string(),
            url: resp.url(),
            source: Some(Box::new(e)),
        },
        PageError::Items(e) => Error::InvalidResponse {
            message: format!("the '{plural}' list is not the JSON expected"),
            url: resp.url(),
            source: Some(Box::new(e)),
        },
    })?;
    let next = match link {
        Some(link) => Ok(Some(link)),
        None => marker_next(info, url, &items).map_err(|message| Error::InvalidResponse {
            message,
            url: resp.url(),
            source: None,
        }),
    };
    Ok(Fetched { items, meta, next })
}

/// The next page by marker: when `url` asked for a `limit` and `items` is
/// a full page, `url` with `marker` = the last item's id.
fn marker_next<T: ApiObject>(
    info: &ResourceInfo,
    url: &str,
    items: &[T],
) -> Result<Option<String>, String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let limit = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let (Some(limit), Some(last)) = (limit, items.last()) else {
        return Ok(None);
    };
    if limit == 0 || (items.len() as u64) < limit {
        return Ok(None);
    }
    // (a typed item always has its id; a dynamic one may not)
    let Some(marker) = last.object_id(info) else {
        return Err(format!(
            "a full page of '{}' whose last item has no '{}': no marker for the next page",
            info.plural, info.id_field
        ));
    };
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(k, _)| k != "marker"))
        .append_pair("marker", &marker)
        .finish();
    Ok(Some(format!("{path}?{qs}")))
}

/// Whether `token` names a page of `info`'s collection: its path ends with
/// the list (or collection) path and has no dot segment.
fn check_token(info: &ResourceInfo, token: &PageToken) -> Result<(), Error> {
    let url = token.as_str();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .map(|r| r.find('/').map_or("", |i| &r[i..]))
        .unwrap_or(url);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let dot_segment = path.split('/').any(|s| {
        let s = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
        s == "." || s == ".."
    });
    let trimmed = path.trim_end_matches('/');
    let ours = [info.list_path(), info.collection_path()]
        .iter()
        .any(|p| !p.is_empty() && trimmed.ends_with(p.trim_end_matches('/')));
    if dot_segment || !ours || url.contains(['\r', '\n']) {
        return Err(Error::invalid(
            InvalidKind::Url,
            format!(
                "the page token '{}' does not name a page of {}",
                apiclient_errors::redact::display_safe(
                    &apiclient_errors::redact::redact_url(url),
                    200
                ),
                info.plural
            ),
        ));
    }
    Ok(())
}

impl<T: ApiObject> Api<T> {
    /// One page of the collection with `query` (a serde struct of filters,
    /// `limit`, `marker`, ...; `()` for none; the detailed listing when the
    /// type has one): its items, the response's metadata, and a
    /// [`PageToken`] for the next page when there is one (the server's
    /// `next` link; else, when `query` has a `limit` and the page is full,
    /// the marker of its last item). A query that is not a map is an
    /// [`InvalidKind::Query`] error, and nothing is sent.
    ///
    /// A full page whose last item has no id (a dynamic resource without
    /// its [`id_field`](crate::ResourceInfo::id_field)) cannot be continued
    /// by marker: that is an [`Error::InvalidResponse`].
    pub async fn list_page<Q: Serialize + ?Sized>(&self, query: &Q) -> Result<Page<T>, Error> {
        let url = first_url(&self.info, query)?;
        self.page_at(&url).await
    }

    /// The page a [`PageToken`] names (from [`Page::next`]), with the token
    /// of the one after it. The token is checked first (its path ends with
    /// this collection's path and has no `.`/`..` segment; otherwise an
    /// [`InvalidKind::Url`] error, and nothing is sent); an absolute one is
    /// sent a token only on the endpoint's origin.
    ///
    /// A caller following tokens decides how many pages it fetches; a
    /// server that links a page to itself is the caller's to notice
    /// ([`list_all`](Self::list_all) ends such a loop).
    pub async fn list_page_from(&self, token: &PageToken) -> Result<Page<T>, Error> {
        check_token(&self.info, token)?;
        self.page_at(token.as_str()).await
    }

    async fn page_at(&self, url: &str) -> Result<Page<T>, Error> {
        let fetched = fetch::<T>(&self.client, &self.info, url).await?;
        Ok(Page {
            items: fetched.items,
            meta: fetched.meta,
            next: fetched.next?.map(PageToken),
        })
    }

    /// Every resource of the collection, page after page (the pages of
    /// [`list_page`](Self::list_page): `next` links, or `marker` = the last
    /// id while pages come back full when `query` has a `limit`), one page
    /// in memory at a time. Bounded like [`paginate`](crate::paginate): a
    /// repeated `next` link ends the stream with an error (after the items
    /// of the page that repeated it), and at most 10 000 pages are fetched;
    /// `next` links stay on the endpoint's origin (the Auth layer refuses
    /// others). A query that is not a map ends it at once with an
    /// [`InvalidKind::Query`] error.
    pub fn list_all<Q: Serialize + ?Sized>(
        &self,
        query: &Q,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        let (next, error) = match first_url(&self.info, query) {
            Ok(url) => (Some(url), None),
            Err(e) => (None, Some(e)),
        };
        let state = ListState {
            client: self.client.clone(),
            info: self.info.clone(),
            next,
            page: VecDeque::new(),
            seen: HashSet::new(),
            pages: 0,
            error,
            _t: PhantomData::<fn() -> T>,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.page.pop_front() {
                    return Some((Ok(item), st));
                }
                if let Some(e) = st.error.take() {
                    return Some((Err(e), st));
                }
                let url = st.next.take()?;
                if let Err(e) = st.fetch(url).await {
                    return Some((Err(e), st));
                }
            }
        })
    }
}

struct ListState<T> {
    client: ServiceClient,
    info: Arc<ResourceInfo>,
    next: Option<String>,
    page: VecDeque<T>,
    seen: HashSet<String>,
    pages: usize,
    error: Option<Error>,
    _t: PhantomData<fn() -> T>,
}

/// The most pages one listing fetches.
const MAX_PAGES: usize = 10_000;

impl<T: ApiObject> ListState<T> {
    async fn fetch(&mut self, url: String) -> Result<(), Error> {
        if self.pages >= MAX_PAGES {
            return Err(Error::InvalidResponse {
                message: format!("listing stopped after {MAX_PAGES} pages (the page cap)"),
                url,
                source: None,
            });
        }
        self.pages += 1;
        let fetched = fetch::<T>(&self.client, &self.info, &url).await?;
        // Hand out this page, then end with the error: nothing is lost.
        self.page = fetched.items.into();
        match fetched.next {
            Err(e) => self.error = Some(e),
            Ok(Some(n)) if !self.seen.insert(n.clone()) => {
                self.error = Some(Error::InvalidResponse {
                    message: format!("pagination loop: the server sent the next page '{n}' twice"),
                    url,
                    source: None,
                });
            }
            Ok(next) => self.next = next,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(items: &[crate::DynamicResource]) -> Vec<&str> {
        items.iter().filter_map(|r| r.id()).collect()
    }

    #[test]
    fn a_page_is_read_from_its_text_with_its_link() {
        let page = |body: &str| page_of::<crate::DynamicResource>(body.as_bytes(), "servers");
        // the list, the collection's own links, other members ignored
        let (items, link) = page(
            r#"{"servers_links":[{"rel":"next","href":"/servers?marker=b"}],
                "servers":[{"id":"a"},{"id":"b","x":{"deep":[1,2]}}],"other":{"servers":[]}}"#,
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(ids(&items), ["a", "b"]);
        assert_eq!(link.as_deref(), Some("/servers?marker=b"));
        // an escaped key is the same key; a repeated one counts as its last
        let (items, link) =
            page(r#"{"s\u0065rvers":[{"id":"first"}],"servers":[{"id":"last"}],"next":"/n?p=2"}"#)
                .ok()
                .unwrap_or_default();
        assert_eq!(ids(&items), ["last"]);
        assert_eq!(link.as_deref(), Some("/n?p=2"));
        // Glance's links object, and the generic links list
        let (_, link) = page(r#"{"servers":[],"links":{"next":"/v2/x?marker=1"}}"#)
            .ok()
            .unwrap_or_default();
        assert_eq!(link.as_deref(), Some("/v2/x?marker=1"));
        let (_, link) = page(r#"{"links":[{"rel":"next","href":"/p2"}]}"#)
            .ok()
            .unwrap_or_default();
        assert_eq!(link.as_deref(), Some("/p2"));
        // no list, no link: an empty last page
        let (items, link) = page(r#"{"servers_links":[]}"#).ok().unwrap_or_default();
        assert!(items.is_empty() && link.is_none());
        // JSON that is not an object: no items, as before
        for body in ["[1,2]", "3", "null"] {
            let (items, link) = page(body).ok().unwrap_or_default();
            assert!(items.is_empty() && link.is_none(), "{body}");
        }
        // not JSON, or a list that is not one of resources: told apart
        assert!(matches!(
            page(r#"{"servers":["#),
            Err(PageError::NotJson(_))
        ));
        assert!(matches!(page("<html>"), Err(PageError::NotJson(_))));
        assert!(matches!(
            page(r#"{"servers":{"id":"a"}}"#),
            Err(PageError::Items(_))
        ));
    }

    #[test]
    fn tokens_must_name_a_page_of_the_collection() {
        let servers = ResourceInfo::new("server", "servers").detail_path("/servers/detail");
        let ok = [
            "http://nova:8774/v2.1/servers/detail?limit=2&marker=x",
            "/servers/detail?marker=x",
            "/servers?limit=1",
            "https://nova/v2.1/servers/",
        ];
        for t in ok {
            assert!(
                check_token(&servers, &PageToken::from(t.to_string())).is_ok(),
                "{t}"
            );
        }
        let bad = [
            "/v2.1/os-hypervisors?limit=1",
            "http://nova/v2.1/../admin/servers",
            "/v2.1/%2e%2e/servers/detail",
            "/servers/detail/../../flavors",
            "http://nova",
            "",
            "/myservers",
        ];
        for t in bad {
            let e = check_token(&servers, &PageToken::from(t.to_string())).err();
            assert_eq!(
                e.and_then(|e| e.invalid_kind()),
                Some(InvalidKind::Url),
                "{t}"
            );
        }
        let images = ResourceInfo::new("image", "images").path("/v2/images");
        let glance = PageToken::from("/v2/images?limit=2&marker=img-2".to_string());
        assert!(check_token(&images, &glance).is_ok());
    }

    #[test]
    fn marker_pages_keep_the_query_and_replace_the_marker() {
        let info = ResourceInfo::new("server", "servers");
        let items: Vec<crate::DynamicResource> = ["a", "b"]
            .iter()
            .filter_map(|id| serde_json::from_value(serde_json::json!({ "id": id })).ok())
            .collect();
        assert_eq!(
            marker_next(&info, "/servers?name=x&limit=2&marker=z", &items),
            Ok(Some("/servers?name=x&limit=2&marker=b".to_string()))
        );
        assert_eq!(marker_next(&info, "/servers?limit=3", &items), Ok(None));
        assert_eq!(marker_next(&info, "/servers", &items), Ok(None));
        assert_eq!(marker_next(&info, "/servers?limit=0", &items), Ok(None));
        let nameless: Vec<crate::DynamicResource> = (0..2)
            .filter_map(|_| serde_json::from_value(serde_json::json!({"name": "n"})).ok())
            .collect();
        assert!(marker_next(&info, "/servers?limit=2", &nameless).is_err());
    }

    #[test]
    fn tokens_serialize_as_their_text_and_debug_redacts() {
        let t = PageToken::from("/v1/AUTH_x/c?temp_url_sig=secret&marker=a".to_string());
        assert_eq!(
            serde_json::to_string(&t).ok().as_deref(),
            Some("\"/v1/AUTH_x/c?temp_url_sig=secret&marker=a\"")
        );
        let back: Option<PageToken> = serde_json::from_str("\"/servers?marker=a\"").ok();
        assert_eq!(
            back.map(PageToken::into_string).as_deref(),
            Some("/servers?marker=a")
        );
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn a_query_that_is_not_a_map_is_refused() {
        let info = ResourceInfo::new("server", "servers");
        assert_eq!(first_url(&info, &()).ok().as_deref(), Some("/servers"));
        assert_eq!(
            first_url(&info, &serde_json::json!({"limit": 2}))
                .ok()
                .as_deref(),
            Some("/servers?limit=2")
        );
        let e = first_url(&info, &"limit=2").err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Query));
    }
}

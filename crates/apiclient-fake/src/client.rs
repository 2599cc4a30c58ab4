//! `FakeHttpClient`: canned responses under the real `HttpClient` plumbing,
//! with a callstack and assertion helpers (Python's `fake_client`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use apiclient_auth::KeystonePlugin;
use apiclient_errors::{BoxError, Error, InvalidKind};
use apiclient_http::{Body, HttpClient, HttpClientBuilder, HttpService};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use serde_json::Value;

/// The endpoint every service of a [`FakeHttpClient`] resolves to.
pub const FAKE_ENDPOINT: &str = "http://fake.invalid";

/// A canned response (Python's `TestResponse`): a status, headers and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The status.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl TestResponse {
    /// An empty response with this status.
    pub fn new(status: u16) -> Self {
        TestResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A JSON body with `Content-Type: application/json`.
    ///
    /// ```
    /// use apiclient_fake::TestResponse;
    /// let r = TestResponse::json(200, &serde_json::json!({"a": 1}));
    /// assert_eq!(r.headers, vec![("Content-Type".to_string(), "application/json".to_string())]);
    /// assert_eq!(&r.body[..], br#"{"a":1}"#);
    /// ```
    pub fn json(status: u16, body: &Value) -> Self {
        TestResponse {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// A text body, with no headers.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        TestResponse {
            status,
            headers: Vec::new(),
            body: Bytes::from(body.into()),
        }
    }

    /// The reference's rule: a JSON body gets the JSON content type unless
    /// explicit (non-empty) headers are given, which then stand alone.
    pub fn from_parts(status: u16, headers: Option<Vec<(String, String)>>, body: FakeBody) -> Self {
        let mut r = match body {
            FakeBody::Json(v) => Self::json(status, &v),
            FakeBody::Text(t) => Self::text(status, t),
            FakeBody::Empty => Self::new(status),
        };
        if let Some(h) = headers.filter(|h| !h.is_empty()) {
            r.headers = h;
        }
        r
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn into_http(self) -> Response<Bytes> {
        let mut resp = Response::new(self.body);
        *resp.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        for (k, v) in self.headers {
            if let (Ok(k), Ok(v)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(&v),
            ) {
                resp.headers_mut().append(k, v);
            }
        }
        resp
    }
}

/// A fixture or handler body.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeBody {
    /// JSON.
    Json(Value),
    /// Text.
    Text(String),
    /// Nothing.
    Empty,
}

impl From<Value> for FakeBody {
    fn from(v: Value) -> Self {
        FakeBody::Json(v)
    }
}

impl From<&str> for FakeBody {
    fn from(v: &str) -> Self {
        FakeBody::Text(v.to_string())
    }
}

/// One recorded call: method, URL (relative to the endpoint, with the query), headers, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The method.
    pub method: String,
    /// The URL relative to the service endpoint, query included (`/servers?limit=1`).
    pub url: String,
    /// The request headers (credential values included: this is a test
    /// fake), with the framing the wire would carry: `content-length` for
    /// a body of known length (`Body::from_file`, bytes, JSON),
    /// `transfer-encoding: chunked` for a stream of unknown length, neither
    /// for no body ([`FakeHttpClient::assert_header`] checks them).
    pub headers: Vec<(String, String)>,
    /// The body: JSON when it parses, else text; None when empty.
    pub body: Option<Value>,
}

/// What a handler receives.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// The method.
    pub method: Method,
    /// The path (relative to the endpoint).
    pub path: String,
    /// Values of `{name}` segments of the handler's pattern.
    pub params: BTreeMap<String, String>,
    /// The query parameters.
    pub query: BTreeMap<String, String>,
    /// The headers (with the framing of [`Call::headers`]).
    pub headers: HeaderMap,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// A fixture: the response it answers with.
type Fixture = TestResponse;

type HandlerFn = Arc<dyn Fn(&FakeRequest) -> TestResponse + Send + Sync>;

struct Handler {
    method: Method,
    pattern: String,
    f: HandlerFn,
}

#[derive(Default)]
struct State {
    /// url → method → (headers, body)
    fixtures: BTreeMap<String, BTreeMap<String, Fixture>>,
    handlers: Vec<Handler>,
    callstack: Vec<Call>,
}

/// A fake backend: fixtures by exact URL (which win), then handlers by method
/// and path pattern; every call is recorded.
///
/// ```
/// use apiclient_fake::{FakeHttpClient, TestResponse};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let fake = FakeHttpClient::new();
/// fake.on("GET", "/servers/{id}", |req| TestResponse::json(200, &json!({"server": {"id": req.params["id"]}})));
/// let http = fake.http_client().unwrap();
/// let resp = http.service_client("compute").get("/servers/1?x=1").await.unwrap();
/// assert_eq!(resp.json::<serde_json::Value>().unwrap()["server"]["id"], "1");
/// fake.assert_called("GET", "/servers/1?x=1", None, None);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct FakeHttpClient {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for FakeHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("FakeHttpClient")
            .field("fixtures", &s.fixtures.len())
            .field(
                "handlers",
                &s.handlers
                    .iter()
                    .map(|h| format!("{} {}", h.method, h.pattern))
                    .collect::<Vec<_>>(),
            )
            .field("calls", &s.callstack.len())
            .finish()
    }
}

/// The framing headers hyper sends for a body of length `len` (None:
/// unknown), unless the request set its own.
fn frame(headers: &mut HeaderMap, len: Option<u64>) {
    if headers.contains_key(http::header::CONTENT_LENGTH)
        || headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        return;
    }
    match len {
        Some(0) => {}
        Some(n) => {
            headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
        }
        None => {
            headers.insert(
                http::header::TRANSFER_ENCODING,
                http::HeaderValue::from_static("chunked"),
            );
        }
    }
}

/// The reference's fake method name for a call: `GET /os-keypairs/a.b?x=1` → `get_os_keypairs_a_b`.
pub fn fake_method_name(method: &str, url: &str) -> String {
    let path = url.rsplit_once('?').map_or(url, |(p, _)| p);
    let munged: String = path
        .trim_matches('/')
        .chars()
        .map(|c| if matches!(c, '/' | '.' | '-') { '_' } else { c })
        .collect();
    format!("{}_{munged}", method.to_ascii_lowercase())
}

fn match_pattern(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let a: Vec<&str> = path.trim_matches('/').split('/').collect();
    if p.len() != a.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (ps, as_) in p.iter().zip(&a) {
        if let Some(name) = ps.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.insert(name.to_string(), as_.to_string());
        } else if ps != as_ {
            return None;
        }
    }
    Some(params)
}

impl FakeHttpClient {
    /// An empty fake.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fixture: `method` on exactly `url` (relative, query included) answers
    /// 200 with these headers and body. Fixtures win over handlers.
    ///
    /// Unlike the Python fake, the answer goes through the real client, so
    /// `last_request_id` is updated from it (None when the fixture has no
    /// `x-openstack-request-id` header), and an error status becomes an error.
    pub fn fixture(
        &self,
        url: &str,
        method: &str,
        headers: Vec<(String, String)>,
        body: impl Into<FakeBody>,
    ) -> &Self {
        self.lock()
            .fixtures
            .entry(url.to_string())
            .or_default()
            .insert(
                method.to_ascii_uppercase(),
                TestResponse::from_parts(200, Some(headers), body.into()),
            );
        self
    }

    /// A fixture with its own status and headers: `method` on exactly `url`
    /// answers `response` (a `202` or `204` needs no handler).
    ///
    /// ```
    /// use apiclient_fake::{FakeHttpClient, TestResponse};
    /// let fake = FakeHttpClient::new();
    /// fake.respond("DELETE", "/servers/1", TestResponse::new(204));
    /// fake.respond("POST", "/servers/1/action", TestResponse::new(202).header("x-openstack-request-id", "req-7"));
    /// ```
    pub fn respond(&self, method: &str, url: &str, response: TestResponse) -> &Self {
        self.lock()
            .fixtures
            .entry(url.to_string())
            .or_default()
            .insert(method.to_ascii_uppercase(), response);
        self
    }

    /// A handler for `method` on paths matching `pattern` (`/servers/{id}`).
    ///
    /// When several patterns match, the most specific wins: the one with
    /// more static segments (`/servers/detail` before `/servers/{id}`,
    /// whatever the order they were added in), then the first added.
    pub fn on(
        &self,
        method: &str,
        pattern: &str,
        f: impl Fn(&FakeRequest) -> TestResponse + Send + Sync + 'static,
    ) -> &Self {
        let method =
            Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
        self.lock().handlers.push(Handler {
            method,
            pattern: pattern.to_string(),
            f: Arc::new(f),
        });
        self
    }

    /// The recorded calls.
    pub fn callstack(&self) -> Vec<Call> {
        self.lock().callstack.clone()
    }

    /// Forget the recorded calls.
    pub fn clear_callstack(&self) {
        self.lock().callstack.clear();
    }

    /// The fake as the base transport of an `HttpClient`: each request's
    /// body read whole (after its framing headers are noted, as hyper would
    /// send them), then answered.
    ///
    /// ```
    /// use apiclient_fake::{FakeHttpClient, TestResponse};
    /// use apiclient_http::{ApiRequest, Body};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let fake = FakeHttpClient::new();
    /// fake.on("PUT", "/v2/images/{id}/file", |_| TestResponse::new(204));
    /// let image = fake.http_client().unwrap().service_client("image");
    /// let data = vec![0u8; 300_000];
    /// image.request(ApiRequest::put("/v2/images/1/file").body(data)).await.unwrap();
    /// fake.assert_header("PUT", "/v2/images/1/file", "content-length", "300000");
    /// let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]);
    /// image.request(ApiRequest::put("/v2/images/2/file").body(Body::from_stream(stream, None))).await.unwrap();
    /// fake.assert_header("PUT", "/v2/images/2/file", "transfer-encoding", "chunked");
    /// # });
    /// ```
    pub fn service(&self) -> HttpService {
        let fake = self.clone();
        HttpService::new(tower::service_fn(move |req: Request<Body>| {
            let fake = fake.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                frame(&mut parts.headers, body.len());
                let bytes = body.collect_limited(usize::MAX).await?;
                let resp = fake.handle(Request::from_parts(parts, bytes))?;
                Ok::<_, BoxError>(resp.map(Body::from))
            }
        }))
    }

    /// A builder whose transport is this fake, authenticated with a fixed
    /// token (`admin_token`) and every service at [`FAKE_ENDPOINT`].
    pub fn builder(&self) -> HttpClientBuilder {
        let plugin = KeystonePlugin::admin_token(FAKE_ENDPOINT, "fake-token");
        HttpClient::builder(Box::new(plugin)).base_transport(self.service())
    }

    /// An `HttpClient` over this fake.
    pub fn http_client(&self) -> Result<HttpClient, Error> {
        self.builder().build()
    }

    fn handle(&self, req: Request<Bytes>) -> Result<Response<Bytes>, BoxError> {
        let full = req.uri().to_string();
        let url = full
            .strip_prefix(FAKE_ENDPOINT)
            .unwrap_or(&full)
            .to_string();
        let url = if url.is_empty() { "/".to_string() } else { url };
        let method = req.method().clone();
        let body = if req.body().is_empty() {
            None
        } else {
            Some(serde_json::from_slice(req.body()).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(req.body()).into_owned())
            }))
        };
        if (method == Method::GET || method == Method::DELETE) && body.is_some() {
            return Err(Box::new(Error::invalid(
                InvalidKind::Expectation,
                format!("AssertionError: FakeHttpClient: {method} {url} must not have a body"),
            )));
        }
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut state = self.lock();
        state.callstack.push(Call {
            method: method.to_string(),
            url: url.clone(),
            headers,
            body: body.clone(),
        });
        if let Some(resp) = state
            .fixtures
            .get(&url)
            .and_then(|m| m.get(method.as_str()))
            .cloned()
        {
            return Ok(resp.into_http());
        }
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let query: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        // The most specific pattern wins: more static segments first
        // (`/servers/detail` before `/servers/{id}`), then the first added.
        let mut candidates: Vec<(usize, usize, BTreeMap<String, String>)> = state
            .handlers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.method == method)
            .filter_map(|(i, h)| {
                let params = match_pattern(&h.pattern, path)?;
                let statics = h
                    .pattern
                    .trim_matches('/')
                    .split('/')
                    .filter(|seg| !seg.starts_with('{'))
                    .count();
                Some((i, statics, params))
            })
            .collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some((i, _, params)) = candidates.into_iter().next() {
            let h = &state.handlers[i];
            {
                let f = h.f.clone();
                let fr = FakeRequest {
                    method: method.clone(),
                    path: path.to_string(),
                    params,
                    query,
                    headers: req.headers().clone(),
                    body,
                };
                drop(state);
                return Ok(f(&fr).into_http());
            }
        }
        let known: Vec<String> = state
            .handlers
            .iter()
            .map(|h| format!("{} {}", h.method, h.pattern))
            .collect();
        Err(Box::new(Error::invalid(
            InvalidKind::Expectation,
            format!(
                "AssertionError: Called unknown API method: {method} {url}, expected fakes method name: {}; handlers: [{}]",
                fake_method_name(method.as_str(), &url),
                known.join(", ")
            ),
        )))
    }

    /// How many calls were `method` on a path matching `pattern`
    /// (`/servers/{id}`; the query is ignored).
    pub fn call_count(&self, method: &str, pattern: &str) -> usize {
        self.callstack()
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .filter(|c| {
                let path = c.url.split_once('?').map_or(c.url.as_str(), |(p, _)| p);
                match_pattern(pattern, path).is_some()
            })
            .count()
    }

    /// Assert that exactly `n` calls were `method` on paths matching `pattern`.
    #[track_caller]
    pub fn assert_call_count(&self, method: &str, pattern: &str, n: usize) {
        let got = self.call_count(method, pattern);
        if got != n {
            panic!(
                "expected {n} call(s) of {method} {pattern}, got {got}; calls: {:?}",
                self.callstack()
                    .iter()
                    .map(|c| format!("{} {}", c.method, c.url))
                    .collect::<Vec<_>>()
            );
        }
    }

    /// Assert that the last call of `method url` (exact URL, query
    /// included) carried header `name` with `value` (names case-insensitive).
    #[track_caller]
    pub fn assert_header(&self, method: &str, url: &str, name: &str, value: &str) {
        let stack = self.callstack();
        let Some(call) = stack
            .iter()
            .rev()
            .find(|c| c.method.eq_ignore_ascii_case(method) && c.url == url)
        else {
            panic!("no call of {method} {url}; calls: {stack:?}");
        };
        let values: Vec<&str> = call
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if !values.contains(&value) {
            panic!("{method} {url} carried {name}: {values:?}, expected {value:?}");
        }
    }

    /// Assert that the call at `pos` (default: the last) was `method url`,
    /// and, when `body` is given, carried that body.
    #[track_caller]
    pub fn assert_called(&self, method: &str, url: &str, body: Option<&Value>, pos: Option<isize>) {
        let stack = self.callstack();
        assert!(
            !stack.is_empty(),
            "Expected {method} {url}; but no calls were made"
        );
        let pos = pos.unwrap_or(-1);
        let idx = if pos < 0 {
            stack.len() as isize + pos
        } else {
            pos
        };
        let call = usize::try_from(idx).ok().and_then(|i| stack.get(i));
        let Some(call) = call else {
            panic!(
                "Expected {method} {url} at position {pos}; but only {} calls were made",
                stack.len()
            );
        };
        assert!(
            call.method == method && call.url == url,
            "Expected {method} {url}; got {} {}",
            call.method,
            call.url
        );
        if let Some(b) = body {
            assert!(call.body.as_ref() == Some(b), "{:?} != {:?}", call.body, b);
        }
    }

    /// Assert that `method url` (with `body`, when given) was called at any
    /// point; clears the callstack on success, as the reference does.
    #[track_caller]
    pub fn assert_called_anytime(&self, method: &str, url: &str, body: Option<&Value>) {
        let stack = self.callstack();
        assert!(
            !stack.is_empty(),
            "Expected {method} {url}; but no calls were made"
        );
        let found = stack.iter().find(|c| c.method == method && c.url == url);
        let Some(call) = found else {
            let got: Vec<String> = stack
                .iter()
                .map(|c| format!("{} {}", c.method, c.url))
                .collect();
            panic!("Expected {method} {url}; got [{}]", got.join(", "));
        };
        if let Some(b) = body {
            assert!(call.body.as_ref() == Some(b), "{:?} != {:?}", call.body, b);
        }
        self.clear_callstack();
    }
}

/// Assert that `map` has every `required` key (Python's `assert_has_keys`);
/// the message names the missing keys. `optional` keys are allowed; keys in
/// neither list are reported too when a required key is missing.
#[track_caller]
pub fn assert_has_keys(map: &serde_json::Map<String, Value>, required: &[&str], optional: &[&str]) {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !map.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let unexpected: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !required.contains(k) && !optional.contains(k))
            .collect();
        panic!("missing required keys: {missing:?} (unexpected keys: {unexpected:?})");
    }
}

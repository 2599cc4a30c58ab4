//! The shared token state: single-flight authentication and proactive refresh.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use apiclient_auth::transport::SharedTransport;
use apiclient_auth::{AccessInfo, AuthPlugin, ExposeSecret};
use apiclient_errors::{AuthorizationFailure, Error};
use http::HeaderValue;

use crate::store::TokenStore;
use time::OffsetDateTime;

/// A clock, injectable for expiry tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The token of an [`HttpClient`](crate::HttpClient), shared by all its service clients.
///
/// - N concurrent callers that find no token (or a stale one) cause exactly
///   one authentication; the others wait for it and use its token.
/// - A token that expires within the skew is refreshed before use.
/// - A generation counter tells a caller that saw a 401 whether someone has
///   already refreshed the token it used.
/// - No lock is held across a request to a service: only the authentication
///   itself runs under the single-flight lock.
pub struct TokenState {
    plugin: Mutex<Box<dyn AuthPlugin>>,
    current: RwLock<Option<CurrentToken>>,
    generation: AtomicU64,
    auth_lock: tokio::sync::Mutex<()>,
    transport: SharedTransport,
    skew: Duration,
    clock: Clock,
    authentications: AtomicU64,
    store: Option<Arc<dyn TokenStore>>,
    store_consulted: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for TokenState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenState")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .field("skew", &self.skew)
            .finish_non_exhaustive()
    }
}

/// A token in use: the access record, its generation, its `X-Auth-Token`
/// header value (built once, marked sensitive), and whether this caller
/// authenticated.
#[derive(Debug, Clone)]
pub struct CurrentToken {
    /// The access record.
    pub access: Arc<AccessInfo>,
    /// Its generation.
    pub generation: u64,
    /// The header value of its token (None for an empty token: `none` plugin).
    pub header: Option<HeaderValue>,
    /// Whether this very call performed the authentication.
    pub just_authenticated: bool,
}

/// The token header for an access record: sensitive from birth. A token
/// that is not a valid header value (CR/LF, control characters) is an
/// error, never a request sent without `X-Auth-Token`.
fn token_header(access: &AccessInfo) -> Result<Option<HeaderValue>, Error> {
    let token = access.token().expose_secret();
    if token.is_empty() {
        return Ok(None);
    }
    let mut v = HeaderValue::from_str(token).map_err(|_| {
        AuthorizationFailure::Other(
            "the token is not a valid HTTP header value (it holds control characters or \
             non-visible bytes); check OS_TOKEN / --os-token"
                .into(),
        )
    })?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// Run blocking token-store I/O off the async worker threads.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.ok(),
        Err(_) => Some(f()),
    }
}

impl TokenState {
    /// State for `plugin`, authenticating through `transport`.
    pub fn new(
        plugin: Box<dyn AuthPlugin>,
        transport: SharedTransport,
        skew: Duration,
        clock: Clock,
    ) -> Self {
        TokenState {
            plugin: Mutex::new(plugin),
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
            auth_lock: tokio::sync::Mutex::new(()),
            transport,
            skew,
            clock,
            authentications: AtomicU64::new(0),
            store: None,
            store_consulted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Consult `store` before the first authentication and write every new token to it.
    pub fn with_store(mut self, store: Option<Arc<dyn TokenStore>>) -> Self {
        self.store = store;
        self
    }

    fn cache_key(&self) -> Option<String> {
        self.with_plugin(|p| p.cache_key()).ok()
    }

    /// How many authentications this state has performed.
    pub fn authentications(&self) -> u64 {
        self.authentications.load(Ordering::Relaxed)
    }

    /// The current access record, if any (expired or not).
    pub fn access(&self) -> Option<Arc<AccessInfo>> {
        self.current
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|t| t.access.clone()))
    }

    /// Run `f` with the plugin.
    pub fn with_plugin<R>(&self, f: impl FnOnce(&mut dyn AuthPlugin) -> R) -> Result<R, Error> {
        let mut p = self
            .plugin
            .lock()
            .map_err(|_| Error::config("auth plugin lock poisoned"))?;
        Ok(f(p.as_mut()))
    }

    /// Forget the token (the next request authenticates).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.current.write() {
            *c = None;
        }
        let _ = self.with_plugin(|p| p.invalidate());
    }

    /// Install a token obtained elsewhere (e.g. from a token store); returns
    /// it as current. A token that is not a valid header value is refused.
    pub fn install(&self, access: AccessInfo) -> Result<CurrentToken, Error> {
        let header = token_header(&access)?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let token = CurrentToken {
            header,
            access: Arc::new(access),
            generation,
            just_authenticated: false,
        };
        if let Ok(mut c) = self.current.write() {
            *c = Some(token.clone());
        }
        Ok(token)
    }

    /// A stored record, if the store has a usable one for this plugin: the
    /// same key, not about to expire, and no endpoint override that the
    /// plugin's own options do not have. Read off the async threads.
    async fn load_stored(&self) -> Option<AccessInfo> {
        let store = self.store.clone()?;
        if self.store_consulted.swap(true, Ordering::SeqCst) {
            return None;
        }
        let key = self.cache_key()?;
        let configured = self
            .with_plugin(|p| p.fixed_endpoint().map(str::to_string))
            .ok()?;
        let stored = blocking(move || store.load(&key)).await??;
        if stored.will_expire_soon(self.skew, (self.clock)()) {
            return None;
        }
        if stored.endpoint_override != configured {
            tracing::warn!(target: "apiclient_http::store", "ignoring a stored token whose endpoint differs from the configuration");
            return None;
        }
        Some(stored)
    }

    fn fresh(&self, not_generation: Option<u64>) -> Option<CurrentToken> {
        let c = self.current.read().ok()?;
        let t = c.as_ref()?;
        if Some(t.generation) == not_generation
            || t.access.will_expire_soon(self.skew, (self.clock)())
        {
            return None;
        }
        Some(t.clone())
    }

    /// A usable token: the current one, or one from a (single-flight) authentication.
    pub async fn get(&self) -> Result<CurrentToken, Error> {
        if let Some(t) = self.fresh(None) {
            return Ok(t);
        }
        let _guard = self.auth_lock.lock().await;
        if let Some(t) = self.fresh(None) {
            return Ok(t);
        }
        if let Some(stored) = self.load_stored().await {
            tracing::debug!(target: "apiclient_http::auth", "using a stored token");
            return self.install(stored);
        }
        self.authenticate_locked().await
    }

    /// After a 401 with the token of generation `stale`: a newer token if
    /// someone already refreshed, else one fresh authentication (with the
    /// plugin's fixed token and endpoint dropped first). `None` when the
    /// plugin cannot re-authenticate (its options no longer suffice).
    pub async fn refresh_after_401(&self, stale: u64) -> Result<Option<CurrentToken>, Error> {
        let _guard = self.auth_lock.lock().await;
        if let Some(t) = self.fresh(Some(stale)) {
            return Ok(Some(t));
        }
        let can = self.with_plugin(|p| p.prepare_reauthentication())?;
        if !can {
            return Ok(None);
        }
        Ok(Some(self.authenticate_locked().await?))
    }

    /// Authenticate now (single-flight with other callers).
    pub async fn authenticate(&self) -> Result<Arc<AccessInfo>, Error> {
        let _guard = self.auth_lock.lock().await;
        Ok(self.authenticate_locked().await?.access)
    }

    async fn authenticate_locked(&self) -> Result<CurrentToken, Error> {
        let fut = self.with_plugin(|p| p.authenticate(self.transport.clone()))?;
        let access = fut.await?;
        self.authentications.fetch_add(1, Ordering::Relaxed);
        let mut token = self.install(access)?;
        // A fixed credential (admin_token, none, http_basic) costs nothing to
        // reproduce and may be a password in disguise: never stored.
        let storable = token.access.version != apiclient_auth::access::IdentityVersion::None;
        if let (true, Some(store), Some(key)) = (storable, self.store.clone(), self.cache_key()) {
            let access = token.access.clone();
            blocking(move || store.save(&key, &access)).await;
        }
        token.just_authenticated = true;
        Ok(token)
    }
}

//! The shared token state: single-flight authentication and proactive refresh.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use apiclient_auth::transport::SharedTransport;
use apiclient_auth::{AccessInfo, AuthPlugin};
use apiclient_errors::{AuthorizationFailure, Error};

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
    current: RwLock<Option<(Arc<AccessInfo>, u64)>>,
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

/// A token in use: the access record, its generation, and whether this caller authenticated.
#[derive(Debug, Clone)]
pub struct CurrentToken {
    /// The access record.
    pub access: Arc<AccessInfo>,
    /// Its generation.
    pub generation: u64,
    /// Whether this very call performed the authentication.
    pub just_authenticated: bool,
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
            .and_then(|c| c.as_ref().map(|(a, _)| a.clone()))
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

    /// Install a token obtained elsewhere (e.g. from a token store).
    pub fn install(&self, access: AccessInfo) -> u64 {
        let gen_ = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(mut c) = self.current.write() {
            *c = Some((Arc::new(access), gen_));
        }
        gen_
    }

    fn fresh(&self, not_generation: Option<u64>) -> Option<(Arc<AccessInfo>, u64)> {
        let c = self.current.read().ok()?;
        let (a, g) = c.as_ref()?;
        if Some(*g) == not_generation || a.will_expire_soon(self.skew, (self.clock)()) {
            return None;
        }
        Some((a.clone(), *g))
    }

    /// A usable token: the current one, or one from a (single-flight) authentication.
    pub async fn get(&self) -> Result<CurrentToken, Error> {
        if let Some((access, generation)) = self.fresh(None) {
            return Ok(CurrentToken {
                access,
                generation,
                just_authenticated: false,
            });
        }
        let _guard = self.auth_lock.lock().await;
        if let Some((access, generation)) = self.fresh(None) {
            return Ok(CurrentToken {
                access,
                generation,
                just_authenticated: false,
            });
        }
        if let Some(store) = &self.store
            && !self.store_consulted.swap(true, Ordering::SeqCst)
            && let Some(stored) = self.cache_key().and_then(|k| store.load(&k))
            && !stored.will_expire_soon(self.skew, (self.clock)())
        {
            tracing::debug!(target: "apiclient_http::auth", "using a stored token");
            let generation = self.install(stored);
            if let Some(access) = self.access() {
                return Ok(CurrentToken {
                    access,
                    generation,
                    just_authenticated: false,
                });
            }
        }
        let (access, generation) = self.authenticate_locked().await?;
        Ok(CurrentToken {
            access,
            generation,
            just_authenticated: true,
        })
    }

    /// After a 401 with the token of generation `stale`: a newer token if
    /// someone already refreshed, else one fresh authentication (with the
    /// plugin's fixed token and endpoint dropped first). `None` when the
    /// plugin cannot re-authenticate (its options no longer suffice).
    pub async fn refresh_after_401(&self, stale: u64) -> Result<Option<CurrentToken>, Error> {
        let _guard = self.auth_lock.lock().await;
        if let Some((access, generation)) = self.fresh(Some(stale)) {
            return Ok(Some(CurrentToken {
                access,
                generation,
                just_authenticated: false,
            }));
        }
        let can = self.with_plugin(|p| {
            p.clear_fixed_credentials();
            p.sufficient_options().is_ok()
        })?;
        if !can {
            return Ok(None);
        }
        let (access, generation) = self.authenticate_locked().await?;
        Ok(Some(CurrentToken {
            access,
            generation,
            just_authenticated: true,
        }))
    }

    /// Authenticate now (single-flight with other callers).
    pub async fn authenticate(&self) -> Result<Arc<AccessInfo>, Error> {
        let _guard = self.auth_lock.lock().await;
        Ok(self.authenticate_locked().await?.0)
    }

    async fn authenticate_locked(&self) -> Result<(Arc<AccessInfo>, u64), Error> {
        let fut = self.with_plugin(|p| {
            p.sufficient_options()
                .map(|_| p.authenticate(self.transport.clone()))
        })?;
        let fut = fut.map_err(|e: AuthorizationFailure| Error::from(e))?;
        let access = Arc::new(fut.await?);
        self.authentications.fetch_add(1, Ordering::Relaxed);
        if let (Some(store), Some(key)) = (&self.store, self.cache_key()) {
            store.save(&key, &access);
        }
        let gen_ = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(mut c) = self.current.write() {
            *c = Some((access.clone(), gen_));
        }
        Ok((access, gen_))
    }
}

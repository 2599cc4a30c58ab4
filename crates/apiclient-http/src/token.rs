//! The shared token state: single-flight authentication and proactive
//! refresh within a process, and the token store's part in them (a token
//! another client or process saved, re-scoping, the store's lock held from
//! load to save).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use apiclient_auth::access::IdentityVersion;
use apiclient_auth::transport::SharedTransport;
use apiclient_auth::{AccessInfo, AuthPlugin, ExposeSecret};
use apiclient_errors::{AuthorizationFailure, Error};
use http::HeaderValue;

use crate::store::{StoreLock, TokenStore, TryLock};
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
/// - With a [`TokenStore`]: a token is first looked for in the store (one
///   another client or process saved; never the token just rejected), then
///   obtained under the store's lock of the key (when it locks: N processes
///   that find no entry at once authenticate once, the others wait, bounded
///   by [`TokenStore::lock_wait`], and read the entry), by re-scoping a
///   stored token of the same credentials for another scope when the plugin
///   can ([`AuthPlugin::rescope`]), else by authenticating; then saved. A
///   plugin without a [`cache_key`](AuthPlugin::cache_key) never touches
///   the store.
pub struct TokenState {
    plugin: Mutex<Box<dyn AuthPlugin>>,
    current: RwLock<Option<Held>>,
    generation: AtomicU64,
    auth_lock: tokio::sync::Mutex<()>,
    transport: SharedTransport,
    skew: Duration,
    clock: Clock,
    /// Whether `clock` is the system's (the builder's default): the
    /// current token's renewal time is then compared as it was computed
    /// when the token came, not re-derived on every request.
    system_clock: bool,
    authentications: AtomicU64,
    store: Option<Arc<dyn TokenStore>>,
    /// Set by [`TokenState::invalidate`]: the next renewal authenticates
    /// instead of taking a stored token.
    skip_stored: AtomicBool,
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

/// The current token, with when it is to be renewed.
#[derive(Debug)]
struct Held {
    token: CurrentToken,
    renew_at: RenewAt,
}

/// When a token is due for renewal: its expiry less the skew, computed
/// once (as [`AccessInfo::will_expire_soon`] computes it on every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RenewAt {
    /// It does not expire.
    Never,
    /// At this instant, in nanoseconds since the Unix epoch (UTC).
    At(i128),
    /// Always due (a skew too large to subtract from its expiry).
    Always,
}

impl RenewAt {
    fn of(access: &AccessInfo, skew: Duration) -> Self {
        let Some(exp) = access.expires_at else {
            return RenewAt::Never;
        };
        match time::Duration::try_from(skew)
            .ok()
            .and_then(|s| exp.checked_sub(s))
        {
            Some(at) => RenewAt::At(at.unix_timestamp_nanos()),
            None => RenewAt::Always,
        }
    }

    /// Whether renewal is due at `now` (nanoseconds since the Unix epoch).
    fn is_due(self, now: i128) -> bool {
        match self {
            RenewAt::Never => false,
            RenewAt::At(at) => at <= now,
            RenewAt::Always => true,
        }
    }
}

/// The system's wall clock, in nanoseconds since the Unix epoch (what
/// `OffsetDateTime::now_utc().unix_timestamp_nanos()` reads, without the
/// calendar arithmetic).
fn unix_nanos_now() -> i128 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
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
            system_clock: false,
            authentications: AtomicU64::new(0),
            store: None,
            skip_stored: AtomicBool::new(false),
        }
    }

    /// `clock` (given to [`new`](Self::new)) is the system's wall clock:
    /// each token's renewal time is computed once, when it comes.
    pub(crate) fn on_system_clock(mut self) -> Self {
        self.system_clock = true;
        self
    }

    /// Consult `store` before authenticating and write every new token to it.
    pub fn with_store(mut self, store: Option<Arc<dyn TokenStore>>) -> Self {
        self.store = store;
        self
    }

    /// The store and the plugin's key in it, when there are both.
    fn store_key(&self) -> Option<(Arc<dyn TokenStore>, String)> {
        let store = self.store.clone()?;
        let key = self.with_plugin(|p| p.cache_key()).ok()??;
        Some((store, key))
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
            .and_then(|c| c.as_ref().map(|h| h.token.access.clone()))
    }

    /// Run `f` with the plugin.
    pub fn with_plugin<R>(&self, f: impl FnOnce(&mut dyn AuthPlugin) -> R) -> Result<R, Error> {
        let mut p = self
            .plugin
            .lock()
            .map_err(|_| Error::config("auth plugin lock poisoned"))?;
        Ok(f(p.as_mut()))
    }

    /// Forget the token (the next request authenticates, without taking a
    /// stored token).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.current.write() {
            *c = None;
        }
        self.skip_stored.store(true, Ordering::SeqCst);
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
        let renew_at = RenewAt::of(&token.access, self.skew);
        if let Ok(mut c) = self.current.write() {
            *c = Some(Held {
                token: token.clone(),
                renew_at,
            });
        }
        Ok(token)
    }

    /// `stored` if it is usable now: not about to expire, not the token
    /// `stale` (just rejected, or the one being replaced), and no endpoint
    /// override that the plugin's own options do not have.
    fn usable(&self, stored: AccessInfo, stale: Option<&AccessInfo>) -> Option<AccessInfo> {
        if stored.will_expire_soon(self.skew, (self.clock)()) {
            return None;
        }
        if stale.is_some_and(|s| s.same_token(&stored)) {
            return None;
        }
        let configured = self
            .with_plugin(|p| p.fixed_endpoint().map(str::to_string))
            .ok()?;
        if stored.endpoint_override != configured {
            tracing::warn!(target: "apiclient_http::store", "ignoring a stored token whose endpoint differs from the configuration");
            return None;
        }
        Some(stored)
    }

    /// The store's usable record for `key`, read off the async threads.
    async fn load_usable(
        &self,
        store: &Arc<dyn TokenStore>,
        key: &str,
        stale: Option<&AccessInfo>,
    ) -> Option<AccessInfo> {
        let (s, k) = (store.clone(), key.to_string());
        let stored = blocking(move || s.load(&k)).await??;
        self.usable(stored, stale)
    }

    /// Wait for the store's lock of `key`, polling (the wait ends with the
    /// future: a caller's deadline stops it), and reading the entry between
    /// polls: the holder is usually authenticating the same credentials, and
    /// its token, once saved, ends the wait.
    async fn wait_for_lock(
        &self,
        store: &Arc<dyn TokenStore>,
        key: &str,
        stale: Option<&AccessInfo>,
        use_stored: bool,
    ) -> Waited {
        const FIRST_PAUSE: Duration = Duration::from_millis(10);
        const LONGEST_PAUSE: Duration = Duration::from_millis(100);
        if tokio::runtime::Handle::try_current().is_err() {
            return Waited::Without;
        }
        let wait = store.lock_wait();
        let until = tokio::time::Instant::now() + wait;
        let mut pause = FIRST_PAUSE;
        loop {
            let (s, k) = (store.clone(), key.to_string());
            match blocking(move || s.try_lock(&k)).await {
                Some(TryLock::Acquired(held)) => return Waited::Held(held),
                Some(TryLock::Busy) => {}
                _ => return Waited::Without,
            }
            if tokio::time::Instant::now() >= until {
                tracing::warn!(
                    target: "apiclient_http::store",
                    "another client held the token cache's lock for {} s; authenticating without it",
                    wait.as_secs_f64()
                );
                return Waited::Without;
            }
            let jitter = Duration::from_millis(fastrand::u64(0..=pause.as_millis() as u64 / 2));
            tokio::time::sleep(pause + jitter).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
            if use_stored && let Some(found) = self.load_usable(store, key, stale).await {
                return Waited::Loaded(Box::new(found));
            }
        }
    }

    /// Under the single-flight lock: a new token for the plugin, `stale`
    /// being the one to replace. From the store when it has a usable one
    /// (another client or process saved it), else under the store's lock of
    /// the key: re-scoped from a token of the same credentials, or
    /// authenticated; then saved.
    async fn renew(
        &self,
        stale: Option<&AccessInfo>,
        reason: &'static str,
    ) -> Result<CurrentToken, Error> {
        let use_stored = !self.skip_stored.swap(false, Ordering::SeqCst);
        let Some((store, key)) = self.store_key() else {
            return self.obtain(None, false, reason).await;
        };
        if use_stored && let Some(found) = self.load_usable(&store, &key, stale).await {
            tracing::debug!(target: "apiclient_http::auth", "using a stored token");
            return self.install(found);
        }
        let held = match self.wait_for_lock(&store, &key, stale, use_stored).await {
            Waited::Loaded(found) => {
                tracing::debug!(target: "apiclient_http::auth", "using a token another client stored");
                return self.install(*found);
            }
            Waited::Held(held) => {
                // saved while this client waited for the lock
                if use_stored && let Some(found) = self.load_usable(&store, &key, stale).await {
                    tracing::debug!(target: "apiclient_http::auth", "using a token another client stored");
                    return self.install(found);
                }
                Some(held)
            }
            Waited::Without => None,
        };
        let token = self.obtain(Some((&store, &key)), use_stored, reason).await;
        drop(held);
        token
    }

    /// A token of the same credentials for another scope, re-scoped to the
    /// plugin's (None when there is none, or Keystone refused: the caller
    /// then authenticates).
    async fn rescoped(&self, store: &Arc<dyn TokenStore>, key: &str) -> Option<AccessInfo> {
        let credentials = self.with_plugin(|p| p.credentials_key()).ok()??;
        let (s, k) = (store.clone(), key.to_string());
        let other = blocking(move || s.load_other_scope(&credentials, &k)).await??;
        if other.version != IdentityVersion::V3
            || other.endpoint_override.is_some()
            || other.will_expire_soon(self.skew, (self.clock)())
        {
            return None;
        }
        let rescope = self
            .with_plugin(|p| p.rescope(other.token(), self.transport.clone()))
            .ok()??;
        match rescope.await {
            Ok(access) => {
                tracing::debug!(target: "apiclient_http::auth", "re-scoped a stored token of the same credentials");
                Some(access)
            }
            Err(e) => {
                tracing::debug!(target: "apiclient_http::auth", error = %e, "re-scoping a stored token failed; authenticating");
                None
            }
        }
    }

    fn fresh(&self, not_generation: Option<u64>) -> Option<CurrentToken> {
        let c = self.current.read().ok()?;
        let held = c.as_ref()?;
        let t = &held.token;
        if Some(t.generation) == not_generation {
            return None;
        }
        let expiring = if self.system_clock {
            held.renew_at.is_due(unix_nanos_now())
        } else {
            t.access.will_expire_soon(self.skew, (self.clock)())
        };
        if expiring {
            return None;
        }
        Some(t.clone())
    }

    /// The current token when it is usable now (no renewal due): what
    /// [`get`](Self::get) returns without waiting.
    pub(crate) fn current(&self) -> Option<CurrentToken> {
        self.fresh(None)
    }

    /// A usable token: the current one, or one from a (single-flight)
    /// renewal (the store, a re-scoping, an authentication).
    pub async fn get(&self) -> Result<CurrentToken, Error> {
        if let Some(t) = self.fresh(None) {
            return Ok(t);
        }
        let _guard = self.auth_lock.lock().await;
        if let Some(t) = self.fresh(None) {
            return Ok(t);
        }
        let stale = self.access();
        let reason = if stale.is_some() {
            "refresh"
        } else {
            "initial"
        };
        self.renew(stale.as_deref(), reason).await
    }

    /// After a 401 with the token of generation `stale`: a newer token if
    /// someone already refreshed (this client, or another that stored one),
    /// else one fresh authentication (with the plugin's fixed token and
    /// endpoint dropped first). `None` when the plugin cannot
    /// re-authenticate (its options no longer suffice).
    pub async fn refresh_after_401(&self, stale: u64) -> Result<Option<CurrentToken>, Error> {
        let _guard = self.auth_lock.lock().await;
        if let Some(t) = self.fresh(Some(stale)) {
            return Ok(Some(t));
        }
        let can = self.with_plugin(|p| p.prepare_reauthentication())?;
        if !can {
            return Ok(None);
        }
        let rejected = self.access();
        Ok(Some(self.renew(rejected.as_deref(), "rejected").await?))
    }

    /// Authenticate now (single-flight with other callers); the new token
    /// is saved to the store, none is taken from it.
    pub async fn authenticate(&self) -> Result<Arc<AccessInfo>, Error> {
        let _guard = self.auth_lock.lock().await;
        let store = self.store_key();
        let store = store.as_ref().map(|(s, k)| (s, k.as_str()));
        Ok(self.obtain(store, false, "explicit").await?.access)
    }

    /// The store's record for the plugin's key (its credentials and scope)
    /// when there is a usable one: what a `status` command shows, and what
    /// a `revoke` command revokes. None without a store or a key.
    pub async fn stored(&self) -> Option<AccessInfo> {
        let (store, key) = self.store_key()?;
        self.load_usable(&store, &key, None).await
    }

    /// Forget `revoked` (a token revoked at Keystone, say): the store's
    /// record for the plugin's key if it still holds that token (under the
    /// store's lock), and the current token if it is that one. Returns
    /// whether the store's record went.
    pub async fn forget_stored(&self, revoked: &AccessInfo) -> bool {
        let _guard = self.auth_lock.lock().await;
        if self.access().is_some_and(|a| a.same_token(revoked))
            && let Ok(mut c) = self.current.write()
        {
            *c = None;
        }
        let Some((store, key)) = self.store_key() else {
            return false;
        };
        let held = match self.wait_for_lock(&store, &key, None, false).await {
            Waited::Held(held) => Some(held),
            _ => None,
        };
        let revoked = revoked.clone();
        let removed = blocking(move || {
            let holds = store.load(&key).is_some_and(|s| s.same_token(&revoked));
            if holds {
                store.remove(&key);
            }
            holds
        })
        .await
        .unwrap_or(false);
        drop(held);
        removed
    }

    /// Re-scope (when `rescope` and the plugin can) or authenticate;
    /// install the token, and save it to `store` under its key. Counted as
    /// the `apiclient.auth.token.issues` metric, with `reason`.
    async fn obtain(
        &self,
        store: Option<(&Arc<dyn TokenStore>, &str)>,
        rescope: bool,
        reason: &'static str,
    ) -> Result<CurrentToken, Error> {
        let rescoped = match store {
            Some((s, k)) if rescope => self.rescoped(s, k).await,
            _ => None,
        };
        let (access, how) = match rescoped {
            Some(access) => (access, "rescope"),
            None => {
                let authenticated =
                    match self.with_plugin(|p| p.authenticate(self.transport.clone())) {
                        Ok(fut) => fut.await,
                        Err(e) => Err(e),
                    };
                crate::layers::metrics::token_issued(reason, "authenticate", authenticated.is_ok());
                (authenticated?, "authenticate")
            }
        };
        if how == "rescope" {
            crate::layers::metrics::token_issued(reason, how, true);
        }
        self.authentications.fetch_add(1, Ordering::Relaxed);
        let mut token = self.install(access)?;
        // A fixed credential (admin_token, none, http_basic) costs nothing to
        // reproduce and may be a password in disguise: never stored.
        let storable = token.access.version != IdentityVersion::None;
        if let (true, Some((store, key))) = (storable, store) {
            let credentials = self.with_plugin(|p| p.credentials_key()).ok().flatten();
            let (store, key, access) = (store.clone(), key.to_string(), token.access.clone());
            blocking(move || match credentials {
                Some(c) => store.save_with_credentials(&key, &c, &access),
                None => store.save(&key, &access),
            })
            .await;
        }
        token.just_authenticated = true;
        Ok(token)
    }
}

/// How a wait for the store's lock ended.
enum Waited {
    /// With the lock.
    Held(StoreLock),
    /// With a usable entry another client saved meanwhile.
    Loaded(Box<AccessInfo>),
    /// Without either: the store does not lock, or the wait ran out.
    Without,
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiclient_auth::transport::FnTransport;
    use time::OffsetDateTime;

    /// A token record with `token`, expiring at `expires_at`.
    fn access(token: &str, expires_at: Option<OffsetDateTime>) -> AccessInfo {
        let mut a = AccessInfo::fixed(token.to_string().into(), Some("http://nova".into()));
        a.expires_at = expires_at;
        a
    }

    /// The renewal time computed once says what `will_expire_soon` says
    /// at every moment around it, for any skew.
    #[test]
    fn a_renewal_time_is_due_when_the_token_would_expire_soon() {
        let now = OffsetDateTime::now_utc();
        let skews = [
            Duration::ZERO,
            Duration::from_secs(120),
            Duration::from_secs(3600),
            Duration::MAX,
        ];
        for skew in skews {
            for offset in [-7200i64, -121, -120, -119, -1, 0, 1, 119, 120, 121, 7200] {
                let expires = now + time::Duration::seconds(offset);
                let a = access("t", Some(expires));
                for probe in [-1_000_000i64, -1, 0, 1, 1_000_000] {
                    let at = now + time::Duration::nanoseconds(probe);
                    assert_eq!(
                        RenewAt::of(&a, skew).is_due(at.unix_timestamp_nanos()),
                        a.will_expire_soon(skew, at),
                        "skew {skew:?}, expiry {offset} s, probe {probe} ns"
                    );
                }
            }
        }
        assert_eq!(
            RenewAt::of(&access("t", None), Duration::MAX),
            RenewAt::Never
        );
        let far = access("t", Some(now + time::Duration::days(1)));
        assert_eq!(RenewAt::of(&far, Duration::MAX), RenewAt::Always);
    }

    /// On the system clock, the current token is offered until its
    /// renewal time and no longer; the system clock reads as `time` reads it.
    #[test]
    fn on_the_system_clock_a_token_due_for_renewal_is_not_current() {
        let transport: SharedTransport = Arc::new(FnTransport::new(|_| async {
            Err(Error::config("no authentication in this test"))
        }));
        let state = TokenState::new(
            Box::new(apiclient_auth::typed::AdminToken::new("http://nova", "t")),
            transport,
            Duration::from_secs(120),
            Arc::new(OffsetDateTime::now_utc),
        )
        .on_system_clock();
        let now = OffsetDateTime::now_utc();
        state
            .install(access("later", Some(now + time::Duration::hours(1))))
            .unwrap();
        assert!(state.current().is_some());
        state
            .install(access("soon", Some(now + time::Duration::seconds(60))))
            .unwrap();
        assert!(state.current().is_none(), "due: 60 s left, 120 s of skew");
        state.install(access("fixed", None)).unwrap();
        assert!(state.current().is_some());
        let before = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let read = unix_nanos_now();
        let after = OffsetDateTime::now_utc().unix_timestamp_nanos();
        assert!(before <= read && read <= after);
    }
}

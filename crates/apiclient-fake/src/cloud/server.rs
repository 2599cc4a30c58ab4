//! The fake cloud's server: [`FakeCloudBuilder`] binds a port and starts
//! it, [`FakeCloud`] is the running cloud's handle (faults, counters,
//! tokens, identity providers, mounted services), and the accept loop.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::fault::Fault;
use super::state::{FakeUser, State};
use super::{compute, image, routes};

/// Builds a [`FakeCloud`].
#[derive(Debug, Clone)]
pub struct FakeCloudBuilder {
    token_lifetime: Duration,
    servers: usize,
    images: usize,
}

impl Default for FakeCloudBuilder {
    fn default() -> Self {
        FakeCloudBuilder {
            token_lifetime: Duration::from_secs(3600),
            servers: 5,
            images: 5,
        }
    }
}

impl FakeCloudBuilder {
    /// Tokens live this long (default one hour).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.token_lifetime = d;
        self
    }

    /// Start with this many servers (default 5).
    pub fn servers(mut self, n: usize) -> Self {
        self.servers = n;
        self
    }

    /// Start with this many images (default 5).
    pub fn images(mut self, n: usize) -> Self {
        self.images = n;
        self
    }

    /// Bind 127.0.0.1 on an ephemeral port and serve.
    pub async fn start(self) -> std::io::Result<FakeCloud> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let mut servers = BTreeMap::new();
        for i in 0..self.servers {
            let (id, server) = compute::seeded_server(i);
            servers.insert(id, server);
        }
        let images = (0..self.images).map(image::seeded_image).collect();
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            users: vec![
                FakeUser {
                    id: "u-admin".into(),
                    name: "admin".into(),
                    password: "secret".into(),
                    project_id: "p-admin".into(),
                },
                FakeUser {
                    id: "u-demo".into(),
                    name: "demo".into(),
                    password: "demopass".into(),
                    project_id: "p-demo".into(),
                },
            ],
            projects: vec![
                ("p-admin".into(), "admin".into()),
                ("p-demo".into(), "demo".into()),
            ],
            app_creds: vec![("ac-1".into(), "ci-test".into(), "appcredsecret".into(), 1)],
            tokens: HashMap::new(),
            token_lifetime: self.token_lifetime,
            faults: VecDeque::new(),
            fault_prefix: "/v2.1".into(),
            counts: BTreeMap::new(),
            servers,
            images,
            mounted: BTreeMap::new(),
            next_id: 1,
            federation: BTreeMap::new(),
        }));
        let connections = Arc::new(AtomicU64::new(0));
        let objects = Arc::new(crate::object_store::ObjectStore::new()?);
        let accept = tokio::spawn(serve(listener, state.clone(), objects, connections.clone()));
        Ok(FakeCloud {
            addr,
            base,
            state,
            accept,
            connections,
        })
    }
}

/// A running fake cloud. Stopped when dropped.
///
/// Users: `admin`/`secret` (project `admin`), `demo`/`demopass` (project
/// `demo`); application credential `ac-1` (name `ci-test`, user `demo`,
/// secret `appcredsecret`). Catalog (RegionOne): identity at `/v3`,
/// compute at `/v2.1`, image at `/image`, block-storage at `/volume/v3/<project>`,
/// object-store at `/v1/AUTH_<project>`, and every [`mount`](Self::mount)ed
/// service at `/svc/<type>`.
///
/// The compute service is Nova-shaped: UUID ids ([`server_id`](Self::server_id)),
/// `/servers` (id, name, links) and `/servers/detail`, `/flavors` and
/// `/flavors/detail`, server actions (`POST /servers/{id}/action`, 202),
/// create answering 202 with `id`, `links` and `adminPass`; it checks the
/// microversion asked for (2.1 to 2.96, `latest`; 406 outside) and echoes it
/// in `OpenStack-API-Version` and `X-OpenStack-Nova-API-Version`.
///
/// Route names for [`count`](Self::count): `"<METHOD> <path>"` with ids
/// replaced: `GET /v2.1/servers/{id}`, `GET /v2.1/flavors/{id}`,
/// `POST /v2.1/servers/{id}/action`, `GET /image/v2/images/{id}`,
/// `PUT /v1/{account}/<container>/<object>`, `POST /v3/auth/tokens`; other
/// paths as they are.
pub struct FakeCloud {
    addr: SocketAddr,
    base: String,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
    connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloud")
            .field("url", &self.base)
            .finish()
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeCloud {
    /// Start with the defaults.
    pub async fn start() -> std::io::Result<FakeCloud> {
        FakeCloudBuilder::default().start().await
    }

    /// A builder.
    pub fn builder() -> FakeCloudBuilder {
        FakeCloudBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity v3 URL (`<url>/v3`).
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.base)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// The next `n` requests whose path starts with the fault prefix (default
    /// `/v2.1`, the compute service) get `fault`.
    pub fn inject(&self, fault: Fault, n: usize) {
        self.with(|s| s.faults.extend(std::iter::repeat_n(fault, n)));
    }

    /// Apply faults to paths starting with `prefix` (e.g. `/v3` or `/`).
    pub fn set_fault_prefix(&self, prefix: &str) {
        self.with(|s| s.fault_prefix = prefix.to_string());
    }

    /// How many requests `route` saw, e.g. `"POST /v3/auth/tokens"` or `"GET /v2.1/servers"`.
    pub fn count(&self, route: &str) -> u64 {
        self.with(|s| s.counts.get(route).copied().unwrap_or(0))
    }

    /// Every route's count.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.with(|s| s.counts.clone())
    }

    /// Reset the counters.
    pub fn reset_counts(&self) {
        self.with(|s| s.counts.clear());
    }

    /// Revoke every token issued so far.
    pub fn revoke_all(&self) {
        self.with(|s| s.tokens.values_mut().for_each(|t| t.revoked = true));
    }

    /// Change the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.with(|s| s.token_lifetime = d);
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.with(|s| s.tokens.len())
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// The id of seeded server `i` (`server-<i>`): UUID-shaped, as Nova's.
    pub fn server_id(i: usize) -> String {
        compute::server_id(i)
    }

    /// Trust an identity provider: `POST
    /// /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
    /// with `Authorization: Bearer <token>` answers an unscoped token of
    /// `local_user` (methods `[protocol]`) when `check(token)` holds, 401
    /// otherwise; as a mapping of every federated identity to one user does.
    /// An unknown `local_user` is refused (false).
    pub fn add_identity_provider(
        &self,
        idp: &str,
        protocol: &str,
        check: impl Fn(&str) -> bool + Send + Sync + 'static,
        local_user: &str,
    ) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(user) = s.users.iter().position(|u| u.name == local_user) else {
            return false;
        };
        s.federation.insert(
            (idp.to_string(), protocol.to_string()),
            (Arc::new(check), user),
        );
        true
    }

    /// Serve `service_type` (it appears in the catalog, at
    /// `<url>/svc/<service_type>`) with `handler`: it receives the request
    /// with its path relative to that endpoint and answers a
    /// [`TestResponse`](crate::TestResponse). The token is checked first (a
    /// 401 otherwise); faults and counters apply as to the built-in services.
    ///
    /// ```
    /// use apiclient_fake::{FakeCloud, TestResponse};
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// cloud.mount("placement", |req| TestResponse::json(200, &serde_json::json!({"path": req.path})));
    /// # });
    /// ```
    pub fn mount(
        &self,
        service_type: &str,
        handler: impl Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync + 'static,
    ) {
        self.with(|s| {
            s.mounted
                .insert(service_type.to_string(), Arc::new(handler));
        });
    }

    /// Replace the servers with `n` generated ones.
    pub fn set_servers(&self, n: usize) {
        self.with(|s| s.servers = (0..n).map(compute::seeded_server).collect());
    }
}

async fn serve(
    listener: TcpListener,
    state: Arc<Mutex<State>>,
    objects: Arc<crate::object_store::ObjectStore>,
    connections: Arc<AtomicU64>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        let objects = objects.clone();
        tasks.spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                routes::handle(state.clone(), objects.clone(), req)
            });
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
        });
        while tasks.try_join_next().is_some() {}
    }
}

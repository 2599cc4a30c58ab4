//! The fake cloud's server: [`FakeCloudBuilder`] binds a port and starts
//! it, [`FakeCloud`] is the running cloud's handle (faults, counters,
//! tokens, identity providers, mounted services, clients), and the accept
//! loop.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_errors::{BoxError, Error, InvalidKind};
use apiclient_http::{HttpClient, HttpClientBuilder};
use http::{Request, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::fault::Fault;
use super::mount::{self, MountBody};
use super::state::{FakeUser, Mounted, State, VolumeFailure};
use super::{compute, image, routes};

/// Builds a [`FakeCloud`].
#[derive(Debug, Clone)]
pub struct FakeCloudBuilder {
    token_lifetime: Duration,
    servers: usize,
    images: usize,
    status_delay: Duration,
}

impl Default for FakeCloudBuilder {
    fn default() -> Self {
        FakeCloudBuilder {
            token_lifetime: Duration::from_secs(3600),
            servers: 5,
            images: 5,
            status_delay: Duration::ZERO,
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

    /// Start with this many images (default 5): `img-000000`, ...
    /// (`image-0`, ...), public, active, with a few bytes of data.
    pub fn images(mut self, n: usize) -> Self {
        self.images = n;
        self
    }

    /// How long a transitional status lasts (default zero: over by the
    /// next request): a volume's `creating`, `extending` and `deleting`,
    /// an image's `importing`. See [`FakeCloud::set_status_delay`].
    pub fn status_delay(mut self, d: Duration) -> Self {
        self.status_delay = d;
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
            paths: BTreeMap::new(),
            servers,
            images,
            data_dir: tempfile::tempdir()?,
            volumes: Vec::new(),
            status_delay: self.status_delay,
            volume_failures: Vec::new(),
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
/// Users: `admin`/`secret` (project `admin`, id `p-admin`; the cloud's
/// administrator), `demo`/`demopass` (project `demo`, id `p-demo`), both
/// in domain `Default`; application credential `ac-1` (name `ci-test`,
/// user `demo`, secret `appcredsecret`). [`http_client`](Self::http_client)
/// is an authenticated client of `demo` in one line.
///
/// # Catalog (region `RegionOne`)
///
/// | Type | Name | Endpoint |
/// |---|---|---|
/// | `identity` | keystone | `<url>/v3/` (public, internal, admin) |
/// | `compute` | nova | `<url>/v2.1` (public, internal, admin) |
/// | `image` | glance | `<url>/image` |
/// | `block-storage` | cinderv3 | `<url>/volume/v3/<project_id>` |
/// | `object-store` | swift | `<url>/v1/AUTH_<project_id>` |
/// | a [`mount`](Self::mount)ed type | the type | `<url>/svc/<type>` |
///
/// A mount of a built-in type takes its place: one catalog entry (the
/// mount's), and the built-in's paths answer 404 until it is
/// [`unmount`](Self::unmount)ed (Keystone's token API at `/v3` stays: it
/// is how clients get the catalog).
///
/// # Routes
///
/// Every route but Keystone's token requests and the version documents
/// needs a valid `X-Auth-Token` (a 401 in Keystone's shape otherwise).
///
/// **identity** (Keystone v3)
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/` | 300, the version list |
/// | GET | `/v3` | 200, the v3 version document |
/// | POST | `/v3/auth/tokens` | 201 and `X-Subject-Token`: password, token and application-credential methods; project, domain, system or no scope; `?nocatalog` |
/// | GET, HEAD, DELETE | `/v3/auth/tokens` | validate (200 with the token), check (200), revoke (204) the `X-Subject-Token` |
/// | POST | `/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth` | an unscoped token for a trusted bearer token ([`add_identity_provider`](Self::add_identity_provider)) |
/// | GET | `/v3/auth/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/websso?origin=…`, `/v3/auth/OS-FEDERATION/websso/{protocol}?origin=…` | WebSSO: with `Authorization: Bearer <a token the provider's check accepts>` and a loopback origin, Keystone's page whose form POSTs `token=<unscoped token>` to the origin; 400 without origin, 401 for an untrusted origin or bearer, 404 for an unknown provider |
///
/// **compute** (Nova 2.1 to 2.96, checked and echoed in `OpenStack-API-Version`; 406 outside)
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/v2.1` | the version document |
/// | GET | `/v2.1/servers`, `/v2.1/servers/detail` | id, name, links / everything; `name`, `status` filters; `limit`, `marker`, `servers_links` |
/// | POST | `/v2.1/servers` | 202: id, links, `adminPass` (status `BUILD`) |
/// | GET, PUT, DELETE | `/v2.1/servers/{id}` | the server; updated; 204 |
/// | POST | `/v2.1/servers/{id}/action` | 202 (`reboot`, `os-start`, `os-stop` → `SHUTOFF`, `resize`, ...); 400 for others |
/// | GET | `/v2.1/flavors`, `/v2.1/flavors/detail`, `/v2.1/flavors/{id}` | three flavors (`m1.tiny`, `m1.small`, `m1.medium`) |
///
/// **image** (Glance v2; errors in webob's JSON: `{"message", "code", "title"}`)
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/image/v2/images` | the images the caller sees (own, public), in creation order: `limit` (25, at most 1000), `marker`; filters `name`, `status`, `visibility`, `owner`, `tag` (repeatable), `disk_format`, `container_format`, `protected`, `os_hidden`, `size_min`, `size_max`, any additional property; `first`, and a relative `next` on every full page |
/// | POST | `/image/v2/images` | 201, the image (`queued`, every Glance field); 403 for read-only or reserved members, 409 for a taken id |
/// | GET | `/image/v2/images/{id}` | the image; 404 |
/// | PATCH | `/image/v2/images/{id}` | JSON-Patch (`application/openstack-images-v2.1-json-patch` only, else 415 with `Accept-Patch`): `add`, `replace`, `remove` of top-level members; 403 read-only/reserved or removing a member, 409 replacing/removing a missing property; all or nothing |
/// | DELETE | `/image/v2/images/{id}` | 204 (403 if protected) |
/// | PUT | `/image/v2/images/{id}/file` | `application/octet-stream` (else 415), streamed to disk, MD5 and SHA-512 computed as it arrives: 204, `queued` → `active` with `size`, `checksum`, `os_hash_algo`, `os_hash_value`; 409 unless queued |
/// | GET | `/image/v2/images/{id}/file` | the data, streamed, with `Content-Length` and `Content-MD5`; 204 without data |
/// | PUT, DELETE | `/image/v2/images/{id}/tags/{tag}` | 204 (removing a missing tag: 404) |
/// | PUT | `/image/v2/images/{id}/stage` | as the upload, the image `uploading` |
/// | POST | `/image/v2/images/{id}/import` | `glance-direct`: 202, `importing`, then `active` after the status delay; 409 unless staged |
/// | GET | `/image/v2/info/import` | `glance-direct` |
///
/// **block-storage** (Cinder v3; microversions 3.0 to 3.71 in
/// `OpenStack-API-Version: volume 3.x`, echoed with `Vary`; 406 outside;
/// the fields shown follow the microversion and the caller's role, as
/// Cinder's)
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/volume/` | 300, the version list (`v3.0`, 3.0 to 3.71); no token needed |
/// | GET | `/volume/v3` | 302 to `/volume/v3/` |
/// | GET | `/volume/v3/` | 200, the same document |
/// | GET | `/volume/v3/{project_id}` | 404 (webob), as Cinder |
/// | GET | `/volume/v3/{project_id}/volumes`, `.../volumes/detail` | id, links, name / every field; newest first; `name`, `status`, `bootable` filters; `limit`, `marker`, `volumes_links`; `all_tenants` for the admin |
/// | POST | `/volume/v3/{project_id}/volumes` | 202, `{"volume": ...}` `creating`, then `available` (or `error`) after the status delay |
/// | GET, PUT | `/volume/v3/{project_id}/volumes/{id}` | the volume; its `name`, `description`, `metadata` updated |
/// | DELETE | `/volume/v3/{project_id}/volumes/{id}` | 202, `deleting`, then gone (or `error_deleting`); 400 unless available or in an error status |
/// | POST | `/volume/v3/{project_id}/volumes/{id}/action` | `os-extend` (202, `extending`, then the new size), `os-reset_status` (202; admin only, else 403), `os-set_bootable` (200); 400 for others |
///
/// Another project's id in the path is a 400 (`Malformed request url`);
/// the admin reaches any project's volume by id from its own endpoint.
///
/// **object-store** (Swift-like; objects stream to disk)
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/v1/AUTH_{project_id}` | the containers |
/// | PUT, GET, DELETE | `/v1/AUTH_{project_id}/{container}` | create (201/202); the objects (`marker`, `limit`); delete (204, 409 if not empty) |
/// | PUT | `/v1/AUTH_{project_id}/{container}/{object}` | 201 with the `ETag` (MD5); 422 when the client's `ETag` differs |
/// | GET, HEAD, DELETE | `/v1/AUTH_{project_id}/{container}/{object}` | the object (`Range`: 206), its headers, 204 |
///
/// **mounted** (`/svc/<type>/...`, the path given to the service relative
/// to its endpoint): a [`mount`](Self::mount)ed handler sees the request
/// read whole and answers a [`TestResponse`](crate::TestResponse); a
/// [`mount_service`](Self::mount_service)d tower service gets the body as
/// it arrives and streams its answer.
///
/// # Counting
///
/// [`count`](Self::count) takes route names: `"<METHOD> <path>"` with the
/// built-in services' ids replaced: `GET /v2.1/servers/{id}`,
/// `GET /v2.1/flavors/{id}`, `POST /v2.1/servers/{id}/action`,
/// `GET /image/v2/images/{id}`, `PUT /image/v2/images/{id}/file`,
/// `PUT /image/v2/images/{id}/tags/{tag}`,
/// `GET /volume/v3/{project_id}/volumes/{id}`,
/// `PUT /v1/{account}/<container>/<object>`, `POST /v3/auth/tokens`;
/// other paths as they are. [`count_pattern`](Self::count_pattern) matches
/// paths as requested against a pattern (`PUT /svc/image/v2/images/{id}/file`),
/// [`service_count`](Self::service_count) a pattern relative to a service's
/// endpoint, built-in or mounted.
///
/// Faults ([`inject`](Self::inject)) fall on the next requests under the
/// fault prefix (`/v2.1` unless [set](Self::set_fault_prefix)).
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

    /// An authenticated client of this cloud in one line: user `demo`
    /// (password `demopass`, domain `Default`) scoped to project `demo`,
    /// region `RegionOne`, no proxy.
    ///
    /// ```
    /// use apiclient_fake::FakeCloud;
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// let http = cloud.http_client().unwrap();
    /// let images = http.service_client("image").get("/v2/images").await.unwrap();
    /// assert_eq!(images.status(), 200);
    /// # });
    /// ```
    pub fn http_client(&self) -> Result<HttpClient, Error> {
        self.http_client_builder("demo")?.build()
    }

    /// A client builder for seeded `user` (`demo` or `admin`; its password,
    /// scoped to its project, region `RegionOne`, no proxy), to set more
    /// before `build()`. An unknown user is an [`Error::Validation`].
    ///
    /// ```
    /// use apiclient_fake::FakeCloud;
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// let admin = cloud.http_client_builder("admin").unwrap().timings(true).build().unwrap();
    /// assert_eq!(admin.authenticate().await.unwrap().project_id(), Some("p-admin"));
    /// assert!(cloud.http_client_builder("nobody").is_err());
    /// # });
    /// ```
    pub fn http_client_builder(&self, user: &str) -> Result<HttpClientBuilder, Error> {
        let found = self.with(|s| {
            let u = s.users.iter().find(|u| u.name == user)?;
            let project = s.projects.iter().find(|p| p.0 == u.project_id)?.1.clone();
            Some((u.password.clone(), project))
        });
        let Some((password, project)) = found else {
            return Err(Error::invalid(
                InvalidKind::Other,
                format!("the fake cloud has no user '{user}' (it has demo and admin)"),
            ));
        };
        let plugin = V3Password::new(self.auth_url(), user, &password)
            .user_domain_name("Default")
            .scope(Scope::project_name(&project, "Default"));
        Ok(HttpClient::builder(plugin)
            .region_name(Some("RegionOne".into()))
            .no_proxy())
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

    /// How many requests `route` saw, e.g. `"POST /v3/auth/tokens"` or
    /// `"GET /v2.1/servers/{id}"` (route names: see [`FakeCloud`]).
    pub fn count(&self, route: &str) -> u64 {
        self.with(|s| s.counts.get(route).copied().unwrap_or(0))
    }

    /// How many requests matched `pattern`: `"<METHOD> <path>"`, or a path
    /// alone for every method, each `{name}` segment matching any one
    /// segment of the path as it was requested (the query aside).
    ///
    /// ```
    /// use apiclient_fake::{FakeCloud, TestResponse};
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// cloud.mount("placement", |_| TestResponse::new(204));
    /// let placement = cloud.http_client().unwrap().service_client("placement");
    /// placement.delete("/resource_providers/a").await.unwrap();
    /// placement.delete("/resource_providers/b?x=1").await.unwrap();
    /// assert_eq!(cloud.count_pattern("DELETE /svc/placement/resource_providers/{uuid}"), 2);
    /// assert_eq!(cloud.count_pattern("/svc/placement/resource_providers/a"), 1);
    /// # });
    /// ```
    pub fn count_pattern(&self, pattern: &str) -> u64 {
        self.with(|s| {
            s.paths
                .iter()
                .filter(|(route, _)| routes::matches_pattern(pattern, route))
                .map(|(_, n)| n)
                .sum()
        })
    }

    /// [`count_pattern`](Self::count_pattern) with the pattern's path
    /// relative to the endpoint of `service_type`, whoever serves it: the
    /// built-in service (`/image`, `/volume/v3/{project_id}`, `/v2.1`,
    /// `/v1/{account}`, `/v3`) or the mount in its place (`/svc/<type>`).
    /// `service_count("image", "PUT /v2/images/{id}/file")` counts the
    /// uploads either way.
    pub fn service_count(&self, service_type: &str, pattern: &str) -> u64 {
        let mounted = self.with(|s| s.mounted.contains_key(service_type));
        let prefix = if mounted {
            format!("/svc/{service_type}")
        } else {
            match service_type {
                "identity" => "/v3".to_string(),
                "compute" => "/v2.1".to_string(),
                "image" => "/image".to_string(),
                "block-storage" => "/volume/v3/{project_id}".to_string(),
                "object-store" => "/v1/{account}".to_string(),
                _ => return 0,
            }
        };
        let full = match pattern.split_once(' ') {
            Some((method, path)) => format!("{method} {prefix}{path}"),
            None => format!("{prefix}{pattern}"),
        };
        self.count_pattern(&full)
    }

    /// Every route's count.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.with(|s| s.counts.clone())
    }

    /// Reset the counters.
    pub fn reset_counts(&self) {
        self.with(|s| {
            s.counts.clear();
            s.paths.clear();
        });
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

    /// How long transitional statuses last from now on (zero: over by
    /// the next request): a volume stays `creating`, `extending` or
    /// `deleting` this long after the request that began it, an image
    /// `importing`; a waiter polls through them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use apiclient_fake::FakeCloud;
    /// use serde_json::{Value, json};
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// cloud.set_status_delay(Duration::from_millis(300));
    /// let volumes = cloud.http_client().unwrap().service_client("block-storage");
    /// let created: Value = volumes.post("/volumes", &json!({"volume": {"size": 1}})).await.unwrap().json().unwrap();
    /// assert_eq!(created["volume"]["status"], "creating");
    /// let path = format!("/volumes/{}", created["volume"]["id"].as_str().unwrap());
    /// // a waiter: poll until it is no longer creating
    /// let status = loop {
    ///     let v: Value = volumes.get(&path).await.unwrap().json().unwrap();
    ///     if v["volume"]["status"] != "creating" {
    ///         break v["volume"]["status"].clone();
    ///     }
    ///     tokio::time::sleep(Duration::from_millis(50)).await;
    /// };
    /// assert_eq!(status, "available");
    /// # });
    /// ```
    pub fn set_status_delay(&self, d: Duration) {
        self.with(|s| s.status_delay = d);
    }

    /// The next volume operation of this kind fails: the volume ends in
    /// Cinder's error status for it (`error`, `error_extending`,
    /// `error_deleting`) when its transition is over. Each call queues one
    /// failure.
    pub fn fail_next_volume(&self, failure: VolumeFailure) {
        self.with(|s| s.volume_failures.push(failure));
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
    /// `<url>/svc/<service_type>`, in the place of the built-in service of
    /// that type if there is one) with `handler`: it receives the request,
    /// read whole, with its path relative to that endpoint and answers a
    /// [`TestResponse`](crate::TestResponse). The token is checked first (a
    /// 401 otherwise); faults and counters apply as to the built-in
    /// services. A second mount of a type replaces the first.
    ///
    /// ```
    /// use apiclient_fake::{FakeCloud, TestResponse};
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// cloud.mount("placement", |req| TestResponse::json(200, &serde_json::json!({"path": req.path})));
    /// // a mount of a built-in type takes its place: one `image` in the catalog
    /// cloud.mount("image", |_| TestResponse::json(200, &serde_json::json!({"images": []})));
    /// let image = cloud.http_client().unwrap().service_client("image");
    /// assert_eq!(image.endpoint().await.unwrap(), format!("{}/svc/image", cloud.url()));
    /// # });
    /// ```
    pub fn mount(
        &self,
        service_type: &str,
        handler: impl Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync + 'static,
    ) {
        self.with(|s| {
            s.mounted.insert(
                service_type.to_string(),
                Mounted::Handler(Arc::new(handler)),
            );
        });
    }

    /// Serve `service_type` (as [`mount`](Self::mount) does: in the
    /// catalog at `<url>/svc/<service_type>`, in the place of a built-in)
    /// with a tower `Service` that streams: it gets the request with its
    /// path (and query) relative to the endpoint and its body as the bytes
    /// arrive ([`MountBody`]), never collected by the fake, and its answer's
    /// body is sent as it is produced. A clone of `service` serves each
    /// request. The token is checked first; faults and counters apply.
    /// An error of the service is a 500.
    ///
    /// ```
    /// use apiclient_fake::{FakeCloud, MountBody};
    /// use futures_util::TryStreamExt;
    /// use http_body_util::BodyExt;
    ///
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// // counts the bytes of an upload as they arrive, answers the count
    /// cloud.mount_service("blobs", tower::service_fn(|req: http::Request<MountBody>| async move {
    ///     let mut frames = req.into_body().into_data_stream();
    ///     let mut n = 0;
    ///     while let Some(chunk) = frames.try_next().await? {
    ///         n += chunk.len();
    ///     }
    ///     Ok::<_, apiclient_errors::BoxError>(http::Response::new(MountBody::full(n.to_string())))
    /// }));
    /// let blobs = cloud.http_client().unwrap().service_client("blobs");
    /// let resp = blobs.request(apiclient_http::ApiRequest::put("/b/1").body(vec![7u8; 100_000])).await.unwrap();
    /// assert_eq!(resp.text(), "100000");
    /// assert_eq!(cloud.service_count("blobs", "PUT /b/{id}"), 1);
    /// # });
    /// ```
    pub fn mount_service<S>(&self, service_type: &str, service: S)
    where
        S: tower::Service<Request<MountBody>, Response = Response<MountBody>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
    {
        let svc = mount::erase(service);
        self.with(|s| {
            s.mounted
                .insert(service_type.to_string(), Mounted::Service(svc));
        });
    }

    /// Stop serving mounted `service_type` (a built-in of that type is
    /// back in the catalog and answers again); whether it was mounted.
    pub fn unmount(&self, service_type: &str) -> bool {
        self.with(|s| s.mounted.remove(service_type).is_some())
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

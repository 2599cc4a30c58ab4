//! [`ServiceClient`]: one service of the catalog, with its default
//! microversion and headers, its endpoint, version discovery (cached per
//! endpoint) and microversion negotiation; and the [`HttpClient`] methods
//! that make, register and send through service clients.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use apiclient_auth::{EndpointFilter, Interface};
use apiclient_errors::Error;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

use super::http_client::HttpClient;
use super::request::ApiRequest;
use super::response::ApiResponse;
use super::sending::Sending;
use super::streamed::StreamedResponse;
use crate::layers::auth::Target;
use crate::microversion::{ApiVersion, Microversion};

/// A client of one service (compute, image, ...): its endpoint filter and
/// cached endpoint, its default microversion and headers; the token is the
/// [`HttpClient`]'s.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    http: HttpClient,
    target: Target,
    defaults: Arc<ClientDefaults>,
}

/// What every request of a service client carries unless it says otherwise.
#[derive(Debug, Default)]
struct ClientDefaults {
    microversion: Option<Microversion>,
    headers: HeaderMap,
}

impl ClientDefaults {
    fn with(&self, f: impl FnOnce(&mut ClientDefaults)) -> Arc<ClientDefaults> {
        let mut d = ClientDefaults {
            microversion: self.microversion,
            headers: self.headers.clone(),
        };
        f(&mut d);
        Arc::new(d)
    }
}

impl ServiceClient {
    /// A service client with its own filter (not registered; see [`HttpClient::add_client`]).
    pub fn new(http: &HttpClient, filter: EndpointFilter) -> Self {
        ServiceClient {
            http: http.clone(),
            target: Target::new(filter),
            defaults: Arc::default(),
        }
    }

    /// This client with a default microversion: every request asks for it
    /// (with the header names of the service type) unless it sets its own
    /// with [`ApiRequest::microversion`].
    pub fn with_microversion(mut self, version: Microversion) -> Self {
        self.defaults = self.defaults.with(|d| d.microversion = Some(version));
        self
    }

    /// This client with a header every request carries unless it sets the
    /// header itself. An invalid name or value is ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.defaults = self.defaults.with(|d| {
                d.headers.insert(n, v);
            });
        }
        self
    }

    /// The default microversion, if one is set.
    pub fn microversion(&self) -> Option<Microversion> {
        self.defaults.microversion
    }

    /// The service's versions, discovered once per endpoint (and shared by
    /// the service clients of the same [`HttpClient`]): the version document
    /// of the endpoint, else of the endpoint without its project id
    /// (Cinder's `…/v3/<project_id>` serves none), else of the unversioned
    /// root, as keystoneauth discovers. A document found above the endpoint
    /// keeps only the endpoint's major version when it lists it. Nothing
    /// found is the endpoint's own error.
    pub async fn versions(&self) -> Result<Vec<ApiVersion>, Error> {
        let endpoint = self.endpoint().await?;
        let cell = self.http.inner.discovery.cell(&endpoint);
        cell.get_or_try_init(|| self.discover(&endpoint))
            .await
            .cloned()
    }

    async fn discover(&self, endpoint: &str) -> Result<Vec<ApiVersion>, Error> {
        let project_id = match self.http.access().await {
            Ok(access) => access.project_id().map(str::to_string),
            Err(_) => None,
        };
        let mut first_error = None;
        for (i, url) in crate::discovery::candidates(endpoint, project_id.as_deref())
            .into_iter()
            .enumerate()
        {
            let found = match self.request(ApiRequest::get(url)).await {
                Ok(resp) => match resp.json::<serde_json::Value>() {
                    Ok(doc) => Ok(crate::microversion::parse_versions(&doc)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match found {
                Ok(versions) if !versions.is_empty() => {
                    return Ok(if i == 0 {
                        versions
                    } else {
                        crate::discovery::for_endpoint(endpoint, versions)
                    });
                }
                Ok(_) => {
                    first_error.get_or_insert_with(|| Error::InvalidResponse {
                        message: "no version document".into(),
                        url: endpoint.to_string(),
                        source: None,
                    });
                }
                // another answer than "not here" ends the search
                Err(e) if !(e.is_not_found() || matches!(e, Error::InvalidResponse { .. })) => {
                    return Err(first_error.unwrap_or(e));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| Error::InvalidResponse {
            message: "no version document".into(),
            url: endpoint.to_string(),
            source: None,
        }))
    }

    /// The highest microversion in `[min, max]` the service supports too
    /// (`max` may be [`Microversion::Latest`]); none in common is
    /// [`Error::UnsupportedVersion`].
    pub async fn negotiate(
        &self,
        min: Microversion,
        max: Microversion,
    ) -> Result<Microversion, Error> {
        let versions = self.versions().await?;
        let with_mv: Vec<&ApiVersion> = versions
            .iter()
            .filter(|v| v.max_microversion.is_some())
            .collect();
        with_mv
            .iter()
            .find_map(|v| v.negotiate(min, max))
            .ok_or_else(|| {
                let offered: Vec<String> = with_mv
                    .iter()
                    .map(|v| {
                        format!(
                            "{} {}..{}",
                            v.id,
                            v.min_microversion
                                .map(|m| m.to_string())
                                .unwrap_or_default(),
                            v.max_microversion
                                .map(|m| m.to_string())
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                Error::from(apiclient_errors::Unsupported::new(
                    apiclient_errors::VersionKind::Microversion,
                    self.service_type(),
                    format!("{min}..{max}"),
                    offered,
                ))
            })
    }

    /// This client with the microversion negotiated in `[min, max]` as its default.
    pub async fn with_negotiated_microversion(
        self,
        min: Microversion,
        max: Microversion,
    ) -> Result<Self, Error> {
        let v = self.negotiate(min, max).await?;
        Ok(self.with_microversion(v))
    }

    /// `req` with this client's defaults: its headers where the request has
    /// none of that name, and its microversion unless the request has one.
    fn with_defaults(&self, mut req: ApiRequest) -> ApiRequest {
        for (k, v) in &self.defaults.headers {
            if !req.headers.contains_key(k) {
                req.headers.insert(k.clone(), v.clone());
            }
        }
        if let Some(v) = req.microversion.or(self.defaults.microversion) {
            for (name, value) in crate::microversion::headers_for(self.service_type(), v) {
                req = req.set_header(name, &value);
            }
        }
        req
    }

    /// Use a fixed endpoint instead of the catalog.
    pub fn with_endpoint_override(mut self, endpoint: impl Into<String>) -> Self {
        self.target.endpoint_override = Some(Arc::from(endpoint.into()));
        self
    }

    /// The service type.
    pub fn service_type(&self) -> &str {
        &self.target.filter.service_type
    }

    /// The endpoint filter.
    pub fn filter(&self) -> &EndpointFilter {
        &self.target.filter
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The cached endpoint, if resolved.
    pub fn cached_endpoint(&self) -> Option<String> {
        self.target
            .endpoint
            .read()
            .ok()
            .and_then(|e| e.as_deref().map(str::to_string))
    }

    /// The endpoint this client uses (authenticating if needed).
    pub async fn endpoint(&self) -> Result<String, Error> {
        if let Some(e) = self
            .target
            .endpoint_override
            .as_deref()
            .map(str::to_string)
            .or_else(|| self.cached_endpoint())
        {
            return Ok(e);
        }
        let access = self.http.access().await?;
        let endpoint = self
            .http
            .inner
            .state
            .with_plugin(|p| p.endpoint(&access, &self.target.filter))??;
        Ok(endpoint)
    }

    /// Send a request relative to the endpoint (with the client's default
    /// microversion and headers).
    pub fn request(
        &self,
        req: ApiRequest,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        // the call borrows this client's target (no copy of it per call)
        match self.with_defaults(req).into_request(true) {
            Ok(req) => self.http.send_to(req, Cow::Borrowed(&self.target)),
            Err(e) => Sending::invalid(&self.http, e),
        }
    }

    /// Send a request relative to the endpoint and stream the response body
    /// (each read within 60 s; see [`HttpClient::client_request_streamed`]).
    pub async fn request_streamed(&self, req: ApiRequest) -> Result<StreamedResponse, Error> {
        self.http
            .client_request_streamed(self, self.with_defaults(req), Duration::from_secs(60))
            .await
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::GET, path))
    }

    /// HEAD `path`.
    pub fn head(&self, path: &str) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::HEAD, path))
    }

    /// DELETE `path`.
    pub fn delete(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::DELETE, path))
    }

    /// POST a JSON body to `path`.
    pub fn post<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::POST, path).json(body))
    }

    /// PUT a JSON body to `path`.
    pub fn put<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::PUT, path).json(body))
    }

    /// PATCH a JSON body to `path`.
    pub fn patch<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        self.request(ApiRequest::new(Method::PATCH, path).json(body))
    }

    /// The HTTP client's last request id.
    pub fn last_request_id(&self) -> Option<String> {
        self.http.last_request_id()
    }
}

impl HttpClient {
    /// Send a request to a service (Python's `client_request`): the URL is
    /// relative to the service client's endpoint, the token is added, and a
    /// 401 causes one re-authentication and replay.
    pub fn client_request(
        &self,
        client: &ServiceClient,
        req: ApiRequest,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        match req.into_request(true) {
            Ok(req) => self.send_to(req, Cow::Owned(client.target.clone())),
            Err(e) => Sending::invalid(self, e),
        }
    }

    /// Like [`client_request`](Self::client_request), with the response
    /// body streamed (each read within `idle_timeout`): a 10 GiB object
    /// never sits in memory.
    pub async fn client_request_streamed(
        &self,
        client: &ServiceClient,
        req: ApiRequest,
        idle_timeout: Duration,
    ) -> Result<StreamedResponse, Error> {
        let http_req = req.into_http(Some(client.target.clone()))?;
        self.send_streamed(http_req, idle_timeout).await
    }

    /// A service client for `service_type` with the client's default interface
    /// and region, registered so [`client`](Self::client) finds it (and the
    /// next call returns the registered one, sharing its endpoint cache).
    ///
    /// The configuration's settings for the service apply (see
    /// [`configured_service_client`](Self::configured_service_client)).
    pub fn service_client(&self, service_type: &str) -> ServiceClient {
        let Some(existing) = self.client(service_type) else {
            let client = self.configured_service_client(service_type, None);
            self.add_client(client.clone());
            return client;
        };
        // the registry keeps the target, not the defaults: the microversion again
        self.with_default_microversion(existing, service_type)
    }

    /// A new service client for `service_type`, not registered, with its own
    /// endpoint cache, and the configuration's settings for the service
    /// applied, as every path to a service client applies them
    /// ([`service_client`](Self::service_client), `BaseClient::new`):
    /// `<service>_endpoint_override`, `<service>_interface` (else the
    /// client's interface and fallbacks; `interface`, when given, wins over
    /// both), the client's region, and a default microversion
    /// (`<service>_default_microversion`, or an `<service>_api_version` such
    /// as `2.53`; one that does not parse is ignored with a warning).
    ///
    /// [`ServiceClient::new`] is the door without settings: its filter is
    /// all there is.
    pub fn configured_service_client(
        &self,
        service_type: &str,
        interface: Option<Interface>,
    ) -> ServiceClient {
        let settings = self.service_settings(service_type);
        let own: Option<Interface> = interface.or_else(|| {
            settings
                .and_then(|s| s.interface.as_deref())
                .and_then(|i| i.parse().ok())
        });
        let filter = match own {
            // a service's own interface is the only one for it
            Some(interface) => EndpointFilter::new(service_type).interface(interface),
            None => EndpointFilter::new(service_type)
                .interface(self.inner.interface)
                .fallback_interfaces(self.inner.fallback_interfaces.clone()),
        }
        .region(self.inner.region.clone());
        let mut target = Target::new(filter);
        target.endpoint_override = settings
            .and_then(|s| s.endpoint_override.as_deref())
            .map(Arc::from);
        let client = ServiceClient {
            http: self.clone(),
            target,
            defaults: Arc::default(),
        };
        self.with_default_microversion(client, service_type)
    }

    /// `client` with the configuration's default microversion for
    /// `service_type`, if there is one.
    fn with_default_microversion(
        &self,
        client: ServiceClient,
        service_type: &str,
    ) -> ServiceClient {
        let Some(v) = self
            .service_settings(service_type)
            .and_then(|s| s.microversion())
        else {
            return client;
        };
        match v.parse::<Microversion>() {
            Ok(mv) => client.with_microversion(mv),
            Err(e) => {
                tracing::warn!(target: "apiclient_http", "{service_type}: {e}; no default microversion");
                client
            }
        }
    }

    /// Register a service client under its service type, unless one is already there.
    pub fn add_client(&self, client: ServiceClient) {
        if let Ok(mut c) = self.inner.clients.lock() {
            c.entry(client.service_type().to_string())
                .or_insert(client.target);
        }
    }

    /// The registered service client of `service_type` (`http.client("compute")`).
    pub fn client(&self, service_type: &str) -> Option<ServiceClient> {
        let target = self
            .inner
            .clients
            .lock()
            .ok()
            .and_then(|c| c.get(service_type).cloned())?;
        Some(ServiceClient {
            http: self.clone(),
            target,
            defaults: Arc::default(),
        })
    }
}

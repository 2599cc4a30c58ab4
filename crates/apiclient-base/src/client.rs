//! `BaseClient` and `get_class`.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;

use apiclient_auth::{EndpointFilter, Interface};
use apiclient_errors::{Error, Unsupported, VersionKind};
use apiclient_http::{ApiRequest, ApiResponse, HttpClient, ServiceClient};
use http::Method;
use serde::Serialize;

/// A client of one service (Python's `BaseClient`): service type, endpoint
/// type (interface), the cached endpoint, the HTTP verbs through the shared
/// [`HttpClient`], and extensions mounted as named managers.
#[derive(Clone)]
pub struct BaseClient {
    service: ServiceClient,
    extensions: BTreeMap<String, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for BaseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseClient")
            .field("service_type", &self.service_type())
            .field("extensions", &self.extensions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl BaseClient {
    /// A client of `service_type` with the HTTP client's default interface
    /// and region, and the configuration's settings for the service (its
    /// endpoint override, interface and default microversion), as
    /// `http.service_client(service_type)` has them; registered so
    /// `http.client(service_type)` finds it (when none was registered
    /// before). Each `BaseClient` keeps its own endpoint cache, as the
    /// reference's `cached_endpoint` is per instance.
    pub fn new(http: &HttpClient, service_type: &str) -> Self {
        Self::from_service(http, http.configured_service_client(service_type, None))
    }

    fn from_service(http: &HttpClient, service: ServiceClient) -> Self {
        http.add_client(service.clone());
        BaseClient {
            service,
            extensions: BTreeMap::new(),
        }
    }

    /// A client with its own filter (interface, region, service name).
    ///
    /// The filter is all there is: the configuration's settings for the
    /// service do not apply (use [`new`](Self::new) or
    /// [`with_interface`](Self::with_interface) for them).
    pub fn with_filter(http: &HttpClient, filter: EndpointFilter) -> Self {
        Self::from_service(http, ServiceClient::new(http, filter))
    }

    /// A client of `service_type` on `interface` (Python's `endpoint_type`),
    /// with the configuration's other settings for the service (endpoint
    /// override, default microversion) as [`new`](Self::new).
    pub fn with_interface(http: &HttpClient, service_type: &str, interface: Interface) -> Self {
        Self::from_service(
            http,
            http.configured_service_client(service_type, Some(interface)),
        )
    }

    /// Mount an extension's manager under `name`.
    pub fn add_extension<M: Any + Send + Sync>(&mut self, name: &str, manager: M) {
        self.extensions.insert(name.to_string(), Arc::new(manager));
    }

    /// The extension manager mounted under `name`, if it has type `M`.
    pub fn extension<M: Any + Send + Sync>(&self, name: &str) -> Option<Arc<M>> {
        self.extensions
            .get(name)
            .cloned()
            .and_then(|a| a.downcast::<M>().ok())
    }

    /// The service type.
    pub fn service_type(&self) -> &str {
        self.service.service_type()
    }

    /// The interface its endpoints are chosen on.
    pub fn interface(&self) -> Interface {
        self.service.filter().interface
    }

    /// The interface, by the reference's name (Python's `endpoint_type`);
    /// [`interface`](Self::interface) in new code.
    pub fn endpoint_type(&self) -> Interface {
        self.interface()
    }

    /// The cached endpoint, once resolved.
    pub fn cached_endpoint(&self) -> Option<String> {
        self.service.cached_endpoint()
    }

    /// The service client underneath.
    pub fn service(&self) -> &ServiceClient {
        &self.service
    }

    /// The last request id of the shared HTTP client.
    pub fn last_request_id(&self) -> Option<String> {
        self.service.last_request_id()
    }

    /// Send a request relative to the endpoint (Python's `client_request`).
    pub async fn client_request(&self, req: ApiRequest) -> Result<ApiResponse, Error> {
        self.service.request(req).await
    }

    /// HEAD.
    pub async fn head(&self, url: &str) -> Result<ApiResponse, Error> {
        self.client_request(ApiRequest::new(Method::HEAD, url))
            .await
    }

    /// GET.
    pub async fn get(&self, url: &str) -> Result<ApiResponse, Error> {
        self.client_request(ApiRequest::new(Method::GET, url)).await
    }

    /// POST with an optional JSON body.
    pub async fn post<T: Serialize + ?Sized>(
        &self,
        url: &str,
        body: Option<&T>,
    ) -> Result<ApiResponse, Error> {
        self.client_request(with_body(ApiRequest::new(Method::POST, url), body))
            .await
    }

    /// PUT with an optional JSON body.
    pub async fn put<T: Serialize + ?Sized>(
        &self,
        url: &str,
        body: Option<&T>,
    ) -> Result<ApiResponse, Error> {
        self.client_request(with_body(ApiRequest::new(Method::PUT, url), body))
            .await
    }

    /// PATCH with an optional JSON body.
    pub async fn patch<T: Serialize + ?Sized>(
        &self,
        url: &str,
        body: Option<&T>,
    ) -> Result<ApiResponse, Error> {
        self.client_request(with_body(ApiRequest::new(Method::PATCH, url), body))
            .await
    }

    /// DELETE.
    pub async fn delete(&self, url: &str) -> Result<ApiResponse, Error> {
        self.client_request(ApiRequest::new(Method::DELETE, url))
            .await
    }
}

fn with_body<T: Serialize + ?Sized>(req: ApiRequest, body: Option<&T>) -> ApiRequest {
    match body {
        Some(b) => req.json(b),
        None => req,
    }
}

/// The entry of `version_map` for `version` (Python's `BaseClient.get_class`):
/// the version is compared as text, so `1` matches `"1"`. Otherwise
/// `UnsupportedVersion` naming the supported versions.
///
/// ```
/// use apiclient_base::get_class;
/// let map = [("1", "v1::Client"), ("2", "v2::Client")];
/// assert_eq!(*get_class("compute", 2, &map).unwrap(), "v2::Client");
/// let err = get_class("compute", "3", &map).unwrap_err();
/// assert_eq!(err.to_string(), "Invalid compute client version '3'. Must be one of: 1, 2");
/// ```
pub fn get_class<'a, T>(
    api_name: &str,
    version: impl Display,
    version_map: &'a [(&str, T)],
) -> Result<&'a T, Error> {
    let v = version.to_string();
    version_map
        .iter()
        .find(|(k, _)| *k == v)
        .map(|(_, t)| t)
        .ok_or_else(|| {
            Error::from(Unsupported::new(
                VersionKind::Client,
                api_name,
                v.clone(),
                version_map.iter().map(|(k, _)| *k),
            ))
        })
}

//! Typed resources: a serde struct, a small description of its collection
//! ([`ResourceType`]), and [`Api<T>`], the generic manager that does the rest
//! (in the spirit of kube's `Api<K>`). A type known only at run time is a
//! [`DynamicResource`](crate::DynamicResource) with its collection described
//! by a [`ResourceInfo`] value ([`Api::dynamic`]); the same calls, the same
//! semantics. [`impl_resource_type!`](crate::impl_resource_type) writes the
//! [`ResourceType`] impl of a struct with an `id` (and a `name`) field.
//!
//! ```no_run
//! use apiclient_base::{Api, Error, ResourceType, ServiceClient};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Clone, Deserialize)]
//! struct Flavor { id: String, name: String, vcpus: u32 }
//!
//! impl ResourceType for Flavor {
//!     const SINGULAR: &'static str = "flavor";
//!     const PLURAL: &'static str = "flavors";
//!     fn id(&self) -> &str { &self.id }
//!     fn name(&self) -> Option<&str> { Some(&self.name) }
//! }
//!
//! async fn show(compute: ServiceClient) -> Result<(), Error> {
//!     let flavors: Api<Flavor> = Api::new(compute);
//!     let f = flavors.get("1").await?; // GET /flavors/1, the body's "flavor"
//!     println!("{} has {} vCPUs (HTTP {})", f.name, f.vcpus, f.meta().status);
//!     Ok(())
//! }
//! ```

use std::borrow::Cow;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use apiclient_errors::{Error, HttpError, InvalidKind};
use apiclient_http::microversion::Microversion;
use apiclient_http::{ApiRequest, ApiResponse, ServiceClient, StreamedResponse};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How a resource type is updated (the body's media type is
/// [`ResourceType::UPDATE_CONTENT_TYPE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateVerb {
    /// `PUT` (Nova, Placement).
    Put,
    /// `PATCH`: Keystone (plain JSON, wrapped), Glance (a JSON-Patch array
    /// as `application/openstack-images-v2.1-json-patch`, unwrapped).
    Patch,
}

/// A resource type: a serde struct and where its collection lives.
///
/// Only the keys are required; the defaults fit Nova-shaped APIs
/// (`/<plural>`, bodies wrapped in the singular key, `id`, `PUT`).
pub trait ResourceType: DeserializeOwned + Send + Sync + 'static {
    /// The key of one resource in a body (`server`).
    const SINGULAR: &'static str;
    /// The key of a list in a body, and the collection path's last segment (`servers`).
    const PLURAL: &'static str;
    /// The collection path (default `/<PLURAL>`; set it when they differ,
    /// e.g. `/os-keypairs`).
    const PATH: Option<&'static str> = None;
    /// The field that holds the id (`id`; Placement's resource providers use `uuid`).
    const ID_FIELD: &'static str = "id";
    /// Whether single-resource bodies are wrapped in [`SINGULAR`](Self::SINGULAR)
    /// (`{"server": {...}}`); Placement's are not.
    const WRAPPED: bool = true;
    /// How updates are sent.
    const UPDATE: UpdateVerb = UpdateVerb::Put;
    /// The media type (`Content-Type`) of the body of [`Api::update`] and
    /// [`Api::patch`]. A service refuses a `PATCH` of another type with a
    /// `415` (Glance does for `application/json`). What services want:
    ///
    /// | Service | Verb | `UPDATE_CONTENT_TYPE` | Body |
    /// |---|---|---|---|
    /// | Nova, Cinder, Placement | `PUT` | `application/json` (the default) | the resource, wrapped as [`WRAPPED`](Self::WRAPPED) says |
    /// | Keystone | `PATCH` | `application/json` (the default) | the changed fields, wrapped (`{"project": {...}}`) |
    /// | Glance v2 images | `PATCH` | `application/openstack-images-v2.1-json-patch` | a JSON-Patch array (RFC 6902), unwrapped: [`Api::patch`] |
    /// | Ironic, Magnum | `PATCH` | `application/json` (the default) | a JSON-Patch array, unwrapped: [`Api::patch`] |
    /// | RFC 6902 JSON-Patch | `PATCH` | `application/json-patch+json` | a JSON-Patch array: [`Api::patch`] |
    /// | RFC 7396 merge-patch | `PATCH` | `application/merge-patch+json` | the changed fields: [`Api::update`] |
    ///
    /// ```
    /// use apiclient_base::{ResourceType, UpdateVerb};
    /// # #[derive(serde::Deserialize)] struct Image { id: String }
    /// impl ResourceType for Image {
    ///     const SINGULAR: &'static str = "image";
    ///     const PLURAL: &'static str = "images";
    ///     const PATH: Option<&'static str> = Some("/v2/images");
    ///     const WRAPPED: bool = false;
    ///     const UPDATE: UpdateVerb = UpdateVerb::Patch;
    ///     const UPDATE_CONTENT_TYPE: &'static str = "application/openstack-images-v2.1-json-patch";
    ///     fn id(&self) -> &str { &self.id }
    /// }
    /// ```
    const UPDATE_CONTENT_TYPE: &'static str = "application/json";
    /// The detailed listing path (Nova's `/servers/detail`), if the summary
    /// list differs from it.
    const DETAIL_PATH: Option<&'static str> = None;

    /// This resource's id.
    fn id(&self) -> &str;

    /// This resource's name, if it has one ([`Api::find`] matches it).
    fn name(&self) -> Option<&str> {
        None
    }

    /// This resource's status (`ACTIVE`, `available`), if it has one: what
    /// the waiters ([`Api::wait_for_status`], and the failure statuses of
    /// every [`Wait`](crate::wait::Wait)) read. Default: none.
    ///
    /// ```
    /// use apiclient_base::ResourceType;
    /// #[derive(serde::Deserialize)]
    /// struct Volume { id: String, status: String }
    /// impl ResourceType for Volume {
    ///     const SINGULAR: &'static str = "volume";
    ///     const PLURAL: &'static str = "volumes";
    ///     fn id(&self) -> &str { &self.id }
    ///     fn status(&self) -> Option<&str> { Some(&self.status) }
    /// }
    /// ```
    fn status(&self) -> Option<&str> {
        None
    }

    /// Why this resource failed, if it says (Nova's `fault.message`): what
    /// a waiter's [`WaitError::FailureState`](crate::wait::WaitError::FailureState)
    /// carries. Default: none.
    fn fault(&self) -> Option<&str> {
        None
    }

    /// The collection path.
    fn collection_path() -> String {
        Self::PATH
            .map(str::to_string)
            .unwrap_or_else(|| format!("/{}", Self::PLURAL))
    }
}

/// A collection described by values, not constants: what a
/// [`ResourceType`] says, for a type known only at run time (a
/// [`DynamicResource`](crate::DynamicResource), with [`Api::dynamic`]), or
/// to point a typed [`Api`] at another collection ([`Api::with_info`]). The
/// defaults are [`ResourceType`]'s; each field has a builder method of its
/// name.
///
/// ```
/// use apiclient_base::{ResourceInfo, UpdateVerb};
///
/// let images = ResourceInfo::new("image", "images")
///     .path("/v2/images")
///     .wrapped(false)
///     .update(UpdateVerb::Patch)
///     .update_content_type("application/openstack-images-v2.1-json-patch");
/// assert_eq!(images.collection_path(), "/v2/images");
/// assert_eq!(ResourceInfo::new("server", "servers").collection_path(), "/servers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// The key of one resource in a body (`server`): [`ResourceType::SINGULAR`].
    pub singular: Cow<'static, str>,
    /// The key of a list in a body (`servers`): [`ResourceType::PLURAL`].
    pub plural: Cow<'static, str>,
    /// The collection path, if not `/<plural>`: [`ResourceType::PATH`].
    pub path: Option<Cow<'static, str>>,
    /// The detailed listing path, if the summary list differs from it:
    /// [`ResourceType::DETAIL_PATH`].
    pub detail_path: Option<Cow<'static, str>>,
    /// The field that holds the id (`id`; `uuid` for Placement's resource
    /// providers): [`ResourceType::ID_FIELD`]. A listing pages by marker with
    /// the last item's value of this field.
    pub id_field: Cow<'static, str>,
    /// Whether single-resource bodies are wrapped in
    /// [`singular`](Self::singular): [`ResourceType::WRAPPED`].
    pub wrapped: bool,
    /// How updates are sent: [`ResourceType::UPDATE`].
    pub update: UpdateVerb,
    /// The media type of an update's body: [`ResourceType::UPDATE_CONTENT_TYPE`].
    pub update_content_type: Cow<'static, str>,
}

impl ResourceInfo {
    /// The collection of `plural`, one resource `singular`, with the
    /// defaults of a [`ResourceType`]: path `/<plural>`, id field `id`,
    /// wrapped bodies, updates by `PUT` as `application/json`.
    pub fn new(
        singular: impl Into<Cow<'static, str>>,
        plural: impl Into<Cow<'static, str>>,
    ) -> Self {
        ResourceInfo {
            singular: singular.into(),
            plural: plural.into(),
            path: None,
            detail_path: None,
            id_field: Cow::Borrowed("id"),
            wrapped: true,
            update: UpdateVerb::Put,
            update_content_type: Cow::Borrowed("application/json"),
        }
    }

    /// What the constants of `T` say (its path as
    /// [`ResourceType::collection_path`] gives it).
    pub fn of<T: ResourceType>() -> Self {
        ResourceInfo {
            singular: Cow::Borrowed(T::SINGULAR),
            plural: Cow::Borrowed(T::PLURAL),
            path: Some(Cow::Owned(T::collection_path())),
            detail_path: T::DETAIL_PATH.map(Cow::Borrowed),
            id_field: Cow::Borrowed(T::ID_FIELD),
            wrapped: T::WRAPPED,
            update: T::UPDATE,
            update_content_type: Cow::Borrowed(T::UPDATE_CONTENT_TYPE),
        }
    }

    /// With this collection path (`/os-keypairs`, `/v2/images`).
    pub fn path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// With this detailed listing path (`/servers/detail`).
    pub fn detail_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.detail_path = Some(path.into());
        self
    }

    /// With this id field (`uuid`).
    pub fn id_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.id_field = field.into();
        self
    }

    /// With single-resource bodies wrapped in the singular key, or not.
    pub fn wrapped(mut self, wrapped: bool) -> Self {
        self.wrapped = wrapped;
        self
    }

    /// With this update verb.
    pub fn update(mut self, verb: UpdateVerb) -> Self {
        self.update = verb;
        self
    }

    /// With this update media type.
    pub fn update_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.update_content_type = content_type.into();
        self
    }

    /// The collection path: [`path`](Self::path), else `/<plural>`.
    pub fn collection_path(&self) -> Cow<'_, str> {
        match &self.path {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(format!("/{}", self.plural)),
        }
    }

    /// The path [`Api::list`] reads: the detailed listing's, else the
    /// collection's.
    pub fn list_path(&self) -> Cow<'_, str> {
        match &self.detail_path {
            Some(p) => Cow::Borrowed(p),
            None => self.collection_path(),
        }
    }
}

/// What an [`Api`] manages: every [`ResourceType`], and
/// [`DynamicResource`](crate::DynamicResource). Sealed: a typed resource
/// implements [`ResourceType`] (by hand or with
/// [`impl_resource_type!`](crate::impl_resource_type)).
pub trait ApiObject: sealed::Sealed + DeserializeOwned + Send + Sync + 'static {}

impl<T: ResourceType> ApiObject for T {}

pub(crate) mod sealed {
    use std::borrow::Cow;

    use super::{ResourceInfo, ResourceType};

    /// What [`Api`](super::Api) reads of one resource; out of reach outside
    /// the crate, so [`ApiObject`](super::ApiObject) has no other implementors.
    pub trait Sealed {
        /// The id (the `info.id_field` member of a dynamic resource).
        fn object_id(&self, info: &ResourceInfo) -> Option<Cow<'_, str>>;
        /// The name, which [`Api::find`](super::Api::find) matches.
        fn object_name(&self) -> Option<&str>;
        /// The status, which the waiters read.
        fn object_status(&self) -> Option<&str>;
        /// Why it failed, if it says.
        fn object_fault(&self) -> Option<&str>;
    }

    impl<T: ResourceType> Sealed for T {
        fn object_id(&self, _: &ResourceInfo) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.id()))
        }
        fn object_name(&self) -> Option<&str> {
            self.name()
        }
        fn object_status(&self) -> Option<&str> {
            self.status()
        }
        fn object_fault(&self) -> Option<&str> {
            self.fault()
        }
    }
}

/// What a response said about itself: status, request id, microversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMeta {
    /// The HTTP status.
    pub status: u16,
    /// The `x-openstack-request-id`, if any.
    pub request_id: Option<String>,
    /// The microversion the service answered with, if it said.
    pub microversion: Option<Microversion>,
}

impl ResponseMeta {
    /// The metadata of `resp`.
    pub fn of(resp: &ApiResponse) -> Self {
        ResponseMeta {
            status: resp.status().as_u16(),
            request_id: resp.request_id().map(str::to_string),
            microversion: resp.microversion(),
        }
    }

    /// The metadata of a streamed answer (read before its body).
    pub fn of_streamed(resp: &StreamedResponse) -> Self {
        ResponseMeta {
            status: resp.status().as_u16(),
            request_id: resp.request_id().map(str::to_string),
            microversion: resp.microversion(),
        }
    }
}

/// A value with the metadata of the response that carried it: no result
/// depends on the client's shared `last_request_id`.
#[derive(Debug, Clone)]
pub struct WithMeta<T> {
    value: T,
    meta: ResponseMeta,
}

impl<T> WithMeta<T> {
    /// `value` with the metadata of the response that carried it.
    pub fn new(value: T, meta: ResponseMeta) -> Self {
        WithMeta { value, meta }
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The response metadata.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The response's request id.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id.as_deref()
    }

    /// The parts.
    pub fn into_parts(self) -> (T, ResponseMeta) {
        (self.value, self.meta)
    }
}

impl<T> Deref for WithMeta<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The typed manager of resource type `T` on one service client: every call
/// carries the client's microversion and default headers.
///
/// A typed `Api` reads its collection from `T`'s [`ResourceType`]
/// constants ([`Api::new`]); an `Api<DynamicResource>` from the
/// [`ResourceInfo`] it was made with ([`Api::dynamic`]). Both have the same
/// calls with the same semantics.
pub struct Api<T> {
    pub(crate) client: ServiceClient,
    pub(crate) info: Arc<ResourceInfo>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Api<T> {
    fn clone(&self) -> Self {
        Api {
            client: self.client.clone(),
            info: self.info.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Api<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("type", &std::any::type_name::<T>())
            .field("service_type", &self.client.service_type())
            .field("collection", &self.info.collection_path())
            .finish()
    }
}

/// `resp`'s metadata, and its body decoded as [`decode`] does: its headers
/// are freed before the body is parsed (the parse's own small allocations
/// then find the memory they leave; with many calls in flight, glibc's
/// per-thread cache otherwise runs dry).
fn decoded<R: DeserializeOwned>(
    mut resp: ApiResponse,
    key: Option<&str>,
) -> Result<WithMeta<R>, Error> {
    let meta = ResponseMeta::of(&resp);
    drop(resp.take_headers());
    Ok(WithMeta {
        value: decode(&resp, key)?,
        meta,
    })
}

/// `T` from the response body, or from the member `key` of it: straight
/// from the bytes into `T` (the other members skipped unparsed), no
/// `serde_json::Value` in between.
fn decode<T: DeserializeOwned>(resp: &ApiResponse, key: Option<&str>) -> Result<T, Error> {
    let invalid = |e: serde_json::Error| Error::InvalidResponse {
        message: format!("the '{}' is not the JSON expected", key.unwrap_or("body")),
        url: resp.url(),
        source: Some(Box::new(e)),
    };
    let Some(key) = key else {
        return serde_json::from_slice(resp.body()).map_err(invalid);
    };
    let mut de = serde_json::Deserializer::from_slice(resp.body());
    let found = serde::de::DeserializeSeed::deserialize(Member::<T>::new(key), &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(invalid)?;
    found.ok_or_else(|| Error::InvalidResponse {
        message: format!("the response has no '{key}'"),
        url: resp.url(),
        source: None,
    })
}

/// Deserializes the member `key` of a JSON object as `T`, skipping the others.
struct Member<'k, T> {
    key: &'k str,
    _t: PhantomData<fn() -> T>,
}

impl<'k, T> Member<'k, T> {
    fn new(key: &'k str) -> Self {
        Member {
            key,
            _t: PhantomData,
        }
    }
}

impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for Member<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for Member<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with '{}'", self.key)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(IsKey(self.key))? {
            if is_key && found.is_none() {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether an object's key is this one, read without making it a `String`
/// (serde's `Cow<str>` always allocates one).
struct IsKey<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

impl<T: ResourceType> Api<T> {
    /// The manager of `T` on `client`, its collection as `T`'s constants say.
    pub fn new(client: ServiceClient) -> Self {
        Self::with_info(client, ResourceInfo::of::<T>())
    }
}

impl<T: ApiObject> Api<T> {
    /// The manager of `T` on `client`, its collection described by `info`
    /// (for a typed `T`, instead of its constants).
    pub fn with_info(client: ServiceClient, info: ResourceInfo) -> Self {
        Api {
            client,
            info: Arc::new(info),
            _t: PhantomData,
        }
    }

    /// The service client.
    pub fn client(&self) -> &ServiceClient {
        &self.client
    }

    /// The collection this manages.
    pub fn info(&self) -> &ResourceInfo {
        &self.info
    }

    /// The path of one resource, the id one [`segment`](crate::path::segment)
    /// (percent-encoded but for the unreserved characters). An empty id, `.`
    /// or `..` is refused: as a path segment it would name another resource
    /// (the collection, or its parent, once a proxy normalises the path),
    /// encoded or not.
    fn item_path(&self, id: &str) -> Result<String, Error> {
        let id = crate::path::segment(id).map_err(|_| {
            Error::invalid(
                InvalidKind::Id,
                format!("'{id}' is not a {} id", self.info.singular),
            )
        })?;
        let collection = self.info.collection_path();
        let mut path = String::with_capacity(collection.len() + 1 + id.as_str().len());
        path.push_str(&collection);
        path.push('/');
        id.push_to(&mut path);
        Ok(path)
    }

    /// The JSON of `body`, wrapped in the singular key when the type is;
    /// serialized straight from `B`, so its fields keep their order
    /// whatever serde_json's map order.
    fn wrap<B: Serialize + ?Sized>(&self, body: &B) -> Result<Vec<u8>, Error> {
        crate::json::to_vec(self.wrapper(), body, "body")
    }

    /// The key single-resource bodies are wrapped in, if they are.
    fn wrapper(&self) -> Option<&str> {
        self.info.wrapped.then_some(&*self.info.singular)
    }

    fn one(&self, resp: ApiResponse) -> Result<WithMeta<T>, Error> {
        decoded(resp, self.wrapper())
    }

    /// One page of the collection with `query` (a serde struct of filters,
    /// `limit`, `marker`, ...; `()` for none). The detailed listing when
    /// the type has one. With where the next page is:
    /// [`list_page`](Self::list_page); every page:
    /// [`list_all`](Self::list_all).
    pub async fn list<Q: Serialize + ?Sized>(&self, query: &Q) -> Result<WithMeta<Vec<T>>, Error> {
        let path = self.info.list_path().into_owned();
        let resp = self
            .client
            .request(ApiRequest::get(path).query_of(query))
            .await?;
        decoded(resp, Some(&self.info.plural))
    }

    /// The resource with this id.
    pub async fn get(&self, id: &str) -> Result<WithMeta<T>, Error> {
        let resp = self
            .client
            .request(ApiRequest::get(self.item_path(id)?))
            .await?;
        self.one(resp)
    }

    /// The resource with this id, or `None` when there is none: a 404-kind
    /// answer (`is_not_found()`) is `Ok(None)`; any other error (a 5xx, a
    /// body that is not the resource, an id refused before sending) stays
    /// an error.
    ///
    /// ```no_run
    /// # async fn f(servers: apiclient_base::Api<apiclient_base::DynamicResource>) -> Result<(), apiclient_base::Error> {
    /// match servers.get_opt("9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b").await? {
    ///     Some(server) => println!("found {:?}", server.name()),
    ///     None => println!("no such server"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_opt(&self, id: &str) -> Result<Option<WithMeta<T>>, Error> {
        match self.get(id).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the resource exists (`HEAD`; a 404 is `false`).
    pub async fn head(&self, id: &str) -> Result<bool, Error> {
        match self
            .client
            .request(ApiRequest::new(Method::HEAD, self.item_path(id)?))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Create one from `body` (wrapped in the singular key when the type is).
    /// A `202` with a partial body (Nova's server create) still decodes into `R`.
    pub async fn create_as<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        body: &B,
    ) -> Result<WithMeta<R>, Error> {
        let resp = self
            .client
            .request(
                ApiRequest::post(self.info.collection_path().into_owned())
                    .body(self.wrap(body)?)
                    .set_header("Content-Type", "application/json"),
            )
            .await?;
        decoded(resp, self.wrapper())
    }

    /// Create one from `body`; the created resource.
    pub async fn create<B: Serialize + ?Sized>(&self, body: &B) -> Result<WithMeta<T>, Error> {
        self.create_as(body).await
    }

    /// Update the resource with `body` (`PUT` or `PATCH` as the type says),
    /// wrapped in the singular key when the type is, sent as
    /// [`UPDATE_CONTENT_TYPE`](ResourceType::UPDATE_CONTENT_TYPE) (for a
    /// dynamic type, as its [`ResourceInfo`] says).
    pub async fn update<B: Serialize + ?Sized>(
        &self,
        id: &str,
        body: &B,
    ) -> Result<WithMeta<T>, Error> {
        let method = match self.info.update {
            UpdateVerb::Put => Method::PUT,
            UpdateVerb::Patch => Method::PATCH,
        };
        self.send_update(method, id, self.wrap(body)?).await
    }

    /// Apply a JSON-Patch (RFC 6902) to the resource: `PATCH` with `ops`,
    /// the array of operations, as the body itself (never wrapped in the
    /// singular key), sent as
    /// [`UPDATE_CONTENT_TYPE`](ResourceType::UPDATE_CONTENT_TYPE) (Glance's
    /// `application/openstack-images-v2.1-json-patch`, Ironic's
    /// `application/json`). The updated resource, as the type's bodies are.
    /// `ops` that is not an array is a [`Error::Validation`], and nothing is
    /// sent.
    ///
    /// ```no_run
    /// # async fn f(images: apiclient_base::Api<impl apiclient_base::ResourceType>) -> Result<(), apiclient_base::Error> {
    /// let ops = serde_json::json!([{"op": "replace", "path": "/name", "value": "cirros"}]);
    /// images.patch("7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60", &ops).await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch<P: Serialize + ?Sized>(
        &self,
        id: &str,
        ops: &P,
    ) -> Result<WithMeta<T>, Error> {
        let ops = crate::json::to_vec(None, ops, "patch")?;
        if ops.first() != Some(&b'[') {
            return Err(Error::invalid(
                InvalidKind::Body,
                "a JSON-Patch is an array of operations ([{\"op\": ..., \"path\": ...}])",
            ));
        }
        self.send_update(Method::PATCH, id, ops).await
    }

    async fn send_update(
        &self,
        method: Method,
        id: &str,
        body: Vec<u8>,
    ) -> Result<WithMeta<T>, Error> {
        let request = ApiRequest::new(method, self.item_path(id)?)
            .body(body)
            .set_header("Content-Type", &self.info.update_content_type);
        let resp = self.client.request(request).await?;
        self.one(resp)
    }

    /// Delete it (`202` and `204` are both success).
    pub async fn delete(&self, id: &str) -> Result<ResponseMeta, Error> {
        let resp = self
            .client
            .request(ApiRequest::delete(self.item_path(id)?))
            .await?;
        Ok(ResponseMeta::of(&resp))
    }

    /// An action: `POST <path>/<id>/action` with `{name: body}` (Nova's
    /// reboot, resize, ...). The response body, if any, as JSON.
    pub async fn action<B: Serialize + ?Sized>(
        &self,
        id: &str,
        name: &str,
        body: &B,
    ) -> Result<WithMeta<Option<Value>>, Error> {
        let body = crate::json::to_vec(Some(name), body, "action body")?;
        let resp = self
            .client
            .request(
                ApiRequest::post(format!("{}/action", self.item_path(id)?))
                    .body(body)
                    .set_header("Content-Type", "application/json"),
            )
            .await?;
        let value = if resp.body().is_empty() {
            None
        } else {
            resp.json().ok()
        };
        Ok(WithMeta {
            value,
            meta: ResponseMeta::of(&resp),
        })
    }

    /// The resource by id, else by exact name: an id that is not found is
    /// looked up as a name (`?name=` then an exact match on every page).
    /// None is a 404-kind error (`is_not_found()`); more than one is
    /// [`Error::NoUniqueMatch`]. A
    /// [`DynamicResource`](crate::DynamicResource)'s name is its `name`
    /// member.
    pub async fn find(&self, name_or_id: &str) -> Result<T, Error> {
        match self.get(name_or_id).await {
            Ok(found) => return Ok(found.into_inner()),
            Err(e) if e.is_not_found() || e.status() == Some(400) => {}
            Err(e) => return Err(e),
        }
        let mut matches = Vec::new();
        let stream = self.list_all(&std::collections::BTreeMap::from([("name", name_or_id)]));
        let mut stream = std::pin::pin!(stream);
        while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
            let item = item?;
            if item.object_name() == Some(name_or_id) {
                matches.push(item);
            }
        }
        match matches.len() {
            1 => Ok(matches.remove(0)),
            0 => Err(Error::from(HttpError::new(404).with_message(format!(
                "No {} with a name or ID of '{name_or_id}' exists.",
                self.info.singular
            )))),
            n => Err(apiclient_errors::Ambiguous::new(
                self.info.singular.clone(),
                format!("'{name_or_id}'"),
            )
            .with_count(n)
            .into()),
        }
    }

    /// The full form of `summary` (an item of a summary listing): one `get`.
    pub async fn detail<S: ResourceType>(&self, summary: &S) -> Result<WithMeta<T>, Error> {
        self.get(summary.id()).await
    }

    /// A lazily loaded resource: `summary` now, the full `T` fetched once on
    /// first use of [`Lazy::full`].
    pub fn lazy<S: ResourceType>(&self, summary: S) -> Lazy<S, T> {
        Lazy {
            summary,
            api: self.clone(),
            full: tokio::sync::OnceCell::new(),
        }
    }
}

/// A summary with its full form loaded on demand, once (the framework's
/// loader for typed structs).
pub struct Lazy<S, T> {
    summary: S,
    api: Api<T>,
    full: tokio::sync::OnceCell<T>,
}

impl<S: std::fmt::Debug, T: std::fmt::Debug> std::fmt::Debug for Lazy<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lazy")
            .field("summary", &self.summary)
            .field("full", &self.full.get())
            .finish()
    }
}

impl<S: ResourceType, T: ApiObject> Lazy<S, T> {
    /// The summary.
    pub fn summary(&self) -> &S {
        &self.summary
    }

    /// Whether the full form has been loaded.
    pub fn is_loaded(&self) -> bool {
        self.full.initialized()
    }

    /// The full form (one `get` the first time).
    pub async fn full(&self) -> Result<&T, Error> {
        self.full
            .get_or_try_init(|| async {
                self.api
                    .get(self.summary.id())
                    .await
                    .map(WithMeta::into_inner)
            })
            .await
    }
}

//! An example Glance v2 images client on `apiclient-base`: create, get,
//! list (with Glance's relative `next` links), JSON-Patch updates, tags,
//! delete, streamed upload and download (with the MD5 and the secure hash
//! verified), and the interoperable import (glance-direct) with a bounded
//! wait for the image to become active — the library's waiter
//! ([`apiclient_base::wait`], re-exported here as [`Wait`], [`WaitError`]
//! and [`WaitProgress`]); its own paths are built with
//! [`apiclient_base::path!`], each value one encoded segment.
//!
//! ```no_run
//! # async fn f(http: apiclient_base::HttpClient) -> Result<(), Box<dyn std::error::Error>> {
//! use example_image::{ContainerFormat, DiskFormat, Glance, ImageQuery, NewImage, PatchOp, Wait};
//! let glance = Glance::new(&http);
//! let image = glance.images.create(
//!     &NewImage::new("cirros").disk_format(DiskFormat::Qcow2).container_format(ContainerFormat::Bare).tag("test"),
//! ).await?;
//! glance.images.update(&image.id, &[PatchOp::add("os_distro", "cirros")]).await?;
//! glance.images.upload_file(&image.id, "cirros.qcow2", None).await?;
//! let image = glance.images.wait_for_active(&image.id, &Wait::default()).await?;
//! let got = glance.images.download_to_file(&image, "copy.qcow2", None).await?;
//! assert!(got.md5_verified && got.hash_verified.is_some());
//! use futures_util::TryStreamExt;
//! let tagged: Vec<_> = glance.images.list_all(&ImageQuery::new().tag("test").limit(100)).try_collect().await?;
//! println!("{} tagged images", tagged.len());
//! # Ok(()) }
//! ```
//!
//! Paths are `/v2/...` relative to the catalog's `image` endpoint (which
//! is the service root: `http://glance:9292` or `https://cloud/image`).

mod types;

pub use types::*;

use std::path::Path;

pub use apiclient_base::wait::{Wait, WaitError, WaitProgress};
use apiclient_base::{
    Api, ApiRequest, Body, Error, HttpClient, InvalidKind, ResourceType, ResponseMeta,
    ServiceClient, StreamedResponse, UpdateVerb, WithMeta, path,
};
pub use apiclient_base::{DigestAlgorithm, Progress, ProgressFn};
use futures_util::Stream;

/// The media type of a Glance image `PATCH` (JSON-Patch, draft 10 paths).
pub const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

impl ResourceType for Image {
    const SINGULAR: &'static str = "image";
    const PLURAL: &'static str = "images";
    const PATH: Option<&'static str> = Some("/v2/images");
    const WRAPPED: bool = false;
    const UPDATE: UpdateVerb = UpdateVerb::Patch;
    const UPDATE_CONTENT_TYPE: &'static str = JSON_PATCH;
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// What the library's waiters compare (`active`, `killed`, ...).
    fn status(&self) -> Option<&str> {
        Some(self.status.as_str())
    }
}

/// A file as a request body, re-opened for each send; an unreadable file
/// is [`Error::Io`] naming it.
async fn file_body(path: &Path, progress: Option<ProgressFn>) -> Result<Body, Error> {
    let body = Body::from_file(path).await.map_err(|source| Error::Io {
        operation: "read",
        path: Some(path.to_path_buf()),
        source,
    })?;
    Ok(match progress {
        Some(tell) => body.with_progress(move |p| tell(p)),
        None => body,
    })
}

/// What a verified download did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// The bytes written.
    pub bytes: u64,
    /// Whether the MD5 was checked (Glance's `Content-MD5`, else the image's `checksum`).
    pub md5_verified: bool,
    /// The secure hash checked (the image's `os_hash_algo`/`os_hash_value`),
    /// if the image has one this client knows.
    pub hash_verified: Option<DigestAlgorithm>,
    /// The download's response metadata (status, request id).
    pub meta: ResponseMeta,
}

/// Why an image did not become active ([`Images::wait_for_active`]): the
/// library's waiter ended otherwise, or Glance reverted an import.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageWaitError {
    /// The wait ended ([`WaitError`]): a failure status
    /// ([`WaitError::FailureState`]: `killed`, ...), the image gone (a 404:
    /// [`WaitError::Request`] with `is_not_found()`), the time up with the
    /// last status ([`WaitError::TimedOut`]), or a request that failed.
    #[error(transparent)]
    Wait(#[from] WaitError),
    /// The import failed: Glance reverted the image and named the stores
    /// it failed for (`os_glance_failed_import`).
    #[error("the import of image {id} failed for the store(s) {}", stores.join(", "))]
    ImportFailed {
        /// The image.
        id: String,
        /// The stores.
        stores: Vec<String>,
        /// Its status now (usually `queued`).
        status: ImageStatus,
    },
}

impl From<Error> for ImageWaitError {
    /// A request that failed: [`WaitError::Request`].
    fn from(e: Error) -> Self {
        ImageWaitError::Wait(WaitError::Request(e))
    }
}

/// The images of a Glance v2 service.
#[derive(Debug, Clone)]
pub struct Images {
    api: Api<Image>,
}

impl Images {
    /// The images of `service` (an `image` service client).
    pub fn new(service: ServiceClient) -> Self {
        Images {
            api: Api::new(service),
        }
    }

    fn service(&self) -> &ServiceClient {
        self.api.client()
    }

    /// One page of images (`limit`, `marker` and the filters of `query`).
    pub async fn list(&self, query: &ImageQuery) -> Result<WithMeta<Vec<Image>>, Error> {
        self.api.list(query).await
    }

    /// One page with its links: follow [`ImagePage::next`] with
    /// [`page_at`](Self::page_at).
    pub async fn page(&self, query: &ImageQuery) -> Result<WithMeta<ImagePage>, Error> {
        self.page_at(&ApiRequest::get("/v2/images").query_of(query).full_url())
            .await
    }

    /// The page at a link Glance gave (`next`, `first`: relative to the
    /// endpoint).
    pub async fn page_at(&self, link: &str) -> Result<WithMeta<ImagePage>, Error> {
        let resp = self.service().request(ApiRequest::get(link)).await?;
        let meta = ResponseMeta::of(&resp);
        Ok(WithMeta::new(resp.json()?, meta))
    }

    /// Every image matching `query`, page after page (Glance's `next`
    /// links; an empty last page ends it), one page in memory at a time.
    pub fn list_all(
        &self,
        query: &ImageQuery,
    ) -> impl Stream<Item = Result<Image, Error>> + Send + 'static {
        self.api.list_all(query)
    }

    /// One image.
    pub async fn get(&self, id: &str) -> Result<WithMeta<Image>, Error> {
        self.api.get(id).await
    }

    /// By id, else by exact name (more than one is [`Error::NoUniqueMatch`]).
    pub async fn find(&self, name_or_id: &str) -> Result<Image, Error> {
        self.api.find(name_or_id).await
    }

    /// Create one (`queued`, no data yet).
    pub async fn create(&self, image: &NewImage) -> Result<WithMeta<Image>, Error> {
        if let Some(key) = image
            .properties
            .keys()
            .find(|k| types::NEW_IMAGE_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::invalid(
                InvalidKind::Body,
                format!("'{key}' is a field of the image, not an additional property"),
            ));
        }
        self.api.create(image).await
    }

    /// Apply JSON-Patch operations (sent as [`JSON_PATCH`]); the updated image.
    /// An empty list or a path that is not a JSON pointer to a member is a
    /// [`Error::Validation`], and nothing is sent.
    pub async fn update(&self, id: &str, ops: &[PatchOp]) -> Result<WithMeta<Image>, Error> {
        if ops.is_empty() {
            return Err(Error::invalid(
                InvalidKind::Body,
                "a patch needs at least one operation",
            ));
        }
        if let Some(op) = ops
            .iter()
            .find(|op| !op.path().starts_with('/') || op.path().len() < 2)
        {
            return Err(Error::invalid(
                InvalidKind::Body,
                format!("'{}' is not a JSON pointer to a member (/name)", op.path()),
            ));
        }
        self.api.patch(id, ops).await
    }

    /// Delete it.
    pub async fn delete(&self, id: &str) -> Result<ResponseMeta, Error> {
        self.api.delete(id).await
    }

    /// Add a tag (`PUT /v2/images/{id}/tags/{tag}`; an existing one is fine).
    pub async fn add_tag(&self, id: &str, tag: &str) -> Result<ResponseMeta, Error> {
        let path = path!("/v2/images/{}/tags/{}", id, tag)?;
        let resp = self.service().request(ApiRequest::put(path)).await?;
        Ok(ResponseMeta::of(&resp))
    }

    /// Remove a tag (a tag the image does not have is a 404).
    pub async fn remove_tag(&self, id: &str, tag: &str) -> Result<ResponseMeta, Error> {
        let path = path!("/v2/images/{}/tags/{}", id, tag)?;
        let resp = self.service().request(ApiRequest::delete(path)).await?;
        Ok(ResponseMeta::of(&resp))
    }

    /// `PUT` data to `path` (`/file`, `/stage`), as `application/octet-stream`.
    async fn put_data(&self, path: String, body: Body) -> Result<ResponseMeta, Error> {
        let request = ApiRequest::put(path)
            .set_header("Content-Type", "application/octet-stream")
            .body(body);
        let resp = self.service().request(request).await?;
        Ok(ResponseMeta::of(&resp))
    }

    /// Upload the image's data (`PUT /v2/images/{id}/file`,
    /// `application/octet-stream`); the image becomes `active`. A
    /// replayable body (bytes, [`Body::from_file`]) survives the replay
    /// after a 401; a one-shot stream is sent once.
    pub async fn upload(&self, id: &str, body: impl Into<Body>) -> Result<ResponseMeta, Error> {
        self.put_data(path!("/v2/images/{}/file", id)?, body.into())
            .await
    }

    /// Upload the file at `path`, streamed (re-opened if the request is
    /// replayed), telling `progress` of the bytes sent.
    pub async fn upload_file(
        &self,
        id: &str,
        path: impl AsRef<Path>,
        progress: Option<ProgressFn>,
    ) -> Result<ResponseMeta, Error> {
        let body = file_body(path.as_ref(), progress).await?;
        self.put_data(path!("/v2/images/{}/file", id)?, body).await
    }

    /// The image's data as a stream (`GET /v2/images/{id}/file`), unchecked:
    /// add [`StreamedResponse::verify_announced_md5`] or
    /// [`StreamedResponse::expect_digest`] yourself, or use
    /// [`download_to_file`](Self::download_to_file).
    pub async fn download(&self, id: &str) -> Result<StreamedResponse, Error> {
        self.service()
            .request_streamed(ApiRequest::get(path!("/v2/images/{}/file", id)?))
            .await
    }

    /// Download the data of `image` (as got from [`get`](Self::get)) to
    /// `path`, checked against Glance's `Content-MD5` (else the image's
    /// `checksum`) and the image's `os_hash_value` as it streams: the
    /// file is written beside `path` and renamed only when whole and
    /// matching (a mismatch is [`Error::DigestMismatch`], a local failure
    /// [`Error::Io`]). An image that is not active is a [`Error::Validation`].
    pub async fn download_to_file(
        &self,
        image: &Image,
        path: impl AsRef<Path>,
        progress: Option<ProgressFn>,
    ) -> Result<Downloaded, Error> {
        if image.status != ImageStatus::Active {
            return Err(Error::invalid(
                InvalidKind::State,
                format!(
                    "image {} is {}, not active: it has no data to download",
                    image.id, image.status
                ),
            ));
        }
        let resp = self.download(&image.id).await?;
        if resp.status().as_u16() == 204 {
            return Err(Error::InvalidResponse {
                message: format!("image {} is active but has no data (204)", image.id),
                url: resp.url(),
                source: None,
            });
        }
        let meta = ResponseMeta::of_streamed(&resp);
        let announced = resp.headers().contains_key("content-md5");
        let mut resp = resp.verify_announced_md5();
        let mut md5_verified = announced;
        if !announced && let Some(md5) = &image.checksum {
            resp = resp.expect_digest(DigestAlgorithm::Md5, md5.clone());
            md5_verified = true;
        }
        let mut hash_verified = None;
        if let (Some(algorithm), Some(value)) = (image.hash_algorithm(), &image.os_hash_value) {
            resp = resp.expect_digest(algorithm, value.clone());
            hash_verified = Some(algorithm);
        }
        if let Some(tell) = progress {
            resp = resp.on_progress(move |p| tell(p));
        }
        let bytes = resp.copy_to_file(path).await?;
        Ok(Downloaded {
            bytes,
            md5_verified,
            hash_verified,
            meta,
        })
    }

    /// Stage data for an import (`PUT /v2/images/{id}/stage`); the image
    /// becomes `uploading`.
    pub async fn stage(&self, id: &str, body: impl Into<Body>) -> Result<ResponseMeta, Error> {
        self.put_data(path!("/v2/images/{}/stage", id)?, body.into())
            .await
    }

    /// Stage the file at `path`, streamed, telling `progress` of the bytes sent.
    pub async fn stage_file(
        &self,
        id: &str,
        path: impl AsRef<Path>,
        progress: Option<ProgressFn>,
    ) -> Result<ResponseMeta, Error> {
        let body = file_body(path.as_ref(), progress).await?;
        self.put_data(path!("/v2/images/{}/stage", id)?, body).await
    }

    /// Start an import (`POST /v2/images/{id}/import`; Glance answers 202
    /// and imports in the background: [`wait_for_active`](Self::wait_for_active)).
    pub async fn import(&self, id: &str, request: &ImportRequest) -> Result<ResponseMeta, Error> {
        let resp = self
            .service()
            .request(ApiRequest::post(path!("/v2/images/{}/import", id)?).json(request))
            .await?;
        Ok(ResponseMeta::of(&resp))
    }

    /// The glance-direct import of the file at `path`: stage it, import
    /// it, wait until the image is active
    /// ([`wait_for_active`](Self::wait_for_active), as `wait` says).
    pub async fn import_file(
        &self,
        id: &str,
        path: impl AsRef<Path>,
        progress: Option<ProgressFn>,
        wait: &Wait,
    ) -> Result<WithMeta<Image>, ImageWaitError> {
        self.stage_file(id, path, progress).await?;
        self.import(id, &ImportRequest::glance_direct()).await?;
        self.wait_for_active(id, wait).await
    }

    /// Poll the image until it is `active`, with the library's waiter
    /// ([`Api::wait_until_with`]): its bounds, backoff and progress
    /// callback are `wait`'s (its target statuses are not read), and so are
    /// its failure statuses (by default `killed`, and `error*`). Glance v2
    /// shows a deleted image (`deleted`, `pending_delete`) as a 404, which
    /// ends the wait. The active image, with the metadata of the response
    /// that showed it. A failure status, the image gone (a 404), the
    /// timeout or a failed request is an [`ImageWaitError::Wait`]; an
    /// import Glance reverted (`os_glance_failed_import`, no store still
    /// importing) ends the wait at once with
    /// [`ImageWaitError::ImportFailed`].
    ///
    /// ```no_run
    /// # async fn f(glance: example_image::Glance, id: &str) -> Result<(), example_image::ImageWaitError> {
    /// use std::time::Duration;
    /// use example_image::Wait;
    /// let wait = Wait::new()
    ///     .timeout(Duration::from_secs(300))
    ///     .on_progress(|p| eprintln!("{:?} after {:?}", p.status, p.elapsed));
    /// let image = glance.images.wait_for_active(id, &wait).await?;
    /// println!("{} is active, {:?} bytes", image.id, image.size);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_active(
        &self,
        id: &str,
        wait: &Wait,
    ) -> Result<WithMeta<Image>, ImageWaitError> {
        let image = self
            .api
            .wait_until_with(id, wait, |image| {
                image.status == ImageStatus::Active || import_reverted(image)
            })
            .await?;
        if image.status == ImageStatus::Active {
            return Ok(image);
        }
        let image = image.into_inner();
        Err(ImageWaitError::ImportFailed {
            stores: image.failed_import_stores(),
            id: image.id,
            status: image.status,
        })
    }
}

/// Whether Glance gave up an import of `image`: stores it failed for, none
/// it is still importing to, and not `importing`.
fn import_reverted(image: &Image) -> bool {
    !image.failed_import_stores().is_empty()
        && image.importing_to_stores().is_empty()
        && image.status != ImageStatus::Importing
}

/// A Glance v2 client.
#[derive(Debug, Clone)]
pub struct Glance {
    /// Images.
    pub images: Images,
}

impl Glance {
    /// The cloud's `image` service.
    pub fn new(http: &HttpClient) -> Self {
        Self::on(http.service_client("image"))
    }

    /// On this service client (a fixed endpoint, another interface, ...).
    pub fn on(service: ServiceClient) -> Self {
        Glance {
            images: Images::new(service),
        }
    }

    /// The import methods the cloud has enabled (`GET /v2/info/import`):
    /// `glance-direct`, `web-download`, `copy-image`, ...
    pub async fn import_methods(&self) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        struct Info {
            #[serde(rename = "import-methods")]
            methods: Methods,
        }
        #[derive(serde::Deserialize)]
        struct Methods {
            #[serde(default)]
            value: Vec<String>,
        }
        let resp = self
            .images
            .service()
            .request(ApiRequest::get("/v2/info/import"))
            .await?;
        Ok(resp.json::<Info>()?.methods.value)
    }
}

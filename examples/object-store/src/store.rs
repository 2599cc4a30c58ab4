//! [`ObjectStore`]: the account, containers and objects (metadata, listings,
//! uploads and downloads, Range reads) and temporary URLs; the file helpers
//! the large-object upload shares.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use apiclient_base::{
    ApiRequest, ApiResponse, Body, DigestAlgorithm, Error, HttpClient, InvalidKind, Method,
    ResponseMeta, ServiceClient, StreamedResponse, WithMeta,
};
use apiclient_http::transfer::Hasher;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::paths;
use crate::tempurl::TempUrl;
use crate::types::{
    AccountInfo, ContainerEntry, ContainerInfo, DownloadOptions, Downloaded, ListQuery, Md5Check,
    Metadata, ObjectData, ObjectEntry, ObjectInfo, UploadOptions, Uploaded, header, unquote,
};

/// A Swift client: one account (the endpoint `.../v1/AUTH_<project>` of the
/// catalog's `object-store` service).
#[derive(Debug, Clone)]
pub struct ObjectStore {
    service: ServiceClient,
}

impl ObjectStore {
    /// The cloud's object store (`object-store` in the catalog).
    pub fn new(http: &HttpClient) -> Self {
        Self::from_service(http.service_client("object-store"))
    }

    /// An object store on this service client (an endpoint override, a fake).
    pub fn from_service(service: ServiceClient) -> Self {
        ObjectStore { service }
    }

    /// The service client.
    pub fn service(&self) -> &ServiceClient {
        &self.service
    }

    /// The account's URL (`http://host/v1/AUTH_<project>`), authenticating if needed.
    pub async fn account_url(&self) -> Result<String, Error> {
        self.service.endpoint().await
    }

    // ----- the account -----

    /// The account's counters and metadata (`HEAD`).
    pub async fn account(&self) -> Result<WithMeta<AccountInfo>, Error> {
        let resp = self.service.request(ApiRequest::head("")).await?;
        Ok(with_meta(AccountInfo::from_headers(resp.headers()), &resp))
    }

    /// Set (or replace) these `X-Account-Meta-*` items; others are kept;
    /// an empty value removes its item.
    pub async fn set_account_metadata(&self, metadata: &Metadata) -> Result<WithMeta<()>, Error> {
        let req = with_metadata(ApiRequest::post(""), "Account", metadata);
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// Set the account's temp-URL key (`X-Account-Meta-Temp-URL-Key`): URLs
    /// signed with it ([`temp_url`](Self::temp_url)) work without a token.
    pub async fn set_temp_url_key(&self, key: &str) -> Result<WithMeta<()>, Error> {
        if key.is_empty() {
            return Err(Error::invalid(
                InvalidKind::Other,
                "a temp-URL key must not be empty",
            ));
        }
        let req = ApiRequest::post("").set_header("X-Account-Meta-Temp-URL-Key", key);
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// One page of the account's containers.
    pub async fn containers(
        &self,
        query: &ListQuery,
    ) -> Result<WithMeta<Vec<ContainerEntry>>, Error> {
        list_page(&self.service, String::new(), query).await
    }

    /// Every container, page after page (see [`all_objects`](Self::all_objects)).
    pub fn all_containers(
        &self,
        query: &ListQuery,
    ) -> impl Stream<Item = Result<ContainerEntry, Error>> + Send + 'static {
        list_all(self.service.clone(), String::new(), query.clone())
    }

    // ----- containers -----

    /// Create a container with this metadata (`PUT`): `true` when it was
    /// created, `false` when it existed (its metadata then updated).
    pub async fn create_container(
        &self,
        name: &str,
        metadata: &Metadata,
    ) -> Result<WithMeta<bool>, Error> {
        paths::check_container(name)?;
        let req = with_metadata(
            ApiRequest::put(paths::container_path(name)),
            "Container",
            metadata,
        );
        let resp = self.service.request(req).await?;
        Ok(with_meta(resp.status().as_u16() == 201, &resp))
    }

    /// A container's counters, ACLs and metadata (`HEAD`).
    pub async fn container(&self, name: &str) -> Result<WithMeta<ContainerInfo>, Error> {
        paths::check_container(name)?;
        let resp = self
            .service
            .request(ApiRequest::head(paths::container_path(name)))
            .await?;
        Ok(with_meta(
            ContainerInfo::from_headers(resp.headers()),
            &resp,
        ))
    }

    /// Set (or replace) these `X-Container-Meta-*` items; others are kept.
    pub async fn set_container_metadata(
        &self,
        name: &str,
        metadata: &Metadata,
    ) -> Result<WithMeta<()>, Error> {
        paths::check_container(name)?;
        let req = with_metadata(
            ApiRequest::post(paths::container_path(name)),
            "Container",
            metadata,
        );
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// Remove these `X-Container-Meta-*` items.
    pub async fn remove_container_metadata(
        &self,
        name: &str,
        keys: &[&str],
    ) -> Result<WithMeta<()>, Error> {
        paths::check_container(name)?;
        let mut req = ApiRequest::post(paths::container_path(name));
        for k in keys {
            req = req.set_header(&format!("X-Remove-Container-Meta-{k}"), "x");
        }
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// Set a temp-URL key for this container's objects only
    /// (`X-Container-Meta-Temp-URL-Key`).
    pub async fn set_container_temp_url_key(
        &self,
        name: &str,
        key: &str,
    ) -> Result<WithMeta<()>, Error> {
        if key.is_empty() {
            return Err(Error::invalid(
                InvalidKind::Other,
                "a temp-URL key must not be empty",
            ));
        }
        paths::check_container(name)?;
        let req = ApiRequest::post(paths::container_path(name))
            .set_header("X-Container-Meta-Temp-URL-Key", key);
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// Delete an empty container (one with objects: 409 Conflict).
    pub async fn delete_container(&self, name: &str) -> Result<WithMeta<()>, Error> {
        paths::check_container(name)?;
        let resp = self
            .service
            .request(ApiRequest::delete(paths::container_path(name)))
            .await?;
        Ok(with_meta((), &resp))
    }

    /// One page of a container's objects (`?format=json&prefix=&marker=&limit=`).
    pub async fn objects(
        &self,
        container: &str,
        query: &ListQuery,
    ) -> Result<WithMeta<Vec<ObjectEntry>>, Error> {
        paths::check_container(container)?;
        list_page(&self.service, paths::container_path(container), query).await
    }

    /// Every object of a container matching `query`, page after page: the
    /// next page starts after the last name of the one before (`marker`),
    /// until a page comes back empty, or shorter than `query.limit`. A
    /// server whose pages do not move forward ends the stream with an error.
    pub fn all_objects(
        &self,
        container: &str,
        query: &ListQuery,
    ) -> impl Stream<Item = Result<ObjectEntry, Error>> + Send + 'static {
        match paths::check_container(container) {
            Err(e) => futures_util::future::Either::Left(futures_util::stream::once(
                futures_util::future::ready(Err(e)),
            )),
            Ok(()) => futures_util::future::Either::Right(list_all(
                self.service.clone(),
                paths::container_path(container),
                query.clone(),
            )),
        }
    }

    // ----- objects -----

    pub(crate) fn object_request(
        &self,
        method: Method,
        container: &str,
        name: &str,
    ) -> Result<ApiRequest, Error> {
        paths::check_container(container)?;
        paths::check_object(name)?;
        Ok(ApiRequest::new(method, paths::object_path(container, name)))
    }

    /// Store `data` as an object (MD5 computed and sent as `ETag`, unless
    /// the options say otherwise).
    pub async fn put_object(
        &self,
        container: &str,
        name: &str,
        data: impl Into<Bytes>,
        options: &UploadOptions,
    ) -> Result<WithMeta<Uploaded>, Error> {
        let req = self.object_request(Method::PUT, container, name)?;
        let data: Bytes = data.into();
        let md5 = match &options.md5 {
            Md5Check::Compute => {
                let mut h = Hasher::new(DigestAlgorithm::Md5);
                h.update(&data);
                Some(h.finish_hex())
            }
            Md5Check::Known(hex) => Some(md5_hex(hex)?),
            Md5Check::Skip => None,
        };
        let len = data.len() as u64;
        self.send_upload(req, Body::from(data), Some(len), options, md5, None)
            .await
    }

    /// Upload the file at `path`, streamed (never read into memory whole).
    /// The file is re-opened if the request must be sent again (the replay
    /// after a 401). With [`Md5Check::Compute`] the file is read once before
    /// to compute its MD5, sent as `ETag`. A file that cannot be read is
    /// [`Error::Io`] naming it.
    pub async fn upload_file(
        &self,
        container: &str,
        name: &str,
        path: impl AsRef<Path>,
        options: &UploadOptions,
    ) -> Result<WithMeta<Uploaded>, Error> {
        let path = path.as_ref();
        let req = self.object_request(Method::PUT, container, name)?;
        let md5 = match &options.md5 {
            Md5Check::Compute => Some(md5_of_file(path, 0, None).await?),
            Md5Check::Known(hex) => Some(md5_hex(hex)?),
            Md5Check::Skip => None,
        };
        let body = Body::from_file(path).await.map_err(|source| Error::Io {
            operation: "read",
            path: Some(path.to_path_buf()),
            source,
        })?;
        let len = body.len();
        self.send_upload(req, body, len, options, md5, None).await
    }

    /// Upload what `reader` gives, streamed, sent once: a 401 on the way
    /// renews the token and is [`Error::BodyNotReplayable`] (send again with
    /// a fresh reader). `len`, when known, goes as `Content-Length` (else
    /// the body is chunked). With [`Md5Check::Compute`] the bytes are hashed
    /// as they go and compared with the `ETag` Swift answers.
    pub async fn upload_reader<R>(
        &self,
        container: &str,
        name: &str,
        reader: R,
        len: Option<u64>,
        options: &UploadOptions,
    ) -> Result<WithMeta<Uploaded>, Error>
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        let req = self.object_request(Method::PUT, container, name)?;
        match &options.md5 {
            Md5Check::Compute => {
                let hasher = Arc::new(Mutex::new(Hasher::new(DigestAlgorithm::Md5)));
                let h = hasher.clone();
                let stream = tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024)
                    .inspect_ok(move |chunk| {
                        h.lock().unwrap_or_else(|p| p.into_inner()).update(chunk);
                    });
                let body = Body::from_stream(stream, len);
                self.send_upload(req, body, len, options, None, Some(hasher))
                    .await
            }
            Md5Check::Known(hex) => {
                let md5 = md5_hex(hex)?;
                let body = Body::from_reader(reader, len);
                self.send_upload(req, body, len, options, Some(md5), None)
                    .await
            }
            Md5Check::Skip => {
                let body = Body::from_reader(reader, len);
                self.send_upload(req, body, len, options, None, None).await
            }
        }
    }

    /// Send an upload: headers from the options, `ETag` when `md5` is
    /// known; the answered ETag is compared with `md5` or with what
    /// `streamed` computed on the way.
    pub(crate) async fn send_upload(
        &self,
        mut req: ApiRequest,
        body: Body,
        len: Option<u64>,
        options: &UploadOptions,
        md5: Option<String>,
        streamed: Option<Arc<Mutex<Hasher>>>,
    ) -> Result<WithMeta<Uploaded>, Error> {
        if let Some(md5) = &md5 {
            req = req.set_header("ETag", md5);
        }
        if let Some(ct) = &options.content_type {
            req = req.set_header("Content-Type", ct);
        }
        req = with_metadata(req, "Object", &options.metadata);
        let body = match &options.progress {
            Some(progress) => {
                let progress = progress.clone();
                body.with_progress(move |p| progress(p))
            }
            None => body,
        };
        let resp = self.service.request(req.body(body)).await?;
        let answered = header(resp.headers(), "etag")
            .map(|e| unquote(&e).to_ascii_lowercase())
            .unwrap_or_default();
        let expected = md5.or_else(|| {
            let h = streamed?;
            let h = h.lock().unwrap_or_else(|p| p.into_inner()).clone();
            Some(h.finish_hex())
        });
        if let Some(expected) = expected
            && answered != expected
        {
            return Err(Error::DigestMismatch {
                algorithm: "md5",
                expected,
                actual: answered,
                url: resp.url(),
            });
        }
        Ok(with_meta(
            Uploaded {
                etag: answered,
                bytes: len,
            },
            &resp,
        ))
    }

    /// An object's size, type, ETag and metadata (`HEAD`).
    pub async fn object(&self, container: &str, name: &str) -> Result<WithMeta<ObjectInfo>, Error> {
        let req = self.object_request(Method::HEAD, container, name)?;
        let resp = self.service.request(req).await?;
        Ok(with_meta(ObjectInfo::from_headers(resp.headers()), &resp))
    }

    /// Replace an object's `X-Object-Meta-*` with these (Swift's object
    /// `POST` drops the items not sent); its content type is kept.
    pub async fn set_object_metadata(
        &self,
        container: &str,
        name: &str,
        metadata: &Metadata,
    ) -> Result<WithMeta<()>, Error> {
        let req = with_metadata(
            self.object_request(Method::POST, container, name)?,
            "Object",
            metadata,
        );
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    /// A (small) object read whole into memory, its MD5 checked against a
    /// plain object's `ETag`. Use [`download_to_file`](Self::download_to_file)
    /// or [`open_object`](Self::open_object) for large ones: the client's
    /// response size limit applies here.
    pub async fn get_object(
        &self,
        container: &str,
        name: &str,
    ) -> Result<WithMeta<ObjectData>, Error> {
        let req = self.object_request(Method::GET, container, name)?;
        let resp = self.service.request(req).await?;
        let info = ObjectInfo::from_headers(resp.headers());
        if info.large_object.is_none()
            && let Some(etag) = info.etag.as_deref().filter(|e| is_md5_hex(e))
        {
            let mut h = Hasher::new(DigestAlgorithm::Md5);
            h.update(resp.body());
            let actual = h.finish_hex();
            if !actual.eq_ignore_ascii_case(etag) {
                return Err(Error::DigestMismatch {
                    algorithm: "md5",
                    expected: etag.to_ascii_lowercase(),
                    actual,
                    url: resp.url(),
                });
            }
        }
        let data = resp.body().clone();
        Ok(with_meta(ObjectData { info, data }, &resp))
    }

    /// The bytes of `range` of an object (`Range: bytes=a-b`, answered
    /// with 206 Partial Content): `10..20`, `10..=19`, `10..`, `..20`.
    /// A range past the end is Swift's 416.
    pub async fn read_range(
        &self,
        container: &str,
        name: &str,
        range: impl RangeBounds<u64>,
    ) -> Result<WithMeta<Bytes>, Error> {
        let start = match range.start_bound() {
            Bound::Included(a) => *a,
            Bound::Excluded(a) => a.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(b) => Some(*b),
            Bound::Excluded(0) => return Err(Error::invalid(InvalidKind::Other, "an empty range")),
            Bound::Excluded(b) => Some(b - 1),
            Bound::Unbounded => None,
        };
        if end.is_some_and(|e| e < start) {
            return Err(Error::invalid(InvalidKind::Other, "an empty range"));
        }
        let spec = match end {
            Some(e) => format!("bytes={start}-{e}"),
            None => format!("bytes={start}-"),
        };
        let req = self
            .object_request(Method::GET, container, name)?
            .set_header("Range", &spec);
        let resp = self.service.request(req).await?;
        let body = resp.body().clone();
        let data = if resp.status().as_u16() == 200 {
            // a server that ignored Range sent everything: cut it here
            let from = usize::try_from(start).unwrap_or(usize::MAX).min(body.len());
            let to = end
                .and_then(|e| usize::try_from(e.saturating_add(1)).ok())
                .unwrap_or(body.len())
                .min(body.len());
            body.slice(from..to.max(from))
        } else {
            body
        };
        Ok(with_meta(data, &resp))
    }

    /// An object's content as a stream, checked against a plain object's
    /// `ETag` at its end ([`StreamedResponse::verify_announced_md5`]).
    pub async fn open_object(
        &self,
        container: &str,
        name: &str,
    ) -> Result<StreamedResponse, Error> {
        let req = self.object_request(Method::GET, container, name)?;
        Ok(self
            .service
            .request_streamed(req)
            .await?
            .verify_announced_md5())
    }

    /// Download an object to the file at `path` as it arrives: written to a
    /// temporary file beside it, renamed into place once whole and checked
    /// (a plain object's `ETag`, the digests of `options`). A mismatch is
    /// [`Error::DigestMismatch`] and leaves `path` as it was; a file that
    /// cannot be written is [`Error::Io`] naming it.
    pub async fn download_to_file(
        &self,
        container: &str,
        name: &str,
        path: impl AsRef<Path>,
        options: &DownloadOptions,
    ) -> Result<WithMeta<Downloaded>, Error> {
        let req = self.object_request(Method::GET, container, name)?;
        let mut resp = self.service.request_streamed(req).await?;
        let meta = ResponseMeta::of_streamed(&resp);
        let info = ObjectInfo::from_headers(resp.headers());
        if options.verify_etag {
            resp = resp.verify_announced_md5();
        }
        for (alg, hex) in &options.digests {
            resp = resp.expect_digest(*alg, hex.clone());
        }
        if let Some(progress) = &options.progress {
            let progress = progress.clone();
            resp = resp.on_progress(move |p| progress(p));
        }
        let bytes = resp.copy_to_file(path).await?;
        Ok(WithMeta::new(Downloaded { bytes, info }, meta))
    }

    /// Delete an object (a large object's manifest only: see
    /// [`delete_large_object`](Self::delete_large_object)).
    pub async fn delete_object(&self, container: &str, name: &str) -> Result<WithMeta<()>, Error> {
        let req = self.object_request(Method::DELETE, container, name)?;
        let resp = self.service.request(req).await?;
        Ok(with_meta((), &resp))
    }

    // ----- temp URLs -----

    /// A URL for `method` on the object, usable without a token until
    /// `expires`, signed with `key` (the account's, set with
    /// [`set_temp_url_key`](Self::set_temp_url_key), or the container's).
    pub async fn temp_url(
        &self,
        method: Method,
        container: &str,
        name: &str,
        expires: SystemTime,
        key: &str,
    ) -> Result<TempUrl, Error> {
        let endpoint = self.account_url().await?;
        TempUrl::sign(&endpoint, method, container, name, expires, key)
    }
}

fn with_meta<T>(value: T, resp: &ApiResponse) -> WithMeta<T> {
    WithMeta::new(value, ResponseMeta::of(resp))
}

/// `X-<kind>-Meta-<key>: <value>` for each item.
fn with_metadata(mut req: ApiRequest, kind: &str, metadata: &Metadata) -> ApiRequest {
    for (k, v) in metadata {
        req = req.set_header(&format!("X-{kind}-Meta-{k}"), v);
    }
    req
}

fn is_md5_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A caller's MD5, checked and lower-cased.
fn md5_hex(hex: &str) -> Result<String, Error> {
    let hex = hex.trim();
    if !is_md5_hex(hex) {
        return Err(Error::invalid(
            InvalidKind::Other,
            format!("'{hex}' is not an MD5 (32 hex digits)"),
        ));
    }
    Ok(hex.to_ascii_lowercase())
}

/// The MD5 (hex) of `len` bytes of the file at `path` from `offset` (to
/// its end when `len` is `None`), read in 1 MiB blocks on a blocking thread.
pub(crate) async fn md5_of_file(
    path: &Path,
    offset: u64,
    len: Option<u64>,
) -> Result<String, Error> {
    let owned = path.to_path_buf();
    let io = {
        let path = path.to_path_buf();
        move |source| Error::Io {
            operation: "read",
            path: Some(path.clone()),
            source,
        }
    };
    let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&owned)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut left = len.unwrap_or(u64::MAX);
        let mut h = Hasher::new(DigestAlgorithm::Md5);
        let mut buf = vec![0u8; 1024 * 1024];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
        if len.is_some() && left > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than planned",
            ));
        }
        Ok(h.finish_hex())
    })
    .await
    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    hashed.map_err(io)
}

/// `len` bytes of the file at `path` from `offset`, re-opened for each
/// send; a file that ends early is an I/O error naming it.
pub(crate) fn file_slice_body(path: PathBuf, offset: u64, len: u64) -> Body {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let path = Arc::new(path);
    Body::reopenable(Some(len), move || {
        let (open, failed) = (path.clone(), path.clone());
        let sent = Arc::new(AtomicU64::new(0));
        let counted = sent.clone();
        let data = futures_util::stream::once(async move {
            let mut f = tokio::fs::File::open(&*open).await?;
            f.seek(std::io::SeekFrom::Start(offset)).await?;
            Ok::<_, std::io::Error>(tokio_util::io::ReaderStream::with_capacity(
                f.take(len),
                64 * 1024,
            ))
        })
        .try_flatten()
        .inspect_ok(move |chunk| {
            counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        });
        let end = futures_util::stream::once(async move {
            if sent.load(Ordering::Relaxed) < len {
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than when the upload was planned",
                ))
            } else {
                Ok(None)
            }
        })
        .try_filter_map(|b: Option<Bytes>| async move { Ok(b) });
        data.map_ok(Some)
            .try_filter_map(|b| async move { Ok(b) })
            .chain(end)
            .map_err(move |source| Error::Io {
                operation: "read",
                path: Some(failed.to_path_buf()),
                source,
            })
    })
}

/// One page of a listing at `path` (`""`: the account).
async fn list_page<T: DeserializeOwned>(
    service: &ServiceClient,
    path: String,
    query: &ListQuery,
) -> Result<WithMeta<Vec<T>>, Error> {
    let req = ApiRequest::get(path)
        .query("format", "json")
        .query_of(query);
    let resp = service.request(req).await?;
    // an empty account or container may answer 204 with no body
    let items = if resp.body().iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        resp.json()?
    };
    Ok(with_meta(items, &resp))
}

/// Something listed by name.
trait Named {
    fn name(&self) -> &str;
}

impl Named for ObjectEntry {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ContainerEntry {
    fn name(&self) -> &str {
        &self.name
    }
}

struct Pages<T> {
    service: ServiceClient,
    path: String,
    query: ListQuery,
    page: VecDeque<T>,
    done: bool,
}

/// Every entry of a listing, one page in memory at a time.
fn list_all<T>(
    service: ServiceClient,
    path: String,
    query: ListQuery,
) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: DeserializeOwned + Named + Send + 'static,
{
    let state = Pages {
        service,
        path,
        query,
        page: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.page.pop_front() {
                return Some((Ok(item), st));
            }
            if st.done {
                return None;
            }
            let page: Vec<T> = match list_page(&st.service, st.path.clone(), &st.query).await {
                Ok(p) => p.into_inner(),
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            let short = st
                .query
                .limit
                .is_some_and(|l| page.len() < usize::try_from(l).unwrap_or(usize::MAX));
            match page.last().map(|t| t.name().to_string()) {
                None => st.done = true,
                Some(last) => {
                    if st
                        .query
                        .marker
                        .as_deref()
                        .is_some_and(|m| last.as_str() <= m)
                    {
                        st.done = true;
                        return Some((
                            Err(Error::InvalidResponse {
                                message: format!(
                                    "the listing did not move past the marker '{last}'"
                                ),
                                url: if st.path.is_empty() {
                                    "/".into()
                                } else {
                                    st.path.clone()
                                },
                                source: None,
                            }),
                            st,
                        ));
                    }
                    st.done = short;
                    st.query.marker = Some(last);
                }
            }
            st.page = page.into();
        }
    })
}

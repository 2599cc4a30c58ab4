//! Static large objects (SLO): a file uploaded in segments, each checked by
//! its MD5, then a manifest listing them; read back as one object.

use std::path::PathBuf;
use std::sync::Arc;

use apiclient_base::{ApiRequest, Error, InvalidKind, Method, ResponseMeta, WithMeta};
use apiclient_base::{DigestAlgorithm, Progress, ProgressFn};
use apiclient_http::transfer::Hasher;
use serde::{Deserialize, Serialize};

use crate::paths;
use crate::store::{ObjectStore, file_slice_body, md5_of_file};
use crate::types::{Metadata, UploadOptions, header, unquote};

/// One segment of a static large object, as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// `/<container>/<object>` of the segment (not percent-encoded).
    pub path: String,
    /// Its MD5 (hex).
    pub etag: String,
    /// Its size.
    pub size_bytes: u64,
}

/// The options of a segmented upload.
#[derive(Clone)]
pub struct LargeObjectOptions {
    /// The size of each segment but the last (at least 1 byte; Swift takes
    /// at most 1000 segments and 5 GiB per segment by default).
    pub segment_size: u64,
    /// Where the segments go; by default `<container>_segments`.
    pub segment_container: Option<String>,
    /// The large object's media type.
    pub content_type: Option<String>,
    /// `X-Object-Meta-*` of the large object (on its manifest).
    pub metadata: Metadata,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for LargeObjectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LargeObjectOptions")
            .field("segment_size", &self.segment_size)
            .field("segment_container", &self.segment_container)
            .field("content_type", &self.content_type)
            .field("metadata", &self.metadata)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl LargeObjectOptions {
    /// Segments of `segment_size` bytes in `<container>_segments`.
    pub fn new(segment_size: u64) -> Self {
        LargeObjectOptions {
            segment_size,
            segment_container: None,
            content_type: None,
            metadata: Metadata::new(),
            progress: None,
        }
    }

    /// The segments in this container (created if missing).
    pub fn segment_container(mut self, container: impl Into<String>) -> Self {
        self.segment_container = Some(container.into());
        self
    }

    /// With this media type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// With this metadata item.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Told of the bytes of the whole file sent so far (the segments done,
    /// plus the one going).
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// A stored static large object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LargeUploaded {
    /// Its ETag: the MD5 of its segments' MD5s (hex), checked against
    /// Swift's.
    pub etag: String,
    /// Its size: the file's.
    pub size: u64,
    /// Its segments, in order.
    pub segments: Vec<Segment>,
}

/// What a large-object delete removed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LargeDeleted {
    /// Objects deleted: the segments and the manifest.
    pub deleted: u64,
    /// Segments (or the manifest) that were already gone.
    pub not_found: u64,
}

/// A segmented upload in progress ([`ObjectStore::plan_large_upload`]):
/// segments are sent one by one (each re-read from the file for a replay
/// after a 401), in any order, and retried by index; [`finish`](Self::finish)
/// sends what is missing, then the manifest.
///
/// ```no_run
/// # async fn f(store: example_object_store::ObjectStore) -> Result<(), apiclient_base::Error> {
/// use example_object_store::LargeObjectOptions;
/// let mut upload = store
///     .plan_large_upload("backups", "disk.img", "disk.img", LargeObjectOptions::new(256 << 20))
///     .await?;
/// for i in 0..upload.segment_count() {
///     upload.upload_segment(i).await?; // a failed one can be sent again
/// }
/// let stored = upload.finish().await?;
/// println!("{} bytes in {} segments", stored.size, stored.segments.len());
/// # Ok(()) }
/// ```
pub struct LargeUpload {
    store: ObjectStore,
    container: String,
    name: String,
    path: PathBuf,
    size: u64,
    options: LargeObjectOptions,
    segment_container: String,
    done: Vec<Option<Segment>>,
}

impl std::fmt::Debug for LargeUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LargeUpload")
            .field("container", &self.container)
            .field("name", &self.name)
            .field("path", &self.path)
            .field("size", &self.size)
            .field("segment_container", &self.segment_container)
            .field(
                "uploaded",
                &self.done.iter().filter(|s| s.is_some()).count(),
            )
            .field("segments", &self.done.len())
            .finish()
    }
}

impl LargeUpload {
    pub(crate) async fn plan(
        store: &ObjectStore,
        container: &str,
        name: &str,
        path: PathBuf,
        options: LargeObjectOptions,
    ) -> Result<Self, Error> {
        paths::check_container(container)?;
        paths::check_object(name)?;
        if options.segment_size == 0 {
            return Err(Error::invalid(
                InvalidKind::Other,
                "a segment size must be at least 1 byte",
            ));
        }
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(|source| Error::Io {
                operation: "read",
                path: Some(path.clone()),
                source,
            })?
            .len();
        if size == 0 {
            return Err(Error::invalid(
                InvalidKind::Other,
                format!(
                    "{} is empty: a large object needs at least one byte (upload it as a plain object)",
                    path.display()
                ),
            ));
        }
        let segment_container = options
            .segment_container
            .clone()
            .unwrap_or_else(|| format!("{container}_segments"));
        paths::check_container(&segment_container)?;
        store
            .create_container(&segment_container, &Metadata::new())
            .await?;
        let count = size.div_ceil(options.segment_size);
        let count = usize::try_from(count).map_err(|_| {
            Error::invalid(InvalidKind::Other, format!("{count} segments are too many"))
        })?;
        Ok(LargeUpload {
            store: store.clone(),
            container: container.to_string(),
            name: name.to_string(),
            path,
            size,
            options,
            segment_container,
            done: vec![None; count],
        })
    }

    /// How many segments the file makes.
    pub fn segment_count(&self) -> usize {
        self.done.len()
    }

    /// The file's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The container of the segments.
    pub fn segment_container(&self) -> &str {
        &self.segment_container
    }

    /// The object name of segment `index`: `<object>/<index, 8 digits>`,
    /// so that a listing shows them in order.
    pub fn segment_name(&self, index: usize) -> String {
        format!("{}/{index:08}", self.name)
    }

    /// The segments uploaded so far (`None` for the others), by index.
    pub fn segments(&self) -> &[Option<Segment>] {
        &self.done
    }

    /// Upload segment `index` (again, if it was): its MD5 is computed from
    /// the file and sent as `ETag`, so Swift refuses a segment that does
    /// not match.
    pub async fn upload_segment(&mut self, index: usize) -> Result<Segment, Error> {
        if index >= self.done.len() {
            return Err(Error::invalid(
                InvalidKind::Other,
                format!(
                    "segment {index} does not exist: the file makes {}",
                    self.done.len()
                ),
            ));
        }
        let offset = index as u64 * self.options.segment_size;
        let len = self.options.segment_size.min(self.size - offset);
        let md5 = md5_of_file(&self.path, offset, Some(len)).await?;
        let name = self.segment_name(index);
        let mut upload = UploadOptions::new().md5(crate::Md5Check::Known(md5.clone()));
        if let Some(progress) = &self.options.progress {
            let base: u64 = self
                .done
                .iter()
                .enumerate()
                .filter(|(i, s)| *i != index && s.is_some())
                .filter_map(|(_, s)| s.as_ref().map(|s| s.size_bytes))
                .sum();
            let (progress, total) = (progress.clone(), self.size);
            upload = upload.on_progress(move |p| {
                progress(Progress::new(base + p.done(), Some(total)));
            });
        }
        self.store
            .send_upload(
                self.store
                    .object_request(Method::PUT, &self.segment_container, &name)?,
                file_slice_body(self.path.clone(), offset, len),
                Some(len),
                &upload,
                Some(md5.clone()),
                None,
            )
            .await?;
        let segment = Segment {
            path: format!("/{}/{name}", self.segment_container),
            etag: md5,
            size_bytes: len,
        };
        self.done[index] = Some(segment.clone());
        Ok(segment)
    }

    /// Upload every segment not uploaded yet, in order.
    pub async fn upload_remaining(&mut self) -> Result<(), Error> {
        for i in 0..self.done.len() {
            if self.done[i].is_none() {
                self.upload_segment(i).await?;
            }
        }
        Ok(())
    }

    /// Upload what is missing, then the manifest
    /// (`PUT ...?multipart-manifest=put`, with the MD5 of the segments'
    /// MD5s as `ETag`, which Swift checks). The object then reads as the
    /// whole file.
    /// A failed manifest upload can be retried: the segments stay uploaded.
    pub async fn finish(&mut self) -> Result<WithMeta<LargeUploaded>, Error> {
        self.upload_remaining().await?;
        let segments: Vec<Segment> = self.done.iter().flatten().cloned().collect();
        let mut md5s = Hasher::new(DigestAlgorithm::Md5);
        for s in &segments {
            md5s.update(s.etag.as_bytes());
        }
        let etag = md5s.finish_hex();
        let mut req = self
            .store
            .object_request(Method::PUT, &self.container, &self.name)?
            .query("multipart-manifest", "put")
            .json(&segments)
            .set_header("ETag", &etag)
            .set_header(
                "Content-Type",
                self.options
                    .content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            );
        for (k, v) in &self.options.metadata {
            req = req.set_header(&format!("X-Object-Meta-{k}"), v);
        }
        let resp = self.store.service().request(req).await?;
        if let Some(answered) = header(resp.headers(), "etag")
            && unquote(&answered) != etag
        {
            return Err(Error::DigestMismatch {
                algorithm: "md5",
                expected: etag,
                actual: unquote(&answered).to_string(),
                url: resp.url(),
            });
        }
        Ok(WithMeta::new(
            LargeUploaded {
                etag,
                size: self.size,
                segments,
            },
            ResponseMeta::of(&resp),
        ))
    }

    /// Give the upload up: delete the segments uploaded so far (a manifest,
    /// if one was stored, is left alone).
    pub async fn abort(self) -> Result<(), Error> {
        for (i, done) in self.done.iter().enumerate() {
            if done.is_none() {
                continue;
            }
            match self
                .store
                .delete_object(&self.segment_container, &self.segment_name(i))
                .await
            {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Swift's answer to `DELETE ...?multipart-manifest=delete` (the bulk
/// middleware's report).
#[derive(Debug, Deserialize)]
struct BulkReport {
    #[serde(rename = "Number Deleted", default)]
    deleted: u64,
    #[serde(rename = "Number Not Found", default)]
    not_found: u64,
    #[serde(rename = "Response Status", default)]
    status: String,
    #[serde(rename = "Response Body", default)]
    body: String,
    #[serde(rename = "Errors", default)]
    errors: Vec<serde_json::Value>,
}

pub(crate) async fn delete_large_object(
    store: &ObjectStore,
    container: &str,
    name: &str,
) -> Result<WithMeta<LargeDeleted>, Error> {
    let req: ApiRequest = store
        .object_request(Method::DELETE, container, name)?
        .query("multipart-manifest", "delete")
        .set_header("Accept", "application/json");
    let resp = store.service().request(req).await?;
    let meta = ResponseMeta::of(&resp);
    if resp.body().is_empty() {
        // a Swift without the bulk report: the answer's status is all there is
        return Ok(WithMeta::new(
            LargeDeleted {
                deleted: 1,
                not_found: 0,
            },
            meta,
        ));
    }
    let report: BulkReport = resp.json()?;
    // the real status is in the report: 200 OK was sent before the work was done
    let status: u16 = report
        .status
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let failed = |status: u16, detail: String| -> Error {
        // the report's text is the message: say it is text
        let mut headers = resp.headers().clone();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain"),
        );
        apiclient_errors::from_response(status, &headers, detail.as_bytes(), "DELETE", &resp.url())
            .into()
    };
    if !(200..300).contains(&status) || !report.errors.is_empty() {
        // [["/c/o", "Not an SLO manifest"], ...] as "/c/o: Not an SLO manifest; ..."
        let detail = report
            .errors
            .iter()
            .map(|e| match e.as_array().map(Vec::as_slice) {
                Some([path, reason]) => format!(
                    "{}: {}",
                    path.as_str().unwrap_or_default(),
                    reason.as_str().unwrap_or_default()
                ),
                _ => e.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let detail = if detail.is_empty() {
            report.body.clone()
        } else {
            detail
        };
        let status = if (200..300).contains(&status) {
            500
        } else {
            status
        };
        return Err(failed(status, detail));
    }
    if report.deleted == 0 {
        // nothing deleted: there was no manifest
        return Err(failed(404, format!("{container}/{name} not found")));
    }
    Ok(WithMeta::new(
        LargeDeleted {
            deleted: report.deleted,
            not_found: report.not_found,
        },
        meta,
    ))
}

impl ObjectStore {
    // ----- large objects -----

    /// Plan the upload of the file at `path` as a static large object:
    /// segments of `options.segment_size` in the segment container (created
    /// here if missing). Nothing is sent yet: see [`LargeUpload`].
    pub async fn plan_large_upload(
        &self,
        container: &str,
        name: &str,
        path: impl Into<PathBuf>,
        options: LargeObjectOptions,
    ) -> Result<LargeUpload, Error> {
        LargeUpload::plan(self, container, name, path.into(), options).await
    }

    /// Upload the file at `path` as a static large object: every segment
    /// (each with its MD5), then the manifest.
    pub async fn upload_large_file(
        &self,
        container: &str,
        name: &str,
        path: impl Into<PathBuf>,
        options: LargeObjectOptions,
    ) -> Result<WithMeta<LargeUploaded>, Error> {
        let mut upload = self
            .plan_large_upload(container, name, path, options)
            .await?;
        upload.finish().await
    }

    /// Delete a static large object with its segments
    /// (`DELETE ...?multipart-manifest=delete`). Swift answers 200 before
    /// it has done the work and reports in the body: a failure there is an
    /// error with the report's status (a plain object: 400, "Not an SLO
    /// manifest"; use [`delete_object`](Self::delete_object)), and nothing
    /// deleted is a 404.
    pub async fn delete_large_object(
        &self,
        container: &str,
        name: &str,
    ) -> Result<WithMeta<LargeDeleted>, Error> {
        delete_large_object(self, container, name).await
    }
}

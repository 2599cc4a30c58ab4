//! [`StreamedResponse`]: an answer whose body is read as it arrives, with
//! its progress and digest checks, and the part file a download is written
//! to before it replaces its destination.

use std::sync::Arc;

use apiclient_errors::Error;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::response::request_id_of;
use super::stack::into_error;
use crate::body::Body;
use crate::layers::curl_log::redact_headers;
use crate::microversion::Microversion;
use crate::transfer::{DigestAlgorithm, Progress, ProgressFn};

/// A response whose body is read as it arrives
/// ([`ServiceClient::request_streamed`](crate::ServiceClient::request_streamed)).
///
/// It carries the answer's metadata ([`request_id`](Self::request_id),
/// [`microversion`](Self::microversion)); a download can report its
/// progress ([`on_progress`](Self::on_progress)) and be checked against a
/// digest ([`expect_digest`](Self::expect_digest),
/// [`verify_announced_md5`](Self::verify_announced_md5)): a mismatch is
/// [`Error::DigestMismatch`] at the end of the body, and
/// [`copy_to_file`](Self::copy_to_file) then leaves no file behind.
pub struct StreamedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    uri: http::Uri,
    method: Method,
    progress: Option<ProgressFn>,
    digests: Vec<(DigestAlgorithm, String)>,
}

impl std::fmt::Debug for StreamedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedResponse")
            .field("status", &self.status)
            .field(
                "url",
                &apiclient_errors::redact::redact_url(&self.uri.to_string()),
            )
            .field("headers", &redact_headers(&self.headers))
            .finish_non_exhaustive()
    }
}

impl StreamedResponse {
    /// An answer as the stack returned it: no progress, no digest to check yet.
    pub(super) fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Body,
        uri: http::Uri,
        method: Method,
    ) -> Self {
        StreamedResponse {
            status,
            headers,
            body,
            uri,
            method,
            progress: None,
            digests: Vec::new(),
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The absolute URL that answered.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// The `Content-Length`, when the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// The `x-openstack-request-id` (or `x-compute-request-id`, Swift's
    /// `x-trans-id`), if any.
    pub fn request_id(&self) -> Option<&str> {
        request_id_of(&self.headers)
    }

    /// The microversion the service says it answered with, if it says.
    pub fn microversion(&self) -> Option<Microversion> {
        crate::microversion::from_response(&self.headers)
    }

    /// Tell `progress` of the bytes received as they arrive (the total is
    /// the `Content-Length`, when sent).
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Check the body against this digest (hex, any case) as it streams:
    /// a mismatch is [`Error::DigestMismatch`] in place of the end of the
    /// body.
    pub fn expect_digest(mut self, algorithm: DigestAlgorithm, hex: impl Into<String>) -> Self {
        self.digests
            .push((algorithm, hex.into().trim().to_ascii_lowercase()));
        self
    }

    /// Check the body against the MD5 the server announced: `Content-MD5`
    /// (hex as Glance sends it, or base64), else a plain object's `ETag`
    /// (Swift; 32 hex digits). Only a whole body is checked: a `200` to a
    /// request other than `HEAD`. Nothing is checked where no MD5 of these
    /// bytes was announced: a partial answer (206), an answer without a
    /// body, or a large-object manifest whose `ETag` is the digest of its
    /// segments' digests.
    pub fn verify_announced_md5(self) -> Self {
        if self.status != StatusCode::OK || self.method == Method::HEAD {
            return self;
        }
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
        let announced = header("content-md5")
            .and_then(crate::transfer::md5_from_header)
            .or_else(|| {
                let plain = header("x-static-large-object").is_none()
                    && header("x-object-manifest").is_none();
                header("etag")
                    .filter(|_| plain)
                    .and_then(crate::transfer::md5_from_hex)
            });
        match announced {
            Some(md5) => self.expect_digest(DigestAlgorithm::Md5, md5),
            None => self,
        }
    }

    /// The body as a stream of chunks (errors are typed: a read that waited
    /// past the idle timeout is a timeout; a digest that does not match is
    /// [`Error::DigestMismatch`] after the last chunk).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Error>> + Send {
        let url = self.uri.to_string();
        let total = self.content_length();
        let check = DigestCheck {
            hashers: self
                .digests
                .iter()
                .map(|(alg, _)| crate::transfer::Hasher::new(*alg))
                .collect(),
            expected: self.digests,
            progress: self.progress,
            done: 0,
            total,
            url,
        };
        let body = self.body.into_stream();
        futures_util::stream::unfold(
            (Box::pin(body), Some(check)),
            |(mut body, check)| async move {
                use futures_util::StreamExt;
                let mut check = check?;
                match body.next().await {
                    Some(Ok(chunk)) => {
                        check.update(&chunk);
                        Some((Ok(chunk), (body, Some(check))))
                    }
                    Some(Err(e)) => {
                        let e = into_error(e, &check.url);
                        Some((Err(e), (body, None)))
                    }
                    None => check.finish().map(|e| (Err(e), (body, None))),
                }
            },
        )
    }

    /// The body (unchecked: no progress, no digest).
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Write the body to `writer` as it arrives; the number of bytes
    /// written. A failed write is [`Error::Io`].
    pub async fn copy_to<W>(self, writer: &mut W) -> Result<u64, Error>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        copy_stream(self.into_stream(), writer, None).await
    }

    /// Write the body to the file at `path` as it arrives; the number of
    /// bytes written. The data goes to a temporary file beside it, renamed
    /// over `path` once the whole body has arrived and matched its digests:
    /// a failed download leaves `path` as it was. A file that cannot be
    /// written is [`Error::Io`] naming it.
    pub async fn copy_to_file(self, path: impl AsRef<std::path::Path>) -> Result<u64, Error> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            operation: "write",
            path: Some(path.to_path_buf()),
            source,
        };
        let (part, file) = PartFile::create(path).await.map_err(io)?;
        let mut file = file;
        let copied = copy_stream(self.into_stream(), &mut file, Some(path)).await;
        let synced = match copied {
            Ok(n) => file.sync_all().await.map(|()| n).map_err(io),
            Err(e) => Err(e),
        };
        drop(file);
        let n = synced?;
        part.keep_as(path).await.map_err(io)?;
        Ok(n)
    }
}

/// A download's temporary file beside its destination: created new (never
/// through a link someone left at its name), private to the user, with a
/// name no other download picks; removed unless kept (also when the
/// download is cancelled).
struct PartFile(Option<std::path::PathBuf>);

impl PartFile {
    async fn create(dest: &std::path::Path) -> std::io::Result<(PartFile, tokio::fs::File)> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "download".into());
        let mut tries = 0;
        loop {
            let part = dest.with_file_name(format!(
                ".{name}.part-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            ));
            let mut open = tokio::fs::OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            open.mode(0o600);
            match open.open(&part).await {
                Ok(file) => return Ok((PartFile(Some(part)), file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Rename it over `dest`.
    async fn keep_as(mut self, dest: &std::path::Path) -> std::io::Result<()> {
        if let Some(part) = self.0.take()
            && let Err(e) = tokio::fs::rename(&part, dest).await
        {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(part) = self.0.take() {
            let _ = std::fs::remove_file(part);
        }
    }
}

/// Progress and digests of a streamed body, as it passes.
struct DigestCheck {
    hashers: Vec<crate::transfer::Hasher>,
    expected: Vec<(DigestAlgorithm, String)>,
    progress: Option<ProgressFn>,
    done: u64,
    total: Option<u64>,
    url: String,
}

impl DigestCheck {
    fn update(&mut self, chunk: &[u8]) {
        for h in &mut self.hashers {
            h.update(chunk);
        }
        self.done += chunk.len() as u64;
        if let Some(tell) = &self.progress {
            tell(Progress::new(self.done, self.total));
        }
    }

    /// The first mismatch, if any.
    fn finish(self) -> Option<Error> {
        self.hashers
            .into_iter()
            .zip(self.expected)
            .find_map(|(h, (algorithm, expected))| {
                let actual = h.finish_hex();
                (actual != expected).then(|| Error::DigestMismatch {
                    algorithm: algorithm.name(),
                    expected,
                    actual,
                    url: self.url.clone(),
                })
            })
    }
}

/// Copy `stream` into `writer`; write failures are [`Error::Io`] (naming `path`).
async fn copy_stream<W>(
    stream: impl futures_util::Stream<Item = Result<Bytes, Error>>,
    writer: &mut W,
    path: Option<&std::path::Path>,
) -> Result<u64, Error>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let io = |source| Error::Io {
        operation: "write",
        path: path.map(std::path::Path::to_path_buf),
        source,
    };
    let mut stream = std::pin::pin!(stream);
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        writer.write_all(&chunk).await.map_err(io)?;
        n += chunk.len() as u64;
    }
    writer.flush().await.map_err(io)?;
    Ok(n)
}

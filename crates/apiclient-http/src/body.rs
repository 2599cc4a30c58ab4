//! [`Body`]: what travels through the stack, both ways.
//!
//! A body is either **buffered** (`Bytes`: replayable, so retries and the
//! 401 replay resend the same bytes), **re-openable** (a file, or a closure
//! that makes a fresh stream: replayable too) or a **one-shot stream** (a
//! `Stream` of `Bytes` or an `AsyncRead`, with or without a known length),
//! which is sent once and never replayed. Responses are buffered by default
//! (with the size limit) or, when asked for, streamed.
//!
//! ```
//! use apiclient_http::Body;
//! use bytes::Bytes;
//!
//! let buffered = Body::from("{}");
//! assert!(buffered.is_replayable());
//! assert_eq!(buffered.len(), Some(2));
//!
//! let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("a")), Ok(Bytes::from("b"))]);
//! let once = Body::from_stream(chunks, Some(2));
//! assert!(!once.is_replayable());
//! assert!(once.try_clone().is_none());
//!
//! let again = Body::reopenable(Some(1), || futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]));
//! assert!(again.try_clone().is_some());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use apiclient_errors::BoxError;

use crate::transfer::{Progress, ProgressFn};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send + 'static>>;
type Opener = Arc<dyn Fn() -> BoxStream + Send + Sync>;
type Boxed = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A request or response body. See the [module documentation](self).
///
/// As small as `Bytes` (32 bytes on 64-bit targets): a request
/// (`http::Request<Body>`) fits in 256 bytes, so each move of one, through
/// the stack and through hyper-util, is one short copy.
pub struct Body {
    inner: Inner,
}

/// Buffered bytes told to no one (the usual body) inline; the rest boxed.
enum Inner {
    /// Buffered bytes, not sent yet (or none: an empty body).
    Full(Bytes),
    /// A body that was sent, a stream, a re-openable source, or one that
    /// tells its progress.
    Other(Box<Other>),
}

/// A body that is not plain buffered bytes.
struct Other {
    source: Source,
    /// Told of the bytes sent, from zero on each send.
    progress: Option<(ProgressFn, u64)>,
}

enum Source {
    /// Buffered bytes; `None` once sent.
    Full(Option<Bytes>),
    /// A source that makes a fresh stream on demand.
    Reopen {
        open: Opener,
        len: Option<u64>,
        stream: Option<BoxStream>,
    },
    /// A one-shot stream.
    Stream { stream: BoxStream, len: Option<u64> },
    /// Any other body (a streamed response).
    Boxed(Boxed),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let other = match &self.inner {
            Inner::Full(b) => return write!(f, "Body::Full({} bytes)", b.len()),
            Inner::Other(other) => other,
        };
        match &other.source {
            Source::Full(b) => write!(f, "Body::Full({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            Source::Reopen { len, .. } => write!(f, "Body::Reopenable(len: {len:?})"),
            Source::Stream { len, .. } => write!(f, "Body::Stream(len: {len:?})"),
            Source::Boxed(_) => f.write_str("Body::Streamed"),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

/// How much of a file one read takes.
const FILE_READ: usize = 1024 * 1024;

/// A read of [`FileChunks`]: the file back (none if it did not open), and
/// the chunk (empty at the end of the file).
type ChunkRead = (Option<std::fs::File>, std::io::Result<Vec<u8>>);

/// A file as a stream of chunks of [`FILE_READ`] bytes (the last one
/// shorter), each read on tokio's blocking pool into the buffer that
/// becomes the chunk (tokio's `File` reads into its own buffer and copies
/// out), with the next read started as a chunk is handed on.
struct FileChunks {
    /// The read under way: the file back, with its chunk (empty at the end).
    reading: Option<tokio::task::JoinHandle<ChunkRead>>,
    /// The file to open first (the first read opens it).
    path: Option<Arc<PathBuf>>,
}

impl FileChunks {
    fn new(path: Arc<PathBuf>) -> Self {
        FileChunks {
            reading: None,
            path: Some(path),
        }
    }

    /// One chunk of `file`: up to [`FILE_READ`] bytes, fewer only at its end.
    fn read(file: &mut std::fs::File) -> std::io::Result<Vec<u8>> {
        use std::io::Read as _;
        let mut chunk = vec![0u8; FILE_READ];
        let mut filled = 0;
        while filled < chunk.len() {
            match file.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        chunk.truncate(filled);
        Ok(chunk)
    }

    fn read_next(&mut self, mut file: std::fs::File) {
        self.reading = Some(tokio::task::spawn_blocking(move || {
            let chunk = FileChunks::read(&mut file);
            (Some(file), chunk)
        }));
    }
}

impl Stream for FileChunks {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(path) = self.path.take() {
            // the first read opens the file (a blocking call too)
            self.reading = Some(tokio::task::spawn_blocking(
                move || match std::fs::File::open(&*path) {
                    Ok(mut file) => {
                        let chunk = FileChunks::read(&mut file);
                        (Some(file), chunk)
                    }
                    Err(e) => (None, Err(e)),
                },
            ));
        }
        let Some(reading) = self.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let done = std::task::ready!(Pin::new(reading).poll(cx));
        self.reading = None;
        match done {
            Ok((file, Ok(chunk))) if !chunk.is_empty() => {
                // a full chunk: there may be more, read while this one goes
                if let Some(file) = file.filter(|_| chunk.len() == FILE_READ) {
                    self.read_next(file);
                }
                Poll::Ready(Some(Ok(Bytes::from(chunk))))
            }
            Ok((_, Ok(_))) => Poll::Ready(None),
            Ok((_, Err(e))) => Poll::Ready(Some(Err(e))),
            Err(join) => Poll::Ready(Some(Err(std::io::Error::other(join)))),
        }
    }
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body::from(Bytes::new())
    }

    /// A body of `source` that tells `progress` (buffered bytes that tell
    /// no one are held inline).
    fn of(source: Source, progress: Option<(ProgressFn, u64)>) -> Self {
        match (source, progress) {
            (Source::Full(Some(b)), None) => Body::from(b),
            (source, progress) => Body {
                inner: Inner::Other(Box::new(Other { source, progress })),
            },
        }
    }

    /// A one-shot stream of chunks; `len` is its exact length when known
    /// (sent as `Content-Length`; otherwise the body is chunked).
    pub fn from_stream<S, E>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        Body::of(
            Source::Stream {
                stream: Box::pin(stream.map_err(Into::into)),
                len,
            },
            None,
        )
    }

    /// A one-shot body read from `reader` (64 KiB at a time); `len` as for [`from_stream`](Self::from_stream).
    pub fn from_reader<R>(reader: R, len: Option<u64>) -> Self
    where
        R: tokio::io::AsyncRead + Send + 'static,
    {
        Body::from_stream(
            tokio_util::io::ReaderStream::with_capacity(reader, 64 * 1024),
            len,
        )
    }

    /// A replayable body: `open` makes a fresh stream of the same bytes each
    /// time the body is sent (a retry, the replay after a 401).
    pub fn reopenable<F, S, E>(len: Option<u64>, open: F) -> Self
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let open: Opener = Arc::new(move || Box::pin(open().map_err(Into::into)) as BoxStream);
        Body::of(
            Source::Reopen {
                open,
                len,
                stream: None,
            },
            None,
        )
    }

    /// The file at `path`, re-opened each time the body is sent; its length
    /// (from the file's metadata now) is sent as `Content-Length`. It is
    /// read 1 MiB at a time on tokio's blocking pool, straight into the
    /// chunk that is sent, and one chunk ahead: the next read runs while
    /// the last chunk goes out.
    pub async fn from_file(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path: PathBuf = path.into();
        let len = tokio::fs::metadata(&path).await?.len();
        let path = Arc::new(path);
        Ok(Body::reopenable(Some(len), move || {
            let failed = path.clone();
            FileChunks::new(path.clone())
                // a file that cannot be read is the caller's I/O error, naming it
                .map_err(move |source| apiclient_errors::Error::Io {
                    operation: "read",
                    path: Some(failed.to_path_buf()),
                    source,
                })
        }))
    }

    /// Any `http_body::Body` (a response body from hyper, a tower-http
    /// layer's). A `Body` comes back as it is (never boxed twice).
    pub fn wrap<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut slot = Some(body);
        if let Some(already) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Body>>()
            && let Some(body) = already.take()
        {
            return body;
        }
        match slot {
            Some(body) => Body::of(Source::Boxed(body.map_err(Into::into).boxed_unsync()), None),
            None => Body::empty(),
        }
    }

    /// This body, telling `progress` of the bytes sent as they go (from
    /// zero again when a retry or the replay after a 401 sends it anew).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use apiclient_http::Body;
    /// use apiclient_http::transfer::Progress;
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let body = Body::from("hello").with_progress(move |p: Progress| s.lock().unwrap().push(p.done()));
    /// # let _ = body;
    /// ```
    pub fn with_progress(self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        let source = match self.inner {
            Inner::Full(b) => Source::Full(Some(b)),
            Inner::Other(other) => other.source,
        };
        Body::of(source, Some((Arc::new(progress), 0)))
    }

    /// Whether the body can be sent again (buffered or re-openable).
    pub fn is_replayable(&self) -> bool {
        match &self.inner {
            Inner::Full(_) => true,
            Inner::Other(other) => {
                matches!(other.source, Source::Full(Some(_)) | Source::Reopen { .. })
            }
        }
    }

    /// A copy to send again, when the body is replayable.
    pub fn try_clone(&self) -> Option<Body> {
        let other = match &self.inner {
            Inner::Full(b) => return Some(Body::from(b.clone())),
            Inner::Other(other) => other,
        };
        let progress = other.progress.as_ref().map(|(f, _)| (f.clone(), 0));
        match &other.source {
            Source::Full(Some(b)) => Some(Body::of(Source::Full(Some(b.clone())), progress)),
            Source::Reopen { open, len, .. } => Some(Body::of(
                Source::Reopen {
                    open: open.clone(),
                    len: *len,
                    stream: None,
                },
                progress,
            )),
            _ => None,
        }
    }

    /// The exact length, when known.
    pub fn len(&self) -> Option<u64> {
        match &self.inner {
            Inner::Full(b) => Some(b.len() as u64),
            Inner::Other(other) => other.len(),
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The bytes of a buffered body (None for a stream).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.inner {
            Inner::Full(b) => Some(b),
            Inner::Other(other) => match &other.source {
                Source::Full(Some(b)) => Some(b),
                _ => None,
            },
        }
    }

    /// Whether the body is buffered.
    pub fn is_buffered(&self) -> bool {
        match &self.inner {
            Inner::Full(_) => true,
            Inner::Other(other) => matches!(other.source, Source::Full(_)),
        }
    }

    /// Read the whole body, failing with [`LimitExceeded`] past `limit` bytes.
    pub async fn collect_limited(self, limit: usize) -> Result<Bytes, BoxError> {
        if let Some(b) = self.as_bytes() {
            if b.len() > limit {
                return Err(Box::new(LimitExceeded { limit }));
            }
            return Ok(b.clone());
        }
        let mut whole = Gathered::new(limit, &http_body::Body::size_hint(&self))?;
        let mut body = std::pin::pin!(self);
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                whole.push(data)?;
            }
            // else trailers
        }
        Ok(whole.finish())
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, BoxError>> + Send + 'static {
        http_body_util::BodyDataStream::new(self)
    }
}

/// A body read whole, chunk by chunk, within a limit. One chunk (the
/// usual small answer) is kept as it came, never copied; more are copied
/// once into a buffer sized by the length the server announced (bounded by
/// the limit and 256 MiB), so a large body peaks at its own size, not twice
/// it.
pub(crate) struct Gathered {
    first: Option<Bytes>,
    buf: Option<bytes::BytesMut>,
    total: usize,
    limit: usize,
    announced: u64,
}

impl Gathered {
    /// Ready for a body of this size hint: an error at once when its
    /// smallest size is past `limit`.
    pub(crate) fn new(limit: usize, hint: &SizeHint) -> Result<Self, LimitExceeded> {
        if usize::try_from(hint.lower()).unwrap_or(usize::MAX) > limit {
            return Err(LimitExceeded { limit });
        }
        Ok(Gathered {
            first: None,
            buf: None,
            total: 0,
            limit,
            announced: hint.exact().unwrap_or(hint.lower()),
        })
    }

    /// The next chunk.
    pub(crate) fn push(&mut self, data: Bytes) -> Result<(), LimitExceeded> {
        self.total = self.total.saturating_add(data.len());
        if self.total > self.limit {
            return Err(LimitExceeded { limit: self.limit });
        }
        match (&mut self.buf, self.first.take()) {
            (Some(b), _) => b.extend_from_slice(&data),
            (None, None) => self.first = Some(data),
            (None, Some(f)) => {
                let capacity = usize::try_from(self.announced)
                    .unwrap_or(usize::MAX)
                    .min(self.limit)
                    .min(256 * 1024 * 1024)
                    .max(self.total);
                let mut b = bytes::BytesMut::with_capacity(capacity);
                b.extend_from_slice(&f);
                b.extend_from_slice(&data);
                self.buf = Some(b);
            }
        }
        Ok(())
    }

    /// The whole body.
    pub(crate) fn finish(self) -> Bytes {
        match (self.buf, self.first) {
            (Some(b), _) => b.freeze(),
            (None, Some(f)) => f,
            (None, None) => Bytes::new(),
        }
    }
}

/// A body was longer than the limit it was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit in bytes.
    pub limit: usize,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the body exceeds the limit of {} bytes", self.limit)
    }
}

impl std::error::Error for LimitExceeded {}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body {
            inner: Inner::Full(b),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::from(Bytes::from(b))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body::from(Bytes::from_static(s))
    }
}

fn poll_stream(
    stream: &mut BoxStream,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    match stream.as_mut().poll_next(cx) {
        Poll::Ready(Some(Ok(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
        Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
        Poll::Ready(None) => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let other = match &mut self.inner {
            Inner::Full(b) if b.is_empty() => return Poll::Ready(None),
            Inner::Full(b) => {
                let data = std::mem::take(b);
                // sent: no longer replayable (a copy was taken before, when
                // a replay may need one)
                self.inner = Inner::Other(Box::new(Other {
                    source: Source::Full(None),
                    progress: None,
                }));
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Inner::Other(other) => other,
        };
        let total = if other.progress.is_some() {
            other.len()
        } else {
            None
        };
        let polled = other.poll_source(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && let Some((tell, done)) = &mut other.progress
        {
            *done += data.len() as u64;
            tell(Progress::new(*done, total));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.is_end()
    }

    fn size_hint(&self) -> SizeHint {
        self.hint()
    }
}

impl Other {
    fn poll_source(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.source {
            Source::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Source::Reopen { open, stream, .. } => {
                let s = stream.get_or_insert_with(|| open());
                poll_stream(s, cx)
            }
            Source::Stream { stream, .. } => poll_stream(stream, cx),
            Source::Boxed(b) => http_body::Body::poll_frame(Pin::new(b), cx),
        }
    }

    /// The exact length, when known.
    fn len(&self) -> Option<u64> {
        match &self.source {
            Source::Full(b) => Some(b.as_ref().map_or(0, |b| b.len() as u64)),
            Source::Reopen { len, .. } | Source::Stream { len, .. } => *len,
            Source::Boxed(b) => http_body::Body::size_hint(b).exact(),
        }
    }
}

impl Body {
    fn is_end(&self) -> bool {
        let other = match &self.inner {
            Inner::Full(b) => return b.is_empty(),
            Inner::Other(other) => other,
        };
        match &other.source {
            Source::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            Source::Boxed(b) => http_body::Body::is_end_stream(b),
            Source::Reopen { len, stream, .. } => *len == Some(0) && stream.is_none(),
            Source::Stream { len, .. } => *len == Some(0),
        }
    }

    fn hint(&self) -> SizeHint {
        let other = match &self.inner {
            Inner::Full(b) => return SizeHint::with_exact(b.len() as u64),
            Inner::Other(other) => other,
        };
        match &other.source {
            Source::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Source::Boxed(b) => http_body::Body::size_hint(b),
            Source::Reopen { len, .. } | Source::Stream { len, .. } => match len {
                Some(n) => SizeHint::with_exact(*n),
                None => SizeHint::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reopenable_bodies_replay_and_streams_do_not() {
        let body = Body::reopenable(Some(6), || {
            futures_util::stream::iter([
                Ok::<_, std::io::Error>(Bytes::from("abc")),
                Ok(Bytes::from("def")),
            ])
        });
        let copy = body.try_clone().unwrap();
        assert_eq!(body.collect_limited(100).await.unwrap(), "abcdef");
        assert_eq!(copy.collect_limited(100).await.unwrap(), "abcdef");
        let once = Body::from_stream(
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]),
            None,
        );
        assert!(once.try_clone().is_none());
        assert_eq!(once.len(), None);
        let too_long = Body::from_stream(
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("xyz"))]),
            None,
        );
        let err = too_long.collect_limited(2).await.unwrap_err();
        assert!(err.is::<LimitExceeded>(), "{err}");
    }

    /// Buffered bytes are held inline until sent; once sent they are gone
    /// (no longer replayable, no copy), as before the body was made small;
    /// an empty body has nothing to lose.
    #[tokio::test]
    async fn a_buffered_body_once_sent_is_spent_and_says_so() {
        let mut body = Body::from("abc");
        assert!(body.is_replayable() && body.is_buffered());
        assert_eq!(body.as_bytes().map(|b| &b[..]), Some(&b"abc"[..]));
        let copy = body.try_clone().unwrap();
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "abc");
        assert!(body.frame().await.is_none());
        assert!(http_body::Body::is_end_stream(&body));
        assert!(!body.is_replayable());
        assert!(body.try_clone().is_none());
        assert!(body.as_bytes().is_none());
        assert_eq!(body.len(), Some(0));
        assert!(body.is_buffered());
        // the copy taken before is whole
        assert_eq!(copy.collect_limited(10).await.unwrap(), "abc");

        let mut empty = Body::empty();
        assert!(empty.frame().await.is_none());
        assert!(empty.is_replayable());
        assert_eq!(empty.try_clone().unwrap().len(), Some(0));
    }

    /// A buffered body that tells its progress keeps its bytes, tells each
    /// send from zero, and its copies tell the same callback.
    #[tokio::test]
    async fn a_buffered_body_with_progress_tells_each_send() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let body = Body::from("hello")
            .with_progress(move |p: Progress| s.lock().unwrap().push((p.done(), p.total())));
        assert!(body.is_replayable());
        assert_eq!(body.len(), Some(5));
        assert_eq!(body.as_bytes().map(|b| &b[..]), Some(&b"hello"[..]));
        let copy = body.try_clone().unwrap();
        assert_eq!(body.collect_limited(10).await.unwrap(), "hello");
        assert_eq!(copy.collect_limited(10).await.unwrap(), "hello");
        // collect_limited takes the bytes as they are (nothing is sent)
        assert!(seen.lock().unwrap().is_empty());
        let s = seen.clone();
        let mut sent = Body::from("hello")
            .with_progress(move |p: Progress| s.lock().unwrap().push((p.done(), p.total())));
        let again = sent.try_clone().unwrap();
        while sent.frame().await.is_some() {}
        let mut again = std::pin::pin!(again);
        while again.frame().await.is_some() {}
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(5, Some(5)), (5, Some(5))],
            "each send from zero"
        );
    }

    /// The size every move of a request is made for (see [`Body`]).
    #[test]
    fn a_body_is_as_small_as_its_bytes() {
        assert_eq!(std::mem::size_of::<Body>(), std::mem::size_of::<Bytes>());
        if cfg!(target_pointer_width = "64") {
            assert_eq!(std::mem::size_of::<http::Request<Body>>(), 256);
        }
    }

    #[test]
    fn a_body_is_never_boxed_twice() {
        let b = Body::wrap(Body::from("abc"));
        assert_eq!(
            b.as_bytes().map(|b| &b[..]),
            Some(&b"abc"[..]),
            "still buffered"
        );
    }

    #[tokio::test]
    async fn files_are_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"file bytes").unwrap();
        let body = Body::from_file(&path).await.unwrap();
        assert_eq!(body.len(), Some(10));
        let copy = body.try_clone().unwrap();
        assert_eq!(body.collect_limited(100).await.unwrap(), "file bytes");
        assert_eq!(copy.collect_limited(100).await.unwrap(), "file bytes");
    }
}

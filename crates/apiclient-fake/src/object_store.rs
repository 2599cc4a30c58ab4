//! FakeCloud's Swift-like object store: `/v1/AUTH_<project>/<container>/<object>`.
//!
//! Objects stream to files in a temporary directory (a 1 GiB upload costs
//! disk, not memory); `ETag` is the MD5 of the content, checked against the
//! client's `ETag` on upload (422 when they differ); `Range` GETs answer
//! 206; container listings take `marker` and `limit`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::reply::{BoxError, RespBody, full, json_resp, unauthorized};

/// One stored object.
#[derive(Debug, Clone)]
struct Object {
    file: PathBuf,
    size: u64,
    etag: String,
    content_type: String,
}

/// The store: containers of objects, per account.
#[derive(Debug)]
pub(crate) struct ObjectStore {
    dir: tempfile::TempDir,
    /// (account, container) → object name → object
    containers: Mutex<BTreeMap<(String, String), BTreeMap<String, Object>>>,
    next: std::sync::atomic::AtomicU64,
}

impl ObjectStore {
    pub(crate) fn new() -> std::io::Result<Self> {
        Ok(ObjectStore {
            dir: tempfile::tempdir()?,
            containers: Mutex::new(BTreeMap::new()),
            next: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), BTreeMap<String, Object>>> {
        self.containers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn text(status: StatusCode, msg: &str) -> Response<RespBody> {
    full(
        status,
        &[("content-type", "text/plain".into())],
        Bytes::from(msg.to_string()),
    )
}

/// What the store does with a request whose path is `/v1/AUTH_<project>/...`
/// (the token is already checked). `read_first` bytes of an upload are read,
/// then `None` is returned when `stop_after` says so (the caller answers 401
/// mid-upload).
pub(crate) async fn handle(
    store: &ObjectStore,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: Incoming,
    stop_after: Option<u64>,
) -> Response<RespBody> {
    let mut segs = path.trim_start_matches("/v1/").splitn(3, '/');
    let account = segs.next().unwrap_or_default().to_string();
    let container = segs.next().filter(|c| !c.is_empty()).map(str::to_string);
    let object = segs.next().filter(|o| !o.is_empty()).map(str::to_string);
    match (method.as_str(), container, object) {
        ("GET", None, None) => {
            let names: Vec<Value> = store
                .lock()
                .keys()
                .filter(|(a, _)| *a == account)
                .map(|(_, c)| json!({"name": c}))
                .collect();
            json_resp(StatusCode::OK, &Value::Array(names))
        }
        ("PUT", Some(c), None) => {
            let mut map = store.lock();
            let created = !map.contains_key(&(account.clone(), c.clone()));
            map.entry((account, c)).or_default();
            text(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::ACCEPTED
                },
                "",
            )
        }
        ("GET", Some(c), None) => {
            let map = store.lock();
            let Some(objects) = map.get(&(account, c)) else {
                return text(StatusCode::NOT_FOUND, "Container not found");
            };
            let limit = query
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(10_000);
            let marker = query.get("marker").cloned().unwrap_or_default();
            let listing: Vec<Value> = objects
                .iter()
                .filter(|(name, _)| marker.is_empty() || name.as_str() > marker.as_str())
                .take(limit)
                .map(|(name, o)| json!({"name": name, "bytes": o.size, "hash": o.etag, "content_type": o.content_type}))
                .collect();
            json_resp(StatusCode::OK, &Value::Array(listing))
        }
        ("DELETE", Some(c), None) => {
            let mut map = store.lock();
            match map.get(&(account.clone(), c.clone())) {
                None => text(StatusCode::NOT_FOUND, "Container not found"),
                Some(o) if !o.is_empty() => text(StatusCode::CONFLICT, "Container not empty"),
                Some(_) => {
                    map.remove(&(account, c));
                    text(StatusCode::NO_CONTENT, "")
                }
            }
        }
        ("PUT", Some(c), Some(o)) => {
            if !store.lock().contains_key(&(account.clone(), c.clone())) {
                return text(StatusCode::NOT_FOUND, "Container not found");
            }
            put_object(store, (account, c, o), headers, body, stop_after).await
        }
        (m @ ("GET" | "HEAD"), Some(c), Some(o)) => {
            let found = store
                .lock()
                .get(&(account, c))
                .and_then(|objects| objects.get(&o).cloned());
            let Some(obj) = found else {
                return text(StatusCode::NOT_FOUND, "Object not found");
            };
            get_object(&obj, headers, m == "HEAD").await
        }
        ("DELETE", Some(c), Some(o)) => {
            let removed = store
                .lock()
                .get_mut(&(account, c))
                .and_then(|objects| objects.remove(&o));
            match removed {
                Some(obj) => {
                    let _ = tokio::fs::remove_file(&obj.file).await;
                    text(StatusCode::NO_CONTENT, "")
                }
                None => text(StatusCode::NOT_FOUND, "Object not found"),
            }
        }
        _ => text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    }
}

async fn put_object(
    store: &ObjectStore,
    (account, container, name): (String, String, String),
    headers: &HeaderMap,
    body: Incoming,
    stop_after: Option<u64>,
) -> Response<RespBody> {
    let n = store
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = store.dir.path().join(format!("obj-{n}"));
    let Ok(mut out) = tokio::fs::File::create(&file).await else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot store");
    };
    let mut md5 = Md5::new();
    let mut size = 0u64;
    let mut stream = Box::pin(body.into_data_stream());
    loop {
        if stop_after.is_some_and(|limit| size >= limit) {
            drop(out);
            let _ = tokio::fs::remove_file(&file).await;
            // Answer now, and read (and drop) the rest of the upload as a
            // real server does, so the client sees the 401, not a reset.
            tokio::spawn(async move { while let Ok(Some(_)) = stream.try_next().await {} });
            return unauthorized();
        }
        match stream.try_next().await {
            Ok(Some(chunk)) => {
                md5.update(&chunk);
                size += chunk.len() as u64;
                if out.write_all(&chunk).await.is_err() {
                    return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot store");
                }
            }
            Ok(None) => break,
            Err(_) => {
                let _ = tokio::fs::remove_file(&file).await;
                return text(StatusCode::BAD_REQUEST, "upload interrupted");
            }
        }
    }
    let _ = out.flush().await;
    let etag = hex::encode(md5.finalize());
    if let Some(sent) = headers.get("etag").and_then(|v| v.to_str().ok())
        && sent.trim_matches('"') != etag
    {
        let _ = tokio::fs::remove_file(&file).await;
        return text(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable Entity");
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let obj = Object {
        file,
        size,
        etag: etag.clone(),
        content_type,
    };
    let old = store
        .lock()
        .entry((account, container))
        .or_default()
        .insert(name, obj);
    if let Some(old) = old {
        let _ = tokio::fs::remove_file(&old.file).await;
    }
    full(StatusCode::CREATED, &[("etag", etag)], Bytes::new())
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` within `size`: (start, end inclusive).
fn range(headers: &HeaderMap, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = headers
        .get("range")?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (a, "") => (a.parse().ok()?, size.saturating_sub(1)),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(size.saturating_sub(1)),
        ),
    };
    Some(if r.0 > r.1 || r.0 >= size {
        Err(())
    } else {
        Ok(r)
    })
}

async fn get_object(obj: &Object, headers: &HeaderMap, head: bool) -> Response<RespBody> {
    let (status, start, len) = match range(headers, obj.size) {
        None => (StatusCode::OK, 0, obj.size),
        Some(Ok((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Some(Err(())) => {
            return full(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &[("content-range", format!("bytes */{}", obj.size))],
                Bytes::new(),
            );
        }
    };
    let mut hdrs = vec![
        ("etag", obj.etag.clone()),
        ("content-type", obj.content_type.clone()),
        ("content-length", len.to_string()),
        ("accept-ranges", "bytes".into()),
    ];
    if status == StatusCode::PARTIAL_CONTENT {
        hdrs.push((
            "content-range",
            format!("bytes {start}-{}/{}", start + len - 1, obj.size),
        ));
    }
    if head {
        let mut r = full(status, &hdrs, Bytes::new());
        // HEAD: the length of the GET, no body
        if let Ok(v) = http::HeaderValue::from_str(&len.to_string()) {
            r.headers_mut().insert("content-length", v);
        }
        return r;
    }
    let file = match tokio::fs::File::open(&obj.file).await {
        Ok(mut f) => {
            if f.seek(std::io::SeekFrom::Start(start)).await.is_err() {
                return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read");
            }
            f.take(len)
        }
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read"),
    };
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
        .map_ok(http_body::Frame::data)
        .map_err(|e| Box::new(e) as BoxError);
    let mut r = Response::new(http_body_util::StreamBody::new(stream).boxed());
    *r.status_mut() = status;
    for (k, v) in hdrs {
        if let Ok(v) = http::HeaderValue::from_str(&v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

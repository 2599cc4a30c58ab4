//! 1 GiB up to a real Swift and back, in a binary of its own so that the
//! process's peak RSS (`VmHWM`) is this transfer's alone: it must stay
//! within 64 MiB, the file never in memory. Swift keeps objects on tmpfs
//! (RAM): the object and the local files are removed, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use apiclient_http::transfer::DigestAlgorithm;
use common::*;
use example_object_store::{DownloadOptions, Md5Check, Metadata, ObjectStore, UploadOptions};

const GIB: u64 = 1024 * MIB;
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// A `VmHWM`/`VmRSS` line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_up_and_down_in_bounded_memory() {
    if !running() {
        return;
    }
    let http = demo();
    let swift = ObjectStore::new(&http);
    let c = unique("os-gib");
    let dir = tempfile::Builder::new()
        .prefix("object-store-gib")
        .tempdir_in("/tmp")
        .unwrap();
    cleaning_up(&swift, &[&c], async {
        swift.create_container(&c, &Metadata::new()).await.unwrap();
        let src = dir.path().join("source.bin");
        let t = Instant::now();
        let (sha, md5) = {
            let src = src.clone();
            tokio::task::spawn_blocking(move || Data::new().write_file(&src, GIB))
                .await
                .unwrap()
        };
        let write_time = t.elapsed();

        // up, from the file (its MD5, known from writing it, goes as ETag)
        let sent = Arc::new(AtomicU64::new(0));
        let s = sent.clone();
        let t = Instant::now();
        let up = swift
            .upload_file(
                &c,
                "gibibyte.bin",
                &src,
                &UploadOptions::new()
                    .md5(Md5Check::Known(md5.clone()))
                    .on_progress(move |p| s.store(p.done(), Ordering::Relaxed)),
            )
            .await
            .unwrap();
        let up_time = t.elapsed();
        assert_eq!(up.etag, md5, "Swift stored the same bytes");
        assert_eq!(sent.load(Ordering::Relaxed), GIB);
        let head = swift.object(&c, "gibibyte.bin").await.unwrap();
        assert_eq!(head.content_length, GIB);

        // down, to a file: ETag and SHA-256 checked as it streams
        let dst = dir.path().join("download.bin");
        let t = Instant::now();
        let got = swift
            .download_to_file(
                &c,
                "gibibyte.bin",
                &dst,
                &DownloadOptions::new().expect_sha256(&sha),
            )
            .await
            .unwrap();
        let down_time = t.elapsed();
        assert_eq!(got.bytes, GIB);
        let peak_kib = status_kib("VmHWM:");

        // and the file on disk, hashed again in 1 MiB blocks
        let t = Instant::now();
        let dst_sha = {
            let dst = dst.clone();
            tokio::task::spawn_blocking(move || file_digest(&dst, DigestAlgorithm::Sha256))
                .await
                .unwrap()
        };
        let hash_time = t.elapsed();
        assert_eq!(dst_sha, sha, "the download equals the source");
        let peak_kib = peak_kib.max(status_kib("VmHWM:"));
        eprintln!(
            "1 GiB: write+hash {write_time:.1?}, upload {up_time:.1?} ({:.0} MiB/s), download {down_time:.1?} ({:.0} MiB/s), re-hash {hash_time:.1?}; peak RSS (VmHWM) {:.1} MiB",
            1024.0 / up_time.as_secs_f64(),
            1024.0 / down_time.as_secs_f64(),
            peak_kib as f64 / 1024.0
        );
        assert!(
            peak_kib <= RSS_LIMIT_KIB,
            "peak RSS {peak_kib} KiB exceeds {RSS_LIMIT_KIB} KiB"
        );
    })
    .await;
    // the local files too (the tempdir's drop would also remove them)
    dir.close().unwrap();
}

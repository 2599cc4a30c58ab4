//! Soak: 20 000 requests from 64 tasks over one client against FakeCloud with
//! 2-second tokens. Zero failed requests and zero 401s; authentications track
//! token expirations; no growth in connections or heap from the first quarter
//! to the last. Its own test binary, so its heap count is its own.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apiclient_auth::KeystonePlugin;
use apiclient_fake::FakeCloud;
use apiclient_http::HttpClient;
use cap::Cap;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_20000_requests_64_tasks_2_second_tokens() {
    let cloud = FakeCloud::builder()
        .servers(3)
        .token_lifetime(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let plugin = KeystonePlugin::v3_password(cloud.auth_url(), "demo", "Default", "demopass")
        .with("project_name", "demo");
    let http = HttpClient::builder(Box::new(plugin))
        .token_refresh_skew(Duration::from_millis(300))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    let failed = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut quarters = Vec::new();
    for _quarter in 0..4 {
        let conns_before = cloud.connections_accepted();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..64usize {
            let (c, failed) = (compute.clone(), failed.clone());
            // 5000 requests per quarter over 64 tasks
            let n = 5000 / 64 + usize::from(task < 5000 % 64);
            tasks.spawn(async move {
                for _ in 0..n {
                    if c.get("/servers").await.is_err() {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        quarters.push((
            cloud.connections_accepted() - conns_before,
            ALLOCATOR.allocated(),
        ));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let auths = cloud.count("POST /v3/auth/tokens");
    eprintln!(
        "soak: 20000 requests in {elapsed:.1} s, {auths} authentications, quarters (new connections, heap bytes): {quarters:?}"
    );

    assert_eq!(failed.load(Ordering::SeqCst), 0, "failed requests");
    assert_eq!(
        cloud.count("GET /v2.1/servers"),
        20_000,
        "no 401 and no replay: every request went out exactly once"
    );
    // Tokens live 2 s (1-2 s as Keystone rounds expires_at down to the second),
    // refreshed 0.3 s early: at least one authentication per 2 s, at most one per 0.7 s.
    let (min, max) = (
        (elapsed / 2.0).floor() as u64,
        (elapsed / 0.7).ceil() as u64 + 1,
    );
    assert!(
        (min..=max).contains(&auths),
        "{auths} authentications in {elapsed:.1} s (expected {min}..={max})"
    );
    // No growth from the first quarter to the last.
    let (q1_conns, q1_heap) = quarters[0];
    let (q4_conns, q4_heap) = quarters[3];
    // The pool warms up in the first quarter (hyper may race a few extra
    // connects against idle checkouts); after that it must be reused.
    assert!(
        q1_conns <= 2 * 64,
        "first quarter opened {q1_conns} connections for 64 tasks"
    );
    assert!(
        q4_conns <= 8 && q4_conns <= q1_conns,
        "connections grew: {q1_conns} → {q4_conns}"
    );
    assert!(
        q4_heap < q1_heap + 4 * 1024 * 1024,
        "heap grew from {q1_heap} to {q4_heap} bytes"
    );
}

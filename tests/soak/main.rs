//! Soak: 20 000 requests from 64 tasks over one client against FakeCloud with
//! 2-second tokens. What the design promises under any load, not only on a
//! quiet machine: every call succeeds; a request goes out again only as the
//! one replay after a 401 (a token may expire between the proactive refresh
//! check and the server when the machine is busy); authentications come one
//! per token generation, never before the token is due (no N-fold
//! authentication); no growth in connections or heap from the first quarter
//! to the last. Its own test binary, so its heap count is its own.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use apiclient_auth::KeystonePlugin;
use apiclient_fake::{FakeCloud, TestResponse};
use apiclient_http::{ApiRequest, Body, HttpClient, HttpService};
use cap::Cap;
use http::{Method, Request};
use serde_json::json;
use tower::ServiceExt;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

const CALLS: usize = 20_000;
const TASKS: usize = 64;
const LIFETIME: Duration = Duration::from_secs(2);
const SKEW: Duration = Duration::from_millis(300);
/// The header that numbers each call, on every attempt of it.
const CALL: &str = "x-soak-call";

/// What the client's transport saw (inside retries and re-authentication:
/// every attempt, the replays too).
struct Probe {
    t0: Instant,
    /// Attempts of each call.
    attempts: Vec<AtomicU32>,
    /// 401 answers to each call.
    rejected: Vec<AtomicU32>,
    /// When each authentication request went out.
    auth_sent: Mutex<Vec<Duration>>,
    /// When the first authentication was answered.
    first_token: OnceLock<Duration>,
    /// When the last attempt of a call went out (µs).
    last_call_sent: AtomicU64,
}

impl Probe {
    fn new(t0: Instant) -> Arc<Self> {
        Arc::new(Probe {
            t0,
            attempts: (0..CALLS).map(|_| AtomicU32::new(0)).collect(),
            rejected: (0..CALLS).map(|_| AtomicU32::new(0)).collect(),
            auth_sent: Mutex::new(Vec::with_capacity(4096)),
            first_token: OnceLock::new(),
            last_call_sent: AtomicU64::new(0),
        })
    }

    /// The transport wrapped to record every attempt.
    fn wrap(self: Arc<Self>, inner: HttpService) -> HttpService {
        HttpService::new(tower::service_fn(move |req: Request<Body>| {
            let (probe, inner) = (self.clone(), inner.clone());
            async move {
                let call: Option<usize> = req
                    .headers()
                    .get(CALL)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                let auth =
                    req.method() == Method::POST && req.uri().path().ends_with("/v3/auth/tokens");
                let at = probe.t0.elapsed();
                if let Some(c) = call {
                    probe.attempts[c].fetch_add(1, Ordering::SeqCst);
                    probe
                        .last_call_sent
                        .fetch_max(at.as_micros() as u64, Ordering::SeqCst);
                }
                if auth {
                    probe.auth_sent.lock().unwrap().push(at);
                }
                let resp = inner.oneshot(req).await?;
                if let Some(c) = call
                    && resp.status() == http::StatusCode::UNAUTHORIZED
                {
                    probe.rejected[c].fetch_add(1, Ordering::SeqCst);
                }
                if auth && resp.status().is_success() {
                    probe.first_token.get_or_init(|| probe.t0.elapsed());
                }
                Ok(resp)
            }
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_20000_requests_64_tasks_2_second_tokens() {
    let cloud = FakeCloud::builder()
        .servers(3)
        .token_lifetime(LIFETIME)
        .start()
        .await
        .unwrap();
    // A compute-like service (its token checked as compute's is) that tells
    // which call each request it serves belongs to; a 401 never reaches it.
    let served: Arc<Vec<AtomicU32>> = Arc::new((0..CALLS).map(|_| AtomicU32::new(0)).collect());
    let page = json!({"servers": (0..3).map(|i| json!({"id": FakeCloud::server_id(i), "name": format!("server-{i}")})).collect::<Vec<_>>()});
    {
        let served = served.clone();
        cloud.mount("soak", move |req| {
            let call: Option<usize> = req
                .headers
                .get(CALL)
                .and_then(|v| v.to_str().ok()?.parse().ok());
            match call {
                Some(c) if c < CALLS && req.path == "/servers" => {
                    served[c].fetch_add(1, Ordering::SeqCst);
                    TestResponse::json(200, &page)
                }
                _ => TestResponse::json(400, &json!({"message": "no call number"})),
            }
        });
    }
    let t0 = Instant::now();
    let probe = Probe::new(t0);
    let plugin = KeystonePlugin::v3_password(cloud.auth_url(), "demo", "Default", "demopass")
        .with("project_name", "demo");
    let http = HttpClient::builder(Box::new(plugin))
        .token_refresh_skew(SKEW)
        .timeout(Duration::from_secs(10))
        .with_transport_layer({
            let probe = probe.clone();
            tower::layer::layer_fn(move |inner| probe.clone().wrap(inner))
        })
        .build()
        .unwrap();
    let soak = http.service_client("soak");
    let failed = Arc::new(AtomicUsize::new(0));
    let mut quarters = Vec::new();
    for quarter in 0..4 {
        let conns_before = cloud.connections_accepted();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..TASKS {
            let (c, failed) = (soak.clone(), failed.clone());
            tasks.spawn(async move {
                // 5000 calls per quarter, numbered task, task + 64, ...
                let base = quarter * CALLS / 4;
                for call in (task..CALLS / 4).step_by(TASKS) {
                    let req = ApiRequest::get("/servers").header(CALL, &(base + call).to_string());
                    if c.request(req).await.is_err() {
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
    let requests = cloud.count("GET /svc/soak/servers");
    let served_total: u64 = served
        .iter()
        .map(|s| u64::from(s.load(Ordering::SeqCst)))
        .sum();
    let unauthorized = requests - served_total; // answered 401 by the server
    let auths = cloud.count("POST /v3/auth/tokens");
    let auth_sent = probe.auth_sent.lock().unwrap().clone();
    let closest = auth_sent
        .windows(2)
        .map(|p| (p[1] - p[0]).as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    eprintln!(
        "soak: {CALLS} calls in {elapsed:.1} s, {requests} requests, {unauthorized} answered 401, \
         {auths} authentications (the closest {closest:.2} s apart), \
         quarters (new connections, heap bytes): {quarters:?}"
    );

    // Every call succeeds, whatever the load.
    assert_eq!(failed.load(Ordering::SeqCst), 0, "failed calls");

    // No replay but the one after a 401: the requests are the calls plus the
    // 401s; each call was served exactly once, and sent once, or twice when
    // (and only when) its first attempt was answered 401.
    assert_eq!(
        requests,
        CALLS as u64 + unauthorized,
        "requests = calls + 401s"
    );
    let mut rejected_total = 0u64;
    for c in 0..CALLS {
        let served = served[c].load(Ordering::SeqCst);
        let attempts = probe.attempts[c].load(Ordering::SeqCst);
        let rejected = probe.rejected[c].load(Ordering::SeqCst);
        assert_eq!(served, 1, "call {c} was served {served} times");
        assert!(
            rejected <= 1,
            "call {c} was answered 401 {rejected} times: one replay only"
        );
        assert_eq!(
            attempts,
            1 + rejected,
            "call {c}: {attempts} attempts for {rejected} 401s: a replay not after a 401"
        );
        rejected_total += u64::from(rejected);
    }
    assert_eq!(
        rejected_total, unauthorized,
        "the 401s the client replayed are the ones the server sent"
    );

    // Authentications: one per token generation, each when the token was
    // due. Keystone (and the fake) round expires_at down to the second, so a
    // token is announced to live more than LIFETIME - 1 s after its request
    // went out; it is refreshed SKEW before that (or after a 401, once it
    // has expired). So two authentications are never closer than
    // LIFETIME - 1 s - SKEW (0.7 s; 0.6 s with a margin for the clocks),
    // however slow the machine is: a slow machine only spaces them more.
    assert_eq!(
        auth_sent.len() as u64,
        auths,
        "every authentication went out once"
    );
    let min_gap = LIFETIME.as_secs_f64() - 1.0 - SKEW.as_secs_f64() - 0.1;
    for pair in auth_sent.windows(2) {
        let gap = (pair[1] - pair[0]).as_secs_f64();
        assert!(
            gap >= min_gap,
            "authentications {:.3} s apart (at {:?} and {:?}): not one per token generation",
            gap,
            pair[0],
            pair[1]
        );
    }
    let max = (elapsed / min_gap).floor() as u64 + 1;
    assert!(
        (1..=max).contains(&auths),
        "{auths} authentications in {elapsed:.1} s (expected 1..={max})"
    );
    // A call sent after the first token had surely expired (issued before
    // its answer, it lived at most LIFETIME) succeeded: the token was renewed.
    let first_token = probe.first_token.get().copied().unwrap();
    let last_call = Duration::from_micros(probe.last_call_sent.load(Ordering::SeqCst));
    if last_call > first_token + LIFETIME + Duration::from_millis(100) {
        assert!(auths >= 2, "no re-authentication in {elapsed:.1} s");
    }

    // No growth from the first quarter to the last.
    let (q1_conns, q1_heap) = quarters[0];
    let (q4_conns, q4_heap) = quarters[3];
    // The pool warms up in the first quarter (hyper may race a few extra
    // connects against idle checkouts); after that it must be reused.
    assert!(
        q1_conns <= 2 * TASKS as u64,
        "first quarter opened {q1_conns} connections for {TASKS} tasks"
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

//! What the tests against the real Swift share: the services' check, the
//! demo and admin clients, token revocation, test data, cleanup.
#![allow(dead_code)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Duration;

use apiclient_auth::ExposeSecret;
use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{ApiRequest, Method};
use apiclient_http::HttpClient;
use apiclient_http::transfer::{DigestAlgorithm, Hasher};
use example_object_store::{ListQuery, ObjectStore};
use futures_util::{FutureExt, TryStreamExt};

pub const MIB: u64 = 1024 * 1024;

/// Keystone on :5000 and Swift on :8080 answer; without them the test
/// says so and passes, except under CI.
pub fn running() -> bool {
    let up = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .is_ok()
    };
    if up(5000) && up(8080) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must start Keystone and Swift (KS_CACHE=0 bash scripts/keystone/run.sh start; bash scripts/swift/run.sh start)"
    );
    eprintln!(
        "skipping: needs Keystone on :5000 and Swift on :8080 (bash scripts/swift/run.sh start)"
    );
    false
}

/// The demo user on project demo, with timings on (one record per attempt).
pub fn demo() -> HttpClient {
    let plugin = V3Password::new("http://127.0.0.1:5000/v3", "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .timeout(Duration::from_secs(300))
        .timings(true)
        .build()
        .unwrap()
}

fn admin() -> HttpClient {
    let plugin = V3Password::new("http://127.0.0.1:5000/v3", "admin", "secret")
        .user_domain_name("Default")
        .scope(Scope::project_name("admin", "Default"));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// The client's current token.
pub async fn token_of(http: &HttpClient) -> String {
    http.access()
        .await
        .unwrap()
        .token()
        .expose_secret()
        .to_string()
}

/// Revoke `token` out of band, as the admin (`DELETE /v3/auth/tokens`).
pub async fn revoke(token: &str) {
    admin()
        .service_client("identity")
        .request(ApiRequest::new(Method::DELETE, "/auth/tokens").header("X-Subject-Token", token))
        .await
        .unwrap();
}

pub fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{prefix}-{:016x}", h.finish())
}

/// Delete every object of `container`, then the container; errors ignored
/// (it may not exist).
pub async fn purge(store: &ObjectStore, container: &str) {
    if let Ok(objects) = store
        .all_objects(container, &ListQuery::default())
        .try_collect::<Vec<_>>()
        .await
    {
        for o in objects {
            let _ = store.delete_object(container, &o.name).await;
        }
    }
    let _ = store.delete_container(container).await;
}

/// Run `test`, then purge `containers` whether it passed or panicked.
pub async fn cleaning_up<F: Future<Output = ()>>(
    store: &ObjectStore,
    containers: &[&str],
    test: F,
) {
    let outcome = AssertUnwindSafe(test).catch_unwind().await;
    for c in containers {
        purge(store, c).await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// 1 MiB block `i` of the test data: a pseudo-random block stamped with
/// its index (a misplaced block changes every digest).
pub struct Data {
    seed: Vec<u8>,
}

impl Data {
    pub fn new() -> Self {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let seed = (0..MIB)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        Data { seed }
    }

    pub fn block(&self, i: u64) -> Vec<u8> {
        let mut b = self.seed.clone();
        b[..8].copy_from_slice(&i.to_le_bytes());
        b
    }

    /// `size` bytes of it, in memory (small files only).
    pub fn bytes(&self, size: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(size as usize);
        let mut i = 0;
        while (out.len() as u64) < size {
            let want = (size - out.len() as u64).min(MIB) as usize;
            out.extend_from_slice(&self.block(i)[..want]);
            i += 1;
        }
        out
    }

    /// Write `size` bytes of it to `path` in 1 MiB blocks, hashing as it
    /// goes: (SHA-256, MD5).
    pub fn write_file(&self, path: &Path, size: u64) -> (String, String) {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::with_capacity(MIB as usize, std::fs::File::create(path).unwrap());
        let mut sha = Hasher::new(DigestAlgorithm::Sha256);
        let mut md5 = Hasher::new(DigestAlgorithm::Md5);
        let mut written = 0u64;
        let mut i = 0;
        while written < size {
            let want = (size - written).min(MIB) as usize;
            let b = self.block(i);
            let b = &b[..want];
            sha.update(b);
            md5.update(b);
            f.write_all(b).unwrap();
            written += want as u64;
            i += 1;
        }
        f.into_inner().unwrap();
        (sha.finish_hex(), md5.finish_hex())
    }
}

/// The digest of a file, read in 1 MiB blocks.
pub fn file_digest(path: &Path, alg: DigestAlgorithm) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Hasher::new(alg);
    let mut buf = vec![0u8; MIB as usize];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finish_hex()
}

pub fn digest(alg: DigestAlgorithm, data: &[u8]) -> String {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finish_hex()
}

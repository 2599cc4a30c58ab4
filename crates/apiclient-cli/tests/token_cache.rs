//! The token cache through the built `apiclient` binary against FakeCloud on
//! 127.0.0.1: many processes, one authentication; `auth status`, `auth
//! revoke`, `cache clear`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apiclient_fake::{FakeCloud, Fault};
use serde_json::Value;

const AUTH: &str = "POST /v3/auth/tokens";

/// Every wait of these tests ends within this (50 processes on a busy
/// 2-core machine are slow).
const BOUND: Duration = Duration::from_secs(300);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary with a clean environment: HOME and XDG_CACHE_HOME in `home`,
/// the demo user of `cloud` (if any), and `env`.
fn command(home: &Path, cloud: Option<&FakeCloud>, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiclient"));
    cmd.env_clear()
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .current_dir(home);
    if let Some(c) = cloud {
        cmd.env("OS_AUTH_URL", c.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo")
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_PROJECT_DOMAIN_NAME", "Default");
    }
    cmd.envs(env.iter().copied()).args(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Wait for every child (bounded: past [`BOUND`] all are killed and the
/// test fails), off the async threads (the fake cloud serves meanwhile).
async fn wait_all(children: Vec<Child>) -> Vec<Run> {
    tokio::task::spawn_blocking(move || {
        let until = Instant::now() + BOUND;
        let mut children: Vec<Option<Child>> = children.into_iter().map(Some).collect();
        let mut runs: Vec<Option<Run>> = children.iter().map(|_| None).collect();
        while runs.iter().any(Option::is_none) {
            for (i, slot) in children.iter_mut().enumerate() {
                let Some(child) = slot else { continue };
                if let Some(status) = child.try_wait().unwrap() {
                    let mut stdout = String::new();
                    let mut stderr = String::new();
                    child
                        .stdout
                        .take()
                        .unwrap()
                        .read_to_string(&mut stdout)
                        .unwrap();
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut stderr)
                        .unwrap();
                    runs[i] = Some(Run {
                        code: status.code().unwrap_or(-1),
                        stdout,
                        stderr,
                    });
                    *slot = None;
                }
            }
            if Instant::now() > until {
                for child in children.iter_mut().flatten() {
                    let _ = child.kill();
                }
                panic!("the processes did not finish within {BOUND:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        runs.into_iter().map(Option::unwrap).collect()
    })
    .await
    .unwrap()
}

async fn apiclient(
    home: &Path,
    cloud: Option<&FakeCloud>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let child = command(home, cloud, env, args).spawn().unwrap();
    let run = wait_all(vec![child]).await.pop().unwrap();
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// `token issue -f json`: (token id, expires).
fn issued(run: &Run) -> (String, String) {
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    (
        v["id"].as_str().unwrap().to_string(),
        v["expires"].as_str().unwrap().to_string(),
    )
}

/// 50 processes started at once with one token cache authenticate once:
/// one holds the cache's lock and authenticates, the others wait and read
/// its token. Every authentication takes 3 s here, so that all the
/// processes are running while the first one authenticates (without the
/// lock, they all would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_processes_with_one_token_cache_authenticate_once() {
    const N: usize = 50;
    let cloud = FakeCloud::start().await.unwrap();
    cloud.set_fault_prefix("/v3/auth");
    cloud.inject(Fault::Delay(Duration::from_secs(3)), N);
    let home = tempfile::tempdir().unwrap();
    let children: Vec<Child> = (0..N)
        .map(|_| {
            command(
                home.path(),
                Some(&cloud),
                &[],
                &["--token-cache", "token", "issue", "-f", "json"],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    let runs = wait_all(children).await;
    let tokens: Vec<String> = runs.iter().map(|r| issued(r).0).collect();
    let authentications = cloud.count(AUTH);
    eprintln!("{N} processes, {authentications} password authentication(s)");
    assert_eq!(authentications, 1, "exactly one password authentication");
    assert_eq!(cloud.tokens_issued(), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    let files: Vec<_> = std::fs::read_dir(home.path().join("cache/apiclient-rs/tokens"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "one entry, nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_status_shows_what_is_cached_and_never_the_token() {
    let cloud = FakeCloud::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // nothing cached yet: an empty list, no credentials needed
    let r = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    assert_eq!((r.code, r.stdout.trim()), (0, "[]"), "{}", r.stderr);

    let (token, expires) = issued(
        &apiclient(
            h,
            Some(&cloud),
            &[],
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    let r = apiclient(h, None, &[], &["auth", "status"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for shown in [
        "| Auth URL ",
        cloud.auth_url().as_str(),
        "demo (u-demo)",
        "project demo (p-demo)",
        expires.as_str(),
        "| valid ",
    ] {
        assert!(r.stdout.contains(shown), "lacks {shown}:\n{}", r.stdout);
    }
    let r_json = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r_json.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"Auth URL": cloud.auth_url(), "User": "demo (u-demo)",
            "Scope": "project demo (p-demo)", "Expires": expires, "Status": "valid"}])
    );
    let r_debug = apiclient(h, None, &[], &["--debug", "auth", "status", "-f", "value"]).await;
    for run in [&r, &r_json, &r_debug] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(&token), "the token is shown: {all}");
        assert!(
            !all.contains(&token[..12]),
            "a token prefix is shown: {all}"
        );
        assert!(!all.contains("demopass"));
    }
    assert_eq!(cloud.count(AUTH), 1, "status sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_revoke_revokes_the_cached_token_at_keystone_and_forgets_it() {
    let cloud = FakeCloud::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (token, _) = issued(
        &apiclient(
            h,
            Some(&cloud),
            &[],
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    let r = apiclient(h, Some(&cloud), &[], &["--debug", "auth", "revoke"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains(&token), "{}", r.stderr);
    assert!(
        r.stderr.contains("REQ: curl -g -i -X 'DELETE'"),
        "{}",
        r.stderr
    );
    assert_eq!(cloud.count("DELETE /v3/auth/tokens"), 1);
    assert_eq!(cloud.count(AUTH), 1, "revoking authenticated nothing");
    let r = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    assert_eq!(r.stdout.trim(), "[]", "forgotten");
    // revoked at Keystone: the token no longer works
    let r = apiclient(
        h,
        None,
        &[],
        &[
            "--os-auth-type",
            "admin_token",
            "--os-token",
            &token,
            "--os-endpoint",
            &format!("{}/v2.1", cloud.url()),
            "request",
            "GET",
            "compute",
            "/servers",
        ],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("(HTTP 401)"), "{}", r.stderr);
    // nothing cached: a one-line error
    let r = apiclient(h, Some(&cloud), &[], &["auth", "revoke"]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "No token is cached for these credentials and scope.\n")
    );

    // a cached token Keystone no longer knows is forgotten as it is: no new
    // authentication to revoke it
    issued(
        &apiclient(
            h,
            Some(&cloud),
            &[],
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    cloud.revoke_all();
    let before = cloud.count(AUTH);
    let r = apiclient(h, Some(&cloud), &[], &["auth", "revoke"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("Keystone does not know the cached token (HTTP 401)"),
        "{}",
        r.stderr
    );
    assert_eq!(cloud.count(AUTH), before);
    let r = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    assert_eq!(r.stdout.trim(), "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_clear_removes_only_the_caches_own_files() {
    let cloud = FakeCloud::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let admin = [
        ("OS_USERNAME", "admin"),
        ("OS_PASSWORD", "secret"),
        ("OS_PROJECT_NAME", "admin"),
    ];
    issued(
        &apiclient(
            h,
            Some(&cloud),
            &[],
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    issued(
        &apiclient(
            h,
            Some(&cloud),
            &admin,
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    let r = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    let dir = h.join("cache/apiclient-rs/tokens");
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();

    let r = apiclient(h, None, &[], &["cache", "clear"]).await;
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"], "only the cache's files went");
    let r = apiclient(h, None, &[], &["auth", "status", "-f", "json"]).await;
    assert_eq!(r.stdout.trim(), "[]");
    // the next run authenticates again
    issued(
        &apiclient(
            h,
            Some(&cloud),
            &[],
            &["--token-cache", "token", "issue", "-f", "json"],
        )
        .await,
    );
    assert_eq!(cloud.count(AUTH), 3);

    // a cache directory others can write to is neither listed nor cleared
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let before = std::fs::read_dir(&dir).unwrap().count();
        let r = apiclient(h, None, &[], &["cache", "clear"]).await;
        assert_eq!(r.code, 1);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .starts_with("Cannot clear the token cache: the token cache ")
                && r.stderr
                    .contains("is not private: group or others can write to it"),
            "{}",
            r.stderr
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            before,
            "untouched"
        );
        let r = apiclient(h, None, &[], &["auth", "status"]).await;
        assert_eq!(r.code, 1);
        assert!(
            r.stderr.starts_with("Cannot read the token cache: "),
            "{}",
            r.stderr
        );
    }
}

/// Another scope of the same user, from the CLI: the cached token is
/// re-scoped (Keystone's token method), no second password authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_project_of_the_same_user_is_rescoped_from_the_cache() {
    let cloud = FakeCloud::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let admin = |project: &'static str| {
        [
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", "secret"),
            ("OS_PROJECT_NAME", project),
        ]
    };
    let r = apiclient(
        h,
        Some(&cloud),
        &admin("admin"),
        &["--token-cache", "token", "issue", "-f", "json"],
    )
    .await;
    let (first, _) = issued(&r);
    let r = apiclient(
        h,
        Some(&cloud),
        &admin("demo"),
        &["--token-cache", "--debug", "token", "issue", "-f", "json"],
    )
    .await;
    let (second, _) = issued(&r);
    assert_ne!(first, second);
    assert!(r.stderr.contains(r#""methods":["token"]"#), "{}", r.stderr);
    assert!(
        !r.stderr.contains("secret"),
        "no password sent: {}",
        r.stderr
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["project_id"], "p-demo");
    assert_eq!(cloud.count(AUTH), 2);
}

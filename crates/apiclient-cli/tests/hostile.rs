//! The `apiclient` binary against hostile servers and hostile configuration
//! (127.0.0.1 only): what it prints stays safe, what it sends stays where it
//! belongs, and every bad input is a clean error with the right exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use apiclient_fake::{FakeCloud, Fault, RawRequest, RawServer};
use serde_json::{Value, json};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run the binary with a clean environment: HOME and the working directory
/// are `home`; `env` on top.
async fn run_in(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiclient"));
    cmd.env_clear().env("HOME", home).current_dir(home);
    cmd.envs(env.iter().copied());
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

async fn run(env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    run_in(home.path(), env, args).await
}

fn password_env(auth_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OS_AUTH_URL", auth_url.to_string()),
        ("OS_USERNAME", "demo".into()),
        ("OS_PASSWORD", "demopass".into()),
        ("OS_PROJECT_NAME", "demo".into()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A Keystone that answers every token request with `token` (its
/// `X-Subject-Token` is `tok-hostile`), and every other request with `other`.
async fn hostile_keystone(
    token: Value,
    other: impl Fn(&RawRequest) -> Vec<u8> + Send + Sync + 'static,
) -> RawServer {
    let body = token.to_string();
    RawServer::start(move |req| {
        if req.method == "POST" && req.target.ends_with("/auth/tokens") {
            RawServer::response(
                201,
                &[
                    ("Content-Type", "application/json"),
                    ("X-Subject-Token", "tok-hostile"),
                ],
                body.as_bytes(),
            )
        } else {
            other(req)
        }
    })
    .await
    .unwrap()
}

fn token_body(catalog: Value, expires: &str) -> Value {
    json!({"token": {"expires_at": expires, "issued_at": "2026-01-01T00:00:00Z",
        "methods": ["password"], "user": {"id": "u\u{1b}[2J-1", "name": "demo"},
        "project": {"id": "p\u{9b}31m", "name": "demo"}, "catalog": catalog}})
}

fn no_controls(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\n')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_strings_are_escaped_in_tables_values_and_errors() {
    // The catalog names the server itself (its port is known only once it
    // runs), so the token body is made per request.
    let long_id = "r".repeat(300_000);
    let server = RawServer::start(move |req| {
        if req.method == "POST" && req.target.ends_with("/auth/tokens") {
            let own = format!("http://{}/v2.1", req.header("host").unwrap_or("127.0.0.1"));
            let catalog = json!([{"type": "compute", "name": "nova\u{1b}]0;owned\u{7}", "id": "s1",
                "endpoints": [{"interface": "public", "region_id": "Region\nOne\rX", "url": own}]}]);
            let body = token_body(catalog, "2099-01-01T00:00:00Z").to_string();
            return RawServer::response(
                201,
                &[("Content-Type", "application/json"), ("X-Subject-Token", "tok-hostile")],
                body.as_bytes(),
            );
        }
        if req.target.trim_end_matches('/') == "/v2.1" {
            // a version document of control characters
            return RawServer::response(
                200,
                &[("Content-Type", "application/json")],
                "{\"version\": {\"id\": \"v2.1\\u001b]0;owned\\u0007\", \"status\": \"CUR\\nRENT\\u009b2J\", \"min_version\": \"2.1\", \"version\": \"2.9\"}}".as_bytes(),
            );
        }
        RawServer::response(
            404,
            &[
                ("Content-Type", "application/json"),
                ("X-OpenStack-Request-Id", &long_id),
            ],
            br#"{"itemNotFound": {"message": "gone\nERROR: forged second line \u001b[31mred"}}"#,
        )
    })
    .await
    .unwrap();
    let env = password_env(&format!("{}/v3", server.url()));
    let env = as_refs(&env);

    for format in ["table", "value", "yaml", "json", "csv", "shell"] {
        for (cmd, list) in [
            (&["catalog", "list"][..], true),
            (&["catalog", "show", "compute"], false),
            (&["token", "issue"], false),
            (&["endpoint", "list"], true),
            (&["versions", "show"], true),
        ] {
            if (format == "csv" && !list) || (format == "shell" && list) {
                continue;
            }
            let mut args = cmd.to_vec();
            args.extend(["-f", format]);
            let r = run(&env, &args).await;
            assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
            assert!(
                no_controls(&r.stdout),
                "{args:?} printed a control character: {:?}",
                r.stdout
            );
            let escaped = match format {
                // YAML's escape of ESC, JSON's
                "yaml" => "\\e",
                "json" => "\\u001b",
                _ => "\\x1b",
            };
            assert!(
                r.stdout.contains(escaped),
                "{args:?}: shown escaped: {}",
                r.stdout
            );
            if matches!(format, "json" | "yaml") {
                assert!(r.stdout.is_ascii(), "{args:?}: {}", r.stdout);
            }
            if matches!(format, "value" | "csv" | "shell") {
                // one line per row (and csv's header) or field: a newline
                // in a value cannot add one
                let expected = match (list, format) {
                    (false, _) => 4,
                    (true, "csv") => 2,
                    (true, _) => 1,
                };
                assert_eq!(r.stdout.lines().count(), expected, "{args:?}: {}", r.stdout);
            }
            if format == "table" {
                let widths: std::collections::BTreeSet<usize> =
                    r.stdout.lines().map(|l| l.chars().count()).collect();
                assert_eq!(widths.len(), 1, "a ragged table: {}", r.stdout);
            }
        }
    }
    // -f value: one row per line, a newline in a value cannot add a row
    let r = run(&env, &["catalog", "list", "-f", "value"]).await;
    assert!(r.stdout.contains("Region\\nOne\\rX"), "{}", r.stdout);
    // -f yaml is exact too: the strings as the server sent them
    let r = run(&env, &["catalog", "list", "-f", "yaml"]).await;
    assert!(
        r.stdout.contains("region: \"Region\\nOne\\rX\""),
        "{}",
        r.stdout
    );
    let r = run(&env, &["versions", "show", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["Version"], "v2.1\u{1b}]0;owned\u{7}");
    assert_eq!(v[0]["Status"], "CUR\nRENT\u{9b}2J");

    // -f json stays exact JSON: the strings as the server sent them
    let r = run(&env, &["catalog", "list", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["Name"], "nova\u{1b}]0;owned\u{7}");
    assert_eq!(v[0]["Endpoints"][0]["region"], "Region\nOne\rX");

    // the one-line error: newline escaped, the 300 KB request id cut
    let r = run(&env, &["request", "GET", "compute", "/servers/x"]).await;
    assert_eq!(r.code, 1);
    let head: String = r.stderr.chars().take(200).collect();
    assert_eq!(r.stderr.lines().count(), 1, "{head:?}");
    assert!(no_controls(&r.stderr));
    assert!(
        r.stderr
            .starts_with("gone ERROR: forged second line \\x1b[31mred (HTTP 404)"),
        "{head}"
    );
    assert!(r.stderr.chars().count() < 5000, "{} chars", r.stderr.len());
    assert!(r.stderr.trim_end().ends_with('…'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_cannot_be_forged_by_a_body() {
    let cloud = FakeCloud::start().await.unwrap();
    let server = RawServer::start(|_| {
        RawServer::response(
            200,
            &[("Content-Type", "text/plain")],
            b"fine\r\nRESP: [200] forged-line\nREQ: curl forged",
        )
    })
    .await
    .unwrap();
    let env = [
        ("OS_AUTH_TYPE", "admin_token"),
        ("OS_TOKEN", "t"),
        ("OS_ENDPOINT", server.url()),
    ];
    let r = run(&env, &["--debug", "request", "GET", "x", "/y"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.starts_with("RESP: [200] forged") || l.starts_with("REQ: curl forged")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("fine\\r\\nRESP: [200] forged-line\\nREQ: curl forged"),
        "{}",
        r.stderr
    );
    // the body itself, printed for the user, keeps its lines but no CR
    assert!(!r.stdout.contains('\r'), "{:?}", r.stdout);
    drop(cloud);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_future_expiry_does_not_panic() {
    let catalog = json!([]);
    let server = hostile_keystone(token_body(catalog, "9999-12-31T23:59:59-05:00"), |_| {
        RawServer::response(200, &[], b"{}")
    })
    .await;
    let env = password_env(&format!("{}/v3", server.url()));
    let r = run(&as_refs(&env), &["token", "issue", "-f", "json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["id"], "tok-hostile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_on_another_host_is_a_usage_error_and_gets_nothing() {
    let cloud = FakeCloud::start().await.unwrap();
    let other = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    let env = password_env(&cloud.auth_url());
    let r = run(
        &as_refs(&env),
        &["request", "GET", "compute", &format!("{}/x", other.url())],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("refusing to send the token to"),
        "{}",
        r.stderr
    );
    assert_eq!(
        other.connections_accepted(),
        0,
        "nothing reached the other host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_checked_before_anything_is_sent() {
    let cloud = FakeCloud::start().await.unwrap();
    let env = password_env(&cloud.auth_url());
    let env = as_refs(&env);
    let r = run(
        &env,
        &[
            "request",
            "POST",
            "compute",
            "/servers",
            "--body",
            "{not json",
        ],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("--body is not valid JSON"),
        "{}",
        r.stderr
    );
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 0, "nothing was sent");

    // other data with an explicit content type is sent as is
    let server = RawServer::start(|_| RawServer::response(204, &[], b""))
        .await
        .unwrap();
    let fixed = [
        ("OS_AUTH_TYPE", "admin_token"),
        ("OS_TOKEN", "t"),
        ("OS_ENDPOINT", server.url()),
    ];
    let r = run(
        &fixed,
        &[
            "request",
            "PUT",
            "object-store",
            "/c/o",
            "--body",
            "plain text",
            "--content-type",
            "text/plain",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let req = &server.requests()[0];
    assert_eq!(req.body, b"plain text");
    assert_eq!(req.header("content-type"), Some("text/plain"));

    // a body file over the limit is refused before reading it
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 * 1024 * 1024)
        .unwrap();
    let at = format!("@{}", big.display());
    let r = run(&fixed, &["request", "POST", "x", "/y", "--body", &at]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("more than the limit"), "{}", r.stderr);
    assert_eq!(server.requests().len(), 1, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_errors_with_include_and_one_microversion_header() {
    let server = RawServer::start(|req| {
        if req.target.starts_with("/moved") {
            RawServer::response(301, &[("Location", "https://elsewhere.example/new")], b"")
        } else if req.target.starts_with("/conflict") {
            RawServer::response(
                409,
                &[("Content-Type", "application/json"), ("X-OpenStack-Request-Id", "req-9")],
                br#"{"errors": [{"status": 409, "title": "Conflict", "detail": "resource provider generation conflict", "code": "placement.concurrent_update"}]}"#,
            )
        } else {
            RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
        }
    })
    .await
    .unwrap();
    let fixed = [
        ("OS_AUTH_TYPE", "admin_token"),
        ("OS_TOKEN", "t"),
        ("OS_ENDPOINT", server.url()),
    ];
    let r = run(&fixed, &["request", "GET", "placement", "/moved"]).await;
    assert_eq!(
        r.code, 1,
        "a redirect not followed is an error: {}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        "Moved Permanently: redirect to https://elsewhere.example/new not followed (HTTP 301)\n"
    );

    let r = run(
        &fixed,
        &[
            "request",
            "PUT",
            "placement",
            "/conflict",
            "-i",
            "--body",
            "{}",
        ],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("HTTP 409 Conflict\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("x-openstack-request-id: req-9"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        "resource provider generation conflict (HTTP 409) (Request-ID: req-9)\n"
    );

    let r = run(
        &fixed,
        &[
            "request",
            "GET",
            "placement",
            "/ok",
            "-H",
            "OpenStack-API-Version: placement 1.0",
            "--microversion",
            "1.39",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.header_values("openstack-api-version"),
        ["placement 1.39"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_issue_needs_an_authorized_user() {
    let server = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    for auth_type in ["admin_token", "none"] {
        let env = [
            ("OS_AUTH_TYPE", auth_type),
            ("OS_TOKEN", "t"),
            ("OS_ENDPOINT", server.url()),
        ];
        let r = run(&env, &["token", "issue"]).await;
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (1, "Only an authorized user may issue a new token.\n")
        );
        assert!(r.stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_bounds_the_whole_command() {
    let cloud = FakeCloud::start().await.unwrap();
    cloud.set_fault_prefix("/v2.1");
    cloud.inject(Fault::TooManyRequests { retry_after: 100 }, 3);
    let env = password_env(&cloud.auth_url());
    let t0 = std::time::Instant::now();
    let r = run(
        &as_refs(&env),
        &["--timeout", "2", "request", "GET", "compute", "/servers"],
    )
    .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("(HTTP 429)"), "{}", r.stderr);
    // before: three 60 s waits (Retry-After capped), 180 s
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        t0.elapsed()
    );

    // a server that never answers: the command ends at --timeout
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let env = password_env(&format!("{url}/v3"));
    let r = run(&as_refs(&env), &["--timeout", "1", "token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("timed out") || r.stderr.contains("did not finish"),
        "{}",
        r.stderr
    );
    keep.abort();
}

// ---- configuration ---------------------------------------------------------

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secure_yaml_in_the_working_directory_cannot_redirect_the_password() {
    let cloud = FakeCloud::start().await.unwrap();
    let thief = RawServer::start(|_| RawServer::response(500, &[], b""))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let clouds = format!(
        "clouds:\n  c:\n    auth:\n      auth_url: {}\n      username: demo\n      project_name: demo\n",
        cloud.auth_url()
    );
    write(&home.path().join(".config/openstack/clouds.yaml"), &clouds);
    write(
        &home.path().join(".config/openstack/secure.yaml"),
        "clouds:\n  c:\n    auth:\n      password: demopass\n",
    );
    // planted in the working directory (here: home itself), no clouds.yaml beside it
    write(
        &home.path().join("secure.yaml"),
        &format!(
            "clouds:\n  c:\n    auth:\n      auth_url: {}/v3\n",
            thief.url()
        ),
    );
    let r = run_in(
        home.path(),
        &[],
        &["--os-cloud", "c", "token", "issue", "-f", "json"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        thief.requests().is_empty(),
        "the password went to the planted auth_url"
    );
    assert!(
        r.stderr.contains("ignoring ./secure.yaml"),
        "a warning: {}",
        r.stderr
    );

    // beside its clouds.yaml, a working-directory secure.yaml is used
    write(&home.path().join("clouds.yaml"), &clouds);
    write(
        &home.path().join("secure.yaml"),
        "clouds:\n  c:\n    auth:\n      password: demopass\n",
    );
    std::fs::remove_file(home.path().join(".config/openstack/secure.yaml")).unwrap();
    let r = run_in(home.path(), &[], &["--os-cloud", "c", "token", "issue"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_clouds_yaml_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let big = format!(
        "clouds:\n  c:\n    auth:\n      auth_url: http://k/v3\n# {}\n",
        "x".repeat(1024 * 1024)
    );
    write(&home.path().join("clouds.yaml"), &big);
    let r = run_in(home.path(), &[], &["--os-cloud", "c", "token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("more than the 1048576 accepted"),
        "{}",
        r.stderr
    );

    let deep = format!("clouds: {}{}\n", "[".repeat(24_000), "]".repeat(24_000));
    write(&home.path().join("clouds.yaml"), &deep);
    let t0 = std::time::Instant::now();
    let r = run_in(home.path(), &[], &["--os-cloud", "c", "token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("nests 24000 levels deep"), "{}", r.stderr);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_reach_stderr_without_debug() {
    let cloud = FakeCloud::start().await.unwrap();
    let env0 = password_env(&cloud.auth_url());
    let r = run(&as_refs(&env0), &["--insecure", "token", "issue"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("WARN") && r.stderr.contains("TLS certificate verification is off"),
        "{}",
        r.stderr
    );

    // a token cache in a directory others can write to is ignored, with a warning
    let cache = tempfile::tempdir().unwrap();
    let tokens = cache.path().join("apiclient-rs/tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let mut env = password_env(&cloud.auth_url());
    env.push(("XDG_CACHE_HOME", cache.path().display().to_string()));
    let r = run(&as_refs(&env), &["--token-cache", "token", "issue"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    #[cfg(unix)]
    assert!(
        r.stderr.contains("cannot write the token file")
            || r.stderr.contains("ignoring the token cache"),
        "{}",
        r.stderr
    );

    // RUST_LOG is honoured
    let mut env2 = password_env(&cloud.auth_url());
    env2.push(("RUST_LOG", "apiclient_http=debug".to_string()));
    let r = run(&as_refs(&env2), &["token", "issue"]).await;
    assert!(r.stderr.contains("REQ: curl"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_goes_away_is_not_a_panic() {
    // `apiclient demo | head -1`: the pipe closes after the first line.
    let out = tokio::task::spawn_blocking(|| {
        use std::io::BufRead;
        let home = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_apiclient"))
            .env_clear()
            .env("HOME", home.path())
            .arg("demo")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // the reader is dropped here: the pipe is closed
        let out = child.wait_with_output().unwrap();
        (first, out)
    })
    .await
    .unwrap();
    let (first, out) = out;
    assert!(first.starts_with("apiclient demo"), "{first}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// `eval "$(apiclient token issue -f shell)"` with a server that puts
/// command substitutions, quotes, backslashes and newlines in its values:
/// nothing runs, and each variable holds the value as `-f value` shows it
/// (the value itself when it has no control character).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_output_is_safe_to_eval() {
    let token = "tok$(touch PWNED1)`touch PWNED2`\"\\$HOME'";
    let user = "u$(touch PWNED3)\n`touch PWNED4`\"'\\;x\u{1b}[2J";
    let project = "p${HOME}$((6*7))\"; touch PWNED5; \"";
    let body =
        json!({"token": {"expires_at": "2099-01-01T00:00:00Z", "issued_at": "2026-01-01T00:00:00Z",
        "methods": ["password"], "user": {"id": user, "name": "demo"},
        "project": {"id": project, "name": "demo"}, "catalog": []}})
        .to_string();
    let server = RawServer::start(move |_| {
        RawServer::response(
            201,
            &[
                ("Content-Type", "application/json"),
                ("X-Subject-Token", token),
            ],
            body.as_bytes(),
        )
    })
    .await
    .unwrap();
    let env = password_env(&format!("{}/v3", server.url()));
    let r = run(&as_refs(&env), &["token", "issue", "-f", "shell"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    let shown = run(
        &as_refs(&env),
        &["token", "issue", "-f", "value", "-c", "user_id"],
    )
    .await;
    let user_shown = shown.stdout.strip_suffix('\n').unwrap().to_string();
    assert_eq!(
        user_shown,
        "u$(touch PWNED3)\\n`touch PWNED4`\"'\\;x\\x1b[2J"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(dir.path())
        .arg("-c")
        .arg(r#"eval "$("$1" token issue -f shell)" && printf '%s\n%s\n%s' "$id" "$project_id" "$user_id""#)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_apiclient"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<&str> = printed.split('\n').collect();
    assert_eq!(values, [token, project, user_shown.as_str()]);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "the eval ran something: {left:?}");
}

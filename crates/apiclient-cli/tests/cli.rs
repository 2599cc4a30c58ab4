//! The built `apiclient` binary against FakeCloud on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

use apiclient_fake::{FakeCloud, Fault};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run the binary with a clean environment (no OS_* leaks, no clouds.yaml), off the async threads.
async fn apiclient(cloud: Option<&FakeCloud>, args: &[&str]) -> Run {
    apiclient_env(cloud, &[], args).await
}

async fn apiclient_env(cloud: Option<&FakeCloud>, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiclient"));
    cmd.env_clear()
        .env("HOME", home.path())
        .current_dir(home.path());
    cmd.envs(env.iter().copied());
    if let Some(c) = cloud {
        cmd.env("OS_AUTH_URL", c.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo")
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_PROJECT_DOMAIN_NAME", "Default");
    }
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    drop(home);
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_issue_in_three_formats() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    // the field names python-openstackclient 10.5 prints for `token issue -f json`
    assert_eq!(keys, ["expires", "id", "project_id", "user_id"]);
    assert_eq!(v["project_id"], "p-demo");
    assert_eq!(v["user_id"], "u-demo");
    assert!(v["id"].as_str().unwrap().starts_with("gAAAAA"));
    let exp = v["expires"].as_str().unwrap();
    assert!(exp.ends_with("+0000") && exp.len() == 24, "{exp}");

    let r = apiclient(Some(&cloud), &["token", "issue"]).await;
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("+------------+"), "{}", r.stdout);
    assert!(r.stdout.contains("| Field      | Value"));
    assert!(r.stdout.contains("| project_id | p-demo"));

    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "value"]).await;
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2], "p-demo");
    assert_eq!(lines[3], "u-demo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_list_and_show() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["catalog", "list", "-f", "json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let compute = v
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Type"] == "compute")
        .unwrap();
    assert_eq!(compute["Name"], "nova");
    let ep = &compute["Endpoints"][0];
    for k in ["id", "interface", "region_id", "url", "region"] {
        assert!(ep.get(k).is_some(), "endpoint lacks {k}");
    }
    let r = apiclient(Some(&cloud), &["catalog", "list"]).await;
    assert!(
        r.stdout.contains("| nova     | compute       | RegionOne"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("  public: {}/v2.1", cloud.url()))
    );
    let r = apiclient(Some(&cloud), &["catalog", "show", "image", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["name"], "glance");
    let r = apiclient(Some(&cloud), &["catalog", "show", "nothing"]).await;
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "No service with a type or name of 'nothing' exists."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_get_with_interface_and_region() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(
        Some(&cloud),
        &[
            "endpoint",
            "get",
            "compute",
            "--interface",
            "internal",
            "--region",
            "RegionOne",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("{}/v2.1", cloud.url()));
    let r = apiclient(Some(&cloud), &["endpoint", "get", "volumev3"]).await;
    assert_eq!(r.stdout.trim(), format!("{}/volume/v3/p-demo", cloud.url()));
    let r = apiclient(
        Some(&cloud),
        &["endpoint", "get", "compute", "--region", "RegionTwo"],
    )
    .await;
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "No endpoint found for service type 'compute' with interface 'public' in region 'RegionTwo'"
    );
    let r = apiclient(
        Some(&cloud),
        &["endpoint", "get", "compute", "--interface", "private"],
    )
    .await;
    assert_eq!(r.code, 2, "a usage error");
    assert!(
        r.stderr.starts_with("invalid interface 'private'"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_get_post_delete_with_a_body_file() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("server.json");
    std::fs::write(&body, r#"{"server": {"name": "from-file"}}"#).unwrap();
    let at = format!("@{}", body.display());
    let r = apiclient(
        Some(&cloud),
        &["request", "POST", "compute", "/servers", "--body", &at],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    // Nova answers a create with the id and the admin password
    assert!(v["server"]["adminPass"].is_string(), "{v}");
    let id = v["server"]["id"].as_str().unwrap().to_string();

    let r = apiclient(
        Some(&cloud),
        &[
            "request",
            "GET",
            "compute",
            &format!("/servers/{id}"),
            "-i",
            "--microversion",
            "2.79",
        ],
    )
    .await;
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("HTTP 200 OK\n"), "{}", r.stdout);
    assert!(r.stdout.contains("x-openstack-request-id: req-"));
    assert!(
        r.stdout.contains("openstack-api-version: compute 2.79"),
        "the microversion was sent and echoed: {}",
        r.stdout
    );
    assert!(r.stdout.contains("\"name\": \"from-file\""), "{}", r.stdout);

    let r = apiclient(
        Some(&cloud),
        &["request", "DELETE", "compute", &format!("/servers/{id}")],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = apiclient(
        Some(&cloud),
        &["request", "GET", "compute", &format!("/servers/{id}")],
    )
    .await;
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr.lines().count(), 1);
    assert!(
        r.stderr.starts_with(&format!(
            "Instance {id} could not be found. (HTTP 404) (Request-ID: req-"
        )),
        "{}",
        r.stderr
    );

    let r = apiclient(Some(&cloud), &["versions", "show", "compute"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["version"]["id"], "v2.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_log_is_curl_shaped_and_secret_free_and_timing_lists_every_request() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(
        Some(&cloud),
        &["--debug", "--timing", "token", "issue", "-f", "json"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = serde_json::from_str::<Value>(&r.stdout).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        r.stderr.contains("REQ: curl -g -i -X 'POST'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("x-subject-token: {SHA256}"));
    assert!(!r.stderr.contains("demopass"));
    assert!(!r.stderr.contains(&token));
    assert!(
        r.stderr
            .contains(&format!("| POST {}/auth/tokens", cloud.auth_url())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("| Total"));

    // With --token-cache the second run starts from the stored token, so a 401
    // is recovered by one re-authentication (a fresh token's 401 would stand).
    let cache = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", cache.path().to_str().unwrap())];
    let r = apiclient_env(Some(&cloud), &env, &["--token-cache", "token", "issue"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    cloud.inject(Fault::Unauthorized, 1);
    let r = apiclient_env(
        Some(&cloud),
        &env,
        &[
            "--token-cache",
            "--debug",
            "--timing",
            "request",
            "GET",
            "compute",
            "/servers",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("RESP: [401]"));
    assert_eq!(
        r.stderr
            .matches(&format!("| GET {}/v2.1/servers", cloud.url()))
            .count(),
        2,
        "both attempts timed"
    );
    assert!(!r.stderr.contains("demopass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_paths_have_their_exit_codes_and_one_line_messages() {
    let r = apiclient(None, &["token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "Authentication failed. Missing options: auth_url, username, password. Set them with \
         --os-* options or OS_* variables, or choose a cloud of clouds.yaml with --os-cloud / OS_CLOUD\n"
    );
    let r = apiclient(
        None,
        &[
            "--os-auth-type",
            "password",
            "--os-username",
            "u",
            "token",
            "issue",
        ],
    )
    .await;
    assert_eq!(
        r.stderr,
        "Authentication failed. Missing options: auth_url, password\n"
    );
    let r = apiclient(None, &["--os-auth-system", "x", "token", "issue"]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "AuthSystemNotFound: 'x'\n")
    );
    let r = apiclient(None, &["token", "frobnicate"]).await;
    assert_eq!(r.code, 2);
    let r = apiclient(None, &["--os-cloud", "nope", "token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .starts_with("invalid configuration: cloud 'nope' requested but no clouds.yaml found"),
        "{}",
        r.stderr
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v3");
    let r = apiclient(
        None,
        &[
            "--os-auth-url",
            &url,
            "--os-username",
            "u",
            "--os-password",
            "hunter2",
            "--os-project-name",
            "p",
            "token",
            "issue",
        ],
    )
    .await;
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        format!("Unable to reach {url}/auth/tokens: connection refused\n")
    );

    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["--os-password", "wrong", "token", "issue"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.starts_with(
            "The request you have made requires authentication. (HTTP 401) (Request-ID: req-"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("wrong"));
    for bad in [
        "--timeout=0",
        "--timeout=-1",
        "--timeout=1e30",
        "--timeout=NaN",
        "--timeout=inf",
    ] {
        let r = apiclient(Some(&cloud), &[bad, "token", "issue"]).await;
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("must be a positive number of seconds, at most 86400"),
            "{bad}: {}",
            r.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_revoke_then_use_is_unauthorized() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "value"]).await;
    let token = r.stdout.lines().nth(1).unwrap().to_string();
    let r = apiclient(Some(&cloud), &["token", "revoke", &token]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(cloud.count("DELETE /v3/auth/tokens"), 1);
    let r = apiclient(
        None,
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_exits_zero_and_shows_every_step() {
    let r = apiclient(None, &["demo"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "token issue",
        "catalog list",
        "page 3: server-6",
        "re-authenticated 1 time",
        "(HTTP 404) (Request-ID: req-",
        "| Total",
    ] {
        assert!(
            r.stdout.contains(needle),
            "demo output lacks {needle}:\n{}",
            r.stdout
        );
    }
    assert!(r.stderr.contains("REQ: curl"));
    assert!(!r.stderr.contains("demopass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_every_auth_type_and_the_new_plugins_options() {
    let r = apiclient(None, &["--help"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in apiclient_auth::keystone::BUILTIN_PLUGINS {
        assert!(r.stdout.contains(name), "--help lacks {name}");
    }
    for option in [
        "--os-auth-methods",
        "--os-identity-provider",
        "--os-client-secret",
        "--os-discovery-endpoint",
        "--os-access-token",
        "--os-passcode",
    ] {
        assert!(r.stdout.contains(option), "--help lacks {option}");
    }
}

/// http_basic through the CLI, from the environment: `Authorization: Basic`
/// reaches the service; the password appears nowhere in the --debug log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_basic_from_the_environment() {
    let server = apiclient_fake::RawServer::start(|req| {
        let ok = req.header("authorization")
            == Some(&apiclient_auth::typed::basic_authorization(
                "admin", "b4sic-pw",
            ));
        let (status, body): (u16, &[u8]) = if ok {
            (200, b"{\"nodes\": []}")
        } else {
            (401, b"{}")
        };
        apiclient_fake::RawServer::response(status, &[("Content-Type", "application/json")], body)
    })
    .await
    .unwrap();
    let endpoint = format!("{}/v1", server.url());
    let r = apiclient_env(
        None,
        &[
            ("OS_AUTH_TYPE", "http_basic"),
            ("OS_ENDPOINT", &endpoint),
            ("OS_USERNAME", "admin"),
            ("OS_PASSWORD", "b4sic-pw"),
        ],
        &["--debug", "request", "GET", "baremetal", "/nodes"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("nodes"), "{}", r.stdout);
    let basic = apiclient_auth::typed::basic_authorization("admin", "b4sic-pw");
    let encoded = basic.trim_start_matches("Basic ");
    assert!(
        !r.stderr.contains("b4sic-pw") && !r.stderr.contains(encoded),
        "{}",
        r.stderr
    );
}

/// `request --upload-file` streams a file up, `--output` streams the answer
/// into a file (whole or not at all); a progress bar only on a terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_download_files_with_progress_only_on_a_terminal() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("image.raw");
    let data: Vec<u8> = (0..24 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&src, &data).unwrap();
    let src_arg = src.to_str().unwrap();
    let r = apiclient(
        Some(&cloud),
        &["request", "PUT", "object-store", "/c", "--body", "{}"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = apiclient(
        Some(&cloud),
        &[
            "request",
            "PUT",
            "object-store",
            "/c/o",
            "--upload-file",
            src_arg,
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        r.stderr
    );
    let dst = dir.path().join("copy.raw");
    let r = apiclient(
        Some(&cloud),
        &[
            "request",
            "GET",
            "object-store",
            "/c/o",
            "-o",
            dst.to_str().unwrap(),
            "-i",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("HTTP 200"), "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    assert!(
        std::fs::read(&dst).unwrap() == data,
        "the download equals the upload"
    );

    // a missing object: the error, and no file
    let missing = dir.path().join("missing.raw");
    let r = apiclient(
        Some(&cloud),
        &[
            "request",
            "GET",
            "object-store",
            "/c/nope",
            "-o",
            missing.to_str().unwrap(),
        ],
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(!missing.exists());
    // an upload file that is not there: an error naming it, nothing sent
    let r = apiclient(
        Some(&cloud),
        &[
            "request",
            "PUT",
            "object-store",
            "/c/x",
            "--upload-file",
            "/nonexistent/file.raw",
        ],
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("/nonexistent/file.raw"), "{}", r.stderr);

    // on a terminal: a progress bar for each direction, cleared at the end
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/on_a_pty.py");
    let home = tempfile::tempdir().unwrap();
    let on_a_pty = |args: Vec<String>| {
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(env!("CARGO_BIN_EXE_apiclient"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("TERM", "xterm")
            .env("OS_AUTH_URL", cloud.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo")
            .current_dir(home.path());
        cmd
    };
    let mut up = on_a_pty(
        [
            "request",
            "PUT",
            "object-store",
            "/c/o2",
            "--upload-file",
            src_arg,
        ]
        .map(String::from)
        .to_vec(),
    );
    let out = tokio::task::spawn_blocking(move || up.output().unwrap())
        .await
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("upload") && shown.contains("MiB"), "{shown}");
    let dst2 = dir.path().join("copy2.raw");
    let mut down = on_a_pty(
        [
            "request",
            "GET",
            "object-store",
            "/c/o2",
            "-o",
            dst2.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
    );
    let out = tokio::task::spawn_blocking(move || down.output().unwrap())
        .await
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("download") && shown.contains("MiB"),
        "{shown}"
    );
    assert!(std::fs::read(&dst2).unwrap() == data);
    // --no-progress keeps the terminal quiet
    let mut quiet = on_a_pty(
        [
            "request",
            "GET",
            "object-store",
            "/c/o2",
            "-o",
            dst2.to_str().unwrap(),
            "--no-progress",
        ]
        .map(String::from)
        .to_vec(),
    );
    let out = tokio::task::spawn_blocking(move || quiet.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

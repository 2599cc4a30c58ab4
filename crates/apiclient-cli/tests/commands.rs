//! The built `apiclient` binary's cliff-style output options, its
//! `endpoint list/show`, `versions show` (every service), `configuration
//! show`, `completion` and `man`, against FakeCloud on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use apiclient_fake::{FakeCloud, TestResponse};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The binary with a clean environment (HOME and the working directory are
/// `home`), the demo user of `cloud` (if any), `env` on top.
async fn run_in(
    home: &Path,
    cloud: Option<&FakeCloud>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apiclient"));
    cmd.env_clear().env("HOME", home).current_dir(home);
    if let Some(c) = cloud {
        cmd.env("OS_AUTH_URL", c.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo")
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_PROJECT_DOMAIN_NAME", "Default");
    }
    cmd.envs(env.iter().copied()).args(args);
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

async fn apiclient(cloud: Option<&FakeCloud>, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    run_in(home.path(), cloud, &[], args).await
}

/// `sh -c SCRIPT` with the binary as `$1`, the demo user's environment and
/// `dir` as the working directory; its stdout.
async fn sh(cloud: &FakeCloud, dir: &Path, script: &str) -> (i32, String, String) {
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("OS_AUTH_URL", cloud.auth_url())
        .env("OS_USERNAME", "demo")
        .env("OS_PASSWORD", "demopass")
        .env("OS_PROJECT_NAME", "demo")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_apiclient"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_issue_value_of_one_column_is_the_token_alone() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "value", "-c", "id"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let id = r.stdout.strip_suffix('\n').unwrap();
    assert!(
        id.starts_with("gAAAAA") && !id.contains(char::is_whitespace),
        "{:?}",
        r.stdout
    );
    assert_eq!(id.len(), v["id"].as_str().unwrap().len());

    // -c in the command's order, as cliff; case and `_` for a space do not matter
    let r = apiclient(
        Some(&cloud),
        &[
            "token", "issue", "-f", "json", "-c", "USER_ID", "-c", "expires",
        ],
    )
    .await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["expires", "user_id"]);
    // an unknown column beside a known one is ignored; alone it is a usage error
    let r = apiclient(
        Some(&cloud),
        &[
            "token",
            "issue",
            "-f",
            "value",
            "-c",
            "nosuch",
            "-c",
            "project_id",
        ],
    )
    .await;
    assert_eq!(r.stdout, "p-demo\n");
    // (as cliff: known once the data is there)
    let r = apiclient(Some(&cloud), &["token", "issue", "-c", "nosuch"]).await;
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "No recognized column names in ['nosuch']. Recognized columns are ('expires', 'id', 'project_id', 'user_id').\n"
    );
    let before = cloud.count("POST /v3/auth/tokens");
    // a format the command does not offer is refused before anything is sent
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "csv"]).await;
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "argument -f/--format: invalid choice: 'csv' (choose from 'json', 'shell', 'table', 'value', 'yaml')\n"
    );
    let r = apiclient(Some(&cloud), &["token", "issue", "--sort-column", "id"]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "unrecognized arguments: --sort-column\n")
    );
    assert_eq!(
        cloud.count("POST /v3/auth/tokens"),
        before,
        "nothing was sent"
    );

    // yaml
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "yaml"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    assert!(
        lines[0].starts_with("expires: '20") || lines[0].starts_with("expires: 20"),
        "{}",
        r.stdout
    );
    assert_eq!(lines[2], "project_id: p-demo");
    // json on one line
    let r = apiclient(
        Some(&cloud),
        &["token", "issue", "-f", "json", "--noindent"],
    )
    .await;
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.starts_with("{\"expires\": \""), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_issue_shell_output_evals_to_the_values() {
    let cloud = FakeCloud::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = sh(
        &cloud,
        dir.path(),
        r#"eval "$("$1" token issue -f shell)" && printf '%s|%s|%s' "$id" "$project_id" "$user_id""#,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let r = apiclient(Some(&cloud), &["token", "issue", "-f", "value"]).await;
    let values: Vec<&str> = r.stdout.lines().collect();
    let parts: Vec<&str> = out.split('|').collect();
    assert!(parts[0].starts_with("gAAAAA"), "{out}");
    assert_eq!(parts[1], "p-demo");
    assert_eq!(parts[2], values[3]);
    // --prefix
    let (code, out, err) = sh(
        &cloud,
        dir.path(),
        r#"eval "$("$1" token issue -f shell --prefix OS_TOKEN_ -c project_id)" && printf %s "$OS_TOKEN_project_id""#,
    )
    .await;
    assert_eq!((code, out.as_str()), (0, "p-demo"), "{err}");
    let r = apiclient(
        Some(&cloud),
        &["token", "issue", "-f", "shell", "--prefix", "x;touch y"],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.starts_with("--prefix 'x;touch y': "),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_list_in_every_list_format_sorted_and_fitted() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["catalog", "list", "-f", "csv"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], r#""Name","Type","Endpoints""#);
    assert!(
        lines[1].starts_with(r#""keystone","identity","[{'id': "#),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 6, "a header and five services");
    let r = apiclient(
        Some(&cloud),
        &[
            "catalog", "list", "-f", "csv", "--quote", "minimal", "-c", "type",
        ],
    )
    .await;
    assert_eq!(
        r.stdout,
        "Type\nidentity\ncompute\nimage\nblock-storage\nobject-store\n"
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "catalog", "list", "-f", "csv", "--quote", "all", "-c", "type",
        ],
    )
    .await;
    assert!(
        r.stdout.starts_with("\"Type\"\n\"identity\"\n"),
        "{}",
        r.stdout
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "catalog",
            "list",
            "-f",
            "csv",
            "--quote",
            "none",
            "-c",
            "endpoints",
        ],
    )
    .await;
    assert!(
        r.stdout.lines().nth(1).unwrap().contains("'id': 'e1'\\, "),
        "{}",
        r.stdout
    );

    let r = apiclient(
        Some(&cloud),
        &[
            "catalog",
            "list",
            "-f",
            "value",
            "-c",
            "Type",
            "--sort-column",
            "type",
        ],
    )
    .await;
    assert_eq!(
        r.stdout,
        "block-storage\ncompute\nidentity\nimage\nobject-store\n"
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "catalog",
            "list",
            "-f",
            "value",
            "-c",
            "Type",
            "--sort-column",
            "Type",
            "--sort-descending",
        ],
    )
    .await;
    assert_eq!(
        r.stdout,
        "object-store\nimage\nidentity\ncompute\nblock-storage\n"
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "catalog",
            "list",
            "-f",
            "value",
            "-c",
            "Name",
            "--sort-column",
            "Name",
            "--sort-ascending",
        ],
    )
    .await;
    assert_eq!(r.stdout, "cinderv3\nglance\nkeystone\nnova\nswift\n");
    let r = apiclient(
        Some(&cloud),
        &["catalog", "list", "--sort-ascending", "--sort-descending"],
    )
    .await;
    assert_eq!(r.code, 2, "clap refuses both");

    let r = apiclient(Some(&cloud), &["catalog", "list", "-f", "yaml"]).await;
    assert!(
        r.stdout
            .starts_with("- Endpoints:\n  - id: e1\n    interface: public\n"),
        "{}",
        r.stdout
    );
    let r = apiclient(
        Some(&cloud),
        &["catalog", "list", "-f", "json", "--noindent"],
    )
    .await;
    assert_eq!(r.stdout.lines().count(), 1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[1]["Name"], "nova");

    // OSC's table: the endpoints, then an empty line
    let r = apiclient(Some(&cloud), &["catalog", "list"]).await;
    let lines: Vec<&str> = r.stdout.lines().collect();
    let nova = lines.iter().position(|l| l.starts_with("| nova ")).unwrap();
    assert!(
        lines[nova - 1].chars().all(|c| c == '|' || c == ' '),
        "{}",
        r.stdout
    );
    let wide = r.stdout.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(wide > 60, "{wide}");
    // --max-width: every line fits
    let r = apiclient(Some(&cloud), &["catalog", "list", "--max-width", "60"]).await;
    assert!(
        r.stdout.lines().all(|l| l.chars().count() <= 60),
        "{}",
        r.stdout
    );
    let r = apiclient_env(
        &cloud,
        &[("CLIFF_MAX_TERM_WIDTH", "60")],
        &["catalog", "list"],
    )
    .await;
    assert!(
        r.stdout.lines().all(|l| l.chars().count() <= 60),
        "{}",
        r.stdout
    );
    // --fit-width without a terminal: nothing to fit to (cliff's semantics)
    let r2 = apiclient(Some(&cloud), &["catalog", "list", "--fit-width"]).await;
    let r1 = apiclient(Some(&cloud), &["catalog", "list"]).await;
    assert_eq!(r2.stdout, r1.stdout);
    // an empty CLIFF_MAX_TERM_WIDTH is no maximum; a negative one too
    for unset in ["", "0", "-1"] {
        let r = apiclient_env(
            &cloud,
            &[("CLIFF_MAX_TERM_WIDTH", unset)],
            &["catalog", "list"],
        )
        .await;
        assert_eq!(
            (r.code, &r.stdout),
            (0, &r1.stdout),
            "{unset:?}: {}",
            r.stderr
        );
    }
    // --print-empty: an empty list's header; without it, an empty line
    let r = apiclient(Some(&cloud), &["endpoint", "list", "--service", "nosuch"]).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "\n"));
    let r = apiclient(
        Some(&cloud),
        &["endpoint", "list", "--service", "nosuch", "--print-empty"],
    )
    .await;
    let rule = "+----+--------+--------------+--------------+---------+-----------+-----+";
    assert_eq!(
        r.stdout,
        format!(
            "{rule}\n| ID | Region | Service Name | Service Type | Enabled | Interface | URL |\n{rule}\n{rule}\n"
        )
    );
    let r = apiclient(Some(&cloud), &["catalog", "list", "-f", "shell"]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(
            "invalid choice: 'shell' (choose from 'csv', 'json', 'table', 'value', 'yaml')"
        )
    );
    let r = apiclient(Some(&cloud), &["catalog", "list", "--prefix", "x"]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (2, "unrecognized arguments: --prefix\n")
    );
}

async fn apiclient_env(cloud: &FakeCloud, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    run_in(home.path(), Some(cloud), env, args).await
}

/// On a terminal, a table fits its width (cliff: a terminal implies
/// --fit-width).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_tables_fit_its_width() {
    let cloud = FakeCloud::start().await.unwrap();
    let piped = apiclient(Some(&cloud), &["catalog", "list"]).await;
    let widest = piped
        .stdout
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest > 64, "wider than the terminal without one: {widest}");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/on_a_pty.py");
    let home = tempfile::tempdir().unwrap();
    for (extra, env) in [
        (None, None),
        (Some("--fit-width"), None),
        (None, Some(("CLIFF_FIT_WIDTH", "1"))),
    ] {
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .arg(env!("CARGO_BIN_EXE_apiclient"))
            .args(["catalog", "list"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("PTY_COLUMNS", "64")
            .envs(env)
            .env("OS_AUTH_URL", cloud.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo")
            .current_dir(home.path());
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
        assert_eq!(out.status.code(), Some(0), "{shown}");
        assert!(shown.contains("| keystone"), "{shown}");
        assert!(
            shown.lines().all(|l| l.chars().count() <= 64),
            "{extra:?}: {shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_list_and_show_from_the_catalog() {
    let cloud = FakeCloud::start().await.unwrap();
    let r = apiclient(Some(&cloud), &["endpoint", "list", "-f", "json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 9, "3 + 3 + 1 + 1 + 1 endpoints");
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ID",
            "Region",
            "Service Name",
            "Service Type",
            "Enabled",
            "Interface",
            "URL"
        ]
    );
    assert_eq!(rows[0]["Enabled"], true);
    let r = apiclient(
        Some(&cloud),
        &[
            "endpoint",
            "list",
            "--service",
            "volumev3",
            "--interface",
            "public",
            "--region",
            "RegionOne",
            "-f",
            "value",
            "-c",
            "url",
        ],
    )
    .await;
    assert_eq!(r.stdout, format!("{}/volume/v3/p-demo\n", cloud.url()));
    let r = apiclient(
        Some(&cloud),
        &[
            "endpoint",
            "list",
            "--service",
            "nova",
            "--interface",
            "internal",
            "-f",
            "value",
            "-c",
            "ID",
        ],
    )
    .await;
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    let id = r.stdout.trim().to_string();
    let r = apiclient(Some(&cloud), &["endpoint", "show", &id, "-f", "json"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["service_type"], "compute");
    assert_eq!(v["interface"], "internal");
    assert_eq!(v["url"], format!("{}/v2.1", cloud.url()));
    let r = apiclient(Some(&cloud), &["endpoint", "show", "nosuch"]).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "No endpoint with an ID of 'nosuch' exists in the catalog.\n"
        )
    );
    let r = apiclient(
        Some(&cloud),
        &["endpoint", "list", "--interface", "private"],
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_show_lists_every_service_and_a_broken_one_as_an_error_row() {
    let cloud = FakeCloud::start().await.unwrap();
    cloud.mount("placement", |_| {
        TestResponse::json(500, &serde_json::json!({"error": "down"}))
    });
    let r = apiclient(Some(&cloud), &["versions", "show", "-f", "json"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Region Name",
            "Service Type",
            "Interface",
            "Version",
            "Status",
            "Endpoint",
            "Min Microversion",
            "Max Microversion"
        ]
    );
    let of = |t: &str| -> Vec<&Value> { rows.iter().filter(|r| r["Service Type"] == t).collect() };
    let compute = of("compute");
    assert!(!compute.is_empty(), "{}", r.stdout);
    assert!(
        compute
            .iter()
            .all(|r| r["Interface"] == "public" && r["Region Name"] == "RegionOne")
    );
    let current = compute.iter().find(|r| r["Version"] == "v2.1").unwrap();
    assert_eq!(current["Status"], "CURRENT");
    assert!(
        current["Max Microversion"]
            .as_str()
            .unwrap()
            .starts_with("2."),
        "{current}"
    );
    assert!(
        !of("identity").is_empty() && !of("image").is_empty() && !of("block-storage").is_empty(),
        "{}",
        r.stdout
    );
    let placement = of("placement");
    assert_eq!(placement.len(), 1, "{}", r.stdout);
    assert_eq!(placement[0]["Status"], "ERROR");
    assert_eq!(placement[0]["Version"], Value::Null);
    assert!(
        r.stderr
            .contains("cannot discover the versions of placement"),
        "{}",
        r.stderr
    );

    // filters: --service (an alias too), --status, --all-interfaces, --region-name
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--service",
            "volumev3",
            "-f",
            "value",
            "-c",
            "service_type",
        ],
    )
    .await;
    assert!(
        !r.stdout.is_empty() && r.stdout.lines().all(|l| l == "block-storage"),
        "{}",
        r.stdout
    );
    // (FakeCloud's Glance serves no version document: image is an error row too)
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--status",
            "error",
            "-f",
            "value",
            "-c",
            "Service Type",
        ],
    )
    .await;
    let errors: Vec<&str> = r.stdout.lines().collect();
    assert!(
        errors.contains(&"placement") && !errors.contains(&"compute"),
        "{}",
        r.stdout
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--status",
            "current",
            "-f",
            "value",
            "-c",
            "Service Type",
            "-c",
            "Status",
        ],
    )
    .await;
    assert!(
        r.stdout.lines().all(|l| l.ends_with(" CURRENT")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("compute CURRENT\n") && r.stdout.contains("block-storage CURRENT\n"),
        "{}",
        r.stdout
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--service",
            "compute",
            "--all-interfaces",
            "-f",
            "value",
            "-c",
            "interface",
            "--sort-column",
            "interface",
        ],
    )
    .await;
    let interfaces: std::collections::BTreeSet<&str> = r.stdout.lines().collect();
    assert_eq!(
        interfaces.into_iter().collect::<Vec<_>>(),
        ["admin", "internal", "public"]
    );
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--interface",
            "internal",
            "-f",
            "value",
            "-c",
            "interface",
            "-c",
            "service_type",
        ],
    )
    .await;
    assert_eq!(
        r.stdout, "identity internal\ncompute internal\n",
        "only they have one"
    );
    let r = apiclient(
        Some(&cloud),
        &["versions", "show", "--region-name", "RegionTwo"],
    )
    .await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "\n"));
    let r = apiclient(
        Some(&cloud),
        &[
            "versions",
            "show",
            "--all-interfaces",
            "--interface",
            "public",
        ],
    )
    .await;
    assert_eq!(r.code, 2);
    // with a service type: the document as before, and no list options
    let r = apiclient(Some(&cloud), &["versions", "show", "compute"]).await;
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["version"]["id"], "v2.1");
    let r = apiclient(
        Some(&cloud),
        &["versions", "show", "compute", "--status", "CURRENT"],
    )
    .await;
    assert_eq!(r.code, 2);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_show_names_each_values_origin_and_masks_secrets() {
    let home = tempfile::tempdir().unwrap();
    write(
        &home.path().join(".config/openstack/clouds.yaml"),
        "clouds:\n  c:\n    profile: ovh\n    region_name: GRA\n    compute_api_version: '2.53'\n    auth:\n      username: alice\n      project_name: demo\n      user_domain_name: Default\n",
    );
    write(
        &home.path().join(".config/openstack/secure.yaml"),
        "clouds:\n  c:\n    auth:\n      password: s3cr3t-pw\n      username: bob\n",
    );
    let env = [("OS_CLOUD", "c"), ("OS_PROJECT_DOMAIN_NAME", "Default")];
    let args = [
        "--os-interface",
        "internal",
        "configuration",
        "show",
        "-f",
        "json",
    ];
    let r = run_in(home.path(), None, &env, &args).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("s3cr3t-pw") && !r.stderr.contains("s3cr3t-pw"),
        "{}",
        r.stdout
    );
    let rows: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    let field = |name: &str| -> (String, String) {
        let row = rows
            .iter()
            .find(|r| r["Field"] == name)
            .unwrap_or_else(|| panic!("no {name}: {rows:?}"));
        (
            row["Value"].as_str().unwrap().to_string(),
            row["Origin"].as_str().unwrap().to_string(),
        )
    };
    let clouds_yaml = home.path().join(".config/openstack/clouds.yaml");
    assert_eq!(
        field("cloud"),
        ("c".into(), "environment (OS_CLOUD)".into())
    );
    assert_eq!(
        field("auth.password"),
        ("<redacted>".into(), "secure.yaml".into())
    );
    assert_eq!(
        field("auth.username"),
        ("bob".into(), "secure.yaml".into()),
        "secure.yaml wins over clouds.yaml"
    );
    assert_eq!(
        field("auth.project_name"),
        (
            "demo".into(),
            format!("clouds.yaml ({})", clouds_yaml.display())
        )
    );
    assert_eq!(
        field("auth.project_domain_name"),
        (
            "Default".into(),
            "environment (OS_PROJECT_DOMAIN_NAME)".into()
        )
    );
    assert_eq!(
        field("interface"),
        ("internal".into(), "flag (--os-interface)".into())
    );
    assert_eq!(
        field("region_name").1,
        format!("clouds.yaml ({})", clouds_yaml.display())
    );
    // the vendor profile's auth URL, its region filled in
    assert_eq!(
        field("auth.auth_url"),
        ("https://auth.cloud.ovh.net/".into(), "profile (ovh)".into())
    );
    assert_eq!(
        field("identity_api_version"),
        ("3".into(), "profile (ovh)".into())
    );
    assert_eq!(field("compute_api_version").0, "2.53");
    assert_eq!(field("verify"), ("True".into(), "default".into()));
    // the fields sorted, as OSC
    let names: Vec<&str> = rows.iter().map(|r| r["Field"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    // --unmask shows it; -c picks fields (rows)
    let r = run_in(
        home.path(),
        None,
        &env,
        &[
            "configuration",
            "show",
            "--unmask",
            "-f",
            "value",
            "-c",
            "auth.password",
        ],
    )
    .await;
    assert_eq!(r.stdout, "auth.password s3cr3t-pw secure.yaml\n");
    let r = run_in(
        home.path(),
        None,
        &env,
        &[
            "configuration",
            "show",
            "--mask",
            "-f",
            "value",
            "-c",
            "auth.password",
        ],
    )
    .await;
    assert_eq!(r.stdout, "auth.password <redacted> secure.yaml\n");
    let r = run_in(
        home.path(),
        None,
        &env,
        &["configuration", "show", "--mask", "--unmask"],
    )
    .await;
    assert_eq!(r.code, 2);
    let r = run_in(
        home.path(),
        None,
        &env,
        &["configuration", "show", "-c", "Value"],
    )
    .await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with(
            "No recognized column names in ['Value']. Recognized columns are ['auth.auth_url', "
        ),
        "{}",
        r.stderr
    );

    // a flag and a variable for the password: their origin, masked still
    let r = run_in(
        home.path(),
        None,
        &[("OS_CLOUD", "c"), ("OS_PASSWORD", "env-pw-1")],
        &["configuration", "show", "-f", "csv"],
    )
    .await;
    assert!(
        r.stdout
            .contains("\"auth.password\",\"<redacted>\",\"environment (OS_PASSWORD)\"\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("env-pw-1"));
    let r = run_in(
        home.path(),
        None,
        &[("OS_CLOUD", "c"), ("OS_PASSWORD", "env-pw-1")],
        &[
            "--os-password",
            "flag-pw-2",
            "--insecure",
            "configuration",
            "show",
            "-f",
            "yaml",
        ],
    )
    .await;
    assert!(
        !r.stdout.contains("flag-pw-2") && !r.stdout.contains("env-pw-1"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "- Field: auth.password\n  Origin: flag (--os-password)\n  Value: <redacted>\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("- Field: verify\n  Origin: flag (--insecure)\n  Value: 'False'\n"),
        "{}",
        r.stdout
    );

    // no clouds.yaml: the environment and the defaults
    let empty = tempfile::tempdir().unwrap();
    let r = run_in(
        empty.path(),
        None,
        &[
            ("OS_AUTH_URL", "http://k:5000/v3"),
            ("OS_TOKEN", "tok-secret-3"),
        ],
        &["configuration", "show", "-f", "value"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("auth.auth_url http://k:5000/v3 environment (OS_AUTH_URL)\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("auth.token <redacted> environment (OS_TOKEN)\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("interface public default\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("tok-secret-3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_scripts_and_the_manual_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = apiclient(None, &["completion", shell]).await;
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.len() > 1000, "{shell}: {}", r.stdout);
        for word in ["apiclient", "token", "catalog", "os-cloud", "configuration"] {
            assert!(r.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let r = apiclient(None, &["completion", "tcsh"]).await;
    assert_eq!(r.code, 2);
    // bash: sourced, it registers a completion for apiclient
    let script = apiclient(None, &["completion", "bash"]).await.stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apiclient.bash");
    std::fs::write(&file, script).unwrap();
    let path = file.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(r#"source "$1" && complete -p apiclient"#)
            .arg("bash")
            .arg(path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        shown.starts_with("complete ") && shown.trim_end().ends_with(" apiclient"),
        "{shown}"
    );

    let r = apiclient(None, &["man"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq") || r.stdout.contains(".TH apiclient 1"),
        "{}",
        &r.stdout[..200]
    );
    assert!(r.stdout.contains(".TH apiclient 1"), "{}", r.stdout);
    for word in [
        "token",
        "versions",
        "configuration",
        "completion",
        "os\\-cloud",
    ] {
        assert!(r.stdout.contains(word), "the manual page lacks {word}");
    }
}

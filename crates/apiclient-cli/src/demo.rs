//! `apiclient demo`: every feature against a fake cloud on loopback.

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_errors::Error;
use apiclient_fake::{FakeCloud, Fault};
use apiclient_http::{ApiRequest, HttpClient};
use serde_json::Value;

use crate::cli::Cli;
use crate::commands;
use crate::context::{Ctx, build_client, timings_table};
use crate::error::CliError;

fn step(title: &str) {
    outln!("\n== {title}");
}

pub async fn run(cli: &Cli) -> Result<(), CliError> {
    let cloud = FakeCloud::builder()
        .servers(7)
        .start()
        .await
        .map_err(|e| Error::Config {
            message: "cannot start the fake cloud on 127.0.0.1".into(),
            source: Some(Box::new(e)),
        })?;
    outln!(
        "apiclient demo: a fake cloud (Keystone v3, compute, image, block storage, object storage) at {}",
        cloud.url()
    );
    outln!(
        "The curl-style --debug log of every request goes to stderr (tokens hashed, passwords hidden)."
    );
    // the typed plugin: a v3 password, scoped to project demo
    let plugin = V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    let http = build_client(cli, Some(HttpClient::builder(plugin)), None)?;
    http.timings().set_enabled(true);
    let ctx = Ctx {
        http: http.clone(),
        out: cli.output.clone(),
    };

    step("1. token issue (password plugin, project scope)");
    commands::token_issue(&ctx).await?;

    step("2. catalog list");
    commands::catalog_list(&ctx).await?;

    step("3. a paginated server list (limit=3, following servers_links)");
    let compute = http.service_client("compute");
    let mut marker: Option<String> = None;
    let mut page = 0;
    loop {
        page += 1;
        let mut req = ApiRequest::get("/servers").query("limit", "3");
        if let Some(m) = &marker {
            req = req.query("marker", m.clone());
        }
        let body: Value = compute.request(req).await?.json()?;
        let names: Vec<&str> = body["servers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str())
            .collect();
        outln!("page {page}: {}", names.join(", "));
        let next = body["servers_links"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["rel"] == "next"))
            .is_some();
        marker = body["servers"]
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s["id"].as_str())
            .map(str::to_string);
        if !next || marker.is_none() {
            break;
        }
    }

    step("4. a 401 recovered by one re-authentication");
    cloud.inject(Fault::Unauthorized, 1);
    let before = cloud.count("POST /v3/auth/tokens");
    let body: Value = compute.get("/servers").await?.json()?;
    let reauths = cloud.count("POST /v3/auth/tokens") - before;
    outln!(
        "the compute service answered 401; the client re-authenticated {reauths} time and replayed the request: {} servers",
        body["servers"].as_array().map(Vec::len).unwrap_or(0)
    );

    step("5. a 404 that ends in a clean error");
    match compute.get("/servers/does-not-exist").await {
        Err(e) => outln!("error: {e}"),
        Ok(_) => outln!("unexpected: the server found it"),
    }

    step("6. timings (--timing)");
    out!("{}", timings_table(&http));
    outln!("\ndone.");
    Ok(())
}

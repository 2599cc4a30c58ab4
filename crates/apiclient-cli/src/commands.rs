//! The commands.

use apiclient_auth::{AccessInfo, EndpointFilter, Interface, Scope};
use apiclient_errors::Error;
use apiclient_http::{ApiRequest, ApiResponse, ServiceClient};
use http::Method;
use serde_json::{Map, Value, json};
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::Ctx;
use crate::output::{self, Format};

const OSC_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");

/// `request` arguments.
#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD).
    pub method: String,
    /// Service type of the catalog (compute, image, identity, ...).
    pub service_type: String,
    /// Path relative to the service's endpoint, with any query.
    pub path: String,
    /// A JSON body, or @FILE to read it from a file.
    #[arg(long)]
    pub body: Option<String>,
    /// An extra header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// API microversion (sends OpenStack-API-Version).
    #[arg(long)]
    pub microversion: Option<String>,
    /// Print the status line and the response headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
}

/// The fields of `openstack token issue`.
pub fn token_fields(access: &AccessInfo) -> Map<String, Value> {
    let mut m = Map::new();
    match &access.scope {
        Scope::Domain { id, .. } => {
            m.insert("domain_id".into(), json!(id));
        }
        Scope::System => {
            m.insert("system".into(), json!("all"));
        }
        _ => {}
    }
    let expires = access
        .expires_at
        .and_then(|e| e.to_offset(time::UtcOffset::UTC).format(OSC_TIME).ok());
    m.insert("expires".into(), json!(expires));
    m.insert(
        "id".into(),
        json!(apiclient_auth::ExposeSecret::expose_secret(access.token())),
    );
    if let Some(p) = access.project_id() {
        m.insert("project_id".into(), json!(p));
    }
    m.insert("user_id".into(), json!(access.user_id));
    m.sort_keys();
    m
}

pub async fn token_issue(ctx: &Ctx) -> Result<(), Error> {
    let access = ctx.http.authenticate().await?;
    print!("{}", output::show(&token_fields(&access), ctx.format));
    Ok(())
}

pub async fn token_revoke(ctx: &Ctx, token: &str) -> Result<(), Error> {
    let identity = ctx.http.service_client("identity");
    identity
        .request(ApiRequest::new(Method::DELETE, "/auth/tokens").header("X-Subject-Token", token))
        .await?;
    Ok(())
}

fn endpoints_cell(endpoints: &[apiclient_auth::catalog::Endpoint]) -> String {
    endpoints
        .iter()
        .map(|e| {
            format!(
                "{}\n  {}: {}",
                e.region.as_deref().unwrap_or(""),
                e.interface,
                e.url
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn endpoints_json(endpoints: &[apiclient_auth::catalog::Endpoint]) -> Value {
    Value::Array(
        endpoints
            .iter()
            .map(|e| json!({"id": e.id, "interface": e.interface.as_str(), "region_id": e.region, "url": e.url, "region": e.region}))
            .collect(),
    )
}

pub async fn catalog_list(ctx: &Ctx) -> Result<(), Error> {
    let access = ctx.http.access().await?;
    let services = access.catalog.services();
    let rows: Vec<Vec<String>> = services
        .iter()
        .map(|s| {
            vec![
                s.name.clone().unwrap_or_default(),
                s.service_type.clone(),
                endpoints_cell(&s.endpoints),
            ]
        })
        .collect();
    let json_rows = services
        .iter()
        .map(|s| json!({"Name": s.name, "Type": s.service_type, "Endpoints": endpoints_json(&s.endpoints)}))
        .collect();
    print!(
        "{}",
        output::list(&["Name", "Type", "Endpoints"], &rows, json_rows, ctx.format)
    );
    Ok(())
}

pub async fn catalog_show(ctx: &Ctx, service: &str) -> Result<(), Error> {
    let access = ctx.http.access().await?;
    let found = access
        .catalog
        .services()
        .iter()
        .find(|s| s.service_type == service || s.name.as_deref() == Some(service))
        .ok_or_else(|| {
            Error::Command(format!(
                "No service with a type or name of '{service}' exists."
            ))
        })?;
    let mut m = Map::new();
    m.insert(
        "endpoints".into(),
        if ctx.format == Format::Json {
            endpoints_json(&found.endpoints)
        } else {
            json!(endpoints_cell(&found.endpoints))
        },
    );
    m.insert("id".into(), json!(found.id));
    m.insert("name".into(), json!(found.name));
    m.insert("type".into(), json!(found.service_type));
    print!("{}", output::show(&m, ctx.format));
    Ok(())
}

pub async fn endpoint_get(
    ctx: &Ctx,
    service_type: &str,
    interface: Option<&str>,
    region: Option<&str>,
) -> Result<(), Error> {
    let interface: Interface = match interface {
        Some(i) => i.parse()?,
        None => ctx.http.default_interface(),
    };
    let region = region
        .map(str::to_string)
        .or_else(|| ctx.http.default_region().map(str::to_string));
    let filter = EndpointFilter::new(service_type)
        .interface(interface)
        .region(region);
    let url = ServiceClient::new(&ctx.http, filter).endpoint().await?;
    println!("{url}");
    Ok(())
}

fn print_body(resp: &ApiResponse) {
    if resp.body().is_empty() {
        return;
    }
    match serde_json::from_slice::<Value>(resp.body()) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(_) => print!("{}", resp.text()),
    }
}

pub async fn versions_show(ctx: &Ctx, service_type: &str) -> Result<(), Error> {
    let resp = ctx.http.service_client(service_type).get("").await?;
    print_body(&resp);
    Ok(())
}

pub async fn request(ctx: &Ctx, args: &RequestArgs) -> Result<(), Error> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::Validation(format!("invalid HTTP method '{}'", args.method)))?;
    let mut req = ApiRequest::new(method, args.path.clone());
    for h in &args.headers {
        let (name, value) = h.split_once(':').ok_or_else(|| {
            Error::Validation(format!("invalid header '{h}': expected 'Name: value'"))
        })?;
        req = req.header(name.trim(), value.trim());
    }
    if let Some(v) = &args.microversion {
        req = req.header(
            "OpenStack-API-Version",
            &format!("{} {v}", args.service_type),
        );
        if args.service_type == "compute" {
            req = req.header("X-OpenStack-Nova-API-Version", v);
        }
    }
    if let Some(body) = &args.body {
        let text = match body.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| Error::Config {
                message: format!("cannot read the body file {path}"),
                source: Some(Box::new(e)),
            })?,
            None => body.clone().into_bytes(),
        };
        req = match serde_json::from_slice::<Value>(&text) {
            Ok(v) => req.json(&v),
            Err(_) => req.body(text),
        };
    }
    let resp = ctx
        .http
        .service_client(&args.service_type)
        .request(req)
        .await?;
    if args.include {
        println!("HTTP {}", resp.status());
        for (k, v) in resp.headers() {
            println!("{k}: {}", String::from_utf8_lossy(v.as_bytes()));
        }
        println!();
    }
    print_body(&resp);
    Ok(())
}

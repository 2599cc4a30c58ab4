//! The commands.

use apiclient_auth::{AccessInfo, EndpointFilter, ExposeSecret, Interface, TokenScope};
use apiclient_errors::Error;
use apiclient_http::layers::auth::concat_url;
use apiclient_http::transfer::Progress;
use apiclient_http::{ApiRequest, Body, ServiceClient};
use http::Method;
use serde_json::{Map, Value, json};
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::cli::RequestArgs;
use crate::context::{Ctx, token_cache};
use crate::error::CliError;
use crate::output::{Cell, Listing, OutputArgs, ShowOne, safe};

const OSC_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");

/// A progress bar on stderr when it is a terminal (and not switched off),
/// else nothing.
fn progress_bar(args: &RequestArgs, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    Some(bar)
}

/// Report a transfer's progress to `bar`.
fn show(bar: &Option<indicatif::ProgressBar>) -> impl Fn(Progress) + Send + Sync + 'static {
    let bar = bar.clone();
    move |p: Progress| {
        if let Some(bar) = &bar {
            if let Some(total) = p.total() {
                bar.set_length(total);
            }
            bar.set_position(p.done());
        }
    }
}

/// The fields of `openstack token issue`.
pub fn token_fields(access: &AccessInfo) -> Map<String, Value> {
    let mut m = Map::new();
    match &access.scope {
        TokenScope::Domain { id, .. } => {
            m.insert("domain_id".into(), json!(id));
        }
        TokenScope::System => {
            m.insert("system".into(), json!("all"));
        }
        _ => {}
    }
    m.insert("expires".into(), json!(expires(access)));
    m.insert("id".into(), json!(access.token().expose_secret()));
    if let Some(p) = access.project_id() {
        m.insert("project_id".into(), json!(p));
    }
    m.insert("user_id".into(), json!(access.user_id));
    m.sort_keys();
    m
}

/// `token issue`: the client's token, issued now or (with --token-cache) a
/// valid one from the cache.
pub async fn token_issue(ctx: &Ctx) -> Result<(), CliError> {
    let access = ctx.http.access().await?;
    // admin_token and none hold a fixed token (or none): nothing was issued.
    if access.user_id.is_none() && access.expires_at.is_none() {
        return Err(CliError::command(
            "Only an authorized user may issue a new token.",
        ));
    }
    let fields = token_fields(&access)
        .into_iter()
        .map(|(k, v)| (k, Cell::Plain(v)))
        .collect();
    out!("{}", ctx.out.show(&ShowOne { fields })?);
    Ok(())
}

pub async fn token_revoke(ctx: &Ctx, token: &str) -> Result<(), CliError> {
    let identity = ctx.http.service_client("identity");
    identity
        .request(ApiRequest::new(Method::DELETE, "/auth/tokens").header("X-Subject-Token", token))
        .await?;
    Ok(())
}

/// When a token expires, as `token issue` prints it.
fn expires(access: &AccessInfo) -> Option<String> {
    access
        .expires_at
        .and_then(|e| e.checked_to_offset(time::UtcOffset::UTC))
        .and_then(|e| e.format(OSC_TIME).ok())
}

/// What a token is scoped to, by name and id.
fn scope_cell(scope: &TokenScope) -> String {
    let named = |what: &str, name: &Option<String>, id: &str| match name {
        Some(name) => format!("{what} {name} ({id})"),
        None => format!("{what} {id}"),
    };
    match scope {
        TokenScope::Project { id, name, .. } => named("project", name, id),
        TokenScope::Domain { id, name } => named("domain", name, id),
        TokenScope::System => "system".into(),
        _ => "unscoped".into(),
    }
}

/// The auth URL a built-in plugin's cache key names (`...|auth_url=URL|...`).
fn auth_url_of(key: &str) -> &str {
    key.split('|')
        .find_map(|part| part.strip_prefix("auth_url="))
        .unwrap_or_default()
}

/// `auth status`: the token cache's entries, for which auth URL, user and
/// scope, expiring when. Never a token, nor anything derived from one.
pub fn auth_status(out: &OutputArgs) -> Result<(), CliError> {
    let store = token_cache()?;
    let entries = store
        .entries()
        .map_err(|e| CliError::command(format!("Cannot read the token cache: {e}")))?;
    let mut listing = Listing::new(&["Auth URL", "User", "Scope", "Expires", "Status"]);
    for e in &entries {
        let a = &e.access;
        let user = match (&a.user_name, &a.user_id) {
            (Some(name), Some(id)) => format!("{name} ({id})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => String::new(),
        };
        let status = if e.is_expired() { "expired" } else { "valid" };
        listing.rows.push(vec![
            Cell::text(auth_url_of(&e.key)),
            Cell::text(user),
            Cell::text(scope_cell(&a.scope)),
            Cell::text(expires(a).unwrap_or_default()),
            Cell::text(status),
        ]);
    }
    out!("{}", out.list(&listing)?);
    Ok(())
}

/// `auth revoke`: revoke the cached token of these credentials and scope
/// at Keystone (`DELETE /v3/auth/tokens`, the token revoking itself), then
/// forget it. Sent without the auth layer: a token Keystone no longer
/// knows is forgotten as it is, never replaced by a new authentication.
pub async fn auth_revoke(ctx: &Ctx) -> Result<(), CliError> {
    let state = ctx.http.token_state();
    let Some(cached) = state.stored().await else {
        return Err(CliError::command(
            "No token is cached for these credentials and scope.",
        ));
    };
    state.install(cached.clone())?;
    let endpoint = ctx.http.service_client("identity").endpoint().await?;
    let url = v3_tokens_url(&endpoint);
    let mut token = http::HeaderValue::from_str(cached.token().expose_secret())
        .map_err(|_| CliError::command("The cached token is not a valid header value."))?;
    token.set_sensitive(true);
    let req = http::Request::delete(&url)
        .header(http::header::ACCEPT, "application/json")
        .header("x-auth-token", token.clone())
        .header("x-subject-token", token)
        .body(Default::default())
        .map_err(|e| Error::Config {
            message: format!("invalid identity endpoint '{endpoint}'"),
            source: Some(Box::new(e)),
        })?;
    let resp = ctx.http.transport().send(req).await?;
    match resp.status().as_u16() {
        s if s < 300 => {}
        s @ (401 | 404) => tracing::warn!(
            "Keystone does not know the cached token (HTTP {s}): it has expired or was revoked; forgetting it"
        ),
        s => {
            let e = apiclient_errors::from_response(s, resp.headers(), resp.body(), "DELETE", &url);
            return Err(Error::from(e).into());
        }
    }
    state.forget_stored(&cached).await;
    Ok(())
}

/// Keystone's `/v3/auth/tokens` under an identity endpoint of the catalog,
/// versioned (`.../v3`) or not (`.../identity`, `...:5000/`, `.../v2.0`).
fn v3_tokens_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    let (parent, last) = base.rsplit_once('/').unwrap_or((base, ""));
    if last.starts_with("v3") {
        concat_url(base, "auth/tokens")
    } else if last == "v2.0" {
        concat_url(parent, "v3/auth/tokens")
    } else {
        concat_url(base, "v3/auth/tokens")
    }
}

/// `cache clear`: remove the token cache's entries (only its own files).
pub fn cache_clear() -> Result<(), CliError> {
    token_cache()?
        .clear()
        .map_err(|e| CliError::command(format!("Cannot clear the token cache: {e}")))?;
    Ok(())
}

/// python-openstackclient's endpoints column: for a table, each
/// endpoint's region (`<none>` without one) then `  interface: url`, and
/// an empty line after them; for the other formats, the endpoints as
/// Keystone lists them.
fn endpoints_cell(endpoints: &[apiclient_auth::catalog::Endpoint]) -> Cell {
    let mut human = Vec::new();
    for e in endpoints {
        human.push(e.region.clone().unwrap_or_else(|| "<none>".into()));
        human.push(format!("  {}: {}", e.interface, e.url));
    }
    if !human.is_empty() {
        human.push(String::new());
    }
    let machine = Value::Array(
        endpoints
            .iter()
            .map(|e| json!({"id": e.id, "interface": e.interface.as_str(), "region_id": e.region, "url": e.url, "region": e.region}))
            .collect(),
    );
    Cell::Formatted { human, machine }
}

pub async fn catalog_list(ctx: &Ctx) -> Result<(), CliError> {
    let access = ctx.http.access().await?;
    let mut listing = Listing::new(&["Name", "Type", "Endpoints"]);
    for s in access.catalog.services() {
        listing.rows.push(vec![
            Cell::text(s.name.clone().unwrap_or_default()),
            Cell::text(s.service_type.clone()),
            endpoints_cell(&s.endpoints),
        ]);
    }
    out!("{}", ctx.out.list(&listing)?);
    Ok(())
}

/// Whether catalog service `s` is the one asked for by type (an alias
/// too: `volumev3` is `block-storage`) or by name.
fn service_matches(s: &apiclient_auth::catalog::Service, wanted: &str) -> bool {
    s.name.as_deref() == Some(wanted)
        || apiclient_auth::catalog::service_type_candidates(wanted)
            .contains(&s.service_type.as_str())
        || apiclient_auth::catalog::service_type_candidates(&s.service_type).contains(&wanted)
}

/// `endpoint list`: the token's catalog as `openstack endpoint list`
/// shows Keystone's endpoints (a catalog holds enabled ones only).
pub async fn endpoint_list(
    ctx: &Ctx,
    service: Option<&str>,
    interface: Option<&str>,
    region: Option<&str>,
) -> Result<(), CliError> {
    let interface: Option<Interface> = interface.map(str::parse).transpose()?;
    let access = ctx.http.access().await?;
    let mut listing = Listing::new(&[
        "ID",
        "Region",
        "Service Name",
        "Service Type",
        "Enabled",
        "Interface",
        "URL",
    ]);
    for s in access.catalog.services() {
        if service.is_some_and(|w| !service_matches(s, w)) {
            continue;
        }
        for e in &s.endpoints {
            if interface.is_some_and(|i| i != e.interface)
                || region.is_some_and(|r| e.region.as_deref() != Some(r))
            {
                continue;
            }
            listing.rows.push(vec![
                Cell::opt(e.id.clone()),
                Cell::opt(e.region.clone()),
                Cell::text(s.name.clone().unwrap_or_default()),
                Cell::text(s.service_type.clone()),
                Cell::Plain(Value::Bool(true)),
                Cell::text(e.interface.as_str()),
                Cell::text(e.url.clone()),
            ]);
        }
    }
    out!("{}", ctx.out.list(&listing)?);
    Ok(())
}

/// `endpoint show ID`: one endpoint of the catalog, with
/// `openstack endpoint show`'s fields.
pub async fn endpoint_show(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let access = ctx.http.access().await?;
    let found = access.catalog.services().iter().find_map(|s| {
        s.endpoints
            .iter()
            .find(|e| e.id.as_deref() == Some(id))
            .map(|e| (s, e))
    });
    let Some((s, e)) = found else {
        return Err(CliError::command(format!(
            "No endpoint with an ID of '{id}' exists in the catalog."
        )));
    };
    let one = ShowOne::default()
        .field("enabled", Cell::Plain(Value::Bool(true)))
        .field("id", Cell::opt(e.id.clone()))
        .field("interface", Cell::text(e.interface.as_str()))
        .field("region", Cell::opt(e.region.clone()))
        .field("region_id", Cell::opt(e.region.clone()))
        .field("service_id", Cell::opt(s.id.clone()))
        .field(
            "service_name",
            Cell::text(s.name.clone().unwrap_or_default()),
        )
        .field("service_type", Cell::text(s.service_type.clone()))
        .field("url", Cell::text(e.url.clone()));
    out!("{}", ctx.out.show(&one)?);
    Ok(())
}

pub async fn catalog_show(ctx: &Ctx, service: &str) -> Result<(), CliError> {
    let access = ctx.http.access().await?;
    let found = access
        .catalog
        .services()
        .iter()
        .find(|s| s.service_type == service || s.name.as_deref() == Some(service))
        .ok_or_else(|| {
            CliError::command(format!(
                "No service with a type or name of '{service}' exists."
            ))
        })?;
    let one = ShowOne::default()
        .field("endpoints", endpoints_cell(&found.endpoints))
        .field("id", Cell::opt(found.id.clone()))
        .field("name", Cell::opt(found.name.clone()))
        .field("type", Cell::text(found.service_type.clone()));
    out!("{}", ctx.out.show(&one)?);
    Ok(())
}

pub async fn endpoint_get(
    ctx: &Ctx,
    service_type: &str,
    interface: Option<&str>,
    region: Option<&str>,
) -> Result<(), CliError> {
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
    outln!("{}", safe(&url));
    Ok(())
}

/// A response body for the terminal: JSON pretty-printed (serde escapes
/// control characters in strings); other text with every control character
/// but newline and tab escaped (no terminal escape sequences, no CR).
fn print_body(body: &[u8]) {
    if body.is_empty() {
        return;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let shown: Vec<String> = text
                .split('\n')
                .map(|line| {
                    line.split('\t')
                        .map(|part| apiclient_errors::redact::escape_controls(part).into_owned())
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect();
            out!("{}", shown.join("\n"));
        }
    }
}

/// The status line and headers of `-i`, each value made safe.
fn print_head(status: u16, headers: &http::HeaderMap) {
    match http::StatusCode::from_u16(status) {
        Ok(code) => outln!("HTTP {code}"),
        Err(_) => outln!("HTTP {status}"),
    }
    for (k, v) in headers {
        outln!("{k}: {}", safe(&String::from_utf8_lossy(v.as_bytes())));
    }
    outln!();
}

pub async fn versions_show(ctx: &Ctx, service_type: &str) -> Result<(), CliError> {
    let resp = ctx.http.service_client(service_type).get("").await?;
    print_body(resp.body());
    Ok(())
}

/// `versions show`'s filters (without a service type).
#[derive(Debug, Default)]
pub struct VersionsFilter<'a> {
    /// Every interface, not only `interface`.
    pub all_interfaces: bool,
    /// The interface (default public).
    pub interface: Option<&'a str>,
    /// Only this region.
    pub region: Option<&'a str>,
    /// Only this service (type, alias or name).
    pub service: Option<&'a str>,
    /// Only versions in this status (any case).
    pub status: Option<&'a str>,
}

/// `versions show` without a service type (as `openstack versions show`):
/// every catalog endpoint's versions, discovered concurrently (the
/// library's per-endpoint discovery, cached), one row per version; an
/// endpoint that cannot be discovered is a row of status ERROR, its error
/// a warning on stderr.
pub async fn versions_list(ctx: &Ctx, f: &VersionsFilter<'_>) -> Result<(), CliError> {
    let interface: Option<Interface> = if f.all_interfaces {
        None
    } else {
        Some(match f.interface {
            Some(i) => i.parse()?,
            None => Interface::Public,
        })
    };
    let status = f.status.map(str::to_uppercase);
    let access = ctx.http.access().await?;
    let mut found = Vec::new();
    for s in access.catalog.services() {
        if f.service.is_some_and(|w| !service_matches(s, w)) {
            continue;
        }
        for e in &s.endpoints {
            if interface.is_some_and(|i| i != e.interface)
                || f.region.is_some_and(|r| e.region.as_deref() != Some(r))
            {
                continue;
            }
            found.push((s.service_type.clone(), e.clone()));
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (service_type, e)) in found.iter().enumerate() {
        let client = ServiceClient::new(
            &ctx.http,
            EndpointFilter::new(service_type.clone())
                .interface(e.interface)
                .region(e.region.clone()),
        )
        .with_endpoint_override(e.url.clone());
        tasks.spawn(async move { (i, client.versions().await) });
    }
    let mut results: Vec<Option<Result<Vec<apiclient_http::microversion::ApiVersion>, Error>>> =
        (0..found.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, r)) => {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            Err(e) => tracing::warn!("a version discovery did not finish: {e}"),
        }
    }
    let mut listing = Listing::new(&[
        "Region Name",
        "Service Type",
        "Interface",
        "Version",
        "Status",
        "Endpoint",
        "Min Microversion",
        "Max Microversion",
    ]);
    let mut warned = std::collections::BTreeSet::new();
    for ((service_type, e), result) in found.iter().zip(results) {
        let row = |version: Option<String>,
                   st: Option<String>,
                   min: Option<String>,
                   max: Option<String>| {
            vec![
                Cell::opt(e.region.clone()),
                Cell::text(service_type.clone()),
                Cell::text(e.interface.as_str()),
                Cell::opt(version),
                Cell::opt(st),
                Cell::text(e.url.clone()),
                Cell::opt(min),
                Cell::opt(max),
            ]
        };
        match result {
            Some(Ok(versions)) => {
                for v in versions {
                    if status
                        .as_deref()
                        .is_some_and(|s| v.status.as_deref() != Some(s))
                    {
                        continue;
                    }
                    listing.rows.push(row(
                        Some(v.id),
                        v.status,
                        v.min_microversion.map(|m| m.to_string()),
                        v.max_microversion.map(|m| m.to_string()),
                    ));
                }
            }
            failed => {
                let why = match failed {
                    Some(Err(e)) => e.to_string(),
                    _ => "the discovery did not finish".to_string(),
                };
                // once per endpoint URL (several interfaces often share one)
                if warned.insert(e.url.clone()) {
                    tracing::warn!(
                        "cannot discover the versions of {} at {}: {}",
                        safe(service_type),
                        safe(&e.url),
                        safe(&why)
                    );
                }
                if status.as_deref().is_none_or(|s| s == "ERROR") {
                    listing
                        .rows
                        .push(row(None, Some("ERROR".into()), None, None));
                }
            }
        }
    }
    out!("{}", ctx.out.list(&listing)?);
    Ok(())
}

/// The largest `--body @FILE` sent: the response size limit.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// The request body from `--body` (JSON text or `@FILE`): JSON unless
/// `--content-type` says otherwise; anything else is a usage error before
/// anything is sent.
fn request_body(body: &str, content_type: Option<&str>) -> Result<Vec<u8>, CliError> {
    let data = match body.strip_prefix('@') {
        Some(path) => {
            let size = std::fs::metadata(path)
                .map_err(|e| Error::Config {
                    message: format!("cannot read the body file {path}"),
                    source: Some(Box::new(e)),
                })?
                .len();
            if size > MAX_BODY_BYTES {
                return Err(CliError::usage(format!(
                    "the body file {path} has {size} bytes, more than the limit of {MAX_BODY_BYTES}"
                )));
            }
            std::fs::read(path).map_err(|e| Error::Config {
                message: format!("cannot read the body file {path}"),
                source: Some(Box::new(e)),
            })?
        }
        None => body.as_bytes().to_vec(),
    };
    if content_type.is_some() {
        return Ok(data);
    }
    match serde_json::from_slice::<Value>(&data) {
        Ok(_) => Ok(data),
        Err(e) => Err(CliError::usage(format!(
            "--body is not valid JSON ({e}); give --content-type to send other data"
        ))),
    }
}

pub async fn request(ctx: &Ctx, args: &RequestArgs) -> Result<(), CliError> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::usage(format!("invalid HTTP method '{}'", args.method)))?;
    let mut req = ApiRequest::new(method, args.path.clone());
    for h in &args.headers {
        let (name, value) = h.split_once(':').ok_or_else(|| {
            CliError::usage(format!("invalid header '{h}': expected 'Name: value'"))
        })?;
        req = req.header(name.trim(), value.trim());
    }
    if let Some(v) = &args.microversion {
        // the library's header names for the service type; they replace an
        // OpenStack-API-Version given with -H: one header, one version
        req = req.microversion(v.parse()?);
    }
    if let Some(body) = &args.body {
        let content_type = args.content_type.as_deref();
        req = req
            .body(request_body(body, content_type)?)
            .set_header("Content-Type", content_type.unwrap_or("application/json"));
    }
    let upload_bar = match &args.upload_file {
        Some(path) => {
            let body = Body::from_file(path).await.map_err(|source| Error::Io {
                operation: "read",
                path: Some(path.clone()),
                source,
            })?;
            let bar = progress_bar(args, "upload");
            req = req.body(body.with_progress(show(&bar))).set_header(
                "Content-Type",
                args.content_type
                    .as_deref()
                    .unwrap_or("application/octet-stream"),
            );
            bar
        }
        None => None,
    };
    let service = ctx.http.service_client(&args.service_type);
    if let Some(path) = &args.output {
        let result = service.request_streamed(req).await;
        if let Some(bar) = upload_bar {
            bar.finish_and_clear();
        }
        let resp = match result {
            Ok(resp) => resp,
            Err(e) => return Err(print_error_head(args, e)),
        };
        if args.include {
            print_head(resp.status().as_u16(), resp.headers());
        }
        let bar = progress_bar(args, "download");
        let copied = resp
            .verify_announced_md5()
            .on_progress(show(&bar))
            .copy_to_file(path)
            .await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        copied?;
        return Ok(());
    }
    let result = service.request(req).await;
    if let Some(bar) = upload_bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(resp) => {
            if args.include {
                print_head(resp.status().as_u16(), resp.headers());
            }
            print_body(resp.body());
            Ok(())
        }
        Err(e) => Err(print_error_head(args, e)),
    }
}

/// With -i, an HTTP error's status line and headers are printed too.
fn print_error_head(args: &RequestArgs, e: Error) -> CliError {
    if let (true, Error::Http(h)) = (args.include, &e) {
        print_head(h.status(), h.headers());
    }
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v3_tokens_url_of_any_identity_endpoint() {
        for (endpoint, url) in [
            ("http://k:5000/v3/", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000/v3", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000/", "http://k:5000/v3/auth/tokens"),
            ("http://k:5000", "http://k:5000/v3/auth/tokens"),
            (
                "https://cloud/identity",
                "https://cloud/identity/v3/auth/tokens",
            ),
            (
                "https://cloud/identity/v3.14",
                "https://cloud/identity/v3.14/auth/tokens",
            ),
            ("http://k:5000/v2.0", "http://k:5000/v3/auth/tokens"),
        ] {
            assert_eq!(v3_tokens_url(endpoint), url, "{endpoint}");
        }
    }

    #[test]
    fn status_cells() {
        assert_eq!(
            auth_url_of("v3password|auth_url=http://k/v3|username=u|project_id=p"),
            "http://k/v3"
        );
        assert_eq!(auth_url_of("vault|role=r"), "");
        let project = TokenScope::Project {
            id: "p-1".into(),
            name: Some("demo".into()),
            domain_id: None,
            domain_name: None,
        };
        assert_eq!(scope_cell(&project), "project demo (p-1)");
        let domain = TokenScope::Domain {
            id: "d-1".into(),
            name: None,
        };
        assert_eq!(scope_cell(&domain), "domain d-1");
        assert_eq!(scope_cell(&TokenScope::System), "system");
        assert_eq!(scope_cell(&TokenScope::Unscoped), "unscoped");
    }
}

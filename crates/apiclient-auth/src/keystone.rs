//! The built-in Keystone plugins: v3 password, token and application
//! credential, the generic `password`/`token` (v3 or v2.0 from the auth URL),
//! legacy v2.0 password, `admin_token` and `none`.

use std::fmt;

use apiclient_errors::{AuthorizationFailure, Error, from_response};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use crate::access::AccessInfo;
use crate::options::{AuthOptions, COMMON_OPTIONS, OptionSpec, PLUGIN_OPTIONS};
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};

/// Which identity API a plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// From the auth URL (`/v3`, `/v2.0`, or version discovery).
    Auto,
    V3,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password(Version),
    Token(Version),
    ApplicationCredential,
    Totp,
    AdminToken,
    NoAuth,
}

/// A built-in plugin. Create one through the registry
/// ([`crate::registry::PluginRegistry::load_plugin`]) or [`KeystonePlugin::new`].
#[derive(Clone)]
pub struct KeystonePlugin {
    name: String,
    kind: Kind,
    opts: AuthOptions,
}

impl fmt::Debug for KeystonePlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystonePlugin")
            .field("auth_system", &self.name)
            .field("opts", &self.opts)
            .finish()
    }
}

macro_rules! builtins {
    ($($name:literal => $kind:expr),* $(,)?) => {
        /// The names of the built-in plugins (keystoneauth's names), sorted.
        pub const BUILTIN_PLUGINS: &[&str] = &[$($name),*];

        fn kind_of(name: &str) -> Option<Kind> {
            match name {
                $($name => Some($kind),)*
                _ => None,
            }
        }

        /// A factory for each built-in plugin.
        pub(crate) fn builtin_factories() -> Vec<(&'static str, crate::registry::PluginFactory)> {
            vec![$(
                ($name, (|| Box::new(KeystonePlugin::from_kind($name, $kind)) as Box<dyn AuthPlugin>)
                    as crate::registry::PluginFactory),
            )*]
        }
    };
}

builtins! {
    "admin_token" => Kind::AdminToken,
    "none" => Kind::NoAuth,
    "password" => Kind::Password(Version::Auto),
    "token" => Kind::Token(Version::Auto),
    "token_endpoint" => Kind::AdminToken,
    "v2password" => Kind::Password(Version::V2),
    "v2token" => Kind::Token(Version::V2),
    "v3applicationcredential" => Kind::ApplicationCredential,
    "v3password" => Kind::Password(Version::V3),
    "v3token" => Kind::Token(Version::V3),
    "v3totp" => Kind::Totp,
}

const SCOPE: &[&str] = &[
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "default_domain",
];

impl KeystonePlugin {
    /// The built-in plugin `name`, with no options; `None` for an unknown name.
    pub fn new(name: &str) -> Option<Self> {
        kind_of(name).map(|kind| Self::from_kind(name, kind))
    }

    fn from_kind(name: &str, kind: Kind) -> Self {
        KeystonePlugin {
            name: name.to_string(),
            kind,
            opts: AuthOptions::new(),
        }
    }

    /// `admin_token`: a fixed token for a fixed endpoint (no Keystone call).
    pub fn admin_token(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        Self::from_kind("admin_token", Kind::AdminToken)
            .with("endpoint", endpoint)
            .with("token", token)
    }

    /// `none`: no token, a fixed endpoint.
    pub fn no_auth(endpoint: impl Into<String>) -> Self {
        Self::from_kind("none", Kind::NoAuth).with("endpoint", endpoint)
    }

    /// `v3password` with a user name in a domain (by name).
    pub fn v3_password(
        auth_url: impl Into<String>,
        username: &str,
        user_domain_name: &str,
        password: &str,
    ) -> Self {
        Self::from_kind("v3password", Kind::Password(Version::V3))
            .with("auth_url", auth_url)
            .with("username", username)
            .with("user_domain_name", user_domain_name)
            .with("password", password)
    }

    /// Builder: set an option.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.opts.set(name, value);
        self
    }

    fn names(&self) -> Vec<&'static str> {
        let mut n: Vec<&'static str> = match self.kind {
            Kind::Password(Version::V2) => vec![
                "auth_url",
                "username",
                "password",
                "project_name",
                "project_id",
            ],
            Kind::Password(_) => {
                let mut v = vec![
                    "auth_url",
                    "username",
                    "user_id",
                    "user_domain_id",
                    "user_domain_name",
                    "password",
                ];
                v.extend_from_slice(SCOPE);
                v
            }
            Kind::Token(_) => {
                let mut v = vec!["auth_url", "token"];
                v.extend_from_slice(SCOPE);
                v
            }
            Kind::Totp => {
                let mut v = vec![
                    "auth_url",
                    "username",
                    "user_id",
                    "user_domain_id",
                    "user_domain_name",
                    "passcode",
                ];
                v.extend_from_slice(SCOPE);
                v
            }
            Kind::ApplicationCredential => vec![
                "auth_url",
                "application_credential_id",
                "application_credential_name",
                "application_credential_secret",
                "username",
                "user_id",
                "user_domain_id",
                "user_domain_name",
                "default_domain",
            ],
            Kind::AdminToken => vec!["endpoint", "token"],
            Kind::NoAuth => vec!["endpoint"],
        };
        n.dedup();
        n
    }

    fn missing(&self) -> Vec<&'static str> {
        let o = &self.opts;
        let mut missing = Vec::new();
        let mut need = |name: &'static str, ok: bool| {
            if !ok {
                missing.push(name);
            }
        };
        match self.kind {
            Kind::Password(_) => {
                need("auth_url", o.has("auth_url"));
                need("username", o.has("username") || o.has("user_id"));
                need("password", o.has("password"));
            }
            Kind::Token(_) => {
                need("auth_url", o.has("auth_url"));
                need("token", o.has("token"));
            }
            Kind::Totp => {
                need("auth_url", o.has("auth_url"));
                need("username", o.has("username") || o.has("user_id"));
                need("passcode", o.has("passcode"));
            }
            Kind::ApplicationCredential => {
                need("auth_url", o.has("auth_url"));
                let by_id = o.has("application_credential_id");
                need(
                    "application_credential_id",
                    by_id || o.has("application_credential_name"),
                );
                if !by_id && o.has("application_credential_name") {
                    need("username", o.has("username") || o.has("user_id"));
                }
                need(
                    "application_credential_secret",
                    o.has("application_credential_secret"),
                );
            }
            Kind::AdminToken => {
                need("endpoint", o.has("endpoint"));
                need("token", o.has("token"));
            }
            Kind::NoAuth => need("endpoint", o.has("endpoint")),
        }
        missing
    }

    /// The JSON body this plugin POSTs to `/v3/auth/tokens` (or `/v2.0/tokens`).
    ///
    /// Public so that tests (and curious users) can compare it with Keystone's
    /// documented bodies; it contains the secret, so never log it.
    pub fn request_body(&self, version_v2: bool) -> Result<Value, Error> {
        let o = &self.opts;
        let get = |n: &str| o.expose(n).map(str::to_string);
        if version_v2 {
            let domain_opts = [
                "user_domain_name",
                "user_domain_id",
                "project_domain_name",
                "project_domain_id",
                "domain_name",
                "domain_id",
            ];
            let given: Vec<&str> = domain_opts.into_iter().filter(|n| o.has(n)).collect();
            if !given.is_empty() {
                return Err(Error::config(format!(
                    "the identity v2.0 API has no domains, but {} {} given; use a /v3 auth_url",
                    given.join(", "),
                    if given.len() == 1 { "is" } else { "are" }
                )));
            }
            let mut auth = Map::new();
            match self.kind {
                Kind::Token(_) => {
                    auth.insert("token".into(), json!({"id": get("token")}));
                }
                _ => {
                    auth.insert(
                        "passwordCredentials".into(),
                        json!({"username": get("username"), "password": get("password")}),
                    );
                }
            }
            if let Some(id) = get("project_id") {
                auth.insert("tenantId".into(), id.into());
            } else if let Some(name) = get("project_name") {
                auth.insert("tenantName".into(), name.into());
            }
            return Ok(json!({"auth": auth}));
        }
        let default_domain = get("default_domain").unwrap_or_else(|| "default".into());
        let domain = |id: &str, name: &str| -> Value {
            match (get(id), get(name)) {
                (Some(id), _) => json!({"id": id}),
                (None, Some(name)) => json!({"name": name}),
                (None, None) => json!({"id": default_domain}),
            }
        };
        let user = || -> Value {
            let mut u = Map::new();
            if let Some(id) = get("user_id") {
                u.insert("id".into(), id.into());
            } else {
                u.insert("name".into(), get("username").into());
                u.insert(
                    "domain".into(),
                    domain("user_domain_id", "user_domain_name"),
                );
            }
            Value::Object(u)
        };
        let (method, identity) = match self.kind {
            Kind::Password(_) => {
                let mut u = user();
                if let Value::Object(m) = &mut u {
                    m.insert("password".into(), get("password").into());
                }
                ("password", json!({"user": u}))
            }
            Kind::Token(_) => ("token", json!({"id": get("token")})),
            Kind::Totp => {
                let mut u = user();
                if let Value::Object(m) = &mut u {
                    m.insert("passcode".into(), get("passcode").into());
                }
                ("totp", json!({"user": u}))
            }
            Kind::ApplicationCredential => {
                let mut ac = Map::new();
                if let Some(id) = get("application_credential_id") {
                    ac.insert("id".into(), id.into());
                } else {
                    ac.insert("name".into(), get("application_credential_name").into());
                    ac.insert("user".into(), user());
                }
                ac.insert("secret".into(), get("application_credential_secret").into());
                ("application_credential", Value::Object(ac))
            }
            Kind::AdminToken | Kind::NoAuth => {
                return Err(Error::Validation(format!(
                    "{} does not talk to Keystone",
                    self.name
                )));
            }
        };
        let mut auth = Map::new();
        auth.insert(
            "identity".into(),
            json!({"methods": [method], method: identity}),
        );
        if self.kind != Kind::ApplicationCredential
            && let Some(scope) = self.scope(&domain)?
        {
            auth.insert("scope".into(), scope);
        }
        Ok(json!({"auth": auth}))
    }

    fn scope(&self, domain: &dyn Fn(&str, &str) -> Value) -> Result<Option<Value>, Error> {
        let o = &self.opts;
        let project = o.has("project_id") || o.has("project_name");
        let dom = o.has("domain_id") || o.has("domain_name");
        let system = o.has("system_scope");
        let trust = o.has("trust_id");
        if [project, dom, system, trust].iter().filter(|b| **b).count() > 1 {
            return Err(Error::Validation(
                "only one of project, domain, system and trust scope may be given".into(),
            ));
        }
        Ok(if let Some(id) = o.get("trust_id") {
            Some(json!({"OS-TRUST:trust": {"id": id}}))
        } else if let Some(id) = o.get("project_id") {
            Some(json!({"project": {"id": id}}))
        } else if let Some(name) = o.get("project_name") {
            Some(
                json!({"project": {"name": name, "domain": domain("project_domain_id", "project_domain_name")}}),
            )
        } else if let Some(id) = o.get("domain_id") {
            Some(json!({"domain": {"id": id}}))
        } else if let Some(name) = o.get("domain_name") {
            Some(json!({"domain": {"name": name}}))
        } else {
            o.get("system_scope")
                .map(|system| json!({"system": {system: true}}))
        })
    }
}

impl AuthPlugin for KeystonePlugin {
    fn auth_system(&self) -> &str {
        &self.name
    }

    fn option_specs(&self) -> Vec<OptionSpec> {
        self.names()
            .into_iter()
            .filter_map(|n| {
                COMMON_OPTIONS
                    .iter()
                    .chain(PLUGIN_OPTIONS)
                    .find(|s| s.name == n)
                    .cloned()
            })
            .collect()
    }

    fn opts(&self) -> &AuthOptions {
        &self.opts
    }

    fn opts_mut(&mut self) -> &mut AuthOptions {
        &mut self.opts
    }

    fn sufficient_options(&self) -> Result<(), AuthorizationFailure> {
        let missing = self.missing();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AuthorizationFailure::options_missing(missing))
        }
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        let plugin = self.clone();
        Box::pin(async move {
            plugin.sufficient_options()?;
            let o = &plugin.opts;
            match plugin.kind {
                Kind::AdminToken => {
                    let token = o
                        .get_secret("token")
                        .cloned()
                        .unwrap_or_else(|| SecretString::from(""));
                    return Ok(AccessInfo::fixed(
                        token,
                        o.get("endpoint").map(str::to_string),
                    ));
                }
                Kind::NoAuth => {
                    return Ok(AccessInfo::fixed(
                        SecretString::from(""),
                        o.get("endpoint").map(str::to_string),
                    ));
                }
                _ => {}
            }
            let auth_url = o.get("auth_url").unwrap_or_default().to_string();
            let wanted = match plugin.kind {
                Kind::Password(v) | Kind::Token(v) => v,
                _ => Version::V3,
            };
            let (v2, base) = resolve_version(&transport, &auth_url, wanted).await?;
            let body = plugin.request_body(v2)?;
            let url = if v2 {
                format!("{base}/tokens")
            } else {
                format!("{base}/auth/tokens")
            };
            if !is_private_transport(&url) {
                tracing::warn!(
                    target: "apiclient_auth",
                    "sending credentials over plain http:// to {}: anyone on the network can read them; use https",
                    apiclient_errors::redact::redact_url(&url)
                );
            }
            let resp = post_json(&transport, &url, &body).await?;
            if v2 {
                AccessInfo::from_v2(resp.body())
            } else {
                let token = resp
                    .headers()
                    .get("x-subject-token")
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| Error::InvalidResponse {
                        message: "token response has no X-Subject-Token header".into(),
                        url: url.clone(),
                        source: None,
                    })?;
                AccessInfo::from_v3(SecretString::from(token.to_string()), resp.body())
            }
        })
    }
}

/// Whether a URL keeps credentials off the network: `https`, or `http` to a
/// loopback host.
fn is_private_transport(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return true;
    };
    if uri.scheme_str() != Some("http") {
        return true;
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The versioned base URL discovered at `href`, made safe to use from
/// `auth_url`: never a downgrade from `https` to `http` (the discovered path
/// is then taken on the auth URL's origin), and a warning when the server
/// points at another host.
fn discovered_base(auth_url: &str, href: &str) -> String {
    let (Ok(from), Ok(to)) = (auth_url.parse::<http::Uri>(), href.parse::<http::Uri>()) else {
        return href.to_string();
    };
    if from.scheme_str() == Some("https") && to.scheme_str() == Some("http") {
        let origin = format!(
            "https://{}",
            from.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        let path = to.path().trim_end_matches('/');
        tracing::warn!(
            target: "apiclient_auth",
            "version discovery at {} answered with an http:// URL; keeping https: {origin}{path}",
            apiclient_errors::redact::redact_url(auth_url)
        );
        return format!("{origin}{path}");
    }
    if from.host().map(str::to_ascii_lowercase) != to.host().map(str::to_ascii_lowercase) {
        tracing::warn!(
            target: "apiclient_auth",
            "version discovery at {} points to another host: {}",
            apiclient_errors::redact::redact_url(auth_url),
            apiclient_errors::redact::redact_url(href)
        );
    }
    href.to_string()
}

fn json_request(
    method: http::Method,
    url: &str,
    body: Bytes,
) -> Result<http::Request<Bytes>, Error> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::ACCEPT, "application/json");
    if !body.is_empty() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    req.body(body).map_err(|e| Error::Config {
        message: format!("invalid auth URL '{url}'"),
        source: Some(Box::new(e)),
    })
}

async fn post_json(
    transport: &SharedTransport,
    url: &str,
    body: &Value,
) -> Result<http::Response<Bytes>, Error> {
    let bytes =
        Bytes::from(serde_json::to_vec(body).map_err(|e| Error::Validation(e.to_string()))?);
    let resp = transport
        .send(json_request(http::Method::POST, url, bytes)?)
        .await?;
    let status = resp.status().as_u16();
    if status >= 400 {
        let err = from_response(status, resp.headers(), resp.body(), "POST", url);
        if status == 404 && url.contains("/v2.0/") {
            return Err(AuthorizationFailure::Other(format!(
                "The identity server has no v2.0 API (HTTP 404 for {url}); use a /v3 auth_url"
            ))
            .into());
        }
        return Err(err.into());
    }
    Ok(resp)
}

/// Which API to use, and its base URL (no trailing slash). Returns `(is_v2, base)`.
async fn resolve_version(
    transport: &SharedTransport,
    auth_url: &str,
    wanted: Version,
) -> Result<(bool, String), Error> {
    let base = auth_url.trim_end_matches('/').to_string();
    let last = base.rsplit('/').next().unwrap_or_default();
    if last.starts_with("v3") {
        return Ok((false, base));
    }
    if last == "v2.0" {
        if wanted == Version::V3 {
            return Err(Error::Validation(format!(
                "{auth_url} is a v2.0 URL but the plugin speaks v3"
            )));
        }
        return Ok((true, base));
    }
    if wanted == Version::V2 {
        return Ok((true, format!("{base}/v2.0")));
    }
    // Unversioned: discover.
    let resp = transport
        .send(json_request(
            http::Method::GET,
            &format!("{base}/"),
            Bytes::new(),
        )?)
        .await?;
    let doc: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    let versions: Vec<&Value> = match (
        doc.pointer("/versions/values"),
        doc.get("versions"),
        doc.get("version"),
    ) {
        (Some(Value::Array(v)), _, _) => v.iter().collect(),
        (_, Some(Value::Array(v)), _) => v.iter().collect(),
        (_, _, Some(v)) => vec![v],
        _ => vec![],
    };
    let href = |v: &Value| -> Option<String> {
        v.get("links")?
            .as_array()?
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))?
            .get("href")?
            .as_str()
            .map(|h| h.trim_end_matches('/').to_string())
    };
    let find = |prefix: &str| {
        versions
            .iter()
            .find(|v| {
                v.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with(prefix))
            })
            .and_then(|v| href(v))
    };
    if let Some(v3) = find("v3") {
        return Ok((false, discovered_base(auth_url, &v3)));
    }
    if wanted == Version::Auto
        && let Some(v2) = find("v2.0")
    {
        return Ok((true, discovered_base(auth_url, &v2)));
    }
    Err(AuthorizationFailure::Other(format!(
        "Could not find versioned identity endpoints when attempting to authenticate at {auth_url}. \
         Please check that your auth_url is correct."
    ))
    .into())
}

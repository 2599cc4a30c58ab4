//! The Keystone runtime shared by the built-in plugins: a typed
//! authentication request, version discovery, the POST, the typed parse.

use std::fmt;

use apiclient_errors::{AuthorizationFailure, Error, InvalidKind, Receipt, from_response};
use bytes::Bytes;
use secrecy::SecretString;
use serde::Serialize;

use crate::access::AccessInfo;
use crate::transport::SharedTransport;
use crate::user_scope::{Domain, Scope, User};
use crate::wire::{
    ApplicationCredentialMethod, IdentityRequest, ReceiptResponse, Ref, ScopeRequest, TokenMethod,
    UserMethod, UserRequest, V2Auth, V2AuthRequest, V2PasswordCredentials, V3Auth, V3AuthRequest,
    VersionDocument,
};

/// Which identity API a plugin speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    /// From the auth URL (`/v3`, `/v2.0`, or version discovery).
    Auto,
    V3,
    V2,
}

/// An application credential, by id or by name of a user.
#[derive(Debug, Clone)]
pub(crate) enum AppCred {
    Id(String),
    Name { name: String, user: User },
}

/// One authentication method with its secret.
#[derive(Clone)]
pub(crate) enum Method {
    Password { user: User, password: SecretString },
    Token(SecretString),
    Totp { user: User, passcode: SecretString },
    ApplicationCredential { cred: AppCred, secret: SecretString },
}

impl Method {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Method::Password { .. } => "password",
            Method::Token(_) => "token",
            Method::Totp { .. } => "totp",
            Method::ApplicationCredential { .. } => "application_credential",
        }
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::Password { user, .. } | Method::Totp { user, .. } => f
                .debug_struct(self.name())
                .field("user", user)
                .finish_non_exhaustive(),
            Method::Token(_) => f.write_str("token"),
            Method::ApplicationCredential { cred, .. } => f
                .debug_struct(self.name())
                .field("cred", cred)
                .finish_non_exhaustive(),
        }
    }
}

/// A Keystone authentication: where, how (the methods), for what (the scope).
#[derive(Debug, Clone)]
pub(crate) struct KeystoneAuth {
    pub(crate) auth_system: String,
    pub(crate) auth_url: String,
    pub(crate) api: ApiVersion,
    pub(crate) methods: Vec<Method>,
    pub(crate) scope: Option<Scope>,
    /// The domain id used where a user or project is named without one.
    pub(crate) default_domain: String,
    pub(crate) receipt: Option<Receipt>,
}

impl KeystoneAuth {
    pub(crate) fn new(auth_system: &str, auth_url: impl Into<String>, api: ApiVersion) -> Self {
        KeystoneAuth {
            auth_system: auth_system.to_string(),
            auth_url: auth_url.into(),
            api,
            methods: Vec::new(),
            scope: None,
            default_domain: "default".to_string(),
            receipt: None,
        }
    }

    pub(crate) fn method(mut self, m: Method) -> Self {
        self.methods.push(m);
        self
    }

    /// Put the user of every password and passcode method in `domain`.
    pub(crate) fn set_user_domain(&mut self, domain: &Domain) {
        for m in &mut self.methods {
            if let Method::Password { user, .. } | Method::Totp { user, .. } = m {
                *user = user.clone().in_domain(domain.clone());
            }
        }
    }

    fn domain(&self, d: &Domain) -> Ref {
        match d {
            Domain::Default => Ref::id(&self.default_domain),
            Domain::Id(id) => Ref::id(id),
            Domain::Name(name) => Ref::name(name),
        }
    }

    fn user(&self, u: &User) -> UserRequest {
        let (id, name, domain) = match u {
            User::Id(id) => (Some(id.clone()), None, None),
            User::Name { name, domain } => (None, Some(name.clone()), Some(self.domain(domain))),
        };
        UserRequest {
            id,
            name,
            domain,
            password: None,
            passcode: None,
        }
    }

    /// The v3 body.
    pub(crate) fn v3_body(&self) -> Result<V3AuthRequest, Error> {
        if self.methods.is_empty() {
            return Err(Error::invalid(
                InvalidKind::Plugin,
                format!("{} has no authentication method", self.auth_system),
            ));
        }
        let mut identity = IdentityRequest::default();
        for m in &self.methods {
            identity.methods.push(m.name());
            match m {
                Method::Password { user, password } => {
                    let mut u = self.user(user);
                    u.password = Some(password.clone());
                    identity.password = Some(UserMethod { user: u });
                }
                Method::Totp { user, passcode } => {
                    let mut u = self.user(user);
                    u.passcode = Some(passcode.clone());
                    identity.totp = Some(UserMethod { user: u });
                }
                Method::Token(token) => identity.token = Some(TokenMethod { id: token.clone() }),
                Method::ApplicationCredential { cred, secret } => {
                    let (id, name, user) = match cred {
                        AppCred::Id(id) => (Some(id.clone()), None, None),
                        AppCred::Name { name, user } => {
                            (None, Some(name.clone()), Some(self.user(user)))
                        }
                    };
                    identity.application_credential = Some(ApplicationCredentialMethod {
                        id,
                        name,
                        user,
                        secret: secret.clone(),
                    });
                }
            }
        }
        let app_cred = identity.application_credential.is_some();
        let scope = match (&self.scope, app_cred) {
            // an application credential carries its own scope
            (_, true) | (None, _) => None,
            (Some(s), false) => Some(match s {
                Scope::ProjectId(id) => ScopeRequest::Project(Ref::id(id)),
                Scope::ProjectName { name, domain } => {
                    ScopeRequest::Project(Ref::name(name).in_domain(self.domain(domain)))
                }
                Scope::DomainId(id) => ScopeRequest::Domain(Ref::id(id)),
                Scope::DomainName(name) => ScopeRequest::Domain(Ref::name(name)),
                Scope::System => ScopeRequest::System([("all".to_string(), true)].into()),
                Scope::Trust(id) => ScopeRequest::Trust { id: id.clone() },
            }),
        };
        Ok(V3AuthRequest {
            auth: V3Auth { identity, scope },
        })
    }

    /// The v2.0 body: a password or a token, a tenant; v2.0 has no domains.
    pub(crate) fn v2_body(&self) -> Result<V2AuthRequest, Error> {
        let mut given: Vec<&str> = Vec::new();
        let user_domain = |u: &User, given: &mut Vec<&str>| {
            if let User::Name { domain, .. } = u {
                match domain {
                    Domain::Id(_) => given.push("user_domain_id"),
                    Domain::Name(_) => given.push("user_domain_name"),
                    Domain::Default => {}
                }
            }
        };
        let mut auth = V2Auth::default();
        for m in &self.methods {
            match m {
                Method::Password { user, password } => {
                    user_domain(user, &mut given);
                    let User::Name { name, .. } = user else {
                        return Err(Error::invalid(
                            InvalidKind::Plugin,
                            "the identity v2.0 API takes a user name, not a user id; use a /v3 auth_url",
                        ));
                    };
                    auth.password_credentials = Some(V2PasswordCredentials {
                        username: name.clone(),
                        password: password.clone(),
                    });
                }
                Method::Token(token) => auth.token = Some(TokenMethod { id: token.clone() }),
                other => {
                    return Err(Error::invalid(
                        InvalidKind::Plugin,
                        format!(
                            "the identity v2.0 API has no '{}' method; use a /v3 auth_url",
                            other.name()
                        ),
                    ));
                }
            }
        }
        match &self.scope {
            Some(Scope::ProjectId(id)) => auth.tenant_id = Some(id.clone()),
            Some(Scope::ProjectName { name, domain }) => {
                match domain {
                    Domain::Id(_) => given.push("project_domain_id"),
                    Domain::Name(_) => given.push("project_domain_name"),
                    Domain::Default => {}
                }
                auth.tenant_name = Some(name.clone());
            }
            Some(Scope::DomainId(_)) => given.push("domain_id"),
            Some(Scope::DomainName(_)) => given.push("domain_name"),
            Some(Scope::System) | Some(Scope::Trust(_)) => {
                return Err(Error::invalid(
                    InvalidKind::Scope,
                    "the identity v2.0 API has no system or trust scope; use a /v3 auth_url",
                ));
            }
            None => {}
        }
        if !given.is_empty() {
            return Err(Error::config(format!(
                "the identity v2.0 API has no domains, but {} {} given; use a /v3 auth_url",
                given.join(", "),
                if given.len() == 1 { "is" } else { "are" }
            )));
        }
        Ok(V2AuthRequest { auth })
    }

    /// Authenticate: discover the API when needed, POST the body, parse the token.
    pub(crate) async fn run(self, transport: SharedTransport) -> Result<AccessInfo, Error> {
        let (v2, base) = resolve_version(&transport, &self.auth_url, self.api).await?;
        let url = if v2 {
            format!("{base}/tokens")
        } else {
            format!("{base}/auth/tokens")
        };
        let body = if v2 {
            to_body(&self.v2_body()?)?
        } else {
            to_body(&self.v3_body()?)?
        };
        let mut req = json_request(http::Method::POST, &url, body)?;
        if let Some(r) = &self.receipt {
            let mut v = http::HeaderValue::from_str(r.expose()).map_err(|_| {
                Error::invalid(
                    InvalidKind::Header,
                    "the auth receipt is not a header value",
                )
            })?;
            v.set_sensitive(true);
            req.headers_mut().insert(RECEIPT_HEADER, v);
        }
        let resp = send_checked(&transport, req, &url).await?;
        if v2 {
            AccessInfo::from_v2(resp.body())
        } else {
            AccessInfo::from_v3(subject_token(&resp, &url)?, resp.body())
        }
    }

    pub(crate) fn key(&self) -> String {
        let mut k = CacheKey::new(&self.auth_system);
        k.part("auth_url", &self.auth_url);
        for m in &self.methods {
            match m {
                Method::Password { user, .. } | Method::Totp { user, .. } => k.user(user),
                Method::ApplicationCredential { cred, .. } => match cred {
                    AppCred::Id(id) => k.part("application_credential_id", id),
                    AppCred::Name { name, user } => {
                        k.part("application_credential_name", name);
                        k.user(user);
                    }
                },
                Method::Token(_) => {}
            }
        }
        if let Some(s) = &self.scope {
            k.scope(s);
        }
        k.finish()
    }
}

/// Builds a token-store key from identifying values (never a secret).
pub(crate) struct CacheKey(String);

impl CacheKey {
    pub(crate) fn new(auth_system: &str) -> Self {
        CacheKey(auth_system.to_string())
    }

    pub(crate) fn part(&mut self, name: &str, value: &str) {
        self.0.push_str(&format!("|{name}={value}"));
    }

    fn domain(&mut self, prefix: &str, d: &Domain) {
        match d {
            Domain::Id(id) => self.part(&format!("{prefix}_domain_id"), id),
            Domain::Name(n) => self.part(&format!("{prefix}_domain_name"), n),
            Domain::Default => {}
        }
    }

    pub(crate) fn user(&mut self, u: &User) {
        match u {
            User::Id(id) => self.part("user_id", id),
            User::Name { name, domain } => {
                self.part("username", name);
                self.domain("user", domain);
            }
        }
    }

    pub(crate) fn scope(&mut self, s: &Scope) {
        match s {
            Scope::ProjectId(id) => self.part("project_id", id),
            Scope::ProjectName { name, domain } => {
                self.part("project_name", name);
                self.domain("project", domain);
            }
            Scope::DomainId(id) => self.part("domain_id", id),
            Scope::DomainName(n) => self.part("domain_name", n),
            Scope::System => self.part("system_scope", "all"),
            Scope::Trust(id) => self.part("trust_id", id),
        }
    }

    pub(crate) fn finish(self) -> String {
        self.0
    }
}

/// The header of Keystone's multi-factor auth receipts.
pub(crate) const RECEIPT_HEADER: &str = "openstack-auth-receipt";

fn to_body<T: Serialize>(body: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::invalid(InvalidKind::Body, e.to_string()))
}

/// The token of a v3 response (`X-Subject-Token`).
pub(crate) fn subject_token(
    resp: &http::Response<Bytes>,
    url: &str,
) -> Result<SecretString, Error> {
    resp.headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(|t| SecretString::from(t.to_string()))
        .ok_or_else(|| Error::InvalidResponse {
            message: "token response has no X-Subject-Token header".into(),
            url: url.to_string(),
            source: None,
        })
}

/// Whether a URL keeps credentials off the network: `https`, or `http` to a
/// loopback host.
pub(crate) fn is_private_transport(url: &str) -> bool {
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

/// Warn once per request when credentials go over plain `http://`.
pub(crate) fn warn_if_plain(url: &str) {
    if !is_private_transport(url) {
        tracing::warn!(
            target: "apiclient_auth",
            "sending credentials over plain http:// to {}: anyone on the network can read them; use https",
            apiclient_errors::redact::redact_url(url)
        );
    }
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

/// A request with `Accept: application/json` (and a JSON content type when
/// it has a body).
pub(crate) fn json_request(
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

/// Send a credential-bearing request; an error status is a typed error (a
/// 401 with an auth receipt is [`AuthorizationFailure::ReceiptRequired`]).
pub(crate) async fn send_checked(
    transport: &SharedTransport,
    req: http::Request<Bytes>,
    url: &str,
) -> Result<http::Response<Bytes>, Error> {
    warn_if_plain(url);
    let method = req.method().to_string();
    let resp = transport.send(req).await?;
    let status = resp.status().as_u16();
    if status < 400 {
        return Ok(resp);
    }
    if status == 401
        && let Some(receipt) = resp
            .headers()
            .get(RECEIPT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
    {
        let body: ReceiptResponse = serde_json::from_slice(resp.body()).unwrap_or_default();
        return Err(AuthorizationFailure::ReceiptRequired {
            receipt: Receipt::new(receipt),
            methods: body.receipt.map(|r| r.methods).unwrap_or_default(),
            required: body.required_auth_methods,
        }
        .into());
    }
    if status == 404 && url.contains("/v2.0/") {
        return Err(AuthorizationFailure::Other(format!(
            "The identity server has no v2.0 API (HTTP 404 for {url}); use a /v3 auth_url"
        ))
        .into());
    }
    Err(from_response(status, resp.headers(), resp.body(), &method, url).into())
}

/// Which API to use, and its base URL (no trailing slash). Returns `(is_v2, base)`.
pub(crate) async fn resolve_version(
    transport: &SharedTransport,
    auth_url: &str,
    wanted: ApiVersion,
) -> Result<(bool, String), Error> {
    let base = auth_url.trim_end_matches('/').to_string();
    let last = base.rsplit('/').next().unwrap_or_default();
    if last.starts_with("v3") {
        return Ok((false, base));
    }
    if last == "v2.0" {
        if wanted == ApiVersion::V3 {
            return Err(Error::invalid(
                InvalidKind::Url,
                format!("{auth_url} is a v2.0 URL but the plugin speaks v3"),
            ));
        }
        return Ok((true, base));
    }
    if wanted == ApiVersion::V2 {
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
    let doc: VersionDocument = serde_json::from_slice(resp.body()).unwrap_or_default();
    if let Some(v3) = doc.href_of("v3") {
        return Ok((false, discovered_base(auth_url, &v3)));
    }
    if wanted == ApiVersion::Auto
        && let Some(v2) = doc.href_of("v2.0")
    {
        return Ok((true, discovered_base(auth_url, &v2)));
    }
    Err(AuthorizationFailure::Other(format!(
        "Could not find versioned identity endpoints when attempting to authenticate at {auth_url}. \
         Please check that your auth_url is correct."
    ))
    .into())
}

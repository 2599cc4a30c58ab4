//! Reading the typed runtime values from options: who authenticates and
//! what for ([`user_of`], [`scope_of`]), the OpenID Connect plugins
//! ([`oidc_of`]) and the human sign-in plugins ([`signin_of`]). Configuration side: the runtime modules never import it
//! (`cargo xtask ci` checks that no runtime module of this crate names a
//! configuration module).

use std::sync::Arc;
use std::time::Duration;

use apiclient_errors::{AuthorizationFailure, Error, InvalidKind};
use secrecy::SecretString;

use crate::oidc::{OidcFlow, OidcPlugin, TokenEndpoint};
use crate::options::AuthOptions;
use crate::plugin::AuthPlugin;
use crate::signin::{OidcAuthorizationCode, OidcDeviceAuthorization, SharedUi, SignInUi, WebSso};
use crate::user_scope::{Domain, Scope, User};

/// The domain of `prefix` (`user`, `project`) from `<prefix>_domain_id` /
/// `<prefix>_domain_name`.
fn domain_of(o: &AuthOptions, prefix: &str) -> Domain {
    if let Some(id) = o.get(&format!("{prefix}_domain_id")) {
        Domain::Id(id.to_string())
    } else if let Some(name) = o.get(&format!("{prefix}_domain_name")) {
        Domain::Name(name.to_string())
    } else {
        Domain::Default
    }
}

/// The user of the options: by id, else by name in its domain.
pub(crate) fn user_of(o: &AuthOptions) -> User {
    match o.get("user_id") {
        Some(id) => User::Id(id.to_string()),
        None => User::Name {
            name: o.get("username").unwrap_or_default().to_string(),
            domain: domain_of(o, "user"),
        },
    }
}

/// The scope of the options; more than one kind of scope is an error.
pub(crate) fn scope_of(o: &AuthOptions) -> Result<Option<Scope>, Error> {
    let project = o.has("project_id") || o.has("project_name");
    let domain = o.has("domain_id") || o.has("domain_name");
    let given = [project, domain, o.has("system_scope"), o.has("trust_id")];
    if given.iter().filter(|b| **b).count() > 1 {
        return Err(Error::invalid(
            InvalidKind::Scope,
            "only one of project, domain, system and trust scope may be given",
        ));
    }
    Ok(if let Some(id) = o.get("trust_id") {
        Some(Scope::Trust(id.to_string()))
    } else if let Some(id) = o.get("project_id") {
        Some(Scope::ProjectId(id.to_string()))
    } else if let Some(name) = o.get("project_name") {
        Some(Scope::ProjectName {
            name: name.to_string(),
            domain: domain_of(o, "project"),
        })
    } else if let Some(id) = o.get("domain_id") {
        Some(Scope::DomainId(id.to_string()))
    } else if let Some(name) = o.get("domain_name") {
        Some(Scope::DomainName(name.to_string()))
    } else if let Some(system) = o.get("system_scope") {
        if system != "all" {
            return Err(Error::invalid(
                InvalidKind::Scope,
                format!(
                    "system_scope '{system}' is not supported: Keystone's only system scope is 'all'"
                ),
            ));
        }
        Some(Scope::System)
    } else {
        None
    })
}

/// An OpenID Connect plugin `name` of `flow` from the options.
pub(crate) fn oidc_of(name: &str, flow: OidcFlow, o: &AuthOptions) -> Result<OidcPlugin, Error> {
    let get = |n: &str| o.get(n).unwrap_or_default().to_string();
    let secret = |n: &str| o.expose(n).map(|s| SecretString::from(s.to_string()));
    let mut p = OidcPlugin::base(
        name,
        flow,
        &get("auth_url"),
        &get("identity_provider"),
        &get("protocol"),
    );
    p.access_token = secret("access_token");
    p.token_endpoint = match (o.get("access_token_endpoint"), o.get("discovery_endpoint")) {
        (Some(direct), _) => Some(TokenEndpoint::Direct(direct.to_string())),
        (None, Some(d)) => Some(TokenEndpoint::Discovery(d.to_string())),
        (None, None) => None,
    };
    p.client_id = get("client_id");
    p.client_secret = secret("client_secret");
    p.username = o.get("username").map(str::to_string);
    p.password = secret("password");
    if let Some(s) = o.get("openid_scope") {
        p.openid_scope = s.to_string();
    }
    p.scope = scope_of(o)?;
    Ok(p)
}

/// The human sign-in plugins (`crate::signin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignIn {
    /// `v3oidcdeviceauthz`.
    Device,
    /// `v3oidcauthcode`.
    AuthCode,
    /// `v3websso`.
    WebSso,
}

/// The sign-in plugin of `kind` from the options, showing its prompts
/// with `ui` (none: [`crate::signin::Silent`]).
pub(crate) fn signin_of(
    kind: SignIn,
    o: &AuthOptions,
    ui: Option<Arc<dyn SignInUi>>,
) -> Result<Box<dyn AuthPlugin>, Error> {
    let get = |n: &str| o.get(n).unwrap_or_default().to_string();
    let timeout = match o.get("signin_timeout") {
        Some(t) => Some(
            t.trim()
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Error::invalid(
                        InvalidKind::Other,
                        format!("signin_timeout '{t}' is not a positive number of seconds"),
                    )
                })?,
        ),
        None => None,
    };
    let ui = ui.map(SharedUi);
    Ok(match kind {
        SignIn::Device => {
            let mut p = OidcDeviceAuthorization::new(
                &get("auth_url"),
                &get("identity_provider"),
                &get("protocol"),
                &get("discovery_endpoint"),
                &get("client_id"),
            );
            p.client.secret = o
                .expose("client_secret")
                .map(|s| SecretString::from(s.to_string()));
            p.endpoints.device_authorization =
                o.get("device_authorization_endpoint").map(str::to_string);
            p.endpoints.token = o.get("access_token_endpoint").map(str::to_string);
            if let Some(s) = o.get("openid_scope") {
                p.openid_scope = s.to_string();
            }
            p.scope = scope_of(o)?;
            p.timeout = timeout;
            if let Some(ui) = ui {
                p.ui = ui;
            }
            Box::new(p)
        }
        SignIn::AuthCode => {
            let mut p = OidcAuthorizationCode::new(
                &get("auth_url"),
                &get("identity_provider"),
                &get("protocol"),
                &get("discovery_endpoint"),
                &get("client_id"),
            );
            p.client.secret = o
                .expose("client_secret")
                .map(|s| SecretString::from(s.to_string()));
            p.endpoints.authorization = o.get("authorization_endpoint").map(str::to_string);
            p.endpoints.token = o.get("access_token_endpoint").map(str::to_string);
            if let Some(s) = o.get("openid_scope") {
                p.openid_scope = s.to_string();
            }
            p.scope = scope_of(o)?;
            match (o.expose("code"), o.get("redirect_uri")) {
                (Some(code), Some(uri)) => p = p.code(code, uri),
                (Some(_), None) => {
                    return Err(AuthorizationFailure::options_missing(["redirect_uri"]).into());
                }
                (None, Some(uri)) => p = p.redirect_uri(uri)?,
                (None, None) => {}
            }
            if let Some(t) = timeout {
                p.timeout = t;
            }
            if let Some(ui) = ui {
                p.ui = ui;
            }
            Box::new(p)
        }
        SignIn::WebSso => {
            let mut p = WebSso::new(&get("auth_url"), &get("protocol"));
            p.identity_provider = o.get("identity_provider").map(str::to_string);
            if let Some(uri) = o.get("redirect_uri") {
                p = p.redirect_uri(uri)?;
            }
            p.scope = scope_of(o)?;
            if let Some(t) = timeout {
                p.timeout = t;
            }
            if let Some(ui) = ui {
                p.ui = ui;
            }
            Box::new(p)
        }
    })
}

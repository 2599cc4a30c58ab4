//! The known options: their names, aliases, help and secrecy, and the two
//! rules every layer applies to a name ([`canonical`], [`is_secret`]). A
//! leaf: the options, `clouds.yaml` and the command line all read it.

/// The description of one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// The option's name, `snake_case` (e.g. `user_domain_name`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Other names for the same option (e.g. `tenant_name` for `project_name`).
    pub aliases: &'static [&'static str],
    /// Whether the value is a secret (never printed).
    pub secret: bool,
}

const fn opt(name: &'static str, help: &'static str) -> OptionSpec {
    OptionSpec {
        name,
        help,
        aliases: &[],
        secret: false,
    }
}

/// The common auth options (Python's `common_opt_names`, keystoneauth's names).
pub const COMMON_OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "auth_type",
        help: "Authentication plugin (auth system) to use",
        aliases: &["auth_system"],
        secret: false,
    },
    opt("auth_url", "Authentication URL (Keystone)"),
    opt("username", "User name"),
    OptionSpec {
        name: "password",
        help: "User's password",
        aliases: &[],
        secret: true,
    },
    OptionSpec {
        name: "project_name",
        help: "Project (tenant) name to scope to",
        aliases: &["tenant_name"],
        secret: false,
    },
    OptionSpec {
        name: "token",
        help: "An existing token",
        aliases: &[],
        secret: true,
    },
];

/// Options of the built-in plugins beyond the common ones.
pub const PLUGIN_OPTIONS: &[OptionSpec] = &[
    opt("user_id", "User id"),
    opt("user_domain_name", "Domain name of the user"),
    opt("user_domain_id", "Domain id of the user"),
    OptionSpec {
        name: "project_id",
        help: "Project (tenant) id to scope to",
        aliases: &["tenant_id"],
        secret: false,
    },
    opt("project_domain_name", "Domain name of the project"),
    opt("project_domain_id", "Domain id of the project"),
    opt("domain_name", "Domain name to scope to"),
    opt("domain_id", "Domain id to scope to"),
    opt("system_scope", "System scope (e.g. 'all')"),
    opt(
        "trust_id",
        "A trust to scope to (the token acts for its trustor)",
    ),
    opt(
        "default_domain",
        "Domain id used for user and project when none is given (default: 'default')",
    ),
    opt(
        "endpoint",
        "A fixed endpoint (admin_token, none, http_basic)",
    ),
    opt("application_credential_id", "Application credential id"),
    opt("application_credential_name", "Application credential name"),
    OptionSpec {
        name: "application_credential_secret",
        help: "Application credential secret",
        aliases: &[],
        secret: true,
    },
    OptionSpec {
        name: "passcode",
        help: "A one-time passcode (TOTP)",
        aliases: &[],
        secret: true,
    },
    OptionSpec {
        name: "receipt",
        help: "The auth receipt of a multi-factor authentication begun before",
        aliases: &[],
        secret: true,
    },
    opt(
        "auth_methods",
        "Methods of v3multifactor, comma-separated (e.g. v3password,v3totp)",
    ),
    opt(
        "identity_provider",
        "Identity provider of federated authentication (OpenID Connect)",
    ),
    opt(
        "protocol",
        "Federation protocol of the identity provider (e.g. openid)",
    ),
    opt(
        "client_id",
        "OAuth 2.0 client id at the OpenID Connect provider",
    ),
    OptionSpec {
        name: "client_secret",
        help: "OAuth 2.0 client secret at the OpenID Connect provider",
        aliases: &[],
        secret: true,
    },
    opt(
        "discovery_endpoint",
        "OpenID Connect discovery document (.well-known/openid-configuration)",
    ),
    opt(
        "access_token_endpoint",
        "OAuth 2.0 token endpoint (instead of discovery)",
    ),
    opt(
        "openid_scope",
        "OpenID Connect scope (default: 'openid profile')",
    ),
    OptionSpec {
        name: "access_token",
        help: "An OAuth 2.0 access token from the identity provider",
        aliases: &[],
        secret: true,
    },
    opt(
        "device_authorization_endpoint",
        "OAuth 2.0 device authorization endpoint (v3oidcdeviceauthz; instead of discovery)",
    ),
    opt(
        "authorization_endpoint",
        "OAuth 2.0 authorization endpoint (v3oidcauthcode; instead of discovery)",
    ),
    opt(
        "redirect_uri",
        "Loopback URL the browser comes back to (v3oidcauthcode, v3websso; default http://127.0.0.1:0/callback, port 0: any free port)",
    ),
    OptionSpec {
        name: "code",
        help: "An OAuth 2.0 authorization code obtained beforehand (v3oidcauthcode without a browser; needs redirect_uri)",
        aliases: &["authorization_code"],
        secret: true,
    },
    opt(
        "signin_timeout",
        "Seconds to wait for the user to sign in (v3oidcauthcode, v3websso: default 300; v3oidcdeviceauthz: the code's lifetime)",
    ),
];

/// Options of the session (not of a plugin).
pub const SESSION_OPTIONS: &[OptionSpec] = &[
    opt("cloud", "Named cloud of clouds.yaml"),
    opt("region_name", "Region of the endpoints"),
    OptionSpec {
        name: "interface",
        help: "Endpoint interface: public, internal or admin",
        aliases: &["endpoint_type"],
        secret: false,
    },
    opt("cacert", "CA bundle (PEM) to verify TLS servers"),
    opt("cert", "Client certificate (PEM)"),
    opt("key", "Client certificate key (PEM)"),
];

/// The spec of a known option by name or alias.
pub fn find_spec(name: &str) -> Option<&'static OptionSpec> {
    COMMON_OPTIONS
        .iter()
        .chain(PLUGIN_OPTIONS)
        .chain(SESSION_OPTIONS)
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// The canonical name of an option (`tenant_name` → `project_name`).
pub fn canonical(name: &str) -> &str {
    find_spec(name).map(|s| s.name).unwrap_or(name)
}

/// Whether an option holds a secret: declared so, or named like one
/// ([`is_secret_key`](apiclient_errors::redact::is_secret_key): `*password`,
/// `*secret`, `private_key`, `passphrase`, ...).
pub fn is_secret(name: &str) -> bool {
    find_spec(name).is_some_and(|s| s.secret) || apiclient_errors::redact::is_secret_key(name)
}

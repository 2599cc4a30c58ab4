//! Who authenticates and what for: [`User`] (by id, or by name in a
//! [`Domain`]) and the [`Scope`] of the token, as the typed plugins and the
//! Keystone runtime take them (public as `typed::{User, Domain, Scope}`),
//! and the same read from options.

use apiclient_errors::{Error, InvalidKind};

use crate::options::AuthOptions;

/// A domain, where a user or project is named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Domain {
    /// The plugin's default domain (`default` unless set).
    #[default]
    Default,
    /// By id.
    Id(String),
    /// By name.
    Name(String),
}

/// A user: by id, or by name in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum User {
    /// By id (ids are unique across domains).
    Id(String),
    /// By name in a domain.
    Name {
        /// The user name.
        name: String,
        /// The user's domain.
        domain: Domain,
    },
}

impl User {
    /// A user by name in the default domain.
    pub fn name(name: impl Into<String>) -> Self {
        User::Name {
            name: name.into(),
            domain: Domain::Default,
        }
    }

    /// A user by id.
    pub fn id(id: impl Into<String>) -> Self {
        User::Id(id.into())
    }

    /// The same user name in `domain` (no effect on a user by id).
    pub fn in_domain(self, domain: Domain) -> Self {
        match self {
            User::Name { name, .. } => User::Name { name, domain },
            id => id,
        }
    }
}

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// A project by id.
    ProjectId(String),
    /// A project by name in a domain.
    ProjectName {
        /// The project's name.
        name: String,
        /// Its domain.
        domain: Domain,
    },
    /// A domain by id.
    DomainId(String),
    /// A domain by name.
    DomainName(String),
    /// The whole deployment (`system_scope: all`).
    System,
    /// A trust by id (the token acts for the trust's trustor).
    Trust(String),
}

impl Scope {
    /// A project by name in a domain by name.
    pub fn project_name(name: impl Into<String>, domain_name: impl Into<String>) -> Self {
        Scope::ProjectName {
            name: name.into(),
            domain: Domain::Name(domain_name.into()),
        }
    }
}

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

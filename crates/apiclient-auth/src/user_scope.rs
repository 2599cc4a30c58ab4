//! Who authenticates and what for: [`User`] (by id, or by name in a
//! [`Domain`]) and the [`Scope`] of the token, as the typed plugins and the
//! Keystone runtime take them (public as `typed::{User, Domain, Scope}`).
//! Reading them from options is the loaders' (`from_options.rs`).

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

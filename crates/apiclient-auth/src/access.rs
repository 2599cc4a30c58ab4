//! The access record an authentication returns: token, expiry, scope, catalog.

use std::fmt;
use std::time::Duration;

use apiclient_errors::{EndpointError, Error};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::catalog::{EndpointFilter, ServiceCatalog};
use crate::wire::{IdName, V2TokenResponse, V3TokenResponse};

/// A role on the token's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Role id.
    pub id: Option<String>,
    /// Role name.
    pub name: Option<String>,
}

/// The old name of [`TokenScope`]: it met the `typed::Scope` a plugin
/// asks for under the same name.
#[deprecated(
    since = "0.1.0",
    note = "renamed `TokenScope` (what a token is scoped to); `typed::Scope` is what a plugin asks for"
)]
pub type Scope = TokenScope;

/// What a token is scoped to ([`AccessInfo::scope`]); what a plugin asks
/// for is a `typed::Scope`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenScope {
    /// No scope.
    #[default]
    Unscoped,
    /// A project.
    Project {
        /// Project id.
        id: String,
        /// Project name.
        name: Option<String>,
        /// The project's domain id.
        domain_id: Option<String>,
        /// The project's domain name.
        domain_name: Option<String>,
    },
    /// A domain.
    Domain {
        /// Domain id.
        id: String,
        /// Domain name.
        name: Option<String>,
    },
    /// The system (`{"all": true}`).
    System,
}

/// The Keystone API version that issued a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityVersion {
    /// Identity v3.
    V3,
    /// Identity v2.0 (legacy).
    V2,
    /// No identity server (admin_token, none).
    None,
}

/// Which header carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenHeader {
    /// `X-Auth-Token` (Keystone tokens).
    #[default]
    XAuthToken,
    /// `Authorization` (HTTP Basic, bearer tokens): the token is the whole value.
    Authorization,
}

impl TokenHeader {
    /// The header name.
    pub fn name(self) -> &'static str {
        match self {
            TokenHeader::XAuthToken => "x-auth-token",
            TokenHeader::Authorization => "authorization",
        }
    }
}

/// The result of an authentication (Python's `AccessInfo` / auth ref).
///
/// The token is a [`SecretString`]: `Debug` never shows it.
#[derive(Clone)]
pub struct AccessInfo {
    token: SecretString,
    /// When the token expires (None: never, e.g. admin_token).
    pub expires_at: Option<OffsetDateTime>,
    /// When it was issued.
    pub issued_at: Option<OffsetDateTime>,
    /// The user id.
    pub user_id: Option<String>,
    /// The user name.
    pub user_name: Option<String>,
    /// The user's domain id.
    pub user_domain_id: Option<String>,
    /// The scope.
    pub scope: TokenScope,
    /// Roles on the scope.
    pub roles: Vec<Role>,
    /// Authentication methods (`password`, `token`, `application_credential`).
    pub methods: Vec<String>,
    /// The audit ids.
    pub audit_ids: Vec<String>,
    /// The service catalog (empty for unscoped tokens and `?nocatalog`).
    pub catalog: ServiceCatalog,
    /// An endpoint that serves every service type (admin_token, none), overriding the catalog.
    pub endpoint_override: Option<String>,
    /// Which identity API issued it.
    pub version: IdentityVersion,
    /// Which header carries the token.
    pub token_header: TokenHeader,
    raw_body: Option<bytes::Bytes>,
}

impl fmt::Debug for AccessInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessInfo")
            .field("token", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .field("scope", &self.scope)
            .field("methods", &self.methods)
            .field("services", &self.catalog.services().len())
            .field("endpoint_override", &self.endpoint_override)
            .field("version", &self.version)
            .finish()
    }
}

/// Parse a Keystone timestamp: RFC 3339 (`2026-11-29T01:26:15.000000Z`,
/// `...+00:00`), or the same without a zone (taken as UTC). The result is in
/// UTC; a time that cannot be represented in UTC (`9999-12-31T23:59:59-05:00`
/// is in year 10000) is None, never a panic.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())
        .and_then(|t| t.checked_to_offset(time::UtcOffset::UTC))
}

impl AccessInfo {
    /// An access record for a fixed token (admin_token, none, tests).
    pub fn fixed(token: SecretString, endpoint: Option<String>) -> Self {
        AccessInfo {
            token,
            expires_at: None,
            issued_at: None,
            user_id: None,
            user_name: None,
            user_domain_id: None,
            scope: TokenScope::Unscoped,
            roles: Vec::new(),
            methods: Vec::new(),
            audit_ids: Vec::new(),
            catalog: ServiceCatalog::default(),
            endpoint_override: endpoint,
            version: IdentityVersion::None,
            token_header: TokenHeader::XAuthToken,
            raw_body: None,
        }
    }

    /// The same record, its token sent in `header`.
    pub fn with_token_header(mut self, header: TokenHeader) -> Self {
        self.token_header = header;
        self
    }

    /// Parse a v3 token response: the token from `X-Subject-Token`, the rest
    /// from the body ([`V3TokenResponse`], lenient where deployments differ).
    pub fn from_v3(token: SecretString, body: &[u8]) -> Result<Self, Error> {
        let parsed: V3TokenResponse = serde_json::from_slice(body)
            .map_err(|e| invalid("token body is not a v3 token ({\"token\": {...}})", Some(e)))?;
        let t = parsed.token;
        let scope = if let Some(p) = t.project {
            let domain = p.domain.unwrap_or_default();
            TokenScope::Project {
                id: p.id.unwrap_or_default(),
                name: p.name,
                domain_id: domain.id,
                domain_name: domain.name,
            }
        } else if let Some(d) = t.domain {
            TokenScope::Domain {
                id: d.id.unwrap_or_default(),
                name: d.name,
            }
        } else if t.system.is_some() {
            TokenScope::System
        } else {
            TokenScope::Unscoped
        };
        let user = t.user.unwrap_or_default();
        Ok(AccessInfo {
            token,
            expires_at: t.expires_at.as_deref().and_then(parse_timestamp),
            issued_at: t.issued_at.as_deref().and_then(parse_timestamp),
            user_id: user.id,
            user_name: user.name,
            user_domain_id: user.domain.and_then(|d| d.id),
            scope,
            roles: t.roles.into_iter().map(Role::from).collect(),
            methods: t.methods,
            audit_ids: t.audit_ids,
            catalog: t
                .catalog
                .map(|c| ServiceCatalog::from_v3_services(c.0))
                .unwrap_or_default(),
            endpoint_override: None,
            version: IdentityVersion::V3,
            token_header: TokenHeader::XAuthToken,
            raw_body: Some(bytes::Bytes::copy_from_slice(body)),
        })
    }

    /// Parse a v2.0 token response (`{"access": {"token", "serviceCatalog", "user"}}`).
    pub fn from_v2(body: &[u8]) -> Result<Self, Error> {
        let parsed: V2TokenResponse = serde_json::from_slice(body).map_err(|e| {
            invalid(
                "token body is not a v2.0 token ({\"access\": {...}})",
                Some(e),
            )
        })?;
        let a = parsed.access;
        let t = a.token.unwrap_or_default();
        let token =
            t.id.ok_or_else(|| invalid("v2.0 token body has no token id", None))?;
        let scope = match t.tenant {
            Some(tenant) => TokenScope::Project {
                id: tenant.id.unwrap_or_default(),
                name: tenant.name,
                domain_id: None,
                domain_name: None,
            },
            None => TokenScope::Unscoped,
        };
        let user = a.user.unwrap_or_default();
        Ok(AccessInfo {
            token,
            expires_at: t.expires.as_deref().and_then(parse_timestamp),
            issued_at: t.issued_at.as_deref().and_then(parse_timestamp),
            user_id: user.id,
            user_name: user.name,
            user_domain_id: None,
            scope,
            roles: user.roles.into_iter().map(Role::from).collect(),
            methods: vec!["password".into()],
            audit_ids: Vec::new(),
            catalog: ServiceCatalog::from_v2_services(a.service_catalog),
            endpoint_override: None,
            version: IdentityVersion::V2,
            token_header: TokenHeader::XAuthToken,
            raw_body: Some(bytes::Bytes::copy_from_slice(body)),
        })
    }

    /// The token response body this record was parsed from (v3: no secret in
    /// it; v2.0: it holds the token id).
    pub fn raw_body(&self) -> Option<&[u8]> {
        self.raw_body.as_deref()
    }

    /// The record as JSON for a token store. **It contains the token**: store
    /// it only where a token may be kept (a 0600 file, a keyring).
    pub fn to_stored_json(&self) -> Value {
        let body = self
            .raw_body
            .as_ref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .unwrap_or(Value::Null);
        let version = match self.version {
            IdentityVersion::V3 => "v3",
            IdentityVersion::V2 => "v2",
            IdentityVersion::None => "none",
        };
        let mut stored = serde_json::json!({
            "version": version,
            "token": self.token.expose_secret(),
            "endpoint_override": self.endpoint_override,
            "body": body,
        });
        if self.token_header == TokenHeader::Authorization {
            stored["header"] = "authorization".into();
        }
        stored
    }

    /// The inverse of [`to_stored_json`](Self::to_stored_json).
    pub fn from_stored_json(v: &Value) -> Result<Self, Error> {
        let token = v
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("stored token has no token", None))?;
        let body = v.get("body").map(|b| b.to_string()).unwrap_or_default();
        let mut access = match v.get("version").and_then(Value::as_str) {
            Some("v3") => {
                AccessInfo::from_v3(SecretString::from(token.to_string()), body.as_bytes())?
            }
            Some("v2") => AccessInfo::from_v2(body.as_bytes())?,
            Some("none") => AccessInfo::fixed(SecretString::from(token.to_string()), None),
            _ => return Err(invalid("stored token has an unknown version", None)),
        };
        if v.get("header").and_then(Value::as_str) == Some("authorization") {
            access.token_header = TokenHeader::Authorization;
        }
        access.endpoint_override = v
            .get("endpoint_override")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(access)
    }

    /// The token.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The project id, when project-scoped.
    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Project { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The domain id, when domain-scoped.
    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            TokenScope::Domain { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether the token expires within `skew` of `now` (never, when it has no expiry).
    pub fn will_expire_soon(&self, skew: Duration, now: OffsetDateTime) -> bool {
        let Some(exp) = self.expires_at else {
            return false;
        };
        // A skew too large to subtract means "always about to expire".
        match time::Duration::try_from(skew)
            .ok()
            .and_then(|s| exp.checked_sub(s))
        {
            Some(refresh_at) => refresh_at <= now,
            None => true,
        }
    }

    /// The (token, endpoint) for a service: the override, else the catalog.
    pub fn token_and_endpoint(
        &self,
        filter: &EndpointFilter,
    ) -> Result<(SecretString, String), EndpointError> {
        let endpoint = match &self.endpoint_override {
            Some(e) => e.clone(),
            None if self.catalog.is_empty() && self.scope == TokenScope::Unscoped => {
                return Err(EndpointError::NotFound(format!(
                    "No endpoint for service type '{}': the token is unscoped and has no catalog; \
                     set a project (--os-project-name, OS_PROJECT_NAME) or another scope",
                    filter.service_type
                )));
            }
            None => self.catalog.url_for(filter)?,
        };
        Ok((self.token.clone(), endpoint))
    }

    /// Whether two records carry the same token (compared in constant shape, never logged).
    pub fn same_token(&self, other: &AccessInfo) -> bool {
        self.token.expose_secret() == other.token.expose_secret()
    }
}

impl From<IdName> for Role {
    fn from(r: IdName) -> Self {
        Role {
            id: r.id,
            name: r.name,
        }
    }
}

fn invalid(message: &str, source: Option<serde_json::Error>) -> Error {
    Error::InvalidResponse {
        message: message.to_string(),
        url: "identity".to_string(),
        source: source.map(|e| Box::new(e) as apiclient_errors::BoxError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_keystone_forms() {
        let a = parse_timestamp("2026-11-29T01:26:15.000000Z").unwrap();
        let b = parse_timestamp("2026-11-29T01:26:15Z").unwrap();
        let c = parse_timestamp("2026-11-29T01:26:15.000000").unwrap();
        let d = parse_timestamp("2026-11-29T02:26:15+01:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(parse_timestamp("yesterday").is_none());
        // beyond year 9999 in UTC: no value, no panic
        assert!(parse_timestamp("9999-12-31T23:59:59-05:00").is_none());
        assert!(parse_timestamp("9999-12-31T23:59:59+05:00").is_some());
    }

    #[test]
    fn expiry_skew() {
        let mut a = AccessInfo::fixed(SecretString::from("t"), None);
        let now = parse_timestamp("2026-11-29T01:00:00Z").unwrap();
        assert!(!a.will_expire_soon(Duration::from_secs(120), now));
        a.expires_at = Some(now + Duration::from_secs(119));
        assert!(a.will_expire_soon(Duration::from_secs(120), now));
        a.expires_at = Some(now + Duration::from_secs(121));
        assert!(!a.will_expire_soon(Duration::from_secs(120), now));
        // a skew beyond any date: no overflow panic
        assert!(a.will_expire_soon(Duration::MAX, now));
    }

    #[test]
    fn stored_json_round_trips() {
        let body = br#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p"}, "catalog": []}}"#;
        let a = AccessInfo::from_v3(SecretString::from("tok"), body).unwrap();
        let b = AccessInfo::from_stored_json(&a.to_stored_json()).unwrap();
        assert!(a.same_token(&b));
        assert_eq!(b.project_id(), Some("p"));
        assert_eq!(a.expires_at, b.expires_at);
        assert!(AccessInfo::from_stored_json(&serde_json::json!({"token": 1})).is_err());
    }

    #[test]
    fn debug_hides_token() {
        let a = AccessInfo::fixed(SecretString::from("gAAAAAsupersecret"), None);
        assert!(!format!("{a:?}").contains("supersecret"));
    }

    #[test]
    fn garbage_bodies_are_typed_errors() {
        for body in [&b""[..], b"[]", b"{\"token\": 1}", b"\xff"] {
            assert!(AccessInfo::from_v3(SecretString::from("t"), body).is_err());
            assert!(AccessInfo::from_v2(body).is_err());
        }
    }
}

//! Typed serde models of what crosses the wire to and from Keystone: the v3
//! and v2.0 token responses with their catalogs, and the authentication
//! request bodies.
//!
//! Responses parse leniently, because deployments differ: a field of the
//! wrong type (a `null` list, a number where a string belongs) reads as
//! absent, and a malformed catalog entry is skipped, never an error for the
//! whole token. Only the outer shape (`{"token": {...}}`,
//! `{"access": {...}}`) is required.
//!
//! Request bodies hold their secrets as [`SecretString`]: `Debug` shows
//! `[REDACTED]`, and only serialization (the body sent to Keystone) exposes
//! them.
//!
//! ```
//! use apiclient_auth::wire::V3TokenResponse;
//!
//! let body = br#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "methods": ["password"],
//!     "roles": null, "project": {"id": "p1", "name": "demo"},
//!     "catalog": [{"type": "compute", "endpoints": [
//!         {"interface": "public", "url": "http://nova/v2.1", "region_id": "R1"},
//!         {"interface": 7}]}]}}"#;
//! let parsed: V3TokenResponse = serde_json::from_slice(body).unwrap();
//! assert_eq!(parsed.token.methods, ["password"]);
//! assert!(parsed.token.roles.is_empty()); // `null` reads as none
//! // the malformed endpoint is skipped, the good one kept
//! assert_eq!(parsed.token.catalog.unwrap()[0].endpoints.len(), 1);
//! ```

use secrecy::{ExposeSecret, SecretString};
use serde::de::{Deserializer, IgnoredAny};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A value of type `T`, or nothing when the JSON holds something else.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Ok(T),
    Other(IgnoredAny),
}

impl<T> Lenient<T> {
    fn ok(self) -> Option<T> {
        match self {
            Lenient::Ok(t) => Some(t),
            Lenient::Other(_) => None,
        }
    }
}

/// `Option<T>`: absent, `null` or of another type is `None`.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Lenient::<T>::deserialize(d)?.ok())
}

/// `Vec<T>`: not a list is empty; elements that are not a `T` are skipped.
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Lenient::<Vec<Lenient<T>>>::deserialize(d)?
        .ok()
        .unwrap_or_default()
        .into_iter()
        .filter_map(Lenient::ok)
        .collect())
}

/// A `{"id", "name"}` reference (a domain, a role).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct IdName {
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
}

/// A user or project of a v3 token: id, name, domain.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct V3Owned {
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Its domain.
    #[serde(default, deserialize_with = "lenient")]
    pub domain: Option<IdName>,
}

/// The body of `POST /v3/auth/tokens` (and `GET` for validation).
#[derive(Debug, Clone, Deserialize)]
pub struct V3TokenResponse {
    /// The token's data (its id is in `X-Subject-Token`).
    pub token: V3TokenData,
}

/// A v3 token's data.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct V3TokenData {
    /// When it expires (RFC 3339).
    #[serde(default, deserialize_with = "lenient")]
    pub expires_at: Option<String>,
    /// When it was issued.
    #[serde(default, deserialize_with = "lenient")]
    pub issued_at: Option<String>,
    /// The user.
    #[serde(default, deserialize_with = "lenient")]
    pub user: Option<V3Owned>,
    /// The project, when project-scoped.
    #[serde(default, deserialize_with = "lenient")]
    pub project: Option<V3Owned>,
    /// The domain, when domain-scoped.
    #[serde(default, deserialize_with = "lenient")]
    pub domain: Option<IdName>,
    /// `{"all": true}` when system-scoped.
    #[serde(default, deserialize_with = "lenient")]
    pub system: Option<serde_json::Map<String, serde_json::Value>>,
    /// Roles on the scope.
    #[serde(default, deserialize_with = "lenient_list")]
    pub roles: Vec<IdName>,
    /// The methods that authenticated.
    #[serde(default, deserialize_with = "lenient_list")]
    pub methods: Vec<String>,
    /// The audit ids.
    #[serde(default, deserialize_with = "lenient_list")]
    pub audit_ids: Vec<String>,
    /// The catalog (absent for unscoped tokens and `?nocatalog`).
    #[serde(default, deserialize_with = "lenient")]
    pub catalog: Option<V3Catalog>,
}

/// A v3 catalog: its services, malformed ones skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V3Catalog(pub Vec<V3Service>);

impl<'de> Deserialize<'de> for V3Catalog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_list(d).map(V3Catalog)
    }
}

impl std::ops::Deref for V3Catalog {
    type Target = [V3Service];
    fn deref(&self) -> &[V3Service] {
        &self.0
    }
}

/// A service of a v3 catalog.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct V3Service {
    /// The service type (required).
    #[serde(rename = "type")]
    pub service_type: String,
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Its endpoints, malformed ones skipped.
    #[serde(default, deserialize_with = "lenient_list")]
    pub endpoints: Vec<V3Endpoint>,
}

/// An endpoint of a v3 catalog.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct V3Endpoint {
    /// `public`, `internal`, `admin` (required).
    pub interface: String,
    /// Its URL (required).
    pub url: String,
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its region id.
    #[serde(default, deserialize_with = "lenient")]
    pub region_id: Option<String>,
    /// Its region (the legacy name of `region_id`).
    #[serde(default, deserialize_with = "lenient")]
    pub region: Option<String>,
}

/// The body of `POST /v2.0/tokens`.
#[derive(Debug, Clone, Deserialize)]
pub struct V2TokenResponse {
    /// The access record.
    pub access: V2Access,
}

/// A v2.0 access record.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct V2Access {
    /// The token.
    #[serde(default, deserialize_with = "lenient")]
    pub token: Option<V2Token>,
    /// The user.
    #[serde(default, deserialize_with = "lenient")]
    pub user: Option<V2User>,
    /// The catalog.
    #[serde(default, rename = "serviceCatalog", deserialize_with = "lenient_list")]
    pub service_catalog: Vec<V2Service>,
}

/// A v2.0 token.
#[derive(Clone, Default, Deserialize)]
pub struct V2Token {
    /// Its id: the token itself.
    #[serde(default, deserialize_with = "lenient_secret")]
    pub id: Option<SecretString>,
    /// When it expires.
    #[serde(default, deserialize_with = "lenient")]
    pub expires: Option<String>,
    /// When it was issued.
    #[serde(default, deserialize_with = "lenient")]
    pub issued_at: Option<String>,
    /// The tenant (project), when scoped.
    #[serde(default, deserialize_with = "lenient")]
    pub tenant: Option<IdName>,
}

impl std::fmt::Debug for V2Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V2Token")
            .field("id", &self.id.as_ref().map(|_| "[REDACTED]"))
            .field("expires", &self.expires)
            .field("tenant", &self.tenant)
            .finish()
    }
}

fn lenient_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(lenient::<D, String>(d)?.map(SecretString::from))
}

/// A v2.0 user.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct V2User {
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Its roles.
    #[serde(default, deserialize_with = "lenient_list")]
    pub roles: Vec<IdName>,
}

/// A service of a v2.0 catalog.
#[derive(Debug, Clone, Deserialize)]
pub struct V2Service {
    /// The service type (required).
    #[serde(rename = "type")]
    pub service_type: String,
    /// Its name.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    /// Its endpoints.
    #[serde(default, deserialize_with = "lenient_list")]
    pub endpoints: Vec<V2Endpoint>,
}

/// An endpoint of a v2.0 catalog: one URL per interface.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct V2Endpoint {
    /// Its id.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// Its region.
    #[serde(default, deserialize_with = "lenient")]
    pub region: Option<String>,
    /// The public URL.
    #[serde(default, rename = "publicURL", deserialize_with = "lenient")]
    pub public_url: Option<String>,
    /// The internal URL.
    #[serde(default, rename = "internalURL", deserialize_with = "lenient")]
    pub internal_url: Option<String>,
    /// The admin URL.
    #[serde(default, rename = "adminURL", deserialize_with = "lenient")]
    pub admin_url: Option<String>,
}

/// The version document at an unversioned identity URL (`GET /`): either
/// `{"versions": {"values": [...]}}`, `{"versions": [...]}` or `{"version": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionDocument {
    #[serde(default, deserialize_with = "lenient")]
    versions: Option<VersionList>,
    #[serde(default, deserialize_with = "lenient")]
    version: Option<VersionEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum VersionList {
    Values {
        #[serde(deserialize_with = "lenient_list")]
        values: Vec<VersionEntry>,
    },
    List(#[serde(deserialize_with = "lenient_list")] Vec<VersionEntry>),
}

/// One version of a version document.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionEntry {
    /// `v3.14`, `v2.0`.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// `stable`, `CURRENT`, `deprecated`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Its links (`rel: self` is its URL).
    #[serde(default, deserialize_with = "lenient_list")]
    pub links: Vec<Link>,
}

/// A link of a version document.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Link {
    /// Its relation (`self`).
    #[serde(default, deserialize_with = "lenient")]
    pub rel: Option<String>,
    /// Its URL.
    #[serde(default, deserialize_with = "lenient")]
    pub href: Option<String>,
}

impl VersionDocument {
    /// Every version listed, in document order.
    pub fn versions(&self) -> Vec<&VersionEntry> {
        match (&self.versions, &self.version) {
            (Some(VersionList::Values { values }), _) => values.iter().collect(),
            (Some(VersionList::List(list)), _) => list.iter().collect(),
            (None, Some(v)) => vec![v],
            (None, None) => Vec::new(),
        }
    }

    /// The `self` URL (no trailing slash) of the first version whose id starts with `prefix`.
    pub fn href_of(&self, prefix: &str) -> Option<String> {
        self.versions()
            .into_iter()
            .find(|v| v.id.as_deref().is_some_and(|id| id.starts_with(prefix)))?
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("self"))?
            .href
            .as_deref()
            .map(|h| h.trim_end_matches('/').to_string())
    }
}

/// The body of a 401 that carries an auth receipt (multi-factor
/// authentication): which method sets would complete it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReceiptResponse {
    /// The receipt's data.
    #[serde(default, deserialize_with = "lenient")]
    pub receipt: Option<ReceiptData>,
    /// The method sets any one of which completes the authentication.
    #[serde(default, deserialize_with = "lenient_list")]
    pub required_auth_methods: Vec<Vec<String>>,
}

/// What a receipt says.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReceiptData {
    /// The methods already satisfied.
    #[serde(default, deserialize_with = "lenient_list")]
    pub methods: Vec<String>,
    /// When the receipt expires.
    #[serde(default, deserialize_with = "lenient")]
    pub expires_at: Option<String>,
}

// ---------------------------------------------------------------- requests

/// Serialize a secret (only in a request body bound for the server).
fn expose<S: Serializer>(s: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose_secret())
}

/// `{"id": ...}` or `{"name": ...}`: a domain, or a project (then maybe
/// with its domain).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Ref {
    /// By id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// By name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The domain of a project by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Box<Ref>>,
}

impl Ref {
    /// By id.
    pub fn id(id: impl Into<String>) -> Self {
        Ref {
            id: Some(id.into()),
            ..Ref::default()
        }
    }

    /// By name.
    pub fn name(name: impl Into<String>) -> Self {
        Ref {
            name: Some(name.into()),
            ..Ref::default()
        }
    }

    /// With a domain.
    pub fn in_domain(mut self, domain: Ref) -> Self {
        self.domain = Some(Box::new(domain));
        self
    }
}

/// A user in a v3 auth request.
#[derive(Debug, Clone, Serialize)]
pub struct UserRequest {
    /// By id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// By name (then with a domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's domain (with a name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Ref>,
    /// The password (`password` method).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub password: Option<SecretString>,
    /// The passcode (`totp` method).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_opt")]
    pub passcode: Option<SecretString>,
}

fn expose_opt<S: Serializer>(s: &Option<SecretString>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => expose(s, ser),
        None => ser.serialize_none(),
    }
}

/// `{"user": ...}` (the `password` and `totp` methods).
#[derive(Debug, Clone, Serialize)]
pub struct UserMethod {
    /// The user, with the secret of the method.
    pub user: UserRequest,
}

/// `{"id": <token>}` (the `token` method).
#[derive(Debug, Clone, Serialize)]
pub struct TokenMethod {
    /// The token.
    #[serde(serialize_with = "expose")]
    pub id: SecretString,
}

/// The `application_credential` method.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationCredentialMethod {
    /// By id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// By name (then with its user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its user (with a name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRequest>,
    /// Its secret.
    #[serde(serialize_with = "expose")]
    pub secret: SecretString,
}

/// The `identity` of a v3 auth request: its methods, each with its data.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdentityRequest {
    /// The method names, in order.
    pub methods: Vec<&'static str>,
    /// `password`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<UserMethod>,
    /// `token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenMethod>,
    /// `totp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<UserMethod>,
    /// `application_credential`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<ApplicationCredentialMethod>,
}

/// The `scope` of a v3 auth request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum ScopeRequest {
    /// `{"project": {"id"}}` or `{"project": {"name", "domain"}}`.
    #[serde(rename = "project")]
    Project(Ref),
    /// `{"domain": {"id"}}` or `{"domain": {"name"}}`.
    #[serde(rename = "domain")]
    Domain(Ref),
    /// `{"system": {"all": true}}`.
    #[serde(rename = "system")]
    System(std::collections::BTreeMap<String, bool>),
    /// `{"OS-TRUST:trust": {"id"}}`.
    #[serde(rename = "OS-TRUST:trust")]
    Trust {
        /// The trust id.
        id: String,
    },
}

/// `{"auth": {"identity", "scope"}}`, the body of `POST /v3/auth/tokens`.
#[derive(Debug, Clone, Serialize)]
pub struct V3AuthRequest {
    /// The request.
    pub auth: V3Auth,
}

/// The `auth` object of a v3 request.
#[derive(Debug, Clone, Serialize)]
pub struct V3Auth {
    /// Who.
    pub identity: IdentityRequest,
    /// For what (unscoped when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeRequest>,
}

/// `{"auth": {...}}`, the body of `POST /v2.0/tokens`.
#[derive(Debug, Clone, Serialize)]
pub struct V2AuthRequest {
    /// The request.
    pub auth: V2Auth,
}

/// The `auth` object of a v2.0 request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct V2Auth {
    /// A user's password.
    #[serde(
        rename = "passwordCredentials",
        skip_serializing_if = "Option::is_none"
    )]
    pub password_credentials: Option<V2PasswordCredentials>,
    /// An existing token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenMethod>,
    /// The tenant by id.
    #[serde(rename = "tenantId", skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The tenant by name.
    #[serde(rename = "tenantName", skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
}

/// `passwordCredentials` of a v2.0 request.
#[derive(Debug, Clone, Serialize)]
pub struct V2PasswordCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    #[serde(serialize_with = "expose")]
    pub password: SecretString,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_bodies_are_keystones() {
        let p = ScopeRequest::Project(Ref::name("demo").in_domain(Ref::id("default")));
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"project": {"name": "demo", "domain": {"id": "default"}}})
        );
        let t = ScopeRequest::Trust { id: "t1".into() };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"OS-TRUST:trust": {"id": "t1"}})
        );
        let s = ScopeRequest::System([("all".to_string(), true)].into());
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"system": {"all": true}})
        );
    }

    #[test]
    fn secrets_only_in_the_serialized_body() {
        let m = TokenMethod {
            id: SecretString::from("tok-secret"),
        };
        assert!(!format!("{m:?}").contains("tok-secret"));
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"id": "tok-secret"})
        );
    }

    #[test]
    fn version_documents_in_all_three_shapes() {
        let link = json!([{"rel": "self", "href": "http://k/v3/"}]);
        for doc in [
            json!({"versions": {"values": [{"id": "v3.14", "links": link}]}}),
            json!({"versions": [{"id": "v3.14", "links": link}]}),
            json!({"version": {"id": "v3.14", "links": link}}),
        ] {
            let d: VersionDocument = serde_json::from_value(doc).unwrap();
            assert_eq!(d.href_of("v3").as_deref(), Some("http://k/v3"));
            assert_eq!(d.href_of("v2.0"), None);
        }
        let d: VersionDocument = serde_json::from_value(json!({"versions": 5})).unwrap();
        assert!(d.versions().is_empty());
    }
}

//! Version discovery as keystoneauth and the python clients do it.
//!
//! A catalog endpoint does not always serve its own version document:
//! Cinder's is `…/v3/<project_id>`, where `GET` is a 404; the document is
//! at `…/v3/` and at the unversioned root. Discovery therefore asks, in
//! order, the endpoint, the endpoint without its project id, and the root,
//! and takes the first version document it finds. A document found above
//! the endpoint may list other major versions (the root lists them all):
//! only those of the endpoint's own major version are kept when there are
//! any.
//!
//! The result is cached per endpoint (in the [`HttpClient`](crate::HttpClient),
//! shared by its service clients): a client pointed at another endpoint
//! (`with_endpoint_override`) discovers that endpoint's versions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::microversion::ApiVersion;

/// The version documents found so far, by endpoint.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    by_endpoint: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Vec<ApiVersion>>>>>,
}

impl DiscoveryCache {
    /// The cell of `endpoint` (filled once, by the first caller).
    pub(crate) fn cell(&self, endpoint: &str) -> Arc<tokio::sync::OnceCell<Vec<ApiVersion>>> {
        match self.by_endpoint.lock() {
            Ok(mut map) => map.entry(endpoint.to_string()).or_default().clone(),
            // a poisoned map only costs a fresh discovery
            Err(_) => Arc::default(),
        }
    }
}

/// Where to look for the version document of `endpoint`, in order.
pub(crate) fn candidates(endpoint: &str, project_id: Option<&str>) -> Vec<String> {
    let mut out = vec![endpoint.to_string()];
    let Ok(url) = url::Url::parse(endpoint) else {
        return out;
    };
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let with_path = |segs: &[&str]| {
        let mut u = url.clone();
        u.set_query(None);
        u.set_fragment(None);
        let path = if segs.is_empty() {
            "/".to_string()
        } else {
            format!("/{}/", segs.join("/"))
        };
        u.set_path(&path);
        u.to_string()
    };
    // without the project id (and what follows it)
    if let Some(pid) = project_id.filter(|p| !p.is_empty())
        && let Some(i) = segments
            .iter()
            .position(|s| *s == pid || s.strip_prefix("AUTH_") == Some(pid))
    {
        out.push(with_path(&segments[..i]));
    }
    // the unversioned root: the path before the version segment
    if let Some(i) = segments.iter().position(|s| major_of(s).is_some()) {
        out.push(with_path(&segments[..i]));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|u| seen.insert(u.trim_end_matches('/').to_string()));
    out
}

/// The major version of a version segment or id (`v3`, `v2.1`, `v3.0`).
fn major_of(segment: &str) -> Option<u64> {
    let rest = segment
        .strip_prefix('v')
        .or_else(|| segment.strip_prefix('V'))?;
    let major = rest.split('.').next()?;
    if rest
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        major.parse().ok()
    } else {
        None
    }
}

/// The versions of a document found at a candidate above `endpoint`: only
/// the endpoint's major version, when the document has it.
pub(crate) fn for_endpoint(endpoint: &str, versions: Vec<ApiVersion>) -> Vec<ApiVersion> {
    let major = url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.path_segments().and_then(|mut s| s.find_map(major_of)));
    let Some(major) = major else {
        return versions;
    };
    if !versions.iter().any(|v| major_of(&v.id) == Some(major)) {
        return versions;
    }
    versions
        .into_iter()
        .filter(|v| major_of(&v.id) == Some(major))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_scoped_endpoint_falls_back_to_the_version_then_the_root() {
        assert_eq!(
            candidates("http://h:8776/v3/abc123", Some("abc123")),
            [
                "http://h:8776/v3/abc123",
                "http://h:8776/v3/",
                "http://h:8776/"
            ]
        );
        assert_eq!(
            candidates("http://h/volume/v3/abc123/", Some("abc123")),
            [
                "http://h/volume/v3/abc123/",
                "http://h/volume/v3/",
                "http://h/volume/"
            ]
        );
        // Swift's AUTH_<project>
        assert_eq!(
            candidates("http://h:8080/v1/AUTH_p", Some("p")),
            [
                "http://h:8080/v1/AUTH_p",
                "http://h:8080/v1/",
                "http://h:8080/"
            ]
        );
        // no project id in the path: the endpoint, then the root
        assert_eq!(
            candidates("http://h:8774/v2.1", Some("abc")),
            ["http://h:8774/v2.1", "http://h:8774/"]
        );
        // an unversioned endpoint is its own root
        assert_eq!(candidates("http://h:9292", None), ["http://h:9292"]);
        assert_eq!(candidates("not a url", None), ["not a url"]);
    }

    #[test]
    fn versions_found_above_the_endpoint_keep_its_major() {
        let v = |id: &str| ApiVersion {
            id: id.into(),
            status: None,
            min_microversion: None,
            max_microversion: None,
        };
        let all = vec![v("v2.0"), v("v2.1"), v("v3.0")];
        let ids = |vs: Vec<ApiVersion>| vs.into_iter().map(|v| v.id).collect::<Vec<_>>();
        assert_eq!(ids(for_endpoint("http://h/v3/p", all.clone())), ["v3.0"]);
        assert_eq!(
            ids(for_endpoint("http://h/v2.1", all.clone())),
            ["v2.0", "v2.1"]
        );
        assert_eq!(ids(for_endpoint("http://h/", all.clone())).len(), 3);
        assert_eq!(ids(for_endpoint("http://h/v9", all)).len(), 3);
        assert_eq!(major_of("v3"), Some(3));
        assert_eq!(major_of("version"), None);
        assert_eq!(major_of("v2."), None);
    }
}

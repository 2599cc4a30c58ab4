//! Marker pagination of the compute service's lists (Nova's: a `next` link
//! only when more items follow). A leaf.

use std::collections::BTreeMap;

use serde_json::Value;

/// One page of `items` (marker + limit, default limit 1000), cloning only that page.
pub(super) fn page<'a>(
    items: impl Iterator<Item = &'a Value>,
    query: &BTreeMap<String, String>,
) -> (Vec<Value>, Option<String>) {
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000)
        .max(1);
    let mut items = items.peekable();
    if let Some(m) = query.get("marker") {
        // skip through the marker; an unknown marker gives an empty page
        let mut found = false;
        for i in items.by_ref() {
            if i["id"].as_str() == Some(m.as_str()) {
                found = true;
                break;
            }
        }
        if !found {
            return (Vec::new(), None);
        }
    }
    let page: Vec<Value> = items.by_ref().take(limit).cloned().collect();
    let more = items.peek().is_some();
    let next = if more {
        page.last()
            .and_then(|l| l["id"].as_str())
            .map(str::to_string)
    } else {
        None
    };
    (page, next)
}

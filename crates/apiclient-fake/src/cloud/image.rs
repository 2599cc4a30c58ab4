//! The fake image service, Glance-shaped: `/image/v2/images` (marker
//! pagination with a `next` link) and an image by id.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::paging::page;
use super::state::State;
use crate::reply::{RespBody, full, json_resp, not_found};

/// Seeded image `i`: `image-<i>`, active.
pub(super) fn seeded_image(i: usize) -> Value {
    json!({"id": format!("img-{i:06}"), "name": format!("image-{i}"), "status": "active"})
}

/// What the image service answers at `p` (under `/image`; the token is
/// already checked).
pub(super) fn route(
    s: &State,
    method: &Method,
    p: &str,
    query: &BTreeMap<String, String>,
) -> Response<RespBody> {
    match (method.as_str(), p) {
        ("GET", "/image/v2/images") => {
            let (items, next) = page(s.images.iter(), query);
            let mut body =
                json!({"images": items, "first": "/v2/images", "schema": "/v2/schemas/images"});
            if let Some(marker) = next {
                let limit = query
                    .get("limit")
                    .map(|l| format!("limit={l}&"))
                    .unwrap_or_default();
                body["next"] = json!(format!("/v2/images?{limit}marker={marker}"));
            }
            json_resp(StatusCode::OK, &body)
        }
        ("GET", _) if p.starts_with("/image/v2/images/") => {
            let id = p.trim_start_matches("/image/v2/images/");
            match s.images.iter().find(|i| i["id"].as_str() == Some(id)) {
                Some(img) => json_resp(StatusCode::OK, img),
                None => full(
                    StatusCode::NOT_FOUND,
                    &[("content-type", "text/plain".into())],
                    Bytes::from(format!("No image found with ID {id}")),
                ),
            }
        }
        _ => not_found(&format!("Resource {p}")),
    }
}

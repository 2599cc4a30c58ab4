//! FakeCloud's image service against what Glance v2 does: the image's
//! fields, relative `next` links, JSON-Patch (its media type, read-only
//! members, all or nothing), tags, streamed uploads with the digests
//! computed as the bytes arrive, downloads with `Content-MD5`, the
//! glance-direct import, and webob's JSON errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use apiclient_fake::FakeCloud;
use apiclient_http::{ApiRequest, Body, ServiceClient};
use bytes::Bytes;
use common::{eventually, keys, raw, token};
use futures_util::StreamExt;
use md5::Digest;
use serde_json::{Value, json};

const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

/// Every member Glance shows of an image without additional properties.
const GLANCE_KEYS: [&str; 22] = [
    "checksum",
    "container_format",
    "created_at",
    "disk_format",
    "file",
    "id",
    "min_disk",
    "min_ram",
    "name",
    "os_hash_algo",
    "os_hash_value",
    "os_hidden",
    "owner",
    "protected",
    "schema",
    "self",
    "size",
    "status",
    "tags",
    "updated_at",
    "virtual_size",
    "visibility",
];

async fn create(image: &ServiceClient, body: Value) -> Value {
    let resp = image.post("/v2/images", &body).await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json().unwrap()
}

async fn get(image: &ServiceClient, id: &str) -> Value {
    image
        .get(&format!("/v2/images/{id}"))
        .await
        .unwrap()
        .json()
        .unwrap()
}

fn patch(id: &str, ops: Value) -> ApiRequest {
    ApiRequest::patch(format!("/v2/images/{id}"))
        .set_header("Content-Type", JSON_PATCH)
        .json(&ops)
}

fn webob(status: &str, title: &str, message: &str) -> Value {
    json!({"message": message, "code": status, "title": title})
}

/// A create answers 201 with every Glance field, queued, owned by the
/// caller's project; a client-chosen UUID is kept, a taken one is 409,
/// read-only members are 403, and a missing image is webob's 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_get_have_glances_fields_and_errors() {
    let cloud = FakeCloud::builder().images(0).start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let image = http.service_client("image");

    let created = create(
        &image,
        json!({"name": "cirros", "disk_format": "qcow2", "container_format": "bare", "tags": ["a", "a", "b"], "os_distro": "cirros"}),
    )
    .await;
    let mut want: Vec<String> = GLANCE_KEYS.iter().map(|k| k.to_string()).collect();
    want.push("os_distro".into());
    want.sort();
    assert_eq!(keys(&created), want);
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(created["status"], "queued");
    assert_eq!(created["visibility"], "shared", "Glance's default");
    assert_eq!(created["owner"], "p-demo");
    assert_eq!(created["tags"], json!(["a", "b"]));
    assert_eq!(created["self"], format!("/v2/images/{id}"));
    assert_eq!(created["file"], format!("/v2/images/{id}/file"));
    assert_eq!(created["schema"], "/v2/schemas/image");
    for k in [
        "size",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "virtual_size",
    ] {
        assert!(created[k].is_null(), "{k}: {}", created[k]);
    }
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(get(&image, id).await, created);

    // a chosen id, then the same id again
    let chosen = "7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60";
    let got = create(&image, json!({"id": chosen, "name": "x"})).await;
    assert_eq!(got["id"], chosen);
    let err = image
        .post("/v2/images", &json!({"id": chosen}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");

    // webob's JSON, as Glance answers
    let tok = token(&http).await;
    let r = raw(
        &cloud,
        "POST",
        "/image/v2/images",
        &[("X-Auth-Token", &tok), ("Content-Type", "application/json")],
        br#"{"name": "x", "status": "active"}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        webob(
            "403 Forbidden",
            "Forbidden",
            "Attribute 'status' is read-only.<br /><br />\n\n\n"
        )
    );
    let r = raw(
        &cloud,
        "GET",
        "/image/v2/images/00000000-0000-4000-8000-000000000000",
        &[("X-Auth-Token", &tok)],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        webob(
            "404 Not Found",
            "Not Found",
            "No image found with ID 00000000-0000-4000-8000-000000000000<br /><br />\n\n\n"
        )
    );
    // the client reads it as one clean line
    let err = image
        .get("/v2/images/00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    // and without a token, Keystone's 401
    let r = raw(&cloud, "GET", "/image/v2/images", &[], b"").await;
    assert_eq!(r.status, 401);
}

/// Pages as Glance's: `limit` and `marker`, a relative `next` on every full
/// page (so the last full page leads to an empty one), `first` with the
/// query; filters by name, tag (all of them), additional property; another
/// project's private image is not listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_relative_next_links_and_filter() {
    let cloud = FakeCloud::builder().images(4).start().await.unwrap();
    let demo = cloud.http_client().unwrap().service_client("image");
    let admin = cloud
        .http_client_builder("admin")
        .unwrap()
        .build()
        .unwrap()
        .service_client("image");
    create(
        &admin,
        json!({"name": "admin-only", "visibility": "private"}),
    )
    .await;
    let a = create(
        &demo,
        json!({"name": "mine", "tags": ["ci", "x"], "os_distro": "cirros"}),
    )
    .await;
    let b = create(&demo, json!({"name": "mine-too", "tags": ["ci"]})).await;

    let page: Value = demo
        .get("/v2/images?limit=3")
        .await
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<&str> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["img-000000", "img-000001", "img-000002"]);
    assert_eq!(page["first"], "/v2/images?limit=3");
    assert_eq!(page["schema"], "/v2/schemas/images");
    assert_eq!(page["next"], "/v2/images?limit=3&marker=img-000002");
    let page: Value = demo
        .get(page["next"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .unwrap();
    let ids: Vec<&str> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "img-000003",
            a["id"].as_str().unwrap(),
            b["id"].as_str().unwrap()
        ],
        "not the admin's private image"
    );
    let last = page["next"].as_str().expect("a full page links on");
    let empty: Value = demo.get(last).await.unwrap().json().unwrap();
    assert_eq!(empty["images"], json!([]));
    assert!(empty.get("next").is_none(), "{empty}");

    // filters: every tag, a name, an additional property; the query rides along
    let tagged: Value = demo
        .get("/v2/images?tag=ci&tag=x")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tagged["images"].as_array().unwrap().len(), 1);
    assert_eq!(tagged["images"][0]["id"], a["id"]);
    let one: Value = demo
        .get("/v2/images?tag=ci&limit=1")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        one["next"],
        format!(
            "/v2/images?tag=ci&limit=1&marker={}",
            a["id"].as_str().unwrap()
        )
    );
    let by_name: Value = demo
        .get("/v2/images?name=mine-too")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(by_name["images"][0]["id"], b["id"]);
    let by_prop: Value = demo
        .get("/v2/images?os_distro=cirros")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(by_prop["images"].as_array().unwrap().len(), 1);
    let err = demo.get("/v2/images?limit=x").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(cloud.count("GET /image/v2/images"), 8);
}

/// PATCH: Glance's media type only (415 with `Accept-Patch` otherwise, and
/// nothing changes), add/replace/remove of top-level members, 403 for a
/// read-only member or removing one of the image's own, 409 for replacing
/// or removing a property it does not have; a refused patch changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_patch_updates_as_glance_does() {
    let cloud = FakeCloud::builder().images(0).start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let image = http.service_client("image");
    let created = create(&image, json!({"name": "before", "doomed": "x"})).await;
    let id = created["id"].as_str().unwrap();

    let patched: Value = image
        .request(patch(
            id,
            json!([
                {"op": "replace", "path": "/name", "value": "after"},
                {"op": "add", "path": "/os_distro", "value": "cirros"},
                {"op": "add", "path": "/a~1b", "value": "slash"},
                {"op": "remove", "path": "/doomed"},
                {"op": "replace", "path": "/min_ram", "value": 128},
                {"op": "replace", "path": "/tags", "value": ["t1", "t1", "t2"]},
            ]),
        ))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(patched["name"], "after");
    assert_eq!(patched["os_distro"], "cirros");
    assert_eq!(patched["a/b"], "slash");
    assert!(patched.get("doomed").is_none());
    assert_eq!(patched["min_ram"], 128);
    assert_eq!(patched["tags"], json!(["t1", "t2"]));
    assert_eq!(get(&image, id).await, patched);

    let tok = token(&http).await;
    let path = format!("/image/v2/images/{id}");
    let send = |ct: &'static str, body: Value| {
        let (cloud, tok, path) = (&cloud, tok.clone(), path.clone());
        async move {
            raw(
                cloud,
                "PATCH",
                &path,
                &[("X-Auth-Token", &tok), ("Content-Type", ct)],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    // plain JSON: 415
    let r = send(
        "application/json",
        json!([{"op": "replace", "path": "/name", "value": "never"}]),
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.header("accept-patch"), Some(JSON_PATCH));
    assert_eq!(
        r.json(),
        webob(
            "415 Unsupported Media Type",
            "Unsupported Media Type",
            "The request media type application/json is not supported by this server.<br /><br />\n\n\n"
        )
    );
    // read-only and reserved members: 403
    for member in ["id", "status", "checksum", "size", "os_hash_value"] {
        let r = send(
            JSON_PATCH,
            json!([{"op": "replace", "path": format!("/{member}"), "value": "x"}]),
        )
        .await;
        assert_eq!(r.status, 403, "{member}");
        assert_eq!(
            r.json()["message"],
            format!("Attribute '{member}' is read-only.<br /><br />\n\n\n")
        );
    }
    let r = send(JSON_PATCH, json!([{"op": "remove", "path": "/name"}])).await;
    assert_eq!(r.status, 403);
    // a property it does not have: 409 (webob's explanation, Glance's detail)
    let r = send(JSON_PATCH, json!([{"op": "remove", "path": "/nope"}])).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        "There was a conflict when trying to complete your request.<br /><br />\nProperty nope does not exist.\n\n"
    );
    // all or nothing: the first operation is not kept
    let r = send(
        JSON_PATCH,
        json!([{"op": "replace", "path": "/name", "value": "half"}, {"op": "replace", "path": "/nope", "value": "x"}]),
    )
    .await;
    assert_eq!(r.status, 409);
    // not a JSON-Patch array, an unknown op, a nested path: 400
    for bad in [
        json!({"op": "replace"}),
        json!([{"op": "move", "path": "/name", "from": "/x"}]),
        json!([{"op": "add", "path": "/a/b", "value": "x"}]),
        json!([{"op": "add", "path": "/min_disk", "value": "ten"}]),
    ] {
        assert_eq!(send(JSON_PATCH, bad.clone()).await.status, 400, "{bad}");
    }
    assert_eq!(get(&image, id).await, patched, "nothing changed");
}

/// Tags: PUT adds (twice is fine), DELETE removes, a missing one is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_added_and_removed() {
    let cloud = FakeCloud::builder().images(0).start().await.unwrap();
    let image = cloud.http_client().unwrap().service_client("image");
    let id = create(&image, json!({"name": "t"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let r = image
            .request(ApiRequest::put(format!("/v2/images/{id}/tags/a%20b%2Fc")))
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    image
        .request(ApiRequest::put(format!("/v2/images/{id}/tags/z")))
        .await
        .unwrap();
    assert_eq!(get(&image, &id).await["tags"], json!(["a b/c", "z"]));
    let r = image
        .delete(&format!("/v2/images/{id}/tags/a%20b%2Fc"))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&image, &id).await["tags"], json!(["z"]));
    let err = image
        .delete(&format!("/v2/images/{id}/tags/nope"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(cloud.count("PUT /image/v2/images/{id}/tags/{tag}"), 3);
}

/// A one-shot body that sends `first`, then waits for `go` before sending
/// `rest`: the fake answers only after the whole body, so what it shows
/// in between is what it did with the bytes as they came.
fn gated_body(first: Bytes, rest: Bytes, go: tokio::sync::oneshot::Receiver<()>) -> Body {
    let len = (first.len() + rest.len()) as u64;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            let _ = go.await;
            Ok(rest)
        }),
    );
    Body::from_stream(stream, Some(len))
}

/// The upload streams: while the first half is in and the second not sent,
/// the image is already `saving`; once done it is `active` with the size,
/// the MD5 and the SHA-512 of what was sent; the download streams it back
/// with `Content-Length` and `Content-MD5`. A second upload is a 409, a
/// wrong media type a 415; an image without data downloads as a 204.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_stream_and_downloads_carry_the_digests() {
    let cloud = FakeCloud::builder().images(1).start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let image = http.service_client("image");
    let id = create(
        &image,
        json!({"name": "data", "disk_format": "raw", "container_format": "bare"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // no data yet: 204
    let empty = image
        .request_streamed(ApiRequest::get(format!("/v2/images/{id}/file")))
        .await
        .unwrap();
    assert_eq!(empty.status(), 204);

    let data: Vec<u8> = (0..6_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let (first, rest) = data.split_at(3_000_000);
    let (go, wait) = tokio::sync::oneshot::channel();
    let upload = {
        let image = image.clone();
        let body = gated_body(
            Bytes::copy_from_slice(first),
            Bytes::copy_from_slice(rest),
            wait,
        );
        let path = format!("/v2/images/{id}/file");
        tokio::spawn(async move {
            image
                .request(
                    ApiRequest::put(path)
                        .set_header("Content-Type", "application/octet-stream")
                        .body(body),
                )
                .await
        })
    };
    eventually(
        "the image is saving mid-upload",
        Duration::from_secs(30),
        || {
            let image = image.clone();
            let id = id.clone();
            async move { get(&image, &id).await["status"] == "saving" }
        },
    )
    .await;
    go.send(()).unwrap();
    let done = upload.await.unwrap().unwrap();
    assert_eq!(done.status(), 204);

    let active = get(&image, &id).await;
    assert_eq!(active["status"], "active");
    assert_eq!(active["size"], data.len() as u64);
    let md5 = hex::encode(md5::Md5::digest(&data));
    assert_eq!(active["checksum"], md5.as_str());
    assert_eq!(active["os_hash_algo"], "sha512");
    assert_eq!(
        active["os_hash_value"],
        hex::encode(sha2::Sha512::digest(&data)).as_str()
    );
    assert_eq!(cloud.count("PUT /image/v2/images/{id}/file"), 1);

    // the download, streamed, with its length and MD5
    let resp = image
        .request_streamed(ApiRequest::get(format!("/v2/images/{id}/file")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(data.len() as u64));
    assert_eq!(
        resp.headers()["content-md5"].to_str().unwrap(),
        md5.as_str()
    );
    let mut got = Vec::new();
    let mut chunks = 0;
    let mut stream = std::pin::pin!(resp.into_stream());
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
        chunks += 1;
    }
    assert!(got == data, "the same bytes");
    assert!(chunks > 1, "streamed in pieces");

    // again: 409; not octet-stream: 415 (and the image is unchanged)
    let again = |ct: &'static str| {
        image.request(
            ApiRequest::put(format!("/v2/images/{id}/file"))
                .set_header("Content-Type", ct)
                .body(b"more".to_vec()),
        )
    };
    assert_eq!(
        again("application/octet-stream")
            .await
            .unwrap_err()
            .status(),
        Some(409)
    );
    assert_eq!(
        again("application/json").await.unwrap_err().status(),
        Some(415)
    );
    assert_eq!(get(&image, &id).await, active);

    // a seeded image has data too
    let seeded = image
        .request_streamed(ApiRequest::get("/v2/images/img-000000/file"))
        .await
        .unwrap();
    assert_eq!(seeded.status(), 200);
}

/// A delete is 204 and removes the image (and its data); a protected image
/// is 403; another project's private image is a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_respects_protection_and_ownership() {
    let cloud = FakeCloud::builder().images(0).start().await.unwrap();
    let image = cloud.http_client().unwrap().service_client("image");
    let admin = cloud
        .http_client_builder("admin")
        .unwrap()
        .build()
        .unwrap()
        .service_client("image");
    let id = create(&image, json!({"name": "gone"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        image
            .delete(&format!("/v2/images/{id}"))
            .await
            .unwrap()
            .status(),
        204
    );
    assert!(
        image
            .get(&format!("/v2/images/{id}"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    let kept = create(&image, json!({"name": "kept", "protected": true})).await;
    let err = image
        .delete(&format!("/v2/images/{}", kept["id"].as_str().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    let private = create(&admin, json!({"name": "theirs", "visibility": "private"})).await;
    let err = image
        .delete(&format!("/v2/images/{}", private["id"].as_str().unwrap()))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    // only the admin may make an image public
    let err = image
        .post("/v2/images", &json!({"visibility": "public"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
}

/// The glance-direct import: stage (`uploading`), import (202,
/// `importing`), `active` after the cloud's status delay with the staged
/// data's digests; importing what was not staged is a 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_glance_direct_import_finishes_after_the_delay() {
    let cloud = FakeCloud::builder()
        .images(0)
        .status_delay(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let image = cloud.http_client().unwrap().service_client("image");
    let info: Value = image.get("/v2/info/import").await.unwrap().json().unwrap();
    assert_eq!(info["import-methods"]["value"], json!(["glance-direct"]));
    let id = create(
        &image,
        json!({"name": "imp", "disk_format": "raw", "container_format": "bare"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let import = json!({"method": {"name": "glance-direct"}});
    let err = image
        .post(&format!("/v2/images/{id}/import"), &import)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "nothing staged");

    let data = vec![42u8; 100_000];
    let r = image
        .request(
            ApiRequest::put(format!("/v2/images/{id}/stage"))
                .set_header("Content-Type", "application/octet-stream")
                .body(data.clone()),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&image, &id).await["status"], "uploading");
    let r = image
        .post(&format!("/v2/images/{id}/import"), &import)
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(get(&image, &id).await["status"], "importing");
    eventually("the import ends", Duration::from_secs(30), || {
        let image = image.clone();
        let id = id.clone();
        async move { get(&image, &id).await["status"] == "active" }
    })
    .await;
    let active = get(&image, &id).await;
    assert_eq!(active["size"], 100_000);
    assert_eq!(
        active["os_hash_value"],
        hex::encode(sha2::Sha512::digest(&data)).as_str()
    );
}

//! A 100 000-item pagination stream holds one page at a time: the heap it
//! holds stays far below what the whole collection takes. This binary has
//! one test and its own counting allocator (the `cap` crate), so nothing else
//! pollutes the numbers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{BaseClient, PageStyle, ResourceMeta, paginate};
use apiclient_fake::FakeCloud;
use apiclient_http::HttpClient;
use cap::Cap;
use futures_util::StreamExt;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_000_item_stream_holds_one_page() {
    let cloud = FakeCloud::builder().servers(0).start().await.unwrap();
    let before_data = ALLOCATOR.allocated();
    cloud.set_servers(100_000);
    let collection_bytes = ALLOCATOR.allocated() - before_data;

    let plugin = V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    let http = HttpClient::builder(plugin).build().unwrap();
    http.authenticate().await.unwrap();
    let client = BaseClient::new(&http, "compute");

    let baseline = ALLOCATOR.allocated();
    let mut peak = 0usize;
    let stream = paginate(
        client,
        "/servers?limit=1000",
        "servers",
        ResourceMeta::new("Server"),
        PageStyle::Links,
    );
    futures_util::pin_mut!(stream);
    let mut n = 0usize;
    while let Some(item) = stream.next().await {
        item.unwrap();
        n += 1;
        // sampled between items: what the stream holds (its buffered page)
        peak = peak.max(ALLOCATOR.allocated().saturating_sub(baseline));
    }
    eprintln!(
        "100000 items: at most {peak} bytes held above baseline; the whole collection takes {collection_bytes} bytes"
    );
    assert_eq!(n, 100_000);
    assert_eq!(cloud.count("GET /v2.1/servers"), 100);
    // One page (client and in-process server together) is a small fraction of the collection.
    assert!(
        peak * 10 < collection_bytes,
        "peak {peak} is not small next to {collection_bytes}"
    );
}

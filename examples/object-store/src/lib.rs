//! An example Swift (OpenStack Object Storage) client on `apiclient-base`:
//! the account, containers and objects with their metadata, marker
//! pagination, uploads and downloads streamed from and to files with their
//! MD5 (and any SHA) checked, Range reads, static large objects uploaded in
//! segments, and temporary URLs.
//!
//! Large transfers never sit in memory: an upload from a file is re-opened
//! when it must be sent again (the replay after a 401), a download goes to
//! a temporary file renamed into place only once its digests match.
//!
//! ```no_run
//! # async fn f(http: apiclient_base::HttpClient) -> Result<(), apiclient_base::Error> {
//! use example_object_store::{DownloadOptions, ListQuery, ObjectStore, UploadOptions};
//! use futures_util::TryStreamExt;
//!
//! let swift = ObjectStore::new(&http);
//! swift.create_container("photos", &Default::default()).await?;
//! // the file's MD5 goes as ETag: Swift refuses what does not match
//! let up = swift
//!     .upload_file("photos", "2024/cat.jpg", "cat.jpg", &UploadOptions::new().meta("owner", "alice"))
//!     .await?;
//! println!("stored, MD5 {}", up.etag);
//! // every object under a prefix, page after page
//! let names: Vec<String> = swift
//!     .all_objects("photos", &ListQuery::prefix("2024/").with_limit(500))
//!     .map_ok(|o| o.name)
//!     .try_collect()
//!     .await?;
//! // back to a file, checked against the ETag as it streams
//! swift.download_to_file("photos", "2024/cat.jpg", "copy.jpg", &DownloadOptions::new()).await?;
//! # let _ = names; Ok(()) }
//! ```

mod large;
mod paths;
mod store;
mod tempurl;
mod types;

pub use large::{LargeDeleted, LargeObjectOptions, LargeUpload, LargeUploaded, Segment};
pub use store::ObjectStore;
pub use tempurl::{TempUrl, hmac_sha256, temp_url_signature};
pub use types::{
    AccountInfo, ContainerEntry, ContainerInfo, DownloadOptions, Downloaded, LargeObjectKind,
    ListQuery, Md5Check, Metadata, ObjectData, ObjectEntry, ObjectInfo, UploadOptions, Uploaded,
};

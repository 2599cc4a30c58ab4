//! FakeCloud: a real HTTP server on 127.0.0.1 that behaves like Keystone v3
//! (for what this library uses), a Nova-shaped compute service, a Glance
//! v2-shaped image service, a Cinder v3-shaped block-storage service, with
//! fault switches and per-route request counters; services of the caller's
//! can be mounted beside (or instead of) them.
//!
//! One idea a module: `server` (the builder, the running cloud's handle, the
//! accept loop), `routes` (counting, faults, dispatch by path, the token
//! check), `fault` (what a fault does to an answer), `keystone` (tokens,
//! catalog, federation), `compute`, `image`, `block_storage`, `mount` (the
//! streaming mounts' body and service); `state` (what the cloud knows),
//! `request` (a buffered request and its caller), `ids` and `paging` are what
//! they share. The object store is the crate's `object_store`.

mod block_storage;
mod compute;
mod fault;
mod ids;
mod image;
mod keystone;
mod mount;
mod paging;
mod request;
mod routes;
mod server;
mod state;

pub use fault::Fault;
pub use mount::MountBody;
pub use server::{FakeCloud, FakeCloudBuilder};
pub use state::{FakeUser, VolumeFailure};

//! FakeCloud: a real HTTP server on 127.0.0.1 that behaves like Keystone v3
//! (for what this library uses), a compute-like and an image-like service,
//! with fault switches and per-route request counters.
//!
//! One idea a module: `server` (the builder, the running cloud's handle, the
//! accept loop), `routes` (counting, faults, dispatch by path, the token
//! check), `fault` (what a fault does to an answer), `keystone` (tokens,
//! catalog, federation), `compute`, `image`; `state` (what the cloud knows)
//! and `paging` are what they share. The object store is the crate's
//! `object_store`.

mod compute;
mod fault;
mod image;
mod keystone;
mod paging;
mod routes;
mod server;
mod state;

pub use fault::Fault;
pub use server::{FakeCloud, FakeCloudBuilder};
pub use state::FakeUser;

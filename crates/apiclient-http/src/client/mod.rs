//! `HttpClient`: the assembled stack, service clients, requests and responses,
//! one idea a module:
//!
//! - `builder`: `HttpClientBuilder`, the assembly of the stack, and the
//!   constructors of `HttpClient`;
//! - `http_client`: `HttpClient`, its call and send paths (deadline, span,
//!   typed errors);
//! - `service`: `ServiceClient`: its defaults, endpoint, version discovery and
//!   microversion negotiation, and the `HttpClient` methods that make and
//!   send through service clients;
//! - `request`: `ApiRequest`;
//! - `response`: `ApiResponse`; `streamed`: `StreamedResponse` with its
//!   progress, digest checks and part file;
//! - `direct`: the client's own stack called as one future (retries and auth
//!   fused over the bare stack) when no layer of the user's wraps it;
//! - `stack`: the stack as one type (`HttpService`), boxing, the typed error
//!   of a stack error: a leaf the others share.
//!
//! The request extensions the layers read (`Deadline`, `AttemptCount`) are in
//! the crate's `extensions` leaf.

mod builder;
mod direct;
mod http_client;
mod request;
mod response;
mod sending;
mod service;
mod stack;
mod streamed;

pub use builder::HttpClientBuilder;
pub use http_client::HttpClient;
pub use request::ApiRequest;
pub use response::ApiResponse;
pub use service::ServiceClient;
pub use stack::{HttpService, StackLayer, buffered_service};
pub use streamed::StreamedResponse;

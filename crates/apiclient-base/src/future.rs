//! [`BoxFuture`], the future the object-safe traits return: the one of
//! `apiclient_auth::transport`, so every crate names the same type. A leaf.

pub use apiclient_auth::transport::BoxFuture;

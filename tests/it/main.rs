//! The workspace integration tests: one binary, real loopback servers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod base;
mod base_docs;
mod base_typed;
mod block_storage;
mod discovery;
mod early_answer;
mod early_answer_real;
mod fixture_copies;
mod fuzz_replay;
mod hardening;
mod keystone;
mod kit;
mod network;
mod oidc;
mod production;
mod reliability;
mod signin;
mod store;
mod streaming;
mod support;
mod tls;
mod token_sharing;
mod transfer;
mod wire;

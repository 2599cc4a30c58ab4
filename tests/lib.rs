//! Integration tests live in `it/`; this library is empty, but for the
//! examples of the crates' READMEs (the packaged crates' front pages), run
//! here as doctests.

#[cfg(doctest)]
mod readme_examples {
    #[doc = include_str!("../crates/apiclient-errors/README.md")]
    struct Errors;
    #[doc = include_str!("../crates/apiclient-auth/README.md")]
    struct Auth;
    #[doc = include_str!("../crates/apiclient-http/README.md")]
    struct Http;
    #[doc = include_str!("../crates/apiclient-base/README.md")]
    struct Base;
    #[doc = include_str!("../crates/apiclient-fake/README.md")]
    struct Fake;
    #[doc = include_str!("../crates/apiclient-cli/README.md")]
    struct Cli;
}

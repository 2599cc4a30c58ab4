//! The `apiclient` command line (work in progress).

fn main() {}

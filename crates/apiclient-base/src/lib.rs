//! apiclient-base (work in progress).

//! apiclient-auth (work in progress).

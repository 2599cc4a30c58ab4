//! apiclient-http (work in progress).

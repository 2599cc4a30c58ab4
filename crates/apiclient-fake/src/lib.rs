//! apiclient-fake (work in progress).

//! Keystone tests (see below).

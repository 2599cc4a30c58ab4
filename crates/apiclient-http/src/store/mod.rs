//! Token stores ("store authentication information in a keyring"): where
//! tokens are kept between clients and between runs, so that a client does
//! not authenticate when another already has.
//!
//! - Entries are keyed by the plugin's
//!   [`cache_key`](apiclient_auth::AuthPlugin::cache_key) (auth URL, user,
//!   scope, plugin; never a secret). A plugin without one is never stored
//!   nor loaded: no two users can meet in one entry.
//! - A store is consulted before authenticating and written after every
//!   authentication. A stored token the server rejects costs one
//!   re-authentication, not an error; expired or corrupt entries are
//!   ignored, never a crash.
//! - Sharing: a store that locks ([`TokenStore::try_lock`]; the
//!   [`FileTokenStore`] between the processes of one machine, the
//!   [`MemoryTokenStore`] between the clients of one process) is locked per
//!   key from "load" to "save", so N clients starting at once authenticate
//!   once: the others wait (at most [`TokenStore::lock_wait`], then they
//!   authenticate on their own) and read the entry.
//! - Re-scoping: an entry remembers its credentials
//!   ([`credentials_key`](apiclient_auth::AuthPlugin::credentials_key)); a
//!   client with no entry for its scope re-scopes a valid token of the same
//!   credentials under another scope (Keystone's `token` method) instead of
//!   sending a password or a passcode again.

mod entry;
mod file;
#[cfg(feature = "keyring")]
mod keyring;
mod lock;
mod memory;
mod token_store;
mod trust;

pub use file::{FileTokenStore, StoredEntry};
#[cfg(feature = "keyring")]
pub use keyring::KeyringTokenStore;
pub use memory::MemoryTokenStore;
pub use token_store::{DEFAULT_LOCK_WAIT, StoreLock, TokenStore, TryLock};

//! The typed API without async (feature `blocking`), for programs with no
//! runtime of their own (scripts, CLIs, tests), as reqwest's `blocking`:
//! the same [`Api<T>`](crate::Api) calls, returning the same
//! [`WithMeta`], [`Page`] and [`Error`] values, each call run to its end on
//! a tokio runtime the [`Client`] owns.
//!
//! ```no_run
//! use apiclient_auth::typed::{Scope, V3Password};
//! use apiclient_base::blocking::Client;
//! use apiclient_base::{Error, HttpClient, ResourceInfo};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // the HTTP client is built on the blocking client's runtime
//!     let client = Client::new(|| {
//!         HttpClient::builder(
//!             V3Password::new("https://keystone.example.com/v3", "demo", "secret")
//!                 .user_domain_name("Default")
//!                 .scope(Scope::project_name("demo", "Default")),
//!         )
//!         .build()
//!     })?;
//!     let servers = client.dynamic(client.service_client("compute"), ResourceInfo::new("server", "servers"));
//!     for server in servers.list_all(&serde_json::json!({"limit": 100})) {
//!         let server = server?;
//!         println!("{:?} {:?}", server.name(), server.status());
//!     }
//!     let web = servers.find("web-1")?;
//!     let id = web.id().unwrap_or_default();
//!     servers.wait_for_status(id, "ACTIVE")?;
//!     Ok(())
//! }
//! ```
//!
//! **Limits.**
//! - A call from inside a tokio runtime (an `async fn`, a task, a
//!   `spawn_blocking` closure: any thread where
//!   `tokio::runtime::Handle::try_current()` finds a runtime) would block
//!   that runtime's thread: it is refused with an
//!   [`InvalidKind::State`] error (a waiter's
//!   [`WaitError::Request`]), never a panic, and nothing is sent. Async
//!   code uses [`Api`](crate::Api) itself.
//! - The runtime is a multi-threaded tokio runtime with one worker thread
//!   (it runs the connection pool's tasks while no call is in progress); a
//!   call runs on the calling thread. Calls from several threads at once
//!   are fine ([`Client`] and [`Api`] are `Clone`, `Send` and `Sync`).
//! - The runtime lives as long as the [`Client`] or any [`Api`] or
//!   [`ListAll`] made from it, and is shut down when the last goes: its
//!   threads are stopped (waiting at most a second for them, or not at
//!   all when that happens inside an async context, where the drop must
//!   not block — it never panics).
//! - The [`HttpClient`] and the service clients made from it are the async
//!   ones: used outside the blocking client (on another runtime), they
//!   open their connections on that runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use apiclient_errors::{Error, InvalidKind};
use apiclient_http::{HttpClient, ServiceClient};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{ApiObject, ResourceInfo, ResourceType, ResponseMeta, WithMeta};
use crate::dynamic::DynamicResource;
use crate::page::{Page, PageToken};
use crate::wait::{Wait, WaitError};

/// The runtime, shut down when the last holder goes.
struct Runtime {
    rt: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    /// `fut` run to its end on the calling thread, or the typed error of a
    /// call from inside an async context.
    fn run<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                InvalidKind::State,
                "a blocking call inside an async runtime would block its thread: use the async Api there",
            ));
        }
        match &self.rt {
            Some(rt) => Ok(rt.block_on(fut)),
            None => Err(Error::invalid(
                InvalidKind::State,
                "the blocking client's runtime is shut down",
            )),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Blocking here would panic (and stall the caller's runtime).
            rt.shutdown_background();
        } else {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A blocking client: an [`HttpClient`] built on a tokio runtime of its
/// own, which runs each call of the [`Api`]s made from it. `Clone` (one
/// runtime), `Send` and `Sync`. See the [module](self) for its limits.
#[derive(Clone)]
pub struct Client {
    http: HttpClient,
    rt: Arc<Runtime>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A runtime (one worker thread, named `apiclient-blocking`), and the
    /// HTTP client `build` makes on it (`build` runs inside the runtime's
    /// context, where the connection pool is made). `build`'s error, or a
    /// [`Error::Config`] when the runtime cannot start.
    pub fn new(build: impl FnOnce() -> Result<HttpClient, Error>) -> Result<Client, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("apiclient-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config {
                message: "cannot start the blocking client's runtime".into(),
                source: Some(Box::new(e)),
            })?;
        let http = {
            let _inside = rt.enter();
            build()
        };
        // (on an error, the runtime goes without blocking an async caller)
        let rt = Arc::new(Runtime { rt: Some(rt) });
        Ok(Client { http: http?, rt })
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The service client of `service_type` (the configuration's
    /// per-service settings applied): [`HttpClient::service_client`].
    pub fn service_client(&self, service_type: &str) -> ServiceClient {
        self.http.service_client(service_type)
    }

    /// Run any future of this crate (a microversion negotiation, a call of
    /// the async [`Api`](crate::Api) not mirrored here) to its end on the
    /// runtime; from inside an async context, the
    /// [`InvalidKind::State`] error of the [module](self) instead.
    ///
    /// ```no_run
    /// # fn f(client: apiclient_base::blocking::Client) -> Result<(), apiclient_base::Error> {
    /// use apiclient_base::Microversion;
    /// let compute = client.block_on(
    ///     client
    ///         .service_client("compute")
    ///         .with_negotiated_microversion(Microversion::new(2, 1), Microversion::new(2, 79)),
    /// )??;
    /// # Ok(()) }
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        self.rt.run(fut)
    }

    /// The blocking manager of `T` on `service`: [`Api::new`](crate::Api::new).
    pub fn api<T: ResourceType>(&self, service: ServiceClient) -> Api<T> {
        self.wrap(crate::Api::new(service))
    }

    /// The blocking manager of a type known at run time:
    /// [`Api::dynamic`](crate::Api::dynamic).
    pub fn dynamic(&self, service: ServiceClient, info: ResourceInfo) -> Api<DynamicResource> {
        self.wrap(crate::Api::dynamic(service, info))
    }

    /// The blocking form of an async `Api` (any collection, e.g. one made
    /// with [`Api::with_info`](crate::Api::with_info)).
    pub fn wrap<T: ApiObject>(&self, api: crate::Api<T>) -> Api<T> {
        Api {
            api,
            rt: self.rt.clone(),
        }
    }
}

/// The blocking form of [`Api<T>`](crate::Api): each method is the async
/// one of the same name, run to its end. `Clone`; the runtime lives as long
/// as it does.
pub struct Api<T> {
    api: crate::Api<T>,
    rt: Arc<Runtime>,
}

impl<T> Clone for Api<T> {
    fn clone(&self) -> Self {
        Api {
            api: self.api.clone(),
            rt: self.rt.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Api<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Api").field(&self.api).finish()
    }
}

impl<T: ApiObject> Api<T> {
    /// The async `Api` (to share its collection with async code).
    pub fn as_async(&self) -> &crate::Api<T> {
        &self.api
    }

    /// [`Api::list`](crate::Api::list): one page of the collection.
    pub fn list<Q: Serialize + ?Sized>(&self, query: &Q) -> Result<WithMeta<Vec<T>>, Error> {
        self.rt.run(self.api.list(query))?
    }

    /// [`Api::list_page`](crate::Api::list_page): one page with the token
    /// of the next.
    pub fn list_page<Q: Serialize + ?Sized>(&self, query: &Q) -> Result<Page<T>, Error> {
        self.rt.run(self.api.list_page(query))?
    }

    /// [`Api::list_page_from`](crate::Api::list_page_from): the page a
    /// token names.
    pub fn list_page_from(&self, token: &PageToken) -> Result<Page<T>, Error> {
        self.rt.run(self.api.list_page_from(token))?
    }

    /// [`Api::list_all`](crate::Api::list_all) as an iterator: every
    /// resource, one page in memory at a time, each page fetched when the
    /// iteration reaches it. An error ends it (after the error).
    pub fn list_all<Q: Serialize + ?Sized>(&self, query: &Q) -> ListAll<T> {
        ListAll {
            stream: Some(Box::pin(self.api.list_all(query))),
            rt: self.rt.clone(),
        }
    }

    /// [`Api::get`](crate::Api::get).
    pub fn get(&self, id: &str) -> Result<WithMeta<T>, Error> {
        self.rt.run(self.api.get(id))?
    }

    /// [`Api::get_opt`](crate::Api::get_opt): a 404 is `Ok(None)`.
    pub fn get_opt(&self, id: &str) -> Result<Option<WithMeta<T>>, Error> {
        self.rt.run(self.api.get_opt(id))?
    }

    /// [`Api::head`](crate::Api::head): whether it exists.
    pub fn head(&self, id: &str) -> Result<bool, Error> {
        self.rt.run(self.api.head(id))?
    }

    /// [`Api::create`](crate::Api::create).
    pub fn create<B: Serialize + ?Sized>(&self, body: &B) -> Result<WithMeta<T>, Error> {
        self.rt.run(self.api.create(body))?
    }

    /// [`Api::create_as`](crate::Api::create_as): the answer as an `R`
    /// (Nova's partial server).
    pub fn create_as<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        body: &B,
    ) -> Result<WithMeta<R>, Error> {
        self.rt.run(self.api.create_as(body))?
    }

    /// [`Api::update`](crate::Api::update).
    pub fn update<B: Serialize + ?Sized>(&self, id: &str, body: &B) -> Result<WithMeta<T>, Error> {
        self.rt.run(self.api.update(id, body))?
    }

    /// [`Api::patch`](crate::Api::patch): a JSON-Patch.
    pub fn patch<P: Serialize + ?Sized>(&self, id: &str, ops: &P) -> Result<WithMeta<T>, Error> {
        self.rt.run(self.api.patch(id, ops))?
    }

    /// [`Api::delete`](crate::Api::delete).
    pub fn delete(&self, id: &str) -> Result<ResponseMeta, Error> {
        self.rt.run(self.api.delete(id))?
    }

    /// [`Api::action`](crate::Api::action).
    pub fn action<B: Serialize + ?Sized>(
        &self,
        id: &str,
        name: &str,
        body: &B,
    ) -> Result<WithMeta<Option<Value>>, Error> {
        self.rt.run(self.api.action(id, name, body))?
    }

    /// [`Api::find`](crate::Api::find): by id, else by exact name.
    pub fn find(&self, name_or_id: &str) -> Result<T, Error> {
        self.rt.run(self.api.find(name_or_id))?
    }

    /// [`Api::wait_for_status`](crate::Api::wait_for_status).
    pub fn wait_for_status(&self, id: &str, status: &str) -> Result<WithMeta<T>, WaitError> {
        self.rt.run(self.api.wait_for_status(id, status))?
    }

    /// [`Api::wait_for`](crate::Api::wait_for).
    pub fn wait_for(&self, id: &str, wait: &Wait) -> Result<WithMeta<T>, WaitError> {
        self.rt.run(self.api.wait_for(id, wait))?
    }

    /// [`Api::wait_until`](crate::Api::wait_until).
    pub fn wait_until<F: FnMut(&T) -> bool>(
        &self,
        id: &str,
        done: F,
    ) -> Result<WithMeta<T>, WaitError> {
        self.rt.run(self.api.wait_until(id, done))?
    }

    /// [`Api::wait_until_with`](crate::Api::wait_until_with).
    pub fn wait_until_with<F: FnMut(&T) -> bool>(
        &self,
        id: &str,
        wait: &Wait,
        done: F,
    ) -> Result<WithMeta<T>, WaitError> {
        self.rt.run(self.api.wait_until_with(id, wait, done))?
    }

    /// [`Api::wait_for_delete`](crate::Api::wait_for_delete).
    pub fn wait_for_delete(&self, id: &str) -> Result<(), WaitError> {
        self.rt.run(self.api.wait_for_delete(id))?
    }

    /// [`Api::wait_for_delete_with`](crate::Api::wait_for_delete_with).
    pub fn wait_for_delete_with(&self, id: &str, wait: &Wait) -> Result<(), WaitError> {
        self.rt.run(self.api.wait_for_delete_with(id, wait))?
    }
}

/// The stream an [`ListAll`] iterates.
type Items<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// Every resource of a listing, page after page:
/// [`blocking::Api::list_all`](Api::list_all). Ends after the first error.
pub struct ListAll<T> {
    stream: Option<Items<T>>,
    rt: Arc<Runtime>,
}

impl<T> std::fmt::Debug for ListAll<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListAll")
            .field("done", &self.stream.is_none())
            .finish_non_exhaustive()
    }
}

impl<T> Iterator for ListAll<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Result<T, Error>> {
        let stream = self.stream.as_mut()?;
        let item = match self.rt.run(stream.next()) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        if matches!(item, None | Some(Err(_))) {
            self.stream = None;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let made = Client::new(|| {
            HttpClient::builder(apiclient_auth::typed::AdminToken::new(
                "http://127.0.0.1:9/v1",
                "t",
            ))
            .build()
        });
        match made {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn outside_a_runtime_calls_run_and_the_runtime_stops_on_drop() {
        let c = client();
        assert_eq!(c.block_on(async { 1 + 1 }).ok(), Some(2));
        let servers = c.dynamic(
            c.service_client("compute"),
            ResourceInfo::new("server", "servers"),
        );
        // refused before sending: the id cannot be a segment
        let e = servers.get("..").err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Id));
        drop(c);
        drop(servers);
    }

    #[test]
    fn inside_a_runtime_calls_are_refused_and_the_drop_does_not_panic() {
        let c = client();
        let servers = c.dynamic(
            c.service_client("compute"),
            ResourceInfo::new("server", "servers"),
        );
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let Ok(outer) = outer else {
            panic!("no runtime")
        };
        outer.block_on(async move {
            let e = c.block_on(async {}).err();
            assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::State));
            let e = servers.get("s-1").err();
            assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::State));
            match servers.wait_for_delete("s-1") {
                Err(WaitError::Request(e)) => {
                    assert_eq!(e.invalid_kind(), Some(InvalidKind::State))
                }
                other => panic!("{other:?}"),
            }
            let mut all = servers.list_all(&());
            assert!(
                matches!(all.next(), Some(Err(e)) if e.invalid_kind() == Some(InvalidKind::State))
            );
            assert!(all.next().is_none());
            // the last holders go inside the async context
            drop(all);
            drop(servers);
            drop(c);
        });
    }
}

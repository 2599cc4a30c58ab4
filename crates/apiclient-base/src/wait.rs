//! Waiters: poll a resource until a condition holds —
//! [`Api::wait_for_status`] (a target status, with failure statuses),
//! [`Api::wait_for_delete`] (a 404 is done), [`Api::wait_until`] (a
//! predicate) — with the bounds and the backoff of a [`Wait`], and a typed
//! outcome: the final resource with its response metadata, or a
//! [`WaitError`] (timed out, a failure status, a request error).
//!
//! The status is what [`ResourceType::status`](crate::ResourceType::status)
//! returns (a [`DynamicResource`](crate::DynamicResource)'s `status`
//! member), the fault what [`ResourceType::fault`](crate::ResourceType::fault)
//! returns (a dynamic resource's `fault.message`); statuses compare without
//! regard to ASCII case (`active` is Nova's `ACTIVE`).
//!
//! **Bounds.** The first poll is at once, then after each pause: the
//! backoff starts at 1 s and grows by 1.5 up to 15 s ([`Wait::backoff`]),
//! never shorter than a transient error's `Retry-After`. The whole wait —
//! the polls and the pauses — ends at [`Wait::timeout`] (default 10
//! minutes) with [`WaitError::TimedOut`], even in the middle of a request;
//! each poll is one call of the HTTP client, within its own operation
//! timeout (`HttpClientBuilder::operation_timeout`) and retries. A few
//! consecutive transient errors (a 5xx, a 429, a connection refused,
//! closed or timed out; 3 by default, [`Wait::transient_errors`]) are
//! waited out; one more, or any other error, ends the wait with
//! [`WaitError::Request`].
//!
//! **Cancel-safe.** A wait is a plain future: it spawns nothing. Dropping
//! it (a `select!`, a `timeout`, an aborted task) stops it at once; the
//! request in flight, if any, is abandoned with its connection, and the
//! resource is left as it is — nothing goes on in the background.
//!
//! ```no_run
//! use std::time::Duration;
//! use apiclient_base::wait::{Wait, WaitError};
//! use apiclient_base::{Api, DynamicResource};
//!
//! async fn boot(servers: &Api<DynamicResource>, id: &str) -> Result<(), WaitError> {
//!     let wait = Wait::for_status("ACTIVE")
//!         .timeout(Duration::from_secs(300))
//!         .on_progress(|p| eprintln!("{:?} after {:?}", p.status, p.elapsed));
//!     match servers.wait_for(id, &wait).await {
//!         Ok(server) => println!("{id} is up (request {:?})", server.request_id()),
//!         Err(WaitError::FailureState { status, fault, .. }) => {
//!             eprintln!("{id} is {status}: {}", fault.as_deref().unwrap_or("no fault given"));
//!         }
//!         Err(e) => return Err(e),
//!     }
//!     servers.delete(id).await?;
//!     servers.wait_for_delete(id).await
//! }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use apiclient_errors::{ConnectionErrorKind, Error, HttpError, InvalidKind};
use tokio::time::Instant;

use crate::api::{Api, ApiObject, WithMeta};

/// What a [`Wait`]'s progress callback is told after each poll that saw
/// the resource.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WaitProgress<'a> {
    /// The status seen, if the resource has one.
    pub status: Option<&'a str>,
    /// How many polls so far (this one included).
    pub polls: u32,
    /// How long the wait has taken so far.
    pub elapsed: Duration,
}

type ProgressCallback = Arc<dyn Fn(&WaitProgress<'_>) + Send + Sync>;

/// The failure statuses of a status or predicate wait, unless
/// [`Wait::failures`] says others: `error`, any `error_*` (Cinder's
/// `error_extending`, ...), and Glance's `killed`.
const FAILURES: &[&str] = &["error", "error_*", "killed"];

/// The failure statuses of a delete wait: `error_deleting` (Cinder,
/// Manila). An `ERROR` Nova server being deleted is on its way out.
const DELETE_FAILURES: &[&str] = &["error_deleting"];

/// The longest wait a [`Wait`] takes (a longer timeout is cut to it).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// How a waiter waits: its target statuses, its failure statuses, its
/// timeout, its backoff, its budget of transient errors, and a progress
/// callback. [`Wait::new`] (the defaults) changed by the setters.
///
/// ```
/// use std::time::Duration;
/// use apiclient_base::wait::Wait;
///
/// let wait = Wait::for_status("available")
///     .target("in-use")
///     .failures(["error", "error_restoring"])
///     .timeout(Duration::from_secs(120))
///     .backoff(Duration::from_millis(500), Duration::from_secs(10), 2.0)
///     .transient_errors(5);
/// # let _ = wait;
/// ```
#[derive(Clone)]
pub struct Wait {
    timeout: Duration,
    targets: Vec<String>,
    failures: Option<Vec<String>>,
    backoff_start: Duration,
    backoff_max: Duration,
    backoff_factor: f64,
    transient_errors: u32,
    on_progress: Option<ProgressCallback>,
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("timeout", &self.timeout)
            .field("targets", &self.targets)
            .field("failures", &self.failures)
            .field("backoff_start", &self.backoff_start)
            .field("backoff_max", &self.backoff_max)
            .field("backoff_factor", &self.backoff_factor)
            .field("transient_errors", &self.transient_errors)
            .field("on_progress", &self.on_progress.as_ref().map(|_| "Fn"))
            .finish()
    }
}

impl Default for Wait {
    /// No target status; the default failure statuses; 10 minutes; a
    /// backoff from 1 s by 1.5 up to 15 s; 3 transient errors in a row
    /// tolerated; no progress callback.
    fn default() -> Self {
        Wait {
            timeout: Duration::from_secs(600),
            targets: Vec::new(),
            failures: None,
            backoff_start: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15),
            backoff_factor: 1.5,
            transient_errors: 3,
            on_progress: None,
        }
    }
}

impl Wait {
    /// The defaults ([`Wait::default`]).
    pub fn new() -> Self {
        Wait::default()
    }

    /// The defaults, waiting for `status` ([`Api::wait_for`]).
    pub fn for_status(status: impl Into<String>) -> Self {
        Wait::default().target(status)
    }

    /// One more target status: a status wait ([`Api::wait_for`]) is done
    /// when the resource has any of them. Compared without regard to ASCII
    /// case; one ending in `*` matches by prefix.
    pub fn target(mut self, status: impl Into<String>) -> Self {
        self.targets.push(status.into());
        self
    }

    /// The failure statuses (none for an empty list): a resource that
    /// reaches one ends the wait with [`WaitError::FailureState`] (unless it
    /// is also a target). Compared without regard to ASCII case; one ending
    /// in `*` matches by prefix. Default: `error`, `error_*` and `killed`
    /// for status and predicate waits, `error_deleting` for
    /// [`Api::wait_for_delete`].
    pub fn failures<S: Into<String>>(mut self, statuses: impl IntoIterator<Item = S>) -> Self {
        self.failures = Some(statuses.into_iter().map(Into::into).collect());
        self
    }

    /// The most time the whole wait takes, polls and pauses included
    /// (default 10 minutes; at most a year).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// The pause after the first poll (`start`, at least 1 ms), each next
    /// one `factor` times longer (at least 1), up to `max` (default: 1 s,
    /// 1.5, 15 s).
    pub fn backoff(mut self, start: Duration, max: Duration, factor: f64) -> Self {
        self.backoff_start = start.max(Duration::from_millis(1));
        self.backoff_max = max.max(self.backoff_start);
        self.backoff_factor = if factor >= 1.0 { factor } else { 1.0 };
        self
    }

    /// How many transient errors in a row (a 5xx, a 429, a connection
    /// refused, closed or timed out) are waited out (default 3; 0: none).
    pub fn transient_errors(mut self, n: u32) -> Self {
        self.transient_errors = n;
        self
    }

    /// Call `f` after each poll that saw the resource, with its status.
    pub fn on_progress(mut self, f: impl Fn(&WaitProgress<'_>) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// The pause after `pause`.
    fn next_pause(&self, pause: Duration) -> Duration {
        Duration::try_from_secs_f64(pause.as_secs_f64() * self.backoff_factor)
            .map_or(self.backoff_max, |p| p.min(self.backoff_max))
    }
}

/// Whether `status` is `pattern` (ASCII case aside; a pattern ending in `*`
/// by prefix).
fn status_matches(pattern: &str, status: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => status
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => pattern.eq_ignore_ascii_case(status),
    }
}

/// Whether a poll's error is worth another poll: a 5xx, a 429, or a
/// connection refused, closed or timed out.
fn is_transient(e: &Error) -> bool {
    if e.is_server_error() || e.status() == Some(429) {
        return true;
    }
    match e {
        Error::Connection(c) => matches!(
            c.kind(),
            ConnectionErrorKind::Refused
                | ConnectionErrorKind::Dns
                | ConnectionErrorKind::ConnectTimeout
                | ConnectionErrorKind::Timeout
                | ConnectionErrorKind::Deadline
                | ConnectionErrorKind::Closed
        ),
        _ => false,
    }
}

/// Why a wait did not end as asked.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaitError {
    /// The time was up ([`Wait::timeout`]) before the condition held.
    #[non_exhaustive]
    TimedOut {
        /// The status last seen, if any.
        last_status: Option<String>,
        /// How long it was waited.
        waited: Duration,
    },
    /// The resource reached a failure status ([`Wait::failures`]).
    #[non_exhaustive]
    FailureState {
        /// The status, as the server wrote it.
        status: String,
        /// Why, if the resource says ([`ResourceType::fault`](crate::ResourceType::fault)).
        fault: Option<String>,
    },
    /// A poll failed: an error that is not transient (a 404 of a status
    /// wait, a 401, a body that is not the resource, ...), one transient
    /// error more than [`Wait::transient_errors`], or a status wait on a
    /// resource without a status (an [`InvalidKind::Shape`] error).
    Request(Error),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use apiclient_errors::redact::display_safe;
        match self {
            WaitError::TimedOut {
                last_status,
                waited,
            } => {
                write!(f, "the wait timed out after {waited:.1?}")?;
                match last_status {
                    Some(s) => write!(f, " (last status '{}')", display_safe(s, 100)),
                    None => f.write_str(" (no status seen)"),
                }
            }
            WaitError::FailureState { status, fault } => {
                write!(
                    f,
                    "the resource reached the failure status '{}'",
                    display_safe(status, 100)
                )?;
                match fault {
                    Some(fault) => write!(f, ": {}", display_safe(fault, 500)),
                    None => Ok(()),
                }
            }
            WaitError::Request(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for WaitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // transparent: the request error is this error, not its cause
            WaitError::Request(e) => e.source(),
            _ => None,
        }
    }
}

impl From<Error> for WaitError {
    fn from(e: Error) -> Self {
        WaitError::Request(e)
    }
}

/// How a poll loop ended well.
enum Outcome<T> {
    /// The condition held on this resource.
    Found(WithMeta<T>),
    /// A 404, for a delete wait.
    Gone,
}

impl<T: ApiObject> Api<T> {
    /// Wait until the resource has `status` (ASCII case aside), with the
    /// defaults of [`Wait`]: [`wait_for`](Self::wait_for) with
    /// [`Wait::for_status`]`(status)`. The final resource, with the
    /// metadata of the response that showed it.
    pub async fn wait_for_status(&self, id: &str, status: &str) -> Result<WithMeta<T>, WaitError> {
        self.wait_for(id, &Wait::for_status(status)).await
    }

    /// Wait until the resource has one of `wait`'s target statuses
    /// ([`Wait::target`]): polling `GET` as `wait` says, ending on a
    /// failure status ([`WaitError::FailureState`] with the resource's
    /// fault), a 404 or another error that is not transient
    /// ([`WaitError::Request`]), or the timeout ([`WaitError::TimedOut`]).
    /// A `wait` without a target status is an [`InvalidKind::Other`] error,
    /// and nothing is sent; a resource without a status (a type whose
    /// [`ResourceType::status`](crate::ResourceType::status) says none) an
    /// [`InvalidKind::Shape`] error. Cancel-safe (see the [module](crate::wait)).
    pub async fn wait_for(&self, id: &str, wait: &Wait) -> Result<WithMeta<T>, WaitError> {
        if wait.targets.is_empty() {
            return Err(WaitError::Request(Error::invalid(
                InvalidKind::Other,
                "a status wait needs a target status (Wait::target)",
            )));
        }
        let singular = &self.info.singular;
        let outcome = self
            .poll(id, wait, false, |item| match item.object_status() {
                Some(status) => Ok(wait.targets.iter().any(|t| status_matches(t, status))),
                None => Err(Error::invalid(
                    InvalidKind::Shape,
                    format!("the {singular} has no status to wait for"),
                )),
            })
            .await?;
        found(outcome)
    }

    /// Wait until `done` holds for the resource, with the defaults of
    /// [`Wait`]: [`wait_until_with`](Self::wait_until_with).
    ///
    /// ```no_run
    /// # async fn f(servers: apiclient_base::Api<apiclient_base::DynamicResource>) -> Result<(), apiclient_base::wait::WaitError> {
    /// // until the server has no task in progress
    /// let server = servers
    ///     .wait_until("9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b", |s| {
    ///         s.get("OS-EXT-STS:task_state").is_none_or(|t| t.is_null())
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until<F>(&self, id: &str, done: F) -> Result<WithMeta<T>, WaitError>
    where
        F: FnMut(&T) -> bool,
    {
        self.wait_until_with(id, &Wait::default(), done).await
    }

    /// Wait until `done` holds for the resource, polling as `wait` says
    /// (its target statuses are not read; its failure statuses are, after
    /// `done`). The resource that satisfied `done`, with the metadata of
    /// its response; the errors of [`wait_for`](Self::wait_for).
    /// Cancel-safe (see the [module](crate::wait)).
    pub async fn wait_until_with<F>(
        &self,
        id: &str,
        wait: &Wait,
        mut done: F,
    ) -> Result<WithMeta<T>, WaitError>
    where
        F: FnMut(&T) -> bool,
    {
        let outcome = self.poll(id, wait, false, |item| Ok(done(item))).await?;
        found(outcome)
    }

    /// Wait until the resource is gone (a 404), with the defaults of
    /// [`Wait`]: [`wait_for_delete_with`](Self::wait_for_delete_with).
    pub async fn wait_for_delete(&self, id: &str) -> Result<(), WaitError> {
        self.wait_for_delete_with(id, &Wait::default()).await
    }

    /// Wait until the resource is gone: a 404-kind answer
    /// (`is_not_found()`) is done. Ends early on a failure status (by
    /// default only `error_deleting`: an `ERROR` server being deleted is on
    /// its way out) or an error that is not transient; otherwise at the
    /// timeout. Cancel-safe (see the [module](crate::wait)).
    pub async fn wait_for_delete_with(&self, id: &str, wait: &Wait) -> Result<(), WaitError> {
        match self.poll(id, wait, true, |_| Ok(false)).await? {
            Outcome::Gone | Outcome::Found(_) => Ok(()),
        }
    }

    /// The poll loop: `GET` the resource until `done` holds (or, when
    /// `gone_is_done`, a 404), within `wait`'s bounds.
    async fn poll(
        &self,
        id: &str,
        wait: &Wait,
        gone_is_done: bool,
        mut done: impl FnMut(&T) -> Result<bool, Error>,
    ) -> Result<Outcome<T>, WaitError> {
        let failures: Vec<&str> = match &wait.failures {
            Some(list) => list.iter().map(String::as_str).collect(),
            None if gone_is_done => DELETE_FAILURES.to_vec(),
            None => FAILURES.to_vec(),
        };
        let start = Instant::now();
        let deadline = start + wait.timeout;
        let timed_out = |last_status: Option<String>| WaitError::TimedOut {
            last_status,
            waited: start.elapsed(),
        };
        let mut pause = wait.backoff_start;
        let mut transient = 0u32;
        let mut last_status: Option<String> = None;
        let mut polls = 0u32;
        loop {
            polls = polls.saturating_add(1);
            let Ok(got) = tokio::time::timeout_at(deadline, self.get(id)).await else {
                return Err(timed_out(last_status));
            };
            let mut this_pause = pause;
            match got {
                Ok(found) => {
                    transient = 0;
                    let status = found.object_status();
                    if let Some(progress) = &wait.on_progress {
                        progress(&WaitProgress {
                            status,
                            polls,
                            elapsed: start.elapsed(),
                        });
                    }
                    if done(&found)? {
                        return Ok(Outcome::Found(found));
                    }
                    if let Some(status) = status
                        && failures.iter().any(|f| status_matches(f, status))
                    {
                        return Err(WaitError::FailureState {
                            status: status.to_string(),
                            fault: found.object_fault().map(str::to_string),
                        });
                    }
                    last_status = status.map(str::to_string);
                }
                Err(e) if gone_is_done && e.is_not_found() => return Ok(Outcome::Gone),
                Err(e) if transient < wait.transient_errors && is_transient(&e) => {
                    transient += 1;
                    if let Some(after) = e.retry_after() {
                        this_pause = this_pause.max(after);
                    }
                    tracing::debug!(target: "apiclient_base::wait", error = %e, transient, "a transient error while waiting; polling again");
                }
                Err(e) => return Err(WaitError::Request(e)),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(timed_out(last_status));
            }
            let wake = now
                .checked_add(this_pause)
                .map_or(deadline, |w| w.min(deadline));
            tokio::time::sleep_until(wake).await;
            if wake >= deadline {
                return Err(timed_out(last_status));
            }
            pause = wait.next_pause(pause);
        }
    }
}

/// The resource a status or predicate wait ended on (a poll loop that is
/// not a delete wait never ends `Gone`; a 404 is its error).
fn found<T>(outcome: Outcome<T>) -> Result<WithMeta<T>, WaitError> {
    match outcome {
        Outcome::Found(found) => Ok(found),
        Outcome::Gone => Err(WaitError::Request(Error::from(HttpError::new(404)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_without_case_and_by_prefix() {
        assert!(status_matches("active", "ACTIVE"));
        assert!(status_matches("error_*", "error_deleting"));
        assert!(status_matches("ERROR_*", "error_extending"));
        assert!(!status_matches("error_*", "error"));
        assert!(!status_matches("error", "error_deleting"));
        assert!(!status_matches("avail*", "ava"));
        assert!(status_matches("*", "anything"));
        assert!(!status_matches("é*", "e"));
    }

    #[test]
    fn the_backoff_grows_to_its_max_and_the_setters_clamp() {
        let w = Wait::default();
        let mut p = w.backoff_start;
        let mut seen = vec![p];
        for _ in 0..10 {
            p = w.next_pause(p);
            seen.push(p);
        }
        assert_eq!(seen[0], Duration::from_secs(1));
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert!(seen.windows(2).all(|s| s[0] <= s[1]));
        assert_eq!(seen.last().copied(), Some(Duration::from_secs(15)));
        let w = Wait::new().backoff(Duration::ZERO, Duration::ZERO, f64::NAN);
        assert_eq!(w.backoff_start, Duration::from_millis(1));
        assert_eq!(w.next_pause(w.backoff_start), Duration::from_millis(1));
        let w = Wait::new().backoff(
            Duration::from_secs(1),
            Duration::from_secs(60),
            f64::INFINITY,
        );
        assert_eq!(
            w.next_pause(Duration::from_secs(1)),
            Duration::from_secs(60)
        );
        assert_eq!(Wait::new().timeout(Duration::MAX).timeout, MAX_TIMEOUT);
    }

    #[test]
    fn transient_errors_are_5xx_429_and_connection_trouble() {
        use apiclient_errors::ConnectionError;
        assert!(is_transient(&Error::from(HttpError::new(503))));
        assert!(is_transient(&Error::from(HttpError::new(500))));
        assert!(is_transient(&Error::from(HttpError::new(429))));
        assert!(!is_transient(&Error::from(HttpError::new(404))));
        assert!(!is_transient(&Error::from(HttpError::new(401))));
        let conn = |k| Error::from(ConnectionError::new(k, "http://x", None));
        assert!(is_transient(&conn(ConnectionErrorKind::Refused)));
        assert!(is_transient(&conn(ConnectionErrorKind::Timeout)));
        assert!(is_transient(&conn(ConnectionErrorKind::Closed)));
        assert!(!is_transient(&conn(ConnectionErrorKind::Tls)));
        assert!(!is_transient(&Error::invalid(InvalidKind::Id, "x")));
    }

    #[test]
    fn errors_say_what_happened_on_one_line() {
        let e = WaitError::TimedOut {
            last_status: Some("BUILD\n".into()),
            waited: Duration::from_secs(30),
        };
        assert_eq!(
            e.to_string(),
            "the wait timed out after 30.0s (last status 'BUILD\\n')"
        );
        let e = WaitError::FailureState {
            status: "ERROR".into(),
            fault: Some("No valid host was found.".into()),
        };
        assert_eq!(
            e.to_string(),
            "the resource reached the failure status 'ERROR': No valid host was found."
        );
        let e = WaitError::from(Error::from(HttpError::new(404)));
        assert!(matches!(&e, WaitError::Request(r) if r.is_not_found()));
        assert!(std::error::Error::source(&e).is_none());
    }
}

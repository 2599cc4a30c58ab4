//! Waiting without an async runtime of this crate's own (it has none): a
//! cancellable [`sleep`] on a helper thread, and a [`Slot`] a thread fills
//! for a future to take. Both work under any executor. A leaf.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use apiclient_errors::{AuthorizationFailure, Error};

/// A value one side puts and a future takes (a one-shot channel).
pub(crate) struct Slot<T> {
    inner: Mutex<(Option<T>, Option<Waker>, bool)>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Slot {
            inner: Mutex::new((None, None, false)),
        })
    }

    /// Put `value` unless one was put before; returns whether it was.
    pub(crate) fn put(&self, value: T) -> bool {
        let waker = {
            let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if g.2 {
                return false;
            }
            g.0 = Some(value);
            g.2 = true;
            g.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Whether a value was put (taken or not).
    pub(crate) fn is_filled(&self) -> bool {
        self.inner.lock().map(|g| g.2).unwrap_or(true)
    }

    /// The value, once put.
    pub(crate) fn take(self: &Arc<Self>) -> SlotFuture<T> {
        SlotFuture(self.clone())
    }
}

/// The future of [`Slot::take`].
pub(crate) struct SlotFuture<T>(Arc<Slot<T>>);

impl<T> Future for SlotFuture<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.0.inner.lock().unwrap_or_else(|p| p.into_inner());
        match g.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

struct SleepState {
    done: bool,
    cancelled: bool,
    waker: Option<Waker>,
}

/// A pause of a given length on a helper thread; dropping it ends the
/// thread at once.
pub(crate) struct Sleep {
    shared: Arc<(Mutex<SleepState>, Condvar)>,
}

/// Sleep `d` (the thread that counts it is started now).
pub(crate) fn sleep(d: Duration) -> Result<Sleep, Error> {
    let shared = Arc::new((
        Mutex::new(SleepState {
            done: false,
            cancelled: false,
            waker: None,
        }),
        Condvar::new(),
    ));
    let s2 = shared.clone();
    std::thread::Builder::new()
        .name("apiclient-signin-sleep".into())
        .spawn(move || {
            let until = Instant::now() + d;
            let (lock, cv) = &*s2;
            let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let now = Instant::now();
                if g.cancelled || now >= until {
                    break;
                }
                g = match cv.wait_timeout(g, until - now) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
            }
            g.done = true;
            if let Some(w) = g.waker.take() {
                w.wake();
            }
        })
        .map_err(|e| {
            Error::from(AuthorizationFailure::Other(format!(
                "cannot start the sign-in's timer thread: {e}"
            )))
        })?;
    Ok(Sleep { shared })
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.shared.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.done {
            return Poll::Ready(());
        }
        g.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        let (lock, cv) = &*self.shared;
        if let Ok(mut g) = lock.lock() {
            g.cancelled = true;
        }
        cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn sleep_lasts_its_length() {
        let t0 = Instant::now();
        rt().block_on(async { sleep(Duration::from_millis(60)).unwrap().await });
        assert!(t0.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn a_slot_hands_over_the_first_value_only() {
        let slot = Slot::new();
        let s2 = slot.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            assert!(s2.put(1));
            assert!(!s2.put(2));
        });
        assert_eq!(rt().block_on(slot.take()), 1);
        assert!(slot.is_filled());
    }
}

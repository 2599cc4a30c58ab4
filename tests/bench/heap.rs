//! The bench's global allocator: the system allocator, counting the live
//! heap and its peak only in the processes that report memory (cases C, E
//! and F, in child processes that switch it on first thing).
//!
//! Case A (CPU per request) runs with the count off. A count is two or
//! three atomic read-modify-writes on shared cache lines per allocation and
//! per free: on two workers those lines move between the cores on every
//! allocation, a cost no user's program pays, and one that grows with the
//! number of allocations, so it would tilt the ratios against the variant
//! that allocates more. Off, the allocator reads one flag that never
//! changes (a shared, read-only line).
//!
//! The one module of the workspace with `unsafe`: a `GlobalAlloc` is an
//! unsafe trait; every call goes to `System` as it came.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator with an optional count of the live heap.
pub(crate) struct Counting {
    on: AtomicBool,
    live: AtomicIsize,
    peak: AtomicIsize,
}

impl Counting {
    pub(crate) const fn new() -> Self {
        Counting {
            on: AtomicBool::new(false),
            live: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
        }
    }

    /// Count from now on (for the rest of the process).
    pub(crate) fn count(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Bytes live on the heap, of those allocated since [`count`](Self::count)
    /// (frees of older blocks are subtracted too, so read differences).
    pub(crate) fn allocated(&self) -> usize {
        self.live.load(Ordering::SeqCst).max(0) as usize
    }

    /// The most bytes ever live (as [`allocated`](Self::allocated) counts them).
    pub(crate) fn max_allocated(&self) -> usize {
        self.peak.load(Ordering::SeqCst).max(0) as usize
    }

    fn grew(&self, by: usize) {
        if self.on.load(Ordering::Relaxed) {
            let now = self.live.fetch_add(by as isize, Ordering::Relaxed) + by as isize;
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn shrank(&self, by: usize) {
        if self.on.load(Ordering::Relaxed) {
            self.live.fetch_sub(by as isize, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is passed to `System` unchanged; the counters only
// observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on
        unsafe { System.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                self.grew(new_size - layout.size());
            } else {
                self.shrank(layout.size() - new_size);
            }
        }
        p
    }
}

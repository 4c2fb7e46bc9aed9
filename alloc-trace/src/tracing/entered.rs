//! The spans entered on this thread: one frame per enter, in `System` memory (so it is
//! never counted), on a per-thread list from the newest.
//!
//! A span's enter and exit happen on one thread (tracing's guards are `!Send`), and usually
//! in reverse order of entry, so the exited span is the list's head. tracing allows other
//! orders (two guards dropped in the order they were made); then the frame's exit cuts it,
//! and the frames entered after it, out of the thread's chain (`Frame::exit_under`), which
//! loses their numbers and keeps every frame reachable alive.
//!
//! # Safety of the list
//!
//! Every node reachable from [`NEWEST`] came from `sys::boxed`, is owned by the list alone,
//! and is freed only after being unlinked from it. A node is never moved while in the list,
//! so its frame stays pinned from `enter` until its exit has unlinked it from the thread's
//! chain. A thread that exits with spans still entered leaks their nodes, which so stay
//! valid for frames that link to them.

use core::cell::Cell;
use core::pin::Pin;
use core::ptr::{self, NonNull};

use crate::frame::{Ending, Frame};
use crate::per_thread::PerThread;
use crate::site::Site;
use crate::slots::CallNumbers;
use crate::sys;

/// One enter of a span: its frame, and what the frame did, once it has exited.
struct Entered {
    frame: Frame,
    /// The span's id (`Id::into_u64`).
    span: u64,
    /// The next older enter on this thread (null: none).
    older: *mut Entered,
    /// False for an enter of a span already entered on this thread: its frame is not
    /// entered, as what it does is the outer enter's already.
    counts: bool,
    /// Written by the frame's exit if the span allocated or freed meanwhile.
    numbers: Cell<Option<CallNumbers>>,
}

thread_local! {
    /// The newest enter on this thread (null: none). `const`, without `Drop`: no lazy
    /// initialisation, and usable until the thread's last instruction.
    static NEWEST: Cell<*mut Entered> = const { Cell::new(ptr::null_mut()) };
}

/// Enters a frame of `site` for span `span`, under `parent_path` (see
/// `Frame::enter_under`). Nothing is counted in it if `System` memory ran out.
pub(super) fn enter(span: u64, site: &'static Site, parent_path: u32) {
    let _ = NEWEST.try_with(|newest| {
        let again = is_entered(newest.get(), span);
        let Some(node) = sys::boxed(Entered {
            frame: Frame::new(site),
            span,
            older: newest.get(),
            counts: !again,
            numbers: Cell::new(None),
        }) else {
            return;
        };
        newest.set(node.as_ptr());
        if again {
            return;
        }
        // SAFETY: the node stays where it is until `exit` unlinks its frame and frees it
        // (module docs), so its frame is pinned.
        let frame = unsafe { Pin::new_unchecked(&node.as_ref().frame) };
        // The last thing done: what comes after the entry is the span's.
        frame.enter_under(parent_path);
    });
}

/// Exits the newest frame of span `span` on this thread; what it did, if it allocated or
/// freed. `None` also if the span has no frame here (it was entered without this layer).
pub(super) fn exit(span: u64) -> Option<CallNumbers> {
    NEWEST
        .try_with(|newest| {
            let mut newer: *mut Entered = ptr::null_mut();
            let mut cursor = newest.get();
            while let Some(found) = NonNull::new(cursor) {
                // SAFETY: nodes in the list are alive (module docs).
                let node = unsafe { found.as_ref() };
                if node.span != span {
                    newer = cursor;
                    cursor = node.older;
                    continue;
                }
                if node.counts {
                    // The first thing done: what came before is the span's.
                    node.frame.exit_under(node);
                }
                let numbers = node.numbers.get();
                match NonNull::new(newer) {
                    None => newest.set(node.older),
                    // SAFETY: `newer` is a node of the list, owned by it alone.
                    Some(newer) => unsafe { (*newer.as_ptr()).older = node.older },
                }
                // SAFETY: the node came from `sys::boxed`; it is out of the list now, and
                // its frame out of the thread's chain; `node` is not used again.
                let _: Entered = unsafe { sys::unbox(found) };
                return numbers;
            }
            None
        })
        .ok()
        .flatten()
}

/// Exits every frame of span `span` still on this thread's list: for a span that closes
/// while entered here, which only a guard that was never dropped (`mem::forget`) allows.
/// Each ends as an exit would, with what it did; the frames leave the chain, so that nothing
/// runs under a closed span, and a later span given the same id is not mistaken for it.
pub(super) fn forget(span: u64) {
    // Each `exit` takes one of them off the list.
    while NEWEST
        .try_with(|newest| is_entered(newest.get(), span))
        .unwrap_or(false)
    {
        let _ = exit(span);
    }
}

/// Whether span `span` has an enter in the list from `newest`.
fn is_entered(newest: *mut Entered, span: u64) -> bool {
    let mut cursor = newest;
    // SAFETY: nodes in the list are alive (module docs).
    while let Some(node) = unsafe { cursor.as_ref() } {
        if node.span == span {
            return true;
        }
        cursor = node.older;
    }
    false
}

impl Ending for Entered {
    fn untouched(&self, _: &PerThread, _: &'static Site) {}

    fn allocated(&self, t: &PerThread, site: &'static Site, n: &CallNumbers) {
        // A span still open shows the peak of its enters so far (as an async call does).
        if let Some(slot) = super::slot(t, site) {
            slot.peak.raise(n.peak);
        }
        self.numbers.set(Some(*n));
    }
}

//! The ownership view (feature `ownership`): the allocator's side, and the process-wide
//! peak of live bytes.
//!
//! # Who holds a block
//!
//! Every block carries the call path that allocated it in its header (see `header`):
//! the path of the innermost tracked frame when it was allocated (0 outside frames), or,
//! for a `realloc`, when it was last reallocated (a realloc re-owns the block, as dhat
//! books it: the old size is given back to the old path, the new size is the current
//! path's). Each thread counts, per path, the bytes and blocks it allocated under the path
//! minus those it freed of blocks the path owns (see `holding`): the sum over threads is
//! what the path holds, wherever its blocks are freed.
//!
//! An allocation finds the entry of its path through the thread's cached pointer to it,
//! which frames forget when they enter and leave; the next allocation works the path out
//! (`frame::current_path`, which remembers it in the frame) and caches the entry again.
//!
//! # The process peak
//!
//! The process's live bytes are the sum of every thread's own live bytes (what it
//! allocated minus what it freed, from its counters) and the exited threads'. No thread
//! reads another's counters on its hot path. Instead, one thread at a time is the
//! *holder*: when it became the holder it read what every other thread held (its `base`,
//! under the registry lock), and while it stays the holder nobody else has counted
//! anything, so `base + own live` is the process's live bytes, exactly. It compares its
//! own live level with a limit, `best - base`: one more compare on the allocation path,
//! and when it passes, a new best is noted with three stores (the level, the request
//! count, a flag that sends the next free down the slow path).
//!
//! Every other thread has its limit set to [`FORCED`] and its `slow` flag set, so its
//! next allocation, free or realloc takes the cold path, which makes it the holder: it
//! records the old holder's best if it passed the previous one, forces the old holder,
//! and reads its own base. So when threads take turns (one thread; a thread that waits
//! while another runs; a pool whose workers run one job at a time while the others
//! wait), each turn costs one cold path and every level is seen exactly.
//!
//! # Threads that count at the same time share the peak
//!
//! Two threads allocating at once would take the turn from each other at nearly every
//! request, each turn a cold path and the registry's lock (3.7 times `System`'s time on
//! the 2-thread churn, against 1.27 on one thread). So a thread that takes over from a
//! holder that made fewer than [`SHARE_AFTER`] requests and frees in its turn makes the
//! threads *share* instead ([`share_out`]): no holder, and every thread an *allowance*, a
//! limit on its own live level, the slack between the process's level and its best split
//! evenly. The allowances add up to the best, so while every thread stays within its own
//! no new best is possible, and nobody takes the cold path: frees never, allocations only
//! past the allowance ([`exceeded`]). There, the thread adds up the process's level: above
//! the best, it is a new best and the thread becomes the holder (the others stop at their
//! next request, as above); below, it takes the unused slack, or the allowances are split
//! again. Reading another thread's level while it counts can be off by what it counts
//! meanwhile: that is noted (`stale`), and the report says its peak may be approximate.
//! Threads that take turns, even request by request, never count during those reads:
//! their peak stays exact.
//!
//! What a best held per path is recorded lazily, as dhat does: the state of the process
//! at a best is the state until live bytes next go down, so the copy of every path's
//! holdings is made at the first free (or shrinking or re-owning realloc) after it, by
//! the holder, or by the thread taking over before its own request, or by a report.
//!
//! **The moment of the peak** is the process's count of requests (`allocs` in the public
//! sense: `alloc`, `alloc_zeroed` and `realloc` calls) when live bytes first reached the
//! peak: the peak is reached by the `at_request`-th request. When several threads count
//! at the same time, each counts against a base that others change meanwhile: a thread
//! that counted requests after another took over from it, before it noticed, says so
//! (`stale`), and a recorded best whose copy does not add up to it says so (`torn`); the
//! report then says its peak may be approximate, unless it passed them by more: a torn
//! copy that a later best replaced is counted, but only the reported best's own copy
//! matters, and a stale request can have hidden a level only up to the best when it was
//! noticed plus the bytes that stale requests moved (`PeakState::note_stale`). Equal
//! peaks: the first is kept (dhat keeps the last; the bytes are the same, the blocks and
//! the moment can differ).

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::counters::BYTES_BIAS;
use crate::header;
use crate::holding::{FORCED, Held, Tenure};
use crate::paths;
use crate::per_thread::{self, PerThread};
use crate::registry::{self, Everything};
use crate::sys::SysVec;
use crate::thread_exit;

// ---- the allocator's side ---------------------------------------------------------------

/// `GlobalAlloc::alloc` (or `alloc_zeroed`) with the header.
///
/// PERF: the common case (alignment at most 16, the current path's entry at hand, no new
/// best of another thread's) calls nothing but the inner allocator; every rare case is
/// finished by a cold function called last, so that nothing but `size` and the block
/// lives across a call (no callee-saved registers to save).
///
/// # Safety
///
/// As `GlobalAlloc::alloc` for `layout`.
#[inline(always)]
pub(crate) unsafe fn alloc<A: GlobalAlloc>(inner: &A, layout: Layout, zeroed: bool) -> *mut u8 {
    let size = layout.size();
    if layout.align() > header::MIN {
        // SAFETY: the caller's contract.
        return unsafe { alloc_aligned(layout, zeroed, inner) };
    }
    if size > header::MAX_SMALL {
        return ptr::null_mut();
    }
    // SAFETY: 16 is a power of two, and `size + 16` rounded up to 16 does not exceed
    // `isize::MAX` (`size <= MAX_SMALL`); the size is not zero.
    let base = unsafe {
        let outer = Layout::from_size_align_unchecked(size.unchecked_add(header::MIN), header::MIN);
        if zeroed {
            inner.alloc_zeroed(outer)
        } else {
            inner.alloc(outer)
        }
    };
    if base.is_null() {
        return base;
    }
    // SAFETY: the block has `size + 16` bytes: the user's start 16 bytes in.
    unsafe { counted_alloc(header::user_of(base, header::MIN), size) }
}

/// [`alloc`] for alignments above 16: the header is `align` bytes.
///
/// # Safety
///
/// As `GlobalAlloc::alloc` for `layout`.
#[cold]
#[inline(never)]
unsafe fn alloc_aligned<A: GlobalAlloc>(layout: Layout, zeroed: bool, inner: &A) -> *mut u8 {
    let Some(outer) = header::outer(layout) else {
        return ptr::null_mut();
    };
    // SAFETY: `outer` has a non-zero size.
    let base = unsafe {
        if zeroed {
            inner.alloc_zeroed(outer)
        } else {
            inner.alloc(outer)
        }
    };
    if base.is_null() {
        return base;
    }
    let (user, size) = (header::user_of(base, outer.align()), layout.size());
    // SAFETY: the block has `size + H` bytes at alignment `H`: the user's start `H` in.
    // (Not `counted_alloc`, so that the hot path's thread-local access has one caller
    // and is inlined there.)
    match per_thread::with(|t| unsafe { alloc_cold(t, user, size) }) {
        Some(user) => user,
        None => {
            // SAFETY: as above.
            unsafe { header::write(user, paths::ROOT, size) };
            user
        }
    }
}

/// Counts a new block of `size` bytes at `user` and writes its header; returns `user`.
///
/// # Safety
///
/// `user` is `base + H` of a new inner block of `size + H` bytes (`H >= 16`).
#[inline(always)]
unsafe fn counted_alloc(user: *mut u8, size: usize) -> *mut u8 {
    // SAFETY: the thread's state lives as long as the thread (see `per_thread::pointer`).
    match unsafe { per_thread::pointer().as_ref() } {
        // SAFETY: the caller's contract.
        Some(t) => unsafe { count_alloc(t, user, size) },
        None => {
            // SAFETY: the caller's contract.
            unsafe { header::write(user, paths::ROOT, size) };
            user
        }
    }
}

/// [`counted_alloc`] on the thread's state.
///
/// # Safety
///
/// As [`counted_alloc`].
#[inline(always)]
unsafe fn count_alloc(t: &PerThread, user: *mut u8, size: usize) -> *mut u8 {
    let Some(path) = t.holding.add_current(size) else {
        // SAFETY: the caller's contract.
        return unsafe { alloc_cold(t, user, size) };
    };
    // SAFETY: the caller's contract.
    unsafe { header::write(user, path, size) };
    let (arm, live) = t.counters.on_alloc_live(size);
    let peak = &t.holding.peak;
    let limit = peak.limit.load(Relaxed);
    if arm || live > limit {
        if arm || limit < 0 || !peak.holds.load(Relaxed) {
            return after_alloc_cold(t, user, path, size, NO_OLD);
        }
        // PERF: the holder reaching a new best: three stores, no lock.
        peak.limit.store(live, Relaxed);
        peak.best_requests.set(t.counters.requests());
        t.holding.set_slow();
    }
    user
}

/// [`counted_alloc`] when the current path's entry is not at hand: works it out (the
/// innermost frame's path, remembered in the frame) and caches it.
///
/// # Safety
///
/// As [`counted_alloc`].
#[cold]
#[inline(never)]
unsafe fn alloc_cold(t: &PerThread, user: *mut u8, size: usize) -> *mut u8 {
    let path = match t.holding.add_current(size) {
        Some(path) => path,
        None => add_current_cold(t, size),
    };
    // SAFETY: the caller's contract.
    unsafe { header::write(user, path, size) };
    let (arm, live) = t.counters.on_alloc_live(size);
    if arm || live > t.holding.peak.limit.load(Relaxed) {
        return after_alloc_cold(t, user, path, size, NO_OLD);
    }
    user
}

/// A holder that another thread takes over from after fewer requests and frees than
/// this, since it took over itself, is taking turns with it request by request: the two
/// share the peak instead (see [`share_out`]).
const SHARE_AFTER: u64 = 64;

/// `old` of an allocation: no old block (`after_alloc_cold`).
const NO_OLD: (u32, usize) = (u32::MAX, usize::MAX);

/// The end of an allocation (or a realloc, with the path and size of its `old` block)
/// already counted, when the thread must arm its exit hook, note a new best, or take
/// over: the rare cases. PERF: scalars only, so that the caller passes them in registers.
#[cold]
#[inline(never)]
fn after_alloc_cold(
    t: &PerThread,
    user: *mut u8,
    path: u32,
    size: usize,
    old: (u32, usize),
) -> *mut u8 {
    let counted = Counted {
        into: path,
        bytes: size as u64,
        out_of: (old != NO_OLD).then_some((old.0, old.1 as u64)),
    };
    thread_exit::arm(t);
    check_best(t, t.counters.raw().live(), counted);
    user
}

/// `GlobalAlloc::dealloc` of a block with a header.
///
/// PERF: the common case calls nothing but the inner allocator's `dealloc`, as a tail
/// call; anything else is finished by [`dealloc_cold`].
///
/// # Safety
///
/// As `GlobalAlloc::dealloc`: `user` came from this allocator's [`alloc`] or [`realloc`]
/// with `layout`.
#[inline(always)]
pub(crate) unsafe fn dealloc<A: GlobalAlloc>(inner: &A, user: *mut u8, layout: Layout) {
    let size = layout.size();
    if layout.align() > header::MIN {
        // SAFETY: the caller's contract.
        return unsafe { dealloc_cold(user, layout, inner) };
    }
    // SAFETY: per the contract, the block has a header.
    let path = unsafe { header::path(user, size) };
    let counted = per_thread::with(|t| {
        // PERF: one bounds check: a slow thread's table looks empty here.
        let Some(slot) = t.holding.slot_fast(path) else {
            return false;
        };
        slot.sub(size);
        t.counters.count_dealloc(size);
        true
    });
    if counted != Some(true) {
        // SAFETY: the caller's contract.
        return unsafe { dealloc_cold(user, layout, inner) };
    }
    // SAFETY: the block is `user - 16` of the inner allocator, with the layout
    // `size + 16` at 16, which `alloc` or `realloc` gave it for this `layout`.
    unsafe {
        inner.dealloc(
            header::base_of(user, header::MIN),
            Layout::from_size_align_unchecked(size.unchecked_add(header::MIN), header::MIN),
        );
    }
}

/// [`dealloc`], every case: a larger header, a slow thread, a path past the table.
/// PERF: `inner` last, so that the hot path passes `user` and `layout` on in the
/// registers it got them in.
///
/// # Safety
///
/// As [`dealloc`].
#[cold]
#[inline(never)]
unsafe fn dealloc_cold<A: GlobalAlloc>(user: *mut u8, layout: Layout, inner: &A) {
    let size = layout.size();
    let h = header::offset(layout.align());
    // SAFETY: per the contract, the block has a header.
    let path = unsafe { header::path(user, size) };
    let _ = per_thread::with(|t| {
        if t.holding.is_slow() {
            before_decrease(t);
        }
        match t.holding.slot(path) {
            Some(slot) => slot.sub(size),
            None => lost(),
        }
        t.counters.count_dealloc(size);
    });
    // SAFETY: the block is `user - H` of the inner allocator, with `header::outer(layout)`
    // (valid when it was allocated with this layout, so now: `size + H` at `H`).
    unsafe {
        inner.dealloc(
            header::base_of(user, h),
            Layout::from_size_align_unchecked(size.unchecked_add(h), h),
        );
    }
}

/// `GlobalAlloc::realloc` of a block with a header: the header moves with the block, and
/// the block is re-owned by the current path.
///
/// PERF: the common case (alignment at most 16, both paths' entries at hand, and either
/// a fast thread, or one with a pending best whose block grows and stays with its path)
/// is inline; everything else is [`realloc_cold`], called last.
///
/// # Safety
///
/// As `GlobalAlloc::realloc`.
#[inline(always)]
pub(crate) unsafe fn realloc<A: GlobalAlloc>(
    inner: &A,
    user: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    let old_size = layout.size();
    if layout.align() > header::MIN || new_size > header::MAX_SMALL {
        // SAFETY: the caller's contract.
        return unsafe { realloc_cold(user, layout, new_size, inner) };
    }
    // SAFETY: the thread's state lives as long as the thread (see `per_thread::pointer`).
    let Some(t) = (unsafe { per_thread::pointer().as_ref() }) else {
        // SAFETY: the caller's contract.
        return unsafe { realloc_cold(user, layout, new_size, inner) };
    };
    // SAFETY: per the contract, the block has a header.
    let old_path = unsafe { header::path(user, old_size) };
    let h = &t.holding;
    let (Some(old), Some(path)) = (h.slot_known(old_path), h.current_path()) else {
        // SAFETY: the caller's contract.
        return unsafe { realloc_cold(user, layout, new_size, inner) };
    };
    // A slow thread must record its pending best first, unless the block only grows and
    // stays with its path (the request then passes the best), or take over.
    if h.is_slow() && !(new_size >= old_size && old_path == path && h.peak.limit.load(Relaxed) >= 0)
    {
        // SAFETY: the caller's contract.
        return unsafe { realloc_cold(user, layout, new_size, inner) };
    }
    // SAFETY: the block is `user - 16` with layout `size + 16` at 16 (as in `dealloc`);
    // `new_size + 16` at 16 is a valid layout (`new_size <= MAX_SMALL`).
    let base = unsafe {
        inner.realloc(
            header::base_of(user, header::MIN),
            Layout::from_size_align_unchecked(old_size.unchecked_add(header::MIN), header::MIN),
            new_size.unchecked_add(header::MIN),
        )
    };
    if base.is_null() {
        return base;
    }
    // The new block has `new_size + 16` bytes at alignment 16.
    let user = header::user_of(base, header::MIN);
    old.sub(old_size);
    let _ = h.add_current(new_size);
    // SAFETY: as above.
    unsafe { header::write(user, path, new_size) };
    let (arm, live) = t.counters.on_realloc_live(old_size, new_size);
    if arm || live > h.peak.limit.load(Relaxed) {
        return after_alloc_cold(t, user, path, new_size, (old_path, old_size));
    }
    user
}

/// [`realloc`], every case.
///
/// # Safety
///
/// As [`realloc`].
#[cold]
#[inline(never)]
unsafe fn realloc_cold<A: GlobalAlloc>(
    user: *mut u8,
    layout: Layout,
    new_size: usize,
    inner: &A,
) -> *mut u8 {
    let (old_size, align) = (layout.size(), layout.align());
    let h = header::offset(align);
    let Some(new_outer) = header::outer_of(new_size, align) else {
        return ptr::null_mut();
    };
    // SAFETY: per the contract, the block has a header.
    let old_path = unsafe { header::path(user, old_size) };
    let _ = per_thread::with(|t| {
        if t.holding.is_slow() {
            before_realloc(t, old_path, old_size, new_size);
        }
    });
    // SAFETY: the block is `user - H` with layout `size + H` at `H` (as in `dealloc`);
    // `new_outer` is a valid layout at the same alignment, with a non-zero size.
    let base = unsafe {
        inner.realloc(
            header::base_of(user, h),
            Layout::from_size_align_unchecked(old_size.unchecked_add(h), h),
            new_outer.size(),
        )
    };
    if base.is_null() {
        return base;
    }
    // The new block has `new_size + H` bytes at alignment `H`.
    let user = header::user_of(base, h);
    // SAFETY: `user` is the new block's.
    let counted =
        per_thread::with(|t| unsafe { count_realloc(t, user, old_path, old_size, new_size) });
    counted.unwrap_or_else(|| {
        // SAFETY: as above.
        unsafe { header::write(user, paths::ROOT, new_size) };
        user
    })
}

/// [`realloc_cold`]'s counting.
///
/// # Safety
///
/// `user` is the new block's, of `new_size` bytes, with room for its header.
unsafe fn count_realloc(
    t: &PerThread,
    user: *mut u8,
    old_path: u32,
    old_size: usize,
    new_size: usize,
) -> *mut u8 {
    match t.holding.slot(old_path) {
        Some(slot) => slot.sub(old_size),
        None => lost(),
    }
    let path = match t.holding.add_current(new_size) {
        Some(path) => path,
        None => add_current_cold(t, new_size),
    };
    // SAFETY: the caller's contract.
    unsafe { header::write(user, path, new_size) };
    let (arm, live) = t.counters.on_realloc_live(old_size, new_size);
    if arm || live > t.holding.peak.limit.load(Relaxed) {
        return after_alloc_cold(t, user, path, new_size, (old_path, old_size));
    }
    user
}

/// After a request raised live bytes to `live`: notes a new best, or takes the cold path
/// if another thread took over.
fn check_best(t: &PerThread, live: i64, counted: Counted) {
    let peak = &t.holding.peak;
    let limit = peak.limit.load(Relaxed);
    if live > limit {
        if limit < 0 {
            forced(t, counted);
        } else if peak.holds.load(Relaxed) {
            peak.limit.store(live, Relaxed);
            peak.best_requests.set(t.counters.requests());
            t.holding.set_slow();
        } else {
            exceeded(t, counted);
        }
    }
}

/// Works out the current path (the innermost frame's), caches its entry and counts a
/// block of `size` bytes there.
#[cold]
#[inline(never)]
fn add_current_cold(t: &PerThread, size: usize) -> u32 {
    let path = crate::frame::current_path(t);
    match t.holding.set_current(path) {
        Some(slot) => slot.add(size),
        None => lost(),
    }
    path
}

/// Before a realloc of a thread whose `slow` flag is set: records the pending best unless
/// the realloc only adds bytes to the path that holds them (then it passes the best).
#[cold]
#[inline(never)]
fn before_realloc(t: &PerThread, old_path: u32, old_size: usize, new_size: usize) {
    if t.holding.peak.limit.load(Relaxed) >= 0
        && new_size >= old_size
        && t.holding.current_path() == Some(old_path)
    {
        return;
    }
    before_decrease(t);
}

/// Before a request that may lower live bytes, on a thread whose `slow` flag is set:
/// arms the exit hook (a thread's first request may be a free), records the holder's
/// pending best, or takes over.
#[cold]
#[inline(never)]
fn before_decrease(t: &PerThread) {
    thread_exit::arm(t);
    let Some(all) = lock_for(t) else {
        return;
    };
    let st = state(&all);
    // A holder that `state` forced (what an exited thread left unnoticed) takes over again
    // below: it reads its base anew.
    if all.holder().is_some_and(|h| ptr::eq(h, t)) && t.holding.peak.holds.load(Relaxed) {
        record_best(&all, st, t.holding.peak.tenure(), None);
        t.holding.clear_slow();
    } else if st.sharing && t.holding.peak.limit.load(Relaxed) >= 0 {
        // Given an allowance while it was slow (only the owner makes its frees fast).
        t.holding.clear_slow();
    } else {
        take_over(&all, st, t, None);
    }
}

/// The registry's lock for a cold path of `t`: `None` if `t` is in an uncounted section
/// (nothing it does is a best), or already holds the lock (a signal handler that
/// interrupted this thread's report or listing: the update is lost, and said).
fn lock_for(t: &PerThread) -> Option<Everything<'static>> {
    if t.holding.is_paused() {
        return None;
    }
    let all = registry::everything();
    if all.is_none() {
        lost();
    }
    all
}

/// After a request of a thread that is not the holder, already counted.
#[cold]
#[inline(never)]
fn forced(t: &PerThread, counted: Counted) {
    let Some(all) = lock_for(t) else {
        return;
    };
    let st = state(&all);
    take_over(&all, st, t, Some(counted));
}

/// After a request of a thread that shares the peak took it past its allowance, already
/// counted: a new best (the thread becomes the holder), or more allowance.
#[cold]
#[inline(never)]
fn exceeded(t: &PerThread, counted: Counted) {
    let Some(all) = lock_for(t) else {
        return;
    };
    let st = state(&all);
    // Counting within an allowance is not counting against a stale base (the request
    // counted is not one: see `take_over`).
    let peak = &t.holding.peak;
    peak.mark_forced(
        t.counters.events().wrapping_sub(1),
        t.counters.raw().moved_bytes(),
    );
    if all.holder().is_some() || !st.sharing {
        // It lost its allowance to a holder meanwhile.
        return take_over(&all, st, t, Some(counted));
    }
    let (before, total) = (all_events(&all), process_level(&all));
    if total.bytes > st.best_bytes {
        // A new best: the thread holds, as if it had taken over from no one.
        return take_over(&all, st, t, Some(counted));
    }
    // The allowances of the others, unused, and what is left of the best.
    let live = t.counters.raw().live();
    let mut reserved = 0i64;
    for o in all.threads().filter(|o| !ptr::eq(*o, t)) {
        let limit = o.holding.peak.limit.load(Relaxed);
        if limit >= 0 && limit != crate::holding::PAUSED {
            reserved =
                reserved.saturating_add(limit.saturating_sub(o.counters.read_raw().live()).max(0));
        }
    }
    let free = st
        .best_bytes
        .saturating_sub(total.bytes)
        .saturating_sub(reserved);
    if free >= 0 {
        peak.limit.store(live.saturating_add(free), Relaxed);
    } else {
        share_out(&all, st, t, total);
    }
    note_concurrent(&all, st, before);
}

/// Makes the threads share the process peak: no holder, and every thread an allowance, the
/// slack to the best split evenly, so that none takes the cold path until its own live
/// bytes pass its allowance (they cannot all reach theirs without passing the best). For
/// threads that count at the same time; `total` is the process's level now.
fn share_out(all: &Everything<'_>, st: &mut PeakState, me: &PerThread, total: Level) {
    all.clear_holder();
    st.sharing = true;
    let slack = st.best_bytes.saturating_sub(total.bytes).max(0);
    let n = all.threads().count().max(1) as i64;
    let share = slack.checked_div(n).unwrap_or(0); // `n >= 1`
    for t in all.threads() {
        let peak = &t.holding.peak;
        peak.holds.store(false, Relaxed);
        if !ptr::eq(t, me) && peak.is_paused_shared() {
            // Its limit is its own to restore: it takes the cold path when it resumes.
            force(t);
            continue;
        }
        let raw = if ptr::eq(t, me) {
            t.counters.raw()
        } else {
            t.counters.read_raw()
        };
        peak.limit.store(raw.live().saturating_add(share), Relaxed);
        peak.mark_forced(raw.events(), raw.moved_bytes());
    }
    // The others make their frees fast at their next free (only the owner can).
    me.holding.clear_slow();
}

/// Every listed thread's requests and frees so far, and the bytes they moved.
fn all_events(all: &Everything<'_>) -> Moves {
    all.threads().fold(Moves::default(), |sum, t| {
        let raw = t.counters.read_raw();
        Moves {
            events: sum.events.wrapping_add(raw.events()),
            bytes: sum.bytes.wrapping_add(raw.moved_bytes()),
        }
    })
}

/// Requests and frees, and the bytes they allocated plus freed.
#[derive(Clone, Copy, Default)]
struct Moves {
    events: u64,
    bytes: u64,
}

/// The process's live bytes, blocks and requests now.
fn process_level(all: &Everything<'_>) -> Level {
    level_of(all, None)
}

/// Other threads counted while this one read their levels (`before`: [`all_events`] then):
/// the allowances were worked out from levels that moved, so a best may be missed by what
/// they counted meanwhile. Said in the report.
fn note_concurrent(all: &Everything<'_>, st: &mut PeakState, before: Moves) {
    st.note_moved(before, all_events(all));
}

impl PeakState {
    /// The threads' count of requests and frees went from `before` to `after` while one
    /// thread read their levels: stale by that much. It can go *down*: the end of an
    /// uncounted section puts its thread's counters back (a failed budget drops its report
    /// in one). That is a move too, by as much; never a count wrapped around below zero
    /// (which overflowed `stale`, in a debug build a panic inside the allocator with the
    /// registry's lock held).
    fn note_moved(&mut self, before: Moves, after: Moves) {
        let apart = |a: u64, b: u64| (b.wrapping_sub(a) as i64).unsigned_abs();
        self.note_stale(
            apart(before.events, after.events),
            apart(before.bytes, after.bytes),
        );
    }

    /// `events` requests and frees were counted against a stale view, moving at most
    /// `bytes`: a level the process reached meanwhile may have been missed, but no level
    /// above the best so far plus every stale byte yet (what threads stale at the same time
    /// moved adds up). A later best above that is exact again.
    fn note_stale(&mut self, events: u64, bytes: u64) {
        if events == 0 {
            return;
        }
        self.stale = self.stale.saturating_add(events);
        self.stale_bytes = self.stale_bytes.saturating_add(bytes);
        let reach = self
            .best_bytes
            .saturating_add(i64::try_from(self.stale_bytes).unwrap_or(i64::MAX));
        self.hidden_up_to = self.hidden_up_to.max(reach);
    }
}

/// A request counted on the calling thread before its cold path ran: the best being
/// recorded (reached before it) must not see it.
#[derive(Clone, Copy)]
struct Counted {
    /// The path it gave `bytes` to, in a block.
    into: u32,
    bytes: u64,
    /// For a realloc: the path it took the old block's bytes from, and how many.
    out_of: Option<(u32, u64)>,
}

impl Counted {
    /// How it changed the process's live bytes and blocks.
    fn live_change(&self) -> (i64, i64) {
        match self.out_of {
            None => (self.bytes as i64, 1),
            Some((_, old)) => ((self.bytes as i64).wrapping_sub(old as i64), 0),
        }
    }

    /// Takes it out of per-path holdings.
    fn undo(&self, held: &mut SysVec<Held>) {
        let mut change = |path: u32, bytes: u64, blocks: u64| {
            if let Some(h) = held.as_mut_slice().get_mut(path as usize) {
                h.bytes = h.bytes.wrapping_sub(bytes);
                h.blocks = h.blocks.wrapping_sub(blocks);
            }
        };
        change(self.into, self.bytes, 1);
        if let Some((path, old)) = self.out_of {
            change(path, old.wrapping_neg(), u64::MAX);
        }
    }
}

// ---- the process peak (under the registry lock) -----------------------------------------

/// The process peak, as recorded so far.
struct PeakState {
    /// Live bytes and blocks at the best, and the request that reached it.
    best_bytes: i64,
    best_blocks: i64,
    best_request: u64,
    /// What each path held then, summed over threads (by path id).
    at_best: SysVec<Held>,
    /// Requests and frees counted against a stale base (by threads counting at once).
    stale: u64,
    /// The bytes they moved, at most (allocated plus freed), all together.
    stale_bytes: u64,
    /// The highest level a stale request may have hidden ([`PeakState::note_stale`]):
    /// a best above it is exact. `i64::MIN`: none.
    hidden_up_to: i64,
    /// Bests whose copy did not add up to them (threads counted while it was made).
    torn: u64,
    /// Whether the best recorded last is one of them: a torn copy that a later best
    /// replaced no longer says anything about the peak reported.
    best_torn: bool,
    /// The threads share the peak (see [`share_out`]): no holder.
    sharing: bool,
}

struct PeakCell(UnsafeCell<PeakState>);

// SAFETY: the contents are only accessed under the registry lock (see `state`).
unsafe impl Sync for PeakCell {}

static PEAK: PeakCell = PeakCell(UnsafeCell::new(PeakState::NONE));

/// Updates that could not be made: a table that could not grow, a cold path that could
/// not take the lock (a signal handler that interrupted its own thread's report).
static LOST: AtomicU64 = AtomicU64::new(0);

#[cold]
fn lost() {
    LOST.fetch_add(1, Relaxed);
}

/// The peak state, for the holder of the registry lock, up to date: what exited threads
/// left unnoticed is taken in first ([`absorb_exited`]), so that no cold path acts on a
/// holder whose base misses it. Each cold path takes it once.
#[allow(clippy::mut_from_ref)]
fn state<'a>(all: &'a Everything<'_>) -> &'a mut PeakState {
    // SAFETY: `all` holds the registry lock, which every access to `PEAK` holds, and each
    // holder of the lock calls this once (no two `&mut` at a time).
    let st = unsafe { &mut *PEAK.0.get() };
    absorb_exited(all, st);
    st
}

/// Makes `me` the holder: records the previous holder's best, forces it, reads the base.
/// `counted`: the request `me` already counted.
fn take_over(all: &Everything<'_>, st: &mut PeakState, me: &PerThread, counted: Option<Counted>) {
    let peak = &me.holding.peak;
    // What it counted after another thread took over, without noticing.
    let seen = me
        .counters
        .events()
        .wrapping_sub(u64::from(counted.is_some()));
    let (missed, missed_bytes) = peak.since_forced(seen, me.counters.raw().moved_bytes());
    // Whether the threads should share the peak rather than take turns holding it.
    let mut share = st.sharing;
    match all.holder() {
        Some(h) if ptr::eq(h, me) => share = false,
        Some(h) => {
            // Its uncounted section's blocks are in its holdings, not in its counters.
            let paused = h.holding.peak.is_paused_shared();
            if record_best(all, st, h.holding.peak.tenure(), counted) && paused {
                st.tear();
            }
            // A holder that counted only a few requests since it took over is taking
            // turns with this thread request by request: each turn would be a cold path.
            let tenure = h
                .counters
                .read_events()
                .wrapping_sub(h.holding.peak.events_at_tenure.load(Relaxed));
            share = tenure < SHARE_AFTER;
            force(h);
        }
        None => {
            if let Some(left) = all.take_left() {
                record_best(all, st, left, counted);
            }
        }
    }
    // After the bests of the tenures it counted in are recorded (the bound is above them).
    if missed > 0 {
        st.note_stale(missed as u64, missed_bytes);
    }
    if share {
        let (before, total) = (all_events(all), process_level(all));
        // Unless the request it counted passed the best: then this thread holds.
        if total.bytes <= st.best_bytes {
            share_out(all, st, me, total);
            note_concurrent(all, st, before);
            return;
        }
    }
    st.sharing = false;
    // The others stop counting until they take the cold path: this thread's base stays
    // theirs.
    for o in all.threads().filter(|o| !ptr::eq(*o, me)) {
        if o.holding.peak.limit.load(Relaxed) != FORCED {
            force(o);
        }
    }
    if !all.set_holder(me) {
        peak.limit.store(FORCED, Relaxed);
        me.holding.set_slow();
        peak.mark_forced(me.counters.events(), me.counters.raw().moved_bytes());
        return;
    }
    peak.holds.store(true, Relaxed);
    peak.events_at_tenure.store(me.counters.events(), Relaxed);
    let base = others(all, me);
    peak.base_bytes.store(base.bytes, Relaxed);
    peak.base_blocks.store(base.blocks, Relaxed);
    peak.base_requests.store(base.requests, Relaxed);
    // The own live level of the best so far.
    let limit = st
        .best_bytes
        .wrapping_sub(base.bytes)
        .wrapping_add(BYTES_BIAS as i64);
    let live = me.counters.raw().live();
    if live > limit {
        peak.limit.store(live, Relaxed);
        peak.best_requests.set(me.counters.requests());
        me.holding.set_slow();
        if counted.is_none() {
            // Before a free: the best is now.
            record_best(all, st, peak.tenure(), None);
            me.holding.clear_slow();
        }
    } else {
        peak.limit.store(limit, Relaxed);
        me.holding.clear_slow();
    }
}

/// Takes what exited threads counted after another thread forced them, without
/// noticing (a free that raced with the takeover, and then the thread exited; see
/// `registry::fold_exiting`): the holder counted against a base without it. Its pending
/// best is recorded, the requests are stale up to it plus the bytes they moved, and the
/// holder is forced, so that it reads its base again before its next request counts.
fn absorb_exited(all: &Everything<'_>, st: &mut PeakState) {
    let Some((events, bytes)) = all.take_unnoticed() else {
        return;
    };
    if let Some(h) = all.holder() {
        record_best(all, st, h.holding.peak.tenure(), None);
        force(h);
    }
    st.note_stale(events, bytes);
}

/// Sends `h` (no longer the holder) down the cold path at its next request.
fn force(h: &PerThread) {
    let peak = &h.holding.peak;
    peak.holds.store(false, Relaxed);
    let raw = h.counters.read_raw();
    peak.mark_forced(raw.events(), raw.moved_bytes());
    peak.limit.store(FORCED, Relaxed);
    h.holding.set_slow();
}

/// Live bytes, blocks and requests made.
#[derive(Clone, Copy, Default)]
struct Level {
    bytes: i64,
    blocks: i64,
    requests: u64,
}

impl Level {
    fn add(&mut self, t: crate::stats::Totals) {
        self.bytes = self
            .bytes
            .wrapping_add(t.bytes_allocated.wrapping_sub(t.bytes_freed) as i64);
        self.blocks = self
            .blocks
            .wrapping_add(t.allocs.wrapping_sub(t.deallocs) as i64);
        self.requests = self.requests.wrapping_add(t.requests());
    }
}

/// What every thread but `me`, live or exited, holds.
fn others(all: &Everything<'_>, me: &PerThread) -> Level {
    level_of(all, Some(me))
}

/// What the exited threads and every listed thread but `except` hold.
fn level_of(all: &Everything<'_>, except: Option<&PerThread>) -> Level {
    let mut level = Level::default();
    level.add(all.retired.totals);
    for t in all
        .threads()
        .filter(|t| !except.is_some_and(|e| ptr::eq(*t, e)))
    {
        level.add(t.counters.read_raw().totals());
    }
    level
}

impl PeakState {
    /// No best yet.
    const NONE: PeakState = PeakState {
        best_bytes: 0,
        best_blocks: 0,
        best_request: 0,
        at_best: SysVec::new(),
        stale: 0,
        stale_bytes: 0,
        hidden_up_to: i64::MIN,
        torn: 0,
        best_torn: false,
        sharing: false,
    };

    /// A new best, its copy (`at_best`, `blocks`) made; `whole`: the copy adds up to it.
    fn set_best(&mut self, bytes: i64, blocks: i64, request: u64, whole: bool) {
        self.best_torn = false;
        if !whole {
            self.tear();
        }
        self.best_bytes = bytes;
        self.best_blocks = blocks;
        self.best_request = request;
    }

    /// The best just recorded has a copy that does not add up to it.
    fn tear(&mut self) {
        if !self.best_torn {
            self.best_torn = true;
            self.torn = self.torn.saturating_add(1);
        }
    }
}

/// Records the best of `tenure`, if it passed the one before: the process as it is now,
/// less `counted`, is as it was then (see the module docs). Returns whether it did.
fn record_best(
    all: &Everything<'_>,
    st: &mut PeakState,
    tenure: Tenure,
    counted: Option<Counted>,
) -> bool {
    if tenure.limit < 0 {
        return false;
    }
    let bytes = tenure
        .base_bytes
        .wrapping_add(tenure.limit.wrapping_sub(BYTES_BIAS as i64));
    if bytes <= st.best_bytes {
        return false;
    }
    let (now, held) = (&mut Level::default(), &mut st.at_best);
    held.clear();
    now.add(all.retired.totals);
    add_held(held, all.retired.held.as_slice().iter().copied());
    for t in all.threads() {
        now.add(t.counters.read_raw().totals());
        // SAFETY: `t` is listed and the lock is held.
        add_held(held, unsafe { t.holding.shared() }.iter().map(|s| s.read()));
    }
    if let Some(c) = counted {
        c.undo(held);
        let (b, k) = c.live_change();
        now.bytes = now.bytes.wrapping_sub(b);
        now.blocks = now.blocks.wrapping_sub(k);
    }
    let request = tenure.base_requests.wrapping_add(tenure.best_requests);
    st.set_best(bytes, now.blocks, request, now.bytes == bytes);
    true
}

/// Adds per-path holdings into `sum` (by path id), growing it as needed.
fn add_held(sum: &mut SysVec<Held>, items: impl Iterator<Item = Held>) {
    for (i, h) in items.enumerate() {
        if h == Held::default() {
            continue;
        }
        if sum.len() <= i && !sum.resize(i.saturating_add(1), Held::default()) {
            lost();
            return;
        }
        if let Some(entry) = sum.as_mut_slice().get_mut(i) {
            entry.merge(&h);
        }
    }
}

// ---- reading, for reports ---------------------------------------------------------------

/// What a report reads of the ownership view.
pub(crate) struct Read {
    /// What each path holds now, summed over threads (by path id).
    pub now: SysVec<Held>,
    /// What it held at the peak.
    pub at_peak: SysVec<Held>,
    /// Live bytes and blocks at the peak, and the request that reached it.
    pub peak_bytes: u64,
    pub peak_blocks: u64,
    pub peak_request: u64,
    /// Requests counted against a stale base, bests torn, updates lost.
    pub stale: u64,
    pub torn: u64,
    pub lost: u64,
    /// Whether the peak's own copy (`at_peak`, `peak_blocks`) is torn.
    pub peak_torn: bool,
    /// Whether a stale request may have hidden a higher peak, or this one's moment.
    pub peak_hidden: bool,
}

/// Reads the view under the registry lock: records the holder's pending best first (the
/// report sees it as it stands now).
pub(crate) fn read(all: &Everything<'_>) -> Read {
    let st = state(all);
    match all.holder() {
        Some(h) => {
            let before = h.counters.read_events();
            if record_best(all, st, h.holding.peak.tenure(), None)
                && h.counters.read_events() != before
            {
                st.tear();
            }
        }
        None => {
            if let Some(left) = all.take_left() {
                record_best(all, st, left, None);
            }
        }
    }
    let mut now = SysVec::new();
    add_held(&mut now, all.retired.held.as_slice().iter().copied());
    for t in all.threads() {
        // SAFETY: `t` is listed and the lock is held.
        add_held(
            &mut now,
            unsafe { t.holding.shared() }.iter().map(|s| s.read()),
        );
    }
    let mut at_peak = SysVec::new();
    if at_peak.reserve_total(st.at_best.len()) {
        for &h in st.at_best.as_slice() {
            let _ = at_peak.push(h);
        }
    }
    Read {
        now,
        at_peak,
        peak_bytes: st.best_bytes.max(0) as u64,
        peak_blocks: st.best_blocks.max(0) as u64,
        peak_request: st.best_request,
        stale: st.stale,
        torn: st.torn,
        lost: LOST.load(Relaxed),
        peak_torn: st.best_torn,
        peak_hidden: st.best_bytes <= st.hidden_up_to,
    }
}

#[cfg(test)]
mod tests {
    use super::{Moves, PeakState};

    fn moves(events: u64, bytes: u64) -> Moves {
        Moves { events, bytes }
    }

    #[test]
    fn a_count_of_events_that_went_down_is_stale_by_as_much_never_wrapped() {
        let mut st = PeakState::NONE;
        st.note_moved(moves(100, 1000), moves(95, 900));
        assert_eq!(st.stale, 5, "an uncounted section ended meanwhile");
        assert_eq!(st.stale_bytes, 100);
        st.note_moved(moves(100, 0), moves(103, 48));
        assert_eq!((st.stale, st.stale_bytes), (8, 148));
        st.note_moved(moves(7, 5), moves(7, 5));
        assert_eq!((st.stale, st.stale_bytes), (8, 148), "nothing moved");
        st.stale = u64::MAX - 1;
        st.stale_bytes = u64::MAX - 1;
        st.note_moved(moves(0, 0), moves(10, 10));
        assert_eq!(st.stale, u64::MAX, "saturates, never overflows");
        assert_eq!((st.stale_bytes, st.hidden_up_to), (u64::MAX, i64::MAX));
    }

    #[test]
    fn a_best_above_what_stale_requests_could_hide_is_exact() {
        let mut st = PeakState::NONE;
        assert!(st.best_bytes > st.hidden_up_to, "nothing stale: exact");
        st.set_best(1_000, 10, 100, true);
        // Two requests moved 48 and 64 bytes against a stale base: a level up to 1,048,
        // then (threads stale at once add up) 1,112, may have been missed.
        st.note_stale(1, 48);
        assert_eq!(st.hidden_up_to, 1_048);
        st.note_stale(1, 64);
        assert_eq!(st.hidden_up_to, 1_112);
        st.set_best(1_112, 11, 110, true);
        assert!(
            st.best_bytes <= st.hidden_up_to,
            "may be a hidden one's level"
        );
        st.set_best(1_113, 12, 120, true);
        assert!(
            st.best_bytes > st.hidden_up_to,
            "above anything hidden: exact"
        );
        // Requests without a count of events are not stale.
        st.note_stale(0, 1 << 20);
        assert_eq!((st.stale, st.hidden_up_to), (2, 1_112));
    }

    #[test]
    fn only_the_reported_best_s_torn_copy_makes_it_approximate() {
        let mut st = PeakState::NONE;
        st.set_best(100, 1, 10, false);
        assert_eq!((st.torn, st.best_torn), (1, true));
        // Torn again (a holder that counted while a report recorded it): the same best.
        st.tear();
        assert_eq!((st.torn, st.best_torn), (1, true));
        st.set_best(200, 2, 20, true);
        assert_eq!((st.torn, st.best_torn), (1, false), "a whole later best");
        assert_eq!(
            (st.best_bytes, st.best_blocks, st.best_request),
            (200, 2, 20)
        );
        st.set_best(300, 3, 30, false);
        assert_eq!((st.torn, st.best_torn), (2, true));
    }
}

//! A signal handler's tracked call that lands in the middle of the allocator's counting
//! (a request's bytes moved, its count not yet) books its own allocations to its own path,
//! and leaves the interrupted request to the interrupted frame.
//!
//! The handler is played by [`interrupt::between_next_moves`], which the counting code
//! calls, in test builds, between a request's bytes and its count. The interrupted frame's
//! last booking is just before (a nested call that allocated ended): the thread's mark is
//! then at the counters, which is where a half-counted request could pass as nothing
//! having happened since the mark.

use core::hint::black_box;

use crate::__private::{Site, SiteRegistration};
use crate::counters::interrupt;
use crate::test_calls::tracked;
use crate::{Report, capture};

static OUTER: Site = Site::new("interrupted_count_tests::outer", file!(), 1);
static PRIOR: Site = Site::new("interrupted_count_tests::prior", file!(), 2);
static HANDLER: Site = Site::new("interrupted_count_tests::handler", file!(), 3);
inventory::submit! { SiteRegistration(&OUTER) }
inventory::submit! { SiteRegistration(&PRIOR) }
inventory::submit! { SiteRegistration(&HANDLER) }

const OUTER_PATH: &str = "interrupted_count_tests::outer";
const HANDLER_PATH: &str = "interrupted_count_tests::outer;interrupted_count_tests::handler";

/// What the "signal handler" does: one tracked call that allocates 40 bytes and frees them.
fn handler() {
    tracked(&HANDLER, || drop(black_box(vec![0u8; 40])));
}

/// A capture of one tracked call of `OUTER` that runs `setup`, then a nested call that
/// allocates and frees (its end books and moves the mark to the counters), then
/// `request(setup's value)`, whose first request the handler interrupts.
fn interrupted<T>(setup: impl FnOnce() -> T, request: impl FnOnce(T)) -> Report {
    capture(|| {
        tracked(&OUTER, || {
            let value = setup();
            tracked(&PRIOR, || drop(black_box(vec![0u8; 16])));
            interrupt::between_next_moves(handler);
            request(value);
        });
    })
    .1
}

/// `(allocs, reallocs, frees, bytes allocated, bytes freed)` of a path, exclusive
/// (`allocs` counts reallocs too, and `frees` a realloc's old block).
fn path(report: &Report, path: &str) -> (u64, u64, u64, u64, u64) {
    let p = report
        .paths()
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("no path {path}: {report}"));
    let e = p.exclusive;
    (
        e.allocs,
        e.reallocs,
        e.frees,
        e.bytes_allocated,
        e.bytes_freed,
    )
}

#[test]
fn a_handler_inside_an_allocations_counting_books_only_its_own() {
    let report = interrupted(|| (), |()| drop(black_box(Box::new(7u64))));
    assert_eq!(path(&report, OUTER_PATH), (1, 0, 1, 8, 8), "{report}");
    assert_eq!(path(&report, HANDLER_PATH), (1, 0, 1, 40, 40), "{report}");
}

#[test]
fn a_handler_inside_a_frees_counting_books_only_its_own() {
    let report = interrupted(|| black_box(vec![0u8; 24]), drop);
    assert_eq!(path(&report, OUTER_PATH), (1, 0, 1, 24, 24), "{report}");
    assert_eq!(path(&report, HANDLER_PATH), (1, 0, 1, 40, 40), "{report}");
}

#[test]
fn a_handler_inside_a_reallocs_counting_books_only_its_own() {
    let report = interrupted(
        || {
            let mut v: Vec<u8> = Vec::with_capacity(8);
            v.push(1);
            v
        },
        |mut v| {
            v.reserve_exact(56); // realloc: 8 -> 57 bytes
            drop(black_box(v));
        },
    );
    // 1 alloc and 1 realloc; freed: the old 8 bytes and the 57 at the end.
    assert_eq!(path(&report, OUTER_PATH), (2, 1, 2, 65, 65), "{report}");
    assert_eq!(path(&report, HANDLER_PATH), (1, 0, 1, 40, 40), "{report}");
}

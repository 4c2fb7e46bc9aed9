//! `tracked!`: blocks, closures and `async` blocks as named sites, with exactly the
//! numbers, paths and names a `#[track_allocs]` function of the same body gets: inside a
//! tracked call (nested in its inclusive numbers, out of its exclusive ones), as a
//! callback the caller passes in (the parser whose callback made nearly all of "its"
//! allocations), with `?`, `return` and panics, across polls and threads. Each test counts
//! its own thread only (`capture`), so they run in parallel.

#[path = "support/block_on.rs"]
mod block_on;
#[path = "support/yield_once.rs"]
mod yield_once;

use std::hint::black_box;
use std::panic::catch_unwind;

use alloc_trace::report::SiteStats;
use alloc_trace::{AllocStats, capture, track_allocs, tracked};

use block_on::block_on;
use yield_once::YieldOnce;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Everything a site row holds but its name and place.
fn numbers(s: &SiteStats) -> (u64, AllocStats, alloc_trace::AllocCounts, u64) {
    (s.calls, s.inclusive, s.exclusive, s.max_allocs_per_call)
}

/// The body both forms measure: 20 and 30 bytes, both freed.
fn body() -> usize {
    black_box(vec![0u8; 20]).len() + black_box(vec![0u8; 30]).len()
}

#[track_allocs]
fn inner_fn() -> usize {
    body()
}

/// 10 bytes of its own, then the body as a `tracked!` block.
#[track_allocs]
fn outer_with_block() -> usize {
    let own = black_box(vec![0u8; 10]);
    own.len() + tracked!("inner_block", body())
}

/// The same with a tracked function.
#[track_allocs]
fn outer_with_fn() -> usize {
    let own = black_box(vec![0u8; 10]);
    own.len() + inner_fn()
}

#[test]
fn a_block_inside_a_tracked_call_is_a_nested_site() {
    let (n, report) = capture(outer_with_block);
    assert_eq!(n, 60);
    let block = report.site("inner_block").unwrap();
    assert_eq!(block.name, format!("{}::inner_block", module_path!()));
    let line = include_str!("handoff_closures.rs")
        .lines()
        .position(|l| l.trim_start().starts_with("own.len() + tracked!"))
        .unwrap();
    assert_eq!(
        (block.file.as_str(), block.line),
        (file!(), line as u32 + 1)
    );
    assert_eq!(block.calls, 1);
    assert_eq!(
        (block.inclusive.allocs, block.inclusive.bytes_allocated),
        (2, 50)
    );
    assert_eq!(block.inclusive.counts(), block.exclusive);
    let outer = report.site("outer_with_block").unwrap();
    assert_eq!(
        (outer.inclusive.allocs, outer.inclusive.bytes_allocated),
        (3, 60)
    );
    assert_eq!(
        (outer.exclusive.allocs, outer.exclusive.bytes_allocated),
        (1, 10)
    );
    let paths: Vec<&str> = report.paths().iter().map(|p| p.path.as_str()).collect();
    let module = module_path!();
    assert_eq!(
        paths,
        [
            format!("{module}::outer_with_block;{module}::inner_block"),
            format!("{module}::outer_with_block"),
        ]
    );
    // Exactly what the attribute gives the same body.
    let (_, with_fn) = capture(outer_with_fn);
    assert_eq!(numbers(block), numbers(with_fn.site("inner_fn").unwrap()));
    assert_eq!(
        numbers(outer),
        numbers(with_fn.site("outer_with_fn").unwrap())
    );
}

/// A parser that calls back for each word: the callback is its caller's code.
#[track_allocs]
fn for_each_word(text: &str, mut on_word: impl FnMut(&str)) {
    let words: Vec<&str> = text.split(' ').collect();
    for w in words {
        on_word(w);
    }
}

#[test]
fn a_callback_the_caller_passes_in_is_its_own_site() {
    let text = "one two three four";
    let mut seen: Vec<String> = Vec::with_capacity(4);
    let ((), report) = capture(|| {
        for_each_word(
            text,
            tracked!("on_word", |w: &str| seen.push(w.to_uppercase())),
        );
    });
    assert_eq!(seen, ["ONE", "TWO", "THREE", "FOUR"]);
    let on_word = report.site("on_word").unwrap();
    assert_eq!(on_word.calls, 4);
    assert_eq!(
        (on_word.inclusive.allocs, on_word.inclusive.bytes_allocated),
        (4, 3 + 3 + 5 + 4)
    );
    let parser = report.site("for_each_word").unwrap();
    // Its own: the `Vec` of 4 words (capacity 4 after the first push, 16 bytes each).
    assert_eq!(
        (parser.exclusive.allocs, parser.exclusive.bytes_allocated),
        (1, 64)
    );
    assert_eq!(parser.inclusive.allocs, 5);
}

#[test]
fn closures_of_every_shape() {
    let ((), report) = capture(|| {
        let no_args = tracked!("no_args", || black_box(Box::new(1u8)));
        let moved = {
            let name = String::from("moved");
            tracked!("moved", move || name.clone())
        };
        let returns = tracked!("returns", |n: usize| -> Vec<u8> { black_box(vec![0; n]) });
        let moved_returns = tracked!("moved_returns", move || -> Box<u16> {
            black_box(Box::new(2))
        });
        let pattern = tracked!("pattern", |(a, b): (usize, usize)| black_box(vec![
            0u8;
            a + b
        ]));
        let two = tracked!("two", |a: usize, b: usize| black_box(vec![0u8; a * b]));
        assert_eq!(*no_args(), 1);
        assert_eq!(moved(), "moved");
        assert_eq!(returns(3).len(), 3);
        assert_eq!(*moved_returns(), 2);
        assert_eq!(pattern((1, 2)).len(), 3);
        assert_eq!(two(2, 3).len(), 6);
        assert_eq!(two(1, 1).len(), 1);
    });
    for (name, calls, bytes) in [
        ("no_args", 1, 1),
        ("moved", 1, 5),
        ("returns", 1, 3),
        ("moved_returns", 1, 2),
        ("pattern", 1, 3),
        ("two", 2, 7),
    ] {
        let site = report.site(name).unwrap();
        assert_eq!(
            (
                site.calls,
                site.inclusive.allocs,
                site.inclusive.bytes_allocated
            ),
            (calls, calls, bytes),
            "{name}"
        );
    }
}

/// A block with `?` and `return`: both end the call.
fn fallible(input: &str) -> Result<usize, std::num::ParseIntError> {
    let n = tracked!("fallible", {
        let held = black_box(vec![0u8; 8]);
        if input.is_empty() {
            return Ok(0);
        }
        held.len() + input.parse::<usize>()?
    });
    Ok(n)
}

#[test]
fn question_mark_return_and_panics_end_the_call() {
    let ((), report) = capture(|| {
        assert_eq!(fallible("2"), Ok(10));
        assert!(fallible("x").is_err());
        assert_eq!(fallible(""), Ok(0));
        let caught = catch_unwind(|| {
            tracked!("panics", {
                let _held = black_box(vec![0u8; 4]);
                panic!("handoff_closures: a tracked block panics");
            })
        });
        assert!(caught.is_err());
    });
    let site = report.site("fallible").unwrap();
    assert_eq!(
        (site.calls, site.inclusive.allocs, site.inclusive.frees),
        (3, 3, 3)
    );
    let panics = report.site("panics").unwrap();
    assert_eq!(panics.calls, 1);
    assert!(panics.inclusive.allocs >= 1 && panics.inclusive.bytes_allocated >= 4);
    // Nothing is left linked: a new call is at the root.
    let (_, after) = capture(|| tracked!("after", black_box(Box::new(0u8))));
    let paths: Vec<&str> = after.paths().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, [format!("{}::after", module_path!())]);
}

#[test]
fn temporaries_are_freed_inside_the_call() {
    let (n, report) = capture(|| tracked!("temporaries", black_box(vec![0u8; 5]).len()));
    assert_eq!(n, 5);
    let site = report.site("temporaries").unwrap();
    assert_eq!(
        (
            site.inclusive.allocs,
            site.inclusive.frees,
            site.inclusive.net_bytes()
        ),
        (1, 1, 0)
    );
}

#[test]
fn an_async_block_is_one_call_across_its_polls_and_threads() {
    let future = tracked!("async_block", async move {
        let first = black_box(vec![0u8; 10]);
        YieldOnce::default().await;
        let second = black_box(vec![0u8; 20]);
        first.len() + second.len()
    });
    let mut future = Box::pin(future);
    // First poll here, the rest on another thread.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(future.as_mut().poll(&mut cx).is_pending());
    let n = std::thread::spawn(move || block_on(future)).join().unwrap();
    assert_eq!(n, 30);
    let report = alloc_trace::report();
    let site = report.site("async_block").unwrap();
    assert_eq!(
        (
            site.calls,
            site.inclusive.allocs,
            site.inclusive.bytes_allocated
        ),
        (1, 2, 30)
    );
    // Not polled: not a call.
    drop(tracked!("never_polled", async { black_box(Box::new(1u8)) }));
    assert_eq!(alloc_trace::report().site("never_polled").unwrap().calls, 0);
}

#[test]
fn two_uses_of_one_name_are_two_sites() {
    let ((), report) = capture(|| {
        drop(tracked!("twice", black_box(Box::new(1u8))));
        drop(tracked!("twice", black_box(Box::new(2u16))));
    });
    let sites: Vec<&SiteStats> = report.sites_named("twice").collect();
    assert_eq!(sites.len(), 2);
    assert_ne!(sites[0].display_name, sites[1].display_name);
    assert!(sites.iter().all(|s| s.calls == 1));
}

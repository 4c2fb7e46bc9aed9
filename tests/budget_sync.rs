//! `#[track_allocs(max_allocs = N, max_bytes = N)]` on sync functions: the budget's panic
//! message, where the panic happens, and isolation between tests that run in parallel in
//! this one binary (each test loops so that a leak between threads would show).

use std::hint::black_box;
use std::panic::catch_unwind;

use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Budgets are checked in debug builds, and in release only with `budgets-in-release`.
const BUDGETS_ON: bool = cfg!(debug_assertions) || alloc_trace::__private::BUDGETS_IN_RELEASE;

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/panics.rs"]
mod panics;
#[path = "support/sites.rs"]
mod sites;

use fixtures::{boxed, grow5};
use panics::panic_message;
use sites::site_line;

/// Exactly 2 allocs (reallocs included) and 48 bytes: at its budget, never over.
#[track_allocs(max_allocs = 2, max_bytes = 48)]
fn at_budget() -> Vec<u32> {
    grow5()
}

/// Allocates nothing, under a zero budget.
#[track_allocs(max_allocs = 0)]
fn alloc_free(v: &[u32]) -> u32 {
    v.iter().sum()
}

/// Its own 11-byte `String`, `grow5` twice and `boxed` once: 6 allocs (2 of them
/// reallocs), 115 B, all freed before the call ends (6 frees: 4 deallocs and the 2
/// reallocs' old blocks; the guard outlives the body's locals).
#[track_allocs(max_allocs = 3)]
fn over_allocs() -> usize {
    let own = black_box(String::from("hello world"));
    let (a, b, c) = (grow5(), grow5(), boxed());
    own.len() + a.len() + b.len() + *c as usize
}

/// 48 B in one call of `grow5`, over a 40-byte budget; its 2 allocs are within 5.
#[track_allocs(max_allocs = 5, max_bytes = 40)]
fn over_bytes() -> Vec<u32> {
    grow5()
}

/// A `Vec` of `n` boxes: `n + 1` allocations, over budget when `n > 1`; returns early for 0.
#[track_allocs(max_allocs = 2)]
#[allow(clippy::vec_box)] // the boxes are the point: one allocation each
fn early_return(n: usize) -> Result<Vec<Box<u64>>, &'static str> {
    if n == 0 {
        return Err("empty");
    }
    Ok((0..n).map(|_| boxed()).collect())
}

/// Allocates over its budget, then panics itself.
#[track_allocs(max_allocs = 0)]
fn over_then_panics() {
    let _v = grow5();
    panic!("the function's own panic");
}

#[test]
fn at_the_budget_passes() {
    for _ in 0..2_000 {
        let (v, stats) = alloc_trace::measure(at_budget);
        assert_eq!(v.len(), 5);
        // The snapshot a budgeted call takes for its message is invisible: these are
        // exactly `grow5`'s numbers.
        assert_eq!(
            (
                stats.allocs,
                stats.reallocs,
                stats.frees,
                stats.bytes_allocated,
                stats.bytes_freed
            ),
            (2, 1, 1, 48, 16)
        );
        assert_eq!(stats.peak_bytes, 32);
    }
}

#[test]
fn a_zero_budget_passes_when_nothing_is_allocated() {
    let v: Vec<u32> = (1..=4).collect();
    for _ in 0..10_000 {
        assert_eq!(alloc_free(black_box(&v)), 10);
    }
}

#[test]
fn over_max_allocs_names_the_call_and_its_nested_sites() {
    if !BUDGETS_ON {
        return;
    }
    let expected = format!(
        "alloc-trace: `budget_sync::over_allocs` ({file}:{over}) exceeded its allocation budget (max_allocs = 3): \
         6 allocs (2 reallocs), 6 frees; 115 B allocated, 115 B freed, net 0 B, peak 83 B\n\
         \x20 max_allocs = 3: the call made 6 allocs (reallocs included, nested calls included)  <- OVER\n\
         \x20 the function itself: 1 allocs (0 reallocs), 11 bytes allocated (nested tracked calls excluded)\n\
         \x20 nested tracked calls during this call:\n\
         \x20   budget_sync::fixtures::grow5 ({fixtures}:{grow5}): 2 calls, 4 allocs (2 reallocs), 96 bytes allocated\n\
         \x20   budget_sync::fixtures::boxed ({fixtures}:{boxed}): 1 call, 1 allocs (0 reallocs), 8 bytes allocated\n",
        file = file!(),
        over = site_line("budget_sync::over_allocs"),
        fixtures = fixtures::FILE,
        grow5 = site_line("budget_sync::fixtures::grow5"),
        boxed = site_line("budget_sync::fixtures::boxed"),
    );
    for _ in 0..200 {
        let message = panic_message(|| {
            over_allocs();
        })
        .expect("over budget");
        assert_eq!(message, expected);
    }
}

#[test]
fn over_max_bytes() {
    if !BUDGETS_ON {
        return;
    }
    let expected = format!(
        "alloc-trace: `budget_sync::over_bytes` ({file}:{line}) exceeded its allocation budget \
         (max_allocs = 5, max_bytes = 40): 2 allocs (1 reallocs), 1 frees; 48 B allocated, 16 B freed, \
         net 32 B, peak 32 B\n\
         \x20 max_allocs = 5: the call made 2 allocs (reallocs included, nested calls included)  ok\n\
         \x20 max_bytes = 40: the call allocated 48 bytes (nested calls included)  <- OVER\n\
         \x20 the function itself: 0 allocs (0 reallocs), 0 bytes allocated (nested tracked calls excluded)\n\
         \x20 nested tracked calls during this call:\n\
         \x20   budget_sync::fixtures::grow5 ({fixtures}:{grow5}): 1 call, 2 allocs (1 reallocs), 48 bytes allocated\n",
        file = file!(),
        line = site_line("budget_sync::over_bytes"),
        fixtures = fixtures::FILE,
        grow5 = site_line("budget_sync::fixtures::grow5"),
    );
    for _ in 0..200 {
        assert_eq!(
            panic_message(|| drop(over_bytes())).as_deref(),
            Some(&*expected)
        );
    }
}

#[test]
fn early_returns_are_checked_too() {
    assert_eq!(early_return(0), Err("empty"));
    assert_eq!(early_return(1).map(|v| v.len()), Ok(1));
    let message = panic_message(|| drop(early_return(2)));
    if BUDGETS_ON {
        // Two boxes (nested `boxed` calls) and the `Vec` that collects them: 3 > 2.
        let message = message.expect("over budget");
        assert!(
            message.contains("max_allocs = 2: the call made 3 allocs (reallocs included"),
            "{message}"
        );
        assert!(
            message.contains("budget_sync::fixtures::boxed ("),
            "{message}"
        );
        assert!(
            message.contains("): 2 calls, 2 allocs (0 reallocs), 16 bytes allocated\n"),
            "{message}"
        );
    } else {
        assert_eq!(message, None);
    }
}

#[test]
fn the_panic_comes_after_the_body_not_from_the_allocator() {
    if !BUDGETS_ON {
        return;
    }
    // The body ran to its end (the value was computed) before the budget panicked: the
    // panic is raised by the call's guard, after the allocations, not inside one.
    let mut finished = false;
    let message = panic_message(|| {
        let n = over_bytes().len();
        finished = true; // not reached: the call panics on its way out
        assert_eq!(n, 5);
    });
    assert!(!finished);
    let message = message.expect("over budget");
    assert!(
        message.starts_with("alloc-trace: `budget_sync::over_bytes` ("),
        "{message}"
    );
}

#[test]
fn no_budget_panic_while_already_panicking() {
    // `over_then_panics` is over its zero budget when its own panic unwinds through the
    // guard: only the original panic is raised (a second one would abort the process).
    for _ in 0..100 {
        let message = panic_message(over_then_panics);
        assert_eq!(message.as_deref(), Some("the function's own panic"));
    }
}

#[test]
fn release_builds_skip_budgets_unless_the_feature_asks() {
    let message = panic_message(|| drop(over_bytes()));
    assert_eq!(message.is_some(), BUDGETS_ON);
    // The numbers are counted either way.
    let (_, report) = alloc_trace::capture(|| drop(catch_unwind(over_bytes)));
    let site = report.site("budget_sync::over_bytes").unwrap();
    assert_eq!(
        (
            site.calls,
            site.inclusive.allocs,
            site.inclusive.bytes_allocated
        ),
        (1, 2, 48)
    );
}

#[test]
fn one_budgeted_function_on_many_threads_at_once() {
    // Each call is measured on its own thread: 8 threads calling the same budgeted
    // functions at the same time never push each other over budget.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                let mut over = 0;
                for _ in 0..500 {
                    assert_eq!(at_budget().len(), 5);
                    assert_eq!(alloc_free(&[1, 2, 3]), 6);
                    over += usize::from(panic_message(|| drop(over_bytes())).is_some());
                }
                over
            })
        })
        .collect();
    for t in threads {
        let over = t.join().expect("no budget panic outside `over_bytes`");
        assert_eq!(over, if BUDGETS_ON { 500 } else { 0 });
    }
}

/// Within its budget: `grow5` twice (4 allocs, 2 of them reallocs, 96 B).
#[track_allocs(max_allocs = 4)]
fn inner_within() -> usize {
    grow5().len() + grow5().len()
}

/// Over its budget of 1 through `inner_within`'s nested calls and a `boxed` (each box
/// freed at once; the two `grow5` vectors of `inner_within` are live together: 64 B).
#[track_allocs(max_allocs = 1)]
fn outer_over_through_inner() -> usize {
    inner_within() + *boxed() as usize
}

/// Journals nest: the inner budgeted call's journal hands what it recorded to the outer
/// one when it closes (the outer had recorded nothing yet), and the outer's message lists
/// it; a capture around both sees every call too.
#[test]
fn a_failing_budget_lists_what_a_nested_budgeted_call_ran() {
    if !BUDGETS_ON {
        return;
    }
    let expected = format!(
        "alloc-trace: `budget_sync::outer_over_through_inner` ({file}:{outer}) exceeded its allocation budget (max_allocs = 1): \
         5 allocs (2 reallocs), 5 frees; 104 B allocated, 104 B freed, net 0 B, peak 64 B\n\
         \x20 max_allocs = 1: the call made 5 allocs (reallocs included, nested calls included)  <- OVER\n\
         \x20 the function itself: 0 allocs (0 reallocs), 0 bytes allocated (nested tracked calls excluded)\n\
         \x20 nested tracked calls during this call:\n\
         \x20   budget_sync::fixtures::grow5 ({fixtures}:{grow5}): 2 calls, 4 allocs (2 reallocs), 96 bytes allocated\n\
         \x20   budget_sync::inner_within ({file}:{inner}): 1 call, 4 allocs (2 reallocs), 96 bytes allocated\n\
         \x20   budget_sync::fixtures::boxed ({fixtures}:{boxed}): 1 call, 1 allocs (0 reallocs), 8 bytes allocated\n",
        file = file!(),
        outer = site_line("budget_sync::outer_over_through_inner"),
        inner = site_line("budget_sync::inner_within"),
        fixtures = fixtures::FILE,
        grow5 = site_line("budget_sync::fixtures::grow5"),
        boxed = site_line("budget_sync::fixtures::boxed"),
    );
    for _ in 0..50 {
        let (message, report) = alloc_trace::capture(|| {
            panic_message(|| {
                outer_over_through_inner();
            })
        });
        assert_eq!(message.as_deref(), Some(expected.as_str()));
        let calls = |name: &str| report.site(name).map(|s| s.calls);
        assert_eq!(calls("inner_within"), Some(1));
        assert_eq!(calls("fixtures::grow5"), Some(2));
        assert_eq!(calls("fixtures::boxed"), Some(1));
        assert_eq!(calls("outer_over_through_inner"), Some(1));
    }
}

/// A chain of sixteen tracked functions, the last of which allocates one `u64`.
macro_rules! chain {
    ($($f:ident -> $next:expr;)*) => {
        $(
            #[track_allocs]
            fn $f() -> u64 {
                $next
            }
        )*
    };
}
chain! {
    l01 -> l02(); l02 -> l03(); l03 -> l04(); l04 -> l05(); l05 -> l06(); l06 -> l07();
    l07 -> l08(); l08 -> l09(); l09 -> l10(); l10 -> l11(); l11 -> l12(); l12 -> l13();
    l13 -> l14(); l14 -> l15(); l15 -> l16(); l16 -> *black_box(Box::new(7u64));
}

/// Recurses once, then runs the chain: the chain's path has `rec` on it twice, above
/// sixteen other sites.
#[track_allocs]
fn rec(again: bool) -> u64 {
    if again { rec(false) } else { l01() }
}

#[track_allocs(max_allocs = 0)]
fn deep_over() -> u64 {
    rec(true)
}

/// A nested site counts each allocation once however deep below it and however often it
/// is on the path (recursion): here `rec`, twice on the path, above sixteen other sites.
#[test]
fn a_recursive_nested_site_counts_an_allocation_once_at_any_depth() {
    if !BUDGETS_ON {
        return;
    }
    let message = panic_message(|| {
        deep_over();
    })
    .expect("over budget");
    let nested: Vec<&str> = message
        .lines()
        .skip_while(|l| !l.contains("nested tracked calls during this call"))
        .skip(1)
        .collect();
    let rec = format!(
        "    budget_sync::rec ({}:{}): 2 calls, 1 allocs (0 reallocs), 8 bytes allocated",
        file!(),
        site_line("budget_sync::rec")
    );
    assert_eq!(nested.len(), 17, "{message}");
    assert!(nested.contains(&rec.as_str()), "{message}");
    for line in nested {
        assert!(
            line.ends_with(": 1 call, 1 allocs (0 reallocs), 8 bytes allocated") || line == rec,
            "{message}"
        );
    }
}

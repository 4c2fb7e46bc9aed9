//! `assert_allocs!` and `assert_no_alloc!`: every operator passing and failing, the
//! failure message, single evaluation and the value passing through. Tests in this file
//! run in parallel; each counts its own thread only.

use std::hint::black_box;

use alloc_trace::{assert_allocs, assert_no_alloc, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/panics.rs"]
mod panics;

use fixtures::{boxed, grow5};
use panics::expect_panic;

/// Calls `grow5` twice and keeps one 8-byte box of its own.
#[track_allocs]
fn outer() -> (Vec<u32>, Vec<u32>, Box<u64>) {
    (grow5(), grow5(), black_box(Box::new(7)))
}

#[test]
fn every_field_exactly() {
    let v = assert_allocs!(
        grow5(),
        allocs == 2,
        reallocs == 1,
        frees == 1,
        bytes_allocated == 48,
        bytes_freed == 16,
        peak_bytes == 32,
        net_bytes == 32,
    );
    assert_eq!(v, [0, 1, 2, 3, 4]);
}

#[test]
fn each_operator_passes() {
    let _ = assert_allocs!(grow5(), allocs == 2, reallocs != 0, frees < 2);
    let _ = assert_allocs!(
        grow5(),
        bytes_allocated <= 48,
        peak_bytes > 31,
        bytes_freed >= 16
    );
}

#[test]
fn eq_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), allocs == 1)));
    assert!(
        m.contains("    allocs == 1  expected == 1, actual 2  <- FAILED\n"),
        "{m}"
    );
}

#[test]
fn ne_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), reallocs != 1)));
    assert!(
        m.contains("    reallocs != 1  expected != 1, actual 1  <- FAILED\n"),
        "{m}"
    );
}

#[test]
fn lt_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), allocs < 2)));
    assert!(
        m.contains("    allocs < 2  expected < 2, actual 2  <- FAILED\n"),
        "{m}"
    );
}

#[test]
fn le_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), bytes_allocated <= 47)));
    assert!(
        m.contains("    bytes_allocated <= 47  expected <= 47, actual 48  <- FAILED\n"),
        "{m}"
    );
}

#[test]
fn gt_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), peak_bytes > 32)));
    assert!(
        m.contains("    peak_bytes > 32  expected > 32, actual 32  <- FAILED\n"),
        "{m}"
    );
}

#[test]
fn ge_fails() {
    let m = expect_panic(|| drop(assert_allocs!(grow5(), bytes_freed >= 17)));
    assert!(
        m.contains("    bytes_freed >= 17  expected >= 17, actual 16  <- FAILED\n"),
        "{m}"
    );
}

#[test]
#[should_panic(expected = "net_bytes == 0  expected == 0, actual 32  <- FAILED")]
fn should_panic_works_with_the_message() {
    let _ = assert_allocs!(grow5(), net_bytes == 0);
}

#[test]
fn failure_message_in_full() {
    let expected_allocs = 3;
    let line = line!() + 2;
    let m = expect_panic(|| {
        let _ = assert_allocs!(
            outer(),
            allocs == expected_allocs + 2,
            reallocs <= 1,
            net_bytes == 72
        );
    });
    let head = format!(
        "alloc-trace: assert_allocs! failed at {}:{line}:17\n\
         \x20 expression: outer()\n\
         \x20 conditions:\n\
         \x20   allocs == expected_allocs + 2  expected == 5,  actual 5   ok\n\
         \x20   reallocs <= 1                  expected <= 1,  actual 2   <- FAILED\n\
         \x20   net_bytes == 72                expected == 72, actual 72  ok\n\
         \x20 stats: 5 allocs (2 reallocs), 2 frees; 104 B allocated, 32 B freed, net 72 B, peak 72 B\n",
        file!()
    );
    assert!(
        m.starts_with(&head),
        "message:\n{m}\nexpected to start with:\n{head}"
    );
    // Then the capture's table: both tracked functions with what they did (columns:
    // calls, allocs, allocs/call, reallocs, bytes, bytes/call, net, net/call, peak, excl%).
    let sites = &m[head.len()..];
    assert!(
        sites.starts_with("  what it did, per tracked function (this thread only):\n"),
        "{sites}"
    );
    assert_eq!(
        row(sites, "assert_allocs::outer"),
        "1 5 5 2 104 B 104 B 72 B 72 B 72 B 20.0% assert_allocs::outer"
    );
    assert_eq!(
        row(sites, "assert_allocs::fixtures::grow5"),
        "2 4 2 2 96 B 48 B 64 B 32 B 32 B 80.0% assert_allocs::fixtures::grow5"
    );
}

/// The table row of `function`, its cells separated by single spaces.
fn row(table: &str, function: &str) -> String {
    let line = table
        .lines()
        .find(|l| l.ends_with(function))
        .unwrap_or_else(|| panic!("no row for {function}:\n{table}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn message_without_tracked_functions_says_so() {
    // An allocation outside every tracked function.
    let m = expect_panic(|| drop(assert_allocs!(black_box(Box::new(7u64)), allocs == 0)));
    assert!(
        m.contains(
            "  stats: 1 allocs (0 reallocs), 0 frees; 8 B allocated, 0 B freed, net 8 B, peak 8 B\n"
        ),
        "{m}"
    );
    assert!(
        m.contains("\n      (no tracked function was called)\n"),
        "{m}"
    );
}

#[test]
fn expression_is_evaluated_once() {
    let mut evaluations = 0;
    let b = assert_allocs!(
        {
            evaluations += 1;
            boxed()
        },
        allocs == 1,
        bytes_allocated == 8
    );
    assert_eq!((evaluations, *b), (1, 7));

    let mut evaluations = 0;
    let _ = expect_panic(|| {
        let _ = assert_allocs!(
            {
                evaluations += 1;
                boxed()
            },
            allocs == 9
        );
    });
    assert_eq!(
        evaluations, 1,
        "a failing assertion evaluates the expression once too"
    );
}

#[test]
fn value_expressions_are_evaluated_before_and_not_counted() {
    let n: usize = 2;
    // `vec![..]` in the condition allocates 48 B, outside the measurement.
    let v = assert_allocs!(grow5(), bytes_allocated == vec![0u8; 48].len(), allocs == n);
    assert_eq!(v.len(), 5);
}

#[test]
fn the_value_passes_through_by_move() {
    let owned = String::from("moved in");
    // The expression consumes `owned` and the result is moved out. Growing the string is
    // its one request for a block: a realloc, which also gives back the old block.
    let out: String = assert_allocs!(owned + "!", reallocs == 1, allocs == 1, frees == 1);
    assert_eq!(out, "moved in!");
}

#[test]
fn freeing_older_memory_is_negative_net_bytes() {
    let v = grow5();
    assert_allocs!(
        drop(v),
        frees == 1,
        bytes_freed == 32,
        net_bytes == -32,
        allocs == 0
    );
}

#[test]
fn no_alloc_passes_and_allows_frees() {
    let v = grow5();
    let sum = assert_no_alloc!(v.iter().sum::<u32>());
    assert_eq!(sum, 10);
    assert_no_alloc!(drop(v));
}

#[test]
fn no_alloc_fails_naming_the_site() {
    let line = line!() + 1;
    let m = expect_panic(|| drop(assert_no_alloc!(grow5())));
    let head = format!(
        "alloc-trace: assert_no_alloc! failed at {}:{line}:34\n\
         \x20 expression: grow5()\n\
         \x20 conditions:\n\
         \x20   allocs == 0  expected == 0, actual 2  <- FAILED\n\
         \x20 stats: 2 allocs (1 reallocs), 1 frees; 48 B allocated, 16 B freed, net 32 B, peak 32 B\n",
        file!()
    );
    assert!(
        m.starts_with(&head),
        "message:\n{m}\nexpected to start with:\n{head}"
    );
    assert_eq!(
        row(&m[head.len()..], "assert_allocs::fixtures::grow5"),
        "1 2 2 1 48 B 48 B 32 B 32 B 32 B 100.0% assert_allocs::fixtures::grow5"
    );
}

#[test]
fn a_passing_assertion_is_invisible_to_an_enclosing_measurement() {
    let (_, stats) = alloc_trace::measure(|| {
        let v = assert_allocs!(grow5(), allocs == 2);
        black_box(v)
    });
    assert_eq!(
        (
            stats.allocs,
            stats.reallocs,
            stats.bytes_allocated,
            stats.bytes_freed
        ),
        (2, 1, 48, 16)
    );
    assert_eq!(stats.peak_bytes, 32);
}

#[test]
fn assertions_nest() {
    let (a, b) = assert_allocs!(
        (
            assert_allocs!(grow5(), allocs == 2),
            assert_no_alloc!(black_box(3))
        ),
        allocs == 2,
        reallocs == 1,
        bytes_allocated == 48,
    );
    assert_eq!((a.len(), b), (5, 3));
}

fn fails() -> u32 {
    panic!("inner failure")
}

#[test]
fn the_panic_of_the_expression_propagates() {
    let m = expect_panic(|| {
        let _ = assert_allocs!(fails(), allocs == 0);
    });
    assert_eq!(m, "inner failure");
}

//! A capture or a budget whose journal could not record an entry says so.
//!
//! A journal cannot record an entry when `System` memory runs out, or when a signal
//! handler's tracked call interrupts the code writing the journal: that code has the
//! journal marked busy, which the handler's call finds. The tests make the second case
//! happen on purpose, by marking the journal busy around a tracked call
//! ([`Tables::as_if_journal_busy`]): what a handler sees.

use core::hint::black_box;
use core::pin::pin;

use crate::__private::{Site, SiteRegistration};
use crate::record::Tables;
use crate::test_calls::tracked;
use crate::{capture, report};

static LOST: Site = Site::new("unrecorded_tests::lost", file!(), 1);
static KEPT: Site = Site::new("unrecorded_tests::kept", file!(), 2);
static MAXED: Site = Site::new("unrecorded_tests::maxed", file!(), 3);
inventory::submit! { SiteRegistration(&LOST) }
inventory::submit! { SiteRegistration(&KEPT) }
inventory::submit! { SiteRegistration(&MAXED) }

/// A tracked call of `site` that allocates `blocks` blocks of 24 bytes and frees them.
fn call(site: &'static Site, blocks: usize) {
    tracked(site, || {
        for _ in 0..blocks {
            drop(black_box(vec![0u8; 24]));
        }
    });
}

fn row_calls(report: &crate::Report, site: &Site) -> Option<u64> {
    report
        .site(&site.name().to_string())
        .filter(|s| s.ran())
        .map(|s| s.calls)
}

#[test]
fn a_capture_names_what_it_could_not_record() {
    let (_, report) = capture(|| {
        call(&KEPT, 1);
        // As a signal handler would: the site's entry and its path's are lost.
        Tables::as_if_journal_busy(|| call(&LOST, 1));
        // Recorded later, the entry would start in the middle: it stays missing.
        call(&LOST, 2);
    });
    assert_eq!(report.unrecorded(), 2, "one site, one path");
    assert_eq!(row_calls(&report, &KEPT), Some(1));
    assert_eq!(row_calls(&report, &LOST), None, "no short row");
    // Totals come from the counters: exact. The lost calls' 3 blocks are not in a row.
    assert_eq!(report.totals().allocs, 4);
    assert_eq!(report.in_tracked().allocs, 1);
    let table = report.to_string();
    assert!(
        table.contains(
            "\nnote: 2 functions or call paths the capture touched could not be recorded \
             (a signal handler's tracked call interrupted the capture's bookkeeping, or \
             memory ran out): rows are missing for them (totals are exact)\n"
        ),
        "{table}"
    );
    #[cfg(feature = "json")]
    {
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["threads"]["unrecorded"], 2);
        assert_eq!(crate::Report::from_json(&report.to_json()).unwrap(), report);
    }
}

#[test]
fn a_complete_capture_has_every_row_and_no_note() {
    // The same calls with nothing interrupting: the rows the test above misses are there.
    let (_, report) = capture(|| {
        call(&KEPT, 1);
        call(&LOST, 1);
        call(&LOST, 2);
    });
    assert_eq!(report.unrecorded(), 0);
    assert_eq!(row_calls(&report, &LOST), Some(2));
    assert_eq!(report.in_tracked().allocs, 4);
    assert!(!report.to_string().contains("could not be recorded"));
}

#[test]
fn an_enclosing_capture_misses_what_a_nested_one_missed() {
    let (inner, outer) = capture(|| {
        call(&KEPT, 1);
        capture(|| Tables::as_if_journal_busy(|| call(&LOST, 1))).1
    });
    assert_eq!(inner.unrecorded(), 2);
    assert_eq!(outer.unrecorded(), 2);
    assert_eq!(row_calls(&outer, &LOST), None);
    assert_eq!(row_calls(&outer, &KEPT), Some(1));
}

#[test]
fn an_unrecorded_entry_keeps_the_sites_maximum() {
    // Three allocations in one call, outside any capture: the site's maximum per call.
    call(&MAXED, 3);
    let _ = capture(|| Tables::as_if_journal_busy(|| call(&MAXED, 1)));
    // The journal that lost the entry had nothing to give the maximum back with: the
    // table must not have lowered it for the journal's period.
    let site = report();
    let maxed = site.site("unrecorded_tests::maxed").expect("listed");
    assert_eq!((maxed.calls, maxed.max_allocs_per_call), (2, 3));
}

static BUDGETED: Site =
    Site::new("unrecorded_tests::budgeted", file!(), 4).with_budget(Some(1), None, true);
inventory::submit! { SiteRegistration(&BUDGETED) }

/// A call of `BUDGETED` (at most 1 allocation) making `nested` nested calls, built as the
/// attribute builds it.
fn budgeted(nested: impl FnOnce()) {
    use crate::__private::BudgetGuard;
    let guard = pin!(BudgetGuard::<true>::new(&BUDGETED));
    let end = BudgetGuard::enter(guard, Some(1), None);
    nested();
    end.finish();
}

fn budget_message(nested: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let failure = std::panic::catch_unwind(|| budgeted(nested)).expect_err("over its budget");
    failure
        .downcast_ref::<String>()
        .expect("a formatted message")
        .clone()
}

#[test]
fn a_budget_failure_says_which_nested_calls_it_could_not_list() {
    let message = budget_message(|| {
        call(&KEPT, 1);
        Tables::as_if_journal_busy(|| call(&LOST, 1));
    });
    assert!(
        message.contains(
            "\n  note: 2 nested functions or call paths could not be recorded (a signal \
             handler's tracked call interrupted the bookkeeping, or memory ran out): missing \
             below, and counted as the function's own\n  nested tracked calls during this call:\n    \
             unrecorded_tests::kept"
        ),
        "{message}"
    );
    assert!(!message.contains("unrecorded_tests::lost"), "{message}");
    // Without the interruption: both listed, no note.
    let message = budget_message(|| {
        call(&KEPT, 1);
        call(&LOST, 1);
    });
    assert!(message.contains("unrecorded_tests::lost"), "{message}");
    assert!(!message.contains("could not be recorded"), "{message}");
}

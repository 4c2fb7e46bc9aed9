//! Hygiene of `#[track_allocs]`: the expansion works when the user has items named like
//! the paths and names it uses (`alloc_trace`, `core`, `std`, `Result`, `Option`, `Site`,
//! `CallGuard`, `inventory`, std's macros, locals and statics in the body), with
//! `crate = path` for a renamed or wrapped crate, and keeps the function's attributes.
#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    unused_macros,
    clippy::upper_case_acronyms
)]

extern crate alloc_trace as renamed;

use ::alloc_trace::{AllocStats, Report, capture, track_allocs};

#[global_allocator]
static ALLOC: ::alloc_trace::CountingAlloc = ::alloc_trace::CountingAlloc::system();

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

// Everything the expansion names, defined again by the user. A relative `alloc_trace`,
// `core` or `std` path in the expansion would now find these modules.
mod alloc_trace {}
mod core {}
mod std {}
mod inventory {}
type Result = ();
struct Option;
struct Some;
struct None;
struct Site;
struct SiteRegistration;
struct CallGuard;
struct BudgetGuard;
struct SITE;
fn track_future() {}
fn enter() {}
macro_rules! concat {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `concat!`")
    };
}
macro_rules! module_path {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `module_path!`")
    };
}
macro_rules! file {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `file!`")
    };
}
macro_rules! line {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `line!`")
    };
}
macro_rules! unreachable {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `unreachable!`")
    };
}
macro_rules! cfg {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `cfg!`")
    };
}

/// One 10-byte allocation, freed at once.
fn churn10() {
    drop(::std::hint::black_box(::std::vec![0u8; 10]));
}

const ONE_CHURN: AllocStats = AllocStats {
    allocs: 1,
    reallocs: 0,
    frees: 1,
    bytes_allocated: 10,
    bytes_freed: 10,
    peak_bytes: 10,
};

#[track_caller]
fn assert_one_churn(report: &Report, name: &str) {
    let s = report
        .sites()
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| ::std::panic!("no site named {name:?}"));
    ::std::assert_eq!(s.calls, 1, "{name}");
    ::std::assert_eq!(s.inclusive, ONE_CHURN, "{name}");
}

/// The body's own items and locals named like the expansion's.
#[track_allocs]
fn shadowing_body() -> u8 {
    static SITE: u8 = 1;
    const __ALLOC_TRACE_SITE: u8 = 2;
    let __alloc_trace_guard = 3;
    let __alloc_trace_value = 4;
    struct CallGuard;
    let _ = CallGuard;
    churn10();
    SITE + __ALLOC_TRACE_SITE + __alloc_trace_guard + __alloc_trace_value
}

#[track_allocs(max_allocs = 1, max_bytes = 10)]
fn with_budget() {
    churn10();
}

#[track_allocs]
async fn shadowing_async(x: u8) -> ::core::result::Result<u8, u8> {
    let __alloc_trace_return = x;
    churn10();
    ::core::result::Result::Ok(__alloc_trace_return)
}

struct Thing;

#[track_allocs]
impl Thing {
    fn method(&self) -> u8 {
        let __alloc_trace_guard = 4;
        churn10();
        __alloc_trace_guard
    }
}

#[test]
fn user_items_do_not_clash_with_the_expansion() {
    let ((), report) = capture(|| {
        ::std::assert_eq!(shadowing_body(), 10);
        with_budget();
        ::std::assert_eq!(block_on(shadowing_async(7)), ::core::result::Result::Ok(7));
        ::std::assert_eq!(Thing.method(), 4);
    });
    assert_one_churn(&report, "track_allocs_hygiene::shadowing_body");
    assert_one_churn(&report, "track_allocs_hygiene::with_budget");
    assert_one_churn(&report, "track_allocs_hygiene::shadowing_async");
    assert_one_churn(&report, "track_allocs_hygiene::Thing::method");
}

// ---------------------------------------------------------------------------------------
// `crate = path`: a renamed dependency, as a path or a string, and a wrapper crate.

#[track_allocs(crate = renamed)]
fn via_renamed() {
    churn10();
}

#[track_allocs(crate = "renamed")]
fn via_renamed_string() {
    churn10();
}

#[track_allocs(crate = renamed)]
async fn via_renamed_async() {
    churn10();
}

#[track_allocs(crate = renamed)]
impl Thing {
    fn via_renamed_method(&self) {
        churn10();
    }
}

/// A wrapper of the runtime's hidden module that counts the async calls it sees, to show
/// that `crate = path` is the path the expansion really goes through.
mod wrapper {
    pub mod __private {
        pub use ::alloc_trace::__private::*;

        pub static WRAPPED: ::core::sync::atomic::AtomicUsize =
            ::core::sync::atomic::AtomicUsize::new(0);

        pub fn track_future<F: ::core::future::Future>(
            site: &'static Site,
            future: F,
        ) -> TrackedFuture<F> {
            WRAPPED.fetch_add(1, ::core::sync::atomic::Ordering::Relaxed);
            ::alloc_trace::__private::track_future(site, future)
        }
    }
}

#[track_allocs(crate = crate::wrapper)]
async fn via_wrapper() {
    churn10();
}

#[test]
fn crate_option_for_renamed_and_wrapped_crates() {
    let ((), report) = capture(|| {
        via_renamed();
        via_renamed_string();
        block_on(via_renamed_async());
        Thing.via_renamed_method();
        block_on(via_wrapper());
    });
    assert_one_churn(&report, "track_allocs_hygiene::via_renamed");
    assert_one_churn(&report, "track_allocs_hygiene::via_renamed_string");
    assert_one_churn(&report, "track_allocs_hygiene::via_renamed_async");
    assert_one_churn(&report, "track_allocs_hygiene::Thing::via_renamed_method");
    assert_one_churn(&report, "track_allocs_hygiene::via_wrapper");
    let wrapped = wrapper::__private::WRAPPED.load(::core::sync::atomic::Ordering::Relaxed);
    ::std::assert_eq!(wrapped, 1);
}

// ---------------------------------------------------------------------------------------
// Attributes are kept, in order, with the attribute's own position among them.

/// Would not compile if the `cfg` were dropped: a string is no `u32`.
#[track_allocs]
#[cfg(not(test))]
fn configured_out() -> u32 {
    "not a u32"
}

#[track_allocs]
#[cfg(test)]
fn configured() -> u32 {
    churn10();
    1
}

#[track_allocs]
#[cfg(not(test))]
fn configured() -> u32 {
    2
}

/// Inner attributes of the body stay in the body.
#[track_allocs]
fn inner_attribute() -> u32 {
    #![allow(unused_variables)]
    let unused = 5;
    churn10();
    3
}

#[test]
fn attributes_are_kept() {
    let (n, report) = capture(|| configured() + inner_attribute());
    ::std::assert_eq!(n, 4);
    assert_one_churn(&report, "track_allocs_hygiene::configured");
    assert_one_churn(&report, "track_allocs_hygiene::inner_attribute");
}

//! Hygiene and lints of `tracked!` and the handoff API: the expansions use absolute paths
//! only and no `unsafe`, compile without a warning under `#![forbid(unsafe_code)]`,
//! `#![deny(warnings)]` and `#![deny(clippy::pedantic)]` (checked by the workspace's
//! `cargo clippy --all-targets -- -D warnings`), beside user items named like everything
//! they use, with diverging and unit bodies, and in a `no_implicit_prelude` module.
#![forbid(unsafe_code)]
#![deny(warnings, clippy::all, clippy::pedantic)]
#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    unused_macros,
    clippy::upper_case_acronyms
)]

use ::alloc_trace::{InCurrentSite, capture, handoff, track_allocs, tracked};

#[global_allocator]
static ALLOC: ::alloc_trace::CountingAlloc = ::alloc_trace::CountingAlloc::system();

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

// Everything the expansions name, defined again by the user: a relative path in them
// would find these.
mod alloc_trace {}
mod core {}
mod inventory {}
struct Site;
struct SiteRegistration;
struct CallGuard;
struct SITE;
struct NAME;
fn track_future() {}
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
macro_rules! line {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `line!`")
    };
}
macro_rules! assert {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `assert!`")
    };
}
macro_rules! pin {
    ($($t:tt)*) => {
        compile_error!("the expansion used the user's `pin!`")
    };
}

/// Locals named like the expansion's own are the user's, inside and around it.
#[track_allocs]
fn locals_stay_the_users() -> usize {
    let guard = 1;
    let value = ::std::hint::black_box(::std::vec![0u8; 4]);
    let n = tracked!("locals", guard + value.len());
    let f = tracked!("closure_locals", move |value: usize| value + guard);
    n + f(2)
}

/// Diverging and unit bodies set off no lint.
fn diverges(stop: bool) -> u8 {
    if stop {
        tracked!("returns", return 1);
    }
    tracked!(
        "unit",
        ::std::mem::drop(::std::hint::black_box(::std::vec![0u8; 1]))
    );
    tracked!("never", ::std::panic!("handoff_hygiene: not reached"))
}

#[test]
fn expansions_are_hygienic_and_quiet() {
    let (n, report) = capture(locals_stay_the_users);
    ::std::assert_eq!(n, 5 + 3);
    ::std::assert_eq!(report.site("locals").unwrap().calls, 1);
    ::std::assert_eq!(report.site("closure_locals").unwrap().calls, 1);
    ::std::assert_eq!(diverges(true), 1);
    let work = handoff(|| ::std::hint::black_box(::std::boxed::Box::new(1u8)));
    ::std::assert_eq!(*::std::thread::spawn(work).join().unwrap(), 1);
    let task = async { 2u8 }.in_current_site();
    ::std::assert_eq!(block_on(task), 2);
    ::std::assert_eq!(block_on(tracked!("async_quiet", async move { 3u8 })), 3);
}

mod no_prelude {
    #![no_implicit_prelude]

    #[test]
    fn expansions_need_no_prelude() {
        let n = ::alloc_trace::tracked!("no_prelude", ::std::vec![1u8, 2].len());
        ::std::assert_eq!(n, 2);
        let f = ::alloc_trace::tracked!("no_prelude_closure", |x: u8| x + 1);
        ::std::assert_eq!(f(1), 2);
        let here = ::alloc_trace::Handoff::current();
        ::std::assert_eq!(here.run(|| 3), 3);
        let work = ::alloc_trace::handoff(|| 4);
        ::std::assert_eq!(work(), 4);
    }
}

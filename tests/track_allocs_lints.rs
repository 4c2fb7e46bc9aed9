//! `#[track_allocs]` expansions compile without a warning under `#![forbid(unsafe_code)]`,
//! `#![deny(warnings)]` and `#![deny(clippy::pedantic)]` (the workspace's
//! `cargo clippy --all-targets -- -D warnings` checks the clippy part), on every kind of
//! function the attribute takes.
#![forbid(unsafe_code)]
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::hint::black_box;
use std::pin::Pin;

use alloc_trace::{AllocStats, capture, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/block_on.rs"]
mod block_on;
use block_on::block_on;

/// One 10-byte allocation, freed at once.
fn churn10() {
    drop(black_box(vec![0u8; 10]));
}

#[track_allocs]
fn unit() {
    churn10();
}

#[track_allocs]
fn with_items_and_tail(x: u32) -> u32 {
    fn helper(v: u32) -> u32 {
        v * 2
    }
    const OFFSET: u32 = 1;
    churn10();
    helper(x) + OFFSET
}

#[track_allocs(name = "lints budgeted", max_allocs = 1, max_bytes = 1_000_000)]
fn budgeted() -> usize {
    black_box(vec![0u8; 10]).len()
}

#[track_allocs]
fn fallible(s: &str) -> Result<u32, std::num::ParseIntError> {
    churn10();
    let n: u32 = s.parse()?;
    Ok(n)
}

#[track_allocs]
fn generic<T, const N: usize>(x: &T) -> Vec<T>
where
    T: Default + Clone + Send,
{
    let mut v = vec![T::default(); N];
    v.push(x.clone());
    v
}

#[track_allocs]
fn impl_trait(it: impl Iterator<Item = u8>) -> impl Iterator<Item = u8> {
    it.map(|b| b + 1)
}

#[track_allocs]
async fn async_unit() {
    churn10();
}

#[track_allocs]
async fn async_result(s: &str) -> Result<u8, std::num::ParseIntError> {
    churn10();
    s.parse()
}

struct Thing(u32);

#[track_allocs]
impl Thing {
    fn new() -> Self {
        churn10();
        Self(1)
    }

    fn by_ref(&self) -> u32 {
        churn10();
        self.0
    }

    fn by_mut(&mut self) {
        churn10();
        self.0 += 1;
    }

    #[allow(
        clippy::boxed_local,
        reason = "the `Box<Self>` receiver is what is tested"
    )]
    fn by_box(self: Box<Self>) -> u32 {
        churn10();
        self.0
    }

    fn by_pin(self: Pin<&mut Self>) -> u32 {
        churn10();
        self.0
    }

    async fn by_ref_async(&self) -> u32 {
        churn10();
        self.0
    }

    const fn untracked(&self) -> u32 {
        self.0
    }
}

trait Describe {
    #[track_allocs]
    fn describe(&self) -> u32 {
        churn10();
        0
    }
}

impl Describe for Thing {}

#[test]
fn every_kind_compiles_cleanly_and_counts() {
    let (sum, report) = capture(|| {
        unit();
        let mut sum = with_items_and_tail(1);
        sum += u32::try_from(budgeted()).unwrap();
        sum += fallible("2").unwrap();
        sum += u32::try_from(generic::<u8, 2>(&1).len()).unwrap();
        sum += impl_trait([1u8].into_iter()).map(u32::from).sum::<u32>();
        block_on(async_unit());
        sum += u32::from(block_on(async_result("3")).unwrap());
        let mut thing = Thing::new();
        thing.by_mut();
        sum += thing.by_ref() + Pin::new(&mut thing).by_pin() + block_on(thing.by_ref_async());
        sum += thing.untracked() + thing.describe();
        sum + Box::new(thing).by_box()
    });
    // `describe` returns 0.
    assert_eq!(sum, 3 + 10 + 2 + 3 + 2 + 3 + 2 + 2 + 2 + 2 + 2);
    let churned = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 1,
        bytes_allocated: 10,
        bytes_freed: 10,
        peak_bytes: 10,
    };
    for name in [
        "unit",
        "with_items_and_tail",
        "lints budgeted",
        "fallible",
        "async_unit",
        "async_result",
        "Thing::new",
        "Thing::by_ref",
        "Thing::by_mut",
        "Thing::by_box",
        "Thing::by_pin",
        "Thing::by_ref_async",
        "describe",
    ] {
        let site = report.site(name).unwrap();
        assert_eq!((site.calls, site.inclusive), (1, churned), "{name}");
    }
    // `vec![0u8; 2]` (2 bytes), then one push: grown to 8 bytes by a realloc (one of the
    // 2 allocs, and a free of the old block); kept.
    let generic = report.site("generic").unwrap();
    let expected = AllocStats {
        allocs: 2,
        reallocs: 1,
        frees: 1,
        bytes_allocated: 2 + 8,
        bytes_freed: 2,
        peak_bytes: 8,
    };
    assert_eq!((generic.calls, generic.inclusive), (1, expected));
    assert_eq!(
        report.site("impl_trait").unwrap().inclusive,
        AllocStats::default()
    );
    assert!(report.site("Thing::untracked").is_none());
}

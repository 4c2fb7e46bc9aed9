//! `#[track_allocs]` on every kind of function: free functions, methods with every kind
//! of receiver, associated functions, trait impls and trait default methods, generic,
//! `impl Trait`, `async`, `unsafe` and pattern-argument functions, early `return` and `?`,
//! and whole `impl` blocks. Every test asserts the exact numbers of its sites.
//!
//! Most functions here allocate `vec![0u8; 10]` once and free it before returning: one
//! `alloc_zeroed` of 10 bytes and one `dealloc` of 10 bytes per call, a peak of 10 bytes.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Waker};

use alloc_trace::{AllocCounts, AllocStats, Report, capture, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// One 10-byte allocation, freed at once.
fn churn10() {
    drop(black_box(vec![0u8; 10]));
}

/// What `calls` calls of a function that only runs `churn10` once each add up to.
fn churned(calls: u64) -> AllocStats {
    AllocStats {
        allocs: calls,
        reallocs: 0,
        frees: calls,
        bytes_allocated: 10 * calls,
        bytes_freed: 10 * calls,
        peak_bytes: 10,
    }
}

/// A site that ran `churn10` once per call and called no other tracked function.
#[track_caller]
fn assert_churned(report: &Report, name: &str, calls: u64) {
    let s = site(report, name);
    assert_eq!(s.calls, calls, "{name}: calls");
    assert_eq!(s.inclusive, churned(calls), "{name}: inclusive");
    assert_eq!(
        s.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..churned(calls)
        })
        .counts(),
        "{name}: exclusive"
    );
    assert_eq!(s.max_allocs_per_call, 1, "{name}: max_allocs_per_call");
}

#[path = "support/block_on.rs"]
mod block_on;
#[path = "support/sites.rs"]
mod sites;
#[path = "support/yield_once.rs"]
mod yield_once;

use block_on::block_on;
use sites::site;
use yield_once::YieldOnce;

// ---------------------------------------------------------------------------------------
// Free functions, names, file and line.

#[track_allocs]
fn free_fn() {
    churn10();
}

const RENAMED_LINE: u32 = line!() + 2;
#[track_allocs(name = "custom site name")]
fn renamed() {
    churn10();
}

#[track_allocs]
fn r#match() {
    churn10();
}

#[test]
fn free_function_default_name_override_file_and_line() {
    let ((), report) = capture(|| {
        free_fn();
        free_fn();
        renamed();
        r#match();
    });
    assert_churned(&report, "track_allocs_kinds::free_fn", 2);
    assert_churned(&report, "custom site name", 1);
    assert_churned(&report, "track_allocs_kinds::match", 1);
    let renamed = site(&report, "custom site name");
    assert_eq!(renamed.file, file!());
    assert_eq!(
        renamed.line, RENAMED_LINE,
        "the line of the function's name"
    );
}

// ---------------------------------------------------------------------------------------
// Methods with every receiver, one attribute per method: the macro cannot see the `impl`,
// but a method with a receiver or `Self` in its signature is named `module::Type::method`
// by the runtime, from the type of its first call.

struct Counter {
    n: u32,
}

impl Counter {
    #[track_allocs]
    fn assoc_new() -> Self {
        churn10();
        Self { n: 0 }
    }

    #[track_allocs]
    fn by_value(self) -> u32 {
        churn10();
        self.n
    }

    #[track_allocs]
    fn by_ref(&self) -> u32 {
        churn10();
        self.n
    }

    #[track_allocs]
    fn by_mut(&mut self) {
        churn10();
        self.n += 1;
    }

    #[track_allocs]
    #[allow(
        clippy::boxed_local,
        reason = "the `Box<Self>` receiver is what is tested"
    )]
    fn by_box(self: Box<Self>) -> u32 {
        churn10();
        self.n
    }

    #[track_allocs]
    fn by_pin(self: Pin<&mut Self>) -> u32 {
        churn10();
        self.get_mut().n += 1;
        0
    }
}

#[test]
fn methods_with_every_receiver() {
    let (n, report) = capture(|| {
        let mut c = Counter::assoc_new();
        c.by_mut();
        let mut n = c.by_ref();
        n += Pin::new(&mut c).by_pin();
        n += c.by_value();
        n
    });
    // by_ref sees 1 (after by_mut), by_value 2 (after by_pin).
    assert_eq!(n, 3);
    for name in ["assoc_new", "by_value", "by_ref", "by_mut", "by_pin"] {
        assert_churned(&report, &format!("track_allocs_kinds::Counter::{name}"), 1);
    }
    // The whole closure did nothing but these five calls.
    assert_eq!(report.totals(), churned(5).counts());
    assert_eq!(report.peak_bytes(), Some(10));
}

/// A `Box<Self>` receiver is an argument like any other: dropped when the function
/// returns, after the call's guard, so freeing it counts for the caller, not the site.
#[test]
fn box_receiver_is_freed_by_the_caller() {
    let (n, report) = capture(|| black_box(Box::new(Counter { n: 7 })).by_box());
    assert_eq!(n, 7);
    assert_churned(&report, "track_allocs_kinds::Counter::by_box", 1);
    let box_of_counter = AllocCounts {
        allocs: 1,
        reallocs: 0,
        frees: 1,
        bytes_allocated: 4,
        bytes_freed: 4,
    };
    assert_eq!(report.outside_tracked(), box_of_counter);
}

// ---------------------------------------------------------------------------------------
// `impl` blocks: every method, named `module::Type::method`.

struct Widget {
    id: u32,
}

#[track_allocs]
impl Widget {
    fn new(id: u32) -> Self {
        churn10();
        Self { id }
    }

    fn touch(&self) -> u32 {
        churn10();
        self.id
    }

    fn generic<T: Default>(&self) -> T {
        churn10();
        T::default()
    }

    async fn fetch(&self) -> u32 {
        churn10();
        YieldOnce::default().await;
        self.id
    }

    /// Left alone: a `const fn` may run at compile time.
    const fn constant() -> u32 {
        7
    }

    /// The method's own attribute overrides the block's arguments.
    #[track_allocs(name = "widget special")]
    fn special(&self) -> u32 {
        churn10();
        self.id
    }
}

#[test]
fn impl_block_instruments_every_method() {
    let (sum, report) = capture(|| {
        let w = Widget::new(3);
        let mut sum = w.touch() + w.touch();
        sum += w.generic::<u32>() + u32::from(w.generic::<u8>());
        sum += block_on(w.fetch());
        sum + w.special() + Widget::constant()
    });
    assert_eq!(sum, 3 + 3 + 3 + 3 + 7);
    assert_churned(&report, "track_allocs_kinds::Widget::new", 1);
    assert_churned(&report, "track_allocs_kinds::Widget::touch", 2);
    assert_churned(&report, "track_allocs_kinds::Widget::generic", 2);
    assert_churned(&report, "track_allocs_kinds::Widget::fetch", 1);
    assert_churned(&report, "widget special", 1);
    assert!(
        report.site("Widget::constant").is_none(),
        "a const fn is not a site"
    );
    assert!(
        report.site("Widget::special").is_none(),
        "renamed: no default-named site"
    );
    assert_eq!(report.totals(), churned(7).counts());
    assert_eq!(report.peak_bytes(), Some(10));
}

// ---------------------------------------------------------------------------------------
// Traits: impls (on the block and per method) and default methods.

trait Shape {
    fn area(&self) -> u32;

    /// One site for every implementor that keeps the default, named after the first
    /// implementor that calls it.
    #[track_allocs]
    fn describe(&self) -> u32 {
        churn10();
        self.area()
    }

    #[track_allocs]
    async fn describe_later(&self) -> u32 {
        YieldOnce::default().await;
        churn10();
        self.area()
    }
}

struct Square(u32);
struct Circle(u32);

#[track_allocs]
impl Shape for Square {
    fn area(&self) -> u32 {
        churn10();
        self.0 * self.0
    }
}

impl Shape for Circle {
    #[track_allocs]
    fn area(&self) -> u32 {
        churn10();
        3 * self.0 * self.0
    }
}

#[test]
fn trait_impls_and_default_methods() {
    let (sum, report) = capture(|| {
        let (s, c) = (Square(2), Circle(1));
        s.describe() + c.describe() + block_on(s.describe_later())
    });
    assert_eq!(sum, 4 + 3 + 4);
    // Three `describe*` calls, each calling `area` once: `describe` calls nest `area`.
    // The block names the trait; a method's own attribute cannot see it.
    assert_churned(&report, "track_allocs_kinds::<Square as Shape>::area", 2);
    assert_churned(&report, "track_allocs_kinds::Circle::area", 1);
    // Square called the default methods first.
    let describe = site(&report, "track_allocs_kinds::Square::describe");
    assert_eq!(describe.calls, 2);
    assert_eq!(
        describe.inclusive,
        AllocStats {
            peak_bytes: 10,
            ..churned(4)
        }
    );
    assert_eq!(
        describe.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..churned(2)
        })
        .counts()
    );
    assert_eq!(describe.max_allocs_per_call, 2);
    let later = site(&report, "track_allocs_kinds::Square::describe_later");
    assert_eq!(later.calls, 1);
    assert_eq!(later.inclusive, churned(2));
    assert_eq!(
        later.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..churned(1)
        })
        .counts()
    );
}

// ---------------------------------------------------------------------------------------
// Generics: every instantiation shares the function's one site.

#[track_allocs]
fn generic<T>(n: usize) -> usize
where
    T: Default + Clone,
{
    black_box(vec![T::default(); n]).len()
}

#[track_allocs]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    churn10();
    if a.len() >= b.len() { a } else { b }
}

#[track_allocs]
fn const_generic<const N: usize>() -> usize {
    black_box([0u8; N].to_vec()).len()
}

#[test]
fn generic_instantiations_share_one_site() {
    let (n, report) = capture(|| generic::<u8>(10) + generic::<String>(1));
    assert_eq!(n, 11);
    let s = site(&report, "track_allocs_kinds::generic");
    assert_eq!(s.calls, 2);
    // 10 one-byte `u8`s, then one 24-byte `String` (`String::new` itself allocates nothing).
    let expected = AllocStats {
        allocs: 2,
        reallocs: 0,
        frees: 2,
        bytes_allocated: 10 + 24,
        bytes_freed: 10 + 24,
        peak_bytes: 24,
    };
    assert_eq!(s.inclusive, expected);
    assert_eq!(
        s.exclusive,
        (AllocStats {
            peak_bytes: 0,
            ..expected
        })
        .counts()
    );
    assert_eq!(s.max_allocs_per_call, 1);
}

#[test]
fn lifetime_and_const_generics() {
    let (n, report) =
        capture(|| longest("ab", "c").len() + const_generic::<10>() + const_generic::<20>());
    assert_eq!(n, 2 + 10 + 20);
    assert_churned(&report, "track_allocs_kinds::longest", 1);
    let s = site(&report, "track_allocs_kinds::const_generic");
    assert_eq!(s.calls, 2);
    let expected = AllocStats {
        allocs: 2,
        reallocs: 0,
        frees: 2,
        bytes_allocated: 30,
        bytes_freed: 30,
        peak_bytes: 20,
    };
    assert_eq!(s.inclusive, expected);
}

// ---------------------------------------------------------------------------------------
// `impl Trait`, `unsafe fn`, patterns, early `return` and `?`.

/// Collects the iterator (an exact-size range: one allocation of its length) and hands the
/// buffer back: allocated in the call, freed by the caller.
#[track_allocs]
fn impl_trait(it: impl Iterator<Item = u8>) -> impl Iterator<Item = u8> {
    let v: Vec<u8> = black_box(it.collect());
    v.into_iter()
}

#[test]
fn impl_trait_in_argument_and_return() {
    let (sum, report) = capture(|| impl_trait(0..10).map(u32::from).sum::<u32>());
    assert_eq!(sum, 45);
    let s = site(&report, "track_allocs_kinds::impl_trait");
    assert_eq!(s.calls, 1);
    let kept = AllocStats {
        allocs: 1,
        reallocs: 0,
        frees: 0,
        bytes_allocated: 10,
        bytes_freed: 0,
        peak_bytes: 10,
    };
    assert_eq!(s.inclusive, kept);
    assert_eq!(s.inclusive.net_bytes(), 10);
    // The caller freed the buffer.
    assert_eq!(report.outside_tracked().frees, 1);
    assert_eq!(report.outside_tracked().bytes_freed, 10);
}

/// # Safety
///
/// `n` must not be 0.
#[track_allocs]
unsafe fn raw_alloc(n: usize) -> usize {
    let layout = std::alloc::Layout::array::<u8>(n).unwrap();
    // SAFETY: `layout` has a non-zero size (the caller's contract).
    let p = black_box(unsafe { std::alloc::alloc(layout) });
    assert!(!p.is_null());
    // SAFETY: `p` was just allocated with `layout`.
    unsafe { std::alloc::dealloc(p, layout) };
    n
}

struct Pair {
    x: usize,
    y: usize,
}

#[track_allocs]
fn patterns(
    (a, b): (usize, usize),
    Pair { x, y: _ }: Pair,
    [c, ..]: [usize; 3],
    mut d: usize,
    _: u8,
) -> usize {
    d += a + b + x + c;
    black_box(vec![0u8; d]).len()
}

#[track_allocs]
fn early_return(stop: bool) -> usize {
    let a = black_box(vec![0u8; 10]);
    if stop {
        return a.len();
    }
    let b = black_box(vec![0u8; 10]);
    a.len() + b.len()
}

#[track_allocs]
fn question_mark(s: &str) -> Result<usize, std::num::ParseIntError> {
    let a = black_box(vec![0u8; 10]);
    let n: usize = s.parse()?;
    Ok(a.len() + n)
}

#[test]
fn unsafe_patterns_return_and_question_mark() {
    let ((), report) = capture(|| {
        // SAFETY: 10 is not 0.
        assert_eq!(unsafe { raw_alloc(10) }, 10);
        let pair = Pair { x: 3, y: 99 };
        assert_eq!(pair.y, 99);
        assert_eq!(patterns((1, 2), pair, [4, 0, 0], 0, 0), 10);
        assert_eq!(early_return(true), 10);
        assert_eq!(early_return(false), 20);
        assert_eq!(question_mark("5"), Ok(15));
        assert!(question_mark("x").is_err());
    });
    assert_churned(&report, "track_allocs_kinds::raw_alloc", 1);
    assert_churned(&report, "track_allocs_kinds::patterns", 1);
    let early = site(&report, "track_allocs_kinds::early_return");
    assert_eq!(early.calls, 2);
    assert_eq!(
        early.inclusive,
        AllocStats {
            peak_bytes: 20,
            ..churned(3)
        }
    );
    assert_eq!(early.max_allocs_per_call, 2);
    // The call that returned `Err` through `?` ended its call too.
    assert_churned(&report, "track_allocs_kinds::question_mark", 2);
}

// ---------------------------------------------------------------------------------------
// `async fn`: every poll counts, the call once.

#[track_allocs]
async fn async_fn(polls: usize) -> usize {
    for _ in 1..polls {
        churn10();
        YieldOnce::default().await;
    }
    churn10();
    polls
}

#[track_allocs]
async fn async_question_mark(s: &str) -> Result<u8, std::num::ParseIntError> {
    churn10();
    YieldOnce::default().await;
    s.parse::<u8>()
}

#[test]
fn async_fns_count_every_poll_and_the_call_once() {
    let (n, report) = capture(|| block_on(async_fn(3)) + block_on(async_fn(1)));
    assert_eq!(n, 4);
    let s = site(&report, "track_allocs_kinds::async_fn");
    assert_eq!(s.calls, 2);
    assert_eq!(s.inclusive, churned(4));
    assert_eq!(s.max_allocs_per_call, 3);

    let (r, report) = capture(|| block_on(async_question_mark("x")));
    assert!(r.is_err());
    assert_churned(&report, "track_allocs_kinds::async_question_mark", 1);
}

/// A future that is never polled is no call; one dropped after a poll is.
#[test]
fn async_call_counts_when_polled() {
    // A future never polled is not a call: the capture does not list the function.
    let ((), report) = capture(|| drop(async_fn(2)));
    assert!(report.site("track_allocs_kinds::async_fn").is_none());
    let ((), report) = capture(|| {
        let mut future = Box::pin(async_fn(2));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
    });
    let s = site(&report, "track_allocs_kinds::async_fn");
    assert_eq!(s.calls, 1);
    assert_eq!(s.inclusive, churned(1));
}

// ---------------------------------------------------------------------------------------
// Generic `impl` blocks and `async fn` returning `impl Trait`.

struct Stack<T> {
    items: Vec<T>,
}

#[track_allocs]
impl<T: Clone> Stack<T>
where
    T: Default,
{
    fn with_one() -> Self {
        // `vec![x]` allocates exactly one element.
        Self {
            items: black_box(vec![T::default()]),
        }
    }

    fn top(&self) -> T {
        churn10();
        self.items[0].clone()
    }
}

#[track_allocs]
async fn async_impl_trait(n: u8) -> impl std::fmt::Display {
    churn10();
    YieldOnce::default().await;
    n
}

#[test]
fn generic_impl_blocks_and_async_impl_trait() {
    let (shown, report) = capture(|| {
        let a = Stack::<u64>::with_one();
        let b = Stack::<u8>::with_one();
        let sum = a.top() + u64::from(b.top());
        format!("{sum}{}", block_on(async_impl_trait(7)))
    });
    assert_eq!(shown, "07");
    // Named as the `impl` header writes the type.
    let new = site(&report, "track_allocs_kinds::Stack<T>::with_one");
    assert_eq!(new.calls, 2, "one site for every `T`");
    let kept = AllocStats {
        allocs: 2,
        reallocs: 0,
        frees: 0,
        bytes_allocated: 8 + 1,
        bytes_freed: 0,
        peak_bytes: 8,
    };
    assert_eq!(new.inclusive, kept);
    assert_churned(&report, "track_allocs_kinds::Stack<T>::top", 2);
    assert_churned(&report, "track_allocs_kinds::async_impl_trait", 1);
}

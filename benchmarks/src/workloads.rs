//! The workloads. Each takes an iteration count and does `iterations x ops_per_iter`
//! operations of one kind, so the harness can report a cost per operation.
//!
//! They allocate through the global allocator of whichever bench binary runs them, and
//! pass every block through `black_box` so release builds cannot elide the allocation.

use std::alloc::{Layout, alloc, dealloc};
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

/// The block of the churn workload: 32 bytes, a typical small object.
pub const SMALL: Layout = match Layout::from_size_align(32, 8) {
    Ok(layout) => layout,
    Err(_) => panic!("alloc-trace-benchmarks: 32 bytes at alignment 8 is a valid layout"),
};

/// Alloc + free of one 32-byte block, `pairs` times: the allocator's hot path and nothing
/// else.
#[inline(never)]
pub fn churn(pairs: u64) {
    for _ in 0..pairs {
        // SAFETY: `SMALL` has a non-zero size; the block is freed with the same layout.
        unsafe {
            let block = black_box(alloc(SMALL));
            if !block.is_null() {
                dealloc(block, SMALL);
            }
        }
    }
}

/// Strings per run of [`mixed`] when timed: "a million formatted strings".
pub const MIXED_STRINGS: u64 = 1_000_000;

// The mixed workload lives in a file of its own, plain std, so that the ownership view's
// memory test (tests/ownership_memory.rs) runs the very same code.
mod mixed;
pub use mixed::mixed;

/// Grow steps per vector in [`realloc_growth`]: one `alloc` then 255 `realloc`s.
pub const GROWTH_STEPS: u64 = 256;

/// Realloc-heavy growth: `vectors` times, grow a `Vec<u8>` one byte at a time with
/// `reserve_exact(1)`, so every push after the first reallocates, then drop it.
#[inline(never)]
pub fn realloc_growth(vectors: u64) {
    for _ in 0..vectors {
        let mut v: Vec<u8> = Vec::new();
        for i in 0..GROWTH_STEPS {
            v.reserve_exact(1);
            v.push(i as u8);
        }
        drop(black_box(v));
    }
}

/// The input of the per-call workloads.
pub type Input = [u64; 4];

/// What every per-call workload passes to the function it calls.
pub const INPUT: Input = [1, 2, 3, 4];

/// The body of the non-allocating function that per-call contenders wrap (a dozen
/// instructions). Each bench binary defines a tracked and an untracked function with
/// this body, so both compile to the same work.
///
/// The input passes through `black_box`, which the optimiser must assume reads and
/// writes any memory, as a real function that calls code the optimiser cannot see. A
/// body it can see through would let it prove that nothing was allocated between a
/// frame's entry and exit and fold the frame's bookkeeping away: flattering, and not
/// what a real program gets.
#[inline(always)]
pub fn leaf_work(input: &Input) -> u64 {
    black_box(input).iter().fold(0x9e37_79b9, |acc, &x| {
        acc.rotate_left(5) ^ x.wrapping_mul(31)
    })
}

/// Calls `f` `calls` times on [`INPUT`], hiding input and output from the optimiser.
#[inline(always)]
pub fn call_loop(calls: u64, f: impl Fn(&Input) -> u64) {
    for _ in 0..calls {
        black_box(f(black_box(&INPUT)));
    }
}

/// Alloc + free of one [`SMALL`] block, `pairs` times, inline: the body of the allocating
/// functions of issue 14's rows (each binary defines them measured and plain with the
/// macros below, so both compile to the same work).
#[inline(always)]
pub fn alloc_pairs(pairs: u64) {
    for _ in 0..pairs {
        // SAFETY: `SMALL` has a non-zero size; the block is freed with the same layout.
        unsafe {
            let block = black_box(alloc(SMALL));
            if !block.is_null() {
                dealloc(block, SMALL);
            }
        }
    }
}

/// Depth of the deepest chain (and recursion) of issue 14's rows.
pub const MAX_CHAIN: u32 = 128;

/// A future that is `Pending` once, then `Ready`, without touching the waker: the await
/// point of the per-poll workloads, which poll by hand.
#[derive(Debug, Default)]
pub struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        Poll::Pending
    }
}

/// Polls `future` to completion by hand with a no-op waker; returns its output and how
/// many polls it took.
#[inline(never)]
pub fn poll_to_end<F: Future>(future: F) -> (F::Output, u64) {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return (out, polls);
        }
    }
}

/// The allocating functions of issue 14's rows, each `#[inline(never)]` and carrying the
/// attributes given in brackets (a per-call measurement such as `#[alloc_trace::track_allocs]`
/// or `#[hotpath::measure]`, or none for the plain twins):
///
/// - `alloc1`, `alloc10`, `alloc100`: alloc + free of a 32-byte block 1, 10 or 100 times;
/// - `rec(depth)`: allocates once, then calls itself until `depth` levels ran;
/// - `c0(depth)`: the same through a chain of distinct functions `c0`..`c127`;
/// - with `async` after the brackets, also `polls_idle(n)` and `polls_alloc(n)`: async
///   functions that are polled `n + 1` times, each poll doing a dozen instructions of work
///   ([`leaf_work`]) or one alloc + free.
#[macro_export]
macro_rules! issue14_fns {
    ($attrs:tt) => {
        $crate::issue14_fns!(@fn $attrs alloc1 1);
        $crate::issue14_fns!(@fn $attrs alloc10 10);
        $crate::issue14_fns!(@fn $attrs alloc100 100);
        $crate::issue14_fns!(@rec $attrs);
        $crate::issue14_fns!(@chain $attrs
            [c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 c21
             c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36 c37 c38 c39 c40 c41
             c42 c43 c44 c45 c46 c47 c48 c49 c50 c51 c52 c53 c54 c55 c56 c57 c58 c59 c60 c61
             c62 c63 c64 c65 c66 c67 c68 c69 c70 c71 c72 c73 c74 c75 c76 c77 c78 c79 c80 c81
             c82 c83 c84 c85 c86 c87 c88 c89 c90 c91 c92 c93 c94 c95 c96 c97 c98 c99 c100
             c101 c102 c103 c104 c105 c106 c107 c108 c109 c110 c111 c112 c113 c114 c115 c116
             c117 c118 c119 c120 c121 c122 c123 c124 c125 c126]
            [c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 c21
             c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36 c37 c38 c39 c40 c41
             c42 c43 c44 c45 c46 c47 c48 c49 c50 c51 c52 c53 c54 c55 c56 c57 c58 c59 c60 c61
             c62 c63 c64 c65 c66 c67 c68 c69 c70 c71 c72 c73 c74 c75 c76 c77 c78 c79 c80 c81
             c82 c83 c84 c85 c86 c87 c88 c89 c90 c91 c92 c93 c94 c95 c96 c97 c98 c99 c100
             c101 c102 c103 c104 c105 c106 c107 c108 c109 c110 c111 c112 c113 c114 c115 c116
             c117 c118 c119 c120 c121 c122 c123 c124 c125 c126 c127]
            c127);
    };
    ($attrs:tt async) => {
        $crate::issue14_fns!($attrs);
        $crate::issue14_fns!(@async $attrs);
    };
    (@fn [$(#[$attr:meta])*] $name:ident $pairs:literal) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn $name(input: &$crate::workloads::Input) -> u64 {
            $crate::workloads::alloc_pairs($pairs);
            ::std::hint::black_box(input)[0]
        }
    };
    (@rec [$(#[$attr:meta])*]) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn rec(depth: u32) -> u64 {
            $crate::workloads::alloc_pairs(1);
            if depth > 1 { rec(::std::hint::black_box(depth - 1)).wrapping_add(1) } else { 1 }
        }
    };
    (@chain $attrs:tt [$($f:ident)*] [$($next:ident)*] $last:ident) => {
        $( $crate::issue14_fns!(@link $attrs $f $next); )*
        $crate::issue14_fns!(@last $attrs $last);
    };
    (@link [$(#[$attr:meta])*] $f:ident $next:ident) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn $f(depth: u32) -> u64 {
            $crate::workloads::alloc_pairs(1);
            if depth > 1 { $next(::std::hint::black_box(depth - 1)).wrapping_add(1) } else { 1 }
        }
    };
    (@last [$(#[$attr:meta])*] $last:ident) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn $last(_depth: u32) -> u64 {
            $crate::workloads::alloc_pairs(1);
            1
        }
    };
    (@async [$(#[$attr:meta])*]) => {
        $(#[$attr])*
        pub async fn polls_idle(n: u64) -> u64 {
            let mut acc = 0;
            for _ in 0..n {
                acc ^= $crate::workloads::leaf_work(&$crate::workloads::INPUT);
                $crate::workloads::YieldOnce::default().await;
            }
            acc
        }

        $(#[$attr])*
        pub async fn polls_alloc(n: u64) -> u64 {
            for _ in 0..n {
                $crate::workloads::alloc_pairs(1);
                $crate::workloads::YieldOnce::default().await;
            }
            n
        }
    };
}

/// Outer functions of [`call_tree!`] (16 modules of 16).
pub const TREE_OUTER: usize = 256;
/// Inner functions of [`call_tree!`]; an outer call calls the first 64 or all 128.
pub const TREE_INNER: u64 = 128;

/// The call-path rows: (workload, outer functions called in turn, inner calls per outer
/// call), making 8,320 paths (half the limit of 16,384), 16,380 (just below), 16,640
/// (just past) and 33,024 (twice).
pub const PATH_ROWS: [(&str, usize, u64); 4] = [
    ("paths-half", 128, 64),
    ("paths-below", 252, 64),
    ("paths-past", 256, 64),
    ("paths-double", 256, 128),
];

/// A tree of allocating functions for the call-path rows, each carrying the attributes in
/// brackets: `outer::all()` lists 256 outer functions `f(inner)` (`outer::o3::f7` and so
/// on), each of which allocates once and calls the first `inner` of the 128 functions of
/// `inner` (`inner::f12`), which allocate once each. One outer call is `1 + inner` calls
/// on as many distinct call paths: calling the first `k` outer functions in turn makes
/// `k * (1 + inner)` distinct paths, and as the outer function changes every call, so
/// does the parent path of every inner call.
#[macro_export]
macro_rules! call_tree {
    ($attrs:tt) => {
        pub mod inner {
            $crate::call_tree!(@inner $attrs f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14
                f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34
                f35 f36 f37 f38 f39 f40 f41 f42 f43 f44 f45 f46 f47 f48 f49 f50 f51 f52 f53 f54
                f55 f56 f57 f58 f59 f60 f61 f62 f63 f64 f65 f66 f67 f68 f69 f70 f71 f72 f73 f74
                f75 f76 f77 f78 f79 f80 f81 f82 f83 f84 f85 f86 f87 f88 f89 f90 f91 f92 f93 f94
                f95 f96 f97 f98 f99 f100 f101 f102 f103 f104 f105 f106 f107 f108 f109 f110 f111
                f112 f113 f114 f115 f116 f117 f118 f119 f120 f121 f122 f123 f124 f125 f126
                f127);
        }
        pub mod outer {
            $crate::call_tree!(@outer $attrs o0 o1 o2 o3 o4 o5 o6 o7 o8 o9 o10 o11 o12 o13 o14
                o15);
        }
    };
    (@outer $attrs:tt $($m:ident)*) => {
        $(
            pub mod $m {
                $crate::call_tree!(@outer_fns $attrs f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12
                    f13 f14 f15);
            }
        )*
        /// Every outer function, in order.
        pub fn all() -> Vec<fn(u64) -> u64> {
            let mut all = Vec::new();
            $( $m::collect(&mut all); )*
            all
        }
    };
    (@outer_fns $attrs:tt $($f:ident)*) => {
        $( $crate::call_tree!(@outer_fn $attrs $f); )*
        /// Lists every function of this module.
        pub fn collect(all: &mut Vec<fn(u64) -> u64>) {
            $( all.push($f); )*
        }
    };
    (@outer_fn [$(#[$attr:meta])*] $f:ident) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn $f(inner: u64) -> u64 {
            $crate::workloads::alloc_pairs(1);
            1 + super::super::inner::call_first(::std::hint::black_box(inner))
        }
    };
    (@inner $attrs:tt $($f:ident)*) => {
        $( $crate::call_tree!(@inner_fn $attrs $f); )*
        /// Calls the first `n` functions of this module, in order.
        #[inline(never)]
        pub fn call_first(n: u64) -> u64 {
            let (mut sum, mut i) = (0, 0);
            $(
                if i < n {
                    sum += $f();
                }
                i += 1;
            )*
            let _ = i;
            sum
        }
    };
    (@inner_fn [$(#[$attr:meta])*] $f:ident) => {
        $(#[$attr])*
        #[inline(never)]
        pub fn $f() -> u64 {
            $crate::workloads::alloc_pairs(1);
            1
        }
    };
}

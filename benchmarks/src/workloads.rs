//! The workloads. Each takes an iteration count and does `iterations x ops_per_iter`
//! operations of one kind, so the harness can report a cost per operation.
//!
//! They allocate through the global allocator of whichever bench binary runs them, and
//! pass every block through `black_box` so release builds cannot elide the allocation.

use std::alloc::{Layout, alloc, dealloc};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::hint::black_box;

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

/// A realistic mix: format `strings` strings into a `Vec<String>`, clone each into a
/// `HashMap` (grown from empty), then drop both. Per string: the `format!` allocation and
/// its one growth (`format!` reserves twice its literal text, 10 bytes, and writes 13),
/// the clone, two frees, plus formatting and hashing work that does not allocate.
///
/// The map hashes with `DefaultHasher`'s fixed keys rather than `RandomState`, so that
/// instruction counts repeat exactly from run to run.
#[inline(never)]
pub fn mixed(strings: u64) {
    let list: Vec<String> = (0..strings).map(|i| format!("item-{i:08}")).collect();
    let mut map: HashMap<String, u64, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    for (i, s) in list.iter().enumerate() {
        map.insert(s.clone(), i as u64);
    }
    black_box(&map);
    drop(map);
    drop(black_box(list));
}

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

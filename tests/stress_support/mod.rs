//! The stress workload shared by `tests/stress_*.rs`, and a model that predicts exactly
//! what it asks of the allocator.
//!
//! A worker owns a fixed pool of raw blocks (an array on its stack, so the pool itself
//! never allocates) and runs a deterministic sequence of operations on it: allocate into
//! an empty slot, reallocate or free a full one. The same sequence run against
//! [`Model`] instead of the real allocator tallies what each operation must have cost;
//! the counting allocator is what the tests check against that tally.
//!
//! The operations are grouped into tracked calls: `stress_batch` runs a batch of them and
//! then a recursive tracked function, so the per-site numbers (calls, inclusive,
//! exclusive, peak, most allocations per call) are predictable too.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::hint::black_box;

use alloc_trace::{AllocStats, track_allocs};

/// Blocks a worker holds at most.
pub const POOL: usize = 32;
/// Depth of the recursion each batch ends with: `stress_recurse(RECURSION)` is
/// `RECURSION + 1` nested calls, each allocating and freeing one `Box<u64>`.
pub const RECURSION: u32 = 3;
/// Bytes of each recursion level's box.
pub const RECURSION_BOX: u64 = size_of::<u64>() as u64;

/// xorshift64*: a deterministic, allocation-free sequence per seed.
#[derive(Clone, Copy, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// What one operation does, decided from a random number and the slot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Alloc { slot: usize, size: usize },
    Realloc { slot: usize, size: usize },
    Free { slot: usize },
}

/// Decides the operation for `r` given which slots are full (`size_of_slot` is 0 for an
/// empty slot). Sizes 1..=512; alignment 8 (16 for some, so both malloc paths are used).
pub fn decide(r: u64, size_of_slot: impl Fn(usize) -> usize) -> Op {
    let slot = (r % POOL as u64) as usize;
    let size = 1 + ((r >> 8) % 512) as usize;
    if size_of_slot(slot) == 0 {
        Op::Alloc { slot, size }
    } else if (r >> 20) % 4 == 0 {
        Op::Realloc { slot, size }
    } else {
        Op::Free { slot }
    }
}

fn layout(size: usize, slot: usize) -> Layout {
    let align = if slot % 4 == 0 { 16 } else { 8 };
    Layout::from_size_align(size, align).expect("valid layout")
}

/// The real pool: raw blocks from the global allocator.
pub struct Pool {
    blocks: [(*mut u8, usize); POOL],
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            blocks: [(std::ptr::null_mut(), 0); POOL],
        }
    }
}

impl Pool {
    pub fn op(&mut self, r: u64) {
        match decide(r, |slot| self.blocks[slot].1) {
            Op::Alloc { slot, size } => {
                // SAFETY: `size` is at least 1, so the layout is not zero-sized.
                let p = unsafe { alloc(layout(size, slot)) };
                assert!(!p.is_null(), "allocation of {size} bytes failed");
                // SAFETY: `p` points to at least one writable byte.
                unsafe { p.write(r as u8) };
                self.blocks[slot] = (black_box(p), size);
            }
            Op::Realloc { slot, size } => {
                let (p, old) = self.blocks[slot];
                // SAFETY: `p` was allocated with `layout(old, slot)`; `size` >= 1 and
                // rounded up to the alignment it cannot overflow `isize`.
                let q = unsafe { realloc(p, layout(old, slot), size) };
                assert!(!q.is_null(), "reallocation to {size} bytes failed");
                self.blocks[slot] = (black_box(q), size);
            }
            Op::Free { slot } => {
                let (p, old) = std::mem::replace(&mut self.blocks[slot], (std::ptr::null_mut(), 0));
                // SAFETY: `p` was allocated with `layout(old, slot)` and is freed once.
                unsafe { dealloc(p, layout(old, slot)) };
            }
        }
    }

    /// Frees every block still held.
    pub fn clear(&mut self) {
        for slot in 0..POOL {
            if self.blocks[slot].1 != 0 {
                let (p, old) = std::mem::replace(&mut self.blocks[slot], (std::ptr::null_mut(), 0));
                // SAFETY: as in `op`.
                unsafe { dealloc(p, layout(old, slot)) };
            }
        }
    }
}

/// A batch of operations, then the recursion: the tracked unit of work.
#[track_allocs]
pub fn stress_batch(pool: &mut Pool, rng: &mut Rng, ops: usize) {
    for _ in 0..ops {
        pool.op(rng.next());
    }
    stress_recurse(RECURSION);
}

/// Holds a box while it recurses, so the levels' boxes are live at once.
#[track_allocs]
pub fn stress_recurse(depth: u32) {
    let held = black_box(Box::new(u64::from(depth)));
    if depth > 0 {
        stress_recurse(depth - 1);
    }
    drop(held);
}

/// Runs `batches` batches of `ops` operations with seed `seed`, then frees what is left:
/// the whole life of one worker.
pub fn run_worker(seed: u64, batches: usize, ops: usize) {
    let mut pool = Pool::default();
    let mut rng = Rng::new(seed);
    for _ in 0..batches {
        stress_batch(&mut pool, &mut rng, ops);
    }
    pool.clear();
}

/// A running tally of allocator calls, with live bytes and peaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub stats: AllocStats,
    live: i64,
}

impl Tally {
    fn alloc(&mut self, size: usize) {
        self.stats.allocs += 1;
        self.stats.bytes_allocated += size as u64;
        self.live += size as i64;
        self.raise();
    }

    /// A realloc is one of the `allocs` (a request for a block of the new size) and one of
    /// the `frees` (it gives back the old block).
    fn realloc(&mut self, old: usize, size: usize) {
        self.stats.allocs += 1;
        self.stats.reallocs += 1;
        self.stats.frees += 1;
        self.stats.bytes_allocated += size as u64;
        self.stats.bytes_freed += old as u64;
        self.live += size as i64 - old as i64;
        self.raise();
    }

    fn free(&mut self, old: usize) {
        self.stats.frees += 1;
        self.stats.bytes_freed += old as u64;
        self.live -= old as i64;
    }

    /// The counters raise the peak only on an allocation or reallocation.
    fn raise(&mut self) {
        self.stats.peak_bytes = self.stats.peak_bytes.max(self.live.max(0) as u64);
    }

    /// A fresh window starting at this tally's live level (as a frame or `measure` does).
    fn window(&self) -> Self {
        Self::default()
    }

    /// Adds a nested window's numbers; its peak counts above this window's level.
    fn absorb(&mut self, inner: &Self) {
        let s = &mut self.stats;
        let i = &inner.stats;
        let peak = (self.live + i.peak_bytes as i64).max(0) as u64;
        s.allocs += i.allocs;
        s.reallocs += i.reallocs;
        s.frees += i.frees;
        s.bytes_allocated += i.bytes_allocated;
        s.bytes_freed += i.bytes_freed;
        s.peak_bytes = s.peak_bytes.max(peak);
        self.live += inner.live;
    }
}

/// What one site is expected to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteExpect {
    pub calls: u64,
    pub inclusive: AllocStats,
    pub exclusive: AllocStats,
    pub max_allocs_per_call: u64,
}

impl SiteExpect {
    fn add_call(
        &mut self,
        inclusive: Option<&AllocStats>,
        exclusive: &AllocStats,
        call_allocs: u64,
    ) {
        self.calls += 1;
        if let Some(i) = inclusive {
            add_counts(&mut self.inclusive, i);
            self.inclusive.peak_bytes = self.inclusive.peak_bytes.max(i.peak_bytes);
        }
        add_counts(&mut self.exclusive, exclusive);
        self.max_allocs_per_call = self.max_allocs_per_call.max(call_allocs);
    }

    /// Sums two threads' (or runs') numbers: counts add, maxima take the larger.
    pub fn merge(&mut self, o: &Self) {
        self.calls += o.calls;
        add_counts(&mut self.inclusive, &o.inclusive);
        self.inclusive.peak_bytes = self.inclusive.peak_bytes.max(o.inclusive.peak_bytes);
        add_counts(&mut self.exclusive, &o.exclusive);
        self.max_allocs_per_call = self.max_allocs_per_call.max(o.max_allocs_per_call);
    }
}

fn add_counts(to: &mut AllocStats, from: &AllocStats) {
    to.allocs += from.allocs;
    to.reallocs += from.reallocs;
    to.frees += from.frees;
    to.bytes_allocated += from.bytes_allocated;
    to.bytes_freed += from.bytes_freed;
}

/// The prediction for one worker: its thread totals (as `measure` around `run_worker`
/// gives them) and its two sites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub thread: AllocStats,
    pub batch: SiteExpect,
    pub recurse: SiteExpect,
}

impl Expected {
    pub fn merge(&mut self, o: &Self) {
        add_counts(&mut self.thread, &o.thread);
        self.thread.peak_bytes = self.thread.peak_bytes.max(o.thread.peak_bytes);
        self.batch.merge(&o.batch);
        self.recurse.merge(&o.recurse);
    }
}

/// Predicts [`run_worker`] without allocating anything.
pub fn model_worker(seed: u64, batches: usize, ops: usize) -> Expected {
    let mut sizes = [0usize; POOL];
    let mut rng = Rng::new(seed);
    let mut thread = Tally::default();
    let mut out = Expected::default();
    for _ in 0..batches {
        // The batch's own operations.
        let mut batch = thread.window();
        for _ in 0..ops {
            match decide(rng.next(), |slot| sizes[slot]) {
                Op::Alloc { slot, size } => {
                    batch.alloc(size);
                    sizes[slot] = size;
                }
                Op::Realloc { slot, size } => {
                    batch.realloc(sizes[slot], size);
                    sizes[slot] = size;
                }
                Op::Free { slot } => {
                    batch.free(sizes[slot]);
                    sizes[slot] = 0;
                }
            }
        }
        let exclusive = AllocStats {
            peak_bytes: 0,
            ..batch.stats
        };
        // The recursion: level d (from RECURSION down to 0) allocates its box, then the
        // deeper levels run, then it frees the box.
        let mut recursion = Tally::default();
        for _ in 0..=RECURSION {
            recursion.alloc(RECURSION_BOX as usize);
        }
        for level in 0..=RECURSION {
            recursion.free(RECURSION_BOX as usize);
            // Level `RECURSION - level`'s call ends here; only the outermost (the last
            // to end) adds its inclusive numbers to the site.
            let calls_inside = u64::from(level) + 1;
            let inclusive = AllocStats {
                allocs: calls_inside,
                frees: calls_inside,
                bytes_allocated: calls_inside * RECURSION_BOX,
                bytes_freed: calls_inside * RECURSION_BOX,
                peak_bytes: calls_inside * RECURSION_BOX,
                ..AllocStats::default()
            };
            let own = AllocStats {
                allocs: 1,
                frees: 1,
                bytes_allocated: RECURSION_BOX,
                bytes_freed: RECURSION_BOX,
                ..AllocStats::default()
            };
            let outermost = level == RECURSION;
            out.recurse
                .add_call(outermost.then_some(&inclusive), &own, calls_inside);
        }
        batch.absorb(&recursion);
        out.batch
            .add_call(Some(&batch.stats), &exclusive, batch.stats.allocs);
        thread.absorb(&batch);
    }
    for size in sizes {
        if size != 0 {
            thread.free(size);
        }
    }
    out.thread = thread.stats;
    out
}

/// A site's numbers in the shape of [`SiteExpect`].
pub fn site_numbers(report: &alloc_trace::Report, name: &str) -> SiteExpect {
    let s = report
        .site(name)
        .unwrap_or_else(|| panic!("no site {name:?} in the report"));
    SiteExpect {
        calls: s.calls,
        inclusive: s.inclusive,
        exclusive: s.exclusive.with_peak(0),
        max_allocs_per_call: s.max_allocs_per_call,
    }
}

//! The ownership view per function, against numbers worked out by hand: who holds a
//! block after it was returned, grown, reallocated elsewhere, sent to another thread,
//! outlived its thread; alignments up to 8192; zero-size requests; the peak's moment.
//!
//! The peak is process-wide, so the cases run in order on the main thread (`harness =
//! false`), and each case that looks at "live at peak" first makes a new process peak of
//! its own while it holds its blocks: an untracked spike larger than any level before,
//! freed at once (see `peak_now`).
//!
//! Run by `cargo test --features ownership` (see `.ci/run`).

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;

use alloc_trace::report::{Held, Live, SiteOwnership};
use alloc_trace::{CountingAlloc, track_allocs};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

fn live(blocks: u64, bytes: u64) -> Live {
    Live { blocks, bytes }
}

/// `name`'s ownership numbers now.
fn site(name: &str) -> SiteOwnership {
    let report = alloc_trace::report();
    report
        .site(name)
        .unwrap_or_else(|| panic!("no site {name}"))
        .ownership
        .expect("built with the `ownership` feature")
}

/// What `name`'s own blocks hold (exclusive), now and at the peak.
fn own(name: &str) -> Held {
    site(name).exclusive
}

/// Makes a new process peak now, with everything alive kept: an untracked block larger
/// than the gap to the highest level so far, freed at once. Returns the allocation
/// request that reached it (the spike's own).
fn peak_now() -> u64 {
    let report = alloc_trace::report();
    let o = *report.ownership().unwrap();
    drop(report);
    let now = alloc_trace::process_stats();
    let gap = o.peak.bytes - now.net_bytes() as u64;
    let spike = black_box(vec![0u8; gap as usize + 4096]);
    drop(spike);
    now.allocs + 1
}

#[track_allocs]
fn build_vec(n: usize) -> Vec<u64> {
    let mut v = Vec::with_capacity(n);
    v.extend(0..n as u64);
    v
}

/// A function returning a `Vec` its caller frees: nothing live at the end, its bytes live
/// at the peak that happened while the caller held it.
fn returned_value() {
    let v = build_vec(1000);
    assert_eq!(own("build_vec").live, live(1, 8000), "the caller holds it");
    let request = peak_now();
    drop(v);
    let held = own("build_vec");
    assert_eq!(held.live, live(0, 0), "freed by the caller: nothing held");
    assert_eq!(held.at_peak, live(1, 8000), "held at the peak");
    let o = *alloc_trace::report().ownership().unwrap();
    assert_eq!(o.peak_request, request, "the spike reached the peak");
    assert!(o.exact, "{o:?}");
}

#[track_allocs]
#[allow(clippy::vec_box)] // a block per entry: the cache's entries are what it keeps
fn remember(cache: &mut Vec<Box<[u8; 100]>>, i: u8) {
    cache.push(Box::new([i; 100]));
}

/// A growing cache keeps its exact bytes: 50 boxes of 100 bytes and the vector's buffer,
/// which `remember` grew (a realloc re-owns the block) to 64 pointers. Shrunk by its
/// untracked owner, the buffer becomes the owner's.
fn growing_cache() {
    let mut cache = Vec::new();
    for i in 0..50 {
        remember(&mut cache, i);
    }
    assert_eq!(cache.capacity(), 64);
    assert_eq!(own("remember").live, live(51, 50 * 100 + 64 * 8));
    peak_now();
    assert_eq!(own("remember").at_peak, live(51, 5512));
    cache.shrink_to_fit();
    assert_eq!(
        own("remember").live,
        live(50, 5000),
        "the buffer was re-owned"
    );
    drop(cache);
    assert_eq!(own("remember").live, live(0, 0));
    assert_eq!(site("remember").max_live_bytes, 5512);
}

#[track_allocs]
fn make_block() -> Box<[u8; 4000]> {
    Box::new([3; 4000])
}

/// A block freed on another thread is credited to the site that allocated it.
fn freed_on_another_thread() {
    let block = black_box(make_block());
    assert_eq!(own("make_block").live, live(1, 4000));
    std::thread::spawn(move || drop(block)).join().unwrap();
    assert_eq!(own("make_block").live, live(0, 0));
}

/// A block whose allocating thread exited: its site still holds it (the thread's
/// holdings were folded at its exit), until it is freed here.
fn allocating_thread_exited() {
    let block = std::thread::spawn(make_block).join().unwrap();
    assert_eq!(own("make_block").live, live(1, 4000));
    drop(black_box(block));
    assert_eq!(own("make_block").live, live(0, 0));
}

#[track_allocs]
fn small_vec() -> Vec<u8> {
    Vec::with_capacity(16)
}

#[track_allocs]
fn grow_far(v: &mut Vec<u8>) {
    v.reserve_exact(1 << 20);
}

#[track_allocs]
fn shrink_back(v: &mut Vec<u8>) {
    v.extend_from_slice(&[5; 100]);
    v.shrink_to(100);
}

/// A realloc re-owns the block, whether it moves (growing far) or stays in place
/// (shrinking): the old size is given back to the old owner, the new size is the new
/// one's. The bytes survive the moves (the header travels with the block).
fn reallocs() {
    let mut v = small_vec();
    assert_eq!(own("small_vec").live, live(1, 16));
    grow_far(&mut v);
    assert_eq!(own("small_vec").live, live(0, 0));
    assert_eq!(own("grow_far").live, live(1, 1 << 20));
    shrink_back(&mut v);
    assert_eq!(own("grow_far").live, live(0, 0));
    assert_eq!(own("shrink_back").live, live(1, 100));
    assert!(v.iter().all(|&b| b == 5));
    drop(v);
    assert_eq!(own("shrink_back").live, live(0, 0));
}

#[repr(C, align(4096))]
struct Page([u8; 4096]);

#[repr(C, align(8192))]
struct Big([u8; 100]);

#[track_allocs]
#[allow(clippy::vec_init_then_push)] // the second push reallocates, with its alignment
fn pages() -> (Box<Page>, Box<Big>, Vec<Page>) {
    let mut v = Vec::with_capacity(1);
    v.push(Page([1; 4096]));
    v.push(Page([2; 4096]));
    (Box::new(Page([7; 4096])), Box::new(Big([9; 100])), v)
}

/// Alignments of 4096 and 8192: aligned as asked, counted as their size (the header and
/// the padding are not the function's bytes), reallocated with their alignment kept.
fn large_alignments() {
    let (page, big, v) = black_box(pages());
    assert_eq!(core::ptr::from_ref(&*page).addr() % 4096, 0);
    assert_eq!(core::ptr::from_ref(&*big).addr() % 8192, 0);
    assert_eq!(v.as_ptr().addr() % 4096, 0);
    assert_eq!(size_of::<Big>(), 8192);
    assert!(page.0.iter().all(|&b| b == 7) && v[0].0[4095] == 1 && v[1].0[0] == 2);
    assert_eq!(
        own("pages").live,
        live(3, 4096 + 8192 + 2 * 4096),
        "the vector grew from 1 page to 2 in `pages`"
    );
    drop((page, big, v));
    assert_eq!(own("pages").live, live(0, 0));
}

#[track_allocs]
fn raw_requests() -> [(*mut u8, Layout); 3] {
    let zero = Layout::from_size_align(0, 1).unwrap();
    let zero_aligned = Layout::from_size_align(0, 4096).unwrap();
    let zeroed = Layout::from_size_align(1000, 64).unwrap();
    // SAFETY: `GlobalAlloc` asks for non-zero sizes; `CountingAlloc` accepts zero too
    // (a wrapper can be handed one), and the blocks are freed below with these layouts.
    unsafe {
        [
            (ALLOC.alloc(zero), zero),
            (ALLOC.alloc(zero_aligned), zero_aligned),
            (ALLOC.alloc_zeroed(zeroed), zeroed),
        ]
    }
}

/// Zero-size requests are blocks of 0 bytes (non-null, aligned, freed like any other);
/// `alloc_zeroed`'s bytes are zero.
fn zero_sizes() {
    let blocks = raw_requests();
    for (ptr, layout) in blocks {
        assert!(!ptr.is_null());
        assert_eq!(ptr.addr() % layout.align(), 0);
    }
    // SAFETY: 1000 bytes just allocated.
    let zeroed = unsafe { core::slice::from_raw_parts(blocks[2].0, 1000) };
    assert!(zeroed.iter().all(|&b| b == 0));
    assert_eq!(own("raw_requests").live, live(3, 1000));
    for (ptr, layout) in blocks {
        // SAFETY: allocated above with this layout.
        unsafe { ALLOC.dealloc(ptr, layout) };
    }
    assert_eq!(own("raw_requests").live, live(0, 0));
}

#[track_allocs]
fn outer_holder() -> (Vec<u8>, Vec<u8>) {
    (vec![1; 300], inner_holder())
}

#[track_allocs]
fn inner_holder() -> Vec<u8> {
    vec![2; 700]
}

/// Inclusive numbers add the tracked callees' blocks, as the rate columns do; the table
/// shows them in `live@peak` and `live@end`.
fn inclusive_and_table() {
    let kept = outer_holder();
    peak_now();
    let outer = site("outer_holder");
    assert_eq!(outer.exclusive.live, live(1, 300));
    assert_eq!(outer.inclusive.live, live(2, 1000));
    assert_eq!(outer.inclusive.at_peak, live(2, 1000));
    let report = alloc_trace::report();
    let text = report.to_string();
    let row = text
        .lines()
        .find(|l| l.ends_with("  ownership_sites::outer_holder"))
        .unwrap();
    let cells: Vec<&str> = row.split("  ").filter(|c| !c.is_empty()).collect();
    // calls, allocs, allocs/call, reallocs, bytes, bytes/call, net, net/call, peak,
    // live@peak, live@end, excl%, name
    assert_eq!(cells[9].trim(), "1000 B", "{row}");
    assert_eq!(cells[10].trim(), "1000 B", "{row}");
    assert!(text.contains("  live@peak = "), "{text}");
    let path = report
        .paths()
        .iter()
        .find(|p| p.path == "ownership_sites::outer_holder;ownership_sites::inner_holder")
        .unwrap();
    assert_eq!(path.ownership.unwrap().live, live(1, 700));
    drop(report);
    drop(kept);
}

/// The folded weights of the view: `build_vec`'s line is its 8,000 bytes at the peak of
/// `returned_value` and 0 (no line) at the end; the lines add up to the process's.
fn folded_weights() {
    use alloc_trace::report::FoldedWeight::{LiveAtEnd, LiveAtPeak};
    let report = alloc_trace::report();
    let o = *report.ownership().unwrap();
    let weights = |folded: String| -> Vec<(String, u64)> {
        folded
            .lines()
            .map(|l| {
                let (path, w) = l.rsplit_once(' ').unwrap();
                (path.to_owned(), w.parse().unwrap())
            })
            .collect()
    };
    let at_peak = weights(report.folded(LiveAtPeak));
    let at_end = weights(report.folded(LiveAtEnd));
    let line = |lines: &[(String, u64)], path: &str| {
        lines.iter().find(|(p, _)| p == path).map(|&(_, w)| w)
    };
    let path = "ownership_sites::build_vec";
    assert_eq!(line(&at_end, path), None, "{at_end:?}");
    assert_eq!(line(&at_peak, path), Some(8000), "{at_peak:?}");
    let sum = |lines: &[(String, u64)]| lines.iter().map(|&(_, w)| w).sum::<u64>();
    assert_eq!(sum(&at_peak), o.peak.bytes, "{at_peak:?}");
    assert_eq!(sum(&at_end), o.live.bytes, "{at_end:?}");
}

#[track_allocs]
fn turn_a() -> Box<[u8; 48]> {
    Box::new([1; 48])
}

#[track_allocs]
fn turn_b() -> Box<[u8; 80]> {
    Box::new([2; 80])
}

#[track_allocs]
fn turn_spike(bytes: usize) -> Vec<u8> {
    vec![0; bytes]
}

/// Two threads that take turns request by request (each allocates a block, frees its
/// oldest, and hands the turn over: every request of one follows one of the other), then
/// one of them makes a new process peak while both hold their blocks. The threads share
/// the peak instead of taking the cold path at every request; the peak is still exact:
/// its bytes, its moment, and who held what.
fn threads_taking_turns_request_by_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    const STEPS: usize = 2_000;
    const SPIKE_AT: usize = 1_500;
    // Whose turn: even for A, odd for B (`usize::MAX`: not started). Spinning with
    // `yield_now` allocates nothing, so while one thread counts the others do not: a
    // thread starts (std allocates for it before its closure runs) and exits (its
    // thread-locals and handle are freed) while the others wait, too.
    static TURN: AtomicUsize = AtomicUsize::new(usize::MAX);
    static READY: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
    static B_MAY_EXIT: AtomicBool = AtomicBool::new(false);
    static EXPECTED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
    fn wait_until(ok: impl Fn() -> bool) {
        while !ok() {
            std::thread::yield_now();
        }
    }
    fn wait_for(step: usize) {
        wait_until(|| TURN.load(SeqCst) == step);
    }
    fn player(me: usize, make: fn() -> Box<[u8]>) {
        let mut ring = std::collections::VecDeque::with_capacity(4);
        READY[me].store(true, SeqCst);
        for step in (me..2 * STEPS).step_by(2) {
            wait_for(step);
            ring.push_back(make());
            if ring.len() > 3 {
                drop(ring.pop_front());
            }
            if step == 2 * SPIKE_AT {
                // The process's level now, with both rings full, and a block far above
                // any level before: the new peak, reached by the next request.
                let report = alloc_trace::report();
                let peak = report.ownership().unwrap().peak.bytes as usize;
                drop(report);
                let now = alloc_trace::process_stats();
                let bytes = peak - now.net_bytes() as usize + 64 * 1024;
                EXPECTED[0].store(now.net_bytes() as usize + bytes, SeqCst);
                EXPECTED[1].store(now.allocs as usize + 1, SeqCst);
                drop(black_box(turn_spike(bytes)));
            }
            TURN.store(step + 1, SeqCst);
        }
        // A leaves after B's last step; B after A has exited (the main thread says so).
        if me == 0 {
            wait_for(2 * STEPS);
        } else {
            wait_until(|| B_MAY_EXIT.load(SeqCst));
        }
        drop(ring);
    }
    let a = std::thread::spawn(|| player(0, || -> Box<[u8]> { turn_a() }));
    wait_until(|| READY[0].load(SeqCst));
    let b = std::thread::spawn(|| player(1, || -> Box<[u8]> { turn_b() }));
    wait_until(|| READY[1].load(SeqCst));
    TURN.store(0, SeqCst);
    a.join().unwrap();
    B_MAY_EXIT.store(true, SeqCst);
    b.join().unwrap();
    let report = alloc_trace::report();
    let o = *report.ownership().unwrap();
    assert!(o.exact, "one thread counted at a time: {o:?}");
    assert_eq!(o.peak.bytes, EXPECTED[0].load(SeqCst) as u64, "{o:?}");
    assert_eq!(o.peak_request, EXPECTED[1].load(SeqCst) as u64, "{o:?}");
    let own_at_peak = |name: &str| {
        report
            .site(name)
            .unwrap()
            .ownership
            .unwrap()
            .exclusive
            .at_peak
    };
    // A had just made its block and freed its oldest; B's ring was full.
    assert_eq!(own_at_peak("turn_a"), live(3, 3 * 48));
    assert_eq!(own_at_peak("turn_b"), live(3, 3 * 80));
    assert_eq!(own_at_peak("turn_spike").blocks, 1);
    assert_eq!(own("turn_a").live, live(0, 0));
    println!(
        "ownership_sites: turn-taking threads: peak {} B, stale {}, torn {}",
        o.peak.bytes, o.stale_requests, o.torn_peaks
    );
}

fn main() {
    threads_taking_turns_request_by_request();
    returned_value();
    folded_weights();
    growing_cache();
    freed_on_another_thread();
    allocating_thread_exited();
    reallocs();
    large_alignments();
    zero_sizes();
    inclusive_and_table();
    let o = *alloc_trace::report().ownership().unwrap();
    assert!(o.exact, "every case ran one thread at a time: {o:?}");
    println!("ownership_sites: 10 cases passed");
}

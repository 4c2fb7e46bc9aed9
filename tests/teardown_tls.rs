//! Teardown: what threads allocate and free while they exit (thread-local destructors,
//! and pthread-key destructors that run after alloc-trace has already folded the thread
//! into the process totals) is in `process_stats()` exactly once they are joined. One test
//! alone in its binary, since it checks process-wide numbers.

#[path = "support/counts.rs"]
mod counts;
#[path = "stress_support/start_up_spy.rs"]
mod start_up_spy;

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use alloc_trace::{AllocStats, CountingAlloc, measure, process_stats, report, track_allocs};
use counts::minus;
use start_up_spy::StartUpSpy;

#[global_allocator]
static ALLOC: CountingAlloc<StartUpSpy> = CountingAlloc::new(StartUpSpy);

/// Threads of each kind (they run 8 at a time).
const THREADS: u64 = 64;

const HELD: usize = 256;
const SCRATCH: usize = 1_000;
const KEPT: usize = 16;
const IN_DTOR_BOX: usize = 64;

/// Returns a box from a tracked call made inside a thread-local destructor.
#[track_allocs]
fn teardown_in_tls_dtor() -> Box<[u8; IN_DTOR_BOX]> {
    black_box(Box::new([7; IN_DTOR_BOX]))
}

/// Holds a block from the thread's life and, when the thread exits, frees it, churns a
/// scratch buffer, makes a tracked call and leaks a small block.
struct OnExit {
    held: Option<Box<[u8; HELD]>>,
}

impl Drop for OnExit {
    fn drop(&mut self) {
        drop(black_box(vec![0u8; SCRATCH]));
        drop(teardown_in_tls_dtor());
        let kept: &'static mut [u8; KEPT] = Box::leak(black_box(Box::new([0; KEPT])));
        LEAKED.fetch_add(kept.len() as u64, Ordering::Relaxed);
        // `held` is freed when the fields drop, right after this.
    }
}

static LEAKED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static ON_EXIT: RefCell<OnExit> = const { RefCell::new(OnExit { held: None }) };
}

/// What one thread's `OnExit` does at exit.
const AT_EXIT: AllocStats = AllocStats {
    allocs: 3,
    reallocs: 0,
    frees: 3,
    bytes_allocated: (SCRATCH + IN_DTOR_BOX + KEPT) as u64,
    bytes_freed: (SCRATCH + IN_DTOR_BOX + HELD) as u64,
    peak_bytes: 0,
};

// A pthread key whose destructor runs after alloc-trace's own (keys' destructors run in
// the order the keys were created, and alloc-trace creates its key at the process's first
// allocation): it allocates after the thread has been folded, which must re-arm the fold.
mod late_key {
    use std::ffi::{c_int, c_uint, c_void};
    use std::sync::OnceLock;

    unsafe extern "C" {
        fn pthread_key_create(
            key: *mut c_uint,
            destructor: Option<unsafe extern "C" fn(*mut c_void)>,
        ) -> c_int;
        fn pthread_setspecific(key: c_uint, value: *const c_void) -> c_int;
    }

    static KEY: OnceLock<c_uint> = OnceLock::new();

    /// Bytes the late destructor allocates and frees, and leaks.
    pub const CHURN: usize = 48;
    pub const KEPT: usize = 24;

    /// Makes `on_late_exit` run when the calling thread exits.
    pub fn arm() {
        let key = *KEY.get_or_init(|| {
            let mut key = 0;
            // SAFETY: `key` is a valid out-pointer; `on_late_exit` never unwinds.
            let rc = unsafe { pthread_key_create(&mut key, Some(on_late_exit)) };
            assert_eq!(rc, 0, "pthread_key_create");
            key
        });
        // SAFETY: `key` came from `pthread_key_create`; the value is a non-null marker
        // that is never dereferenced.
        let rc = unsafe { pthread_setspecific(key, std::ptr::dangling::<c_void>()) };
        assert_eq!(rc, 0, "pthread_setspecific");
    }

    unsafe extern "C" fn on_late_exit(_: *mut c_void) {
        drop(std::hint::black_box(vec![0u8; CHURN]));
        let kept: &'static mut [u8; KEPT] = Box::leak(std::hint::black_box(Box::new([0; KEPT])));
        super::LEAKED.fetch_add(kept.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A thread's body: returns what it measured of its own code and `(allocs, bytes)` std
/// made to start it.
type ThreadKind = fn() -> (AllocStats, (u64, u64));

/// A thread that allocates while it runs and while it exits. Returns what it measured
/// of its own code and what std allocated to start it.
fn busy_thread() -> (AllocStats, (u64, u64)) {
    let start_up = StartUpSpy::user_code_starts();
    let ((), stats) = measure(|| {
        ON_EXIT.with(|e| e.borrow_mut().held = Some(black_box(Box::new([1; HELD]))));
    });
    (stats, start_up)
}

/// A thread that allocates nothing until its thread-locals are destroyed: its fold is
/// armed from inside a destructor.
fn quiet_thread() -> (AllocStats, (u64, u64)) {
    let start_up = StartUpSpy::user_code_starts();
    let ((), stats) = measure(|| ON_EXIT.with(|_| ()));
    (stats, start_up)
}

/// A thread whose last allocations come after alloc-trace folded it.
fn late_thread() -> (AllocStats, (u64, u64)) {
    let start_up = StartUpSpy::user_code_starts();
    // Create the key outside the measurement (`OnceLock` init allocates nothing, but
    // the first thread to get here is the one that creates it).
    late_key::arm();
    let ((), stats) = measure(|| drop(black_box(Box::new(0u64))));
    (stats, start_up)
}

fn allocations_in_thread_exit_destructors_are_in_the_process_totals_exactly() {
    // Make sure alloc-trace's pthread key exists before `late_key`'s (it is created by
    // the first allocation, long before this).
    drop(black_box(Box::new(0u8)));
    let site_before = report().site("teardown_in_tls_dtor").map(|s| s.calls);
    assert_eq!(site_before, Some(0));

    let before = process_stats();
    let (results, spawning) = measure(|| {
        let mut results = Vec::with_capacity(3 * THREADS as usize);
        let kinds: [ThreadKind; 3] = [busy_thread, quiet_thread, late_thread];
        for kind in kinds {
            for _ in 0..THREADS / 8 {
                let wave: Vec<_> = (0..8).map(|_| thread::spawn(kind)).collect();
                results.extend(wave.into_iter().map(|h| h.join().unwrap()));
            }
        }
        results
    });
    let after = process_stats();
    let process = minus(after, before);

    // What the threads measured of their own code: the busy ones' held block, the late
    // ones' box; the quiet ones nothing.
    let n = THREADS as usize;
    let measured: Vec<AllocStats> = results.iter().map(|r| r.0).collect();
    let held = AllocStats {
        allocs: 1,
        bytes_allocated: HELD as u64,
        peak_bytes: HELD as u64,
        ..AllocStats::default()
    };
    let boxed = AllocStats {
        allocs: 1,
        frees: 1,
        bytes_allocated: 8,
        bytes_freed: 8,
        peak_bytes: 8,
        ..AllocStats::default()
    };
    assert!(measured[..n].iter().all(|s| *s == held), "{measured:?}");
    assert!(
        measured[n..2 * n]
            .iter()
            .all(|s| *s == AllocStats::default())
    );
    assert!(measured[2 * n..].iter().all(|s| *s == boxed));
    let start_up: (u64, u64) = results
        .iter()
        .map(|r| r.1)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));

    // Per busy thread: the held block while it ran, then at exit a scratch buffer, the
    // tracked call's box and a kept block (3 allocations), freeing all but the kept one
    // and the held block (3 frees). Per quiet thread: the same at exit without a held
    // block (3 allocations, 2 frees). Per late thread: its box while it ran, then after
    // the fold a churned and a kept block (3 allocations, 2 frees).
    let t = THREADS;
    let own_allocs = t * (1 + AT_EXIT.allocs) + t * AT_EXIT.allocs + t * 3;
    let own_bytes = t * (HELD as u64 + AT_EXIT.bytes_allocated)
        + t * AT_EXIT.bytes_allocated
        + t * (8 + late_key::CHURN + late_key::KEPT) as u64;
    assert_eq!(own_allocs, 10 * t);
    // Every allocation was seen: the threads' own (while they ran and while they
    // exited), std's to start them, and the spawner's.
    assert_eq!(
        process.allocs,
        own_allocs + start_up.0 + spawning.allocs,
        "{process:?}"
    );
    assert_eq!(process.reallocs, spawning.reallocs);
    assert_eq!(
        process.bytes_allocated,
        own_bytes + start_up.1 + spawning.bytes_allocated
    );
    // Every free was seen too (std frees thread handles and its thread-info nodes on
    // whichever thread comes last): what is still live is `results` and the kept blocks,
    // one per thread.
    let kept_bytes = 2 * t * KEPT as u64 + t * late_key::KEPT as u64;
    assert_eq!(LEAKED.load(Ordering::Relaxed), kept_bytes);
    assert_eq!(process.allocs - process.frees, 1 + 3 * t);
    assert_eq!(
        process.net_bytes(),
        (results.capacity() * size_of::<(AllocStats, (u64, u64))>()) as i64 + kept_bytes as i64
    );

    let site = report();
    let site = site.site("teardown_in_tls_dtor").unwrap();
    assert_eq!(site.calls, 2 * t);
    assert_eq!(site.inclusive.allocs, 2 * t);
    assert_eq!(site.inclusive.bytes_allocated, 2 * t * IN_DTOR_BOX as u64);
    assert_eq!(site.inclusive.frees, 0);
    assert_eq!(site.inclusive.peak_bytes, IN_DTOR_BOX as u64);
}

/// Run on the main thread (`harness = false` in Cargo.toml): a test harness's own
/// threads would allocate while the process-wide numbers are compared.
fn main() {
    allocations_in_thread_exit_destructors_are_in_the_process_totals_exactly();
    println!("teardown_tls: ok");
}

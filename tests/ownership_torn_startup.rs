//! A program whose threads allocated at the same time only while it started (a runtime
//! starting its workers, a test harness starting its test) and then one at a time: its
//! peak, reached later by one thread alone, is exact, whatever copies of the early peaks
//! were torn while the threads raced, and whatever requests of theirs were counted
//! against a stale view (those can hide a level only as high as the race's peak plus the
//! bytes they moved). Each case is a child process, so that its counts of stale requests
//! and torn peaks are its own.

use std::process::Command;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Set in a child: run one case and print what its report says.
const CHILD: &str = "ALLOC_TRACE_TORN_STARTUP_CHILD";

/// Both threads grow what they hold, passing the peak again and again: a peak recorded
/// by one while the other counts has a torn copy, and a request one counts while the
/// other reads its level is stale.
const RACE_BLOCKS: usize = 20_000;

/// The block the main thread allocates alone afterwards, far above the race's peak.
const ALONE: usize = 16 << 20;

#[allow(clippy::vec_box)] // a block per entry: each is a request that can pass the peak
fn race(n: usize) -> Vec<Box<[u8; 64]>> {
    (0..n).map(|i| Box::new([i as u8; 64])).collect()
}

/// One case: prints `stale torn lost exact`.
fn child() {
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let other = std::thread::spawn({
        let start = start.clone();
        move || {
            start.wait();
            race(RACE_BLOCKS)
        }
    });
    start.wait();
    let mine = race(RACE_BLOCKS);
    let theirs = other.join().unwrap();
    drop((mine, theirs));
    let before = alloc_trace::process_stats();
    let alone = vec![1u8; ALONE];
    let o = *alloc_trace::report()
        .ownership()
        .expect("built with the `ownership` feature");
    // The peak is now: what was live, and the block. An exact report promises it (the
    // parent requires every case exact unless an update was lost).
    if o.exact {
        assert_eq!(
            o.peak.bytes,
            before.net_bytes() as u64 + ALONE as u64,
            "{o:?}"
        );
        assert_eq!(o.live.bytes, o.peak.bytes, "{o:?}");
    }
    drop(alone);
    println!(
        "{} {} {} {}",
        o.stale_requests, o.torn_peaks, o.lost_updates, o.exact
    );
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let me = std::env::current_exe().unwrap();
    let (mut runs, mut torn_only, mut stale_cases) = (0, 0, 0);
    // Until two cases raced (a torn peak or a stale request, which the report once took
    // to mean an approximate peak for good): about one case in four on two cores.
    while runs < 2000 && torn_only + stale_cases < 2 {
        runs += 1;
        let out = Command::new(&me).env(CHILD, "1").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "case {runs}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f: Vec<&str> = text.split_whitespace().collect();
        let [stale, torn, lost, exact] = f[..] else {
            panic!("case {runs} printed {text:?}")
        };
        let (stale, torn, lost): (u64, u64, u64) = (
            stale.parse().unwrap(),
            torn.parse().unwrap(),
            lost.parse().unwrap(),
        );
        // The reported peak was recorded by one thread alone, far above anything the race
        // reached or a stale request of it could have hidden: only a lost update makes it
        // approximate.
        assert_eq!(exact, (lost == 0).to_string(), "case {runs}: {text}");
        if stale > 0 {
            stale_cases += 1;
        } else if torn > 0 {
            torn_only += 1;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if torn_only + stale_cases == 0 && cores < 2 {
        println!("ownership_torn_startup: skipped: one core, the two threads never raced");
        return;
    }
    assert!(
        torn_only + stale_cases > 0,
        "{runs} cases: the threads never raced (no torn peak, no stale request)"
    );
    println!(
        "ownership_torn_startup: {runs} cases, all exact: {torn_only} with only early peaks \
         torn, {stale_cases} with stale requests"
    );
}

//! The numbers `examples/churn_vs_leak.rs` prints, asserted exactly on the same code.

use std::hint::black_box;

use alloc_trace::AllocStats;
use alloc_trace::report::SortBy;
use alloc_trace_examples::churn_vs_leak::{
    REQUEST_BYTES, REQUESTS, handle_stateless, handle_with_session_cache,
};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Run alone on the main thread (`harness = false`): the ownership view's process-wide
/// peak is exact only if no other thread allocates meanwhile, and a test harness's main
/// thread allocates while it starts a test (as a `#[test]`, 4 runs in 150 said their peak
/// was approximate).
fn main() {
    same_rate_different_residency();
    println!("examples_churn_vs_leak: 1 case passed");
}

fn same_rate_different_residency() {
    let mut sessions = Vec::with_capacity(REQUESTS as usize);
    let (_, report) = alloc_trace::capture(|| {
        for id in 0..REQUESTS {
            black_box(handle_stateless(id));
            black_box(handle_with_session_cache(id, &mut sessions));
        }
    });
    let n = u64::from(REQUESTS);
    let size = REQUEST_BYTES as u64;
    let churn = report.site("handle_stateless").unwrap();
    let leak = report.site("handle_with_session_cache").unwrap();

    // The same allocation rate: one 1 KiB block per call, and the same per-call peak.
    for site in [churn, leak] {
        assert_eq!(site.calls, n);
        assert_eq!(
            (site.allocs_per_call(), site.bytes_per_call()),
            (1.0, 1024.0)
        );
        assert_eq!(site.inclusive.peak_bytes, size);
    }
    // Told apart by what they leave behind: net bytes.
    assert_eq!(
        churn.inclusive,
        AllocStats {
            allocs: n,
            reallocs: 0,
            frees: n,
            bytes_allocated: n * size,
            bytes_freed: n * size,
            peak_bytes: size
        }
    );
    assert_eq!(
        leak.inclusive,
        AllocStats {
            allocs: n,
            reallocs: 0,
            frees: 0,
            bytes_allocated: n * size,
            bytes_freed: 0,
            peak_bytes: size
        }
    );
    assert_eq!(
        (churn.net_bytes_per_call(), leak.net_bytes_per_call()),
        (0.0, 1024.0)
    );

    // Sorted by net bytes, the leak comes first and its row shows a net 1.0 KiB per call.
    let table = report.table().sort_by(SortBy::Net).to_string();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("churn_vs_leak::"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].ends_with("churn_vs_leak::handle_with_session_cache"),
        "{table}"
    );
    // The `net` and `net/call` columns, after calls, allocs, allocs/call, reallocs, bytes
    // (2 words) and bytes/call (2 words).
    let net_columns = |row: &str| {
        row.split_whitespace()
            .skip(8)
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(net_columns(rows[0]), "9.8 MiB 1.0 KiB", "{table}");
    assert_eq!(net_columns(rows[1]), "0 B 0 B", "{table}");
    assert_eq!(sessions.len(), REQUESTS as usize);

    // With the ownership view (what the example prints then): the churning handler holds
    // nothing, the leaking one exactly its cached buffers, now and at the peak (which
    // came after the last request, while the capture's report was built). Nothing else
    // runs in this process, so the process-wide numbers are these calls' alone.
    let report = alloc_trace::report();
    if let Some(process) = report.ownership() {
        use alloc_trace::report::Live;
        let held = |name| report.site(name).unwrap().ownership.unwrap().inclusive;
        let churn = held("handle_stateless");
        let leak = held("handle_with_session_cache");
        assert_eq!(
            churn.live,
            Live {
                blocks: 0,
                bytes: 0
            }
        );
        assert_eq!(
            churn.at_peak,
            Live {
                blocks: 0,
                bytes: 0
            }
        );
        let kept = Live {
            blocks: n,
            bytes: n * size,
        };
        assert_eq!((leak.live, leak.at_peak), (kept, kept));
        assert!(process.exact, "{process:?}");
    }
}

//! `AllocLayer::record_on_close`: a closing span's numbers as an event (target
//! `alloc_trace`, a child of the span), printed by tracing-subscriber's fmt layer, here into
//! a buffer the tests read. Every field is checked exactly, against numbers worked out from
//! the code and against the report.

use std::future::Future;
use std::hint::black_box;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Mutex, Once};
use std::task::{Context, Poll, Waker};

use alloc_trace::AllocStats;
use alloc_trace::tracing::AllocLayer;
use tracing::info_span;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/sites.rs"]
mod sites;
#[path = "support/yield_once.rs"]
mod yield_once;

use sites::site;
use yield_once::YieldOnce;

/// What the fmt layers wrote, of every test.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn fmt_layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(|| LogWriter)
        .without_time()
        .with_ansi(false)
}

/// Registry, `AllocLayer` recording on close, fmt: the global default.
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(AllocLayer::new().record_on_close(true))
            .with(fmt_layer());
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    // The registry's per-thread stack of entered spans, outside the measured spans.
    info_span!("warm_up").in_scope(|| {});
}

/// The lines logged so far that contain `needle`.
fn lines_with(needle: &str) -> Vec<String> {
    String::from_utf8(LOG.lock().unwrap().clone())
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// The line fmt prints for the close event of a span with context `scope`.
fn line(scope: &str, s: &AllocStats) -> String {
    format!(
        " INFO {scope}: alloc_trace: span closed allocs={} reallocs={} frees={} \
         bytes_allocated={} bytes_freed={} net_bytes={} peak_bytes={}",
        s.allocs,
        s.reallocs,
        s.frees,
        s.bytes_allocated,
        s.bytes_freed,
        s.net_bytes(),
        s.peak_bytes
    )
}

#[test]
fn the_event_has_the_span_s_numbers() {
    install();
    info_span!("load", key = 7).in_scope(|| {
        let a = black_box(Vec::<u8>::with_capacity(100));
        let b = black_box(Vec::<u8>::with_capacity(100));
        drop((a, b));
    });
    assert_eq!(
        lines_with("load{key=7}"),
        [
            " INFO load{key=7}: alloc_trace: span closed allocs=2 reallocs=0 frees=2 \
          bytes_allocated=200 bytes_freed=200 net_bytes=0 peak_bytes=200"
        ]
    );
}

#[test]
fn kept_and_freed_bytes_signed() {
    install();
    let kept = info_span!("keeps").in_scope(|| {
        let mut v = Vec::<u8>::with_capacity(8);
        v.reserve_exact(16);
        v
    });
    let old = black_box(vec![0u8; 64]);
    info_span!("frees_older").in_scope(|| drop(old));
    drop(kept);
    assert_eq!(
        lines_with("keeps:"),
        [line(
            "keeps",
            &AllocStats {
                allocs: 2,
                reallocs: 1,
                frees: 1,
                bytes_allocated: 24,
                bytes_freed: 8,
                peak_bytes: 16,
            }
        )]
    );
    assert_eq!(
        lines_with("frees_older:"),
        [
            " INFO frees_older: alloc_trace: span closed allocs=0 reallocs=0 frees=1 \
          bytes_allocated=0 bytes_freed=64 net_bytes=-64 peak_bytes=0"
        ]
    );
}

#[test]
fn nested_spans_each_report_on_close_and_agree_with_the_report() {
    install();
    info_span!("outer_log").in_scope(|| {
        let v = black_box(vec![0u8; 10]);
        info_span!("inner_log").in_scope(|| drop(black_box(vec![0u8; 30])));
        drop(v);
    });
    // The inner span's event is in the outer span's scope; it closed first.
    let inner = lines_with("inner_log:");
    assert_eq!(
        inner,
        [
            " INFO outer_log:inner_log: alloc_trace: span closed allocs=1 reallocs=0 frees=1 \
          bytes_allocated=30 bytes_freed=30 net_bytes=0 peak_bytes=30"
        ]
    );
    // The outer span's numbers include what fmt allocated to print the inner event
    // (ordinary code, run inside it): the event says what the report says.
    let report = alloc_trace::report();
    let outer = site(&report, "tracing_close_event::outer_log");
    assert_eq!(outer.calls, 1);
    assert_eq!(
        lines_with("outer_log: alloc_trace"),
        [line("outer_log", &outer.inclusive)]
    );
    assert!(outer.inclusive.allocs >= 2);
}

/// First poll: 10 bytes. Second poll: 20 bytes, then both are freed.
#[tracing::instrument]
async fn polled_twice() -> usize {
    let a = black_box(vec![0u8; 10]);
    YieldOnce::default().await;
    let b = black_box(vec![0u8; 20]);
    a.len() + b.len()
}

#[test]
fn an_async_span_s_event_sums_its_polls_on_two_threads() {
    install();
    type Boxed = Pin<Box<dyn Future<Output = usize> + Send>>;
    let poll_on_new_thread = |mut future: Boxed| {
        std::thread::spawn(move || {
            info_span!("warm_up").in_scope(|| {});
            let poll = future
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()));
            (future, poll)
        })
        .join()
        .unwrap()
    };
    let (future, first) = poll_on_new_thread(Box::pin(polled_twice()));
    assert_eq!(first, Poll::Pending);
    assert!(lines_with("polled_twice:").is_empty(), "not closed yet");
    // `#[instrument]` drops its span when the body completes, inside the last poll.
    let (future, second) = poll_on_new_thread(future);
    assert_eq!(second, Poll::Ready(30));
    drop(future);
    assert_eq!(
        lines_with("polled_twice:"),
        [
            " INFO polled_twice: alloc_trace: span closed allocs=2 reallocs=0 frees=2 \
          bytes_allocated=30 bytes_freed=30 net_bytes=0 peak_bytes=20"
        ]
    );
}

#[test]
fn no_event_unless_asked_or_when_filtered_out() {
    // Scoped subscribers on this thread only, writing to the same log.
    let quiet = tracing_subscriber::registry()
        .with(AllocLayer::new())
        .with(fmt_layer());
    tracing::subscriber::with_default(quiet, || {
        info_span!("not_asked").in_scope(|| drop(black_box(vec![0u8; 1])));
    });
    let filtered = tracing_subscriber::registry()
        .with(AllocLayer::new().record_on_close(true))
        .with(fmt_layer().with_filter(LevelFilter::WARN));
    tracing::subscriber::with_default(filtered, || {
        tracing::warn_span!("filtered").in_scope(|| drop(black_box(vec![0u8; 1])));
    });
    assert!(lines_with("not_asked").is_empty());
    assert!(lines_with("filtered").is_empty());
}

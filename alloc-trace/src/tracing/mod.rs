//! Every `tracing` span a site: [`AllocLayer`], a [`tracing_subscriber::Layer`] (the
//! `tracing` feature).
//!
//! Programs that already mark their interesting code with spans (`#[instrument]`,
//! `info_span!`) get per-span allocation numbers without marking it again: with the layer
//! in the subscriber, each span callsite is a site of [`report()`](crate::report()) and
//! of its table, JSON, folded and pprof outputs, named `target::span_name` (for
//! `#[instrument]`, `my_crate::module::function`), with the callsite's file and line.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! #[global_allocator]
//! static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!
//! #[tracing::instrument]
//! fn greet(name: &str) -> String {
//!     ["hello, ", name].concat()
//! }
//!
//! fn main() {
//!     let subscriber = tracing_subscriber::registry().with(alloc_trace::tracing::AllocLayer::new());
//!     tracing::subscriber::with_default(subscriber, || {
//!         greet("world");
//!         greet("tracing");
//!     });
//!
//!     let report = alloc_trace::report();
//!     let greet = report.site("greet").unwrap(); // `my_app::greet`: target and span name
//!     assert_eq!(greet.calls, 2);
//!     assert_eq!(greet.inclusive.allocs, 2);
//!     assert_eq!(greet.inclusive.bytes_allocated, 12 + 14);
//! }
//! ```
//!
//! # What a span's numbers are
//!
//! A span is a call, as a tracked `async fn` is: it starts when it is first entered and
//! ends when it closes, and every enter, on whatever thread, is a frame of its own. So:
//!
//! - **calls** are spans closed (after being entered at least once; a span never entered
//!   did nothing, and is not a call);
//! - **allocs, frees, bytes** are everything done on a thread while the span was entered
//!   there, summed over its enters: an `#[instrument]` async fn's polls, as a task moves
//!   between the workers of a multi-threaded runtime;
//! - **peak** is the highest peak of one enter (live bytes on different threads cannot be
//!   added).
//!
//! A span entered again while it is entered on the same thread adds nothing: the outer
//! enter counts what happens.
//!
//! A span entered inside a `#[track_allocs]` function, or the other way round, nests as
//! tracked calls do: one tree of call paths, shown by [`Report::paths`](crate::Report::paths)
//! and [`Report::folded`](crate::Report::folded). A span's enters are all placed under the
//! call path where it was first entered, so that a task's span has the same place in the
//! tree on whichever thread it is polled.
//!
//! # Cost, and what is counted where
//!
//! The layer reads the thread's counters when a span is entered and exited, as
//! `#[track_allocs]` does: nothing is added per allocation. It finds the span's site when
//! the span is created, and its state (in the span's extensions) when it is entered.
//! Beside a plain `Registry` (172 instructions per enter and exit), it adds about 570
//! instructions (about 40 ns) per enter and exit, and about 1,600 per span created,
//! entered, exited and closed (`BENCHMARKS.md` has the numbers and where they go).
//!
//! The layer's own memory is never counted: the sites and their map, its state in each
//! span's extensions, and the frames of entered spans (taken from `System`). (The
//! registry keeps each span slot's map of extensions for reuse: when this layer's entry
//! is the first in it, the map is allocated uncounted too; if other layers' entries fill
//! it so that it must grow for this one, that growth is uncounted, the smaller block it
//! gives back included.) What `tracing` and the other layers do is counted like any code,
//! where it happens: the registry's work on a span's creation and entry happens before the
//! span is entered, so it counts in the enclosing call. The other layers' work on enter
//! and exit counts in the span on one side: the `on_enter` work of layers added after this
//! one is inside the span and their `on_exit` work outside; for layers added before it,
//! the reverse. Events logged inside a span (and the formatting they cause) are the
//! span's.
//!
//! # Recording the numbers when a span closes
//!
//! With [`AllocLayer::record_on_close`], a closing span's numbers are also an event, a
//! child of the span, so that `fmt` logs and tracing-opentelemetry carry them: target
//! `alloc_trace`, level `INFO`, message `span closed`, and the fields `allocs`,
//! `reallocs`, `frees`, `bytes_allocated`, `bytes_freed`, `net_bytes` and `peak_bytes`
//! (the words of [`AllocStats`](crate::AllocStats)). It goes to the subscriber the layer is
//! in. Add the layer before the layers that should see the event while the span is still
//! open (tracing-opentelemetry ends its span in its own `on_close`). The event is
//! ordinary `tracing` code: what the layers allocate to handle it counts where the span
//! closes (in an enclosing span or tracked call), never in the closed span's numbers,
//! which are read before.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! #[global_allocator]
//! static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!
//! // Where the fmt layer writes, so that the example can read it.
//! #[derive(Clone, Default)]
//! struct Log(Arc<Mutex<Vec<u8>>>);
//! impl std::io::Write for Log {
//!     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
//!         self.0.lock().unwrap().write(buf)
//!     }
//!     fn flush(&mut self) -> std::io::Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! let log = Log::default();
//! let writer = log.clone();
//! let subscriber = tracing_subscriber::registry()
//!     .with(alloc_trace::tracing::AllocLayer::new().record_on_close(true))
//!     .with(
//!         tracing_subscriber::fmt::layer()
//!             .with_writer(move || writer.clone())
//!             .without_time()
//!             .with_ansi(false),
//!     );
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info_span!("load").in_scope(|| drop(std::hint::black_box(vec![0u8; 100])));
//! });
//!
//! let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
//! assert_eq!(
//!     log.trim_end(),
//!     " INFO load: alloc_trace: span closed allocs=1 reallocs=0 frees=1 \
//!      bytes_allocated=100 bytes_freed=100 net_bytes=0 peak_bytes=100",
//! );
//! ```
//!
//! # Misuse
//!
//! Adding the layer to a subscriber when [`CountingAlloc`](crate::CountingAlloc) is not the
//! global allocator panics with the lines to add, as every function that returns numbers
//! does, instead of recording spans that did nothing.
//!
//! Spans exited in another order than they were entered on a thread (tracing allows it,
//! with guards dropped in the order they were made), or around a `#[track_allocs]` call
//! that is still running, lose the numbers of that enter and of the frames entered after
//! it; nothing else is affected. A span whose guard is never dropped (`mem::forget`) stays
//! entered on its thread until it closes there: the close ends that enter, with what it
//! did (closed on another thread, it stays open on the thread that entered it). A thread
//! that exits while spans are entered on it leaks their frames (about a hundred bytes
//! each, never counted).

mod callsites;
mod entered;
mod event;

use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_core::dispatcher::{self, WeakDispatch};
use tracing_core::span::{Attributes, Id};
use tracing_core::{Dispatch, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::frame;
use crate::per_thread::{self, PerThread};
use crate::site::Site;
use crate::slots::{CallNumbers, SiteSlot};

/// A [`Layer`] that makes every span a site of alloc-trace's reports: what a span's code
/// allocates while it is entered, summed over its enters, and its closes as calls (see
/// the [module docs](self)).
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// #[global_allocator]
/// static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// tracing_subscriber::registry()
///     .with(alloc_trace::tracing::AllocLayer::new())
///     .init();
///
/// tracing::info_span!(target: "app", "fill").in_scope(|| {
///     let mut v = Vec::with_capacity(100);
///     v.extend(0..100u8);
///     std::hint::black_box(v);
/// });
///
/// let report = alloc_trace::report();
/// let fill = report.site("app::fill").unwrap();
/// assert_eq!((fill.calls, fill.inclusive.allocs, fill.inclusive.bytes_allocated), (1, 1, 100));
/// assert_eq!((fill.inclusive.frees, fill.inclusive.net_bytes()), (1, 0));
/// ```
pub struct AllocLayer {
    record_on_close: bool,
    /// The subscriber the layer is in, for the close event.
    dispatch: OnceLock<WeakDispatch>,
}

impl AllocLayer {
    /// The layer, recording the numbers in reports only.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let subscriber = tracing_subscriber::registry().with(alloc_trace::tracing::AllocLayer::new());
    /// # drop(subscriber);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            record_on_close: false,
            dispatch: OnceLock::new(),
        }
    }

    /// Whether a closing span's numbers are also an event (target `alloc_trace`, level
    /// `INFO`, message `span closed`, fields `allocs`, `reallocs`, `frees`,
    /// `bytes_allocated`, `bytes_freed`, `net_bytes`, `peak_bytes`), a child of the span,
    /// so that logs carry them. Off by default. See the [module docs](self#recording-the-numbers-when-a-span-closes).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(alloc_trace::tracing::AllocLayer::new().record_on_close(true))
    ///     .with(tracing_subscriber::fmt::layer());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     // Prints `INFO work: alloc_trace: span closed allocs=1 reallocs=0 frees=1 ...`
    ///     tracing::info_span!("work").in_scope(|| drop(std::hint::black_box(vec![1u8; 8])));
    /// });
    /// ```
    #[must_use]
    pub const fn record_on_close(mut self, record: bool) -> Self {
        self.record_on_close = record;
        self
    }
}

impl Default for AllocLayer {
    /// [`AllocLayer::new`].
    ///
    /// ```
    /// let layer = alloc_trace::tracing::AllocLayer::default();
    /// # drop(layer);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for AllocLayer {
    /// `AllocLayer { record_on_close: false }`
    ///
    /// ```
    /// let layer = alloc_trace::tracing::AllocLayer::new();
    /// assert_eq!(format!("{layer:?}"), "AllocLayer { record_on_close: false }");
    /// ```
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AllocLayer")
            .field("record_on_close", &self.record_on_close)
            .finish()
    }
}

/// `SpanState::parent_path` before the span's first enter.
const NOT_ENTERED: u32 = u32::MAX;

/// The layer's state of one span, in its extensions.
struct SpanState {
    site: &'static Site,
    /// The call path its frames are entered under: where it was first entered.
    parent_path: AtomicU32,
    /// What its enters did so far.
    numbers: Mutex<CallNumbers>,
}

impl SpanState {
    /// The span's site and the path to enter it under; the first enter starts the call
    /// (in flight from then on, on this thread's numbers).
    fn enter(&self) -> (&'static Site, u32) {
        let path = self.parent_path.load(Ordering::Acquire);
        if path != NOT_ENTERED {
            return (self.site, path);
        }
        let here = per_thread::with(frame::current_path).unwrap_or(crate::paths::ROOT);
        match self.parent_path.compare_exchange(
            NOT_ENTERED,
            here,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                let _ = per_thread::with(|t| {
                    if let Some(slot) = slot(t, self.site) {
                        slot.started.add(1);
                    }
                });
                (self.site, here)
            }
            // Entered on another thread meanwhile: that enter was the first.
            Err(first) => (self.site, first),
        }
    }

    /// Adds one enter's numbers.
    fn add(&self, n: &CallNumbers) {
        let mut numbers = self.numbers.lock().unwrap_or_else(PoisonError::into_inner);
        numbers.done = numbers.done.plus(n.done);
        numbers.peak = numbers.peak.max(n.peak);
    }

    /// The whole call's numbers, or `None` if the span was never entered.
    fn finish(self) -> Option<CallNumbers> {
        (self.parent_path.into_inner() != NOT_ENTERED).then(|| {
            self.numbers
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
        })
    }
}

fn slot<'t>(t: &'t PerThread, site: &'static Site) -> Option<&'t SiteSlot> {
    t.tables
        .site_slot(site)
        .or_else(|| t.tables.site_slot_cold(site))
}

impl<S> Layer<S> for AllocLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// # Panics
    ///
    /// If [`CountingAlloc`](crate::CountingAlloc) is not the global allocator.
    fn on_layer(&mut self, _: &mut S) {
        crate::installed::assert_installed();
    }

    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let site = callsites::site(attrs.metadata());
        let Some(span) = ctx.span(id) else {
            return;
        };
        let state = SpanState {
            site,
            parent_path: AtomicU32::new(NOT_ENTERED),
            numbers: Mutex::new(CallNumbers::default()),
        };
        // WARNING: the layer's bookkeeping (the box the extensions keep it in, and their
        // map if this is its first entry): freed uncounted too, in `on_close`.
        per_thread::uncounted(|| span.extensions_mut().replace(state));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let Some((site, parent_path)) = span.extensions().get::<SpanState>().map(SpanState::enter)
        else {
            return;
        };
        drop(span);
        entered::enter(id.into_u64(), site, parent_path);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        // Only an enter that allocated or freed has numbers to add.
        let Some(numbers) = entered::exit(id.into_u64()) else {
            return;
        };
        if let Some(span) = ctx.span(id) {
            if let Some(state) = span.extensions().get::<SpanState>() {
                state.add(&numbers);
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        entered::forget(id.into_u64());
        let Some(span) = ctx.span(&id) else {
            return;
        };
        // WARNING: as in `on_new_span`.
        let state = per_thread::uncounted(|| span.extensions_mut().remove::<SpanState>());
        drop(span);
        let Some(state) = state else {
            return;
        };
        let site = state.site;
        let Some(numbers) = state.finish() else {
            return;
        };
        let _ = per_thread::with(|t| {
            if let Some(slot) = slot(t, site) {
                slot.finish_call(&numbers.summary());
            }
        });
        if self.record_on_close {
            let stats = numbers.stats();
            match self.dispatch.get().and_then(WeakDispatch::upgrade) {
                Some(dispatch) => event::emit(&dispatch, &id, &stats),
                None => dispatcher::get_default(|dispatch| event::emit(dispatch, &id, &stats)),
            }
        }
    }
}

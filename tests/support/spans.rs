//! The subscriber of the `tracing_*` tests: a `Registry` with `AllocLayer`, the process's
//! global default (so that every thread, tokio's workers among them, records its spans).

#![allow(dead_code)] // Each test binary uses a part of it.

use std::sync::Once;

use alloc_trace::tracing::AllocLayer;
use tracing_subscriber::layer::SubscriberExt;

/// Makes `Registry` + `AllocLayer` the global default, once per process, and enters a
/// span on the calling thread once: the registry allocates its per-thread stack of entered
/// spans on a thread's first enter (which counts in the enclosing call, as any code does).
pub fn install() {
    install_global();
    tracing::info_span!("warm_up").in_scope(|| {});
}

/// Only the global default.
pub fn install_global() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(AllocLayer::new()),
        )
        .expect("alloc-trace test: no other global subscriber");
    });
}

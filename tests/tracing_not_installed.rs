//! A test binary WITHOUT `CountingAlloc` as its global allocator: adding `AllocLayer` to a
//! subscriber panics with the lines to add, as every function that returns numbers does,
//! instead of recording spans that did nothing.

use alloc_trace::tracing::AllocLayer;
use tracing_subscriber::layer::SubscriberExt;

#[path = "support/not_installed.rs"]
mod not_installed;
#[path = "support/panics.rs"]
mod panics;

use not_installed::NOT_INSTALLED;
use panics::panic_message;

#[test]
fn adding_the_layer_panics() {
    assert_eq!(
        panic_message(|| drop(tracing_subscriber::registry().with(AllocLayer::new()))).as_deref(),
        Some(NOT_INSTALLED)
    );
}

#[test]
fn adding_it_under_a_filter_panics_too() {
    use tracing_subscriber::Layer;
    let filtered = AllocLayer::new().with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    assert_eq!(
        panic_message(|| drop(tracing_subscriber::registry().with(filtered))).as_deref(),
        Some(NOT_INSTALLED)
    );
}

//! The event a closing span's numbers are recorded in (`AllocLayer::record_on_close`):
//! target `alloc_trace`, level `INFO`, a child of the span, one field per word of
//! [`AllocStats`].

use tracing_core::callsite::DefaultCallsite;
use tracing_core::field::{Field, FieldSet, Value};
use tracing_core::span::Id;
use tracing_core::{Dispatch, Event, Kind, Level, Metadata};

use crate::stats::AllocStats;

/// The event's message.
pub(super) const MESSAGE: &str = "span closed";

/// The fields, in this order.
const FIELDS: &[&str] = &[
    "message",
    "allocs",
    "reallocs",
    "frees",
    "bytes_allocated",
    "bytes_freed",
    "net_bytes",
    "peak_bytes",
];

static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);

static META: Metadata<'static> = Metadata::new(
    "alloc_trace span closed",
    "alloc_trace",
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(FIELDS, tracing_core::identify_callsite!(&CALLSITE)),
    Kind::EVENT,
);

/// Records `stats`, the numbers of span `span` that is closing, as an event that `dispatch`
/// receives if it is interested (as `tracing`'s macros do: the callsite's interest, then
/// `enabled`).
pub(super) fn emit(dispatch: &Dispatch, span: &Id, stats: &AllocStats) {
    if CALLSITE.interest().is_never() || !dispatch.enabled(&META) {
        return;
    }
    let Some(
        [
            message,
            allocs,
            reallocs,
            frees,
            bytes_allocated,
            bytes_freed,
            net_bytes,
            peak_bytes,
        ],
    ) = fields()
    else {
        return;
    };
    let net = stats.net_bytes();
    let values: [(&Field, Option<&dyn Value>); 8] = [
        (&message, Some(&MESSAGE)),
        (&allocs, Some(&stats.allocs)),
        (&reallocs, Some(&stats.reallocs)),
        (&frees, Some(&stats.frees)),
        (&bytes_allocated, Some(&stats.bytes_allocated)),
        (&bytes_freed, Some(&stats.bytes_freed)),
        (&net_bytes, Some(&net)),
        (&peak_bytes, Some(&stats.peak_bytes)),
    ];
    let values = META.fields().value_set(&values);
    dispatch.event(&Event::new_child_of(span.clone(), &META, &values));
}

/// The event's fields, in the order of [`FIELDS`].
fn fields() -> Option<[Field; 8]> {
    let mut f = META.fields().iter();
    Some([
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
    ])
}

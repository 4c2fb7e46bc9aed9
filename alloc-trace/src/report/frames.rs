//! The names of the frames the exports add to a report's call paths, beside
//! [`OUTSIDE_FRAME`](super::OUTSIDE_FRAME).

/// The frame that holds [`Report::unattributed`](super::Report::unattributed) in the
/// exports (pprof, DHAT): what threads did inside tracked calls in flight whose function
/// is not known yet.
///
/// ```
/// assert_eq!(alloc_trace::report::UNATTRIBUTED_FRAME, "[unattributed: tracked calls in flight]");
/// ```
pub const UNATTRIBUTED_FRAME: &str = "[unattributed: tracked calls in flight]";

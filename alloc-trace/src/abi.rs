//! The calling convention of the functions off the tracked call's common path.

/// Defines a function that the common path of a tracked call calls only off it (and that
/// such functions call).
///
/// PERF: on x86-64 outside Windows it gets the Windows calling convention, under which the
/// callee rather than the caller preserves `rsi` and `rdi` (and `xmm6`-`xmm15`). A value the
/// tracked function keeps across its frame's exit (its return value, say) can then stay in
/// those registers, instead of the function saving and restoring callee-saved registers on
/// every call, common path included, only because a call might happen. The rare callee
/// pays instead. (`extern "rust-cold"` would do this better but is unstable.)
///
/// A Windows-convention function must also preserve `xmm6`-`xmm15`, so it saves them if
/// it calls any function of the usual convention, which may clobber them: the functions
/// those off-path functions call on their own common path are off-path functions too.
macro_rules! off_path_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(all(target_arch = "x86_64", not(windows)))]
        $(#[$attr])* $vis extern "win64-unwind" fn $($rest)*
        #[cfg(not(all(target_arch = "x86_64", not(windows))))]
        $(#[$attr])* $vis fn $($rest)*
    };
}
pub(crate) use off_path_fn;

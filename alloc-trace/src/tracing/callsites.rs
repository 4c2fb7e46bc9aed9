//! One [`Site`] per span callsite: made on the callsite's first span, leaked, and found
//! again by the address of the callsite's `&'static Metadata`: in a small per-thread cache
//! first, else in a process-wide map under a lock.

use core::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tracing_core::Metadata;

use crate::per_thread;
use crate::site::Site;

/// Metadata address to site. Its memory, and the sites', are the layer's own: allocated
/// and freed only inside `per_thread::uncounted`.
static SITES: Mutex<Option<HashMap<usize, &'static Site>>> = Mutex::new(None);

/// The site of the spans of `metadata`'s callsite, named `target::name`, at the callsite's
/// file and line (`<unknown>` and 0 where the metadata has none).
pub(super) fn site(metadata: &'static Metadata<'static>) -> &'static Site {
    let key = core::ptr::from_ref(metadata).addr();
    // PERF: a hit costs a few instructions; the map's lock and hash cost about 150.
    let slot = (key >> 4) % CACHED;
    let cached = CACHE.try_with(|cache| {
        let (k, site) = cache[slot].get();
        (k == key).then_some(site).flatten()
    });
    if let Ok(Some(site)) = cached {
        return site;
    }
    let site = site_from_map(metadata, key);
    let _ = CACHE.try_with(|cache| cache[slot].set((key, Some(site))));
    site
}

/// Entries of the per-thread cache (direct-mapped by metadata address).
const CACHED: usize = 16;

thread_local! {
    /// Metadata address and site (0 and `None`: empty). `const`, without `Drop`.
    static CACHE: [Cell<(usize, Option<&'static Site>)>; CACHED] =
        const { [const { Cell::new((0, None)) }; CACHED] };
}

fn site_from_map(metadata: &'static Metadata<'static>, key: usize) -> &'static Site {
    // Nothing panics while the lock is held, so a poisoned map is whole.
    let mut sites = SITES.lock().unwrap_or_else(PoisonError::into_inner);
    let sites = sites.get_or_insert_with(HashMap::new);
    if let Some(&site) = sites.get(&key) {
        return site;
    }
    // WARNING: the map and the sites are the layer's bookkeeping; they must not count in
    // the numbers of the code that creates the span. Nothing here makes a tracked call,
    // and the map's memory is only ever allocated, moved and freed in here.
    per_thread::uncounted(|| *sites.entry(key).or_insert_with(|| new_site(metadata)))
}

fn new_site(metadata: &'static Metadata<'static>) -> &'static Site {
    let name: &'static str =
        Box::leak(format!("{}::{}", metadata.target(), metadata.name()).into_boxed_str());
    Box::leak(Box::new(Site::new(
        name,
        metadata.file().unwrap_or("<unknown>"),
        metadata.line().unwrap_or(0),
    )))
}

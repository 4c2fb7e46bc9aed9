//! Call sites: one `static Site` per `#[track_allocs]` function, its name, its budget, and
//! the dense id that indexes per-thread tables.
//!
//! Ids are handed out on a site's first call, in call order, and recorded in a lock-free
//! process-wide table ([`by_id`]) so that reports can name every site that ran, whether
//! `inventory` knows it or not.

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::abi::off_path_fn;
use crate::sys;

/// One instrumented function. `#[track_allocs]` puts a `static Site` in the function's
/// body and registers it with `inventory`, so a report knows every site, even those never
/// called. Not public API: use the attribute.
#[doc(hidden)]
#[derive(Debug)]
pub struct Site {
    name: Name,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) budget: Budget,
    /// Dense index into per-thread tables, assigned on first call ([`UNASSIGNED`]: not
    /// yet).
    id: AtomicU32,
    /// `id << SLOT_SHIFT`: the byte offset of the site's entry in a per-thread table, once
    /// assigned ([`UNASSIGNED`] before, and if it does not fit). PERF: one load finds the
    /// entry, and unassigned is larger than any table, so one bounds check covers both.
    slot_offset: AtomicU32,
    /// Set on the first call of an `async fn` site: its calls are in flight from their
    /// first poll to their end, counted by `SiteSlot::started`, not by the frames of
    /// their polls (see `gather`).
    asynchronous: AtomicBool,
}

#[derive(Debug)]
enum Name {
    /// The whole name: `module::function`, `module::Type::method`, `<module::T as Tr>::m`,
    /// or the `name = "..."` given.
    Fixed(&'static str),
    /// A method whose type the attribute could not see: `module::Type::method`, with the
    /// type taken from the first call.
    Method {
        module: &'static str,
        method: &'static str,
        self_type: OnceLock<&'static str>,
    },
}

/// Allocation budget of a site, checked at the end of every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    pub max_allocs: Option<u64>,
    pub max_bytes: Option<u64>,
}

impl Budget {
    pub(crate) const fn is_set(&self) -> bool {
        self.max_allocs.is_some() || self.max_bytes.is_some()
    }
}

/// Per-thread table entries are `1 << SLOT_SHIFT` bytes (checked where they are defined).
pub(crate) const SLOT_SHIFT: u32 = 6;

/// `Site::id` before the first call.
pub(crate) const UNASSIGNED: u32 = u32::MAX;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Site {
    /// A site named `name`, defined at `file:line`.
    #[must_use]
    pub const fn new(name: &'static str, file: &'static str, line: u32) -> Self {
        Self::with_name(Name::Fixed(name), file, line)
    }

    /// A method's site whose type is known only at run time: named
    /// `module::Type::method` once the first call has given the type (see
    /// `CallGuard::for_method`).
    #[must_use]
    pub const fn method(
        module: &'static str,
        method: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        Self::with_name(
            Name::Method {
                module,
                method,
                self_type: OnceLock::new(),
            },
            file,
            line,
        )
    }

    const fn with_name(name: Name, file: &'static str, line: u32) -> Self {
        Self {
            name,
            file,
            line,
            budget: Budget {
                max_allocs: None,
                max_bytes: None,
            },
            id: AtomicU32::new(UNASSIGNED),
            slot_offset: AtomicU32::new(UNASSIGNED),
            asynchronous: AtomicBool::new(false),
        }
    }

    /// A site that already has id `id`, for tests of tables indexed by id.
    #[cfg(test)]
    pub(crate) const fn with_id_for_tests(name: &'static str, id: u32) -> Self {
        let mut site = Self::new(name, file!(), 0);
        site.id = AtomicU32::new(id);
        site.slot_offset = AtomicU32::new(id << SLOT_SHIFT);
        site
    }

    /// Adds an allocation budget (see `#[track_allocs(max_allocs = N, max_bytes = N)]`).
    /// `enabled` is false in builds where budgets are off; then this does nothing.
    #[must_use]
    pub const fn with_budget(
        mut self,
        max_allocs: Option<u64>,
        max_bytes: Option<u64>,
        enabled: bool,
    ) -> Self {
        if enabled {
            self.budget = Budget {
                max_allocs,
                max_bytes,
            };
        }
        self
    }

    /// The site's name as reports print it.
    pub(crate) fn name(&self) -> SiteName<'_> {
        SiteName(self)
    }

    /// [`Site::name`] as a `String`, allocated once at its length. PERF: a report names
    /// each of its sites; `to_string` grows a method's name part by part.
    pub(crate) fn owned_name(&self) -> String {
        match &self.name {
            Name::Fixed(name) => (*name).to_owned(),
            Name::Method {
                module,
                method,
                self_type,
            } => match self_type.get() {
                Some(ty) => [module, "::", ty, "::", method].concat(),
                None => [module, "::", method].concat(),
            },
        }
    }

    /// Records the type of a method site (the first call's `type_name::<Self>()`, generic
    /// arguments and the module path dropped); does nothing for other sites.
    #[cold]
    pub(crate) fn learn_type(&self, type_name: impl FnOnce() -> &'static str) {
        if let Name::Method { self_type, .. } = &self.name {
            self_type.get_or_init(|| short_type_name(type_name()));
        }
    }

    /// Whether a call must tell the site its type ([`Site::learn_type`]).
    #[inline]
    pub(crate) fn wants_type(&self) -> bool {
        matches!(&self.name, Name::Method { self_type, .. } if self_type.get().is_none())
    }

    /// This site's index into per-thread tables, assigned now if it has none.
    #[inline]
    pub(crate) fn id(&'static self) -> u32 {
        match self.id.load(Ordering::Relaxed) {
            UNASSIGNED => self.assign_id(),
            id => id,
        }
    }

    /// The byte offset of this site's entry in a per-thread table, or [`UNASSIGNED`].
    #[inline(always)]
    pub(crate) fn slot_offset(&self) -> u32 {
        self.slot_offset.load(Ordering::Relaxed)
    }

    /// Notes that this is an `async fn`'s site (once per call: a load, and a store once).
    #[inline]
    pub(crate) fn mark_async(&self) {
        if !self.asynchronous.load(Ordering::Relaxed) {
            self.asynchronous.store(true, Ordering::Relaxed);
        }
    }

    /// Whether an `async fn` call of this site has started.
    pub(crate) fn is_async(&self) -> bool {
        self.asynchronous.load(Ordering::Relaxed)
    }

    /// The id, or `None` if the site was never entered.
    pub(crate) fn assigned_id(&self) -> Option<u32> {
        match self.id.load(Ordering::Relaxed) {
            UNASSIGNED => None,
            id => Some(id),
        }
    }

    off_path_fn! {
        #[cold]
        #[inline(never)]
        fn assign_id(&'static self) -> u32 {
            let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            // Two threads may race to a site's first call; the loser's id is simply unused.
            match self
                .id
                .compare_exchange(UNASSIGNED, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    table::record(fresh, self);
                    let offset = fresh
                        .checked_shl(SLOT_SHIFT)
                        .filter(|o| o >> SLOT_SHIFT == fresh);
                    self.slot_offset
                        .store(offset.unwrap_or(UNASSIGNED), Ordering::Relaxed);
                    fresh
                }
                Err(winner) => winner,
            }
        }
    }
}

/// `Display` of a site's name (a method's is assembled from its parts).
pub(crate) struct SiteName<'a>(&'a Site);

impl core::fmt::Display for SiteName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0.name {
            Name::Fixed(name) => f.write_str(name),
            Name::Method {
                module,
                method,
                self_type,
            } => match self_type.get() {
                Some(ty) => write!(f, "{module}::{ty}::{method}"),
                None => write!(f, "{module}::{method}"),
            },
        }
    }
}

/// `Parser` for `my_crate::parse::Parser<'a, T>`, `&mut my_crate::Parser` or `Box<Parser>`
/// (the outermost type's last path segment); the text as given if it has no path
/// (`(u8, u16)`, `[u8]`).
fn short_type_name(full: &'static str) -> &'static str {
    let head = full.trim_start_matches(['&', '*']);
    let head = head
        .strip_prefix("mut ")
        .or_else(|| head.strip_prefix("const "))
        .unwrap_or(head);
    if head.starts_with(['(', '[']) {
        return full;
    }
    let head = head.split('<').next().unwrap_or(head);
    head.rsplit("::").next().unwrap_or(head)
}

/// Registers a [`Site`] with `inventory`. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct SiteRegistration(pub &'static Site);

inventory::collect!(SiteRegistration);

/// Every site linked into this program.
pub(crate) fn all_sites() -> impl Iterator<Item = &'static Site> {
    inventory::iter::<SiteRegistration>.into_iter().map(|r| r.0)
}

/// The site that was given `id`.
pub(crate) fn by_id(id: u32) -> Option<&'static Site> {
    table::get(id)
}

/// The highest id handed out so far (ids are `1..=max_id()`).
pub(crate) fn max_id() -> u32 {
    NEXT_ID.load(Ordering::Relaxed).saturating_sub(1)
}

mod table {
    //! Id to site, without a lock: chunks of pointers allocated on first use.

    use super::{AtomicPtr, Ordering, Site, sys};

    const CHUNK: usize = 1024;
    const CHUNKS: usize = 4096;

    type Chunk = [AtomicPtr<Site>; CHUNK];

    static CHUNKS_TABLE: [AtomicPtr<Chunk>; CHUNKS] =
        [const { AtomicPtr::new(core::ptr::null_mut()) }; CHUNKS];

    fn chunk(index: usize, create: bool) -> Option<&'static Chunk> {
        let slot = CHUNKS_TABLE.get(index)?;
        let mut ptr = slot.load(Ordering::Acquire);
        if ptr.is_null() && create {
            let fresh = sys::zeroed::<Chunk>(1)?.as_ptr();
            match slot.compare_exchange(
                core::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => ptr = fresh,
                Err(winner) => {
                    // SAFETY: `fresh` came from `zeroed::<Chunk>(1)` and was never shared.
                    unsafe { sys::free(core::ptr::NonNull::new_unchecked(fresh), 1) };
                    ptr = winner;
                }
            }
        }
        // SAFETY: a published chunk is never freed; all-zero is a valid `Chunk` (null
        // pointers).
        unsafe { ptr.as_ref() }
    }

    pub(super) fn record(id: u32, site: &'static Site) {
        let id = id as usize;
        if let Some(entry) = chunk(id / CHUNK, true).and_then(|c| c.get(id % CHUNK)) {
            entry.store(core::ptr::from_ref(site).cast_mut(), Ordering::Release);
        }
    }

    pub(super) fn get(id: u32) -> Option<&'static Site> {
        let id = id as usize;
        let ptr = chunk(id / CHUNK, false)?
            .get(id % CHUNK)?
            .load(Ordering::Acquire);
        // SAFETY: only `&'static Site`s are stored.
        unsafe { ptr.as_ref() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name("my_crate::parse::Parser<'_, u8>"), "Parser");
        assert_eq!(short_type_name("&mut my_crate::Parser"), "Parser");
        assert_eq!(short_type_name("alloc::boxed::Box<my::T>"), "Box");
        assert_eq!(short_type_name("Handler"), "Handler");
        assert_eq!(short_type_name("(u8, u16)"), "(u8, u16)");
        assert_eq!(short_type_name("[u8]"), "[u8]");
    }

    #[test]
    fn ids_are_recorded() {
        static A: Site = Site::new("site_tests::a", file!(), 1);
        static M: Site = Site::method("site_tests", "run", file!(), 2);
        let id = A.id();
        assert_eq!(A.id(), id);
        assert!(core::ptr::eq(by_id(id).unwrap(), &A));
        assert!(max_id() >= id);
        assert_eq!(A.slot_offset(), id << SLOT_SHIFT);
        assert_eq!(M.name().to_string(), "site_tests::run");
        assert_eq!(M.owned_name(), "site_tests::run");
        assert_eq!(A.owned_name(), "site_tests::a");
        assert!(M.wants_type());
        M.learn_type(|| "my::Handler<u8>");
        M.learn_type(|| "other::Ignored");
        assert_eq!(M.name().to_string(), "site_tests::Handler::run");
        assert_eq!(M.owned_name(), "site_tests::Handler::run");
        assert!(!M.wants_type());
    }
}

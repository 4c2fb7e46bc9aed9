//! Memory readings for the memory rows: heap bytes in use (glibc's `mallinfo2`) and the
//! process's resident set (`/proc/self/status`).
//!
//! Heap bytes are `uordblks + hblkhd` of `mallinfo2()`: bytes in chunks in use in every
//! arena plus bytes of chunks `malloc` got straight from `mmap` (large blocks). They
//! include `malloc`'s own chunk headers, so they are what the process holds, not only what
//! was requested. glibc only; elsewhere they read as `None`.

/// `struct mallinfo2` of glibc (`malloc.h`): ten `size_t` fields.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[repr(C)]
#[derive(Clone, Copy, Default)]
#[allow(dead_code)] // only `uordblks` and `hblkhd` are read
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc 2.33 and later.
    fn mallinfo2() -> Mallinfo2;
}

/// Heap bytes in use in the whole process (see the module docs), if known.
#[must_use]
pub fn heap_in_use() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallinfo2` takes no arguments and returns a plain struct; glibc locks
        // each arena while it reads it, so it may be called from any thread at any time.
        let info = unsafe { mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in bytes, if known.
#[must_use]
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Heap bytes that `work`, run on a new thread, left in use when it returned (the thread
/// still alive): what the thread holds because of `work`. The thread makes one small
/// allocation first, so the allocator's and alloc-trace's per-thread set-up for a thread's
/// first allocation is not in the number; the thread is the only one running (the caller
/// waits for it).
///
/// # Panics
///
/// If the heap cannot be read (not glibc) or the thread panics.
#[must_use]
pub fn heap_left_by_new_thread(work: &(dyn Fn() + Sync)) -> i64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            drop(std::hint::black_box(Box::new(0u64)));
            let before = heap_in_use().expect("alloc-trace-benchmarks: heap bytes need glibc");
            work();
            let after = heap_in_use().expect("alloc-trace-benchmarks: heap bytes need glibc");
            after as i64 - before as i64
        })
        .join()
        .expect("alloc-trace-benchmarks: the measured thread panicked")
    })
}

//! The report as a DHAT file (feature `json`): the JSON format (`dhatFileVersion: 2`)
//! that valgrind's DHAT and dhat-rs write and valgrind's viewer, `dh_view.html`, opens.
//!
//! A DHAT "program point" is a stack of frames where blocks were allocated; here it is a
//! call path of tracked functions, leaf first, with the path's exclusive numbers.

use std::collections::HashMap;

use serde::Serialize;

use super::{OUTSIDE_FRAME, Report, UNATTRIBUTED_FRAME};
use crate::stats::AllocCounts;

/// The top of a DHAT file. The names are DHAT's (see valgrind's `dh_view.js`).
#[derive(Serialize)]
#[allow(non_snake_case)]
struct DhatJson<'a> {
    dhatFileVersion: u32,
    mode: &'a str,
    verb: &'a str,
    /// Block lifetimes: alloc-trace counts requests, it does not follow blocks, so it has
    /// no lifetimes, no global peak (`tg`, `tuth`) and no per-point peaks or leftovers
    /// (`mb`, `gb`, `eb`...): with `false` the viewer neither asks for nor shows them.
    bklt: bool,
    /// Block access counts: none (only valgrind sees memory reads and writes).
    bkacc: bool,
    /// The time unit. alloc-trace has no clock; its one monotonic count is allocations,
    /// so "time" is the number of allocations so far and `te` their total.
    tu: &'a str,
    Mtu: &'a str,
    cmd: String,
    pid: u32,
    te: u64,
    pps: Vec<ProgramPoint>,
    ftbl: Vec<String>,
}

#[derive(Serialize)]
struct ProgramPoint {
    /// Total bytes allocated.
    tb: u64,
    /// Total blocks allocated (the crate's `allocs`).
    tbk: u64,
    /// Frames, leaf first, as indices into `ftbl`.
    fs: Vec<usize>,
}

impl Report {
    /// The report as DHAT's JSON (`dhatFileVersion: 2`), feature `json`: open it with
    /// valgrind's `dh_view.html` (e.g. `/usr/libexec/valgrind/dh_view.html`, "Load").
    ///
    /// Each call path is a program point, leaf first, with the path's exclusive
    /// `bytes_allocated` (DHAT's `tb`) and `allocs` (`tbk`, blocks), plus one point for
    /// what happened outside tracked functions, so the viewer's total is
    /// [`Report::totals`]. Frames read `name (file:line)`.
    ///
    /// What DHAT's heap mode has and alloc-trace does not is left out and switched off
    /// (`bklt: false`, `bkacc: false`): block lifetimes, the global peak and the live
    /// blocks at it and at the end, memory accesses. The viewer then shows totals only.
    /// DHAT's "time" is the allocation count (`tu: "allocs"`): the report has no clock.
    /// `cmd` and `pid` are those of the process that writes the file.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn make() -> Vec<u8> {
    ///     vec![0; 100]
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(make()));
    /// let dhat = report.to_dhat();
    /// assert!(dhat.contains("\"dhatFileVersion\": 2"));
    /// assert!(dhat.contains("\"tb\": 100"));
    /// ```
    #[must_use]
    pub fn to_dhat(&self) -> String {
        let mut sites = HashMap::new();
        for s in &self.sites {
            sites.entry(s.name.as_str()).or_insert(s);
        }
        let mut ftbl = vec!["[root]".to_owned()];
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut frame = |name: &str| -> usize {
            *index.entry(name.to_owned()).or_insert_with(|| {
                ftbl.push(match sites.get(name) {
                    Some(site) => format!("{} ({}:{})", site.name, site.file, site.line),
                    None => name.to_owned(),
                });
                ftbl.len() - 1
            })
        };
        // The viewer refuses two points with the same frames: paths are distinct, but
        // merge defensively (two sites can share a `name = "..."`).
        let mut points: Vec<ProgramPoint> = Vec::new();
        let mut by_frames: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut add = |fs: Vec<usize>, c: &AllocCounts| {
            if c.allocs == 0 && c.bytes_allocated == 0 {
                return;
            }
            match by_frames.get(&fs) {
                Some(&i) => {
                    points[i].tb += c.bytes_allocated;
                    points[i].tbk += c.allocs;
                }
                None => {
                    by_frames.insert(fs.clone(), points.len());
                    points.push(ProgramPoint {
                        tb: c.bytes_allocated,
                        tbk: c.allocs,
                        fs,
                    });
                }
            }
        };
        for p in &self.paths {
            let fs = p.path.split(';').rev().map(&mut frame).collect();
            add(fs, &p.exclusive);
        }
        if self.unattributed.allocs > 0 {
            add(vec![frame(UNATTRIBUTED_FRAME)], &self.unattributed);
        }
        let outside = self.outside_tracked();
        add(vec![frame(OUTSIDE_FRAME)], &outside);
        let json = DhatJson {
            dhatFileVersion: 2,
            mode: "heap",
            verb: "Allocated",
            bklt: false,
            bkacc: false,
            tu: "allocs",
            Mtu: "M allocs",
            cmd: std::env::args().collect::<Vec<_>>().join(" "),
            pid: std::process::id(),
            te: self.totals.allocs,
            pps: points,
            ftbl,
        };
        serde_json::to_string_pretty(&json).unwrap_or_else(|e| {
            // Serialising plain numbers and strings cannot fail; keep the output valid.
            format!("{{\"error\": \"alloc-trace: {e}\"}}")
        })
    }
}

//! Workloads measured twice, by alloc-trace and by dhat (in a separate binary, since a
//! binary has one global allocator), whose numbers must agree exactly.
//!
//! Each workload returns what it keeps, so that residency (bytes and blocks still live)
//! is compared as well as the allocation rate.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;

pub type Kept = Box<dyn Any>;

/// A named workload.
pub type Workload = (&'static str, fn() -> Kept);

pub const WORKLOADS: &[Workload] = &[
    ("vec_growth", vec_growth),
    ("string_building", string_building),
    ("hashmap_insert_remove", hashmap_insert_remove),
    ("btreemap_insert_remove", btreemap_insert_remove),
    ("formatting", formatting),
    ("shrink_to_fit", shrink_to_fit),
    ("nested_collections", nested_collections),
    ("leak", leak),
    ("cache_grows_then_shrinks", cache_grows_then_shrinks),
    ("returned_up_two_levels", returned_up_two_levels),
    ("serde_json_document", serde_json_document),
];

/// Workloads whose memory crosses threads: process-wide numbers only (a measurement on
/// one thread sees a block freed on another as never freed).
pub const CROSS_THREAD: &[Workload] = &[
    ("freed_on_another_thread", freed_on_another_thread),
    (
        "parallel_start_then_serde_json",
        parallel_start_then_serde_json,
    ),
];

fn vec_growth() -> Kept {
    let mut v = Vec::new();
    for i in 0..10_000u64 {
        v.push(black_box(i));
    }
    drop(black_box(v));
    Box::new(())
}

fn string_building() -> Kept {
    let mut s = String::new();
    for i in 0..1_000 {
        write!(s, "{i},").unwrap();
    }
    let mut joined = String::new();
    for word in ["alpha", "beta", "gamma"] {
        joined = joined + word + " ";
    }
    Box::new((black_box(s), black_box(joined)))
}

fn hashmap_insert_remove() -> Kept {
    let mut map: HashMap<u64, String> = HashMap::new();
    for i in 0..1_000u64 {
        map.insert(i, i.to_string());
    }
    for i in (0..1_000u64).step_by(2) {
        map.remove(&i);
    }
    Box::new(black_box(map))
}

fn btreemap_insert_remove() -> Kept {
    let mut map = BTreeMap::new();
    for i in 0..2_000u32 {
        map.insert(i.wrapping_mul(2_654_435_761), vec![i; 3]);
    }
    for i in 0..1_000u32 {
        map.remove(&i.wrapping_mul(2_654_435_761));
    }
    Box::new(black_box(map))
}

fn formatting() -> Kept {
    let mut total = 0;
    for i in 0..500 {
        let line = format!(
            "request {i}: {:?} took {:.2} ms",
            [i, i + 1],
            f64::from(i) / 3.0
        );
        total += black_box(line).len();
    }
    Box::new(total)
}

fn shrink_to_fit() -> Kept {
    let mut v: Vec<u32> = Vec::with_capacity(1_000);
    v.extend(0..10);
    v.shrink_to_fit();
    let mut s = String::with_capacity(4096);
    s.push_str("short");
    s.shrink_to_fit();
    Box::new((black_box(v), black_box(s)))
}

fn nested_collections() -> Kept {
    let rows: Vec<Vec<String>> = (0..100)
        .map(|r| (0..r % 7).map(|c| format!("{r}:{c}")).collect())
        .collect();
    let kept: Vec<String> = rows
        .into_iter()
        .flatten()
        .filter(|s| s.ends_with('3'))
        .collect();
    Box::new(black_box(kept))
}

/// Real code nobody here wrote: serde_json parses a 200-record document into a `Value`
/// (its maps, strings and vectors), writes part of it back, and keeps one record.
fn serde_json_document() -> Kept {
    let mut text = String::from("[");
    for i in 0..200 {
        if i > 0 {
            text.push(',');
        }
        let _ = write!(
            text,
            r#"{{"id":{i},"name":"user-{i}","tags":["a{i}","b","c{}"],"score":{}.5,"nested":{{"k":[{i},{},null]}}}}"#,
            i % 7,
            i * 3,
            i * 2
        );
    }
    text.push(']');
    let value: serde_json::Value = serde_json::from_str(black_box(&text)).expect("valid JSON");
    let written = serde_json::to_string(&value[17]).expect("serializable");
    let kept = value[42].clone();
    drop(black_box(value));
    Box::new(black_box((kept, written)))
}

/// Blocks never freed: 100 of 33 bytes.
fn leak() -> Kept {
    for i in 0..100u8 {
        std::mem::forget(black_box(vec![i; 33]));
    }
    Box::new(())
}

/// A cache that grows (entries of growing sizes, the map reallocating), then shrinks
/// (most entries removed, the map shrunk).
fn cache_grows_then_shrinks() -> Kept {
    let mut cache: HashMap<u64, Vec<u8>> = HashMap::new();
    for i in 0..500u64 {
        cache.insert(i, vec![i as u8; (i as usize % 50) + 1]);
    }
    for i in 0..400u64 {
        cache.remove(&i);
    }
    cache.shrink_to_fit();
    Box::new(black_box(cache))
}

fn level_two() -> Vec<String> {
    (0..200).map(|i| format!("value {i}")).collect()
}

fn level_one() -> Vec<String> {
    let mut v = level_two();
    v.push(String::from("one more"));
    v
}

/// A value made two calls down and returned up, held while the caller allocates more,
/// then freed by the caller.
fn returned_up_two_levels() -> Kept {
    let held = black_box(level_one());
    let more = black_box(vec![0u64; 1_000]);
    drop(held);
    drop(more);
    Box::new(())
}

/// Blocks allocated here and freed on another thread, and blocks allocated on another
/// thread and freed here.
fn freed_on_another_thread() -> Kept {
    let here = black_box(vec![7u8; 3_000]);
    let there = std::thread::spawn(move || {
        drop(here);
        black_box(vec![9u8; 5_000])
    })
    .join()
    .unwrap();
    let kept = black_box(vec![1u8; 100]);
    drop(there);
    Box::new(kept)
}

/// Two threads build a document's parts at the same time (a pool starting up), then the
/// main thread alone parses the document with serde_json four times over and keeps the
/// values: the peak comes long after the race, and alloc-trace's view of it is exact.
fn parallel_start_then_serde_json() -> Kept {
    let start = std::sync::Barrier::new(2);
    let part = |i: u32| {
        format!(r#"{{"id":{i},"name":"item {i}","tags":["a{i}","b","c"],"v":[1,2,3,{i}]}}"#)
    };
    let (evens, odds) = std::thread::scope(|s| {
        let odds = s.spawn(|| {
            start.wait();
            (0..500).map(|i| part(2 * i + 1)).collect::<Vec<_>>()
        });
        start.wait();
        let evens: Vec<String> = (0..500).map(|i| part(2 * i)).collect();
        (evens, odds.join().unwrap())
    });
    let parts: Vec<String> = evens.into_iter().chain(odds).collect();
    let doc = format!("[{}]", parts.join(","));
    drop(black_box(parts));
    let values: Vec<serde_json::Value> = (0..4)
        .map(|_| serde_json::from_str(black_box(&doc)).expect("valid JSON"))
        .collect();
    Box::new(black_box(values))
}

/// One workload's numbers in dhat's terms.
#[derive(Debug, PartialEq, Eq)]
pub struct Oracle {
    pub total_blocks: u64,
    pub total_bytes: u64,
    pub curr_blocks: u64,
    pub curr_bytes: u64,
    pub max_bytes: u64,
}

/// The same, with the blocks alive at dhat's peak (its `max_blocks`, "At t-gmax"), which
/// a measurement on one thread has no counterpart for.
#[derive(Debug, PartialEq, Eq)]
pub struct OracleAtPeak {
    pub oracle: Oracle,
    pub max_blocks: u64,
}

impl Oracle {
    // This file is compiled into both the oracle (which writes lines) and the tests
    // (which read them): each uses some of these.
    #[allow(dead_code)]
    pub fn to_line(&self, name: &str, max_blocks: u64) -> String {
        format!(
            "{name} {} {} {} {} {} {max_blocks}",
            self.total_blocks, self.total_bytes, self.curr_blocks, self.curr_bytes, self.max_bytes
        )
    }

    /// A line of the oracle: the name, the five numbers, and `max_blocks`.
    #[allow(dead_code)]
    pub fn from_line(line: &str) -> (String, Oracle) {
        let (name, at_peak) = OracleAtPeak::from_line(line);
        (name, at_peak.oracle)
    }
}

impl OracleAtPeak {
    #[allow(dead_code)]
    pub fn from_line(line: &str) -> (String, OracleAtPeak) {
        let mut words = line.split_whitespace();
        let name = words.next().expect("a workload name").to_owned();
        let mut n = || {
            words
                .next()
                .expect("six numbers")
                .parse::<u64>()
                .expect("a number")
        };
        let oracle = Oracle {
            total_blocks: n(),
            total_bytes: n(),
            curr_blocks: n(),
            curr_bytes: n(),
            max_bytes: n(),
        };
        let max_blocks = n();
        (name, OracleAtPeak { oracle, max_blocks })
    }
}

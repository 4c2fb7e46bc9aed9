//! Building, timing and counting: everything the driver runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The bench binaries in the order their rows appear.
pub const BINARIES: &[&str] = &[
    "contender_system",
    "contender_floor_precount",
    "contender_floor",
    "contender_alloc_trace",
    "contender_alloc_trace_calls",
    "contender_alloc_trace_ownership",
    "contender_tracing",
    "report_sites",
    "sites_1k",
    "sites_100k",
    "path_limit",
    "not_installed",
    "contender_dhat",
    "contender_stats_alloc",
    "contender_allocation_counter",
    "contender_alloc_tracker",
    "contender_divan",
    "contender_hotpath",
];

/// Command-line options; see the crate docs.
pub struct Options {
    pub rounds: usize,
    pub jobs: usize,
    pub time: bool,
    pub callgrind: bool,
    pub only: Option<String>,
    pub workloads: Option<Vec<String>>,
    pub write: bool,
}

/// `--workloads issue14`: issue 14's rows (with those of handed-off work and `tracked!`
/// sites), and the rows its "held" goals read.
pub const ISSUE14: &[&str] = &[
    "churn",
    "call",
    "report-10k",
    "alloc1*",
    "chain*",
    "rec*",
    "paths-*",
    "poll*",
    "capture-*",
    "assert-*",
    "measure-alloc",
    "thread-*",
    "budget-*",
    "handoff-*",
    "site-*",
    "tables-*",
    "rss-*",
];

/// Whether `workload` (or the workload it is the `:base` of) is selected by `patterns`:
/// each is a name, or a prefix ending in `*`.
fn selected(patterns: &[String], workload: &str) -> bool {
    let name = workload.strip_suffix(":base").unwrap_or(workload);
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    })
}

impl Options {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut o = Options {
            rounds: 3,
            jobs: 2,
            time: true,
            callgrind: true,
            only: None,
            workloads: None,
            write: false,
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--rounds" => {
                    o.rounds = value("--rounds")?
                        .parse()
                        .map_err(|e| format!("--rounds: {e}"))?
                }
                "--jobs" => {
                    o.jobs = value("--jobs")?
                        .parse()
                        .map_err(|e| format!("--jobs: {e}"))?
                }
                "--no-time" => o.time = false,
                "--no-callgrind" => o.callgrind = false,
                "--only" => o.only = Some(value("--only")?),
                "--workloads" => {
                    let list = value("--workloads")?;
                    let mut patterns = Vec::new();
                    for w in list.split(',').filter(|w| !w.is_empty()) {
                        if w == "issue14" {
                            patterns.extend(ISSUE14.iter().map(|p| (*p).to_owned()));
                        } else {
                            patterns.push(w.to_owned());
                        }
                    }
                    o.workloads = Some(patterns);
                }
                "--write" => o.write = true,
                other => return Err(format!("unknown option {other:?} (see src/main.rs)")),
            }
        }
        o.rounds = o.rounds.max(1);
        o.jobs = o.jobs.max(1);
        Ok(o)
    }
}

/// One entry of one binary, as its `list` command printed it.
#[derive(Clone, Debug)]
pub struct EntryInfo {
    pub binary: usize,
    pub index: usize,
    pub contender: String,
    pub workload: String,
    pub ops_per_iter: u64,
    pub threads: u64,
    pub count_iters: u64,
    /// Timed in a process of its own.
    pub alone: bool,
}

/// One memory reading of one binary, as its `list` command printed it.
#[derive(Clone, Debug)]
pub struct MemoryInfo {
    pub binary: usize,
    pub index: usize,
    pub contender: String,
    pub workload: String,
}

/// Everything measured.
pub struct Results {
    pub entries: Vec<EntryInfo>,
    /// Per (contender, workload): the memory reading (bytes).
    pub memory: HashMap<(String, String), f64>,
    /// Facts the binaries printed (`INFO key value`), e.g. their number of sites.
    pub info: HashMap<String, String>,
    /// Per (contender, workload): nanoseconds per operation, one value per round.
    pub times: HashMap<(String, String), Vec<f64>>,
    /// Per (contender, workload): instructions per operation.
    pub instructions: HashMap<(String, String), f64>,
    pub rounds: usize,
    pub machine: Vec<(String, String)>,
}

pub fn run(root: &Path, options: &Options) -> Results {
    let chosen: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|name| {
            *name == "contender_system"
                || options
                    .only
                    .as_ref()
                    .is_none_or(|only| only.split(',').any(|o| name.contains(o)))
        })
        .collect();
    let binaries = build(root, &chosen);
    let mut entries = Vec::new();
    let mut memory_list = Vec::new();
    let mut info = HashMap::new();
    for (b, (_, path)) in binaries.iter().enumerate() {
        for line in run_binary(path, &["list"]).lines() {
            // ENTRY index contender workload unit ops_per_iter threads count_iters alone
            // MEMORY index contender workload unit
            // INFO key value
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() == 5 && f[0] == "MEMORY" {
                memory_list.push(MemoryInfo {
                    binary: b,
                    index: f[1].parse().expect("alloc-trace-benchmarks: memory index"),
                    contender: f[2].to_owned(),
                    workload: f[3].to_owned(),
                });
            }
            if f.len() == 3 && f[0] == "INFO" {
                info.insert(f[1].to_owned(), f[2].to_owned());
            }
            if f.len() == 9 && f[0] == "ENTRY" {
                entries.push(EntryInfo {
                    binary: b,
                    index: f[1].parse().expect("alloc-trace-benchmarks: entry index"),
                    contender: f[2].to_owned(),
                    workload: f[3].to_owned(),
                    ops_per_iter: f[5]
                        .parse()
                        .expect("alloc-trace-benchmarks: ops per iteration"),
                    threads: f[6].parse().expect("alloc-trace-benchmarks: threads"),
                    count_iters: f[7]
                        .parse()
                        .expect("alloc-trace-benchmarks: count iterations"),
                    alone: f[8] == "alone",
                });
            }
        }
    }
    if let Some(patterns) = &options.workloads {
        entries.retain(|e| selected(patterns, &e.workload));
        memory_list.retain(|m| selected(patterns, &m.workload));
    }
    let mut times: HashMap<(String, String), Vec<f64>> = HashMap::new();
    if options.time {
        for round in 0..options.rounds {
            // Rotate the order each round, so slow drift of the machine's load does not
            // always favour the same binary.
            for i in 0..binaries.len() {
                let b = (i + round) % binaries.len();
                let (name, path) = &binaries[b];
                // One `time` run for the entries that share a process, one per entry that
                // must be alone.
                let chosen: Vec<&EntryInfo> = entries.iter().filter(|e| e.binary == b).collect();
                let shared: Vec<String> = chosen
                    .iter()
                    .filter(|e| !e.alone)
                    .map(|e| e.index.to_string())
                    .collect();
                let mut runs: Vec<Vec<String>> = Vec::new();
                if !shared.is_empty() {
                    runs.push(shared);
                }
                runs.extend(
                    chosen
                        .iter()
                        .filter(|e| e.alone)
                        .map(|e| vec![e.index.to_string()]),
                );
                if runs.is_empty() {
                    continue;
                }
                eprintln!(
                    "alloc-trace-benchmarks: round {}/{}: timing {name}",
                    round + 1,
                    options.rounds
                );
                for indices in runs {
                    let mut args = vec!["time"];
                    args.extend(indices.iter().map(String::as_str));
                    for line in run_binary(path, &args).lines() {
                        let f: Vec<&str> = line.split('\t').collect();
                        if f.len() == 5 && f[0] == "TIME" {
                            let ns: f64 = f[3].parse().expect("alloc-trace-benchmarks: time");
                            times
                                .entry((f[1].to_owned(), f[2].to_owned()))
                                .or_default()
                                .push(ns);
                        }
                    }
                }
            }
        }
    }
    let instructions = if options.callgrind {
        count_all(&binaries, &entries, options.jobs)
    } else {
        HashMap::new()
    };
    let mut memory = HashMap::new();
    for m in &memory_list {
        let (name, path) = &binaries[m.binary];
        eprintln!(
            "alloc-trace-benchmarks: memory: {} / {} ({name})",
            m.contender, m.workload
        );
        for line in run_binary(path, &["memory", &m.index.to_string()]).lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() == 4 && f[0] == "MEMORY_RESULT" {
                let value: f64 = f[3].parse().expect("alloc-trace-benchmarks: memory value");
                memory.insert((f[1].to_owned(), f[2].to_owned()), value);
            }
        }
    }
    Results {
        entries,
        memory,
        info,
        times,
        instructions,
        rounds: options.rounds,
        machine: machine(root),
    }
}

/// The bench binaries that need a feature of the benchmarks crate, each built in a
/// `cargo bench` of its own: the ownership view's contender (so that no other binary gets
/// its block header) and the 100,000-site binary (so that linting the workspace does not
/// build it).
const WITH_FEATURE: &[(&str, &str)] = &[
    ("contender_alloc_trace_ownership", "ownership"),
    ("sites_100k", "sites-100k"),
];

/// Builds the bench binaries `names` with `cargo bench --no-run` (only those: the
/// 100,000-site binary alone takes minutes) and returns them, in [`BINARIES`] order.
fn build(root: &Path, names: &[&str]) -> Vec<(String, PathBuf)> {
    let feature_of = |name: &str| {
        WITH_FEATURE
            .iter()
            .find(|(bench, _)| *bench == name)
            .map(|&(_, feature)| feature)
    };
    let mut builds: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for &name in names {
        let feature = feature_of(name);
        match builds.iter_mut().find(|(f, _)| *f == feature) {
            Some((_, group)) => group.push(name),
            None => builds.push((feature, vec![name])),
        }
    }
    let mut found = Vec::new();
    for (feature, group) in builds {
        found.extend(cargo_bench_no_run(root, &group, feature));
    }
    found.sort_by_key(|(name, _)| {
        BINARIES
            .iter()
            .position(|b| b == name)
            .unwrap_or(usize::MAX)
    });
    for name in names {
        assert!(
            found.iter().any(|(n, _)| n == name),
            "alloc-trace-benchmarks: cargo built no bench {name}"
        );
    }
    found
}

/// One `cargo bench --no-run` of `names`, with the benchmarks' `features`: the
/// executables it built.
fn cargo_bench_no_run(
    root: &Path,
    names: &[&str],
    features: Option<&str>,
) -> Vec<(String, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!(
        "alloc-trace-benchmarks: building the bench binaries (cargo bench --no-run{})",
        features.map_or(String::new(), |f| format!(" --features {f}"))
    );
    let out = Command::new(cargo)
        .args([
            "bench",
            "-p",
            "alloc-trace-benchmarks",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(features.iter().flat_map(|f| ["--features", f]))
        .args(names.iter().flat_map(|name| ["--bench", name]))
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .expect("alloc-trace-benchmarks: cannot run cargo");
    assert!(
        out.status.success(),
        "alloc-trace-benchmarks: building the benches failed"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut found: Vec<(String, PathBuf)> = stdout
        .lines()
        .filter(|l| {
            l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"kind\":[\"bench\"]")
        })
        .filter_map(|l| {
            let name = json_string_after(l, "\"name\":\"")?;
            let exe = json_string_after(l, "\"executable\":\"")?;
            Some((name, PathBuf::from(exe)))
        })
        .collect();
    found.retain(|(name, _)| names.contains(&name.as_str()));
    found
}

/// The JSON string value following `key` (paths and target names hold no escapes).
fn json_string_after(line: &str, key: &str) -> Option<String> {
    let start = line.find(key)? + key.len();
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_owned())
}

fn run_binary(path: &Path, args: &[&str]) -> String {
    let out = Command::new(path)
        .args(args)
        .env("HOTPATH_METRICS_SERVER_OFF", "1")
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("alloc-trace-benchmarks: cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "alloc-trace-benchmarks: {} {args:?} failed",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs every entry once under callgrind, `jobs` at a time, and returns instructions per
/// operation.
fn count_all(
    binaries: &[(String, PathBuf)],
    entries: &[EntryInfo],
    jobs: usize,
) -> HashMap<(String, String), f64> {
    let out_dir = binaries[0]
        .1
        .ancestors()
        .nth(3)
        .expect("alloc-trace-benchmarks: binaries live in <target>/<profile>/deps")
        .join("alloc-trace-benchmarks");
    std::fs::create_dir_all(&out_dir)
        .expect("alloc-trace-benchmarks: cannot create the callgrind output folder");
    let queue = Mutex::new(entries.iter().collect::<Vec<_>>());
    let results = Mutex::new(HashMap::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let Some(e) = queue.lock().expect("alloc-trace-benchmarks: queue").pop() else { break };
                let (name, path) = &binaries[e.binary];
                let out_file = out_dir.join(format!("{name}-{}.callgrind", e.index));
                eprintln!("alloc-trace-benchmarks: callgrind: {} / {}", e.contender, e.workload);
                let status = Command::new("valgrind")
                    .arg("--tool=callgrind")
                    .arg("--toggle-collect=*alloc_trace_bench_region*")
                    .arg(format!("--callgrind-out-file={}", out_file.display()))
                    .arg("-q")
                    .arg(path)
                    .args(["count", &e.index.to_string()])
                    .env("HOTPATH_METRICS_SERVER_OFF", "1")
                    .stdout(Stdio::null())
                    .status()
                    .expect("alloc-trace-benchmarks: cannot run valgrind (install it, or pass --no-callgrind)");
                assert!(status.success(), "alloc-trace-benchmarks: valgrind failed on {name} count {}", e.index);
                let text = std::fs::read_to_string(&out_file).expect("alloc-trace-benchmarks: callgrind output");
                let total = collected_instructions(&text)
                    .unwrap_or_else(|| panic!("alloc-trace-benchmarks: no totals in {}", out_file.display()));
                let ops = e.count_iters * e.ops_per_iter * e.threads;
                results
                    .lock()
                    .expect("alloc-trace-benchmarks: results")
                    .insert((e.contender.clone(), e.workload.clone()), total as f64 / ops as f64);
            });
        }
    });
    results
        .into_inner()
        .expect("alloc-trace-benchmarks: results")
}

/// The `totals:` (or else `summary:`) line of a callgrind output file: every instruction
/// collected, i.e. executed inside the toggled region.
fn collected_instructions(text: &str) -> Option<u64> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    field("totals:").or_else(|| field("summary:"))
}

/// What the results were measured on, and which alloc-trace.
fn machine(root: &Path) -> Vec<(String, String)> {
    let shell = |cmd: &str| {
        Command::new("sh")
            .args(["-c", cmd])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    vec![
        (
            "CPU".to_owned(),
            shell("lscpu | sed -n 's/^Model name: *//p' | head -1"),
        ),
        ("cores (nproc)".to_owned(), shell("nproc")),
        ("OS".to_owned(), shell("uname -sr")),
        ("libc".to_owned(), shell("ldd --version 2>&1 | head -1")),
        ("rustc".to_owned(), shell("rustc -V")),
        ("valgrind".to_owned(), shell("valgrind --version")),
        ("date (UTC)".to_owned(), shell("date -u '+%Y-%m-%d %H:%M'")),
        (
            "alloc-trace at".to_owned(),
            shell(&format!(
                "cd '{}' && git rev-parse --short HEAD && \
                 (git diff --quiet HEAD -- alloc-trace alloc-trace-macros || echo '(with uncommitted changes)')",
                root.display()
            ))
            .replace('\n', " "),
        ),
    ]
}

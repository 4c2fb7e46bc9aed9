//! Shared by the `export_*` tests: temporary files and the independent decoders that
//! `scripts/install-export-decoders.sh` installs (each check skips, saying why, when its
//! tool is absent).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file in the temporary directory, removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!("alloc-trace-{}-{name}", std::process::id())))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Says on stderr that a check was skipped, and why (cargo test shows it with
/// `--nocapture`, and in the output of a failing run).
pub fn skipped(check: &str, why: &str) {
    eprintln!("SKIPPED {check}: {why} (install with scripts/install-export-decoders.sh)");
}

/// Decodes a gzipped pprof profile with Google's Python protobuf runtime
/// (`scripts/pprof_decode.py`): `Ok(json)`, or `Err(reason)` when no Python with the
/// packages is found. Panics if the decoder finds the profile invalid.
pub fn python_decode(profile: &Path) -> Result<serde_json::Value, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("ALLOC_TRACE_PYTHON") {
        candidates.push(p.into());
    }
    candidates.push(workspace().join("target/export-decoders/venv/bin/python"));
    candidates.push("python3".into());
    let script = workspace().join("scripts/pprof_decode.py");
    let mut reasons = Vec::new();
    for python in candidates {
        let out = match Command::new(&python).arg(&script).arg(profile).output() {
            Ok(out) => out,
            Err(e) => {
                reasons.push(format!("{}: {e}", python.display()));
                continue;
            }
        };
        match out.status.code() {
            Some(0) => {
                return Ok(serde_json::from_slice(&out.stdout).expect("the decoder prints JSON"));
            }
            // 3: the packages are missing; 126, 127: no usable interpreter.
            Some(3 | 126 | 127) => reasons.push(format!(
                "{}: {}",
                python.display(),
                String::from_utf8_lossy(if out.stdout.is_empty() {
                    &out.stderr
                } else {
                    &out.stdout
                })
                .trim()
            )),
            _ => panic!(
                "the Python decoder rejects {}:\n{}{}",
                profile.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    Err(reasons.join("; "))
}

/// Runs `go tool pprof ARGS`: `Ok(stdout)`, or `Err(reason)` when Go is not installed.
/// Panics if pprof fails.
pub fn go_pprof(args: &[&str]) -> Result<String, String> {
    let out = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        // No symbolization service, no browser, no writes to $HOME.
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .env("PPROF_NO_BROWSER", "1")
        .output()
        .map_err(|e| format!("go: {e}"))?;
    assert!(
        out.status.success(),
        "go tool pprof {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

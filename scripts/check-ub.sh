#!/usr/bin/env bash
# Undefined-behaviour checks, run by hand (CI stays on stable and does not run them):
#
#   1. Miri on the runtime crate's unit tests (needs the nightly toolchain's `miri`
#      component: `rustup component add --toolchain nightly miri rust-src`).
#   2. valgrind memcheck on every example and on the stress, teardown, edge and
#      reentrancy tests, release builds: any invalid read or write, use of uninitialised
#      memory, invalid free or mismatched free fails the run.
#
# Usage: scripts/check-ub.sh [miri|valgrind]   (both when no argument is given)
#
# Environment: CARGO_TARGET_DIR as usual; MIRIFLAGS is passed on (default below);
# STRESS_BATCHES sizes the stress tests under valgrind (default 20 batches of 1,000
# operations per long-lived thread: valgrind runs threads one at a time, ~50x slower);
# UNDER_VALGRIND=1 tells the other tests that loop to do less; CHECK_UB_FEATURES (for
# example `ownership`) builds the crate, its unit tests and the examples with those
# features.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
what="${1:-all}"
features=()
if [ -n "${CHECK_UB_FEATURES:-}" ]; then
    features=(--features "$CHECK_UB_FEATURES")
fi

run_miri() {
    echo "== Miri: cargo +nightly miri test -p alloc-trace --lib ${features[*]}"
    if ! cargo +nightly miri --version >/dev/null 2>&1; then
        echo "Miri is not installed: rustup component add --toolchain nightly miri rust-src" >&2
        exit 1
    fi
    # Isolation off: the exit report's unit tests write a file in the temporary directory.
    # Leaks ignored: the call-path table is never freed, and when it grows the old one is
    # kept (a reader may still be probing it: see `paths::Table::new`); Miri reports each
    # generation that no static points to any more as leaked at exit (12 allocations in
    # the unit tests: 4 tables of 3), and nothing else.
    local flags="-Zmiri-disable-isolation -Zmiri-ignore-leaks"
    if [[ "${CHECK_UB_FEATURES:-}" == *ownership* ]]; then
        # The ownership view gives the user `base + 16` of a larger block and frees the
        # block through `base`. Miri's aliasing models (Stacked and Tree Borrows) reject
        # that for every allocator that keeps metadata next to the user's bytes, when the
        # pointer freed was a `Box` argument (weakly protected): "deallocating while item
        # [Unique] is weakly protected" (rust-lang/miri#2104; std's own Windows `System`
        # allocator does the same for over-aligned blocks). A footer does not help: the
        # `Box`'s tag does not cover it either. Everything else Miri checks (bounds,
        # use after free, alignment, uninitialised reads, data races, provenance) still runs.
        echo "note: with \`ownership\`, Miri runs without its aliasing model (see the comment here)"
        flags="$flags -Zmiri-disable-stacked-borrows"
    fi
    MIRIFLAGS="${MIRIFLAGS:-$flags}" \
        cargo +nightly miri test -p alloc-trace --lib "${features[@]}"
}

# Prints the paths of the test executables cargo builds for `--test NAME ...`.
test_executables() {
    cargo test --release --no-run --message-format=json "${features[@]}" "$@" 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["profile"]["test"]:
        print(msg["executable"])
'
}

memcheck() {
    echo "-- valgrind memcheck: $*" >&2
    # --fair-sched: threads that spin (reporters in a loop) must not starve the others.
    valgrind --tool=memcheck --error-exitcode=1 --quiet --track-origins=yes --fair-sched=yes "$@"
}

run_valgrind() {
    if ! command -v valgrind >/dev/null; then
        echo "valgrind is not installed (apt-get install valgrind)" >&2
        exit 1
    fi
    echo "== valgrind: examples (release)"
    cargo build --release --examples "${features[@]}"
    local target="${CARGO_TARGET_DIR:-target}"
    scratch="$(mktemp -d)"
    trap 'rm -rf "${scratch:-}"' EXIT
    for source in examples/*.rs; do
        local name
        name="$(basename "$source" .rs)"
        case "$name" in
            # Writes its SVG where it is told.
            flamegraph) memcheck "$target/release/examples/$name" "$scratch/flamegraph.svg" >/dev/null ;;
            *) memcheck "$target/release/examples/$name" >/dev/null ;;
        esac
    done

    echo "== valgrind: stress, teardown, edge and reentrancy tests (release)"
    local tests=()
    for source in tests/stress_*.rs tests/teardown_*.rs tests/edge_*.rs tests/reentrancy.rs; do
        tests+=(--test "$(basename "$source" .rs)")
    done
    local executables
    executables="$(test_executables "${tests[@]}")"
    if [ -z "$executables" ]; then
        echo "no test executables were built" >&2
        exit 1
    fi
    export STRESS_BATCHES="${STRESS_BATCHES:-20}"
    # Tests that loop for a while do less under valgrind.
    export UNDER_VALGRIND=1
    # Child processes (teardown_exit re-runs itself) are checked too.
    for exe in $executables; do
        memcheck --trace-children=yes "$exe" --test-threads=2 -q
    done
}

case "$what" in
    miri) run_miri ;;
    valgrind) run_valgrind ;;
    all) run_miri; run_valgrind ;;
    *) echo "usage: $0 [miri|valgrind]" >&2; exit 2 ;;
esac
echo "== check-ub: all clean"

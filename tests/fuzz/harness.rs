//! What every fuzz test shares: how many cases to run, the bounds each input
//! must keep (memory and time), and the runner that says how many inputs
//! each test read and how long that took.

use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

use crate::alloc::peak_during;

/// A temporary directory, in memory where the system has one: the parsers
/// write files atomically (fsync), and a disk would make that the cost of
/// each case.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

/// Cases per test in a plain `cargo test`: a smoke run of a few seconds.
const DEFAULT_CASES: u32 = 48;

/// Cases per fuzz test: `$LIAISON_FUZZ_CASES`, else a small default.
pub fn cases() -> u32 {
    match std::env::var("LIAISON_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("LIAISON_FUZZ_CASES={v:?} is not a number of cases")),
        Err(_) => DEFAULT_CASES,
    }
}

/// The proptest configuration of every fuzz test: `cases()` cases, shrinking
/// bounded so a failure is reported in seconds, no regression files written
/// into the source tree (found cases are kept as plain regression tests).
pub fn config() -> Config {
    Config {
        cases: cases(),
        max_shrink_iters: 2_000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// Most bytes one input may make a parser hold at once: a fixed allowance
/// (zone data, one term's expansion, runtime buffers) and a multiple of its
/// size. A rule that expands without limit goes far past it.
pub fn memory_bound(input_len: usize) -> usize {
    64 * 1024 * 1024 + 64 * input_len
}

/// Longest one input may take to be read: generous for a shared machine,
/// yet far below what an unbounded expansion takes. A debug build is about
/// ten times slower.
pub const TIME_BOUND: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(40)
} else {
    Duration::from_secs(4)
};

thread_local! {
    /// The most memory and time one input of the running test took.
    static WORST: Cell<(usize, Duration)> = const { Cell::new((0, Duration::ZERO)) };
}

/// Runs `f` on one input of `input_len` bytes and checks the bounds;
/// `what` names the parser in the failure message.
pub fn bounded<R>(what: &str, input_len: usize, f: impl FnOnce() -> R) -> R {
    let started = Instant::now();
    let (out, peak) = peak_during(f);
    let took = started.elapsed();
    WORST.with(|w| {
        let (bytes, time) = w.get();
        w.set((bytes.max(peak), time.max(took)));
    });
    assert!(
        peak <= memory_bound(input_len),
        "{what}: an input of {input_len} bytes made it hold {peak} bytes at once"
    );
    assert!(
        took <= TIME_BOUND,
        "{what}: an input of {input_len} bytes took {took:?}"
    );
    out
}

/// Runs `check` on `cases()` inputs of `strategy` and prints how many inputs
/// it read, how many of them the parser accepted, and how long that took
/// (shown with `--nocapture`; the README's fuzzing command uses it). `check`
/// says whether the input was accepted. A failing case panics with the
/// input, shrunk.
pub fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<bool, TestCaseError>) {
    WORST.with(|w| w.set((0, Duration::ZERO)));
    let inputs = Cell::new(0u64);
    let accepted = Cell::new(0u64);
    let started = Instant::now();
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |value| {
        inputs.set(inputs.get() + 1);
        if check(value)? {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
    let (bytes, time) = WORST.with(Cell::get);
    eprintln!(
        "fuzz {name}: {} inputs ({} accepted) in {:.1} s; at most {:.1} MiB held and {:.0} ms for one input",
        inputs.get(),
        accepted.get(),
        started.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0),
        time.as_secs_f64() * 1000.0
    );
}

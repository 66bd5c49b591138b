//! End-to-end scaling benchmark: an organization generated as files (a config
//! with one `[[people]]` per person and one `.ics` per person, as `liaison
//! demo --busy` writes them: eight zones, six recurring and about fourteen
//! one-off meetings a week per person) in a temporary directory, then what
//! `liaison check` does (read and validate the config, print its summary) and
//! what `liaison plan --json` does (the config, the local provider's busy
//! read, the plan, the JSON text), and what `liaison run --once` does on a
//! fresh state (the cycle that books every pair into `bookings.ics`, with the
//! write-ahead intents, `status.json` and the report).
//!
//! Sizes: 1,000 people in 10 units and 10,000 in 250 units by default;
//! 100,000 people in 2,500 units only with `LIAISON_BENCH_100K=1` (writing its
//! 2.7 GB of calendars takes a minute):
//!
//! ```sh
//! cargo bench --bench scale
//! LIAISON_BENCH_100K=1 cargo bench --bench scale -- 100000
//! ```
//!
//! Prints, once per size, the plan's pairs against the bound that proves the
//! matching's size maximum.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use jiff::civil::date;

use liaison::demo::{self, Shape};
use liaison::{app, config, provider, render, runner};

/// The binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NOW: &str = "2027-03-01T00:00:00Z";

/// Writes the organization of `shape` into `dir`, as `liaison demo --busy
/// --files-only` does.
fn write_org(shape: &Shape, dir: &Path) {
    let org = demo::generate(shape, 1, date(2027, 3, 8));
    std::fs::write(dir.join("config.toml"), &org.config_toml).unwrap();
    for (name, text) in &org.calendars {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// `liaison check` on a local-provider configuration: the text it prints.
fn check(path: &Path, now: Timestamp) -> String {
    let cfg = config::load(path).unwrap();
    config::summary(&cfg, app::today(&cfg, now))
}

/// `liaison plan --json`: the text it prints.
fn plan_json(runtime: &tokio::runtime::Runtime, path: &Path, now: Timestamp) -> String {
    let cfg = config::load(path).unwrap();
    let (plan, state) = runtime.block_on(app::dry_plan(&cfg, None, now)).unwrap();
    serde_json::to_string_pretty(&render::plan_json(&cfg, &plan, &state.kept)).unwrap()
}

/// `liaison run --once` with a fresh state in `state` and no `bookings.ics`:
/// the number of series booked.
fn run_once(runtime: &tokio::runtime::Runtime, path: &Path, state: &Path, now: Timestamp) -> usize {
    let mut cfg = config::load(path).unwrap();
    cfg.state_dir = state.to_path_buf();
    runtime.block_on(async {
        let provider = provider::provider(&cfg).await.unwrap();
        let store = app::open_store(&cfg).unwrap();
        runner::run_once(&cfg, &provider, &store, now)
            .await
            .unwrap()
            .counts
            .booked
    })
}

/// A fresh state directory and no `bookings.ics` in the organization `dir`.
fn fresh_state(dir: &Path) -> tempfile::TempDir {
    match std::fs::remove_file(dir.join("bookings.ics")) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("removing bookings.ics: {e}"),
    }
    let state = tempfile::tempdir().unwrap();
    std::fs::set_permissions(state.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    state
}

fn bench(c: &mut Criterion) {
    let now: Timestamp = NOW.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sizes = vec![(1_000usize, 10usize), (10_000, 250)];
    if std::env::var_os("LIAISON_BENCH_100K").is_some_and(|v| v == "1") {
        sizes.push((100_000, 2_500));
    }
    for (people, units) in sizes {
        let dir = tempfile::tempdir().unwrap();
        write_org(&Shape::busy(people, units), dir.path());
        let path = dir.path().join("config.toml");

        let cfg = config::load(&path).unwrap();
        let (plan, _) = runtime.block_on(app::dry_plan(&cfg, None, now)).unwrap();
        eprintln!(
            "scale n={people} units={units}: pairs={} bound={} unpaired={} edges={} eligible={}",
            plan.pairs.len(),
            plan.stats.max_pairs_bound,
            plan.unpaired.len(),
            plan.stats.edges,
            plan.stats.eligible
        );

        let mut group = c.benchmark_group("scale");
        group.sample_size(10);
        if people >= 100_000 {
            group.measurement_time(Duration::from_secs(120));
        } else if people >= 10_000 {
            group.measurement_time(Duration::from_secs(20));
        }
        group.bench_function(format!("check/{people}"), |b| b.iter(|| black_box(check(&path, now))));
        group.bench_function(format!("plan_json/{people}"), |b| {
            b.iter(|| black_box(plan_json(&runtime, &path, now)))
        });
        let booked = run_once(&runtime, &path, fresh_state(dir.path()).path(), now);
        assert_eq!(booked, plan.pairs.len(), "run --once books the plan");
        group.bench_function(format!("run_once/{people}"), |b| {
            b.iter_batched(
                || fresh_state(dir.path()),
                |state| black_box(run_once(&runtime, &path, state.path(), now)),
                criterion::BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

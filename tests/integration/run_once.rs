//! `liaison run --once` on the local provider: books the due term, keeps what is
//! booked, never duplicates, and logs one line per booking plus a summary.

use liaison::calendar::CalendarProvider;
use liaison::calendar::local::LocalProvider;

use crate::util::liaison;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A demo organization with its bookings and state removed: nothing booked yet.
fn fresh_org(tmp: &std::path::Path, people: &str) -> std::path::PathBuf {
    let dir = tmp.join("org");
    let run = liaison(tmp, &["demo", "--dir", dir.to_str().unwrap(), "--people", people]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    dir
}

#[test]
fn run_once_books_the_due_term_and_a_second_run_keeps_it_without_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "16");
    let config = dir.join("config.toml");
    let first = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("cycle done term=2027-03-08 booked=8 kept=0"),
        "{}",
        first.stderr
    );
    assert_eq!(first.stderr.matches(" booked term=").count(), 8, "{}", first.stderr);
    let provider = LocalProvider::new(&dir, "primary");
    let booked = block_on(provider.list_series()).unwrap();
    assert_eq!(booked.len(), 8);

    let second = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("booked=0 kept=8"), "{}", second.stderr);
    assert_eq!(block_on(provider.list_series()).unwrap(), booked);
}

#[test]
fn run_once_with_lost_state_finds_the_bookings_instead_of_duplicating_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "12");
    let config = dir.join("config.toml");
    assert_eq!(
        liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]).code,
        0
    );
    let provider = LocalProvider::new(&dir, "primary");
    let booked = block_on(provider.list_series()).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let again = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stderr.matches("series recorded from the calendar").count(),
        booked.len(),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains(&format!("booked=0 kept={}", booked.len())),
        "{}",
        again.stderr
    );
    assert_eq!(block_on(provider.list_series()).unwrap(), booked);
}

#[test]
fn plan_with_lost_state_shows_the_calendar_bookings_as_kept_like_run_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "10");
    let config = dir.join("config.toml");
    assert_eq!(
        liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]).code,
        0
    );
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let plan = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "plan", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let value: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(value["pairs"].as_array().unwrap().len(), 0, "{}", plan.stdout);
    assert_eq!(value["kept"].as_array().unwrap().len(), 5, "{}", plan.stdout);
}

#[test]
fn pending_intents_are_resolved_by_looking_them_up() {
    use liaison::store::{SeriesState, Store};
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "8");
    let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
    let provider = liaison::provider::local_provider(&cfg, &dir);
    let now: jiff::Timestamp = crate::util::NOW.parse().unwrap();
    // Plan the term, then record two intents as a crashed run would have left
    // them: one whose insert reached the calendar, one whose insert never did.
    let term = liaison::app::term_for(&cfg, cfg.schedule.first_term).unwrap();
    let busy = block_on(liaison::app::read_busy(&cfg, &provider, &term)).unwrap();
    let plan = liaison::app::make_plan(&cfg, &busy, &liaison::app::TermState::default(), term, now);
    assert!(plan.pairs.len() >= 2);
    let store = Store::open(&cfg.state_dir).unwrap();
    let mut records = Vec::new();
    for pair in &plan.pairs[..2] {
        let record = liaison::store::SeriesRecord::new(
            liaison::booking::series_request(&cfg, &term, pair, 0),
            term.index,
            (cfg.people[pair.a].unit.clone(), cfg.people[pair.b].unit.clone()),
            SeriesState::Pending,
        );
        store.put(&record).unwrap();
        records.push(record);
    }
    block_on(provider.create_series(&records[0].request)).unwrap();

    block_on(liaison::runner::run_once(&cfg, &provider, &store, now)).unwrap();
    assert_eq!(
        store.get(&records[0].request.event_id).unwrap().unwrap().state,
        SeriesState::Booked
    );
    // The intent that never reached the calendar was abandoned (the local
    // calendar applies writes at once, so nothing can land late) and its
    // people planned again with fresh calendars, under a new id if together.
    let second = store.get(&records[1].request.event_id).unwrap().unwrap().state;
    assert_eq!(second, SeriesState::Abandoned);
    // Everyone is booked exactly once, and the calendar holds one series per pair.
    let series = block_on(provider.list_series()).unwrap();
    let mut people: Vec<String> = series
        .iter()
        .flat_map(|s| [s.request.pair.0.clone(), s.request.pair.1.clone()])
        .collect();
    let total = people.len();
    people.sort();
    people.dedup();
    assert_eq!(people.len(), total, "someone has two series");
    assert_eq!(series.len(), 4);
}

/// `run --once` on 12 people killed with SIGKILL at a pause point of
/// booking, then run again: the bookings file and the store agree, nothing
/// is left pending, and everyone has exactly one series. Returns the second
/// run's log. The local calendar books a cycle's series in one write, so at
/// `after_intent` every intent is flushed and none is written, and at
/// `after_insert` all are written and none is marked.
fn killed_at(point: &str) -> String {
    use liaison::store::{SeriesState, Store};
    use std::collections::BTreeSet;
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "12");
    let config = dir.join("config.toml");
    let mut child = crate::util::command(tmp.path())
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .env("LIAISON_PAUSE_AT", point)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = crate::daemon::Log::of(&mut child);
    assert!(
        log.wait_for(&format!("paused at {point}"), std::time::Duration::from_secs(60)),
        "{}",
        log.text()
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let store = Store::open(&dir.join("state")).unwrap();
    let pending = store
        .series()
        .unwrap()
        .iter()
        .filter(|r| r.state == SeriesState::Pending)
        .count();
    assert_eq!(pending, 6, "all six intents are flushed before the one write");
    drop(store);

    let again = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let provider = LocalProvider::new(&dir, "primary");
    let active: Vec<_> = block_on(provider.list_series())
        .unwrap()
        .into_iter()
        .filter(|s| s.active)
        .collect();
    let mut people: Vec<&str> = active
        .iter()
        .flat_map(|s| [s.request.pair.0.as_str(), s.request.pair.1.as_str()])
        .collect();
    people.sort_unstable();
    people.dedup();
    assert_eq!(
        (active.len(), people.len()),
        (6, 12),
        "everyone booked once: {}",
        again.stderr
    );
    let store = Store::open(&dir.join("state")).unwrap();
    let records = store.series().unwrap();
    assert!(
        records.iter().all(|r| r.state != SeriesState::Pending),
        "intents left pending"
    );
    let booked: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.state == SeriesState::Booked)
        .map(|r| r.request.event_id.as_str())
        .collect();
    let on_calendar: BTreeSet<&str> = active.iter().map(|s| s.request.event_id.as_str()).collect();
    assert_eq!(booked, on_calendar, "store and calendar disagree");
    again.stderr
}

#[test]
fn a_kill_after_the_intents_and_before_the_bookings_file_is_written_never_double_books() {
    let log = killed_at("after_intent");
    // Nothing reached the file: the intents are given up and their people
    // booked again.
    assert!(log.contains("booked=6 kept=0"), "{log}");
}

#[test]
fn a_kill_after_the_bookings_file_is_written_and_before_the_store_marks_it_never_double_books() {
    let log = killed_at("after_insert");
    // Everything reached the file: the intents are found there and kept.
    assert!(log.contains("booked=0 kept=6"), "{log}");
}

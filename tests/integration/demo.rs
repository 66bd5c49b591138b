//! `liaison demo` end to end: the generated organization is planned and booked,
//! and every booked occurrence is checked against the people's own calendars.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::ToSpan;
use liaison::calendar::local::LocalProvider;
use liaison::calendar::{BookedSeries, CalendarProvider, CreateOutcome};
use liaison::config::Config;
use liaison::core::interval::Interval;

use crate::util::{liaison, snapshot};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn run_demo(tmp: &Path, people: &str, seed: &str) -> (std::path::PathBuf, String) {
    let dir = tmp.join("org");
    let run = liaison(
        tmp,
        &[
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--people",
            people,
            "--seed",
            seed,
        ],
    );
    assert_eq!(run.code, 0, "demo failed: {}", run.stderr);
    (dir, run.stdout)
}

/// Checks every occurrence of every booked series against both people's own
/// calendars (without liaison's bookings), working windows and the buffer.
/// Returns how many series crossed a DST change in their own zone.
fn check_bookings(cfg: &Config, dir: &Path, series: &[BookedSeries]) -> usize {
    // Read the people's calendars from a copy without bookings.ics, so liaison's
    // own series do not count as busy time here.
    let raw = tempfile::tempdir().unwrap();
    for p in &cfg.people {
        let name = format!("{}.ics", p.email);
        std::fs::copy(dir.join(&name), raw.path().join(&name)).unwrap();
    }
    let zones = cfg.people.iter().map(|p| (p.email.clone(), p.timezone.clone()));
    let provider = LocalProvider::new(raw.path(), "primary").with_time_zones(cfg.timezone.clone(), zones);
    let emails: Vec<String> = cfg.people.iter().map(|p| p.email.clone()).collect();
    let range = Interval::new(
        "2027-02-01T00:00:00Z".parse().unwrap(),
        "2027-05-01T00:00:00Z".parse().unwrap(),
    );
    let busy = block_on(provider.busy(&emails, range)).expect("calendars readable");
    let people: BTreeMap<&str, &liaison::config::Person> = cfg.people.iter().map(|p| (p.email.as_str(), p)).collect();
    let mut per_week = BTreeSet::new();
    let mut crossed_dst = 0;
    for s in series {
        let r = &s.request;
        let (a, b) = (people[r.pair.0.as_str()], people[r.pair.1.as_str()]);
        assert_ne!(a.unit, b.unit, "same-unit pair {:?}", r.pair);
        let zone = jiff::tz::TimeZone::get(&r.zone).unwrap();
        let mut offsets = BTreeSet::new();
        for w in 0..r.count {
            let local = r.start.checked_add((7 * i64::from(w)).days()).unwrap();
            let start = zone.to_timestamp(local).unwrap();
            offsets.insert(zone.to_offset(start));
            let occ = Interval::new(start, start.checked_add(r.duration).unwrap());
            for p in [a, b] {
                let s = occ.start.to_zoned_datetime(p.timezone.clone());
                let e = occ.end.to_zoned_datetime(p.timezone.clone());
                assert!(
                    s.date() == e.date()
                        && p.days.contains(&s.date().weekday())
                        && p.hours.start <= s.time()
                        && e.time() <= p.hours.end,
                    "{} at {} is outside {}'s window",
                    r.event_id,
                    s,
                    p.email
                );
                let widened = occ.widened(cfg.meeting.buffer);
                let busy = busy[&p.email].as_ref().expect("calendar read");
                assert!(
                    !busy.overlaps(&widened),
                    "{} at {} overlaps {}'s busy time",
                    r.event_id,
                    s,
                    p.email
                );
                // One connection per person per week (weeks counted from the term start).
                let week = r.term.until(s.date()).unwrap().get_days().div_euclid(7);
                assert!(
                    per_week.insert((p.email.clone(), week)),
                    "{} has two connections in week {week}",
                    p.email
                );
            }
        }
        if offsets.len() > 1 {
            crossed_dst += 1;
        }
    }
    crossed_dst
}

#[test]
fn the_demo_books_a_term_in_which_every_occurrence_is_free_for_both_across_dst() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, stdout) = run_demo(tmp.path(), "24", "3");
    assert!(stdout.contains("Booked"), "{stdout}");
    let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
    let series = block_on(LocalProvider::new(&dir, "primary").list_series()).unwrap();
    assert!(series.len() >= 8, "only {} series booked for 24 people", series.len());
    let crossed = check_bookings(&cfg, &dir, &series);
    assert!(
        crossed > 0,
        "no series crossed a DST change; the test would not exercise it"
    );
}

#[test]
fn demos_of_other_sizes_and_seeds_keep_the_invariants() {
    for (people, seed) in [("7", "11"), ("40", "5")] {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, _) = run_demo(tmp.path(), people, seed);
        let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
        let series = block_on(LocalProvider::new(&dir, "primary").list_series()).unwrap();
        assert!(!series.is_empty());
        check_bookings(&cfg, &dir, &series);
    }
}

#[test]
fn booking_a_series_again_never_duplicates_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = run_demo(tmp.path(), "12", "1");
    let provider = LocalProvider::new(&dir, "primary");
    let before = block_on(provider.list_series()).unwrap();
    for s in &before {
        assert_eq!(
            block_on(provider.create_series(&s.request)).unwrap(),
            CreateOutcome::AlreadyExists
        );
    }
    assert_eq!(block_on(provider.list_series()).unwrap(), before);
}

#[test]
fn plan_after_the_demo_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = run_demo(tmp.path(), "12", "2");
    let before = snapshot(&dir);
    let config = dir.join("config.toml");
    let run = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("Term 2027-03-08"), "{}", run.stdout);
    let json = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "plan", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan --json prints JSON");
    assert_eq!(value["term"]["start"], "2027-03-08");
    assert_eq!(snapshot(&dir), before, "plan changed files");
}

#[test]
fn plan_on_a_fresh_config_proposes_pairs_without_creating_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = run_demo(tmp.path(), "10", "4");
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let config = dir.join("config.toml");
    let run = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "plan", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let pairs = value["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 3, "{}", run.stdout);
    for p in pairs {
        assert_ne!(p["a"]["unit"], p["b"]["unit"]);
    }
    assert!(!dir.join("state").exists(), "plan created the state directory");
    assert!(!dir.join("bookings.ics").exists(), "plan wrote bookings");
}

#[test]
fn the_demo_refuses_a_directory_that_is_not_empty() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let run = liaison(tmp.path(), &["demo", "--dir", tmp.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not empty"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(tmp.path().join("keep.txt")).unwrap(), "mine");
}

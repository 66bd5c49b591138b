//! `liaison demo` end to end: the generated organization is planned and booked,
//! and every booked occurrence is checked against the people's own calendars,
//! read by the test's own small reader of the files the demo wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
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

/// A busy span: `[start, end)`.
type Span = (Timestamp, Timestamp);

/// Busy time of `owner` from the `.ics` text the demo wrote, read with a few
/// lines of test code instead of liaison's reader. It knows only what the
/// generator writes — VEVENTs with `DTSTART`/`DTEND` as `;TZID=<zone>:` wall
/// clocks or `;VALUE=DATE:` days (read in `owner_zone`),
/// `RRULE:FREQ=WEEKLY[;INTERVAL=k];COUNT=n`, `TRANSP:TRANSPARENT`, and the
/// owner's `PARTSTAT=DECLINED` — and fails the test on anything else, so it
/// cannot quietly miss busy time.
fn demo_busy(text: &str, owner: &str, owner_zone: &TimeZone) -> Vec<Span> {
    const KNOWN: [&str; 9] = [
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "RRULE",
        "TRANSP",
        "ORGANIZER",
        "ATTENDEE",
    ];
    let mut spans = Vec::new();
    let mut event: Option<Vec<(String, String, String)>> = None;
    for line in text.lines() {
        assert!(!line.starts_with(' '), "a folded line: {line:?}");
        match (line, event.as_mut()) {
            ("BEGIN:VEVENT", None) => event = Some(Vec::new()),
            ("END:VEVENT", Some(props)) => {
                spans.extend(event_busy(props, owner, owner_zone));
                event = None;
            }
            (_, Some(props)) => {
                let (head, value) = line.split_once(':').unwrap();
                let (name, params) = head.split_once(';').unwrap_or((head, ""));
                assert!(KNOWN.contains(&name), "the test's reader does not know {line:?}");
                props.push((name.to_string(), params.to_string(), value.to_string()));
            }
            (_, None) => {}
        }
    }
    spans
}

fn event_busy(props: &[(String, String, String)], owner: &str, owner_zone: &TimeZone) -> Vec<Span> {
    let get = |name: &str| props.iter().find(|p| p.0 == name);
    let transparent = get("TRANSP").is_some_and(|p| p.2 == "TRANSPARENT");
    let declined = props.iter().any(|(name, params, value)| {
        name == "ATTENDEE" && params.contains("PARTSTAT=DECLINED") && value == &format!("mailto:{owner}")
    });
    if transparent || declined {
        return Vec::new();
    }
    let instant = |(_, params, value): &(String, String, String)| -> Timestamp {
        if params == "VALUE=DATE" {
            let day = Date::strptime("%Y%m%d", value).unwrap();
            owner_zone
                .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
                .unwrap()
        } else {
            let zone = params.strip_prefix("TZID=").expect("a TZID");
            let wall = DateTime::strptime("%Y%m%dT%H%M%S", value).unwrap();
            TimeZone::get(zone).unwrap().to_timestamp(wall).unwrap()
        }
    };
    let start_prop = get("DTSTART").expect("DTSTART");
    let (start, end) = (instant(start_prop), instant(get("DTEND").expect("DTEND")));
    assert!(start < end, "{props:?}");
    let Some((_, _, rule)) = get("RRULE") else {
        return vec![(start, end)];
    };
    let mut interval = 1;
    let mut count = None;
    for part in rule.split(';') {
        match part.split_once('=').unwrap() {
            ("FREQ", "WEEKLY") => {}
            ("INTERVAL", k) => interval = k.parse::<i64>().unwrap(),
            ("COUNT", n) => count = Some(n.parse::<i64>().unwrap()),
            other => panic!("the test's reader does not know RRULE part {other:?}"),
        }
    }
    // Weekly occurrences keep the wall clock of DTSTART in its zone (the
    // generator writes only timed recurring events).
    let zone = TimeZone::get(start_prop.1.strip_prefix("TZID=").expect("a timed rule")).unwrap();
    let first = start.to_zoned_datetime(zone.clone()).datetime();
    let length = end.duration_since(start);
    (0..count.expect("COUNT"))
        .map(|i| {
            let wall = first.checked_add((7 * interval * i).days()).unwrap();
            let at = zone.to_timestamp(wall).unwrap();
            (at, at.checked_add(length).unwrap())
        })
        .collect()
}

/// Checks every occurrence of every booked series against both people's own
/// calendars (without liaison's bookings), working windows and the buffer.
/// Busy time comes from [`demo_busy`], not from liaison's calendar reader;
/// liaison's reader must agree with it. Returns how many series crossed a DST
/// change in their own zone.
fn check_bookings(cfg: &Config, dir: &Path, series: &[BookedSeries]) -> usize {
    let range = (
        "2027-02-01T00:00:00Z".parse::<Timestamp>().unwrap(),
        "2027-05-01T00:00:00Z".parse::<Timestamp>().unwrap(),
    );
    let busy: BTreeMap<&str, Vec<Span>> = cfg
        .people
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(dir.join(format!("{}.ics", p.email))).unwrap();
            let spans = demo_busy(&text, &p.email, &p.timezone);
            let inside = spans.iter().filter(|s| s.0 < range.1 && range.0 < s.1).count();
            assert!(inside >= 10, "{} has only {inside} busy spans in the term", p.email);
            (p.email.as_str(), spans)
        })
        .collect();
    assert_readers_agree(cfg, dir, &busy, range);

    let people: BTreeMap<&str, &liaison::config::Person> = cfg.people.iter().map(|p| (p.email.as_str(), p)).collect();
    let buffer = cfg.meeting.buffer;
    let mut per_week = BTreeSet::new();
    let mut crossed_dst = 0;
    for s in series {
        let r = &s.request;
        let (a, b) = (people[r.pair.0.as_str()], people[r.pair.1.as_str()]);
        assert_ne!(a.unit, b.unit, "same-unit pair {:?}", r.pair);
        let zone = TimeZone::get(&r.zone).unwrap();
        let mut offsets = BTreeSet::new();
        for w in 0..r.count {
            let local = r.start.checked_add((7 * i64::from(w)).days()).unwrap();
            let start = zone.to_timestamp(local).unwrap();
            offsets.insert(zone.to_offset(start));
            let end = start.checked_add(r.duration).unwrap();
            for p in [a, b] {
                let s = start.to_zoned_datetime(p.timezone.clone());
                let e = end.to_zoned_datetime(p.timezone.clone());
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
                let (from, to) = (start.checked_sub(buffer).unwrap(), end.checked_add(buffer).unwrap());
                if let Some(clash) = busy[p.email.as_str()].iter().find(|b| b.0 < to && from < b.1) {
                    panic!("{} at {} overlaps {}'s busy time {clash:?}", r.event_id, s, p.email);
                }
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

/// liaison's reader (from a copy of the people's calendars without
/// bookings.ics) gives the same busy time as [`demo_busy`] inside `range`.
fn assert_readers_agree(cfg: &Config, dir: &Path, expected: &BTreeMap<&str, Vec<Span>>, range: Span) {
    let raw = tempfile::tempdir().unwrap();
    for p in &cfg.people {
        let name = format!("{}.ics", p.email);
        std::fs::copy(dir.join(&name), raw.path().join(&name)).unwrap();
    }
    let zones = cfg.people.iter().map(|p| (p.email.clone(), p.timezone.clone()));
    let provider = LocalProvider::new(raw.path(), "primary").with_time_zones(cfg.timezone.clone(), zones);
    let emails: Vec<String> = cfg.people.iter().map(|p| p.email.clone()).collect();
    let read = block_on(provider.busy(&emails, Interval::new(range.0, range.1))).expect("calendars readable");
    for (email, spans) in expected {
        // Clipped to the range, sorted, and merged where they touch or overlap.
        let mut clipped: Vec<Span> = spans
            .iter()
            .map(|&(s, e)| (s.max(range.0), e.min(range.1)))
            .filter(|(s, e)| s < e)
            .collect();
        clipped.sort();
        let mut merged: Vec<Span> = Vec::new();
        for (s, e) in clipped {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let liaison: Vec<Span> = read[*email]
            .as_ref()
            .expect("calendar read")
            .spans()
            .iter()
            .map(|i| (i.start, i.end))
            .collect();
        assert_eq!(liaison, merged, "busy time of {email}");
    }
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
    assert!(before.len() >= 3, "only {} series to book again", before.len());
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

#[test]
fn the_demo_writes_a_busy_organization_of_the_shape_asked_without_planning_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    let run = liaison(
        tmp.path(),
        &[
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--people",
            "60",
            "--units",
            "13",
            "--busy",
            "--files-only",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("60 people in 13 units, 8 zones"), "{}", run.stdout);
    let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
    let units: BTreeSet<&str> = cfg.people.iter().map(|p| p.unit.as_str()).collect();
    let zones: BTreeSet<&str> = cfg.people.iter().map(|p| p.timezone_name.as_str()).collect();
    assert_eq!((cfg.people.len(), units.len(), zones.len()), (60, 13, 8));
    // Nothing planned or booked: the config and one calendar per person.
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 61);
    // Six recurring meetings (the team meeting, five 1:1s) besides the
    // transparent focus hold, and seven to twenty-one one-off reviews in each
    // of six weeks.
    for p in &cfg.people {
        let text = std::fs::read_to_string(dir.join(format!("{}.ics", p.email))).unwrap();
        assert_eq!(text.matches("RRULE:").count(), 7, "{}", p.email);
        let reviews = text.matches("SUMMARY:Review").count();
        assert!((6 * 7..=6 * 21).contains(&reviews), "{} has {reviews} reviews", p.email);
    }
}

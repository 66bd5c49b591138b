//! Eight terms in a row with an injected clock: partners rotate without repeats
//! while alternatives exist, and every term is booked before it starts.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use liaison::calendar::CalendarProvider;
use liaison::store::{SeriesState, Store};

use crate::util::liaison;

/// The 30-person demo organization (6 units) in `tmp`, with its bookings and
/// state removed: nothing booked yet.
fn demo_without_bookings(tmp: &std::path::Path) -> (std::path::PathBuf, liaison::config::Config) {
    let dir = tmp.join("org");
    let run = liaison(
        tmp,
        &["demo", "--dir", dir.to_str().unwrap(), "--people", "30", "--seed", "8"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let cfg = liaison::config::load(&dir.join("config.toml")).unwrap();
    (dir, cfg)
}

#[test]
fn eight_terms_rotate_partners_without_repeats_and_each_is_booked_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cfg) = demo_without_bookings(tmp.path());
    assert_eq!(cfg.people.iter().map(|p| &p.unit).collect::<BTreeSet<_>>().len(), 6);
    let provider = liaison::provider::local_provider(&cfg, &dir);
    let store = Store::open(&cfg.state_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();

    // A cycle every third day at noon UTC from 2027-03-03 (the first term starts
    // Monday 2027-03-08; book_ahead is 7 days) through the eighth term.
    let first: Timestamp = crate::util::NOW.parse().unwrap();
    let mut booked_before_start = BTreeMap::new();
    for day in (0..8 * 28).step_by(3) {
        let now = first.checked_add(SignedDuration::from_hours(24 * day)).unwrap();
        runtime
            .block_on(liaison::runner::run_once(&cfg, &provider, &store, now))
            .unwrap_or_else(|e| panic!("cycle on day {day}: {:#}", e.error()));
        for r in store.series().unwrap() {
            let start = cfg
                .timezone
                .to_timestamp(r.request.term.to_datetime(jiff::civil::Time::midnight()))
                .unwrap();
            if now < start {
                booked_before_start.entry(r.request.term).or_insert(now);
            }
        }
    }

    let records = store.series().unwrap();
    let mut terms: BTreeMap<jiff::civil::Date, Vec<(String, String)>> = BTreeMap::new();
    for r in &records {
        assert_eq!(r.state, SeriesState::Booked, "{:?}", r.request.event_id);
        terms.entry(r.request.term).or_default().push(r.request.pair.clone());
    }
    assert!(terms.len() >= 8, "terms booked: {:?}", terms.keys().collect::<Vec<_>>());
    for term in terms.keys() {
        assert!(
            booked_before_start.contains_key(term),
            "term {term} was not booked before it started"
        );
    }
    let mut seen = BTreeSet::new();
    for (term, pairs) in &terms {
        assert!(
            pairs.len() >= 13,
            "term {term}: only {} pairs for 30 people",
            pairs.len()
        );
        for pair in pairs {
            assert!(seen.insert(pair.clone()), "{pair:?} met again in term {term}");
        }
    }
    // The calendar holds exactly what the store says.
    let on_calendar = runtime.block_on(provider.list_series()).unwrap();
    assert_eq!(on_calendar.len(), records.len());
}

#[test]
fn a_cycle_that_books_two_terms_does_not_repeat_the_first_terms_pairs_in_the_second() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cfg) = demo_without_bookings(tmp.path());
    let provider = liaison::provider::local_provider(&cfg, &dir);
    let store = Store::open(&cfg.state_dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();

    // The first cycle ever runs late in the first term and within book_ahead
    // of the second, so it books both terms at once.
    let now: Timestamp = "2027-03-31T12:00:00Z".parse().unwrap();
    runtime
        .block_on(liaison::runner::run_once(&cfg, &provider, &store, now))
        .unwrap_or_else(|e| panic!("cycle: {:#}", e.error()));
    let mut terms: BTreeMap<jiff::civil::Date, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in store.series().unwrap() {
        assert_eq!(r.state, SeriesState::Booked, "{:?}", r.request.event_id);
        terms.entry(r.request.term).or_default().insert(r.request.pair.clone());
    }
    let pairs: Vec<&BTreeSet<(String, String)>> = terms.values().collect();
    assert_eq!(pairs.len(), 2, "terms booked: {:?}", terms.keys().collect::<Vec<_>>());
    assert!(pairs[0].len() >= 13 && pairs[1].len() >= 13, "{pairs:?}");
    let repeated: Vec<_> = pairs[0].intersection(pairs[1]).collect();
    assert!(repeated.is_empty(), "met again in the second term: {repeated:?}");
}

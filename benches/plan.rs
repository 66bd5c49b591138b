//! Whole-plan benchmark (pairs and slots) on synthetic organizations of 100,
//! 1,000 and 10,000 people: 4-week term, about 20 busy events per person per
//! week, 10 units, 4 zones. Prints, once per size, how many pairs the plan made
//! against the bound that proves the matching's size maximum.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::{Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use liaison::core::availability::DayWindow;
use liaison::core::interval::{Interval, IntervalSet};
use liaison::core::plan::{History, Person, PlanInput, PlanRules, plan};
use liaison::core::term::Term;

const ZONES: [&str; 4] = ["America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata"];

struct Org {
    people: Vec<Person>,
    busy: BTreeMap<String, Result<IntervalSet, String>>,
}

fn org(n: usize, term: &Term) -> Org {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let people: Vec<Person> = (0..n)
        .map(|i| {
            let zone = ZONES[rng.random_range(0..ZONES.len())];
            Person {
                email: format!("person{i:05}@example.org"),
                name: format!("Person {i}"),
                unit: format!("Unit {}", i % 10),
                timezone_name: zone.to_string(),
                timezone: TimeZone::get(zone).expect("known zone"),
                hours: DayWindow {
                    start: time(9, 0, 0, 0),
                    end: time(17, 0, 0, 0),
                },
                days: days.to_vec(),
                preferred_hours: None,
                away: vec![],
                paused: false,
            }
        })
        .collect();
    let busy = people
        .iter()
        .map(|p| {
            let events = (0..term.weeks * 20).map(|_| {
                let day = term
                    .start
                    .checked_add(rng.random_range(0..i64::from(term.weeks) * 7).days())
                    .expect("date");
                let start = p
                    .timezone
                    .to_timestamp(day.to_datetime(time(
                        rng.random_range(8..18),
                        [0, 15, 30, 45][rng.random_range(0..4)],
                        0,
                        0,
                    )))
                    .expect("instant");
                let minutes = [30, 45, 60, 90][rng.random_range(0..4)];
                Interval::new(
                    start,
                    start.checked_add(SignedDuration::from_mins(minutes)).expect("instant"),
                )
            });
            (p.email.clone(), Ok(IntervalSet::from_intervals(events)))
        })
        .collect();
    Org { people, busy }
}

fn bench(c: &mut Criterion) {
    let term = Term {
        index: 3,
        start: date(2027, 3, 8),
        weeks: 4,
    };
    let rules = PlanRules {
        duration: SignedDuration::from_mins(30),
        granularity: SignedDuration::from_mins(15),
        buffer: SignedDuration::from_mins(5),
        min_notice: SignedDuration::from_hours(24),
        skip_dates: vec![],
        max_busy: None,
        cross_unit_only: true,
        avoid_repeat_terms: 6,
        focus: vec![],
    };
    let now: Timestamp = "2027-03-01T00:00:00Z".parse().expect("instant");
    let history = History::default();
    let none = BTreeSet::new();
    let no_pairs = BTreeSet::new();
    let no_weeks = std::collections::BTreeMap::new();
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let org = org(n, &term);
        let input = PlanInput {
            people: &org.people,
            busy: &org.busy,
            term,
            now,
            rules: &rules,
            history: &history,
            booked: &none,
            excluded_pairs: &no_pairs,
            not_before_week: &no_weeks,
        };
        let once = plan(&input);
        eprintln!(
            "plan n={n}: pairs={} bound={} unpaired={} edges={} eligible={}",
            once.pairs.len(),
            once.stats.max_pairs_bound,
            once.unpaired.len(),
            once.stats.edges,
            once.stats.eligible
        );
        group.bench_function(format!("{n}_people"), |b| b.iter(|| black_box(plan(black_box(&input)))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

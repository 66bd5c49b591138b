//! Tests of the planner. The invariants are checked with deliberately naive code
//! (local times compared field by field, busy time scanned event by event), so
//! they do not share the planner's shortcuts.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use proptest::prelude::*;

use super::*;
use crate::availability::DayWindow;
use crate::interval::{Interval, IntervalSet};
use crate::term::Term;

mod large;
mod preferences;
mod properties;
mod rules;
mod weeks;

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
];

fn window(h1: i8, m1: i8, h2: i8, m2: i8) -> DayWindow {
    DayWindow {
        start: time(h1, m1, 0, 0),
        end: time(h2, m2, 0, 0),
    }
}

fn person(email: &str, unit: &str, zone: &str) -> Person {
    Person {
        email: email.to_string(),
        name: email.split('@').next().unwrap_or(email).to_string(),
        unit: unit.to_string(),
        timezone_name: zone.to_string(),
        timezone: TimeZone::get(zone).unwrap(),
        hours: window(9, 0, 17, 0),
        days: WEEKDAYS.to_vec(),
        preferred_hours: None,
        away: vec![],
        paused: false,
    }
}

fn rules() -> PlanRules {
    PlanRules {
        duration: SignedDuration::from_mins(30),
        granularity: SignedDuration::from_mins(15),
        buffer: SignedDuration::from_mins(5),
        min_notice: SignedDuration::from_hours(24),
        skip_dates: vec![],
        max_busy: None,
        cross_unit_only: true,
        avoid_repeat_terms: 6,
        focus: vec![],
    }
}

/// A small organization and everything a plan needs besides people.
#[derive(Clone, Debug)]
struct Case {
    people: Vec<Person>,
    busy: BTreeMap<String, Result<IntervalSet, String>>,
    raw_busy: BTreeMap<String, Vec<Interval>>,
    rules: PlanRules,
    history: History,
    booked: BTreeSet<String>,
    excluded: BTreeSet<(String, String)>,
    not_before: BTreeMap<String, u32>,
    term: Term,
    now: Timestamp,
}

impl Case {
    fn new(people: Vec<Person>, term_start: Date, weeks: u32) -> Case {
        let busy = people
            .iter()
            .map(|p| (p.email.clone(), Ok(IntervalSet::new())))
            .collect();
        Case {
            people,
            busy,
            raw_busy: BTreeMap::new(),
            rules: rules(),
            history: History::default(),
            booked: BTreeSet::new(),
            excluded: BTreeSet::new(),
            not_before: BTreeMap::new(),
            term: Term {
                index: 10,
                start: term_start,
                weeks,
            },
            now: "2020-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    fn set_busy(&mut self, email: &str, intervals: Vec<Interval>) {
        self.busy.insert(
            email.to_string(),
            Ok(IntervalSet::from_intervals(intervals.iter().copied())),
        );
        self.raw_busy.insert(email.to_string(), intervals);
    }

    /// The plan with the default tuning. Every matching the planner runs is
    /// checked by [`certified_matching`].
    fn plan(&self) -> Plan {
        self.plan_tuned(Tuning::default())
    }

    /// The plan with the large-organization path forced on: one candidate per
    /// person before augmentation.
    fn plan_sparse(&self) -> Plan {
        self.plan_tuned(Tuning {
            full_graph_limit: 0,
            top_k: 1,
            block: BLOCK,
        })
    }

    /// The large-organization path in blocks of three people, two candidates
    /// each: most pairs must then be found across blocks.
    fn plan_blocks(&self) -> Plan {
        self.plan_tuned(Tuning {
            full_graph_limit: 0,
            top_k: 2,
            block: 3,
        })
    }

    fn input(&self) -> PlanInput<'_> {
        PlanInput {
            people: &self.people,
            busy: &self.busy,
            term: self.term,
            now: self.now,
            rules: &self.rules,
            history: &self.history,
            booked: &self.booked,
            excluded_pairs: &self.excluded,
            not_before_week: &self.not_before,
        }
    }

    /// Runs `f` on the planner's phases 1 to 3 for this case: the active
    /// people (indexes into `people`), their slot masks and the pair rules.
    fn with_graph<T>(&self, f: impl FnOnce(&[usize], &Slots, &PairRules) -> T) -> T {
        let input = self.input();
        let not_before = self.now.checked_add(self.rules.min_notice).unwrap();
        let (active, _) = eligible(&input);
        let slots = Slots::new(&input, &active, not_before);
        let graph = PairRules::new(&input, &active, &slots);
        f(&active, &slots, &graph)
    }

    fn plan_tuned(&self, tuning: Tuning) -> Plan {
        let input = self.input();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let plan = plan_with_matcher(&input, tuning, &|n, edges| {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            certified_matching(n, edges)
        });
        assert!(runs.into_inner() > 0, "the planner ran no matching");
        plan
    }

    /// The pairs of a plan as sorted email pairs.
    fn pairs(&self, plan: &Plan) -> BTreeSet<(String, String)> {
        plan.pairs
            .iter()
            .map(|p| sorted(&self.people[p.a].email, &self.people[p.b].email))
            .collect()
    }

    /// True when `occ` is a valid meeting time for `p`, checked the slow way.
    fn naive_free(&self, p: &Person, occ: Interval) -> bool {
        let start = occ.start.to_zoned_datetime(p.timezone.clone());
        let end = occ.end.to_zoned_datetime(p.timezone.clone());
        let in_window = start.date() == end.date()
            && p.days.contains(&start.date().weekday())
            && !p.away.contains(&start.date())
            && !self.rules.skip_dates.contains(&start.date())
            && p.hours.start <= start.time()
            && end.time() <= p.hours.end;
        let buffer = self.rules.buffer;
        let clear = self.raw_busy.get(&p.email).into_iter().flatten().all(|b| {
            let widened = b.widened(buffer);
            !(occ.start < widened.end && widened.start < occ.end)
        });
        in_window && clear
    }

    /// True when `occ` overlaps a day without connections for `p` (a holiday,
    /// an away day, a working day over `max_busy`), checked the slow way.
    fn naive_excused(&self, p: &Person, occ: Interval) -> bool {
        let first = occ.start.to_zoned_datetime(p.timezone.clone()).date();
        let last = occ
            .end
            .checked_sub(SignedDuration::from_nanos(1))
            .unwrap()
            .to_zoned_datetime(p.timezone.clone())
            .date();
        [first, last].iter().any(|d| {
            let busy = || -> SignedDuration {
                let day = crate::availability::local_day(&p.timezone, *d).unwrap();
                self.raw_busy
                    .get(&p.email)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.intersection(&day))
                    .map(|i| i.duration())
                    .sum()
            };
            p.days.contains(&d.weekday())
                && (self.rules.skip_dates.contains(d)
                    || p.away.contains(d)
                    || self.rules.max_busy.is_some_and(|limit| busy() >= limit))
        })
    }

    /// Every invariant a plan must satisfy.
    fn check_invariants(&self, plan: &Plan) {
        let not_before = self.now.checked_add(self.rules.min_notice).unwrap();
        assert!(
            plan.stats.edges >= plan.pairs.len(),
            "fewer edges counted ({}) than pairs matched",
            plan.stats.edges
        );
        let mut seen = BTreeSet::new();
        for pair in &plan.pairs {
            let (a, b) = (&self.people[pair.a], &self.people[pair.b]);
            assert!(a.email < b.email);
            assert!(seen.insert(pair.a) && seen.insert(pair.b), "someone is in two pairs");
            if self.rules.cross_unit_only {
                assert_ne!(a.unit, b.unit, "same-unit pair {} {}", a.email, b.email);
            }
            assert!(pair.zone_name == a.timezone_name || pair.zone_name == b.timezone_name);
            assert_eq!(pair.occurrences.len() + pair.skipped.len(), pair.count as usize);
            assert!(pair.first_week + pair.count <= self.term.weeks);
            assert!(pair.skipped.len() * 2 <= pair.count as usize, "more than half skipped");
            let zone = TimeZone::get(&pair.zone_name).unwrap();
            // The series starts with its first occurrence (never skipped).
            assert_eq!(
                Some(zone.to_timestamp(pair.first_start).unwrap()),
                pair.occurrences.first().map(|o| o.start),
                "first_start {}",
                pair.first_start
            );
            // Each skipped occurrence is on a day without connections of either
            // person, at the series' weekday and time, strictly inside the series.
            for skipped in &pair.skipped {
                let at = zone.to_timestamp(*skipped).unwrap();
                let occ = Interval::new(at, at.checked_add(self.rules.duration).unwrap());
                assert!(
                    self.naive_excused(a, occ) || self.naive_excused(b, occ),
                    "{skipped} skipped for nothing"
                );
                assert_eq!((skipped.date().weekday(), skipped.time()), (pair.weekday, pair.time));
                assert!(pair.first_start < *skipped);
                assert!(
                    pair.occurrences.last().is_some_and(|o| o.start > at),
                    "a skipped last occurrence"
                );
            }
            let skipped_weeks: Vec<u32> = pair
                .skipped
                .iter()
                .map(|d| (self.term.start.until(d.date()).unwrap().get_days() / 7) as u32)
                .collect();
            let held_weeks: Vec<u32> = (pair.first_week..pair.first_week + pair.count)
                .filter(|w| !skipped_weeks.contains(w))
                .collect();
            assert_eq!(held_weeks.len(), pair.occurrences.len());
            for (&week, occ) in held_weeks.iter().zip(&pair.occurrences) {
                assert_eq!(occ.duration(), self.rules.duration);
                assert!(occ.start >= not_before, "occurrence inside the minimum notice");
                assert!(self.naive_free(a, *occ), "{} not free at {occ:?}", a.email);
                assert!(self.naive_free(b, *occ), "{} not free at {occ:?}", b.email);
                // Same local weekday and time every week, in the series' zone.
                let local = occ.start.to_zoned_datetime(zone.clone());
                assert_eq!((local.date().weekday(), local.time()), (pair.weekday, pair.time));
                let week = self.term.week_start(week).unwrap();
                assert_eq!(week.until(local.date()).unwrap().get_days() / 7, 0);
            }
        }
    }

    /// Candidate pairs by the definition: different units, and some slot of either
    /// zone valid for both in every bookable week. Slow and simple on purpose.
    fn naive_candidates(&self) -> Vec<(usize, usize)> {
        let not_before = self.now.checked_add(self.rules.min_notice).unwrap();
        let step = self.rules.granularity.as_mins();
        let mut out = Vec::new();
        for i in 0..self.people.len() {
            for j in i + 1..self.people.len() {
                let (a, b) = (&self.people[i], &self.people[j]);
                if a.paused || b.paused || (self.rules.cross_unit_only && a.unit == b.unit) {
                    continue;
                }
                let zones = [&a.timezone, &b.timezone];
                let ok = zones.iter().any(|zone| {
                    (0..7).any(|day| {
                        (0..(24 * 60 / step)).any(|s| {
                            let t = time(((s * step) / 60) as i8, ((s * step) % 60) as i8, 0, 0);
                            let occs: Vec<Interval> = (0..self.term.weeks)
                                .filter_map(|w| {
                                    let d = self.term.start.checked_add((i64::from(w) * 7 + day).days()).unwrap();
                                    let start = zone.to_timestamp(d.to_datetime(t)).unwrap();
                                    (start >= not_before)
                                        .then(|| Interval::new(start, start.checked_add(self.rules.duration).unwrap()))
                                })
                                .collect();
                            // An occurrence on a day off of either (holiday,
                            // away, over max_busy) is skipped and need not be
                            // free for that one; the pair may lose at most half.
                            let ok = |p: &Person, o: Interval| self.naive_excused(p, o) || self.naive_free(p, o);
                            let lost = occs
                                .iter()
                                .filter(|o| self.naive_excused(a, **o) || self.naive_excused(b, **o))
                                .count();
                            !occs.is_empty() && lost * 2 <= occs.len() && occs.iter().all(|o| ok(a, *o) && ok(b, *o))
                        })
                    })
                });
                if ok {
                    out.push((i, j));
                }
            }
        }
        out
    }
}

/// The planner's matching on its real graph, proven optimal in every profile:
/// the certificate proves maximum weight among matchings of the result's size,
/// and a unit-weight run with its own certificate proves that size maximum.
fn certified_matching(n: usize, edges: &[Edge]) -> Vec<Option<usize>> {
    use crate::matching::{max_weight_matching_with_certificate, verify_optimum};
    let (mate, certificate) = max_weight_matching_with_certificate(n, edges, true);
    if let Err(why) = verify_optimum(n, edges, true, &mate, &certificate) {
        panic!(
            "the planner's matching is not proven optimal: {why} (n={n}, {} edges)",
            edges.len()
        );
    }
    let unit: Vec<Edge> = edges.iter().map(|&e| Edge { weight: 1, ..e }).collect();
    let (maximum, unit_certificate) = max_weight_matching_with_certificate(n, &unit, false);
    if let Err(why) = verify_optimum(n, &unit, false, &maximum, &unit_certificate) {
        panic!(
            "the unit-weight matching is not proven maximum: {why} (n={n}, {} edges)",
            edges.len()
        );
    }
    let size = |m: &[Option<usize>]| m.iter().flatten().count() / 2;
    assert_eq!(size(&mate), size(&maximum), "not a maximum-size matching (n={n})");
    mate
}

/// Size of a maximum matching, by trying everything.
fn brute_force_max_pairs(n: usize, edges: &[(usize, usize)]) -> usize {
    fn go(v: usize, used: &mut Vec<bool>, adj: &[Vec<usize>]) -> usize {
        if v == used.len() {
            return 0;
        }
        if used[v] {
            return go(v + 1, used, adj);
        }
        let mut best = go(v + 1, used, adj);
        used[v] = true;
        for &u in &adj[v] {
            if !used[u] {
                used[u] = true;
                best = best.max(1 + go(v + 1, used, adj));
                used[u] = false;
            }
        }
        used[v] = false;
        best
    }
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
        adj[b].push(a);
    }
    go(0, &mut vec![false; n], &adj)
}

const ZONES: [&str; 5] = [
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Los_Angeles",
];

/// Terms with DST changes inside them: US and EU in March, EU and US in autumn
/// (Sydney changes in April and October).
const DST_TERMS: [Date; 3] = [date(2027, 3, 8), date(2027, 10, 18), date(2027, 3, 29)];

fn arb_case() -> impl Strategy<Value = Case> {
    let spec = (
        0usize..4,
        0usize..ZONES.len(),
        6i8..11,
        5i8..10,
        any::<bool>(),
        prop::collection::vec((0i64..28, 0i64..48, 1i64..5), 0..25),
        // Away days, as days into the term; most people have none.
        prop::collection::vec(0i64..28, 0..3).prop_map(|days| if days.len() == 2 { days } else { vec![] }),
    );
    (
        prop::collection::vec(spec, 2..9),
        0usize..DST_TERMS.len(),
        0u32..3,
        prop::bool::ANY,
        0u64..200_000,
        // A holiday for everyone, some terms.
        prop::option::weighted(0.3, 0i64..28),
    )
        .prop_map(|(specs, term_idx, min_notice_days, prefer, now_offset, holiday)| {
            let people: Vec<Person> = specs
                .iter()
                .enumerate()
                .map(|(i, (unit, zone, start, len, pref, _, away))| {
                    let mut p = person(&format!("p{i:02}@x.org"), &format!("U{unit}"), ZONES[*zone]);
                    p.away = away
                        .iter()
                        .map(|&d| DST_TERMS[term_idx].checked_add(d.days()).unwrap())
                        .collect();
                    p.hours = window(*start, 0, (*start + *len).min(23), 30);
                    if *pref && prefer {
                        p.preferred_hours = Some(window(*start + 1, 0, (*start + 3).min(23), 0));
                    }
                    p
                })
                .collect();
            let term_start = DST_TERMS[term_idx];
            let mut case = Case::new(people, term_start, 4);
            case.rules.min_notice = SignedDuration::from_hours(24 * i64::from(min_notice_days));
            case.rules.skip_dates = holiday
                .map(|d| term_start.checked_add(d.days()).unwrap())
                .into_iter()
                .collect();
            // "now" ranges from a little before the term to two days into it.
            let term_ts = TimeZone::UTC
                .to_timestamp(term_start.to_datetime(time(0, 0, 0, 0)))
                .unwrap();
            case.now = term_ts
                .checked_sub(SignedDuration::from_mins(60 * 24))
                .unwrap()
                .checked_add(SignedDuration::from_secs(now_offset as i64))
                .unwrap();
            for (i, spec) in specs.iter().enumerate() {
                let zone = case.people[i].timezone.clone();
                let events = spec
                    .5
                    .iter()
                    .map(|&(day, half_hour, len)| {
                        let d = term_start.checked_add(day.days()).unwrap();
                        let start = zone
                            .to_timestamp(d.to_datetime(time(
                                (half_hour / 2) as i8,
                                ((half_hour % 2) * 30) as i8,
                                0,
                                0,
                            )))
                            .unwrap();
                        Interval::new(start, start.checked_add(SignedDuration::from_mins(30 * len)).unwrap())
                    })
                    .collect();
                let email = case.people[i].email.clone();
                case.set_busy(&email, events);
            }
            case
        })
}

/// Two people who work on Mondays only, in `zones`, for a term starting on
/// Monday 2027-03-08 (the US changes to summer time on the 14th, Europe on
/// the 28th).
fn monday_people(zones: [&str; 2]) -> Vec<Person> {
    let mut a = person("a@x.org", "A", zones[0]);
    let mut b = person("b@x.org", "B", zones[1]);
    a.days = vec![Weekday::Monday];
    b.days = vec![Weekday::Monday];
    vec![a, b]
}

/// Who has a candidate, by the slot index, for a case.
fn with_candidates(case: &Case) -> BTreeMap<String, bool> {
    case.with_graph(|active, _, graph| {
        active
            .iter()
            .zip(graph.has_candidates())
            .map(|(&i, f)| (case.people[i].email.clone(), f))
            .collect()
    })
}

/// People of distinct units who each work only on `days` (UTC, 09:00-17:00):
/// two of them may meet exactly when they share a day, so the candidate
/// graph is whatever the days say.
fn day_graph(days: &[(&str, &[Weekday])]) -> Case {
    let people = days
        .iter()
        .map(|&(name, days)| {
            let mut p = person(&format!("{name}@x.org"), &name.to_uppercase(), "UTC");
            p.days = days.to_vec();
            p
        })
        .collect();
    Case::new(people, date(2027, 3, 8), 4)
}

/// Runs phase 6 on `case` from the given matched pairs (block edges), and
/// returns the pairs after it (as names) and the edges it added.
fn grow(case: &Case, matched: &[(usize, usize)], bound: usize) -> (BTreeSet<(usize, usize)>, usize) {
    case.with_graph(|active, _, graph| {
        let has_candidate = graph.has_candidates();
        let mut mate = vec![None; active.len()];
        for &(u, v) in matched {
            mate[u] = Some(v);
            mate[v] = Some(u);
        }
        let added = grow_to_maximum(graph, &has_candidate, bound, matched, &mut mate);
        let pairs = mate
            .iter()
            .enumerate()
            .filter_map(|(u, m)| m.filter(|&v| u < v).map(|v| (u, v)))
            .collect();
        (pairs, added)
    })
}

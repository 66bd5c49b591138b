//! Table-driven tests of deciding and checking: one line per case. Series
//! are named by their pair (`"a-b"` is the series of a@x and b@x, id `a-b`),
//! weekly on Mondays at 10:00 UTC from 2027-03-08 (8, 15, 22, 29 March), and
//! actions are compared in a short form (see `brief`).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::availability::DayWindow;
use crate::interval::Interval;
use crate::model::{Attendee, AttendeeResponse, BookedSeries, Changes, Occurrence, SeriesDetails, SeriesRequest};
use crate::plan::Person;
use crate::series::{HandledOccurrence, PersonState, SeriesRecord, SeriesState};

mod check;
mod decide;
mod rules;

const ME: &str = "me";
const OTHER: &str = "other";

fn email(name: &str) -> String {
    format!("{name}@x")
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The `k`-th occurrence (0-based) of every series here.
fn occ(k: i64) -> Timestamp {
    ts("2027-03-08T10:00:00Z")
        .checked_add(SignedDuration::from_hours(24 * 7 * k))
        .unwrap()
}

/// A four-week series of `pair` ("a-b"), Mondays 10:00 UTC from 8 March
/// 2027 (also used by other modules' tests).
pub(crate) fn request(pair: &str) -> SeriesRequest {
    let (a, b) = pair.split_once('-').unwrap();
    let attendee = |n: &str| Attendee {
        email: email(n),
        name: n.into(),
    };
    SeriesRequest {
        event_id: pair.into(),
        term: date(2027, 3, 8),
        pair: (email(a), email(b)),
        attendees: [attendee(a), attendee(b)],
        summary: "s".into(),
        description: "d".into(),
        location: None,
        zone: "UTC".into(),
        start: date(2027, 3, 8).to_datetime(time(10, 0, 0, 0)),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    }
}

fn rec(pair: &str, state: SeriesState) -> SeriesRecord {
    let mut r = SeriesRecord::new(request(pair), 0, ("U1".into(), "U2".into()), state);
    r.instance = Some(ME.into());
    r
}

fn person(name: &str) -> Person {
    Person {
        email: email(name),
        name: name.into(),
        unit: format!("U-{name}"),
        timezone_name: "UTC".into(),
        timezone: TimeZone::UTC,
        hours: DayWindow {
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        },
        days: vec![Weekday::Monday],
        preferred_hours: None,
        away: vec![],
        paused: false,
    }
}

/// One case's world.
struct Case {
    now: Timestamp,
    wall_now: Timestamp,
    people: Vec<Person>,
    never_paused: BTreeSet<String>,
    roster: Option<BTreeSet<String>>,
    records: BTreeMap<String, SeriesRecord>,
    person_states: BTreeMap<String, PersonState>,
    handled: BTreeMap<String, HandledOccurrence>,
    changes: Changes,
    lookups: BTreeMap<String, Option<BookedSeries>>,
    pause_after_declines: u32,
}

fn case() -> Case {
    let people: Vec<Person> = ["a", "b", "c", "d"].into_iter().map(person).collect();
    Case {
        // Before the term: no occurrence has started.
        now: ts("2027-03-01T12:00:00Z"),
        wall_now: ts("2027-03-01T12:00:00Z"),
        roster: Some(people.iter().map(|p| p.email.clone()).collect()),
        people,
        never_paused: BTreeSet::new(),
        records: BTreeMap::new(),
        person_states: BTreeMap::new(),
        handled: BTreeMap::new(),
        changes: Changes::default(),
        lookups: BTreeMap::new(),
        pause_after_declines: 2,
    }
}

impl Case {
    fn now(mut self, at: &str) -> Self {
        self.now = ts(at);
        self.wall_now = ts(at);
        self
    }
    fn with(mut self, record: SeriesRecord) -> Self {
        self.records.insert(record.request.event_id.clone(), record);
        self
    }
    fn booked(self, pair: &str) -> Self {
        self.with(rec(pair, SeriesState::Booked))
    }
    fn configured(mut self, names: &str) -> Self {
        self.people = names.split_whitespace().map(person).collect();
        self
    }
    fn paused_in_config(mut self, name: &str) -> Self {
        for p in &mut self.people {
            if p.email == email(name) {
                p.paused = true;
            }
        }
        self
    }
    fn never_paused(mut self, name: &str) -> Self {
        self.never_paused.insert(email(name));
        self
    }
    fn roster(mut self, names: Option<&str>) -> Self {
        self.roster = names.map(|n| n.split_whitespace().map(email).collect());
        self
    }
    fn person_state(mut self, name: &str, declines: u32, paused: bool) -> Self {
        self.person_states.insert(
            email(name),
            PersonState {
                declines_in_a_row: declines,
                paused,
            },
        );
        self
    }
    /// The calendar reports the series, with its marker and answers.
    fn seen(mut self, series: BookedSeries, answers: &[(&str, AttendeeResponse)]) -> Self {
        self.changes.series.push(SeriesDetails {
            series,
            responses: answers.iter().map(|(n, r)| (email(n), *r)).collect(),
            conference_link: None,
        });
        self
    }
    fn pause_after(mut self, declines: u32) -> Self {
        self.pause_after_declines = declines;
        self
    }
    /// The calendar marks the series as ended early by liaison.
    fn ended(mut self, id: &str) -> Self {
        self.changes.ended.push(id.into());
        self
    }
    fn deleted(mut self, id: &str) -> Self {
        self.changes.deleted_ids.push(id.into());
        self
    }
    fn full(mut self) -> Self {
        self.changes.full = true;
        self
    }
    fn unreadable(mut self, id: &str) -> Self {
        self.changes.unreadable.push(id.into());
        self
    }
    fn occurrence(mut self, pair: &str, k: i64, at: Option<Interval>, cancelled: bool, decliner: Option<&str>) -> Self {
        let responses = decliner
            .map(|d| (email(d), AttendeeResponse::Declined))
            .into_iter()
            .collect();
        self.changes.occurrences.push((
            pair.into(),
            Occurrence {
                instance_id: format!("{pair}_{k}"),
                original_start: occ(k),
                interval: at,
                cancelled,
                responses,
            },
        ));
        self
    }
    fn handled(mut self, pair: &str, k: i64, at: Option<Interval>) -> Self {
        self.handled.insert(
            format!("{pair}_{k}"),
            HandledOccurrence {
                series: pair.into(),
                note: "n".into(),
                at,
                original: Some(occ(k)),
            },
        );
        self
    }
    fn lookup(mut self, pair: &str, found: Option<bool>) -> Self {
        self.lookups
            .insert(pair.into(), found.map(|active| cal(pair, active, Some(ME))));
        self
    }

    fn decide(&self) -> Vec<String> {
        self.actions().iter().map(brief).collect()
    }

    /// The records the decided actions write, in order.
    fn recorded(&self) -> Vec<SeriesRecord> {
        self.actions()
            .into_iter()
            .filter_map(|a| match a {
                Action::Record { record, .. } => Some(record),
                _ => None,
            })
            .collect()
    }

    fn actions(&self) -> Vec<Action> {
        let facts = Facts {
            now: self.now,
            cutoff: self.now.checked_add(SignedDuration::from_hours(24)).unwrap(),
            wall_now: self.wall_now,
            write_timeout: SignedDuration::from_secs(30),
            instance: ME,
            first_term: date(2027, 3, 8),
            term_weeks: 4,
            people: &self.people,
            never_paused: &self.never_paused,
            pause_after_declines: self.pause_after_declines,
            last_roster: self.roster.as_ref(),
            records: &self.records,
            person_states: &self.person_states,
            handled: &self.handled,
            changes: &self.changes,
            lookups: &self.lookups,
        };
        decide(&facts)
    }
}

/// A series as the calendar reports it.
fn cal(pair: &str, active: bool, instance: Option<&str>) -> BookedSeries {
    BookedSeries {
        request: request(pair),
        active,
        instance: instance.map(str::to_string),
    }
}

fn with_count(mut s: BookedSeries, count: u32) -> BookedSeries {
    s.request.count = count;
    s
}

fn half_hour(at: Timestamp) -> Interval {
    Interval::new(at, at.checked_add(SignedDuration::from_mins(30)).unwrap())
}

/// An action in a few words: kind, series, and what matters about it.
fn brief(action: &Action) -> String {
    let state = |s: SeriesState| format!("{s:?}").to_lowercase();
    match action {
        Action::Record { record, why } => {
            let why = match why {
                RecordWhy::Declined(p) => format!("declined:{}", p.trim_end_matches("@x")),
                RecordWhy::Foreign(i) => format!("foreign:{i}"),
                other => format!("{other:?}").to_lowercase(),
            };
            format!("record {} {} {why}", record.request.event_id, state(record.state))
        }
        Action::Person { email, state, .. } => format!(
            "person {} declines={}{}",
            email.trim_end_matches("@x"),
            state.declines_in_a_row,
            if state.paused { " paused" } else { "" }
        ),
        Action::Occurrence { id, handled } => {
            format!("occurrence {id} {}", handled.note.split(';').next().unwrap_or(""))
        }
        Action::End { record, keep, why, .. } => {
            format!("end {} keep={keep} {}", record.request.event_id, why_code(why))
        }
        Action::Cancel { record, why, .. } => format!("cancel {} {}", record.request.event_id, why_code(why)),
        Action::Move { occurrence, who, .. } => format!("move {occurrence} by {}", who.trim_end_matches("@x")),
        Action::Book { record } => format!("book {}", record.request.event_id),
        Action::Wait { record, why } => format!("wait {} {}", record.request.event_id, why_code(why)),
    }
}

fn why_code(why: &EndWhy) -> String {
    match why {
        EndWhy::Declined(p) => format!("declined:{}", p.trim_end_matches("@x")),
        EndWhy::Removed(p) => format!("removed:{}", p.trim_end_matches("@x")),
        EndWhy::Paused(p) => format!("paused:{}", p.trim_end_matches("@x")),
        EndWhy::LateLanding => "late".into(),
    }
}

use AttendeeResponse::{Accepted, Declined};

const DURING: &str = "2027-03-16T12:00:00Z"; // two occurrences held, the third a week away
const LAST_WEEK: &str = "2027-03-28T12:00:00Z"; // the fourth occurrence is inside the notice
const AFTER: &str = "2027-03-30T12:00:00Z"; // every occurrence has taken place

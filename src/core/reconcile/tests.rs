//! Table-driven tests of deciding and checking: one line per case. Series
//! are named by their pair (`"a-b"` is the series of a@x and b@x, id `a-b`),
//! weekly on Mondays at 10:00 UTC from 2027-03-08 (8, 15, 22, 29 March), and
//! actions are compared in a short form (see `brief`).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::core::availability::DayWindow;
use crate::core::interval::Interval;
use crate::core::model::{Attendee, AttendeeResponse, BookedSeries, Changes, Occurrence, SeriesDetails, SeriesRequest};
use crate::core::plan::Person;
use crate::core::series::{HandledOccurrence, PersonState, SeriesRecord, SeriesState};

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

fn request(pair: &str) -> SeriesRequest {
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
            pause_after_declines: 2,
            last_roster: self.roster.as_ref(),
            records: &self.records,
            person_states: &self.person_states,
            handled: &self.handled,
            changes: &self.changes,
            lookups: &self.lookups,
        };
        decide(&facts).iter().map(brief).collect()
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

#[test]
fn decide_table() {
    let mut declined = rec("a-b", SeriesState::Booked);
    declined.declined_by = Some(email("a"));
    declined.responses = [(email("a"), Declined)].into();
    let mut accepted = rec("a-b", SeriesState::Booked);
    accepted.responses = [(email("a"), Accepted)].into();
    let mut pending = rec("a-b", SeriesState::Pending);
    pending.intent_at = Some(ts("2027-03-01T11:59:50Z"));
    let mut pending_old = rec("a-b", SeriesState::Pending);
    pending_old.intent_at = Some(ts("2027-03-01T11:00:00Z"));
    let mut legacy = rec("a-b", SeriesState::Booked);
    legacy.instance = None;
    let mut foreign_unmarked = rec("a-b", SeriesState::Booked);
    foreign_unmarked.instance = Some(UNMARKED.into());
    let mut foreign_known = rec("a-b", SeriesState::Booked);
    foreign_known.instance = Some(OTHER.into());
    let mut moved_series = rec("a-b", SeriesState::Booked);
    moved_series.request.start = date(2027, 3, 9).to_datetime(time(11, 0, 0, 0));

    let cases: Vec<(&str, Case, &[&str])> = vec![
        // Nothing changed.
        ("a quiet cycle decides nothing", case().booked("a-b"), &[]),
        (
            "a series reported again unchanged is nothing",
            case().booked("a-b").seen(cal("a-b", true, Some(ME)), &[]),
            &[],
        ),
        // Adopting and ownership.
        (
            "an unknown series of this installation is adopted",
            case().seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b booked adopted"],
        ),
        (
            "an unknown cancelled series is recorded as cancelled",
            case().seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled adopted"],
        ),
        (
            "an unmarked series of two configured people is adopted",
            case().seen(cal("a-b", true, None), &[]),
            &["record a-b booked adopted"],
        ),
        (
            "an unmarked series of unconfigured people is left alone",
            case().configured("c d").seen(cal("a-b", true, None), &[]),
            &["record a-b booked foreign:(unmarked)"],
        ),
        (
            "another installation's series is recorded as theirs, never adopted",
            case().seen(cal("a-b", true, Some(OTHER)), &[]),
            &["record a-b booked foreign:other"],
        ),
        (
            "another installation's declined series is never ended",
            case().seen(cal("a-b", true, Some(OTHER)), &[("a", Declined)]),
            &["record a-b booked foreign:other"],
        ),
        (
            "another installation's series seen again unchanged is nothing",
            case()
                .with(foreign_known.clone())
                .seen(cal("a-b", true, Some(OTHER)), &[]),
            &[],
        ),
        (
            "another installation's series with a removed person is never ended",
            case().with(foreign_known.clone()).configured("c d"),
            &[],
        ),
        (
            "an unmarked series the store knows stays ours",
            case()
                .with(legacy.clone())
                .configured("a b c")
                .seen(cal("a-b", true, None), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        // Deletions by people.
        (
            "a series deleted by a person is recorded",
            case().booked("a-b").seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled deletedbyperson"],
        ),
        (
            "a deleted id is recorded",
            case().booked("a-b").deleted("a-b"),
            &["record a-b cancelled deletedbyperson"],
        ),
        (
            "a deleted id of an unknown event is nothing",
            case().deleted("x-y"),
            &[],
        ),
        (
            "a series missing from a full read is recorded as deleted",
            case()
                .booked("a-b")
                .booked("c-d")
                .full()
                .seen(cal("c-d", true, Some(ME)), &[]),
            &["record a-b cancelled missing"],
        ),
        (
            "a series missing from an incremental read is nothing",
            case().booked("a-b"),
            &[],
        ),
        (
            "another installation's series missing from a full read is nothing",
            case().with(foreign_known.clone()).full(),
            &[],
        ),
        // A person's changes to the series.
        (
            "a person's change of count is copied into the store",
            case()
                .booked("a-b")
                .seen(with_count(cal("a-b", true, Some(ME)), 2), &[]),
            &["record a-b booked changedbyperson"],
        ),
        (
            "a person's change of start is copied into the store",
            case().booked("a-b").seen(
                BookedSeries {
                    request: moved_series.request.clone(),
                    active: true,
                    instance: Some(ME.into()),
                },
                &[],
            ),
            &["record a-b booked changedbyperson"],
        ),
        // Declines of the whole series.
        (
            "a declined series before the term is cancelled and counted",
            case()
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        (
            "a declined series during the term ends after its held occurrences",
            case()
                .now(DURING)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("b", Declined)]),
            &[
                "person b declines=1",
                "record a-b booked declined:b",
                "end a-b keep=2 declined:b",
            ],
        ),
        (
            "a decline already recorded is not counted again",
            case()
                .now(DURING)
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &["end a-b keep=2 declined:a"],
        ),
        (
            "a second decline in a row pauses the person",
            case()
                .person_state("a", 1, false)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=2 paused",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        (
            "a person with paused = false is never counted or paused",
            case()
                .never_paused("a")
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &["record a-b booked declined:a", "cancel a-b declined:a"],
        ),
        (
            "a decline whose occurrences are all inside the notice waits",
            case()
                .now(LAST_WEEK)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "wait a-b declined:a",
            ],
        ),
        (
            "a decline after every occurrence took place is cleared",
            case().now(AFTER).with(declined.clone()),
            &["record a-b booked finished"],
        ),
        (
            "a withdrawn decline clears the mark",
            case()
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["record a-b booked answers"],
        ),
        (
            "a withdrawn decline of a person counted once is not counted again",
            case()
                .person_state("a", 1, false)
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["person a declines=0", "record a-b booked answers"],
        ),
        (
            "a new acceptance resets the count",
            case()
                .person_state("a", 1, false)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["person a declines=0", "record a-b booked answers"],
        ),
        (
            "an acceptance read again does not reset the count",
            case()
                .person_state("a", 1, false)
                .with(accepted.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &[],
        ),
        // Removal and pause.
        (
            "a person removed from the configuration: their series is cancelled before the term",
            case().configured("b c d").booked("a-b"),
            &["cancel a-b removed:a"],
        ),
        (
            "a person removed during the term: the series ends after its held occurrences",
            case().now(DURING).configured("b c d").booked("a-b"),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "a fresh state never treats anyone as removed",
            case().roster(None).configured("c d").booked("a-b"),
            &[],
        ),
        (
            "someone never in the roster is not removed",
            case().roster(Some("b c d")).configured("b c d").booked("a-b"),
            &[],
        ),
        (
            "a person paused in the configuration: their series is cancelled",
            case().paused_in_config("b").booked("a-b"),
            &["cancel a-b paused:b"],
        ),
        (
            "a person liaison paused: their series ends",
            case().now(DURING).person_state("a", 2, true).booked("a-b"),
            &["end a-b keep=2 paused:a"],
        ),
        (
            "paused = false lifts liaison's pause",
            case().never_paused("a").person_state("a", 2, true).booked("a-b"),
            &["person a declines=0"],
        ),
        (
            "nothing is ended inside the notice: the last week's occurrence stays",
            case().now(LAST_WEEK).configured("b c d").booked("a-b"),
            &["wait a-b removed:a"],
        ),
        (
            "a removed person's series that has fully taken place is nothing",
            case().now(AFTER).configured("b c d").booked("a-b"),
            &[],
        ),
        (
            "a moved occurrence inside the notice keeps the whole series this cycle",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-17T09:00:00Z"))),
            ),
            &["wait a-b removed:a"],
        ),
        (
            "a moved occurrence after the notice does not stop the end",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-25T09:00:00Z"))),
            ),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an earlier declined occurrence left at its time does not stop the end",
            case()
                .now(DURING)
                .configured("b c d")
                .booked("a-b")
                .handled("a-b", 0, Some(half_hour(occ(0)))),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an occurrence moved earlier and already over does not stop the end",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                1,
                Some(half_hour(ts("2027-03-16T09:00:00Z"))),
            ),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an occurrence moved this cycle into the notice keeps the series this cycle",
            case().now(DURING).configured("b c d").booked("a-b").occurrence(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-17T09:00:00Z"))),
                false,
                None,
            ),
            &["occurrence a-b_3 occurrence moved by a person", "wait a-b removed:a"],
        ),
        (
            "a decline of another installation's unmarked event is not counted",
            case()
                .with(foreign_unmarked.clone())
                .seen(cal("a-b", true, None), &[("a", Declined)]),
            &[],
        ),
        (
            "our pending intent beaten by another installation's insert becomes theirs",
            case().with(pending.clone()).seen(cal("a-b", true, Some(OTHER)), &[]),
            &["record a-b booked foreign:other"],
        ),
        (
            "an event that could not be read on a full read is not taken for deleted",
            case().booked("a-b").full().unreadable("a-b"),
            &[],
        ),
        (
            "a series missing from a full read after all its meetings took place is nothing",
            case().now(AFTER).booked("a-b").full(),
            &[],
        ),
        (
            "an unmarked series with only one of its people configured is not ours",
            case().configured("a c d").seen(cal("a-b", true, None), &[]),
            &["record a-b booked foreign:(unmarked)"],
        ),
        (
            "another installation's series cancelled on the calendar is recorded as such",
            case()
                .with(foreign_known.clone())
                .seen(cal("a-b", false, Some(OTHER)), &[]),
            &["record a-b cancelled foreign:other"],
        ),
        (
            "our booked series showing another installation's marker stays ours",
            case().booked("a-b").seen(cal("a-b", true, Some(OTHER)), &[]),
            &[],
        ),
        (
            "an abandoned id reported cancelled is nothing",
            case()
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", false, Some(ME)), &[]),
            &[],
        ),
        (
            "an unwanted late landing reported again is only removed",
            case()
                .with(rec("a-b", SeriesState::Unwanted))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["cancel a-b late"],
        ),
        // Pending intents.
        (
            "a pending intent the calendar has is booked",
            case().with(pending.clone()).lookup("a-b", Some(true)),
            &["record a-b booked landed"],
        ),
        (
            "a pending intent found cancelled is recorded cancelled",
            case().with(pending.clone()).lookup("a-b", Some(false)),
            &["record a-b cancelled landed"],
        ),
        (
            "a pending intent missing within the write timeout stays pending",
            case().with(pending.clone()).lookup("a-b", None),
            &[],
        ),
        (
            "a pending intent missing after the write timeout is abandoned",
            case().with(pending_old.clone()).lookup("a-b", None),
            &["record a-b abandoned abandoned"],
        ),
        (
            "a pending intent whose lookup failed stays pending",
            case().with(pending_old.clone()),
            &[],
        ),
        (
            "a pending intent reported by the change feed is booked",
            case().with(pending.clone()).seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b booked landed"],
        ),
        (
            "a late landing of an abandoned intent is removed",
            case()
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b unwanted landedlate", "cancel a-b late"],
        ),
        (
            "a late landing found during the term ends after what was held",
            case()
                .now(DURING)
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b unwanted landedlate", "end a-b keep=2 late"],
        ),
        (
            "a late landing whose removal was refused is removed on a later cycle",
            case().with(rec("a-b", SeriesState::Unwanted)),
            &["cancel a-b late"],
        ),
        (
            "a late landing deleted by a person meanwhile is recorded",
            case()
                .with(rec("a-b", SeriesState::Unwanted))
                .seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled deletedbyperson"],
        ),
        // Single occurrences.
        (
            "a declined occurrence is moved",
            case()
                .now(DURING)
                .booked("a-b")
                .occurrence("a-b", 3, Some(half_hour(occ(3))), false, Some("a")),
            &["move a-b_3 by a"],
        ),
        (
            "a declined occurrence inside the notice is left",
            case()
                .now(LAST_WEEK)
                .booked("a-b")
                .occurrence("a-b", 3, Some(half_hour(occ(3))), false, Some("a")),
            &["occurrence a-b_3 declined occurrence not moved: it starts inside min_notice"],
        ),
        (
            "an occurrence a person moved is accepted",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, Some(half_hour(ts("2027-03-16T10:00:00Z"))), false, None),
            &["occurrence a-b_1 occurrence moved by a person"],
        ),
        (
            "an occurrence a person cancelled is left as is",
            case().booked("a-b").occurrence("a-b", 1, None, true, None),
            &["occurrence a-b_1 occurrence cancelled by a person"],
        ),
        (
            "an occurrence already dealt with is nothing",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, None, true, None)
                .handled("a-b", 1, None),
            &[],
        ),
        (
            "an occurrence reported twice is dealt with once",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, None, true, None)
                .occurrence("a-b", 1, None, true, None),
            &["occurrence a-b_1 occurrence cancelled by a person"],
        ),
        (
            "an occurrence of another installation's series is nothing",
            case()
                .with(foreign_known.clone())
                .occurrence("a-b", 1, None, true, None),
            &[],
        ),
        (
            "an occurrence of an unknown series is nothing",
            case().occurrence("x-y", 1, None, true, None),
            &[],
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, c, expected) in &cases {
        let got = c.decide();
        if got != *expected {
            failures.push(format!("{name}:\n  expected {expected:?}\n  got      {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Actions for the check table.
fn end(pair: &str, keep: u32, until_k: i64) -> Action {
    Action::End {
        record: rec(pair, SeriesState::Booked),
        until: occ(until_k),
        keep,
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    }
}

fn cancel(pair: &str) -> Action {
    Action::Cancel {
        record: rec(pair, SeriesState::Booked),
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    }
}

fn owned_by(mut action: Action, instance: &str) -> Action {
    match &mut action {
        Action::End { record, .. }
        | Action::Cancel { record, .. }
        | Action::Move { record, .. }
        | Action::Book { record } => record.instance = Some(instance.into()),
        _ => {}
    }
    action
}

fn unmarked(mut action: Action) -> Action {
    if let Action::Cancel { record, .. } = &mut action {
        record.instance = None;
    }
    action
}

fn missing(pair: &str) -> Action {
    Action::Record {
        record: rec(pair, SeriesState::Cancelled),
        why: RecordWhy::Missing,
    }
}

fn guard(now: &str, booked: usize, allow: bool) -> (Timestamp, usize, bool) {
    (ts(now), booked, allow)
}

fn run_check(actions: Vec<Action>, (now, booked, allow): (Timestamp, usize, bool)) -> (Vec<String>, Vec<String>) {
    let g = Guard {
        instance: ME,
        cutoff: now.checked_add(SignedDuration::from_hours(24)).unwrap(),
        max_cancel_per_cycle: 5,
        allow_mass_cancel: allow,
        booked,
    };
    let checked = check(actions, &g);
    let refused = checked
        .refused
        .iter()
        .map(|(a, why)| {
            let why = match why {
                Refusal::NotOurs(_) => "not-ours",
                Refusal::InsideNotice(_) => "notice",
                Refusal::MassCancel { .. } => "mass",
            };
            format!("{} {why}", brief(a))
        })
        .collect();
    (checked.allowed.iter().map(brief).collect(), refused)
}

fn many_cancels(n: usize) -> Vec<Action> {
    (0..n).map(|i| cancel(&format!("p{i}-q{i}"))).collect()
}

#[test]
fn check_table() {
    let pairs = |v: Vec<String>| v.len();
    let before = "2027-03-01T12:00:00Z";
    let moved_inside = Action::End {
        record: rec("a-b", SeriesState::Booked),
        until: occ(1),
        keep: 2,
        moved: vec![half_hour(ts("2027-03-17T09:00:00Z"))],
        why: EndWhy::Removed(email("a")),
    };
    let mut booking = rec("a-b", SeriesState::Pending);
    booking.request.start = date(2027, 3, 1).to_datetime(time(13, 0, 0, 0));
    let book_inside = Action::Book { record: booking };
    let move_inside = Action::Move {
        record: rec("a-b", SeriesState::Booked),
        occurrence: "a-b_0".into(),
        original: occ(0),
        at: half_hour(occ(0)),
        who: email("a"),
    };
    // name, actions, (now, booked, allowed), how many pass, what is refused
    type Row<'a> = (&'a str, Vec<Action>, (Timestamp, usize, bool), usize, &'a [&'a str]);
    let cases: Vec<Row> = vec![
        (
            "a cancel before the term is allowed",
            vec![cancel("a-b")],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "an end after the held occurrences is allowed",
            vec![end("a-b", 2, 1)],
            guard(DURING, 40, false),
            1,
            &[],
        ),
        (
            "an end that would remove an occurrence inside the notice is refused",
            vec![end("a-b", 1, 0)],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=1 removed:a notice"],
        ),
        (
            "a cancel of a series under way is refused",
            vec![cancel("a-b")],
            guard(DURING, 40, false),
            0,
            &["cancel a-b removed:a notice"],
        ),
        (
            "an end with a moved occurrence inside the notice is refused",
            vec![moved_inside],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=2 removed:a notice"],
        ),
        (
            "a move of an occurrence inside the notice is refused",
            vec![move_inside],
            guard("2027-03-07T12:00:00Z", 40, false),
            0,
            &["move a-b_0 by a notice"],
        ),
        (
            "a booking inside the notice is refused",
            vec![book_inside],
            guard(before, 40, false),
            0,
            &["book a-b notice"],
        ),
        (
            "another installation's series is never ended",
            vec![owned_by(end("a-b", 2, 1), OTHER)],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=2 removed:a not-ours"],
        ),
        (
            "another installation's series is never cancelled",
            vec![owned_by(cancel("a-b"), OTHER)],
            guard(before, 40, false),
            0,
            &["cancel a-b removed:a not-ours"],
        ),
        (
            "a record of this installation is cancelled",
            vec![owned_by(cancel("a-b"), ME)],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "a record without a marker (written before markers) is this installation's",
            vec![unmarked(cancel("a-b"))],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "series missing from a full read count in the guard",
            (0..6).map(|i| missing(&format!("p{i}-q{i}"))).collect(),
            guard(before, 40, false),
            0,
            &["mass"; 6],
        ),
        (
            "a booking whose first occurrence is exactly at the cutoff passes",
            vec![Action::Book {
                record: rec("a-b", SeriesState::Pending),
            }],
            guard("2027-03-07T10:00:00Z", 40, false),
            1,
            &[],
        ),
        (
            "five removals pass the default limit",
            many_cancels(5),
            guard(before, 40, false),
            5,
            &[],
        ),
        (
            "six removals of forty booked are refused together",
            many_cancels(6),
            guard(before, 40, false),
            0,
            &["mass"; 6],
        ),
        (
            "six removals of a hundred booked (6 %) pass",
            many_cancels(6),
            guard(before, 100, false),
            6,
            &[],
        ),
        (
            "six removals of sixty booked (exactly 10 %) pass",
            many_cancels(6),
            guard(before, 60, false),
            6,
            &[],
        ),
        (
            "a confirmed mass cancel passes",
            many_cancels(6),
            guard(before, 40, true),
            6,
            &[],
        ),
        (
            "bookings go on while removals are refused",
            {
                let mut v = many_cancels(6);
                v.push(Action::Book {
                    record: rec("c-d", SeriesState::Pending),
                });
                v
            },
            guard(before, 40, false),
            1,
            &["mass"; 6],
        ),
    ];
    let mut failures = Vec::new();
    for (name, actions, g, allowed, refused) in cases {
        let (got_allowed, got_refused) = run_check(actions, g);
        let refused_ok = if refused.iter().all(|r| *r == "mass") && !refused.is_empty() {
            got_refused.len() == refused.len() && got_refused.iter().all(|r| r.ends_with(" mass"))
        } else {
            got_refused == refused
        };
        if pairs(got_allowed.clone()) != allowed || !refused_ok {
            failures.push(format!("{name}: allowed {got_allowed:?}, refused {got_refused:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ending_keeps_what_started_or_is_inside_the_notice() {
    let r = request("a-b");
    let cases: Vec<(&str, Timestamp, Vec<Interval>, Ending)> = vec![
        ("before the term", ts("2027-03-01T00:00:00Z"), vec![], Ending::Delete),
        (
            "the first occurrence inside the notice",
            ts("2027-03-08T11:00:00Z"),
            vec![],
            Ending::After { until: occ(0), keep: 1 },
        ),
        (
            "two held",
            ts("2027-03-17T12:00:00Z"),
            vec![],
            Ending::After { until: occ(1), keep: 2 },
        ),
        (
            "the last inside the notice",
            ts("2027-03-29T11:00:00Z"),
            vec![],
            Ending::Nothing,
        ),
        (
            "a moved one inside the notice",
            ts("2027-03-10T00:00:00Z"),
            vec![half_hour(ts("2027-03-09T20:00:00Z"))],
            Ending::Nothing,
        ),
        (
            "a moved one after the notice",
            ts("2027-03-10T00:00:00Z"),
            vec![half_hour(ts("2027-03-24T01:00:00Z"))],
            Ending::After { until: occ(0), keep: 1 },
        ),
    ];
    for (name, cutoff, moved, want) in cases {
        assert_eq!(ending(&r, &moved, cutoff), want, "{name}");
    }
}

#[test]
fn occurrences_follow_the_wall_clock_of_the_series_zone_across_dst() {
    let mut r = request("a-b");
    r.zone = "America/New_York".into();
    r.start = date(2027, 3, 8).to_datetime(time(9, 0, 0, 0));
    let starts = occurrence_starts(&r);
    // 2027-03-14 is the US change: 14:00Z before, 13:00Z after.
    assert_eq!(starts[0], ts("2027-03-08T14:00:00Z"));
    assert_eq!(starts[1], ts("2027-03-15T13:00:00Z"));
    assert_eq!(starts.len(), 4);
}

#[test]
fn the_roster_keeps_removed_people_until_their_series_end() {
    let people: Vec<Person> = ["b", "c"].into_iter().map(person).collect();
    let last: BTreeSet<String> = ["a", "b", "c", "d"].into_iter().map(email).collect();
    let records = vec![rec("a-b", SeriesState::Booked), rec("c-d", SeriesState::Cancelled)];
    let now = ts("2027-03-01T12:00:00Z");
    let roster = next_roster(&people, Some(&last), &records, now);
    let want: BTreeSet<String> = ["a", "b", "c"].into_iter().map(email).collect();
    assert_eq!(roster, want, "a's series is still booked; d's was ended");
    let fresh = next_roster(&people, None, &records, now);
    let pending = vec![rec("a-b", SeriesState::Pending)];
    assert!(
        next_roster(&people, Some(&last), &pending, now).contains(&email("a")),
        "a pending series (its insert may yet land) keeps a removed person too"
    );
    let later = next_roster(&people, Some(&last), &records, ts(AFTER));
    assert_eq!(
        later,
        ["b", "c"].into_iter().map(email).collect::<BTreeSet<_>>(),
        "once its series has taken place"
    );
    assert_eq!(fresh, ["b", "c"].into_iter().map(email).collect::<BTreeSet<_>>());
}

#[test]
fn refused_pairs_back_off_then_are_left_for_the_term() {
    let now = ts("2027-03-01T12:00:00Z");
    let every = SignedDuration::from_mins(15);
    assert_eq!(refusal_retry_at(now, every, 1), ts("2027-03-01T12:15:00Z"));
    assert_eq!(refusal_retry_at(now, every, 2), ts("2027-03-01T12:30:00Z"));
    assert_eq!(refusal_retry_at(now, every, 3), ts("2027-03-01T13:00:00Z"));
    let mut r = rec("a-b", SeriesState::Failed);
    r.refusals = 1;
    r.retry_at = Some(ts("2027-03-01T12:15:00Z"));
    assert!(refusal_blocks(&r, now), "waiting out the backoff");
    assert!(
        !refusal_blocks(&r, ts("2027-03-01T12:15:00Z")),
        "tried again once it has passed"
    );
    r.refusals = 3;
    assert!(
        refusal_blocks(&r, ts("2027-03-02T00:00:00Z")),
        "left for the term after three"
    );
    assert!(!refusal_blocks(&rec("a-b", SeriesState::Booked), now));
}

#[test]
fn schedule_changes_must_fit_the_booked_series() {
    let booked = vec![rec("a-b", SeriesState::Booked)]; // 2027-03-08, 4 weeks, last 03-29
    let ended = vec![rec("a-b", SeriesState::Cancelled)];
    // name, new first term, new weeks, records, accepted
    type Row<'a> = (&'a str, jiff::civil::Date, u32, &'a [SeriesRecord], bool);
    let cases: Vec<Row> = vec![
        ("the same schedule", date(2027, 3, 8), 4, &booked, true),
        (
            "the same terms named by an earlier first term",
            date(2027, 2, 8),
            4,
            &booked,
            true,
        ),
        (
            "a first term moved into the booked term",
            date(2027, 3, 15),
            4,
            &booked,
            false,
        ),
        (
            "shorter terms under a four-week series",
            date(2027, 3, 8),
            2,
            &booked,
            false,
        ),
        (
            "a first term after the booked series end",
            date(2027, 4, 5),
            2,
            &booked,
            true,
        ),
        (
            "a first term on the day of the last occurrence",
            date(2027, 3, 29),
            1,
            &booked,
            false,
        ),
        ("nothing booked", date(2027, 3, 15), 2, &[], true),
        ("only ended series", date(2027, 3, 15), 2, &ended, true),
    ];
    for (name, first, weeks, records, ok) in cases {
        let got = check_schedule_change(first, weeks, records);
        assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        if let Err(message) = got {
            assert!(message.contains("2027-04-05"), "names the first safe Monday: {message}");
        }
    }
}

#[test]
fn an_ended_record_keeps_what_was_held_and_forgets_the_decline() {
    let mut booked = rec("a-b", SeriesState::Booked);
    booked.declined_by = Some(email("a"));
    let end = Action::End {
        record: booked.clone(),
        until: occ(1),
        keep: 2,
        moved: vec![],
        why: EndWhy::Declined(email("a")),
    };
    let ended = ended_record(&end).unwrap();
    assert_eq!(
        (ended.state, ended.request.count, ended.declined_by),
        (SeriesState::Cancelled, 2, None)
    );
    let cancel = Action::Cancel {
        record: booked,
        moved: vec![],
        why: EndWhy::Removed(email("b")),
    };
    assert_eq!(ended_record(&cancel).unwrap().request.count, 0);
    assert_eq!(
        ended_record(&Action::Book {
            record: rec("c-d", SeriesState::Pending)
        }),
        None
    );
}

#[test]
fn actions_and_refusals_say_what_and_why_in_the_log() {
    let end = Action::End {
        record: rec("a-b", SeriesState::Booked),
        until: occ(1),
        keep: 2,
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    };
    let text = end.to_string();
    assert!(
        text.contains("a@x & b@x")
            && text.contains("keeps 2 of 4")
            && text.contains("a@x is no longer in the configuration"),
        "{text}"
    );
    let record = Action::Record {
        record: rec("a-b", SeriesState::Cancelled),
        why: RecordWhy::DeletedByPerson,
    };
    assert!(
        record.to_string().contains("deleted on the calendar by a person"),
        "{record}"
    );
    assert!(EndWhy::LateLanding.to_string().contains("given up"));
    assert!(EndWhy::Paused(email("b")).to_string().contains("b@x is paused"));
    let mass = Refusal::MassCancel {
        count: 6,
        limit: 5,
        booked: 40,
    };
    let text = mass.to_string();
    assert!(
        text.contains("6 of 40") && text.contains("max_cancel_per_cycle = 5") && text.contains("--allow-mass-cancel"),
        "{text}"
    );
    assert!(
        Refusal::NotOurs(OTHER.into())
            .to_string()
            .contains("installation other")
    );
}

//! `decide`: the repairs of a cycle, from the store and what the calendar
//! reported, as actions with their reasons.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::interval::Interval;
use crate::model::{AttendeeResponse, BookedSeries, Changes};
use crate::plan::Person;
use crate::series::{HandledOccurrence, MAX_REFUSALS, PersonState, SeriesRecord, SeriesState};
use crate::term::Term;

use super::action::*;
use super::occurrences::*;

/// Everything [`decide`] looks at.
pub struct Facts<'a> {
    /// The planning clock.
    pub now: Timestamp,
    /// `now + schedule.min_notice`: nothing starting before it is touched.
    pub cutoff: Timestamp,
    /// The real clock, for intents in flight (never a test's fixed `now`).
    pub wall_now: Timestamp,
    /// How long after an insert was sent the calendar may still apply it.
    pub write_timeout: SignedDuration,
    /// This installation's `calendar.instance`.
    pub instance: &'a str,
    pub first_term: Date,
    pub term_weeks: u32,
    /// The configured people.
    pub people: &'a [Person],
    /// People whose entry says `paused = false`: never paused by liaison.
    pub never_paused: &'a BTreeSet<String>,
    pub pause_after_declines: u32,
    /// The people the state last saw configured; `None` for a fresh state
    /// (then nobody counts as removed).
    pub last_roster: Option<&'a BTreeSet<String>>,
    /// The store's series, by event id.
    pub records: &'a BTreeMap<String, SeriesRecord>,
    /// The store's people (only those liaison knows something about).
    pub person_states: &'a BTreeMap<String, PersonState>,
    /// Changed occurrences already dealt with, by occurrence id.
    pub handled: &'a BTreeMap<String, HandledOccurrence>,
    /// What the calendar reported since the last cycle.
    pub changes: &'a Changes,
    /// For each pending intent looked up: the series found, or `None` when
    /// the calendar does not have it. A failed lookup is absent.
    pub lookups: &'a BTreeMap<String, Option<BookedSeries>>,
}

/// The record of a series found on the calendar; one without a marker is
/// taken as this installation's (`decide` only calls this for its own).
pub fn record_from_calendar(facts: &Facts, series: &BookedSeries) -> SeriesRecord {
    let mut record = series_record(facts.people, facts.first_term, facts.term_weeks, series);
    record.instance = Some(series.instance.clone().unwrap_or_else(|| facts.instance.to_string()));
    record
}

/// The record of a series as the calendar has it: its units from the
/// configured people, its term's index, booked or cancelled, and the
/// installation its marker names (`None` when it has none).
pub fn series_record(people: &[Person], first_term: Date, term_weeks: u32, series: &BookedSeries) -> SeriesRecord {
    let unit_of = |email: &str| {
        people
            .iter()
            .find(|p| p.email == email)
            .map_or_else(String::new, |p| p.unit.clone())
    };
    let request = series.request.clone();
    let term_index = Term::containing(first_term, term_weeks, request.term).map_or(0, |t| t.index);
    let mut record = SeriesRecord::new(
        request,
        term_index,
        (unit_of(&series.request.pair.0), unit_of(&series.request.pair.1)),
        if series.active {
            SeriesState::Booked
        } else {
            SeriesState::Cancelled
        },
    );
    record.instance = series.instance.clone();
    record
}

/// The cycle's repairs: what changed on the calendar recorded, pending
/// intents resolved, changed occurrences dealt with, and the series that
/// must end (declined, a person removed or paused, a late landing).
/// Bookings come from planning afterwards (`crate::cycle` plans and books).
pub fn decide(facts: &Facts) -> Vec<Action> {
    let mut d = Decider {
        facts,
        records: facts.records.clone(),
        people: facts.person_states.clone(),
        actions: Vec::new(),
    };
    d.read_series();
    d.read_deleted();
    d.read_missing();
    d.resolve_pending();
    d.occurrences();
    d.lift_pauses();
    d.ends();
    d.actions
}

struct Decider<'a> {
    facts: &'a Facts<'a>,
    /// The store as the actions so far leave it.
    records: BTreeMap<String, SeriesRecord>,
    people: BTreeMap<String, PersonState>,
    actions: Vec<Action>,
}

impl Decider<'_> {
    fn record(&mut self, record: SeriesRecord, why: RecordWhy) {
        self.records.insert(record.request.event_id.clone(), record.clone());
        self.actions.push(Action::Record { record, why });
    }

    fn person(&mut self, email: &str, state: PersonState, note: String) {
        self.people.insert(email.to_string(), state.clone());
        self.actions.push(Action::Person {
            email: email.to_string(),
            state,
            note,
        });
    }

    /// Whether an event the calendar reported is this installation's: its
    /// marker says so, or it has none (written before markers) and either the
    /// store knows it or both its people are configured here.
    fn ours(&self, series: &BookedSeries) -> bool {
        match &series.instance {
            Some(i) => i == self.facts.instance,
            None => {
                let configured = |e: &str| self.facts.people.iter().any(|p| p.email == e);
                let (a, b) = &series.request.pair;
                match self.records.get(&series.request.event_id) {
                    Some(known) => known.owned_by(self.facts.instance),
                    None => configured(a) && configured(b),
                }
            }
        }
    }

    fn read_series(&mut self) {
        let facts = self.facts;
        for details in &facts.changes.series {
            let series = &details.series;
            let id = series.request.event_id.clone();
            let found = record_from_calendar(facts, series);
            if !self.ours(series) {
                let known = self.records.get(&id);
                let changed = known.is_none_or(|k| (k.state, &k.request) != (found.state, &found.request));
                // Our intent of the same id that another installation's insert
                // beat (a 409 whose lookup the process did not live to make).
                let lost_race = known.is_some_and(|k| {
                    k.owned_by(facts.instance) && matches!(k.state, SeriesState::Pending | SeriesState::Abandoned)
                });
                if lost_race || (changed && known.is_none_or(|k| !k.owned_by(facts.instance))) {
                    let owner = series.instance.clone().unwrap_or_else(|| UNMARKED.to_string());
                    let mut record = found;
                    record.instance = Some(owner.clone());
                    self.record(record, RecordWhy::Foreign(owner));
                }
                continue;
            }
            let ended_by_us = facts.changes.ended.contains(&id);
            let Some(known) = self.records.get(&id).cloned() else {
                let mut found = found;
                if ended_by_us {
                    found.state = SeriesState::Cancelled;
                }
                self.record(found, RecordWhy::Adopted);
                continue;
            };
            match known.state {
                SeriesState::Cancelled => {}
                SeriesState::Abandoned if series.active => {
                    let mut record = known.clone();
                    record.request = landed(&record.request, &series.request);
                    record.state = SeriesState::Unwanted;
                    self.record(record, RecordWhy::LandedLate);
                }
                SeriesState::Abandoned => {}
                SeriesState::Unwanted if !series.active => {
                    let mut record = known.clone();
                    record.state = SeriesState::Cancelled;
                    self.record(record, RecordWhy::DeletedByPerson);
                }
                SeriesState::Unwanted => {}
                SeriesState::Pending | SeriesState::Failed => {
                    let mut record = known.clone();
                    record.request = landed(&record.request, &series.request);
                    record.state = found.state;
                    record.intent_at = None;
                    self.record(record, RecordWhy::Landed);
                }
                SeriesState::Booked if !series.active => {
                    let mut record = known.clone();
                    record.state = SeriesState::Cancelled;
                    record.declined_by = None;
                    self.record(record, RecordWhy::DeletedByPerson);
                }
                // An end of ours the store did not record: what ending records.
                SeriesState::Booked if ended_by_us => {
                    let mut record = known.clone();
                    record.state = SeriesState::Cancelled;
                    record.declined_by = None;
                    record.request.count = series.request.count;
                    self.record(record, RecordWhy::EndedByLiaison);
                }
                SeriesState::Booked => self.booked_changed(known, series, &details.responses),
            }
        }
    }

    /// A booked series the calendar reported again: a person's change to it,
    /// its attendees' answers, a whole-series decline.
    fn booked_changed(
        &mut self,
        known: SeriesRecord,
        series: &BookedSeries,
        responses: &BTreeMap<String, AttendeeResponse>,
    ) {
        let mut record = known.clone();
        let (a, b) = record.request.pair.clone();
        let r = &series.request;
        let mut why = None;
        if (r.start, &r.zone, r.duration, r.count)
            != (
                known.request.start,
                &known.request.zone,
                known.request.duration,
                known.request.count,
            )
        {
            record.request.start = r.start;
            record.request.zone = r.zone.clone();
            record.request.duration = r.duration;
            record.request.count = r.count;
            why = Some(RecordWhy::ChangedByPerson);
        }
        let answers: BTreeMap<String, AttendeeResponse> = [&a, &b]
            .into_iter()
            .filter_map(|e| responses.get(e).map(|r| (e.clone(), *r)))
            .collect();
        for email in [&a, &b] {
            let now_accepted = answers.get(email) == Some(&AttendeeResponse::Accepted);
            let was_accepted = known.responses.get(email) == Some(&AttendeeResponse::Accepted);
            let state = self.people.get(email).cloned().unwrap_or_default();
            // Only a new acceptance resets the count (not one read again).
            if now_accepted && !was_accepted && state.declines_in_a_row > 0 && !state.paused {
                self.person(
                    email,
                    PersonState {
                        declines_in_a_row: 0,
                        paused: false,
                    },
                    "accepted a series; declines in a row reset".into(),
                );
            }
        }
        let decliner = [&a, &b]
            .into_iter()
            .find(|e| answers.get(*e) == Some(&AttendeeResponse::Declined))
            .cloned();
        if answers != known.responses {
            record.responses = answers;
            why = why.or(Some(RecordWhy::Answers));
        }
        if decliner != known.declined_by {
            if let Some(who) = &decliner {
                self.count_decline(who);
                why = Some(RecordWhy::Declined(who.clone()));
            }
            record.declined_by = decliner;
            why = why.or(Some(RecordWhy::Answers));
        }
        if let Some(why) = why {
            self.record(record, why);
        }
    }

    /// A newly declined series: counts towards pausing the person.
    fn count_decline(&mut self, who: &str) {
        if self.facts.never_paused.contains(who) {
            return;
        }
        let mut state = self.people.get(who).cloned().unwrap_or_default();
        if state.paused {
            return;
        }
        state.declines_in_a_row += 1;
        let limit = self.facts.pause_after_declines;
        let note = if limit > 0 && state.declines_in_a_row >= limit {
            state.paused = true;
            format!(
                "person paused after declining {} series in a row; set `paused = false` on their entry to resume",
                state.declines_in_a_row
            )
        } else {
            format!("declined {} series in a row", state.declines_in_a_row)
        };
        self.person(who, state, note);
    }

    fn read_deleted(&mut self) {
        for id in &self.facts.changes.deleted_ids {
            if let Some(known) = self.records.get(id).cloned()
                && matches!(known.state, SeriesState::Booked | SeriesState::Pending)
                && known.owned_by(self.facts.instance)
            {
                let mut record = known;
                record.state = SeriesState::Cancelled;
                record.declined_by = None;
                self.record(record, RecordWhy::DeletedByPerson);
            }
        }
    }

    /// After a full read, a booked series the calendar no longer lists was
    /// deleted by someone (Google forgets deleted events after a while).
    fn read_missing(&mut self) {
        let changes = self.facts.changes;
        if !changes.full {
            return;
        }
        let listed: BTreeSet<&str> = changes
            .series
            .iter()
            .map(|d| d.series.request.event_id.as_str())
            .chain(changes.deleted_ids.iter().map(String::as_str))
            .chain(changes.unreadable.iter().map(String::as_str))
            .collect();
        let missing: Vec<SeriesRecord> = self
            .records
            .values()
            .filter(|r| r.state == SeriesState::Booked && r.owned_by(self.facts.instance))
            .filter(|r| !listed.contains(r.request.event_id.as_str()))
            // One whose meetings have all taken place changes nothing now.
            .filter(|r| occurrence_starts(&r.request).iter().any(|&s| s >= self.facts.now))
            .cloned()
            .collect();
        for mut record in missing {
            record.state = SeriesState::Cancelled;
            record.declined_by = None;
            self.record(record, RecordWhy::Missing);
        }
    }

    /// Pending intents: booked (or cancelled) when the calendar has them;
    /// given up only once the calendar's write timeout has passed since the
    /// intent was flushed (an insert in flight may still land); kept pending,
    /// its two people reserved, until then.
    fn resolve_pending(&mut self) {
        let facts = self.facts;
        let pending: Vec<SeriesRecord> = self
            .records
            .values()
            .filter(|r| r.state == SeriesState::Pending)
            .cloned()
            .collect();
        for known in pending {
            let id = &known.request.event_id;
            let mut record = known.clone();
            match facts.lookups.get(id) {
                Some(Some(series)) => {
                    record.request = landed(&record.request, &series.request);
                    record.state = if series.active {
                        SeriesState::Booked
                    } else {
                        SeriesState::Cancelled
                    };
                    record.intent_at = None;
                    self.record(record, RecordWhy::Landed);
                }
                Some(None) => {
                    let settled = known
                        .intent_at
                        .and_then(|at| at.checked_add(facts.write_timeout).ok())
                        .is_none_or(|deadline| facts.wall_now >= deadline);
                    if settled {
                        record.state = SeriesState::Abandoned;
                        self.record(record, RecordWhy::Abandoned);
                    }
                }
                None => {}
            }
        }
    }

    fn occurrences(&mut self) {
        let facts = self.facts;
        let mut seen = BTreeSet::new();
        for (series_id, occurrence) in &facts.changes.occurrences {
            let id = occurrence.instance_id.as_str();
            if facts.handled.contains_key(id) || !seen.insert(id) {
                continue;
            }
            let Some(record) = self.records.get(series_id).cloned() else {
                continue;
            };
            if record.state != SeriesState::Booked || !record.owned_by(facts.instance) {
                continue;
            }
            let (a, b) = record.request.pair.clone();
            let decliner = [a, b]
                .into_iter()
                .find(|e| occurrence.responses.get(e) == Some(&AttendeeResponse::Declined));
            let handled = |note: &str, at: Option<Interval>| Action::Occurrence {
                id: id.to_string(),
                handled: HandledOccurrence {
                    series: series_id.clone(),
                    note: note.to_string(),
                    at,
                    original: Some(occurrence.original_start),
                },
            };
            let skipped = occurrence.cancelled && skips(&record.request, occurrence.original_start);
            let action = match (occurrence.cancelled, decliner, occurrence.interval) {
                // Cancelled by liaison itself (Microsoft: a skipped week).
                (true, _, _) if skipped => handled("occurrence skipped (a day without connections)", None),
                (true, _, _) => handled("occurrence cancelled by a person; left as is", None),
                (false, Some(_), Some(at)) if at.start < facts.cutoff => {
                    handled("declined occurrence not moved: it starts inside min_notice", Some(at))
                }
                (false, Some(who), Some(at)) => Action::Move {
                    record,
                    occurrence: id.to_string(),
                    original: occurrence.original_start,
                    at,
                    who,
                },
                (false, None, Some(at)) if at.start != occurrence.original_start => {
                    handled("occurrence moved by a person; accepted as the new time", Some(at))
                }
                _ => continue,
            };
            self.actions.push(action);
        }
    }

    /// A pause liaison put on someone whose entry now says `paused = false`.
    fn lift_pauses(&mut self) {
        for email in self.facts.never_paused {
            if self.people.get(email).is_some_and(|s| s.paused) {
                self.person(
                    email,
                    PersonState::default(),
                    "pause lifted: the configuration says paused = false".into(),
                );
            }
        }
    }

    /// Why `record` must end, if it must.
    fn end_reason(&self, record: &SeriesRecord) -> Option<EndWhy> {
        if record.state == SeriesState::Unwanted {
            return Some(EndWhy::LateLanding);
        }
        if let Some(who) = &record.declined_by {
            return Some(EndWhy::Declined(who.clone()));
        }
        let (a, b) = &record.request.pair;
        let configured = |e: &str| self.facts.people.iter().find(|p| p.email == e);
        let removed =
            |e: &str| configured(e).is_none() && self.facts.last_roster.is_some_and(|roster| roster.contains(e));
        if let Some(gone) = [a, b].into_iter().find(|e| removed(e)) {
            return Some(EndWhy::Removed(gone.clone()));
        }
        let paused = |e: &str| configured(e).is_some_and(|p| p.paused) || self.people.get(e).is_some_and(|s| s.paused);
        [a, b]
            .into_iter()
            .find(|e| paused(e))
            .map(|p| EndWhy::Paused(p.clone()))
    }

    fn ends(&mut self) {
        let facts = self.facts;
        let booked: Vec<SeriesRecord> = self
            .records
            .values()
            .filter(|r| matches!(r.state, SeriesState::Booked | SeriesState::Unwanted) && r.owned_by(facts.instance))
            .cloned()
            .collect();
        // Occurrences at another time than the rule's: those dealt with
        // before, and those this cycle just recorded.
        let this_cycle: Vec<HandledOccurrence> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Occurrence { handled, .. } => Some(handled.clone()),
                _ => None,
            })
            .collect();
        for record in booked {
            let Some(why) = self.end_reason(&record) else { continue };
            let id = &record.request.event_id;
            let moved: Vec<Interval> = facts
                .handled
                .values()
                .chain(this_cycle.iter())
                .filter(|h| &h.series == id)
                .filter_map(|h| h.moved_to(facts.now))
                .collect();
            match ending(&record.request, &moved, facts.cutoff) {
                Ending::Delete => self.actions.push(Action::Cancel { record, moved, why }),
                Ending::After { until, keep } => self.actions.push(Action::End {
                    record,
                    until,
                    keep,
                    moved,
                    why,
                }),
                // Every occurrence started or is inside the notice: a decline
                // is done with once the last one has started.
                Ending::Nothing => {
                    let all_started = occurrence_starts(&record.request).iter().all(|&s| s < facts.now)
                        && moved.iter().all(|m| m.start < facts.now);
                    if !all_started {
                        self.actions.push(Action::Wait { record, why });
                    } else if record.declined_by.is_some() {
                        let mut finished = record.clone();
                        finished.declined_by = None;
                        self.record(finished, RecordWhy::Finished);
                    }
                }
            }
        }
    }
}

/// The people the state remembers as configured after a cycle: everyone
/// configured now, and those removed whose series are not ended yet (so a
/// removal survives a refused or failed cycle).
pub fn next_roster(
    people: &[Person],
    last: Option<&BTreeSet<String>>,
    records: &[SeriesRecord],
    now: Timestamp,
) -> BTreeSet<String> {
    let mut roster: BTreeSet<String> = people.iter().map(|p| p.email.clone()).collect();
    let to_come = |r: &SeriesRecord| occurrence_starts(&r.request).iter().any(|&s| s >= now);
    if let Some(last) = last {
        let running = |r: &SeriesRecord| matches!(r.state, SeriesState::Booked | SeriesState::Pending);
        for r in records.iter().filter(|r| running(r) && to_come(r)) {
            for e in [&r.request.pair.0, &r.request.pair.1] {
                if last.contains(e) {
                    roster.insert(e.clone());
                }
            }
        }
    }
    roster
}

/// Whether a pair's earlier refusal keeps it from being planned now:
/// refused [`MAX_REFUSALS`] times (left for the term), or waiting out its
/// backoff.
pub fn refusal_blocks(record: &SeriesRecord, now: Timestamp) -> bool {
    record.state == SeriesState::Failed && (record.refusals >= MAX_REFUSALS || record.retry_at.is_some_and(|t| now < t))
}

/// When a pair refused `refusals` times is tried again: one cycle later,
/// then doubling (1, 2, 4 … times `cycle_every`).
pub fn refusal_retry_at(now: Timestamp, cycle_every: SignedDuration, refusals: u32) -> Timestamp {
    let factor = 1i32 << refusals.saturating_sub(1).min(16);
    let wait = cycle_every.checked_mul(factor).unwrap_or(SignedDuration::MAX);
    now.checked_add(wait).unwrap_or(Timestamp::MAX)
}

/// The request of a series that landed as the calendar reads it back,
/// keeping the skipped weeks `stored` when the read gives none: a provider
/// that cannot read them back (a series written before it marked them)
/// must not wipe them, or its cancelled weeks look cancelled by a person.
fn landed(stored: &crate::model::SeriesRequest, read: &crate::model::SeriesRequest) -> crate::model::SeriesRequest {
    let mut out = read.clone();
    if out.skip.is_empty() {
        out.skip.clone_from(&stored.skip);
    }
    out
}

/// True when `series` skips the occurrence its rule puts at `original`.
fn skips(series: &crate::model::SeriesRequest, original: jiff::Timestamp) -> bool {
    let Ok(tz) = jiff::tz::TimeZone::get(&series.zone) else {
        return false;
    };
    series.skip.iter().any(|dt| tz.to_timestamp(*dt).ok() == Some(original))
}

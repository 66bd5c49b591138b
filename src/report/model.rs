//! The report's content as plain data: a pure function of the data that
//! `history --json` and `status --json` print (and the configured roster), so
//! every number the page shows is one of theirs or counted from them here.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::history::HistoryReport;
use crate::status::{Outcome, Status};
use crate::store::SeriesState;

/// Heat levels of the map's cells above zero (the palette has one colour each).
pub const LEVELS: u8 = 4;
/// How many of the longest waiting people the report names.
pub const WAITING_SHOWN: usize = 10;
/// How many pairs of units that never met the report names (the first, in
/// the matrix's order); the count is of them all. Grows with units squared
/// otherwise (31,125 pairs for 250 units); `history --json` has every one.
pub const NEVER_MET_SHOWN: usize = 100;

/// One configured person, as the report needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub email: String,
    pub name: String,
    pub unit: String,
}

/// What the report is made of.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The organization's zone (`timezone`), for the time of writing.
    pub zone: &'a TimeZone,
    pub zone_name: &'a str,
    pub people: &'a [Member],
    pub history: &'a HistoryReport,
    /// `None` before the first cycle (no `status.json` yet).
    pub status: Option<&'a Status>,
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// When it was written, in the organization's zone ("2027-03-03 12:00").
    pub generated: String,
    /// The organization's zone (IANA name).
    pub zone: String,
    pub summary: Summary,
    pub heatmap: Heatmap,
    /// The first [`NEVER_MET_SHOWN`] pairs of different units that never
    /// met, in the matrix's order.
    pub never_met: Vec<(String, String)>,
    /// How many pairs of different units never met (all of them).
    pub never_met_count: usize,
    /// Oldest first.
    pub terms: Vec<TermRow>,
    /// By name.
    pub people: Vec<PersonRow>,
    /// Emails of the people who waited longest (most terms without a
    /// connection first), at most [`WAITING_SHOWN`], none who waited 0.
    pub waiting: Vec<String>,
    /// The current term's meetings (the next term's before the first starts).
    pub meetings: Option<Meetings>,
    pub last_cycle: Option<LastCycle>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub people: usize,
    pub units: usize,
    pub terms: usize,
    pub connections: usize,
    pub cancelled: usize,
    pub unit_pairs_met: usize,
    pub unit_pairs_possible: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heatmap {
    pub units: Vec<String>,
    /// `cells[i][j]`: `units[i]` with `units[j]` (symmetric).
    pub cells: Vec<Vec<Cell>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub count: u32,
    /// 0 for none, 1..=[`LEVELS`] relative to the largest count.
    pub level: u8,
    /// Two different units that never met: highlighted.
    pub never_met: bool,
    pub same_unit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermRow {
    /// 1 for the first term (`index + 1`, as `history` prints it).
    pub number: i64,
    pub start: Date,
    /// "current", "next" or "" (from `status`).
    pub when: &'static str,
    pub connections: usize,
    pub cancelled: usize,
    /// Connections of pairs that had met in an earlier term.
    pub repeats: usize,
    pub people_connected: usize,
    /// Pairs of different units that met this term.
    pub unit_pairs: usize,
    /// Pairs of different units that have met by the end of this term.
    pub unit_pairs_so_far: usize,
    /// Who the last cycle left unpaired in this term, and why; `None` when the
    /// last cycle did not plan this term (past terms, a next term not due).
    pub unpaired: Option<Vec<Unpaired>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpaired {
    pub name: String,
    pub unit: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRow {
    pub email: String,
    pub name: String,
    pub unit: String,
    /// False for someone in the history but no longer configured.
    pub configured: bool,
    /// Oldest first.
    pub partners: Vec<Partner>,
    /// Terms since the last connection, up to the latest term with any
    /// connection: 0 if connected in it; every term so far if never.
    pub waiting_terms: i64,
    pub never_connected: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partner {
    pub name: String,
    pub unit: String,
    pub term_number: i64,
    pub cancelled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meetings {
    pub term_number: i64,
    pub start: Date,
    pub current: bool,
    pub rows: Vec<Meeting>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meeting {
    pub state: SeriesState,
    pub weeks: u32,
    pub minutes: i64,
    pub a: Side,
    pub b: Side,
}

/// One person of a meeting, with its first occurrence in their own zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub name: String,
    pub unit: String,
    /// "Mon 2027-03-08 19:00", or "" when the zone was unknown.
    pub when: String,
    pub timezone: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastCycle {
    pub started: String,
    /// `None` when it succeeded.
    pub error: Option<String>,
}

impl PersonRow {
    pub fn connections(&self) -> usize {
        self.partners.len()
    }
}

/// The report of `input`.
pub fn build(input: &Input<'_>) -> Report {
    let history = input.history;
    let at = |t: Timestamp| {
        t.to_zoned_datetime(input.zone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let terms = term_rows(input);
    let people = person_rows(input);
    let mut waiting: Vec<&PersonRow> = people.iter().filter(|p| p.configured && p.waiting_terms > 0).collect();
    waiting.sort_by(|x, y| y.waiting_terms.cmp(&x.waiting_terms).then_with(|| x.name.cmp(&y.name)));
    let cov = &history.coverage;
    let (never_met, never_met_count) = never_met(history);
    Report {
        generated: at(input.now),
        zone: input.zone_name.to_string(),
        summary: Summary {
            people: input.people.len(),
            units: cov.units.len(),
            terms: history.terms.len(),
            connections: history.connections,
            cancelled: all_connections(history)
                .filter(|c| c.state == SeriesState::Cancelled)
                .count(),
            unit_pairs_met: cov.unit_pairs_met,
            unit_pairs_possible: cov.unit_pairs_possible,
        },
        heatmap: heatmap(history),
        never_met,
        never_met_count,
        terms,
        waiting: waiting.iter().take(WAITING_SHOWN).map(|p| p.email.clone()).collect(),
        people,
        meetings: input.status.and_then(meetings),
        last_cycle: input.status.map(|s| LastCycle {
            started: at(s.last_cycle.started),
            error: match &s.last_cycle.outcome {
                Outcome::Ok => None,
                Outcome::Error { message, .. } => Some(message.clone()),
            },
        }),
    }
}

fn all_connections(history: &HistoryReport) -> impl Iterator<Item = &crate::history::Connection> {
    history.terms.iter().flat_map(|t| &t.connections)
}

fn unordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

fn heatmap(history: &HistoryReport) -> Heatmap {
    let cov = &history.coverage;
    let max = cov.matrix.iter().flatten().copied().max().unwrap_or(0);
    let cells = cov
        .matrix
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .map(|(j, &count)| Cell {
                    count,
                    level: level(count.into(), max.into()),
                    never_met: i != j && count == 0,
                    same_unit: i == j,
                })
                .collect()
        })
        .collect();
    Heatmap {
        units: cov.units.clone(),
        cells,
    }
}

/// `count`'s heat level: 0 for none, else 1..=LEVELS in proportion to `max`
/// (rounded up, so any connection shows).
pub(super) fn level(count: u64, max: u64) -> u8 {
    if count == 0 || max == 0 {
        return 0;
    }
    let scaled = (count * u64::from(LEVELS)).div_ceil(max);
    u8::try_from(scaled).unwrap_or(LEVELS).clamp(1, LEVELS)
}

/// The first [`NEVER_MET_SHOWN`] pairs of units that never met, and how many
/// there are.
fn never_met(history: &HistoryReport) -> (Vec<(String, String)>, usize) {
    let cov = &history.coverage;
    let mut out = Vec::new();
    let mut count = 0;
    for (i, a) in cov.units.iter().enumerate() {
        for (j, b) in cov.units.iter().enumerate().skip(i + 1) {
            if cov.matrix[i][j] == 0 {
                count += 1;
                if out.len() < NEVER_MET_SHOWN {
                    out.push((a.clone(), b.clone()));
                }
            }
        }
    }
    (out, count)
}

fn term_rows(input: &Input<'_>) -> Vec<TermRow> {
    // The history's terms, and the status's current and next term even when
    // nothing is booked in them yet (their unpaired people are news).
    let mut starts: BTreeMap<Date, i64> = input.history.terms.iter().map(|t| (t.start, t.index)).collect();
    if let Some(status) = input.status {
        for t in &status.terms {
            starts.entry(t.start).or_insert(t.index);
        }
    }
    let mut met_before: BTreeSet<(String, String)> = BTreeSet::new();
    let mut unit_pairs_so_far: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rows = Vec::new();
    for (start, index) in starts {
        let connections: Vec<&crate::history::Connection> = input
            .history
            .terms
            .iter()
            .filter(|t| t.start == start)
            .flat_map(|t| &t.connections)
            .collect();
        let pairs: Vec<(String, String)> = connections.iter().map(|c| unordered(&c.a.email, &c.b.email)).collect();
        let repeats = pairs.iter().filter(|p| met_before.contains(*p)).count();
        let people: BTreeSet<&str> = connections
            .iter()
            .flat_map(|c| [c.a.email.as_str(), c.b.email.as_str()])
            .collect();
        let unit_pairs: BTreeSet<(String, String)> = connections
            .iter()
            .filter(|c| c.a.unit != c.b.unit)
            .map(|c| unordered(&c.a.unit, &c.b.unit))
            .collect();
        unit_pairs_so_far.extend(unit_pairs.iter().cloned());
        met_before.extend(pairs);
        let status_term = input.status.and_then(|s| s.terms.iter().find(|t| t.start == start));
        let unpaired: Vec<Unpaired> = input
            .status
            .map(|s| {
                s.attention
                    .unpaired
                    .iter()
                    .filter(|u| u.term == start)
                    .map(|u| Unpaired {
                        name: u.name.clone(),
                        unit: u.unit.clone(),
                        reason: u.message.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A term the last cycle planned has connections or unpaired people;
        // one with neither was not planned (not due yet), so nobody is known
        // to be left out of it.
        // A failed cycle may have stopped before planning anything: its
        // terms' connections are the store's, and an empty list of unpaired
        // people would claim what nobody knows.
        let succeeded = input
            .status
            .is_some_and(|s| matches!(s.last_cycle.outcome, Outcome::Ok));
        let planned = succeeded && status_term.is_some_and(|t| !t.connections.is_empty() || !unpaired.is_empty());
        rows.push(TermRow {
            number: index + 1,
            start,
            when: match status_term {
                Some(t) if t.current => "current",
                Some(_) => "next",
                None => "",
            },
            connections: connections.len(),
            cancelled: connections.iter().filter(|c| c.state == SeriesState::Cancelled).count(),
            repeats,
            people_connected: people.len(),
            unit_pairs: unit_pairs.len(),
            unit_pairs_so_far: unit_pairs_so_far.len(),
            unpaired: planned.then_some(unpaired),
        });
    }
    rows
}

fn person_rows(input: &Input<'_>) -> Vec<PersonRow> {
    let mut rows: BTreeMap<String, PersonRow> = input
        .people
        .iter()
        .map(|m| {
            let row = PersonRow {
                email: m.email.clone(),
                name: m.name.clone(),
                unit: m.unit.clone(),
                configured: true,
                partners: Vec::new(),
                waiting_terms: 0,
                never_connected: true,
            };
            (m.email.clone(), row)
        })
        .collect();
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for term in &input.history.terms {
        for c in &term.connections {
            for (me, other) in [(&c.a, &c.b), (&c.b, &c.a)] {
                let row = rows.entry(me.email.clone()).or_insert_with(|| PersonRow {
                    email: me.email.clone(),
                    name: me.name.clone(),
                    unit: me.unit.clone(),
                    configured: false,
                    partners: Vec::new(),
                    waiting_terms: 0,
                    never_connected: true,
                });
                row.partners.push(Partner {
                    name: other.name.clone(),
                    unit: other.unit.clone(),
                    term_number: term.index + 1,
                    cancelled: c.state == SeriesState::Cancelled,
                });
                row.never_connected = false;
                let l = last.entry(me.email.clone()).or_insert(term.index);
                *l = (*l).max(term.index);
            }
        }
    }
    let latest = input.history.terms.iter().map(|t| t.index).max();
    let first = input.history.terms.iter().map(|t| t.index).min();
    let mut rows: Vec<PersonRow> = rows
        .into_values()
        .map(|mut row| {
            row.waiting_terms = match (latest, first, last.get(&row.email)) {
                (Some(latest), _, Some(l)) => latest - l,
                (Some(latest), Some(first), None) => latest - first + 1,
                _ => 0,
            };
            row
        })
        .collect();
    rows.sort_by(|x, y| (&x.name, &x.email).cmp(&(&y.name, &y.email)));
    rows
}

fn meetings(status: &Status) -> Option<Meetings> {
    let term = status
        .terms
        .iter()
        .find(|t| t.current)
        .or_else(|| status.terms.first())?;
    let side = |p: &crate::status::Participant| Side {
        name: p.name.clone(),
        unit: p.unit.clone(),
        when: p
            .local_start
            .map(|d| d.strftime("%a %Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        timezone: p.timezone.clone(),
    };
    Some(Meetings {
        term_number: term.index + 1,
        start: term.start,
        current: term.current,
        rows: term
            .connections
            .iter()
            .map(|c| Meeting {
                state: c.state,
                weeks: c.count,
                minutes: c.duration_minutes,
                a: side(&c.a),
                b: side(&c.b),
            })
            .collect(),
    })
}

//! The actions a cycle takes, each with its reason, as `decide` returns them
//! and the cycle logs and applies them.

use std::fmt;

use jiff::Timestamp;

use crate::interval::Interval;
use crate::series::{HandledOccurrence, PersonState, SeriesRecord, SeriesState};

/// The owner recorded for an unmarked event that is not this installation's
/// (its people are not configured here): never a valid `calendar.instance`.
pub const UNMARKED: &str = "(unmarked)";

/// Why a record changes in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordWhy {
    /// Found on the calendar, unknown to the store (lost state, or written
    /// before this store).
    Adopted,
    /// A pending intent the calendar has (booked) or had (cancelled).
    Landed,
    /// A pending intent still missing after the write timeout: given up.
    Abandoned,
    /// An intent given up earlier whose insert landed after all: removed.
    LandedLate,
    /// Deleted on the calendar by a person: not booked again this term.
    DeletedByPerson,
    /// Missing from a full read of the calendar: deleted by someone.
    Missing,
    /// A person changed its start, zone, length or count on the calendar.
    ChangedByPerson,
    /// The calendar marks it as ended early by liaison, which the store
    /// had not recorded (the process stopped right after the write).
    EndedByLiaison,
    /// The whole series was declined by this attendee.
    Declined(String),
    /// Attendees' answers changed (no decline to act on).
    Answers,
    /// Every occurrence has started: nothing left to end.
    Finished,
    /// An event of another installation (named): recorded so its people
    /// count as booked, and never adopted, changed or cancelled.
    Foreign(String),
}

/// Why a series is ended or cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndWhy {
    Declined(String),
    Removed(String),
    Paused(String),
    /// An insert that landed after its intent had been given up: it was
    /// never meant to exist.
    LateLanding,
}

/// One thing a cycle does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Writes the record to the store; nothing on the calendar.
    Record { record: SeriesRecord, why: RecordWhy },
    /// Writes a person's state (decline count, pause).
    Person {
        email: String,
        state: PersonState,
        note: String,
    },
    /// Records a changed occurrence as dealt with; nothing on the calendar.
    Occurrence { id: String, handled: HandledOccurrence },
    /// Ends the series after its occurrence starting `until`, the `keep`-th.
    End {
        record: SeriesRecord,
        until: Timestamp,
        keep: u32,
        moved: Vec<Interval>,
        why: EndWhy,
    },
    /// Deletes the whole series: none of its occurrences has started.
    Cancel {
        record: SeriesRecord,
        moved: Vec<Interval>,
        why: EndWhy,
    },
    /// Moves one declined occurrence to the best other time that week.
    Move {
        record: SeriesRecord,
        occurrence: String,
        /// Where the rule put it.
        original: Timestamp,
        at: Interval,
        who: String,
    },
    /// Books a new series.
    Book { record: SeriesRecord },
    /// A series that must end waits: what is left of it is inside the notice.
    Wait { record: SeriesRecord, why: EndWhy },
}

impl Action {
    /// True for actions that remove occurrences from people's calendars, or
    /// that take a series for gone (missing from a full read: its people are
    /// then planned again): what the mass guard counts.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Action::End { .. }
                | Action::Cancel { .. }
                | Action::Record {
                    why: RecordWhy::Missing,
                    ..
                }
        )
    }
}

impl fmt::Display for RecordWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordWhy::Adopted => f.write_str("series recorded from the calendar"),
            RecordWhy::Landed => f.write_str("pending booking found on the calendar"),
            RecordWhy::Abandoned => f.write_str("pending booking never reached the calendar; given up"),
            RecordWhy::LandedLate => {
                f.write_str("a booking given up earlier landed on the calendar after all; it is removed")
            }
            RecordWhy::DeletedByPerson => {
                f.write_str("series deleted on the calendar by a person; this pair is not booked again this term")
            }
            RecordWhy::Missing => {
                f.write_str("series missing from a full read of the calendar; recorded as deleted by a person")
            }
            RecordWhy::ChangedByPerson => f.write_str("changed on the calendar by a person; recorded"),
            RecordWhy::EndedByLiaison => {
                f.write_str("series ended early by liaison before the end was recorded; recorded as ended")
            }
            RecordWhy::Declined(p) => write!(f, "declined by {p}; it is ended and both people paired again"),
            RecordWhy::Answers => f.write_str("answers recorded"),
            RecordWhy::Finished => f.write_str("every occurrence has started; nothing left to end"),
            RecordWhy::Foreign(i) => write!(
                f,
                "belongs to installation {i}; left alone (set calendar.instance = \"{i}\" if that is this installation, moved)"
            ),
        }
    }
}

impl fmt::Display for EndWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndWhy::Declined(p) => write!(f, "declined by {p}"),
            EndWhy::Removed(p) => write!(f, "{p} is no longer in the configuration"),
            EndWhy::Paused(p) => write!(f, "{p} is paused"),
            EndWhy::LateLanding => f.write_str("it landed after its booking had been given up"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pair = |r: &SeriesRecord| {
            format!(
                "{} & {} (term {}, id {})",
                r.request.pair.0, r.request.pair.1, r.request.term, r.request.event_id
            )
        };
        match self {
            Action::Record { record, why } => write!(f, "record {}: {why}", pair(record)),
            Action::Person { email, note, .. } => write!(f, "person {email}: {note}"),
            Action::Occurrence { id, handled } => write!(f, "occurrence {id} of {}: {}", handled.series, handled.note),
            Action::End {
                record,
                until,
                keep,
                why,
                ..
            } => write!(
                f,
                "end {} after its occurrence at {until} (keeps {keep} of {}): {why}",
                pair(record),
                record.request.count
            ),
            Action::Cancel { record, why, .. } => {
                write!(f, "cancel {} (no occurrence has started): {why}", pair(record))
            }
            Action::Move {
                record,
                occurrence,
                at,
                who,
                ..
            } => write!(
                f,
                "move occurrence {occurrence} of {} from {}: declined by {who}",
                pair(record),
                at.start
            ),
            Action::Wait { record, why } => write!(
                f,
                "series {} not ended yet: its next occurrence is inside min_notice ({why})",
                pair(record)
            ),
            Action::Book { record } => write!(
                f,
                "book {}: {} {} x{}",
                pair(record),
                record.request.start.strftime("%a %Y-%m-%d %H:%M"),
                record.request.zone,
                record.request.count
            ),
        }
    }
}

/// The record of a series once `action` (an end or a cancel) is done.
pub fn ended_record(action: &Action) -> Option<SeriesRecord> {
    let (record, keep) = match action {
        Action::End { record, keep, .. } => (record, *keep),
        Action::Cancel { record, .. } => (record, 0),
        _ => return None,
    };
    let mut done = record.clone();
    done.state = SeriesState::Cancelled;
    done.declined_by = None;
    done.request.count = keep;
    Some(done)
}

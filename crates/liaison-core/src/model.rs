//! The plain data exchanged with calendars: series to book and as read back,
//! attendees' answers, changed occurrences, what changed since a sync token,
//! busy time. `calendar` re-exports it; `core` uses it without importing any
//! provider.

use std::collections::BTreeMap;

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::interval::{Interval, IntervalSet};

/// Free/busy for one person: their busy time, or why it could not be read.
pub type BusyAnswer = Result<IntervalSet, String>;

/// A person on a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub email: String,
    pub name: String,
}

/// A weekly series to create: `count` occurrences starting at `start` (wall clock
/// in `zone`), each `duration` long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRequest {
    /// Deterministic base32hex id (see `core::ids`).
    pub event_id: String,
    /// First day (Monday) of the term the series belongs to.
    pub term: Date,
    /// Emails of the pair, sorted.
    pub pair: (String, String),
    /// Both people, in pair order.
    pub attendees: [Attendee; 2],
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    /// IANA zone name of the series.
    pub zone: String,
    /// First occurrence, wall clock in `zone`.
    pub start: DateTime,
    pub duration: SignedDuration,
    /// Occurrences of the weekly rule, skipped ones included (RRULE COUNT).
    pub count: u32,
    /// Occurrences the rule puts on a day without connections (a holiday, an
    /// away day, a day over `max_busy_hours`) that do not take place: their
    /// wall-clock starts in `zone`, written as EXDATE (Microsoft: cancelled
    /// after creation). Never the first or the last occurrence. Not part of
    /// the event id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<DateTime>,
}

/// Whether `create_series` made a new series or found the same id already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    AlreadyExists,
}

/// A series liaison created, as read back from the calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedSeries {
    pub request: SeriesRequest,
    /// False once the series was cancelled.
    pub active: bool,
    /// The `calendar.instance` marker the event carries; `None` for events
    /// written before markers existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// How an attendee answered the invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendeeResponse {
    NeedsAction,
    Accepted,
    Tentative,
    Declined,
}

/// A series as read back, with what each attendee answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesDetails {
    pub series: BookedSeries,
    /// By lower-case email, for every attendee the event lists.
    pub responses: BTreeMap<String, AttendeeResponse>,
    /// The video-call link, when the provider made one.
    pub conference_link: Option<String>,
}

/// One occurrence of a series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The provider's id of this occurrence.
    pub instance_id: String,
    /// When the rule put it, before any move.
    pub original_start: Timestamp,
    /// When it takes place; `None` for a cancelled occurrence without times.
    pub interval: Option<Interval>,
    pub cancelled: bool,
    /// By lower-case email.
    pub responses: BTreeMap<String, AttendeeResponse>,
}

/// What changed among liaison's series on the organizer calendar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Liaison's series that changed (or all of them, after a full read), with
    /// their attendees' answers when the provider knows them.
    pub series: Vec<SeriesDetails>,
    /// Ids of events deleted since the token that came back without their
    /// properties (Google guarantees only the id of a deleted event).
    pub deleted_ids: Vec<String>,
    /// Single occurrences of liaison's series that a person changed (declined,
    /// moved or cancelled), with the id of their series.
    pub occurrences: Vec<(String, Occurrence)>,
    /// True when this is a full read (no token, or the token had expired):
    /// every series is in `series`.
    pub full: bool,
    /// The token to ask for the next changes with; `None` when the provider
    /// has no incremental reading (every read is full).
    pub next_token: Option<String>,
    /// Ids of liaison events that were listed but could not be read: they
    /// exist, so a full read must not take them for deleted.
    pub unreadable: Vec<String>,
    /// Ids of series in `series` that the calendar marks as ended early by
    /// liaison itself (Microsoft's end mark): an end whose result the store
    /// never recorded (the process stopped after the write) is recorded as
    /// liaison's end, not as a person's change.
    pub ended: Vec<String>,
}

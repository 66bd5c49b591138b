//! The types of `status.json`, and its name and schema version.

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::store::SeriesState;

pub use crate::cycle::Counts;
pub use crate::notes::{RefusedAction, UnpairedPerson, UnpairedStatus};

/// The file's name inside `state_dir`.
pub const FILE_NAME: &str = "status.json";
/// Version of the file's schema. Added fields keep it (readers ignore fields
/// they do not know); a change that old readers would misread bumps it, and a
/// reader refuses versions newer than its own.
pub const SCHEMA_VERSION: u32 = 1;
/// What to do about an authorization problem.
pub const AUTH_HINT: &str = "run `liaison auth`";

/// What to do about an authorization problem under `cfg`'s provider: the
/// OAuth providers' `liaison auth`, or for CalDAV (HTTP Basic, nothing to
/// renew) the password file and the account.
pub fn auth_hint(cfg: &crate::config::Config) -> String {
    match (&cfg.calendar.provider, &cfg.calendar.caldav) {
        (crate::config::ProviderKind::Caldav, Some(c)) => format!(
            "put the password of user {:?} into {} (mode 0600; calendar.caldav.password_file)",
            c.username,
            c.password_file.display()
        ),
        _ => AUTH_HINT.to_string(),
    }
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub schema_version: u32,
    /// IANA name of the organization's zone, in which `status` shows instants.
    pub timezone: String,
    pub last_cycle: LastCycle,
    /// When the next cycle is due (last start + `cycle_every`).
    pub next_cycle: Timestamp,
    pub cycle_every: SignedDuration,
    /// The current term (once the first has started) and the next one.
    pub terms: Vec<TermStatus>,
    pub attention: Attention,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastCycle {
    pub started: Timestamp,
    pub finished: Timestamp,
    pub outcome: Outcome,
    /// What the cycle did; `None` when it failed.
    pub summary: Option<Counts>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error { kind: ErrorKind, message: String },
}

/// Which kind of failure, as the exit codes tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Authorization,
    Input,
    Other,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TermStatus {
    pub index: i64,
    pub start: Date,
    /// Last day of the term.
    pub end: Date,
    pub weeks: u32,
    /// True for the term under way, false for the next one.
    pub current: bool,
    /// Booked, pending and cancelled series of the term (abandoned intents never
    /// reached a calendar and are left out).
    pub connections: Vec<Connection>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub event_id: String,
    pub state: SeriesState,
    pub series_timezone: String,
    /// First occurrence, wall clock in `series_timezone`.
    pub first_start_local: DateTime,
    /// First occurrence as an instant (`None` only if the zone is unknown).
    pub first_start: Option<Timestamp>,
    /// Occurrences of the weekly rule, skipped ones included.
    pub count: u32,
    /// Dates (series' clock) of the occurrences skipped: holidays, away days,
    /// days over `max_busy_hours`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<jiff::civil::Date>,
    pub duration_minutes: i64,
    pub a: Participant,
    pub b: Participant,
}

/// One person of a connection, with the first meeting in their own zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub email: String,
    pub name: String,
    pub unit: String,
    /// The person's zone (the series' zone for someone no longer configured).
    pub timezone: String,
    pub local_start: Option<DateTime>,
    /// "Monday" ... "Sunday".
    pub local_weekday: Option<String>,
    /// "HH:MM".
    pub local_time: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub authorization: Option<AuthProblem>,
    pub unavailable_calendars: Vec<UnavailableCalendar>,
    pub unpaired: Vec<UnpairedStatus>,
    /// Intents whose insert may or may not have reached the calendar; the next
    /// cycle resolves them.
    pub pending: Vec<PendingIntent>,
    /// Actions the safety check refused in the last cycle (cancellations in
    /// bulk waiting for `--allow-mass-cancel`, say).
    #[serde(default)]
    pub refused: Vec<RefusedAction>,
    /// Pairs the calendar refused this term, with how often.
    #[serde(default)]
    pub refused_pairs: Vec<RefusedPair>,
}

/// A pair the calendar refused (retried with backoff; left for the term
/// after three refusals).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedPair {
    pub term: Date,
    pub a: String,
    pub b: String,
    pub refusals: u32,
    /// Next try, or `None` when it is left for the term.
    pub retry_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthProblem {
    pub message: String,
    pub hint: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableCalendar {
    pub email: String,
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    pub term: Date,
    pub event_id: String,
    pub a: String,
    pub b: String,
}

//! `status.json`: what the last cycle did, the connections of this term and the
//! next, and what needs attention. The cycle writes it; `liaison status` reads it.
//!
//! The file exists because sled allows one process at a time: `status` must work
//! while the daemon holds the database, so everything it shows is in this file
//! and `status` opens nothing else (no database, no calendar). It is written to a
//! temporary file in the same directory, fsynced and renamed, so a reader sees
//! the old file or the new one, never half of one; mode 0600. It holds names,
//! emails, units, times and error messages, never a credential (DESIGN §6.6: the
//! providers' errors never carry secrets).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::calendar::BusyAnswer;
use crate::config::Config;
use crate::core::plan::Plan;
use crate::core::term::Term;
use crate::cycle::CycleSummary;
use crate::failure::Failure;
use crate::store::{SeriesRecord, SeriesState, Store};

/// The file's name inside `state_dir`.
pub const FILE_NAME: &str = "status.json";
/// Version of the file's schema. Added fields keep it (readers ignore fields
/// they do not know); a change that old readers would misread bumps it, and a
/// reader refuses versions newer than its own.
pub const SCHEMA_VERSION: u32 = 1;
/// What to do about an authorization problem.
pub const AUTH_HINT: &str = "run `liaison auth`";

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

/// The numbers of the `cycle done` log line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub term: Option<Date>,
    pub booked: usize,
    pub kept: usize,
    pub moved: usize,
    pub cancelled: usize,
    pub unpaired: usize,
    pub requests: u64,
    pub elapsed_seconds: f64,
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
    pub count: u32,
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
    pub unpaired: Vec<UnpairedPerson>,
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
pub struct UnpairedPerson {
    pub term: Date,
    pub email: String,
    pub name: String,
    pub unit: String,
    /// Machine-readable reason (`no_common_slot`, `calendar_unavailable`, ...).
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    pub term: Date,
    pub event_id: String,
    pub a: String,
    pub b: String,
}

/// What a cycle noticed on the way, filled as it goes so that a cycle that
/// fails half-way still reports what it saw.
#[derive(Clone, Debug, Default)]
pub struct CycleNotes {
    /// Email → why the calendar could not be read (first reason seen).
    unavailable: BTreeMap<String, String>,
    unpaired: Vec<UnpairedPerson>,
    refused: Vec<RefusedAction>,
}

/// An action the safety check refused, for `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedAction {
    pub action: String,
    pub reason: String,
}

impl CycleNotes {
    /// Notes an action the safety check refused.
    pub fn refused(&mut self, action: &crate::core::reconcile::Action, why: &crate::core::reconcile::Refusal) {
        self.refused.push(RefusedAction {
            action: action.to_string(),
            reason: why.to_string(),
        });
    }

    /// Notes the unreadable calendars and the unpaired people of one term.
    pub fn planned(&mut self, cfg: &Config, busy: &BTreeMap<String, BusyAnswer>, plan: &Plan) {
        for (email, answer) in busy {
            if let Err(reason) = answer {
                self.unavailable.entry(email.clone()).or_insert_with(|| reason.clone());
            }
        }
        for u in &plan.unpaired {
            let Some(p) = cfg.people.get(u.person) else { continue };
            // The reason's serde tag is its stable machine-readable name.
            let code = serde_json::to_value(&u.reason)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_string))
                .unwrap_or_default();
            self.unpaired.push(UnpairedPerson {
                term: plan.term.start,
                email: p.email.clone(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                reason: code,
                message: u.reason.to_string(),
            });
        }
    }
}

/// Writes `status.json` after a cycle, whatever its outcome. A failure to write
/// is logged, not returned: the cycle's own result is what the caller acts on.
pub fn record_cycle(
    cfg: &Config,
    store: &Store,
    started: Timestamp,
    elapsed: SignedDuration,
    result: &Result<CycleSummary, Failure>,
    notes: &CycleNotes,
) {
    let records = store.series().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "status: could not read the series for this term's connections");
        Vec::new()
    });
    let finished = started.checked_add(elapsed).unwrap_or(started);
    let status = build(cfg, &records, started, finished, result, notes);
    if let Err(e) = write(&cfg.state_dir, &status) {
        tracing::warn!(path = %cfg.state_dir.join(FILE_NAME).display(), error = %e, "could not write the status file");
    }
}

/// The status after a cycle that started at `started`: plain data in, plain data out.
pub fn build(
    cfg: &Config,
    records: &[SeriesRecord],
    started: Timestamp,
    finished: Timestamp,
    result: &Result<CycleSummary, Failure>,
    notes: &CycleNotes,
) -> Status {
    let (outcome, summary) = match result {
        Ok(s) => (
            Outcome::Ok,
            Some(Counts {
                term: s.term,
                booked: s.booked,
                kept: s.kept,
                moved: s.moved,
                cancelled: s.cancelled,
                unpaired: s.unpaired,
                requests: s.requests,
                elapsed_seconds: s.elapsed.as_secs_f64(),
            }),
        ),
        Err(f) => {
            let kind = match f {
                Failure::Unauthorized(_) => ErrorKind::Authorization,
                Failure::Usage(_) => ErrorKind::Input,
                Failure::Other(_) => ErrorKind::Other,
            };
            let message = format!("{:#}", f.error());
            (Outcome::Error { kind, message }, None)
        }
    };
    let authorization = match &outcome {
        Outcome::Error {
            kind: ErrorKind::Authorization,
            message,
        } => Some(AuthProblem {
            message: message.clone(),
            hint: AUTH_HINT.to_string(),
        }),
        _ => None,
    };
    let name_of = |email: &str| {
        cfg.people
            .iter()
            .find(|p| p.email == email)
            .map_or_else(String::new, |p| p.name.clone())
    };
    let attention = Attention {
        authorization,
        unavailable_calendars: notes
            .unavailable
            .iter()
            .map(|(email, reason)| UnavailableCalendar {
                email: email.clone(),
                name: name_of(email),
                reason: reason.clone(),
            })
            .collect(),
        unpaired: notes.unpaired.clone(),
        pending: records
            .iter()
            .filter(|r| r.state == SeriesState::Pending)
            .map(|r| PendingIntent {
                term: r.request.term,
                event_id: r.request.event_id.clone(),
                a: r.request.pair.0.clone(),
                b: r.request.pair.1.clone(),
            })
            .collect(),
        refused: notes.refused.clone(),
        refused_pairs: records
            .iter()
            .filter(|r| r.state == SeriesState::Failed)
            .map(|r| RefusedPair {
                term: r.request.term,
                a: r.request.pair.0.clone(),
                b: r.request.pair.1.clone(),
                refusals: r.refusals,
                retry_at: r.retry_at.filter(|_| r.refusals < crate::core::series::MAX_REFUSALS),
            })
            .collect(),
    };
    Status {
        schema_version: SCHEMA_VERSION,
        timezone: cfg.timezone_name.clone(),
        last_cycle: LastCycle {
            started,
            finished,
            outcome,
            summary,
        },
        next_cycle: started.checked_add(cfg.schedule.cycle_every).unwrap_or(started),
        cycle_every: cfg.schedule.cycle_every,
        terms: status_terms(cfg, started)
            .into_iter()
            .map(|(term, current)| term_status(cfg, records, term, current))
            .collect(),
        attention,
    }
}

/// The term under way at `now` (if the first has started) and the one after it.
fn status_terms(cfg: &Config, now: Timestamp) -> Vec<(Term, bool)> {
    let (first, weeks) = (cfg.schedule.first_term, cfg.schedule.term_weeks);
    let today = crate::app::today(cfg, now);
    if today < first {
        return Term::nth(first, weeks, 0).map(|t| (t, false)).into_iter().collect();
    }
    let Some(current) = Term::containing(first, weeks, today) else {
        return Vec::new();
    };
    let next = current.next().map(|t| (t, false));
    [(current, true)].into_iter().chain(next).collect()
}

fn term_status(cfg: &Config, records: &[SeriesRecord], term: Term, current: bool) -> TermStatus {
    let mut connections: Vec<Connection> = records
        .iter()
        .filter(|r| r.request.term == term.start && r.state != SeriesState::Abandoned)
        .map(|r| connection(cfg, r))
        .collect();
    connections.sort_by(|x, y| (x.first_start, &x.a.email, &x.b.email).cmp(&(y.first_start, &y.a.email, &y.b.email)));
    TermStatus {
        index: term.index,
        start: term.start,
        end: term.end().yesterday().unwrap_or(term.end()),
        weeks: term.weeks,
        current,
        connections,
    }
}

fn connection(cfg: &Config, r: &SeriesRecord) -> Connection {
    let req = &r.request;
    let first_start = TimeZone::get(&req.zone)
        .ok()
        .and_then(|tz| req.start.to_zoned_datetime(tz).ok())
        .map(|z| z.timestamp());
    let participant = |i: usize, unit: &str| {
        let attendee = &req.attendees[i];
        let person = cfg.people.iter().find(|p| p.email == attendee.email);
        let (zone_name, zone) = match person {
            Some(p) => (p.timezone_name.clone(), Some(p.timezone.clone())),
            None => (req.zone.clone(), TimeZone::get(&req.zone).ok()),
        };
        let local = first_start.zip(zone).map(|(t, z)| t.to_zoned_datetime(z));
        Participant {
            email: attendee.email.clone(),
            name: attendee.name.clone(),
            unit: unit.to_string(),
            timezone: zone_name,
            local_start: local.as_ref().map(|z| z.datetime()),
            local_weekday: local.as_ref().map(|z| z.strftime("%A").to_string()),
            local_time: local.as_ref().map(|z| z.strftime("%H:%M").to_string()),
        }
    };
    Connection {
        event_id: req.event_id.clone(),
        state: r.state,
        series_timezone: req.zone.clone(),
        first_start_local: req.start,
        first_start,
        count: req.count,
        duration_minutes: req.duration.as_mins(),
        a: participant(0, &r.units.0),
        b: participant(1, &r.units.1),
    }
}

/// Writes the status into `state_dir` atomically with mode 0600.
pub fn write(state_dir: &Path, status: &Status) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::fsutil::write_atomically(
        &state_dir.join(FILE_NAME),
        text.as_bytes(),
        crate::fsutil::Mode::Private,
    )
}

/// Why `status.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no cycle has run yet ({} does not exist): start `liaison run` or run `liaison run --once`", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid liaison status file: {message} (the next cycle rewrites it)", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: schema version {found} is newer than this liaison reads ({SCHEMA_VERSION}); upgrade liaison", path.display())]
    Newer { path: PathBuf, found: u64 },
}

/// Reads and validates `state_dir/status.json`; returns it and its text.
pub fn read(state_dir: &Path) -> Result<(Status, String), ReadError> {
    let path = state_dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing { path }),
        Err(source) => return Err(ReadError::Io { path, source }),
    };
    let invalid = |message: String| ReadError::Invalid {
        path: path.clone(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    // The version first: a newer file may not fit this schema, and saying so is
    // more useful than naming the field that does not fit.
    match value.get("schema_version").and_then(serde_json::Value::as_u64) {
        None => return Err(invalid("no schema_version".to_string())),
        Some(v) if v > u64::from(SCHEMA_VERSION) => return Err(ReadError::Newer { path, found: v }),
        Some(_) => {}
    }
    let status = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    Ok((status, text))
}

/// Text rows aligned in columns two spaces apart; `right(c)` right-aligns
/// column `c`. Widths count characters, which is right for most names.
pub(crate) fn table(rows: &[Vec<String>], right: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let width = widths[c];
            if right(c) {
                let _ = write!(line, "{cell:>width$}  ");
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `liaison status` for people.
pub fn render(status: &Status, now: Timestamp) -> String {
    let tz = TimeZone::get(&status.timezone).unwrap_or(TimeZone::UTC);
    let at = |t: Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    let mut out = String::new();
    let last = &status.last_cycle;
    let took = last.started.duration_until(last.finished);
    match (&last.outcome, &last.summary) {
        (Outcome::Ok, Some(s)) => {
            let term = s.term.map_or_else(|| "none due".to_string(), |d| d.to_string());
            let _ = writeln!(
                out,
                "Last cycle: {}, ok in {:.1}s: term {term}, booked {}, kept {}, moved {}, cancelled {}, unpaired {}, {} requests",
                at(last.started),
                s.elapsed_seconds,
                s.booked,
                s.kept,
                s.moved,
                s.cancelled,
                s.unpaired,
                s.requests
            );
        }
        (Outcome::Ok, None) => {
            let _ = writeln!(out, "Last cycle: {}, ok", at(last.started));
        }
        (Outcome::Error { message, .. }, _) => {
            let _ = writeln!(
                out,
                "Last cycle: {}, FAILED after {:.1}s: {message}",
                at(last.started),
                took.as_secs_f64()
            );
        }
    }
    let until = now.duration_until(status.next_cycle);
    let when = if until.is_negative() {
        format!("overdue by {:#}", whole_seconds(until.abs()))
    } else {
        format!("in {:#}", whole_seconds(until))
    };
    let _ = writeln!(out, "Next cycle: {} ({when})", at(status.next_cycle));

    for term in &status.terms {
        let which = if term.current { "This term" } else { "Next term" };
        let _ = write!(out, "\n{which}, {} to {}: ", term.start, term.end);
        if term.connections.is_empty() {
            let _ = writeln!(out, "no connections booked yet");
            continue;
        }
        let _ = writeln!(out, "{} connections", term.connections.len());
        let local = |p: &Participant| match (&p.local_start, &p.local_time) {
            (Some(start), Some(time)) => format!("{} {time} {}", start.strftime("%a"), p.timezone),
            _ => format!("? {}", p.timezone),
        };
        let mut rows = vec![
            [
                "Leader A",
                "Leader B",
                "A's local time",
                "B's local time",
                "Meetings",
                "State",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &term.connections {
            rows.push(vec![
                format!("{} ({})", c.a.name, c.a.unit),
                format!("{} ({})", c.b.name, c.b.unit),
                local(&c.a),
                local(&c.b),
                format!("from {} x{}", c.first_start_local.date(), c.count),
                state_name(c.state).to_string(),
            ]);
        }
        out.push_str(&table(&rows, |_| false));
    }

    let mut items = Vec::new();
    let a = &status.attention;
    if let Some(auth) = &a.authorization {
        // Provider messages usually end with the hint already; say it once.
        if auth.message.contains(&auth.hint) {
            items.push(auth.message.clone());
        } else {
            items.push(format!("authorization needed: {}; {}", auth.message, auth.hint));
        }
    } else if let Outcome::Error { message, .. } = &last.outcome {
        items.push(format!("the last cycle failed: {message}"));
    }
    if until.is_negative() && until.abs() > status.cycle_every {
        items.push(format!(
            "no cycle since {}: is `liaison run` running?",
            at(last.started)
        ));
    }
    for c in &a.unavailable_calendars {
        items.push(format!("calendar unavailable: {} <{}>: {}", c.name, c.email, c.reason));
    }
    for u in &a.unpaired {
        // Said once, under "calendar unavailable", for those whose calendar failed.
        if a.unavailable_calendars.iter().any(|c| c.email == u.email) {
            continue;
        }
        items.push(format!(
            "unpaired in term {}: {} <{}> ({}): {}",
            u.term, u.name, u.email, u.unit, u.message
        ));
    }
    for p in &a.pending {
        items.push(format!(
            "pending booking in term {}: {} & {} (event {}); the next cycle resolves it",
            p.term, p.a, p.b, p.event_id
        ));
    }
    for r in &a.refused {
        items.push(format!("not done: {}: {}", r.action, r.reason));
    }
    for r in &a.refused_pairs {
        let next = match r.retry_at {
            Some(t) => format!("tried again after {}", at(t)),
            None => "left for the rest of the term".to_string(),
        };
        items.push(format!(
            "refused by the calendar in term {}: {} & {} ({} times); {next}",
            r.term, r.a, r.b, r.refusals
        ));
    }
    if items.is_empty() {
        let _ = writeln!(out, "\nNeeds attention: nothing.");
    } else {
        let _ = writeln!(out, "\nNeeds attention:");
        for item in items {
            let _ = writeln!(out, "  - {item}");
        }
    }
    out
}

fn whole_seconds(d: SignedDuration) -> SignedDuration {
    SignedDuration::from_secs(d.as_secs())
}

/// The state as the store and status.json spell it.
pub(crate) fn state_name(state: SeriesState) -> &'static str {
    match state {
        SeriesState::Pending => "pending",
        SeriesState::Booked => "booked",
        SeriesState::Cancelled => "cancelled",
        SeriesState::Abandoned => "abandoned",
        SeriesState::Failed => "refused by the calendar",
        SeriesState::Unwanted => "landed late; being removed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Attendee, SeriesRequest};
    use jiff::civil::date;

    fn config() -> Config {
        let text = r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
cycle_every = "15m"
[calendar]
provider = "local"
[calendar.local]
dir = "."
[[people]]
email = "a@x.org"
name = "Ann"
unit = "Sales"
timezone = "America/New_York"
[[people]]
email = "b@x.org"
name = "Bo"
unit = "Ops"
timezone = "Asia/Tokyo"
"#;
        crate::config::parse(text, Path::new("/tmp/c.toml"), &crate::config::Env::default()).unwrap()
    }

    fn record(state: SeriesState) -> SeriesRecord {
        let attendee = |e: &str, n: &str| Attendee {
            email: e.to_string(),
            name: n.to_string(),
        };
        SeriesRecord {
            request: SeriesRequest {
                event_id: "abc123".into(),
                term: date(2027, 3, 8),
                pair: ("a@x.org".into(), "b@x.org".into()),
                attendees: [attendee("a@x.org", "Ann"), attendee("b@x.org", "Bo")],
                summary: "s".into(),
                description: "d".into(),
                location: None,
                zone: "America/New_York".into(),
                start: date(2027, 3, 8).at(19, 0, 0, 0),
                duration: SignedDuration::from_mins(30),
                count: 4,
            },
            term_index: 0,
            units: ("Sales".into(), "Ops".into()),
            state,
            declined_by: None,
            instance: None,
            intent_at: None,
            responses: Default::default(),
            refusals: 0,
            retry_at: None,
        }
    }

    fn now() -> Timestamp {
        "2027-03-03T12:00:00Z".parse().unwrap()
    }

    fn ok() -> Result<CycleSummary, Failure> {
        Ok(CycleSummary {
            term: Some(date(2027, 3, 8)),
            booked: 1,
            ..CycleSummary::default()
        })
    }

    #[test]
    fn connections_carry_each_persons_local_time() {
        let cfg = config();
        let status = build(
            &cfg,
            &[record(SeriesState::Booked)],
            now(),
            now(),
            &ok(),
            &CycleNotes::default(),
        );
        // Before the first term there is only the next term.
        assert_eq!(status.terms.len(), 1);
        assert!(!status.terms[0].current);
        let c = &status.terms[0].connections[0];
        // 19:00 in New York on Monday is 09:00 on Tuesday in Tokyo.
        assert_eq!(c.first_start, Some("2027-03-09T00:00:00Z".parse().unwrap()));
        assert_eq!(
            (c.a.local_weekday.as_deref(), c.a.local_time.as_deref()),
            (Some("Monday"), Some("19:00"))
        );
        assert_eq!(
            (c.b.local_weekday.as_deref(), c.b.local_time.as_deref()),
            (Some("Tuesday"), Some("09:00"))
        );
        assert_eq!(status.next_cycle, "2027-03-03T12:15:00Z".parse().unwrap());
        let text = render(&status, now());
        assert!(text.contains("Mon 19:00 America/New_York"), "{text}");
        assert!(text.contains("Tue 09:00 Asia/Tokyo"), "{text}");
        assert!(text.contains("Needs attention: nothing."), "{text}");
    }

    #[test]
    fn a_failed_authorization_is_reported_with_the_hint() {
        let cfg = config();
        let failed = Err(Failure::Unauthorized(anyhow::anyhow!("token revoked")));
        let status = build(
            &cfg,
            &[record(SeriesState::Pending)],
            now(),
            now(),
            &failed,
            &CycleNotes::default(),
        );
        assert_eq!(
            status.last_cycle.outcome,
            Outcome::Error {
                kind: ErrorKind::Authorization,
                message: "token revoked".into()
            }
        );
        assert!(status.last_cycle.summary.is_none());
        assert_eq!(status.attention.authorization.as_ref().unwrap().hint, AUTH_HINT);
        assert_eq!(status.attention.pending.len(), 1);
        let text = render(&status, now());
        assert!(text.contains("FAILED"), "{text}");
        assert!(text.contains("run `liaison auth`"), "{text}");
        assert!(text.contains("pending booking in term 2027-03-08"), "{text}");
    }

    #[test]
    fn a_status_long_overdue_says_the_daemon_may_not_run() {
        let cfg = config();
        let status = build(&cfg, &[], now(), now(), &ok(), &CycleNotes::default());
        let later: Timestamp = "2027-03-03T13:00:00Z".parse().unwrap();
        let text = render(&status, later);
        assert!(text.contains("overdue by 45m"), "{text}");
        assert!(text.contains("is `liaison run` running?"), "{text}");
    }

    #[test]
    fn the_file_is_written_atomically_private_and_reads_back() {
        let cfg = config();
        let dir = tempfile::tempdir().unwrap();
        let status = build(
            &cfg,
            &[record(SeriesState::Booked)],
            now(),
            now(),
            &ok(),
            &CycleNotes::default(),
        );
        write(dir.path(), &status).unwrap();
        // A second write replaces the file; no temporary file is left behind.
        write(dir.path(), &status).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [FILE_NAME]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (read_back, _) = read(dir.path()).unwrap();
        assert_eq!(read_back, status);
    }

    #[test]
    fn missing_invalid_and_newer_files_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read(dir.path()).unwrap_err();
        assert!(matches!(missing, ReadError::Missing { .. }));
        assert!(missing.to_string().contains("liaison run --once"), "{missing}");
        std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        let invalid = read(dir.path()).unwrap_err();
        assert!(matches!(invalid, ReadError::Invalid { .. }));
        assert!(invalid.to_string().contains(FILE_NAME), "{invalid}");
        std::fs::write(dir.path().join(FILE_NAME), r#"{"schema_version": 99}"#).unwrap();
        assert!(matches!(
            read(dir.path()).unwrap_err(),
            ReadError::Newer { found: 99, .. }
        ));
        std::fs::write(dir.path().join(FILE_NAME), r#"{"schema_version": 1}"#).unwrap();
        assert!(matches!(read(dir.path()).unwrap_err(), ReadError::Invalid { .. }));
    }

    #[test]
    fn tables_align_columns_by_characters() {
        let rows = vec![
            vec!["Zoë".to_string(), "1".to_string()],
            vec!["Bartholomew".to_string(), "12".to_string()],
        ];
        assert_eq!(table(&rows, |c| c == 1), "Zoë           1\nBartholomew  12\n");
    }
}

//! Calendar providers behind one trait: read free/busy for many people, create a
//! weekly series, list the series liaison created.
//!
//! Provider wire types never leave their module; the rest of liaison sees only
//! the types here. The local provider (iCalendar files) is the embedded default;
//! the Google provider (`google`), the Microsoft 365 provider (`microsoft`,
//! Microsoft Graph) and the CalDAV provider (`caldav`) plug into the same trait.

pub(crate) mod batches;
pub mod caldav;
pub(crate) mod exdate;
pub mod google;
pub mod http;
pub mod local;
pub mod microsoft;

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};

use crate::core::interval::Interval;
/// The plain data the calendar and the rest of liaison exchange; it lives in
/// `core` so that planning and reconciling never import `calendar`.
pub use crate::core::model::{
    Attendee, AttendeeResponse, BookedSeries, BusyAnswer, Changes, CreateOutcome, Occurrence, SeriesDetails,
    SeriesRequest,
};

/// What went wrong talking to a calendar, chosen by what the caller does next.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// Credentials missing, expired or revoked: the user must run `liaison auth`.
    #[error("authorization needed: {0}; run `liaison auth`")]
    Unauthorized(String),
    /// A password the server refused (CalDAV's HTTP Basic): the fix is in
    /// the message (the password file and the account), not `liaison auth`.
    #[error("authorization refused: {0}")]
    Credentials(String),
    /// A calendar file or API answer that cannot be understood. Never retried.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: String,
        line: Option<usize>,
        message: String,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An event with this series' id exists but was cancelled: book it again
    /// with the next generation of the id.
    #[error("event {0} exists but was cancelled")]
    IdCancelled(String),
    /// The event (or calendar) does not exist, or was deleted: record that,
    /// do not retry.
    #[error("not found: {0}")]
    NotFound(String),
    /// A failure that may pass (network, rate limit, server error): retry later.
    #[error("transient calendar error: {0}")]
    Transient(String),
    /// The account's quota is used up (Google `dailyLimitExceeded`,
    /// `quotaExceeded`): nothing can be written until it renews; retry later.
    #[error("calendar quota exhausted: {0}")]
    Quota(String),
    /// The calendar refused this one series for a reason of its own (an
    /// attendee it will not invite, say): only this pair is affected.
    #[error("refused by the calendar: {0}")]
    Refused(String),
}

/// Who an error concerns, which decides what a cycle does next (DESIGN §4
/// "Failures").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorScope {
    /// Only the pair or event at hand: skip it, retry it on a later cycle.
    ThisOne,
    /// Everyone (quota, disk, network, server): stop the cycle, mark nothing.
    Everyone,
    /// The authorization: the user must run `liaison auth`.
    Authorization,
}

impl CalendarError {
    /// True for errors caused by bad input (a file or an answer), which map to exit 2.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, CalendarError::Invalid { .. })
    }

    /// Who the error concerns.
    pub fn scope(&self) -> ErrorScope {
        match self {
            CalendarError::Unauthorized(_) | CalendarError::Credentials(_) => ErrorScope::Authorization,
            CalendarError::Refused(_) | CalendarError::IdCancelled(_) | CalendarError::NotFound(_) => {
                ErrorScope::ThisOne
            }
            CalendarError::Invalid { .. }
            | CalendarError::Io { .. }
            | CalendarError::Transient(_)
            | CalendarError::Quota(_) => ErrorScope::Everyone,
        }
    }

    /// True when the calendar certainly did not apply the write that failed
    /// (it answered with a refusal); false when the write may have landed (a
    /// timeout, a lost answer).
    pub fn write_refused(&self) -> bool {
        !matches!(self, CalendarError::Transient(_))
    }
}

/// Most weeks a weekly rule ending with `UNTIL` is counted out to (a term is
/// a few weeks; this only bounds the loop).
const MAX_WEEKS: i64 = 520;

/// How many weekly occurrences a series starting at `start` (wall clock in
/// `tz`) has up to and including the instant `until`: the COUNT of a rule
/// that ends with `UNTIL` (a series ended early). Weeks are stepped on the
/// wall clock, as RFC 5545 and Google expand a weekly rule, so an occurrence
/// keeps its local time across a DST change. 0 when `until` is before the
/// first occurrence.
pub(crate) fn weekly_count_until(start: DateTime, tz: &jiff::tz::TimeZone, until: Timestamp) -> u32 {
    let mut count = 0u32;
    for week in 0..MAX_WEEKS {
        let Ok(at) = start.checked_add(jiff::Span::new().weeks(week)) else {
            break;
        };
        let Ok(zoned) = at.to_zoned_datetime(tz.clone()) else {
            break;
        };
        if zoned.timestamp() > until {
            break;
        }
        count += 1;
    }
    count
}

/// `until` as an iCalendar UTC date-time, `YYYYMMDDTHHMMSSZ`, for the `UNTIL`
/// of a rule. A fraction of a second is rounded up, so that an occurrence
/// starting at `until` is never cut off.
pub(crate) fn ical_utc_until(until: Timestamp) -> String {
    // `as_second` truncates toward zero: up for instants before 1970, down after.
    let seconds = match until.subsec_nanosecond() {
        n if n > 0 => until.as_second().saturating_add(1),
        _ => until.as_second(),
    };
    let whole = Timestamp::from_second(seconds).unwrap_or(until);
    whole.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// What a provider can do beyond the basics every one has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Its changes carry attendees' answers (declines of a series).
    pub answers: bool,
    /// It reports changed single occurrences and can move one.
    pub occurrences: bool,
}

/// What `end_series` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndOutcome {
    /// The recurrence now ends with the occurrence at `until`.
    Ended,
    /// The series is gone already (deleted by someone).
    AlreadyGone,
}

/// What `delete_series` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// It was deleted already (by someone, or by an earlier attempt).
    AlreadyGone,
}

/// A calendar backend. Async because the Google backend is; the local backend
/// simply does its file I/O inside the futures.
#[allow(async_fn_in_trait)]
pub trait CalendarProvider {
    /// Busy time of each email inside `range`. A per-person failure is reported in
    /// the map; only a failure of the whole query is an `Err`.
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError>;

    /// Creates the series, or reports that a series with the same id exists.
    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError>;

    /// Creates each series in order, as [`create_series`](Self::create_series)
    /// would, and returns the outcome of each one tried: all of them, or fewer
    /// when an error that concerns everyone ([`ErrorScope::Everyone`] or
    /// [`ErrorScope::Authorization`]) ends the batch; that error is then the
    /// last outcome, and the series after it were not sent. The caller gives
    /// at most [`batch_size`](Self::batch_size) series at a time, each
    /// announced by its intent in the store beforehand.
    async fn create_many(&self, series: &[SeriesRequest]) -> Vec<Result<CreateOutcome, CalendarError>> {
        let mut outcomes = Vec::with_capacity(series.len());
        for one in series {
            let outcome = self.create_series(one).await;
            let ends = outcome.as_ref().is_err_and(|e| e.scope() != ErrorScope::ThisOne);
            outcomes.push(outcome);
            if ends {
                break;
            }
        }
        outcomes
    }

    /// How many series [`create_many`](Self::create_many) should be given at
    /// once. 1 where every insert is a request of its own (Google): each
    /// intent is then flushed right before its insert, and a crash leaves at
    /// most one intent in doubt. A provider that writes a whole file per
    /// change (local) takes them all, so the file is written once per batch
    /// and not once per series.
    fn batch_size(&self) -> usize {
        1
    }

    /// Every series liaison created on the organizer calendar.
    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError>;

    /// The series with this id, cancelled or not, if the calendar has it.
    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError>;

    /// [`get_series`](Self::get_series) of each id, in order. The outer error
    /// concerns them all (a local file that cannot be read); an inner one only
    /// its id. A provider that reads everything at once (local) overrides it
    /// to read once and not once per id.
    async fn get_many(
        &self,
        event_ids: &[String],
    ) -> Result<Vec<Result<Option<BookedSeries>, CalendarError>>, CalendarError> {
        let mut found = Vec::with_capacity(event_ids.len());
        for id in event_ids {
            let one = self.get_series(id).await;
            // An authorization error would fail every other lookup too.
            if let Err(e @ CalendarError::Unauthorized(_)) = one {
                return Err(e);
            }
            found.push(one);
        }
        Ok(found)
    }

    /// Deletes (cancels) the whole series, notifying attendees as configured.
    /// Only for a series none of whose occurrences has started.
    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError>;

    /// Ends the series early: the occurrence starting at `until` is its last,
    /// those before it stay in everyone's calendar, those after go (Google:
    /// the recurrence patched to `FREQ=WEEKLY;UNTIL=<until in UTC>`;
    /// iCalendar: the RRULE rewritten the same way). Read back, the series'
    /// `count` is then the number of occurrences kept.
    ///
    /// The rule is replaced, not narrowed: ending an ended series again with
    /// a later `until` brings weeks back, so pass the same `until` when
    /// retrying. A series that is deleted (cancelled) or unknown is
    /// `AlreadyGone`. The local provider refuses an `until` before the first
    /// occurrence (`Invalid`; such a series is deleted instead); Google is
    /// not asked to check it.
    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError>;

    /// [`end_series`](Self::end_series) of a series as liaison booked it. A
    /// provider whose end replaces the skipped occurrences along with the rule
    /// (Google: `recurrence` is one array, EXDATEs included) overrides this to
    /// write them again; the others end by id.
    async fn end_booked_series(&self, series: &SeriesRequest, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        self.end_series(&series.event_id, until).await
    }

    /// How long after a write was sent the calendar may still apply it (the
    /// request timeout): a pending intent found missing sooner is not given up.
    /// Google: the per-call timeout of its `Timing` (30 s by default). It is
    /// counted from the sending of one attempt; a call that retried sent its
    /// last attempt up to `Timing::retry_budget` after its first. Local: 0,
    /// its writes are done when the call returns.
    fn write_timeout(&self) -> SignedDuration {
        SignedDuration::ZERO
    }

    /// Liaison's series changed since `token` (every one without a token, or
    /// when the token expired). Without incremental reading: a full list.
    ///
    /// `now` is the cycle's clock (DESIGN §7: no provider reads the clock
    /// for what it plans): a provider that reads changes over a window of
    /// time (Microsoft's `calendarView/delta`) places the window around it.
    async fn list_changes(&self, token: Option<&str>, now: Timestamp) -> Result<Changes, CalendarError> {
        let _ = (token, now);
        let series = self.list_series().await?;
        Ok(Changes {
            series: series
                .into_iter()
                .map(|series| SeriesDetails {
                    series,
                    responses: BTreeMap::new(),
                    conference_link: None,
                })
                .collect(),
            deleted_ids: Vec::new(),
            occurrences: Vec::new(),
            full: true,
            next_token: None,
            unreadable: Vec::new(),
            ended: Vec::new(),
        })
    }

    /// Moves one occurrence of a series to `to` (wall clock in the series' zone
    /// `zone`). Only providers whose changes report occurrences are asked to.
    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        let _ = (instance_id, to, zone);
        Err(CalendarError::Invalid {
            path: series_id.to_string(),
            line: None,
            message: "this calendar provider cannot move single occurrences".to_string(),
        })
    }

    /// After the cycle booked, with `token` (read before its writes) stored:
    /// a token past the cycle's own new series, when the provider can tell
    /// that nothing but them changed since `token` (so the next cycle is
    /// quiet), or `None` to keep `token`. Providers whose changes do not
    /// report their own writes need nothing (the default).
    async fn token_after_own_writes(&self, token: &str, now: Timestamp) -> Result<Option<String>, CalendarError> {
        let _ = (token, now);
        Ok(None)
    }

    /// What this provider can do beyond busy time, booking, ending and
    /// cancelling; the cycle adapts to it (no provider is named outside
    /// `calendar/`).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            answers: true,
            occurrences: true,
        }
    }

    /// From now on, reads must not write: a dry run. A provider whose reads
    /// may repair what an interrupted run left (CalDAV completing attendee
    /// copies) leaves that to a real run. Most providers never write on a
    /// read, hence the default.
    fn reads_only(&self) {}

    /// Calendar API requests made so far, retries included (for the cycle log).
    /// Providers without an API, like the local one, make none.
    fn requests(&self) -> u64 {
        0
    }

    /// Units of work done so far (requests, files read, files written): the
    /// daemon's watchdog is pinged while this or the cycle's own steps move,
    /// so a long read of many calendars counts as progress.
    fn steps(&self) -> u64 {
        self.requests()
    }
}

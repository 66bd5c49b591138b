//! The embedded calendar provider: plain iCalendar (RFC 5545) files in one
//! directory.
//!
//! `<dir>/<email>.ics` is each person's calendar — an export from Google,
//! Outlook or Apple Calendar, or a file `liaison demo` wrote — and is only read,
//! for busy time. `<dir>/bookings.ics` plays the organizer calendar: liaison
//! appends one VEVENT per booked series and reads them back, and those series
//! count as busy time for their attendees, as they would on Google. Each VEVENT
//! carries `X-LIAISON-INSTANCE` with the installation's name when the provider
//! was given one ([`LocalProvider::with_instance`]); ending a series early
//! rewrites its RRULE to `FREQ=WEEKLY;UNTIL=<UTC>`.
//!
//! Reading is strict about structure (a malformed file is an error naming the
//! file and the line) and lenient where real exports differ: CRLF or LF line
//! ends, blank lines, Windows zone names, vendor-prefixed TZIDs, custom
//! VTIMEZONEs.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{Datelike as _, Timelike as _};
use icalendar::{Component as _, Event, Property};
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::temporal::SpanParser;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, ToSpan as _, ZonedDateTime};

use super::{
    Attendee, BookedSeries, BusyAnswer, CalendarError, CalendarProvider, CreateOutcome, DeleteOutcome, EndOutcome,
    SeriesRequest, ical_utc_until, weekly_count_until,
};
use crate::core::interval::{Interval, IntervalSet};

/// The organizer calendar inside the directory.
const BOOKINGS_FILE: &str = "bookings.ics";
const PRODID: &str = "-//liaison//EN";
/// Most occurrences one RRULE may yield before the end of the requested range.
/// A daily meeting kept since 1990 stays far below; a SECONDLY rule does not, and
/// is reported instead of expanded for minutes.
const MAX_OCCURRENCES: usize = 100_000;

/// Calendar provider over a directory of iCalendar files.
#[derive(Debug)]
pub struct LocalProvider {
    dir: PathBuf,
    organizer: String,
    /// Zone for floating times and all-day events of people not in `zones`.
    default_zone: TimeZone,
    /// Per-person zones, keyed by lower-case email.
    zones: BTreeMap<String, TimeZone>,
    /// `calendar.instance`, written as `X-LIAISON-INSTANCE` on every series;
    /// `None` writes no marker.
    instance: Option<String>,
    /// Serializes the read-modify-write of bookings.ics between tasks of this
    /// process (the temp-file-and-rename only protects readers).
    write_lock: Mutex<()>,
}

impl LocalProvider {
    /// A provider reading `<dir>/<email>.ics` and writing `<dir>/bookings.ics`
    /// with `organizer` as ORGANIZER. Floating times are read in UTC until
    /// [`LocalProvider::with_time_zones`] says otherwise.
    pub fn new(dir: impl Into<PathBuf>, organizer: impl Into<String>) -> Self {
        LocalProvider {
            dir: dir.into(),
            organizer: organizer.into(),
            default_zone: TimeZone::UTC,
            zones: BTreeMap::new(),
            instance: None,
            write_lock: Mutex::new(()),
        }
    }

    /// Marks every series this provider books with `X-LIAISON-INSTANCE:<name>`,
    /// the installation's `calendar.instance` (DESIGN §4 "Ownership"). Without
    /// it (or with an empty name) no marker is written.
    pub fn with_instance(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.instance = (!name.trim().is_empty()).then(|| name.trim().to_string());
        self
    }

    /// Sets each person's zone (and the zone of everyone else), used for their
    /// floating times and all-day events unless their file names its own zone
    /// in `X-WR-TIMEZONE`.
    pub fn with_time_zones(mut self, default: TimeZone, people: impl IntoIterator<Item = (String, TimeZone)>) -> Self {
        self.default_zone = default;
        self.zones = people
            .into_iter()
            .map(|(email, tz)| (email.to_ascii_lowercase(), tz))
            .collect();
        self
    }

    /// Where the series liaison books are written.
    pub fn bookings_path(&self) -> PathBuf {
        self.dir.join(BOOKINGS_FILE)
    }

    /// Marks the series `event_id` as `STATUS:CANCELLED` in bookings.ics.
    /// Returns `true` when an active series was cancelled, `false` when there is
    /// no such series or it already was cancelled (nothing is written then).
    pub fn cancel_series(&self, event_id: &str) -> Result<bool, CalendarError> {
        let path = self.bookings_path();
        let name = path.display().to_string();
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = read_text(&path)? else {
            return Ok(false);
        };
        let roots = parse_calendar(&text, &name)?;
        let mut edits: Vec<(usize, usize)> = Vec::new();
        for event in events_of(&roots).filter(|c| has_uid(c, event_id)) {
            match event.prop("STATUS") {
                Some(p) if p.value.trim().eq_ignore_ascii_case("CANCELLED") => {}
                Some(p) => edits.push((p.start, p.end)),
                None => edits.push((event.end_start, event.end_start)),
            }
        }
        if edits.is_empty() {
            return Ok(false);
        }
        edits.sort_unstable();
        let mut out = String::with_capacity(text.len() + 32);
        let mut at = 0;
        for (start, end) in edits {
            out.push_str(text.get(at..start).unwrap_or_default());
            out.push_str("STATUS:CANCELLED\r\n");
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        write_atomically(&path, &out)?;
        Ok(true)
    }

    /// Ends the series `event_id` early: its RRULE becomes
    /// `FREQ=WEEKLY;UNTIL=<until in UTC>`, so the occurrence starting at
    /// `until` is its last. `AlreadyGone` when bookings.ics has no such series
    /// or it is cancelled (nothing is written then). An `until` before the
    /// first occurrence is refused: such a series is deleted, not ended.
    fn end_series_at(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        let path = self.bookings_path();
        let name = path.display().to_string();
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(text) = read_text(&path)? else {
            return Ok(EndOutcome::AlreadyGone);
        };
        let roots = parse_calendar(&text, &name)?;
        let rule = format!("RRULE:FREQ=WEEKLY;UNTIL={}\r\n", ical_utc_until(until));
        let mut edits: Vec<(usize, usize)> = Vec::new();
        for event in events_of(&roots).filter(|c| has_uid(c, event_id) && c.prop("RECURRENCE-ID").is_none()) {
            let cancelled = event
                .value("STATUS")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("CANCELLED"));
            if cancelled {
                continue;
            }
            let invalid = |line: usize, message: String| located(&name, (line, message));
            let series = series_of(event).map_err(|e| located(&name, e))?.ok_or_else(|| {
                invalid(
                    event.line,
                    format!("event {event_id} is not a liaison series; not ending it"),
                )
            })?;
            let request = &series.request;
            let first = TimeZone::get(&request.zone)
                .ok()
                .and_then(|tz| request.start.to_zoned_datetime(tz).ok())
                .map(|z| z.timestamp())
                .ok_or_else(|| invalid(event.line, format!("the start of series {event_id} cannot be placed")))?;
            if until < first {
                return Err(invalid(
                    event.line,
                    format!(
                        "cannot end series {event_id} at {until}, before its first occurrence at {first}; \
                         expected the start of an occurrence to keep (a series none of whose occurrences \
                         has started is deleted instead)"
                    ),
                ));
            }
            let mut rules = event.all("RRULE");
            let (Some(old), None) = (rules.next(), rules.next()) else {
                return Err(invalid(
                    event.line,
                    format!("series {event_id} does not have exactly one RRULE; not ending it"),
                ));
            };
            edits.push((old.start, old.end));
        }
        if edits.is_empty() {
            return Ok(EndOutcome::AlreadyGone);
        }
        edits.sort_unstable();
        let mut out = String::with_capacity(text.len() + 32);
        let mut at = 0;
        for (start, end) in edits {
            out.push_str(text.get(at..start).unwrap_or_default());
            out.push_str(&rule);
            at = end;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        write_atomically(&path, &out)?;
        Ok(EndOutcome::Ended)
    }

    fn zone_of(&self, email: &str) -> TimeZone {
        self.zones
            .get(&email.to_ascii_lowercase())
            .unwrap_or(&self.default_zone)
            .clone()
    }

    /// `<dir>/<email>.ics`, refusing emails that would name another file.
    fn person_path(&self, email: &str) -> Result<PathBuf, String> {
        let unsafe_name = email.is_empty()
            || email.starts_with('.')
            || email.contains(['/', '\\', '\0'])
            || email.eq_ignore_ascii_case("bookings");
        if unsafe_name {
            return Err(format!(
                "{email:?} cannot name a calendar file in {}",
                self.dir.display()
            ));
        }
        let exact = self.dir.join(format!("{email}.ics"));
        // Addresses are case-insensitive in practice; files are often named in
        // lower case whatever the configuration says.
        let lower = self.dir.join(format!("{}.ics", email.to_lowercase()));
        Ok(if exact.exists() || !lower.exists() {
            exact
        } else {
            lower
        })
    }
}

impl CalendarProvider for LocalProvider {
    /// `bookings.ics` holds no answers, and nobody changes one occurrence in it.
    fn capabilities(&self) -> super::Capabilities {
        super::Capabilities {
            answers: false,
            occurrences: false,
        }
    }

    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        self.end_series_at(event_id, until)
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        Ok(if self.cancel_series(event_id)? {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::AlreadyGone
        })
    }

    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let bookings_path = self.bookings_path();
        let bookings_name = bookings_path.display().to_string();
        let bookings_text = read_text(&bookings_path)?;
        let bookings = bookings_text
            .as_deref()
            .map(|text| parse_calendar(text, &bookings_name))
            .transpose()?;
        let mut answers = BTreeMap::new();
        for email in emails {
            let answer = match self.person_path(email) {
                Err(why) => Err(why),
                Ok(path) => {
                    let name = path.display().to_string();
                    match read_text(&path)? {
                        None => Err(format!("no calendar file {name}")),
                        Some(text) => {
                            let zone = self.zone_of(email);
                            let own = busy_from_ics(&text, &name, email, &zone, range)?;
                            let booked = match &bookings {
                                Some(roots) => {
                                    busy_in(roots, &bookings_name, email, &zone, range, Scope::InvolvingOwner)?
                                }
                                None => IntervalSet::new(),
                            };
                            Ok(own.union(&booked))
                        }
                    }
                }
            };
            answers.insert(email.clone(), answer);
        }
        Ok(answers)
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let path = self.bookings_path();
        let name = path.display().to_string();
        let event = render_event(series, &self.organizer, self.instance.as_deref()).map_err(|why| {
            let message = format!("cannot book series {:?}: {}", series.event_id, why.message());
            match why {
                Unwritable::Attendee(_) => {
                    CalendarError::Refused(format!("{name}: {message} ({}|{})", series.pair.0, series.pair.1))
                }
                Unwritable::Request(_) => CalendarError::Invalid {
                    path: name.clone(),
                    line: None,
                    message,
                },
            }
        })?;
        let _guard = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let text = match read_text(&path)? {
            None => new_calendar(&event),
            Some(text) => {
                let roots = parse_calendar(&text, &name)?;
                if events_of(&roots).any(|c| has_uid(c, &series.event_id)) {
                    return Ok(CreateOutcome::AlreadyExists);
                }
                // parse_calendar guarantees at least one VCALENDAR; append to the last.
                let at = roots.last().map_or(text.len(), |c| c.end_start);
                let head = text.get(..at).unwrap_or(&text);
                let tail = text.get(at..).unwrap_or_default();
                format!("{head}{event}{tail}")
            }
        };
        fs::create_dir_all(&self.dir).map_err(|source| CalendarError::Io {
            path: self.dir.clone(),
            source,
        })?;
        write_atomically(&path, &text)?;
        Ok(CreateOutcome::Created)
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        let path = self.bookings_path();
        let name = path.display().to_string();
        let Some(text) = read_text(&path)? else {
            return Ok(Vec::new());
        };
        let roots = parse_calendar(&text, &name)?;
        let mut out = Vec::new();
        for event in events_of(&roots) {
            if let Some(series) = series_of(event).map_err(|e| located(&name, e))? {
                out.push(series);
            }
        }
        Ok(out)
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        let all = self.list_series().await?;
        Ok(all.into_iter().find(|s| s.request.event_id == event_id))
    }
}

// ---------------------------------------------------------------------------
// Busy time from iCalendar text
// ---------------------------------------------------------------------------

/// Busy time of `owner_email` inside `range`, read from the iCalendar `text` of
/// their calendar (`path` only names it in errors).
///
/// Floating times and all-day events are read in `owner_zone`, unless the file
/// names its calendar's zone in `X-WR-TIMEZONE` (Google and Apple write it):
/// that is the zone its calendar app showed them in. Cancelled, transparent
/// and declined (by the owner's ATTENDEE line) events are free time.
/// Recurrences are expanded only up to `range.end`.
pub fn busy_from_ics(
    text: &str,
    path: &str,
    owner_email: &str,
    owner_zone: &TimeZone,
    range: Interval,
) -> Result<IntervalSet, CalendarError> {
    let roots = parse_calendar(text, path)?;
    busy_in(&roots, path, owner_email, owner_zone, range, Scope::WholeCalendar)
}

/// Which events of a file are the owner's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A person's own calendar: every event is theirs.
    WholeCalendar,
    /// The organizer calendar: only events naming the owner as attendee or organizer.
    InvolvingOwner,
}

fn busy_in(
    roots: &[Comp],
    path: &str,
    owner: &str,
    owner_zone: &TimeZone,
    range: Interval,
    scope: Scope,
) -> Result<IntervalSet, CalendarError> {
    let fail = |e: (usize, String)| located(path, e);
    let contexts = roots
        .iter()
        .map(|root| Ctx::new(root, owner_zone))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    // Every VEVENT is read before any is used, so that a malformed one is
    // reported wherever it is, not only when it falls inside the range.
    let mut events = Vec::new();
    for (root, ctx) in roots.iter().zip(&contexts) {
        for comp in root.children.iter().filter(|c| c.name == "VEVENT") {
            events.push((parse_event(comp, ctx).map_err(fail)?, ctx));
        }
    }
    // A RECURRENCE-ID instance replaces the occurrence it names in the series
    // with the same UID, whether or not the instance itself is busy.
    let mut replaced: BTreeMap<&str, Vec<Key>> = BTreeMap::new();
    for (event, _) in &events {
        if let (Some(uid), Some(key)) = (event.uid, &event.recurrence_id) {
            replaced.entry(uid).or_default().push(key.clone());
        }
    }
    let mut spans = Vec::new();
    for (event, ctx) in &events {
        let involved = scope == Scope::WholeCalendar || involves(event.comp, owner);
        if !involved || !shows_busy(event.comp, owner) {
            continue;
        }
        let none = Vec::new();
        let skip = match (event.uid, &event.recurrence_id) {
            (Some(uid), None) => replaced.get(uid).unwrap_or(&none),
            _ => &none,
        };
        for occurrence in occurrences(event, ctx, range.end, skip).map_err(fail)? {
            let end = occurrence.end(&event.length).map_err(|m| fail((event.start_line, m)))?;
            spans.push(Interval::new(occurrence.start.timestamp(), end));
        }
    }
    Ok(spans.into_iter().filter_map(|span| span.intersection(&range)).collect())
}

fn located(path: &str, (line, message): (usize, String)) -> CalendarError {
    CalendarError::Invalid {
        path: path.to_string(),
        line: Some(line),
        message,
    }
}

/// An error message with the 1-based line it concerns.
type Located<T> = Result<T, (usize, String)>;

fn at(line: usize) -> impl Fn(String) -> (usize, String) {
    move |message| (line, message)
}

/// A DTSTART-like value: a whole day, or a wall-clock time in a zone (UTC for
/// `...Z`, the owner's zone for floating times).
#[derive(Clone, Debug)]
enum When {
    Date(Date),
    At(DateTime, TimeZone),
}

/// What an EXDATE or RECURRENCE-ID names: an instant, or a whole day (DATE values).
#[derive(Clone, Debug)]
enum Key {
    At(Timestamp),
    Day(Date),
}

impl Key {
    fn matches(&self, start: &ZonedDateTime) -> bool {
        match self {
            Key::At(ts) => start.timestamp() == *ts,
            Key::Day(day) => start.date() == *day,
        }
    }
}

/// How long each occurrence lasts. DTEND on a timed event gives an exact
/// duration; DURATION and all-day DTENDs are nominal, so a day stays a calendar
/// day (23 or 25 hours across DST), as RFC 5545 3.8.5.3 says.
#[derive(Clone, Debug)]
enum Length {
    Exact(SignedDuration),
    Nominal(Span),
}

struct Occurrence {
    start: ZonedDateTime,
    /// Set for RDATE periods, which carry their own end.
    length: Option<Length>,
}

impl Occurrence {
    fn end(&self, default: &Length) -> Result<Timestamp, String> {
        let end = match self.length.as_ref().unwrap_or(default) {
            Length::Exact(d) => self.start.timestamp().checked_add(*d),
            Length::Nominal(span) => self.start.checked_add(*span).map(|z| z.timestamp()),
        };
        end.map_err(|_| format!("the event starting {} ends out of range", self.start))
    }
}

/// A VEVENT, read and checked.
struct Ev<'c> {
    comp: &'c Comp,
    uid: Option<&'c str>,
    recurrence_id: Option<Key>,
    start: When,
    start_line: usize,
    length: Length,
    rules: Vec<Rule>,
    rdates: Vec<(When, Option<Length>, usize)>,
    exdates: Vec<Key>,
}

struct Rule {
    /// `None` when UNTIL lies before DTSTART: only DTSTART itself occurs.
    set: Option<rrule::RRuleSet>,
    line: usize,
}

/// Per-VCALENDAR reading context: its zones and the zone of floating times.
struct Ctx<'c> {
    zones: Zones<'c>,
    floating: TimeZone,
}

impl<'c> Ctx<'c> {
    fn new(root: &'c Comp, owner_zone: &TimeZone) -> Located<Ctx<'c>> {
        let zones = Zones::new(root);
        let floating = match root.prop("X-WR-TIMEZONE") {
            Some(p) => zones.resolve(p.value.trim()).map_err(at(p.line))?,
            None => owner_zone.clone(),
        };
        Ok(Ctx { zones, floating })
    }

    fn parse_when(&self, prop: &Prop, raw: &str) -> Result<When, String> {
        let raw = raw.trim();
        let value_type = prop.param("VALUE").map(str::to_ascii_uppercase);
        if value_type.as_deref() == Some("DATE") || (value_type.is_none() && raw.len() == 8) {
            return parse_date(raw)
                .map(When::Date)
                .ok_or_else(|| format!("{} value {raw:?} is not a date; expected YYYYMMDD", prop.name));
        }
        let (dt, utc) = parse_datetime(raw).ok_or_else(|| {
            format!(
                "{} value {raw:?} is not a date-time; expected YYYYMMDDTHHMMSS, \
                 YYYYMMDDTHHMMSSZ (UTC) or a date YYYYMMDD",
                prop.name
            )
        })?;
        let tz = if utc {
            TimeZone::UTC
        } else if let Some(tzid) = prop.param("TZID") {
            self.zones.resolve(tzid)?
        } else {
            self.floating.clone()
        };
        Ok(When::At(dt, tz))
    }

    /// The wall clock of `when`, the zone it is read in, and whether it is a date.
    fn civil(&self, when: &When) -> (DateTime, TimeZone, bool) {
        match when {
            When::Date(d) => (d.to_datetime(Time::midnight()), self.floating.clone(), true),
            When::At(dt, tz) => (*dt, tz.clone(), false),
        }
    }

    fn zoned(&self, when: &When) -> Result<ZonedDateTime, String> {
        let (dt, tz, _) = self.civil(when);
        // A wall clock in a DST gap is read with the offset before the gap
        // (`compatible`), as RFC 5545 3.3.5 asks.
        dt.to_zoned_datetime(tz)
            .map_err(|e| format!("{dt} cannot be placed in its time zone: {e}"))
    }

    fn key(&self, when: &When) -> Result<Key, String> {
        match when {
            When::Date(d) => Ok(Key::Day(*d)),
            When::At(..) => Ok(Key::At(self.zoned(when)?.timestamp())),
        }
    }
}

fn parse_event<'c>(comp: &'c Comp, ctx: &Ctx) -> Located<Ev<'c>> {
    let single = |name: &str| -> Located<Option<&'c Prop>> {
        let mut all = comp.all(name);
        let first = all.next();
        match all.next() {
            Some(dup) => Err((dup.line, format!("a second {name} in one VEVENT; expected at most one"))),
            None => Ok(first),
        }
    };
    let dtstart = single("DTSTART")?.ok_or_else(|| {
        (
            comp.line,
            "VEVENT without DTSTART; expected a DTSTART property".to_string(),
        )
    })?;
    let start = ctx.parse_when(dtstart, &dtstart.value).map_err(at(dtstart.line))?;
    let start_zoned = ctx.zoned(&start).map_err(at(dtstart.line))?;

    let length = match (single("DTEND")?, single("DURATION")?) {
        (Some(_), Some(duration)) => {
            return Err((
                duration.line,
                "VEVENT has both DTEND and DURATION; expected only one of them".into(),
            ));
        }
        (Some(dtend), None) => {
            let end = ctx.parse_when(dtend, &dtend.value).map_err(at(dtend.line))?;
            let before = || {
                (
                    dtend.line,
                    format!(
                        "DTEND {} is before DTSTART {}; expected an end at or after the start",
                        dtend.value.trim(),
                        dtstart.value.trim()
                    ),
                )
            };
            match (&start, &end) {
                (When::Date(s), When::Date(e)) => {
                    if e < s {
                        return Err(before());
                    }
                    let days = s
                        .until(*e)
                        .map_err(|err| (dtend.line, format!("DTEND is out of range: {err}")))?;
                    Length::Nominal(days)
                }
                (When::At(..), When::At(..)) => {
                    let end = ctx.zoned(&end).map_err(at(dtend.line))?;
                    let exact = end.timestamp().duration_since(start_zoned.timestamp());
                    if exact.is_negative() {
                        return Err(before());
                    }
                    Length::Exact(exact)
                }
                _ => {
                    return Err((
                        dtend.line,
                        format!(
                            "DTEND is a {} but DTSTART is a {}; expected both dates or both date-times",
                            kind(&end),
                            kind(&start)
                        ),
                    ));
                }
            }
        }
        (None, Some(duration)) => Length::Nominal(parse_duration(&duration.value).map_err(at(duration.line))?),
        // RFC 5545 3.6.1: a day for an all-day event, an instant otherwise.
        (None, None) => match start {
            When::Date(_) => Length::Nominal(1.day()),
            When::At(..) => Length::Exact(SignedDuration::ZERO),
        },
    };

    let recurrence_id = match single("RECURRENCE-ID")? {
        Some(p) => Some(
            ctx.parse_when(p, &p.value)
                .and_then(|w| ctx.key(&w))
                .map_err(at(p.line))?,
        ),
        None => None,
    };

    let mut rules = Vec::new();
    for p in comp.all("RRULE") {
        let set = parse_rule(&p.value, &start, ctx).map_err(at(p.line))?;
        rules.push(Rule { set, line: p.line });
    }
    let mut exdates = Vec::new();
    for p in comp.all("EXDATE") {
        for raw in p.value.split(',') {
            let when = ctx.parse_when(p, raw).map_err(at(p.line))?;
            exdates.push(ctx.key(&when).map_err(at(p.line))?);
        }
    }
    let mut rdates = Vec::new();
    for p in comp.all("RDATE") {
        for raw in p.value.split(',') {
            let (when, length) = parse_rdate(p, raw, ctx).map_err(at(p.line))?;
            rdates.push((when, length, p.line));
        }
    }

    Ok(Ev {
        comp,
        uid: comp.value("UID").map(str::trim),
        recurrence_id,
        start,
        start_line: dtstart.line,
        length,
        rules,
        rdates,
        exdates,
    })
}

fn kind(when: &When) -> &'static str {
    match when {
        When::Date(_) => "date",
        When::At(..) => "date-time",
    }
}

/// One RDATE value: a date, a date-time, or a PERIOD `start/end` or `start/duration`.
fn parse_rdate(prop: &Prop, raw: &str, ctx: &Ctx) -> Result<(When, Option<Length>), String> {
    let Some((from, to)) = raw.split_once('/') else {
        return Ok((ctx.parse_when(prop, raw)?, None));
    };
    let start = ctx.parse_when(prop, from)?;
    let start_zoned = ctx.zoned(&start)?;
    let to = to.trim();
    let length = if to.starts_with(['P', 'p', '+', '-']) {
        Length::Nominal(parse_duration(to)?)
    } else {
        let end = ctx.parse_when(prop, to)?;
        let exact = ctx.zoned(&end)?.timestamp().duration_since(start_zoned.timestamp());
        if exact.is_negative() {
            return Err(format!(
                "RDATE period {raw:?} ends before it starts; expected start/end with end after start"
            ));
        }
        Length::Exact(exact)
    };
    Ok((start, Some(length)))
}

/// An RFC 5545 duration such as `PT1H30M`, `P1D`, `P2W`.
fn parse_duration(raw: &str) -> Result<Span, String> {
    static PARSER: SpanParser = SpanParser::new();
    let raw = raw.trim();
    let span = PARSER
        .parse_span(raw)
        .map_err(|_| format!("duration {raw:?} is not an iCalendar duration; expected e.g. PT1H30M, P1D or P1W"))?;
    if span.is_negative() {
        return Err(format!(
            "duration {raw:?} is negative; expected a duration of zero or more"
        ));
    }
    Ok(span)
}

/// Builds the expansion of one RRULE value. Occurrences are computed on the
/// wall clock (DTSTART's local time, handed to `rrule` as if it were UTC) and
/// placed in the real zone with jiff afterwards: that is RFC 5545's model
/// (a weekly 09:00 stays 09:00 across DST) and keeps chrono-tz's zone data out
/// of it. UNTIL is read here too, for the same reason and because `rrule` would
/// read a floating UNTIL in the machine's local zone.
fn parse_rule(raw: &str, start: &When, ctx: &Ctx) -> Result<Option<rrule::RRuleSet>, String> {
    let bad = |why: &dyn std::fmt::Display| {
        format!(
            "RRULE {:?} is not a valid recurrence rule ({why}); expected e.g. \
             FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z",
            raw.trim()
        )
    };
    let mut until = None;
    let mut rest = Vec::new();
    for part in raw.trim().split(';').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => until = Some(v.trim()),
            _ => rest.push(part.trim()),
        }
    }
    let mut rule: rrule::RRule<rrule::Unvalidated> = rest.join(";").parse().map_err(|e: rrule::RRuleError| bad(&e))?;
    let (first, zone, date_only) = ctx.civil(start);
    if let Some(until) = until {
        let last = if let Some(day) = parse_date(until) {
            // A date UNTIL includes that whole day.
            let time = if date_only {
                Time::midnight()
            } else {
                Time::constant(23, 59, 59, 0)
            };
            day.to_datetime(time)
        } else if let Some((dt, utc)) = parse_datetime(until) {
            if utc {
                let instant = dt
                    .to_zoned_datetime(TimeZone::UTC)
                    .map_err(|e| bad(&format!("UNTIL out of range: {e}")))?;
                instant.timestamp().to_zoned_datetime(zone).datetime()
            } else {
                dt
            }
        } else {
            return Err(bad(&format!("UNTIL={until} is not a date or date-time")));
        };
        if last < first {
            return Ok(None);
        }
        rule = rule.until(to_chrono(last).ok_or_else(|| bad(&"UNTIL out of range"))?);
    }
    let first = to_chrono(first).ok_or_else(|| bad(&"DTSTART out of range"))?;
    let set = rule.build(first).map_err(|e| bad(&e))?;
    // `limit` makes rrule give up on rules that never produce a date
    // (e.g. BYMONTHDAY=30;BYMONTH=2) instead of searching forever.
    Ok(Some(set.limit()))
}

fn to_chrono(dt: DateTime) -> Option<chrono::DateTime<rrule::Tz>> {
    let u = |v: i8| u32::try_from(v).ok();
    chrono::NaiveDate::from_ymd_opt(dt.year().into(), u(dt.month())?, u(dt.day())?)?
        .and_hms_opt(u(dt.hour())?, u(dt.minute())?, u(dt.second())?)
        .map(|naive| naive.and_utc().with_timezone(&rrule::Tz::UTC))
}

fn from_chrono(dt: &chrono::DateTime<rrule::Tz>) -> Option<DateTime> {
    let n = dt.naive_utc();
    let i = |v: u32| i8::try_from(v).ok();
    DateTime::new(
        i16::try_from(n.year()).ok()?,
        i(n.month())?,
        i(n.day())?,
        i(n.hour())?,
        i(n.minute())?,
        i(n.second())?,
        0,
    )
    .ok()
}

/// The occurrences of `event` that start before `until`, minus EXDATEs and the
/// instances in `replaced`. DTSTART always counts (RFC 5545 3.8.5.3).
fn occurrences(event: &Ev, ctx: &Ctx, until: Timestamp, replaced: &[Key]) -> Located<Vec<Occurrence>> {
    let (first, zone, _) = ctx.civil(&event.start);
    if event.recurrence_id.is_some() {
        // An instance stands alone; its own RRULE/RDATE (RANGE=THISANDFUTURE) is not followed.
        let start = ctx.zoned(&event.start).map_err(at(event.start_line))?;
        return Ok(vec![Occurrence { start, length: None }]);
    }
    // Two days of slack cover any difference between the zone of the range and
    // the zone of the rule; exact filtering happens on instants afterwards.
    let limit = until
        .to_zoned_datetime(zone.clone())
        .datetime()
        .checked_add(2.days())
        .unwrap_or(DateTime::MAX);
    let mut starts = BTreeSet::from([first]);
    for rule in &event.rules {
        let Some(set) = &rule.set else { continue };
        let mut yielded = 0;
        for date in set {
            let Some(dt) = from_chrono(&date) else { break };
            if dt >= limit {
                break;
            }
            yielded += 1;
            if yielded > MAX_OCCURRENCES {
                return Err((
                    rule.line,
                    format!(
                        "RRULE yields more than {MAX_OCCURRENCES} occurrences before the end of \
                         the requested range; expected a rule with fewer occurrences \
                         (a coarser FREQ, an UNTIL or a COUNT)"
                    ),
                ));
            }
            starts.insert(dt);
        }
    }
    let mut out = Vec::with_capacity(starts.len() + event.rdates.len());
    for dt in starts {
        let start = dt
            .to_zoned_datetime(zone.clone())
            .map_err(|e| (event.start_line, format!("occurrence {dt} out of range: {e}")))?;
        out.push(Occurrence { start, length: None });
    }
    for (when, length, line) in &event.rdates {
        let start = ctx.zoned(when).map_err(at(*line))?;
        out.push(Occurrence {
            start,
            length: length.clone(),
        });
    }
    out.sort_by_key(|o| o.start.timestamp());
    out.dedup_by_key(|o| o.start.timestamp());
    out.retain(|o| !event.exdates.iter().chain(replaced).any(|key| key.matches(&o.start)));
    Ok(out)
}

/// False for cancelled and transparent events and for those the owner declined.
fn shows_busy(comp: &Comp, owner: &str) -> bool {
    let is = |name: &str, expected: &str| {
        comp.value(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
    };
    if is("STATUS", "CANCELLED") || is("TRANSP", "TRANSPARENT") {
        return false;
    }
    !comp.all("ATTENDEE").any(|a| {
        is_address_of(a, owner)
            && a.param("PARTSTAT")
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("DECLINED"))
    })
}

fn involves(comp: &Comp, owner: &str) -> bool {
    comp.all("ATTENDEE")
        .chain(comp.all("ORGANIZER"))
        .any(|p| is_address_of(p, owner))
}

/// An ATTENDEE/ORGANIZER names `email` in its value (with or without `mailto:`)
/// or in its EMAIL parameter (Apple puts a urn:uuid in the value).
fn is_address_of(prop: &Prop, email: &str) -> bool {
    same_address(&prop.value, email) || prop.param("EMAIL").is_some_and(|e| same_address(e, email))
}

fn same_address(value: &str, email: &str) -> bool {
    strip_mailto(value).eq_ignore_ascii_case(email.trim())
}

fn strip_mailto(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => v.get(7..).unwrap_or_default(),
        _ => v,
    }
}

fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::new(
        s.get(0..4)?.parse().ok()?,
        s.get(4..6)?.parse().ok()?,
        s.get(6..8)?.parse().ok()?,
    )
    .ok()
}

/// `YYYYMMDDTHHMMSS` with an optional `Z`; the flag says it was UTC.
fn parse_datetime(s: &str) -> Option<(DateTime, bool)> {
    let (body, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(body) => (body, true),
        None => (s, false),
    };
    let (date, time) = body.split_once(['T', 't'])?;
    let date = parse_date(date)?;
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let time = Time::new(
        time.get(0..2)?.parse().ok()?,
        time.get(2..4)?.parse().ok()?,
        time.get(4..6)?.parse().ok()?,
        0,
    )
    .ok()?;
    Some((date.to_datetime(time), utc))
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// TZID resolution for one VCALENDAR, cached because every event asks again.
struct Zones<'c> {
    vtimezones: Vec<&'c Comp>,
    cache: RefCell<BTreeMap<String, TimeZone>>,
}

impl<'c> Zones<'c> {
    fn new(root: &'c Comp) -> Self {
        Zones {
            vtimezones: root.children.iter().filter(|c| c.name == "VTIMEZONE").collect(),
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// IANA names first (what Google and Apple write, and what every VTIMEZONE
    /// of theirs describes), then Windows names (Outlook), then an IANA name
    /// behind a vendor prefix, then the file's own VTIMEZONE rules.
    fn resolve(&self, tzid: &str) -> Result<TimeZone, String> {
        let tzid = tzid.trim();
        if let Some(tz) = self.cache.borrow().get(tzid) {
            return Ok(tz.clone());
        }
        let tz = match zone_by_name(tzid) {
            Some(tz) => tz,
            None => {
                let Some(vtimezone) = self
                    .vtimezones
                    .iter()
                    .find(|c| c.value("TZID").is_some_and(|id| id.trim() == tzid))
                else {
                    return Err(format!(
                        "unknown time zone {tzid:?}; expected an IANA name such as \
                         Europe/Berlin, a Windows zone name, or a VTIMEZONE with that TZID"
                    ));
                };
                zone_from_vtimezone(vtimezone).map_err(|why| format!("time zone {tzid:?}: {why}"))?
            }
        };
        self.cache.borrow_mut().insert(tzid.to_string(), tz.clone());
        Ok(tz)
    }
}

fn zone_by_name(name: &str) -> Option<TimeZone> {
    if name.is_empty() {
        return None;
    }
    if let Ok(tz) = TimeZone::get(name) {
        return Some(tz);
    }
    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(name))
    {
        return TimeZone::get(iana).ok();
    }
    // "/mozilla.org/20050126_1/America/New_York", "/citadel.org/20190914_1/Europe/Berlin"
    name.match_indices('/')
        .filter_map(|(i, _)| name.get(i + 1..))
        .filter(|rest| rest.contains('/'))
        .find_map(|rest| TimeZone::get(rest).ok())
}

/// A zone from a VTIMEZONE's current rules, for TZIDs no database knows
/// (Outlook's "Customized Time Zone"). The latest STANDARD and DAYLIGHT
/// definitions become a POSIX TZ string, which jiff evaluates for every year;
/// older historical rules in the component are not followed.
fn zone_from_vtimezone(comp: &Comp) -> Result<TimeZone, String> {
    if let Some(tz) = comp.value("X-LIC-LOCATION").and_then(|n| zone_by_name(n.trim())) {
        return Ok(tz);
    }
    let latest = |kind: &str| {
        comp.children
            .iter()
            .filter(|c| c.name == kind)
            .filter_map(|c| Some((parse_datetime(c.value("DTSTART")?.trim())?.0, c)))
            .max_by_key(|(dt, _)| *dt)
    };
    let offset = |c: &Comp| {
        c.value("TZOFFSETTO").and_then(parse_utc_offset).ok_or_else(|| {
            format!(
                "{} at line {} has no valid TZOFFSETTO; expected e.g. TZOFFSETTO:+0100",
                c.name, c.line
            )
        })
    };
    let (std_start, standard) = latest("STANDARD")
        .ok_or_else(|| "VTIMEZONE without a STANDARD rule with a DTSTART; expected at least one".to_string())?;
    let std_offset = offset(standard)?;
    let Some((dst_start, daylight)) = latest("DAYLIGHT") else {
        return Ok(TimeZone::fixed(std_offset));
    };
    let dst_offset = offset(daylight)?;
    let rules = (daylight.value("RRULE"), standard.value("RRULE"));
    let (Some(dst_rule), Some(std_rule)) = rules else {
        // One-off transitions only: whichever came last is in force.
        let last = if dst_start > std_start { dst_offset } else { std_offset };
        return Ok(TimeZone::fixed(last));
    };
    if dst_rule.to_ascii_uppercase().contains("UNTIL") {
        // Daylight saving that has ended.
        return Ok(TimeZone::fixed(std_offset));
    }
    let posix = format!(
        "STD{}DST{},{}/{},{}/{}",
        posix_offset(std_offset),
        posix_offset(dst_offset),
        posix_rule(dst_rule)?,
        posix_time(dst_start),
        posix_rule(std_rule)?,
        posix_time(std_start),
    );
    TimeZone::posix(&posix).map_err(|e| format!("its rules do not form a time zone: {e}"))
}

/// `+0530`, `-0800`, `+013000`.
fn parse_utc_offset(raw: &str) -> Option<Offset> {
    let raw = raw.trim();
    let sign = match raw.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits = raw.get(1..)?;
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i32>().ok());
    let seconds = part(0..2)? * 3600 + part(2..4)? * 60 + part(4..6).unwrap_or(0);
    Offset::from_seconds(sign * seconds).ok()
}

/// POSIX offsets count west of Greenwich: UTC+01:00 is `-1`.
fn posix_offset(offset: Offset) -> String {
    let west = -offset.seconds();
    let sign = if west < 0 { "-" } else { "" };
    let s = west.unsigned_abs();
    format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn posix_time(dt: DateTime) -> String {
    format!("{}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
}

/// `FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU` → `M3.5.0`.
fn posix_rule(rule: &str) -> Result<String, String> {
    let unsupported =
        || format!("transition rule {rule:?} is not understood; expected FREQ=YEARLY;BYMONTH=<m>;BYDAY=<n><weekday>");
    let mut month = None;
    let mut byday = None;
    for part in rule.split(';') {
        match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("BYMONTH") => month = v.trim().parse::<u8>().ok(),
            Some((k, v)) if k.eq_ignore_ascii_case("BYDAY") => byday = Some(v.trim()),
            _ => {}
        }
    }
    let (month, byday) = month.zip(byday).ok_or_else(unsupported)?;
    let split = byday.len().checked_sub(2).ok_or_else(unsupported)?;
    let (nth, day) = (
        byday.get(..split).ok_or_else(unsupported)?,
        byday.get(split..).ok_or_else(unsupported)?,
    );
    let week = match nth.trim_start_matches('+') {
        "-1" | "5" => 5,
        n => n
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=4).contains(n))
            .ok_or_else(unsupported)?,
    };
    let weekday = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
        .iter()
        .position(|d| d.eq_ignore_ascii_case(day))
        .ok_or_else(unsupported)?;
    if !(1..=12).contains(&month) {
        return Err(unsupported());
    }
    Ok(format!("M{month}.{week}.{weekday}"))
}

/// Windows zone names (Outlook, Exchange) → IANA, after CLDR's windowsZones
/// (territory "001"). The common ones only; others still work when the file
/// carries a VTIMEZONE for them.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time", "America/New_York"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

// ---------------------------------------------------------------------------
// Reading the file structure
// ---------------------------------------------------------------------------

// icalendar's parser gives components and values but no positions: its errors
// carry line numbers of the *unfolded* text inside a nom dump, and it accepts
// some garbage silently (a bare word as a property). So the structure —
// unfolding, BEGIN/END nesting and physical line numbers — is walked here, and
// each content line is handed to icalendar's property parser for its name,
// parameters (quoting) and value (TEXT unescaping).

/// A component (VCALENDAR, VEVENT, VTIMEZONE, ...) with where it is in the file.
#[derive(Debug)]
struct Comp {
    /// Upper case.
    name: String,
    /// Line of its BEGIN.
    line: usize,
    /// Byte offset of its END line.
    end_start: usize,
    props: Vec<Prop>,
    children: Vec<Comp>,
}

#[derive(Debug)]
struct Prop {
    /// Upper case.
    name: String,
    /// Keys upper case; a parameter without value has "".
    params: Vec<(String, String)>,
    value: String,
    /// First physical line.
    line: usize,
    /// Byte range in the file, line break(s) included.
    start: usize,
    end: usize,
}

impl Comp {
    fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.value.as_str())
    }

    fn all<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Prop> + use<'s, 'n> {
        self.props.iter().filter(move |p| p.name == name)
    }
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn has_uid(event: &Comp, uid: &str) -> bool {
    event.value("UID").is_some_and(|v| v.trim() == uid.trim())
}

fn events_of(roots: &[Comp]) -> impl Iterator<Item = &Comp> {
    roots.iter().flat_map(|r| &r.children).filter(|c| c.name == "VEVENT")
}

/// A content line after unfolding.
struct ContentLine {
    text: String,
    /// 1-based number of its first physical line.
    line: usize,
    start: usize,
    end: usize,
}

/// Joins folded lines (RFC 5545 3.1) and keeps, for each content line, its first
/// physical line and its byte range. Accepts CRLF and bare LF, skips blank lines.
fn unfold(text: &str, path: &str) -> Result<Vec<ContentLine>, CalendarError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut offset = text.len() - body.len();
    let mut out: Vec<ContentLine> = Vec::new();
    for (i, physical) in body.split_inclusive('\n').enumerate() {
        let line = i + 1;
        let start = offset;
        offset += physical.len();
        let content = physical.strip_suffix('\n').unwrap_or(physical);
        let content = content.strip_suffix('\r').unwrap_or(content);
        if let Some(rest) = content.strip_prefix([' ', '\t']) {
            let Some(previous) = out.last_mut() else {
                return Err(located(
                    path,
                    (
                        line,
                        "the file starts with a folded continuation line (leading space); \
                         expected BEGIN:VCALENDAR"
                            .into(),
                    ),
                ));
            };
            previous.text.push_str(rest);
            previous.end = offset;
        } else if !content.is_empty() {
            out.push(ContentLine {
                text: content.to_string(),
                line,
                start,
                end: offset,
            });
        }
    }
    Ok(out)
}

fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or(text)),
        None => format!("{text:?}"),
    }
}

/// The VCALENDARs of a file, checked for structure and content-line syntax.
fn parse_calendar(text: &str, path: &str) -> Result<Vec<Comp>, CalendarError> {
    let fail = |line: usize, message: String| located(path, (line, message));
    let mut roots: Vec<Comp> = Vec::new();
    let mut stack: Vec<Comp> = Vec::new();
    for cl in unfold(text, path)? {
        let head_end = cl.text.find([';', ':']).unwrap_or(cl.text.len());
        let head = cl.text.get(..head_end).unwrap_or_default().to_ascii_uppercase();
        let name = cl
            .text
            .get(head_end + 1..)
            .unwrap_or_default()
            .trim()
            .to_ascii_uppercase();
        match head.as_str() {
            "BEGIN" => {
                if name.is_empty() {
                    return Err(fail(
                        cl.line,
                        "BEGIN without a component name; expected e.g. BEGIN:VEVENT".into(),
                    ));
                }
                if stack.is_empty() && name != "VCALENDAR" {
                    return Err(fail(
                        cl.line,
                        format!(
                            "not an iCalendar file: found BEGIN:{name} where BEGIN:VCALENDAR \
                             was expected"
                        ),
                    ));
                }
                stack.push(Comp {
                    name,
                    line: cl.line,
                    end_start: cl.start,
                    props: Vec::new(),
                    children: Vec::new(),
                });
            }
            "END" => {
                let Some(mut comp) = stack.pop() else {
                    return Err(fail(cl.line, format!("END:{name} without a matching BEGIN:{name}")));
                };
                if comp.name != name {
                    return Err(fail(
                        cl.line,
                        format!(
                            "END:{name} does not close BEGIN:{} of line {}; expected END:{}",
                            comp.name, comp.line, comp.name
                        ),
                    ));
                }
                comp.end_start = cl.start;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(comp),
                    None => roots.push(comp),
                }
            }
            _ => {
                let Some(current) = stack.last_mut() else {
                    let message = if roots.is_empty() {
                        format!(
                            "not an iCalendar file: found {} where BEGIN:VCALENDAR was expected",
                            snippet(&cl.text)
                        )
                    } else {
                        format!(
                            "content after END:VCALENDAR: {}; expected the end of the file \
                             or another BEGIN:VCALENDAR",
                            snippet(&cl.text)
                        )
                    };
                    return Err(fail(cl.line, message));
                };
                let prop = parse_property(&cl).map_err(|m| fail(cl.line, m))?;
                current.props.push(prop);
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(fail(
            open.line,
            format!(
                "BEGIN:{} is never closed; expected END:{} before the end of the file",
                open.name, open.name
            ),
        ));
    }
    if roots.is_empty() {
        return Err(fail(
            1,
            "the file is empty; expected an iCalendar file starting with BEGIN:VCALENDAR".into(),
        ));
    }
    Ok(roots)
}

fn parse_property(cl: &ContentLine) -> Result<Prop, String> {
    let text = cl.text.as_str();
    let no_colon = || {
        format!(
            "content line {} has no ':'; expected NAME:VALUE or NAME;PARAM=VALUE:VALUE",
            snippet(text)
        )
    };
    let name_end = text.find([';', ':']).ok_or_else(no_colon)?;
    let name = text.get(..name_end).unwrap_or_default();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "{name:?} is not a property name; expected letters, digits and '-' before ':' or ';'"
        ));
    }
    if !text.get(name_end..).unwrap_or_default().contains(':') {
        return Err(no_colon());
    }
    let parsed = icalendar::parser::Property::try_from(text).map_err(|_| {
        format!(
            "cannot read content line {}; expected NAME;PARAM=VALUE:VALUE",
            snippet(text)
        )
    })?;
    // The crate falls back to "a property without value" when the parameters do
    // not parse (e.g. an unclosed quote); that is a broken line, not an empty value.
    if parsed.params.is_empty() && parsed.val.as_str().is_empty() && text.len() > name_end + 1 {
        return Err(format!(
            "cannot read the parameters of {}; expected NAME;PARAM=VALUE:VALUE with \
             quotes around values containing ':', ';' or ','",
            snippet(text)
        ));
    }
    Ok(Prop {
        name: name.to_ascii_uppercase(),
        params: parsed
            .params
            .iter()
            .map(|p| {
                (
                    p.key.as_str().to_ascii_uppercase(),
                    p.val.as_ref().map(|v| v.as_str().to_string()).unwrap_or_default(),
                )
            })
            .collect(),
        value: parsed.val.as_str().to_string(),
        line: cl.line,
        start: cl.start,
        end: cl.end,
    })
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// The file as text; `None` when it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, CalendarError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CalendarError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes().iter().take(valid).filter(|&&b| b == b'\n').count() + 1;
        located(
            &path.display().to_string(),
            (
                line,
                "the file is not valid UTF-8; expected an iCalendar file in UTF-8 (RFC 5545)".into(),
            ),
        )
    })
}

/// Replaces `path` with `contents` so that a reader (or a crash) sees the old
/// file or the new one, never a mix: temp file in the same directory, fsync,
/// rename, fsync of the directory.
fn write_atomically(path: &Path, contents: &str) -> Result<(), CalendarError> {
    crate::fsutil::write_atomically(path, contents.as_bytes(), crate::fsutil::Mode::Default).map_err(|source| {
        CalendarError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

// ---------------------------------------------------------------------------
// Writing and reading back liaison's own series
// ---------------------------------------------------------------------------

fn new_calendar(event: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\n{event}END:VCALENDAR\r\n")
}

/// Why a series cannot be written to bookings.ics.
#[derive(Debug)]
enum Unwritable {
    /// Something of one attendee (an email or a name iCalendar cannot
    /// carry): only this pair is affected ([`CalendarError::Refused`]).
    Attendee(String),
    /// The request as a whole (zone, count, start, texts from the templates):
    /// every booking would meet it ([`CalendarError::Invalid`]).
    Request(String),
}

impl Unwritable {
    fn message(&self) -> &str {
        match self {
            Unwritable::Attendee(m) | Unwritable::Request(m) => m,
        }
    }
}

/// The first control character of `value` (line breaks and tabs allowed when
/// `breaks_allowed`), described.
fn control_character(what: &str, value: &str, breaks_allowed: bool) -> Option<String> {
    let c = value
        .chars()
        .find(|&c| c.is_control() && !(breaks_allowed && (c == '\n' || c == '\t')))?;
    Some(format!(
        "{what} contains the control character {c:?}; expected printable text"
    ))
}

/// Why `email` cannot be an attendee in bookings.ics, if it cannot. An
/// ATTENDEE value is a `mailto:` URI, written unescaped (`,` `;` `:` `"` are
/// read back as they were) and trimmed by the reader: a control character
/// would break the line, and white space has no place in a URI.
fn unwritable_email(email: &str) -> Option<String> {
    if email.trim().is_empty() {
        return Some("an attendee email is empty; expected an address".into());
    }
    if let Some(why) = control_character(&format!("the email {email:?}"), email, false) {
        return Some(why);
    }
    if email.chars().any(char::is_whitespace) {
        return Some(format!(
            "the email {email:?} contains white space, which an ATTENDEE's mailto: address cannot hold"
        ));
    }
    None
}

/// Refuses what iCalendar cannot carry losslessly, and returns the zone.
fn check_request(req: &SeriesRequest) -> Result<TimeZone, Unwritable> {
    let request = |why: Option<String>| why.map_or(Ok(()), |m| Err(Unwritable::Request(m)));
    if req.event_id.trim().is_empty() {
        return Err(Unwritable::Request(
            "the event id is empty; expected a base32hex id".into(),
        ));
    }
    request(control_character("the event id", &req.event_id, false))?;
    request(control_character("the zone", &req.zone, false))?;
    for email in [&req.pair.0, &req.pair.1]
        .into_iter()
        .chain(req.attendees.iter().map(|a| &a.email))
    {
        if let Some(why) = unwritable_email(email) {
            return Err(Unwritable::Attendee(why));
        }
    }
    for a in &req.attendees {
        if let Some(why) = control_character(&format!("the name of {}", a.email), &a.name, true) {
            return Err(Unwritable::Attendee(why));
        }
    }
    request(control_character("the summary", &req.summary, true))?;
    request(control_character("the description", &req.description, true))?;
    if let Some(location) = &req.location {
        request(control_character("the location", location, true))?;
    }
    let tz = TimeZone::get(&req.zone).map_err(|_| {
        Unwritable::Request(format!(
            "unknown time zone {:?}; expected an IANA name such as Europe/Berlin",
            req.zone
        ))
    })?;
    if req.count == 0 {
        return Err(Unwritable::Request(
            "count is 0; expected at least one occurrence".into(),
        ));
    }
    if req.duration.is_negative() {
        return Err(Unwritable::Request(format!(
            "duration {} is negative; expected zero or more",
            req.duration
        )));
    }
    if req.start.subsec_nanosecond() != 0 {
        return Err(Unwritable::Request(format!(
            "start {} has fractions of a second; expected whole seconds",
            req.start
        )));
    }
    if !(1..=9999).contains(&req.start.year()) {
        return Err(Unwritable::Request(format!(
            "start {} is outside the years 1-9999 iCalendar can write",
            req.start
        )));
    }
    Ok(tz)
}

fn ical_datetime(dt: DateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// The VEVENT for a series, serialized by icalendar (TEXT escaping, parameter
/// quoting, folding at 75 octets on character boundaries, CRLF).
fn render_event(req: &SeriesRequest, organizer: &str, instance: Option<&str>) -> Result<String, Unwritable> {
    let tz = check_request(req)?;
    if let Some(name) = instance
        && let Some(c) = name.chars().find(|c| c.is_control())
    {
        return Err(Unwritable::Request(format!(
            "the instance name {name:?} contains the control character {c:?}; expected printable text"
        )));
    }
    let start = req
        .start
        .to_zoned_datetime(tz)
        .map_err(|e| Unwritable::Request(format!("start {} is not a time in {}: {e}", req.start, req.zone)))?;
    let end = start
        .checked_add(req.duration)
        .map_err(|e| Unwritable::Request(format!("start plus duration is out of range: {e}")))?;
    // DTSTAMP is the creation time in RFC 5545, but a clock read would make the
    // file differ between two runs of the same plan. The series' own start in
    // UTC is a valid, stable stamp, so that bookings.ics is reproducible.
    let stamp = start.timestamp().to_zoned_datetime(TimeZone::UTC).datetime();
    let zoned = |name: &str, dt: DateTime| {
        Property::new(name, ical_datetime(dt))
            .add_parameter("TZID", &req.zone)
            .done()
    };
    // DTEND is a wall clock in the series' zone, except when that wall clock
    // comes twice (a DST fold) and this end is its second pass: RFC 5545 3.3.5
    // reads it with the first pass's offset, an hour early (even before the
    // start), and the busy time read back from this file would be wrong. Such
    // an end is written in UTC, which RFC 5545 allows next to a TZID DTSTART.
    let end_reads_back = end
        .datetime()
        .to_zoned_datetime(end.time_zone().clone())
        .is_ok_and(|wall| wall.offset() == end.offset());
    let dtend = if end_reads_back {
        zoned("DTEND", end.datetime())
    } else {
        let utc = end.timestamp().to_zoned_datetime(TimeZone::UTC).datetime();
        Property::new("DTEND", format!("{}Z", ical_datetime(utc)))
    };
    let mut event = Event::new();
    event
        .add_property("UID", &req.event_id)
        .append_property(zoned("DTSTART", req.start))
        .append_property(dtend)
        .add_property("RRULE", format!("FREQ=WEEKLY;COUNT={}", req.count))
        .add_property("SUMMARY", &req.summary)
        .add_property("DESCRIPTION", &req.description)
        .add_property("ORGANIZER", format!("mailto:{organizer}"))
        .add_property("STATUS", "CONFIRMED")
        .add_property("DTSTAMP", format!("{}Z", ical_datetime(stamp)))
        .add_property("X-LIAISON", "1")
        .add_property("X-LIAISON-TERM", req.term.to_string())
        .add_property("X-LIAISON-PAIR", format!("{}|{}", req.pair.0, req.pair.1))
        // DTEND is a wall clock and may fall in a DST fold; this keeps the
        // exact duration for the read-back.
        .add_property("X-LIAISON-DURATION", req.duration.to_string());
    if let Some(name) = instance {
        event.add_property("X-LIAISON-INSTANCE", name);
    }
    if let Some(location) = &req.location {
        event.add_property("LOCATION", location);
    }
    for attendee in &req.attendees {
        event.append_multi_property(
            Property::new("ATTENDEE", format!("mailto:{}", attendee.email))
                .add_parameter("CN", &encode_param(&attendee.name))
                .add_parameter("PARTSTAT", "NEEDS-ACTION")
                .done(),
        );
    }
    let text = event
        .done()
        .try_into_string()
        .map_err(|e| Unwritable::Request(format!("cannot serialize the event: {e}")))?;
    Ok(refold(&text))
}

/// Folds every content line at 75 octets (RFC 5545 3.1). icalendar 0.17 folds
/// too, but can leave a last segment of 76 octets (its loop does not count the
/// leading space of continuation lines), so its output is unfolded and folded
/// again here, on character boundaries.
fn refold(text: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut used = 0;
    for physical in text.split_terminator("\r\n") {
        let piece = match physical.strip_prefix(' ') {
            Some(continuation) => continuation,
            None => {
                if !out.is_empty() {
                    out.push_str("\r\n");
                }
                used = 0;
                physical
            }
        };
        for c in piece.chars() {
            if used + c.len_utf8() > LIMIT {
                out.push_str("\r\n ");
                used = 1;
            }
            out.push(c);
            used += c.len_utf8();
        }
    }
    if !out.is_empty() {
        out.push_str("\r\n");
    }
    out
}

/// RFC 6868 escaping for parameter values: icalendar quotes values containing
/// `:;,` but has no way to carry `"` or a line break, which names may hold.
fn encode_param(value: &str) -> String {
    value.replace('^', "^^").replace('\n', "^n").replace('"', "^'")
}

fn decode_param(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('^') => out.push('^'),
            Some('n' | 'N') => out.push('\n'),
            Some('\'') => out.push('"'),
            Some(other) => {
                out.push('^');
                out.push(other);
            }
            None => out.push('^'),
        }
    }
    out
}

/// `a|b`: an email may hold '|' in its local part but never in its domain, so
/// the separator is the first '|' after the first '@'.
fn split_pair(value: &str) -> Option<(String, String)> {
    let from = value.find('@').unwrap_or(0);
    let bar = from + value.get(from..)?.find('|')?;
    Some((value.get(..bar)?.to_string(), value.get(bar + 1..)?.to_string()))
}

/// The number of occurrences of a liaison series' rule: the COUNT of
/// `FREQ=WEEKLY;COUNT=n`, or for `FREQ=WEEKLY;UNTIL=...` (a series ended early)
/// the weeks from `start` (wall clock in `tz`) up to and including UNTIL.
/// UNTIL is read as the busy reading reads it: `...Z` in UTC, a date as that
/// whole day, a floating date-time on the series' wall clock. `None` for any
/// other rule, and for an UNTIL before the first occurrence.
fn weekly_count(rule: &str, start: DateTime, tz: &TimeZone) -> Option<u32> {
    let mut weekly = false;
    let mut count = None;
    let mut until = None;
    for part in rule.trim().split(';').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=')?;
        match k.trim().to_ascii_uppercase().as_str() {
            "FREQ" => weekly = v.trim().eq_ignore_ascii_case("WEEKLY"),
            "COUNT" => count = Some(v.trim().parse::<u32>().ok().filter(|&n| n > 0)?),
            "UNTIL" => until = Some(v.trim()),
            // INTERVAL, BYDAY, ... are not liaison's: such a rule is not read.
            _ => return None,
        }
    }
    if !weekly {
        return None;
    }
    match (count, until) {
        (Some(n), None) => Some(n),
        (None, Some(until)) => {
            let last = if let Some(day) = parse_date(until) {
                day.to_datetime(Time::constant(23, 59, 59, 0))
                    .to_zoned_datetime(tz.clone())
                    .ok()?
            } else {
                let (dt, utc) = parse_datetime(until)?;
                dt.to_zoned_datetime(if utc { TimeZone::UTC } else { tz.clone() })
                    .ok()?
            };
            Some(weekly_count_until(start, tz, last.timestamp())).filter(|&n| n > 0)
        }
        _ => None,
    }
}

/// A liaison series from its VEVENT; `None` for events liaison did not write.
fn series_of(comp: &Comp) -> Located<Option<BookedSeries>> {
    let ours = comp.value("X-LIAISON").is_some_and(|v| v.trim() == "1");
    if !ours || comp.prop("RECURRENCE-ID").is_some() {
        return Ok(None);
    }
    let need = |name: &str| {
        comp.prop(name).ok_or_else(|| {
            (
                comp.line,
                format!("liaison event without {name}; expected the {name} liaison writes"),
            )
        })
    };
    let uid = need("UID")?;
    let term_prop = need("X-LIAISON-TERM")?;
    let term: Date = term_prop.value.trim().parse().map_err(|_| {
        (
            term_prop.line,
            format!(
                "X-LIAISON-TERM {:?} is not a date; expected YYYY-MM-DD",
                term_prop.value
            ),
        )
    })?;
    let pair_prop = need("X-LIAISON-PAIR")?;
    let pair = split_pair(&pair_prop.value).ok_or_else(|| {
        (
            pair_prop.line,
            format!(
                "X-LIAISON-PAIR {:?} is not two emails; expected <email>|<email>",
                pair_prop.value
            ),
        )
    })?;
    let attendees: Vec<Attendee> = comp
        .all("ATTENDEE")
        .map(|a| Attendee {
            email: strip_mailto(&a.value).to_string(),
            name: decode_param(a.param("CN").unwrap_or_default()),
        })
        .collect();
    let attendees: [Attendee; 2] = attendees.try_into().map_err(|all: Vec<Attendee>| {
        (
            comp.line,
            format!("liaison event with {} ATTENDEE lines; expected 2", all.len()),
        )
    })?;
    let dtstart = need("DTSTART")?;
    let zone = dtstart.param("TZID").unwrap_or_default().trim();
    let tz = TimeZone::get(zone).map_err(|_| {
        (
            dtstart.line,
            format!("DTSTART time zone {zone:?} is unknown; expected TZID=<IANA name>"),
        )
    })?;
    let start = parse_datetime(dtstart.value.trim())
        .filter(|(_, utc)| !utc)
        .map(|(dt, _)| dt)
        .ok_or_else(|| {
            (
                dtstart.line,
                format!(
                    "DTSTART {:?} is not a local date-time; expected YYYYMMDDTHHMMSS",
                    dtstart.value
                ),
            )
        })?;
    let duration = match comp.prop("X-LIAISON-DURATION") {
        Some(p) => p.value.trim().parse::<SignedDuration>().map_err(|_| {
            (
                p.line,
                format!(
                    "X-LIAISON-DURATION {:?} is not a duration; expected e.g. PT30M",
                    p.value
                ),
            )
        })?,
        None => {
            let dtend = need("DTEND")?;
            let end = parse_datetime(dtend.value.trim())
                .filter(|(_, utc)| !utc)
                .and_then(|(dt, _)| dt.to_zoned_datetime(tz.clone()).ok())
                .ok_or_else(|| {
                    (
                        dtend.line,
                        format!(
                            "DTEND {:?} is not a local date-time; expected YYYYMMDDTHHMMSS",
                            dtend.value
                        ),
                    )
                })?;
            let begin = start
                .to_zoned_datetime(tz.clone())
                .map_err(|e| (dtstart.line, format!("DTSTART cannot be placed in its zone: {e}")))?;
            end.timestamp().duration_since(begin.timestamp())
        }
    };
    let rrule = need("RRULE")?;
    let count = weekly_count(&rrule.value, start, &tz).ok_or_else(|| {
        (
            rrule.line,
            format!(
                "RRULE {:?} is not a liaison series rule; expected FREQ=WEEKLY;COUNT=<n> \
                 or FREQ=WEEKLY;UNTIL=<date-time at or after DTSTART>",
                rrule.value
            ),
        )
    })?;
    let active = !comp
        .value("STATUS")
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("CANCELLED"));
    Ok(Some(BookedSeries {
        request: SeriesRequest {
            event_id: uid.value.clone(),
            term,
            pair,
            attendees,
            summary: comp.value("SUMMARY").unwrap_or_default().to_string(),
            description: comp.value("DESCRIPTION").unwrap_or_default().to_string(),
            location: comp.value("LOCATION").map(str::to_string),
            zone: zone.to_string(),
            start,
            duration,
            count,
        },
        active,
        instance: comp
            .value("X-LIAISON-INSTANCE")
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, datetime};
    use proptest::prelude::*;

    const OWNER: &str = "ada@example.com";

    /// Lines joined with CRLF, as exports write them.
    fn ics(lines: &[&str]) -> String {
        let mut text = lines.join("\r\n");
        text.push_str("\r\n");
        text
    }

    /// A calendar holding one VEVENT with `props` (after its UID line).
    fn one_event(props: &[&str]) -> String {
        let mut lines = vec![
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//test//EN",
            "BEGIN:VEVENT",
            "UID:e1",
        ];
        lines.extend_from_slice(props);
        lines.extend(["END:VEVENT", "END:VCALENDAR"]);
        ics(&lines)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn range(a: &str, b: &str) -> Interval {
        Interval::new(ts(a), ts(b))
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn spans_of(set: &IntervalSet) -> Vec<(String, String)> {
        set.spans()
            .iter()
            .map(|s| (s.start.to_string(), s.end.to_string()))
            .collect()
    }

    fn busy_for(text: &str, owner_zone: &str, r: Interval) -> Vec<(String, String)> {
        let set = busy_from_ics(text, "ada.ics", OWNER, &zone(owner_zone), r).unwrap_or_else(|e| panic!("{e}"));
        spans_of(&set)
    }

    /// Busy time in March 2026, owner in UTC.
    fn march(text: &str) -> Vec<(String, String)> {
        busy_for(text, "UTC", range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
    }

    fn span(a: &str, b: &str) -> (String, String) {
        (ts(a).to_string(), ts(b).to_string())
    }

    #[test]
    fn a_utc_event_is_busy_for_its_span() {
        let text = one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z"]);
        assert_eq!(march(&text), [span("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z")]);
    }

    #[test]
    fn an_event_with_a_tzid_is_read_in_that_zone() {
        let text = one_event(&[
            "DTSTART;TZID=Europe/Berlin:20260310T100000",
            "DTEND;TZID=Europe/Berlin:20260310T113000",
        ]);
        assert_eq!(march(&text), [span("2026-03-10T09:00:00Z", "2026-03-10T10:30:00Z")]);
    }

    #[test]
    fn floating_times_are_read_in_the_owners_zone() {
        let text = one_event(&["DTSTART:20260105T090000", "DTEND:20260105T100000"]);
        let r = range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        assert_eq!(
            busy_for(&text, "America/New_York", r),
            [span("2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z")]
        );
    }

    #[test]
    fn x_wr_timezone_names_the_zone_of_floating_times() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "X-WR-TIMEZONE:Asia/Tokyo",
            "BEGIN:VEVENT",
            "DTSTART:20260105T090000",
            "DTEND:20260105T100000",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let r = range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        assert_eq!(
            busy_for(&text, "America/New_York", r),
            [span("2026-01-05T00:00:00Z", "2026-01-05T01:00:00Z")]
        );
    }

    #[test]
    fn a_duration_of_one_day_is_a_calendar_day_across_dst() {
        // Noon to noon over the March change in New York lasts 23 hours.
        let text = one_event(&["DTSTART;TZID=America/New_York:20260307T120000", "DURATION:P1D"]);
        assert_eq!(march(&text), [span("2026-03-07T17:00:00Z", "2026-03-08T16:00:00Z")]);
    }

    #[test]
    fn a_timed_event_without_end_or_duration_takes_no_time() {
        let text = one_event(&["DTSTART:20260309T140000Z"]);
        assert!(march(&text).is_empty());
    }

    #[test]
    fn an_all_day_event_runs_from_midnight_to_midnight_in_the_owners_zone() {
        let text = one_event(&["DTSTART;VALUE=DATE:20260115"]);
        let r = range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        assert_eq!(
            busy_for(&text, "Europe/Berlin", r),
            [span("2026-01-14T23:00:00Z", "2026-01-15T23:00:00Z")]
        );
    }

    #[test]
    fn an_all_day_event_in_london_on_the_october_change_covers_25_hours() {
        let text = one_event(&["DTSTART;VALUE=DATE:20261025", "DTEND;VALUE=DATE:20261026"]);
        let r = range("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
        let set = busy_from_ics(&text, "ada.ics", OWNER, &zone("Europe/London"), r).unwrap();
        assert_eq!(spans_of(&set), [span("2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z")]);
        assert_eq!(set.spans()[0].duration(), SignedDuration::from_hours(25));
    }

    #[test]
    fn a_multi_day_all_day_event_ends_at_midnight_of_its_dtend() {
        let text = one_event(&["DTSTART;VALUE=DATE:20260309", "DTEND;VALUE=DATE:20260312"]);
        assert_eq!(march(&text), [span("2026-03-09T00:00:00Z", "2026-03-12T00:00:00Z")]);
    }

    #[test]
    fn a_weekly_9am_new_york_meeting_stays_at_9am_across_the_march_change() {
        let text = one_event(&[
            "DTSTART;TZID=America/New_York:20260302T090000",
            "DTEND;TZID=America/New_York:20260302T093000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
        ]);
        assert_eq!(
            march(&text),
            [
                span("2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z"),
                span("2026-03-09T13:00:00Z", "2026-03-09T13:30:00Z"),
                span("2026-03-16T13:00:00Z", "2026-03-16T13:30:00Z"),
            ]
        );
    }

    #[test]
    fn a_half_hour_zone_is_respected() {
        let timed = one_event(&[
            "DTSTART;TZID=Asia/Kolkata:20260310T093000",
            "DTEND;TZID=Asia/Kolkata:20260310T100000",
        ]);
        assert_eq!(march(&timed), [span("2026-03-10T04:00:00Z", "2026-03-10T04:30:00Z")]);
        let all_day = one_event(&["DTSTART;VALUE=DATE:20260310"]);
        let r = range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
        assert_eq!(
            busy_for(&all_day, "Asia/Kolkata", r),
            [span("2026-03-09T18:30:00Z", "2026-03-10T18:30:00Z")]
        );
    }

    #[test]
    fn an_endless_rule_is_expanded_only_up_to_the_range() {
        let text = one_event(&["DTSTART:20100104T090000Z", "DTEND:20100104T100000Z", "RRULE:FREQ=DAILY"]);
        let r = range("2026-03-09T00:00:00Z", "2026-03-11T12:00:00Z");
        assert_eq!(
            busy_for(&text, "UTC", r),
            [
                span("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"),
                span("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"),
                span("2026-03-11T09:00:00Z", "2026-03-11T10:00:00Z"),
            ]
        );
    }

    #[test]
    fn count_and_a_utc_until_end_a_local_rule() {
        let counted = one_event(&[
            "DTSTART;TZID=Europe/Berlin:20260302T100000",
            "DTEND;TZID=Europe/Berlin:20260302T110000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        ]);
        assert_eq!(march(&counted).len(), 2);
        // UNTIL is the exact UTC instant of the third occurrence: it is included.
        let until = one_event(&[
            "DTSTART;TZID=Europe/Berlin:20260302T100000",
            "DTEND;TZID=Europe/Berlin:20260302T110000",
            "RRULE:FREQ=WEEKLY;UNTIL=20260316T090000Z",
        ]);
        assert_eq!(
            march(&until).last(),
            Some(&span("2026-03-16T09:00:00Z", "2026-03-16T10:00:00Z"))
        );
        assert_eq!(march(&until).len(), 3);
    }

    #[test]
    fn exdates_remove_occurrences_from_several_lines_lists_and_zones() {
        let text = one_event(&[
            "DTSTART;TZID=Europe/Berlin:20260309T100000",
            "DTEND;TZID=Europe/Berlin:20260309T110000",
            "RRULE:FREQ=DAILY;COUNT=5",
            "EXDATE;TZID=Europe/Berlin:20260310T100000,20260312T100000",
            "EXDATE:20260313T090000Z",
        ]);
        assert_eq!(
            march(&text),
            [
                span("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"),
                span("2026-03-11T09:00:00Z", "2026-03-11T10:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_date_exdate_removes_that_day_of_an_all_day_series() {
        let text = one_event(&[
            "DTSTART;VALUE=DATE:20260309",
            "RRULE:FREQ=DAILY;COUNT=3",
            "EXDATE;VALUE=DATE:20260310",
        ]);
        assert_eq!(
            march(&text),
            [
                span("2026-03-09T00:00:00Z", "2026-03-10T00:00:00Z"),
                span("2026-03-11T00:00:00Z", "2026-03-12T00:00:00Z"),
            ]
        );
    }

    #[test]
    fn rdates_add_occurrences_including_periods() {
        let text = one_event(&[
            "DTSTART:20260302T090000Z",
            "DTEND:20260302T100000Z",
            "RDATE:20260304T090000Z,20260305T090000Z",
            "RDATE;VALUE=PERIOD:20260306T120000Z/20260306T150000Z,20260307T080000Z/PT30M",
        ]);
        assert_eq!(
            march(&text),
            [
                span("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
                span("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z"),
                span("2026-03-05T09:00:00Z", "2026-03-05T10:00:00Z"),
                span("2026-03-06T12:00:00Z", "2026-03-06T15:00:00Z"),
                span("2026-03-07T08:00:00Z", "2026-03-07T08:30:00Z"),
            ]
        );
    }

    /// A weekly Berlin series on Mondays 10:00 with `instance` lines appended as a
    /// second VEVENT with the same UID.
    fn series_with_instance(instance: &[&str]) -> String {
        let mut lines = vec![
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "UID:weekly@example.com",
            "DTSTART;TZID=Europe/Berlin:20260105T100000",
            "DTEND;TZID=Europe/Berlin:20260105T110000",
            "RRULE:FREQ=WEEKLY;COUNT=3",
            "ATTENDEE;PARTSTAT=DECLINED:mailto:nobody@example.com",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:weekly@example.com",
        ];
        lines.extend_from_slice(instance);
        lines.extend(["END:VEVENT", "END:VCALENDAR"]);
        ics(&lines)
    }

    fn january(text: &str) -> Vec<(String, String)> {
        busy_for(text, "UTC", range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"))
    }

    #[test]
    fn a_moved_occurrence_replaces_the_original() {
        let text = series_with_instance(&[
            "RECURRENCE-ID;TZID=Europe/Berlin:20260112T100000",
            "DTSTART;TZID=Europe/Berlin:20260113T150000",
            "DTEND;TZID=Europe/Berlin:20260113T160000",
        ]);
        assert_eq!(
            january(&text),
            [
                span("2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"),
                span("2026-01-13T14:00:00Z", "2026-01-13T15:00:00Z"),
                span("2026-01-19T09:00:00Z", "2026-01-19T10:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_cancelled_occurrence_is_removed() {
        // The RECURRENCE-ID is given in UTC; it names the same instant.
        let text = series_with_instance(&[
            "RECURRENCE-ID:20260112T090000Z",
            "DTSTART;TZID=Europe/Berlin:20260112T100000",
            "DTEND;TZID=Europe/Berlin:20260112T110000",
            "STATUS:CANCELLED",
        ]);
        assert_eq!(
            january(&text),
            [
                span("2026-01-05T09:00:00Z", "2026-01-05T10:00:00Z"),
                span("2026-01-19T09:00:00Z", "2026-01-19T10:00:00Z"),
            ]
        );
    }

    #[test]
    fn an_occurrence_accepted_in_a_declined_series_is_busy() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "UID:s",
            "DTSTART:20260105T090000Z",
            "DTEND:20260105T100000Z",
            "RRULE:FREQ=WEEKLY;COUNT=3",
            "ATTENDEE;PARTSTAT=DECLINED:mailto:ada@example.com",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:s",
            "RECURRENCE-ID:20260112T090000Z",
            "DTSTART:20260112T090000Z",
            "DTEND:20260112T100000Z",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(january(&text), [span("2026-01-12T09:00:00Z", "2026-01-12T10:00:00Z")]);
    }

    #[test]
    fn cancelled_and_transparent_events_are_free() {
        let cancelled = one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z", "STATUS:CANCELLED"]);
        let transparent = one_event(&[
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "TRANSP:TRANSPARENT",
        ]);
        let opaque = one_event(&[
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "TRANSP:OPAQUE",
            "STATUS:TENTATIVE",
        ]);
        assert!(march(&cancelled).is_empty());
        assert!(march(&transparent).is_empty());
        assert_eq!(march(&opaque).len(), 1);
    }

    #[test]
    fn a_declined_meeting_is_not_busy() {
        let with = |attendee: &str| {
            one_event(&[
                "DTSTART:20260309T140000Z",
                "DTEND:20260309T150000Z",
                "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com",
                attendee,
            ])
        };
        assert!(march(&with("ATTENDEE;CN=Ada;PARTSTAT=DECLINED:MAILTO:Ada@Example.com")).is_empty());
        assert!(march(&with("ATTENDEE;PARTSTAT=declined:ada@example.com")).is_empty());
        // Apple puts a urn in the value and the address in EMAIL.
        assert!(march(&with("ATTENDEE;EMAIL=ada@example.com;PARTSTAT=DECLINED:urn:uuid:1234")).is_empty());
        assert_eq!(
            march(&with("ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com")).len(),
            1
        );
        // Someone else declining does not free the owner.
        assert_eq!(
            march(&with("ATTENDEE;PARTSTAT=DECLINED:mailto:cy@example.com")).len(),
            1
        );
    }

    #[test]
    fn busy_time_is_clipped_to_the_range() {
        let text = one_event(&["DTSTART:20260309T080000Z", "DTEND:20260309T180000Z"]);
        let r = range("2026-03-09T12:00:00Z", "2026-03-10T00:00:00Z");
        assert_eq!(
            busy_for(&text, "UTC", r),
            [span("2026-03-09T12:00:00Z", "2026-03-09T18:00:00Z")]
        );
    }

    #[test]
    fn outlook_windows_zone_names_are_understood() {
        let text = one_event(&[
            "DTSTART;TZID=\"W. Europe Standard Time\":20260715T100000",
            "DTEND;TZID=\"W. Europe Standard Time\":20260715T110000",
        ]);
        let r = range("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z");
        assert_eq!(
            busy_for(&text, "UTC", r),
            [span("2026-07-15T08:00:00Z", "2026-07-15T09:00:00Z")]
        );
    }

    #[test]
    fn every_windows_zone_maps_to_a_zone_jiff_knows() {
        for (windows, iana) in WINDOWS_ZONES {
            assert!(TimeZone::get(iana).is_ok(), "{windows} -> {iana}");
        }
    }

    #[test]
    fn a_vendor_prefixed_tzid_is_understood() {
        let text = one_event(&[
            "DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20260105T090000",
            "DURATION:PT1H",
        ]);
        assert_eq!(january(&text), [span("2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z")]);
    }

    #[test]
    fn a_custom_vtimezone_is_understood() {
        // Outlook's "Customized Time Zone": central European rules under a name
        // no database knows.
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            "PRODID:Microsoft Exchange Server 2010",
            "VERSION:2.0",
            "BEGIN:VTIMEZONE",
            "TZID:Customized Time Zone",
            "BEGIN:STANDARD",
            "DTSTART:16010101T030000",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "DTSTART;TZID=Customized Time Zone:20260115T100000",
            "DTEND;TZID=Customized Time Zone:20260115T110000",
            "RRULE:FREQ=MONTHLY;COUNT=7",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let r = range("2026-01-01T00:00:00Z", "2026-08-01T00:00:00Z");
        let busy = busy_for(&text, "UTC", r);
        assert_eq!(busy[0], span("2026-01-15T09:00:00Z", "2026-01-15T10:00:00Z"));
        assert_eq!(busy[6], span("2026-07-15T08:00:00Z", "2026-07-15T09:00:00Z"));
    }

    #[test]
    fn folded_lines_lf_line_ends_and_a_bom_are_read() {
        let text = "\u{feff}BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/\n Berlin:20260310T10\n\t0000\nDURATION:PT1H\n\nEND:VEVENT\nEND:VCALENDAR";
        assert_eq!(march(text), [span("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z")]);
    }

    #[test]
    fn alarms_todos_and_unknown_properties_are_ignored() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "BEGIN:VTODO",
            "DTSTART:20260309T100000Z",
            "DUE:20260309T120000Z",
            "END:VTODO",
            "BEGIN:VEVENT",
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "X-MOZ-GENERATION:3",
            "BEGIN:VALARM",
            "TRIGGER:-PT15M",
            "ACTION:DISPLAY",
            "END:VALARM",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(march(&text), [span("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z")]);
    }

    #[test]
    fn a_rule_that_never_matches_ends_instead_of_searching_forever() {
        let text = one_event(&[
            "DTSTART:20260301T090000Z",
            "DTEND:20260301T100000Z",
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        ]);
        assert_eq!(march(&text), [span("2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z")]);
    }

    #[test]
    fn a_pathological_rule_is_an_error_not_a_hang() {
        let text = one_event(&["DTSTART:20260301T000000Z", "RRULE:FREQ=SECONDLY"]);
        let r = range("2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z");
        let err = busy_from_ics(&text, "ada.ics", OWNER, &TimeZone::UTC, r).unwrap_err();
        assert!(
            err.to_string().starts_with("ada.ics:7: RRULE yields more than"),
            "{err}"
        );
    }

    #[test]
    fn exports_from_google_outlook_and_apple_are_read() {
        let google = ics(&[
            "BEGIN:VCALENDAR",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:ada@example.com",
            "X-WR-TIMEZONE:Europe/Berlin",
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Berlin",
            "X-LIC-LOCATION:Europe/Berlin",
            "BEGIN:DAYLIGHT",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "DTSTART:19700329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "END:STANDARD",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "DTSTART;TZID=Europe/Berlin:20260302T093000",
            "DTEND;TZID=Europe/Berlin:20260302T100000",
            "RRULE:FREQ=WEEKLY;WKST=MO;UNTIL=20260323T083000Z;BYDAY=MO",
            "EXDATE;TZID=Europe/Berlin:20260309T093000",
            "DTSTAMP:20260301T120000Z",
            "ORGANIZER;CN=Ada Lovelace:mailto:ada@example.com",
            "UID:4k2r0example@google.com",
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Ada",
            " Lovelace;X-NUM-GUESTS=0:mailto:ada@example.com",
            "CREATED:20260201T100000Z",
            "DESCRIPTION:Weekly sync\\, agenda in the doc\\; bring notes\\nThanks",
            "LAST-MODIFIED:20260201T100000Z",
            "LOCATION:",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "SUMMARY:Sync",
            "TRANSP:OPAQUE",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:This is an event reminder",
            "TRIGGER:-P0DT0H10M0S",
            "END:VALARM",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;VALUE=DATE:20260320",
            "DTEND;VALUE=DATE:20260321",
            "UID:holiday@google.com",
            "SUMMARY:Off",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(
            march(&google),
            [
                span("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z"),
                span("2026-03-16T08:30:00Z", "2026-03-16T09:00:00Z"),
                span("2026-03-19T23:00:00Z", "2026-03-20T23:00:00Z"),
                span("2026-03-23T08:30:00Z", "2026-03-23T09:00:00Z"),
            ]
        );

        let outlook = ics(&[
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            "PRODID:Microsoft Exchange Server 2010",
            "VERSION:2.0",
            "X-WR-CALNAME:Calendar",
            "BEGIN:VTIMEZONE",
            "TZID:Eastern Standard Time",
            "BEGIN:STANDARD",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:-0400",
            "TZOFFSETTO:-0500",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:-0500",
            "TZOFFSETTO:-0400",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "ORGANIZER;CN=Bob:mailto:bob@example.com",
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Ada:mailto:ada@example.com",
            "DESCRIPTION;LANGUAGE=en-US:\\n",
            "RRULE:FREQ=DAILY;COUNT=10",
            "EXDATE;TZID=Eastern Standard Time:20260304T090000,20260305T090000",
            "UID:040000008200E00074C5B7101A82E00800000000",
            "SUMMARY;LANGUAGE=en-US:Standup",
            "DTSTART;TZID=Eastern Standard Time:20260302T090000",
            "DTEND;TZID=Eastern Standard Time:20260302T091500",
            "CLASS:PUBLIC",
            "PRIORITY:5",
            "DTSTAMP:20260227T150000Z",
            "TRANSP:OPAQUE",
            "STATUS:CONFIRMED",
            "SEQUENCE:0",
            "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let busy = march(&outlook);
        assert_eq!(busy.len(), 8);
        assert_eq!(busy[0], span("2026-03-02T14:00:00Z", "2026-03-02T14:15:00Z"));
        assert_eq!(busy[2], span("2026-03-06T14:00:00Z", "2026-03-06T14:15:00Z"));
        assert_eq!(busy[4], span("2026-03-08T13:00:00Z", "2026-03-08T13:15:00Z"));

        let apple = ics(&[
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Apple Inc.//macOS 15.0//EN",
            "CALSCALE:GREGORIAN",
            "BEGIN:VEVENT",
            "CREATED:20260220T101010Z",
            "DTEND;TZID=America/Los_Angeles:20260310T140000",
            "DTSTART;TZID=America/Los_Angeles:20260310T130000",
            "UID:1B2C3D4E-0000-4000-8000-ABCDEF012345",
            "SUMMARY:Lunch",
            "ATTENDEE;CN=\"Lovelace, Ada\";CUTYPE=INDIVIDUAL;EMAIL=ada@example.com;PARTSTAT=",
            " DECLINED:urn:uuid:00000000-0000-0000-0000-000000000001",
            "SEQUENCE:1",
            "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;VALUE=DATE:20260311",
            "DTEND;VALUE=DATE:20260312",
            "UID:A1",
            "SUMMARY:Birthday",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;TZID=America/Los_Angeles:20260312T080000",
            "DURATION:PT45M",
            "UID:A2",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(march(&apple), [span("2026-03-12T15:00:00Z", "2026-03-12T15:45:00Z")]);
    }

    #[test]
    fn malformed_inputs_name_the_file_and_the_line() {
        const HEAD: [&str; 3] = ["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT"];
        let event = |props: &[&str]| {
            let mut lines = HEAD.to_vec();
            lines.extend_from_slice(props);
            lines.extend(["END:VEVENT", "END:VCALENDAR"]);
            ics(&lines)
        };
        let cases: Vec<(String, usize, &str)> = vec![
            (ics(&["hello world"]), 1, "not an iCalendar file"),
            (String::new(), 1, "empty"),
            (ics(&["BEGIN:VEVENT", "END:VEVENT"]), 1, "expected"),
            (ics(&[" BEGIN:VCALENDAR"]), 1, "continuation"),
            (
                ics(&[
                    "BEGIN:VCALENDAR",
                    "VERSION:2.0",
                    "BEGIN:VEVENT",
                    "DTSTART:20260309T100000Z",
                ]),
                3,
                "never closed",
            ),
            (
                ics(&[
                    "BEGIN:VCALENDAR",
                    "BEGIN:VEVENT",
                    "DTSTART:20260309T100000Z",
                    "END:VTODO",
                    "END:VCALENDAR",
                ]),
                4,
                "does not close BEGIN:VEVENT",
            ),
            (
                ics(&["BEGIN:VCALENDAR", "END:VCALENDAR", "SUMMARY:stray"]),
                3,
                "after END:VCALENDAR",
            ),
            (event(&["DTSTART 20260309T100000Z"]), 4, "has no ':'"),
            (event(&["DT START:20260309T100000Z"]), 4, "not a property name"),
            (event(&["UID:x"]), 3, "without DTSTART"),
            (event(&["DTSTART:2026-03-09T10:00"]), 4, "not a date-time"),
            (event(&["DTSTART;VALUE=DATE:20260309T100000"]), 4, "not a date"),
            (event(&["DTSTART:20261309T100000Z"]), 4, "not a date-time"),
            (
                event(&["DTSTART;TZID=Mars/Olympus_Mons:20260309T100000"]),
                4,
                "unknown time zone \"Mars/Olympus_Mons\"",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RRULE:FREQ=FORTNIGHTLY"]),
                5,
                "RRULE",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RRULE:FREQ=DAILY;UNTIL=tomorrow"]),
                5,
                "UNTIL=tomorrow",
            ),
            (
                event(&["UID:x", "DTSTART:20260309T100000Z", "DTEND:20260309T090000Z"]),
                6,
                "before DTSTART",
            ),
            (
                event(&["DTSTART;VALUE=DATE:20260309", "DTEND:20260310T090000Z"]),
                5,
                "both dates or both date-times",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "DURATION:1 hour"]),
                5,
                "not an iCalendar duration",
            ),
            (event(&["DTSTART:20260309T100000Z", "DURATION:-PT1H"]), 5, "negative"),
            (
                event(&["DTSTART:20260309T100000Z", "DTEND:20260309T110000Z", "DURATION:PT1H"]),
                6,
                "both DTEND and DURATION",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "DTSTART:20260309T110000Z"]),
                5,
                "a second DTSTART",
            ),
            (
                event(&[
                    "DTSTART:20260309T100000Z",
                    "RRULE:FREQ=DAILY",
                    "EXDATE:20260310T100000Z,2026031",
                ]),
                6,
                "EXDATE value \"2026031\"",
            ),
            (
                event(&[
                    "DTSTART:20260309T100000Z",
                    "RDATE;VALUE=PERIOD:20260310T100000Z/20260310T090000Z",
                ]),
                5,
                "ends before it starts",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RECURRENCE-ID:soon"]),
                5,
                "RECURRENCE-ID",
            ),
            (
                ics(&["BEGIN:VCALENDAR", "X-WR-TIMEZONE:Atlantis/Capital", "END:VCALENDAR"]),
                2,
                "unknown time zone",
            ),
            // A folded line counts from its first physical line, and lines after
            // folds keep their physical numbers.
            (
                event(&[
                    "DESCRIPTION:first part",
                    "  folded",
                    "DTSTART;TZID=Nowhere/",
                    " City:20260309T100000",
                ]),
                6,
                "unknown time zone \"Nowhere/City\"",
            ),
        ];
        assert!(cases.len() >= 12);
        for (text, line, fragment) in cases {
            let err = busy_from_ics(
                &text,
                "cal/ada.ics",
                OWNER,
                &TimeZone::UTC,
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .expect_err(&text);
            let shown = err.to_string();
            assert!(
                matches!(&err, CalendarError::Invalid { path, line: Some(l), .. } if path == "cal/ada.ics" && *l == line),
                "expected line {line} for {text:?}, got {shown}"
            );
            assert!(shown.starts_with(&format!("cal/ada.ics:{line}: ")), "{shown}");
            assert!(shown.contains(fragment), "{shown:?} should mention {fragment:?}");
            assert!(shown.contains("expected"), "{shown:?} should say what was expected");
        }
    }

    // -----------------------------------------------------------------------
    // The provider
    // -----------------------------------------------------------------------

    fn request(id: &str) -> SeriesRequest {
        SeriesRequest {
            event_id: id.to_string(),
            term: date(2026, 3, 2),
            pair: ("ada@example.com".into(), "bob@example.com".into()),
            attendees: [
                Attendee {
                    email: "ada@example.com".into(),
                    name: "Ada Lovelace".into(),
                },
                Attendee {
                    email: "bob@example.com".into(),
                    name: "Bob \"the builder\", Jr.; ^Sales^".into(),
                },
            ],
            summary: "Connection: Ada (Research) × Bob (Sales)".into(),
            description: "Commas, semicolons; a colon: here\nsecond line \\ backslash\n\
                          Grüße, こんにちは, emoji 🎉 — and a long line that goes on and on \
                          well past seventy-five octets so that it must be folded"
                .into(),
            location: Some("Room 4; 2nd floor, east".into()),
            zone: "America/New_York".into(),
            start: datetime(2026, 3, 2, 9, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
        }
    }

    fn provider(dir: &Path) -> LocalProvider {
        LocalProvider::new(dir, "liaison@example.com")
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    #[tokio::test]
    async fn a_created_series_reads_back_exactly_as_requested() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let req = request("a0b1c2d3e4");
        assert_eq!(p.create_series(&req).await.unwrap(), CreateOutcome::Created);
        assert_eq!(
            p.list_series().await.unwrap(),
            [BookedSeries {
                request: req,
                active: true,
                instance: None,
            }]
        );
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//liaison//EN\r\n"));
        for line in [
            "UID:a0b1c2d3e4",
            "DTSTART;TZID=America/New_York:20260302T090000",
            "DTEND;TZID=America/New_York:20260302T093000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            "ORGANIZER:mailto:liaison@example.com",
            "ATTENDEE;CN=Ada Lovelace;PARTSTAT=NEEDS-ACTION:mailto:ada@example.com",
            "STATUS:CONFIRMED",
            "DTSTAMP:20260302T140000Z",
            "X-LIAISON:1",
            "X-LIAISON-TERM:2026-03-02",
            "X-LIAISON-PAIR:ada@example.com|bob@example.com",
            "LOCATION:Room 4\\; 2nd floor\\, east",
        ] {
            assert!(text.contains(&format!("\r\n{line}\r\n")), "missing {line} in\n{text}");
        }
        assert!(text.contains("\r\n "), "the long description is folded");
        for physical in text.split("\r\n") {
            assert!(physical.len() <= 75, "{physical:?} is longer than 75 octets");
        }
        // Apart from folds, every line break is CRLF.
        assert!(!text.replace("\r\n", "").contains(['\r', '\n']));
    }

    #[tokio::test]
    async fn creating_the_same_series_twice_reports_already_exists_and_keeps_one_event() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let req = request("dup0");
        assert_eq!(p.create_series(&req).await.unwrap(), CreateOutcome::Created);
        let before = fs::read(p.bookings_path()).unwrap();
        assert_eq!(p.create_series(&req).await.unwrap(), CreateOutcome::AlreadyExists);
        assert_eq!(fs::read(p.bookings_path()).unwrap(), before);
        let text = String::from_utf8(before).unwrap();
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
        assert_eq!(
            p.create_series(&request("other1")).await.unwrap(),
            CreateOutcome::Created
        );
        assert_eq!(p.list_series().await.unwrap().len(), 2);
        let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn bookings_are_byte_for_byte_reproducible() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for dir in [a.path(), b.path()] {
            let p = provider(dir);
            p.create_series(&request("r1")).await.unwrap();
            p.create_series(&request("r2")).await.unwrap();
        }
        assert_eq!(
            fs::read(a.path().join(BOOKINGS_FILE)).unwrap(),
            fs::read(b.path().join(BOOKINGS_FILE)).unwrap()
        );
    }

    #[tokio::test]
    async fn a_missing_person_file_is_a_per_person_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "ada@example.com.ics",
            &one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z"]),
        );
        let p = provider(dir.path());
        let emails = ["ada@example.com".to_string(), "cy@example.com".to_string()];
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            answers["ada@example.com"]
                .as_ref()
                .map(IntervalSet::spans)
                .unwrap()
                .len(),
            1
        );
        let missing = answers["cy@example.com"].as_ref().unwrap_err();
        assert!(missing.starts_with("no calendar file "), "{missing}");
        assert!(missing.ends_with("cy@example.com.ics"), "{missing}");
    }

    #[tokio::test]
    async fn a_malformed_person_file_fails_the_whole_query() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ada@example.com.ics", &one_event(&["DTSTART:tomorrow"]));
        write(
            dir.path(),
            "bob@example.com.ics",
            &one_event(&["DTSTART:20260309T140000Z"]),
        );
        let p = provider(dir.path());
        let emails = ["ada@example.com".to_string(), "bob@example.com".to_string()];
        let err = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("ada@example.com.ics:6: DTSTART"), "{err}");
    }

    #[tokio::test]
    async fn a_file_that_is_not_utf8_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:caf".to_vec();
        bytes.extend([0xe9, b'\r', b'\n']);
        fs::write(dir.path().join("ada@example.com.ics"), bytes).unwrap();
        let p = provider(dir.path());
        let err = p
            .busy(
                &["ada@example.com".to_string()],
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, CalendarError::Invalid { line: Some(3), .. }), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[tokio::test]
    async fn booked_series_are_busy_for_their_attendees_only() {
        let dir = tempfile::tempdir().unwrap();
        for who in ["ada", "bob", "cy"] {
            write(
                dir.path(),
                &format!("{who}@example.com.ics"),
                &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
            );
        }
        let p = provider(dir.path());
        p.create_series(&request("b1")).await.unwrap();
        let emails = ["ada@example.com", "Bob@Example.com", "cy@example.com"].map(String::from);
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        let expected = [
            span("2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z"),
            span("2026-03-09T13:00:00Z", "2026-03-09T13:30:00Z"),
            span("2026-03-16T13:00:00Z", "2026-03-16T13:30:00Z"),
            span("2026-03-23T13:00:00Z", "2026-03-23T13:30:00Z"),
        ];
        assert_eq!(spans_of(answers["ada@example.com"].as_ref().unwrap()), expected);
        assert_eq!(spans_of(answers["Bob@Example.com"].as_ref().unwrap()), expected);
        assert!(answers["cy@example.com"].as_ref().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_series_is_listed_inactive_and_no_longer_busy() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "ada@example.com.ics",
            &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
        );
        let p = provider(dir.path());
        p.create_series(&request("c1")).await.unwrap();
        p.create_series(&request("c2")).await.unwrap();
        assert!(p.cancel_series("c1").unwrap());
        assert!(!p.cancel_series("c1").unwrap(), "already cancelled");
        assert!(!p.cancel_series("nope").unwrap());
        let listed = p.list_series().await.unwrap();
        let state: Vec<_> = listed.iter().map(|s| (s.request.event_id.as_str(), s.active)).collect();
        assert_eq!(state, [("c1", false), ("c2", true)]);
        assert_eq!(listed[0].request, request("c1"));
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert_eq!(text.matches("STATUS:").count(), 2);
        // c2 has the same times, so Ada stays busy; cancel it too and she is free.
        assert!(p.cancel_series("c2").unwrap());
        let answers = p
            .busy(
                &["ada@example.com".to_string()],
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert!(answers["ada@example.com"].as_ref().unwrap().is_empty());
    }

    #[tokio::test]
    async fn without_a_bookings_file_there_are_no_series() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        assert!(p.list_series().await.unwrap().is_empty());
        assert!(!p.cancel_series("x").unwrap());
        assert!(!p.bookings_path().exists());
    }

    #[tokio::test]
    async fn booking_into_an_existing_calendar_keeps_its_other_events() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = ics(&[
            "BEGIN:VCALENDAR",
            "PRODID:-//someone//EN",
            "BEGIN:VEVENT",
            "UID:foreign",
            "DTSTART:20260309T140000Z",
            "SUMMARY:Not ours",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        write(dir.path(), BOOKINGS_FILE, &foreign);
        let p = provider(dir.path());
        p.create_series(&request("k1")).await.unwrap();
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert!(text.starts_with(foreign.trim_end_matches("END:VCALENDAR\r\n")));
        assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        let listed = p.list_series().await.unwrap();
        assert_eq!(listed.len(), 1, "events without X-LIAISON are not liaison series");
        assert_eq!(listed[0].request, request("k1"));
    }

    #[tokio::test]
    async fn an_unbookable_request_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let mut bad_zone = request("z1");
        bad_zone.zone = "Mars/Base".into();
        let mut no_weeks = request("z2");
        no_weeks.count = 0;
        let mut control = request("z3");
        control.summary = "bell\u{7}".into();
        for req in [bad_zone, no_weeks, control] {
            let err = p.create_series(&req).await.unwrap_err();
            assert!(err.is_bad_input(), "{err}");
            assert!(err.to_string().contains("expected"), "{err}");
        }
        assert!(!p.bookings_path().exists());
    }

    #[tokio::test]
    async fn a_malformed_bookings_file_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let broken = ics(&["BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:x"]);
        write(dir.path(), BOOKINGS_FILE, &broken);
        let p = provider(dir.path());
        let err = p.create_series(&request("m1")).await.unwrap_err();
        assert!(
            err.to_string().ends_with(&format!(
                "{BOOKINGS_FILE}:2: BEGIN:VEVENT is never closed; expected END:VEVENT before the end of the file"
            )),
            "{err}"
        );
        // Every reader and writer of the file reports the same line.
        let never_closed = format!("{BOOKINGS_FILE}:2: BEGIN:VEVENT is never closed");
        let err = p.list_series().await.unwrap_err();
        assert!(err.to_string().contains(&never_closed), "{err}");
        let err = p.cancel_series("x").unwrap_err();
        assert!(err.to_string().contains(&never_closed), "{err}");
        assert_eq!(fs::read_to_string(p.bookings_path()).unwrap(), broken);
    }

    #[tokio::test]
    async fn the_instance_marker_is_written_and_read_back_and_its_absence_too() {
        let dir = tempfile::tempdir().unwrap();
        let marked = provider(dir.path()).with_instance("hq-liaison");
        marked.create_series(&request("i1")).await.unwrap();
        // A provider without a name (and one given a blank name) writes no marker.
        provider(dir.path()).create_series(&request("i2")).await.unwrap();
        provider(dir.path())
            .with_instance("  ")
            .create_series(&request("i3"))
            .await
            .unwrap();
        let text = fs::read_to_string(marked.bookings_path()).unwrap();
        assert_eq!(
            text.matches("\r\nX-LIAISON-INSTANCE:hq-liaison\r\n").count(),
            1,
            "{text}"
        );
        assert_eq!(text.matches("X-LIAISON-INSTANCE").count(), 1, "{text}");
        // Whoever reads the file sees which installation wrote each series.
        let listed = provider(dir.path()).list_series().await.unwrap();
        let instances: Vec<_> = listed
            .iter()
            .map(|s| (s.request.event_id.as_str(), s.instance.as_deref()))
            .collect();
        assert_eq!(instances, [("i1", Some("hq-liaison")), ("i2", None), ("i3", None)]);
        assert!(listed.iter().all(|s| s.request == request(&s.request.event_id)));
        assert_eq!(
            marked.get_series("i1").await.unwrap().unwrap().instance.as_deref(),
            Some("hq-liaison")
        );
        // The id does not include the instance: another installation booking
        // the same id finds it there and writes nothing.
        let other = provider(dir.path()).with_instance("branch-office");
        assert_eq!(
            other.create_series(&request("i1")).await.unwrap(),
            CreateOutcome::AlreadyExists
        );
        assert_eq!(fs::read_to_string(marked.bookings_path()).unwrap(), text);
    }

    #[tokio::test]
    async fn an_instance_name_is_escaped_and_read_back_like_any_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path()).with_instance("a,b;c");
        p.create_series(&request("e1")).await.unwrap();
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert!(text.contains("\r\nX-LIAISON-INSTANCE:a\\,b\\;c\r\n"), "{text}");
        let listed = p.list_series().await.unwrap();
        assert_eq!(listed[0].instance.as_deref(), Some("a,b;c"));
        let bell = provider(dir.path()).with_instance("bell\u{7}");
        let err = bell.create_series(&request("e2")).await.unwrap_err();
        assert!(err.is_bad_input(), "{err}");
    }

    /// bookings.ics with one 4-week series (Mondays 09:00 New York from
    /// 2026-03-02, across the US DST change of 2026-03-08) for Ada and Bob,
    /// who have empty calendars of their own.
    async fn four_weeks(dir: &Path) -> LocalProvider {
        for who in ["ada", "bob"] {
            write(
                dir,
                &format!("{who}@example.com.ics"),
                &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
            );
        }
        let p = provider(dir).with_instance("hq");
        p.create_series(&request("s1")).await.unwrap();
        p
    }

    async fn ada_busy_in_march(p: &LocalProvider) -> Vec<(String, String)> {
        let answers = p
            .busy(
                &["ada@example.com".to_string()],
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .await
            .unwrap();
        spans_of(answers["ada@example.com"].as_ref().unwrap())
    }

    #[tokio::test]
    async fn ending_a_series_keeps_the_occurrences_up_to_until_and_frees_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = four_weeks(dir.path()).await;
        // The second occurrence: 09:00 EDT on 2026-03-09.
        let until = ts("2026-03-09T13:00:00Z");
        assert_eq!(p.end_series("s1", until).await.unwrap(), EndOutcome::Ended);
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert!(
            text.contains("\r\nRRULE:FREQ=WEEKLY;UNTIL=20260309T130000Z\r\n"),
            "{text}"
        );
        assert!(!text.contains("COUNT="), "{text}");
        let series = p.get_series("s1").await.unwrap().unwrap();
        assert_eq!(series.request.count, 2, "read back as its two weeks");
        assert_eq!(
            series.request,
            SeriesRequest {
                count: 2,
                ..request("s1")
            }
        );
        assert_eq!((series.active, series.instance.as_deref()), (true, Some("hq")));
        assert_eq!(
            ada_busy_in_march(&p).await,
            [
                span("2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z"),
                span("2026-03-09T13:00:00Z", "2026-03-09T13:30:00Z"),
            ]
        );
        // Ending it again at the same occurrence changes nothing.
        assert_eq!(p.end_series("s1", until).await.unwrap(), EndOutcome::Ended);
        assert_eq!(fs::read_to_string(p.bookings_path()).unwrap(), text);
        let files: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 3, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn ending_a_series_that_is_gone_or_never_was_is_already_gone() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let until = ts("2026-03-09T13:00:00Z");
        assert_eq!(p.end_series("s1", until).await.unwrap(), EndOutcome::AlreadyGone);
        assert!(!p.bookings_path().exists(), "no file is created for it");
        p.create_series(&request("s1")).await.unwrap();
        assert_eq!(p.end_series("nope", until).await.unwrap(), EndOutcome::AlreadyGone);
        assert!(p.cancel_series("s1").unwrap());
        let before = fs::read(p.bookings_path()).unwrap();
        assert_eq!(p.end_series("s1", until).await.unwrap(), EndOutcome::AlreadyGone);
        assert_eq!(fs::read(p.bookings_path()).unwrap(), before);
    }

    #[tokio::test]
    async fn ending_a_series_before_its_first_occurrence_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        p.create_series(&request("s1")).await.unwrap();
        let before = fs::read(p.bookings_path()).unwrap();
        let err = p.end_series("s1", ts("2026-03-02T13:59:59Z")).await.unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains("before its first occurrence"), "{err}");
        assert_eq!(fs::read(p.bookings_path()).unwrap(), before);
        // Its first occurrence itself may be the last one kept.
        assert_eq!(
            p.end_series("s1", ts("2026-03-02T14:00:00Z")).await.unwrap(),
            EndOutcome::Ended
        );
        assert_eq!(p.get_series("s1").await.unwrap().unwrap().request.count, 1);
    }

    #[test]
    fn liaison_rules_are_read_with_count_or_until() {
        let start = datetime(2026, 3, 2, 9, 0, 0, 0);
        let ny = zone("America/New_York");
        let cases: [(&str, Option<u32>); 12] = [
            ("FREQ=WEEKLY;COUNT=4", Some(4)),
            ("freq=weekly;count=3", Some(3)),
            // UTC: the 2nd occurrence is 13:00Z (EDT), the 1st 14:00Z (EST).
            ("FREQ=WEEKLY;UNTIL=20260309T130000Z", Some(2)),
            ("FREQ=WEEKLY;UNTIL=20260309T125959Z", Some(1)),
            ("FREQ=WEEKLY;UNTIL=20260302T140000Z", Some(1)),
            // A date includes its whole day; a floating time is the series' wall clock.
            ("FREQ=WEEKLY;UNTIL=20260316", Some(3)),
            ("FREQ=WEEKLY;UNTIL=20260323T090000", Some(4)),
            // Before the first occurrence, other frequencies, other parts, both ends.
            ("FREQ=WEEKLY;UNTIL=20260302T135959Z", None),
            ("FREQ=DAILY;COUNT=4", None),
            ("FREQ=WEEKLY;INTERVAL=2;COUNT=4", None),
            ("FREQ=WEEKLY;COUNT=4;UNTIL=20260309T130000Z", None),
            ("FREQ=WEEKLY;COUNT=0", None),
        ];
        for (rule, expected) in cases {
            assert_eq!(weekly_count(rule, start, &ny), expected, "{rule}");
        }
    }

    #[tokio::test]
    async fn an_attendee_the_file_cannot_hold_refuses_that_pair_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let mut spaced = request("r1");
        spaced.pair.1 = "bob smith@example.com".into();
        spaced.attendees[1].email = spaced.pair.1.clone();
        let mut bell = request("r2");
        bell.attendees[0].name = "Ada\u{7}".into();
        for req in [spaced, bell] {
            let err = p.create_series(&req).await.unwrap_err();
            assert!(matches!(err, CalendarError::Refused(_)), "{err:?}");
            assert_eq!(err.scope(), crate::calendar::ErrorScope::ThisOne);
            assert!(err.write_refused());
            assert!(err.to_string().contains("ada@example.com|"), "names the pair: {err}");
        }
        assert!(!p.bookings_path().exists());
        // Other pairs still book.
        assert_eq!(p.create_series(&request("r3")).await.unwrap(), CreateOutcome::Created);
    }

    #[tokio::test]
    async fn a_bookings_file_that_cannot_be_written_concerns_everyone() {
        let dir = tempfile::tempdir().unwrap();
        // The calendar directory is a file: nothing can be written under it.
        let blocked = dir.path().join("calendars");
        write(dir.path(), "calendars", "not a directory");
        let p = provider(&blocked);
        let err = p.create_series(&request("w1")).await.unwrap_err();
        assert!(matches!(err, CalendarError::Io { .. }), "{err:?}");
        assert_eq!(err.scope(), crate::calendar::ErrorScope::Everyone);
    }

    #[test]
    fn emails_that_would_name_other_files_are_refused() {
        let p = provider(Path::new("/cal"));
        for email in ["../etc/passwd", "a/b", "", ".hidden", "bookings"] {
            assert!(p.person_path(email).is_err(), "{email}");
        }
        assert_eq!(
            p.person_path("ada@example.com").unwrap(),
            Path::new("/cal/ada@example.com.ics")
        );
    }

    #[test]
    fn person_zones_apply_to_their_floating_times() {
        let p = provider(Path::new("/cal")).with_time_zones(
            zone("Europe/Paris"),
            [("Ada@Example.com".to_string(), zone("Asia/Tokyo"))],
        );
        assert_eq!(p.zone_of("ada@example.com").iana_name(), Some("Asia/Tokyo"));
        assert_eq!(p.zone_of("bob@example.com").iana_name(), Some("Europe/Paris"));
    }

    fn any_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("(\\PC|\n|\t){{0,{max}}}")).unwrap()
    }

    fn any_email() -> impl Strategy<Value = String> {
        "[a-z0-9._%+|-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,4}"
    }

    fn any_request() -> impl Strategy<Value = SeriesRequest> {
        (
            ("[a-v0-9]{5,30}", any_email(), any_email(), any_text(30), any_text(30)),
            (any_text(200), any_text(300), proptest::option::of(any_text(80))),
            prop_oneof![
                Just("America/New_York"),
                Just("Europe/London"),
                Just("Asia/Kolkata"),
                Just("Australia/Lord_Howe"),
                Just("UTC"),
            ],
            (2000i16..2100, 1i8..=12, 1i8..=28, 0i8..24, 0i8..60, 0i8..60),
            (0i64..200_000, 0i32..1_000_000_000, 1u32..=52),
        )
            .prop_map(
                |(
                    (id, a, b, name_a, name_b),
                    (summary, description, location),
                    zone,
                    (y, mo, d, h, mi, s),
                    (secs, nanos, count),
                )| {
                    let start = datetime(y, mo, d, h, mi, s, 0);
                    SeriesRequest {
                        event_id: id,
                        term: start.date(),
                        pair: (a.clone(), b.clone()),
                        attendees: [Attendee { email: a, name: name_a }, Attendee { email: b, name: name_b }],
                        summary,
                        description,
                        location,
                        zone: zone.to_string(),
                        start,
                        duration: SignedDuration::new(secs, nanos),
                        count,
                    }
                },
            )
    }

    /// The busy time a series request means, computed without the file format:
    /// week `w` starts at `start + 7w days` on the wall clock of the series'
    /// zone (jiff's `compatible` placement: forward across a gap, the earlier
    /// offset in a fold, as RFC 5545 3.3.5 reads a DTSTART) and lasts the
    /// duration cut to whole seconds.
    fn expected_busy(req: &SeriesRequest) -> Vec<(String, String)> {
        let tz = zone(&req.zone);
        let length = SignedDuration::from_secs(req.duration.as_secs());
        (0..req.count)
            .filter_map(|w| {
                let local = req.start.checked_add((7 * i64::from(w)).days()).unwrap();
                let start = tz.to_timestamp(local).unwrap();
                let end = start.checked_add(length).unwrap();
                (start < end).then(|| (start.to_string(), end.to_string()))
            })
            .collect()
    }

    #[test]
    fn a_booking_that_ends_in_the_second_pass_of_a_dst_fold_is_busy_until_its_end() {
        // New York leaves DST at 02:00 EDT on 2026-11-01, so 01:00-02:00 comes
        // twice. A series starting 01:30 EDT ends in the second pass: at 01:15
        // EST after 45 minutes (a wall clock that, read with the first offset,
        // is before the start), at 01:30 EST after an hour (the start's own
        // wall clock).
        for minutes in [45, 60] {
            let req = SeriesRequest {
                event_id: "foldcase0001".into(),
                term: date(2026, 10, 26),
                pair: ("a@x.org".into(), "b@x.org".into()),
                attendees: [
                    Attendee {
                        email: "a@x.org".into(),
                        name: "A".into(),
                    },
                    Attendee {
                        email: "b@x.org".into(),
                        name: "B".into(),
                    },
                ],
                summary: "s".into(),
                description: "d".into(),
                location: None,
                zone: "America/New_York".into(),
                start: datetime(2026, 11, 1, 1, 30, 0, 0),
                duration: SignedDuration::from_mins(minutes),
                count: 2,
            };
            let text = new_calendar(&render_event(&req, "org@example.com", None).unwrap());
            let roots = parse_calendar(&text, "b.ics").unwrap();
            let r = range("2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z");
            let busy = busy_in(&roots, "b.ics", "a@x.org", &TimeZone::UTC, r, Scope::InvolvingOwner)
                .unwrap_or_else(|e| panic!("{minutes} minutes: {e}"));
            // 01:30 EDT is 05:30Z; the next week's 01:30 EST is 06:30Z.
            let end = |day: &str, hour: i64| {
                let at: Timestamp = format!("2026-11-{day}T0{hour}:30:00Z").parse().unwrap();
                at.checked_add(SignedDuration::from_mins(minutes)).unwrap().to_string()
            };
            assert_eq!(
                spans_of(&busy),
                [
                    (ts("2026-11-01T05:30:00Z").to_string(), end("01", 5)),
                    (ts("2026-11-08T06:30:00Z").to_string(), end("08", 6)),
                ],
                "{minutes} minutes"
            );
            let read: Vec<_> = events_of(&roots).map(|e| series_of(e).unwrap()).collect();
            assert_eq!(read[0].as_ref().map(|s| &s.request), Some(&req));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn any_request_round_trips_through_the_file_format(
            req in any_request(),
            instance in proptest::option::of("[A-Za-z0-9._-]{1,64}"),
        ) {
            let text = new_calendar(&render_event(&req, "org@example.com", instance.as_deref()).unwrap());
            for physical in text.split("\r\n") {
                prop_assert!(physical.len() <= 75, "{:?}", physical);
            }
            let roots = parse_calendar(&text, "b.ics").unwrap();
            let read: Vec<_> = events_of(&roots).map(|e| series_of(e).unwrap()).collect();
            prop_assert_eq!(read, vec![Some(BookedSeries { request: req.clone(), active: true, instance })]);
            // The same file reads as the attendee's busy time: `count` weekly
            // occurrences at the start's wall clock in the series' zone, each
            // lasting the duration in whole seconds (DTEND has no fractions).
            let r = Interval::new(Timestamp::MIN, ts("2101-01-01T00:00:00Z"));
            let busy = busy_in(&roots, "b.ics", &req.pair.0, &TimeZone::UTC, r, Scope::InvolvingOwner);
            let busy = busy.map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(spans_of(&busy), expected_busy(&req));
        }
    }
}

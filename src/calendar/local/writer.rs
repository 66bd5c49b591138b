//! The organizer calendar, `bookings.ics`: rendering a series as a VEVENT
//! (checked for what iCalendar cannot carry, folded at 75 octets), adding it,
//! cancelling it, ending it early (its RRULE becomes
//! `FREQ=WEEKLY;UNTIL=<UTC>`), all by atomic replacement of the file, and
//! reading liaison's series back from it. Edits keep every other byte of the
//! file. The provider holds the lock that serializes these writes.

use std::fs;
use std::path::Path;

use icalendar::{Component as _, Event, Property};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::syntax::{
    Comp, Located, events_of, has_uid, located, parse_calendar, parse_date, parse_datetime, read_text, strip_mailto,
};
use crate::calendar::{
    Attendee, BookedSeries, CalendarError, CreateOutcome, EndOutcome, SeriesRequest, ical_utc_until, weekly_count_until,
};

const PRODID: &str = "-//liaison//EN";

/// The VEVENT of `series` for the bookings file at `path`, or why it cannot be
/// written there: [`CalendarError::Refused`] for what concerns one attendee
/// (only this pair is affected), [`CalendarError::Invalid`] for the request as
/// a whole.
pub(super) fn render_series(
    series: &SeriesRequest,
    organizer: &str,
    instance: Option<&str>,
    path: &Path,
) -> Result<String, CalendarError> {
    let name = path.display().to_string();
    render_event(series, organizer, instance).map_err(|why| {
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
    })
}

/// Appends the VEVENT `event` of the series `event_id` to the bookings file at
/// `path`, creating `dir` and the file when needed. `AlreadyExists` (and
/// nothing written) when the file has an event with that UID. The caller
/// holds the provider's write lock.
pub(super) fn add_series(dir: &Path, path: &Path, event_id: &str, event: &str) -> Result<CreateOutcome, CalendarError> {
    let outcomes = add_many(dir, path, &[(event_id, event)])?;
    Ok(outcomes.first().copied().unwrap_or(CreateOutcome::AlreadyExists))
}

/// Appends the VEVENTs `events` (each with the id of its series) to the
/// bookings file at `path` with one read and one atomic write, creating `dir`
/// and the file when needed: the outcome of each, in order. A series whose
/// UID the file (or an earlier one of `events`) has already is
/// `AlreadyExists` and not written again. Nothing is written when all of
/// them exist. The caller holds the provider's write lock.
pub(super) fn add_many(dir: &Path, path: &Path, events: &[(&str, &str)]) -> Result<Vec<CreateOutcome>, CalendarError> {
    let name = path.display().to_string();
    let old = read_text(path)?;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut at = None;
    if let Some(text) = &old {
        let roots = parse_calendar(text, &name)?;
        seen.extend(
            events_of(&roots)
                .filter_map(|c| c.value("UID"))
                .map(|uid| uid.trim().to_string()),
        );
        // parse_calendar guarantees at least one VCALENDAR; append to the last.
        at = Some(roots.last().map_or(text.len(), |c| c.end_start));
    }
    let mut added = String::new();
    let outcomes: Vec<CreateOutcome> = events
        .iter()
        .map(|(id, event)| {
            if seen.insert(id.trim().to_string()) {
                added.push_str(event);
                CreateOutcome::Created
            } else {
                CreateOutcome::AlreadyExists
            }
        })
        .collect();
    if added.is_empty() {
        return Ok(outcomes);
    }
    let text = match (&old, at) {
        (Some(text), Some(at)) => {
            let head = text.get(..at).unwrap_or(text);
            let tail = text.get(at..).unwrap_or_default();
            format!("{head}{added}{tail}")
        }
        _ => new_calendar(&added),
    };
    fs::create_dir_all(dir).map_err(|source| CalendarError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    write_atomically(path, &text)?;
    Ok(outcomes)
}

/// Marks the series `event_id` as `STATUS:CANCELLED` in the bookings file at
/// `path`. Returns `true` when an active series was cancelled, `false` when
/// there is no such series or it already was cancelled (nothing is written
/// then). The caller holds the provider's write lock.
pub(super) fn cancel_series(path: &Path, event_id: &str) -> Result<bool, CalendarError> {
    let name = path.display().to_string();
    let Some(text) = read_text(path)? else {
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
    write_atomically(path, &out)?;
    Ok(true)
}

/// Ends the series `event_id` early: its RRULE becomes
/// `FREQ=WEEKLY;UNTIL=<until in UTC>`, so the occurrence starting at
/// `until` is its last. `AlreadyGone` when the bookings file at `path` has no
/// such series or it is cancelled (nothing is written then). An `until`
/// before the first occurrence is refused: such a series is deleted, not
/// ended. The caller holds the provider's write lock.
pub(super) fn end_series(path: &Path, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
    let name = path.display().to_string();
    let Some(text) = read_text(path)? else {
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
    write_atomically(path, &out)?;
    Ok(EndOutcome::Ended)
}

/// Every liaison series in the bookings file at `path`, active or cancelled;
/// none when there is no such file.
pub(super) fn list_series(path: &Path) -> Result<Vec<BookedSeries>, CalendarError> {
    let name = path.display().to_string();
    let Some(text) = read_text(path)? else {
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
    if !req.skip.is_empty() {
        // Skipped occurrences (holidays, away days): one EXDATE in the
        // series' zone, as DTSTART is (RFC 5545 3.8.5.1).
        let dates: Vec<String> = req.skip.iter().map(|&dt| ical_datetime(dt)).collect();
        event.append_property(
            Property::new("EXDATE", dates.join(","))
                .add_parameter("TZID", &req.zone)
                .done(),
        );
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
    let skip = skipped_starts(comp, &tz, start, count)?;
    let active = !comp
        .value("STATUS")
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("CANCELLED"));
    Ok(Some(BookedSeries {
        request: SeriesRequest {
            event_id: uid.value.to_string(),
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
            skip,
        },
        active,
        instance: comp
            .value("X-LIAISON-INSTANCE")
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_string),
    }))
}

/// The EXDATEs of a liaison series as wall-clock starts in its zone (a UTC
/// value, as other writers may put, is read on that zone's clock), those the
/// rule reaches only, in order.
fn skipped_starts(comp: &Comp, tz: &TimeZone, start: DateTime, count: u32) -> Located<Vec<DateTime>> {
    let end = start
        .checked_add(jiff::Span::new().weeks(i64::from(count)))
        .unwrap_or(DateTime::MAX);
    let mut skip = Vec::new();
    for prop in comp.all("EXDATE") {
        for value in prop.value.split(',') {
            let (dt, utc) = parse_datetime(value.trim()).ok_or_else(|| {
                (
                    prop.line,
                    format!("EXDATE {value:?} is not a date-time; expected YYYYMMDDTHHMMSS"),
                )
            })?;
            let dt = if utc {
                TimeZone::UTC.to_timestamp(dt).map(|t| tz.to_datetime(t)).unwrap_or(dt)
            } else {
                dt
            };
            if start <= dt && dt < end {
                skip.push(dt);
            }
        }
    }
    skip.sort_unstable();
    skip.dedup();
    Ok(skip)
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan as _;
    use jiff::civil::{date, datetime};
    use proptest::prelude::*;

    use super::*;
    use crate::calendar::CalendarProvider as _;
    use crate::calendar::local::LocalProvider;
    use crate::calendar::local::provider::{BOOKINGS_FILE, Organizer};
    use crate::calendar::local::test_support::*;
    use crate::core::interval::Interval;

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
    async fn a_batch_is_written_at_once_and_reads_like_the_same_series_booked_one_by_one() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (batched, single) = (provider(a.path()), provider(b.path()));
        for p in [&batched, &single] {
            p.create_series(&request("r3")).await.unwrap();
        }
        let before = batched.steps();
        let outcomes = batched
            .create_many(&[request("r1"), request("r2"), request("r1"), request("r3")])
            .await;
        assert_eq!(batched.steps() - before, 1, "one write of the file for the batch");
        let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
        use CreateOutcome::{AlreadyExists, Created};
        assert_eq!(outcomes, [Created, Created, AlreadyExists, AlreadyExists]);
        for id in ["r1", "r2"] {
            single.create_series(&request(id)).await.unwrap();
        }
        assert_eq!(
            fs::read(batched.bookings_path()).unwrap(),
            fs::read(single.bookings_path()).unwrap()
        );
        let found = batched
            .get_many(&["r2".into(), "nope".into(), "r3".into()])
            .await
            .unwrap();
        let found: Vec<Option<String>> = found
            .into_iter()
            .map(|f| f.unwrap().map(|s| s.request.event_id))
            .collect();
        assert_eq!(found, [Some("r2".into()), None, Some("r3".into())]);
    }

    #[tokio::test]
    async fn a_batch_refuses_one_attendee_alone_and_ends_at_a_request_the_file_cannot_hold() {
        let dir = tempfile::tempdir().unwrap();
        let p = provider(dir.path());
        let mut spaced = request("bad1");
        spaced.pair.1 = "bob smith@example.com".into();
        spaced.attendees[1].email = spaced.pair.1.clone();
        let mut none = request("bad2");
        none.count = 0;
        let outcomes = p
            .create_many(&[request("ok1"), spaced, request("ok2"), none, request("ok3")])
            .await;
        assert_eq!(
            outcomes.len(),
            4,
            "the series after the one the file cannot hold are not sent"
        );
        assert!(matches!(outcomes[0], Ok(CreateOutcome::Created)));
        assert!(
            matches!(outcomes[1], Err(CalendarError::Refused(_))),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Ok(CreateOutcome::Created)));
        assert!(
            matches!(outcomes[3], Err(CalendarError::Invalid { .. })),
            "{:?}",
            outcomes[3]
        );
        let ids: Vec<_> = p
            .list_series()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.request.event_id)
            .collect();
        assert_eq!(ids, ["ok1", "ok2"]);
    }

    #[tokio::test]
    async fn a_batch_that_cannot_be_written_fails_at_its_first_series_written() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "calendars", "not a directory");
        let p = provider(&dir.path().join("calendars"));
        let mut spaced = request("bad1");
        spaced.pair.1 = "bob smith@example.com".into();
        spaced.attendees[1].email = spaced.pair.1.clone();
        let outcomes = p.create_many(&[spaced, request("w1"), request("w2")]).await;
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert!(matches!(outcomes[0], Err(CalendarError::Refused(_))));
        assert!(
            matches!(outcomes[1], Err(CalendarError::Io { .. })),
            "{:?}",
            outcomes[1]
        );
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

    #[tokio::test]
    async fn a_skipped_week_is_written_as_an_exdate_read_back_and_not_busy() {
        let dir = tempfile::tempdir().unwrap();
        for who in ["ada", "bob"] {
            write(
                dir.path(),
                &format!("{who}@example.com.ics"),
                &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
            );
        }
        let p = provider(dir.path());
        let mut req = request("x1");
        // The second Monday (after the US DST change) is a holiday.
        req.skip = vec![datetime(2026, 3, 9, 9, 0, 0, 0)];
        assert_eq!(p.create_series(&req).await.unwrap(), CreateOutcome::Created);
        let text = fs::read_to_string(p.bookings_path()).unwrap();
        assert!(
            text.contains("\r\nEXDATE;TZID=America/New_York:20260309T090000\r\n"),
            "{text}"
        );
        assert_eq!(
            p.list_series().await.unwrap()[0].request,
            req,
            "read back with its skipped week"
        );
        assert_eq!(
            ada_busy_in_march(&p).await,
            [
                ("2026-03-02T14:00:00Z".into(), "2026-03-02T14:30:00Z".into()),
                ("2026-03-16T13:00:00Z".into(), "2026-03-16T13:30:00Z".into()),
                ("2026-03-23T13:00:00Z".into(), "2026-03-23T13:30:00Z".into()),
            ],
            "the skipped Monday is not busy"
        );
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
                        skip: Vec::new(),
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
                skip: Vec::new(),
            };
            let text = new_calendar(&render_event(&req, "org@example.com", None).unwrap());
            let roots = parse_calendar(&text, "b.ics").unwrap();
            let r = range("2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z");
            let busy = Organizer::read(&roots, "b.ics", &TimeZone::UTC)
                .and_then(|o| o.busy("b.ics", "a@x.org", r))
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
            let busy = Organizer::read(&roots, "b.ics", &TimeZone::UTC).and_then(|o| o.busy("b.ics", &req.pair.0, r));
            let busy = busy.map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(spans_of(&busy), expected_busy(&req));
        }
    }
}

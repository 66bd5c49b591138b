//! Times as Google writes them, and the expansion of recurring events.
//!
//! Recurrence rules are expanded on the wall clock of the event's
//! `start.timeZone` (RFC 5545's model, which Google follows: a weekly 10:00
//! stays 10:00 across a DST change): `rrule` steps civil date-times handed to it
//! as if they were UTC, and jiff places each one in the real zone afterwards.
//! The same approach as `src/calendar/local.rs`, for the same reasons (no
//! chrono-tz zone data, no floating UNTIL read in the machine's zone).

use chrono::{Datelike as _, Timelike as _};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde_json::{Value, json};

/// The most occurrences one series expands to when nothing bounds it.
pub const MAX_OCCURRENCES: u16 = 730;

/// The start or end of an event, as `EventDateTime` gives it.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    /// `dateTime`, with the zone from `timeZone` when one was given.
    Timed { at: Timestamp, zone: Option<String> },
    /// `date`: an all-day event.
    AllDay(Date),
}

impl When {
    /// The instant this starts, placing an all-day date at midnight in `zone`.
    pub fn instant(&self, zone: &TimeZone) -> Timestamp {
        match self {
            When::Timed { at, .. } => *at,
            When::AllDay(d) => d
                .to_datetime(Time::midnight())
                .to_zoned_datetime(zone.clone())
                .map(|z| z.timestamp())
                .unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}

/// Looks up an IANA zone name.
pub fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// Parses an `EventDateTime` object. `what` is "start" or "end", for messages.
pub fn parse_event_time(v: &Value, what: &str) -> Result<When, String> {
    let zone_name = v.get("timeZone").and_then(Value::as_str);
    if let Some(name) = zone_name
        && zone(name).is_none()
    {
        return Err(format!("Invalid time zone definition for {what} time."));
    }
    if let Some(date) = v.get("date").and_then(Value::as_str) {
        if v.get("dateTime").is_some() {
            return Err(format!("Invalid {what} time."));
        }
        return date
            .parse::<Date>()
            .map(When::AllDay)
            .map_err(|_| format!("Invalid {what} time."));
    }
    let Some(raw) = v.get("dateTime").and_then(Value::as_str) else {
        return Err(format!("Missing {what} time."));
    };
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Ok(When::Timed {
            at,
            zone: zone_name.map(str::to_string),
        });
    }
    let civil = raw.parse::<DateTime>().map_err(|_| format!("Invalid {what} time."))?;
    let Some(name) = zone_name else {
        return Err(format!("Missing time zone definition for {what} time."));
    };
    let at = civil
        .to_zoned_datetime(zone(name).expect("checked above"))
        .map_err(|_| format!("Invalid {what} time."))?
        .timestamp();
    Ok(When::Timed {
        at,
        zone: Some(name.to_string()),
    })
}

/// `2027-03-08T10:00:00+01:00` (or `...Z` in UTC), as Google writes event times.
pub fn rfc3339_in(at: Timestamp, tz: &TimeZone) -> String {
    let z = at.to_zoned_datetime(tz.clone());
    if z.offset().seconds() == 0 && tz.iana_name() == Some("UTC") {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// `2027-03-03T12:00:00.000Z`, as Google writes `updated`, `created`, `timeMin`.
pub fn rfc3339_millis(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The `EventDateTime` JSON for `when`, written the way Google answers: the
/// instant in the event's zone (or `default_zone`), `timeZone` kept as given.
pub fn event_time_json(when: &When, default_zone: &TimeZone) -> Value {
    match when {
        When::AllDay(d) => json!({ "date": d.to_string() }),
        When::Timed { at, zone: Some(name) } => {
            let tz = zone(name).unwrap_or_else(|| default_zone.clone());
            json!({ "dateTime": rfc3339_in(*at, &tz), "timeZone": name })
        }
        When::Timed { at, zone: None } => json!({ "dateTime": rfc3339_in(*at, default_zone) }),
    }
}

/// The suffix of an instance id: `20270308T090000Z` (UTC) for timed events,
/// `20270308` for all-day ones.
pub fn instance_stamp(original: &OccStart) -> String {
    match original {
        OccStart::At(at) => at.strftime("%Y%m%dT%H%M%SZ").to_string(),
        OccStart::Day(d) => d.strftime("%Y%m%d").to_string(),
    }
}

/// Reads an instance id's suffix back (see [`instance_stamp`]).
pub fn parse_stamp(stamp: &str) -> Option<OccStart> {
    if stamp.len() == 16 && stamp.ends_with('Z') {
        let dt = DateTime::strptime("%Y%m%dT%H%M%S", &stamp[..15]).ok()?;
        Some(OccStart::At(dt.to_zoned_datetime(TimeZone::UTC).ok()?.timestamp()))
    } else if stamp.len() == 8 {
        Date::strptime("%Y%m%d", stamp).ok().map(OccStart::Day)
    } else {
        None
    }
}

/// Where an occurrence originally starts: its identity within the series.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OccStart {
    At(Timestamp),
    Day(Date),
}

/// One occurrence of a series.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub original: OccStart,
    pub start: When,
    pub end: When,
}

/// Expands a recurring event. `start`/`end` are the first occurrence, `zone` is
/// the zone the rule is expanded in (`start.timeZone`), `until` bounds the
/// expansion (occurrences starting at or after it are not produced). At most
/// [`MAX_OCCURRENCES`] occurrences are produced.
pub fn expand(
    start: &When,
    end: &When,
    recurrence: &[String],
    zone_name: &str,
    until: Option<Timestamp>,
) -> Result<Vec<Occurrence>, String> {
    let tz = zone(zone_name).ok_or_else(|| format!("unknown time zone {zone_name}"))?;
    let (first, all_day) = match start {
        When::Timed { at, .. } => (at.to_zoned_datetime(tz.clone()).datetime(), false),
        When::AllDay(d) => (d.to_datetime(Time::midnight()), true),
    };
    let mut rrules = Vec::new();
    let mut rdates = Vec::new();
    let mut exdates = Vec::new();
    for line in recurrence {
        let (head, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad recurrence line {line:?}"))?;
        let mut params = head.split(';');
        let name = params.next().unwrap_or_default().to_ascii_uppercase();
        let params: Vec<&str> = params.collect();
        match name.as_str() {
            "RRULE" => rrules.push(parse_rule(value, first, &tz, all_day)?),
            "RDATE" => rdates.extend(parse_dates(value, &params, &tz)?),
            "EXDATE" => exdates.extend(parse_dates(value, &params, &tz)?),
            _ => return Err(format!("unsupported recurrence line {line:?}")),
        }
    }
    // The end of the expansion, on the event's wall clock, with two days of
    // slack for offsets; exact filtering happens on instants below.
    let limit = until.map(|u| u.to_zoned_datetime(tz.clone()).datetime().saturating_add(2.days()));
    let mut civil: Vec<DateTime> = Vec::new();
    if !rrules.is_empty() {
        let dt_start = to_chrono(first).ok_or("start out of range")?;
        let mut set = rrule::RRuleSet::new(dt_start);
        for r in rrules {
            set = set.rrule(r.validate(dt_start).map_err(|e| e.to_string())?);
        }
        if let Some(limit) = limit {
            set = set.before(to_chrono(limit).ok_or("limit out of range")?);
        }
        let result = set.all(MAX_OCCURRENCES);
        civil.extend(result.dates.iter().filter_map(from_chrono));
    } else {
        civil.push(first);
    }
    for d in rdates {
        civil.push(d.unwrap_or_else(|date| date.to_datetime(first.time())));
    }
    civil.sort();
    civil.dedup();
    civil.retain(|c| {
        !exdates.iter().any(|x| match x {
            Ok(dt) => dt == c,
            Err(date) => *date == c.date(),
        })
    });
    let mut out = Vec::new();
    for c in civil.into_iter().take(usize::from(MAX_OCCURRENCES)) {
        let occ = if all_day {
            let (When::AllDay(s), When::AllDay(e)) = (start, end) else {
                return Err("start and end must both be dates".into());
            };
            let days = s.until(*e).map_err(|e| e.to_string())?;
            let day = c.date();
            Occurrence {
                original: OccStart::Day(day),
                start: When::AllDay(day),
                end: When::AllDay(day.checked_add(days).map_err(|e| e.to_string())?),
            }
        } else {
            let (When::Timed { at: s, zone: sz }, When::Timed { at: e, zone: ez }) = (start, end) else {
                return Err("start and end must both be date-times".into());
            };
            let length: SignedDuration = e.duration_since(*s);
            let at = c.to_zoned_datetime(tz.clone()).map_err(|e| e.to_string())?.timestamp();
            Occurrence {
                original: OccStart::At(at),
                start: When::Timed { at, zone: sz.clone() },
                end: When::Timed {
                    at: at.checked_add(length).map_err(|e| e.to_string())?,
                    zone: ez.clone(),
                },
            }
        };
        if let Some(until) = until
            && occ.start.instant(&tz) >= until
        {
            break;
        }
        out.push(occ);
    }
    Ok(out)
}

/// One RRULE/EXRULE value. UNTIL is read here and converted to the wall clock
/// of the event's zone (a UTC UNTIL names an instant; a date UNTIL includes
/// that whole day).
fn parse_rule(
    raw: &str,
    first: DateTime,
    tz: &TimeZone,
    all_day: bool,
) -> Result<rrule::RRule<rrule::Unvalidated>, String> {
    let mut until = None;
    let mut rest = Vec::new();
    for part in raw.trim().split(';').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => until = Some(v.trim()),
            _ => rest.push(part.trim()),
        }
    }
    let mut rule: rrule::RRule<rrule::Unvalidated> =
        rest.join(";").parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    if let Some(until) = until {
        let last = if until.len() == 8 {
            let day = Date::strptime("%Y%m%d", until).map_err(|e| e.to_string())?;
            day.to_datetime(if all_day {
                Time::midnight()
            } else {
                Time::constant(23, 59, 59, 0)
            })
        } else if let Some(utc) = until.strip_suffix('Z') {
            let dt = DateTime::strptime("%Y%m%dT%H%M%S", utc).map_err(|e| e.to_string())?;
            let at = dt
                .to_zoned_datetime(TimeZone::UTC)
                .map_err(|e| e.to_string())?
                .timestamp();
            at.to_zoned_datetime(tz.clone()).datetime()
        } else {
            DateTime::strptime("%Y%m%dT%H%M%S", until).map_err(|e| e.to_string())?
        };
        let last = if last < first { first } else { last };
        rule = rule.until(to_chrono(last).ok_or("UNTIL out of range")?);
    }
    Ok(rule)
}

/// RDATE/EXDATE values on the event's wall clock: `Ok(date-time)` or
/// `Err(date)` for `VALUE=DATE`.
fn parse_dates(value: &str, params: &[&str], tz: &TimeZone) -> Result<Vec<Result<DateTime, Date>>, String> {
    let src_zone = params
        .iter()
        .find_map(|p| p.strip_prefix("TZID="))
        .map(|name| zone(name).ok_or_else(|| format!("unknown TZID {name}")))
        .transpose()?;
    let mut out = Vec::new();
    for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        if v.len() == 8 {
            out.push(Err(Date::strptime("%Y%m%d", v).map_err(|e| e.to_string())?));
        } else if let Some(utc) = v.strip_suffix('Z') {
            let dt = DateTime::strptime("%Y%m%dT%H%M%S", utc).map_err(|e| e.to_string())?;
            let at = dt
                .to_zoned_datetime(TimeZone::UTC)
                .map_err(|e| e.to_string())?
                .timestamp();
            out.push(Ok(at.to_zoned_datetime(tz.clone()).datetime()));
        } else {
            let dt = DateTime::strptime("%Y%m%dT%H%M%S", v).map_err(|e| e.to_string())?;
            let dt = match &src_zone {
                Some(src) => {
                    let at = dt
                        .to_zoned_datetime(src.clone())
                        .map_err(|e| e.to_string())?
                        .timestamp();
                    at.to_zoned_datetime(tz.clone()).datetime()
                }
                None => dt,
            };
            out.push(Ok(dt));
        }
    }
    Ok(out)
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

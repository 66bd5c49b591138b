//! The times of one VEVENT and their expansion: DTSTART, DTEND and DURATION
//! (exact or nominal lengths), RRULE (through the `rrule` crate, on the wall
//! clock), RDATE (dates, date-times, periods), EXDATE, and the instances a
//! RECURRENCE-ID overrides. Values are placed in time with the zones of their
//! VCALENDAR ([`Zones`]); floating times and all-day events in the file's
//! `X-WR-TIMEZONE` or the owner's zone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, Timelike as _};
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::temporal::SpanParser;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp, ToSpan as _, ZonedDateTime};

use super::steady::SteadyOffsets;
use super::syntax::{Comp, Located, Prop, at, parse_date, parse_datetime};
use super::zones::Zones;
use crate::core::interval::Interval;

/// Most occurrences one RRULE may yield before the end of the requested range.
/// A daily meeting kept since 1990 stays far below; a SECONDLY rule does not, and
/// is reported instead of expanded for minutes.
const MAX_OCCURRENCES: usize = 100_000;

/// Most occurrences the rules of one file may yield in all. Without it, a few
/// kilobytes of rules just under [`MAX_OCCURRENCES`] each took gigabytes and
/// minutes (found by the fuzz tests); a real calendar needs hundreds of daily
/// series kept for ten years to come near it.
const MAX_FILE_OCCURRENCES: usize = 1_000_000;

/// Most days the rules of one file may search, from each rule's DTSTART to
/// where its expansion stops (about 27,000 years). The `rrule` crate works
/// through every day of a rule's periods, found or not (25 to 200 ns a day),
/// so a rule that rarely meets a date (the 366th day of a year, February 30)
/// costs by the span it searches, not by what it yields: a few kilobytes of
/// them took minutes (found by the fuzz tests). Five hundred endless series
/// started in 2000 search under five million days by 2027.
const MAX_FILE_SEARCH_DAYS: i64 = 10_000_000;

/// What is left of [`MAX_FILE_OCCURRENCES`] and [`MAX_FILE_SEARCH_DAYS`]
/// while one file is read.
pub(super) struct Budget {
    left: usize,
    days: i64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            left: MAX_FILE_OCCURRENCES,
            days: MAX_FILE_SEARCH_DAYS,
        }
    }
}

impl Budget {
    /// Takes the days from `from` to `to` that a rule searched.
    fn search(&mut self, from: DateTime, to: DateTime, line: usize) -> Located<()> {
        let days = to
            .date()
            .since(from.date())
            .map_or(0, |span| i64::from(span.get_days()));
        self.days -= days.max(0);
        if self.days < 0 {
            return Err((
                line,
                format!(
                    "the recurrence rules of this file search more than {MAX_FILE_SEARCH_DAYS} days \
                     for their occurrences (this RRULE goes past it); expected fewer rules that \
                     start long before the requested range or rarely meet a date"
                ),
            ));
        }
        Ok(())
    }
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
pub(super) enum Key {
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
pub(super) struct Ev<'c> {
    pub(super) comp: &'c Comp<'c>,
    uid: Option<&'c str>,
    recurrence_id: Option<Key>,
    start: When,
    /// The instant of `start`, read once: a single event needs nothing else.
    start_at: Timestamp,
    start_line: usize,
    length: Length,
    rules: Vec<Rule>,
    rdates: Vec<(When, Option<Length>, usize)>,
    exdates: Vec<Key>,
}

struct Rule {
    /// `None` when UNTIL lies before DTSTART: only DTSTART itself occurs.
    set: Option<rrule::RRuleSet>,
    /// Set when the rule is a plain weekly one (see [`Weekly`]).
    weekly: Option<Weekly>,
    line: usize,
}

/// A rule of only FREQ=WEEKLY, INTERVAL, COUNT, UNTIL and WKST: its dates
/// are DTSTART's wall clock every INTERVAL weeks, which is what `rrule`
/// yields for it (a test compares the two), without the year tables `rrule`
/// builds. The series liaison books and many people's recurring meetings
/// are such rules (exports that name BYDAY take `rrule`); expanding them
/// through `rrule` was a tenth of reading the benchmark's calendars.
#[derive(Clone, Copy, Debug)]
struct Weekly {
    /// INTERVAL weeks.
    step: jiff::Span,
    count: Option<u32>,
    /// The last wall clock allowed (UNTIL, read as `rrule` is given it).
    until: Option<DateTime>,
}

impl Weekly {
    /// The rule's dates from `first` (DTSTART) on, while they are in range.
    fn dates(self, first: DateTime) -> impl Iterator<Item = DateTime> {
        std::iter::successors(Some(first), move |dt| dt.checked_add(self.step).ok())
            .take(self.count.map_or(usize::MAX, |c| c as usize))
            .take_while(move |dt| self.until.is_none_or(|u| *dt <= u))
    }
}

/// Per-VCALENDAR reading context: its zones and the zone of floating times.
pub(super) struct Ctx<'c> {
    zones: Zones<'c>,
    floating: TimeZone,
    steady: SteadyOffsets,
}

impl<'c> Ctx<'c> {
    pub(super) fn new(root: &'c Comp, owner_zone: &TimeZone) -> Located<Ctx<'c>> {
        let zones = Zones::new(root);
        let floating = match root.prop("X-WR-TIMEZONE") {
            Some(p) => zones.resolve(p.value.trim()).map_err(at(p.line))?,
            None => owner_zone.clone(),
        };
        Ok(Ctx {
            zones,
            floating,
            steady: SteadyOffsets::default(),
        })
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
        dt.to_zoned_datetime(tz).map_err(|e| unplaceable(dt, &e))
    }

    /// The instant of `when`, as [`Ctx::zoned`] places it, without a copy
    /// of its zone (every event's start and end are read so).
    fn instant(&self, when: &When) -> Result<Timestamp, String> {
        let (dt, tz) = match when {
            When::Date(d) => (d.to_datetime(Time::midnight()), &self.floating),
            When::At(dt, tz) => (*dt, tz),
        };
        self.steady.to_timestamp(tz, dt).map_err(|e| unplaceable(dt, &e))
    }

    fn key(&self, when: &When) -> Result<Key, String> {
        match when {
            When::Date(d) => Ok(Key::Day(*d)),
            When::At(..) => Ok(Key::At(self.instant(when)?)),
        }
    }
}

/// Why the wall clock `dt` has no instant in its zone ([`Ctx::zoned`] and
/// [`Ctx::instant`] alike).
fn unplaceable(dt: DateTime, e: &jiff::Error) -> String {
    format!("{dt} cannot be placed in its time zone: {e}")
}

pub(super) fn parse_event<'c>(comp: &'c Comp<'c>, ctx: &Ctx) -> Located<Ev<'c>> {
    // One pass over the properties rather than one per name looked for (a
    // calendar has thousands of events): the first two of each property that
    // may occur once (a second is an error), and every RRULE, EXDATE and
    // RDATE (rare: no allocation without).
    let mut singles: [[Option<&'c Prop<'c>>; 2]; 4] = Default::default();
    let (mut rrules, mut exdate_props, mut rdate_props) = (Vec::new(), Vec::new(), Vec::new());
    let mut uid = None;
    for p in &comp.props {
        let at = match &*p.name {
            "DTSTART" => 0,
            "DTEND" => 1,
            "DURATION" => 2,
            "RECURRENCE-ID" => 3,
            "RRULE" => {
                rrules.push(p);
                continue;
            }
            "EXDATE" => {
                exdate_props.push(p);
                continue;
            }
            "RDATE" => {
                rdate_props.push(p);
                continue;
            }
            "UID" => {
                uid = uid.or(Some(&*p.value));
                continue;
            }
            _ => continue,
        };
        match &mut singles[at] {
            [first @ None, _] => *first = Some(p),
            [Some(_), second @ None] => *second = Some(p),
            _ => {}
        }
    }
    let [dtstarts, dtends, durations, recurrence_ids] = singles;
    let single = |name: &str, seen: [Option<&'c Prop<'c>>; 2]| -> Located<Option<&'c Prop<'c>>> {
        match seen {
            [_, Some(dup)] => Err((dup.line, format!("a second {name} in one VEVENT; expected at most one"))),
            [first, None] => Ok(first),
        }
    };
    let dtstart = single("DTSTART", dtstarts)?.ok_or_else(|| {
        (
            comp.line,
            "VEVENT without DTSTART; expected a DTSTART property".to_string(),
        )
    })?;
    let start = ctx.parse_when(dtstart, &dtstart.value).map_err(at(dtstart.line))?;
    let start_at = ctx.instant(&start).map_err(at(dtstart.line))?;

    let length = match (single("DTEND", dtends)?, single("DURATION", durations)?) {
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
                    let end = ctx.instant(&end).map_err(at(dtend.line))?;
                    let exact = end.duration_since(start_at);
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

    let recurrence_id = match single("RECURRENCE-ID", recurrence_ids)? {
        Some(p) => Some(
            ctx.parse_when(p, &p.value)
                .and_then(|w| ctx.key(&w))
                .map_err(at(p.line))?,
        ),
        None => None,
    };

    let mut rules = Vec::new();
    for p in &rrules {
        let (set, weekly) = parse_rule(&p.value, &start, ctx).map_err(at(p.line))?;
        rules.push(Rule {
            set,
            weekly,
            line: p.line,
        });
    }
    let mut exdates = Vec::new();
    for p in &exdate_props {
        for raw in p.value.split(',') {
            let when = ctx.parse_when(p, raw).map_err(at(p.line))?;
            exdates.push(ctx.key(&when).map_err(at(p.line))?);
        }
    }
    let mut rdates = Vec::new();
    for p in &rdate_props {
        for raw in p.value.split(',') {
            let (when, length) = parse_rdate(p, raw, ctx).map_err(at(p.line))?;
            rdates.push((when, length, p.line));
        }
    }

    Ok(Ev {
        comp,
        uid: uid.map(str::trim),
        recurrence_id,
        start,
        start_at,
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
    let start_at = ctx.instant(&start)?;
    let to = to.trim();
    let length = if to.starts_with(['P', 'p', '+', '-']) {
        Length::Nominal(parse_duration(to)?)
    } else {
        let end = ctx.parse_when(prop, to)?;
        let exact = ctx.instant(&end)?.duration_since(start_at);
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
///
/// Returns the rule's set (see [`Rule`]) and, for a plain weekly rule, its
/// [`Weekly`] form.
fn parse_rule(raw: &str, start: &When, ctx: &Ctx) -> Result<(Option<rrule::RRuleSet>, Option<Weekly>), String> {
    let bad = |why: &dyn std::fmt::Display| {
        format!(
            "RRULE {:?} is not a valid recurrence rule ({why}); expected e.g. \
             FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T235959Z",
            raw.trim()
        )
    };
    let mut until = None;
    let mut until_at = None;
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
            return Ok((None, None));
        }
        rule = rule.until(to_chrono(last).ok_or_else(|| bad(&"UNTIL out of range"))?);
        until_at = Some(last);
    }
    let start = to_chrono(first).ok_or_else(|| bad(&"DTSTART out of range"))?;
    let set = rule.build(start).map_err(|e| bad(&e))?;
    // An INTERVAL too large for a span of weeks is left to rrule.
    let weekly = plain_weekly(&rest).and_then(|(interval, count)| {
        Some(Weekly {
            step: jiff::Span::new().try_weeks(interval).ok()?,
            count,
            until: until_at,
        })
    });
    // `limit` makes rrule give up on rules that never produce a date
    // (e.g. BYMONTHDAY=30;BYMONTH=2) instead of searching forever.
    Ok((Some(set.limit()), weekly))
}

/// INTERVAL (in weeks) and COUNT of a rule whose parts other than UNTIL are
/// `parts`, when it is a plain weekly one (see [`Weekly`]). Called only once
/// `rrule` accepted the rule, so the values are valid.
fn plain_weekly(parts: &[&str]) -> Option<(i64, Option<u32>)> {
    let (mut weekly, mut interval, mut count) = (false, 1, None);
    for part in parts {
        let (key, value) = part.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("FREQ") {
            weekly = value.eq_ignore_ascii_case("WEEKLY");
        } else if key.eq_ignore_ascii_case("INTERVAL") {
            interval = value.parse().ok().filter(|&i| i > 0)?;
        } else if key.eq_ignore_ascii_case("COUNT") {
            count = Some(value.parse().ok()?);
        } else if !key.eq_ignore_ascii_case("WKST") {
            return None;
        }
    }
    weekly.then_some((interval, count))
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

/// The occurrences of `event` that may overlap `range` (those starting after
/// it are not computed, those ending well before it are dropped), minus
/// EXDATEs and the instances in `replaced`. DTSTART always counts (RFC 5545
/// 3.8.5.3). Every occurrence a rule yields is taken from `budget`.
fn occurrences(
    event: &Ev,
    ctx: &Ctx,
    range: Interval,
    replaced: &[Key],
    budget: &mut Budget,
) -> Located<Vec<Occurrence>> {
    let (first, zone, _) = ctx.civil(&event.start);
    if event.recurrence_id.is_some() {
        // An instance stands alone; its own RRULE/RDATE (RANGE=THISANDFUTURE) is not followed.
        let start = ctx.zoned(&event.start).map_err(at(event.start_line))?;
        return Ok(vec![Occurrence { start, length: None }]);
    }
    // Two days of slack cover any difference between the zone of the range and
    // the zone of the rule; exact filtering happens on instants afterwards.
    let civil = |at: Timestamp| at.to_zoned_datetime(zone.clone()).datetime();
    let limit = civil(range.end).checked_add(2.days()).unwrap_or(DateTime::MAX);
    // Starts before this end before the range: not kept, so that memory
    // follows the occurrences in the range, not all of them since DTSTART.
    let from = civil(range.start).checked_sub(2.days()).ok();
    let earliest = match &event.length {
        Length::Exact(d) => from.and_then(|f| f.checked_sub(*d).ok()),
        Length::Nominal(span) => from.and_then(|f| f.checked_sub(*span).ok()),
    }
    .unwrap_or(DateTime::MIN);
    let mut starts = BTreeSet::from([first]);
    for rule in &event.rules {
        let Some(set) = &rule.set else { continue };
        let mut yielded = 0;
        // Where the search for the next occurrence began, for the budget.
        let mut searched_to = first;
        let mut ended_early = true;
        let dates: Box<dyn Iterator<Item = DateTime>> = match rule.weekly {
            Some(weekly) => Box::new(weekly.dates(first)),
            None => Box::new(set.into_iter().map_while(|date| from_chrono(&date))),
        };
        for dt in dates {
            budget.search(searched_to, dt, rule.line)?;
            searched_to = dt;
            if dt >= limit {
                ended_early = false;
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
            budget.left = budget.left.checked_sub(1).ok_or_else(|| {
                (
                    rule.line,
                    format!(
                        "the recurrence rules of this file yield more than {MAX_FILE_OCCURRENCES} \
                         occurrences before the end of the requested range (this RRULE goes past \
                         it); expected fewer or shorter recurring events"
                    ),
                )
            })?;
            if dt >= earliest {
                starts.insert(dt);
            }
        }
        // Without an occurrence past the range, `rrule` went on searching
        // after the last one: to UNTIL, else as far as it goes (year 9999 or
        // its own limit). A COUNT reached stops it at once.
        if ended_early && let Some(r) = set.get_rrule().first().filter(|r| r.get_count().is_none()) {
            let end = r.get_until().and_then(from_chrono).unwrap_or(DateTime::MAX);
            budget.search(searched_to, end, rule.line)?;
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

/// The occurrences that RECURRENCE-ID instances replace, by the UID of their
/// series. An instance replaces the occurrence it names in the series with the
/// same UID, whether or not the instance itself is busy.
pub(super) struct Overrides<'c>(BTreeMap<&'c str, Vec<Key>>);

impl<'c> Overrides<'c> {
    pub(super) fn of<'e>(events: impl IntoIterator<Item = &'e Ev<'c>>) -> Self
    where
        'c: 'e,
    {
        let mut replaced: BTreeMap<&'c str, Vec<Key>> = BTreeMap::new();
        for event in events {
            if let (Some(uid), Some(key)) = (event.uid, &event.recurrence_id) {
                replaced.entry(uid).or_default().push(key.clone());
            }
        }
        Overrides(replaced)
    }

    /// What the series `event` loses to its instances; nothing for an event
    /// without UID and for an instance itself.
    pub(super) fn of_series(&self, event: &Ev) -> &[Key] {
        match (event.uid, &event.recurrence_id) {
            (Some(uid), None) => self.0.get(uid).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }
}

/// The parts inside `range` of the occurrences of `event`, minus EXDATEs and
/// the instances in `replaced` (see [`occurrences`]).
#[cfg(test)]
pub(super) fn spans(
    event: &Ev,
    ctx: &Ctx,
    range: Interval,
    replaced: &[Key],
    budget: &mut Budget,
) -> Located<Vec<Interval>> {
    let mut out = Vec::new();
    extend_spans(&mut out, event, ctx, range, replaced, budget)?;
    Ok(out)
}

/// Adds to `out` the parts inside `range` of the occurrences of `event`,
/// minus EXDATEs and the instances in `replaced` (see [`occurrences`]).
pub(super) fn extend_spans(
    out: &mut Vec<Interval>,
    event: &Ev,
    ctx: &Ctx,
    range: Interval,
    replaced: &[Key],
    budget: &mut Budget,
) -> Located<()> {
    // Nearly every event of a calendar is a single timed meeting: its span
    // comes from the start read in `parse_event`, without the zone
    // conversions and sets a recurrence needs (a third of reading a file).
    let single = event.rules.is_empty() && event.rdates.is_empty() && event.exdates.is_empty() && replaced.is_empty();
    if let (true, Length::Exact(d)) = (single, &event.length)
        && let Ok(end) = event.start_at.checked_add(*d)
    {
        out.extend(Interval::new(event.start_at, end).intersection(&range));
        return Ok(());
    }
    for occurrence in occurrences(event, ctx, range, replaced, budget)? {
        let end = occurrence.end(&event.length).map_err(at(event.start_line))?;
        out.extend(Interval::new(occurrence.start.timestamp(), end).intersection(&range));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::local::busy_from_ics;
    use crate::calendar::local::test_support::*;

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
    fn a_single_event_keeps_its_exdate_and_its_moved_instance() {
        // No RRULE: the span comes from the start alone, unless an EXDATE or
        // an instance says otherwise.
        let single = |extra: &[&str]| {
            let mut props = vec!["DTSTART:20260310T100000Z", "DTEND:20260310T110000Z"];
            props.extend_from_slice(extra);
            march(&one_event(&props))
        };
        assert_eq!(single(&[]), [span("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z")]);
        assert!(single(&["EXDATE:20260310T100000Z"]).is_empty());
        let moved = ics(&[
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "UID:one",
            "DTSTART:20260310T100000Z",
            "DTEND:20260310T110000Z",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:one",
            "RECURRENCE-ID:20260310T100000Z",
            "DTSTART:20260312T150000Z",
            "DTEND:20260312T160000Z",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(march(&moved), [span("2026-03-12T15:00:00Z", "2026-03-12T16:00:00Z")]);
    }

    #[test]
    fn a_weekly_rule_with_interval_zero_is_read_by_rrule() {
        // rrule yields nothing for it; DTSTART still counts.
        let text = one_event(&[
            "DTSTART:20260302T100000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=WEEKLY;INTERVAL=0",
        ]);
        assert_eq!(march(&text), [span("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")]);
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

    // Found by the fuzz tests (tests/fuzz): rules just under the limit of one
    // rule, repeated in a few kilobytes, took gigabytes and minutes.

    #[test]
    fn the_rules_of_one_file_share_one_budget_of_occurrences() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "UID:a",
            "DTSTART:20260302T100000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=3",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:b",
            "DTSTART:20260302T120000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=3",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let roots = crate::calendar::local::syntax::parse_calendar(&text, "ada.ics").unwrap();
        let ctx = Ctx::new(&roots[0], &TimeZone::UTC).unwrap();
        let events: Vec<Ev> = roots[0]
            .children
            .iter()
            .map(|c| parse_event(c, &ctx).unwrap())
            .collect();
        let r = range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
        let mut budget = Budget {
            left: 4,
            ..Budget::default()
        };
        assert_eq!(spans(&events[0], &ctx, r, &[], &mut budget).unwrap().len(), 3);
        let (line, message) = spans(&events[1], &ctx, r, &[], &mut budget).unwrap_err();
        assert_eq!(line, 12);
        assert!(message.contains("more than 1000000 occurrences"), "{message}");
    }

    #[test]
    fn only_the_occurrences_in_the_range_are_kept() {
        // Hourly since 2016: tens of thousands of occurrences are computed,
        // the 24 that overlap the range are kept, cut to it.
        let text = one_event(&[
            "DTSTART:20160101T000000Z",
            "DURATION:PT90M",
            "RRULE:FREQ=HOURLY;COUNT=99999",
        ]);
        let r = range("2026-03-05T00:30:00Z", "2026-03-06T00:00:00Z");
        let roots = crate::calendar::local::syntax::parse_calendar(&text, "ada.ics").unwrap();
        let ctx = Ctx::new(&roots[0], &TimeZone::UTC).unwrap();
        let event = parse_event(&roots[0].children[0], &ctx).unwrap();
        let mut budget = Budget::default();
        let got = spans(&event, &ctx, r, &[], &mut budget).unwrap();
        assert_eq!(got.len(), 24, "{got:?}");
        assert!(got.iter().all(|s| r.start <= s.start && s.end <= r.end));
        assert_eq!(got[0].start, r.start);
    }

    #[test]
    fn a_rule_is_charged_the_days_it_searches_not_only_what_it_yields() {
        // Found by the fuzz tests: the same rarely matching rule, repeated
        // in 10 KB, searched for 4 s. February 30 never comes: each copy
        // searches to the year 9999 (close to 2.9 million days).
        let never = "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30";
        let text = one_event(&["DTSTART:20260301T090000Z", "DURATION:PT1H", never, never, never, never]);
        let r = range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
        let err = busy_from_ics(&text, "ada.ics", OWNER, &TimeZone::UTC, r).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ada.ics:11: the recurrence rules of this file search more than"),
            "{err}"
        );
        // Three copies pass; a leap day every four years is charged its
        // four years (and reached at once when COUNT ends it).
        let text = one_event(&["DTSTART:20260301T090000Z", "DURATION:PT1H", never, never, never]);
        assert_eq!(march(&text), [span("2026-03-01T09:00:00Z", "2026-03-01T10:00:00Z")]);
        let leap = one_event(&[
            "DTSTART:20280229T090000Z",
            "DURATION:PT1H",
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",
        ]);
        let roots = crate::calendar::local::syntax::parse_calendar(&leap, "ada.ics").unwrap();
        let ctx = Ctx::new(&roots[0], &TimeZone::UTC).unwrap();
        let event = parse_event(&roots[0].children[0], &ctx).unwrap();
        let mut budget = Budget::default();
        let r = range("2032-02-01T00:00:00Z", "2032-04-01T00:00:00Z");
        assert_eq!(spans(&event, &ctx, r, &[], &mut budget).unwrap().len(), 1);
        assert_eq!(MAX_FILE_SEARCH_DAYS - budget.days, 1461);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 1_000, ..Default::default() })]

        /// A plain weekly rule yields the dates `rrule` yields for it, with
        /// an INTERVAL, a COUNT, an UNTIL (a date, a local or a UTC time,
        /// before DTSTART too), a WKST, in any case, from any date and time.
        #[test]
        fn plain_weekly_rules_yield_what_rrule_yields(
            day in 0i64..20_000,
            minute in 0i64..1440,
            interval in proptest::option::of(1i64..6),
            count in proptest::option::of(0u32..40),
            until in proptest::option::of((-30i64..400, 0u8..3)),
            wkst in proptest::bool::ANY,
            lower in proptest::bool::ANY,
            zone in proptest::sample::select(vec!["UTC", "Europe/London", "America/New_York"]),
        ) {
            let first = jiff::civil::date(1990, 1, 1)
                .checked_add(day.days())
                .unwrap()
                .to_datetime(Time::midnight())
                .checked_add(minute.minutes())
                .unwrap();
            let mut parts = vec!["FREQ=WEEKLY".to_string()];
            if let Some(i) = interval {
                parts.push(format!("INTERVAL={i}"));
            }
            if let Some(c) = count {
                parts.push(format!("COUNT={c}"));
            }
            if let Some((days, kind)) = until {
                let at = first.checked_add(days.days()).unwrap();
                parts.push(match kind {
                    0 => format!("UNTIL={}", at.strftime("%Y%m%d")),
                    1 => format!("UNTIL={}", at.strftime("%Y%m%dT%H%M%S")),
                    _ => format!("UNTIL={}Z", at.strftime("%Y%m%dT%H%M%S")),
                });
            }
            if wkst {
                parts.push("WKST=SU".into());
            }
            let mut raw = parts.join(";");
            if lower {
                raw = raw.to_lowercase();
            }
            let text = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
            let roots = crate::calendar::local::syntax::parse_calendar(text, "a.ics").unwrap();
            let ctx = Ctx::new(&roots[0], &TimeZone::get(zone).unwrap()).unwrap();
            let start = When::At(first, TimeZone::get(zone).unwrap());
            let parsed = parse_rule(&raw, &start, &ctx);
            proptest::prop_assert!(parsed.is_ok(), "{}: {:?}", raw, parsed.err());
            let Ok((set, weekly)) = parsed else { return Ok(()) };
            let Some(set) = set else {
                // UNTIL before DTSTART: neither is expanded.
                return Ok(());
            };
            let weekly = weekly.expect("a plain weekly rule");
            let theirs: Vec<DateTime> = set.into_iter().map_while(|d| from_chrono(&d)).take(60).collect();
            let ours: Vec<DateTime> = weekly.dates(first).take(60).collect();
            proptest::prop_assert_eq!(ours, theirs, "{}", raw);
        }
    }

    #[test]
    fn only_plain_weekly_rules_skip_rrule() {
        let plain = |raw: &str| {
            let parts: Vec<&str> = raw.split(';').collect();
            plain_weekly(&parts)
        };
        assert_eq!(plain("FREQ=WEEKLY"), Some((1, None)));
        assert_eq!(plain("freq=weekly;interval=2;count=8;wkst=MO"), Some((2, Some(8))));
        for other in [
            "FREQ=WEEKLY;INTERVAL=0",
            "FREQ=DAILY",
            "FREQ=WEEKLY;BYDAY=MO,WE",
            "FREQ=WEEKLY;BYSETPOS=1",
            "FREQ=WEEKLY;BYHOUR=9",
            "INTERVAL=2",
        ] {
            assert_eq!(plain(other), None, "{other}");
        }
    }
}

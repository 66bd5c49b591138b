//! A series as one iCalendar resource on a CalDAV server, and back.
//!
//! - [`render`]: the VCALENDAR of a series: a VTIMEZONE of its zone (the
//!   zone's real transitions over the series, from jiff's database: a server
//!   without it reads `TZID` at one fixed offset — Radicale does), one VEVENT
//!   named by the deterministic id (UID), `RRULE:FREQ=WEEKLY;COUNT=n`, the
//!   marker properties `X-LIAISON-*` (DESIGN §5c), and in the organizer's
//!   copy one `X-LIAISON-COPY` per attendee copy liaison wrote.
//! - [`Resource::parse`]: the series, its attendees' answers (`PARTSTAT`),
//!   its overridden or excluded occurrences, the copies it names.
//! - Edits ([`end_early`], [`move_occurrence`]) change the text line by line
//!   and keep every other line as the server and the people's apps left it
//!   (answers, alarms, their own properties): re-rendering would lose them.
//!
//! Parsing uses the icalendar crate's reader; the edits are by hand because
//! no crate edits a resource in place without dropping what it does not model.

use std::collections::BTreeMap;

use icalendar::parser::{Component, read_calendar, unfold};
use icalendar::{Component as _, Event, Property};
use jiff::civil::{Date, DateTime};
use jiff::tz::{Dst, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::calendar::{
    Attendee, AttendeeResponse, BookedSeries, Occurrence, SeriesRequest, ical_utc_until, weekly_count_until,
};
use crate::core::interval::Interval;

const PRODID: &str = "-//liaison//EN";

/// A date-time on the wall clock, `YYYYMMDDTHHMMSS`.
fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    if s.is_multiple_of(60) {
        format!("{sign}{:02}{:02}", s / 3600, (s / 60) % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

/// The VTIMEZONE of `tz` named `name`, exact from a day before `from` to a
/// year after `to`: one observance per transition, each with the local time
/// it starts at (in the offset before it), plus the offset in force at the start.
pub fn vtimezone(name: &str, tz: &TimeZone, from: Timestamp, to: Timestamp) -> String {
    let start = from.checked_sub(SignedDuration::from_hours(24)).unwrap_or(from);
    let end = to.checked_add(SignedDuration::from_hours(24 * 366)).unwrap_or(to);
    let info = tz.to_offset_info(start);
    let kind = |dst: Dst| if dst.is_dst() { "DAYLIGHT" } else { "STANDARD" };
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{name}\r\n");
    let first_local = start.to_zoned_datetime(TimeZone::fixed(info.offset())).datetime();
    out.push_str(&format!(
        "BEGIN:{k}\r\nDTSTART:{}\r\nTZOFFSETFROM:{o}\r\nTZOFFSETTO:{o}\r\nTZNAME:{}\r\nEND:{k}\r\n",
        local(first_local),
        info.abbreviation(),
        k = kind(info.dst()),
        o = offset_text(info.offset()),
    ));
    let mut before = info.offset();
    for transition in tz.following(start).take(64) {
        if transition.timestamp() > end {
            break;
        }
        let at = transition
            .timestamp()
            .to_zoned_datetime(TimeZone::fixed(before))
            .datetime();
        out.push_str(&format!(
            "BEGIN:{k}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{}\r\nEND:{k}\r\n",
            local(at),
            offset_text(before),
            offset_text(transition.offset()),
            transition.abbreviation(),
            k = kind(transition.dst()),
        ));
        before = transition.offset();
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// Folds content lines at 75 octets on character boundaries (RFC 5545 §3.1).
pub fn fold(text: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    for line in text.split_terminator("\r\n") {
        let mut used = 0;
        for c in line.chars() {
            if used + c.len_utf8() > LIMIT {
                out.push_str("\r\n ");
                used = 1;
            }
            out.push(c);
            used += c.len_utf8();
        }
        out.push_str("\r\n");
    }
    out
}

/// RFC 6868 escaping of a parameter value (a name may hold `"`).
fn encode_param(value: &str) -> String {
    value.replace('^', "^^").replace('\n', "^n").replace('"', "^'")
}

fn decode_param(value: &str) -> String {
    value.replace("^n", "\n").replace("^'", "\"").replace("^^", "^")
}

/// The resource of `series` (organizer `organizer`, marker `instance`);
/// `copies` are the URLs of the attendee copies (organizer's resource only).
pub fn render(series: &SeriesRequest, organizer: &str, instance: &str, copies: &[String]) -> Result<String, String> {
    let tz = TimeZone::get(&series.zone).map_err(|_| format!("unknown time zone {:?}", series.zone))?;
    if series.count == 0 {
        return Err("count is 0; expected at least one occurrence".into());
    }
    let first = series
        .start
        .to_zoned_datetime(tz.clone())
        .map_err(|e| format!("start {} is not a time in {}: {e}", series.start, series.zone))?;
    let last = series
        .start
        .checked_add(jiff::Span::new().weeks(i64::from(series.count)))
        .ok()
        .and_then(|d| d.to_zoned_datetime(tz.clone()).ok())
        .map_or(first.timestamp(), |z| z.timestamp());
    let zoned = |name: &str, dt: DateTime| {
        Property::new(name, local(dt))
            .add_parameter("TZID", &series.zone)
            .done()
    };
    let mut event = Event::new();
    event
        .add_property("UID", &series.event_id)
        // A stable stamp: the same request renders the same bytes.
        .add_property(
            "DTSTAMP",
            format!(
                "{}Z",
                local(first.timestamp().to_zoned_datetime(TimeZone::UTC).datetime())
            ),
        )
        .add_property("SEQUENCE", "0")
        .append_property(zoned("DTSTART", series.start))
        // DURATION, not DTEND: an end inside a DST fold would read back an hour off.
        .add_property("DURATION", duration_text(series.duration))
        .add_property("RRULE", format!("FREQ=WEEKLY;COUNT={}", series.count))
        .add_property("SUMMARY", &series.summary)
        .add_property("DESCRIPTION", &series.description)
        .add_property("STATUS", "CONFIRMED")
        .add_property("ORGANIZER", format!("mailto:{organizer}"))
        .add_property("X-LIAISON", "1")
        .add_property("X-LIAISON-TERM", series.term.to_string())
        .add_property("X-LIAISON-PAIR", format!("{}|{}", series.pair.0, series.pair.1))
        .add_property("X-LIAISON-INSTANCE", instance);
    if let Some(location) = &series.location {
        event.add_property("LOCATION", location);
    }
    if !series.skip.is_empty() {
        // Skipped occurrences (holidays, away days), in the zone of DTSTART.
        let dates: Vec<String> = series.skip.iter().map(|&dt| local(dt)).collect();
        event.append_property(
            Property::new("EXDATE", dates.join(","))
                .add_parameter("TZID", &series.zone)
                .done(),
        );
    }
    for attendee in &series.attendees {
        event.append_multi_property(
            Property::new("ATTENDEE", format!("mailto:{}", attendee.email))
                .add_parameter("CN", &encode_param(&attendee.name))
                .add_parameter("ROLE", "REQ-PARTICIPANT")
                .add_parameter("PARTSTAT", "NEEDS-ACTION")
                .add_parameter("RSVP", "TRUE")
                .done(),
        );
    }
    for copy in copies {
        event.append_multi_property(Property::new(COPY, copy).done());
    }
    let vevent = event
        .done()
        .try_into_string()
        .map_err(|e| format!("cannot serialize the event: {e}"))?;
    // icalendar folds already; unfold its lines so that `fold` does it once.
    let vevent = unfold(&vevent).replace("\r\n\r\n", "\r\n");
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\n{}{}END:VCALENDAR\r\n",
        vtimezone(&series.zone, &tz, first.timestamp(), last),
        vevent.trim_end_matches("\r\n").to_string() + "\r\n"
    );
    Ok(fold(&text))
}

/// An RFC 5545 duration of whole seconds (`PT30M`, `PT1H15M`).
fn duration_text(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{s}S"));
    }
    out
}

/// One property as read: name (upper case), parameters (keys upper case), raw value.
#[derive(Clone, Debug)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn props_of(component: &Component) -> Vec<Prop> {
    component
        .properties
        .iter()
        .map(|p| Prop {
            name: p.name.as_str().to_ascii_uppercase(),
            params: p
                .params
                .iter()
                .map(|q| {
                    (
                        q.key.as_str().to_ascii_uppercase(),
                        q.val
                            .as_ref()
                            .map(|v| v.as_str().trim_matches('"').to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            value: p.val.as_str().to_string(),
        })
        .collect()
}

/// TEXT unescaping (RFC 5545 §3.3.11).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn strip_mailto(value: &str) -> String {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => v.get(7..).unwrap_or(v).to_lowercase(),
        _ => v.to_lowercase(),
    }
}

fn partstat(value: &str) -> AttendeeResponse {
    match value.trim().to_ascii_uppercase().as_str() {
        "ACCEPTED" => AttendeeResponse::Accepted,
        "DECLINED" => AttendeeResponse::Declined,
        "TENTATIVE" => AttendeeResponse::Tentative,
        _ => AttendeeResponse::NeedsAction,
    }
}

/// A date-time property's instant: UTC (`...Z`), or local in its TZID
/// (or in `zone` when it has none).
fn instant_of(prop: &Prop, zone: &TimeZone) -> Option<Timestamp> {
    let text = prop.value.trim();
    if let Some(utc) = text.strip_suffix('Z') {
        let dt: DateTime = jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", utc)
            .ok()?
            .to_datetime()
            .ok()?;
        return dt.to_zoned_datetime(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    let dt = local_of(prop)?;
    let tz = prop
        .param("TZID")
        .and_then(|n| TimeZone::get(n).ok())
        .unwrap_or_else(|| zone.clone());
    dt.to_zoned_datetime(tz).ok().map(|z| z.timestamp())
}

/// The EXDATEs of a series as wall-clock starts on `tz`'s clock (a UTC value
/// read on it), those within its `count` weeks from `start`, in order.
fn skipped_of(m: &Vevent, tz: &TimeZone, start: DateTime, count: u32) -> Vec<DateTime> {
    let values = m.all("EXDATE").map(|p| p.value.as_str());
    crate::calendar::exdate::skipped_starts(values, tz, start, count)
}

fn local_of(prop: &Prop) -> Option<DateTime> {
    jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", prop.value.trim())
        .ok()?
        .to_datetime()
        .ok()
}

/// What one VEVENT says.
#[derive(Clone, Debug)]
struct Vevent {
    props: Vec<Prop>,
}

impl Vevent {
    fn get(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|p| p.value.trim())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }

    fn responses(&self) -> BTreeMap<String, AttendeeResponse> {
        self.all("ATTENDEE")
            .map(|a| (strip_mailto(&a.value), partstat(a.param("PARTSTAT").unwrap_or(""))))
            .collect()
    }

    fn cancelled(&self) -> bool {
        self.value("STATUS")
            .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
    }

    fn duration(&self, zone: &TimeZone) -> Option<SignedDuration> {
        if let Some(d) = self.value("DURATION") {
            let span: jiff::Span = d.parse().ok()?;
            return span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).ok();
        }
        let start = instant_of(self.get("DTSTART")?, zone)?;
        let end = instant_of(self.get("DTEND")?, zone)?;
        Some(start.duration_until(end))
    }
}

/// A resource as read.
#[derive(Clone, Debug)]
pub struct Resource {
    master: Option<Vevent>,
    overrides: Vec<Vevent>,
}

/// A liaison series as its resource has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesData {
    pub series: BookedSeries,
    /// By lower-case email, every attendee listed.
    pub responses: BTreeMap<String, AttendeeResponse>,
    /// Changed single occurrences (overridden or excluded).
    pub occurrences: Vec<Occurrence>,
    /// `X-LIAISON-COPY`: the attendee copies liaison wrote.
    pub copies: Vec<String>,
    /// [`COPIES_PENDING`] is set: the copies may not all be written yet.
    pub copies_pending: bool,
}

impl Resource {
    pub fn parse(text: &str) -> Result<Resource, String> {
        let unfolded = unfold(text);
        let calendar = read_calendar(&unfolded).map_err(|e| format!("not iCalendar: {e}"))?;
        let mut master = None;
        let mut overrides = Vec::new();
        for component in calendar.components.iter().filter(|c| c.name == "VEVENT") {
            let event = Vevent {
                props: props_of(component),
            };
            if event.get("RECURRENCE-ID").is_some() {
                overrides.push(event);
            } else if master.is_none() {
                master = Some(event);
            }
        }
        Ok(Resource { master, overrides })
    }

    /// The master's UID (any event's, liaison's or not).
    pub fn uid(&self) -> Option<String> {
        self.master.as_ref()?.value("UID").map(|u| u.trim().to_string())
    }

    /// The liaison series, `Ok(None)` for a resource liaison did not write.
    pub fn series(&self) -> Result<Option<SeriesData>, String> {
        let Some(m) = &self.master else { return Ok(None) };
        if m.value("X-LIAISON") != Some("1") {
            return Ok(None);
        }
        let need = |name: &str| m.get(name).ok_or_else(|| format!("liaison event without {name}"));
        let uid = need("UID")?.value.trim().to_string();
        let term: Date = need("X-LIAISON-TERM")?
            .value
            .trim()
            .parse()
            .map_err(|_| "X-LIAISON-TERM is not a date".to_string())?;
        let pair_text = need("X-LIAISON-PAIR")?.value.trim().to_string();
        let from = pair_text.find('@').unwrap_or(0);
        let bar = pair_text
            .get(from..)
            .and_then(|r| r.find('|'))
            .map(|i| from + i)
            .ok_or("X-LIAISON-PAIR is not two emails")?;
        let pair = (
            pair_text.get(..bar).unwrap_or_default().to_string(),
            pair_text.get(bar + 1..).unwrap_or_default().to_string(),
        );
        let dtstart = need("DTSTART")?;
        let zone = dtstart.param("TZID").unwrap_or_default().to_string();
        let tz = TimeZone::get(&zone).map_err(|_| format!("DTSTART time zone {zone:?} is unknown"))?;
        let start = local_of(dtstart).ok_or("DTSTART is not a local date-time")?;
        let duration = m.duration(&tz).ok_or("neither DURATION nor DTEND can be read")?;
        let count =
            rule_count(m.value("RRULE").unwrap_or(""), start, &tz).ok_or("RRULE is not liaison's weekly rule")?;
        let attendees: Vec<Attendee> = m
            .all("ATTENDEE")
            .map(|a| Attendee {
                email: strip_mailto(&a.value),
                name: decode_param(a.param("CN").unwrap_or_default()),
            })
            .collect();
        let attendees: [Attendee; 2] = attendees
            .try_into()
            .map_err(|all: Vec<Attendee>| format!("liaison event with {} ATTENDEE lines; expected 2", all.len()))?;
        let request = SeriesRequest {
            event_id: uid.clone(),
            term,
            pair,
            attendees,
            summary: m.value("SUMMARY").map(unescape).unwrap_or_default(),
            description: m.value("DESCRIPTION").map(unescape).unwrap_or_default(),
            location: m.value("LOCATION").map(unescape),
            zone,
            start,
            duration,
            count,
            skip: skipped_of(m, &tz, start, count),
        };
        let mut occurrences = Vec::new();
        for o in &self.overrides {
            let Some(original) = o.get("RECURRENCE-ID").and_then(|p| instant_of(p, &tz)) else {
                continue;
            };
            let interval = o.get("DTSTART").and_then(|p| instant_of(p, &tz)).and_then(|s| {
                Some(Interval::new(
                    s,
                    s.checked_add(o.duration(&tz).unwrap_or(duration)).ok()?,
                ))
            });
            occurrences.push(Occurrence {
                instance_id: instance_id(&uid, original),
                original_start: original,
                interval,
                cancelled: o.cancelled(),
                responses: o.responses(),
            });
        }
        for exdate in m.all("EXDATE") {
            for value in exdate.value.split(',') {
                let p = Prop {
                    value: value.to_string(),
                    ..exdate.clone()
                };
                if let Some(original) = instant_of(&p, &tz)
                    && !occurrences.iter().any(|o| o.original_start == original)
                {
                    occurrences.push(Occurrence {
                        instance_id: instance_id(&uid, original),
                        original_start: original,
                        interval: None,
                        cancelled: true,
                        responses: BTreeMap::new(),
                    });
                }
            }
        }
        Ok(Some(SeriesData {
            series: BookedSeries {
                request,
                active: !m.cancelled(),
                instance: m.value("X-LIAISON-INSTANCE").map(str::to_string),
            },
            responses: m.responses(),
            occurrences,
            copies: m.all(COPY).map(|p| p.value.trim().to_string()).collect(),
            copies_pending: m.get(COPIES_PENDING).is_some(),
        }))
    }
}

/// The id of one occurrence: the series' id and its original start in UTC,
/// as Google names instances (`<id>_<YYYYMMDDTHHMMSSZ>`).
pub fn instance_id(uid: &str, original: Timestamp) -> String {
    format!("{uid}_{}", super::xml::utc(original))
}

/// The original start of an occurrence from its id.
pub fn original_of(series_id: &str, instance_id: &str) -> Option<Timestamp> {
    let stamp = instance_id.strip_prefix(series_id)?.strip_prefix('_')?;
    super::busy::parse_utc(stamp)
}

/// Occurrences of `FREQ=WEEKLY;COUNT=n` or `FREQ=WEEKLY;UNTIL=...`.
fn rule_count(rule: &str, start: DateTime, tz: &TimeZone) -> Option<u32> {
    let mut weekly = false;
    let mut count = None;
    let mut until = None;
    for part in rule.split(';').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=')?;
        match k.trim().to_ascii_uppercase().as_str() {
            "FREQ" => weekly = v.trim().eq_ignore_ascii_case("WEEKLY"),
            "COUNT" => count = v.trim().parse::<u32>().ok(),
            "UNTIL" => until = Some(v.trim().to_string()),
            // A server may add WKST or BYDAY of the start's own weekday.
            "WKST" | "INTERVAL" if k.trim().eq_ignore_ascii_case("WKST") || v.trim() == "1" => {}
            "BYDAY" => {}
            _ => return None,
        }
    }
    if !weekly {
        return None;
    }
    match (count, until) {
        (Some(n), None) => Some(n),
        (None, Some(until)) => {
            let p = Prop {
                name: "UNTIL".into(),
                params: Vec::new(),
                value: until,
            };
            let at = instant_of(&p, tz)?;
            Some(weekly_count_until(start, tz, at))
        }
        _ => None,
    }
}

/// The content lines of a resource, unfolded, without line ends.
fn lines(text: &str) -> Vec<String> {
    unfold(text)
        .split('\n')
        .map(|l| l.trim_end_matches('\r').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn name_of(line: &str) -> String {
    line.split([';', ':']).next().unwrap_or("").trim().to_ascii_uppercase()
}

/// The VEVENT blocks of `lines`: `(begin, end, is_override)`, end inclusive.
fn vevents(lines: &[String]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, bool)> = None;
    for (i, line) in lines.iter().enumerate() {
        let upper = line.trim().to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" {
            open = Some((i, false));
        } else if upper == "END:VEVENT" {
            if let Some((begin, o)) = open.take() {
                out.push((begin, i, o));
            }
        } else if let Some((_, o)) = open.as_mut()
            && name_of(line) == "RECURRENCE-ID"
        {
            *o = true;
        }
    }
    out
}

/// The largest SEQUENCE iCalendar allows (an INTEGER, RFC 5545 §3.3.8).
const MAX_SEQUENCE: u32 = i32::MAX as u32;

/// The SEQUENCE after `value` as read from a server: one more, held at
/// [`MAX_SEQUENCE`] (a value at or past it stays there); an unreadable or
/// negative value is taken as 0.
fn next_sequence(value: &str) -> u32 {
    let value = value.trim();
    match value.parse::<u32>() {
        Ok(n) => n.saturating_add(1).min(MAX_SEQUENCE),
        // Digits only, but too large for u32: past the maximum already.
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => MAX_SEQUENCE,
        Err(_) => 1,
    }
}

/// The master's lines with SEQUENCE raised by one (added when absent).
fn bump_sequence(lines: &mut Vec<String>, begin: usize, end: usize) {
    let found = (begin..end).find(|&i| name_of(&lines[i]) == "SEQUENCE");
    match found {
        Some(i) => {
            let next = next_sequence(lines[i].rsplit(':').next().unwrap_or(""));
            lines[i] = format!("SEQUENCE:{next}");
        }
        None => lines.insert(begin + 1, "SEQUENCE:1".into()),
    }
}

/// One content line read as a property (its parameters and raw value).
fn prop_of_line(line: &str) -> Option<Prop> {
    let text = format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let calendar = read_calendar(&text).ok()?;
    props_of(calendar.components.first()?).into_iter().next()
}

/// The zone of the master's DTSTART (lines `begin..end`), UTC without one.
fn master_zone(lines: &[String], begin: usize, end: usize) -> TimeZone {
    (begin..end)
        .find(|&i| name_of(&lines[i]) == "DTSTART")
        .and_then(|i| prop_of_line(&lines[i]))
        .and_then(|p| p.param("TZID").and_then(|z| TimeZone::get(z).ok()))
        .unwrap_or(TimeZone::UTC)
}

/// Set on the organizer's resource from its PUT until every attendee copy it
/// lists is written (`write-each`): a run that stops in between leaves it,
/// and the next one that reads the series writes the missing copies. A copy
/// missing without it is one its owner deleted, never written again.
pub const COPIES_PENDING: &str = "X-LIAISON-COPIES-PENDING";

/// On the organizer's resource, one per attendee copy: its URL.
const COPY: &str = "X-LIAISON-COPY";

/// `text` without the properties `names`, in every VEVENT.
fn without(text: &str, names: &[&str]) -> String {
    let kept: Vec<String> = lines(text)
        .into_iter()
        .filter(|l| !names.contains(&name_of(l).as_str()))
        .collect();
    join(&kept)
}

/// The organizer's resource marked [`COPIES_PENDING`] (in its master).
pub fn mark_copies_pending(text: &str) -> Result<String, String> {
    let mut lines = lines(text);
    let (_, end, _) = vevents(&lines)
        .into_iter()
        .find(|(_, _, o)| !o)
        .ok_or("the resource has no recurring event")?;
    lines.insert(end, format!("{COPIES_PENDING}:TRUE"));
    Ok(join(&lines))
}

/// The organizer's resource once every copy is written.
pub fn copies_written(text: &str) -> String {
    without(text, &[COPIES_PENDING])
}

/// `copy` (a series as `render` writes it) with the overridden instances
/// (moved occurrences) of `organizer`, the organizer's resource of the same
/// series, so a copy written late shows the occurrences where they are now.
/// The organizer's markers of its copies are not carried over.
pub fn with_overrides_of(copy: &str, organizer: &str) -> String {
    let from = lines(organizer);
    let mut carried: Vec<String> = Vec::new();
    for (b, e, o) in vevents(&from) {
        if o {
            carried.extend(
                from[b..=e]
                    .iter()
                    .filter(|l| !matches!(name_of(l).as_str(), COPY | COPIES_PENDING))
                    .cloned(),
            );
        }
    }
    let mut lines = lines(copy);
    let Some(end) = vevents(&lines).iter().find(|(_, _, o)| !o).map(|(_, e, _)| *e) else {
        return copy.to_string();
    };
    lines.splice(end + 1..end + 1, carried);
    join(&lines)
}

fn join(lines: &[String]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    fold(&text)
}

/// The resource with its rule ending at `until` (`FREQ=WEEKLY;UNTIL=<UTC>`,
/// RFC 5545 §3.3.10), its sequence raised, and the changes of single
/// occurrences after `until` dropped: EXDATE values later than `until` are
/// of occurrences that no longer exist, and so are overridden instances
/// whose RECURRENCE-ID and DTSTART are both later. An instance moved to
/// before the cut, or that started before `now` (a move to an earlier day
/// that took place), stays: it is a meeting that was held. `Err` when it
/// has no master.
pub fn end_early(text: &str, until: Timestamp, now: Timestamp) -> Result<String, String> {
    let mut lines = lines(text);
    let blocks = vevents(&lines);
    let (begin, end, _) = *blocks
        .iter()
        .find(|(_, _, o)| !o)
        .ok_or("the resource has no recurring event")?;
    let rule = format!("RRULE:FREQ=WEEKLY;UNTIL={}", ical_utc_until(until));
    match (begin..end).find(|&i| name_of(&lines[i]) == "RRULE") {
        Some(i) => lines[i] = rule,
        None => return Err("the event has no RRULE".into()),
    }
    let tz = master_zone(&lines, begin, end);
    let late = |p: &Prop| instant_of(p, &tz).is_some_and(|t| t > until);
    let mut dropped = vec![false; lines.len()];
    let at = |b: usize, e: usize, name: &str| {
        (b..e)
            .find(|&i| name_of(&lines[i]) == name)
            .and_then(|i| prop_of_line(&lines[i]))
            .and_then(|p| instant_of(&p, &tz))
    };
    for (b, e, o) in &blocks {
        let original_after = at(*b, *e, "RECURRENCE-ID").is_some_and(|t| t > until);
        // An override without a readable DTSTART takes place at its original time.
        let held_after = at(*b, *e, "DTSTART").is_none_or(|t| t > until && t >= now);
        if *o && original_after && held_after {
            dropped[*b..=*e].iter_mut().for_each(|d| *d = true);
        }
    }
    for i in begin..end {
        if name_of(&lines[i]) != "EXDATE" {
            continue;
        }
        let Some(p) = prop_of_line(&lines[i]) else { continue };
        let kept: Vec<&str> = p
            .value
            .split(',')
            .filter(|v| {
                !late(&Prop {
                    value: v.to_string(),
                    ..p.clone()
                })
            })
            .collect();
        match lines[i].rsplit_once(':') {
            _ if kept.is_empty() => dropped[i] = true,
            Some((head, _)) => lines[i] = format!("{head}:{}", kept.join(",")),
            None => {}
        }
    }
    bump_sequence(&mut lines, begin, end);
    // `bump_sequence` may have inserted a line after `begin`.
    if lines.len() > dropped.len() {
        dropped.insert(begin + 1, false);
    }
    let kept: Vec<String> = lines
        .into_iter()
        .zip(dropped)
        .filter(|(_, d)| !d)
        .map(|(l, _)| l)
        .collect();
    Ok(join(&kept))
}

/// Replaces the value of parameter `key` on a content line (added when absent).
fn set_param(line: &str, key: &str, value: &str) -> String {
    // Split at the first ':' outside quotes: name and parameters, value.
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(colon) = colon else { return line.to_string() };
    let (head, rest) = line.split_at(colon);
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    for c in head.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                current.push(c);
            }
            ';' if !in_quotes => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let prefix = format!("{key}=");
    let mut found = false;
    for part in parts.iter_mut().skip(1) {
        if part.to_ascii_uppercase().starts_with(&prefix) {
            *part = format!("{key}={value}");
            found = true;
        }
    }
    if !found {
        parts.push(format!("{key}={value}"));
    }
    format!("{}{rest}", parts.join(";"))
}

/// The resource with the occurrence that started at `original` moved to
/// `to` (wall clock in `zone`): an overridden instance (RECURRENCE-ID) with
/// the master's summary, attendees (answers reset: it is a new time) and
/// markers, replacing an earlier override of the same occurrence.
pub fn move_occurrence(text: &str, original: Timestamp, to: Interval, zone: &str) -> Result<String, String> {
    let tz = TimeZone::get(zone).map_err(|_| format!("unknown time zone {zone:?}"))?;
    let mut lines = lines(text);
    let blocks = vevents(&lines);
    let (begin, end, _) = *blocks
        .iter()
        .find(|(_, _, o)| !o)
        .ok_or("the resource has no recurring event")?;
    let original_local = local(original.to_zoned_datetime(tz.clone()).datetime());
    let start_local = local(to.start.to_zoned_datetime(tz.clone()).datetime());
    let skip = [
        "RRULE",
        "RDATE",
        "EXDATE",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RECURRENCE-ID",
        "SEQUENCE",
        "X-LIAISON",
        COPY,
        COPIES_PENDING,
    ];
    let mut block = vec!["BEGIN:VEVENT".to_string()];
    for line in &lines[begin + 1..end] {
        let name = name_of(line);
        if skip.contains(&name.as_str()) {
            continue;
        }
        if name == "ATTENDEE" {
            block.push(set_param(line, "PARTSTAT", "NEEDS-ACTION"));
        } else {
            block.push(line.clone());
        }
    }
    block.push(format!("RECURRENCE-ID;TZID={zone}:{original_local}"));
    block.push(format!("DTSTART;TZID={zone}:{start_local}"));
    block.push(format!("DURATION:{}", duration_text(to.duration())));
    block.push("SEQUENCE:1".into());
    block.push("END:VEVENT".into());
    // Drop an earlier override of the same occurrence.
    let earlier: Vec<(usize, usize)> = blocks
        .iter()
        .filter(|(_, _, o)| *o)
        .filter(|(b, e, _)| {
            lines[*b..*e].iter().any(|l| {
                name_of(l) == "RECURRENCE-ID"
                    && Resource::parse(&format!(
                        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{l}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                    ))
                    .ok()
                    .and_then(|r| r.overrides.first().and_then(|o| o.get("RECURRENCE-ID").cloned()))
                    .and_then(|p| instant_of(&p, &tz))
                        == Some(original)
            })
        })
        .map(|(b, e, _)| (*b, *e))
        .collect();
    for (b, e) in earlier.into_iter().rev() {
        lines.drain(b..=e);
    }
    let at = lines
        .iter()
        .rposition(|l| l.trim().eq_ignore_ascii_case("END:VCALENDAR"))
        .ok_or("the resource has no END:VCALENDAR")?;
    lines.splice(at..at, block);
    Ok(join(&lines))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn request() -> SeriesRequest {
        SeriesRequest {
            event_id: "abc0123".into(),
            term: date(2027, 3, 8),
            pair: ("ana@example.com".into(), "ben@example.com".into()),
            attendees: [
                Attendee {
                    email: "ana@example.com".into(),
                    name: "Ana \"A\" Lima".into(),
                },
                Attendee {
                    email: "ben@example.com".into(),
                    name: "Ben, Jr.".into(),
                },
            ],
            summary: "Connection: Ana; Ben".into(),
            description: "Line one\nLine two, with a comma".into(),
            location: None,
            zone: "Europe/Berlin".into(),
            start: date(2027, 3, 15).at(10, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
            skip: Vec::new(),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_rendered_series_reads_back_as_the_same_series() {
        let text = render(
            &request(),
            "liaison@example.com",
            "i-test",
            &["http://x/ana/work/abc0123.ics".into()],
        )
        .unwrap();
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        let data = Resource::parse(&text).unwrap().series().unwrap().unwrap();
        assert_eq!(data.series.request, request());
        assert!(data.series.active);
        assert_eq!(data.series.instance.as_deref(), Some("i-test"));
        assert_eq!(data.copies, ["http://x/ana/work/abc0123.ics"]);
        assert_eq!(
            data.responses.get("ben@example.com"),
            Some(&AttendeeResponse::NeedsAction)
        );
        assert!(data.occurrences.is_empty());
        assert_eq!(
            render(&request(), "liaison@example.com", "i-test", &[]).unwrap(),
            render(&request(), "liaison@example.com", "i-test", &[]).unwrap(),
            "stable"
        );
    }

    #[test]
    fn the_vtimezone_has_the_zones_real_transitions_around_the_series() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let text = vtimezone(
            "Europe/Berlin",
            &tz,
            ts("2027-03-15T09:00:00Z"),
            ts("2027-04-05T08:00:00Z"),
        );
        assert!(
            text.contains("BEGIN:STANDARD\r\nDTSTART:20270314T100000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100"),
            "{text}"
        );
        assert!(
            text.contains(
                "BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST"
            ),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:STANDARD\r\nDTSTART:20271031T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100"),
            "{text}"
        );
        let india = vtimezone(
            "Asia/Kolkata",
            &TimeZone::get("Asia/Kolkata").unwrap(),
            ts("2027-03-15T09:00:00Z"),
            ts("2027-04-05T08:00:00Z"),
        );
        assert_eq!(india.matches("BEGIN:STANDARD").count(), 1, "{india}");
        assert!(india.contains("TZOFFSETTO:+0530"), "{india}");
    }

    #[test]
    fn skipped_weeks_are_an_exdate_in_the_series_zone_kept_when_ending_early() {
        let mut req = request();
        req.skip = vec![req.start.checked_add(jiff::Span::new().weeks(2)).unwrap()];
        let text = render(&req, "liaison@example.com", "i-test", &[]).unwrap();
        let line = format!("EXDATE;TZID={}:{}", req.zone, local(req.skip[0]));
        assert!(text.contains(&format!("\r\n{line}\r\n")), "{text}");
        let data = Resource::parse(&text).unwrap().series().unwrap().unwrap();
        assert_eq!(data.series.request, req);
        let until = TimeZone::get(&req.zone)
            .unwrap()
            .to_timestamp(req.skip[0].checked_add(jiff::Span::new().weeks(1)).unwrap())
            .unwrap();
        let ended = end_early(&text, until, ts("2027-01-01T00:00:00Z")).unwrap();
        assert!(ended.contains(&format!("\r\n{line}\r\n")), "the EXDATE stays: {ended}");
        let data = Resource::parse(&ended).unwrap().series().unwrap().unwrap();
        assert_eq!(data.series.request.skip, req.skip);
    }

    #[test]
    fn ending_early_rewrites_only_the_rule_and_the_sequence() {
        let text = render(&request(), "liaison@example.com", "i-test", &[]).unwrap();
        // As a person's app left it: an answer and a property of its own.
        let text: Vec<String> = lines(&text)
            .into_iter()
            .map(|l| {
                if l.ends_with("mailto:ben@example.com") {
                    set_param(&l, "PARTSTAT", "ACCEPTED")
                } else {
                    l
                }
            })
            .map(|l| {
                if l == "X-LIAISON:1" {
                    format!("{l}\r\nX-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC")
                } else {
                    l
                }
            })
            .collect();
        let text = join(&text);
        let ended = end_early(&text, ts("2027-03-22T09:00:00Z"), ts("2027-01-01T00:00:00Z")).unwrap();
        assert!(
            ended.contains("RRULE:FREQ=WEEKLY;UNTIL=20270322T090000Z\r\n"),
            "{ended}"
        );
        assert!(
            ended.contains("SEQUENCE:1\r\n") && ended.contains("X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC"),
            "{ended}"
        );
        let data = Resource::parse(&ended).unwrap().series().unwrap().unwrap();
        assert_eq!(data.series.request.count, 2);
        assert_eq!(data.responses.get("ben@example.com"), Some(&AttendeeResponse::Accepted));
    }

    #[test]
    fn ending_early_drops_the_changed_occurrences_after_the_end_and_keeps_those_before() {
        let text = render(&request(), "liaison@example.com", "i-test", &[]).unwrap();
        // Berlin 10:00, before and after the change to summer time.
        let moved = |text: &str, original: &str| {
            let original = ts(original);
            let to = Interval::new(
                original + SignedDuration::from_hours(2),
                original + SignedDuration::from_hours(2) + SignedDuration::from_mins(30),
            );
            move_occurrence(text, original, to, "Europe/Berlin").unwrap()
        };
        // Weeks 0 and 2 moved; weeks 1 and 3 excluded, in one EXDATE line.
        let text = moved(&moved(&text, "2027-03-15T09:00:00Z"), "2027-03-29T08:00:00Z");
        let text = text.replacen(
            "X-LIAISON:1\r\n",
            "X-LIAISON:1\r\nEXDATE;TZID=Europe/Berlin:20270322T100000,20270405T100000\r\n",
            1,
        );
        let before = Resource::parse(&text).unwrap().series().unwrap().unwrap();
        assert_eq!(before.occurrences.len(), 4, "{text}");
        // Ends after week 1: weeks 0 and 1 took place.
        let ended = end_early(&text, ts("2027-03-22T09:00:00Z"), ts("2027-01-01T00:00:00Z")).unwrap();
        let data = Resource::parse(&ended).unwrap().series().unwrap().unwrap();
        let mut left: Vec<String> = data.occurrences.iter().map(|o| o.instance_id.clone()).collect();
        left.sort();
        assert_eq!(
            left,
            ["abc0123_20270315T090000Z", "abc0123_20270322T090000Z"],
            "{ended}"
        );
        assert!(
            ended.contains("EXDATE;TZID=Europe/Berlin:20270322T100000\r\n"),
            "{ended}"
        );
        assert_eq!(ended.matches("RECURRENCE-ID").count(), 1, "{ended}");
        // Nothing after the end to drop: only the rule and the sequence change.
        let ended = end_early(&text, ts("2027-04-05T09:00:00Z"), ts("2027-01-01T00:00:00Z")).unwrap();
        assert_eq!(ended.matches("RECURRENCE-ID").count(), 2, "{ended}");
        assert!(ended.contains(":20270322T100000,20270405T100000\r\n"), "{ended}");
    }

    #[test]
    fn ending_early_keeps_an_occurrence_moved_to_before_the_cut_or_before_now() {
        let text = render(&request(), "liaison@example.com", "i-test", &[]).unwrap();
        let moved = |text: &str, original: &str, to: &str| {
            let to = ts(to);
            let to = Interval::new(to, to + SignedDuration::from_mins(30));
            move_occurrence(text, ts(original), to, "Europe/Berlin").unwrap()
        };
        // Week 2 moved to before the cut; week 3 to after it, but a day
        // that is past by `now` (its meeting was held).
        let text = moved(&text, "2027-03-29T08:00:00Z", "2027-03-18T08:00:00Z");
        let text = moved(&text, "2027-04-05T08:00:00Z", "2027-03-24T08:00:00Z");
        let until = ts("2027-03-22T09:00:00Z");
        let ended = end_early(&text, until, ts("2027-03-26T00:00:00Z")).unwrap();
        assert_eq!(ended.matches("RECURRENCE-ID").count(), 2, "{ended}");
        // Before `now` reaches it, the week-3 move is still to come: dropped.
        let ended = end_early(&text, until, ts("2027-03-23T00:00:00Z")).unwrap();
        assert_eq!(ended.matches("RECURRENCE-ID").count(), 1, "{ended}");
        assert!(
            ended.contains("RECURRENCE-ID;TZID=Europe/Berlin:20270329T100000"),
            "{ended}"
        );
    }

    #[test]
    fn a_late_copy_carries_the_organizers_moved_occurrences_without_its_markers() {
        let req = request();
        let copies = ["https://dav.example.com/ana/work/abc0123.ics".to_string()];
        let organizer = render(&req, "liaison@example.com", "i-test", &copies).unwrap();
        let organizer = mark_copies_pending(&organizer).unwrap();
        let original = ts("2027-03-22T09:00:00Z");
        let to = Interval::new(
            original + SignedDuration::from_hours(1),
            original + SignedDuration::from_hours(1) + req.duration,
        );
        let organizer = move_occurrence(&organizer, original, to, "Europe/Berlin").unwrap();
        let copy = render(&req, "liaison@example.com", "i-test", &[]).unwrap();
        let copy = with_overrides_of(&copy, &organizer);
        assert!(!copy.contains(COPY) && !copy.contains(COPIES_PENDING), "{copy}");
        let data = Resource::parse(&copy).unwrap().series().unwrap().unwrap();
        assert!(!data.copies_pending && data.copies.is_empty(), "{copy}");
        let moved: Vec<_> = data
            .occurrences
            .iter()
            .map(|o| (o.original_start, o.interval))
            .collect();
        assert_eq!(moved, [(original, Some(to))], "{copy}");
        assert_eq!(data.series.request, req);
    }

    #[test]
    fn the_sequence_is_raised_by_one_and_held_at_its_maximum() {
        assert_eq!(next_sequence("0"), 1);
        assert_eq!(next_sequence(" 41 "), 42);
        assert_eq!(next_sequence("2147483646"), 2147483647);
        assert_eq!(next_sequence("2147483647"), 2147483647);
        assert_eq!(next_sequence("4294967295"), 2147483647);
        assert_eq!(next_sequence("99999999999999999999999"), 2147483647);
        assert_eq!(next_sequence("-3"), 1);
        assert_eq!(next_sequence("x"), 1);
        let text = render(&request(), "liaison@example.com", "i-test", &[]).unwrap();
        assert!(text.contains("SEQUENCE:0\r\n"), "{text}");
        let at_max = text.replacen("SEQUENCE:0\r\n", "SEQUENCE:4294967295\r\n", 1);
        let ended = end_early(&at_max, ts("2027-03-22T09:00:00Z"), ts("2027-01-01T00:00:00Z")).unwrap();
        assert!(ended.contains("SEQUENCE:2147483647\r\n"), "{ended}");
    }

    #[test]
    fn a_moved_occurrence_is_an_override_that_reads_back_with_its_new_time() {
        let text = render(&request(), "liaison@example.com", "i-test", &["http://x/c.ics".into()]).unwrap();
        let original = ts("2027-03-22T09:00:00Z");
        let to = Interval::new(ts("2027-03-23T13:00:00Z"), ts("2027-03-23T13:30:00Z"));
        let moved = move_occurrence(&text, original, to, "Europe/Berlin").unwrap();
        assert!(
            moved.contains("RECURRENCE-ID;TZID=Europe/Berlin:20270322T100000"),
            "{moved}"
        );
        let data = Resource::parse(&moved).unwrap().series().unwrap().unwrap();
        assert_eq!(data.series.request, request(), "the series itself is unchanged");
        assert_eq!(data.occurrences.len(), 1);
        let o = &data.occurrences[0];
        assert_eq!(o.instance_id, "abc0123_20270322T090000Z");
        assert_eq!(original_of("abc0123", &o.instance_id), Some(original));
        assert_eq!((o.original_start, o.interval, o.cancelled), (original, Some(to), false));
        // Moved again: one override, at the newest time.
        let later = Interval::new(ts("2027-03-24T13:00:00Z"), ts("2027-03-24T13:30:00Z"));
        let again = move_occurrence(&moved, original, later, "Europe/Berlin").unwrap();
        let data = Resource::parse(&again).unwrap().series().unwrap().unwrap();
        assert_eq!(data.occurrences.len(), 1);
        assert_eq!(data.occurrences[0].interval, Some(later));
    }

    #[test]
    fn set_param_keeps_quoted_values_and_adds_a_missing_one() {
        assert_eq!(
            set_param(
                "ATTENDEE;CN=\"A;B:C\";PARTSTAT=DECLINED:mailto:a@x.org",
                "PARTSTAT",
                "NEEDS-ACTION"
            ),
            "ATTENDEE;CN=\"A;B:C\";PARTSTAT=NEEDS-ACTION:mailto:a@x.org"
        );
        assert_eq!(
            set_param("ATTENDEE:mailto:a@x.org", "PARTSTAT", "NEEDS-ACTION"),
            "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:a@x.org"
        );
    }

    #[test]
    fn resources_liaison_did_not_write_are_not_series() {
        let other =
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20270308T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        assert_eq!(Resource::parse(other).unwrap().series().unwrap(), None);
    }
}

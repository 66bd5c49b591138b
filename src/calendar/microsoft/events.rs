//! liaison's series as Graph events, and back.
//!
//! What liaison manages on an event: `subject`, `body` (text), `location`,
//! the two `attendees`, `start`/`end` (local time with a zone name, see
//! `zones`), `recurrence` (weekly on the start's day, a `numbered` range of
//! `count` occurrences; an `endDate` range once ended early), the Teams
//! meeting when asked, `transactionId` (the deterministic id, so Graph drops
//! a retried POST) and `singleValueExtendedProperties` under liaison's
//! GUID: `liaison` ("1"), `liaison_id`, `liaison_term`, `liaison_pair`,
//! `liaison_instance`, `liaison_skip` when weeks are skipped (see
//! [`SkipMark`]), and `liaison_end` once liaison ended the series early
//! (see [`EndMark`]). Everything else belongs to the people.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::zones::{graph_name, iana_name};
use crate::calendar::{Attendee, AttendeeResponse, BookedSeries, Occurrence, SeriesDetails, SeriesRequest};
use crate::core::interval::Interval;

/// The property set of liaison's markers (DESIGN §5b).
const GUID: &str = "{b0a1c7e2-3f5d-4c1a-9e4b-6c2d8f0a1e37}";
pub(crate) const MARK: &str = "liaison";
pub(crate) const ID: &str = "liaison_id";
pub(crate) const TERM: &str = "liaison_term";
pub(crate) const PAIR: &str = "liaison_pair";
pub(crate) const INSTANCE: &str = "liaison_instance";
/// The end mark (see [`EndMark`]).
pub(crate) const END: &str = "liaison_end";
/// The skip mark (see [`SkipMark`]).
pub(crate) const SKIP: &str = "liaison_skip";
const ALL: [&str; 7] = [MARK, ID, TERM, PAIR, INSTANCE, END, SKIP];

/// The id of a named String property of liaison's set.
pub(crate) fn property_id(name: &str) -> String {
    format!("String {GUID} Name {name}")
}

/// `$expand` that returns liaison's properties with an event.
pub(crate) fn expand() -> String {
    let ids: Vec<String> = ALL.iter().map(|n| format!("id eq '{}'", property_id(n))).collect();
    format!("singleValueExtendedProperties($filter={})", ids.join(" or "))
}

/// `$filter` of the events whose property `name` is `value` (a value liaison
/// wrote: base32hex or "1", no quote to escape).
pub(crate) fn filter(name: &str, value: &str) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq '{}')",
        property_id(name),
        value.replace('\'', "''")
    )
}

/// A civil time as Graph's `dateTime` wants it.
fn local(dt: DateTime) -> String {
    dt.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn weekday_name(dt: DateTime) -> &'static str {
    use jiff::civil::Weekday::*;
    match dt.weekday() {
        Monday => "monday",
        Tuesday => "tuesday",
        Wednesday => "wednesday",
        Thursday => "thursday",
        Friday => "friday",
        Saturday => "saturday",
        Sunday => "sunday",
    }
}

/// The recurrence of a weekly series starting at `start` (local in `zone`),
/// with `range` (`numbered` or `endDate`).
fn recurrence(start: DateTime, zone: &str, range: Value) -> Value {
    let mut range = range;
    range["startDate"] = json!(start.date().to_string());
    range["recurrenceTimeZone"] = json!(graph_name(zone));
    json!({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday_name(start)], "firstDayOfWeek": "monday"},
        "range": range,
    })
}

/// The body of `POST /events` for `req`, marked with `instance`.
pub(crate) fn event_for(req: &SeriesRequest, teams: bool, instance: &str) -> Result<Value, String> {
    let tz =
        TimeZone::get(&req.zone).map_err(|_| format!("time zone {:?} is unknown; expected an IANA name", req.zone))?;
    if req.count == 0 {
        return Err("count is 0; expected at least one weekly occurrence".into());
    }
    if !req.duration.is_positive() {
        return Err(format!("duration {} is not positive", req.duration));
    }
    let start = req
        .start
        .to_zoned_datetime(tz.clone())
        .map_err(|e| format!("start {} is not a time in {}: {e}", req.start, req.zone))?;
    let end = start
        .timestamp()
        .checked_add(req.duration)
        .map_err(|e| e.to_string())?
        .to_zoned_datetime(tz)
        .datetime();
    let zone = graph_name(&req.zone);
    let mut props = vec![
        json!({"id": property_id(MARK), "value": "1"}),
        json!({"id": property_id(ID), "value": req.event_id}),
        json!({"id": property_id(TERM), "value": req.term.to_string()}),
        json!({"id": property_id(PAIR), "value": format!("{}|{}", req.pair.0, req.pair.1)}),
    ];
    if !instance.trim().is_empty() {
        props.push(json!({"id": property_id(INSTANCE), "value": instance.trim()}));
    }
    if !req.skip.is_empty() {
        // Due until the skipped weeks are cancelled (after the POST).
        let mark = SkipMark {
            due: true,
            weeks: req.skip.clone(),
        };
        props.push(mark.property());
    }
    let mut event = json!({
        "subject": req.summary,
        "body": {"contentType": "text", "content": req.description},
        "start": {"dateTime": local(start.datetime()), "timeZone": zone},
        "end": {"dateTime": local(end), "timeZone": zone},
        "attendees": req.attendees.iter().map(|a| json!({
            "emailAddress": {"address": a.email, "name": a.name},
            "type": "required",
        })).collect::<Vec<_>>(),
        "recurrence": recurrence(start.datetime(), &req.zone, json!({"type": "numbered", "numberOfOccurrences": req.count})),
        "transactionId": req.event_id,
        "singleValueExtendedProperties": props,
    });
    if let Some(location) = &req.location {
        event["location"] = json!({"displayName": location});
    }
    if teams {
        event["isOnlineMeeting"] = json!(true);
        event["onlineMeetingProvider"] = json!("teamsForBusiness");
    }
    Ok(event)
}

/// The body of `PATCH` on the master that ends `series` with the occurrence
/// at `until`: the range becomes `endDate` = that occurrence's local date,
/// and the same request writes the end mark with what must be made again
/// afterwards (`restore`): Exchange drops the exceptions with this very
/// change, so the list must be on the calendar before they are gone.
pub(crate) fn ended(series: &SeriesRequest, until: Timestamp, restore: &Changed) -> Result<Value, String> {
    let tz = TimeZone::get(&series.zone).map_err(|_| format!("time zone {:?} is unknown", series.zone))?;
    let last = until.to_zoned_datetime(tz).date();
    if last < series.start.date() {
        return Err(format!(
            "{until} is before the first occurrence ({}); such a series is cancelled, not ended",
            series.start
        ));
    }
    let mark = EndMark {
        last,
        restore: restore.clone(),
    };
    Ok(json!({
        "recurrence": recurrence(series.start, &series.zone, json!({"type": "endDate", "endDate": last.to_string()})),
        "singleValueExtendedProperties": [mark.property()],
    }))
}

/// The end mark, `liaison_end`: liaison ended this series early, with its
/// last occurrence on local date `last`, and — until they are made again —
/// the occurrences people had moved or cancelled among those it keeps,
/// which ending dropped (MS-OXOCAL §3.1.4.7.3.5). Written in the `PATCH`
/// that ends the series, so that a restore that fails, or a process killed
/// right after the `PATCH`, leaves the list on the calendar: the next read
/// of the series completes it and writes the mark back without the list.
/// It also tells a later read that the series was ended by liaison, not
/// shortened by a person. Text: `2027-03-15;m=<original>/<start>/<end>;c=<original>`
/// (RFC 3339 instants), a `m=` per moved and a `c=` per cancelled occurrence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EndMark {
    pub last: Date,
    pub restore: Changed,
}

impl EndMark {
    pub(crate) fn text(&self) -> String {
        let mut out = self.last.to_string();
        for (original, at) in &self.restore.moved {
            out.push_str(&format!(";m={original}/{}/{}", at.start, at.end));
        }
        for original in &self.restore.cancelled {
            out.push_str(&format!(";c={original}"));
        }
        out
    }

    pub(crate) fn parse(text: &str) -> Result<EndMark, String> {
        let mut parts = text.trim().split(';');
        let first = parts.next().unwrap_or("");
        let last: Date = first
            .parse()
            .map_err(|_| format!("{END} {text:?}: {first:?} is not a date"))?;
        let instant = |t: &str| {
            t.parse::<Timestamp>()
                .map_err(|_| format!("{END} {text:?}: {t:?} is not an RFC 3339 instant"))
        };
        let mut restore = Changed::default();
        for part in parts {
            match part.split_once('=') {
                Some(("m", v)) => {
                    let mut times = v.split('/');
                    let (Some(o), Some(s), Some(e), None) = (times.next(), times.next(), times.next(), times.next())
                    else {
                        return Err(format!("{END} {text:?}: {part:?} is not m=<original>/<start>/<end>"));
                    };
                    restore
                        .moved
                        .push((instant(o)?, Interval::new(instant(s)?, instant(e)?)));
                }
                Some(("c", v)) => restore.cancelled.push(instant(v)?),
                _ => return Err(format!("{END} {text:?}: {part:?} is neither m=... nor c=...")),
            }
        }
        Ok(EndMark { last, restore })
    }

    /// The extended property that carries this mark.
    pub(crate) fn property(&self) -> Value {
        json!({"id": property_id(END), "value": self.text()})
    }

    /// The mark of `event`, if liaison ended it (`Err`: a mark that cannot be read).
    pub(crate) fn of(event: &Value) -> Option<Result<EndMark, String>> {
        markers(event)
            .get(END)
            .filter(|t| !t.is_empty())
            .map(|t| EndMark::parse(t))
    }

    /// Whether `event` still ends where this mark says liaison ended it (a
    /// person may have changed the recurrence since).
    pub(crate) fn holds_for(&self, event: &Value) -> bool {
        let range = &event["recurrence"]["range"];
        range["type"].as_str() == Some("endDate") && range["endDate"].as_str() == Some(self.last.to_string().as_str())
    }
}

/// The skip mark, `liaison_skip`: the weeks of the series liaison skips
/// (local starts of occurrences its rule makes: holidays, away days), and
/// whether their cancellation is still due. Graph has no exception dates at
/// creation, so each skipped week is an occurrence cancelled after the
/// `POST`; the mark travels in that `POST`, due, so that a cancel that
/// fails, or a create whose answer was lost, leaves the list on the
/// calendar: the next read of the series cancels what is left and writes
/// the mark back done. It also gives the skipped weeks back on every read
/// (the cycle tells them from a person's cancellation by it). Text:
/// `due;2027-03-22T10:00:00;...` or `done;...`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SkipMark {
    pub due: bool,
    pub weeks: Vec<DateTime>,
}

impl SkipMark {
    pub(crate) fn text(&self) -> String {
        let mut out = (if self.due { "due" } else { "done" }).to_string();
        for week in &self.weeks {
            out.push(';');
            out.push_str(&local(*week));
        }
        out
    }

    pub(crate) fn parse(text: &str) -> Result<SkipMark, String> {
        let mut parts = text.trim().split(';');
        let due = match parts.next() {
            Some("due") => true,
            Some("done") => false,
            other => return Err(format!("{SKIP} {text:?}: {other:?} is neither due nor done")),
        };
        let weeks = parts
            .map(|p| {
                p.parse::<DateTime>()
                    .map_err(|_| format!("{SKIP} {text:?}: {p:?} is not a local date and time"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SkipMark { due, weeks })
    }

    /// The extended property that carries this mark.
    pub(crate) fn property(&self) -> Value {
        json!({"id": property_id(SKIP), "value": self.text()})
    }

    /// The mark of `event`, if it has one (`Err`: a mark that cannot be read).
    pub(crate) fn of(event: &Value) -> Option<Result<SkipMark, String>> {
        markers(event)
            .get(SKIP)
            .filter(|t| !t.is_empty())
            .map(|t| SkipMark::parse(t))
    }
}

/// The original starts of a series' occurrences: weekly on the wall clock
/// of its zone, `count` of them.
pub(crate) fn pattern_starts(series: &SeriesRequest) -> Result<Vec<Timestamp>, String> {
    let tz = TimeZone::get(&series.zone).map_err(|_| format!("time zone {:?} is unknown", series.zone))?;
    (0..i64::from(series.count))
        .map(|week| {
            let at = series
                .start
                .checked_add(jiff::Span::new().weeks(week))
                .map_err(|e| e.to_string())?;
            Ok(at.to_zoned_datetime(tz.clone()).map_err(|e| e.to_string())?.timestamp())
        })
        .collect()
}

/// What people changed among the occurrences a series keeps when it ends
/// with the occurrence at `until`, read from its instances (`instances`,
/// as `GET .../instances` lists them: cancelled ones are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changed {
    /// Occurrences moved (by a person, or by liaison for a decline): the
    /// original start and where it takes place.
    pub moved: Vec<(Timestamp, Interval)>,
    /// Occurrences cancelled: their original starts.
    pub cancelled: Vec<Timestamp>,
}

impl Changed {
    pub(crate) fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.cancelled.is_empty()
    }
}

/// The changed occurrences of `series` up to the one at `until` (by local
/// date, as [`ended`] keeps them), from its listed `instances`.
pub(crate) fn changed_until(series: &SeriesRequest, instances: &[Value], until: Timestamp) -> Result<Changed, String> {
    let tz = TimeZone::get(&series.zone).map_err(|_| format!("time zone {:?} is unknown", series.zone))?;
    let last = until.to_zoned_datetime(tz.clone()).date();
    let kept = |t: Timestamp| t.to_zoned_datetime(tz.clone()).date() <= last;
    let mut listed = std::collections::BTreeSet::new();
    let mut out = Changed::default();
    for item in instances {
        let o = occurrence_of(item)?;
        listed.insert(o.original_start);
        if item["type"].as_str() == Some("exception")
            && kept(o.original_start)
            && let Some(at) = o.interval
            && (at.start != o.original_start
                || at.end != o.original_start.checked_add(series.duration).unwrap_or(at.end))
        {
            out.moved.push((o.original_start, at));
        }
    }
    out.cancelled = pattern_starts(series)?
        .into_iter()
        .filter(|t| kept(*t) && !listed.contains(t))
        .collect();
    Ok(out)
}

/// The body of `PATCH` on an occurrence that moves it to `to`, written in `zone`.
pub(crate) fn moved(to: Interval, zone: &str) -> Result<Value, String> {
    let tz = TimeZone::get(zone).map_err(|_| format!("time zone {zone:?} is unknown"))?;
    if to.end <= to.start {
        return Err(format!("end {} is not after start {}", to.end, to.start));
    }
    let name = graph_name(zone);
    Ok(json!({
        "start": {"dateTime": local(to.start.to_zoned_datetime(tz.clone()).datetime()), "timeZone": name},
        "end": {"dateTime": local(to.end.to_zoned_datetime(tz).datetime()), "timeZone": name},
    }))
}

/// An instant from a `dateTimeTimeZone` (`2027-03-08T09:00:00.0000000`, UTC
/// by default, or any zone Graph names).
pub(crate) fn instant(v: &Value) -> Result<Timestamp, String> {
    let text = v
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or("a time without dateTime")?;
    let zone = v.get("timeZone").and_then(Value::as_str).unwrap_or("UTC");
    let iana = iana_name(zone, None).ok_or_else(|| format!("time zone {zone:?} is unknown"))?;
    let tz = TimeZone::get(&iana).map_err(|e| e.to_string())?;
    let civil: DateTime = text.parse().map_err(|_| format!("{text:?} is not a date and time"))?;
    Ok(civil.to_zoned_datetime(tz).map_err(|e| e.to_string())?.timestamp())
}

/// liaison's properties of an event, by name (empty for others' events).
fn markers(event: &Value) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    for p in event["singleValueExtendedProperties"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or("");
        for name in ALL {
            // Names compare exactly, the GUID in any case (as Graph does).
            if id.eq_ignore_ascii_case(&property_id(name)) && id.ends_with(&format!(" Name {name}")) {
                out.insert(name, p["value"].as_str().unwrap_or("").trim().to_string());
            }
        }
    }
    out
}

/// The deterministic id an event carries, if it is liaison's.
pub(crate) fn liaison_id(event: &Value) -> Option<String> {
    let m = markers(event);
    (m.get(MARK).map(String::as_str) == Some("1"))
        .then(|| m.get(ID).cloned())
        .flatten()
}

fn split_pair(text: &str) -> Option<(String, String)> {
    let (a, b) = text.trim().split_once('|')?;
    let valid = |e: &str| e.contains('@') && !e.trim().is_empty();
    (valid(a) && valid(b)).then(|| (a.trim().to_string(), b.trim().to_string()))
}

/// The series a master event stands for (`Ok(None)`: not liaison's).
pub(crate) fn series_of(event: &Value) -> Result<Option<SeriesDetails>, String> {
    let m = markers(event);
    if m.get(MARK).map(String::as_str) != Some("1") {
        return Ok(None);
    }
    let need = |k: &str| m.get(k).ok_or_else(|| format!("liaison event without property {k}"));
    let event_id = need(ID)?.clone();
    let term: Date = need(TERM)?
        .parse()
        .map_err(|_| format!("{TERM} {:?} is not a date", m.get(TERM)))?;
    let pair = split_pair(need(PAIR)?).ok_or_else(|| format!("{PAIR} {:?} is not two emails", m.get(PAIR)))?;
    let range = &event["recurrence"]["range"];
    let zone_name = range
        .get("recurrenceTimeZone")
        .and_then(Value::as_str)
        .or_else(|| event.get("originalStartTimeZone").and_then(Value::as_str))
        .ok_or("liaison event without a time zone")?;
    let zone = iana_name(zone_name, None).ok_or_else(|| format!("time zone {zone_name:?} is unknown"))?;
    let tz = TimeZone::get(&zone).map_err(|e| e.to_string())?;
    let start = instant(&event["start"])?;
    let end = instant(&event["end"])?;
    let local_start = start.to_zoned_datetime(tz).datetime();
    let count = match range.get("type").and_then(Value::as_str) {
        Some("numbered") => range
            .get("numberOfOccurrences")
            .and_then(Value::as_u64)
            .filter(|&n| n > 0)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("a numbered range without a numberOfOccurrences from 1 to 4294967295")?,
        Some("endDate") => {
            let last: Date = range
                .get("endDate")
                .and_then(Value::as_str)
                .and_then(|d| d.parse().ok())
                .ok_or("an endDate range without endDate")?;
            let days = local_start.date().until(last).map_err(|e| e.to_string())?.get_days();
            if days < 0 {
                return Err(format!("the series ends ({last}) before it starts"));
            }
            // `days` is not negative (checked above), so this cannot wrap.
            (days / 7 + 1).unsigned_abs()
        }
        other => {
            return Err(format!(
                "recurrence range {other:?} is not liaison's (numbered or endDate)"
            ));
        }
    };
    if event["recurrence"]["pattern"]["type"].as_str() != Some("weekly") {
        return Err("liaison event whose recurrence is not weekly".into());
    }
    let name_of = |email: &str| {
        event["attendees"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| {
                a["emailAddress"]["address"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(email))
            })
            .and_then(|a| a["emailAddress"]["name"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let attendees = [
        Attendee {
            email: pair.0.clone(),
            name: name_of(&pair.0),
        },
        Attendee {
            email: pair.1.clone(),
            name: name_of(&pair.1),
        },
    ];
    let series = BookedSeries {
        request: SeriesRequest {
            event_id,
            term,
            pair,
            attendees,
            summary: event["subject"].as_str().unwrap_or("").to_string(),
            description: event["body"]["content"].as_str().unwrap_or("").to_string(),
            location: event["location"]["displayName"]
                .as_str()
                .filter(|l| !l.is_empty())
                .map(str::to_string),
            zone,
            start: local_start,
            duration: end.duration_since(start),
            count,
            // A mark that cannot be read gives none: the cycle keeps the
            // weeks it stored.
            skip: match SkipMark::of(event) {
                Some(Ok(mark)) => mark.weeks,
                _ => Vec::new(),
            },
        },
        active: event["isCancelled"].as_bool() != Some(true),
        instance: m.get(INSTANCE).filter(|i| !i.is_empty()).cloned(),
    };
    Ok(Some(SeriesDetails {
        series,
        responses: responses(event),
        conference_link: event["onlineMeeting"]["joinUrl"].as_str().map(str::to_string),
    }))
}

/// Attendees' answers by lower-case address.
pub(crate) fn responses(event: &Value) -> BTreeMap<String, AttendeeResponse> {
    event["attendees"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let response = match a["status"]["response"].as_str() {
                Some("accepted") => AttendeeResponse::Accepted,
                Some("declined") => AttendeeResponse::Declined,
                Some("tentativelyAccepted") => AttendeeResponse::Tentative,
                _ => AttendeeResponse::NeedsAction,
            };
            Some((a["emailAddress"]["address"].as_str()?.to_ascii_lowercase(), response))
        })
        .collect()
}

/// One occurrence (or exception) of a calendar view.
pub(crate) fn occurrence_of(item: &Value) -> Result<Occurrence, String> {
    let instance_id = item["id"].as_str().ok_or("an occurrence without id")?.to_string();
    let start = instant(&item["start"])?;
    let end = instant(&item["end"])?;
    let original = match item.get("originalStart").and_then(Value::as_str) {
        Some(text) => text
            .parse::<Timestamp>()
            .map_err(|_| format!("originalStart {text:?} is not an instant"))?,
        None => start,
    };
    Ok(Occurrence {
        instance_id,
        original_start: original,
        interval: Some(Interval::new(start, end)),
        cancelled: item["isCancelled"].as_bool() == Some(true),
        responses: responses(item),
    })
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use jiff::civil::date;

    use super::*;

    fn request(zone: &str) -> SeriesRequest {
        SeriesRequest {
            event_id: "bc8vvbippvfebm1ui2066cf64o".into(),
            term: date(2027, 3, 8),
            pair: ("ada@contoso.com".into(), "bo@contoso.com".into()),
            attendees: [
                Attendee {
                    email: "ada@contoso.com".into(),
                    name: "Ada".into(),
                },
                Attendee {
                    email: "bo@contoso.com".into(),
                    name: "Bo".into(),
                },
            ],
            summary: "Connection".into(),
            description: "Agenda".into(),
            location: None,
            zone: zone.into(),
            start: date(2027, 3, 9).at(10, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
            skip: Vec::new(),
        }
    }

    /// What Graph answers for the event: times in UTC, the zone name kept.
    fn as_graph_answers(body: &Value) -> Value {
        let mut e = body.clone();
        let zone = iana_name(body["start"]["timeZone"].as_str().unwrap(), None).unwrap();
        let tz = TimeZone::get(&zone).unwrap();
        for k in ["start", "end"] {
            let civil: DateTime = body[k]["dateTime"].as_str().unwrap().parse().unwrap();
            let utc = civil
                .to_zoned_datetime(tz.clone())
                .unwrap()
                .timestamp()
                .to_zoned_datetime(TimeZone::UTC)
                .datetime();
            e[k] = json!({"dateTime": format!("{}.0000000", local(utc)), "timeZone": "UTC"});
        }
        e["originalStartTimeZone"] = body["start"]["timeZone"].clone();
        e
    }

    #[test]
    fn a_series_is_written_with_its_markers_and_read_back_the_same() {
        for zone in ["Europe/London", "Asia/Kolkata", "Europe/Amsterdam", "America/New_York"] {
            let req = request(zone);
            let body = event_for(&req, true, "i-abc").unwrap();
            assert_eq!(body["transactionId"], req.event_id);
            assert_eq!(body["recurrence"]["pattern"]["daysOfWeek"][0], "tuesday");
            assert_eq!(body["recurrence"]["range"]["numberOfOccurrences"], 4);
            assert_eq!(body["onlineMeetingProvider"], "teamsForBusiness");
            assert_eq!(liaison_id(&body).as_deref(), Some(req.event_id.as_str()));
            let back = series_of(&as_graph_answers(&body)).unwrap().unwrap().series;
            assert_eq!(back.request, req, "{zone}");
            assert_eq!(back.instance.as_deref(), Some("i-abc"));
        }
        assert_eq!(
            event_for(&request("Asia/Kolkata"), false, "").unwrap()["start"]["timeZone"],
            "India Standard Time"
        );
        assert!(series_of(&json!({"subject": "someone else's"})).unwrap().is_none());
    }

    #[test]
    fn skipped_weeks_are_written_due_and_read_back_done_or_not() {
        let mut req = request("Europe/London");
        req.skip = vec![req.start.checked_add(jiff::Span::new().weeks(2)).unwrap()];
        let body = event_for(&req, false, "i-abc").unwrap();
        let answered = as_graph_answers(&body);
        let mark = SkipMark::of(&answered).unwrap().unwrap();
        assert!(mark.due, "due until the weeks are cancelled");
        assert_eq!(mark.weeks, req.skip);
        assert_eq!(series_of(&answered).unwrap().unwrap().series.request, req);
        let done = SkipMark { due: false, ..mark };
        assert_eq!(SkipMark::parse(&done.text()).unwrap(), done);
        assert!(SkipMark::parse("later;2027-03-22T10:00:00").is_err());
        assert!(SkipMark::parse("due;the 22nd").is_err());
    }

    #[test]
    fn an_occurrence_count_beyond_u32_is_refused_not_wrapped() {
        let body = event_for(&request("Europe/London"), false, "i-abc").unwrap();
        let mut answer = as_graph_answers(&body);
        // 2^32 + 4 would wrap to the 4 of a real series.
        answer["recurrence"]["range"]["numberOfOccurrences"] = json!((1u64 << 32) + 4);
        let refused = series_of(&answer).unwrap_err();
        assert!(refused.contains("numberOfOccurrences"), "{refused}");
    }

    #[test]
    fn ending_early_writes_the_last_kept_date_and_reads_back_its_count() {
        let req = request("Europe/Berlin");
        // The third occurrence, 2027-03-23 10:00 Berlin, is the last.
        let until: Timestamp = "2027-03-23T09:00:00Z".parse().unwrap();
        let moved_to = Interval::new(
            "2027-03-09T13:00:00Z".parse().unwrap(),
            "2027-03-09T13:30:00Z".parse().unwrap(),
        );
        let restore = Changed {
            moved: vec![("2027-03-09T09:00:00Z".parse().unwrap(), moved_to)],
            cancelled: vec!["2027-03-16T09:00:00Z".parse().unwrap()],
        };
        let patch = ended(&req, until, &restore).unwrap();
        // The mark travels in the same PATCH, and reads back whole.
        let mark = EndMark::of(&patch).unwrap().unwrap();
        assert_eq!(mark.last, date(2027, 3, 23));
        assert_eq!(mark.restore, restore);
        assert_eq!(
            mark.text(),
            "2027-03-23;m=2027-03-09T09:00:00Z/2027-03-09T13:00:00Z/2027-03-09T13:30:00Z;c=2027-03-16T09:00:00Z"
        );
        assert!(mark.holds_for(&patch));
        assert!(EndMark::parse("2027-03-23;m=2027-03-09T09:00:00Z").is_err());
        assert!(EndMark::parse("soon").is_err());
        assert_eq!(patch["recurrence"]["range"]["type"], "endDate");
        assert_eq!(patch["recurrence"]["range"]["endDate"], "2027-03-23");
        let mut body = event_for(&req, false, "i").unwrap();
        body["recurrence"] = patch["recurrence"].clone();
        assert_eq!(
            series_of(&as_graph_answers(&body))
                .unwrap()
                .unwrap()
                .series
                .request
                .count,
            3
        );
        assert!(ended(&req, "2027-03-01T00:00:00Z".parse().unwrap(), &Changed::default()).is_err());
    }

    #[test]
    fn the_changes_a_series_keeps_are_its_moved_and_cancelled_occurrences_up_to_the_end() {
        let req = request("Europe/London");
        let starts = pattern_starts(&req).unwrap();
        assert_eq!(starts.len(), 4);
        let item = |original: Timestamp, start: Timestamp, kind: &str| {
            let utc =
                |t: Timestamp| json!({"dateTime": t.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"});
            json!({"id": format!("occ-{original}"), "type": kind, "originalStart": original.to_string(),
                   "start": utc(start), "end": utc(start.checked_add(req.duration).unwrap())})
        };
        let later = |t: Timestamp| t.checked_add(SignedDuration::from_hours(2)).unwrap();
        // The first moved, the second cancelled (not listed), the fourth moved.
        let listed = [
            item(starts[0], later(starts[0]), "exception"),
            item(starts[2], starts[2], "occurrence"),
            item(starts[3], later(starts[3]), "exception"),
        ];
        let changed = changed_until(&req, &listed, starts[2]).unwrap();
        assert_eq!(
            changed,
            Changed {
                moved: vec![(
                    starts[0],
                    Interval::new(later(starts[0]), later(starts[0]).checked_add(req.duration).unwrap())
                )],
                cancelled: vec![starts[1]],
            },
            "the fourth is after the end: cut with the rest"
        );
        assert!(
            changed_until(&req, &[item(starts[0], starts[0], "occurrence")], starts[0])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn answers_and_occurrences_are_read() {
        let item = json!({
            "id": "AAMkOcc1", "type": "exception", "originalStart": "2027-03-16T09:00:00Z",
            "start": {"dateTime": "2027-03-17T13:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-17T13:30:00.0000000", "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": "Ada@contoso.com"}, "status": {"response": "declined"}},
                          {"emailAddress": {"address": "bo@contoso.com"}, "status": {"response": "tentativelyAccepted"}}],
        });
        let o = occurrence_of(&item).unwrap();
        assert_eq!(o.original_start, "2027-03-16T09:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(
            o.interval.unwrap().start,
            "2027-03-17T13:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(o.responses["ada@contoso.com"], AttendeeResponse::Declined);
        assert_eq!(o.responses["bo@contoso.com"], AttendeeResponse::Tentative);
    }
}

//! liaison's series as Google Calendar events, and back.
//!
//! Which fields liaison manages: `id` (the deterministic base32hex id), `summary`,
//! `description`, `location`, the two `attendees`, `start`/`end` (an instant
//! plus the series' `timeZone`, in which Google expands the recurrence),
//! `recurrence` (one `RRULE:FREQ=WEEKLY;COUNT=n`, no DTSTART, as Google wants;
//! `FREQ=WEEKLY;UNTIL=<UTC>` once liaison ends the series early),
//! `extendedProperties.private` (`liaison`, `liaison_term`, `liaison_pair`,
//! `liaison_instance`), and with Meet a `conferenceData.createRequest`. Everything else (reminders,
//! colours, visibility, what attendees write) belongs to the people and is left
//! alone.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use google_calendar3::api::{
    ConferenceData, ConferenceSolutionKey, CreateConferenceRequest, Event, EventAttendee, EventDateTime,
    EventExtendedProperties,
};
use jiff::civil::{Date, DateTime as CivilDateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

use crate::calendar::{
    Attendee, AttendeeResponse, BookedSeries, Changes, Occurrence, SeriesDetails, SeriesRequest, ical_utc_until,
    weekly_count_until,
};
use crate::config::Conference;
use crate::core::interval::Interval;

/// Marks an event as liaison's (the value is "1").
pub(crate) const PROP_MARK: &str = "liaison";
/// First day of the term, `YYYY-MM-DD`.
pub(crate) const PROP_TERM: &str = "liaison_term";
/// The two emails, sorted, `a|b`.
pub(crate) const PROP_PAIR: &str = "liaison_pair";
/// The `calendar.instance` of the installation that created the event
/// (absent on events written before markers existed).
pub(crate) const PROP_INSTANCE: &str = "liaison_instance";
/// `privateExtendedProperty` filter that lists liaison's events.
pub(crate) const LIST_FILTER: &str = "liaison=1";
/// Google's conference type of Meet links.
const MEET: &str = "hangoutsMeet";

/// The conference `requestId` of a series: derived from its id, so a retried
/// insert asks for the same conference, never a second one.
pub(crate) fn conference_request_id(event_id: &str) -> String {
    format!("liaison-{event_id}")
}

/// The event `events.insert` sends for `req`, marked as written by the
/// installation `instance` (no marker when it is empty). Errors say what in the
/// request is wrong; nothing is sent then.
pub(crate) fn event_for(req: &SeriesRequest, conference: Conference, instance: &str) -> Result<Event, String> {
    check_event_id(&req.event_id)?;
    let tz =
        TimeZone::get(&req.zone).map_err(|_| format!("time zone {:?} is unknown; expected an IANA name", req.zone))?;
    if req.count == 0 {
        return Err("count is 0; expected at least one weekly occurrence".into());
    }
    if !req.duration.is_positive() {
        return Err(format!("duration {} is not positive; expected e.g. 30m", req.duration));
    }
    let start = req
        .start
        .to_zoned_datetime(tz)
        .map_err(|e| format!("start {} is not a time in {}: {e}", req.start, req.zone))?;
    let end = start
        .timestamp()
        .checked_add(req.duration)
        .map_err(|e| format!("start plus duration is out of range: {e}"))?;
    let when = |at: Timestamp| -> Result<EventDateTime, String> {
        Ok(EventDateTime {
            date: None,
            date_time: Some(to_chrono(at)?),
            time_zone: Some(req.zone.clone()),
        })
    };
    let mut private = HashMap::from([
        (PROP_MARK.to_string(), "1".to_string()),
        (PROP_TERM.to_string(), req.term.to_string()),
        (PROP_PAIR.to_string(), format!("{}|{}", req.pair.0, req.pair.1)),
    ]);
    if !instance.trim().is_empty() {
        private.insert(PROP_INSTANCE.to_string(), instance.trim().to_string());
    }
    let conference_data = (conference == Conference::GoogleMeet).then(|| ConferenceData {
        create_request: Some(CreateConferenceRequest {
            request_id: Some(conference_request_id(&req.event_id)),
            conference_solution_key: Some(ConferenceSolutionKey {
                type_: Some(MEET.into()),
            }),
            status: None,
        }),
        ..ConferenceData::default()
    });
    Ok(Event {
        id: Some(req.event_id.clone()),
        summary: Some(req.summary.clone()),
        description: Some(req.description.clone()),
        location: req.location.clone(),
        attendees: Some(
            req.attendees
                .iter()
                .map(|a| EventAttendee {
                    email: Some(a.email.clone()),
                    display_name: (!a.name.is_empty()).then(|| a.name.clone()),
                    ..EventAttendee::default()
                })
                .collect(),
        ),
        start: Some(when(start.timestamp())?),
        end: Some(when(end)?),
        recurrence: Some(
            std::iter::once(format!("RRULE:FREQ=WEEKLY;COUNT={}", req.count))
                .chain(exdate_line(req))
                .collect(),
        ),
        extended_properties: Some(EventExtendedProperties {
            private: Some(private),
            shared: None,
        }),
        conference_data,
        ..Event::default()
    })
}

/// The skipped occurrences of a series as one `recurrence` line,
/// `EXDATE;TZID=<zone>:<local start>,...` (RFC 5545; Google expands it in the
/// series' `timeZone` like the rule), or none.
pub(crate) fn exdate_line(req: &SeriesRequest) -> Option<String> {
    if req.skip.is_empty() {
        return None;
    }
    let dates: Vec<String> = req.skip.iter().map(|dt| ical_local(*dt)).collect();
    Some(format!("EXDATE;TZID={}:{}", req.zone, dates.join(",")))
}

fn ical_local(dt: jiff::civil::DateTime) -> String {
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

/// The EXDATEs of `recurrence` as wall-clock starts on `tz`'s clock (a UTC
/// value read on it), within the rule's `count` weeks from `start`.
fn skipped_of(recurrence: &[String], start: &ZonedDateTime, tz: &TimeZone, count: u32) -> Vec<jiff::civil::DateTime> {
    let values = recurrence
        .iter()
        .filter_map(|line| line.strip_prefix("EXDATE"))
        .filter_map(|rest| rest.split_once(':').map(|(_, values)| values));
    crate::calendar::exdate::skipped_starts(values, tz, start.datetime(), count)
}

/// Google's rule for client-supplied ids: base32hex, 5 to 1024 characters.
fn check_event_id(id: &str) -> Result<(), String> {
    let valid_chars = id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9'));
    if !(5..=1024).contains(&id.len()) || !valid_chars {
        return Err(format!(
            "event id {id:?} is not 5 to 1024 characters of base32hex ([a-v0-9])"
        ));
    }
    Ok(())
}

/// Whether `event` is liaison's series for the same pair and term as `req`.
pub(crate) fn same_series(event: &Event, req: &SeriesRequest) -> bool {
    let Some(private) = private_props(event) else {
        return false;
    };
    let pair = private.get(PROP_PAIR).and_then(|p| split_pair(p));
    let term = private.get(PROP_TERM).and_then(|t| t.trim().parse::<Date>().ok());
    let same_pair = pair.is_some_and(|(a, b)| {
        let mut got = [a.to_ascii_lowercase(), b.to_ascii_lowercase()];
        let mut want = [req.pair.0.to_ascii_lowercase(), req.pair.1.to_ascii_lowercase()];
        got.sort();
        want.sort();
        got == want
    });
    private.get(PROP_MARK).is_some_and(|m| m == "1") && same_pair && term == Some(req.term)
}

pub(crate) fn is_cancelled(event: &Event) -> bool {
    event.status.as_deref() == Some("cancelled")
}

/// The series an event stands for: `Ok(None)` for events that are not
/// liaison's series (no mark, or a modified occurrence of a series).
pub(crate) fn series_of(event: &Event) -> Result<Option<BookedSeries>, String> {
    let Some(private) = private_props(event) else {
        return Ok(None);
    };
    if private.get(PROP_MARK).map(String::as_str) != Some("1") || event.recurring_event_id.is_some() {
        return Ok(None);
    }
    let need = |key: &str| {
        private
            .get(key)
            .ok_or_else(|| format!("liaison event without private property {key}"))
    };
    let event_id = event.id.clone().ok_or("liaison event without id")?;
    let term_text = need(PROP_TERM)?;
    let term: Date = term_text
        .trim()
        .parse()
        .map_err(|_| format!("{PROP_TERM} {term_text:?} is not a date; expected YYYY-MM-DD"))?;
    let pair_text = need(PROP_PAIR)?;
    let pair = split_pair(pair_text)
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| format!("{PROP_PAIR} {pair_text:?} is not two emails; expected <email>|<email>"))?;
    let (zone, tz, start) = zoned_start(event)?;
    let end = event
        .end
        .as_ref()
        .and_then(|e| e.date_time)
        .ok_or("liaison event without end.dateTime")?;
    let duration = from_chrono("end.dateTime", end)?.duration_since(start.timestamp());
    let count = count_of(event.recurrence.as_deref().unwrap_or_default(), &start, &tz)?;
    let name_of = |email: &str| {
        event
            .attendees
            .iter()
            .flatten()
            .find(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .and_then(|a| a.display_name.clone())
            .unwrap_or_default()
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
    Ok(Some(BookedSeries {
        request: SeriesRequest {
            event_id,
            term,
            pair,
            attendees,
            summary: event.summary.clone().unwrap_or_default(),
            description: event.description.clone().unwrap_or_default(),
            location: event.location.clone(),
            zone,
            start: start.datetime(),
            duration,
            count,
            skip: skipped_of(event.recurrence.as_deref().unwrap_or_default(), &start, &tz, count),
        },
        active: !is_cancelled(event),
        instance: private
            .get(PROP_INSTANCE)
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .map(str::to_string),
    }))
}

/// A series with what its attendees answered.
pub(crate) fn details_of(event: &Event) -> Result<Option<SeriesDetails>, String> {
    Ok(series_of(event)?.map(|series| SeriesDetails {
        series,
        responses: responses_of(event),
        conference_link: event.hangout_link.clone(),
    }))
}

/// One occurrence from `events.instances`.
pub(crate) fn occurrence_of(event: &Event) -> Result<Occurrence, String> {
    let instance_id = event.id.clone().ok_or("instance without id")?;
    let original_start = event
        .original_start_time
        .as_ref()
        .and_then(|t| t.date_time)
        .ok_or_else(|| format!("instance {instance_id} without originalStartTime.dateTime"))?;
    // Cancelled occurrences come back with little more than their ids.
    let start = event.start.as_ref().and_then(|t| t.date_time);
    let end = event.end.as_ref().and_then(|t| t.date_time);
    let interval = match (start, end) {
        (Some(s), Some(e)) => Some(Interval::new(
            from_chrono("start.dateTime", s)?,
            from_chrono("end.dateTime", e)?,
        )),
        _ => None,
    };
    Ok(Occurrence {
        instance_id,
        original_start: from_chrono("originalStartTime.dateTime", original_start)?,
        interval,
        cancelled: is_cancelled(event),
        responses: responses_of(event),
    })
}

/// The changes one read of `events.list` reports: liaison's series with their
/// answers, changed occurrences of series, ids of deleted events, and the ids
/// of liaison events that cannot be read (logged and skipped, so one damaged
/// event does not stop the cycle).
pub(crate) fn changes_of(items: &[Event], full: bool, next_token: Option<String>) -> Changes {
    let mut changes = Changes {
        full,
        next_token,
        ..Changes::default()
    };
    for item in items {
        match details_of(item) {
            Ok(Some(details)) => changes.series.push(details),
            Ok(None) if item.recurring_event_id.is_some() => match occurrence_of(item) {
                Ok(occurrence) => {
                    let series = item.recurring_event_id.clone().unwrap_or_default();
                    changes.occurrences.push((series, occurrence));
                }
                Err(message) => tracing::warn!(
                    event = item.id.as_deref().unwrap_or("?"),
                    %message,
                    "skipping an occurrence that cannot be read"
                ),
            },
            Ok(None) if is_cancelled(item) && item.recurring_event_id.is_none() => {
                if let Some(id) = &item.id {
                    changes.deleted_ids.push(id.clone());
                }
            }
            Ok(None) => {}
            Err(message) => {
                tracing::warn!(
                    event = item.id.as_deref().unwrap_or("?"),
                    %message,
                    "skipping a liaison event that cannot be read"
                );
                changes.unreadable.extend(item.id.clone());
            }
        }
    }
    changes
}

/// liaison's series among the events of a listing.
pub(crate) fn series_in(items: &[Event]) -> Vec<BookedSeries> {
    let mut out = Vec::new();
    for item in items {
        match series_of(item) {
            Ok(Some(series)) => out.push(series),
            Ok(None) => {}
            // One damaged event must not block rebuilding the state from the
            // others; its pair is safe anyway, as a new insert with the
            // same deterministic id would meet it as a duplicate.
            Err(message) => tracing::warn!(
                event = item.id.as_deref().unwrap_or("?"),
                %message,
                "skipping a liaison event that cannot be read"
            ),
        }
    }
    out
}

/// The body of `events.patch` that ends a series early: its rule replaced by
/// a weekly one whose last occurrence starts at `until` (an instant, written
/// in UTC as Google wants). Only `recurrence` is sent; the merge keeps the
/// rest of the event. liaison's rule is its own `FREQ=WEEKLY;COUNT=n`, so
/// nothing else of it is lost.
pub(crate) fn ended_recurrence(until: Timestamp) -> Event {
    Event {
        recurrence: Some(vec![format!("RRULE:FREQ=WEEKLY;UNTIL={}", ical_utc_until(until))]),
        ..Event::default()
    }
}

/// The body of `events.patch` that moves one occurrence.
pub(crate) fn moved_instance(start: &ZonedDateTime, end: &ZonedDateTime) -> Result<Event, String> {
    let zone = |z: &ZonedDateTime| {
        z.time_zone()
            .iana_name()
            .map(str::to_string)
            .ok_or_else(|| format!("{z} has no IANA time zone; Google needs one"))
    };
    if end.timestamp() <= start.timestamp() {
        return Err(format!("end {end} is not after start {start}"));
    }
    Ok(Event {
        start: Some(EventDateTime {
            date: None,
            date_time: Some(to_chrono(start.timestamp())?),
            time_zone: Some(zone(start)?),
        }),
        end: Some(EventDateTime {
            date: None,
            date_time: Some(to_chrono(end.timestamp())?),
            time_zone: Some(zone(end)?),
        }),
        ..Event::default()
    })
}

fn private_props(event: &Event) -> Option<&HashMap<String, String>> {
    event.extended_properties.as_ref()?.private.as_ref()
}

fn split_pair(text: &str) -> Option<(&str, &str)> {
    let (a, b) = text.trim().split_once('|')?;
    let valid = |e: &str| e.contains('@') && !e.contains('|') && !e.trim().is_empty();
    (valid(a) && valid(b)).then_some((a.trim(), b.trim()))
}

fn responses_of(event: &Event) -> BTreeMap<String, AttendeeResponse> {
    event
        .attendees
        .iter()
        .flatten()
        .filter_map(|a| {
            let response = match a.response_status.as_deref() {
                Some("accepted") => AttendeeResponse::Accepted,
                Some("declined") => AttendeeResponse::Declined,
                Some("tentative") => AttendeeResponse::Tentative,
                _ => AttendeeResponse::NeedsAction,
            };
            Some((a.email.as_deref()?.to_ascii_lowercase(), response))
        })
        .collect()
}

/// The zone name, zone and first start of a series.
fn zoned_start(event: &Event) -> Result<(String, TimeZone, ZonedDateTime), String> {
    let start = event.start.as_ref().ok_or("liaison event without start")?;
    let zone = start
        .time_zone
        .clone()
        .ok_or("liaison event without start.timeZone; a recurring event needs one")?;
    let tz = TimeZone::get(&zone).map_err(|_| format!("start.timeZone {zone:?} is unknown"))?;
    let at = start
        .date_time
        .ok_or("liaison event without start.dateTime (an all-day event?)")?;
    let zoned = from_chrono("start.dateTime", at)?.to_zoned_datetime(tz.clone());
    Ok((zone, tz, zoned))
}

/// Occurrences of the weekly rule: its COUNT, or the weeks up to its UNTIL
/// (Google rewrites COUNT into UNTIL when someone ends a series early).
fn count_of(recurrence: &[String], start: &ZonedDateTime, tz: &TimeZone) -> Result<u32, String> {
    let rule = recurrence
        .iter()
        .find_map(|line| line.strip_prefix("RRULE:"))
        .ok_or("liaison event without an RRULE")?;
    let parts: BTreeMap<&str, &str> = rule.split(';').filter_map(|p| p.split_once('=')).collect();
    if parts.get("FREQ") != Some(&"WEEKLY") {
        return Err(format!("RRULE {rule:?} is not weekly"));
    }
    if let Some(count) = parts.get("COUNT") {
        return count
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("RRULE {rule:?} has COUNT {count:?}; expected a positive number"));
    }
    let until = parts
        .get("UNTIL")
        .ok_or_else(|| format!("RRULE {rule:?} has neither COUNT nor UNTIL"))?;
    let until = parse_until(until, tz).ok_or_else(|| format!("RRULE {rule:?}: UNTIL {until:?} is not a date-time"))?;
    // Weeks are civil weeks in the series' zone, as Google expands them.
    let count = weekly_count_until(start.datetime(), tz, until);
    if count == 0 {
        return Err(format!("RRULE {rule:?} ends before the series starts"));
    }
    Ok(count)
}

fn parse_until(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    let (body, utc) = match text.strip_suffix('Z') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let civil: CivilDateTime = if body.len() == 8 {
        let date = Date::strptime("%Y%m%d", body).ok()?;
        // A date UNTIL includes the whole day.
        date.to_datetime(jiff::civil::Time::MAX)
    } else {
        CivilDateTime::strptime("%Y%m%dT%H%M%S", body).ok()?
    };
    let zone = if utc { TimeZone::UTC } else { tz.clone() };
    civil.to_zoned_datetime(zone).ok().map(|z| z.timestamp())
}

pub(crate) fn to_chrono(at: Timestamp) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().unsigned_abs())
        .ok_or_else(|| format!("{at} is out of Google's range"))
}

/// The instant of Google's `field`; an error names the field.
pub(crate) fn from_chrono(field: &str, at: DateTime<Utc>) -> Result<Timestamp, String> {
    Timestamp::new(at.timestamp(), at.timestamp_subsec_nanos() as i32)
        .map_err(|e| format!("{field} {at} is out of range: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use jiff::civil::{date, datetime};
    use serde_json::{Value, json};

    /// One change to a valid value, for tables of bad cases.
    type Change<T> = fn(&mut T);

    fn request() -> SeriesRequest {
        SeriesRequest {
            event_id: "a0b1c2d3e4f5g6h7i8j9k0l1m2".into(),
            term: date(2026, 3, 2),
            pair: ("ada@example.com".into(), "bob@example.com".into()),
            attendees: [
                Attendee {
                    email: "ada@example.com".into(),
                    name: "Ada Lovelace".into(),
                },
                Attendee {
                    email: "bob@example.com".into(),
                    name: "Bob Okafor".into(),
                },
            ],
            summary: "Connection: Ada (Finance) & Bob (Sales)".into(),
            description: "Agenda:\n- goals".into(),
            location: Some("Room 4".into()),
            zone: "America/New_York".into(),
            // The first occurrence is before the US DST change of 2026-03-08.
            start: datetime(2026, 3, 2, 9, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
            skip: Vec::new(),
        }
    }

    /// The `calendar.instance` of the tests' installation.
    const INSTANCE: &str = "hq-liaison";

    fn body(req: &SeriesRequest, conference: Conference) -> Value {
        body_of(req, conference, INSTANCE)
    }

    fn body_of(req: &SeriesRequest, conference: Conference, instance: &str) -> Value {
        let mut value = serde_json::to_value(event_for(req, conference, instance).unwrap()).unwrap();
        // What the crate sends: nulls are removed before the request.
        google_calendar3::common::remove_json_null_values(&mut value);
        value
    }

    #[test]
    fn the_insert_body_carries_exactly_the_managed_fields() {
        assert_eq!(
            body(&request(), Conference::None),
            json!({
                "id": "a0b1c2d3e4f5g6h7i8j9k0l1m2",
                "summary": "Connection: Ada (Finance) & Bob (Sales)",
                "description": "Agenda:\n- goals",
                "location": "Room 4",
                "attendees": [
                    {"email": "ada@example.com", "displayName": "Ada Lovelace"},
                    {"email": "bob@example.com", "displayName": "Bob Okafor"},
                ],
                // 09:00 EST is 14:00Z; the zone makes Google expand the rule in
                // New York, so later weeks stay at 09:00 local after DST.
                "start": {"dateTime": "2026-03-02T14:00:00Z", "timeZone": "America/New_York"},
                "end": {"dateTime": "2026-03-02T14:30:00Z", "timeZone": "America/New_York"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
                "extendedProperties": {"private": {
                    "liaison": "1",
                    "liaison_term": "2026-03-02",
                    "liaison_pair": "ada@example.com|bob@example.com",
                    "liaison_instance": "hq-liaison",
                }},
            })
        );
    }

    #[test]
    fn meet_asks_for_a_conference_whose_request_id_follows_from_the_event_id() {
        // The whole body, so that Meet adds conferenceData and changes nothing else.
        assert_eq!(
            body(&request(), Conference::GoogleMeet),
            json!({
                "id": "a0b1c2d3e4f5g6h7i8j9k0l1m2",
                "summary": "Connection: Ada (Finance) & Bob (Sales)",
                "description": "Agenda:\n- goals",
                "location": "Room 4",
                "attendees": [
                    {"email": "ada@example.com", "displayName": "Ada Lovelace"},
                    {"email": "bob@example.com", "displayName": "Bob Okafor"},
                ],
                "start": {"dateTime": "2026-03-02T14:00:00Z", "timeZone": "America/New_York"},
                "end": {"dateTime": "2026-03-02T14:30:00Z", "timeZone": "America/New_York"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
                "extendedProperties": {"private": {
                    "liaison": "1",
                    "liaison_term": "2026-03-02",
                    "liaison_pair": "ada@example.com|bob@example.com",
                    "liaison_instance": "hq-liaison",
                }},
                "conferenceData": {"createRequest": {
                    "requestId": "liaison-a0b1c2d3e4f5g6h7i8j9k0l1m2",
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }},
            })
        );
        // Another series asks for another conference.
        let mut other = request();
        other.event_id = "v9u8t7s6r5q4p3o2n1m0l9k8j7".into();
        assert_eq!(
            body(&other, Conference::GoogleMeet)["conferenceData"]["createRequest"]["requestId"],
            "liaison-v9u8t7s6r5q4p3o2n1m0l9k8j7"
        );
    }

    #[test]
    fn without_a_location_none_is_sent() {
        let mut req = request();
        req.location = None;
        let value = body(&req, Conference::None);
        assert!(value.get("location").is_none(), "{value}");
        // Only the location is missing.
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attendees",
                "description",
                "end",
                "extendedProperties",
                "id",
                "recurrence",
                "start",
                "summary"
            ]
        );
    }

    /// Every key of the body exists in Google's discovery document (the
    /// schemas liaison sends, copied from `google-calendar-v3-discovery.json`).
    #[test]
    fn every_field_sent_is_in_the_discovery_document() {
        let discovery: Value = serde_json::from_str(include_str!("testdata/discovery-subset.json")).unwrap();
        fn check(value: &Value, schema: &Value, schemas: &Value, at: &str) {
            let schema = match schema.get("$ref").and_then(Value::as_str) {
                Some(name) => &schemas[name],
                None => schema,
            };
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        let sub = schema
                            .get("properties")
                            .and_then(|p| p.get(key))
                            .or_else(|| schema.get("additionalProperties"));
                        let Some(sub) = sub else {
                            panic!("{at}.{key} is not in the discovery document");
                        };
                        check(v, sub, schemas, &format!("{at}.{key}"));
                    }
                }
                Value::Array(items) => {
                    assert_eq!(schema["type"], "array", "{at}");
                    for v in items {
                        check(v, &schema["items"], schemas, &format!("{at}[]"));
                    }
                }
                Value::String(_) => assert_eq!(schema["type"], "string", "{at}"),
                other => panic!("{at}: unexpected {other}"),
            }
        }
        let schemas = &discovery["schemas"];
        let value = body(&request(), Conference::GoogleMeet);
        check(&value, &schemas["Event"], schemas, "Event");
        let start = &schemas["EventDateTime"]["properties"]["dateTime"];
        assert_eq!(start["format"], "date-time");
        assert_eq!(value["start"]["dateTime"], "2026-03-02T14:00:00Z", "RFC 3339");
    }

    #[test]
    fn bad_requests_are_refused_before_sending() {
        let cases: [(Change<SeriesRequest>, &str); 5] = [
            (|r| r.event_id = "abc".into(), "base32hex"),
            (|r| r.event_id = "UPPERCASE00".into(), "base32hex"),
            (|r| r.zone = "Mars/Base".into(), "time zone \"Mars/Base\" is unknown"),
            (|r| r.count = 0, "count is 0"),
            (|r| r.duration = SignedDuration::ZERO, "not positive"),
        ];
        for (change, expected) in cases {
            let mut req = request();
            change(&mut req);
            let err = event_for(&req, Conference::None, INSTANCE).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    /// What Google returns for the series of [`request`], written out by hand
    /// (not derived from `event_for`, so that reading is checked on its own):
    /// dateTimes in the zone's offset, and fields Google adds.
    fn as_returned() -> Event {
        returned_with(INSTANCE)
    }

    /// [`as_returned`], written by the installation `instance` (no marker when
    /// it is empty).
    fn returned_with(instance: &str) -> Event {
        let mut value = json!({
            "kind": "calendar#event",
            "id": "a0b1c2d3e4f5g6h7i8j9k0l1m2",
            "status": "confirmed",
            "summary": "Connection: Ada (Finance) & Bob (Sales)",
            "description": "Agenda:\n- goals",
            "location": "Room 4",
            "organizer": {"email": "org@example.com", "self": true},
            "attendees": [
                {"email": "ada@example.com", "displayName": "Ada Lovelace", "responseStatus": "accepted"},
                {"email": "bob@example.com", "displayName": "Bob Okafor", "responseStatus": "declined"},
            ],
            "start": {"dateTime": "2026-03-02T09:00:00-05:00", "timeZone": "America/New_York"},
            "end": {"dateTime": "2026-03-02T09:30:00-05:00", "timeZone": "America/New_York"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
            "extendedProperties": {"private": {
                "liaison": "1",
                "liaison_term": "2026-03-02",
                "liaison_pair": "ada@example.com|bob@example.com",
            }},
            "hangoutLink": "https://meet.google.com/abc-defg-hij",
        });
        if !instance.is_empty() {
            value["extendedProperties"]["private"]["liaison_instance"] = json!(instance);
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_created_event_reads_back_as_the_same_request() {
        let req = request();
        let series = series_of(&as_returned()).unwrap().unwrap();
        assert_eq!(
            series,
            BookedSeries {
                request: req.clone(),
                active: true,
                instance: Some(INSTANCE.into()),
            }
        );
        let details = details_of(&as_returned()).unwrap().unwrap();
        assert_eq!(details.responses["ada@example.com"], AttendeeResponse::Accepted);
        assert_eq!(details.responses["bob@example.com"], AttendeeResponse::Declined);
        assert_eq!(
            details.conference_link.as_deref(),
            Some("https://meet.google.com/abc-defg-hij")
        );
        let mut cancelled = as_returned();
        cancelled.status = Some("cancelled".into());
        assert!(!series_of(&cancelled).unwrap().unwrap().active);
    }

    #[test]
    fn an_event_without_the_instance_marker_reads_back_without_an_instance() {
        let req = request();
        let unmarked = body_of(&req, Conference::None, "");
        assert!(
            unmarked["extendedProperties"]["private"].get(PROP_INSTANCE).is_none(),
            "an empty instance writes no marker"
        );
        // Events written before markers existed, and one whose marker is blank.
        let mut blank = returned_with(INSTANCE);
        let props = blank.extended_properties.as_mut().unwrap().private.as_mut().unwrap();
        props.insert(PROP_INSTANCE.into(), "  ".into());
        for event in [returned_with(""), blank] {
            let series = series_of(&event).unwrap().unwrap();
            assert_eq!(series.instance, None);
            assert_eq!(series.request, req, "the rest reads back the same");
        }
    }

    #[test]
    fn the_same_series_is_recognized_whatever_instance_wrote_it() {
        // The id does not include the instance: another installation's event
        // for the same pair and term is still "that series" (whether it is
        // adopted is decided by the caller, from `BookedSeries::instance`).
        let req = request();
        assert!(same_series(&returned_with("other-office"), &req));
        assert!(same_series(&returned_with(""), &req));
        let other = series_of(&returned_with("other-office")).unwrap().unwrap();
        assert_eq!(other.instance.as_deref(), Some("other-office"));
    }

    #[test]
    fn ending_early_sends_only_a_weekly_rule_until_the_last_kept_start() {
        let until: Timestamp = "2026-03-09T13:00:00Z".parse().unwrap();
        let mut value = serde_json::to_value(ended_recurrence(until)).unwrap();
        google_calendar3::common::remove_json_null_values(&mut value);
        assert_eq!(
            value,
            json!({"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20260309T130000Z"]})
        );
        // Read back, the series has the two occurrences up to UNTIL.
        let mut ended = as_returned();
        ended.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20260309T130000Z".into()]);
        assert_eq!(series_of(&ended).unwrap().unwrap().request.count, 2);
        // A fraction of a second rounds up, never cutting the last occurrence.
        let fraction: Timestamp = "2026-03-09T13:00:00.25Z".parse().unwrap();
        assert_eq!(
            ended_recurrence(fraction).recurrence.unwrap(),
            ["RRULE:FREQ=WEEKLY;UNTIL=20260309T130001Z"]
        );
    }

    #[test]
    fn events_that_are_not_liaison_series_are_skipped() {
        let req = request();
        let mut foreign = as_returned();
        foreign.extended_properties = None;
        assert_eq!(series_of(&foreign).unwrap(), None);
        let mut exception = as_returned();
        exception.recurring_event_id = Some(req.event_id.clone());
        assert_eq!(
            series_of(&exception).unwrap(),
            None,
            "a moved occurrence is not a series"
        );
    }

    #[test]
    fn skipped_weeks_go_into_the_recurrence_as_one_exdate_and_read_back() {
        let mut req = request();
        req.skip = vec![datetime(2026, 3, 9, 9, 0, 0, 0), datetime(2026, 3, 16, 9, 0, 0, 0)];
        let event = event_for(&req, Conference::None, "hq-liaison").unwrap();
        assert_eq!(
            event.recurrence.clone().unwrap(),
            [
                "RRULE:FREQ=WEEKLY;COUNT=4",
                "EXDATE;TZID=America/New_York:20260309T090000,20260316T090000"
            ]
        );
        assert_eq!(series_of(&event).unwrap().unwrap().request, req);
        // A UTC EXDATE (as another client may write) is read on the zone's clock.
        let mut utc = event.clone();
        utc.recurrence = Some(vec![
            "RRULE:FREQ=WEEKLY;COUNT=4".into(),
            "EXDATE:20260309T130000Z".into(),
        ]);
        assert_eq!(
            series_of(&utc).unwrap().unwrap().request.skip,
            [datetime(2026, 3, 9, 9, 0, 0, 0)]
        );
    }

    #[test]
    fn a_series_ended_early_counts_its_weeks_up_to_until() {
        let mut ended = as_returned();
        // Ended after the third occurrence (2026-03-16 09:00 EDT = 13:00Z).
        ended.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20260316T130000Z".into()]);
        assert_eq!(series_of(&ended).unwrap().unwrap().request.count, 3);
        ended.recurrence = Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20260309".into()]);
        assert_eq!(series_of(&ended).unwrap().unwrap().request.count, 2);
    }

    #[test]
    fn damaged_liaison_events_are_reported() {
        let cases: [(Change<Event>, &str); 5] = [
            (|e| e.recurrence = None, "without an RRULE"),
            (
                |e| e.recurrence = Some(vec!["RRULE:FREQ=DAILY;COUNT=3".into()]),
                "is not weekly",
            ),
            (|e| e.start.as_mut().unwrap().time_zone = None, "without start.timeZone"),
            (
                |e| {
                    let p = e.extended_properties.as_mut().unwrap().private.as_mut().unwrap();
                    p.insert(PROP_PAIR.into(), "just-one".into());
                },
                "is not two emails",
            ),
            (
                |e| {
                    let p = e.extended_properties.as_mut().unwrap().private.as_mut().unwrap();
                    p.remove(PROP_TERM);
                },
                "without private property liaison_term",
            ),
        ];
        for (damage, expected) in cases {
            let mut event = as_returned();
            damage(&mut event);
            let err = series_of(&event).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn the_same_series_is_recognized_by_pair_and_term_only() {
        let req = request();
        let existing = as_returned();
        assert!(same_series(&existing, &req));
        let mut swapped = req.clone();
        swapped.pair = ("Bob@Example.com".into(), "ada@example.com".into());
        assert!(same_series(&existing, &swapped), "order and case do not matter");
        let mut other_term = req.clone();
        other_term.term = date(2026, 3, 30);
        assert!(!same_series(&existing, &other_term));
        let mut other_pair = req.clone();
        other_pair.pair.1 = "cy@example.com".into();
        assert!(!same_series(&existing, &other_pair));
    }

    #[test]
    fn occurrences_read_their_times_and_answers() {
        let value = json!({
            "id": "a0b1c2d3e4f5g6h7i8j9k0l1m2_20260309T130000Z",
            "recurringEventId": "a0b1c2d3e4f5g6h7i8j9k0l1m2",
            "originalStartTime": {"dateTime": "2026-03-09T09:00:00-04:00", "timeZone": "America/New_York"},
            "start": {"dateTime": "2026-03-10T10:00:00-04:00", "timeZone": "America/New_York"},
            "end": {"dateTime": "2026-03-10T10:30:00-04:00", "timeZone": "America/New_York"},
            "status": "confirmed",
            "attendees": [{"email": "Ada@example.com", "responseStatus": "tentative"}],
        });
        let o = occurrence_of(&serde_json::from_value(value).unwrap()).unwrap();
        assert_eq!(o.original_start, "2026-03-09T13:00:00Z".parse().unwrap());
        assert_eq!(
            o.interval,
            Some(Interval::new(
                "2026-03-10T14:00:00Z".parse().unwrap(),
                "2026-03-10T14:30:00Z".parse().unwrap()
            ))
        );
        assert!(!o.cancelled);
        assert_eq!(o.responses["ada@example.com"], AttendeeResponse::Tentative);
        let cancelled = json!({
            "id": "x_20260316T130000Z", "status": "cancelled",
            "originalStartTime": {"dateTime": "2026-03-16T13:00:00Z"},
        });
        let o = occurrence_of(&serde_json::from_value(cancelled).unwrap()).unwrap();
        assert!(o.cancelled && o.interval.is_none());
    }

    /// Found by the fuzz tests (tests/fuzz): an instant past jiff's range
    /// (chrono's is wider) was refused without naming its field.
    #[test]
    fn an_instant_out_of_range_names_its_field() {
        let far = json!({"dateTime": "9999-12-31T23:59:59Z", "timeZone": "America/New_York"});
        let mut series = serde_json::to_value(as_returned()).unwrap();
        series["start"] = far.clone();
        let err = series_of(&serde_json::from_value(series).unwrap()).unwrap_err();
        assert!(
            err.starts_with("start.dateTime 9999-12-31 23:59:59 UTC is out of range"),
            "{err}"
        );
        let occurrence = json!({"id": "x_1", "originalStartTime": far});
        let err = occurrence_of(&serde_json::from_value(occurrence).unwrap()).unwrap_err();
        assert!(err.starts_with("originalStartTime.dateTime "), "{err}");
    }

    #[test]
    fn a_moved_instance_carries_its_zone() {
        let tz = TimeZone::get("Europe/Paris").unwrap();
        let start = datetime(2026, 3, 31, 10, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .unwrap();
        let end = datetime(2026, 3, 31, 10, 30, 0, 0).to_zoned_datetime(tz).unwrap();
        let mut value = serde_json::to_value(moved_instance(&start, &end).unwrap()).unwrap();
        google_calendar3::common::remove_json_null_values(&mut value);
        assert_eq!(
            value,
            json!({
                "start": {"dateTime": "2026-03-31T08:00:00Z", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2026-03-31T08:30:00Z", "timeZone": "Europe/Paris"},
            })
        );
        assert!(moved_instance(&end, &start).is_err());
    }
}

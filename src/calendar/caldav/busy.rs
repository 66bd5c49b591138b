//! Busy time, in the way `calendar.caldav.busy` names:
//! - `free-busy-query` (RFC 4791 §7.10): one REPORT per person on their
//!   calendar, answered with a VFREEBUSY; needs only read-free-busy.
//! - `calendar-query` (RFC 4791 §7.8): the events in the range, recurrences
//!   expanded by the server; read like a person's file by the local
//!   provider's reader (`busy_from_ics`: transparent, cancelled and declined
//!   events are free).
//! - `schedule-outbox` (RFC 6638 §5): one POST of a VFREEBUSY request for up
//!   to [`OUTBOX_BATCH`] people to the organizer's outbox; each recipient is
//!   answered with a status and a VFREEBUSY.
//!
//! `FBTYPE=BUSY` (the default), `BUSY-TENTATIVE` and `BUSY-UNAVAILABLE` are
//! busy; `FREE` is not (DESIGN §5c). What concerns one person (a calendar
//! that is missing or not readable, a recipient the server cannot answer
//! for) is that person's answer; a failure of the server is everyone's.

use icalendar::parser::{read_calendar, unfold};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};

use crate::core::interval::{Interval, IntervalSet};

/// Most recipients of one outbox request.
pub const OUTBOX_BATCH: usize = 50;

/// A UTC date-time `YYYYMMDDTHHMMSSZ`.
pub fn parse_utc(text: &str) -> Option<Timestamp> {
    let t = text.trim().strip_suffix('Z')?;
    let dt: jiff::civil::DateTime = jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", t).ok()?.to_datetime().ok()?;
    dt.to_zoned_datetime(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// An RFC 5545 duration (`PT30M`, `P1D`, `P1W`), days as 24 hours (busy
/// periods are in UTC).
fn parse_duration(text: &str) -> Option<SignedDuration> {
    let span: Span = text.trim().parse().ok()?;
    span.to_duration(SpanRelativeTo::days_are_24_hours()).ok()
}

/// One FREEBUSY period, `start/end` or `start/duration`.
fn parse_period(text: &str) -> Option<Interval> {
    let (start, end) = text.split_once('/')?;
    let start = parse_utc(start)?;
    let end = match parse_utc(end) {
        Some(end) => end,
        None => start.checked_add(parse_duration(end)?).ok()?,
    };
    (start <= end).then(|| Interval::new(start, end))
}

/// The busy time of every VFREEBUSY in an iCalendar text, inside `range`.
/// `Err` says what cannot be read.
pub fn busy_from_vfreebusy(text: &str, range: Interval) -> Result<IntervalSet, String> {
    let unfolded = unfold(text);
    let calendar = read_calendar(&unfolded).map_err(|e| format!("the free/busy answer is not iCalendar: {e}"))?;
    let mut spans = Vec::new();
    let mut seen = false;
    for component in calendar.components.iter().filter(|c| c.name == "VFREEBUSY") {
        seen = true;
        for prop in component.properties.iter().filter(|p| p.name == "FREEBUSY") {
            let fbtype = prop
                .params
                .iter()
                .find(|p| p.key.as_str().eq_ignore_ascii_case("FBTYPE"))
                .and_then(|p| p.val.as_ref())
                .map_or("BUSY".to_string(), |v| v.as_str().trim().to_ascii_uppercase());
            if fbtype == "FREE" {
                continue;
            }
            for period in prop.val.as_str().split(',') {
                let span = parse_period(period)
                    .ok_or_else(|| format!("FREEBUSY period {period:?} is not start/end or start/duration in UTC"))?;
                spans.extend(span.intersection(&range));
            }
        }
    }
    if !seen {
        return Err("the free/busy answer holds no VFREEBUSY".into());
    }
    Ok(spans.into_iter().collect())
}

/// The body of an outbox request: a VFREEBUSY asking for `addresses`'
/// busy time in `range` (RFC 6638 §5, RFC 5546 §3.3.2).
pub fn outbox_request(organizer: &str, addresses: &[String], range: Interval, uid: &str, now: Timestamp) -> String {
    let mut out = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//liaison//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n",
    );
    out.push_str(&format!("UID:{uid}\r\n"));
    out.push_str(&format!("DTSTAMP:{}\r\n", super::xml::utc(now)));
    out.push_str(&format!("DTSTART:{}\r\n", super::xml::utc(range.start)));
    out.push_str(&format!("DTEND:{}\r\n", super::xml::utc(range.end)));
    out.push_str(&format!("ORGANIZER:mailto:{organizer}\r\n"));
    for address in addresses {
        out.push_str(&format!("ATTENDEE:mailto:{address}\r\n"));
    }
    out.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn range() -> Interval {
        Interval::new(ts("2026-12-01T00:00:00Z"), ts("2026-12-31T00:00:00Z"))
    }

    fn spans(set: &IntervalSet) -> Vec<(String, String)> {
        set.spans()
            .iter()
            .map(|i| (i.start.to_string(), i.end.to_string()))
            .collect()
    }

    #[test]
    fn radicale_and_xandikos_answers_read_the_same() {
        // As the two servers answered a free-busy-query (Radicale names the
        // type, Xandikos writes VALUE=PERIOD and leaves it to the default).
        let radicale = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nDTSTART:20261201T000000Z\r\n\
                        DTEND:20261231T000000Z\r\nFREEBUSY;FBTYPE=BUSY:20261207T090000Z/20261207T093000Z\r\n\
                        FREEBUSY;FBTYPE=BUSY:20261214T090000Z/20261214T093000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let xandikos = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nDTEND:20261231T000000Z\r\n\
                        FREEBUSY;VALUE=PERIOD:20261207T090000Z/20261207T093000Z\r\n\
                        FREEBUSY;VALUE=PERIOD:20261214T090000Z/PT30M\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        for text in [radicale, xandikos] {
            let busy = busy_from_vfreebusy(text, range()).unwrap();
            assert_eq!(
                spans(&busy),
                [
                    ("2026-12-07T09:00:00Z".into(), "2026-12-07T09:30:00Z".into()),
                    ("2026-12-14T09:00:00Z".into(), "2026-12-14T09:30:00Z".into())
                ]
            );
        }
    }

    #[test]
    fn free_periods_are_not_busy_and_the_other_types_are() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\n\
                    FREEBUSY;FBTYPE=FREE:20261201T080000Z/20261201T170000Z\r\n\
                    FREEBUSY;FBTYPE=BUSY-TENTATIVE:20261202T090000Z/PT1H,20261203T090000Z/PT1H\r\n\
                    FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20261204T000000Z/P1D\r\n\
                    FREEBUSY:20261130T230000Z/20261201T010000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let busy = busy_from_vfreebusy(text, range()).unwrap();
        assert_eq!(
            spans(&busy),
            [
                ("2026-12-01T00:00:00Z".into(), "2026-12-01T01:00:00Z".into()),
                ("2026-12-02T09:00:00Z".into(), "2026-12-02T10:00:00Z".into()),
                ("2026-12-03T09:00:00Z".into(), "2026-12-03T10:00:00Z".into()),
                ("2026-12-04T00:00:00Z".into(), "2026-12-05T00:00:00Z".into()),
            ],
            "clipped to the range; FREE left out"
        );
    }

    #[test]
    fn what_cannot_be_read_is_an_error() {
        let bad = "BEGIN:VCALENDAR\r\nBEGIN:VFREEBUSY\r\nFREEBUSY:20261207T090000/20261207T093000\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        assert!(busy_from_vfreebusy(bad, range()).unwrap_err().contains("in UTC"));
        let none = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
        assert!(busy_from_vfreebusy(none, range()).unwrap_err().contains("no VFREEBUSY"));
    }

    #[test]
    fn an_outbox_request_names_everyone_in_utc() {
        let body = outbox_request(
            "liaison@example.com",
            &["ana@example.com".into(), "ben@example.com".into()],
            range(),
            "fb-1",
            ts("2026-11-30T12:00:00Z"),
        );
        for line in [
            "METHOD:REQUEST",
            "DTSTART:20261201T000000Z",
            "DTEND:20261231T000000Z",
            "ORGANIZER:mailto:liaison@example.com",
            "ATTENDEE:mailto:ben@example.com",
        ] {
            assert!(body.contains(&format!("{line}\r\n")), "{line}: {body}");
        }
    }
}

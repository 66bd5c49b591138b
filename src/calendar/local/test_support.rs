//! Helpers shared by the tests of this folder: calendars built line by line,
//! busy time read from them, a series request and a provider in a directory.

use std::fs;
use std::path::Path;

use jiff::civil::{date, datetime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::{LocalProvider, busy_from_ics};
use crate::calendar::{Attendee, SeriesRequest};
use crate::core::interval::{Interval, IntervalSet};

pub(super) const OWNER: &str = "ada@example.com";

/// Lines joined with CRLF, as exports write them.
pub(super) fn ics(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// A calendar holding one VEVENT with `props` (after its UID line).
pub(super) fn one_event(props: &[&str]) -> String {
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

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(super) fn range(a: &str, b: &str) -> Interval {
    Interval::new(ts(a), ts(b))
}

pub(super) fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

pub(super) fn spans_of(set: &IntervalSet) -> Vec<(String, String)> {
    set.spans()
        .iter()
        .map(|s| (s.start.to_string(), s.end.to_string()))
        .collect()
}

pub(super) fn busy_for(text: &str, owner_zone: &str, r: Interval) -> Vec<(String, String)> {
    let set = busy_from_ics(text, "ada.ics", OWNER, &zone(owner_zone), r).unwrap_or_else(|e| panic!("{e}"));
    spans_of(&set)
}

/// Busy time in March 2026, owner in UTC.
pub(super) fn march(text: &str) -> Vec<(String, String)> {
    busy_for(text, "UTC", range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
}

pub(super) fn span(a: &str, b: &str) -> (String, String) {
    (ts(a).to_string(), ts(b).to_string())
}

pub(super) fn january(text: &str) -> Vec<(String, String)> {
    busy_for(text, "UTC", range("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"))
}

pub(super) fn request(id: &str) -> SeriesRequest {
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
        skip: Vec::new(),
    }
}

pub(super) fn provider(dir: &Path) -> LocalProvider {
    LocalProvider::new(dir, "liaison@example.com")
}

pub(super) fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

//! Google's JSON answers, read by `calendar::google::answers` exactly as the
//! provider reads them: `events.list` pages (a cycle's changes, the series
//! listed), `events.get`, `events.instances`, `freeBusy.query`, error
//! bodies, and the token endpoint's answer to a refresh.
//!
//! Properties: no panic; memory and time within the harness' bounds; busy
//! time inside the asked range; a refusal names where in the answer it is
//! (a line of the JSON, or the field: `start`, `RRULE`, `liaison_pair`, ...);
//! a token answer's secrets never appear in a message.

use std::path::Path;
use std::sync::LazyLock;

use jiff::Timestamp;
use liaison::calendar::google::answers;
use liaison::core::interval::Interval;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use crate::harness::{bounded, fuzz};
use crate::mutate::{Doc, Format, json_doc, json_nest};

const EVENTS_SEED: &str = include_str!("seeds/google-events.json");

/// Keys and values of Google's event JSON, for the line-level mutations.
const LINES: &[&str] = &[
    "\"items\": [],",
    "\"items\": null,",
    "\"nextPageToken\": \"\",",
    "\"recurringEventId\": \"212ip8fjpdald1gg0qtqsibgrn\",",
    "\"status\": \"cancelled\",",
    "\"start\": {\"dateTime\": \"9999-12-31T23:59:59Z\", \"timeZone\": \"Etc/GMT-14\"},",
    "\"end\": {\"dateTime\": \"0001-01-01T00:00:00Z\"},",
    "\"recurrence\": [\"RRULE:FREQ=WEEKLY;COUNT=4294967295\"],",
    "\"recurrence\": [\"RRULE:FREQ=WEEKLY;UNTIL=99991231\"],",
    "\"recurrence\": [\"RRULE:FREQ=WEEKLY;UNTIL=00010101T000000Z\"],",
    "\"extendedProperties\": {\"private\": {\"liaison\": \"1\"}},",
    "\"liaison_term\": \"9999-12-31\",",
    "\"liaison_pair\": \"|\",",
    "\"attendees\": [{}],",
    "\"busy\": [{\"start\": \"2026-03-02T09:00:00Z\"}],",
    "\"errors\": [{\"reason\": \"\u{202e}\"}],",
    "\"error\": {\"code\": 65536},",
    "\"expires_in\": 9223372036854775807,",
    "\"token_type\": \"MAC\",",
];

const VALUES: &[&str] = &[
    " \"2026-03-09T09:00:00-04:00\"",
    " \"2026-03-09\"",
    " \"+275760-09-13T00:00:00Z\"",
    " \"-0001-01-01T00:00:00Z\"",
    " \"2026-02-30T00:00:00Z\"",
    " \"America/New_York\"",
    " \"Nowhere/City\"",
    " \"RRULE:FREQ=WEEKLY;COUNT=0\"",
    " 1e999",
    " -9223372036854775809",
    " 18446744073709551615",
    " {}",
    " []",
    " null",
    " \"\"",
];

static EVENTS: Format = Format {
    seeds: &[EVENTS_SEED, include_str!("seeds/google-instances.json")],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

/// Each event of the listing seed, alone: what `events.get` answers.
static EVENT: LazyLock<Format> = LazyLock::new(|| {
    let page: Value = serde_json::from_str(EVENTS_SEED).unwrap();
    let items: Vec<&'static str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &*Box::leak(serde_json::to_string_pretty(item).unwrap().into_boxed_str()))
        .collect();
    Format {
        seeds: Box::leak(items.into_boxed_slice()),
        lines: LINES,
        values: VALUES,
        separator: b':',
        nest: json_nest,
    }
});

static FREEBUSY: Format = Format {
    seeds: &[include_str!("seeds/google-freebusy.json")],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

static ERROR: Format = Format {
    seeds: &[
        include_str!("seeds/google-error.json"),
        include_str!("seeds/token-refused.json"),
    ],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

static TOKEN: Format = Format {
    seeds: &[
        include_str!("seeds/token-granted.json"),
        include_str!("seeds/token-refused.json"),
    ],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

/// Words that place a problem in an answer: a line of the JSON, or a field
/// of an event.
const PLACES: &[&str] = &[
    "line ",
    "(empty body)",
    "private property",
    "liaison_term",
    "liaison_pair",
    "without id",
    "start",
    "end.dateTime",
    "RRULE",
    "originalStartTime",
];

fn check_message(what: &str, message: &str) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "{}: an empty message", what);
    prop_assert!(
        PLACES.iter().any(|p| message.contains(p)),
        "{}: the message names no line or field: {}",
        what,
        message
    );
    Ok(())
}

fn range() -> Interval {
    Interval::new(
        "2026-03-02T00:00:00Z".parse::<Timestamp>().unwrap(),
        "2026-04-13T00:00:00Z".parse::<Timestamp>().unwrap(),
    )
}

#[test]
fn the_seeds_are_read() {
    let changes = answers::events_page(EVENTS_SEED.as_bytes()).unwrap();
    assert_eq!(changes.series.len(), 2);
    assert_eq!(changes.occurrences.len(), 2);
    assert_eq!(changes.deleted_ids.len(), 1);
    assert_eq!(answers::series_page(EVENTS_SEED.as_bytes()).unwrap().len(), 2);
    assert!(answers::event(EVENT.seeds[0].as_bytes()).unwrap().is_some());
    let instances = answers::instances_page(EVENTS.seeds[1].as_bytes()).unwrap();
    assert_eq!(instances.len(), 2);
    let emails: Vec<String> = [
        "ada.okafor@example.org",
        "elena.cohen@example.org",
        "bruno.tanaka@example.org",
    ]
    .map(String::from)
    .to_vec();
    let busy = answers::free_busy(FREEBUSY.seeds[0].as_bytes(), &emails, range()).unwrap();
    assert_eq!(busy[&emails[0]].as_ref().unwrap().spans().len(), 3);
    assert!(busy[&emails[2]].is_err());
    let failure = answers::failure(403, ERROR.seeds[0].as_bytes());
    assert!(failure.contains("rateLimitExceeded"), "{failure}");
    answers::token_refresh(200, TOKEN.seeds[0].as_bytes(), Path::new("client.json")).unwrap();
    let refused = answers::token_refresh(400, TOKEN.seeds[1].as_bytes(), Path::new("client.json")).unwrap_err();
    assert!(refused.to_string().contains("invalid_grant"), "{refused}");
}

#[test]
fn event_listings() {
    fuzz("google events.list", json_doc(&EVENTS, 2), |Doc(body)| {
        let (changes, series) = bounded("events.list", body.len(), || {
            (answers::events_page(&body), answers::series_page(&body))
        });
        match (changes, series) {
            (Ok(changes), Ok(series)) => {
                // The same events, read for a cycle and for a listing.
                prop_assert_eq!(changes.series.len(), series.len());
                Ok(true)
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(&a, &b);
                check_message("events.list", &a).map(|()| false)
            }
            (a, b) => Err(TestCaseError::fail(format!("read differently: {a:?} / {b:?}"))),
        }
    });
}

#[test]
fn single_events() {
    fuzz("google events.get", json_doc(&EVENT, 2), |Doc(body)| {
        match bounded("events.get", body.len(), || answers::event(&body)) {
            Ok(_) => Ok(true),
            Err(message) => check_message("events.get", &message).map(|()| false),
        }
    });
}

#[test]
fn instance_listings() {
    fuzz(
        "google events.instances",
        json_doc(&EVENTS, 2),
        |Doc(body)| match bounded("events.instances", body.len(), || answers::instances_page(&body)) {
            Ok(_) => Ok(true),
            Err(message) => check_message("events.instances", &message).map(|()| false),
        },
    );
}

#[test]
fn free_busy_answers() {
    let emails: Vec<String> = [
        "ada.okafor@example.org",
        "elena.cohen@example.org",
        "bruno.tanaka@example.org",
    ]
    .map(String::from)
    .to_vec();
    let r = range();
    fuzz(
        "google freeBusy.query",
        json_doc(&FREEBUSY, 2),
        |Doc(body)| match bounded("freeBusy.query", body.len(), || answers::free_busy(&body, &emails, r)) {
            Ok(answers) => {
                prop_assert_eq!(answers.len(), emails.len());
                for busy in answers.values().flatten() {
                    for span in busy.spans() {
                        prop_assert!(r.start <= span.start && span.end <= r.end, "{:?}", span);
                    }
                }
                Ok(true)
            }
            Err(message) => check_message("freeBusy.query", &message).map(|()| false),
        },
    );
}

#[test]
fn error_answers() {
    let status = select(vec![400u16, 401, 403, 404, 409, 410, 412, 429, 500, 502, 503]);
    fuzz("google errors", (status, json_doc(&ERROR, 2)), |(status, Doc(body))| {
        let message = bounded("an error answer", body.len(), || answers::failure(status, &body));
        prop_assert!(!message.trim().is_empty());
        Ok(false)
    });
}

/// Strings of `body` (a JSON object) under `keys`, when it is one.
fn fields(body: &[u8], keys: &[&str]) -> Vec<String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    keys.iter().filter_map(|k| map.get(*k).map(|v| v.to_string())).collect()
}

#[test]
fn token_answers() {
    let status = select(vec![200u16, 201, 204, 302, 400, 401, 403, 429, 500, 503]);
    let client = Path::new("/etc/liaison/client_secret.json");
    fuzz(
        "google token refresh",
        (status, json_doc(&TOKEN, 2)),
        |(status, Doc(body))| {
            match bounded("a token answer", body.len(), || {
                answers::token_refresh(status, &body, client)
            }) {
                Ok(()) => Ok(true),
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(!message.trim().is_empty());
                    // The tokens of the answer are never shown, unless Google
                    // itself put them in a field that is shown (its error text).
                    let shown = fields(&body, &["error", "error_description", "token_type"]).concat();
                    for secret in fields(&body, &["access_token", "refresh_token"]) {
                        let secret = secret.trim_matches('"');
                        if secret.len() >= 8 && !shown.contains(secret) {
                            prop_assert!(!message.contains(secret), "a token in: {}", message);
                        }
                    }
                    Ok(false)
                }
            }
        },
    );
}

//! Google's answers read from their bytes, one function per kind of answer,
//! the way the provider reads them: the body decoded as google-calendar3
//! decodes it (the bytes read lossily as UTF-8, then serde_json), then the
//! provider's own reading (`events`, `freebusy`, `client::classify`, the
//! token refresh). The provider gets the decoded value from the hub; these
//! functions let the fuzz tests (`tests/fuzz`) hand the same code any bytes
//! without a server in between. Errors are the messages the provider puts
//! in its `CalendarError`s.

use std::collections::BTreeMap;
use std::path::Path;

use google_calendar3::api::{Event, Events, FreeBusyResponse};
use google_calendar3::common;
use google_calendar3::hyper;
use jiff::Timestamp;
use serde::de::DeserializeOwned;

use super::auth::{Grant, TokenError, parse_token_answer};
use super::client::{Seen, classify};
use super::{events, freebusy};
use crate::calendar::{BookedSeries, BusyAnswer, Changes, Occurrence, SeriesDetails};
use crate::core::interval::Interval;

/// A 2xx body decoded as the hub decodes it; a failure is classified as the
/// provider classifies it.
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text = String::from_utf8_lossy(body);
    serde_json::from_str(&text)
        .map_err(|e| classify(&common::Error::JsonDecodeError(text.to_string(), e), Seen::default()).to_string())
}

/// One page of `events.list` as a cycle reads it ([`Changes`]; a full read).
pub fn events_page(body: &[u8]) -> Result<Changes, String> {
    let page: Events = decode(body)?;
    let next = page.next_sync_token.filter(|t| !t.is_empty());
    Ok(events::changes_of(
        page.items.as_deref().unwrap_or_default(),
        true,
        next,
    ))
}

/// One page of `events.list` as `list_series` reads it.
pub fn series_page(body: &[u8]) -> Result<Vec<BookedSeries>, String> {
    let page: Events = decode(body)?;
    Ok(events::series_in(page.items.as_deref().unwrap_or_default()))
}

/// `events.get`: the series with its attendees' answers; `None` for an event
/// that is not a liaison series.
pub fn event(body: &[u8]) -> Result<Option<SeriesDetails>, String> {
    let event: Event = decode(body)?;
    events::details_of(&event)
}

/// One page of `events.instances`: every occurrence, or the first one that
/// cannot be read.
pub fn instances_page(body: &[u8]) -> Result<Vec<Occurrence>, String> {
    let page: Events = decode(body)?;
    page.items.iter().flatten().map(events::occurrence_of).collect()
}

/// Busy time of `emails` over `range` when Google answers every
/// `freeBusy.query` of it with `body`.
pub fn free_busy(body: &[u8], emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, String> {
    let response: FreeBusyResponse = decode(body)?;
    let mut answers = freebusy::empty_answers(emails);
    for query in freebusy::plan_queries(emails, range) {
        freebusy::merge_answer(&query, &response, &mut answers);
    }
    Ok(answers)
}

/// What an API call that Google answered with HTTP `status` (not 2xx) and
/// `body` fails with: the hub's split between a JSON error and another body,
/// then the provider's classification.
pub fn failure(status: u16, body: &[u8]) -> String {
    let seen = Seen {
        status: Some(status),
        retry_after: None,
        too_large: false,
    };
    let error = match serde_json::from_str(&common::to_string(&hyper::body::Bytes::copy_from_slice(body))) {
        Ok(json) => common::Error::BadRequest(json),
        Err(_) => {
            let (parts, ()) = hyper::Response::builder()
                .status(status)
                .body(())
                .unwrap_or_default()
                .into_parts();
            common::Error::Failure(common::to_response(parts, Some(body.to_vec())))
        }
    };
    classify(&error, seen).to_string()
}

/// The token endpoint's answer (`status`, `body`) to a refresh of the
/// installed kind; `client_path` names the client secret in messages.
pub fn token_refresh(status: u16, body: &[u8], client_path: &Path) -> Result<(), TokenError> {
    parse_token_answer(status, body, Timestamp::now(), client_path, Grant::Refresh).map(|_| ())
}

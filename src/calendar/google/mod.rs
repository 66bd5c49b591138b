//! The Google Calendar provider: free/busy, booking and reading back liaison's
//! series through google-calendar3, authorized by yup-oauth2.
//!
//! Layout:
//! - [`auth`]: `liaison auth`, the token file, the tokens of each call.
//! - [`answers`]: Google's answers read from their bytes as the provider
//!   reads them (the entry of the fuzz tests).
//! - `client`: the hub, and Google's errors read into the neutral classes of
//!   the shared HTTP layer (`calendar::http`), which paces, times out and
//!   retries every call.
//! - `scopes`: the two OAuth scopes liaison asks for.
//! - `events`: series ⇄ Google events (the only place that knows their fields).
//! - `freebusy`: splitting and merging `freeBusy.query` calls.
//!
//! Google's wire types (`google_calendar3::api::*`) never leave this module.
//! Every request asks for exactly one of the two scopes liaison holds
//! (`calendar.freebusy` or `calendar.events.owned`), never the crate's default
//! of full calendar access.

pub mod answers;
pub mod auth;
mod client;
mod events;
mod freebusy;
mod scopes;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use google_calendar3::api::{Event, Events, FreeBusyResponse};
use jiff::{Timestamp, ZonedDateTime};

use self::auth::TokenSource;
pub use self::auth::{AuthOptions, AuthReport, authorize, describe_credentials};
pub use self::client::GOOGLE_ROOT_URL;
use self::client::{Api, escape_segment};
pub use self::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPES};
use super::http::ApiError;
pub use super::http::{BACKOFF_BASE, BACKOFF_CAP, CALL_TIMEOUT, MAX_ATTEMPTS, RETRY_BUDGET, Timing};
use super::{
    BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Changes, CreateOutcome, DeleteOutcome, EndOutcome,
    Occurrence, SeriesDetails, SeriesRequest,
};
use crate::config::{Conference, Config, SendUpdates};
use crate::core::interval::Interval;

/// Page size of `events.list` and `events.instances` (Google's maximum is 2500).
const PAGE_SIZE: i32 = 2500;
/// A listing with more pages than this is taken for a paging loop.
const MAX_PAGES: usize = 1000;

/// Calendar provider over the Google Calendar API.
pub struct GoogleProvider {
    api: Api,
    /// The organizer calendar's id as configured (`primary` or an address).
    organizer: String,
    send_updates: SendUpdates,
    conference: Conference,
    /// `calendar.instance`, written on every event this provider creates.
    instance: String,
}

impl std::fmt::Debug for GoogleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleProvider")
            .field("organizer", &self.organizer)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl GoogleProvider {
    /// The provider `cfg` describes, with the production retry policy. Reads
    /// and checks the credential files (a bad file is `Invalid`); a missing
    /// token is only reported by the first call (`Unauthorized`).
    pub async fn from_config(cfg: &Config) -> Result<GoogleProvider, CalendarError> {
        GoogleProvider::with_timing(cfg, Timing::default()).await
    }

    /// Same, with other timeouts and retry bounds (tests).
    pub async fn with_timing(cfg: &Config, timing: Timing) -> Result<GoogleProvider, CalendarError> {
        let google = &cfg.calendar.google;
        let root = google.api_base_url.as_deref().unwrap_or(GOOGLE_ROOT_URL);
        // The crate unwraps its URL parse; refuse a base it would panic on.
        let probe = format!("{}freeBusy", client::api_urls(root).1);
        if probe.parse::<google_calendar3::hyper::Uri>().is_err() {
            return Err(CalendarError::Invalid {
                path: cfg.path.display().to_string(),
                line: None,
                message: format!("calendar.google.api_base_url {root:?} is not a valid URL"),
            });
        }
        let tokens = TokenSource::from_config(cfg).await?;
        Ok(GoogleProvider {
            api: Api::new(root, tokens, google.requests_per_second, timing),
            organizer: google.organizer.clone(),
            send_updates: cfg.meeting.send_updates,
            conference: cfg.meeting.conference,
            instance: cfg.calendar.instance.clone(),
        })
    }

    /// The same provider, every call paced by `pacer` (a test's, on a
    /// [`VirtualClock`](crate::calendar::http::VirtualClock)).
    #[cfg(feature = "test-hooks")]
    pub fn paced_by(self, pacer: crate::calendar::http::Pacer) -> GoogleProvider {
        GoogleProvider {
            api: self.api.with_pacer(pacer),
            ..self
        }
    }

    /// The series `event_id`, with its attendees' answers; `None` when the
    /// event does not exist. A cancelled series is returned with `active = false`.
    pub async fn series_details(&self, event_id: &str) -> Result<Option<SeriesDetails>, CalendarError> {
        let Some(event) = self.fetch(event_id).await.map_err(|e| self.error("events.get", e))? else {
            return Ok(None);
        };
        match events::details_of(&event) {
            Ok(Some(details)) => Ok(Some(details)),
            Ok(None) => Err(self.invalid("events.get", format!("event {event_id} is not a liaison series"))),
            Err(message) => Err(self.invalid("events.get", format!("event {event_id}: {message}"))),
        }
    }

    /// Every occurrence of the series, cancelled ones included, all pages.
    ///
    /// No caller in the library: a cycle reads occurrences through
    /// `list_changes`. It stays public because the integration tests
    /// (`tests/integration/google.rs`, a series ended early keeps its first
    /// occurrences) read a series' occurrences with it, and they are another
    /// crate, which `pub(crate)` would shut out.
    pub async fn instances(&self, event_id: &str) -> Result<Vec<Occurrence>, CalendarError> {
        let calendar = escape_segment(&self.organizer);
        let event = escape_segment(event_id);
        let items = self
            .all_pages("events.instances", |page| {
                let (calendar, event) = (calendar.clone(), event.clone());
                client::call_fn(move |hub, observer| {
                    let mut call = hub
                        .events()
                        .instances(&calendar, &event)
                        .add_scope(SCOPE_EVENTS)
                        .show_deleted(true)
                        .max_results(PAGE_SIZE);
                    if let Some(token) = &page {
                        call = call.page_token(token);
                    }
                    Box::pin(async move { call.delegate(observer).doit().await.map(|(_, events)| events) })
                })
            })
            .await?;
        items
            .iter()
            .map(|item| events::occurrence_of(item).map_err(|m| self.invalid("events.instances", m)))
            .collect()
    }

    /// Moves one occurrence of the series `event_id` (notifying as
    /// `meeting.send_updates` says). `instance_id` must be one of its
    /// occurrences, as [`GoogleProvider::instances`] gave it.
    pub async fn patch_instance(
        &self,
        event_id: &str,
        instance_id: &str,
        start: &ZonedDateTime,
        end: &ZonedDateTime,
    ) -> Result<(), CalendarError> {
        if !instance_id.starts_with(&format!("{event_id}_")) {
            return Err(self.invalid(
                "events.patch",
                format!("{instance_id:?} is not an occurrence of series {event_id}"),
            ));
        }
        let body = events::moved_instance(start, end).map_err(|m| self.invalid("events.patch", m))?;
        let calendar = escape_segment(&self.organizer);
        let instance = escape_segment(instance_id);
        let send = self.send_updates.as_api_str();
        self.api
            .call("events.patch", |hub, observer| {
                let call = hub
                    .events()
                    .patch(body.clone(), &calendar, &instance)
                    .add_scope(SCOPE_EVENTS)
                    .send_updates(send);
                Box::pin(async move { call.delegate(observer).doit().await.map(|_| ()) })
            })
            .await
            .map_err(|e| self.error("events.patch", e))
    }

    /// Deletes the whole series, notifying attendees as `meeting.send_updates`
    /// says. Deleting one that is gone already is not an error.
    pub async fn delete_whole_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        let calendar = escape_segment(&self.organizer);
        let event = escape_segment(event_id);
        let send = self.send_updates.as_api_str();
        let deleted = self
            .api
            .call("events.delete", |hub, observer| {
                let call = hub
                    .events()
                    .delete(&calendar, &event)
                    .add_scope(SCOPE_EVENTS)
                    .send_updates(send);
                Box::pin(async move { call.delegate(observer).doit().await.map(|_| ()) })
            })
            .await;
        match deleted {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            // 410 after a retried delete whose first attempt went through, or
            // someone deleted it first.
            Err(ApiError::Gone(_) | ApiError::NotFound(_)) => Ok(DeleteOutcome::AlreadyGone),
            Err(e) => Err(self.error("events.delete", e)),
        }
    }

    /// Ends the series early: its rule becomes `FREQ=WEEKLY;UNTIL=<until>`, so
    /// the occurrence starting at `until` is its last (DESIGN §4 "Ending
    /// early"), notifying attendees as `meeting.send_updates` says. A series
    /// that is gone (404, 410, or cancelled) is `AlreadyGone`.
    async fn end_recurrence(
        &self,
        event_id: &str,
        until: jiff::Timestamp,
        keep: &[String],
    ) -> Result<EndOutcome, CalendarError> {
        let mut body = events::ended_recurrence(until);
        // The patch replaces the whole `recurrence`: the skipped weeks go in again.
        if let Some(lines) = body.recurrence.as_mut() {
            lines.extend(keep.iter().cloned());
        }
        let calendar = escape_segment(&self.organizer);
        let event = escape_segment(event_id);
        let send = self.send_updates.as_api_str();
        let patched = self
            .api
            .call("events.patch", |hub, observer| {
                let call = hub
                    .events()
                    .patch(body.clone(), &calendar, &event)
                    .add_scope(SCOPE_EVENTS)
                    .send_updates(send);
                Box::pin(async move { call.delegate(observer).doit().await.map(|(_, event)| event) })
            })
            .await;
        match patched {
            // Patching a deleted event answers it, still cancelled.
            Ok(event) if events::is_cancelled(&event) => Ok(EndOutcome::AlreadyGone),
            Ok(_) => Ok(EndOutcome::Ended),
            Err(ApiError::Gone(_) | ApiError::NotFound(_)) => Ok(EndOutcome::AlreadyGone),
            Err(e) => Err(self.error("events.patch", e)),
        }
    }

    /// The organizer calendar's title (for `primary`, the account's address):
    /// `liaison auth` shows it so the user sees which account was authorized.
    pub async fn organizer_summary(&self) -> Result<Option<String>, CalendarError> {
        let calendar = escape_segment(&self.organizer);
        let events: Events = self
            .api
            .call("events.list", |hub, observer| {
                let call = hub.events().list(&calendar).add_scope(SCOPE_EVENTS).max_results(1);
                Box::pin(async move { call.delegate(observer).doit().await.map(|(_, events)| events) })
            })
            .await
            .map_err(|e| self.error("events.list", e))?;
        Ok(events.summary.filter(|s| !s.is_empty()))
    }

    async fn fetch(&self, event_id: &str) -> Result<Option<Event>, ApiError> {
        let calendar = escape_segment(&self.organizer);
        let event = escape_segment(event_id);
        let got = self
            .api
            .call("events.get", |hub, observer| {
                let call = hub.events().get(&calendar, &event).add_scope(SCOPE_EVENTS);
                Box::pin(async move { call.delegate(observer).doit().await.map(|(_, event)| event) })
            })
            .await;
        match got {
            Ok(event) => Ok(Some(event)),
            Err(ApiError::NotFound(_) | ApiError::Gone(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn insert(&self, event: &Event) -> Result<(), ApiError> {
        let calendar = escape_segment(&self.organizer);
        let send = self.send_updates.as_api_str();
        let meet = self.conference == Conference::GoogleMeet;
        self.api
            .call("events.insert", |hub, observer| {
                let mut call = hub
                    .events()
                    .insert(event.clone(), &calendar)
                    .add_scope(SCOPE_EVENTS)
                    .send_updates(send);
                if meet {
                    // Without version 1 Google ignores conferenceData.createRequest.
                    call = call.conference_data_version(1);
                }
                Box::pin(async move { call.delegate(observer).doit().await.map(|_| ()) })
            })
            .await
    }

    /// A 409 on insert: the id is taken. Ours (same pair and term) means it is
    /// booked already — also when our own earlier attempt got through and
    /// only its answer was lost.
    async fn resolve_duplicate(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let id = &series.event_id;
        match self.fetch(id).await.map_err(|e| self.error("events.get", e))? {
            Some(existing) if events::is_cancelled(&existing) => Err(CalendarError::IdCancelled(id.clone())),
            Some(existing) if events::same_series(&existing, series) => Ok(CreateOutcome::AlreadyExists),
            Some(_) => Err(self.invalid(
                "events.insert",
                format!(
                    "event id {id} is taken by another event, not the series of {}|{} in term {}",
                    series.pair.0, series.pair.1, series.term
                ),
            )),
            None => Err(CalendarError::Transient(format!(
                "events.insert: Google says event {id} exists but it cannot be read yet"
            ))),
        }
    }

    /// One read of `events.list` on the organizer calendar, all pages: with
    /// `token`, the changes since it; without, everything. No property filter
    /// (Google refuses filters with a sync token, and the token of a full read
    /// must come from the same query), so liaison's events are picked here.
    /// `Ok(None)` when Google says the token expired (410).
    async fn read_events(&self, token: Option<&str>) -> Result<Option<(Vec<Event>, Option<String>)>, CalendarError> {
        let calendar = escape_segment(&self.organizer);
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (calendar, sync, this_page) = (calendar.clone(), token.map(str::to_string), page.take());
            let answer = self
                .api
                .call("events.list", move |hub, observer| {
                    let mut call = hub
                        .events()
                        .list(&calendar)
                        .add_scope(SCOPE_EVENTS)
                        .show_deleted(true)
                        .max_results(PAGE_SIZE);
                    if let Some(t) = &sync {
                        call = call.sync_token(t);
                    }
                    if let Some(p) = &this_page {
                        call = call.page_token(p);
                    }
                    Box::pin(async move { call.delegate(observer).doit().await.map(|(_, events)| events) })
                })
                .await;
            let events: Events = match answer {
                Ok(events) => events,
                Err(ApiError::Gone(_)) if token.is_some() => return Ok(None),
                Err(e) => return Err(self.error("events.list", e)),
            };
            items.extend(events.items.unwrap_or_default());
            match events.next_page_token {
                Some(t) if !t.is_empty() => page = Some(t),
                _ => return Ok(Some((items, events.next_sync_token.filter(|t| !t.is_empty())))),
            }
        }
        Err(self.invalid(
            "events.list",
            format!("more than {MAX_PAGES} pages; Google's paging does not end"),
        ))
    }

    /// Every item of a paged listing. `page_call(token)` builds the call of one page.
    async fn all_pages<F, C>(&self, what: &str, page_call: F) -> Result<Vec<Event>, CalendarError>
    where
        F: Fn(Option<String>) -> C,
        C: for<'a> Fn(&'a client::Hub, &'a mut client::Observer) -> client::CallFuture<'a, Events>,
    {
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let events = self
                .api
                .call(what, page_call(page.take()))
                .await
                .map_err(|e| self.error(what, e))?;
            items.extend(events.items.unwrap_or_default());
            match events.next_page_token {
                Some(token) if !token.is_empty() => page = Some(token),
                _ => return Ok(items),
            }
        }
        Err(self.invalid(
            what,
            format!("more than {MAX_PAGES} pages; Google's paging does not end"),
        ))
    }

    /// An [`ApiError`] as the rest of liaison sees it.
    fn error(&self, what: &str, e: ApiError) -> CalendarError {
        match e {
            ApiError::Unauthorized { message, .. } => CalendarError::Unauthorized(message),
            ApiError::NotFound(m) | ApiError::Gone(m) => {
                CalendarError::NotFound(format!("{what} on calendar {}: {m}", self.organizer))
            }
            ApiError::RateLimited { reason, .. } => CalendarError::Transient(format!(
                "{what}: Google kept refusing for its rate limit ({reason}) after retries"
            )),
            ApiError::Transient { message, .. } => CalendarError::Transient(format!("{what}: {message}")),
            ApiError::Quota(m) => CalendarError::Quota(format!("{what} on calendar {}: {m}", self.organizer)),
            ApiError::Refused(m) => CalendarError::Refused(format!("{what} on calendar {}: {m}", self.organizer)),
            ApiError::Duplicate => self.invalid(what, "an event with this id exists already".into()),
            ApiError::Invalid(m) => self.invalid(what, m),
        }
    }

    fn invalid(&self, what: &str, message: String) -> CalendarError {
        CalendarError::Invalid {
            path: format!("Google Calendar ({what} on calendar {})", self.organizer),
            line: None,
            message,
        }
    }
}

impl CalendarProvider for GoogleProvider {
    async fn end_series(&self, event_id: &str, until: jiff::Timestamp) -> Result<EndOutcome, CalendarError> {
        self.end_recurrence(event_id, until, &[]).await
    }

    async fn end_booked_series(
        &self,
        series: &crate::calendar::SeriesRequest,
        until: jiff::Timestamp,
    ) -> Result<EndOutcome, CalendarError> {
        let exdate = events::exdate_line(series);
        self.end_recurrence(&series.event_id, until, exdate.as_slice()).await
    }

    /// The per-call timeout: an insert whose answer did not come may still be
    /// applied by Google until then.
    /// An insert is retried within one call until the retry budget is spent,
    /// and its last attempt may be applied up to one call timeout later: a
    /// late landing is possible that long after the intent was flushed.
    fn write_timeout(&self) -> jiff::SignedDuration {
        let bound = self.api.call_timeout().saturating_add(self.api.retry_budget());
        jiff::SignedDuration::try_from(bound).unwrap_or(jiff::SignedDuration::MAX)
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        self.delete_whole_series(event_id).await
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        Ok(self.series_details(event_id).await?.map(|d| d.series))
    }

    fn requests(&self) -> u64 {
        self.api.requests()
    }

    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let mut answers = freebusy::empty_answers(emails);
        for query in freebusy::plan_queries(emails, range) {
            let body = freebusy::request_for(&query).map_err(|m| self.invalid("freeBusy.query", m))?;
            let response: FreeBusyResponse = self
                .api
                .call("freeBusy.query", |hub, observer| {
                    let call = hub.freebusy().query(body.clone()).add_scope(SCOPE_FREEBUSY);
                    Box::pin(async move { call.delegate(observer).doit().await.map(|(_, r)| r) })
                })
                .await
                .map_err(|e| self.error("freeBusy.query", e))?;
            freebusy::merge_answer(&query, &response, &mut answers);
        }
        for (email, answer) in &answers {
            if let Err(reason) = answer {
                tracing::warn!(person = %email, %reason, "free/busy unavailable; left unpaired this cycle");
            }
        }
        Ok(answers)
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let event = events::event_for(series, self.conference, &self.instance).map_err(|m| {
            self.invalid(
                "events.insert",
                format!("cannot book series {:?}: {m}", series.event_id),
            )
        })?;
        match self.insert(&event).await {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(ApiError::Duplicate) => self.resolve_duplicate(series).await,
            // A cycle reads the organizer calendar before it books, so a
            // missing organizer calendar fails there; a 404 here concerns
            // this event (a calendar of its attendees), not every booking.
            Err(ApiError::NotFound(m)) => Err(CalendarError::Refused(format!(
                "events.insert of series {} ({}|{}): Google does not find a calendar it needs: {m}",
                series.event_id, series.pair.0, series.pair.1
            ))),
            Err(e) => Err(self.error("events.insert", e)),
        }
    }

    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        let tz =
            jiff::tz::TimeZone::get(zone).map_err(|e| self.invalid("events.patch", format!("zone {zone}: {e}")))?;
        let start = to.start.to_zoned_datetime(tz.clone());
        let end = to.end.to_zoned_datetime(tz);
        self.patch_instance(series_id, instance_id, &start, &end).await
    }

    /// Google's changes are not bounded in time: `now` is not needed.
    async fn list_changes(&self, token: Option<&str>, _now: Timestamp) -> Result<Changes, CalendarError> {
        let (items, next_token, full) = match token {
            Some(t) => match self.read_events(Some(t)).await? {
                Some((items, next)) => (items, next, false),
                None => {
                    tracing::info!("the calendar's sync token expired; reading every event again");
                    let (items, next) = self.read_events(None).await?.unwrap_or_default();
                    (items, next, true)
                }
            },
            None => {
                let (items, next) = self.read_events(None).await?.unwrap_or_default();
                (items, next, true)
            }
        };
        Ok(events::changes_of(&items, full, next_token))
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        let calendar = escape_segment(&self.organizer);
        let items = self
            .all_pages("events.list", |page| {
                let calendar = calendar.clone();
                client::call_fn(move |hub, observer| {
                    let mut call = hub
                        .events()
                        .list(&calendar)
                        .add_scope(SCOPE_EVENTS)
                        .add_private_extended_property(events::LIST_FILTER)
                        .show_deleted(true)
                        .max_results(PAGE_SIZE);
                    if let Some(token) = &page {
                        call = call.page_token(token);
                    }
                    Box::pin(async move { call.delegate(observer).doit().await.map(|(_, events)| events) })
                })
            })
            .await?;
        Ok(events::series_in(&items))
    }
}

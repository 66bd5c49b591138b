//! The Microsoft 365 provider: Outlook calendars through Microsoft Graph
//! v1.0, authorized by the Microsoft identity platform.
//!
//! Layout:
//! - [`auth`]: `liaison auth` (device code or client credentials), the
//!   grant file, the token of each call; `check` for `liaison check`.
//! - `changes`: liaison's series listed, delta rounds, the full read.
//! - `client`: Graph requests through the shared HTTP layer
//!   (`calendar::http`) and Graph's errors in its neutral classes.
//! - `events`: series ⇄ Graph events (fields, recurrence, markers).
//! - `marks`: what the skip and end marks say is due, done over the
//!   series' instances.
//! - `schedule`: `getSchedule` split within Microsoft's limits, merged.
//! - `zones`: Windows ⇄ IANA zone names.
//!
//! Graph assigns event ids, so the deterministic id of a series (DESIGN §4)
//! travels as its `transactionId` (a retried POST creates nothing) and as
//! the extended property `liaison_id`, by which the series is found again
//! with `$filter` (lost state, a pending intent, an insert whose answer was
//! lost). The Graph id of each series seen is remembered for the life of
//! the process. Changes come from `calendarView/delta`, which shows
//! occurrences, not series masters, and no extended properties: the
//! masters of changed occurrences are read once each, and a deletion (Graph
//! tells only the deleted occurrences' ids) is found by listing liaison's
//! series again — a full read, whose missing series the cycle records.
//! Ending a series early writes, in the same `PATCH`, the end mark with
//! what must be made again afterwards (see `events::EndMark`); any later
//! read of the series completes it. Skipped weeks are cancelled after the
//! create, and its `POST` carries the skip mark (`events::SkipMark`) that a
//! later read completes in the same way. Writes to existing events carry
//! `If-Match` with the etag read, so a person's change made in between is
//! never overwritten (412: decided again next cycle).
//! Graph's wire JSON never leaves this module.

pub mod auth;
mod changes;
mod client;
mod events;
mod marks;
mod schedule;
mod zones;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::{SignedDuration, Timestamp};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

pub use self::auth::{AuthReport, authorize, describe_credentials, organizer_mailbox};
pub use self::client::GRAPH_ROOT_URL;
use self::client::Graph;
use super::http::{ApiError, Timing};
use super::{
    AttendeeResponse, BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Changes, CreateOutcome, DeleteOutcome,
    EndOutcome, SeriesDetails, SeriesRequest,
};
use crate::config::{Conference, Config};
use crate::core::interval::{Interval, IntervalSet};

/// Most pages one listing or delta round may take (then paging is broken).
const MAX_PAGES: usize = 1000;
/// Page size asked of listings and delta rounds.
const PAGE: usize = 100;
/// The delta window: from this long before the cycle's `now` ...
const WINDOW_BACK: SignedDuration = SignedDuration::from_hours(5 * 7 * 24);
/// ... to this long after it (terms are booked ahead, and last weeks).
const WINDOW_AHEAD: SignedDuration = SignedDuration::from_hours(60 * 7 * 24);
/// A delta round is begun again (a full read) when its window ends sooner
/// than this: Graph's window is fixed at the first request of a round.
const WINDOW_MARGIN: SignedDuration = SignedDuration::from_hours(26 * 7 * 24);
/// How far from its series' span an occurrence is looked for: a person may
/// move one anywhere (Outlook keeps a moved one between its neighbours, but
/// the first has none before it, nor the last after it); a year either side
/// holds any move within a term and far beyond.
const INSTANCES_MARGIN: SignedDuration = SignedDuration::from_hours(53 * 7 * 24);
/// The sync token's prefix: `graph2|<window start>|<window end>|<deltaLink>`
/// (unix seconds). A token of another shape is not used: one full read.
const TOKEN_PREFIX: &str = "graph2";

/// Calendar provider over Microsoft Graph.
pub struct MicrosoftProvider {
    graph: Graph,
    /// `me` or `users/{address}`: the organizer's mailbox in paths.
    mailbox: String,
    organizer: String,
    teams: bool,
    instance: String,
    /// Deterministic id → Graph id of liaison's series seen so far.
    ids: Mutex<BTreeMap<String, String>>,
    /// Graph ids of masters known not to be liaison's.
    others: Mutex<BTreeSet<String>>,
    /// The series this cycle created, by Graph id (emptied when a cycle
    /// reads its changes): what `token_after_own_writes` may step over.
    created: Mutex<BTreeMap<String, SeriesRequest>>,
    /// `@odata.etag` of the occurrences this cycle's read of changes
    /// showed, by id: a move is sent with `If-Match`, so that it never
    /// overwrites a person's change made since.
    etags: Mutex<BTreeMap<String, String>>,
    /// A dry run: reads leave an unfinished restore to a real run.
    reads_only: AtomicBool,
}

impl std::fmt::Debug for MicrosoftProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftProvider")
            .field("organizer", &self.organizer)
            .field("requests", &self.graph.requests())
            .finish_non_exhaustive()
    }
}

/// Escapes one path segment (Graph ids hold `=`, `/`, `+` at times).
fn segment(id: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'@');
    utf8_percent_encode(id, SET).to_string()
}

/// Escapes a query value (`%20` for spaces, as OData expects).
fn query(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    utf8_percent_encode(value, SET).to_string()
}

fn utc_text(at: Timestamp) -> String {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .datetime()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Every liaison series listed: those read, the ids of those that could
/// not be read, those liaison ended (see [`events::EndMark`]), and whether
/// a restore an earlier end left could not be completed.
#[derive(Default)]
struct Listing {
    series: Vec<SeriesDetails>,
    unreadable: Vec<String>,
    ended: Vec<String>,
    unsettled: bool,
}

/// One drained delta round: changed instances, removed ids, the next link.
struct Round {
    items: Vec<Value>,
    removed: Vec<String>,
    delta_link: String,
}

impl MicrosoftProvider {
    /// The provider `cfg` describes (reads the client secret file).
    pub fn from_config(cfg: &Config) -> Result<MicrosoftProvider, CalendarError> {
        MicrosoftProvider::with_timing(cfg, Timing::default())
    }

    pub fn with_timing(cfg: &Config, timing: Timing) -> Result<MicrosoftProvider, CalendarError> {
        let m = auth::microsoft_of(cfg)?;
        let tokens = auth::TokenSource::from_config(cfg)?;
        // Who signed in, refused unless it is the configured organizer: a
        // grant of another person would read and book another calendar.
        let account = auth::signed_in(cfg)?;
        let root = m.api_base_url.as_deref().unwrap_or(GRAPH_ROOT_URL);
        let (mailbox, organizer) = match &account {
            Some(a) if m.organizer == "me" => ("me".to_string(), a.address().to_string()),
            _ => (format!("users/{}", segment(&m.organizer)), m.organizer.clone()),
        };
        Ok(MicrosoftProvider {
            graph: Graph::new(root, tokens, m.requests_per_second, timing),
            mailbox,
            organizer,
            teams: cfg.meeting.conference == Conference::Teams,
            instance: cfg.calendar.instance.clone(),
            ids: Mutex::new(BTreeMap::new()),
            others: Mutex::new(BTreeSet::new()),
            created: Mutex::new(BTreeMap::new()),
            etags: Mutex::new(BTreeMap::new()),
            reads_only: AtomicBool::new(false),
        })
    }

    /// One Graph read of the organizer's mailbox, to prove access (`liaison auth`).
    pub async fn check_organizer(&self) -> Result<(), CalendarError> {
        let path = format!("{}/events?$top=1&$select=subject", self.mailbox);
        self.list_events(&path).await.map(|_| ())
    }

    /// One page of an events listing at `path` (`Null` for an empty answer).
    async fn list_events(&self, path: &str) -> Result<Value, CalendarError> {
        self.graph
            .call("events.list", "GET", path, None, None)
            .await
            .map(|page| page.unwrap_or(Value::Null))
            .map_err(|e| self.error("events.list", e))
    }

    fn remember(&self, id: &str, graph_id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.insert(id.to_string(), graph_id.to_string());
        }
    }

    fn known(&self, id: &str) -> Option<String> {
        self.ids.lock().ok().and_then(|ids| ids.get(id).cloned())
    }

    fn forget(&self, id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.remove(id);
        }
    }

    /// A master as JSON, with liaison's properties; `None` when gone.
    async fn master(&self, graph_id: &str) -> Result<Option<Value>, CalendarError> {
        let path = format!(
            "{}/events/{}?$expand={}",
            self.mailbox,
            segment(graph_id),
            query(&events::expand())
        );
        match self.graph.call("events.get", "GET", &path, None, None).await {
            Ok(v) => Ok(v),
            Err(ApiError::NotFound(_) | ApiError::Gone(_)) => Ok(None),
            Err(e) => Err(self.error("events.get", e)),
        }
    }

    /// Reads one master into its series, remembering its ids.
    fn read_master(&self, event: &Value) -> Result<Option<SeriesDetails>, CalendarError> {
        let graph_id = event["id"].as_str().unwrap_or("");
        match events::series_of(event) {
            Ok(Some(details)) => {
                self.remember(&details.series.request.event_id, graph_id);
                Ok(Some(details))
            }
            Ok(None) => {
                if let Ok(mut others) = self.others.lock() {
                    others.insert(graph_id.to_string());
                }
                Ok(None)
            }
            Err(message) => Err(self.invalid("events.get", format!("event {graph_id}: {message}"))),
        }
    }

    /// The series with deterministic id `id` and its master as Graph
    /// answered it: by its remembered Graph id, else by `$filter` on
    /// `liaison_id`.
    async fn found(&self, id: &str) -> Result<Option<(SeriesDetails, Value)>, CalendarError> {
        if let Some(graph_id) = self.known(id) {
            if let Some(event) = self.master(&graph_id).await?
                && let Some(d) = self.read_master(&event)?
                && d.series.request.event_id == id
            {
                return Ok(Some((d, event)));
            }
            self.forget(id);
        }
        let path = format!(
            "{}/events?$filter={}&$expand={}&$top=10",
            self.mailbox,
            query(&events::filter(events::ID, id)),
            query(&events::expand())
        );
        let found = self.list_events(&path).await?;
        for event in found["value"].as_array().into_iter().flatten() {
            if events::liaison_id(event).as_deref() == Some(id)
                && let Some(d) = self.read_master(event)?
            {
                return Ok(Some((d, event.clone())));
            }
        }
        Ok(None)
    }

    /// [`Self::found`], with a restore an earlier end left completed and
    /// skipped weeks still due cancelled.
    pub async fn series_details(&self, id: &str) -> Result<Option<SeriesDetails>, CalendarError> {
        let Some((d, event)) = self.found(id).await? else {
            return Ok(None);
        };
        self.settle(&event, &d).await;
        self.settle_skips(&event, &d).await;
        Ok(Some(d))
    }

    /// An [`ApiError`] as the rest of liaison sees it.
    fn error(&self, what: &str, e: ApiError) -> CalendarError {
        match e {
            ApiError::Unauthorized { message, .. } => CalendarError::Unauthorized(message),
            ApiError::NotFound(m) | ApiError::Gone(m) => {
                CalendarError::NotFound(format!("{what} on mailbox {}: {m}", self.organizer))
            }
            ApiError::RateLimited { reason, .. } => CalendarError::Transient(format!(
                "{what}: Microsoft Graph kept throttling ({reason}) after retries"
            )),
            ApiError::Transient { message, .. } => CalendarError::Transient(format!("{what}: {message}")),
            ApiError::Quota(m) => CalendarError::Quota(format!("{what} on mailbox {}: {m}", self.organizer)),
            ApiError::Refused(m) => CalendarError::Refused(format!("{what} on mailbox {}: {m}", self.organizer)),
            // Only conditional writes meet it (412 on If-Match, see `client`).
            ApiError::Duplicate => CalendarError::Transient(format!(
                "{what} on mailbox {}: the event changed on the calendar since liaison read it (HTTP 412 on \
                 If-Match); nothing was written, and the next cycle reads it again and decides anew",
                self.organizer
            )),
            ApiError::Invalid(m) => self.invalid(what, m),
        }
    }

    fn invalid(&self, what: &str, message: String) -> CalendarError {
        CalendarError::Invalid {
            path: format!("Microsoft Graph ({what} on mailbox {})", self.organizer),
            line: None,
            message,
        }
    }
}

impl CalendarProvider for MicrosoftProvider {
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let mut answers: BTreeMap<String, BusyAnswer> =
            emails.iter().map(|e| (e.clone(), Ok(IntervalSet::new()))).collect();
        let path = format!("{}/calendar/getSchedule", self.mailbox);
        for q in schedule::plan(emails, range) {
            let answer = self
                .graph
                .call("getSchedule", "POST", &path, Some(&schedule::body(&q)), None)
                .await
                .map_err(|e| self.error("getSchedule", e))?
                .unwrap_or(Value::Null);
            schedule::merge(&q, &answer, &mut answers);
        }
        for (email, answer) in &answers {
            if let Err(reason) = answer {
                tracing::warn!(person = %email, %reason, "free/busy unavailable; left unpaired this cycle");
            }
        }
        Ok(answers)
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let id = &series.event_id;
        if let Some((existing, event)) = self.found(id).await? {
            let r = &existing.series.request;
            let same_pair = {
                let mut got = [r.pair.0.to_ascii_lowercase(), r.pair.1.to_ascii_lowercase()];
                let mut want = [series.pair.0.to_ascii_lowercase(), series.pair.1.to_ascii_lowercase()];
                got.sort();
                want.sort();
                got == want
            };
            if same_pair && r.term == series.term {
                // Another installation sharing the mailbox may hold the
                // same id: its series is never touched.
                let ours = existing.series.instance.as_deref().unwrap_or("") == self.instance.trim();
                if ours {
                    match events::SkipMark::of(&event) {
                        // A create whose cancellations did not all go
                        // through, or whose answer was lost: the mark says
                        // which weeks are due.
                        Some(_) => {
                            self.settle_skips(&event, &existing).await;
                        }
                        // A series written before the mark: this request's
                        // weeks, found among the existing series' own
                        // occurrences (by original start), so only weeks of
                        // its rule are cancelled.
                        None if !series.skip.is_empty() => {
                            if let Some(graph_id) = self.known(id) {
                                let mut within = r.clone();
                                within.skip = series.skip.clone();
                                self.cancel_skipped(&graph_id, &within).await?;
                            }
                        }
                        None => {}
                    }
                }
                return Ok(CreateOutcome::AlreadyExists);
            }
            return Err(self.invalid(
                "events.create",
                format!(
                    "liaison_id {id} is taken by another event, not the series of {}|{} in term {}",
                    series.pair.0, series.pair.1, series.term
                ),
            ));
        }
        let body = events::event_for(series, self.teams, &self.instance)
            .map_err(|m| self.invalid("events.create", format!("cannot book series {id:?}: {m}")))?;
        let path = format!("{}/events", self.mailbox);
        match self.graph.call("events.create", "POST", &path, Some(&body), None).await {
            Ok(Some(created)) => {
                if let Some(graph_id) = created["id"].as_str() {
                    self.remember(id, graph_id);
                    // The series exists whatever happens to its skipped
                    // weeks: a cancel that fails leaves the skip mark due,
                    // and the next read of the series completes it. Its
                    // occurrences are then not stepped over (see
                    // `token_after_own_writes`), so that read comes.
                    if self.complete_skips(graph_id, series).await
                        && let Ok(mut mine) = self.created.lock()
                    {
                        mine.insert(graph_id.to_string(), series.clone());
                    }
                }
                Ok(CreateOutcome::Created)
            }
            Ok(None) => Err(self.invalid("events.create", "Graph answered without the event".into())),
            Err(e) => Err(self.error("events.create", e)),
        }
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        Ok(self
            .list_masters()
            .await?
            .series
            .into_iter()
            .map(|d| d.series)
            .collect())
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        Ok(self.series_details(event_id).await?.map(|d| d.series))
    }

    /// Cancels the series with notice (`POST .../cancel`, organizer only:
    /// https://learn.microsoft.com/en-us/graph/api/event-cancel); Graph
    /// always notifies the attendees.
    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        let Some((_, event)) = self.found(event_id).await? else {
            return Ok(DeleteOutcome::AlreadyGone);
        };
        let Some(graph_id) = self.known(event_id) else {
            return Ok(DeleteOutcome::AlreadyGone);
        };
        // As read: a series a person changed since (an occurrence moved
        // into the notice, say) is decided again next cycle, not cancelled.
        let etag = event["@odata.etag"].as_str();
        let path = format!("{}/events/{}/cancel", self.mailbox, segment(&graph_id));
        let body = json!({"comment": "liaison cancelled this series."});
        match self
            .graph
            .call_if("events.cancel", "POST", &path, Some(&body), None, etag)
            .await
        {
            Ok(_) => {
                self.forget(event_id);
                Ok(DeleteOutcome::Deleted)
            }
            Err(ApiError::NotFound(_) | ApiError::Gone(_)) => Ok(DeleteOutcome::AlreadyGone),
            Err(e) => Err(self.error("events.cancel", e)),
        }
    }

    /// Ends the series with the occurrence at `until`: the range becomes
    /// `endDate` (https://learn.microsoft.com/en-us/graph/api/resources/recurrencerange).
    ///
    /// Exchange drops every exception of a series whose recurrence changes:
    /// moved occurrences go back to the rule's time and cancelled ones come
    /// back ("If the recurrence pattern has changed, the client ... removes
    /// every exception", MS-OXOCAL §3.1.4.7.3.5,
    /// https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocal/4b92fb85-db55-4251-8e81-e319361218e1).
    /// Graph offers no other way to end a series early (the range is part
    /// of `recurrence`), so the occurrences the series keeps are read first
    /// (`GET .../instances`) and what people changed among them is made
    /// again after the `PATCH`: each moved one moved back to where it took
    /// place, each cancelled one cancelled. That list travels in the same
    /// `PATCH` as the end mark ([`events::EndMark`]): a restore that fails,
    /// or a process stopped between the two, is completed by the next read
    /// of the series, never lost. A person's answer to a single occurrence
    /// cannot be restored (it is theirs); the cycle dealt with it already.
    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        let Some((mut details, mut event)) = self.found(event_id).await? else {
            return Ok(EndOutcome::AlreadyGone);
        };
        // An earlier end's restore first: this end's list is read from the
        // occurrences as they are, and would not hold it.
        let pending = events::EndMark::of(&event).is_some_and(|m| m.is_ok_and(|m| !m.restore.is_empty()));
        if !self.settle(&event, &details).await {
            return Err(CalendarError::Transient(format!(
                "series {event_id}: what an earlier end left to restore is not restored yet; ended once it is"
            )));
        }
        if pending && !self.reads_only.load(Ordering::SeqCst) {
            // The restore changed the series: its etag is read again.
            let Some(again) = self.found(event_id).await? else {
                return Ok(EndOutcome::AlreadyGone);
            };
            (details, event) = again;
        }
        // Read before the instances: a person's change of any occurrence
        // after this changes the master's etag, and the PATCH is refused
        // (412) rather than dropping a change the list below does not hold.
        let etag = event["@odata.etag"].as_str().map(str::to_string);
        let Some(graph_id) = self.known(event_id) else {
            return Ok(EndOutcome::AlreadyGone);
        };
        let request = &details.series.request;
        let Some(before) = self.instances(&graph_id, request).await? else {
            return Ok(EndOutcome::AlreadyGone);
        };
        let changed =
            events::changed_until(request, &before, until).map_err(|m| self.invalid("events.instances", m))?;
        let body = events::ended(request, until, &changed).map_err(|m| self.invalid("events.update", m))?;
        let path = format!("{}/events/{}", self.mailbox, segment(&graph_id));
        match self
            .graph
            .call_if("events.update", "PATCH", &path, Some(&body), None, etag.as_deref())
            .await
        {
            Ok(_) => {}
            Err(ApiError::NotFound(_) | ApiError::Gone(_)) => return Ok(EndOutcome::AlreadyGone),
            Err(e) => return Err(self.error("events.update", e)),
        }
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::pause_point("microsoft_after_end_patch");
        if changed.is_empty() {
            return Ok(EndOutcome::Ended);
        }
        let last = events::EndMark::of(&body)
            .and_then(Result::ok)
            .map(|m| m.last)
            .ok_or_else(|| self.invalid("events.update", "the end mark of this end cannot be read back".into()))?;
        // The series is ended either way; what is not restored now stays
        // listed in the end mark, and the next read of the series does it.
        match self.restore(&graph_id, request, &changed).await {
            Ok(()) => {
                if let Err(e) = self.clear_restore(&graph_id, last).await {
                    tracing::warn!(id = %event_id, error = %e, "restored, but the end mark could not be cleared; cleared on the next read");
                }
            }
            Err(e) => {
                tracing::warn!(id = %event_id, error = %e, "the series is ended; what people changed is restored on a later read (kept in its end mark)");
            }
        }
        Ok(EndOutcome::Ended)
    }

    /// The per-call timeout plus the retry budget: an insert whose answer
    /// did not come may still be applied by Graph until then.
    fn write_timeout(&self) -> SignedDuration {
        SignedDuration::try_from(self.graph.write_bound()).unwrap_or(SignedDuration::MAX)
    }

    /// The delta window is placed around the cycle's `now`, never the
    /// machine's clock: a test clock, or a clock moved from outside, reads
    /// the occurrences of the terms that clock is in.
    async fn list_changes(&self, token: Option<&str>, now: Timestamp) -> Result<Changes, CalendarError> {
        // A new cycle: only its own bookings may be stepped over afterwards,
        // and only what it reads now is moved.
        if let Ok(mut mine) = self.created.lock() {
            mine.clear();
        }
        if let Ok(mut etags) = self.etags.lock() {
            etags.clear();
        }
        let Some((window, link)) = token.and_then(|t| Self::usable(t, now)) else {
            return self.full_read(now).await;
        };
        let Some(round) = self.drain(link).await? else {
            tracing::info!("the calendar's delta token expired; reading every event again");
            return self.full_read(now).await;
        };
        let masters: BTreeSet<String> = round
            .items
            .iter()
            .filter_map(|i| i["seriesMasterId"].as_str().map(str::to_string))
            .collect();
        let mut listing = Listing::default();
        let mut by_graph = BTreeMap::new();
        for graph_id in masters {
            if self.others.lock().is_ok_and(|o| o.contains(&graph_id)) {
                continue;
            }
            let Some(event) = self.master(&graph_id).await? else {
                continue;
            };
            // One series a person made unreadable (a monthly pattern, no
            // end) is recorded as such, as on a full read; the others and
            // the token go on.
            let read = listing.series.len();
            self.take_master(&event, &mut listing).await;
            if let Some(d) = listing.series.get(read) {
                by_graph.insert(graph_id, d.clone());
            }
        }
        // A restore left unfinished: the same round is read again next cycle.
        let next = if listing.unsettled {
            token.map(str::to_string)
        } else {
            Some(Self::token_for(window, &round.delta_link))
        };
        let mut changes = Changes {
            next_token: next,
            ..Changes::default()
        };
        Self::changed_occurrences(&round.items, &by_graph, &mut changes);
        self.remember_etags(&round.items);
        if round.removed.is_empty() {
            (changes.series, changes.unreadable, changes.ended) = (listing.series, listing.unreadable, listing.ended);
        } else {
            // Graph names only the removed occurrences: list the series
            // again, and let the cycle record those no longer there.
            let all = self.list_masters().await?;
            if all.unsettled {
                changes.next_token = token.map(str::to_string);
            }
            (changes.series, changes.unreadable, changes.ended) = (all.series, all.unreadable, all.ended);
            changes.full = true;
        }
        Ok(changes)
    }

    /// One delta round from `token`: when it holds nothing but untouched
    /// occurrences of series this cycle created — each at a start of its
    /// series' rule and for its length, every start of the rule inside the
    /// window there, the two attendees booked and nobody else, nobody's
    /// answer yet, no exception, nothing cancelled or removed — its new link
    /// is the token to keep, and the next cycle does not read those masters
    /// again. Anything else (a person was quicker, even with a change of the
    /// whole series) keeps `token`, so that the next cycle reads it all.
    async fn token_after_own_writes(&self, token: &str, now: Timestamp) -> Result<Option<String>, CalendarError> {
        let mine = self.created.lock().map(|c| c.clone()).unwrap_or_default();
        let Some((window, link)) = Self::usable(token, now) else {
            return Ok(None);
        };
        if mine.is_empty() {
            return Ok(None);
        }
        let Some(round) = self.drain(link).await? else {
            return Ok(None);
        };
        if !round.removed.is_empty() {
            return Ok(None);
        }
        // The starts each series of this cycle shows in the round.
        let mut seen: BTreeMap<&str, BTreeSet<Timestamp>> = BTreeMap::new();
        for item in &round.items {
            let Some((graph_id, request)) = item["seriesMasterId"].as_str().and_then(|m| mine.get_key_value(m)) else {
                return Ok(None);
            };
            let Ok(o) = events::occurrence_of(item) else {
                return Ok(None);
            };
            let booked: BTreeSet<String> = request.attendees.iter().map(|a| a.email.to_ascii_lowercase()).collect();
            let responses = events::responses(item);
            let untouched = item["type"].as_str() == Some("occurrence")
                && !o.cancelled
                && o.interval.is_some_and(|at| {
                    at.start == o.original_start
                        && at.start.checked_add(request.duration).is_ok_and(|end| end == at.end)
                })
                && responses.keys().cloned().collect::<BTreeSet<_>>() == booked
                && responses.values().all(|r| *r == AttendeeResponse::NeedsAction);
            if !untouched {
                return Ok(None);
            }
            seen.entry(graph_id.as_str()).or_default().insert(o.original_start);
        }
        for (graph_id, request) in &mine {
            let Ok(starts) = events::pattern_starts(request) else {
                return Ok(None);
            };
            let end_of = |t: &Timestamp| t.checked_add(request.duration).unwrap_or(*t);
            let expected: BTreeSet<Timestamp> = starts
                .into_iter()
                .filter(|t| end_of(t) > window.start && *t < window.end)
                .collect();
            if seen.get(graph_id.as_str()).cloned().unwrap_or_default() != expected {
                return Ok(None);
            }
        }
        Ok(Some(Self::token_for(window, &round.delta_link)))
    }

    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        let body = events::moved(to, zone).map_err(|m| self.invalid("events.update", m))?;
        let path = format!("{}/events/{}", self.mailbox, segment(instance_id));
        // The occurrence as this cycle read it, or nothing: a person who
        // moved it since keeps their move (412), and the next cycle decides.
        let etag = self.etags.lock().ok().and_then(|t| t.get(instance_id).cloned());
        self.graph
            .call_if("events.update", "PATCH", &path, Some(&body), None, etag.as_deref())
            .await
            .map(|_| ())
            .map_err(|e| self.error(&format!("events.update of an occurrence of {series_id}"), e))
    }

    fn reads_only(&self) {
        self.reads_only.store(true, Ordering::SeqCst);
    }

    fn requests(&self) -> u64 {
        self.graph.requests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_delta_token_is_used_only_while_its_window_holds_the_cycles_clock() {
        let made = at("2031-03-05T12:00:00Z");
        let window = MicrosoftProvider::window(made);
        assert!(window.start < made && made < window.end);
        let token = MicrosoftProvider::token_for(window, "http://graph/delta?$deltatoken=a|b");
        let usable = |now: &str| MicrosoftProvider::usable(&token, at(now));
        assert_eq!(
            usable("2031-04-01T00:00:00Z"),
            Some((window, "http://graph/delta?$deltatoken=a|b".to_string())),
            "the link is kept whole, `|` and all"
        );
        assert_eq!(usable("2026-11-30T00:00:00Z"), None, "a clock before the window");
        let near_end = window
            .end
            .checked_sub(WINDOW_MARGIN)
            .unwrap()
            .checked_add(SignedDuration::from_secs(1));
        assert_eq!(
            MicrosoftProvider::usable(&token, near_end.unwrap()),
            None,
            "too close to its end"
        );
        assert_eq!(
            MicrosoftProvider::usable("graph1|1963000000|http://graph/delta", made),
            None,
            "a token of the former shape"
        );
    }
}

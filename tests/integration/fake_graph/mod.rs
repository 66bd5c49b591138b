//! A fake Microsoft Graph (calendar) and Microsoft identity platform for the
//! integration tests: the real `liaison` binary talks to it over HTTP on
//! 127.0.0.1, as it talks to the fake Google.
//!
//! ```rust,ignore
//! let fake = FakeGraph::start();                           // own thread and runtime; stops on drop
//! fake.add_mailbox("ana@contoso.com", "Europe/Berlin");   // people whose schedule is read
//! fake.add_event("ana@contoso.com", json!({..}));         // their busy time (raw Graph events)
//! // config: api_base_url = fake.api_base(), login_base_url = fake.login_base(),
//! //         tenant = TENANT_DOMAIN, client_id = CLIENT_ID
//! fake.events(DEFAULT_USER);  // what was booked, with extended properties
//! fake.requests();            // every request: method, path, query, status, body
//! ```
//!
//! Endpoints. Identity platform (v2.0): `POST /{tenant}/oauth2/v2.0/devicecode`,
//! `POST /{tenant}/oauth2/v2.0/token` (device code, refresh token, client
//! credentials grants). Graph, under `/v1.0/` and for `me` or
//! `users/{id|address}`: `GET` (the user's profile: `/me` is the signed-in
//! user's, [`FakeGraph::set_user`], and needs `User.Read`), `POST calendar/getSchedule`, `GET|POST events`,
//! `GET|PATCH|DELETE events/{id}`, `POST events/{id}/cancel`,
//! `GET events/{id}/instances`, `GET calendarView/delta`.
//!
//! # Faithful to Microsoft
//!
//! - Device code grant (RFC 8628 as https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
//!   describes it): `device_code`, `user_code`, `verification_uri`,
//!   `expires_in`, `interval`, `message`; polling answers
//!   `authorization_pending`, `slow_down` (RFC 8628 §3.5), Microsoft's
//!   `authorization_declined`, `expired_token`, `bad_verification_code`,
//!   each with `error_description` "AADSTS...". A refresh token only with
//!   `offline_access`. Client credentials need the secret and the scope
//!   `https://graph.microsoft.com/.default`; app tokens have no user, so
//!   `/me` is a 400 for them. Refresh tokens rotate: every refresh answers
//!   a new one ("Replace the old refresh token with this newly acquired
//!   refresh token", https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token);
//!   a revoked grant is `invalid_grant` AADSTS50173.
//! - Graph error bodies `{"error": {"code", "message", "innerError"}}`;
//!   401 `InvalidAuthenticationToken` for an expired or unknown token; 403
//!   `ErrorAccessDenied` without the permission (writes need
//!   `Calendars.ReadWrite`); 404 `ErrorItemNotFound`.
//! - getSchedule: at most [`model::SCHEDULE_MAX_ENTITIES`] schedules and a
//!   range under [`model::SCHEDULE_MAX_RANGE`] (documented limits); an
//!   unknown address gets an `error` in its own `scheduleInformation`,
//!   the others answer; `scheduleItems` with `status` (`busy`, `tentative`,
//!   `oof`, `workingElsewhere`, `free`: the event's `showAs`) and times in
//!   UTC; series expanded on the wall clock of their zone.
//! - Events: ids are the server's; `transactionId` makes a repeated POST
//!   answer the event it created; `singleValueExtendedProperties` are
//!   returned only with `$expand=singleValueExtendedProperties($filter=id eq '..')`
//!   and filtered with `$filter=singleValueExtendedProperties/Any(ep: ep/id eq '..' and ep/value eq '..')`
//!   (names case-sensitive, values not:
//!   https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get);
//!   `start`/`end` accept Windows and IANA zone names and come back in UTC;
//!   `originalStartTimeZone` keeps the name sent; recurrence `daily` and
//!   `weekly` patterns with `numbered`, `endDate` and `noEnd` ranges;
//!   attendees get `status.response = none`; `isOnlineMeeting` with
//!   `teamsForBusiness` adds `onlineMeeting.joinUrl`. `PATCH` of an
//!   occurrence id makes it an exception; `PATCH` of the master replaces
//!   `recurrence` whole, and a recurrence that changes (its range
//!   included: ending a series early) removes every exception of the
//!   series, as Exchange does: moved occurrences return to the rule's
//!   time, cancelled ones come back, answers to single occurrences are
//!   gone ("If the recurrence pattern has changed, the client ... removes
//!   every exception", MS-OXOCAL §3.1.4.7.3.5,
//!   https://learn.microsoft.com/en-us/openspecs/exchange_server_protocols/ms-oxocal/4b92fb85-db55-4251-8e81-e319361218e1;
//!   Outlook warns "Any exceptions associated with this recurring
//!   appointment will be cancelled"). `cancel` (organizer only) and
//!   `DELETE` remove it. A `PATCH` with `singleValueExtendedProperties`
//!   creates the named ones or replaces their values and keeps the others.
//! - Events and occurrences carry an `@odata.etag`; a write with `If-Match`
//!   is applied only while it holds (`*` always), else 412 and nothing
//!   changes. A master's etag changes with any change of the series, one
//!   of its occurrences included (Exchange keeps exceptions inside the
//!   master item); an occurrence's with a change of the series or of it.
//! - `calendarView/delta`: only occurrences, exceptions and single
//!   instances (no series masters), no `$expand`/`$filter`/`$select`; pages
//!   with `@odata.nextLink` (`Prefer: odata.maxpagesize`), a final
//!   `@odata.deltaLink`; deleted instances as `@removed: {reason: deleted}`;
//!   an invalidated token is 410 `syncStateNotFound`
//!   (https://learn.microsoft.com/en-us/graph/api/event-delta,
//!   https://learn.microsoft.com/en-us/graph/delta-query-overview).
//!
//! # Divergences (known)
//!
//! - What Graph answers to a POST repeated with the same `transactionId`
//!   (status, and for how long it remembers the id) is not documented: the
//!   fake answers 201 with the first event, for as long as that event exists.
//! - How Graph refuses more than 20 schedules or a range of 62 days or more
//!   is not documented: the fake answers 400 `ErrorInvalidRequest`.
//! - The error of an unknown schedule: `responseCode`
//!   `ErrorMailRecipientNotFound`, as commonly observed; not documented.
//! - Whether `originalStartTimeZone` shows a Windows name for an event
//!   created with an IANA name is not documented; the fake keeps the name
//!   sent. `Prefer: outlook.timezone` is ignored (always UTC).
//! - A change to an event reports all its instances in the window in the
//!   next delta round; Graph may report fewer. Occurrence ids are opaque
//!   strings of the fake's own making. Paging of `events` uses `$skip`.
//! - Etags are the fake's own (`W/"<n>"`); the 412's code and message
//!   (`ErrorIrresolvableConflict`, "The change key passed in the request
//!   does not match ...") are as commonly observed, not documented; the
//!   fake checks `If-Match` on `cancel` too.
//! - Refresh tokens stop working as soon as they are used (Microsoft does
//!   not promise that), which catches a client that keeps an old one.
//! - Throttling is injected (`fail_next`, `fail_method`, with `Retry-After`
//!   when [`FakeGraph::set_retry_after`] says), or measured when turned on
//!   ([`FakeGraph::set_quota`]): at most N calls per mailbox in any sliding
//!   window on the machine's real clock, the way Outlook limits each app
//!   and mailbox (10,000 requests per 10 minutes,
//!   https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits),
//!   with test-sized numbers; a call over it is a 429 `ApplicationThrottled`
//!   (code and message as commonly observed, not documented) with a
//!   `Retry-After` of the whole seconds until the window has room; a refused
//!   call is not counted. Concurrency per mailbox is not modelled. No `$batch`, no attachments, no calendar groups,
//!   no other calendars than the default one; patterns other than daily
//!   and weekly are refused. Invitations are not copied to attendees'
//!   mailboxes; only getSchedule counts them (declined ones are free).
//! - The write gate ([`FakeGraph::hold_next`]) and "drop after write"
//!   ([`FakeGraph::drop_after_write_next`]) are test faults, not Graph's. A
//!   call held at the gate runs in a task of its own, so it lands when
//!   released even if its client was killed meanwhile.

mod errors;
mod identity;
mod model;
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{Timestamp, ToSpan as _};
use serde_json::{Value, json};

use crate::fake_google::conn::{ConnHandle, KillableListener};
use errors::{GraphError, json_response};
pub use identity::{CLIENT_ID, CLIENT_SECRET, DeviceState, TENANT_DOMAIN, TENANT_ID};
use identity::{Grant, Identity};
use model::{Filter, Model, lower, parse_dtz, parse_expand, utc_json};
pub use model::{SCHEDULE_MAX_ENTITIES, SCHEDULE_MAX_RANGE};

/// The signed-in user of delegated tokens: the organizer, unless
/// [`FakeGraph::set_user`] names another.
pub const DEFAULT_USER: &str = "organizer@contoso.com";

/// Page size of `calendarView/delta` without `Prefer: odata.maxpagesize`.
const DELTA_PAGE: usize = 100;
/// Graph's default page size of `GET events` (without `$top`).
const EVENTS_PAGE: usize = 10;

pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One occurrence of a series as the fake holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub id: String,
    pub original: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub cancelled: bool,
}

/// One request the fake answered (or cut).
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The Graph operation (`getSchedule`, `events.create`, `delta`, ...);
    /// `None` for the identity endpoints.
    pub operation: Option<String>,
    pub status: u16,
    pub body: String,
    /// The user a delegated token acted for (`None`: app-only or no token).
    pub user: Option<String>,
    pub injected: bool,
    pub dropped: bool,
}

impl RequestRecord {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug, Default)]
struct Faults {
    fail_next: VecDeque<u16>,
    /// (operation, status) to fail, in order.
    fail_method: VecDeque<(String, u16)>,
    retry_after: Option<u64>,
    drop_writes: usize,
    /// The write gate: calls of this operation still to hold.
    gate: Option<(String, usize)>,
    held: usize,
    quota: Option<Quota>,
    /// Writes refused for an `If-Match` that no longer held.
    refused_if_match: usize,
}

/// Outlook's per-mailbox rate limit, measured (see the module doc): at most
/// `limit` admitted calls per mailbox in any sliding `window`.
#[derive(Debug)]
struct Quota {
    limit: usize,
    window: Duration,
    /// The instants of each mailbox's admitted calls within the window.
    calls: HashMap<String, VecDeque<Instant>>,
    /// When each mailbox's last refusal said to come back.
    not_before: HashMap<String, Instant>,
    /// The most admitted calls of one mailbox in one window.
    peak: usize,
    refused: usize,
    /// Calls that came back sooner than a refusal's `Retry-After` said.
    early: usize,
}

impl Quota {
    /// Counts a call to `mailbox` now; the 429 when it is over the limit.
    fn admit(&mut self, mailbox: &str) -> Option<GraphError> {
        let now = Instant::now();
        if self.not_before.get(mailbox).is_some_and(|t| now < *t) {
            self.early += 1;
        }
        let calls = self.calls.entry(mailbox.to_string()).or_default();
        while calls.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            calls.pop_front();
        }
        if calls.len() < self.limit {
            calls.push_back(now);
            self.peak = self.peak.max(calls.len());
            return None;
        }
        self.refused += 1;
        // Room comes when the oldest call leaves the window; whole seconds, up.
        let room = calls
            .front()
            .map_or(Duration::ZERO, |t| self.window.saturating_sub(now.duration_since(*t)));
        let secs = room.as_secs() + u64::from(room.subsec_nanos() > 0);
        self.not_before
            .insert(mailbox.to_string(), now + Duration::from_secs(secs));
        let mut e = GraphError::new(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
        );
        e.retry_after = Some(secs);
        Some(e)
    }
}

struct Shared {
    model: Model,
    identity: Identity,
    faults: Faults,
    gate_open: tokio::sync::watch::Sender<bool>,
    requests: Vec<RequestRecord>,
    /// Mailboxes an app-only token may reach (an application access
    /// policy); `None`: every mailbox.
    app_scope: Option<Vec<String>>,
    port: u16,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(s: &SharedState) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fake Graph and identity platform on 127.0.0.1; stops when dropped.
pub struct FakeGraph {
    shared: SharedState,
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGraph {
    pub fn start() -> FakeGraph {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let salt = u64::from(port) ^ Timestamp::now().as_nanosecond() as u64;
        let mut model = Model::default();
        model.ensure_mailbox(DEFAULT_USER, "UTC");
        let shared = Arc::new(Mutex::new(Shared {
            model,
            identity: Identity::new(DEFAULT_USER, salt),
            faults: Faults::default(),
            gate_open: tokio::sync::watch::Sender::new(false),
            requests: Vec::new(),
            app_scope: None,
            port,
        }));
        let app = Router::new().fallback(detached).with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-graph".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake Graph runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    let server = axum::serve(
                        KillableListener(listener),
                        app.into_make_service_with_connect_info::<ConnHandle>(),
                    );
                    tokio::select! {
                        _ = server.into_future() => {}
                        _ = rx => {}
                    }
                });
            })
            .expect("spawn the fake Graph thread");
        FakeGraph {
            shared,
            port,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/`: the login base (the tenant is appended).
    pub fn login_base(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// `http://127.0.0.1:PORT/v1.0/`: Graph's root with its version.
    pub fn api_base(&self) -> String {
        format!("http://127.0.0.1:{}/v1.0/", self.port)
    }

    pub fn set_user(&self, user: &str) {
        let mut s = lock(&self.shared);
        s.identity.user = lower(user);
        s.model.ensure_mailbox(user, "UTC");
    }

    /// A mailbox of the tenant (unknown ones are errors in getSchedule).
    pub fn add_mailbox(&self, address: &str, zone: &str) {
        assert!(model::zone(zone).is_some(), "add_mailbox: unknown zone {zone:?}");
        lock(&self.shared).model.ensure_mailbox(address, zone);
    }

    /// Stores a raw Graph event on `mailbox` (its busy time) and answers its id.
    pub fn add_event(&self, mailbox: &str, event: Value) -> String {
        let mut s = lock(&self.shared);
        s.model.ensure_mailbox(mailbox, "UTC");
        match s.model.create(mailbox, event, Timestamp::now()) {
            Ok((id, _)) => id,
            Err(e) => panic!("add_event({mailbox}): Graph would refuse this event: {}", e.body()),
        }
    }

    /// Every event stored on `mailbox` (masters and single instances), each
    /// with its extended properties and its changed occurrences under
    /// `exceptions` (`original`, `start`, `end`, `cancelled`, `responses`).
    pub fn events(&self, mailbox: &str) -> Vec<Value> {
        let s = lock(&self.shared);
        s.model
            .events
            .iter()
            .filter(|(_, e)| e.mailbox == lower(mailbox))
            .map(|(id, e)| {
                let mut v = e.value.clone();
                v["id"] = json!(id);
                v["exceptions"] = json!(
                    e.exceptions
                        .iter()
                        .map(|(original, x)| json!({
                            "original": original.to_string(),
                            "start": x.start.map(|t| t.to_string()),
                            "end": x.end.map(|t| t.to_string()),
                            "cancelled": x.cancelled,
                            "responses": x.responses,
                        }))
                        .collect::<Vec<_>>()
                );
                v
            })
            .collect()
    }

    /// The instances of event `id`: (occurrence id, start, end, cancelled).
    pub fn instances(&self, id: &str) -> Vec<(String, Timestamp, Timestamp, bool)> {
        let s = lock(&self.shared);
        s.model
            .instances_of(id)
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.id, i.start, i.end, i.cancelled))
            .collect()
    }

    /// Every occurrence of series `id`, cancelled ones included, with its
    /// original start (what `instances` leaves out).
    pub fn occurrences(&self, id: &str) -> Vec<Occurrence> {
        let s = lock(&self.shared);
        s.model
            .instances_of(id)
            .unwrap_or_default()
            .into_iter()
            .map(|i| Occurrence {
                id: i.id,
                original: i.original,
                start: i.start,
                end: i.end,
                cancelled: i.cancelled,
            })
            .collect()
    }

    /// A person deletes event `id` in Outlook.
    pub fn delete_event(&self, mailbox: &str, id: &str) {
        let mut s = lock(&self.shared);
        if let Err(e) = s.model.remove(mailbox, id, false) {
            panic!("delete_event({id}): {}", e.body());
        }
    }

    /// A person moves one occurrence (given by its original start) in Outlook.
    pub fn move_occurrence(&self, mailbox: &str, id: &str, original: Timestamp, start: Timestamp, end: Timestamp) {
        let mut s = lock(&self.shared);
        let occurrence = model::occurrence_id(id, original);
        let patch = json!({"start": utc_json(start), "end": utc_json(end)});
        if let Err(e) = s.model.update(mailbox, &occurrence, &patch, Timestamp::now()) {
            panic!("move_occurrence({id}): {}", e.body());
        }
    }

    /// A person edits event `id` in Outlook (a `PATCH` of the whole event:
    /// its recurrence, say).
    pub fn update_event(&self, mailbox: &str, id: &str, patch: Value) {
        let mut s = lock(&self.shared);
        if let Err(e) = s.model.update(mailbox, id, &patch, Timestamp::now()) {
            panic!("update_event({id}): {}", e.body());
        }
    }

    /// A person cancels one occurrence (given by its original start) in Outlook.
    pub fn cancel_occurrence(&self, mailbox: &str, id: &str, original: Timestamp) {
        let mut s = lock(&self.shared);
        let occurrence = model::occurrence_id(id, original);
        if let Err(e) = s.model.remove(mailbox, &occurrence, false) {
            panic!("cancel_occurrence({id}): {}", e.body());
        }
    }

    /// An attendee answers (`accepted`, `tentativelyAccepted`, `declined`) the
    /// whole event, or one occurrence given by its original start.
    pub fn respond(&self, id: &str, attendee: &str, response: &str, occurrence: Option<Timestamp>) {
        let mut s = lock(&self.shared);
        if let Err(e) = s.model.respond(id, attendee, response, occurrence) {
            panic!("respond: {e}");
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared).requests.clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }

    /// Every secret handed out so far, and the client secret.
    pub fn secrets(&self) -> Vec<String> {
        lock(&self.shared).identity.secrets()
    }

    /// The person at the verification page enters `user_code` and approves
    /// or declines. False when no device code has that user code.
    pub fn answer_user_code(&self, user_code: &str, state: DeviceState) -> bool {
        lock(&self.shared).identity.answer_user_code(user_code, state)
    }

    /// Device codes expire at once (the next poll is `expired_token`).
    pub fn expire_device_codes(&self) {
        lock(&self.shared).identity.expire_device_codes();
    }

    /// The next `n` polls answer `slow_down`.
    pub fn slow_down_next(&self, n: usize) {
        lock(&self.shared).identity.slow_down = n;
    }

    /// (polls of the token endpoint with a device code, those sooner than the interval).
    pub fn device_polls(&self) -> (usize, usize) {
        let s = lock(&self.shared);
        (s.identity.polls, s.identity.early_polls)
    }

    pub fn expire_access_tokens(&self) {
        lock(&self.shared).identity.expire_access_tokens();
    }

    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared).identity.revoke_refresh_tokens();
    }

    /// App-only tokens may reach only these mailboxes (an application access
    /// policy, as an admin sets with `New-ApplicationAccessPolicy`).
    pub fn restrict_app_to(&self, mailboxes: &[&str]) {
        lock(&self.shared).app_scope = Some(mailboxes.iter().map(|m| lower(m)).collect());
    }

    /// Every delta token handed out so far is refused (410 `syncStateNotFound`).
    pub fn invalidate_delta_tokens(&self) {
        let mut s = lock(&self.shared);
        s.model.seq += 1;
        s.model.delta_floor = s.model.seq;
    }

    /// Fails the next `n` Graph calls (authorized ones) with `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.shared)
            .faults
            .fail_next
            .extend(std::iter::repeat_n(status, n));
    }

    /// Fails the next `n` calls of one operation (`events.create`, ...).
    pub fn fail_method(&self, operation: &str, n: usize, status: u16) {
        lock(&self.shared)
            .faults
            .fail_method
            .extend(std::iter::repeat_n((operation.to_string(), status), n));
    }

    /// `Retry-After` (seconds) on injected failures.
    pub fn set_retry_after(&self, secs: Option<u64>) {
        lock(&self.shared).faults.retry_after = secs;
    }

    /// Turns on Outlook's per-mailbox rate limit: at most `limit` Graph calls
    /// per mailbox in any sliding `window` (see the module doc).
    pub fn set_quota(&self, limit: usize, window: Duration) {
        lock(&self.shared).faults.quota = Some(Quota {
            limit,
            window,
            calls: HashMap::new(),
            not_before: HashMap::new(),
            peak: 0,
            refused: 0,
            early: 0,
        });
    }

    /// (the most calls one mailbox had in one window, calls refused, calls
    /// that came back before their `Retry-After`).
    pub fn quota_report(&self) -> (usize, usize, usize) {
        lock(&self.shared)
            .faults
            .quota
            .as_ref()
            .map_or((0, 0, 0), |q| (q.peak, q.refused, q.early))
    }

    /// Performs the next `n` writes, then cuts the connection unanswered.
    pub fn drop_after_write_next(&self, n: usize) {
        lock(&self.shared).faults.drop_writes = n;
    }

    /// Holds the next `n` calls of `operation`, authorized but unapplied,
    /// until [`FakeGraph::release_held`].
    pub fn hold_next(&self, operation: &str, n: usize) {
        let mut s = lock(&self.shared);
        s.gate_open.send_replace(false);
        s.faults.gate = Some((operation.to_string(), n));
    }

    /// Writes refused (412) because their `If-Match` no longer held.
    pub fn refused_if_match(&self) -> usize {
        lock(&self.shared).faults.refused_if_match
    }

    pub fn held(&self) -> usize {
        lock(&self.shared).faults.held
    }

    /// Lets the held calls through and waits (at most 10 s) until each was applied.
    pub fn release_held(&self) {
        {
            let mut s = lock(&self.shared);
            s.faults.gate = None;
            s.gate_open.send_replace(true);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.held() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The Graph operation of a request, and the mailbox path (`me` or
/// `users/{id}`) it names.
fn classify(method: &Method, path: &str) -> Option<(&'static str, String, Vec<String>)> {
    let rest = path.strip_prefix("/v1.0/")?;
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let (mailbox, tail) = match segments.first().map(String::as_str) {
        Some("me") => ("me".to_string(), segments[1..].to_vec()),
        Some("users") if segments.len() > 1 => (lower(&segments[1]), segments[2..].to_vec()),
        _ => return None,
    };
    let t: Vec<&str> = tail.iter().map(String::as_str).collect();
    let op = match (method.as_str(), t.as_slice()) {
        ("GET", []) => "user.get",
        ("POST", ["calendar", "getSchedule"]) => "getSchedule",
        ("GET", ["events"]) => "events.list",
        ("POST", ["events"]) => "events.create",
        ("GET", ["events", _]) => "events.get",
        ("PATCH", ["events", _]) => "events.update",
        ("DELETE", ["events", _]) => "events.delete",
        ("POST", ["events", _, "cancel"]) => "events.cancel",
        ("GET", ["events", _, "instances"]) => "events.instances",
        ("GET", ["calendarView", "delta"]) => "delta",
        _ => return None,
    };
    Some((op, mailbox, tail))
}

fn is_write(op: &str) -> bool {
    matches!(
        op,
        "events.create" | "events.update" | "events.delete" | "events.cancel"
    )
}

fn query_of(uri: &axum::http::Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Runs [`handle`] in a task of its own: a client that hangs up (a liaison
/// killed with a call in flight) cannot drop a call held at the write gate
/// half-way; it is applied when released, as a write Graph had received
/// would be. (Without this, hyper drops the handler with the connection,
/// and the held insert never lands.)
async fn detached(state: State<SharedState>, req: Request) -> Response {
    match tokio::spawn(handle(state, req)).await {
        Ok(response) => response,
        Err(e) => {
            GraphError::new(500, "InternalServerError", format!("fake Graph internal error: {e}")).into_response()
        }
    }
}

async fn handle(State(shared): State<SharedState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let conn = parts.extensions.get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    let path = parts.uri.path().to_string();
    let query = query_of(&parts.uri);
    let class = classify(&parts.method, &path);
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        operation: class.as_ref().map(|c| c.0.to_string()),
        status: 0,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        user: None,
        injected: false,
        dropped: false,
    };
    let mut performed_write = false;
    let response = if let Some(rest) = path.strip_prefix('/').and_then(|p| p.split_once("/oauth2/v2.0/")) {
        identity_endpoint(&shared, &parts.method, rest, &bytes)
    } else if let Some((op, mailbox, tail)) = class {
        let auth = parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let grant = lock(&shared).identity.authenticate(auth);
        match grant {
            None => GraphError::for_status(401).into_response(),
            Some(grant) => {
                record.user = grant.user.clone();
                match admit(&shared, op, &mailbox, &grant) {
                    Err(e) => e.into_response(),
                    Ok(mailbox) => {
                        let throttled = lock(&shared).faults.quota.as_mut().and_then(|q| q.admit(&mailbox));
                        // A call the quota refuses draws no injected fault.
                        let injected = if throttled.is_some() {
                            None
                        } else {
                            let mut s = lock(&shared);
                            let retry_after = s.faults.retry_after;
                            let i = s.faults.fail_method.iter().position(|(m, _)| m == op);
                            let status = match i.and_then(|i| s.faults.fail_method.remove(i)) {
                                Some((_, status)) => Some(status),
                                None => s.faults.fail_next.pop_front(),
                            };
                            status.map(|st| {
                                let mut e = GraphError::for_status(st);
                                e.retry_after = retry_after;
                                e
                            })
                        };
                        if let Some(e) = throttled {
                            e.into_response()
                        } else if let Some(e) = injected {
                            record.injected = true;
                            e.into_response()
                        } else {
                            let gated = {
                                let mut s = lock(&shared);
                                match &mut s.faults.gate {
                                    Some((m, n)) if *n > 0 && m == op => {
                                        *n -= 1;
                                        s.faults.held += 1;
                                        Some(s.gate_open.subscribe())
                                    }
                                    _ => None,
                                }
                            };
                            let was_held = gated.is_some();
                            if let Some(mut open) = gated {
                                let _ = open.wait_for(|&released| released).await;
                            }
                            let prefer = parts
                                .headers
                                .get("prefer")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let if_match = parts
                                .headers
                                .get(header::IF_MATCH)
                                .and_then(|h| h.to_str().ok())
                                .map(str::to_string);
                            let answer = match precondition(&shared, op, &tail, if_match.as_deref()) {
                                Err(e) => Err(e),
                                Ok(()) => graph_call(&shared, op, &mailbox, &tail, &query, &bytes, &prefer),
                            };
                            if was_held {
                                lock(&shared).faults.held -= 1;
                            }
                            performed_write = is_write(op);
                            match answer {
                                Ok(r) => r,
                                Err(e) => e.into_response(),
                            }
                        }
                    }
                }
            }
        }
    } else {
        GraphError::new(
            400,
            "BadRequest",
            format!("fake Graph: no such endpoint, or not modelled: {} {path}", parts.method),
        )
        .into_response()
    };
    if performed_write {
        let mut s = lock(&shared);
        if s.faults.drop_writes > 0 {
            s.faults.drop_writes -= 1;
            if let Some(conn) = &conn {
                conn.kill();
                record.dropped = true;
            }
        }
    }
    record.status = response.status().as_u16();
    lock(&shared).requests.push(record);
    response
}

fn identity_endpoint(shared: &SharedState, method: &Method, rest: (&str, &str), body: &[u8]) -> Response {
    let (tenant, endpoint) = rest;
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    if !Identity::known_tenant(tenant) {
        return errors::OAuthError::new(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."),
        )
        .into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut s = lock(shared);
    let base = format!("http://127.0.0.1:{}/", s.port);
    let result = match endpoint {
        "devicecode" => s.identity.device_code(&form, &base),
        "token" => s.identity.token(&form),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

/// Resolves `me`, and checks the token's right to the mailbox and operation.
fn admit(shared: &SharedState, op: &str, mailbox: &str, grant: &Grant) -> Result<String, GraphError> {
    let s = lock(shared);
    let resolved = match (mailbox, &grant.user) {
        ("me", Some(user)) => user.clone(),
        ("me", None) => {
            return Err(GraphError::bad_request(
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            ));
        }
        (other, _) => other.to_string(),
    };
    if !s.model.mailboxes.contains_key(&resolved) {
        return Err(GraphError::new(
            404,
            "ErrorInvalidUser",
            format!("The requested user '{resolved}' is invalid."),
        ));
    }
    let denied = || {
        GraphError::new(
            403,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    };
    match &grant.user {
        // Delegated: only the signed-in user's own mailbox (no shared calendars).
        Some(user) if *user != resolved => return Err(denied()),
        None => {
            if let Some(allowed) = &s.app_scope
                && !allowed.contains(&resolved)
            {
                return Err(GraphError::new(
                    403,
                    "ErrorAccessDenied",
                    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
                ));
            }
        }
        _ => {}
    }
    let has = |p: &str| grant.scopes.iter().any(|s| s.eq_ignore_ascii_case(p));
    let may_read = has("Calendars.Read") || has("Calendars.ReadWrite") || has("Calendars.ReadBasic");
    let allowed = if op == "user.get" {
        // https://learn.microsoft.com/en-us/graph/api/user-get#permissions
        has("User.Read") || has("User.ReadBasic.All") || has("User.Read.All")
    } else if is_write(op) {
        has("Calendars.ReadWrite")
    } else {
        may_read
    };
    if !allowed {
        return Err(denied());
    }
    Ok(resolved)
}

/// `If-Match` on a write: the item's current etag, or 412 (a write to an
/// item changed since the client read it is refused, and nothing changes).
fn precondition(shared: &SharedState, op: &str, tail: &[String], if_match: Option<&str>) -> Result<(), GraphError> {
    let (Some(wanted), true) = (if_match, is_write(op) && op != "events.create") else {
        return Ok(());
    };
    let current = lock(shared).model.etag(&tail[1]);
    match current {
        Some(tag) if wanted == "*" || wanted == tag => Ok(()),
        None => Err(GraphError::not_found()),
        Some(_) => {
            lock(shared).faults.refused_if_match += 1;
            Err(GraphError::new(
                412,
                "ErrorIrresolvableConflict",
                "The change key passed in the request does not match the current change key for the item.",
            ))
        }
    }
}

fn parse_body(bytes: &[u8]) -> Result<Value, GraphError> {
    serde_json::from_slice(bytes)
        .map_err(|e| GraphError::bad_request("BadRequest", format!("Unable to read JSON request payload: {e}")))
}

fn ok(status: StatusCode, v: Value) -> Result<Response, GraphError> {
    Ok(json_response(status, &v))
}

fn graph_call(
    shared: &SharedState,
    op: &str,
    mailbox: &str,
    tail: &[String],
    q: &[(String, String)],
    body: &[u8],
    prefer: &str,
) -> Result<Response, GraphError> {
    let mut s = lock(shared);
    let now = Timestamp::now();
    let base = format!("http://127.0.0.1:{}/v1.0/users/{}", s.port, mailbox);
    match op {
        // The signed-in user's profile (`/me`) or a user's: the mailbox's
        // address as both its userPrincipalName and its mail.
        "user.get" => ok(
            StatusCode::OK,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                "id": format!("{:016x}", splitmix(mailbox.bytes().fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)))),
                "displayName": mailbox.split('@').next().unwrap_or(mailbox),
                "userPrincipalName": mailbox,
                "mail": mailbox,
            }),
        ),
        "getSchedule" => ok(StatusCode::OK, get_schedule(&s.model, &parse_body(body)?)?),
        "events.create" => {
            let (id, _) = s.model.create(mailbox, parse_body(body)?, now)?;
            ok(StatusCode::CREATED, s.model.event_json(&id, None)?)
        }
        "events.get" => {
            let expand = param(q, "$expand").map(parse_expand).transpose()?;
            ok(
                StatusCode::OK,
                owned_json(&s.model, mailbox, &tail[1], expand.as_deref())?,
            )
        }
        "events.update" => {
            let id = s.model.update(mailbox, &tail[1], &parse_body(body)?, now)?;
            ok(StatusCode::OK, s.model.event_json(&id, None)?)
        }
        "events.cancel" => {
            s.model.remove(mailbox, &tail[1], true)?;
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "events.delete" => {
            s.model.remove(mailbox, &tail[1], false)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        "events.list" => {
            let filter = param(q, "$filter").map(Filter::parse).transpose()?;
            let expand = param(q, "$expand").map(parse_expand).transpose()?;
            let top = param(q, "$top")
                .and_then(|t| t.parse().ok())
                .unwrap_or(EVENTS_PAGE)
                .clamp(1, 1000);
            let skip: usize = param(q, "$skip").and_then(|t| t.parse().ok()).unwrap_or(0);
            let ids = s.model.list(mailbox, filter.as_ref());
            let page: Vec<Value> = ids
                .iter()
                .skip(skip)
                .take(top)
                .map(|id| s.model.event_json(id, expand.as_deref()))
                .collect::<Result<_, _>>()?;
            let mut answer = json!({"value": page});
            if skip + top < ids.len() {
                let mut next: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "$skip").cloned().collect();
                next.push(("$skip".into(), (skip + top).to_string()));
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(next)
                    .finish();
                answer["@odata.nextLink"] = json!(format!("{base}/events?{query}"));
            }
            ok(StatusCode::OK, answer)
        }
        "events.instances" => {
            owned_json(&s.model, mailbox, &tail[1], None)?;
            let lo = time_param(q, "startDateTime")?;
            let hi = time_param(q, "endDateTime")?;
            let items: Vec<Value> = s
                .model
                .instances_of(&tail[1])?
                .iter()
                .filter(|i| i.end > lo && i.start < hi && !i.cancelled)
                .map(|i| s.model.instance_json(i))
                .collect();
            ok(StatusCode::OK, json!({"value": items}))
        }
        "delta" => delta(&mut s, mailbox, q, prefer, &base),
        _ => Err(GraphError::bad_request("BadRequest", "not modelled")),
    }
}

fn owned_json(model: &Model, mailbox: &str, id: &str, expand: Option<&[String]>) -> Result<Value, GraphError> {
    match model.events.get(id) {
        Some(e) if e.mailbox == lower(mailbox) => model.event_json(id, expand),
        _ => Err(GraphError::not_found()),
    }
}

fn time_param(q: &[(String, String)], name: &str) -> Result<Timestamp, GraphError> {
    let text = param(q, name)
        .ok_or_else(|| GraphError::bad_request("ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."))?;
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            GraphError::bad_request(
                "ErrorInvalidParameter",
                format!("{name} {text:?} is not a date and time"),
            )
        })
}

fn get_schedule(model: &Model, body: &Value) -> Result<Value, GraphError> {
    let bad = |m: String| GraphError::bad_request("ErrorInvalidRequest", m);
    let schedules: Vec<String> = body["schedules"]
        .as_array()
        .ok_or_else(|| bad("schedules is required".into()))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("schedules holds addresses".into()))
        })
        .collect::<Result<_, _>>()?;
    if schedules.is_empty() || schedules.len() > model::SCHEDULE_MAX_ENTITIES {
        return Err(bad(format!(
            "fake Graph: getSchedule takes 1 to {} schedules, not {}",
            model::SCHEDULE_MAX_ENTITIES,
            schedules.len()
        )));
    }
    let (lo, _, _) = parse_dtz(&body["startTime"], "startTime")?;
    let (hi, _, _) = parse_dtz(&body["endTime"], "endTime")?;
    if hi <= lo {
        return Err(bad("endTime must be after startTime".into()));
    }
    if hi.duration_since(lo) >= model::SCHEDULE_MAX_RANGE {
        return Err(bad(
            "fake Graph: the time period of getSchedule must be less than 62 days".into(),
        ));
    }
    let interval = body
        .get("availabilityViewInterval")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .unwrap_or(30);
    if !(5..=1440).contains(&interval) {
        return Err(bad("availabilityViewInterval must be from 5 to 1440".into()));
    }
    let mut value = Vec::new();
    for who in schedules {
        if !model.mailboxes.contains_key(&lower(&who)) {
            value.push(json!({
                "scheduleId": who,
                "availabilityView": "",
                "error": {"message": format!("The recipient '{who}' was not found."), "responseCode": "ErrorMailRecipientNotFound"},
            }));
            continue;
        }
        let items = model.schedule_items(&who, lo, hi);
        let slots = (hi.duration_since(lo).as_secs() / (interval * 60)) as usize;
        let mut view = vec![b'0'; slots];
        for (s, e, status) in &items {
            let digit = match status.as_str() {
                "tentative" => b'1',
                "busy" => b'2',
                "oof" => b'3',
                "workingElsewhere" => b'4',
                _ => continue,
            };
            for (k, slot) in view.iter_mut().enumerate() {
                let a = lo.checked_add((k as i64 * interval).minutes()).unwrap_or(lo);
                let b = a.checked_add(interval.minutes()).unwrap_or(a);
                if *s < b && *e > a && digit > *slot {
                    *slot = digit;
                }
            }
        }
        value.push(json!({
            "scheduleId": who,
            "availabilityView": String::from_utf8_lossy(&view),
            "scheduleItems": items.iter().map(|(s, e, status)| json!({
                "isPrivate": false, "status": status, "start": utc_json(*s), "end": utc_json(*e),
            })).collect::<Vec<_>>(),
            "workingHours": {"daysOfWeek": ["monday","tuesday","wednesday","thursday","friday"], "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": {"name": "UTC"}},
        }));
    }
    Ok(
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)", "value": value}),
    )
}

/// A delta state: changes after `from` (none: the first round) up to `to`,
/// in the window, from item `offset` on.
fn encode_state(from: Option<u64>, to: u64, lo: Timestamp, hi: Timestamp, offset: usize) -> String {
    let raw = format!(
        "{}|{to}|{}|{}|{offset}",
        from.map_or("-".to_string(), |f| f.to_string()),
        lo.as_second(),
        hi.as_second()
    );
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_state(token: &str) -> Option<(Option<u64>, u64, Timestamp, Timestamp, usize)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let raw = String::from_utf8(bytes?).ok()?;
    let parts: Vec<&str> = raw.split('|').collect();
    if parts.len() != 5 {
        return None;
    }
    let from = if parts[0] == "-" {
        None
    } else {
        Some(parts[0].parse().ok()?)
    };
    Some((
        from,
        parts[1].parse().ok()?,
        Timestamp::from_second(parts[2].parse().ok()?).ok()?,
        Timestamp::from_second(parts[3].parse().ok()?).ok()?,
        parts[4].parse().ok()?,
    ))
}

fn delta(
    s: &mut Shared,
    mailbox: &str,
    q: &[(String, String)],
    prefer: &str,
    base: &str,
) -> Result<Response, GraphError> {
    for unsupported in ["$expand", "$filter", "$select", "$orderby", "$search"] {
        if param(q, unsupported).is_some() {
            return Err(GraphError::bad_request(
                "ErrorInvalidUrlQuery",
                format!(
                    "The following parameters are not supported with change tracking over the 'CalendarView' resource: '{unsupported}'."
                ),
            ));
        }
    }
    let page = prefer
        .split(',')
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DELTA_PAGE)
        .max(1);
    let expired = || {
        GraphError::new(
            410,
            "syncStateNotFound",
            "The sync state generation is not found or has expired.",
        )
    };
    let (from, to, lo, hi, offset) = if let Some(t) = param(q, "$deltatoken") {
        let (_, to, lo, hi, _) = decode_state(t).ok_or_else(expired)?;
        if to < s.model.delta_floor {
            return Err(expired());
        }
        (Some(to), s.model.seq, lo, hi, 0)
    } else if let Some(t) = param(q, "$skiptoken") {
        let state = decode_state(t).ok_or_else(expired)?;
        if state.0.is_some_and(|f| f < s.model.delta_floor) {
            return Err(expired());
        }
        state
    } else {
        (
            None,
            s.model.seq,
            time_param(q, "startDateTime")?,
            time_param(q, "endDateTime")?,
            0,
        )
    };
    let (items, removed) = s.model.delta(mailbox, from, to, lo, hi);
    let mut all: Vec<Value> = items;
    all.extend(
        removed
            .into_iter()
            .map(|id| json!({"@removed": {"reason": "deleted"}, "id": id})),
    );
    let chunk: Vec<Value> = all.iter().skip(offset).take(page).cloned().collect();
    let mut answer =
        json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)", "value": chunk});
    if offset + page < all.len() {
        answer["@odata.nextLink"] = json!(format!(
            "{base}/calendarView/delta?$skiptoken={}",
            encode_state(from, to, lo, hi, offset + page)
        ));
    } else {
        answer["@odata.deltaLink"] = json!(format!(
            "{base}/calendarView/delta?$deltatoken={}",
            encode_state(from, to, lo, hi, 0)
        ));
    }
    ok(StatusCode::OK, answer)
}

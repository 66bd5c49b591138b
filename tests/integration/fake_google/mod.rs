//! A fake Google Calendar API and Google OAuth server for the integration
//! tests: the real `liaison` binary, and the real google-calendar3 7 and
//! yup-oauth2 12 clients, talk to it over HTTP on 127.0.0.1.
//!
//! ```rust,ignore
//! let fake = FakeGoogle::start();                       // own thread and runtime; stops on drop
//! fake.add_calendar("ana@example.com", "Europe/Berlin"); // people whose free/busy is read
//! fake.add_event("ana@example.com", json!({..}));        // their busy time (raw Google events)
//! // liaison's config: calendar.google.api_base_url = fake.calendar_api_base(),
//! // client_secret = a file holding fake.client_secret_json() (or the service-account key).
//! // ... run liaison ...
//! fake.events("primary");   // what was booked, cancelled events included
//! fake.requests();          // every request: method, path, query, status, scopes, body
//! ```
//!
//! Endpoints: `GET /o/oauth2/auth`, `POST /token`, and under `/calendar/v3/`:
//! `freeBusy` (POST), `calendars/{calendarId}/events` (GET list, POST insert),
//! `.../events/{eventId}` (GET, PATCH, PUT, DELETE), `.../events/{eventId}/instances`
//! (GET). The primary account is [`DEFAULT_USER`] (see [`FakeGoogle::set_user`]).
//!
//! # Faithful to Google
//!
//! - Paths, query parameters and JSON field names of the discovery document
//!   (`calendar v3`, revision 20261030); `alt=json` accepted. Calendar and event
//!   ids are percent-decoded from the path, so an unescaped `#` in a calendar
//!   id truncates the path as it would on Google.
//! - Every API call needs `Authorization: Bearer` with a token this fake issued
//!   and that has not expired (else 401, reason `required` or `authError`, with
//!   `WWW-Authenticate`); the token's scopes must include one the discovery
//!   document lists for the method (else 403 `insufficientPermissions` with the
//!   `ACCESS_TOKEN_SCOPE_INSUFFICIENT` detail). A self-test compares the scope
//!   table with the discovery subset kept in the repository
//!   (`src/calendar/google/testdata/discovery-subset.json`).
//! - Error bodies: `{"error": {"code", "message", "errors": [{domain, reason,
//!   message}], "status"}}`; OAuth errors `{"error", "error_description"}`.
//!   Messages are Google's where known: 409 `duplicate` "The requested identifier
//!   already exists.", 410 `deleted`, 410 `fullSyncRequired`, 404 `notFound`,
//!   400 `timeRangeEmpty`, 400 `invalid` "Invalid resource id value.", 400
//!   `required` "Missing time zone definition for start time.", 429
//!   `rateLimitExceeded`, 403 `userRateLimitExceeded`, 403 `dailyLimitExceeded`
//!   "Daily Limit Exceeded" and `quotaExceeded` (domain `usageLimits`), 500
//!   `backendError`, and `invalid_grant` "Token has been expired or revoked.".
//! - Writes (insert, patch, update, delete, and the unmodelled import,
//!   quickAdd, move) need write access to the calendar: its owner has it (a
//!   user owns their own calendar; [`FakeGoogle::add_owned_calendar`] names the
//!   owner of a secondary one); [`FakeGoogle::grant_writer`] gives writer
//!   access, which a token holding only `calendar.events.owned` ("calendars
//!   you own") does not use. Else 403 `requiredAccessLevel` "You need to have
//!   writer access to this calendar." (domain `calendar`).
//! - Google's documented limits are the fake's own constants, each citing its
//!   page and independent of liaison's ([`FREEBUSY_MAX_CALENDARS`],
//!   [`FREEBUSY_MAX_RANGE`], [`EVENT_ID_LEN`], [`EXTENDED_PROPERTY_MAX_KEY`],
//!   [`EXTENDED_PROPERTY_MAX_VALUE`]). Extended properties are limited as
//!   documented: a key over 44 characters drops its property, a value over
//!   1024 characters is cut, silently. An attendee address that is plainly not
//!   one is 400 `invalid` "Invalid attendee email.".
//! - Per-user rate quota, when turned on ([`FakeGoogle::set_quota`]): at most N
//!   calls per user in any sliding window, measured by the fake on its own
//!   clock, then 429 `rateLimitExceeded` or 403 `userRateLimitExceeded`
//!   (domain `usageLimits`; both documented for the per-minute quota).
//!   [`FakeGoogle::quota_report`] tells the busiest window and the refusals.
//! - `events.insert`: a client id must match `[a-v0-9]{5,1024}`; an existing id
//!   is 409 even when that event is cancelled; start and end are required and
//!   end may not precede start; a recurring event needs `timeZone` on start and
//!   end; DTSTART/DTEND lines in `recurrence` are refused. The server sets
//!   `kind`, `etag`, `created`, `updated`, `htmlLink`, `iCalUID`, `sequence`,
//!   `creator`, `organizer`, `reminders`, `eventType`, `status: confirmed`, and
//!   `responseStatus: needsAction` on attendees (the organizer's own entry:
//!   `accepted`, `organizer`, `self`). Times come back in the event's zone with
//!   their offset (`2027-03-08T10:00:00+01:00`). Everything else the client
//!   sent (extendedProperties, description, location, ...) is kept as sent.
//! - `conferenceDataVersion=1` with `conferenceData.createRequest` adds a Google
//!   Meet conference (`hangoutLink`, `entryPoints`, `conferenceId`,
//!   `createRequest.status.statusCode: success`); the same `requestId` gives the
//!   same link. Without version 1 the conference data is ignored, as documented.
//! - `events.get` answers cancelled events with `status: cancelled`, and answers
//!   instance ids of a series. `events.delete` answers 204 and cancels; a second
//!   delete is 410 `deleted`. Deleting or patching an instance id
//!   (`<id>_<YYYYMMDDTHHMMSSZ>`, `<id>_<YYYYMMDD>` for all-day series) creates
//!   or changes that instance's exception (`recurringEventId`,
//!   `originalStartTime`), which `instances`, `list` and freeBusy honour.
//! - `events.list`: `privateExtendedProperty`/`sharedExtendedProperty` (repeatable,
//!   all must match), `maxResults` (default 250, at most 2500), `pageToken` /
//!   `nextPageToken`, `showDeleted` (cancelled instances of a series are listed
//!   anyway when `showDeleted` and `singleEvents` are both false, as
//!   documented), `singleEvents`, `orderBy` (`startTime` needs `singleEvents`),
//!   `timeMin`/`timeMax`, `updatedMin`, `iCalUID`, `syncToken`/`nextSyncToken`
//!   (changes since the token, deleted ones included; filters with a sync token
//!   are 400; a stale token is 410 `fullSyncRequired`). A sync token belongs to
//!   one calendar: used on another (an organizer that changed, or another
//!   user's `primary`) it is 410 `fullSyncRequired` too.
//! - `freeBusy.query`: `timeMin`/`timeMax` required, empty range 400
//!   `timeRangeEmpty`; unknown calendars get `errors: [{domain: global, reason:
//!   notFound}]` and the others still answer; `primary` is the caller's calendar;
//!   busy periods are merged and clipped to the range, written in `timeZone`
//!   (default UTC). A calendar is busy during its own events and during the
//!   events of every other calendar that invite it, unless the event is
//!   cancelled or `transparency: transparent`, or that calendar's attendee entry
//!   is `declined` (`needsAction` and `tentative` count as busy). Recurring
//!   events are expanded on the wall clock of `start.timeZone` (a weekly 10:00
//!   stays 10:00 across DST), with RDATE/EXDATE and the series' exceptions.
//! - OAuth: `/o/oauth2/auth` checks the client id, a loopback `redirect_uri`
//!   (any port), `response_type=code`, known scopes and a PKCE challenge when
//!   one is sent, then redirects at once to
//!   `redirect_uri/?[state=..&]code=..&scope=..` (or, refused with
//!   [`FakeGoogle::deny_consent`], `?error=access_denied[&state=..]`).
//!   `/token` implements the `authorization_code` grant (client id and
//!   secret, single-use code bound to its `redirect_uri` and to the PKCE
//!   verifier of its challenge; answers `access_token`, `expires_in`,
//!   `refresh_token`, `scope`, `token_type: Bearer`), `refresh_token` (no new
//!   refresh token) and the service-account `jwt-bearer` grant: the RS256
//!   signature is verified against the embedded key, and `iss`, `aud` (the
//!   token URI), `iat`/`exp` (at most an hour, five minutes of skew) and
//!   `scope` are checked; `sub` is the user the token acts for: it must be a
//!   user of the domain (the owner of a user calendar the fake knows), else
//!   400 `invalid_grant` "Invalid email or User ID", and the service account
//!   must have domain-wide delegation for every scope asked
//!   ([`FakeGoogle::set_delegation`]; all scopes by default), else 401
//!   `unauthorized_client` "Unauthorized client or scope in request.".
//!   Without `sub` the service account acts for itself.
//!
//! # Divergences (known)
//!
//! - Access control covers writes only: any valid token may read any calendar
//!   (`events.list`/`get`/`instances` on a calendar the caller cannot see would
//!   be 404 on Google, and `calendar.events.owned` reads only owned ones).
//!   Google's exact answer to a writer (not owner) using
//!   `calendar.events.owned` is not documented; the fake gives the
//!   `requiredAccessLevel` answer. `calendar.app.created` is treated like
//!   `calendar.events.owned`. Calendars exist when added, when they are the
//!   caller's own (created in UTC on first use), or when `add_event` names
//!   them; every calendar not made with `add_owned_calendar` is a user's own,
//!   and its id a user of the domain. No `calendarList`, `calendars`,
//!   `settings`, `acl`, `colors`, `channels`; `events.import`, `quickAdd`,
//!   `move`, `watch` answer 404 after the auth checks. Requests without any
//!   credentials get 401 (Google may answer 403 "missing a valid API key").
//! - Invitations are not copied to the attendees' calendars: `list`/`get` on an
//!   attendee's calendar do not show them; only freeBusy counts them. An
//!   attendee cannot mark their copy "free". Event types (working location,
//!   out of office, focus time) are not special-cased.
//! - freeBusy limits: Google documents at most 50 calendars but not how it
//!   refuses more; the fake answers 200 with `tooManyCalendarsRequested` on
//!   every calendar (the per-calendar reason the discovery document lists; a
//!   400 would be the other plausible answer). The range limit is not in
//!   Google's reference (clients observe 400 "The requested time range is too
//!   long." past 90 days); the fake refuses more than exactly 90 × 24 hours,
//!   whatever the zone's DST days. Groups are not expanded (a group id is
//!   `notFound`).
//! - Other limits: an event's 300 extended properties and 32 kB of them
//!   (documented, answer not documented) are not enforced; attendee addresses
//!   are checked for plain syntax only (Google's full rule is not published).
//! - Recurrence: RRULE (via the `rrule` crate), RDATE and EXDATE; EXRULE is
//!   refused. A DTSTART that does not match the rule is not added as an extra
//!   occurrence. A local time in a DST gap is moved forward (jiff's
//!   "compatible" rule); Google's choice is unverified. A series expands to at
//!   most 730 occurrences (an unbounded one to its first 730).
//! - `patch` is an RFC 7396 merge (objects merge, arrays replace, `null`
//!   removes) except `start`/`end`, which are replaced whole; attendees sent
//!   again without `responseStatus` keep their previous answer. A patch of a
//!   series' `recurrence` (liaison ends a series early with
//!   `RRULE:FREQ=WEEKLY;UNTIL=...Z`) applies to `instances`, freeBusy and
//!   `list`, and an incremental `list` reports the series as changed; an
//!   exception whose occurrence the new rule no longer has is kept stored but
//!   left out of `instances` and freeBusy (Google's handling of such
//!   exceptions is not documented; unverified). `sequence` is
//!   raised when start, end, recurrence, location or status change. `update`
//!   (PUT) replaces the event but keeps the server's fields. Deleting a series
//!   also cancels its exceptions. `instances` of a single event answers that
//!   event; of a cancelled series, its instances only with `showDeleted`.
//! - `list` order without `orderBy` is by id (Google: unspecified); `q` is
//!   refused with 400 (not modelled); `timeZone`, `maxAttendees`,
//!   `alwaysIncludeEmail`, `eventTypes` and `showHiddenInvitations` are accepted
//!   and ignored. `nextSyncToken` comes with the last page of every list. Sync
//!   tokens never expire unless [`FakeGoogle::invalidate_sync_tokens`]; what
//!   Google answers for another calendar's token is not documented (the fake:
//!   410). In an incremental sync a deleted event comes back as only `id` and
//!   `status` by default (the least Google guarantees), or whole, or the two
//!   alternately ([`FakeGoogle::set_deleted_shape`]); Google documents that
//!   the organizer's calendar keeps the details and that a sync with
//!   `showDeleted=false` leaves them out, and the fake does not tie the shape
//!   to `showDeleted`. Events without `timeZone` are written in the calendar's
//!   zone, without adding one.
//! - Conference creation succeeds at once (Google may answer `pending` first);
//!   only `hangoutsMeet` is accepted.
//! - `etag`s come from a change counter; `created`/`updated`, token expiry and
//!   the quota's windows use the machine's real clock (not `LIAISON_NOW`);
//!   [`FakeGoogle::expire_access_tokens`] expires tokens on demand;
//!   `htmlLink` is fake.
//! - OAuth: no consent screen, no granular consent (every requested scope is
//!   granted), no "Testing" status 7-day refresh expiry (use
//!   [`FakeGoogle::revoke_refresh_tokens`]); client credentials only in the
//!   form body (no HTTP Basic); refresh tokens are not bound to a user session
//!   and never expire by themselves. Domain-wide delegation is all or nothing
//!   per scope set: Google's `access_denied` for a partly delegated scope list
//!   is answered as `unauthorized_client`, and the delegation takes effect at
//!   once (Google: up to 24 hours). The `jwt-bearer` answer has no `scope`
//!   field.
//! - Quotas only when turned on ([`FakeGoogle::set_quota`]): per user, not per
//!   project (Google: also 10,000 per minute per project); a refused call is
//!   not counted in the window (Google does not say); the daily and "Calendar
//!   usage limits" are only injected. Failure injection
//!   ([`FakeGoogle::set_failure_rate`], [`FakeGoogle::fail_next`] for the next
//!   calls whatever their method, [`FakeGoogle::fail_method`] for the next
//!   calls of one method, e.g. `fail_method("events.insert", 1, 403,
//!   "dailyLimitExceeded")`) applies to authenticated Calendar API calls that
//!   pass the scope check, never to the OAuth endpoints. Methods are named by
//!   their discovery id, as [`RequestRecord::api_method`] records them. The
//!   bodies are Google's for the reason: `dailyLimitExceeded` 403 domain
//!   `usageLimits` "Daily Limit Exceeded", `quotaExceeded` 403 `usageLimits`
//!   "Calendar usage limits exceeded.", `forbiddenForNonOrganizer` and
//!   `requiredAccessLevel` 403 domain `calendar`.
//! - The write gate ([`FakeGoogle::hold_next`], [`FakeGoogle::held`],
//!   [`FakeGoogle::release_held`]) holds calls of one method, authorized but
//!   unapplied, until the test releases them: an insert in flight that lands
//!   after its client was killed and after a restarted client looked it up.
//!   The answer gate ([`FakeGoogle::hold_answer_next`]) applies the call at
//!   once and holds its answer until released: a write done whose answer the
//!   client never gets. Both are readiness signals (`held() > 0`), so tests
//!   order events by them instead of by sleeping.
//! - "Drop after write" ([`FakeGoogle::drop_after_write_next`]) performs the
//!   write, then closes the TCP connection before a single byte of the answer:
//!   the listener wraps each connection in an IO type that fails every read and
//!   write once killed (`conn.rs`), so plain `axum::serve` suffices.
//! - An oversized answer ([`FakeGoogle::oversize_next`]): a 200 whose body of
//!   the given size is streamed as the client reads, without
//!   `Content-Length`; not Google's behaviour, a test of the client's limit.

mod calendar;
pub mod conn;
mod errors;
mod oauth;
mod tests;
mod times;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form};
use jiff::Timestamp;
use serde_json::Value;

pub use calendar::{
    DeletedShape, EVENT_ID_LEN, EXTENDED_PROPERTY_MAX_KEY, EXTENDED_PROPERTY_MAX_VALUE, FREEBUSY_MAX_CALENDARS,
    FREEBUSY_MAX_RANGE,
};
use calendar::{Model, Write};
use conn::{ConnHandle, KillableListener};
use errors::{ApiError, json_response};
use oauth::{Auth, Delegation, Grant};

pub use oauth::{CLIENT_ID, CLIENT_SECRET, SERVICE_ACCOUNT_EMAIL};

/// The account that consents at `/o/oauth2/auth` and owns `primary`, unless
/// [`FakeGoogle::set_user`] names another.
pub const DEFAULT_USER: &str = "organizer@example.com";

const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/";
/// Scopes of the Calendar methods, from Google's discovery document
/// (calendar v3, revision 20261030), without the common prefix.
const METHOD_SCOPES: &[(&str, &[&str])] = &[
    (
        "calendar.events.delete",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.get",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.freebusy",
            "calendar.events.owned",
            "calendar.events.owned.readonly",
            "calendar.events.public.readonly",
            "calendar.events.readonly",
            "calendar.readonly",
        ],
    ),
    (
        "calendar.events.import",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.insert",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.instances",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.freebusy",
            "calendar.events.owned",
            "calendar.events.owned.readonly",
            "calendar.events.public.readonly",
            "calendar.events.readonly",
            "calendar.readonly",
        ],
    ),
    (
        "calendar.events.list",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.freebusy",
            "calendar.events.owned",
            "calendar.events.owned.readonly",
            "calendar.events.public.readonly",
            "calendar.events.readonly",
            "calendar.readonly",
        ],
    ),
    (
        "calendar.events.move",
        &["calendar", "calendar.events", "calendar.events.owned"],
    ),
    (
        "calendar.events.patch",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.quickAdd",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.update",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.owned",
        ],
    ),
    (
        "calendar.events.watch",
        &[
            "calendar",
            "calendar.app.created",
            "calendar.events",
            "calendar.events.freebusy",
            "calendar.events.owned",
            "calendar.events.owned.readonly",
            "calendar.events.public.readonly",
            "calendar.events.readonly",
            "calendar.readonly",
        ],
    ),
    (
        "calendar.freebusy.query",
        &[
            "calendar",
            "calendar.events.freebusy",
            "calendar.freebusy",
            "calendar.readonly",
        ],
    ),
];

/// One HTTP request the fake answered (or cut).
#[derive(Clone, Debug)]
pub struct RequestRecord {
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The decoded query parameters, repeated names kept, in order.
    pub query: Vec<(String, String)>,
    /// The Calendar method (discovery id, e.g. `calendar.events.insert`), for
    /// requests under `/calendar/v3/`.
    pub api_method: Option<String>,
    /// The status answered (for a dropped connection: the one that was not sent).
    pub status: u16,
    /// API calls: the scopes of the bearer token used (empty without a valid
    /// one). `/o/oauth2/auth`: the scopes asked for. `/token`: the scopes granted.
    pub scopes: Vec<String>,
    /// The account the bearer token acts for.
    pub user: Option<String>,
    /// The request body as text.
    pub body: String,
    /// An injected failure (`set_failure_rate`, `fail_next`, `fail_method`) answered it.
    pub injected: bool,
    /// The write was performed and the connection closed without an answer.
    pub dropped: bool,
}

impl RequestRecord {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        calendar::param(&self.query, name)
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug, Default)]
struct Faults {
    rate: f64,
    seed: u64,
    statuses: Vec<u16>,
    /// API calls seen (authorized ones), the index the failure draw uses.
    calls: u64,
    fail_next: VecDeque<(u16, String)>,
    /// (discovery id, status, reason) of calls of one method to fail, in order.
    fail_method: VecDeque<(String, u16, String)>,
    drop_writes: usize,
    retry_after: Option<u64>,
    /// The write gate: calls of this method (discovery id) still to hold.
    gate: Option<(String, usize)>,
    /// The answer gate: calls of this method to perform at once and whose
    /// answers to hold.
    answer_gate: Option<(String, usize)>,
    /// (discovery id, body size) of calls to answer with an oversized body.
    oversize: VecDeque<(String, usize)>,
    /// Calls waiting at either gate now.
    held: usize,
    quota: Option<QuotaMode>,
}

/// Google's per-user rate quota, modelled: at most `limit` API calls per user
/// in any sliding `window` ("Quotas are calculated per minute using a sliding
/// window"; 600 requests per minute per user per project; exceeding it answers
/// "a 403 usageLimits status code or a 429 usageLimits status code",
/// https://developers.google.com/workspace/calendar/api/guides/quota).
#[derive(Debug)]
struct QuotaMode {
    limit: usize,
    window: Duration,
    status: u16,
    reason: String,
    /// The instants of each user's admitted calls within the window (a
    /// refused call is not counted; whether Google counts it is not documented).
    calls: std::collections::HashMap<String, VecDeque<std::time::Instant>>,
    /// The most admitted calls of one user in one window.
    peak: usize,
    refused: usize,
}

impl QuotaMode {
    /// Counts a call of `user` now; answers the error when it is over the quota.
    fn admit(&mut self, user: &str) -> Option<ApiError> {
        let now = std::time::Instant::now();
        let calls = self.calls.entry(user.to_string()).or_default();
        while calls.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            calls.pop_front();
        }
        if calls.len() >= self.limit {
            self.refused += 1;
            return Some(ApiError::for_reason(self.status, &self.reason));
        }
        calls.push_back(now);
        self.peak = self.peak.max(calls.len());
        None
    }
}

impl Faults {
    /// The size of the oversized body to answer this call of `api_method`
    /// with, if one is queued for its method.
    fn take_oversize(&mut self, api_method: Option<&str>) -> Option<usize> {
        let i = self.oversize.iter().position(|(m, _)| Some(m.as_str()) == api_method)?;
        self.oversize.remove(i).map(|(_, size)| size)
    }

    /// The failure to answer this call of `api_method` with, if any: a
    /// failure queued for its method first, then one queued for any call,
    /// then the rate.
    fn draw(&mut self, api_method: Option<&str>) -> Option<ApiError> {
        self.calls += 1;
        let for_method = api_method.and_then(|m| self.fail_method.iter().position(|(f, _, _)| f == m));
        let mut error = if let Some((_, status, reason)) = for_method.and_then(|i| self.fail_method.remove(i)) {
            ApiError::for_reason(status, &reason)
        } else if let Some((status, reason)) = self.fail_next.pop_front() {
            ApiError::for_reason(status, &reason)
        } else if self.rate > 0.0 && !self.statuses.is_empty() {
            let r = calendar::splitmix(self.seed ^ calendar::splitmix(self.calls));
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            if u >= self.rate {
                return None;
            }
            let status = self.statuses[(calendar::splitmix(r) % self.statuses.len() as u64) as usize];
            ApiError::for_reason(status, ApiError::default_reason(status))
        } else {
            return None;
        };
        error.retry_after = self.retry_after;
        Some(error)
    }
}

struct Shared {
    model: Model,
    auth: Auth,
    faults: Faults,
    /// Opens the write gate (true once released).
    gate_open: tokio::sync::watch::Sender<bool>,
    requests: Vec<RequestRecord>,
    /// Panics inside the fake: bugs of the fake, reported when it is dropped.
    internal_errors: Vec<String>,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(s: &SharedState) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Who is calling an API handler: set by the pipeline after authentication.
#[derive(Clone, Debug)]
struct Caller {
    user: String,
}

/// Scopes a handler wants logged for its request (OAuth endpoints).
#[derive(Clone, Debug)]
struct LoggedScopes(Vec<String>);

/// A fake Google Calendar API and OAuth server on 127.0.0.1, on its own
/// thread and tokio runtime; stops when dropped.
pub struct FakeGoogle {
    shared: SharedState,
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGoogle {
    pub fn start() -> FakeGoogle {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let port = listener.local_addr().expect("local address").port();
        let salt = u64::from(port) ^ Timestamp::now().as_nanosecond() as u64;
        let mut model = Model::default();
        model.ensure_calendar(DEFAULT_USER, "UTC");
        let shared = Arc::new(Mutex::new(Shared {
            model,
            auth: Auth::new(DEFAULT_USER, format!("http://127.0.0.1:{port}/token"), salt),
            faults: Faults::default(),
            gate_open: tokio::sync::watch::Sender::new(false),
            requests: Vec::new(),
            internal_errors: Vec::new(),
        }));
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-google".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake Google runtime");
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
                // Dropping the runtime here aborts the connections still open.
            })
            .expect("spawn the fake Google thread");
        FakeGoogle {
            shared,
            port,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/`: the hub's `root_url`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// `http://127.0.0.1:PORT/calendar/v3/`: the hub's `base_url`.
    pub fn calendar_api_base(&self) -> String {
        format!("{}calendar/v3/", self.base_url())
    }

    pub fn auth_uri(&self) -> String {
        format!("{}o/oauth2/auth", self.base_url())
    }

    pub fn token_uri(&self) -> String {
        format!("{}token", self.base_url())
    }

    /// An installed-app OAuth client JSON (the file Google Cloud's console
    /// downloads) whose `auth_uri`/`token_uri` point at this fake.
    pub fn client_secret_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "installed": {
                "client_id": CLIENT_ID,
                "project_id": "liaison-fake",
                "auth_uri": self.auth_uri(),
                "token_uri": self.token_uri(),
                "auth_provider_x509_cert_url": format!("{}oauth2/v1/certs", self.base_url()),
                "client_secret": CLIENT_SECRET,
                "redirect_uris": ["http://localhost"],
            }
        }))
        .expect("JSON")
    }

    /// A service-account key JSON (Google's format) with a real RSA key and
    /// `token_uri` pointing at this fake.
    pub fn service_account_key_json(&self) -> String {
        serde_json::to_string_pretty(&serde_json::json!({
            "type": "service_account",
            "project_id": "liaison-fake",
            "private_key_id": oauth::SERVICE_ACCOUNT_KEY_ID,
            "private_key": oauth::SERVICE_ACCOUNT_PRIVATE_KEY,
            "client_email": SERVICE_ACCOUNT_EMAIL,
            "client_id": "104242424242424242424",
            "auth_uri": self.auth_uri(),
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": format!("{}oauth2/v1/certs", self.base_url()),
            "client_x509_cert_url": format!("{}robot/v1/metadata/x509/liaison%40liaison-fake.iam.gserviceaccount.com", self.base_url()),
            "universe_domain": "googleapis.com",
        }))
        .expect("JSON")
    }

    /// Mints an access token for the current user (see [`FakeGoogle::set_user`]).
    pub fn issue_access_token(&self, scopes: &[&str]) -> String {
        let mut s = lock(&self.shared);
        let grant = Grant {
            user: s.auth.user.clone(),
            scopes: scopes.iter().map(|x| x.to_string()).collect(),
            client_id: CLIENT_ID.to_string(),
        };
        s.auth.issue_access(grant).0
    }

    /// The account that consents at `/o/oauth2/auth` and that
    /// `issue_access_token` tokens act for; its calendar is created (UTC).
    pub fn set_user(&self, email: &str) {
        let mut s = lock(&self.shared);
        s.auth.user = email.to_string();
        s.model.ensure_calendar(email, "UTC");
    }

    /// How long access tokens live from now on (`expires_in`, and enforced).
    /// yup-oauth2 refreshes a token that expires within a minute.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.shared).auth.lifetime = lifetime;
    }

    /// Every secret the fake knows: the client secret, the private key, and all
    /// access tokens, refresh tokens and auth codes issued so far. For "no
    /// secret in the logs" checks.
    pub fn secrets(&self) -> Vec<String> {
        let s = lock(&self.shared);
        let mut out = vec![
            CLIENT_SECRET.to_string(),
            oauth::SERVICE_ACCOUNT_PRIVATE_KEY.to_string(),
        ];
        out.extend(s.auth.secrets());
        out
    }

    /// An existing user calendar (unknown calendars are `notFound` in freeBusy).
    /// Adding it again changes its zone.
    pub fn add_calendar(&self, email: &str, time_zone: &str) {
        assert!(
            times::zone(time_zone).is_some(),
            "add_calendar: unknown time zone {time_zone:?}"
        );
        let mut s = lock(&self.shared);
        let cal = Model::resolve(email, &s.auth.user);
        s.model.ensure_calendar(&cal, time_zone);
        s.model.calendars.get_mut(&cal).expect("just ensured").time_zone = time_zone.to_string();
    }

    /// A secondary calendar (e.g. `team@group.calendar.google.com`) owned by
    /// `owner`, who may write events on it with `calendar.events.owned`.
    /// Naming an existing calendar gives it that owner.
    pub fn add_owned_calendar(&self, id: &str, time_zone: &str, owner: &str) {
        assert!(times::zone(time_zone).is_some(), "unknown time zone {time_zone:?}");
        lock(&self.shared).model.ensure_owned_calendar(id, time_zone, owner);
    }

    /// Gives `user` writer access to `calendar` (an ACL rule `writer`): it
    /// lets tokens with `calendar` or `calendar.events` write there, not
    /// tokens with only `calendar.events.owned`.
    pub fn grant_writer(&self, calendar: &str, user: &str) {
        let mut s = lock(&self.shared);
        let cal = Model::resolve(calendar, &s.auth.user);
        let c = s.model.calendars.get_mut(&cal).expect("grant_writer: no such calendar");
        c.writers.insert(user.to_lowercase());
    }

    /// Which scopes the service account's client id may ask for when it acts
    /// for a user (domain-wide delegation): `None` for none (the grant is
    /// `unauthorized_client`), `Some(scopes)` for those (full URLs). By
    /// default every scope is delegated.
    pub fn set_delegation(&self, scopes: Option<&[&str]>) {
        lock(&self.shared).auth.delegation = match scopes {
            None => Delegation::NotGranted,
            Some(list) => Delegation::Scopes(list.iter().map(|s| s.to_string()).collect()),
        };
    }

    /// Whether the user refuses consent at `/o/oauth2/auth` from now on: its
    /// redirect then carries `error=access_denied` (and the `state`), as
    /// Google's does when the user clicks "Cancel".
    pub fn deny_consent(&self, deny: bool) {
        lock(&self.shared).auth.deny_consent = deny;
    }

    /// How incremental lists show a deleted event (default: id and status only).
    pub fn set_deleted_shape(&self, shape: DeletedShape) {
        lock(&self.shared).model.deleted_shape = shape;
    }

    /// Turns on Google's per-user rate quota: at most `limit` API calls per
    /// user in any sliding `window` (Google: 600 per minute); a call over it
    /// answers `status` with Google's body for `reason` (403
    /// `userRateLimitExceeded` or 429 `rateLimitExceeded`, both documented).
    /// OAuth endpoints do not count.
    pub fn set_quota(&self, limit: usize, window: Duration, status: u16, reason: &str) {
        lock(&self.shared).faults.quota = Some(QuotaMode {
            limit,
            window,
            status,
            reason: reason.to_string(),
            calls: std::collections::HashMap::new(),
            peak: 0,
            refused: 0,
        });
    }

    /// (the most calls one user made in one window, calls refused for the quota).
    pub fn quota_report(&self) -> (usize, usize) {
        lock(&self.shared)
            .faults
            .quota
            .as_ref()
            .map_or((0, 0), |q| (q.peak, q.refused))
    }

    /// Stores a raw Google event resource on `calendar` (created in UTC if
    /// unknown) and answers its id. It may be recurring, or an exception of a
    /// series (with `recurringEventId` and `originalStartTime`; its id then
    /// defaults to `<series>_<stamp>`). Ids are not checked against the
    /// base32hex rule. Panics on an event Google would refuse.
    pub fn add_event(&self, calendar: &str, mut event: Value) -> String {
        let mut s = lock(&self.shared);
        let cal = Model::resolve(calendar, &s.auth.user);
        s.model.ensure_calendar(&cal, "UTC");
        if event.get("id").is_none()
            && let (Some(master), Some(original)) = (
                event.get("recurringEventId").and_then(Value::as_str),
                event.get("originalStartTime"),
            )
        {
            let when = times::parse_event_time(original, "originalStart").expect("add_event: bad originalStartTime");
            let stamp = times::instance_stamp(&match when {
                times::When::Timed { at, .. } => times::OccStart::At(at),
                times::When::AllDay(d) => times::OccStart::Day(d),
            });
            event["id"] = Value::String(format!("{master}_{stamp}"));
        }
        match s.model.insert_raw(&cal, event, Timestamp::now()) {
            Ok(ev) => ev["id"].as_str().expect("has an id").to_string(),
            Err(e) => panic!("add_event({calendar}): Google would refuse this event: {}", e.body()),
        }
    }

    /// Deletes event `event_id` on `calendar` as a person would in Google
    /// Calendar (a series: with its exceptions). Panics when there is no such
    /// event or it is deleted already.
    pub fn delete_event(&self, calendar: &str, event_id: &str) {
        let mut s = lock(&self.shared);
        let cal = Model::resolve(calendar, &s.auth.user);
        if let Err(e) = s.model.delete(&cal, event_id, Timestamp::now()) {
            panic!("delete_event({calendar}, {event_id}): {}", e.body());
        }
    }

    /// The events stored on `calendar` (`primary` is the current user's),
    /// cancelled ones and exceptions included, by id.
    pub fn events(&self, calendar: &str) -> Vec<Value> {
        let s = lock(&self.shared);
        let cal = Model::resolve(calendar, &s.auth.user);
        s.model
            .calendars
            .get(&cal)
            .map(|c| c.events.values().map(|e| e.value.clone()).collect())
            .unwrap_or_default()
    }

    /// Every request so far, in the order they were answered.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared).requests.clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }

    /// Fails that share of API calls (not `/o/oauth2/auth` or `/token`, not
    /// calls refused for authentication) with one of `statuses` and Google's
    /// error body for it. Which calls fail follows from `seed` and the order
    /// of the calls. A rate of 0 turns it off.
    pub fn set_failure_rate(&self, rate: f64, seed: u64, statuses: &[u16]) {
        let mut s = lock(&self.shared);
        s.faults.rate = rate;
        s.faults.seed = seed;
        s.faults.statuses = statuses.to_vec();
        s.faults.calls = 0;
    }

    /// Fails the next `n` API calls with `status` and `reason` (e.g. 429
    /// `rateLimitExceeded`, 403 `userRateLimitExceeded`, 500 `backendError`).
    pub fn fail_next(&self, n: usize, status: u16, reason: &str) {
        let mut s = lock(&self.shared);
        s.faults
            .fail_next
            .extend(std::iter::repeat_n((status, reason.to_string()), n));
    }

    /// Fails the next `n` calls of one Calendar method only, named by its
    /// discovery id with or without the `calendar.` prefix (`"events.insert"`,
    /// `"calendar.freebusy.query"`), with `status` and Google's error body for
    /// `reason` (e.g. 403 `dailyLimitExceeded`, domain `usageLimits`, "Daily
    /// Limit Exceeded"). Calls of other methods pass, and do not use up the
    /// `n`. Such a failure is drawn before those of [`FakeGoogle::fail_next`].
    /// Panics on a method the fake does not know.
    pub fn fail_method(&self, method: &str, n: usize, status: u16, reason: &str) {
        let full = if method.starts_with("calendar.") {
            method.to_string()
        } else {
            format!("calendar.{method}")
        };
        assert!(
            METHOD_SCOPES.iter().any(|(m, _)| *m == full),
            "fail_method: {method:?} is not a Calendar method the fake knows (e.g. \"events.insert\")"
        );
        let mut s = lock(&self.shared);
        s.faults
            .fail_method
            .extend(std::iter::repeat_n((full, status, reason.to_string()), n));
    }

    /// Holds the next `n` calls of `method` (e.g. `"events.insert"`) at a gate,
    /// authorized but not yet applied, until [`FakeGoogle::release_held`]:
    /// a write still in flight, which lands whenever the test says (after its
    /// client was killed, after a restarted client looked it up).
    pub fn hold_next(&self, method: &str, n: usize) {
        let full = if method.starts_with("calendar.") {
            method.to_string()
        } else {
            format!("calendar.{method}")
        };
        let mut s = lock(&self.shared);
        s.gate_open.send_replace(false);
        s.faults.gate = Some((full, n));
    }

    /// Performs the next `n` calls of `method` at once but holds their answers
    /// until [`FakeGoogle::release_held`]: a write that landed and whose
    /// answer is still on its way (a client killed now never learns it).
    pub fn hold_answer_next(&self, method: &str, n: usize) {
        let full = if method.starts_with("calendar.") {
            method.to_string()
        } else {
            format!("calendar.{method}")
        };
        let mut s = lock(&self.shared);
        s.gate_open.send_replace(false);
        s.faults.answer_gate = Some((full, n));
    }

    /// Calls waiting at either gate now (a readiness signal for tests).
    pub fn held(&self) -> usize {
        lock(&self.shared).faults.held
    }

    /// Lets every held call through and waits until each has been applied
    /// and answered (or its client is gone), at most 10 s.
    pub fn release_held(&self) {
        {
            let mut s = lock(&self.shared);
            s.faults.gate = None;
            s.faults.answer_gate = None;
            s.gate_open.send_replace(true);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.held() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Answers the next call of `method` (e.g. `"events.list"`) with a 200
    /// whose JSON body is `size` bytes long, streamed in chunks without a
    /// `Content-Length` (a server that does not say how much is coming).
    /// Not Google's behaviour: a test of the client's answer size limit.
    pub fn oversize_next(&self, method: &str, size: usize) {
        let full = if method.starts_with("calendar.") {
            method.to_string()
        } else {
            format!("calendar.{method}")
        };
        lock(&self.shared).faults.oversize.push_back((full, size));
    }

    /// Adds `Retry-After: secs` to injected failures (None: no header, as
    /// Google usually sends).
    pub fn set_retry_after(&self, secs: Option<u64>) {
        lock(&self.shared).faults.retry_after = secs;
    }

    /// Performs the next `n` writes (insert, patch, update, delete; whatever
    /// their outcome), then closes the connection without answering.
    pub fn drop_after_write_next(&self, n: usize) {
        lock(&self.shared).faults.drop_writes = n;
    }

    /// Makes every access token issued so far expire now: the next API call
    /// with one answers 401, as Google does for an expired token (instead of
    /// waiting out a short lifetime).
    pub fn expire_access_tokens(&self) {
        lock(&self.shared).auth.expire_access_tokens();
    }

    /// Revokes every refresh token issued so far: refresh grants then answer
    /// 400 `invalid_grant` "Token has been expired or revoked.". Tokens
    /// issued later (a new consent) work.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared).auth.revoke_refresh_tokens();
    }

    /// Makes every sync token handed out so far invalid (410 `fullSyncRequired`).
    pub fn invalidate_sync_tokens(&self) {
        lock(&self.shared).model.sync_epoch += 1;
    }

    /// Sets `attendee`'s `responseStatus` on event `event_id` (wherever it is
    /// stored): on the whole series (and its exceptions) when `instance` is
    /// None, else on one instance, given as its instance id, its
    /// `YYYYMMDDTHHMMSSZ` suffix or its RFC 3339 original start; that creates
    /// the instance's exception as Google does. Panics when there is no such
    /// event, instance or attendee.
    pub fn set_response_status(&self, event_id: &str, attendee: &str, status: &str, instance: Option<&str>) {
        let mut s = lock(&self.shared);
        if let Err(e) = s
            .model
            .set_response_status(event_id, attendee, status, instance, Timestamp::now())
        {
            panic!("set_response_status: {e}");
        }
    }
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let errors = std::mem::take(&mut lock(&self.shared).internal_errors);
        if !errors.is_empty() && !std::thread::panicking() {
            panic!("the fake Google API panicked (a bug of the fake; the client got a 500): {errors:#?}");
        }
    }
}

fn router(shared: SharedState) -> Router {
    Router::new()
        .route("/o/oauth2/auth", get(oauth_authorize))
        .route("/token", post(oauth_token))
        .route("/calendar/v3/freeBusy", post(free_busy))
        .route(
            "/calendar/v3/calendars/{calendar_id}/events",
            get(events_list).post(events_insert),
        )
        .route(
            "/calendar/v3/calendars/{calendar_id}/events/{event_id}",
            get(event_get).patch(event_patch).put(event_update).delete(event_delete),
        )
        .route(
            "/calendar/v3/calendars/{calendar_id}/events/{event_id}/instances",
            get(event_instances),
        )
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), pipeline))
        .with_state(shared)
}

/// The Calendar method a request calls, by Google's discovery id.
fn classify(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/calendar/v3/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let m = method.as_str();
    Some(match (m, segments.as_slice()) {
        ("POST", ["freeBusy"]) => "calendar.freebusy.query",
        ("GET", ["calendars", _, "events"]) => "calendar.events.list",
        ("POST", ["calendars", _, "events"]) => "calendar.events.insert",
        ("POST", ["calendars", _, "events", "import"]) => "calendar.events.import",
        ("POST", ["calendars", _, "events", "quickAdd"]) => "calendar.events.quickAdd",
        ("POST", ["calendars", _, "events", "watch"]) => "calendar.events.watch",
        ("GET", ["calendars", _, "events", _]) => "calendar.events.get",
        ("PATCH", ["calendars", _, "events", _]) => "calendar.events.patch",
        ("PUT", ["calendars", _, "events", _]) => "calendar.events.update",
        ("DELETE", ["calendars", _, "events", _]) => "calendar.events.delete",
        ("GET", ["calendars", _, "events", _, "instances"]) => "calendar.events.instances",
        ("POST", ["calendars", _, "events", _, "move"]) => "calendar.events.move",
        _ => return None,
    })
}

fn is_write(api_method: Option<&str>) -> bool {
    matches!(
        api_method,
        Some(
            "calendar.events.insert"
                | "calendar.events.patch"
                | "calendar.events.update"
                | "calendar.events.delete"
                | "calendar.events.import"
                | "calendar.events.quickAdd"
                | "calendar.events.move"
        )
    )
}

fn scope_allows(api_method: &str, scopes: &[String]) -> bool {
    let Some((_, accepted)) = METHOD_SCOPES.iter().find(|(m, _)| *m == api_method) else {
        return false;
    };
    scopes.iter().any(|s| {
        s.strip_prefix(SCOPE_PREFIX)
            .is_some_and(|short| accepted.contains(&short))
    })
}

/// A write on a calendar the caller may not write: 403 `requiredAccessLevel`
/// "You need to have writer access to this calendar.", the answer Google
/// gives to an insert on a calendar not shared with the caller
/// (https://github.com/spatie/laravel-google-calendar/issues/95). With only
/// `calendar.events.owned` the caller must own the calendar.
fn write_refusal(model: &Model, api_method: Option<&str>, path: &str, grant: &Grant) -> Option<ApiError> {
    if !is_write(api_method) {
        return None;
    }
    let segment = path.strip_prefix("/calendar/v3/calendars/")?.split('/').next()?;
    let id = percent_encoding::percent_decode_str(segment).decode_utf8().ok()?;
    let cal = Model::resolve(&id, &grant.user);
    let broad = grant.scopes.iter().any(|s| {
        s.strip_prefix(SCOPE_PREFIX)
            .is_some_and(|short| short == "calendar" || short == "calendar.events")
    });
    if model.can_write(&cal, &grant.user, !broad) {
        None
    } else {
        Some(ApiError::for_reason(403, "requiredAccessLevel"))
    }
}

fn insufficient_scopes(api_method: &str) -> ApiError {
    let mut e = ApiError::new(
        403,
        "global",
        "insufficientPermissions",
        "Request had insufficient authentication scopes.",
    );
    e.item_message = Some("Insufficient Permission".into());
    let (resource, verb) = api_method
        .trim_start_matches("calendar.")
        .split_once('.')
        .unwrap_or(("", ""));
    let mut chars = resource.chars();
    let resource: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    let mut chars = verb.chars();
    let verb: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    e.details.push(serde_json::json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "domain": "googleapis.com",
        "metadata": { "service": "calendar-json.googleapis.com", "method": format!("calendar.v3.{resource}.{verb}") }
    }));
    e
}

/// Every request passes here: it is logged; API calls are authenticated,
/// checked for scope, quota and write access, perhaps failed on purpose or
/// held at a gate; writes may have their connection cut after they are
/// performed. The work runs in its own task so that a client hanging up
/// cannot stop a write half-way.
async fn pipeline(State(shared): State<SharedState>, req: Request, next: Next) -> Response {
    let what = format!("{} {}", req.method(), req.uri());
    match tokio::spawn(handle(shared.clone(), req, next)).await {
        Ok(response) => response,
        Err(e) => {
            let why = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            lock(&shared).internal_errors.push(format!("{what}: {why}"));
            ApiError::new(
                500,
                "global",
                "backendError",
                format!("fake Google internal error: {why}"),
            )
            .into_response()
        }
    }
}

async fn handle(shared: SharedState, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let api_method = classify(&parts.method, &path);
    let conn = parts.extensions.get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        query,
        api_method: api_method.map(str::to_string),
        status: 0,
        scopes: Vec::new(),
        user: None,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        injected: false,
        dropped: false,
    };
    let mut handled = false;
    let response = if path.starts_with("/calendar/v3/") {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let grant = lock(&shared).auth.authenticate(header).map(|t| t.grant.clone());
        match grant {
            Err(e) => e.into_response(),
            Ok(grant) => {
                record.scopes = grant.scopes.clone();
                record.user = Some(grant.user.clone());
                let refused = match api_method {
                    Some(m) if !scope_allows(m, &grant.scopes) => Some(insufficient_scopes(m)),
                    _ => None,
                };
                let refused = refused
                    .or_else(|| {
                        let mut s = lock(&shared);
                        s.faults.quota.as_mut().and_then(|q| q.admit(&grant.user))
                    })
                    .or_else(|| write_refusal(&lock(&shared).model, api_method, &path, &grant));
                if let Some(e) = refused {
                    e.into_response()
                } else if let Some(e) = lock(&shared).faults.draw(api_method) {
                    record.injected = true;
                    e.into_response()
                } else if let Some(size) = lock(&shared).faults.take_oversize(api_method) {
                    record.injected = true;
                    oversized_answer(size)
                } else {
                    // The write gate: the call waits, unapplied, until the
                    // test releases it; a client that hung up meanwhile does
                    // not stop it (this runs in its own task).
                    let gated = {
                        let mut s = lock(&shared);
                        match &mut s.faults.gate {
                            Some((m, n)) if *n > 0 && api_method == Some(m.as_str()) => {
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
                    // The caller's own calendar always exists, as on Google.
                    lock(&shared).model.ensure_calendar(&grant.user, "UTC");
                    parts.extensions.insert(Caller { user: grant.user });
                    handled = true;
                    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
                    if was_held {
                        lock(&shared).faults.held -= 1;
                    }
                    // The answer gate: applied, answered only when released.
                    let answer_held = {
                        let mut s = lock(&shared);
                        match &mut s.faults.answer_gate {
                            Some((m, n)) if *n > 0 && api_method == Some(m.as_str()) => {
                                *n -= 1;
                                s.faults.held += 1;
                                Some(s.gate_open.subscribe())
                            }
                            _ => None,
                        }
                    };
                    if let Some(mut open) = answer_held {
                        let _ = open.wait_for(|&released| released).await;
                        lock(&shared).faults.held -= 1;
                    }
                    response
                }
            }
        }
    } else {
        next.run(Request::from_parts(parts, Body::from(bytes))).await
    };
    if let Some(LoggedScopes(scopes)) = response.extensions().get::<LoggedScopes>() {
        record.scopes = scopes.clone();
    }
    if handled && is_write(api_method) {
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

/// A 200 with a JSON body of `size` bytes (a list whose padding is
/// whitespace), produced chunk by chunk as the client reads: chunked
/// transfer encoding, no `Content-Length`.
fn oversized_answer(size: usize) -> Response {
    use std::task::{Context, Poll};

    use hyper::body::Frame;

    const HEAD: &[u8] = b"{\"kind\": \"calendar#events\", \"items\": [";
    const TAIL: &[u8] = b"]}";
    const CHUNK: usize = 64 * 1024;

    struct Padded {
        sent: usize,
        size: usize,
    }

    impl hyper::body::Body for Padded {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            let (sent, size) = (self.sent, self.size);
            if sent >= size {
                return Poll::Ready(None);
            }
            let n = CHUNK.min(size - sent);
            let mut chunk = vec![b' '; n];
            for (i, byte) in chunk.iter_mut().enumerate() {
                let at = sent + i;
                if at < HEAD.len() {
                    *byte = HEAD[at];
                } else if at >= size - TAIL.len() {
                    *byte = TAIL[at - (size - TAIL.len())];
                }
            }
            self.sent += n;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
        }
    }

    let mut response = Response::new(Body::new(Padded { sent: 0, size }));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

async fn fallback(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::new(
        404,
        "global",
        "notFound",
        format!(
            "fake Google: no such endpoint, or not modelled: {method} {}",
            uri.path()
        ),
    )
    .into_response()
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::new(400, "global", "parseError", "Parse Error"))
}

fn ok_json(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => ok_json(v),
        Err(e) => e.into_response(),
    }
}

/// `conferenceDataVersion` (0 or 1).
fn conference_version(q: &[(String, String)]) -> Result<u8, ApiError> {
    match calendar::param(q, "conferenceDataVersion") {
        None | Some("0") => Ok(0),
        Some("1") => Ok(1),
        Some(v) => {
            Err(ApiError::invalid(format!("Invalid conference data version: {v}"))
                .at("parameter", "conferenceDataVersion"))
        }
    }
}

fn check_send_updates(q: &[(String, String)]) -> Result<(), ApiError> {
    match calendar::param(q, "sendUpdates") {
        None | Some("all" | "externalOnly" | "none") => Ok(()),
        Some(v) => {
            Err(ApiError::invalid(format!("Invalid value '{v}' for sendUpdates")).at("parameter", "sendUpdates"))
        }
    }
}

async fn oauth_authorize(State(shared): State<SharedState>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let (result, scopes) = lock(&shared).auth.authorize(&q);
    let mut response = match result {
        Ok(location) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&location).expect("encoded location"),
            );
            r
        }
        Err((status, message)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                format!("<html><body><h1>{message}</h1></body></html>"),
            )
                .into_response()
        }
    };
    response.extensions_mut().insert(LoggedScopes(scopes));
    response
}

async fn oauth_token(State(shared): State<SharedState>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let result = {
        let mut s = lock(&shared);
        let users = s.model.users();
        s.auth.token(&form, &users)
    };
    match result {
        Ok((body, scopes)) => {
            let mut response = ok_json(body);
            response.extensions_mut().insert(LoggedScopes(scopes));
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn free_busy(State(shared): State<SharedState>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    answer(parse_json(&body).and_then(|b| lock(&shared).model.free_busy(&caller.user, &b)))
}

async fn events_list(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(calendar_id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    answer(lock(&shared).model.list(&cal, &q))
}

async fn events_insert(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(calendar_id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    let result = (|| {
        check_send_updates(&q)?;
        let version = conference_version(&q)?;
        let event = parse_json(&body)?;
        lock(&shared)
            .model
            .insert(&cal, &caller.user, event, version, Timestamp::now())
    })();
    answer(result)
}

async fn event_get(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    answer(lock(&shared).model.get(&cal, &event_id))
}

async fn write_event(
    shared: SharedState,
    caller: Caller,
    calendar_id: String,
    event_id: String,
    q: Vec<(String, String)>,
    body: Bytes,
    mode: Write,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    let result = (|| {
        check_send_updates(&q)?;
        let version = conference_version(&q)?;
        let event = parse_json(&body)?;
        lock(&shared)
            .model
            .write(&cal, &event_id, event, mode, version, Timestamp::now())
    })();
    answer(result)
}

async fn event_patch(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    write_event(shared, caller, calendar_id, event_id, q, body, Write::Patch).await
}

async fn event_update(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    write_event(shared, caller, calendar_id, event_id, q, body, Write::Update).await
}

async fn event_delete(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    let result = check_send_updates(&q).and_then(|()| lock(&shared).model.delete(&cal, &event_id, Timestamp::now()));
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn event_instances(
    State(shared): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let cal = Model::resolve(&calendar_id, &caller.user);
    answer(lock(&shared).model.instances(&cal, &event_id, &q))
}

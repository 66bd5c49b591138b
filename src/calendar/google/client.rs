//! What of the HTTP layer is Google's: the google-calendar3 hub, and the
//! translation of the crate's errors and Google's error JSON into the
//! neutral [`ApiError`] classes.
//!
//! google-calendar3 retries nothing by default, has no timeout, and reports a
//! non-2xx answer as `Error::BadRequest(json)` without its status. So every call
//! goes through [`Api::call`], which hands it to the shared
//! [`Caller`](crate::calendar::http::Caller): each attempt sends once (a
//! [`Delegate`] that never asks the crate to retry, but records the status and
//! `Retry-After` of a failure and counts the request), and [`classify`] reads
//! the failure for the layer's pacing, timeout and retries.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use google_calendar3::CalendarHub;
use google_calendar3::common::{self, Delegate, Retry};
use google_calendar3::hyper::header::RETRY_AFTER;
use google_calendar3::hyper_util::client::legacy::Client;
use google_calendar3::hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::auth::{TokenError, TokenSource};
use crate::calendar::http::{
    ApiError, BODY_LIMIT, Caller, Classify, Connector, CutAnswers, ExchangeError, RequestCounter, Timing,
    https_connector, parse_retry_after,
};

/// The hub of every API call.
pub(crate) type Hub = CalendarHub<Connector>;

/// Google's Calendar API root; `calendar/v3/` is appended for the API itself.
pub const GOOGLE_ROOT_URL: &str = "https://www.googleapis.com/";

/// The service as the HTTP layer's messages name it.
const SERVICE: &str = "Google";

/// 403 reasons that mean "slow down", not "forbidden": they pass within seconds.
const RATE_REASONS: [&str; 2] = ["rateLimitExceeded", "userRateLimitExceeded"];
/// 403/429 reasons of a quota that renews after hours (a day for the project's
/// courtesy limit; "several hours" for Calendar's usage limits): retrying
/// within one call only spends requests.
const QUOTA_REASONS: [&str; 3] = ["dailyLimitExceeded", "dailyLimitExceededUnreg", "quotaExceeded"];
/// 403 reasons that concern the one event of the request, not the account.
/// (`requiredAccessLevel`, "You need to have writer access to this calendar",
/// concerns the whole organizer calendar: everyone, so it is not here.)
const REFUSED_REASONS: [&str; 1] = ["forbiddenForNonOrganizer"];
/// 403 reasons that mean the token lacks a scope: only a new consent helps.
const SCOPE_REASONS: [&str; 3] = [
    "insufficientPermissions",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
    "authError",
];

/// What the [`Observer`] saw of a failed exchange, which the crate's error drops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// The connection cut the answer for its size (the crate then reports
    /// an empty body).
    pub too_large: bool,
}

/// Turns one outcome of the crate into an [`ApiError`]. Every variant of
/// `google_apis_common::Error` is mapped; `seen` adds the status and
/// `Retry-After` header that `BadRequest` does not carry.
pub(crate) fn classify(error: &common::Error, seen: Seen) -> ApiError {
    use common::Error as E;
    if seen.too_large {
        return ExchangeError::TooLarge { limit: BODY_LIMIT }.classify(SERVICE);
    }
    match error {
        E::BadRequest(json) => classify_json(json, seen),
        E::Failure(response) => {
            let status = response.status().as_u16();
            let retry_after = seen.retry_after.or_else(|| {
                response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, Timestamp::now()))
            });
            let text = response.status().canonical_reason().unwrap_or("");
            let message = format!("HTTP {status} {text} without a JSON body");
            let why = Why {
                described: &message,
                ..Why::default()
            };
            classify_status(status, &why, retry_after)
        }
        E::HttpError(e) => ApiError::transient(format!("connection to Google failed: {e}")),
        E::Io(e) => ApiError::transient(format!("reading Google's answer failed: {e}")),
        // The crate reads the body with `unwrap_or_default()`: a connection cut
        // in the middle of a 2xx body shows up as an empty, undecodable string.
        E::JsonDecodeError(body, _) if body.trim().is_empty() => {
            ApiError::transient("Google's answer was cut off (empty body)")
        }
        E::JsonDecodeError(_, e) => ApiError::Invalid(format!("Google's answer cannot be read: {e}")),
        E::MissingToken(e) => match e.downcast_ref::<TokenError>() {
            Some(TokenError::Transient(m)) => ApiError::transient(m.clone()),
            Some(TokenError::Unauthorized(m)) => ApiError::Unauthorized {
                message: m.clone(),
                expired: false,
            },
            None => ApiError::Unauthorized {
                message: format!("no access token: {e}"),
                expired: false,
            },
        },
        // Only reachable without scopes; liaison always names its scopes.
        E::MissingAPIKey => ApiError::Unauthorized {
            message: "no access token for this request".into(),
            expired: false,
        },
        // Our delegate never cancels; treat it like an interrupted exchange.
        E::Cancelled => ApiError::transient("request cancelled"),
        E::FieldClash(field) => ApiError::Invalid(format!("parameter {field} given twice (a liaison bug)")),
        E::UploadSizeLimitExceeded(size, max) => {
            ApiError::Invalid(format!("upload of {size} bytes exceeds Google's limit of {max}"))
        }
    }
}

/// Google's error JSON: `{"error": {"code": 403, "message": "...", "errors":
/// [{"reason": "rateLimitExceeded", ...}], "status": "PERMISSION_DENIED"}}`.
fn classify_json(json: &Value, seen: Seen) -> ApiError {
    let error = json.get("error");
    let first = error.and_then(|e| e.get("errors")).and_then(|errs| errs.get(0));
    let item = |key: &str| first.and_then(|f| f.get(key)).and_then(Value::as_str).unwrap_or("");
    let code = seen.status.or_else(|| {
        error
            .and_then(|e| e.get("code"))
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
    });
    let reason = first
        .and_then(|first| first.get("reason"))
        .and_then(Value::as_str)
        .or_else(|| error.and_then(|e| e.get("status")).and_then(Value::as_str))
        .unwrap_or("");
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        // OAuth-style bodies: {"error": "invalid_grant", "error_description": ...}
        .or_else(|| json.get("error_description").and_then(Value::as_str))
        .or_else(|| error.and_then(Value::as_str))
        .unwrap_or("no message");
    let described = if reason.is_empty() {
        message.to_string()
    } else {
        format!("{message} ({reason})")
    };
    let why = Why {
        reason,
        domain: item("domain"),
        location: item("location"),
        message: [item("message"), message].join(" "),
        described: &described,
    };
    match code {
        Some(code) => classify_status(code, &why, seen.retry_after),
        None => ApiError::Invalid(format!("unexpected answer from Google: {described}")),
    }
}

/// What an error answer says beside its status.
#[derive(Default)]
struct Why<'a> {
    /// `errors[0].reason` (else the gRPC `status`).
    reason: &'a str,
    /// `errors[0].domain`: `global`, `usageLimits`, `calendar`, ...
    domain: &'a str,
    /// `errors[0].location`: the parameter or field concerned, when named.
    location: &'a str,
    /// The messages (top level and first item), for what they name.
    message: String,
    /// The message and reason as shown to the user.
    described: &'a str,
}

impl Why<'_> {
    /// A quota that renews after hours, not seconds.
    fn is_quota(&self) -> bool {
        QUOTA_REASONS.contains(&self.reason)
            || (self.domain == "usageLimits" && self.reason.to_ascii_lowercase().starts_with("daily"))
    }

    /// A 400 about one attendee ("Invalid attendee email."), not about
    /// something every event carries (a conference type Google rejects is
    /// the configuration's fault: every booking would meet it).
    fn names_an_attendee(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        let location = self.location.to_ascii_lowercase();
        let attendee = message.contains("attendee") || location.starts_with("attendees");
        let conference = message.contains("conference") || location.starts_with("conferencedata");
        attendee && !conference
    }
}

fn classify_status(code: u16, why: &Why, retry_after: Option<Duration>) -> ApiError {
    let (reason, described) = (why.reason, why.described);
    match code {
        401 => ApiError::Unauthorized {
            message: format!("Google refused the access token: {described}"),
            expired: true,
        },
        403 | 429 if why.is_quota() => ApiError::Quota(described.to_string()),
        403 if RATE_REASONS.contains(&reason) => ApiError::RateLimited {
            reason: reason.to_string(),
            retry_after,
        },
        403 if SCOPE_REASONS.contains(&reason) => ApiError::Unauthorized {
            message: format!("the authorization does not allow this request: {described}"),
            expired: false,
        },
        403 if REFUSED_REASONS.contains(&reason) => {
            ApiError::Refused(format!("Google forbids this change of the event: {described}"))
        }
        403 => ApiError::Invalid(format!("Google forbids this request: {described}")),
        400 if why.names_an_attendee() => ApiError::Refused(format!("Google refuses an attendee: {described}")),
        429 if !reason.is_empty() => ApiError::RateLimited {
            reason: reason.to_string(),
            retry_after,
        },
        // 404, 409, 410, a 429 without a reason, 5xx, and the rest.
        _ => ApiError::from_status(SERVICE, code, described, retry_after),
    }
}

/// Escapes a path segment (a calendar or event id). The crate pastes ids into
/// the URL as they are, so a `#` (holiday calendars) would start a fragment.
pub(crate) fn escape_segment(id: &str) -> String {
    // Unreserved characters and '@' (common in calendar ids) stay readable.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'@');
    utf8_percent_encode(id, SEGMENT).to_string()
}

/// The future of one call of the crate, borrowing the hub and the observer.
pub(crate) type CallFuture<'a, T> = Pin<Box<dyn Future<Output = common::Result<T>> + Send + 'a>>;

/// Gives a closure the higher-ranked signature [`Api::call`] needs, where
/// the call is not made right away (a closure cannot name the lifetime itself).
pub(crate) fn call_fn<T, F>(f: F) -> F
where
    F: for<'a> Fn(&'a Hub, &'a mut Observer) -> CallFuture<'a, T>,
{
    f
}

/// Counts requests and records what the crate's error will not tell.
pub(crate) struct Observer {
    requests: RequestCounter,
    seen: Seen,
}

impl Delegate for Observer {
    fn pre_request(&mut self) {
        self.requests.add_one();
    }

    fn http_failure(&mut self, response: &common::Response, _: Option<&Value>) -> Retry {
        self.seen.status = Some(response.status().as_u16());
        self.seen.retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Timestamp::now()));
        // Retries happen in the HTTP layer, where they are paced, timed and bounded.
        Retry::Abort
    }
}

/// One failed attempt: the crate's error and what the [`Observer`] saw.
pub(crate) struct Failure {
    error: common::Error,
    seen: Seen,
}

/// Google's [`Classify`]: [`classify`], and a refused access token renewed
/// through the token source.
struct Classifier<'a> {
    tokens: &'a TokenSource,
}

impl Classify<Failure> for Classifier<'_> {
    fn classify(&self, failure: Failure) -> ApiError {
        classify(&failure.error, failure.seen)
    }

    async fn renew_credentials(&self) -> bool {
        self.tokens.invalidate().await;
        true
    }
}

/// The hub with the HTTP layer's pacing, counter and retry policy.
pub(crate) struct Api {
    hub: Hub,
    tokens: TokenSource,
    caller: Caller,
    /// Answers the hub's connections cut for their size.
    cut: CutAnswers,
}

impl Api {
    /// `root_url` is Google's API root or a configured `api_base_url` (see [`api_urls`]).
    pub(crate) fn new(root_url: &str, tokens: TokenSource, requests_per_second: u32, timing: Timing) -> Api {
        let connector = https_connector();
        let cut = connector.cut_answers();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let mut hub = CalendarHub::new(client, tokens.clone());
        let (root, base) = api_urls(root_url);
        hub.base_url(base);
        hub.root_url(root);
        Api {
            hub,
            tokens,
            caller: Caller::new(SERVICE, requests_per_second, timing),
            cut,
        }
    }

    /// Paces every call with `pacer` instead (a test's, on a virtual clock).
    #[cfg(feature = "test-hooks")]
    pub(crate) fn with_pacer(mut self, pacer: crate::calendar::http::Pacer) -> Api {
        self.caller = self.caller.with_pacer(pacer);
        self
    }

    /// The longest wait for one HTTP exchange: after that the call gives up
    /// on the answer, though Google may still apply the request it received.
    pub(crate) fn call_timeout(&self) -> Duration {
        self.caller.timing().call_timeout
    }

    /// How long one call may go on retrying.
    pub(crate) fn retry_budget(&self) -> Duration {
        self.caller.timing().retry_budget
    }

    /// API requests sent so far, retries included.
    pub(crate) fn requests(&self) -> u64 {
        self.caller.requests()
    }

    /// Runs one API call with pacing, timeout and retries. `make` builds and
    /// sends the request once (`.delegate(observer).doit()`); `what` names it in
    /// logs.
    pub(crate) async fn call<T, F>(&self, what: &str, make: F) -> Result<T, ApiError>
    where
        F: for<'a> Fn(&'a Hub, &'a mut Observer) -> CallFuture<'a, T>,
    {
        let classifier = Classifier { tokens: &self.tokens };
        let (hub, make) = (&self.hub, &make);
        let attempt = || {
            let requests = self.caller.counter().clone();
            async move {
                let mut observer = Observer {
                    requests,
                    seen: Seen::default(),
                };
                // The calls of one provider run one at a time, so a cut
                // counted during this attempt is this attempt's answer.
                let cut_before = self.cut.get();
                let outcome = make(hub, &mut observer).await;
                outcome.map_err(|error| Failure {
                    error,
                    seen: Seen {
                        too_large: self.cut.get() > cut_before,
                        ..observer.seen
                    },
                })
            }
        };
        self.caller.run(what, &classifier, attempt).await
    }
}

/// The hub's root and Calendar base URLs from a configured URL, which may
/// name the API root (`http://127.0.0.1:8080/`, like Google's
/// `https://www.googleapis.com/`) or the Calendar API itself
/// (`http://127.0.0.1:8080/calendar/v3/`). Both end with `/`, as the crate needs.
pub(crate) fn api_urls(configured: &str) -> (String, String) {
    let trimmed = configured.trim_end_matches('/');
    match trimmed.strip_suffix("/calendar/v3") {
        Some(root) => (format!("{root}/"), format!("{trimmed}/")),
        None => (format!("{trimmed}/"), format!("{trimmed}/calendar/v3/")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn google_error(code: u16, reason: &str) -> Value {
        google_error_in(code, "global", reason, "msg")
    }

    /// Google's error body with the domain and message of its first item.
    fn google_error_in(code: u16, domain: &str, reason: &str, message: &str) -> Value {
        json!({"error": {"code": code, "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}]}})
    }

    /// One row per JSON shape Google sends: (status seen by the delegate, body, expected).
    #[test]
    fn error_json_is_classified_by_what_the_caller_does_next() {
        let rate = |r: &str| ApiError::RateLimited {
            reason: r.into(),
            retry_after: None,
        };
        let cases: Vec<(Option<u16>, Value, ApiError)> = vec![
            (
                Some(401),
                google_error(401, "authError"),
                ApiError::Unauthorized {
                    message: "Google refused the access token: msg (authError)".into(),
                    expired: true,
                },
            ),
            (
                Some(403),
                google_error(403, "rateLimitExceeded"),
                rate("rateLimitExceeded"),
            ),
            (
                Some(403),
                google_error(403, "userRateLimitExceeded"),
                rate("userRateLimitExceeded"),
            ),
            // Quotas that renew after hours: out at once, not retried.
            (
                Some(403),
                google_error_in(403, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
                ApiError::Quota("Calendar usage limits exceeded. (quotaExceeded)".into()),
            ),
            (
                Some(429),
                google_error_in(429, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
                ApiError::Quota("Calendar usage limits exceeded. (quotaExceeded)".into()),
            ),
            (
                Some(403),
                google_error_in(403, "usageLimits", "dailyLimitExceeded", "Daily Limit Exceeded"),
                ApiError::Quota("Daily Limit Exceeded (dailyLimitExceeded)".into()),
            ),
            (
                Some(403),
                google_error_in(403, "usageLimits", "dailyLimitExceededUnreg", "Daily Limit for Unauthenticated Use Exceeded."),
                ApiError::Quota("Daily Limit for Unauthenticated Use Exceeded. (dailyLimitExceededUnreg)".into()),
            ),
            (
                Some(403),
                google_error_in(403, "usageLimits", "dailyLimitReached", "Daily limit reached"),
                ApiError::Quota("Daily limit reached (dailyLimitReached)".into()),
            ),
            // Rate limits in the usageLimits domain are still rate limits.
            (
                Some(403),
                google_error_in(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
                rate("rateLimitExceeded"),
            ),
            (
                Some(403),
                google_error(403, "insufficientPermissions"),
                ApiError::Unauthorized {
                    message: "the authorization does not allow this request: msg (insufficientPermissions)".into(),
                    expired: false,
                },
            ),
            // Refusals about the one event of the request.
            (
                Some(403),
                google_error_in(403, "calendar", "forbiddenForNonOrganizer", "Shared properties can only be changed by the organizer of the event."),
                ApiError::Refused(
                    "Google forbids this change of the event: Shared properties can only be changed by the organizer of the event. (forbiddenForNonOrganizer)".into(),
                ),
            ),
            (
                Some(403),
                google_error_in(403, "calendar", "requiredAccessLevel", "You need to have writer access to this calendar."),
                ApiError::Invalid(
                    "Google forbids this request: You need to have writer access to this calendar. (requiredAccessLevel)".into(),
                ),
            ),
            (
                Some(403),
                google_error(403, "forbidden"),
                ApiError::Invalid("Google forbids this request: msg (forbidden)".into()),
            ),
            (
                Some(404),
                google_error(404, "notFound"),
                ApiError::NotFound("msg (notFound)".into()),
            ),
            (Some(409), google_error(409, "duplicate"), ApiError::Duplicate),
            (
                Some(410),
                google_error(410, "deleted"),
                ApiError::Gone("msg (deleted)".into()),
            ),
            (
                Some(429),
                google_error(429, "rateLimitExceeded"),
                rate("rateLimitExceeded"),
            ),
            (
                Some(429),
                json!({"error": {"code": 429, "message": "slow"}}),
                rate("429"),
            ),
            (
                Some(500),
                google_error(500, "backendError"),
                ApiError::transient("Google answered 500: msg (backendError)"),
            ),
            (
                Some(503),
                json!({"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}}),
                ApiError::transient("Google answered 503: unavailable (UNAVAILABLE)"),
            ),
            (
                Some(400),
                google_error(400, "invalid"),
                ApiError::Invalid("Google answered 400: msg (invalid)".into()),
            ),
            // A 400 that names an attendee concerns that pair only ...
            (
                Some(400),
                google_error_in(400, "global", "invalid", "Invalid attendee email."),
                ApiError::Refused("Google refuses an attendee: Invalid attendee email. (invalid)".into()),
            ),
            (
                Some(400),
                json!({"error": {"code": 400, "message": "Invalid value.", "errors": [{"domain": "global",
                    "reason": "invalid", "message": "Invalid value.", "locationType": "other",
                    "location": "attendees[1].email"}]}}),
                ApiError::Refused("Google refuses an attendee: Invalid value. (invalid)".into()),
            ),
            (
                Some(400),
                google_error_in(400, "global", "required", "Missing attendee email."),
                ApiError::Refused("Google refuses an attendee: Missing attendee email. (required)".into()),
            ),
            // ... but a conference type Google rejects concerns every booking.
            (
                Some(400),
                google_error_in(400, "global", "invalid", "Invalid conference type value."),
                ApiError::Invalid("Google answered 400: Invalid conference type value. (invalid)".into()),
            ),
            (
                Some(400),
                json!({"error": {"code": 400, "message": "Invalid value for attendees' conference.", "errors": [{"domain": "global",
                    "reason": "invalid", "message": "Invalid value.", "location": "conferenceData.createRequest"}]}}),
                ApiError::Invalid("Google answered 400: Invalid value for attendees' conference. (invalid)".into()),
            ),
            (
                Some(412),
                google_error(412, "conditionNotMet"),
                ApiError::Invalid("Google answered 412: msg (conditionNotMet)".into()),
            ),
            // Without a status from the delegate, error.code decides.
            (None, google_error(409, "duplicate"), ApiError::Duplicate),
            (
                None,
                google_error(502, "badGateway"),
                ApiError::transient("Google answered 502: msg (badGateway)"),
            ),
            // The delegate's status wins over a body that disagrees.
            (
                Some(503),
                google_error(400, "x"),
                ApiError::transient("Google answered 503: msg (x)"),
            ),
            // OAuth-style and shapeless bodies.
            (
                Some(401),
                json!({"error": "invalid_token", "error_description": "expired"}),
                ApiError::Unauthorized {
                    message: "Google refused the access token: expired".into(),
                    expired: true,
                },
            ),
            (
                None,
                json!({"unexpected": true}),
                ApiError::Invalid("unexpected answer from Google: no message".into()),
            ),
            (
                None,
                json!([1, 2]),
                ApiError::Invalid("unexpected answer from Google: no message".into()),
            ),
        ];
        for (status, body, expected) in cases {
            let seen = Seen {
                status,
                ..Seen::default()
            };
            assert_eq!(
                classify(&common::Error::BadRequest(body.clone()), seen),
                expected,
                "{status:?} {body}"
            );
        }
    }

    #[test]
    fn retry_after_seen_by_the_delegate_is_kept() {
        let seen = Seen {
            status: Some(429),
            retry_after: Some(Duration::from_secs(7)),
            ..Seen::default()
        };
        let e = classify(&common::Error::BadRequest(google_error(429, "rateLimitExceeded")), seen);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn an_answer_cut_for_its_size_is_invalid_whatever_the_crate_made_of_it() {
        let cut_off = serde_json::from_str::<Value>("").unwrap_err();
        let seen = Seen {
            too_large: true,
            ..Seen::default()
        };
        let e = classify(&common::Error::JsonDecodeError(String::new(), cut_off), seen);
        assert_eq!(e, ApiError::Invalid("Google's answer is larger than 16 MiB".into()));
        assert!(!e.is_retryable());
    }

    fn failure(status: u16, retry_after: Option<&str>) -> common::Error {
        let mut builder = google_calendar3::hyper::Response::builder().status(status);
        if let Some(v) = retry_after {
            builder = builder.header(RETRY_AFTER, v);
        }
        let response = builder
            .body(common::to_body::<String>(Some("<html>oops</html>".into())))
            .unwrap();
        common::Error::Failure(response)
    }

    #[test]
    fn every_crate_error_variant_is_mapped() {
        let cut_off = serde_json::from_str::<Value>("").unwrap_err();
        let garbage = serde_json::from_str::<Value>("{\"a\":").unwrap_err();
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let missing = |e: TokenError| common::Error::MissingToken(Box::new(e));
        let other_token_error: Box<dyn std::error::Error + Send + Sync> = "weird".into();
        let cases: Vec<(common::Error, &str)> = vec![
            (failure(502, None), "transient"),
            (failure(503, Some("3")), "transient"),
            (failure(429, None), "rate"),
            (failure(401, None), "unauthorized"),
            (failure(404, None), "not found"),
            (failure(409, None), "duplicate"),
            (failure(410, None), "gone"),
            (failure(400, None), "invalid"),
            (common::Error::Io(io), "transient"),
            (common::Error::JsonDecodeError(String::new(), cut_off), "transient"),
            (common::Error::JsonDecodeError("{\"a\":".into(), garbage), "invalid"),
            (missing(TokenError::Transient("down".into())), "transient"),
            (missing(TokenError::Unauthorized("revoked".into())), "unauthorized"),
            (common::Error::MissingToken(other_token_error), "unauthorized"),
            (common::Error::MissingAPIKey, "unauthorized"),
            (common::Error::Cancelled, "transient"),
            (common::Error::FieldClash("alt"), "invalid"),
            (common::Error::UploadSizeLimitExceeded(2, 1), "invalid"),
        ];
        for (error, expected) in cases {
            let got = classify(&error, Seen::default());
            let kind = match &got {
                ApiError::Unauthorized { .. } => "unauthorized",
                ApiError::NotFound(_) => "not found",
                ApiError::Duplicate => "duplicate",
                ApiError::Gone(_) => "gone",
                ApiError::RateLimited { .. } => "rate",
                ApiError::Transient { .. } => "transient",
                ApiError::Invalid(_) => "invalid",
                ApiError::Quota(_) => "quota",
                ApiError::Refused(_) => "refused",
            };
            assert_eq!(kind, expected, "{error:?} gave {got:?}");
        }
        let e = classify(&failure(503, Some("3")), Seen::default());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            classify(&failure(502, None), Seen::default()).to_string(),
            "Google answered 502: HTTP 502 Bad Gateway without a JSON body"
        );
    }

    #[test]
    fn a_connection_error_is_transient() {
        // A real hyper-util connection error: nothing listens on port 1.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(async {
            let client: Client<Connector, String> = Client::builder(TokioExecutor::new()).build(https_connector());
            client.get("http://127.0.0.1:1/".parse().unwrap()).await.unwrap_err()
        });
        let e = classify(&common::Error::HttpError(err), Seen::default());
        assert!(e.is_retryable(), "{e:?}");
        assert!(e.to_string().starts_with("connection to Google failed"), "{e}");
    }

    #[test]
    fn the_api_base_may_name_the_root_or_the_calendar_api() {
        let both = |root: &str, base: &str| (root.to_string(), base.to_string());
        let expected = both("http://127.0.0.1:8080/", "http://127.0.0.1:8080/calendar/v3/");
        for configured in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/calendar/v3",
            "http://127.0.0.1:8080/calendar/v3/",
        ] {
            assert_eq!(api_urls(configured), expected, "{configured}");
        }
        assert_eq!(
            api_urls(GOOGLE_ROOT_URL),
            both("https://www.googleapis.com/", "https://www.googleapis.com/calendar/v3/")
        );
        assert_eq!(
            api_urls("https://proxy.example.org/google/"),
            both(
                "https://proxy.example.org/google/",
                "https://proxy.example.org/google/calendar/v3/"
            )
        );
    }

    #[test]
    fn ids_are_escaped_for_the_path() {
        assert_eq!(escape_segment("primary"), "primary");
        assert_eq!(escape_segment("ada.lima@example.com"), "ada.lima@example.com");
        assert_eq!(
            escape_segment("en.usa#holiday@group.v.calendar.google.com"),
            "en.usa%23holiday@group.v.calendar.google.com"
        );
        assert_eq!(escape_segment("a/b?c d%"), "a%2Fb%3Fc%20d%25");
    }
}

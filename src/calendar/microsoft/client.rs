//! What of the HTTP layer is Graph's: requests with the bearer token, sent
//! one at a time through the shared [`Caller`] (pacing, timeout, retries on
//! 429/503 with `Retry-After`), and Graph's error bodies
//! (`{"error": {"code", "message"}}`, https://learn.microsoft.com/en-us/graph/errors)
//! read into the neutral [`ApiError`] classes.
//!
//! Throttling: Graph answers 429 (and 503, 504) with `Retry-After`, which
//! is waited for ("Wait the number of seconds specified in the Retry-After
//! header", https://learn.microsoft.com/en-us/graph/throttling); a mailbox
//! takes four requests at once at most
//! (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits),
//! and liaison's are sequential: one call at a time, paced.

use std::time::Duration;

use google_calendar3::hyper;
use jiff::Timestamp;
use serde_json::Value;

use super::auth::{TokenError, TokenSource};
use crate::calendar::http::{Answer, ApiError, Caller, Classify, ExchangeError, HttpClient, Timing, http_client};

/// Graph's API root, with its version.
pub const GRAPH_ROOT_URL: &str = "https://graph.microsoft.com/v1.0/";
const SERVICE: &str = "Microsoft Graph";

/// Codes of a 4xx that concern one attendee or one event, not every request.
const REFUSED_CODES: [&str; 2] = ["ErrorInvalidRecipients", "ErrorSendAsDenied"];
/// Codes of a mailbox that cannot take more (quota), which do not pass soon.
const QUOTA_CODES: [&str; 2] = ["ErrorQuotaExceeded", "MailboxStoreUnavailable"];
/// Codes of a delta token Graph no longer knows (410, or "a 40X-series
/// error with error codes such as syncStateNotFound",
/// https://learn.microsoft.com/en-us/graph/delta-query-overview).
const EXPIRED_SYNC_CODES: [&str; 3] = ["syncStateNotFound", "syncStateInvalid", "resyncRequired"];

/// One failed attempt.
pub(crate) enum Failure {
    Token(TokenError),
    /// The request could not even be built (a URL hyper refuses): liaison's
    /// own fault, never the credentials', and not worth another attempt.
    Request(String),
    Exchange(ExchangeError),
    Status(Answer),
}

struct Classifier<'a> {
    tokens: &'a TokenSource,
    /// `METHOD path` of the request, for messages.
    request: &'a str,
}

impl Classify<Failure> for Classifier<'_> {
    fn classify(&self, failure: Failure) -> ApiError {
        match failure {
            Failure::Token(TokenError::Transient(m)) => ApiError::transient(m),
            Failure::Token(TokenError::Unauthorized(m)) => ApiError::Unauthorized {
                message: m,
                expired: false,
            },
            Failure::Request(m) => ApiError::Invalid(m),
            Failure::Exchange(e) => e.classify(SERVICE),
            Failure::Status(answer) => classify(&answer, self.request),
        }
    }

    async fn renew_credentials(&self) -> bool {
        self.tokens.invalidate().await;
        true
    }
}

/// A non-2xx answer of Graph to `request` (`METHOD path`) by what the
/// caller does next: 401 a token to renew (then `liaison auth`), 403 a
/// permission the app or the signed-in person lacks, 400 a request Graph
/// calls malformed (liaison's fault: named, never retried, never taken for
/// an authorization problem), 404 an item or mailbox that does not exist.
/// Graph's error codes come first where they say more than the status
/// (https://learn.microsoft.com/en-us/graph/errors).
pub(crate) fn classify(answer: &Answer, request: &str) -> ApiError {
    let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let code = json["error"]["code"].as_str().unwrap_or("");
    let message = json["error"]["message"].as_str().unwrap_or("");
    let described = if code.is_empty() {
        format!("HTTP {}", answer.status)
    } else {
        format!("{message} ({code})")
    };
    let retry_after = answer.retry_after(Timestamp::now());
    match answer.status {
        401 => ApiError::Unauthorized {
            message: format!("Microsoft Graph refused the access token: {described}"),
            expired: true,
        },
        403 => ApiError::Unauthorized {
            message: format!(
                "Microsoft Graph denies {request} (403, a missing permission): {described}; with auth = \"device_code\", \
                 sign in as the organizer (a delegated grant reaches only the signed-in person's own calendar); with \
                 client_credentials, the app needs Calendars.ReadWrite (admin consent) and, under an application access \
                 policy, the organizer mailbox"
            ),
            expired: false,
        },
        status if EXPIRED_SYNC_CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) && (400..500).contains(&status) => {
            ApiError::Gone(described)
        }
        400 if REFUSED_CODES.contains(&code) => {
            ApiError::Refused(format!("Microsoft Graph refuses an attendee: {described}"))
        }
        _ if QUOTA_CODES.contains(&code) => ApiError::Quota(described),
        // ErrorIrresolvableConflict: another change of the same item at once.
        409 => ApiError::transient(format!("{SERVICE} answered 409: {described}")),
        // A conditional write (If-Match) to an item changed since it was
        // read: never retried as it is; the caller reads it again. Graph
        // sends no other 412, and no 409 is read as a duplicate (above).
        412 => ApiError::Duplicate,
        400 => ApiError::Invalid(format!(
            "{SERVICE} refused the request {request} as malformed (400): {described}"
        )),
        404 => ApiError::NotFound(format!("{request}: {described}")),
        status => ApiError::from_status(SERVICE, status, &described, retry_after),
    }
}

/// Graph requests of one provider.
pub(crate) struct Graph {
    root: String,
    pub(crate) tokens: TokenSource,
    caller: Caller,
    http: HttpClient,
}

impl Graph {
    pub(crate) fn new(root: &str, tokens: TokenSource, requests_per_second: u32, timing: Timing) -> Graph {
        let root = if root.ends_with('/') {
            root.to_string()
        } else {
            format!("{root}/")
        };
        Graph {
            root,
            tokens,
            caller: Caller::new(SERVICE, requests_per_second, timing),
            http: http_client(),
        }
    }

    pub(crate) fn requests(&self) -> u64 {
        self.caller.requests()
    }

    pub(crate) fn timing(&self) -> &Timing {
        self.caller.timing()
    }

    /// `path` under the API root, or an absolute link Graph gave (a
    /// `nextLink` or `deltaLink`), which must stay under the root.
    pub(crate) fn url(&self, path: &str) -> Result<String, ApiError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            if !path.starts_with(&self.root) {
                return Err(ApiError::Invalid(format!(
                    "Microsoft Graph gave a link outside {}: {path}",
                    self.root
                )));
            }
            return Ok(path.to_string());
        }
        Ok(format!("{}{path}", self.root))
    }

    /// One Graph call: `Ok(None)` for an answer without a body (202, 204).
    pub(crate) async fn call(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        prefer: Option<&str>,
    ) -> Result<Option<Value>, ApiError> {
        self.call_if(what, method, path, body, prefer, None).await
    }

    /// [`Graph::call`] with `If-Match: if_match` (an `@odata.etag` liaison
    /// read): a write Graph applies only to the item as it was read, else
    /// 412, classed as [`ApiError::Duplicate`] (see [`classify`]).
    pub(crate) async fn call_if(
        &self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        prefer: Option<&str>,
        if_match: Option<&str>,
    ) -> Result<Option<Value>, ApiError> {
        let url = self.url(path)?;
        let text = body.map(Value::to_string).unwrap_or_default();
        let request = format!("{what} ({method} {})", path.split('?').next().unwrap_or(path));
        let classifier = Classifier {
            tokens: &self.tokens,
            request: &request,
        };
        let attempt = || {
            let (url, text) = (url.clone(), text.clone());
            async move {
                let token = self.tokens.access_token().await.map_err(Failure::Token)?;
                let mut b = hyper::Request::builder()
                    .method(method)
                    .uri(&url)
                    .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(hyper::header::ACCEPT, "application/json");
                if body.is_some() {
                    b = b.header(hyper::header::CONTENT_TYPE, "application/json");
                }
                if let Some(p) = prefer {
                    b = b.header("prefer", p);
                }
                if let Some(tag) = if_match {
                    b = b.header(hyper::header::IF_MATCH, tag);
                }
                let request = b.body(text).map_err(|e| {
                    Failure::Request(format!("{SERVICE} request {what}: the URL {url:?} is not valid: {e}"))
                })?;
                let answer = self.caller.send(&self.http, request).await.map_err(Failure::Exchange)?;
                if answer.is_success() {
                    Ok(answer)
                } else {
                    Err(Failure::Status(answer))
                }
            }
        };
        let answer = self.caller.run(what, &classifier, attempt).await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&answer.body)
            .map(Some)
            .map_err(|e| ApiError::Invalid(format!("{SERVICE}'s answer to {what} cannot be read: {e}")))
    }

    /// The longest wait for one exchange, plus how long a call may retry.
    pub(crate) fn write_bound(&self) -> Duration {
        self.timing().call_timeout.saturating_add(self.timing().retry_budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_calendar3::hyper::HeaderMap;

    fn answer(status: u16, body: &str, retry_after: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry_after {
            headers.insert("retry-after", r.parse().unwrap());
        }
        Answer {
            status,
            headers,
            body: body.as_bytes().to_vec().into(),
        }
    }

    const REQUEST: &str = "events.get (GET me/events/AAMk1)";

    fn graph_error(code: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": "msg"}}).to_string()
    }

    #[test]
    fn graph_errors_are_classified_by_what_the_caller_does_next() {
        let kind = |e: &ApiError| match e {
            ApiError::Unauthorized { expired: true, .. } => "token",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::NotFound(_) => "not found",
            ApiError::Gone(_) => "gone",
            ApiError::RateLimited { .. } => "rate",
            ApiError::Transient { .. } => "transient",
            ApiError::Refused(_) => "refused",
            ApiError::Quota(_) => "quota",
            ApiError::Invalid(_) => "invalid",
            ApiError::Duplicate => "duplicate",
        };
        let cases = [
            (401, "InvalidAuthenticationToken", "token"),
            (403, "ErrorAccessDenied", "unauthorized"),
            (404, "ErrorItemNotFound", "not found"),
            (410, "syncStateNotFound", "gone"),
            (400, "syncStateNotFound", "gone"),
            (400, "resyncRequired", "gone"),
            (429, "TooManyRequests", "rate"),
            (503, "ServiceNotAvailable", "transient"),
            (504, "GatewayTimeout", "transient"),
            (409, "ErrorIrresolvableConflict", "transient"),
            (400, "ErrorInvalidRecipients", "refused"),
            (412, "ErrorIrresolvableConflict", "duplicate"),
            (507, "ErrorQuotaExceeded", "quota"),
            (400, "ErrorInvalidRequest", "invalid"),
            (400, "ErrorInvalidUrlQuery", "invalid"),
            (400, "BadRequest", "invalid"),
            (404, "ErrorInvalidUser", "not found"),
            (403, "ErrorAccessDenied", "unauthorized"),
        ];
        for (status, code, expected) in cases {
            assert_eq!(
                kind(&classify(&answer(status, &graph_error(code), None), REQUEST)),
                expected,
                "{status} {code}"
            );
        }
        let limited = classify(&answer(429, &graph_error("TooManyRequests"), Some("7")), REQUEST);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        let busy = classify(&answer(503, "<html>busy</html>", Some("2")), REQUEST);
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(2)));
        assert!(busy.is_retryable());
        // A malformed request is named, and is no authorization problem.
        let bad = classify(&answer(400, &graph_error("ErrorInvalidUrlQuery"), None), REQUEST).to_string();
        assert!(bad.contains(REQUEST) && bad.contains("malformed (400)"), "{bad}");
        let denied = classify(&answer(403, &graph_error("ErrorAccessDenied"), None), REQUEST).to_string();
        assert!(denied.contains(REQUEST) && denied.contains("permission"), "{denied}");
        let missing = classify(&answer(404, &graph_error("ErrorItemNotFound"), None), REQUEST).to_string();
        assert!(missing.contains(REQUEST), "{missing}");
    }
}

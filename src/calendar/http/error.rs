//! The provider-neutral classes of a failed call, chosen by what the caller
//! does next: retry it, give up on this one request, or stop everyone.
//!
//! A provider turns its own failures (an HTTP status and an error body, a
//! crate's error type, a lost connection) into an [`ApiError`] with the
//! classifier it hands to [`super::Caller::run`]; the retry loop and the
//! provider's mapping to `CalendarError` only ever look at these classes.

use std::time::Duration;

/// A failed call to a calendar server, by what the caller does next.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Credentials missing, refused or insufficient: the user must run `liaison auth`.
    /// `expired` marks a refused access token (a 401), after which one retry
    /// with a fresh token is worth it.
    #[error("{message}")]
    Unauthorized { message: String, expired: bool },
    /// The calendar or event does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// An event with this id exists already (409, or a failed `If-None-Match`):
    /// resolve with a read.
    #[error("an event with this id exists already")]
    Duplicate,
    /// The event was deleted (410).
    #[error("gone: {0}")]
    Gone(String),
    /// The server asks to slow down (429, or a rate reason of the provider):
    /// retried with backoff, it passes within seconds.
    #[error("rate limited ({reason})")]
    RateLimited {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// A quota that renews only after hours: not retried inside the call,
    /// where it cannot pass.
    #[error("the quota is used up: {0}")]
    Quota(String),
    /// A refusal that concerns the one event or attendee of this request (an
    /// attendee the server will not invite, an event liaison may not change):
    /// other requests are not affected. Never retried.
    #[error("{0}")]
    Refused(String),
    /// A failure that may pass: 5xx, connection lost, timeout.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// A request the server refuses for good (400, 403 forbidden, ...) or an
    /// answer that cannot be understood. Never retried.
    #[error("{0}")]
    Invalid(String),
}

impl ApiError {
    /// Whether another attempt of the same request may pass.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. } | ApiError::Transient { .. })
    }

    /// How long the server asked to wait (`Retry-After`), for what is retried.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } | ApiError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A failure that may pass, without a `Retry-After`.
    pub fn transient(message: impl Into<String>) -> ApiError {
        ApiError::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    /// The class of an HTTP status alone, for what a provider's own rules do
    /// not single out (an error body's reasons come first). `service` names
    /// the server in messages ("Google"), `detail` says what the answer said.
    pub fn from_status(service: &str, status: u16, detail: &str, retry_after: Option<Duration>) -> ApiError {
        match status {
            401 => ApiError::Unauthorized {
                message: format!("{service} refused the credentials: {detail}"),
                expired: true,
            },
            404 => ApiError::NotFound(detail.to_string()),
            409 => ApiError::Duplicate,
            410 => ApiError::Gone(detail.to_string()),
            429 => ApiError::RateLimited {
                reason: "429".into(),
                retry_after,
            },
            500..=599 => ApiError::Transient {
                message: format!("{service} answered {status}: {detail}"),
                retry_after,
            },
            _ => ApiError::Invalid(format!("{service} answered {status}: {detail}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_alone_is_classified_by_what_the_caller_does_next() {
        let after = Some(Duration::from_secs(3));
        let cases = [
            (
                401,
                ApiError::Unauthorized {
                    message: "Graph refused the credentials: expired".into(),
                    expired: true,
                },
            ),
            (404, ApiError::NotFound("expired".into())),
            (409, ApiError::Duplicate),
            (410, ApiError::Gone("expired".into())),
            (
                429,
                ApiError::RateLimited {
                    reason: "429".into(),
                    retry_after: after,
                },
            ),
            (
                503,
                ApiError::Transient {
                    message: "Graph answered 503: expired".into(),
                    retry_after: after,
                },
            ),
            (400, ApiError::Invalid("Graph answered 400: expired".into())),
            (412, ApiError::Invalid("Graph answered 412: expired".into())),
        ];
        for (status, expected) in cases {
            assert_eq!(
                ApiError::from_status("Graph", status, "expired", after),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable_and_carry_a_wait() {
        let after = Some(Duration::from_secs(7));
        let limited = ApiError::RateLimited {
            reason: "429".into(),
            retry_after: after,
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), after);
        assert!(ApiError::transient("reset").is_retryable());
        assert_eq!(ApiError::transient("reset").retry_after(), None);
        for e in [
            ApiError::Duplicate,
            ApiError::Quota("x".into()),
            ApiError::Refused("x".into()),
            ApiError::Invalid("x".into()),
        ] {
            assert!(!e.is_retryable(), "{e:?}");
            assert_eq!(e.retry_after(), None, "{e:?}");
        }
    }
}

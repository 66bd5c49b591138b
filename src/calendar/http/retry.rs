//! The retry policy: how long one attempt may take, how many attempts a call
//! gets and how long it may go on, the full-jitter backoff between attempts,
//! and `Retry-After`.
//!
//! [`Timing::next_step`] is the whole decision, a pure function of the
//! attempt number, the time spent, the failure and a jitter draw, so it is
//! tested without a clock; [`super::Caller::run`] applies it.

use std::time::Duration;

use jiff::Timestamp;

use super::error::ApiError;

/// Longest wait for one HTTP exchange (token fetch included).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Most attempts of one call, the first included.
pub const MAX_ATTEMPTS: u32 = 8;
/// Backoff before retry n is drawn uniformly from `0..=min(CAP, BASE × 2^(n-1))`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(32);
/// No retry starts later than this after the first attempt.
pub const RETRY_BUDGET: Duration = Duration::from_secs(120);

/// Timeout and retry bounds of a provider's calls. `Timing::default()` is the
/// production policy (the constants above); tests shorten it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub call_timeout: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub retry_budget: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            call_timeout: CALL_TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
            backoff_base: BACKOFF_BASE,
            backoff_cap: BACKOFF_CAP,
            retry_budget: RETRY_BUDGET,
        }
    }
}

impl Timing {
    /// Parses an override such as `timeout=2s,attempts=10,base=1ms,cap=20ms,budget=5s`
    /// (any subset; durations in jiff's friendly format). Unknown keys are errors.
    pub fn with_overrides(mut self, spec: &str) -> Result<Timing, String> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not key=value"))?;
            let duration = || {
                value
                    .parse::<jiff::SignedDuration>()
                    .ok()
                    .and_then(|d| Duration::try_from(d).ok())
                    .ok_or_else(|| format!("{key}: {value:?} is not a duration such as 500ms"))
            };
            match key {
                "timeout" => self.call_timeout = duration()?,
                "base" => self.backoff_base = duration()?,
                "cap" => self.backoff_cap = duration()?,
                "budget" => self.retry_budget = duration()?,
                "attempts" => {
                    self.max_attempts = value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| format!("attempts: {value:?} is not a number >= 1"))?;
                }
                _ => {
                    return Err(format!(
                        "unknown key {key:?}; expected timeout, attempts, base, cap or budget"
                    ));
                }
            }
        }
        Ok(self)
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`,
    /// `elapsed` after the first attempt started. `jitter` in `[0, 1]` picks the
    /// point in the backoff window (full jitter).
    pub fn next_step(&self, attempt: u32, elapsed: Duration, error: &ApiError, jitter: f64) -> Step {
        if !error.is_retryable() || attempt >= self.max_attempts {
            return Step::GiveUp;
        }
        let wait = match error.retry_after() {
            // The server said how long; waiting less would only earn another 429.
            Some(after) => after,
            None => {
                let exp = self
                    .backoff_base
                    .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
                exp.min(self.backoff_cap).mul_f64(jitter.clamp(0.0, 1.0))
            }
        };
        if elapsed.saturating_add(wait) > self.retry_budget {
            return Step::GiveUp;
        }
        Step::RetryAfter(wait)
    }
}

/// The retry decision for one failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    RetryAfter(Duration),
    GiveUp,
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is valid RFC 2822.
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date() {
        let now: Timestamp = "2026-03-02T08:49:30Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    fn transient() -> ApiError {
        ApiError::transient("503")
    }

    #[test]
    fn backoff_is_exponential_with_full_jitter_and_capped() {
        let t = Timing::default();
        let full = |attempt| t.next_step(attempt, Duration::ZERO, &transient(), 1.0);
        assert_eq!(full(1), Step::RetryAfter(Duration::from_millis(500)));
        assert_eq!(full(2), Step::RetryAfter(Duration::from_secs(1)));
        assert_eq!(full(3), Step::RetryAfter(Duration::from_secs(2)));
        assert_eq!(full(7), Step::RetryAfter(Duration::from_secs(32)), "capped");
        assert_eq!(
            t.next_step(3, Duration::ZERO, &transient(), 0.0),
            Step::RetryAfter(Duration::ZERO)
        );
        assert_eq!(
            t.next_step(3, Duration::ZERO, &transient(), 0.25),
            Step::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn retries_stop_at_the_attempt_and_time_bounds() {
        let t = Timing::default();
        assert_eq!(
            t.next_step(MAX_ATTEMPTS, Duration::ZERO, &transient(), 0.5),
            Step::GiveUp
        );
        assert!(matches!(
            t.next_step(MAX_ATTEMPTS - 1, Duration::ZERO, &transient(), 0.5),
            Step::RetryAfter(_)
        ));
        assert_eq!(
            t.next_step(2, RETRY_BUDGET - Duration::from_millis(100), &transient(), 1.0),
            Step::GiveUp,
            "a wait that would end past the budget is not started"
        );
    }

    #[test]
    fn retry_after_is_honoured_and_bounded_by_the_budget() {
        let t = Timing::default();
        let limited = |secs| ApiError::RateLimited {
            reason: "rateLimitExceeded".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            t.next_step(1, Duration::ZERO, &limited(45), 0.0),
            Step::RetryAfter(Duration::from_secs(45)),
            "longer than the backoff, and without jitter"
        );
        assert_eq!(
            t.next_step(1, Duration::from_secs(100), &limited(45), 0.0),
            Step::GiveUp
        );
    }

    #[test]
    fn only_what_may_pass_is_retried() {
        let t = Timing::default();
        for e in [
            ApiError::Duplicate,
            ApiError::NotFound("x".into()),
            ApiError::Gone("x".into()),
            ApiError::Invalid("x".into()),
            ApiError::Quota("Daily Limit Exceeded (dailyLimitExceeded)".into()),
            ApiError::Refused("x".into()),
            ApiError::Unauthorized {
                message: "x".into(),
                expired: true,
            },
        ] {
            assert_eq!(t.next_step(1, Duration::ZERO, &e, 0.5), Step::GiveUp, "{e:?}");
        }
    }

    #[test]
    fn timing_overrides_parse() {
        let t = Timing::default()
            .with_overrides("timeout=2s, attempts=10,base=1ms,cap=20ms,budget=5s")
            .unwrap();
        assert_eq!(
            t,
            Timing {
                call_timeout: Duration::from_secs(2),
                max_attempts: 10,
                backoff_base: Duration::from_millis(1),
                backoff_cap: Duration::from_millis(20),
                retry_budget: Duration::from_secs(5),
            }
        );
        assert_eq!(Timing::default().with_overrides("").unwrap(), Timing::default());
        for bad in ["attempts=0", "base=fast", "speed=1s", "timeout"] {
            assert!(Timing::default().with_overrides(bad).is_err(), "{bad}");
        }
    }
}

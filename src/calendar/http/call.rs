//! One call, however many attempts it takes: wait for the pacer, run the
//! provider's attempt under a timeout, classify a failure with the
//! provider's [`Classify`], renew refused credentials once, and retry what
//! may pass with full-jitter backoff (or `Retry-After`) within [`Timing`]'s
//! bounds.
//!
//! The attempt is any async call, so a provider on a generated client
//! (google-calendar3's hub) and one sending raw requests ([`Caller::send`])
//! share the same loop.

use std::future::Future;
use std::time::Instant;

use google_calendar3::hyper::Request;
use rand::Rng as _;

use super::error::ApiError;
use super::exchange::{Answer, BODY_LIMIT, ExchangeError, HttpClient, exchange};
use super::pacing::{Pacer, RequestCounter};
use super::retry::{Step, Timing};

/// How a provider reads the failures of its attempts (`E`: its error type,
/// with whatever it observed of the exchange).
pub trait Classify<E> {
    /// The neutral class of one failed attempt.
    fn classify(&self, failure: E) -> ApiError;

    /// Called once per call when an attempt ended in `Unauthorized { expired:
    /// true }` (the server refused an access token thought valid: revoked
    /// early, clock skew). Forgets the token so the next attempt fetches a
    /// fresh one, and says whether that attempt is worth making. By default
    /// there is nothing to renew.
    fn renew_credentials(&self) -> impl Future<Output = bool> + Send {
        std::future::ready(false)
    }
}

/// A plain function is a classifier with nothing to renew.
impl<E, F> Classify<E> for F
where
    F: Fn(E) -> ApiError,
{
    fn classify(&self, failure: E) -> ApiError {
        self(failure)
    }
}

/// The calls of one provider to one service: its pacing, request counter,
/// retry policy and body limit.
pub struct Caller {
    /// The service as messages name it ("Google").
    service: &'static str,
    pacer: Pacer,
    requests: RequestCounter,
    timing: Timing,
    body_limit: usize,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("service", &self.service)
            .field("requests", &self.requests.get())
            .field("timing", &self.timing)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl Caller {
    /// At most `requests_per_second` attempts a second (0 is taken as 1),
    /// bounded by `timing`, answers read up to [`BODY_LIMIT`].
    pub fn new(service: &'static str, requests_per_second: u32, timing: Timing) -> Caller {
        Caller {
            service,
            pacer: Pacer::per_second(requests_per_second),
            requests: RequestCounter::default(),
            timing,
            body_limit: BODY_LIMIT,
        }
    }

    /// Another pacer than [`Caller::new`]'s (a test's, on a virtual clock).
    #[cfg(feature = "test-hooks")]
    pub fn with_pacer(mut self, pacer: Pacer) -> Caller {
        self.pacer = pacer;
        self
    }

    /// Another limit for the answers [`Caller::send`] reads.
    pub fn with_body_limit(mut self, bytes: usize) -> Caller {
        self.body_limit = bytes;
        self
    }

    /// The service as messages name it.
    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// The counter of requests sent: an attempt that sends without
    /// [`Caller::send`] counts its requests here itself.
    pub fn counter(&self) -> &RequestCounter {
        &self.requests
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.get()
    }

    /// Sends one plain request and reads its answer whole (see
    /// [`exchange`]), counting the request. No pacing, timeout or retry:
    /// call it inside an attempt of [`Caller::run`].
    pub async fn send(&self, client: &HttpClient, request: Request<String>) -> Result<Answer, ExchangeError> {
        self.requests.add_one();
        exchange(client, request, self.body_limit).await
    }

    /// Runs one call: `attempt` makes and sends the request once, and is
    /// called again for each retry; `what` names the call in logs. Each
    /// attempt waits for the pacer and is bounded by the call timeout; a
    /// failure is classified by `classifier`, and retried while
    /// [`Timing::next_step`] says so. `run` counts nothing itself: the
    /// attempt counts what it really sends.
    pub async fn run<T, E, C, F, Fut>(&self, what: &str, classifier: &C, mut attempt: F) -> Result<T, ApiError>
    where
        C: Classify<E>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut number = 0;
        let mut renewed = false;
        loop {
            number += 1;
            self.pacer.ready().await;
            let error = match tokio::time::timeout(self.timing.call_timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(failure)) => classifier.classify(failure),
                Err(_) => ApiError::transient(format!(
                    "no answer from {} within {}s",
                    self.service,
                    self.timing.call_timeout.as_secs_f64()
                )),
            };
            if let ApiError::Unauthorized { expired: true, .. } = error
                && !renewed
            {
                renewed = true;
                if classifier.renew_credentials().await {
                    tracing::debug!(call = what, "access token refused; fetching a new one");
                    continue;
                }
            }
            let jitter = rand::rng().random_range(0.0..=1.0);
            match self.timing.next_step(number, started.elapsed(), &error, jitter) {
                Step::RetryAfter(wait) => {
                    tracing::debug!(
                        call = what,
                        attempt = number,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "retrying {} API call",
                        self.service
                    );
                    tokio::time::sleep(wait).await;
                }
                Step::GiveUp => {
                    if error.is_retryable() {
                        tracing::warn!(call = what, attempts = number, error = %error, "{} API call failed", self.service);
                    }
                    return Err(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use std::sync::Arc;

    use super::*;

    fn fast() -> Timing {
        Timing {
            call_timeout: Duration::from_secs(5),
            max_attempts: 4,
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_millis(2),
            retry_budget: Duration::from_secs(5),
        }
    }

    /// Classifies the test's own failures, which are already classes, and
    /// counts the renewals asked for.
    #[derive(Default)]
    struct Renewing {
        renewals: AtomicU32,
    }

    impl Classify<ApiError> for Renewing {
        fn classify(&self, failure: ApiError) -> ApiError {
            failure
        }

        fn renew_credentials(&self) -> impl Future<Output = bool> + Send {
            self.renewals.fetch_add(1, Ordering::Relaxed);
            std::future::ready(true)
        }
    }

    fn same(e: ApiError) -> ApiError {
        e
    }

    /// An attempt that answers from a script, one entry per attempt.
    fn scripted(
        script: Vec<Result<u32, ApiError>>,
    ) -> (
        Arc<AtomicU32>,
        impl FnMut() -> std::future::Ready<Result<u32, ApiError>>,
    ) {
        let attempts = Arc::new(AtomicU32::new(0));
        let seen = Arc::clone(&attempts);
        let mut script: VecDeque<_> = script.into();
        let attempt = move || {
            seen.fetch_add(1, Ordering::Relaxed);
            std::future::ready(
                script
                    .pop_front()
                    .unwrap_or(Err(ApiError::Invalid("script ended".into()))),
            )
        };
        (attempts, attempt)
    }

    #[tokio::test]
    async fn what_may_pass_is_retried_until_it_passes() {
        let caller = Caller::new("Graph", 1000, fast());
        let limited = ApiError::RateLimited {
            reason: "429".into(),
            retry_after: None,
        };
        let (attempts, attempt) = scripted(vec![Err(ApiError::transient("reset")), Err(limited), Ok(7)]);
        assert_eq!(caller.run("getSchedule", &same, attempt).await, Ok(7));
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn retries_end_at_the_attempt_bound_and_what_cannot_pass_is_not_retried() {
        let caller = Caller::new("Graph", 1000, fast());
        let failures = (0..10).map(|i| Err(ApiError::transient(format!("503 #{i}")))).collect();
        let (attempts, attempt) = scripted(failures);
        assert_eq!(
            caller.run("getSchedule", &same, attempt).await,
            Err(ApiError::transient("503 #3")),
            "the last failure comes out"
        );
        assert_eq!(attempts.load(Ordering::Relaxed), 4);

        let (attempts, attempt) = scripted(vec![Err(ApiError::Duplicate), Ok(1)]);
        assert_eq!(caller.run("events", &same, attempt).await, Err(ApiError::Duplicate));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn each_attempt_is_bounded_by_the_call_timeout() {
        let timing = Timing {
            call_timeout: Duration::from_millis(50),
            max_attempts: 2,
            ..fast()
        };
        let caller = Caller::new("CalDAV server", 1000, timing);
        let attempts = AtomicU32::new(0);
        let never = || {
            attempts.fetch_add(1, Ordering::Relaxed);
            std::future::pending::<Result<(), ApiError>>()
        };
        let err = caller.run("PROPFIND", &same, never).await.unwrap_err();
        assert_eq!(err, ApiError::transient("no answer from CalDAV server within 0.05s"));
        assert_eq!(attempts.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_per_call() {
        let caller = Caller::new("Graph", 1000, fast());
        let refused = || ApiError::Unauthorized {
            message: "401".into(),
            expired: true,
        };
        let renewing = Renewing::default();
        let (attempts, attempt) = scripted(vec![Err(refused()), Ok(5)]);
        assert_eq!(caller.run("events", &renewing, attempt).await, Ok(5));
        assert_eq!(attempts.load(Ordering::Relaxed), 2);
        assert_eq!(renewing.renewals.load(Ordering::Relaxed), 1);

        let renewing = Renewing::default();
        let (attempts, attempt) = scripted(vec![Err(refused()), Err(refused()), Ok(5)]);
        assert_eq!(caller.run("events", &renewing, attempt).await, Err(refused()));
        assert_eq!(attempts.load(Ordering::Relaxed), 2, "renewed once, then given up");
        assert_eq!(renewing.renewals.load(Ordering::Relaxed), 1);

        // Nothing to renew (a plain function): out at once.
        let (attempts, attempt) = scripted(vec![Err(refused()), Ok(5)]);
        assert_eq!(caller.run("events", &same, attempt).await, Err(refused()));
        assert_eq!(attempts.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn retry_after_is_waited_for() {
        let caller = Caller::new("Graph", 1000, fast());
        let limited = ApiError::RateLimited {
            reason: "429".into(),
            retry_after: Some(Duration::from_millis(120)),
        };
        let (_, attempt) = scripted(vec![Err(limited), Ok(1)]);
        let started = Instant::now();
        assert_eq!(caller.run("getSchedule", &same, attempt).await, Ok(1));
        assert!(
            started.elapsed() >= Duration::from_millis(120),
            "{:?}",
            started.elapsed()
        );
    }

    /// A provider sending raw requests: its attempt is a [`Caller::send`], its
    /// failures a lost exchange or a non-2xx answer, classified by status.
    enum RawFailure {
        Exchange(ExchangeError),
        Status(Answer),
    }

    fn classify_raw(failure: RawFailure) -> ApiError {
        match failure {
            RawFailure::Exchange(e) => e.classify("Graph"),
            RawFailure::Status(answer) => ApiError::from_status(
                "Graph",
                answer.status,
                &String::from_utf8_lossy(&answer.body),
                answer.retry_after(jiff::Timestamp::now()),
            ),
        }
    }

    #[tokio::test]
    async fn a_raw_provider_sends_counts_and_retries_through_the_same_loop() {
        type Script = Arc<Mutex<VecDeque<(StatusCode, &'static str)>>>;
        let script: Script = Arc::new(Mutex::new(
            [
                (StatusCode::SERVICE_UNAVAILABLE, "busy"),
                (StatusCode::TOO_MANY_REQUESTS, "slow down"),
                (StatusCode::OK, "{\"value\": []}"),
                (StatusCode::OK, "a body longer than sixteen bytes"),
            ]
            .into(),
        ));
        let app = Router::new()
            .fallback(|State(script): State<Script>| async move {
                script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((StatusCode::GONE, "script ended"))
            })
            .with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/me/calendar/getSchedule", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let caller = Caller::new("Graph", 1000, fast()).with_body_limit(16);
        let client = super::super::exchange::http_client();
        let attempt = || async {
            let request = Request::post(url.as_str()).body("{}".to_string()).unwrap();
            let answer = caller.send(&client, request).await.map_err(RawFailure::Exchange)?;
            if answer.is_success() {
                Ok(answer.body)
            } else {
                Err(RawFailure::Status(answer))
            }
        };
        let body = caller.run("getSchedule", &classify_raw, attempt).await.unwrap();
        assert_eq!(&body[..], b"{\"value\": []}");
        assert_eq!(caller.requests(), 3, "every attempt sent counts");

        let err = caller.run("getSchedule", &classify_raw, attempt).await.unwrap_err();
        assert_eq!(err, ApiError::Invalid("Graph's answer is larger than 16 bytes".into()));
        assert_eq!(caller.requests(), 4);
    }
}

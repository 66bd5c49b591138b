//! The one HTTP layer of every calendar provider that talks to a server
//! (Google and CalDAV now; Microsoft Graph next).
//!
//! - [`Caller::run`] (`call`): runs one async call with pacing, a timeout per
//!   attempt and retries, reading failures with the [`Classify`] the provider
//!   supplies; the attempt may be a generated client's call or a raw request.
//! - [`Timing`] (`retry`): the bounds (attempts, budget, timeout) and the
//!   full-jitter backoff with `Retry-After`, decided by [`Timing::next_step`].
//! - [`Pacer`] and [`RequestCounter`] (`pacing`): the token bucket every
//!   attempt waits on, and the count of requests really sent.
//! - [`exchange`] and [`Caller::send`] (`exchange`): one plain request and its
//!   whole answer, up to a body size limit, on the shared [`Connector`].
//! - [`CappedConnector`] (`capped`): the [`Connector`]'s cap on the size of
//!   every answer, for the clients that read bodies themselves (the
//!   google-calendar3 hub, yup-oauth2) too.
//! - [`ApiError`] (`error`): the provider-neutral classes of a failure, by
//!   what the caller does next.
//!
//! Nothing here knows a provider: messages name the service the provider
//! gave [`Caller::new`], and each provider keeps its own error bodies,
//! reasons and scopes.

mod call;
mod capped;
mod error;
mod exchange;
mod pacing;
mod retry;

pub use self::call::{Caller, Classify};
pub use self::capped::{AnswerTooLarge, CappedConnector, CappedIo, CutAnswers};
pub use self::error::ApiError;
pub use self::exchange::{
    Answer, BODY_LIMIT, Connector, ExchangeError, HttpClient, exchange, http_client, http_client_on, https_connector,
    https_connector_with_roots,
};
#[cfg(feature = "test-hooks")]
pub use self::pacing::VirtualClock;
pub use self::pacing::{Pacer, RequestCounter};
pub use self::retry::{
    BACKOFF_BASE, BACKOFF_CAP, CALL_TIMEOUT, MAX_ATTEMPTS, RETRY_BUDGET, Step, Timing, parse_retry_after,
};

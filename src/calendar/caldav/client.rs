//! What of the shared HTTP layer is CalDAV's: one request, sent with the
//! account's Basic credentials through [`Caller::run`] (pacing, a timeout per
//! attempt, retries of what may pass), and a failed answer read into the
//! neutral [`ApiError`] classes. A caller names the statuses it handles
//! itself (a 412 on a conditional PUT, a 404 on a GET); every other non-2xx
//! status is a failure.
//!
//! The credentials go only to origins liaison trusts: the configuration's
//! URLs and those the server itself named during discovery. A request to any
//! other origin is refused before it is sent (a URL read from an event, which
//! anyone who can write to a calendar controls, never widens the set).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use google_calendar3::hyper::Request;
use url::Url;

use super::credentials::Credentials;
use crate::calendar::http::{Answer, ApiError, Caller, Classify, ExchangeError, HttpClient, Timing};

/// The service as messages name it.
pub const SERVICE: &str = "the CalDAV server";

/// The most of an error body a message quotes.
const DETAIL_CHARS: usize = 200;

/// One request liaison sends.
pub struct Call<'a> {
    pub method: &'static str,
    pub url: &'a Url,
    /// `Depth`, `If-Match`, `If-None-Match`, `Content-Type`, ...
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Non-2xx statuses that are answers for this caller, not failures.
    pub accept: &'a [u16],
}

impl<'a> Call<'a> {
    pub fn new(method: &'static str, url: &'a Url) -> Call<'a> {
        Call {
            method,
            url,
            headers: Vec::new(),
            body: String::new(),
            accept: &[],
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// An XML body (PROPFIND, REPORT).
    pub fn xml(self, body: String) -> Call<'a> {
        let mut call = self.header("Content-Type", "application/xml; charset=utf-8");
        call.body = body;
        call
    }

    /// An iCalendar body (PUT, an outbox POST).
    pub fn ical(self, body: String) -> Call<'a> {
        let mut call = self.header("Content-Type", "text/calendar; charset=utf-8");
        call.body = body;
        call
    }

    pub fn accepting(mut self, statuses: &'a [u16]) -> Call<'a> {
        self.accept = statuses;
        self
    }
}

/// One failed attempt, before classification.
enum Failure {
    Exchange(ExchangeError),
    Status(Answer),
    Build(String),
}

/// Reads failures into classes; knows the account and its password file
/// for the 401 message.
struct Classifier<'a> {
    credentials: &'a Credentials,
    url: &'a Url,
}

impl Classify<Failure> for Classifier<'_> {
    fn classify(&self, failure: Failure) -> ApiError {
        match failure {
            Failure::Exchange(e) => e.classify(SERVICE),
            Failure::Build(m) => ApiError::Invalid(m),
            Failure::Status(answer) => {
                let detail = detail(&answer);
                match answer.status {
                    // Basic credentials do not expire: nothing to renew, and
                    // `liaison auth` does not help; the password file does.
                    401 => ApiError::Unauthorized {
                        message: format!(
                            "{SERVICE} at {} refused the password of user {:?} read from {} (HTTP 401{detail}); \
                             put the account's password into that file (iCloud and Fastmail: an app password), \
                             or fix calendar.caldav.username",
                            origin(self.url),
                            self.credentials.username,
                            self.credentials.password_file.display()
                        ),
                        expired: false,
                    },
                    403 => ApiError::Refused(format!("{SERVICE} forbids it (HTTP 403{detail})")),
                    507 => ApiError::Quota(format!("{SERVICE} has no room left (HTTP 507{detail})")),
                    status => ApiError::from_status(
                        SERVICE,
                        status,
                        detail.trim_start_matches(": "),
                        answer.retry_after(jiff::Timestamp::now()),
                    ),
                }
            }
        }
    }
}

/// The scheme, host and port of `url`, for messages.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// ": <the start of the body>" for a message, or nothing for an empty body.
fn detail(answer: &Answer) -> String {
    let text = String::from_utf8_lossy(&answer.body);
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(DETAIL_CHARS)
        .collect();
    if flat.is_empty() {
        String::new()
    } else {
        format!(": {flat}")
    }
}

/// The CalDAV account's requests.
pub struct Dav {
    caller: Caller,
    client: HttpClient,
    credentials: Credentials,
    /// Origins (scheme, host, port) requests may go to; see [`Dav::trust`].
    trusted: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Dav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dav")
            .field("caller", &self.caller)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Dav {
    /// Requests paced at `requests_per_second` (`calendar.caldav.requests_per_second`).
    pub fn new(client: HttpClient, credentials: Credentials, requests_per_second: u32, timing: Timing) -> Dav {
        Dav {
            caller: Caller::new(SERVICE, requests_per_second, timing),
            client,
            credentials,
            trusted: Mutex::new(BTreeSet::new()),
        }
    }

    /// Lets requests go to `url`'s origin from now on: for URLs of the
    /// configuration and those the server names in discovery, never for
    /// URLs read from an event.
    pub fn trust(&self, url: &Url) {
        self.trusted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(origin(url));
    }

    /// Whether requests may go to `url`'s origin.
    pub fn trusts(&self, url: &Url) -> bool {
        self.trusted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&origin(url))
    }

    pub fn requests(&self) -> u64 {
        self.caller.requests()
    }

    /// How long after a write was sent the server may still apply it: the
    /// last attempt may start up to the retry budget after the first, and
    /// take one call timeout.
    pub fn write_timeout(&self) -> Duration {
        let timing = self.caller.timing();
        timing.call_timeout.saturating_add(timing.retry_budget)
    }

    /// Sends `call` (retried while what failed may pass); a 2xx or accepted
    /// status is the answer, anything else its class.
    /// A URL of an origin liaison does not trust is refused unsent.
    pub async fn send(&self, call: &Call<'_>) -> Result<Answer, ApiError> {
        if !self.trusts(call.url) {
            return Err(ApiError::Refused(format!(
                "{} {}: not sent: {} is not the configured CalDAV server (calendar.caldav.url, \
                 organizer_calendar, people[].calendar or what discovery found), and liaison sends its \
                 credentials nowhere else",
                call.method,
                call.url,
                origin(call.url)
            )));
        }
        let what = format!("{} {}", call.method, call.url.path());
        let classifier = Classifier {
            credentials: &self.credentials,
            url: call.url,
        };
        self.caller
            .run(&what, &classifier, || async {
                let mut builder = Request::builder()
                    .method(call.method)
                    .uri(call.url.as_str())
                    .header("Authorization", self.credentials.authorization())
                    .header("User-Agent", concat!("liaison/", env!("CARGO_PKG_VERSION")));
                for (name, value) in &call.headers {
                    builder = builder.header(*name, value.as_str());
                }
                let request = builder
                    .body(call.body.clone())
                    .map_err(|e| Failure::Build(format!("{what}: cannot build the request: {e}")))?;
                let answer = self
                    .caller
                    .send(&self.client, request)
                    .await
                    .map_err(Failure::Exchange)?;
                if answer.is_success() || call.accept.contains(&answer.status) {
                    Ok(answer)
                } else {
                    Err(Failure::Status(answer))
                }
            })
            .await
    }
}

/// The ETag of an answer, as sent (quotes included).
pub fn etag(answer: &Answer) -> Option<String> {
    answer
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The body of an answer as text.
pub fn body_text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::calendar::http::http_client;

    /// A listener that counts the connections made to it.
    fn counting_listener() -> (Url, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/x.ics", listener.local_addr().unwrap())).unwrap();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        (url, count)
    }

    #[tokio::test]
    async fn a_request_to_an_origin_liaison_does_not_trust_is_refused_unsent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let credentials = Credentials::load("liaison", &path).unwrap();
        let timing = Timing {
            call_timeout: Duration::from_secs(5),
            max_attempts: 1,
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_millis(1),
            retry_budget: Duration::from_secs(1),
        };
        let dav = Dav::new(http_client(), credentials, 100, timing);
        let (foreign, connections) = counting_listener();
        dav.trust(&Url::parse("http://127.0.0.1:1/dav/").unwrap());
        let refused = dav.send(&Call::new("PUT", &foreign)).await.unwrap_err();
        match refused {
            ApiError::Refused(m) => assert!(m.contains("not sent") && m.contains(&origin(&foreign)), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(dav.requests(), 0);
        // Trusted, the same URL is sent (the listener drops the connection).
        dav.trust(&foreign);
        assert!(dav.send(&Call::new("PUT", &foreign)).await.is_err());
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}

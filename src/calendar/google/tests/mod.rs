//! HTTP-level smoke tests of the provider: the real google-calendar3 client
//! against a scripted stub on 127.0.0.1 (not a fake of Google: each test
//! scripts the exact answers it needs; the fake API for end-to-end tests lives
//! in `tests/integration/`).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::civil::{date, datetime};
use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use super::auth::{SCOPES, StoredToken, token_path};
use super::*;
use crate::calendar::{Attendee, EndOutcome, ErrorScope};
use crate::config::{self, Env};

mod auth;
mod calls;

/// One scripted answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<&'static str>,
    /// The answer is lost: its head goes out, then the connection closes in
    /// the middle of the body (the request itself was received, and for a
    /// write, applied). The client sees it at once, whatever the machine's
    /// speed, instead of waiting out a timeout.
    cut: bool,
    /// No answer ever comes (the call can only time out).
    hang: bool,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body,
        retry_after: None,
        cut: false,
        hang: false,
    }
}

fn google_error(code: u16, reason: &str) -> Value {
    json!({"error": {"code": code, "message": reason, "errors": [{"domain": "global", "reason": reason}]}})
}

/// A request as the stub saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    uri: String,
    authorization: Option<String>,
    body: String,
}

#[derive(Default)]
struct Stub {
    api: Mutex<VecDeque<Reply>>,
    token: Mutex<VecDeque<Reply>>,
    seen: Mutex<Vec<Seen>>,
}

impl Stub {
    fn api_requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.uri.starts_with("/calendar/"))
            .cloned()
            .collect()
    }

    fn token_requests(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.uri == "/token")
            .cloned()
            .collect()
    }
}

async fn answer(State(stub): State<Arc<Stub>>, request: Request) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let script = if uri == "/token" { &stub.token } else { &stub.api };
    stub.seen.lock().unwrap().push(Seen {
        method,
        uri: uri.clone(),
        authorization,
        body,
    });
    let next = script.lock().unwrap().pop_front();
    let Some(reply) = next else {
        return (StatusCode::IM_A_TEAPOT, format!("unscripted request {uri}")).into_response();
    };
    if reply.hang {
        std::future::pending::<()>().await;
    }
    if reply.cut {
        // A Content-Length the body does not reach: hyper sends the head and
        // the partial body, then closes the connection.
        let mut response = (StatusCode::from_u16(reply.status).unwrap(), Body::from("{\"id\"")).into_response();
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("4096"));
        return response;
    }
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        [("content-type", "application/json")],
        Body::from(reply.body.to_string()),
    )
        .into_response();
    if let Some(after) = reply.retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static(after));
    }
    response
}

/// A provider talking to a stub with the given scripts; the stored token is
/// fresh unless `expired`.
struct Setup {
    stub: Arc<Stub>,
    provider: GoogleProvider,
    dir: tempfile::TempDir,
    base: String,
}

const CLIENT_ID: &str = "123.apps.googleusercontent.com";
const ORGANIZER: &str = "en.usa#holiday@group.v.calendar.google.com";

async fn setup(api: Vec<Reply>, token: Vec<Reply>, expired: bool) -> Setup {
    setup_timed(api, token, expired, stub_timing()).await
}

async fn setup_timed(api: Vec<Reply>, token: Vec<Reply>, expired: bool, timing: Timing) -> Setup {
    let stub = Arc::new(Stub::default());
    stub.api.lock().unwrap().extend(api);
    stub.token.lock().unwrap().extend(token);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(answer).with_state(Arc::clone(&stub));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("client.json"),
        json!({"installed": {"client_id": CLIENT_ID, "client_secret": "GOCSPX-s3cr3t",
            "auth_uri": format!("{base}/o/oauth2/auth"), "token_uri": format!("{base}/token")}})
        .to_string(),
    )
    .unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let now = Timestamp::now();
    let expires = if expired {
        -SignedDuration::from_mins(5)
    } else {
        SignedDuration::from_mins(30)
    };
    StoredToken {
        client_id: CLIENT_ID.into(),
        refresh_token: SecretString::from("1//stored-refresh".to_string()),
        access_token: Some(SecretString::from("ya29.stored".to_string())),
        expires_at: Some(now.checked_add(expires).unwrap()),
        scopes: SCOPES.map(String::from).to_vec(),
        authorized_at: now,
    }
    .save(&token_path(&state))
    .unwrap();
    let provider = GoogleProvider::with_timing(&config_for(dir.path(), &base), timing)
        .await
        .unwrap();
    Setup {
        stub,
        provider,
        dir,
        base,
    }
}

async fn provider_for(dir: &Path, base: &str) -> GoogleProvider {
    let cfg = config_for(dir, base);
    GoogleProvider::with_timing(&cfg, stub_timing()).await.unwrap()
}

/// Fast retries, and a call timeout that no scripted answer comes near on a
/// loaded machine: a timeout must never eat the next scripted reply. Answers
/// that are lost are cut connections ([`Reply::cut`]), seen at once.
fn stub_timing() -> Timing {
    Timing {
        call_timeout: Duration::from_secs(30),
        max_attempts: 5,
        backoff_base: Duration::from_millis(1),
        backoff_cap: Duration::from_millis(5),
        retry_budget: Duration::from_secs(10),
    }
}

fn config_for(dir: &Path, base: &str) -> Config {
    let text = format!(
        r#"
timezone = "UTC"
state_dir = "{state}"
[schedule]
first_term = 2026-03-02
[meeting]
send_updates = "none"
conference = "google_meet"
[calendar]
provider = "google"
[calendar.google]
client_secret = "{client}"
organizer = "{ORGANIZER}"
api_base_url = "{base}/"
requests_per_second = 1000
[[people]]
email = "ada@example.com"
name = "Ada"
unit = "Finance"
[[people]]
email = "bob@example.com"
name = "Bob"
unit = "Sales"
"#,
        state = dir.join("state").display(),
        client = dir.join("client.json").display(),
    );
    config::parse(&text, &dir.join("config.toml"), &Env::default()).unwrap()
}

fn series() -> SeriesRequest {
    SeriesRequest {
        event_id: "a0b1c2d3e4f5g6h7i8j9k0l1m2".into(),
        term: date(2026, 3, 2),
        pair: ("ada@example.com".into(), "bob@example.com".into()),
        attendees: [
            Attendee {
                email: "ada@example.com".into(),
                name: "Ada".into(),
            },
            Attendee {
                email: "bob@example.com".into(),
                name: "Bob".into(),
            },
        ],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: datetime(2026, 3, 2, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    }
}

/// The event as Google would return it.
fn returned(req: &SeriesRequest, status: &str) -> Value {
    let mut value = serde_json::to_value(events::event_for(req, Conference::None, "").unwrap()).unwrap();
    google_calendar3::common::remove_json_null_values(&mut value);
    value["status"] = json!(status);
    value
}

const EVENTS_PATH: &str = "/calendar/v3/calendars/en.usa%23holiday@group.v.calendar.google.com/events";

/// Google's error body with a domain and message, as Google writes them.
fn google_error_in(code: u16, domain: &str, reason: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message,
        "errors": [{"domain": domain, "reason": reason, "message": message}]}})
}

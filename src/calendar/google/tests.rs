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

#[tokio::test]
async fn an_insert_whose_answer_was_lost_is_retried_and_its_duplicate_accepted() {
    let req = series();
    let lost = Reply {
        cut: true,
        ..reply(200, returned(&req, "confirmed"))
    };
    let s = setup(
        vec![
            lost,
            reply(409, google_error(409, "duplicate")),
            reply(200, returned(&req, "confirmed")),
        ],
        vec![],
        false,
    )
    .await;
    assert_eq!(
        s.provider.create_series(&req).await.unwrap(),
        CreateOutcome::AlreadyExists
    );
    let seen = s.stub.api_requests();
    let calls: Vec<(&str, &str)> = seen.iter().map(|r| (r.method.as_str(), r.uri.as_str())).collect();
    let insert = format!("{EVENTS_PATH}?sendUpdates=none&conferenceDataVersion=1&alt=json");
    let get = format!("{EVENTS_PATH}/a0b1c2d3e4f5g6h7i8j9k0l1m2?alt=json");
    assert_eq!(
        calls,
        [
            ("POST", insert.as_str()),
            ("POST", insert.as_str()),
            ("GET", get.as_str())
        ]
    );
    assert_eq!(seen[0].body, seen[1].body, "the retry sends the same event, same id");
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["id"], "a0b1c2d3e4f5g6h7i8j9k0l1m2");
    assert_eq!(
        body["conferenceData"]["createRequest"]["requestId"],
        "liaison-a0b1c2d3e4f5g6h7i8j9k0l1m2"
    );
    assert!(
        seen.iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer ya29.stored"))
    );
    assert_eq!(s.provider.requests(), 3);
    assert!(s.stub.token_requests().is_empty(), "a fresh token is not refreshed");
}

/// The call timeout itself: an answer that never comes ends the attempt
/// after `call_timeout` and is retried; when no attempt is answered the call
/// is transient. (Deterministic: the stub never answers, whatever the speed.)
#[tokio::test]
async fn a_call_never_answered_times_out_each_attempt_then_is_transient() {
    let hang = Reply {
        hang: true,
        ..reply(200, json!({}))
    };
    let timing = Timing {
        call_timeout: Duration::from_secs(1),
        max_attempts: 2,
        ..stub_timing()
    };
    let s = setup_timed(vec![hang.clone(), hang], vec![], false, timing).await;
    let err = s.provider.list_series().await.unwrap_err();
    assert!(matches!(err, CalendarError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("no answer from Google within 1s"), "{err}");
    assert_eq!(s.stub.api_requests().len(), 2, "each attempt reached the server");
}

#[tokio::test]
async fn a_duplicate_that_is_cancelled_or_someone_elses_is_not_accepted() {
    let req = series();
    let mut other = req.clone();
    other.pair.1 = "cy@example.com".into();
    let s = setup(
        vec![
            reply(409, google_error(409, "duplicate")),
            reply(200, returned(&req, "cancelled")),
            reply(409, google_error(409, "duplicate")),
            reply(200, returned(&other, "confirmed")),
        ],
        vec![],
        false,
    )
    .await;
    let err = s.provider.create_series(&req).await.unwrap_err();
    assert!(
        matches!(&err, CalendarError::IdCancelled(id) if id == &req.event_id),
        "{err:?}"
    );
    let err = s.provider.create_series(&req).await.unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("is taken by another event"),
        "{err}"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let answer = json!({"kind": "calendar#freeBusy", "calendars": {
        "ada@example.com": {"busy": [{"start": "2026-03-03T09:00:00Z", "end": "2026-03-03T10:00:00Z"}]},
        "bob@example.com": {"errors": [{"domain": "global", "reason": "notFound"}]},
    }});
    let s = setup(
        vec![
            Reply {
                retry_after: Some("1"),
                ..reply(503, google_error(503, "backendError"))
            },
            reply(403, google_error(403, "rateLimitExceeded")),
            reply(429, google_error(429, "rateLimitExceeded")),
            reply(200, answer),
        ],
        vec![],
        false,
    )
    .await;
    let emails = ["ada@example.com".to_string(), "bob@example.com".to_string()];
    let range = Interval::new(
        "2026-03-02T00:00:00Z".parse().unwrap(),
        "2026-03-30T00:00:00Z".parse().unwrap(),
    );
    let started = Instant::now();
    let busy = s.provider.busy(&emails, range).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(busy["ada@example.com"].as_ref().unwrap().spans().len(), 1);
    assert!(busy["bob@example.com"].as_ref().unwrap_err().contains("notFound"));
    assert_eq!(s.provider.requests(), 4);
    let seen = s.stub.api_requests();
    assert!(
        seen.iter()
            .all(|r| r.method == "POST" && r.uri == "/calendar/v3/freeBusy?alt=json")
    );
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body["items"],
        json!([{"id": "ada@example.com"}, {"id": "bob@example.com"}])
    );
}

#[tokio::test]
async fn retries_end_at_the_attempt_bound_with_a_transient_error() {
    let s = setup(vec![reply(500, google_error(500, "backendError")); 5], vec![], false).await;
    let err = s.provider.list_series().await.unwrap_err();
    assert!(matches!(err, CalendarError::Transient(_)), "{err:?}");
    assert_eq!(s.provider.requests(), 5);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_kept_for_the_next_process() {
    let granted = json!({"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer",
        "scope": SCOPES.join(" ")});
    let s = setup(vec![reply(200, json!({"items": []}))], vec![reply(200, granted)], true).await;
    assert!(s.provider.list_series().await.unwrap().is_empty());
    let tokens = s.stub.token_requests();
    assert_eq!(tokens.len(), 1);
    for part in [
        "grant_type=refresh_token",
        "refresh_token=1%2F%2Fstored-refresh",
        "client_id=123.apps",
    ] {
        assert!(tokens[0].body.contains(part), "{part} in {}", tokens[0].body);
    }
    assert_eq!(
        s.stub.api_requests()[0].authorization.as_deref(),
        Some("Bearer ya29.fresh")
    );
    let stored = StoredToken::load(&token_path(&s.dir.path().join("state")))
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.unwrap().expose_secret(), "ya29.fresh");
    assert_eq!(
        stored.refresh_token.expose_secret(),
        "1//stored-refresh",
        "kept when not rotated"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized_with_the_testing_hint() {
    let refused = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
    let s = setup(vec![], vec![reply(400, refused)], true).await;
    let err = s.provider.list_series().await.unwrap_err();
    let CalendarError::Unauthorized(_) = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    for part in [
        "invalid_grant",
        "\"Testing\"",
        "expire after 7 days",
        "run `liaison auth`",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("stored-refresh") && !text.contains("s3cr3t"), "{text}");
    assert!(s.stub.api_requests().is_empty());
    assert_eq!(s.provider.requests(), 0);
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_once() {
    let granted = json!({"access_token": "ya29.fresh", "expires_in": 3599});
    let s = setup(
        vec![
            reply(401, google_error(401, "authError")),
            reply(200, json!({"items": []})),
        ],
        vec![reply(200, granted)],
        false,
    )
    .await;
    s.provider.list_series().await.unwrap();
    let auth: Vec<_> = s.stub.api_requests().into_iter().map(|r| r.authorization).collect();
    assert_eq!(
        auth,
        [Some("Bearer ya29.stored".into()), Some("Bearer ya29.fresh".into())]
    );
}

#[tokio::test]
async fn listing_reads_every_page_of_liaisons_own_events() {
    let req = series();
    let mut second = req.clone();
    second.event_id = "b0b1c2d3e4f5g6h7i8j9k0l1m2".into();
    second.pair.1 = "cy@example.com".into();
    let s = setup(
        vec![
            reply(
                200,
                json!({"items": [returned(&req, "confirmed")], "nextPageToken": "page 2"}),
            ),
            reply(
                200,
                json!({"items": [returned(&second, "cancelled"), {"id": "x", "status": "confirmed",
                "extendedProperties": {"private": {"liaison": "1"}}}]}),
            ),
        ],
        vec![],
        false,
    )
    .await;
    let listed = s.provider.list_series().await.unwrap();
    let got: Vec<(&str, bool)> = listed.iter().map(|b| (b.request.event_id.as_str(), b.active)).collect();
    assert_eq!(got, [(req.event_id.as_str(), true), (second.event_id.as_str(), false)]);
    let uris: Vec<String> = s.stub.api_requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            format!("{EVENTS_PATH}?showDeleted=true&privateExtendedProperty=liaison%3D1&maxResults=2500&alt=json"),
            format!(
                "{EVENTS_PATH}?showDeleted=true&privateExtendedProperty=liaison%3D1&pageToken=page+2&maxResults=2500&alt=json"
            ),
        ]
    );
}

#[tokio::test]
async fn deleting_twice_is_not_an_error_and_moves_name_their_zone() {
    let s = setup(
        vec![
            reply(204, Value::Null),
            reply(410, google_error(410, "deleted")),
            reply(200, json!({"id": "a0b1c2d3e4f5g6h7i8j9k0l1m2_20260309T100000Z"})),
        ],
        vec![],
        false,
    )
    .await;
    let id = "a0b1c2d3e4f5g6h7i8j9k0l1m2";
    assert_eq!(s.provider.delete_series(id).await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(s.provider.delete_series(id).await.unwrap(), DeleteOutcome::AlreadyGone);
    let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let start = datetime(2026, 3, 10, 11, 0, 0, 0)
        .to_zoned_datetime(tz.clone())
        .unwrap();
    let end = datetime(2026, 3, 10, 11, 30, 0, 0).to_zoned_datetime(tz).unwrap();
    let instance = format!("{id}_20260309T100000Z");
    s.provider.patch_instance(id, &instance, &start, &end).await.unwrap();
    let err = s
        .provider
        .patch_instance(id, "other_20260309T100000Z", &start, &end)
        .await
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let seen = s.stub.api_requests();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(seen[0].uri, format!("{EVENTS_PATH}/{id}?sendUpdates=none"));
    assert_eq!(seen[2].method, "PATCH");
    assert_eq!(
        seen[2].uri,
        format!("{EVENTS_PATH}/{instance}?sendUpdates=none&alt=json")
    );
    let body: Value = serde_json::from_str(&seen[2].body).unwrap();
    assert_eq!(
        body,
        json!({"start": {"dateTime": "2026-03-10T11:00:00Z", "timeZone": "Europe/London"},
               "end": {"dateTime": "2026-03-10T11:30:00Z", "timeZone": "Europe/London"}})
    );
    assert_eq!(seen.len(), 3, "the bad instance id was refused before sending");
}

#[tokio::test]
async fn a_missing_token_asks_to_run_liaison_auth() {
    let s = setup(vec![], vec![], false).await;
    std::fs::remove_file(token_path(&s.dir.path().join("state"))).unwrap();
    let provider = provider_for(s.dir.path(), &s.base).await;
    let err = provider.series_details("a0b1c2d3e4f5g6h7i8j9k0l1m2").await.unwrap_err();
    assert!(matches!(err, CalendarError::Unauthorized(_)), "{err:?}");
    assert!(
        err.to_string().contains("no Google authorization is stored in"),
        "{err}"
    );
    assert!(err.to_string().ends_with("run `liaison auth`"), "{err}");
}

#[tokio::test]
async fn check_says_whether_a_token_is_stored_and_never_shows_it() {
    let s = setup(vec![], vec![], false).await;
    let cfg = config_for(s.dir.path(), &s.base);
    let now = Timestamp::now();
    let lines = describe_credentials(&cfg, now).await.unwrap().join("\n");
    assert!(lines.contains(&format!("OAuth client {CLIENT_ID}")), "{lines}");
    assert!(lines.contains("token: stored in"), "{lines}");
    assert!(lines.contains("\"Testing\"") && lines.contains("7 days"), "{lines}");
    assert!(
        !lines.contains("ya29") && !lines.contains("1//") && !lines.contains("s3cr3t"),
        "{lines}"
    );

    std::fs::remove_file(token_path(&cfg.state_dir)).unwrap();
    let lines = describe_credentials(&cfg, now).await.unwrap().join("\n");
    assert!(
        lines.contains("token: none stored in") && lines.contains("run `liaison auth`"),
        "{lines}"
    );

    std::fs::write(s.dir.path().join("client.json"), "{\"installed\": ").unwrap();
    let err = describe_credentials(&cfg, now).await.unwrap_err();
    assert!(err.is_bad_input() && err.to_string().contains("client.json"), "{err}");
    std::fs::remove_file(s.dir.path().join("client.json")).unwrap();
    let err = describe_credentials(&cfg, now).await.unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("cannot read it"),
        "{err}"
    );
}

/// A throwaway RSA key made for these tests only; it signs nothing real.
const TEST_KEY_PEM: &str = include_str!("testdata/test-service-account.pem");

fn service_account_config(dir: &Path, base: &str) -> Config {
    std::fs::write(
        dir.join("key.json"),
        json!({"type": "service_account", "project_id": "p", "private_key_id": "kid",
            "private_key": TEST_KEY_PEM, "client_email": "liaison@p.iam.gserviceaccount.com",
            "client_id": "4242", "token_uri": format!("{base}/token")})
        .to_string(),
    )
    .unwrap();
    let text = format!(
        r#"
timezone = "UTC"
state_dir = "{state}"
[schedule]
first_term = 2026-03-02
[calendar]
provider = "google"
[calendar.google]
auth = "service_account"
service_account_key = "{key}"
impersonate = "organizer@example.com"
api_base_url = "{base}/"
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
        key = dir.join("key.json").display(),
    );
    config::parse(&text, &dir.join("config.toml"), &Env::default()).unwrap()
}

/// The claims of the JWT a service account sent as its assertion.
fn jwt_claims(form: &str) -> Value {
    let assertion = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .expect("an assertion");
    let payload = assertion.split('.').nth(1).expect("a JWT");
    let bytes = data_encoding::BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_service_account_gets_tokens_for_its_subject_with_the_two_scopes() {
    let granted = json!({"access_token": "ya29.sa", "expires_in": 3600, "token_type": "Bearer"});
    let s = setup(vec![reply(200, json!({"items": []}))], vec![reply(200, granted)], false).await;
    let cfg = service_account_config(s.dir.path(), &s.base);
    let report = authorize(&cfg, AuthOptions { open_browser: false }).await.unwrap();
    assert_eq!(
        report,
        AuthReport::ServiceAccount {
            client_email: "liaison@p.iam.gserviceaccount.com".into(),
            subject: "organizer@example.com".into(),
        }
    );
    let token = &s.stub.token_requests()[0];
    assert!(token.body.contains("grant-type%3Ajwt-bearer"), "{}", token.body);
    let claims = jwt_claims(&token.body);
    assert_eq!(claims["sub"], "organizer@example.com");
    assert_eq!(claims["iss"], "liaison@p.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], format!("{}/token", s.base));
    assert_eq!(claims["scope"], SCOPES.join(" "));
    let lines = describe_credentials(&cfg, Timestamp::now()).await.unwrap().join("\n");
    assert!(
        lines.contains("service account: liaison@p.iam.gserviceaccount.com acting for organizer@example.com"),
        "{lines}"
    );
    assert!(!lines.contains("PRIVATE KEY"), "{lines}");
}

#[tokio::test]
async fn a_service_account_without_delegation_is_told_what_to_add() {
    let refused = json!({"error": "unauthorized_client",
        "error_description": "Client is unauthorized to retrieve access tokens using this method."});
    let s = setup(vec![], vec![reply(401, refused)], false).await;
    let cfg = service_account_config(s.dir.path(), &s.base);
    let err = authorize(&cfg, AuthOptions { open_browser: false }).await.unwrap_err();
    let CalendarError::Unauthorized(_) = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    for part in [
        "unauthorized_client",
        "Domain-wide delegation",
        "client id 4242",
        SCOPE_FREEBUSY,
        SCOPE_EVENTS,
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn the_provider_and_its_calls_can_move_between_threads() {
    fn sendable<T: Send + Sync>(_: &T) {}
    fn send_future<F: std::future::Future + Send>(_: &F) {}
    let s = setup(vec![], vec![], false).await;
    sendable(&s.provider);
    let emails: Vec<String> = Vec::new();
    let range = Interval::new(Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH);
    let busy = s.provider.busy(&emails, range);
    send_future(&busy);
    assert!(busy.await.unwrap().is_empty());
    let req = series();
    send_future(&s.provider.create_series(&req));
    send_future(&s.provider.list_series());
    assert_eq!(s.provider.requests(), 0, "nothing to ask, nothing sent");
}

#[tokio::test]
async fn ending_a_series_patches_its_rule_to_until_and_a_gone_series_is_already_gone() {
    let req = series();
    let mut ended = returned(&req, "confirmed");
    ended["recurrence"] = json!(["RRULE:FREQ=WEEKLY;UNTIL=20260309T100000Z"]);
    let s = setup(
        vec![
            reply(200, ended),
            reply(404, google_error(404, "notFound")),
            reply(410, google_error(410, "deleted")),
            reply(200, returned(&req, "cancelled")),
        ],
        vec![],
        false,
    )
    .await;
    let id = req.event_id.as_str();
    // The second occurrence: 2026-03-09 10:00 in London (GMT).
    let until: Timestamp = "2026-03-09T10:00:00Z".parse().unwrap();
    assert_eq!(s.provider.end_series(id, until).await.unwrap(), EndOutcome::Ended);
    for _ in 0..3 {
        assert_eq!(
            s.provider.end_series(id, until).await.unwrap(),
            EndOutcome::AlreadyGone,
            "404, 410 and a cancelled series are gone"
        );
    }
    let seen = s.stub.api_requests();
    assert_eq!(seen.len(), 4, "nothing retried");
    for request in &seen {
        assert_eq!(request.method, "PATCH");
        assert_eq!(request.uri, format!("{EVENTS_PATH}/{id}?sendUpdates=none&alt=json"));
        let body: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(
            body,
            json!({"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20260309T100000Z"]}),
            "only the rule is sent; the merge keeps the rest"
        );
    }
}

#[tokio::test]
async fn the_write_timeout_is_the_retry_budget_plus_one_call_timeout() {
    let s = setup(vec![], vec![], false).await;
    // 10 s of retries, and the last attempt may be applied 30 s later.
    assert_eq!(s.provider.write_timeout(), SignedDuration::from_secs(40));
}

#[tokio::test]
async fn the_instance_marker_is_written_on_every_insert() {
    let req = series();
    let s = setup(vec![reply(200, returned(&req, "confirmed"))], vec![], false).await;
    s.provider.create_series(&req).await.unwrap();
    let body: Value = serde_json::from_str(&s.stub.api_requests()[0].body).unwrap();
    let cfg = config_for(s.dir.path(), &s.base);
    assert!(!cfg.calendar.instance.is_empty());
    assert_eq!(
        body["extendedProperties"]["private"]["liaison_instance"],
        json!(cfg.calendar.instance)
    );
}

/// Google's error body with a domain and message, as Google writes them.
fn google_error_in(code: u16, domain: &str, reason: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message,
        "errors": [{"domain": domain, "reason": reason, "message": message}]}})
}

/// Each refusal Google may answer an insert with, as the caller sees it:
/// the error class, who it concerns, whether the write certainly did not
/// land, and how many requests it took (quotas are not retried inside the
/// call; rate limits are, until the attempt bound of 5).
#[tokio::test]
async fn every_refusal_of_an_insert_comes_out_with_the_scope_of_who_can_fix_it() {
    use crate::calendar::ErrorScope::{Authorization, Everyone, ThisOne};
    let rows: Vec<(u16, Value, &str, ErrorScope, usize)> = vec![
        (
            403,
            google_error_in(403, "usageLimits", "dailyLimitExceeded", "Daily Limit Exceeded"),
            "quota",
            Everyone,
            1,
        ),
        (
            403,
            google_error_in(403, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
            "quota",
            Everyone,
            1,
        ),
        (
            429,
            google_error_in(429, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
            "quota",
            Everyone,
            1,
        ),
        (
            403,
            google_error_in(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
            "transient",
            Everyone,
            5,
        ),
        (
            403,
            google_error_in(403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
            "transient",
            Everyone,
            5,
        ),
        (
            429,
            google_error_in(429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
            "transient",
            Everyone,
            5,
        ),
        (
            400,
            google_error_in(400, "global", "invalid", "Invalid attendee email."),
            "refused",
            ThisOne,
            1,
        ),
        (
            403,
            google_error_in(
                403,
                "calendar",
                "forbiddenForNonOrganizer",
                "Shared properties can only be changed by the organizer of the event.",
            ),
            "refused",
            ThisOne,
            1,
        ),
        (
            403,
            google_error_in(
                403,
                "calendar",
                "requiredAccessLevel",
                "You need to have writer access to this calendar.",
            ),
            "invalid",
            Everyone,
            1,
        ),
        (404, google_error(404, "notFound"), "refused", ThisOne, 1),
        (
            400,
            google_error_in(400, "global", "invalid", "Invalid conference type value."),
            "invalid",
            Everyone,
            1,
        ),
        (403, google_error(403, "forbidden"), "invalid", Everyone, 1),
        (
            403,
            google_error(403, "insufficientPermissions"),
            "unauthorized",
            Authorization,
            1,
        ),
        (500, google_error(500, "backendError"), "transient", Everyone, 5),
    ];
    for (status, body, class, scope, requests) in rows {
        let s = setup(vec![reply(status, body.clone()); 5], vec![], false).await;
        let err = s.provider.create_series(&series()).await.unwrap_err();
        let got = match &err {
            CalendarError::Quota(_) => "quota",
            CalendarError::Transient(_) => "transient",
            CalendarError::Refused(_) => "refused",
            CalendarError::Invalid { .. } => "invalid",
            CalendarError::Unauthorized(_) => "unauthorized",
            CalendarError::NotFound(_) => "not found",
            CalendarError::IdCancelled(_) => "id cancelled",
            CalendarError::Io { .. } => "io",
        };
        assert_eq!((got, err.scope()), (class, scope), "{status} {body}: {err}");
        assert_eq!(err.write_refused(), class != "transient", "{status} {body}: {err}");
        assert_eq!(s.provider.requests(), requests as u64, "{status} {body}: {err}");
    }
}

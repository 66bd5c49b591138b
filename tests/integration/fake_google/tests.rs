//! Self-tests of the fake Google API, driven by the real clients liaison uses:
//! google-calendar3's `CalendarHub` over a hyper-util client with a hyper-rustls
//! connector built `https_or_http()`, and yup-oauth2 authenticators.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use chrono::{DateTime, TimeZone as _, Utc};
use google_calendar3::api::{
    Event, EventAttendee, EventDateTime, EventExtendedProperties, FreeBusyRequest, FreeBusyRequestItem,
    FreeBusyResponse,
};
use google_calendar3::{CalendarHub, common};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use yup_oauth2::authenticator_delegate::InstalledFlowDelegate;

use super::{FakeGoogle, SERVICE_ACCOUNT_EMAIL};

const FREEBUSY: &str = "https://www.googleapis.com/auth/calendar.freebusy";
const EVENTS_OWNED: &str = "https://www.googleapis.com/auth/calendar.events.owned";

type Conn = HttpsConnector<HttpConnector>;
type Hub = CalendarHub<Conn>;

fn connector() -> Conn {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build()
}

/// A hub pointed at the fake, authenticated by `auth`.
fn hub_with(fake: &FakeGoogle, auth: impl common::GetToken + 'static) -> Hub {
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let mut hub = CalendarHub::new(client, auth);
    hub.base_url(fake.calendar_api_base());
    hub.root_url(fake.base_url());
    hub
}

/// A hub with yup-oauth2's `AccessTokenAuthenticator` and a token the fake minted.
async fn hub(fake: &FakeGoogle, scopes: &[&str]) -> Hub {
    let token = fake.issue_access_token(scopes);
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let auth =
        yup_oauth2::AccessTokenAuthenticator::with_client(token, yup_oauth2::CustomHyperClientBuilder::from(client))
            .build()
            .await
            .expect("access-token authenticator");
    hub_with(fake, auth)
}

/// The hub that liaison would have: both minimal scopes.
async fn liaison_hub(fake: &FakeGoogle) -> Hub {
    hub(fake, &[FREEBUSY, EVENTS_OWNED]).await
}

/// (code, reason) of an API error answered with Google's JSON.
fn api_error(e: google_calendar3::Error) -> (i64, String) {
    match e {
        google_calendar3::Error::BadRequest(v) => (
            v["error"]["code"].as_i64().expect("error.code"),
            v["error"]["errors"][0]["reason"]
                .as_str()
                .expect("error.errors[0].reason")
                .to_string(),
        ),
        other => panic!("expected a JSON error answer, got {other:?}"),
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid time")
}

fn at(t: DateTime<Utc>, zone: &str) -> EventDateTime {
    EventDateTime {
        date_time: Some(t),
        time_zone: Some(zone.to_string()),
        date: None,
    }
}

fn attendee(email: &str) -> EventAttendee {
    EventAttendee {
        email: Some(email.to_string()),
        ..Default::default()
    }
}

/// A liaison-style weekly series.
fn series(id: &str, start: DateTime<Utc>, zone: &str, count: u32, attendees: &[&str]) -> Event {
    Event {
        id: Some(id.to_string()),
        summary: Some("Connection".into()),
        start: Some(at(start, zone)),
        end: Some(at(start + chrono::Duration::minutes(30), zone)),
        recurrence: Some(vec![format!("RRULE:FREQ=WEEKLY;COUNT={count}")]),
        attendees: Some(attendees.iter().map(|a| attendee(a)).collect()),
        extended_properties: Some(EventExtendedProperties {
            private: Some([("liaison".to_string(), "1".to_string())].into_iter().collect()),
            shared: None,
        }),
        ..Default::default()
    }
}

fn single(id: &str, start: DateTime<Utc>, minutes: i64) -> Event {
    Event {
        id: Some(id.to_string()),
        start: Some(EventDateTime {
            date_time: Some(start),
            ..Default::default()
        }),
        end: Some(EventDateTime {
            date_time: Some(start + chrono::Duration::minutes(minutes)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn free_busy(hub: &Hub, ids: &[&str], from: DateTime<Utc>, to: DateTime<Utc>) -> FreeBusyResponse {
    let req = FreeBusyRequest {
        time_min: Some(from),
        time_max: Some(to),
        items: Some(
            ids.iter()
                .map(|id| FreeBusyRequestItem {
                    id: Some(id.to_string()),
                })
                .collect(),
        ),
        ..Default::default()
    };
    hub.freebusy()
        .query(req)
        .add_scope(FREEBUSY)
        .doit()
        .await
        .expect("freeBusy answers")
        .1
}

/// The busy periods of `id`, as (start, end) pairs.
fn busy_of(r: &FreeBusyResponse, id: &str) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let cal = &r.calendars.as_ref().expect("calendars")[id];
    assert!(cal.errors.is_none(), "{id} has errors: {:?}", cal.errors);
    cal.busy
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.start.expect("start"), p.end.expect("end")))
        .collect()
}

fn errors_of(r: &FreeBusyResponse, id: &str) -> Vec<String> {
    let cal = &r.calendars.as_ref().expect("calendars")[id];
    cal.errors
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.reason)
        .collect()
}

/// A plain HTTP request with hyper-util: (status, Location header, body).
async fn http(method: &str, url: &str, form: Option<&[(&str, &str)]>) -> (u16, Option<String>, String) {
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::builder().method(method).uri(url);
    let body = match form {
        Some(pairs) => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Body::from(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", super::oauth::encode_component(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
        }
        None => Body::empty(),
    };
    let response = client
        .request(req.body(body).expect("request"))
        .await
        .expect("HTTP answer");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("ASCII").to_string());
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("body");
    (status, location, String::from_utf8_lossy(&bytes).into_owned())
}

/// A JSON API call in plain HTTP: (status, headers, JSON body or Null).
async fn api(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, axum::http::HeaderMap, Value) {
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = client
        .request(req.body(body).expect("request"))
        .await
        .expect("HTTP answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("body");
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn fake_google_wire_shapes() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    fake.add_event(
        "ana@example.com",
        json!({"start": {"date": "2027-03-10"}, "end": {"date": "2027-03-11"}}),
    );
    let token = fake.issue_access_token(&[FREEBUSY, EVENTS_OWNED]);
    let base = fake.calendar_api_base();

    // Busy time in the zone asked for; an all-day event spans the day in the calendar's zone.
    let query = json!({
        "timeMin": "2027-03-08T00:00:00Z",
        "timeMax": "2027-03-15T00:00:00Z",
        "timeZone": "America/New_York",
        "items": [{"id": "ana@example.com"}, {"id": "ghost@example.com"}]
    });
    let (status, _, body) = api("POST", &format!("{base}freeBusy"), Some(&token), Some(query)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "kind": "calendar#freeBusy",
            "timeMin": "2027-03-08T00:00:00.000Z",
            "timeMax": "2027-03-15T00:00:00.000Z",
            "calendars": {
                "ana@example.com": {"busy": [{"start": "2027-03-09T18:00:00-05:00", "end": "2027-03-10T18:00:00-05:00"}]},
                "ghost@example.com": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            }
        })
    );

    // Google's error shape.
    let event = json!({"id": "fake00001", "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T09:30:00Z"}});
    let url = format!("{base}calendars/primary/events?sendUpdates=none");
    assert_eq!(api("POST", &url, Some(&token), Some(event.clone())).await.0, 200);
    let (status, _, body) = api("POST", &url, Some(&token), Some(event)).await;
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"error": {
            "code": 409,
            "message": "The requested identifier already exists.",
            "errors": [{"domain": "global", "reason": "duplicate", "message": "The requested identifier already exists."}],
            "status": "ALREADY_EXISTS"
        }})
    );
    let (status, headers, body) = api("GET", &format!("{base}calendars/primary/events"), None, None).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (401, json!("required"))
    );
    assert!(headers.get("www-authenticate").is_some());

    // Unmodelled methods answer 404 (after the scope check); unknown paths too.
    let (status, _, body) = api(
        "POST",
        &format!("{base}calendars/primary/events/import"),
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!(404)));
    let (status, _, _) = api(
        "POST",
        &format!("{base}calendars/primary/events/fake00001/move"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let readonly = fake.issue_access_token(&["https://www.googleapis.com/auth/calendar.events.owned.readonly"]);
    let (status, _, _) = api(
        "POST",
        &format!("{base}calendars/primary/events/import"),
        Some(&readonly),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn fake_google_insert_get_and_list_with_private_property_and_paging() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    let start = utc(2027, 3, 8, 9, 0);
    for i in 0..5 {
        let mut ev = series(
            &format!("liaison0000{i}"),
            start,
            "Europe/Berlin",
            4,
            &["a@example.com", "b@example.com"],
        );
        if i == 2 {
            ev.extended_properties = None;
        }
        let (_, created) = hub
            .events()
            .insert(ev, "primary")
            .send_updates("all")
            .add_scope(EVENTS_OWNED)
            .doit()
            .await
            .expect("insert");
        assert_eq!(created.status.as_deref(), Some("confirmed"));
        assert!(created.etag.is_some() && created.updated.is_some() && created.html_link.is_some());
    }
    // A human's own event, without liaison's property.
    fake.add_event("primary", json!({"summary": "Dentist", "start": {"dateTime": "2027-03-09T10:00:00Z"}, "end": {"dateTime": "2027-03-09T11:00:00Z"}}));

    let (_, got) = hub
        .events()
        .get("primary", "liaison00001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("get");
    assert_eq!(
        got.start.as_ref().and_then(|s| s.time_zone.as_deref()),
        Some("Europe/Berlin")
    );
    assert_eq!(got.start.as_ref().and_then(|s| s.date_time), Some(start));
    assert_eq!(got.recurrence, Some(vec!["RRULE:FREQ=WEEKLY;COUNT=4".to_string()]));
    let responses: Vec<_> = got
        .attendees
        .unwrap()
        .into_iter()
        .map(|a| a.response_status.unwrap())
        .collect();
    assert_eq!(responses, ["needsAction", "needsAction"]);
    assert_eq!(
        got.organizer.and_then(|o| o.email).as_deref(),
        Some(super::DEFAULT_USER)
    );
    // Google writes the instant in the event's zone.
    let stored = fake
        .events("primary")
        .into_iter()
        .find(|e| e["id"] == "liaison00001")
        .unwrap();
    assert_eq!(stored["start"]["dateTime"], "2027-03-08T10:00:00+01:00");
    assert_eq!(stored["extendedProperties"]["private"]["liaison"], "1");

    let mut ids = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut call = hub
            .events()
            .list("primary")
            .add_private_extended_property("liaison=1")
            .max_results(2)
            .add_scope(EVENTS_OWNED);
        if let Some(t) = &page_token {
            call = call.page_token(t);
        }
        let (_, page) = call.doit().await.expect("list");
        pages += 1;
        ids.extend(page.items.unwrap_or_default().into_iter().filter_map(|e| e.id));
        page_token = page.next_page_token;
        if page_token.is_none() {
            assert!(page.next_sync_token.is_some(), "the last page carries a sync token");
            break;
        }
        assert!(page.next_sync_token.is_none());
    }
    assert_eq!(pages, 2);
    assert_eq!(ids, ["liaison00000", "liaison00001", "liaison00003", "liaison00004"]);

    // Two properties must both match.
    let (_, everything) = hub
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    assert_eq!(
        everything.items.unwrap_or_default().len(),
        6,
        "the human's event is on primary too"
    );

    let (_, none) = hub
        .events()
        .list("primary")
        .add_private_extended_property("liaison=1")
        .add_private_extended_property("liaison_term=2027-03-08")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    assert!(none.items.unwrap_or_default().is_empty());

    let inserts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.insert"))
        .collect();
    assert_eq!(inserts.len(), 5);
    assert!(
        inserts
            .iter()
            .all(|r| r.param("sendUpdates") == Some("all") && r.status == 200)
    );
    assert_eq!(
        (inserts[0].method.as_str(), inserts[0].path.as_str()),
        ("POST", "/calendar/v3/calendars/primary/events")
    );
    assert_eq!(inserts[0].json().expect("JSON body")["id"], "liaison00000");
}

#[tokio::test]
async fn fake_google_insert_refuses_duplicate_and_invalid_ids_and_zoneless_series() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    let ev = series(
        "abcdef0123",
        utc(2027, 3, 8, 9, 0),
        "Europe/Berlin",
        4,
        &["a@example.com"],
    );
    hub.events()
        .insert(ev.clone(), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("first insert");
    let err = hub
        .events()
        .insert(ev.clone(), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (409, "duplicate".into()));

    for bad in ["abcd", "ABCDEF0123", "abcdefwxyz", "abc_def012"] {
        let mut e = ev.clone();
        e.id = Some(bad.into());
        let err = hub
            .events()
            .insert(e, "primary")
            .add_scope(EVENTS_OWNED)
            .doit()
            .await
            .unwrap_err();
        assert_eq!(api_error(err), (400, "invalid".into()), "id {bad}");
    }

    let mut zoneless = ev.clone();
    zoneless.id = Some("abcdef0124".into());
    zoneless.start.as_mut().unwrap().time_zone = None;
    let err = hub
        .events()
        .insert(zoneless, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (400, "required".into()));

    let mut with_dtstart = ev.clone();
    with_dtstart.id = Some("abcdef0125".into());
    with_dtstart.recurrence = Some(vec![
        "DTSTART:20270308T090000Z".into(),
        "RRULE:FREQ=WEEKLY;COUNT=4".into(),
    ]);
    let err = hub
        .events()
        .insert(with_dtstart, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (400, "invalid".into()));

    let err = hub
        .events()
        .get("primary", "nosuchevent")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (404, "notFound".into()));
    assert_eq!(fake.events("primary").len(), 1);
}

#[tokio::test]
async fn fake_google_delete_cancels_and_the_id_stays_taken() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    let ev = series("cancelme00", utc(2027, 3, 8, 9, 0), "UTC", 4, &["a@example.com"]);
    hub.events()
        .insert(ev.clone(), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    let response = hub
        .events()
        .delete("primary", "cancelme00")
        .send_updates("all")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);

    let (_, got) = hub
        .events()
        .get("primary", "cancelme00")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("get");
    assert_eq!(got.status.as_deref(), Some("cancelled"));
    let err = hub
        .events()
        .delete("primary", "cancelme00")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (410, "deleted".into()));
    let err = hub
        .events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(
        api_error(err),
        (409, "duplicate".into()),
        "a cancelled event keeps its id"
    );

    let (_, live) = hub
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    assert!(live.items.unwrap_or_default().is_empty());
    let (_, all) = hub
        .events()
        .list("primary")
        .show_deleted(true)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    assert_eq!(all.items.unwrap_or_default().len(), 1);
    let err = hub
        .events()
        .delete("primary", "nosuchevent")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (404, "notFound".into()));
}

#[tokio::test]
async fn fake_google_free_busy_expands_a_series_in_its_zone_across_dst() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    // Weekly at 10:00 Berlin from Monday 2027-03-22; Europe moves to summer
    // time on 2027-03-28, so 09:00Z becomes 08:00Z.
    fake.add_event(
        "ana@example.com",
        json!({
            "summary": "Team meeting",
            "start": {"dateTime": "2027-03-22T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2027-03-22T11:00:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]
        }),
    );
    // Not busy: transparent, cancelled.
    fake.add_event("ana@example.com", json!({"transparency": "transparent", "start": {"dateTime": "2027-03-23T10:00:00Z"}, "end": {"dateTime": "2027-03-23T11:00:00Z"}}));
    fake.add_event("ana@example.com", json!({"status": "cancelled", "start": {"dateTime": "2027-03-24T10:00:00Z"}, "end": {"dateTime": "2027-03-24T11:00:00Z"}}));
    let hub = liaison_hub(&fake).await;
    let r = free_busy(
        &hub,
        &["ana@example.com"],
        utc(2027, 3, 15, 0, 0),
        utc(2027, 4, 30, 0, 0),
    )
    .await;
    assert_eq!(
        busy_of(&r, "ana@example.com"),
        [
            (utc(2027, 3, 22, 9, 0), utc(2027, 3, 22, 10, 0)),
            (utc(2027, 3, 29, 8, 0), utc(2027, 3, 29, 9, 0)),
            (utc(2027, 4, 5, 8, 0), utc(2027, 4, 5, 9, 0)),
        ]
    );
    // Busy time is clipped to the range asked for.
    let r = free_busy(
        &hub,
        &["ana@example.com"],
        utc(2027, 3, 29, 8, 30),
        utc(2027, 4, 1, 0, 0),
    )
    .await;
    assert_eq!(
        busy_of(&r, "ana@example.com"),
        [(utc(2027, 3, 29, 8, 30), utc(2027, 3, 29, 9, 0))]
    );
}

#[tokio::test]
async fn fake_google_free_busy_reports_unknown_calendars_and_limits() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    fake.add_event(
        "ana@example.com",
        json!({"start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T10:00:00Z"}}),
    );
    let hub = liaison_hub(&fake).await;
    let (from, to) = (utc(2027, 3, 8, 0, 0), utc(2027, 3, 15, 0, 0));
    let r = free_busy(&hub, &["ana@example.com", "ghost@example.com"], from, to).await;
    assert_eq!(
        busy_of(&r, "ana@example.com"),
        [(utc(2027, 3, 8, 9, 0), utc(2027, 3, 8, 10, 0))]
    );
    assert_eq!(errors_of(&r, "ghost@example.com"), ["notFound"]);

    // Over 50 calendars: every calendar gets Google's per-calendar error.
    let many: Vec<String> = (0..51).map(|i| format!("p{i}@example.com")).collect();
    let ids: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = free_busy(&hub, &ids, from, to).await;
    assert_eq!(errors_of(&r, "p0@example.com"), ["tooManyCalendarsRequested"]);

    // Over 90 days: 400 timeRangeTooLong; an empty range: timeRangeEmpty.
    for ((a, b), reason) in [
        ((from, from + chrono::Duration::days(91)), "timeRangeTooLong"),
        ((to, from), "timeRangeEmpty"),
    ] {
        let req = FreeBusyRequest {
            time_min: Some(a),
            time_max: Some(b),
            items: Some(vec![FreeBusyRequestItem {
                id: Some("ana@example.com".into()),
            }]),
            ..Default::default()
        };
        let err = hub.freebusy().query(req).add_scope(FREEBUSY).doit().await.unwrap_err();
        assert_eq!(api_error(err), (400, reason.into()));
    }
    let r = free_busy(&hub, &["ana@example.com"], from, from + chrono::Duration::days(90)).await;
    assert_eq!(busy_of(&r, "ana@example.com").len(), 1, "90 days are allowed");
}

#[tokio::test]
async fn fake_google_raw_series_with_exdate_and_exceptions() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    // Mondays 10:00 Berlin from 2027-03-01, without 03-15, the 03-08 one moved to 14:00.
    let series_id = fake.add_event(
        "ana@example.com",
        json!({
            "start": {"dateTime": "2027-03-01T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2027-03-01T11:00:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/Berlin:20270315T100000"]
        }),
    );
    let moved = fake.add_event(
        "ana@example.com",
        json!({
            "recurringEventId": series_id,
            "originalStartTime": {"dateTime": "2027-03-08T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "start": {"dateTime": "2027-03-08T14:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2027-03-08T15:00:00+01:00", "timeZone": "Europe/Berlin"}
        }),
    );
    assert_eq!(moved, format!("{series_id}_20270308T090000Z"));
    // A boss's daily stand-up that ana is invited to; she declines one day.
    let standup = fake.add_event(
        "boss@example.com",
        json!({
            "start": {"dateTime": "2027-03-01T08:00:00Z", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-01T08:15:00Z", "timeZone": "UTC"},
            "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20270303T235959Z"],
            "attendees": [{"email": "boss@example.com"}, {"email": "Ana@Example.com"}]
        }),
    );
    fake.set_response_status(&standup, "ana@example.com", "declined", Some("2027-03-02T08:00:00Z"));
    let hub = liaison_hub(&fake).await;
    let r = free_busy(&hub, &["ana@example.com"], utc(2027, 3, 1, 0, 0), utc(2027, 4, 1, 0, 0)).await;
    assert_eq!(
        busy_of(&r, "ana@example.com"),
        [
            (utc(2027, 3, 1, 8, 0), utc(2027, 3, 1, 8, 15)),
            (utc(2027, 3, 1, 9, 0), utc(2027, 3, 1, 10, 0)),
            (utc(2027, 3, 3, 8, 0), utc(2027, 3, 3, 8, 15)),
            (utc(2027, 3, 8, 13, 0), utc(2027, 3, 8, 14, 0)),
            (utc(2027, 3, 22, 9, 0), utc(2027, 3, 22, 10, 0)),
        ]
    );
    assert_eq!(
        fake.events("boss@example.com").len(),
        2,
        "the declined day is an exception"
    );
    assert!(
        fake.events("ana@example.com")
            .iter()
            .all(|e| e["status"] == "confirmed")
    );
}

#[tokio::test]
async fn fake_google_attendees_are_busy_with_organizer_events_until_they_decline() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "America/New_York");
    fake.add_calendar("bo@example.com", "Europe/London");
    let hub = liaison_hub(&fake).await;
    // Weekly at 09:00 New York from 2027-03-08; the US moves to summer time on 2027-03-14.
    let ev = series(
        "pair000001",
        utc(2027, 3, 8, 14, 0),
        "America/New_York",
        3,
        &["ana@example.com", "bo@example.com"],
    );
    hub.events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    let (from, to) = (utc(2027, 3, 1, 0, 0), utc(2027, 4, 1, 0, 0));
    let weeks = [
        (utc(2027, 3, 8, 14, 0), utc(2027, 3, 8, 14, 30)),
        (utc(2027, 3, 15, 13, 0), utc(2027, 3, 15, 13, 30)),
        (utc(2027, 3, 22, 13, 0), utc(2027, 3, 22, 13, 30)),
    ];
    let r = free_busy(&hub, &["ana@example.com", "bo@example.com", "primary"], from, to).await;
    assert_eq!(busy_of(&r, "ana@example.com"), weeks);
    assert_eq!(busy_of(&r, "bo@example.com"), weeks);
    assert_eq!(busy_of(&r, "primary"), weeks);

    fake.set_response_status("pair000001", "bo@example.com", "declined", None);
    fake.set_response_status(
        "pair000001",
        "ana@example.com",
        "declined",
        Some("pair000001_20270315T130000Z"),
    );
    let r = free_busy(&hub, &["ana@example.com", "bo@example.com"], from, to).await;
    assert_eq!(busy_of(&r, "ana@example.com"), [weeks[0], weeks[2]]);
    assert_eq!(busy_of(&r, "bo@example.com"), []);

    // The declined instance is an exception of the series, as on Google.
    let (_, instances) = hub
        .events()
        .instances("primary", "pair000001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("instances");
    let items = instances.items.unwrap_or_default();
    let declined: Vec<_> = items
        .iter()
        .map(|i| {
            i.attendees
                .as_ref()
                .unwrap()
                .iter()
                .find(|a| a.email.as_deref() == Some("ana@example.com"))
                .and_then(|a| a.response_status.clone())
                .unwrap()
        })
        .collect();
    assert_eq!(declined, ["needsAction", "declined", "needsAction"]);
}

#[tokio::test]
async fn fake_google_instances_and_instance_overrides() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    let hub = liaison_hub(&fake).await;
    let ev = series(
        "moveme0001",
        utc(2027, 3, 8, 9, 0),
        "Europe/Berlin",
        4,
        &["ana@example.com"],
    );
    hub.events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    let (_, instances) = hub
        .events()
        .instances("primary", "moveme0001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("instances");
    let ids: Vec<_> = instances
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.id)
        .collect();
    assert_eq!(
        ids,
        [
            "moveme0001_20270308T090000Z",
            "moveme0001_20270315T090000Z",
            "moveme0001_20270322T090000Z",
            "moveme0001_20270329T080000Z"
        ]
    );

    // Move the second week by two hours, cancel the third.
    let moved = Event {
        start: Some(at(utc(2027, 3, 15, 11, 0), "Europe/Berlin")),
        end: Some(at(utc(2027, 3, 15, 11, 30), "Europe/Berlin")),
        ..Default::default()
    };
    let (_, patched) = hub
        .events()
        .patch(moved, "primary", "moveme0001_20270315T090000Z")
        .send_updates("all")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("patch instance");
    assert_eq!(patched.recurring_event_id.as_deref(), Some("moveme0001"));
    assert_eq!(
        patched.original_start_time.and_then(|o| o.date_time),
        Some(utc(2027, 3, 15, 9, 0))
    );
    hub.events()
        .delete("primary", "moveme0001_20270322T090000Z")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("delete instance");

    let (_, instances) = hub
        .events()
        .instances("primary", "moveme0001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("instances");
    let starts: Vec<_> = instances
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.start.and_then(|s| s.date_time).unwrap())
        .collect();
    assert_eq!(
        starts,
        [utc(2027, 3, 8, 9, 0), utc(2027, 3, 15, 11, 0), utc(2027, 3, 29, 8, 0)]
    );
    let (_, got) = hub
        .events()
        .get("primary", "moveme0001_20270322T090000Z")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("get");
    assert_eq!(got.status.as_deref(), Some("cancelled"));

    let r = free_busy(&hub, &["ana@example.com"], utc(2027, 3, 1, 0, 0), utc(2027, 4, 1, 0, 0)).await;
    let starts: Vec<_> = busy_of(&r, "ana@example.com").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        starts,
        [utc(2027, 3, 8, 9, 0), utc(2027, 3, 15, 11, 0), utc(2027, 3, 29, 8, 0)]
    );

    // Patching the series merges fields and keeps responses.
    fake.set_response_status("moveme0001", "ana@example.com", "accepted", None);
    let change = Event {
        summary: Some("Renamed".into()),
        ..Default::default()
    };
    let (_, series) = hub
        .events()
        .patch(change, "primary", "moveme0001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("patch");
    assert_eq!(series.summary.as_deref(), Some("Renamed"));
    assert_eq!(series.recurrence.map(|r| r.len()), Some(1));
    assert_eq!(
        series.attendees.unwrap()[0].response_status.as_deref(),
        Some("accepted")
    );
}

#[tokio::test]
async fn fake_google_sync_tokens_and_single_events() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    hub.events()
        .insert(
            series("feed000001", utc(2027, 3, 8, 9, 0), "UTC", 2, &["a@example.com"]),
            "primary",
        )
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    let (_, first) = hub
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    let token = first.next_sync_token.expect("sync token");
    hub.events()
        .insert(single("feed000002", utc(2027, 3, 9, 9, 0), 30), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    hub.events()
        .delete("primary", "feed000001")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("delete");
    let (_, changes) = hub
        .events()
        .list("primary")
        .sync_token(&token)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("sync");
    let mut changed: Vec<_> = changes
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.id.unwrap(), e.status.unwrap()))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [
            ("feed000001".into(), "cancelled".into()),
            ("feed000002".into(), "confirmed".into())
        ]
    );

    let (_, expanded) = hub
        .events()
        .list("primary")
        .single_events(true)
        .show_deleted(true)
        .order_by("startTime")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("singleEvents");
    let ids: Vec<_> = expanded
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        [
            "feed000001_20270308T090000Z",
            "feed000002",
            "feed000001_20270315T090000Z"
        ]
    );

    fake.invalidate_sync_tokens();
    let token = changes.next_sync_token.expect("sync token");
    let err = hub
        .events()
        .list("primary")
        .sync_token(&token)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (410, "fullSyncRequired".into()));
}

#[tokio::test]
async fn fake_google_a_recurrence_patched_to_until_ends_the_series_everywhere() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    let hub = liaison_hub(&fake).await;
    // Four Mondays 10:00 Berlin, across the EU DST change of 2027-03-28.
    let ev = series(
        "endsoon001",
        utc(2027, 3, 8, 9, 0),
        "Europe/Berlin",
        4,
        &["ana@example.com"],
    );
    hub.events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    // Ana moves the fourth week; that exception outlives the shortened rule.
    let moved = Event {
        start: Some(at(utc(2027, 3, 30, 8, 0), "Europe/Berlin")),
        end: Some(at(utc(2027, 3, 30, 8, 30), "Europe/Berlin")),
        ..Default::default()
    };
    hub.events()
        .patch(moved, "primary", "endsoon001_20270329T080000Z")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("move the fourth week");
    let (_, listed) = hub
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    let token = listed.next_sync_token.expect("sync token");

    // End it after the second occurrence, as liaison does.
    let end = Event {
        recurrence: Some(vec!["RRULE:FREQ=WEEKLY;UNTIL=20270315T090000Z".into()]),
        ..Default::default()
    };
    let (_, patched) = hub
        .events()
        .patch(end, "primary", "endsoon001")
        .send_updates("all")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("patch the recurrence");
    assert_eq!(
        patched.recurrence.as_deref(),
        Some(&["RRULE:FREQ=WEEKLY;UNTIL=20270315T090000Z".to_string()][..]),
        "the rule is replaced, not merged"
    );
    assert_eq!(patched.summary.as_deref(), Some("Connection"), "the rest is kept");
    assert_eq!(patched.sequence, Some(1), "a recurrence change raises the sequence");

    let (_, instances) = hub
        .events()
        .instances("primary", "endsoon001")
        .show_deleted(true)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("instances");
    let ids: Vec<_> = instances
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.id)
        .collect();
    assert_eq!(ids, ["endsoon001_20270308T090000Z", "endsoon001_20270315T090000Z"]);

    let r = free_busy(&hub, &["ana@example.com"], utc(2027, 3, 1, 0, 0), utc(2027, 4, 5, 0, 0)).await;
    assert_eq!(
        busy_of(&r, "ana@example.com"),
        [
            (utc(2027, 3, 8, 9, 0), utc(2027, 3, 8, 9, 30)),
            (utc(2027, 3, 15, 9, 0), utc(2027, 3, 15, 9, 30)),
        ],
        "neither the weeks after UNTIL nor the moved fourth week are busy"
    );

    let (_, changes) = hub
        .events()
        .list("primary")
        .sync_token(&token)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("sync");
    let changed: Vec<_> = changes
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.id.unwrap_or_default(), e.recurrence.unwrap_or_default()))
        .collect();
    assert_eq!(
        changed,
        [(
            "endsoon001".to_string(),
            vec!["RRULE:FREQ=WEEKLY;UNTIL=20270315T090000Z".to_string()]
        )],
        "an incremental list reports the changed series"
    );
}

#[tokio::test]
async fn fake_google_fail_method_fails_one_method_only_with_googles_body() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    fake.fail_method("events.insert", 2, 403, "dailyLimitExceeded");
    fake.fail_method("calendar.events.insert", 1, 403, "quotaExceeded");
    // Other methods pass, and do not use up the insert's failures.
    for _ in 0..2 {
        hub.events()
            .list("primary")
            .add_scope(EVENTS_OWNED)
            .doit()
            .await
            .expect("list is not failed");
    }
    let mut bodies = Vec::new();
    for i in 0..3 {
        let ev = single(&format!("quota{i:05}"), utc(2027, 3, 8, 9, 0), 30);
        match hub.events().insert(ev, "primary").add_scope(EVENTS_OWNED).doit().await {
            Err(google_calendar3::Error::BadRequest(body)) => bodies.push(body),
            other => panic!("expected Google's error body, got {other:?}"),
        }
    }
    let daily = json!({"error": {"code": 403, "message": "Daily Limit Exceeded", "status": "PERMISSION_DENIED",
        "errors": [{"domain": "usageLimits", "reason": "dailyLimitExceeded", "message": "Daily Limit Exceeded"}]}});
    let quota = json!({"error": {"code": 403, "message": "Calendar usage limits exceeded.", "status": "PERMISSION_DENIED",
        "errors": [{"domain": "usageLimits", "reason": "quotaExceeded", "message": "Calendar usage limits exceeded."}]}});
    assert_eq!(bodies, [daily.clone(), daily, quota]);
    hub.events()
        .insert(single("quota00003", utc(2027, 3, 8, 9, 0), 30), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("the failures are used up");
    let log: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| (r.api_method.unwrap_or_default(), r.status, r.injected))
        .collect();
    let insert = |status, injected| ("calendar.events.insert".to_string(), status, injected);
    let list = ("calendar.events.list".to_string(), 200, false);
    assert_eq!(
        log,
        [
            list.clone(),
            list,
            insert(403, true),
            insert(403, true),
            insert(403, true),
            insert(200, false)
        ]
    );
}

#[test]
#[should_panic(expected = "not a Calendar method the fake knows")]
fn fake_google_fail_method_refuses_an_unknown_method() {
    FakeGoogle::start().fail_method("events.insret", 1, 500, "backendError");
}

#[tokio::test]
async fn fake_google_conference_create_request_gets_a_meet_link() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    let mut ev = series("meetlink01", utc(2027, 3, 8, 9, 0), "UTC", 2, &["a@example.com"]);
    ev.conference_data = Some(google_calendar3::api::ConferenceData {
        create_request: Some(google_calendar3::api::CreateConferenceRequest {
            request_id: Some("meetlink01-conference".into()),
            conference_solution_key: Some(google_calendar3::api::ConferenceSolutionKey {
                type_: Some("hangoutsMeet".into()),
            }),
            status: None,
        }),
        ..Default::default()
    });
    let (_, created) = hub
        .events()
        .insert(ev.clone(), "primary")
        .conference_data_version(1)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    let link = created.hangout_link.expect("a Meet link");
    assert!(link.starts_with("https://meet.google.com/"), "{link}");
    let status = created
        .conference_data
        .and_then(|c| c.create_request)
        .and_then(|r| r.status)
        .and_then(|s| s.status_code);
    assert_eq!(status.as_deref(), Some("success"));

    // Without conferenceDataVersion=1 Google ignores the request.
    ev.id = Some("meetlink02".into());
    let (_, plain) = hub
        .events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");
    assert!(plain.hangout_link.is_none() && plain.conference_data.is_none());
    let insert = fake
        .requests()
        .into_iter()
        .find(|r| r.api_method.as_deref() == Some("calendar.events.insert"))
        .unwrap();
    assert_eq!(insert.param("conferenceDataVersion"), Some("1"));
}

#[tokio::test]
async fn fake_google_calendar_ids_are_unescaped_from_the_path() {
    let fake = FakeGoogle::start();
    let holidays = "en.usa#holiday@group.v.calendar.google.com";
    fake.add_calendar(holidays, "UTC");
    fake.add_event(
        holidays,
        json!({"start": {"date": "2027-07-05"}, "end": {"date": "2027-07-06"}}),
    );
    let hub = liaison_hub(&fake).await;
    // Escaped as liaison must: `#` as %23, `@` as %40.
    let (_, page) = hub
        .events()
        .list("en.usa%23holiday%40group.v.calendar.google.com")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("list");
    assert_eq!(page.items.unwrap_or_default().len(), 1);
    let r = free_busy(&hub, &[holidays], utc(2027, 7, 1, 0, 0), utc(2027, 7, 10, 0, 0)).await;
    assert_eq!(busy_of(&r, holidays), [(utc(2027, 7, 5, 0, 0), utc(2027, 7, 6, 0, 0))]);
    // Unescaped, `#` starts the URL's fragment: Google sees another calendar.
    let err = hub
        .events()
        .list(holidays)
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 404);
}

#[tokio::test]
async fn fake_google_refuses_missing_and_unknown_tokens_with_401() {
    let fake = FakeGoogle::start();
    let no_token = hub_with(&fake, common::NoToken);
    let err = no_token
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (401, "required".into()));
    let forged = hub_with(&fake, "ya29.not-issued-by-the-fake".to_string());
    let err = forged
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (401, "authError".into()));

    // An expired token is refused the same way.
    let expired = hub(&fake, &[EVENTS_OWNED]).await;
    fake.expire_access_tokens();
    let err = expired
        .events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (401, "authError".into()));
    assert!(fake.requests().iter().all(|r| r.status == 401 && r.scopes.is_empty()));
}

#[tokio::test]
async fn fake_google_refuses_calls_outside_the_token_scopes_with_403() {
    let fake = FakeGoogle::start();
    let freebusy_only = hub(&fake, &[FREEBUSY]).await;
    let ev = single("scoped0001", utc(2027, 3, 8, 9, 0), 30);
    let err = freebusy_only
        .events()
        .insert(ev.clone(), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (403, "insufficientPermissions".into()));
    free_busy(
        &freebusy_only,
        &["primary"],
        utc(2027, 3, 8, 0, 0),
        utc(2027, 3, 9, 0, 0),
    )
    .await;

    let events_only = hub(&fake, &[EVENTS_OWNED]).await;
    let req = FreeBusyRequest {
        time_min: Some(utc(2027, 3, 8, 0, 0)),
        time_max: Some(utc(2027, 3, 9, 0, 0)),
        items: Some(vec![FreeBusyRequestItem {
            id: Some("primary".into()),
        }]),
        ..Default::default()
    };
    let err = events_only
        .freebusy()
        .query(req)
        .add_scope(FREEBUSY)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(
        api_error(err),
        (403, "insufficientPermissions".into()),
        "events.owned does not cover freeBusy"
    );
    events_only
        .events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert");

    let log: Vec<_> = fake
        .requests()
        .into_iter()
        .map(|r| (r.api_method.unwrap(), r.status, r.scopes))
        .collect();
    assert_eq!(
        log,
        [
            ("calendar.events.insert".to_string(), 403, vec![FREEBUSY.to_string()]),
            ("calendar.freebusy.query".to_string(), 200, vec![FREEBUSY.to_string()]),
            (
                "calendar.freebusy.query".to_string(),
                403,
                vec![EVENTS_OWNED.to_string()]
            ),
            (
                "calendar.events.insert".to_string(),
                200,
                vec![EVENTS_OWNED.to_string()]
            ),
        ]
    );
}

#[tokio::test]
async fn fake_google_injected_failures_reach_the_client() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    fake.fail_next(1, 429, "rateLimitExceeded");
    fake.fail_next(1, 403, "userRateLimitExceeded");
    fake.fail_next(1, 500, "backendError");
    for expected in [
        (429, "rateLimitExceeded"),
        (403, "userRateLimitExceeded"),
        (500, "backendError"),
    ] {
        let err = hub
            .events()
            .list("primary")
            .add_scope(EVENTS_OWNED)
            .doit()
            .await
            .unwrap_err();
        assert_eq!(api_error(err), (expected.0, expected.1.to_string()));
    }
    hub.events()
        .list("primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("failures are over");
    assert_eq!(fake.requests().iter().filter(|r| r.injected).count(), 3);
    fake.clear_requests();
    assert!(fake.requests().is_empty());

    // A rate: deterministic from the seed, the statuses asked for.
    let pattern = |fake: &FakeGoogle| {
        fake.requests()
            .into_iter()
            .filter(|r| r.injected)
            .map(|r| (r.status, r.path.clone()))
            .collect::<Vec<_>>()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let fake = FakeGoogle::start();
        fake.set_failure_rate(0.3, 42, &[429, 503]);
        fake.set_retry_after(Some(1));
        let hub = liaison_hub(&fake).await;
        let mut failed = 0;
        for i in 0..40 {
            let ev = single(&format!("rate{i:06}"), utc(2027, 3, 8, 9, 0), 30);
            if let Err(e) = hub.events().insert(ev, "primary").add_scope(EVENTS_OWNED).doit().await {
                let (code, _) = api_error(e);
                assert!(code == 429 || code == 503);
                failed += 1;
            }
        }
        assert!((5..=20).contains(&failed), "{failed} of 40 failed at a rate of 0.3");
        assert_eq!(
            fake.events("primary").len(),
            40 - failed,
            "a failed write writes nothing"
        );
        runs.push(pattern(&fake));
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn fake_google_drop_after_write_stores_the_event_and_cuts_the_answer() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    let ev = series("dropped001", utc(2027, 3, 8, 9, 0), "UTC", 4, &["a@example.com"]);
    fake.drop_after_write_next(1);
    let err = hub
        .events()
        .insert(ev.clone(), "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert!(
        matches!(err, google_calendar3::Error::HttpError(_)),
        "a connection error, got {err:?}"
    );
    assert_eq!(fake.events("primary").len(), 1, "the write happened");
    // The retry learns that the event exists.
    let err = hub
        .events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (409, "duplicate".into()));
    let inserts: Vec<_> = fake.requests().into_iter().map(|r| (r.status, r.dropped)).collect();
    assert_eq!(inserts, [(200, true), (409, false)]);
}

#[tokio::test]
async fn fake_google_a_held_write_lands_after_its_client_gave_up() {
    let fake = FakeGoogle::start();
    let hub = liaison_hub(&fake).await;
    fake.hold_next("events.insert", 1);
    let ev = single("late000001", utc(2027, 3, 8, 9, 0), 30);
    let call = tokio::spawn(async move { hub.events().insert(ev, "primary").add_scope(EVENTS_OWNED).doit().await });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fake.held() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the insert never reached the gate"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(fake.events("primary").is_empty(), "held, not yet written");
    // The client gives up (its task, connection and all, is dropped).
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    fake.release_held();
    assert_eq!(
        fake.events("primary").len(),
        1,
        "the write happened after the client gave up: {:?}",
        fake.requests()
    );
}

/// Plays the user's browser: opens the consent URL, follows Google's redirect
/// to the loopback listener of yup-oauth2.
struct Browser;

impl InstalledFlowDelegate for Browser {
    fn present_user_url<'a>(
        &'a self,
        url: &'a str,
        _need_code: bool,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        let url = url.to_string();
        Box::pin(async move {
            tokio::spawn(async move {
                let (status, location, _) = http("GET", &url, None).await;
                assert_eq!(status, 302, "consent redirects");
                let (status, _, _) = http("GET", &location.expect("Location"), None).await;
                assert_eq!(status, 200, "the loopback listener took the code");
            });
            Ok(String::new())
        })
    }
}

#[tokio::test]
async fn fake_google_oauth_code_refresh_and_revocation() {
    let fake = FakeGoogle::start();
    fake.set_user("lead@example.com");
    let secret = yup_oauth2::parse_application_secret(fake.client_secret_json()).expect("client JSON");
    // Tokens living under a minute are refreshed by yup-oauth2 on every use.
    fake.set_token_lifetime(Duration::from_secs(30));
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let auth = yup_oauth2::InstalledFlowAuthenticator::with_client(
        secret,
        yup_oauth2::InstalledFlowReturnMethod::HTTPRedirect,
        yup_oauth2::CustomHyperClientBuilder::from(client),
    )
    .flow_delegate(Box::new(Browser))
    .build()
    .await
    .expect("installed-flow authenticator");
    let scopes = [FREEBUSY, EVENTS_OWNED];
    // The browser task's assertions would otherwise leave the flow waiting forever.
    let first = tokio::time::timeout(Duration::from_secs(20), auth.token(&scopes))
        .await
        .expect("the consent flow finishes")
        .expect("consent and code exchange");
    let second = auth.token(&scopes).await.expect("refresh");
    assert_ne!(first.token(), second.token());

    let hub = hub_with(&fake, auth.clone());
    let ev = single("consented", utc(2027, 3, 8, 9, 0), 30);
    hub.events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("the token works");
    assert_eq!(
        fake.events("lead@example.com").len(),
        1,
        "primary is the consenting user's calendar"
    );

    let log = fake.requests();
    let consent = log
        .iter()
        .find(|r| r.path == "/o/oauth2/auth")
        .expect("consent request");
    assert_eq!(consent.scopes, scopes);
    assert_eq!(consent.status, 302);
    let grants: Vec<_> = log
        .iter()
        .filter(|r| r.path == "/token")
        .map(|r| {
            r.body
                .split('&')
                .find_map(|kv| kv.strip_prefix("grant_type="))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(grants[..2], ["authorization_code", "refresh_token"]);
    assert!(
        log.iter()
            .filter(|r| r.path == "/token")
            .all(|r| r.status == 200 && r.scopes == scopes)
    );

    // The refresh token, as yup-oauth2 sent it.
    let refresh_request = log
        .iter()
        .find(|r| r.path == "/token" && r.body.contains("grant_type=refresh_token"))
        .unwrap();
    let uri: axum::http::Uri = format!("/?{}", refresh_request.body)
        .parse()
        .expect("a form body is a valid query");
    let sent: Vec<(String, String)> = axum::extract::Query::try_from_uri(&uri).expect("form").0;
    let refresh_token = sent
        .into_iter()
        .find(|(k, _)| k == "refresh_token")
        .expect("refresh_token")
        .1;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", super::CLIENT_ID),
        ("client_secret", super::CLIENT_SECRET),
        ("refresh_token", refresh_token.as_str()),
    ];
    let (status, _, body) = http("POST", &fake.token_uri(), Some(&form[..])).await;
    assert_eq!(status, 200, "{body}");
    fake.revoke_refresh_tokens();
    let (status, _, body) = http("POST", &fake.token_uri(), Some(&form[..])).await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
    let wrong_secret = [form[0], form[1], ("client_secret", "nope"), form[3]];
    assert_eq!(http("POST", &fake.token_uri(), Some(&wrong_secret[..])).await.0, 401);

    // The consent page refuses a redirect that is not loopback and unknown scopes.
    let url = format!(
        "{}?client_id={}&redirect_uri=https://evil.example&response_type=code&scope={FREEBUSY}",
        fake.auth_uri(),
        super::CLIENT_ID
    );
    assert_eq!(http("GET", &url, None).await.0, 400);
    let url = format!(
        "{}?client_id={}&redirect_uri=http://localhost:1&response_type=code&scope=https://www.googleapis.com/auth/drive",
        fake.auth_uri(),
        super::CLIENT_ID
    );
    assert_eq!(http("GET", &url, None).await.0, 400);
    assert!(fake.secrets().contains(&refresh_token));
}

/// The code of a consent asked with `query_tail` (PKCE parameters, state)
/// for redirect URI `http://127.0.0.1:1`: (status, Location).
async fn consent(fake: &FakeGoogle, query_tail: &str) -> (u16, Option<String>) {
    let url = format!(
        "{}?client_id={}&redirect_uri=http://127.0.0.1:1&response_type=code&scope={FREEBUSY}{query_tail}",
        fake.auth_uri(),
        super::CLIENT_ID
    );
    let (status, location, _) = http("GET", &url, None).await;
    (status, location)
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let uri: axum::http::Uri = location.parse().expect("a URI");
    let pairs: Vec<(String, String)> = axum::extract::Query::try_from_uri(&uri).expect("a query").0;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[tokio::test]
async fn fake_google_pkce_binds_the_code_to_the_verifier_of_its_challenge() {
    let fake = FakeGoogle::start();
    // RFC 7636, Appendix B.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let (status, location) = consent(
        &fake,
        &format!("&state=st4te&code_challenge={challenge}&code_challenge_method=S256"),
    )
    .await;
    assert_eq!(status, 302);
    let location = location.expect("a redirect");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st4te"));
    let code = query_param(&location, "code").expect("a code");
    let redeem = |verifier: Option<&'static str>| {
        let code = code.clone();
        let token_uri = fake.token_uri();
        async move {
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("client_id", super::CLIENT_ID),
                ("client_secret", super::CLIENT_SECRET),
                ("redirect_uri", "http://127.0.0.1:1"),
                ("code", code.as_str()),
            ];
            if let Some(v) = verifier {
                form.push(("code_verifier", v));
            }
            let (status, _, body) = http("POST", &token_uri, Some(&form[..])).await;
            (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
        }
    };
    let wrong = redeem(Some("wrong-verifier-wrong-verifier-wrong-verifier-0")).await;
    assert_eq!(
        wrong,
        (
            400,
            json!({"error": "invalid_grant", "error_description": "Invalid code verifier."})
        )
    );
    let missing = redeem(None).await;
    assert_eq!(
        missing,
        (
            400,
            json!({"error": "invalid_grant", "error_description": "Missing code verifier."})
        )
    );
    // The challenge itself is not the verifier.
    assert_eq!(redeem(Some(challenge)).await.0, 400);
    let right = redeem(Some(verifier)).await;
    assert_eq!(right.0, 200, "{}", right.1);
    assert!(right.1["refresh_token"].is_string());
    assert_eq!(redeem(Some(verifier)).await.0, 400, "a code is redeemed once");

    // `plain` (the default method): the verifier is the challenge.
    let (_, location) = consent(&fake, &format!("&code_challenge={verifier}")).await;
    let code = query_param(&location.unwrap(), "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", super::CLIENT_ID),
        ("client_secret", super::CLIENT_SECRET),
        ("redirect_uri", "http://127.0.0.1:1"),
        ("code", code.as_str()),
        ("code_verifier", verifier),
    ];
    assert_eq!(http("POST", &fake.token_uri(), Some(&form[..])).await.0, 200);

    // Malformed challenges are refused at the consent page.
    for tail in [
        "&code_challenge=short&code_challenge_method=S256".to_string(),
        format!("&code_challenge={challenge}&code_challenge_method=S512"),
        "&code_challenge_method=S256".to_string(),
    ] {
        assert_eq!(consent(&fake, &tail).await.0, 400, "{tail}");
    }

    // A refused consent: Google's redirect carries the error and the state.
    fake.deny_consent(true);
    let (status, location) = consent(&fake, "&state=st4te").await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st4te"));
    assert_eq!(query_param(&location, "code"), None);
}

#[tokio::test]
async fn fake_google_service_account_jwt_grant_acts_for_the_subject() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    let key = yup_oauth2::parse_service_account_key(fake.service_account_key_json()).expect("key JSON");
    let client = Client::builder(TokioExecutor::new()).build(connector());
    let auth =
        yup_oauth2::ServiceAccountAuthenticator::with_client(key, yup_oauth2::CustomHyperClientBuilder::from(client))
            .subject("ana@example.com")
            .build()
            .await
            .expect("service-account authenticator");
    let hub = hub_with(&fake, auth);
    let ev = single("delegated1", utc(2027, 3, 8, 9, 0), 30);
    hub.events()
        .insert(ev, "primary")
        .add_scope(EVENTS_OWNED)
        .doit()
        .await
        .expect("insert as ana");
    assert_eq!(
        fake.events("ana@example.com").len(),
        1,
        "primary is the subject's calendar"
    );
    let log = fake.requests();
    let token = log.iter().find(|r| r.path == "/token").unwrap();
    assert_eq!(token.scopes, [EVENTS_OWNED]);
    let insert = log.iter().find(|r| r.api_method.is_some()).unwrap();
    assert_eq!(insert.user.as_deref(), Some("ana@example.com"));

    // A tampered assertion fails the signature check.
    let assertion = token
        .body
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .unwrap()
        .to_string();
    let (head, rest) = assertion.split_once('.').unwrap();
    let (claims, signature) = rest.split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(claims.trim_end_matches('=').as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], SERVICE_ACCOUNT_EMAIL);
    claims["sub"] = json!("someone-else@example.com");
    let forged_claims = data_encoding::BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    let forged = format!("{head}.{forged_claims}.{signature}");
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", forged.as_str()),
    ];
    let (status, _, body) = http("POST", &fake.token_uri(), Some(&form[..])).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()["error"].clone()),
        (400, json!("invalid_grant"))
    );
}

#[tokio::test]
async fn fake_google_sync_tokens_belong_to_one_calendar() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    fake.add_owned_calendar("team@group.calendar.google.com", "UTC", super::DEFAULT_USER);
    let token = fake.issue_access_token(&[EVENTS_OWNED]);
    let base = fake.calendar_api_base();
    let list = |cal: &str, sync: Option<&str>| {
        let mut url = format!("{base}calendars/{cal}/events");
        if let Some(t) = sync {
            url.push_str(&format!("?syncToken={t}"));
        }
        url
    };
    let (status, _, primary) = api("GET", &list("primary", None), Some(&token), None).await;
    assert_eq!(status, 200);
    let primary_token = primary["nextSyncToken"].as_str().unwrap().to_string();
    // The same token on its own calendar, by id or as `primary`: incremental.
    for cal in ["primary", super::DEFAULT_USER] {
        let (status, _, body) = api("GET", &list(cal, Some(&primary_token)), Some(&token), None).await;
        assert_eq!((status, body["items"].clone()), (200, json!([])), "{cal}");
    }
    // On any other calendar: 410 fullSyncRequired, as for an invalidated token.
    for cal in ["ana@example.com", "team@group.calendar.google.com"] {
        let (status, _, body) = api("GET", &list(cal, Some(&primary_token)), Some(&token), None).await;
        assert_eq!(
            (status, body["error"]["errors"][0]["reason"].clone()),
            (410, json!("fullSyncRequired")),
            "{cal}"
        );
    }
}

#[tokio::test]
async fn fake_google_events_owned_writes_only_to_calendars_the_caller_owns() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    fake.add_owned_calendar("team@group.calendar.google.com", "UTC", super::DEFAULT_USER);
    fake.add_owned_calendar("other@group.calendar.google.com", "UTC", "ana@example.com");
    let owned = fake.issue_access_token(&[EVENTS_OWNED]);
    let broad = fake.issue_access_token(&["https://www.googleapis.com/auth/calendar.events"]);
    let base = fake.calendar_api_base();
    let insert = |cal: &str, id: &str| {
        (
            format!("{base}calendars/{cal}/events"),
            json!({"id": id, "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T09:30:00Z"}}),
        )
    };
    let mut n = 0;
    let mut try_insert = async |cal: &str, token: &str| {
        n += 1;
        let (url, body) = insert(cal, &format!("acl{n:05}"));
        let (status, _, body) = api("POST", &url, Some(token), Some(body)).await;
        (
            status,
            body["error"]["errors"][0]["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    let ok = (200, String::new());
    let refused = (403, "requiredAccessLevel".to_string());
    assert_eq!(try_insert("primary", &owned).await, ok);
    assert_eq!(
        try_insert("team%40group.calendar.google.com", &owned).await,
        ok,
        "a calendar the user owns"
    );
    assert_eq!(
        try_insert("ana%40example.com", &owned).await,
        refused,
        "another user's calendar"
    );
    assert_eq!(try_insert("other@group.calendar.google.com", &owned).await, refused);
    // Writer access is not ownership: calendar.events.owned still refuses,
    // calendar.events may write.
    fake.grant_writer("ana@example.com", super::DEFAULT_USER);
    assert_eq!(try_insert("ana@example.com", &owned).await, refused);
    assert_eq!(try_insert("ana@example.com", &broad).await, ok);
    assert_eq!(try_insert("other@group.calendar.google.com", &broad).await, refused);
    // Patch and delete are writes too; reads are not restricted.
    fake.add_event(
        "ana@example.com",
        json!({"id": "anas00001", "start": {"date": "2027-03-10"}, "end": {"date": "2027-03-11"}}),
    );
    let event = format!("{base}calendars/ana@example.com/events/anas00001");
    let (status, _, body) = api("PATCH", &event, Some(&owned), Some(json!({"summary": "mine now"}))).await;
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (403, json!("You need to have writer access to this calendar."))
    );
    assert_eq!(api("DELETE", &event, Some(&owned), None).await.0, 403);
    assert_eq!(api("GET", &event, Some(&owned), None).await.0, 200);
    assert_eq!(
        fake.events("ana@example.com")
            .iter()
            .filter(|e| e["status"] == "cancelled")
            .count(),
        0
    );
}

#[tokio::test]
async fn fake_google_service_account_subjects_need_a_user_and_delegation() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "Europe/Berlin");
    let key = yup_oauth2::parse_service_account_key(fake.service_account_key_json()).expect("key JSON");
    let token_for = async |subject: Option<&str>, scopes: &[&str]| {
        let client = Client::builder(TokioExecutor::new()).build(connector());
        let mut builder = yup_oauth2::ServiceAccountAuthenticator::with_client(
            key.clone(),
            yup_oauth2::CustomHyperClientBuilder::from(client),
        );
        if let Some(s) = subject {
            builder = builder.subject(s);
        }
        let auth = builder.build().await.expect("authenticator");
        auth.token(scopes).await.map(|_| ()).map_err(|e| e.to_string())
    };
    assert_eq!(token_for(Some("ana@example.com"), &[EVENTS_OWNED]).await, Ok(()));
    assert_eq!(
        token_for(None, &[EVENTS_OWNED]).await,
        Ok(()),
        "the account itself needs no delegation"
    );
    let unknown = token_for(Some("nobody@example.com"), &[EVENTS_OWNED])
        .await
        .unwrap_err();
    assert!(unknown.contains("Invalid email or User ID"), "{unknown}");
    fake.set_delegation(Some(&[FREEBUSY]));
    assert_eq!(token_for(Some("ana@example.com"), &[FREEBUSY]).await, Ok(()));
    let partial = token_for(Some("ana@example.com"), &[FREEBUSY, EVENTS_OWNED])
        .await
        .unwrap_err();
    assert!(partial.contains("Unauthorized client or scope in request"), "{partial}");
    fake.set_delegation(None);
    let none = token_for(Some("ana@example.com"), &[FREEBUSY]).await.unwrap_err();
    assert!(none.contains("Unauthorized client or scope in request"), "{none}");
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200, 400, 200, 401, 401]);
}

#[tokio::test]
async fn fake_google_deleted_events_come_back_bare_whole_or_mixed() {
    use super::DeletedShape;
    let fake = FakeGoogle::start();
    let token = fake.issue_access_token(&[EVENTS_OWNED]);
    let base = fake.calendar_api_base();
    let url = format!("{base}calendars/primary/events");
    let mut sync = api("GET", &url, Some(&token), None).await.2["nextSyncToken"]
        .as_str()
        .unwrap()
        .to_string();
    let mut deleted_items = Vec::new();
    for (i, shape) in [DeletedShape::IdOnly, DeletedShape::FullBody, DeletedShape::Alternate]
        .into_iter()
        .enumerate()
    {
        fake.set_deleted_shape(shape);
        let ids: Vec<String> = (0..2).map(|k| format!("gone{i}{k}000")).collect();
        for id in &ids {
            let event = json!({"id": id, "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T09:30:00Z"},
                "extendedProperties": {"private": {"liaison": "1"}}});
            assert_eq!(api("POST", &url, Some(&token), Some(event)).await.0, 200);
            fake.delete_event("primary", id);
        }
        let (status, _, body) = api(
            "GET",
            &format!("{url}?syncToken={sync}&showDeleted=true"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, 200);
        sync = body["nextSyncToken"].as_str().unwrap().to_string();
        let items = body["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|e| e["status"] == "cancelled"));
        deleted_items.push(
            items
                .iter()
                .map(|e| e.get("extendedProperties").is_some())
                .collect::<Vec<bool>>(),
        );
    }
    assert_eq!(deleted_items[0], [false, false], "id and status only");
    assert_eq!(deleted_items[1], [true, true], "whole bodies");
    let mixed = &deleted_items[2];
    assert_eq!(mixed.iter().filter(|b| **b).count(), 1, "one of each: {mixed:?}");
}

#[tokio::test]
async fn fake_google_limits_are_googles_documented_ones() {
    let fake = FakeGoogle::start();
    let token = fake.issue_access_token(&[EVENTS_OWNED]);
    let base = fake.calendar_api_base();
    let url = format!("{base}calendars/primary/events");
    let event = |id: String| json!({"id": id, "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T09:30:00Z"}});
    let longest = "v".repeat(*super::EVENT_ID_LEN.end());
    let shortest = "0".repeat(*super::EVENT_ID_LEN.start());
    assert_eq!((super::EVENT_ID_LEN.start(), super::EVENT_ID_LEN.end()), (&5, &1024));
    assert_eq!(
        api("POST", &url, Some(&token), Some(event(longest.clone()))).await.0,
        200
    );
    assert_eq!(api("POST", &url, Some(&token), Some(event(shortest))).await.0, 200);
    for bad in [format!("{longest}0"), "0".repeat(4), "abcdw".into(), "ABCDE".into()] {
        let (status, _, body) = api("POST", &url, Some(&token), Some(event(bad.clone()))).await;
        assert_eq!(
            (status, body["error"]["message"].clone()),
            (400, json!("Invalid resource id value.")),
            "{bad}"
        );
    }

    // Extended properties: a key over 44 characters is dropped, a value over
    // 1024 characters cut to 1024, silently, as Google documents.
    assert_eq!(
        (super::EXTENDED_PROPERTY_MAX_KEY, super::EXTENDED_PROPERTY_MAX_VALUE),
        (44, 1024)
    );
    let mut ev = event("props00001".into());
    ev["extendedProperties"] = json!({"private": {
        "k".repeat(44): "kept", "k".repeat(45): "dropped", "long": "é".repeat(1030), "short": "x"}});
    let (status, _, body) = api("POST", &url, Some(&token), Some(ev)).await;
    assert_eq!(status, 200);
    let private = body["extendedProperties"]["private"].as_object().unwrap();
    let mut keys: Vec<&str> = private.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["k".repeat(44).as_str(), "long", "short"]);
    assert_eq!(private["long"].as_str().unwrap().chars().count(), 1024);
    assert_eq!(private["short"], "x");

    // Attendee addresses Google refuses.
    for bad in [
        " ana@example.com",
        "ana",
        "ana@example",
        "ana@@example.com",
        "ana@example..com",
        "a na@example.com",
    ] {
        let mut ev = event("attend0001".into());
        ev["attendees"] = json!([{"email": bad}]);
        let (status, _, body) = api("POST", &url, Some(&token), Some(ev)).await;
        assert_eq!(
            (status, body["error"]["errors"][0]["message"].clone()),
            (400, json!("Invalid attendee email.")),
            "{bad:?}"
        );
    }

    // freeBusy: 50 calendars and 90 days at most (the range one second over is refused).
    assert_eq!(super::FREEBUSY_MAX_CALENDARS, 50);
    let fb = fake.issue_access_token(&[FREEBUSY]);
    let query = |secs: i64, n: usize| {
        let from = jiff::Timestamp::from_second(1_804_032_000).unwrap();
        let to = from.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap();
        let items: Vec<Value> = (0..n).map(|i| json!({"id": format!("p{i}@example.com")})).collect();
        json!({"timeMin": from.to_string(), "timeMax": to.to_string(), "items": items})
    };
    let max = super::FREEBUSY_MAX_RANGE.as_secs();
    assert_eq!(max, 90 * 24 * 3600);
    let fb_url = format!("{base}freeBusy");
    let (status, _, body) = api("POST", &fb_url, Some(&fb), Some(query(max, 50))).await;
    assert_eq!(
        (
            status,
            body["calendars"]["p49@example.com"]["errors"][0]["reason"].clone()
        ),
        (200, json!("notFound"))
    );
    let (status, _, body) = api("POST", &fb_url, Some(&fb), Some(query(max + 1, 1))).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (400, json!("timeRangeTooLong"))
    );
    let (_, _, body) = api("POST", &fb_url, Some(&fb), Some(query(3600, 51))).await;
    assert_eq!(
        body["calendars"]["p0@example.com"]["errors"][0]["reason"],
        "tooManyCalendarsRequested"
    );
}

#[tokio::test]
async fn fake_google_quota_refuses_calls_over_the_limit_per_user_and_window() {
    let fake = FakeGoogle::start();
    fake.add_calendar("ana@example.com", "UTC");
    fake.set_quota(3, Duration::from_secs(3600), 429, "rateLimitExceeded");
    let organizer = fake.issue_access_token(&[EVENTS_OWNED]);
    fake.set_user("ana@example.com");
    let ana = fake.issue_access_token(&[EVENTS_OWNED]);
    let url = format!("{}calendars/primary/events", fake.calendar_api_base());
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(api("GET", &url, Some(&organizer), None).await.0);
    }
    let (status, _, body) = api("GET", &url, Some(&organizer), None).await;
    statuses.push(status);
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "three calls in the window, then refused"
    );
    assert_eq!(
        body["error"],
        json!({"code": 429, "message": "Rate Limit Exceeded", "status": "RESOURCE_EXHAUSTED",
            "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}]})
    );
    assert_eq!(
        api("GET", &url, Some(&ana), None).await.0,
        200,
        "another user has a quota of their own"
    );
    assert_eq!(fake.quota_report(), (3, 2));

    // A short window: calls again once it has passed (measured by the fake).
    fake.set_quota(1, Duration::from_millis(200), 403, "userRateLimitExceeded");
    assert_eq!(api("GET", &url, Some(&organizer), None).await.0, 200);
    let (status, _, body) = api("GET", &url, Some(&organizer), None).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (403, json!("userRateLimitExceeded"))
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if api("GET", &url, Some(&organizer), None).await.0 == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the window never passed");
    }
}

#[tokio::test]
async fn fake_google_expires_access_tokens_on_demand_and_holds_answers_at_a_gate() {
    let fake = FakeGoogle::start();
    let token = fake.issue_access_token(&[EVENTS_OWNED]);
    let url = format!("{}calendars/primary/events", fake.calendar_api_base());
    assert_eq!(api("GET", &url, Some(&token), None).await.0, 200);
    fake.expire_access_tokens();
    let (status, _, body) = api("GET", &url, Some(&token), None).await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (401, json!("authError"))
    );

    let token = fake.issue_access_token(&[EVENTS_OWNED]);
    fake.hold_answer_next("events.insert", 1);
    let event = json!({"id": "held000001", "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T09:30:00Z"}});
    let call = tokio::spawn({
        let (url, token) = (url.clone(), token.clone());
        async move { api("POST", &url, Some(&token), Some(event)).await.0 }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fake.held() == 0 {
        assert!(std::time::Instant::now() < deadline, "the answer was never held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(fake.events("primary").len(), 1, "performed before its answer");
    assert!(!call.is_finished());
    fake.release_held();
    assert_eq!(call.await.unwrap(), 200);
    assert_eq!(fake.held(), 0);
}

/// The scope table matches Google's discovery document: the subset of it kept
/// in the repository (`src/calendar/google/testdata/discovery-subset.json`,
/// cut from the reference copy DESIGN §8 names), so the check runs in a plain
/// clone too. Every method the fake classifies is in it.
#[test]
fn fake_google_method_scopes_match_the_discovery_document() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/calendar/google/testdata/discovery-subset.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("discovery JSON");
    assert!(
        doc["_source"]
            .as_str()
            .unwrap_or_default()
            .contains("revision 20261030"),
        "the subset and the fake's scope table name the same revision"
    );
    for (method, scopes) in super::METHOD_SCOPES {
        let short = method.trim_start_matches("calendar.");
        let mut expected: Vec<String> = doc["methods"][short]["scopes"]
            .as_array()
            .unwrap_or_else(|| panic!("{short} is not in the discovery subset"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        let mut ours: Vec<String> = scopes.iter().map(|s| format!("{}{s}", super::SCOPE_PREFIX)).collect();
        expected.sort();
        ours.sort();
        assert_eq!(ours, expected, "{method}");
    }
    assert_eq!(
        doc["methods"].as_object().unwrap().len(),
        super::METHOD_SCOPES.len(),
        "the subset holds exactly the methods the fake knows"
    );
}

/// Tests may share the fake between threads (e.g. one running the binary).
#[test]
fn fake_google_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FakeGoogle>();
    check::<super::RequestRecord>();
}

//! Self-tests of the fake Graph: each checks one behaviour its module doc
//! claims, over real HTTP with the same client liaison uses.

#![cfg(test)]

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;

/// One request to the fake: (status, JSON body or Null).
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>, form: Option<&str>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = liaison::calendar::http::http_client();
        let mut b = hyper::Request::builder().method(method).uri(url);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let text = match (body, form) {
            (Some(v), _) => {
                b = b.header("content-type", "application/json");
                v.to_string()
            }
            (None, Some(f)) => {
                b = b.header("content-type", "application/x-www-form-urlencoded");
                f.to_string()
            }
            _ => String::new(),
        };
        let answer = liaison::calendar::http::exchange(&client, b.body(text).unwrap(), 1 << 24)
            .await
            .unwrap();
        (
            answer.status,
            serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
        )
    })
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A delegated token for the default user, through the device code grant.
fn delegated(fake: &FakeGraph) -> (String, String) {
    let login = format!("{}{TENANT_DOMAIN}/oauth2/v2.0/", fake.login_base());
    let (status, dc) = call(
        "POST",
        &format!("{login}devicecode"),
        None,
        None,
        Some(&format!(
            "client_id={CLIENT_ID}&scope={}",
            enc("offline_access https://graph.microsoft.com/Calendars.ReadWrite")
        )),
    );
    assert_eq!(status, 200, "{dc}");
    let poll = format!(
        "grant_type={}&client_id={CLIENT_ID}&device_code={}",
        enc("urn:ietf:params:oauth:grant-type:device_code"),
        enc(dc["device_code"].as_str().unwrap())
    );
    let (status, pending) = call("POST", &format!("{login}token"), None, None, Some(&poll));
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    assert!(fake.answer_user_code(dc["user_code"].as_str().unwrap(), DeviceState::Approved));
    let (status, token) = call("POST", &format!("{login}token"), None, None, Some(&poll));
    assert_eq!(status, 200, "{token}");
    (
        token["access_token"].as_str().unwrap().to_string(),
        token["refresh_token"].as_str().unwrap().to_string(),
    )
}

#[test]
fn fake_graph_device_code_then_rotating_refresh_tokens() {
    let fake = FakeGraph::start();
    let (access, refresh) = delegated(&fake);
    let me = format!("{}me/events", fake.api_base());
    assert_eq!(call("GET", &me, Some(&access), None, None).0, 200);
    let login = format!("{}{TENANT_ID}/oauth2/v2.0/token", fake.login_base());
    let form = |r: &str| {
        format!(
            "grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={}",
            enc(r)
        )
    };
    let (status, renewed) = call("POST", &login, None, None, Some(&form(&refresh)));
    assert_eq!(status, 200);
    let new_refresh = renewed["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh, "a new refresh token every time");
    let (status, old) = call("POST", &login, None, None, Some(&form(&refresh)));
    assert_eq!((status, old["error"].as_str()), (400, Some("invalid_grant")), "{old}");
    assert!(old["error_description"].as_str().unwrap().starts_with("AADSTS50173"));
    // A declined code, an unknown tenant.
    fake.expire_access_tokens();
    let (status, e) = call("GET", &me, Some(&access), None, None);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );
    let (status, e) = call(
        "POST",
        &format!("{}nowhere.example/oauth2/v2.0/token", fake.login_base()),
        None,
        None,
        Some("grant_type=client_credentials"),
    );
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_request")));
}

#[test]
fn fake_graph_client_credentials_reach_only_the_mailboxes_the_policy_allows() {
    let fake = FakeGraph::start();
    fake.add_mailbox("other@contoso.com", "UTC");
    let token_url = format!("{}{TENANT_DOMAIN}/oauth2/v2.0/token", fake.login_base());
    let form = |secret: &str| {
        format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={}&scope={}",
            enc(secret),
            enc("https://graph.microsoft.com/.default")
        )
    };
    let (status, e) = call("POST", &token_url, None, None, Some(&form("wrong")));
    assert_eq!((status, e["error"].as_str()), (401, Some("invalid_client")));
    let (status, t) = call("POST", &token_url, None, None, Some(&form(CLIENT_SECRET)));
    assert_eq!(status, 200);
    assert!(t.get("refresh_token").is_none(), "no refresh token for an app");
    let token = t["access_token"].as_str().unwrap();
    let (status, _) = call("GET", &format!("{}me/events", fake.api_base()), Some(token), None, None);
    assert_eq!(status, 400, "no /me without a user");
    fake.restrict_app_to(&[DEFAULT_USER]);
    let events = |who: &str| format!("{}users/{who}/events", fake.api_base());
    assert_eq!(call("GET", &events(DEFAULT_USER), Some(token), None, None).0, 200);
    let (status, e) = call("GET", &events("other@contoso.com"), Some(token), None, None);
    assert_eq!(status, 403);
    assert!(e["error"]["message"].as_str().unwrap().contains("AccessPolicy"));
}

fn weekly(subject: &str, start: &str, zone: &str, count: u32, day: &str) -> Value {
    let date = &start[..10];
    let end = {
        let dt: jiff::civil::DateTime = start.parse().unwrap();
        dt.checked_add(jiff::SignedDuration::from_mins(60)).unwrap().to_string()
    };
    json!({
        "subject": subject,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [day]},
            "range": {"type": "numbered", "startDate": date, "numberOfOccurrences": count},
        },
    })
}

#[test]
fn fake_graph_get_schedule_expands_series_on_the_wall_clock_and_keeps_its_limits() {
    let fake = FakeGraph::start();
    fake.add_mailbox("ana@contoso.com", "Europe/Berlin");
    // 10:00 Berlin every Monday across the end of March (CET → CEST), named
    // by its Windows zone.
    fake.add_event(
        "ana@contoso.com",
        weekly("team", "2027-03-22T10:00:00", "W. Europe Standard Time", 2, "monday"),
    );
    let (access, _) = delegated(&fake);
    let url = format!("{}me/calendar/getSchedule", fake.api_base());
    let body = |who: Vec<String>, end: &str| {
        json!({"schedules": who, "startTime": {"dateTime": "2027-03-20T00:00:00", "timeZone": "UTC"},
               "endTime": {"dateTime": end, "timeZone": "UTC"}, "availabilityViewInterval": 30})
    };
    let (status, v) = call(
        "POST",
        &url,
        Some(&access),
        Some(body(
            vec!["ana@contoso.com".into(), "nobody@contoso.com".into()],
            "2027-04-05T00:00:00",
        )),
        None,
    );
    assert_eq!(status, 200, "{v}");
    let ana = &v["value"][0];
    let starts: Vec<&str> = ana["scheduleItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["start"]["dateTime"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["2027-03-22T09:00:00.0000000", "2027-03-29T08:00:00.0000000"]);
    assert_eq!(v["value"][1]["error"]["responseCode"], "ErrorMailRecipientNotFound");
    let many: Vec<String> = (0..=SCHEDULE_MAX_ENTITIES)
        .map(|i| format!("p{i}@contoso.com"))
        .collect();
    assert_eq!(
        call(
            "POST",
            &url,
            Some(&access),
            Some(body(many, "2027-03-21T00:00:00")),
            None
        )
        .0,
        400
    );
    assert_eq!(
        call(
            "POST",
            &url,
            Some(&access),
            Some(body(vec!["ana@contoso.com".into()], "2027-05-21T00:00:00")),
            None
        )
        .0,
        400,
        "62 days or more"
    );
}

#[test]
fn fake_graph_transaction_ids_and_extended_properties() {
    let fake = FakeGraph::start();
    let (access, _) = delegated(&fake);
    let events = format!("{}users/{DEFAULT_USER}/events", fake.api_base());
    let pid = "String {b0a1c7e2-3f5d-4c1a-9e4b-6c2d8f0a1e37} Name liaison_id";
    let mut event = weekly("pair", "2027-03-08T10:00:00", "Europe/London", 4, "monday");
    event["transactionId"] = json!("abc123");
    event["singleValueExtendedProperties"] = json!([{"id": pid, "value": "abc123"}]);
    let (s1, first) = call("POST", &events, Some(&access), Some(event.clone()), None);
    let (s2, again) = call("POST", &events, Some(&access), Some(event), None);
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first["id"], again["id"], "a repeated transactionId creates nothing");
    assert_eq!(fake.events(DEFAULT_USER).len(), 1);
    assert!(
        first.get("singleValueExtendedProperties").is_none(),
        "not without $expand"
    );
    let filter = format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq 'ABC123')",
        pid.replace("b0a1c7e2", "B0A1C7E2")
    );
    let expand = format!("singleValueExtendedProperties($filter=id eq '{pid}')");
    let (status, found) = call(
        "GET",
        &format!("{events}?$filter={}&$expand={}", enc(&filter), enc(&expand)),
        Some(&access),
        None,
        None,
    );
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
    assert_eq!(found["value"][0]["singleValueExtendedProperties"][0]["value"], "abc123");
    assert_eq!(found["value"][0]["originalStartTimeZone"], "Europe/London");
    assert_eq!(found["value"][0]["start"]["dateTime"], "2027-03-08T10:00:00.0000000");
    let wrong_name = filter.replace("Name liaison_id", "Name LIAISON_ID");
    let (_, none) = call(
        "GET",
        &format!("{events}?$filter={}", enc(&wrong_name)),
        Some(&access),
        None,
        None,
    );
    assert_eq!(none["value"].as_array().unwrap().len(), 0, "names are case-sensitive");
}

#[test]
fn fake_graph_delta_reports_changes_removals_and_refuses_an_invalidated_token() {
    let fake = FakeGraph::start();
    fake.add_mailbox("ana@contoso.com", "UTC");
    let (access, _) = delegated(&fake);
    let mut event = weekly("pair", "2027-03-08T10:00:00", "UTC", 4, "monday");
    event["attendees"] = json!([{"emailAddress": {"address": "ana@contoso.com", "name": "Ana"}}]);
    let id = fake.add_event(DEFAULT_USER, event);
    let first = format!(
        "{}me/calendarView/delta?startDateTime=2027-03-01T00:00:00Z&endDateTime=2027-04-30T00:00:00Z",
        fake.api_base()
    );
    let (status, round) = call("GET", &first, Some(&access), None, None);
    assert_eq!(status, 200);
    assert_eq!(round["value"].as_array().unwrap().len(), 4, "occurrences, no master");
    assert!(
        round["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["seriesMasterId"] == id.as_str() && i["type"] == "occurrence")
    );
    let link = round["@odata.deltaLink"].as_str().unwrap().to_string();
    let (_, quiet) = call("GET", &link, Some(&access), None, None);
    assert_eq!(quiet["value"].as_array().unwrap().len(), 0);
    let link = quiet["@odata.deltaLink"].as_str().unwrap().to_string();
    fake.respond(
        &id,
        "ana@contoso.com",
        "declined",
        Some("2027-03-15T10:00:00Z".parse::<Timestamp>().unwrap()),
    );
    let (_, changed) = call("GET", &link, Some(&access), None, None);
    let exception = changed["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["originalStart"] == "2027-03-15T10:00:00Z")
        .unwrap()
        .clone();
    assert_eq!(exception["type"], "exception");
    assert_eq!(exception["attendees"][0]["status"]["response"], "declined");
    let link = changed["@odata.deltaLink"].as_str().unwrap().to_string();
    fake.delete_event(DEFAULT_USER, &id);
    let (_, removed) = call("GET", &link, Some(&access), None, None);
    assert!(
        removed["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["@removed"]["reason"] == "deleted")
    );
    assert_eq!(removed["value"].as_array().unwrap().len(), 4);
    fake.invalidate_delta_tokens();
    let link = removed["@odata.deltaLink"].as_str().unwrap().to_string();
    let (status, e) = call("GET", &link, Some(&access), None, None);
    assert_eq!((status, e["error"]["code"].as_str()), (410, Some("syncStateNotFound")));
}

#[test]
fn fake_graph_quota_refuses_calls_over_the_limit_with_retry_after_and_counts_early_returns() {
    let fake = FakeGraph::start();
    let (access, _) = delegated(&fake);
    fake.set_quota(2, std::time::Duration::from_secs(3600));
    let me = format!("{}me/events", fake.api_base());
    assert_eq!(call("GET", &me, Some(&access), None, None).0, 200);
    assert_eq!(call("GET", &me, Some(&access), None, None).0, 200);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = rt.block_on(async {
        let request = hyper::Request::get(&me)
            .header("authorization", format!("Bearer {access}"))
            .body(String::new())
            .unwrap();
        liaison::calendar::http::exchange(&liaison::calendar::http::http_client(), request, 1 << 20)
            .await
            .unwrap()
    });
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers.get("retry-after").unwrap(), "3600", "the whole window");
    let body: Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "ApplicationThrottled");
    assert_eq!(fake.quota_report(), (2, 1, 0));
    // Back before the Retry-After: refused again, and counted as early.
    assert_eq!(call("GET", &me, Some(&access), None, None).0, 429);
    assert_eq!(fake.quota_report(), (2, 2, 1));
}

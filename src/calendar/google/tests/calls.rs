//! API calls against the stub: retries, timeouts, duplicates, paging, deletes, ending early, refusals and their scopes.

use super::*;

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
            CalendarError::Credentials(_) => "credentials",
            CalendarError::NotFound(_) => "not found",
            CalendarError::IdCancelled(_) => "id cancelled",
            CalendarError::Io { .. } => "io",
        };
        assert_eq!((got, err.scope()), (class, scope), "{status} {body}: {err}");
        assert_eq!(err.write_refused(), class != "transient", "{status} {body}: {err}");
        assert_eq!(s.provider.requests(), requests as u64, "{status} {body}: {err}");
    }
}

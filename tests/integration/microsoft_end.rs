//! Ending a Microsoft series early when people had changed its occurrences.
//! Exchange drops every exception of a series whose recurrence changes, so
//! liaison makes them again after the `PATCH` that ends it, and lists them
//! in the end mark of that same `PATCH`: a restore that fails, or a process
//! killed in between, is completed by a later read, and the series is then
//! known as ended by liaison, not as changed by a person.

use jiff::{SignedDuration, Timestamp};
use liaison::calendar::{Attendee, CalendarProvider as _, CreateOutcome, EndOutcome, SeriesRequest};
use liaison::store::SeriesState;
use serde_json::{Value, json};

use crate::daemon::Log;
use crate::fake_graph::{DEFAULT_USER, FakeGraph};
use crate::microsoft::{self, prop, provider_on};
use crate::twins::{TestOrg as _, active, run_at, spawn, store_state};
use crate::util::{NOW, SATURDAY_WEEK_1};

/// Four weekly occurrences, Mondays 10:00 London from 2027-03-08.
pub fn request(event_id: &str) -> SeriesRequest {
    SeriesRequest {
        event_id: event_id.into(),
        term: jiff::civil::date(2027, 3, 8),
        pair: ("ada@contoso.com".into(), "bo@contoso.com".into()),
        attendees: [
            Attendee {
                email: "ada@contoso.com".into(),
                name: "Ada".into(),
            },
            Attendee {
                email: "bo@contoso.com".into(),
                name: "Bo".into(),
            },
        ],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: jiff::civil::datetime(2027, 3, 8, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The Graph id of liaison's series `id` on the organizer's calendar.
pub fn graph_id(fake: &FakeGraph, id: &str) -> String {
    fake.events(DEFAULT_USER)
        .into_iter()
        .find(|e| prop(e, "liaison_id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no series {id}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The end mark of event `graph_id`, if any.
fn end_mark(fake: &FakeGraph, graph_id: &str) -> Option<String> {
    fake.events(DEFAULT_USER)
        .into_iter()
        .find(|e| e["id"] == graph_id)
        .and_then(|e| prop(&e, "liaison_end"))
}

/// (original, start, cancelled) of every occurrence of `graph_id`.
fn kept(fake: &FakeGraph, graph_id: &str) -> Vec<(Timestamp, Timestamp, bool)> {
    fake.occurrences(graph_id)
        .iter()
        .map(|o| (o.original, o.start, o.cancelled))
        .collect()
}

/// The restore after an end fails (the occurrence a person cancelled could
/// not be cancelled again): the series is ended, the end mark keeps what is
/// left to do, and the next read of changes does it and clears the list —
/// without moving again the occurrence restored already.
#[test]
fn microsoft_a_restore_that_fails_after_an_end_is_completed_by_the_next_read() {
    let fake = FakeGraph::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let request = request("endfails0001");
    let id = request.event_id.as_str();
    runtime().block_on(async {
        assert_eq!(provider.create_series(&request).await.unwrap(), CreateOutcome::Created);
        let graph = graph_id(&fake, id);
        let token = provider
            .list_changes(None, crate::util::now())
            .await
            .unwrap()
            .next_token
            .unwrap();
        let originals: Vec<Timestamp> = fake.occurrences(&graph).iter().map(|o| o.original).collect();
        let later = |t: Timestamp| t.checked_add(SignedDuration::from_hours(4)).unwrap();
        let moved = (
            later(originals[0]),
            later(originals[0]).checked_add(request.duration).unwrap(),
        );
        fake.move_occurrence(DEFAULT_USER, &graph, originals[0], moved.0, moved.1);
        fake.cancel_occurrence(DEFAULT_USER, &graph, originals[1]);

        fake.fail_method("events.cancel", 1, 400);
        assert_eq!(provider.end_series(id, originals[1]).await.unwrap(), EndOutcome::Ended);
        assert_eq!(
            kept(&fake, &graph),
            [(originals[0], moved.0, false), (originals[1], originals[1], false)],
            "the move is restored, the cancellation not yet"
        );
        let mark = end_mark(&fake, &graph).expect("an end mark");
        assert!(
            mark.starts_with("2027-03-15;") && mark.contains(";c=2027-03-15T10:00:00Z"),
            "{mark}"
        );

        fake.clear_requests();
        let changes = provider.list_changes(Some(&token), crate::util::now()).await.unwrap();
        assert_eq!(
            kept(&fake, &graph),
            [(originals[0], moved.0, false), (originals[1], originals[1], true)],
            "the next read cancels it again"
        );
        assert_eq!(
            end_mark(&fake, &graph).as_deref(),
            Some("2027-03-15"),
            "the list is cleared"
        );
        let writes: Vec<String> = fake
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| r.operation.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            writes,
            ["events.cancel", "events.update"],
            "one cancel, then the mark; the restored move is not sent again"
        );
        assert_eq!(changes.ended, [id.to_string()], "known as ended by liaison");
        assert_ne!(
            changes.next_token.as_deref(),
            Some(token.as_str()),
            "the token moves on"
        );
    });
}

/// A kill right after the `PATCH` that ends a declined series (Exchange
/// dropped the occurrence a person cancelled and the one they moved): the
/// restart makes both again from the end mark, and records the series as
/// ended by liaison, not as changed by a person.
#[test]
fn microsoft_a_kill_between_the_end_and_its_restore_is_completed_by_the_restart() {
    let org = microsoft::Org::authorized(6);
    run_at(&org, NOW);
    let series = active(&org).remove(0);
    let originals: Vec<Timestamp> = series.occurrences.iter().map(|o| o.0).collect();
    let length = series.occurrences[1].1.duration_since(series.occurrences[1].0);
    let earlier = originals[1].checked_sub(SignedDuration::from_hours(1)).unwrap();
    org.fake.cancel_occurrence(DEFAULT_USER, &series.id, originals[0]);
    org.fake.move_occurrence(
        DEFAULT_USER,
        &series.id,
        originals[1],
        earlier,
        earlier.checked_add(length).unwrap(),
    );
    org.decline(&series, &series.pair.0.clone(), None);

    let point = "microsoft_after_end_patch";
    let mut child = spawn(
        &org,
        &["run", "--once"],
        &[("LIAISON_NOW", SATURDAY_WEEK_1), ("LIAISON_PAUSE_AT", point)],
    );
    let mut log = Log::of(&mut child);
    assert!(
        log.wait_for(&format!("paused at {point}"), std::time::Duration::from_secs(60)),
        "{}",
        log.text()
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let dropped = kept(&org.fake, &series.id);
    assert_eq!(dropped.len(), 2, "ended after two weeks: {dropped:?}");
    assert!(
        dropped.iter().all(|(o, s, c)| o == s && !c),
        "Exchange dropped the exceptions: {dropped:?}"
    );
    let mark = end_mark(&org.fake, &series.id).expect("the end mark");
    assert!(mark.contains(";m=") && mark.contains(";c="), "{mark}");
    assert_eq!(
        store_state(&org, &series.key),
        SeriesState::Booked,
        "the end was not recorded"
    );

    let run = run_at(&org, SATURDAY_WEEK_1);
    assert_eq!(
        kept(&org.fake, &series.id),
        [(originals[0], originals[0], true), (originals[1], earlier, false)],
        "{}",
        run.stderr
    );
    assert!(
        end_mark(&org.fake, &series.id).is_some_and(|m| !m.contains(';')),
        "the list is cleared"
    );
    assert_eq!(store_state(&org, &series.key), SeriesState::Cancelled);
    assert!(
        run.stderr
            .contains("ended early by liaison before the end was recorded"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("changed on the calendar by a person"),
        "{}",
        run.stderr
    );
}

/// After a cycle's bookings, the extra delta round steps over them only
/// when they are exactly as booked: a person's edit of a series booked in
/// the same cycle (its time, its attendees), made before that round, keeps
/// the token, and the next read shows it.
#[test]
fn microsoft_a_persons_edit_of_a_series_just_booked_is_never_stepped_over() {
    let fake = FakeGraph::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let now = crate::util::now();
    let local = |hm: &str| json!({"dateTime": format!("2027-03-08T{hm}:00"), "timeZone": "Europe/London"});
    runtime().block_on(async {
        // Untouched: stepped over.
        let token = provider.list_changes(None, now).await.unwrap().next_token.unwrap();
        provider.create_series(&request("ownwrites001")).await.unwrap();
        let token = provider
            .token_after_own_writes(&token, now)
            .await
            .unwrap()
            .expect("nothing but the cycle's own booking: stepped over");

        // The whole series moved an hour later by a person.
        let token = provider
            .list_changes(Some(&token), now)
            .await
            .unwrap()
            .next_token
            .unwrap();
        provider.create_series(&request("ownwrites002")).await.unwrap();
        let moved = graph_id(&fake, "ownwrites002");
        fake.update_event(
            DEFAULT_USER,
            &moved,
            json!({"start": local("11:00"), "end": local("11:30")}),
        );
        assert_eq!(provider.token_after_own_writes(&token, now).await.unwrap(), None);
        let seen = provider.list_changes(Some(&token), now).await.unwrap();
        let starts: Vec<_> = seen
            .series
            .iter()
            .map(|d| (d.series.request.event_id.as_str(), d.series.request.start))
            .collect();
        assert_eq!(
            starts,
            [("ownwrites002", jiff::civil::datetime(2027, 3, 8, 11, 0, 0, 0))],
            "the next read shows the person's edit"
        );

        // A third attendee added by a person.
        let token = seen.next_token.unwrap();
        let mut third = request("ownwrites003");
        third.pair = ("ada@contoso.com".into(), "cy@contoso.com".into());
        third.attendees[1].email = "cy@contoso.com".into();
        provider.create_series(&third).await.unwrap();
        let added = graph_id(&fake, "ownwrites003");
        let attendees: Vec<Value> = ["ada@contoso.com", "cy@contoso.com", "dee@contoso.com"]
            .iter()
            .map(|a| json!({"emailAddress": {"address": a, "name": a}, "type": "required"}))
            .collect();
        fake.update_event(DEFAULT_USER, &added, json!({"attendees": attendees}));
        assert_eq!(provider.token_after_own_writes(&token, now).await.unwrap(), None);
    });
}

/// A person moves the first occurrence ten days earlier, then the series is
/// ended: the moved occurrence is found where they put it (not taken for
/// cancelled) and stays there; it is not cancelled.
#[test]
fn microsoft_a_first_occurrence_moved_ten_days_earlier_survives_an_end() {
    let fake = FakeGraph::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let request = request("endmoved0001");
    runtime().block_on(async {
        provider.create_series(&request).await.unwrap();
        let graph = graph_id(&fake, "endmoved0001");
        let originals: Vec<Timestamp> = fake.occurrences(&graph).iter().map(|o| o.original).collect();
        let earlier = originals[0].checked_sub(SignedDuration::from_hours(10 * 24)).unwrap();
        fake.move_occurrence(
            DEFAULT_USER,
            &graph,
            originals[0],
            earlier,
            earlier.checked_add(request.duration).unwrap(),
        );
        assert_eq!(
            provider.end_series("endmoved0001", originals[1]).await.unwrap(),
            EndOutcome::Ended
        );
        assert_eq!(
            kept(&fake, &graph),
            [(originals[0], earlier, false), (originals[1], originals[1], false)]
        );
    });
}

/// Waits (up to 30 s) until the fake holds a call at its gate.
fn wait_held(fake: &FakeGraph) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while fake.held() == 0 {
        assert!(std::time::Instant::now() < deadline, "no call reached the gate");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// liaison moves an occurrence that a person declined, and sends the move
/// with the etag it read; the person moved that occurrence themselves just
/// before. Graph refuses the move (412): the person's time stays, and the
/// error says the next cycle reads it again.
#[test]
fn microsoft_a_move_of_an_occurrence_a_person_just_moved_is_refused_by_if_match() {
    use liaison::calendar::CalendarError;
    let fake = FakeGraph::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let request = request("ifmatchmove1");
    runtime().block_on(async {
        provider.create_series(&request).await.unwrap();
        let graph = graph_id(&fake, "ifmatchmove1");
        let now = crate::util::now();
        let token = provider.list_changes(None, now).await.unwrap().next_token.unwrap();
        let originals: Vec<Timestamp> = fake.occurrences(&graph).iter().map(|o| o.original).collect();
        fake.respond(&graph, "bo@contoso.com", "declined", Some(originals[2]));
        let changes = provider.list_changes(Some(&token), now).await.unwrap();
        let (_, declined) = changes
            .occurrences
            .iter()
            .find(|(_, o)| o.original_start == originals[2])
            .expect("the declined occurrence is read")
            .clone();
        let hour = |h: i64| originals[2].checked_add(SignedDuration::from_hours(h)).unwrap();
        // The person is quicker: the occurrence is moved two hours later.
        fake.move_occurrence(
            DEFAULT_USER,
            &graph,
            originals[2],
            hour(2),
            hour(2).checked_add(request.duration).unwrap(),
        );
        let to = liaison::core::interval::Interval::new(hour(5), hour(5).checked_add(request.duration).unwrap());
        let refused = provider
            .move_occurrence("ifmatchmove1", &declined.instance_id, to, &request.zone)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, CalendarError::Transient(m) if m.contains("412") && m.contains("next cycle")),
            "{refused:?}"
        );
        assert_eq!(fake.refused_if_match(), 1);
        let third = fake
            .occurrences(&graph)
            .into_iter()
            .find(|o| o.original == originals[2])
            .unwrap();
        assert_eq!(third.start, hour(2), "the person's move stays");
    });
}

/// A person moves an occurrence while liaison ends the series (after liaison
/// read the occurrences, before its `PATCH` lands): the `PATCH` carries the
/// master's etag and is refused, so the end cannot drop a move it did not
/// list; a cancel of the series is refused the same way. Ending again
/// reads the move and keeps it.
#[test]
fn microsoft_an_end_or_a_cancel_racing_a_persons_move_is_refused_and_the_end_then_keeps_the_move() {
    use liaison::calendar::CalendarError;
    let fake = FakeGraph::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let request = request("ifmatchend01");
    let rt = runtime();
    rt.block_on(provider.create_series(&request)).unwrap();
    let graph = graph_id(&fake, "ifmatchend01");
    let originals: Vec<Timestamp> = fake.occurrences(&graph).iter().map(|o| o.original).collect();
    let later = originals[1].checked_add(SignedDuration::from_hours(3)).unwrap();
    let later_end = later.checked_add(request.duration).unwrap();
    fake.hold_next("events.update", 1);
    let refused = std::thread::scope(|scope| {
        scope.spawn(|| {
            wait_held(&fake);
            fake.move_occurrence(DEFAULT_USER, &graph, originals[1], later, later_end);
            fake.release_held();
        });
        rt.block_on(provider.end_series("ifmatchend01", originals[1]))
    });
    let refused = refused.unwrap_err();
    assert!(
        matches!(&refused, CalendarError::Transient(m) if m.contains("412")),
        "{refused:?}"
    );
    assert_eq!(fake.occurrences(&graph).len(), 4, "not ended");
    // The same race with a cancel of the whole series: refused too.
    fake.hold_next("events.cancel", 1);
    let cancel = std::thread::scope(|scope| {
        scope.spawn(|| {
            wait_held(&fake);
            let third = originals[2].checked_add(SignedDuration::from_hours(3)).unwrap();
            fake.move_occurrence(
                DEFAULT_USER,
                &graph,
                originals[2],
                third,
                third.checked_add(request.duration).unwrap(),
            );
            fake.release_held();
        });
        rt.block_on(provider.delete_series("ifmatchend01"))
    });
    assert!(
        matches!(&cancel, Err(CalendarError::Transient(m)) if m.contains("412")),
        "{cancel:?}"
    );
    assert_eq!(fake.refused_if_match(), 2);
    assert!(
        fake.events(DEFAULT_USER).iter().any(|e| e["id"] == graph.as_str()),
        "not cancelled"
    );
    assert_eq!(
        rt.block_on(provider.end_series("ifmatchend01", originals[1])).unwrap(),
        EndOutcome::Ended
    );
    assert_eq!(
        kept(&fake, &graph),
        [(originals[0], originals[0], false), (originals[1], later, false)],
        "the person's move survives the end"
    );
}

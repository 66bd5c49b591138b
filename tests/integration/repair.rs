//! Repairs (DESIGN §4 "Repair"): what liaison does on the next cycle when
//! people decline, delete or leave, against the fake Google API, which changes
//! responses and deletes events as a person would. Each test shows the
//! calendar, the store and the log line after the next cycle.

use std::collections::BTreeSet;

use liaison::store::{SeriesState, Store};
use serde_json::Value;

use crate::google::{Org, base_command, pair_of};
use crate::util::Run;

use crate::util::SATURDAY_WEEK_1;

fn org(n: usize) -> Org {
    Org::authorized(n)
}

/// `run --once` with the clock at `now`.
fn run_at(org: &Org, now: &str) -> Run {
    let output = base_command(org.dir())
        .args(["--config", org.config.to_str().unwrap(), "run", "--once"])
        .env("LIAISON_NOW", now)
        .output()
        .expect("liaison runs");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// The series still running as booked: not cancelled, and not ended early
/// (an ended series keeps its held occurrences under an `UNTIL` rule).
fn active(org: &Org) -> Vec<Value> {
    let mut events: Vec<Value> = org
        .liaison_events()
        .into_iter()
        .filter(|e| e["status"] != "cancelled" && !ended(e))
        .collect();
    events.sort_by_key(|e| e["id"].as_str().unwrap().to_string());
    events
}

fn ended(event: &Value) -> bool {
    event["recurrence"][0].as_str().unwrap_or("").contains("UNTIL=")
}

fn event(org: &Org, id: &str) -> Value {
    org.liaison_events().into_iter().find(|e| e["id"] == id).unwrap()
}

fn count_of(event: &Value) -> u32 {
    event["recurrence"][0]
        .as_str()
        .unwrap()
        .split("COUNT=")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

fn store_state(org: &Org, id: &str) -> SeriesState {
    let store = Store::open(&org.dir().join("state")).unwrap();
    store.get(id).unwrap().unwrap().state
}

/// The store's booked series are exactly the calendar's active liaison events.
fn assert_store_matches_calendar(org: &Org) {
    let store = Store::open(&org.dir().join("state")).unwrap();
    let booked: BTreeSet<String> = store
        .series()
        .unwrap()
        .iter()
        .filter(|r| r.state == SeriesState::Booked)
        .map(|r| r.request.event_id.clone())
        .collect();
    let on_calendar: BTreeSet<String> = active(org)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(booked, on_calendar, "store and calendar disagree");
}

#[test]
fn repair_a_quiet_cycle_reads_changes_with_a_sync_token_in_at_most_three_requests() {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    assert_eq!(active(&org).len(), 3);
    org.fake.clear_requests();
    let run = run_at(&org, SATURDAY_WEEK_1);
    let requests = org.fake.requests();
    eprintln!(
        "quiet cycle: {} requests: {:?}",
        requests.len(),
        requests.iter().map(|r| r.api_method.clone()).collect::<Vec<_>>()
    );
    assert!(requests.len() <= 3, "{} requests in a quiet cycle", requests.len());
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.list"))
        .collect();
    assert_eq!(lists.len(), 1);
    assert!(
        lists[0].param("syncToken").is_some(),
        "the list did not use the sync token"
    );
    assert!(
        run.stderr.contains("booked=0 kept=3 moved=0 cancelled=0"),
        "{}",
        run.stderr
    );

    // An expired token (410) means one full read, and nothing is booked twice.
    org.fake.invalidate_sync_tokens();
    org.fake.clear_requests();
    let run = run_at(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("sync token expired"), "{}", run.stderr);
    assert!(run.stderr.contains("booked=0 kept=3"), "{}", run.stderr);
    assert_eq!(org.check_invariants(), 3);
    assert_store_matches_calendar(&org);
}

#[test]
fn repair_a_declined_series_is_cancelled_and_both_people_are_paired_again_for_the_rest_of_the_term() {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    let before = active(&org);
    assert_eq!(before.len(), 3);
    let (first, second) = (&before[0], &before[1]);
    let declined: BTreeSet<(String, String)> = [pair_of(first), pair_of(second)].into();
    let (first_id, second_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let decliner = pair_of(first).0;
    org.fake.set_response_status(first_id, &decliner, "declined", None);
    org.fake
        .set_response_status(second_id, &pair_of(second).1, "declined", None);
    org.fake.clear_requests();

    let run = run_at(&org, SATURDAY_WEEK_1);
    let methods: Vec<_> = org.fake.requests().iter().map(|r| r.api_method.clone()).collect();
    eprintln!("two declined series: {} requests: {methods:?}", methods.len());
    assert!(
        run.stderr.contains("series ended early") && run.stderr.contains(&format!("declined by {decliner}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("cancelled=2"), "{}", run.stderr);
    for id in [first_id, second_id] {
        // Weeks 0 and 1 took place and stay; weeks 2 and 3 are gone.
        let e = event(&org, id);
        assert_ne!(e["status"], "cancelled", "{id} was deleted, erasing what took place");
        assert_eq!(crate::google::occurrences(&e).len(), 2, "{id}: {}", e["recurrence"]);
        assert_eq!(store_state(&org, id), SeriesState::Cancelled);
    }
    // The four people are paired again as far as their calendars allow (here
    // one new pair: the other two live in New York and Kolkata, without a
    // common working hour), never as the declined pairs.
    let after = active(&org);
    let people: BTreeSet<String> = declined.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    let mut new = 0;
    for event in &after {
        let pair = pair_of(event);
        assert!(!declined.contains(&pair), "{pair:?} was booked again");
        if people.contains(&pair.0) {
            // The rest of the term only: weeks 2 and 3.
            assert_eq!(count_of(event), 2, "{event}");
            new += 1;
        }
    }
    assert!(new >= 1, "nobody was paired again");
    assert!(run.stderr.contains(&format!("booked={new}")), "{}", run.stderr);
    assert_eq!(after.len(), 1 + new);
    assert_eq!(
        run.stderr.matches("INFO liaison::cycle: unpaired").count(),
        4 - 2 * new,
        "{}",
        run.stderr
    );
    assert_eq!(org.check_invariants(), after.len());
    assert_store_matches_calendar(&org);
    let store = Store::open(&org.dir().join("state")).unwrap();
    assert_eq!(store.person(&decliner).unwrap().declines_in_a_row, 1);
}

#[test]
fn repair_declining_pause_after_declines_series_in_a_row_pauses_the_person() {
    let org = org(6);
    let text = std::fs::read_to_string(&org.config).unwrap();
    std::fs::write(&org.config, text + "\n[pairing]\npause_after_declines = 1\n").unwrap();
    run_at(&org, crate::util::NOW);
    let event = active(&org)[0].clone();
    let id = event["id"].as_str().unwrap();
    let (who, partner) = pair_of(&event);
    org.fake.set_response_status(id, &who, "declined", None);
    let run = run_at(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("person paused"), "{}", run.stderr);
    assert!(run.stderr.contains(&who), "{}", run.stderr);
    assert!(active(&org).iter().all(|e| {
        let (a, b) = pair_of(e);
        a != who && b != who
    }));
    let store = Store::open(&org.dir().join("state")).unwrap();
    assert!(store.person(&who).unwrap().paused);
    drop(store);
    let status = org.liaison(&["status"]);
    assert!(
        status.stdout.contains(&format!("<{who}>")) && status.stdout.contains("paused"),
        "{}",
        status.stdout
    );
    // The partner is left unpaired here (everyone else is taken) but not paused.
    assert!(
        !Store::open(&org.dir().join("state"))
            .unwrap()
            .person(&partner)
            .unwrap()
            .paused
    );

    // `paused = false` on the person's entry lifts the pause.
    let text = std::fs::read_to_string(&org.config).unwrap();
    let entry = format!("email = \"{who}\"");
    let text = text.replace(&entry, &format!("{entry}\npaused = false"));
    std::fs::write(&org.config, text).unwrap();
    let run = run_at(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("pause lifted"), "{}", run.stderr);
    assert!(
        !Store::open(&org.dir().join("state"))
            .unwrap()
            .person(&who)
            .unwrap()
            .paused
    );
}

#[test]
fn repair_a_series_a_person_deleted_is_recorded_and_that_pair_never_booked_again_this_term() {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    let before = active(&org);
    let (first, second) = (&before[0], &before[1]);
    let deleted: BTreeSet<(String, String)> = [pair_of(first), pair_of(second)].into();
    for e in [first, second] {
        org.fake.delete_event("primary", e["id"].as_str().unwrap());
    }
    let run = run_at(&org, SATURDAY_WEEK_1);
    assert!(
        run.stderr.contains("series deleted on the calendar by a person"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("cancelled=2"), "{}", run.stderr);
    for e in [first, second] {
        assert_eq!(store_state(&org, e["id"].as_str().unwrap()), SeriesState::Cancelled);
    }
    // The four people are paired again as far as calendars allow, never as
    // the same pairs.
    let after = active(&org);
    assert!(after.len() >= 2, "nobody was paired again");
    assert!(after.iter().all(|e| !deleted.contains(&pair_of(e))));
    // And a later cycle does not bring the deleted pairs back either.
    let run = run_at(&org, "2027-03-27T12:00:00Z");
    assert!(run.stderr.contains("booked=0"), "{}", run.stderr);
    assert_eq!(org.check_invariants(), after.len());
    assert_store_matches_calendar(&org);
}

#[test]
fn repair_no_repair_touches_an_occurrence_inside_min_notice() {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    let series = active(&org)[0].clone();
    let id = series["id"].as_str().unwrap();
    let (who, _) = pair_of(&series);
    org.fake.set_response_status(id, &who, "declined", None);
    let first: jiff::Timestamp = series["start"]["dateTime"].as_str().unwrap().parse().unwrap();
    // 12 hours before the first occurrence: that one is inside the notice and
    // stays; the series ends after it.
    let run = run_at(
        &org,
        &first
            .checked_sub(jiff::SignedDuration::from_hours(12))
            .unwrap()
            .to_string(),
    );
    assert!(run.stderr.contains("series ended early"), "{}", run.stderr);
    let e = event(&org, id);
    let kept = crate::google::occurrences(&e);
    assert_eq!(kept.len(), 1, "{}", e["recurrence"]);
    assert_eq!(kept[0].0, first, "the occurrence inside min_notice was touched");
    assert_eq!(store_state(&org, id), SeriesState::Cancelled);
    // During that occurrence, and after it: nothing more is done to it.
    for now in [
        first.checked_add(jiff::SignedDuration::from_mins(10)).unwrap(),
        first.checked_add(jiff::SignedDuration::from_hours(2)).unwrap(),
    ] {
        org.fake.clear_requests();
        let run = run_at(&org, &now.to_string());
        assert!(run.stderr.contains("cancelled=0"), "{}", run.stderr);
        assert!(
            org.fake
                .requests()
                .iter()
                .all(|r| !(matches!(r.method.as_str(), "PATCH" | "DELETE") && r.path.contains(id))),
            "the ended series was written again"
        );
    }
    assert_eq!(crate::google::occurrences(&event(&org, id)), kept);
    assert_store_matches_calendar(&org);
}

#[test]
fn repair_a_person_removed_from_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series_and_the_partner_is_paired_again(false);
}

#[test]
fn repair_a_person_paused_in_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series_and_the_partner_is_paired_again(true);
}

/// A person leaves (removed from the config, or `paused = true` on their entry):
/// their series is deleted and the partner is paired with the one person who
/// had been left unpaired, for the rest of the term.
fn a_person_leaving_loses_their_series_and_the_partner_is_paired_again(pause: bool) {
    // Seven people: one is left unpaired at first (Unit 0 has two people).
    let org = org(7);
    run_at(&org, crate::util::NOW);
    let before = active(&org);
    assert_eq!(before.len(), 3);
    let paired: BTreeSet<String> = before.iter().flat_map(|e| [pair_of(e).0, pair_of(e).1]).collect();
    let all: Vec<String> = (0..7).map(|i| format!("leader{i:03}@example.org")).collect();
    let single = all.iter().find(|p| !paired.contains(*p)).unwrap().clone();
    let unit = |email: &str| all.iter().position(|p| p == email).unwrap() % 6;
    // A series neither of whose people shares the single person's unit.
    let event = before
        .iter()
        .find(|e| {
            let (a, b) = pair_of(e);
            unit(&a) != unit(&single) && unit(&b) != unit(&single)
        })
        .unwrap()
        .clone();
    let (gone, partner) = pair_of(&event);
    let text = std::fs::read_to_string(&org.config).unwrap();
    let n = all.iter().position(|p| *p == gone).unwrap();
    let entry = text
        .split("\n[[people]]")
        .find(|block| block.contains(&gone))
        .unwrap()
        .to_string();
    let replacement = if pause {
        format!("\n[[people]]{}\npaused = true\n", entry.trim_end())
    } else {
        String::new()
    };
    std::fs::write(&org.config, text.replace(&format!("\n[[people]]{entry}"), &replacement)).unwrap();
    assert_eq!(
        std::fs::read_to_string(&org.config).unwrap().contains(&gone),
        pause,
        "leader {n}"
    );

    let run = run_at(&org, SATURDAY_WEEK_1);
    let why = if pause {
        "is paused"
    } else {
        "no longer in the configuration"
    };
    assert!(
        run.stderr.contains("series ended early") && run.stderr.contains(why),
        "{}",
        run.stderr
    );
    assert_eq!(store_state(&org, event["id"].as_str().unwrap()), SeriesState::Cancelled);
    let after = active(&org);
    assert!(after.iter().all(|e| !pair_of(e).0.eq(&gone) && !pair_of(e).1.eq(&gone)));
    let new = after
        .iter()
        .find(|e| {
            let (a, b) = pair_of(e);
            a == partner || b == partner
        })
        .expect("the partner was not paired again");
    let (a, b) = pair_of(new);
    assert!(a == single || b == single, "{a} & {b}");
    assert_eq!(count_of(new), 2);
    assert_store_matches_calendar(&org);
}

/// A booked organization of six in which the first series' occurrence of week
/// `week` was declined by its first person: (org, the series, its id, the
/// decliner, the declined occurrence).
fn declined_occurrence(week: usize) -> (Org, Value, String, String, (jiff::Timestamp, jiff::Timestamp)) {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    let event = active(&org)[0].clone();
    let id = event["id"].as_str().unwrap().to_string();
    let (a, _) = pair_of(&event);
    let occurrence = crate::google::occurrences(&event)[week];
    org.fake
        .set_response_status(&id, &a, "declined", Some(&occurrence.0.to_string()));
    (org, event, id, a, occurrence)
}

/// The exception events of series `id` on the organizer calendar.
fn exceptions(org: &Org, id: &str) -> Vec<Value> {
    org.fake
        .events(crate::fake_google::DEFAULT_USER)
        .into_iter()
        .filter(|e| e["recurringEventId"] == id)
        .collect()
}

fn start_of(event: &Value) -> jiff::Timestamp {
    event["start"]["dateTime"].as_str().unwrap().parse().unwrap()
}

#[test]
fn repair_a_declined_occurrence_is_moved_to_another_time_free_for_both_that_week() {
    let (org, event, id, a, original) = declined_occurrence(1);
    let event = &event;
    let (_, b) = pair_of(event);
    org.fake.clear_requests();

    let run = run_at(&org, crate::util::NOW);
    let methods: Vec<_> = org.fake.requests().iter().map(|r| r.api_method.clone()).collect();
    eprintln!("moving a declined occurrence: {} requests: {methods:?}", methods.len());
    assert!(run.stderr.contains("declined occurrence moved"), "{}", run.stderr);
    assert!(run.stderr.contains("moved=1"), "{}", run.stderr);
    let moved = exceptions(&org, &id);
    assert_eq!(moved.len(), 1, "{moved:?}");
    let to = start_of(&moved[0]);
    assert_ne!(to, original.0);
    // Same week (Monday to Sunday in the series' zone), and still a valid time
    // for both: the invariant check covers windows, busy time and one per week.
    let zone = jiff::tz::TimeZone::get(event["start"]["timeZone"].as_str().unwrap()).unwrap();
    let monday = |t: jiff::Timestamp| {
        let d = t.to_zoned_datetime(zone.clone()).date();
        d.checked_sub(jiff::Span::new().days(i64::from(d.weekday().to_monday_zero_offset())))
            .unwrap()
    };
    assert_eq!(monday(to), monday(original.0));
    for m in org.members.iter().filter(|m| m.email == a || m.email == b) {
        let end = to.checked_add(jiff::SignedDuration::from_mins(30)).unwrap();
        let local = to.to_zoned_datetime(jiff::tz::TimeZone::get(&m.zone).unwrap());
        assert!(local.time() >= jiff::civil::time(9, 0, 0, 0) && local.time() <= jiff::civil::time(16, 30, 0, 0));
        let buffer = jiff::SignedDuration::from_mins(5);
        for &(s, e) in &m.busy {
            assert!(end <= s.checked_sub(buffer).unwrap() || to >= e.checked_add(buffer).unwrap());
        }
    }
    assert_eq!(store_state(&org, &id), SeriesState::Booked);
    assert_store_matches_calendar(&org);
    // Dealt with once: the next cycle moves nothing.
    let again = run_at(&org, crate::util::NOW);
    assert!(again.stderr.contains("moved=0"), "{}", again.stderr);
    assert_eq!(start_of(&exceptions(&org, &id)[0]), to);
}

#[test]
fn repair_an_occurrence_a_person_moved_is_accepted_as_the_new_time() {
    let org = org(6);
    run_at(&org, crate::util::NOW);
    let series = active(&org);
    let event = &series[0];
    let id = event["id"].as_str().unwrap().to_string();
    let original = crate::google::occurrences(event)[2];
    let zone = event["start"]["timeZone"].as_str().unwrap();
    let new_start = original.0.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    let new_end = original.1.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    let mut exception = event.clone();
    exception.as_object_mut().unwrap().remove("id");
    exception.as_object_mut().unwrap().remove("recurrence");
    exception["recurringEventId"] = Value::String(id.clone());
    exception["originalStartTime"] = serde_json::json!({"dateTime": original.0.to_string(), "timeZone": zone});
    exception["start"] = serde_json::json!({"dateTime": new_start.to_string(), "timeZone": zone});
    exception["end"] = serde_json::json!({"dateTime": new_end.to_string(), "timeZone": zone});
    org.fake.add_event(crate::fake_google::DEFAULT_USER, exception);
    org.fake.clear_requests();

    let run = run_at(&org, crate::util::NOW);
    assert!(
        run.stderr.contains("occurrence moved by a person; accepted"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("moved=0 cancelled=0"), "{}", run.stderr);
    let writes = org
        .fake
        .requests()
        .iter()
        .filter(|r| {
            matches!(r.method.as_str(), "PATCH" | "DELETE" | "POST" | "PUT")
                && r.api_method.as_deref() != Some("calendar.freebusy.query")
        })
        .count();
    assert_eq!(writes, 0, "liaison changed the calendar after a person's move");
    assert_eq!(start_of(&exceptions(&org, &id)[0]), new_start);
    assert_eq!(store_state(&org, &id), SeriesState::Booked);
}

#[test]
fn repair_a_declined_occurrence_inside_min_notice_is_not_touched() {
    let (org, _, id, _, first) = declined_occurrence(0);
    org.fake.clear_requests();
    let twelve_hours_before = first
        .0
        .checked_sub(jiff::SignedDuration::from_hours(12))
        .unwrap()
        .to_string();
    let run = run_at(&org, &twelve_hours_before);
    assert!(
        run.stderr.contains("not moved: it starts inside min_notice"),
        "{}",
        run.stderr
    );
    assert!(
        org.fake
            .requests()
            .iter()
            .all(|r| r.method != "PATCH" && r.method != "DELETE")
    );
    let exception = &exceptions(&org, &id)[0];
    assert_eq!(start_of(exception), first.0);
}

#[test]
fn repair_a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over() {
    let org = org(121);
    run_at(&org, crate::util::NOW);
    org.fake.clear_requests();
    let run = run_at(&org, SATURDAY_WEEK_1);
    let requests = org.fake.requests();
    eprintln!("quiet cycle, 121 people (one unpaired): {} requests", requests.len());
    assert!(requests.len() <= 3, "{} requests: {}", requests.len(), run.stderr);
    // The one person without a series this term: 121 people make 60 pairs.
    let paired: BTreeSet<String> = active(&org)
        .iter()
        .flat_map(|e| {
            let (a, b) = pair_of(e);
            [a, b]
        })
        .collect();
    assert_eq!(paired.len(), 120, "{}", run.stderr);
    let left_over: Vec<&str> = org
        .members
        .iter()
        .map(|m| m.email.as_str())
        .filter(|e| !paired.contains(*e))
        .collect();
    assert_eq!(left_over.len(), 1, "{left_over:?}");
    // Exactly one free/busy read, for that person only (none at all would
    // mean the left-over person was never tried again).
    let reads: Vec<Value> = requests
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.freebusy.query"))
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(reads.len(), 1, "free/busy reads: {reads:?}\n{}", run.stderr);
    let items: Vec<&str> = reads[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(items, left_over, "free/busy read for people already booked");
}

#[test]
fn repair_a_series_is_not_cancelled_while_a_moved_occurrence_is_inside_min_notice() {
    let (org, _, id, a, original) = declined_occurrence(1);
    run_at(&org, crate::util::NOW);
    let to = start_of(&exceptions(&org, &id)[0]);
    // Discriminating only if the rule alone would allow the cancellation.
    assert!(
        (to.duration_since(original.0)).abs() > jiff::SignedDuration::from_hours(12),
        "moved too little"
    );

    // The person leaves while the moved occurrence is 12 hours away.
    let text = std::fs::read_to_string(&org.config).unwrap();
    let entry = text
        .split("\n[[people]]")
        .find(|block| block.contains(&a))
        .unwrap()
        .to_string();
    let paused = format!("\n[[people]]{}\npaused = true\n", entry.trim_end());
    std::fs::write(&org.config, text.replace(&format!("\n[[people]]{entry}"), &paused)).unwrap();
    org.fake.clear_requests();
    let twelve_hours_before = to
        .checked_sub(jiff::SignedDuration::from_hours(12))
        .unwrap()
        .to_string();
    let run = run_at(&org, &twelve_hours_before);
    assert!(run.stderr.contains("inside min_notice"), "{}", run.stderr);
    assert!(
        org.fake.requests().iter().all(|r| r.method != "DELETE"),
        "a meeting 12 hours away was deleted"
    );
    assert_eq!(store_state(&org, &id), SeriesState::Booked);
}

#[test]
fn repair_a_move_that_keeps_failing_in_passing_does_not_block_booking_and_is_tried_again() {
    let (org, _, id, _, original) = declined_occurrence(1);
    // Two newcomers wait for a partner while the move fails.
    let mut text = std::fs::read_to_string(&org.config).unwrap();
    for (email, unit) in [("new1@example.org", "Unit 7"), ("new2@example.org", "Unit 8")] {
        org.fake.add_calendar(email, "Europe/London");
        text.push_str(&format!(
            "\n[[people]]\nemail = \"{email}\"\nname = \"{email}\"\nunit = \"{unit}\"\ntimezone = \"Europe/London\"\n"
        ));
    }
    std::fs::write(&org.config, text).unwrap();
    // Every attempt of the one move call fails with a server error.
    org.fake.fail_method("events.patch", 12, 503, "backendError");
    let run = run_at(&org, crate::util::NOW);
    assert!(
        run.stderr
            .contains("declined occurrence not moved; tried again next cycle"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("booked=1 ") && run.stderr.contains("moved=0"),
        "{}",
        run.stderr
    );
    assert!(
        active(&org)
            .iter()
            .any(|e| pair_of(e) == ("new1@example.org".into(), "new2@example.org".into())),
        "the newcomers were not booked"
    );
    assert!(exceptions(&org, &id).iter().all(|e| start_of(e) == original.0));
    // The next cycle reads the same change again and moves it.
    let run = run_at(&org, crate::util::NOW);
    assert!(
        run.stderr.contains("declined occurrence moved") && run.stderr.contains("moved=1"),
        "{}",
        run.stderr
    );
    assert_ne!(start_of(&exceptions(&org, &id)[0]), original.0);
    assert_store_matches_calendar(&org);
}

//! Repairs (DESIGN §4 "Repair"): what liaison does on the next cycle when
//! people decline, delete, move or leave, against the fake Google and the
//! fake Graph, which change answers, delete events and move occurrences as a
//! person would. Each rule is one function over [`TestOrg`], run once per
//! provider; each shows the calendar, the store and the log line after the
//! next cycle.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use liaison::store::{SeriesState, Store};

use crate::twins::{
    Call, Series, TestOrg, active, api_calls, append_config, assert_store_matches_calendar, edit_person, find,
    free_busy_reads, liaison, pause_in_config, run_at, store_state,
};
use crate::util::{NOW, SATURDAY_WEEK_1};
use crate::{google, microsoft};

fn people_of(series: &[Series]) -> BTreeSet<String> {
    series
        .iter()
        .flat_map(|s| [s.pair.0.clone(), s.pair.1.clone()])
        .collect()
}

fn involves(series: &Series, who: &str) -> bool {
    series.pair.0 == who || series.pair.1 == who
}

#[test]
fn repair_a_quiet_cycle_reads_changes_with_a_sync_token_in_at_most_three_requests() {
    let org = google::Org::authorized(6);
    run_at(&org, NOW);
    assert_eq!(active(&org).len(), 3);
    org.clear_requests();
    let run = run_at(&org, SATURDAY_WEEK_1);
    let calls = org.calls();
    eprintln!("quiet cycle: {} requests: {calls:?}", calls.len());
    assert!(calls.len() <= 3, "{} requests in a quiet cycle", calls.len());
    let lists: Vec<&Call> = calls.iter().filter(|c| matches!(c, Call::Changes { .. })).collect();
    assert_eq!(
        lists,
        [&Call::Changes { incremental: true }],
        "the list used the sync token"
    );
    assert!(
        run.stderr.contains("booked=0 kept=3 moved=0 cancelled=0"),
        "{}",
        run.stderr
    );

    // An expired token (410) means one full read, and nothing is booked twice.
    org.fake.invalidate_sync_tokens();
    org.clear_requests();
    let run = run_at(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("sync token expired"), "{}", run.stderr);
    assert!(run.stderr.contains("booked=0 kept=3"), "{}", run.stderr);
    assert_eq!(org.invariants(), 3);
    assert_store_matches_calendar(&org);
}

/// Two series are declined, by a person each: both end after their held
/// weeks, and their four people are paired again for the rest of the term.
fn a_declined_series_is_ended_and_both_people_paired_again(org: &impl TestOrg) {
    run_at(org, NOW);
    let before = active(org);
    assert_eq!(before.len(), 3);
    let (first, second) = (&before[0], &before[1]);
    let declined: BTreeSet<(String, String)> = [first.pair.clone(), second.pair.clone()].into();
    let decliner = first.pair.0.clone();
    org.decline(first, &decliner, None);
    org.decline(second, &second.pair.1, None);
    org.clear_requests();

    let run = run_at(org, SATURDAY_WEEK_1);
    eprintln!("two declined series: {} requests", org.calls().len());
    assert!(
        run.stderr.contains("series ended early") && run.stderr.contains(&format!("declined by {decliner}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("cancelled=2"), "{}", run.stderr);
    for s in [first, second] {
        // Weeks 0 and 1 took place and stay; weeks 2 and 3 are gone.
        let now = find(org, &s.key);
        assert!(now.ended, "{} was deleted, erasing what took place", s.key);
        assert_eq!(now.occurrences, s.occurrences[..2], "{}", s.key);
        assert_eq!(store_state(org, &s.key), SeriesState::Cancelled);
    }
    // The four people are paired again as far as their calendars allow (here
    // one new pair: the other two live in New York and Kolkata, without a
    // common working hour), never as the declined pairs.
    let after = active(org);
    let people = people_of(&[first.clone(), second.clone()]);
    let mut new = 0;
    for s in &after {
        assert!(!declined.contains(&s.pair), "{:?} was booked again", s.pair);
        if people.contains(&s.pair.0) {
            assert_eq!(s.occurrences.len(), 2, "the rest of the term only: {s:?}");
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
    assert_eq!(org.invariants(), after.len());
    assert_store_matches_calendar(org);
    let store = Store::open(&org.dir().join("state")).unwrap();
    assert_eq!(store.person(&decliner).unwrap().declines_in_a_row, 1);
}

#[test]
fn repair_a_declined_series_is_cancelled_and_both_people_are_paired_again_for_the_rest_of_the_term() {
    a_declined_series_is_ended_and_both_people_paired_again(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_a_declined_series_is_ended_after_the_held_weeks_and_both_people_are_paired_again() {
    a_declined_series_is_ended_and_both_people_paired_again(&microsoft::Org::authorized(6));
}

/// With `pause_after_declines = 1`, one declined series pauses its decliner;
/// `paused = false` on their entry lifts the pause.
fn declining_pauses_the_person(org: &impl TestOrg) {
    append_config(org, "\n[pairing]\npause_after_declines = 1\n");
    run_at(org, NOW);
    let series = active(org)[0].clone();
    let (who, partner) = series.pair.clone();
    org.decline(&series, &who, None);
    let run = run_at(org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("person paused"), "{}", run.stderr);
    assert!(run.stderr.contains(&who), "{}", run.stderr);
    assert!(active(org).iter().all(|s| !involves(s, &who)));
    let paused = |email: &str| {
        Store::open(&org.dir().join("state"))
            .unwrap()
            .person(email)
            .unwrap()
            .paused
    };
    assert!(paused(&who));
    let status = liaison(org, &["status"]);
    assert!(
        status.stdout.contains(&format!("<{who}>")) && status.stdout.contains("paused"),
        "{}",
        status.stdout
    );
    // The partner is left unpaired here (everyone else is taken) but not paused.
    assert!(!paused(&partner));

    // `paused = false` on the person's entry lifts the pause.
    edit_person(org, &who, |entry| format!("{}\npaused = false\n", entry.trim_end()));
    let run = run_at(org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("pause lifted"), "{}", run.stderr);
    assert!(!paused(&who));
}

#[test]
fn repair_declining_pause_after_declines_series_in_a_row_pauses_the_person() {
    declining_pauses_the_person(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_declining_pause_after_declines_series_in_a_row_pauses_the_person() {
    declining_pauses_the_person(&microsoft::Org::authorized(6));
}

/// `n` series are deleted by a person: recorded, never booked again this
/// term; their people are paired again as far as calendars allow.
fn a_deleted_series_is_recorded_and_never_booked_again(org: &impl TestOrg, n: usize) {
    run_at(org, NOW);
    let before = active(org);
    let gone: Vec<Series> = before[..n].to_vec();
    let deleted: BTreeSet<(String, String)> = gone.iter().map(|s| s.pair.clone()).collect();
    for s in &gone {
        org.delete(s);
    }
    let run = run_at(org, SATURDAY_WEEK_1);
    // Google names the deleted series; Graph names only its removed
    // occurrences, and the full read that follows misses the series.
    assert!(
        run.stderr.contains("series deleted on the calendar by a person")
            || run
                .stderr
                .contains("series missing from a full read of the calendar; recorded as deleted by a person"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("cancelled={n}")), "{}", run.stderr);
    for s in &gone {
        assert_eq!(store_state(org, &s.key), SeriesState::Cancelled);
    }
    let after = active(org);
    assert!(after.len() >= before.len() - n, "a kept series went");
    assert!(after.iter().all(|s| !deleted.contains(&s.pair)));
    // And a later cycle does not bring the deleted pairs back either.
    let run = run_at(org, "2027-03-27T12:00:00Z");
    assert!(run.stderr.contains("booked=0"), "{}", run.stderr);
    assert_eq!(org.invariants(), after.len());
    assert!(active(org).iter().all(|s| !deleted.contains(&s.pair)));
    assert_store_matches_calendar(org);
}

#[test]
fn repair_a_series_a_person_deleted_is_recorded_and_that_pair_never_booked_again_this_term() {
    let org = google::Org::authorized(6);
    a_deleted_series_is_recorded_and_never_booked_again(&org, 2);
    assert!(active(&org).len() >= 2, "nobody was paired again");
}

#[test]
fn microsoft_repair_a_series_a_person_deleted_is_recorded_and_that_pair_not_booked_again() {
    a_deleted_series_is_recorded_and_never_booked_again(&microsoft::Org::authorized(12), 1);
}

/// A declined series whose first occurrence is 12 hours away: that one
/// stays, the series ends after it, and nothing more is done to it during
/// and after it.
fn nothing_inside_min_notice_is_touched(org: &impl TestOrg) {
    run_at(org, NOW);
    let series = active(org)[0].clone();
    let (who, _) = series.pair.clone();
    org.decline(&series, &who, None);
    let first = series.occurrences[0].0;
    let run = run_at(
        org,
        &first.checked_sub(SignedDuration::from_hours(12)).unwrap().to_string(),
    );
    assert!(run.stderr.contains("series ended early"), "{}", run.stderr);
    let kept = find(org, &series.key).occurrences;
    assert_eq!(
        kept,
        series.occurrences[..1],
        "the occurrence inside min_notice was touched"
    );
    assert_eq!(store_state(org, &series.key), SeriesState::Cancelled);
    for now in [
        first.checked_add(SignedDuration::from_mins(10)).unwrap(),
        first.checked_add(SignedDuration::from_hours(2)).unwrap(),
    ] {
        org.clear_requests();
        let run = run_at(org, &now.to_string());
        assert!(run.stderr.contains("cancelled=0"), "{}", run.stderr);
        assert_eq!(
            org.writes_to(&series),
            Vec::<String>::new(),
            "the ended series was written again"
        );
    }
    assert_eq!(find(org, &series.key).occurrences, kept);
    assert_store_matches_calendar(org);
}

#[test]
fn repair_no_repair_touches_an_occurrence_inside_min_notice() {
    nothing_inside_min_notice_is_touched(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_no_repair_touches_an_occurrence_inside_min_notice() {
    nothing_inside_min_notice_is_touched(&microsoft::Org::authorized(6));
}

#[test]
fn repair_a_person_removed_from_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series(&google::Org::authorized(7), false);
}

#[test]
fn repair_a_person_paused_in_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series(&google::Org::authorized(7), true);
}

#[test]
fn microsoft_repair_a_person_removed_from_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series(&microsoft::Org::authorized(7), false);
}

#[test]
fn microsoft_repair_a_person_paused_in_the_config_loses_their_series_and_the_partner_is_paired_again() {
    a_person_leaving_loses_their_series(&microsoft::Org::authorized(7), true);
}

/// A person leaves (removed from the config, or `paused = true` on their
/// entry) of seven (one left unpaired at first: Unit 0 has two people):
/// their series ends and the partner is paired with the one person who had
/// been left unpaired, for the rest of the term.
fn a_person_leaving_loses_their_series(org: &impl TestOrg, pause: bool) {
    run_at(org, NOW);
    let before = active(org);
    assert_eq!(before.len(), 3);
    let paired = people_of(&before);
    let unit = |email: &str| org.members().iter().find(|m| m.email == email).unwrap().unit.clone();
    let single = org
        .members()
        .iter()
        .find(|m| !paired.contains(&m.email))
        .unwrap()
        .email
        .clone();
    // A series neither of whose people shares the single person's unit.
    let series = before
        .iter()
        .find(|s| unit(&s.pair.0) != unit(&single) && unit(&s.pair.1) != unit(&single))
        .unwrap()
        .clone();
    let (gone, partner) = series.pair.clone();
    if pause {
        pause_in_config(org, &gone);
    } else {
        edit_person(org, &gone, |_| String::new());
    }
    assert_eq!(std::fs::read_to_string(org.config()).unwrap().contains(&gone), pause);

    let run = run_at(org, SATURDAY_WEEK_1);
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
    assert_eq!(store_state(org, &series.key), SeriesState::Cancelled);
    let after = active(org);
    assert!(after.iter().all(|s| !involves(s, &gone)));
    let new = after
        .iter()
        .find(|s| involves(s, &partner))
        .expect("the partner was not paired again");
    assert!(involves(new, &single), "{:?}", new.pair);
    assert_eq!(new.occurrences.len(), 2);
    assert_store_matches_calendar(org);
}

/// Books at `now`; the first series' first person declines its occurrence
/// of week `week`: (the series, the decliner, the declined occurrence).
fn declined_occurrence(org: &impl TestOrg, week: usize, now: &str) -> (Series, String, (Timestamp, Timestamp)) {
    run_at(org, now);
    let series = active(org)[0].clone();
    let who = series.pair.0.clone();
    let occurrence = series.occurrences[week];
    org.decline(&series, &who, Some(occurrence.0));
    (series, who, occurrence)
}

/// The week of the term `at` falls in (weeks start on Mondays, UTC dates:
/// every working window here is inside one UTC day).
fn week_of(org: &impl TestOrg, at: Timestamp) -> i32 {
    org.first_term()
        .until(at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
        .unwrap()
        .get_days()
        .div_euclid(7)
}

/// At `now` (before the term): a declined occurrence of week 1 is moved to
/// another time free for both that week, once.
pub fn a_declined_occurrence_is_moved(org: &impl TestOrg, now: &str) {
    let (series, a, original) = declined_occurrence(org, 1, now);
    let b = series.pair.1.clone();
    org.clear_requests();

    let run = run_at(org, now);
    eprintln!("moving a declined occurrence: {} requests", org.calls().len());
    assert!(run.stderr.contains("declined occurrence moved"), "{}", run.stderr);
    assert!(run.stderr.contains("moved=1"), "{}", run.stderr);
    let to = org.start_of(&series, original.0);
    assert_ne!(to, original.0);
    let others: Vec<_> = series.occurrences.iter().filter(|o| **o != original).collect();
    assert!(
        others.iter().all(|o| org.start_of(&series, o.0) == o.0),
        "another occurrence moved"
    );
    assert_eq!(week_of(org, to), week_of(org, original.0), "moved out of its week");
    // Still a valid time for both: inside both windows, clear of busy time.
    let end = to.checked_add(original.1.duration_since(original.0)).unwrap();
    for m in org.members().iter().filter(|m| m.email == a || m.email == b) {
        let local = to.to_zoned_datetime(jiff::tz::TimeZone::get(&m.zone).unwrap());
        assert!(local.time() >= jiff::civil::time(9, 0, 0, 0) && local.time() <= jiff::civil::time(16, 30, 0, 0));
        let buffer = SignedDuration::from_mins(5);
        for &(s, e) in &m.busy {
            assert!(end <= s.checked_sub(buffer).unwrap() || to >= e.checked_add(buffer).unwrap());
        }
    }
    assert_eq!(store_state(org, &series.key), SeriesState::Booked);
    assert_store_matches_calendar(org);
    org.invariants();
    // Dealt with once: the next cycle moves nothing.
    let again = run_at(org, now);
    assert!(again.stderr.contains("moved=0"), "{}", again.stderr);
    assert_eq!(org.start_of(&series, original.0), to);
}

#[test]
fn repair_a_declined_occurrence_is_moved_to_another_time_free_for_both_that_week() {
    a_declined_occurrence_is_moved(&google::Org::authorized(6), NOW);
}

#[test]
fn microsoft_repair_a_declined_occurrence_is_moved_to_another_time_free_for_both_that_week() {
    a_declined_occurrence_is_moved(&microsoft::Org::authorized(6), NOW);
}

/// A person moves an occurrence an hour later: liaison accepts it and
/// writes nothing.
fn an_occurrence_a_person_moved_is_accepted(org: &impl TestOrg) {
    run_at(org, NOW);
    let series = active(org)[0].clone();
    let original = series.occurrences[2];
    let hour = SignedDuration::from_hours(1);
    let to = (
        original.0.checked_add(hour).unwrap(),
        original.1.checked_add(hour).unwrap(),
    );
    org.person_moves(&series, original.0, to);
    org.clear_requests();

    let run = run_at(org, NOW);
    assert!(
        run.stderr.contains("occurrence moved by a person; accepted"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("moved=0 cancelled=0"), "{}", run.stderr);
    let writes: Vec<Call> = org
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Create | Call::Change(_) | Call::Delete(_)))
        .collect();
    assert_eq!(writes, [], "liaison changed the calendar after a person's move");
    assert_eq!(org.start_of(&series, original.0), to.0);
    assert_eq!(store_state(org, &series.key), SeriesState::Booked);
}

#[test]
fn repair_an_occurrence_a_person_moved_is_accepted_as_the_new_time() {
    an_occurrence_a_person_moved_is_accepted(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_an_occurrence_a_person_moved_is_accepted_as_the_new_time() {
    an_occurrence_a_person_moved_is_accepted(&microsoft::Org::authorized(6));
}

/// 12 hours before a declined first occurrence: not moved, nothing written.
fn a_declined_occurrence_inside_min_notice_is_not_touched(org: &impl TestOrg) {
    let (series, _, first) = declined_occurrence(org, 0, NOW);
    org.clear_requests();
    let twelve_hours_before = first.0.checked_sub(SignedDuration::from_hours(12)).unwrap();
    let run = run_at(org, &twelve_hours_before.to_string());
    assert!(
        run.stderr.contains("not moved: it starts inside min_notice"),
        "{}",
        run.stderr
    );
    assert!(
        org.calls()
            .iter()
            .all(|c| !matches!(c, Call::Change(_) | Call::Delete(_))),
        "{:?}",
        org.calls()
    );
    assert_eq!(org.start_of(&series, first.0), first.0);
}

#[test]
fn repair_a_declined_occurrence_inside_min_notice_is_not_touched() {
    a_declined_occurrence_inside_min_notice_is_not_touched(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_a_declined_occurrence_inside_min_notice_is_not_touched() {
    a_declined_occurrence_inside_min_notice_is_not_touched(&microsoft::Org::authorized(6));
}

/// 121 people make 60 pairs: the cycle right after the one that booked
/// them is quiet, makes at most 3 requests, and reads free/busy only for
/// the one left over.
fn a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over(org: &impl TestOrg) {
    run_at(org, NOW);
    org.clear_requests();
    let run = run_at(org, SATURDAY_WEEK_1);
    let calls = api_calls(&org.calls());
    eprintln!("quiet cycle, 121 people (one unpaired): {} requests", calls.len());
    assert!(calls.len() <= 3, "{} requests: {calls:?}\n{}", calls.len(), run.stderr);
    // The one person without a series this term: 121 people make 60 pairs.
    let paired = people_of(&active(org));
    assert_eq!(paired.len(), 120, "{}", run.stderr);
    let left_over: Vec<String> = org
        .members()
        .iter()
        .map(|m| m.email.clone())
        .filter(|e| !paired.contains(e))
        .collect();
    assert_eq!(left_over.len(), 1, "{left_over:?}");
    // Exactly one free/busy read, for that person only (none at all would
    // mean the left-over person was never tried again).
    assert_eq!(
        free_busy_reads(&calls),
        [left_over],
        "free/busy read for people already booked\n{}",
        run.stderr
    );
}

#[test]
fn repair_a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over() {
    a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over(&google::Org::authorized(121));
}

#[test]
fn microsoft_repair_a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over() {
    a_quiet_cycle_of_121_people_reads_free_busy_only_for_the_one_left_over(&microsoft::Org::authorized(121));
}

/// A declined occurrence was moved; its person leaves while the moved
/// occurrence is 12 hours away: the series is not cancelled.
fn no_cancel_while_a_moved_occurrence_is_inside_min_notice(org: &impl TestOrg) {
    let (series, a, original) = declined_occurrence(org, 1, NOW);
    run_at(org, NOW);
    let to = org.start_of(&series, original.0);
    // Discriminating only if the rule alone would allow the cancellation.
    assert!(
        to.duration_since(original.0).abs() > SignedDuration::from_hours(12),
        "moved too little"
    );
    pause_in_config(org, &a);
    org.clear_requests();
    let twelve_hours_before = to.checked_sub(SignedDuration::from_hours(12)).unwrap();
    let run = run_at(org, &twelve_hours_before.to_string());
    assert!(run.stderr.contains("inside min_notice"), "{}", run.stderr);
    let deletions: Vec<Call> = org
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Delete(_)))
        .collect();
    assert_eq!(deletions, [], "a meeting 12 hours away was deleted");
    assert_eq!(store_state(org, &series.key), SeriesState::Booked);
}

#[test]
fn repair_a_series_is_not_cancelled_while_a_moved_occurrence_is_inside_min_notice() {
    no_cancel_while_a_moved_occurrence_is_inside_min_notice(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_a_series_is_not_cancelled_while_a_moved_occurrence_is_inside_min_notice() {
    no_cancel_while_a_moved_occurrence_is_inside_min_notice(&microsoft::Org::authorized(6));
}

/// Every attempt to move a declined occurrence fails with a server error:
/// the cycle still books two newcomers, and the next cycle moves it.
fn a_move_that_keeps_failing_does_not_block_booking(org: &impl TestOrg) {
    let (series, _, original) = declined_occurrence(org, 1, NOW);
    for (email, unit) in [("new1@example.org", "Unit 7"), ("new2@example.org", "Unit 8")] {
        org.add_calendar(email, "Europe/London");
        append_config(
            org,
            &format!(
                "\n[[people]]\nemail = \"{email}\"\nname = \"{email}\"\nunit = \"{unit}\"\ntimezone = \"Europe/London\"\n"
            ),
        );
    }
    // Every attempt of the one move call fails (the retries of the binary's
    // test timing included).
    org.fail_moves(12);
    let run = run_at(org, NOW);
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
    let newcomers = ("new1@example.org".to_string(), "new2@example.org".to_string());
    assert!(
        active(org).iter().any(|s| s.pair == newcomers),
        "the newcomers were not booked"
    );
    assert_eq!(org.start_of(&series, original.0), original.0);
    // The next cycle reads the same change again and moves it.
    let run = run_at(org, NOW);
    assert!(
        run.stderr.contains("declined occurrence moved") && run.stderr.contains("moved=1"),
        "{}",
        run.stderr
    );
    assert_ne!(org.start_of(&series, original.0), original.0);
    assert_store_matches_calendar(org);
}

#[test]
fn repair_a_move_that_keeps_failing_in_passing_does_not_block_booking_and_is_tried_again() {
    a_move_that_keeps_failing_does_not_block_booking(&google::Org::authorized(6));
}

#[test]
fn microsoft_repair_a_move_that_keeps_failing_in_passing_does_not_block_booking_and_is_tried_again() {
    a_move_that_keeps_failing_does_not_block_booking(&microsoft::Org::authorized(6));
}

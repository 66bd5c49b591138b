//! Who may meet whom (units, focus, zones, exclusions) and why the others
//! are left unpaired.

use super::*;

#[test]
fn focus_mode_pairs_only_with_focus_people() {
    let people: Vec<Person> = (0..6)
        .map(|i| person(&format!("p{i}@x.org"), &format!("U{i}"), "UTC"))
        .collect();
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.rules.focus = vec!["p0@x.org".into(), "p1@x.org".into()];
    let plan = case.plan();
    assert_eq!(plan.pairs.len(), 2);
    for pair in &plan.pairs {
        assert!(pair.a <= 1 || pair.b <= 1);
    }
    // The two others, each with the reason (an empty list would pass `all`).
    assert_eq!(plan.unpaired.len(), 2);
    assert!(plan.unpaired.iter().all(|u| u.reason == UnpairedReason::NotInFocus));
    // The bound that proves the size maximum counts the focus people: two
    // pairs at most, and the plan (full graph or grown from blocks) has them.
    assert_eq!(plan.stats.max_pairs_bound, 2);
    assert_eq!(case.plan_blocks().pairs.len(), 2);
}

#[test]
fn same_unit_pairs_are_allowed_when_cross_unit_only_is_off() {
    let mut case = Case::new(
        vec![person("a@x.org", "A", "UTC"), person("b@x.org", "A", "UTC")],
        date(2027, 3, 8),
        4,
    );
    assert!(case.plan().pairs.is_empty());
    assert_eq!(case.plan().unpaired[0].reason, UnpairedReason::NoOtherUnit);
    case.rules.cross_unit_only = false;
    assert_eq!(case.plan().pairs.len(), 1);
}

#[test]
fn every_unpaired_person_gets_a_reason() {
    let mut paused = person("paused@x.org", "A", "UTC");
    paused.paused = true;
    let people = vec![
        paused,
        person("broken@x.org", "B", "UTC"),
        // Their working hours never overlap: 09-17 in Los Angeles and in Kolkata.
        person("la@x.org", "C", "America/Los_Angeles"),
        person("in@x.org", "D", "Asia/Kolkata"),
        person("booked@x.org", "E", "UTC"),
    ];
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.busy.insert("broken@x.org".into(), Err("notFound".into()));
    case.booked.insert("booked@x.org".into());
    let plan = case.plan();
    assert!(plan.pairs.is_empty());
    let reasons: BTreeMap<String, UnpairedReason> = plan
        .unpaired
        .iter()
        .map(|u| (case.people[u.person].email.clone(), u.reason.clone()))
        .collect();
    assert_eq!(reasons["paused@x.org"], UnpairedReason::Paused);
    assert_eq!(
        reasons["broken@x.org"],
        UnpairedReason::CalendarUnavailable("notFound".into())
    );
    assert_eq!(reasons["la@x.org"], UnpairedReason::NoCommonSlot);
    assert_eq!(reasons["in@x.org"], UnpairedReason::NoCommonSlot);
    assert!(
        !reasons.contains_key("booked@x.org"),
        "a booked person is kept, not unpaired"
    );
}

#[test]
fn away_every_working_day_of_the_term_is_its_own_reason_and_not_a_wait() {
    let mut away = person("away@x.org", "A", "UTC");
    let mut some = person("some@x.org", "A", "UTC");
    let term = Term::nth(date(2027, 3, 8), 4, 0).unwrap();
    let days: Vec<_> = (0..28)
        .map(|d| term.start.checked_add(jiff::Span::new().days(d)).unwrap())
        .collect();
    // Away on every weekday they work (the weekends are not working days).
    away.away = days
        .iter()
        .copied()
        .filter(|d| away.days.contains(&d.weekday()))
        .collect();
    // Away on all but one working day: unpaired for lack of a slot, a wait.
    some.away = away.away[1..].to_vec();
    let mut case = Case::new(vec![away, some, person("b@x.org", "B", "UTC")], date(2027, 3, 8), 4);
    case.history.waited.insert("away@x.org".into(), 3);
    case.history.waited.insert("b@x.org".into(), 2);
    let plan = case.plan();
    let got: BTreeMap<String, (UnpairedReason, u32)> = plan
        .unpaired
        .iter()
        .map(|u| (case.people[u.person].email.clone(), (u.reason.clone(), u.waited)))
        .collect();
    assert_eq!(got["away@x.org"], (UnpairedReason::Away, 0), "away is not a wait");
    assert_eq!(got["some@x.org"], (UnpairedReason::NoFreeTime, 1), "a first wait");
    assert_eq!(
        got["b@x.org"],
        (UnpairedReason::NoOtherUnit, 3),
        "two before, and this one"
    );
    assert!(plan.pairs.is_empty());
}

#[test]
fn a_term_past_its_last_bookable_week_says_so() {
    let mut case = Case::new(
        vec![person("a@x.org", "A", "UTC"), person("b@x.org", "B", "UTC")],
        date(2027, 3, 8),
        4,
    );
    // With 24 h of notice, nothing before Monday 2027-04-05 01:00 is bookable:
    // the term's last slot (Sunday 23:45) is gone.
    case.now = "2027-04-04T01:00:00Z".parse().unwrap();
    let plan = case.plan();
    assert!(plan.pairs.is_empty());
    assert_eq!(plan.unpaired.len(), 2);
    assert!(plan.unpaired.iter().all(|u| u.reason == UnpairedReason::NoBookableWeek));
}

#[test]
fn a_person_busy_all_term_has_no_free_time() {
    let mut case = Case::new(
        vec![person("a@x.org", "A", "UTC"), person("b@x.org", "B", "UTC")],
        date(2027, 3, 8),
        4,
    );
    let all: Interval = Interval::new(
        "2027-03-01T00:00:00Z".parse().unwrap(),
        "2027-04-30T00:00:00Z".parse().unwrap(),
    );
    case.set_busy("a@x.org", vec![all]);
    let plan = case.plan();
    assert_eq!(
        plan.unpaired.iter().find(|u| u.person == 0).map(|u| &u.reason),
        Some(&UnpairedReason::NoFreeTime)
    );
}

#[test]
fn every_unpaired_reason_reads_as_a_sentence_for_status_and_plan() {
    // These texts are what `plan` and `status` print after a person's name.
    let table = [
        (UnpairedReason::Paused, "paused"),
        (UnpairedReason::Away, "away every working day of the term"),
        (
            UnpairedReason::CalendarUnavailable("403 from freeBusy".to_string()),
            "calendar unavailable: 403 from freeBusy",
        ),
        (
            UnpairedReason::NoBookableWeek,
            "no week of this term is left beyond the minimum notice",
        ),
        (
            UnpairedReason::NoFreeTime,
            "no free time in the working window in every week of the term",
        ),
        (
            UnpairedReason::NoOtherUnit,
            "no active person with free time in another unit",
        ),
        (
            UnpairedReason::NoCommonSlot,
            "no weekly slot free for both with any possible partner",
        ),
        (
            UnpairedReason::PartnersTaken,
            "every possible partner is paired with someone else",
        ),
        (UnpairedReason::NotInFocus, "no focus person left to pair with"),
    ];
    for (reason, text) in table {
        assert_eq!(reason.to_string(), text);
    }
}

#[test]
fn a_pair_whose_only_common_time_is_on_the_wall_clock_of_the_second_zone_is_paired() {
    // Between the US change (14 March) and the European one (28 March) New
    // York is 4 hours behind London, 5 before and after. n works 09:00-11:00
    // New York time, l 14:00-14:30 London time: 14:00 London is 09:00 or
    // 10:00 in New York, inside n's hours, but no New York wall time is
    // 14:00 London in every week. Only London's grid has the slot, whichever
    // of the two comes first.
    for (n_email, l_email) in [("a@x.org", "b@x.org"), ("b@x.org", "a@x.org")] {
        let mut n = person(n_email, "A", "America/New_York");
        n.hours = window(9, 0, 11, 0);
        let mut l = person(l_email, "B", "Europe/London");
        l.hours = window(14, 0, 14, 30);
        let case = Case::new(vec![n, l], date(2027, 3, 8), 4);
        for plan in [case.plan(), case.plan_sparse()] {
            case.check_invariants(&plan);
            assert_eq!(plan.pairs.len(), 1, "{n_email} in New York: {plan:?}");
            let pair = &plan.pairs[0];
            assert_eq!(pair.zone_name, "Europe/London");
            assert_eq!(pair.time, time(14, 0, 0, 0));
        }
    }
}

#[test]
fn a_witness_that_cannot_be_the_partner_leaves_the_others_to_be_tried() {
    // a and b1 (Monday workers) cannot meet: in the first case a is away in
    // weeks 1 and 2 and b1 in weeks 3 and 4, so they would lose every week;
    // in the second their pair is excluded. b1 comes first in every slot,
    // and only b2 (unit B, Mondays, never away) can meet a. b1 lives in a
    // second zone with the same clock: two grids, so that whether a person
    // skips any week must be read across all of their grids.
    let mut away = monday_people(["UTC", "Africa/Abidjan"]);
    away[0].away = vec![date(2027, 3, 8), date(2027, 3, 15)];
    away[1].email = "b1@x.org".into();
    away[1].away = vec![date(2027, 3, 22), date(2027, 3, 29)];
    let away = Case::new(away, date(2027, 3, 8), 4);
    let mut excluded = monday_people(["UTC", "UTC"]);
    excluded[1].email = "b1@x.org".into();
    let mut excluded = Case::new(excluded, date(2027, 3, 8), 4);
    excluded.excluded.insert(sorted("a@x.org", "b1@x.org"));
    for mut case in [away, excluded] {
        let found = with_candidates(&case);
        assert_eq!((found["a@x.org"], found["b1@x.org"]), (false, false));
        assert!(case.plan().pairs.is_empty());
        let mut b2 = person("b2@x.org", "B", "UTC");
        b2.days = vec![Weekday::Monday];
        case.busy.insert(b2.email.clone(), Ok(IntervalSet::new()));
        case.people.push(b2);
        let found = with_candidates(&case);
        assert_eq!(
            (found["a@x.org"], found["b1@x.org"], found["b2@x.org"]),
            (true, false, true)
        );
        assert_eq!(case.pairs(&case.plan()), [sorted("a@x.org", "b2@x.org")].into());
        assert_eq!(case.pairs(&case.plan_sparse()), [sorted("a@x.org", "b2@x.org")].into());
    }
}

#[test]
fn while_a_focus_person_is_unpaired_the_others_are_not_told_they_are_out_of_focus() {
    // p1 (focus) has no free time; p0 (focus) meets one of p2-p5. The three
    // left could have met p0: their partner was taken, not out of focus.
    let people: Vec<Person> = (0..6)
        .map(|i| person(&format!("p{i}@x.org"), &format!("U{i}"), "UTC"))
        .collect();
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.rules.focus = vec!["p0@x.org".into(), "p1@x.org".into()];
    let term: Vec<Interval> = vec![Interval::new(
        "2027-03-01T00:00:00Z".parse().unwrap(),
        "2027-04-12T00:00:00Z".parse().unwrap(),
    )];
    case.set_busy("p1@x.org", term);
    let plan = case.plan();
    assert_eq!(plan.pairs.len(), 1);
    let reasons: BTreeMap<&str, &UnpairedReason> = plan
        .unpaired
        .iter()
        .map(|u| (case.people[u.person].email.as_str(), &u.reason))
        .collect();
    assert_eq!(reasons.len(), 4);
    assert_eq!(reasons["p1@x.org"], &UnpairedReason::NoFreeTime);
    for (email, reason) in reasons {
        if email != "p1@x.org" {
            assert_eq!(reason, &UnpairedReason::PartnersTaken, "{email}");
        }
    }
}

#[test]
fn the_size_bound_counts_the_people_outside_the_largest_unit() {
    // Five in unit A, one in B: with cross-unit pairs only, one pair at most.
    let mut people: Vec<Person> = (0..5).map(|i| person(&format!("a{i}@x.org"), "A", "UTC")).collect();
    people.push(person("b@x.org", "B", "UTC"));
    let case = Case::new(people, date(2027, 3, 8), 4);
    for plan in [case.plan(), case.plan_blocks()] {
        assert_eq!(plan.stats.max_pairs_bound, 1);
        assert_eq!(plan.pairs.len(), 1);
    }
}

#[test]
fn unpaired_reasons_have_stable_codes_and_say_which_are_waits() {
    // The codes are what `plan --json` and the report print: a rename breaks
    // their readers.
    let cases = [
        (UnpairedReason::Paused, "paused", false),
        (UnpairedReason::Away, "away", false),
        (
            UnpairedReason::CalendarUnavailable("HTTP 403".into()),
            "calendar_unavailable",
            true,
        ),
        (UnpairedReason::NoBookableWeek, "no_bookable_week", true),
        (UnpairedReason::NoFreeTime, "no_free_time", true),
        (UnpairedReason::NoOtherUnit, "no_other_unit", true),
        (UnpairedReason::NoCommonSlot, "no_common_slot", true),
        (UnpairedReason::PartnersTaken, "partners_taken", true),
        (UnpairedReason::NotInFocus, "not_in_focus", true),
    ];
    for (reason, code, wait) in cases {
        assert_eq!((reason.code().as_str(), reason.is_wait()), (code, wait), "{reason:?}");
    }
}

//! The weeks of a series: a term under way, re-paired people, declined
//! occurrences, and weeks skipped for holidays, away days and busy days.

use super::*;

#[test]
fn a_term_under_way_is_planned_for_its_remaining_weeks() {
    let mut case = Case::new(
        vec![person("a@x.org", "A", "UTC"), person("b@x.org", "B", "UTC")],
        date(2027, 3, 8),
        4,
    );
    case.now = "2027-03-17T12:00:00Z".parse().unwrap(); // Wednesday of week 2
    let plan = case.plan();
    case.check_invariants(&plan);
    // Thursday afternoon and Friday of week 2 are at least 24 h away, and a
    // slot there (three occurrences) beats any slot of the last two weeks only
    // (two): most occurrences come first.
    let pair = &plan.pairs[0];
    assert_eq!(pair.first_week, 1);
    assert_eq!(pair.occurrences.len(), 3);
    let earliest: Timestamp = "2027-03-18T12:00:00Z".parse().unwrap();
    assert!(pair.occurrences[0].start >= earliest, "{:?}", pair.occurrences[0]);
}

#[test]
fn a_re_paired_person_starts_no_earlier_than_their_week() {
    let mut case = Case::new(
        vec![
            person("a@x.org", "U1", "UTC"),
            person("b@x.org", "U2", "UTC"),
            person("c@x.org", "U3", "UTC"),
            person("d@x.org", "U4", "UTC"),
        ],
        date(2027, 3, 1),
        4,
    );
    case.not_before.insert("a@x.org".into(), 2);
    case.not_before.insert("c@x.org".into(), 4);
    let plan = case.plan();
    assert_eq!(plan.pairs.len(), 1, "{:?}", plan.pairs);
    let pair = &plan.pairs[0];
    let emails = (&case.people[pair.a].email, &case.people[pair.b].email);
    assert!(emails.0 == "a@x.org" || emails.1 == "a@x.org", "{emails:?}");
    assert_eq!(pair.first_week, 2);
    assert_eq!(pair.occurrences.len(), 2);
    assert!(pair.first_start.date() >= date(2027, 3, 15), "{}", pair.first_start);
    let first = pair.occurrences[0].start.to_zoned_datetime(TimeZone::UTC).datetime();
    assert_eq!(first, pair.first_start);
    // c's week is past the term: unpaired, with that reason.
    let c = plan
        .unpaired
        .iter()
        .find(|u| case.people[u.person].email == "c@x.org")
        .unwrap();
    assert_eq!(c.reason, UnpairedReason::NoBookableWeek);
}

#[test]
fn a_declined_occurrence_gets_the_best_other_time_in_its_week() {
    let a = person("a@x.org", "A", "Europe/London");
    let b = person("b@x.org", "B", "America/New_York");
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let avoid = Interval::new(t("2027-03-16T14:00:00Z"), t("2027-03-16T14:30:00Z"));
    // b is busy all Monday; a is busy Tuesday afternoon (London).
    let busy_a = IntervalSet::from_intervals([Interval::new(t("2027-03-16T13:00:00Z"), t("2027-03-16T17:00:00Z"))]);
    let busy_b = IntervalSet::from_intervals([Interval::new(t("2027-03-15T00:00:00Z"), t("2027-03-16T00:00:00Z"))]);
    let rules = rules();
    let zone = TimeZone::get("Europe/London").unwrap();
    let input = WeekSlotInput {
        a: &a,
        b: &b,
        busy_a: &busy_a,
        busy_b: &busy_b,
        rules: &rules,
        zone_name: "Europe/London",
        zone: &zone,
        week: date(2027, 3, 15),
        not_before: t("2027-03-15T12:00:00Z"),
        avoid,
    };
    let moved = best_slot_in_week(&input).expect("a free time exists");
    assert!(!moved.overlaps(&avoid));
    let day = |t: Timestamp| t.to_zoned_datetime(zone.clone()).date();
    assert_ne!(day(moved.start), day(avoid.start), "another day comes first");
    // Inside both windows (London 09-17 GMT, New York 09-17 EDT = 13-21 UTC),
    // outside both busy sets with the buffer, in the same week.
    assert!(moved.start >= t("2027-03-16T00:00:00Z") && moved.end <= t("2027-03-20T00:00:00Z"));
    let london = moved.start.to_zoned_datetime(zone.clone());
    assert!(
        london.time() >= time(9, 0, 0, 0) && london.time() <= time(16, 30, 0, 0),
        "{london}"
    );
    let ny = moved
        .start
        .to_zoned_datetime(TimeZone::get("America/New_York").unwrap());
    assert!(ny.time() >= time(9, 0, 0, 0), "{ny}");
    assert!(!busy_a.widened(rules.buffer).overlaps(&moved) && !busy_b.widened(rules.buffer).overlaps(&moved));
    // With no common time at all, there is no move.
    let all = IntervalSet::from_intervals([Interval::new(t("2027-03-01T00:00:00Z"), t("2027-04-01T00:00:00Z"))]);
    assert_eq!(best_slot_in_week(&WeekSlotInput { busy_b: &all, ..input }), None);
}

#[test]
fn a_moved_occurrence_takes_the_best_scored_time_of_another_day_ties_to_the_earliest() {
    // Both in UTC, 09-17, free all week but for a's Monday morning; the
    // occurrence declined was Tuesday 12:45. Middle of the window (12:45) on
    // a quiet day scores best: Wednesday, Thursday and Friday tie, Monday
    // loses a's quiet-day points, Tuesday is the declined day.
    let a = person("a@x.org", "A", "UTC");
    let b = person("b@x.org", "B", "UTC");
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let half_hour = |s: &str| Interval::new(t(s), t(s).checked_add(SignedDuration::from_mins(30)).unwrap());
    let busy_a = IntervalSet::from_intervals([Interval::new(t("2027-03-15T09:00:00Z"), t("2027-03-15T11:00:00Z"))]);
    let free = IntervalSet::new();
    let rules = rules();
    let input = WeekSlotInput {
        a: &a,
        b: &b,
        busy_a: &busy_a,
        busy_b: &free,
        rules: &rules,
        zone_name: "UTC",
        zone: &TimeZone::UTC,
        week: date(2027, 3, 15),
        not_before: t("2027-03-15T00:00:00Z"),
        avoid: half_hour("2027-03-16T12:45:00Z"),
    };
    assert_eq!(best_slot_in_week(&input), Some(half_hour("2027-03-17T12:45:00Z")));
    // With every other day busy for b, a later hour of the declined day:
    // 12:15 and 13:15 are as far from the middle, and the earlier comes first.
    let not_tuesday = IntervalSet::from_intervals([
        Interval::new(t("2027-03-15T00:00:00Z"), t("2027-03-16T00:00:00Z")),
        Interval::new(t("2027-03-17T00:00:00Z"), t("2027-03-20T00:00:00Z")),
    ]);
    let same_day = WeekSlotInput {
        busy_b: &not_tuesday,
        ..input
    };
    assert_eq!(best_slot_in_week(&same_day), Some(half_hour("2027-03-16T12:15:00Z")));
}

#[test]
fn a_holiday_in_week_two_keeps_the_weekday_with_three_occurrences_and_an_exdate() {
    let mut case = Case::new(monday_people(["UTC", "UTC"]), date(2027, 3, 8), 4);
    case.rules.skip_dates = vec![date(2027, 3, 15)];
    let plan = case.plan();
    case.check_invariants(&plan);
    let pair = &plan.pairs[0];
    assert_eq!(pair.weekday, Weekday::Monday);
    assert_eq!((pair.first_week, pair.count), (0, 4));
    assert_eq!(pair.occurrences.len(), 3);
    assert_eq!(pair.skipped, [date(2027, 3, 15).to_datetime(pair.time)]);
    // With other weekdays to choose from, a slot that loses nothing wins.
    let mut case = Case::new(
        vec![person("a@x.org", "A", "UTC"), person("b@x.org", "B", "UTC")],
        date(2027, 3, 8),
        4,
    );
    case.rules.skip_dates = vec![date(2027, 3, 15)];
    let pair = &case.plan().pairs[0];
    assert_ne!(pair.weekday, Weekday::Monday);
    assert!(pair.skipped.is_empty());
    assert_eq!(pair.occurrences.len(), 4);
}

#[test]
fn an_away_day_of_one_person_skips_that_week_for_their_pair_only() {
    let mut people = monday_people(["UTC", "UTC"]);
    people.extend(monday_people(["UTC", "UTC"]).into_iter().map(|mut p| {
        p.email = p.email.replace('@', "2@");
        p
    }));
    people[0].away = vec![date(2027, 3, 22)];
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    // a pairs with b2, a2 with b: each pair once, whoever meets whom.
    case.history.record("a@x.org", "b@x.org", "A", "B", 9);
    case.history.record("a2@x.org", "b2@x.org", "A", "B", 9);
    let plan = case.plan();
    case.check_invariants(&plan);
    assert_eq!(plan.pairs.len(), 2);
    for pair in &plan.pairs {
        let with_a = case.people[pair.a].email == "a@x.org" || case.people[pair.b].email == "a@x.org";
        if with_a {
            assert_eq!(pair.skipped, [date(2027, 3, 22).to_datetime(pair.time)]);
            assert_eq!(pair.occurrences.len(), 3);
        } else {
            assert!(pair.skipped.is_empty(), "{pair:?}");
            assert_eq!(pair.occurrences.len(), 4);
        }
    }
}

#[test]
fn dst_and_a_holiday_in_the_same_term_skip_the_holiday_at_the_same_wall_time() {
    let mut case = Case::new(
        monday_people(["America/New_York", "Europe/London"]),
        date(2027, 3, 8),
        4,
    );
    // Both work 09:00-17:00: Monday 09:00-12:00 New York overlaps London's day
    // in every week, as the gap between the zones changes twice.
    case.rules.skip_dates = vec![date(2027, 3, 22)];
    let plan = case.plan();
    case.check_invariants(&plan);
    let pair = &plan.pairs[0];
    assert_eq!(pair.occurrences.len(), 3);
    assert_eq!(pair.skipped, [date(2027, 3, 22).to_datetime(pair.time)]);
    let zone = TimeZone::get(&pair.zone_name).unwrap();
    let offsets: BTreeSet<i32> = pair
        .occurrences
        .iter()
        .map(|o| zone.to_datetime(o.start).time().hour() as i32)
        .collect();
    assert_eq!(offsets.len(), 1, "the same wall time every week in {}", pair.zone_name);
}

#[test]
fn a_slot_losing_more_than_half_is_not_used_and_skipped_weeks_at_the_ends_shorten_it() {
    let mut case = Case::new(monday_people(["UTC", "UTC"]), date(2027, 3, 8), 4);
    case.people[0].away = vec![date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 29)];
    let plan = case.plan();
    assert!(plan.pairs.is_empty());
    assert_eq!(plan.unpaired.len(), 2);
    // Half is still enough: weeks 1 and 4, one EXDATE... and leading weeks
    // move the start instead.
    case.people[0].away = vec![date(2027, 3, 15), date(2027, 3, 22)];
    let plan = case.plan();
    case.check_invariants(&plan);
    assert_eq!(plan.pairs[0].skipped.len(), 2);
    assert_eq!(plan.pairs[0].occurrences.len(), 2);
    case.people[0].away = vec![date(2027, 3, 8)];
    case.people[1].away = vec![date(2027, 3, 29)];
    let plan = case.plan();
    case.check_invariants(&plan);
    let pair = &plan.pairs[0];
    assert_eq!((pair.first_week, pair.count), (1, 2));
    assert!(pair.skipped.is_empty());
    assert_eq!(pair.first_start.date(), date(2027, 3, 15));
}

#[test]
fn a_day_over_max_busy_hours_is_skipped_like_a_holiday() {
    let mut case = Case::new(monday_people(["UTC", "UTC"]), date(2027, 3, 8), 4);
    case.rules.max_busy = Some(SignedDuration::from_hours(4));
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    case.set_busy(
        "b@x.org",
        vec![Interval::new(t("2027-03-15T12:00:00Z"), t("2027-03-15T17:00:00Z"))],
    );
    let plan = case.plan();
    case.check_invariants(&plan);
    assert_eq!(
        plan.pairs[0].skipped,
        [date(2027, 3, 15).to_datetime(plan.pairs[0].time)]
    );
}

#[test]
fn a_holiday_in_a_week_already_past_does_not_count_against_a_slot() {
    // Tuesday of week 0: the first Monday that can be booked is 15 March.
    // The holiday on 8 March is past; a's away day on 22 March is one skip
    // out of three Mondays, which a Monday-only pair can afford.
    let mut case = Case::new(monday_people(["UTC", "UTC"]), date(2027, 3, 8), 4);
    case.now = "2027-03-09T12:00:00Z".parse().unwrap();
    case.rules.skip_dates = vec![date(2027, 3, 8)];
    case.people[0].away = vec![date(2027, 3, 22)];
    let plan = case.plan();
    case.check_invariants(&plan);
    let pair = &plan.pairs[0];
    assert_eq!((pair.first_week, pair.count), (1, 3));
    assert_eq!(pair.skipped, [date(2027, 3, 22).to_datetime(pair.time)]);
}

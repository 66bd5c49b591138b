//! The smaller rules: what ending keeps, occurrences across DST, the roster, refusal backoff, schedule changes.

use super::*;

#[test]
fn ending_keeps_what_started_or_is_inside_the_notice() {
    let r = request("a-b");
    let cases: Vec<(&str, Timestamp, Vec<Interval>, Ending)> = vec![
        ("before the term", ts("2027-03-01T00:00:00Z"), vec![], Ending::Delete),
        (
            "the first occurrence inside the notice",
            ts("2027-03-08T11:00:00Z"),
            vec![],
            Ending::After { until: occ(0), keep: 1 },
        ),
        (
            "two held",
            ts("2027-03-17T12:00:00Z"),
            vec![],
            Ending::After { until: occ(1), keep: 2 },
        ),
        (
            "the last inside the notice",
            ts("2027-03-29T11:00:00Z"),
            vec![],
            Ending::Nothing,
        ),
        (
            "a moved one inside the notice",
            ts("2027-03-10T00:00:00Z"),
            vec![half_hour(ts("2027-03-09T20:00:00Z"))],
            Ending::Nothing,
        ),
        (
            "an occurrence starting exactly at the cutoff is not kept",
            occ(1),
            vec![],
            Ending::After { until: occ(0), keep: 1 },
        ),
        (
            "a moved one starting exactly at the cutoff does not hold the series",
            occ(1),
            vec![half_hour(occ(1))],
            Ending::After { until: occ(0), keep: 1 },
        ),
        (
            "a moved one after the notice",
            ts("2027-03-10T00:00:00Z"),
            vec![half_hour(ts("2027-03-24T01:00:00Z"))],
            Ending::After { until: occ(0), keep: 1 },
        ),
    ];
    for (name, cutoff, moved, want) in cases {
        assert_eq!(ending(&r, &moved, cutoff), want, "{name}");
    }
}

#[test]
fn occurrences_follow_the_wall_clock_of_the_series_zone_across_dst() {
    let mut r = request("a-b");
    r.zone = "America/New_York".into();
    r.start = date(2027, 3, 8).to_datetime(time(9, 0, 0, 0));
    let starts = occurrence_starts(&r);
    // 2027-03-14 is the US change: 14:00Z before, 13:00Z after.
    assert_eq!(starts[0], ts("2027-03-08T14:00:00Z"));
    assert_eq!(starts[1], ts("2027-03-15T13:00:00Z"));
    assert_eq!(starts.len(), 4);
}

#[test]
fn the_roster_keeps_removed_people_until_their_series_end() {
    let people: Vec<Person> = ["b", "c"].into_iter().map(person).collect();
    let last: BTreeSet<String> = ["a", "b", "c", "d"].into_iter().map(email).collect();
    let records = vec![rec("a-b", SeriesState::Booked), rec("c-d", SeriesState::Cancelled)];
    let now = ts("2027-03-01T12:00:00Z");
    let roster = next_roster(&people, Some(&last), &records, now);
    let want: BTreeSet<String> = ["a", "b", "c"].into_iter().map(email).collect();
    assert_eq!(roster, want, "a's series is still booked; d's was ended");
    let fresh = next_roster(&people, None, &records, now);
    let pending = vec![rec("a-b", SeriesState::Pending)];
    assert!(
        next_roster(&people, Some(&last), &pending, now).contains(&email("a")),
        "a pending series (its insert may yet land) keeps a removed person too"
    );
    let later = next_roster(&people, Some(&last), &records, ts(AFTER));
    assert_eq!(
        later,
        ["b", "c"].into_iter().map(email).collect::<BTreeSet<_>>(),
        "once its series has taken place"
    );
    assert_eq!(fresh, ["b", "c"].into_iter().map(email).collect::<BTreeSet<_>>());
}

#[test]
fn refused_pairs_back_off_then_are_left_for_the_term() {
    let now = ts("2027-03-01T12:00:00Z");
    let every = SignedDuration::from_mins(15);
    assert_eq!(refusal_retry_at(now, every, 1), ts("2027-03-01T12:15:00Z"));
    assert_eq!(refusal_retry_at(now, every, 2), ts("2027-03-01T12:30:00Z"));
    assert_eq!(refusal_retry_at(now, every, 3), ts("2027-03-01T13:00:00Z"));
    let mut r = rec("a-b", SeriesState::Failed);
    r.refusals = 1;
    r.retry_at = Some(ts("2027-03-01T12:15:00Z"));
    assert!(refusal_blocks(&r, now), "waiting out the backoff");
    assert!(
        !refusal_blocks(&r, ts("2027-03-01T12:15:00Z")),
        "tried again once it has passed"
    );
    r.refusals = 3;
    assert!(
        refusal_blocks(&r, ts("2027-03-02T00:00:00Z")),
        "left for the term after three"
    );
    assert!(!refusal_blocks(&rec("a-b", SeriesState::Booked), now));
}

#[test]
fn schedule_changes_must_fit_the_booked_series() {
    let booked = vec![rec("a-b", SeriesState::Booked)]; // 2027-03-08, 4 weeks, last 03-29
    let ended = vec![rec("a-b", SeriesState::Cancelled)];
    let mut five = rec("a-b", SeriesState::Booked);
    five.request.count = 5; // last 2027-04-05: the next four-week term's first day
    let five = vec![five];
    let mut wednesdays = rec("a-b", SeriesState::Booked);
    wednesdays.request.start = date(2027, 3, 10).to_datetime(time(10, 0, 0, 0)); // last 03-31
    let wednesdays = vec![wednesdays];
    // name, new first term, new weeks, records, accepted (else the first safe Monday named)
    type Row<'a> = (&'a str, jiff::civil::Date, u32, &'a [SeriesRecord], Option<&'a str>);
    let cases: Vec<Row> = vec![
        ("the same schedule", date(2027, 3, 8), 4, &booked, None),
        (
            "the same terms named by an earlier first term",
            date(2027, 2, 8),
            4,
            &booked,
            None,
        ),
        (
            "a first term moved into the booked term",
            date(2027, 3, 15),
            4,
            &booked,
            Some("2027-04-05"),
        ),
        (
            "shorter terms under a four-week series",
            date(2027, 3, 8),
            2,
            &booked,
            Some("2027-04-05"),
        ),
        (
            "a first term after the booked series end",
            date(2027, 4, 5),
            2,
            &booked,
            None,
        ),
        (
            "a first term on the day of the last occurrence",
            date(2027, 3, 29),
            1,
            &booked,
            Some("2027-04-05"),
        ),
        ("nothing booked", date(2027, 3, 15), 2, &[], None),
        ("only ended series", date(2027, 3, 15), 2, &ended, None),
        (
            "a series whose last occurrence is the next term's first day",
            date(2027, 3, 8),
            4,
            &five,
            Some("2027-04-12"),
        ),
        (
            "a Wednesday series: the Monday after its last occurrence",
            date(2027, 3, 15),
            4,
            &wednesdays,
            Some("2027-04-05"),
        ),
    ];
    for (name, first, weeks, records, refused) in cases {
        let got = check_schedule_change(first, weeks, records);
        assert_eq!(got.is_ok(), refused.is_none(), "{name}: {got:?}");
        if let (Err(message), Some(monday)) = (got, refused) {
            assert!(
                message.contains(&format!("set schedule.first_term to {monday} ")),
                "{name}: names the first safe Monday {monday}: {message}"
            );
        }
    }
}

#[test]
fn a_series_record_takes_each_person_s_unit_from_the_configuration() {
    let mut people: Vec<Person> = ["c", "b", "a"].into_iter().map(person).collect();
    people[1].unit = "Sales".into();
    // Terms from 2027-02-08: the series' term (2027-03-08) is the second.
    let got = series_record(&people, date(2027, 2, 8), 4, &cal("a-b", true, Some(ME)));
    assert_eq!(got.units, ("U-a".to_string(), "Sales".to_string()));
    assert_eq!(got.term_index, 1);
    assert_eq!((got.state, got.instance.as_deref()), (SeriesState::Booked, Some(ME)));
    let gone = series_record(&people[..1], date(2027, 3, 8), 4, &cal("a-b", false, None));
    assert_eq!(
        gone.units,
        (String::new(), String::new()),
        "people no longer configured"
    );
    assert_eq!(gone.state, SeriesState::Cancelled);
}

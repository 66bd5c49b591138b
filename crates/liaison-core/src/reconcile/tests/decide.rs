//! `decide`: one line per case.

use super::*;

#[test]
fn decide_table() {
    let mut declined = rec("a-b", SeriesState::Booked);
    declined.declined_by = Some(email("a"));
    declined.responses = [(email("a"), Declined)].into();
    let mut accepted = rec("a-b", SeriesState::Booked);
    accepted.responses = [(email("a"), Accepted)].into();
    let mut pending = rec("a-b", SeriesState::Pending);
    pending.intent_at = Some(ts("2027-03-01T11:59:50Z"));
    let mut pending_old = rec("a-b", SeriesState::Pending);
    pending_old.intent_at = Some(ts("2027-03-01T11:00:00Z"));
    let mut legacy = rec("a-b", SeriesState::Booked);
    legacy.instance = None;
    let mut foreign_unmarked = rec("a-b", SeriesState::Booked);
    foreign_unmarked.instance = Some(UNMARKED.into());
    let mut foreign_known = rec("a-b", SeriesState::Booked);
    foreign_known.instance = Some(OTHER.into());
    let mut moved_series = rec("a-b", SeriesState::Booked);
    moved_series.request.start = date(2027, 3, 9).to_datetime(time(11, 0, 0, 0));
    let mut skipping = rec("a-b", SeriesState::Booked);
    skipping.request.skip = vec![date(2027, 3, 15).to_datetime(time(10, 0, 0, 0))];

    let cases: Vec<(&str, Case, &[&str])> = vec![
        // Nothing changed.
        ("a quiet cycle decides nothing", case().booked("a-b"), &[]),
        (
            "a series reported again unchanged is nothing",
            case().booked("a-b").seen(cal("a-b", true, Some(ME)), &[]),
            &[],
        ),
        // Adopting and ownership.
        (
            "an unknown series of this installation is adopted",
            case().seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b booked adopted"],
        ),
        (
            "an unknown cancelled series is recorded as cancelled",
            case().seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled adopted"],
        ),
        (
            "an unmarked series of two configured people is adopted",
            case().seen(cal("a-b", true, None), &[]),
            &["record a-b booked adopted"],
        ),
        (
            "an unmarked series of unconfigured people is left alone",
            case().configured("c d").seen(cal("a-b", true, None), &[]),
            &["record a-b booked foreign:(unmarked)"],
        ),
        (
            "another installation's series is recorded as theirs, never adopted",
            case().seen(cal("a-b", true, Some(OTHER)), &[]),
            &["record a-b booked foreign:other"],
        ),
        (
            "another installation's declined series is never ended",
            case().seen(cal("a-b", true, Some(OTHER)), &[("a", Declined)]),
            &["record a-b booked foreign:other"],
        ),
        (
            "another installation's series seen again unchanged is nothing",
            case()
                .with(foreign_known.clone())
                .seen(cal("a-b", true, Some(OTHER)), &[]),
            &[],
        ),
        (
            "another installation's series with a removed person is never ended",
            case().with(foreign_known.clone()).configured("c d"),
            &[],
        ),
        (
            "an unmarked series the store knows stays ours",
            case()
                .with(legacy.clone())
                .configured("a b c")
                .seen(cal("a-b", true, None), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        // Deletions by people.
        (
            "a series deleted by a person is recorded",
            case().booked("a-b").seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled deletedbyperson"],
        ),
        (
            "a deleted id is recorded",
            case().booked("a-b").deleted("a-b"),
            &["record a-b cancelled deletedbyperson"],
        ),
        (
            "a deleted id of an unknown event is nothing",
            case().deleted("x-y"),
            &[],
        ),
        (
            "a series missing from a full read is recorded as deleted",
            case()
                .booked("a-b")
                .booked("c-d")
                .full()
                .seen(cal("c-d", true, Some(ME)), &[]),
            &["record a-b cancelled missing"],
        ),
        (
            "a series missing from an incremental read is nothing",
            case().booked("a-b"),
            &[],
        ),
        (
            "another installation's series missing from a full read is nothing",
            case().with(foreign_known.clone()).full(),
            &[],
        ),
        // A person's changes to the series.
        (
            "a person's change of count is copied into the store",
            case()
                .booked("a-b")
                .seen(with_count(cal("a-b", true, Some(ME)), 2), &[]),
            &["record a-b booked changedbyperson"],
        ),
        (
            "a person's change of start is copied into the store",
            case().booked("a-b").seen(
                BookedSeries {
                    request: moved_series.request.clone(),
                    active: true,
                    instance: Some(ME.into()),
                },
                &[],
            ),
            &["record a-b booked changedbyperson"],
        ),
        // Declines of the whole series.
        (
            "a declined series before the term is cancelled and counted",
            case()
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        (
            "a declined series during the term ends after its held occurrences",
            case()
                .now(DURING)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("b", Declined)]),
            &[
                "person b declines=1",
                "record a-b booked declined:b",
                "end a-b keep=2 declined:b",
            ],
        ),
        (
            "a decline already recorded is not counted again",
            case()
                .now(DURING)
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &["end a-b keep=2 declined:a"],
        ),
        (
            "a second decline in a row pauses the person",
            case()
                .person_state("a", 1, false)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=2 paused",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        (
            "a person with paused = false is never counted or paused",
            case()
                .never_paused("a")
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &["record a-b booked declined:a", "cancel a-b declined:a"],
        ),
        (
            "a decline whose occurrences are all inside the notice waits",
            case()
                .now(LAST_WEEK)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=1",
                "record a-b booked declined:a",
                "wait a-b declined:a",
            ],
        ),
        (
            "a decline after every occurrence took place is cleared",
            case().now(AFTER).with(declined.clone()),
            &["record a-b booked finished"],
        ),
        (
            "a decline waits while the last occurrence starts this very moment",
            case().now("2027-03-29T10:00:00Z").with(declined.clone()),
            &["wait a-b declined:a"],
        ),
        (
            "a decline is cleared while its moved last occurrence is under way",
            case()
                .now(AFTER)
                .with(declined.clone())
                .handled("a-b", 3, Some(half_hour(ts("2027-03-30T11:45:00Z")))),
            &["record a-b booked finished"],
        ),
        (
            "a decline waits for a moved occurrence that starts this very moment",
            case()
                .now(AFTER)
                .with(declined.clone())
                .handled("a-b", 3, Some(half_hour(ts(AFTER)))),
            &["wait a-b declined:a"],
        ),
        (
            "pause_after_declines = 0 never pauses",
            case()
                .pause_after(0)
                .person_state("a", 5, false)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Declined)]),
            &[
                "person a declines=6",
                "record a-b booked declined:a",
                "cancel a-b declined:a",
            ],
        ),
        // Ends of ours the store did not record (killed after the write).
        (
            "a booked series the calendar marks as ended by liaison is recorded as ended",
            case()
                .now(DURING)
                .booked("a-b")
                .seen(with_count(cal("a-b", true, Some(ME)), 2), &[])
                .ended("a-b"),
            &["record a-b cancelled endedbyliaison"],
        ),
        (
            "an unknown series marked as ended by liaison is adopted as cancelled",
            case()
                .now(DURING)
                .seen(with_count(cal("a-b", true, Some(ME)), 2), &[])
                .ended("a-b"),
            &["record a-b cancelled adopted"],
        ),
        (
            "a withdrawn decline clears the mark",
            case()
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["record a-b booked answers"],
        ),
        (
            "a withdrawn decline of a person counted once is not counted again",
            case()
                .person_state("a", 1, false)
                .with(declined.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["person a declines=0", "record a-b booked answers"],
        ),
        (
            "a new acceptance resets the count",
            case()
                .person_state("a", 1, false)
                .booked("a-b")
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &["person a declines=0", "record a-b booked answers"],
        ),
        (
            "an acceptance read again does not reset the count",
            case()
                .person_state("a", 1, false)
                .with(accepted.clone())
                .seen(cal("a-b", true, Some(ME)), &[("a", Accepted)]),
            &[],
        ),
        // Removal and pause.
        (
            "a person removed from the configuration: their series is cancelled before the term",
            case().configured("b c d").booked("a-b"),
            &["cancel a-b removed:a"],
        ),
        (
            "a person removed during the term: the series ends after its held occurrences",
            case().now(DURING).configured("b c d").booked("a-b"),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "a fresh state never treats anyone as removed",
            case().roster(None).configured("c d").booked("a-b"),
            &[],
        ),
        (
            "someone never in the roster is not removed",
            case().roster(Some("b c d")).configured("b c d").booked("a-b"),
            &[],
        ),
        (
            "a person paused in the configuration: their series is cancelled",
            case().paused_in_config("b").booked("a-b"),
            &["cancel a-b paused:b"],
        ),
        (
            "a person liaison paused: their series ends",
            case().now(DURING).person_state("a", 2, true).booked("a-b"),
            &["end a-b keep=2 paused:a"],
        ),
        (
            "paused = false lifts liaison's pause",
            case().never_paused("a").person_state("a", 2, true).booked("a-b"),
            &["person a declines=0"],
        ),
        (
            "nothing is ended inside the notice: the last week's occurrence stays",
            case().now(LAST_WEEK).configured("b c d").booked("a-b"),
            &["wait a-b removed:a"],
        ),
        (
            "a removed person's series that has fully taken place is nothing",
            case().now(AFTER).configured("b c d").booked("a-b"),
            &[],
        ),
        (
            "a moved occurrence inside the notice keeps the whole series this cycle",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-17T09:00:00Z"))),
            ),
            &["wait a-b removed:a"],
        ),
        (
            "a moved occurrence after the notice does not stop the end",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-25T09:00:00Z"))),
            ),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an earlier declined occurrence left at its time does not stop the end",
            case()
                .now(DURING)
                .configured("b c d")
                .booked("a-b")
                .handled("a-b", 0, Some(half_hour(occ(0)))),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an occurrence moved earlier and already over does not stop the end",
            case().now(DURING).configured("b c d").booked("a-b").handled(
                "a-b",
                1,
                Some(half_hour(ts("2027-03-16T09:00:00Z"))),
            ),
            &["end a-b keep=2 removed:a"],
        ),
        (
            "an occurrence moved this cycle into the notice keeps the series this cycle",
            case().now(DURING).configured("b c d").booked("a-b").occurrence(
                "a-b",
                3,
                Some(half_hour(ts("2027-03-17T09:00:00Z"))),
                false,
                None,
            ),
            &["occurrence a-b_3 occurrence moved by a person", "wait a-b removed:a"],
        ),
        (
            "a decline of another installation's unmarked event is not counted",
            case()
                .with(foreign_unmarked.clone())
                .seen(cal("a-b", true, None), &[("a", Declined)]),
            &[],
        ),
        (
            "our pending intent beaten by another installation's insert becomes theirs",
            case().with(pending.clone()).seen(cal("a-b", true, Some(OTHER)), &[]),
            &["record a-b booked foreign:other"],
        ),
        (
            "an event that could not be read on a full read is not taken for deleted",
            case().booked("a-b").full().unreadable("a-b"),
            &[],
        ),
        (
            "a series missing from a full read after all its meetings took place is nothing",
            case().now(AFTER).booked("a-b").full(),
            &[],
        ),
        (
            "an unmarked series with only one of its people configured is not ours",
            case().configured("a c d").seen(cal("a-b", true, None), &[]),
            &["record a-b booked foreign:(unmarked)"],
        ),
        (
            "another installation's series cancelled on the calendar is recorded as such",
            case()
                .with(foreign_known.clone())
                .seen(cal("a-b", false, Some(OTHER)), &[]),
            &["record a-b cancelled foreign:other"],
        ),
        (
            "our booked series showing another installation's marker stays ours",
            case().booked("a-b").seen(cal("a-b", true, Some(OTHER)), &[]),
            &[],
        ),
        (
            "an abandoned id reported cancelled is nothing",
            case()
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", false, Some(ME)), &[]),
            &[],
        ),
        (
            "an unwanted late landing reported again is only removed",
            case()
                .with(rec("a-b", SeriesState::Unwanted))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["cancel a-b late"],
        ),
        // Pending intents.
        (
            "a pending intent the calendar has is booked",
            case().with(pending.clone()).lookup("a-b", Some(true)),
            &["record a-b booked landed"],
        ),
        (
            "a pending intent found cancelled is recorded cancelled",
            case().with(pending.clone()).lookup("a-b", Some(false)),
            &["record a-b cancelled landed"],
        ),
        (
            "a pending intent missing within the write timeout stays pending",
            case().with(pending.clone()).lookup("a-b", None),
            &[],
        ),
        (
            "a pending intent missing after the write timeout is abandoned",
            case().with(pending_old.clone()).lookup("a-b", None),
            &["record a-b abandoned abandoned"],
        ),
        (
            "a pending intent whose lookup failed stays pending",
            case().with(pending_old.clone()),
            &[],
        ),
        (
            "a pending intent reported by the change feed is booked",
            case().with(pending.clone()).seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b booked landed"],
        ),
        (
            "a late landing of an abandoned intent is removed",
            case()
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b unwanted landedlate", "cancel a-b late"],
        ),
        (
            "a late landing found during the term ends after what was held",
            case()
                .now(DURING)
                .with(rec("a-b", SeriesState::Abandoned))
                .seen(cal("a-b", true, Some(ME)), &[]),
            &["record a-b unwanted landedlate", "end a-b keep=2 late"],
        ),
        (
            "a late landing whose removal was refused is removed on a later cycle",
            case().with(rec("a-b", SeriesState::Unwanted)),
            &["cancel a-b late"],
        ),
        (
            "a late landing deleted by a person meanwhile is recorded",
            case()
                .with(rec("a-b", SeriesState::Unwanted))
                .seen(cal("a-b", false, Some(ME)), &[]),
            &["record a-b cancelled deletedbyperson"],
        ),
        // Single occurrences.
        (
            "a declined occurrence is moved",
            case()
                .now(DURING)
                .booked("a-b")
                .occurrence("a-b", 3, Some(half_hour(occ(3))), false, Some("a")),
            &["move a-b_3 by a"],
        ),
        (
            "a declined occurrence inside the notice is left",
            case()
                .now(LAST_WEEK)
                .booked("a-b")
                .occurrence("a-b", 3, Some(half_hour(occ(3))), false, Some("a")),
            &["occurrence a-b_3 declined occurrence not moved: it starts inside min_notice"],
        ),
        (
            "an occurrence a person moved is accepted",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, Some(half_hour(ts("2027-03-16T10:00:00Z"))), false, None),
            &["occurrence a-b_1 occurrence moved by a person"],
        ),
        (
            "a declined occurrence starting exactly at the notice's end is moved",
            case().now("2027-03-28T10:00:00Z").booked("a-b").occurrence(
                "a-b",
                3,
                Some(half_hour(occ(3))),
                false,
                Some("a"),
            ),
            &["move a-b_3 by a"],
        ),
        (
            "an occurrence reported at its own time, neither declined nor cancelled, is nothing",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, Some(half_hour(occ(1))), false, None),
            &[],
        ),
        (
            "a cancelled occurrence in a week the series skips is liaison's own",
            case().with(skipping.clone()).occurrence("a-b", 1, None, true, None),
            &["occurrence a-b_1 occurrence skipped (a day without connections)"],
        ),
        (
            "a cancelled occurrence in another week than the skipped one is a person's",
            case().with(skipping.clone()).occurrence("a-b", 2, None, true, None),
            &["occurrence a-b_2 occurrence cancelled by a person"],
        ),
        (
            "an occurrence a person cancelled is left as is",
            case().booked("a-b").occurrence("a-b", 1, None, true, None),
            &["occurrence a-b_1 occurrence cancelled by a person"],
        ),
        (
            "an occurrence already dealt with is nothing",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, None, true, None)
                .handled("a-b", 1, None),
            &[],
        ),
        (
            "an occurrence reported twice is dealt with once",
            case()
                .booked("a-b")
                .occurrence("a-b", 1, None, true, None)
                .occurrence("a-b", 1, None, true, None),
            &["occurrence a-b_1 occurrence cancelled by a person"],
        ),
        (
            "an occurrence of another installation's series is nothing",
            case()
                .with(foreign_known.clone())
                .occurrence("a-b", 1, None, true, None),
            &[],
        ),
        (
            "an occurrence of an unknown series is nothing",
            case().occurrence("x-y", 1, None, true, None),
            &[],
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, c, expected) in &cases {
        let got = c.decide();
        if got != *expected {
            failures.push(format!("{name}:\n  expected {expected:?}\n  got      {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A pending booking found on the calendar takes the request read back,
/// but keeps the skipped weeks it stored when the read gives none (a
/// provider that cannot read them back must not turn liaison's cancelled
/// weeks into a person's cancellations); weeks read back win.
#[test]
fn a_landed_series_keeps_its_stored_skipped_weeks_when_the_read_gives_none() {
    let week = date(2027, 3, 22).to_datetime(time(10, 0, 0, 0));
    let mut pending = rec("a-b", SeriesState::Pending);
    pending.request.skip = vec![week];
    let skips =
        |c: Case| -> Vec<Vec<jiff::civil::DateTime>> { c.recorded().into_iter().map(|r| r.request.skip).collect() };
    let by_changes = case().with(pending.clone()).seen(cal("a-b", true, Some(ME)), &[]);
    assert_eq!(skips(by_changes), [vec![week]]);
    let by_lookup = case().with(pending.clone()).lookup("a-b", Some(true));
    assert_eq!(skips(by_lookup), [vec![week]]);
    let other = date(2027, 3, 29).to_datetime(time(10, 0, 0, 0));
    let mut read = cal("a-b", true, Some(ME));
    read.request.skip = vec![other];
    assert_eq!(skips(case().with(pending).seen(read, &[])), [vec![other]]);
}

/// An end of ours the store missed is recorded as what ending records: the
/// series cancelled, with the count the calendar now has (the occurrences
/// kept), and no decline left pending.
#[test]
fn an_end_the_store_missed_takes_the_calendar_s_count() {
    let mut declined = rec("a-b", SeriesState::Booked);
    declined.declined_by = Some(email("a"));
    let c = case()
        .now(DURING)
        .with(declined)
        .seen(with_count(cal("a-b", true, Some(ME)), 2), &[])
        .ended("a-b");
    let records: Vec<(SeriesState, u32, Option<String>)> = c
        .recorded()
        .into_iter()
        .map(|r| (r.state, r.request.count, r.declined_by))
        .collect();
    assert_eq!(records, [(SeriesState::Cancelled, 2, None)]);
}

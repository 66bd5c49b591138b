//! `check`, the records of ended series, and what actions and refusals say in the log.

use super::*;

/// Actions for the check table.
fn end(pair: &str, keep: u32, until_k: i64) -> Action {
    Action::End {
        record: rec(pair, SeriesState::Booked),
        until: occ(until_k),
        keep,
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    }
}

fn cancel(pair: &str) -> Action {
    Action::Cancel {
        record: rec(pair, SeriesState::Booked),
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    }
}

fn owned_by(mut action: Action, instance: &str) -> Action {
    match &mut action {
        Action::End { record, .. }
        | Action::Cancel { record, .. }
        | Action::Move { record, .. }
        | Action::Book { record } => record.instance = Some(instance.into()),
        _ => {}
    }
    action
}

fn unmarked(mut action: Action) -> Action {
    if let Action::Cancel { record, .. } = &mut action {
        record.instance = None;
    }
    action
}

fn missing(pair: &str) -> Action {
    Action::Record {
        record: rec(pair, SeriesState::Cancelled),
        why: RecordWhy::Missing,
    }
}

fn guard(now: &str, booked: usize, allow: bool) -> (Timestamp, usize, bool) {
    (ts(now), booked, allow)
}

fn run_check(actions: Vec<Action>, (now, booked, allow): (Timestamp, usize, bool)) -> (Vec<String>, Vec<String>) {
    let g = Guard {
        instance: ME,
        cutoff: now.checked_add(SignedDuration::from_hours(24)).unwrap(),
        max_cancel_per_cycle: 5,
        allow_mass_cancel: allow,
        booked,
    };
    let checked = check(actions, &g);
    let refused = checked
        .refused
        .iter()
        .map(|(a, why)| {
            let why = match why {
                Refusal::NotOurs(_) => "not-ours",
                Refusal::InsideNotice(_) => "notice",
                Refusal::MassCancel { .. } => "mass",
            };
            format!("{} {why}", brief(a))
        })
        .collect();
    (checked.allowed.iter().map(brief).collect(), refused)
}

fn many_cancels(n: usize) -> Vec<Action> {
    (0..n).map(|i| cancel(&format!("p{i}-q{i}"))).collect()
}

#[test]
fn check_table() {
    let pairs = |v: Vec<String>| v.len();
    let before = "2027-03-01T12:00:00Z";
    let moved_inside = Action::End {
        record: rec("a-b", SeriesState::Booked),
        until: occ(1),
        keep: 2,
        moved: vec![half_hour(ts("2027-03-17T09:00:00Z"))],
        why: EndWhy::Removed(email("a")),
    };
    let mut booking = rec("a-b", SeriesState::Pending);
    booking.request.start = date(2027, 3, 1).to_datetime(time(13, 0, 0, 0));
    let book_inside = Action::Book { record: booking };
    let move_inside = Action::Move {
        record: rec("a-b", SeriesState::Booked),
        occurrence: "a-b_0".into(),
        original: occ(0),
        at: half_hour(occ(0)),
        who: email("a"),
    };
    // name, actions, (now, booked, allowed), how many pass, what is refused
    type Row<'a> = (&'a str, Vec<Action>, (Timestamp, usize, bool), usize, &'a [&'a str]);
    let cases: Vec<Row> = vec![
        (
            "a cancel before the term is allowed",
            vec![cancel("a-b")],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "an end after the held occurrences is allowed",
            vec![end("a-b", 2, 1)],
            guard(DURING, 40, false),
            1,
            &[],
        ),
        (
            "an end that would remove an occurrence inside the notice is refused",
            vec![end("a-b", 1, 0)],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=1 removed:a notice"],
        ),
        (
            "a cancel of a series under way is refused",
            vec![cancel("a-b")],
            guard(DURING, 40, false),
            0,
            &["cancel a-b removed:a notice"],
        ),
        (
            "an end with a moved occurrence inside the notice is refused",
            vec![moved_inside],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=2 removed:a notice"],
        ),
        (
            "a move of an occurrence inside the notice is refused",
            vec![move_inside],
            guard("2027-03-07T12:00:00Z", 40, false),
            0,
            &["move a-b_0 by a notice"],
        ),
        (
            "a booking inside the notice is refused",
            vec![book_inside],
            guard(before, 40, false),
            0,
            &["book a-b notice"],
        ),
        (
            "another installation's series is never ended",
            vec![owned_by(end("a-b", 2, 1), OTHER)],
            guard(DURING, 40, false),
            0,
            &["end a-b keep=2 removed:a not-ours"],
        ),
        (
            "another installation's series is never cancelled",
            vec![owned_by(cancel("a-b"), OTHER)],
            guard(before, 40, false),
            0,
            &["cancel a-b removed:a not-ours"],
        ),
        (
            "a record of this installation is cancelled",
            vec![owned_by(cancel("a-b"), ME)],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "a record without a marker (written before markers) is this installation's",
            vec![unmarked(cancel("a-b"))],
            guard(before, 40, false),
            1,
            &[],
        ),
        (
            "series missing from a full read count in the guard",
            (0..6).map(|i| missing(&format!("p{i}-q{i}"))).collect(),
            guard(before, 40, false),
            0,
            &["mass"; 6],
        ),
        (
            "a booking whose first occurrence is exactly at the cutoff passes",
            vec![Action::Book {
                record: rec("a-b", SeriesState::Pending),
            }],
            guard("2027-03-07T10:00:00Z", 40, false),
            1,
            &[],
        ),
        (
            "five removals pass the default limit",
            many_cancels(5),
            guard(before, 40, false),
            5,
            &[],
        ),
        (
            "six removals of forty booked are refused together",
            many_cancels(6),
            guard(before, 40, false),
            0,
            &["mass"; 6],
        ),
        (
            "six removals of a hundred booked (6 %) pass",
            many_cancels(6),
            guard(before, 100, false),
            6,
            &[],
        ),
        (
            "six removals of sixty booked (exactly 10 %) pass",
            many_cancels(6),
            guard(before, 60, false),
            6,
            &[],
        ),
        (
            "a confirmed mass cancel passes",
            many_cancels(6),
            guard(before, 40, true),
            6,
            &[],
        ),
        (
            "bookings go on while removals are refused",
            {
                let mut v = many_cancels(6);
                v.push(Action::Book {
                    record: rec("c-d", SeriesState::Pending),
                });
                v
            },
            guard(before, 40, false),
            1,
            &["mass"; 6],
        ),
    ];
    let mut failures = Vec::new();
    for (name, actions, g, allowed, refused) in cases {
        let (got_allowed, got_refused) = run_check(actions, g);
        let refused_ok = if refused.iter().all(|r| *r == "mass") && !refused.is_empty() {
            got_refused.len() == refused.len() && got_refused.iter().all(|r| r.ends_with(" mass"))
        } else {
            got_refused == refused
        };
        if pairs(got_allowed.clone()) != allowed || !refused_ok {
            failures.push(format!("{name}: allowed {got_allowed:?}, refused {got_refused:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_ended_record_keeps_what_was_held_and_forgets_the_decline() {
    let mut booked = rec("a-b", SeriesState::Booked);
    booked.declined_by = Some(email("a"));
    let end = Action::End {
        record: booked.clone(),
        until: occ(1),
        keep: 2,
        moved: vec![],
        why: EndWhy::Declined(email("a")),
    };
    let ended = ended_record(&end).unwrap();
    assert_eq!(
        (ended.state, ended.request.count, ended.declined_by),
        (SeriesState::Cancelled, 2, None)
    );
    let cancel = Action::Cancel {
        record: booked,
        moved: vec![],
        why: EndWhy::Removed(email("b")),
    };
    assert_eq!(ended_record(&cancel).unwrap().request.count, 0);
    assert_eq!(
        ended_record(&Action::Book {
            record: rec("c-d", SeriesState::Pending)
        }),
        None
    );
}

#[test]
fn actions_and_refusals_say_what_and_why_in_the_log() {
    let end = Action::End {
        record: rec("a-b", SeriesState::Booked),
        until: occ(1),
        keep: 2,
        moved: vec![],
        why: EndWhy::Removed(email("a")),
    };
    let text = end.to_string();
    assert!(
        text.contains("a@x & b@x")
            && text.contains("keeps 2 of 4")
            && text.contains("a@x is no longer in the configuration"),
        "{text}"
    );
    let record = Action::Record {
        record: rec("a-b", SeriesState::Cancelled),
        why: RecordWhy::DeletedByPerson,
    };
    assert!(
        record.to_string().contains("deleted on the calendar by a person"),
        "{record}"
    );
    assert!(EndWhy::LateLanding.to_string().contains("given up"));
    assert!(EndWhy::Paused(email("b")).to_string().contains("b@x is paused"));
    let mass = Refusal::MassCancel {
        count: 6,
        limit: 5,
        booked: 40,
    };
    let text = mass.to_string();
    assert!(
        text.contains("6 of 40") && text.contains("max_cancel_per_cycle = 5") && text.contains("--allow-mass-cancel"),
        "{text}"
    );
    assert!(
        Refusal::NotOurs(OTHER.into())
            .to_string()
            .contains("installation other")
    );
}

//! Skipped weeks (holidays, away days) of Microsoft series: Graph has no
//! exception dates at creation, so each is an occurrence cancelled right
//! after the create. The create's `POST` carries the skip mark, so that a
//! cancel that fails, or a create whose answer was lost, is completed by the
//! next read; and a retried create never touches another installation's
//! series that shares the organizer's mailbox.

use jiff::Timestamp;
use liaison::calendar::{CalendarProvider as _, CreateOutcome};
use serde_json::Value;

use crate::fake_graph::{DEFAULT_USER, FakeGraph};
use crate::microsoft::{Org, prop, provider_as};
use crate::microsoft_end::request;

/// The holiday week of the first term (2027-03-08).
const HOLIDAYS: &str = "skip_dates = [\"2027-03-15\", \"2027-03-16\", \"2027-03-17\", \"2027-03-18\", \"2027-03-19\"]";

/// An org of `n` people whose first term has a holiday week.
fn org_with_holidays(n: usize) -> Org {
    let org = Org::authorized(n);
    let text = std::fs::read_to_string(&org.config).unwrap();
    std::fs::write(
        &org.config,
        text.replacen("[schedule]\n", &format!("[schedule]\n{HOLIDAYS}\n"), 1),
    )
    .unwrap();
    org
}

/// Whether `t` falls in the holiday week (any zone of the org).
fn in_holidays(t: Timestamp) -> bool {
    let lo: Timestamp = "2027-03-14T12:00:00Z".parse().unwrap();
    let hi: Timestamp = "2027-03-20T12:00:00Z".parse().unwrap();
    lo <= t && t < hi
}

/// Per liaison series: its skip mark and whether its holiday-week
/// occurrence is still live (not cancelled).
fn holiday_state(org: &Org) -> Vec<(Option<String>, bool)> {
    org.liaison_events()
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap();
            let live = org
                .fake
                .occurrences(id)
                .iter()
                .any(|o| in_holidays(o.original) && !o.cancelled);
            (prop(e, "liaison_skip"), live)
        })
        .collect()
}

/// `status --json`: the skipped dates of each connection of the first term.
fn skipped_in_status(org: &Org) -> Vec<Vec<String>> {
    let status = org.liaison(&["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let value: Value = serde_json::from_str(&status.stdout).unwrap();
    value["terms"][0]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["skipped"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// A cancel of a skipped week refused once: the create still counts (the
/// series exists), its skip mark stays due, and the next cycle cancels the
/// week and clears the mark; `status` keeps showing the skipped date, and
/// the cancelled week is not taken for a person's cancellation.
#[test]
fn microsoft_a_skipped_week_whose_cancel_failed_is_cancelled_by_the_next_cycle() {
    let org = org_with_holidays(6);
    // Refused once (400: not retried); the other two go through.
    org.fake.fail_method("events.cancel", 1, 400);
    let first = org.liaison(&["run", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stderr.contains("booked=3"), "{}", first.stderr);
    let state = holiday_state(&org);
    assert_eq!(state.len(), 3, "{state:?}");
    let left: Vec<_> = state.iter().filter(|(_, live)| *live).collect();
    assert_eq!(
        left.len(),
        1,
        "one skipped week left live by the refused cancel: {state:?}"
    );
    assert!(
        left[0].0.as_deref().is_some_and(|m| m.starts_with("due;2027-03-1")),
        "{state:?}"
    );

    let second = org.liaison(&["run", "--once"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let state = holiday_state(&org);
    assert!(state.iter().all(|(_, live)| !live), "a meeting on a holiday: {state:?}");
    assert!(
        state
            .iter()
            .all(|(mark, _)| mark.as_deref().is_some_and(|m| m.starts_with("done;2027-03-1"))),
        "{state:?}"
    );
    let skipped = skipped_in_status(&org);
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped.iter().all(|s| s.len() == 1 && s[0].starts_with("2027-03-1")),
        "{skipped:?}"
    );
    // Nothing repaired or rebooked for the cancelled week.
    let third = org.liaison(&["run", "--once"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(third.stderr.contains("booked=0 kept=3"), "{}", third.stderr);
    assert_eq!(org.liaison_events().len(), 3);
}

/// A create applied whose answer never comes (every attempt's connection
/// cut after the write): the first cycle cannot cancel the skipped week. The
/// next cycle finds the series, cancels the week, and keeps its skipped date.
#[test]
fn microsoft_a_skipped_week_of_a_create_whose_answer_was_lost_is_cancelled_by_the_next_cycle() {
    let org = org_with_holidays(2);
    // More than the attempts of one call (12): the create never answers.
    org.fake.drop_after_write_next(64);
    let first = org.liaison(&["run", "--once"]);
    org.fake.drop_after_write_next(0);
    assert!(
        org.fake.requests().iter().any(|r| r.dropped),
        "no answer was lost: {}",
        first.stderr
    );
    let state = holiday_state(&org);
    assert_eq!(state.len(), 1, "the POST was applied: {state:?}\n{}", first.stderr);
    assert!(state[0].1, "the holiday week is still live before the next cycle");

    let second = org.liaison(&["run", "--once"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let state = holiday_state(&org);
    assert_eq!(state.len(), 1, "{state:?}");
    assert!(!state[0].1, "a meeting on a holiday: {state:?}\n{}", second.stderr);
    assert!(
        state[0].0.as_deref().is_some_and(|m| m.starts_with("done;")),
        "{state:?}"
    );
    let skipped = skipped_in_status(&org);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].len(), 1, "{skipped:?}");
}

/// Two installations share one organizer mailbox. When the second one's
/// create finds the first one's series under the same id (same pair, same
/// term), its retry path must not cancel the weeks its own request skips in
/// the first one's live series.
#[test]
fn microsoft_a_retried_create_never_cancels_weeks_of_another_installations_series() {
    let fake = FakeGraph::start();
    fake.add_mailbox("ada@contoso.com", "Europe/London");
    fake.add_mailbox("bo@contoso.com", "Europe/London");
    let (north_dir, south_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let north = provider_as(&fake, north_dir.path(), "north");
    let south = provider_as(&fake, south_dir.path(), "south");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let theirs = request("sharedid00001");
        assert_eq!(north.create_series(&theirs).await.unwrap(), CreateOutcome::Created);
        let mut mine = theirs.clone();
        mine.skip = vec![jiff::civil::datetime(2027, 3, 22, 10, 0, 0, 0)];
        assert_eq!(south.create_series(&mine).await.unwrap(), CreateOutcome::AlreadyExists);
        let events = fake.events(DEFAULT_USER);
        assert_eq!(events.len(), 1);
        let id = events[0]["id"].as_str().unwrap();
        let cancelled: Vec<_> = fake.occurrences(id).into_iter().filter(|o| o.cancelled).collect();
        assert!(
            cancelled.is_empty(),
            "south cancelled north's occurrences: {cancelled:?}"
        );
        assert!(
            !fake.requests().iter().any(|r| r.path.ends_with("/cancel")),
            "a cancel was sent"
        );
        // North's own retry with its skip goes through: its series, its rule.
        let mut north_skip = theirs.clone();
        north_skip.skip = mine.skip.clone();
        assert_eq!(
            north.create_series(&north_skip).await.unwrap(),
            CreateOutcome::AlreadyExists
        );
        let cancelled: Vec<_> = fake.occurrences(id).into_iter().filter(|o| o.cancelled).collect();
        assert_eq!(cancelled.len(), 1, "{cancelled:?}");
        assert_eq!(
            cancelled[0].original,
            "2027-03-22T10:00:00Z".parse::<Timestamp>().unwrap()
        );
    });
}

//! Skipped weeks (holidays, away days) of Microsoft series: Graph has no
//! exception dates at creation, so each is an occurrence cancelled right
//! after the create; a retried create never touches another installation's
//! series that shares the organizer's mailbox.

use jiff::Timestamp;
use liaison::calendar::{CalendarProvider as _, CreateOutcome};

use crate::fake_graph::{DEFAULT_USER, FakeGraph};
use crate::microsoft::provider_as;
use crate::microsoft_end::request;

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

//! One person's calendar that cannot be read (deleted, unshared, or a wrong
//! `people[N].calendar`) under `deliver = "write-each"` is that person's
//! problem: the change feed logs it with the person and the calendar, keeps
//! its token and skips it, also when a full read looks for that person's
//! copies of the series; the person stays unpaired with the reason, and
//! everyone else is booked.

use liaison::calendar::CalendarProvider as _;
use liaison::calendar::caldav::CaldavProvider;

use super::DavOrg;
use super::end_to_end::{booked, run_ok};
use crate::caldav_servers::proxy::Proxy;
use crate::caldav_servers::{Kind, Server, block_on};

/// The `key=` number of the `cycle done` line.
fn figure(stderr: &str, key: &str) -> u64 {
    stderr
        .lines()
        .find(|l| l.contains("cycle done"))
        .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix(key)))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in: {stderr}"))
}

#[test]
fn a_missing_calendar_leaves_its_person_unpaired_and_the_others_booked() {
    for kind in Kind::ALL {
        block_on(async {
            // Cai has no account, so no calendar: the configured one is a 404.
            let server = Server::start(kind, &["ana", "ben"]);
            let org = DavOrg::on_accounts(
                server,
                &[("ana", "Finance"), ("ben", "Sales"), ("cai", "Sales")],
                &["ana", "ben"],
            )
            .await;
            let run = run_ok(&org, &["run", "--once"]);
            assert_eq!(figure(&run.stderr, "booked="), 1, "{kind:?}: {}", run.stderr);
            assert_eq!(figure(&run.stderr, "unpaired="), 1, "{kind:?}: {}", run.stderr);
            assert!(
                run.stderr.contains("this person's calendar cannot be read for changes")
                    && run.stderr.contains("person=cai@example.com")
                    && run.stderr.contains(&org.calendar("cai")),
                "{kind:?}: {}",
                run.stderr
            );
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            for user in ["ana", "ben"] {
                assert_eq!(org.server.list(&org.calendar(user)).await, series, "{kind:?} {user}");
            }
            let again = run_ok(&org, &["run", "--once"]);
            assert!(again.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", again.stderr);
        });
    }
}

#[test]
fn a_calendar_no_longer_shared_is_skipped_with_its_token_kept() {
    block_on(async {
        let org = DavOrg::new(Kind::Radicale, &[("ana", "Finance"), ("ben", "Sales")]).await;
        let proxy = Proxy::start(&org.server.base);
        org.write_config(&format!("url = {:?}", proxy.base));
        run_ok(&org, &["run", "--once"]);
        let series = booked(&org).await;
        assert_eq!(series.len(), 1);
        run_ok(&org, &["run", "--once"]);

        // Ben's calendar answers 403 to everything: the cycle still runs.
        proxy.refuse_all_under(Some(&org.calendar("ben")));
        let refused = run_ok(&org, &["run", "--once"]);
        assert!(
            refused
                .stderr
                .contains("this person's calendar cannot be read for changes")
                && refused.stderr.contains("person=ben@example.com"),
            "{}",
            refused.stderr
        );
        assert_eq!(booked(&org).await, series);

        // Shared again: its kept token makes the cycle quiet at once (one
        // sync-collection for the organizer's calendar and one for each
        // person's, nothing read in full).
        proxy.refuse_all_under(None);
        let back = run_ok(&org, &["run", "--once"]);
        assert!(back.stderr.contains("booked=0 kept=1"), "{}", back.stderr);
        assert_eq!(figure(&back.stderr, "requests="), 3, "{}", back.stderr);
    });
}

#[test]
fn a_full_read_skips_the_copies_of_a_person_whose_calendar_is_gone() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let now = jiff::Timestamp::now();

            // Ben's calendar no longer shared (403), then deleted (404): a
            // full read (no state, or one that cannot be read) still reads
            // the series, without Ben's copy.
            proxy.refuse_all_under(Some(&org.calendar("ben")));
            let changes = provider.list_changes(None, now).await.unwrap();
            assert!(changes.full, "{kind:?}");
            assert_eq!(changes.series.len(), 1, "{kind:?}");
            proxy.refuse_all_under(None);
            let gone = org.server.request("ben", "DELETE", &org.calendar("ben"), &[], "").await;
            assert!(gone.status < 300, "{kind:?}: {}", gone.status);
            let changes = provider.list_changes(Some("not a token"), now).await.unwrap();
            assert!(changes.full, "{kind:?}");
            assert_eq!(changes.series.len(), 1, "{kind:?}");
            assert_eq!(
                changes.series[0].series.request.event_id,
                series[0].trim_end_matches(".ics"),
                "{kind:?}"
            );
        });
    }
}

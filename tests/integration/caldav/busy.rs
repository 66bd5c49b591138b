//! Discovery and busy time through the CalDAV provider against Radicale
//! and Xandikos: `free-busy-query` and `calendar-query` read the same busy
//! time, a missing calendar is that person's problem, a wrong password is
//! an authorization failure, and the outbox (which neither server answers
//! for other people) gives a per-person reason.

use liaison::calendar::caldav::CaldavProvider;
use liaison::calendar::{CalendarError, CalendarProvider as _};
use liaison::core::interval::{Interval, IntervalSet};

use super::{DavOrg, email, event};
use crate::caldav_servers::{Kind, USER, block_on};

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn spans(set: &IntervalSet) -> Vec<(String, String)> {
    set.spans()
        .iter()
        .map(|i| (i.start.to_string(), i.end.to_string()))
        .collect()
}

/// Ana: a single event, a weekly one (in Berlin time, across the change
/// to summer time on 28 March), a transparent one; Ben: nothing.
async fn with_busy_ana(kind: Kind) -> DavOrg {
    let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
    let cal = org.calendar("ana");
    for (uid, lines) in [
        ("single", vec!["DTSTART:20270309T130000Z", "DTEND:20270309T140000Z"]),
        (
            "weekly",
            vec![
                "DTSTART;TZID=Europe/Berlin:20270322T100000",
                "DTEND;TZID=Europe/Berlin:20270322T110000",
                "RRULE:FREQ=WEEKLY;COUNT=2",
            ],
        ),
        (
            "free",
            vec![
                "DTSTART:20270310T130000Z",
                "DTEND:20270310T140000Z",
                "TRANSP:TRANSPARENT",
            ],
        ),
    ] {
        let answer = org
            .server
            .put("ana", &format!("{cal}{uid}.ics"), &event(uid, &lines), None)
            .await;
        assert!(answer.status < 300, "{kind:?} PUT {uid}: {}", answer.status);
    }
    org
}

#[test]
fn free_busy_query_and_calendar_query_read_the_same_busy_time_on_both_servers() {
    for kind in Kind::ALL {
        block_on(async {
            let org = with_busy_ana(kind).await;
            let range = Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-30T00:00:00Z"));
            let expected = [
                ("2027-03-09T13:00:00Z".to_string(), "2027-03-09T14:00:00Z".to_string()),
                ("2027-03-22T09:00:00Z".to_string(), "2027-03-22T10:00:00Z".to_string()),
                // Summer time from 28 March: 10:00 in Berlin is 08:00 UTC.
                ("2027-03-29T08:00:00Z".to_string(), "2027-03-29T09:00:00Z".to_string()),
            ];
            for mode in ["free-busy-query", "calendar-query"] {
                org.write_config(&format!("busy = {mode:?}"));
                let provider = CaldavProvider::from_config(&org.load()).unwrap();
                let people = [email("ana"), email("ben"), email("nobody")];
                let busy = provider.read_busy(&people, range).await.unwrap();
                assert_eq!(
                    spans(busy[&email("ana")].as_ref().unwrap()),
                    expected,
                    "{kind:?} {mode}"
                );
                assert!(busy[&email("ben")].as_ref().unwrap().is_empty(), "{kind:?} {mode}");
                let reason = busy[&email("nobody")].as_ref().unwrap_err();
                assert!(
                    reason.contains("nobody@example.com is not among the people"),
                    "{kind:?} {mode}: {reason}"
                );
                assert_eq!(
                    provider.requests(),
                    2,
                    "{kind:?} {mode}: one REPORT per configured person"
                );
            }
        });
    }
}

#[test]
fn a_missing_calendar_is_that_persons_problem_and_a_wrong_password_everyones() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let ben = org.calendar("ben");
            let gone = org.server.request(USER, "DELETE", &ben, &[], "").await;
            assert!(gone.status < 300, "{kind:?}: {}", gone.status);
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let range = Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-30T00:00:00Z"));
            let busy = provider.read_busy(&[email("ana"), email("ben")], range).await.unwrap();
            assert!(busy[&email("ana")].is_ok(), "{kind:?}");
            let reason = busy[&email("ben")].as_ref().unwrap_err();
            assert!(reason.contains(&ben), "{kind:?}: {reason}");

            if kind.authenticates() {
                std::fs::write(org.dir.path().join("caldav-password"), "wrong\n").unwrap();
                let provider = CaldavProvider::from_config(&org.load()).unwrap();
                let err = provider.read_busy(&[email("ana")], range).await.unwrap_err();
                // The fix is the password file, not `liaison auth`.
                assert!(matches!(err, CalendarError::Credentials(_)), "{kind:?}: {err:?}");
                let shown = err.to_string();
                assert!(shown.contains("refused the password of user \"liaison\""), "{shown}");
                let file = org.dir.path().join("caldav-password");
                assert!(shown.contains(&file.display().to_string()), "{shown}");
                assert!(!shown.contains("liaison auth"), "{shown}");
                assert!(!shown.contains("wrong"), "the password is never shown: {shown}");
            }
        });
    }
}

#[test]
fn discovery_finds_the_principal_and_the_one_calendar_of_the_home() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            // Configured: checked to be a calendar.
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let lines = provider.describe().await.unwrap().join("\n");
            assert!(
                lines.contains(&format!(
                    "caldav organizer calendar: {}",
                    org.server.url(&org.organizer_calendar)
                )),
                "{kind:?}: {lines}"
            );
            assert!(lines.contains("caldav principal: "), "{kind:?}: {lines}");
            // Not a calendar: refused with the key to fix.
            org.write_config(&format!("organizer_calendar = {:?}", org.server.kind.home(USER)));
            if kind == Kind::Radicale {
                let provider = CaldavProvider::from_config(&org.load()).unwrap();
                let err = provider.describe().await.unwrap_err().to_string();
                assert!(err.contains("is not a calendar collection"), "{kind:?}: {err}");
            }
            // Not configured: Radicale's home holds one calendar (liaison's);
            // Xandikos' principal has its default calendar beside the ones
            // the test made, so discovery asks which one.
            org.write_config("organizer_calendar = <none>");
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            match kind {
                Kind::Radicale => {
                    let lines = provider.describe().await.unwrap().join("\n");
                    assert!(
                        lines.contains(&format!(
                            "caldav organizer calendar: {}",
                            org.server.url(&org.organizer_calendar)
                        )),
                        "{lines}"
                    );
                    assert!(lines.contains("caldav scheduling outbox: none"), "{lines}");
                }
                Kind::Xandikos => {
                    let err = provider.describe().await.unwrap_err().to_string();
                    assert!(
                        err.contains("set calendar.caldav.organizer_calendar to the one liaison writes to"),
                        "{err}"
                    );
                }
            }
        });
    }
}

#[test]
fn the_outbox_answers_per_person_and_a_server_without_one_says_so() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            org.write_config("busy = \"schedule-outbox\"\ndeliver = \"scheduling\"");
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let range = Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-30T00:00:00Z"));
            let busy = provider.read_busy(&[email("ana")], range).await;
            match kind {
                // Radicale has no scheduling: no outbox.
                Kind::Radicale => {
                    let err = busy.unwrap_err().to_string();
                    assert!(err.contains("has no scheduling outbox"), "{err}");
                }
                // Xandikos has an outbox but answers only for its own
                // principal's addresses: Ana is left unpaired with the reason.
                Kind::Xandikos => {
                    let busy = busy.unwrap();
                    let reason = busy[&email("ana")].as_ref().unwrap_err();
                    assert!(
                        reason.contains("cannot read ana@example.com's free/busy (3."),
                        "{reason}"
                    );
                }
            }
        });
    }
}

/// Gap 8: busy time through the scheduling outbox (RFC 6638 POST of a
/// VFREEBUSY request) read on a real server. Xandikos answers for the
/// addresses of its one principal (`calendar-user-address-set`, set here to
/// Ana's) from every calendar of that principal; Ben's address is not its
/// to answer (3.7/3.8): he alone is left without busy time. Radicale has no
/// outbox (see above).
#[test]
fn the_outbox_reads_the_busy_time_xandikos_holds_for_an_address() {
    block_on(async {
        let org = with_busy_ana(Kind::Xandikos).await;
        let body = r#"<?xml version="1.0" encoding="utf-8"?><d:propertyupdate xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><c:calendar-user-address-set><d:href>mailto:ana@example.com</d:href></c:calendar-user-address-set></d:prop></d:set></d:propertyupdate>"#;
        let answer = org
            .server
            .request(
                USER,
                "PROPPATCH",
                "/user/",
                &[("Content-Type", "application/xml")],
                body,
            )
            .await;
        assert_eq!(answer.status, 207, "{}", crate::caldav_servers::text(&answer));
        org.write_config("busy = \"schedule-outbox\"\ndeliver = \"scheduling\"");
        let provider = CaldavProvider::from_config(&org.load()).unwrap();
        let range = Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-30T00:00:00Z"));
        let busy = provider.read_busy(&[email("ana"), email("ben")], range).await.unwrap();
        assert_eq!(
            spans(busy[&email("ana")].as_ref().unwrap()),
            [
                ("2027-03-09T13:00:00Z".to_string(), "2027-03-09T14:00:00Z".to_string()),
                ("2027-03-22T09:00:00Z".to_string(), "2027-03-22T10:00:00Z".to_string()),
                ("2027-03-29T08:00:00Z".to_string(), "2027-03-29T09:00:00Z".to_string()),
            ],
            "the outbox reads the same busy time as the REPORTs"
        );
        let reason = busy[&email("ben")].as_ref().unwrap_err();
        assert!(
            reason.contains("cannot read ben@example.com's free/busy (3."),
            "{reason}"
        );
    });
}

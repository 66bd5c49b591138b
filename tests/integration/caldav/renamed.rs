//! Gap 1: liaison's events are recognised by their UID and markers, not by
//! their resource name, on both real servers: the organizer's resource
//! moved to another name (as a server migration or an administrator may
//! leave it) is still the booked series — not taken for deleted — and when
//! that resource is later deleted the deletion is recognised; an attendee's
//! copy under another name still carries their answer, and a cancel reaches
//! it there.

use super::end_to_end::{booked, run_ok};
use super::{DavOrg, email};
use crate::caldav_servers::{Kind, USER, block_on};

/// Moves `from` to `to` on the server as `user` (GET, DELETE, PUT), with
/// `edit` applied to the text; returns the text written.
async fn rename(org: &DavOrg, user: &str, from: &str, to: &str, edit: impl Fn(&str) -> String) -> String {
    let (status, _, text) = org.server.get(user, from).await;
    assert_eq!(status, 200, "GET {from}");
    let answer = org.server.request(user, "DELETE", from, &[], "").await;
    assert!(answer.status < 300, "DELETE {from}: {}", answer.status);
    let text = edit(&text);
    let answer = org.server.put(user, to, &text, Some(("If-None-Match", "*"))).await;
    assert!(answer.status < 300, "PUT {to}: {}", answer.status);
    text
}

/// Whether any resource of `collection` holds the event with `uid`.
async fn holds(org: &DavOrg, collection: &str, uid: &str) -> bool {
    for name in org.server.list(collection).await {
        let (_, _, text) = org.server.get(USER, &format!("{collection}{name}")).await;
        if text.replace("\r\n ", "").contains(&format!("UID:{uid}")) {
            return true;
        }
    }
    false
}

#[test]
fn a_series_renamed_on_the_server_is_still_booked_and_its_deletion_is_recognised() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let name = series[0].clone();
            let calendar = &org.organizer_calendar;
            let renamed = format!("{calendar}renamed-by-the-server.ics");
            rename(&org, USER, &format!("{calendar}{name}"), &renamed, str::to_string).await;

            // The feed reports <id>.ics deleted and the new name changed:
            // the same series, kept, not cancelled, not booked again.
            let run = run_ok(&org, &["run", "--once"]);
            assert!(run.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", run.stderr);
            assert!(
                !run.stderr.contains("deleted on the calendar"),
                "{kind:?}: {}",
                run.stderr
            );
            assert_eq!(booked(&org).await, ["renamed-by-the-server.ics"], "{kind:?}");
            for user in ["ana", "ben"] {
                assert_eq!(
                    org.server.list(&org.calendar(user)).await,
                    [name.as_str()],
                    "{kind:?} {user}"
                );
            }
            // Quiet again after that (the new name is remembered).
            let quiet = run_ok(&org, &["run", "--once"]);
            assert!(quiet.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", quiet.stderr);
            assert!(quiet.stderr.contains("requests=3 "), "{kind:?}: {}", quiet.stderr);

            // A person deletes it under its new name: recognised as the
            // series, deleted by a person.
            let answer = org.server.request(USER, "DELETE", &renamed, &[], "").await;
            assert!(answer.status < 300, "{kind:?}: {}", answer.status);
            let run = run_ok(&org, &["run", "--once"]);
            assert!(
                run.stderr.contains("series deleted on the calendar by a person"),
                "{kind:?}: {}",
                run.stderr
            );
        });
    }
}

#[test]
fn an_answer_in_a_renamed_copy_is_read_and_the_cancel_reaches_the_copy_there() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let name = series[0].clone();
            let uid = name.trim_end_matches(".ics").to_string();

            // Ben's client keeps the event under a name of its own, and he
            // declines the series there.
            let ben = org.calendar("ben");
            let declined = |text: &str| {
                text.replace("\r\n ", "")
                    .split("\r\n")
                    .map(|l| {
                        if l.starts_with("ATTENDEE") && l.ends_with(&format!("mailto:{}", email("ben"))) {
                            l.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=DECLINED")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\r\n")
            };
            let written = rename(
                &org,
                "ben",
                &format!("{ben}{name}"),
                &format!("{ben}kept-by-ben.ics"),
                declined,
            )
            .await;
            assert!(written.contains("PARTSTAT=DECLINED"), "{kind:?}");

            let run = run_ok(&org, &["run", "--once"]);
            assert!(run.stderr.contains("declined by"), "{kind:?}: {}", run.stderr);
            assert!(run.stderr.contains("series cancelled"), "{kind:?}: {}", run.stderr);
            for collection in [org.organizer_calendar.clone(), org.calendar("ana"), ben.clone()] {
                assert!(
                    !holds(&org, &collection, &uid).await,
                    "{kind:?}: {collection} still holds the cancelled series"
                );
            }
        });
    }
}

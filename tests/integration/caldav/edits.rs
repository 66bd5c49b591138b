//! The repairs on a booked series against both real servers, through the
//! provider (DESIGN §5c): ending a series early (`UNTIL`) drops the changed
//! occurrences after the end and keeps those before (and one moved to an
//! earlier day that took place); a person's edit that
//! lands between liaison's read and its write (a proxy sends it first) is
//! kept — liaison's `If-Match` meets a 412 and it edits the fresh version;
//! a resource read without an ETag is not written blind; every DELETE is
//! conditional; the organizer's resource replaced by a person's event
//! between the read and the write (412, read again) is neither edited nor
//! deleted.

use liaison::calendar::caldav::CaldavProvider;
use liaison::calendar::{CalendarProvider as _, DeleteOutcome, EndOutcome};
use liaison::core::interval::Interval;

use super::end_to_end::{booked, run_ok};
use super::trust::occurrence;
use super::{DavOrg, email, event};
use crate::caldav_servers::proxy::Proxy;
use crate::caldav_servers::{Kind, USER, block_on};

/// `text` with `user`'s answer set to ACCEPTED, as their calendar app
/// writes it.
fn accepted_by(text: &str, user: &str) -> String {
    text.replace("\r\n ", "")
        .split("\r\n")
        .map(|l| {
            if l.starts_with("ATTENDEE") && l.ends_with(&format!("mailto:{}", email(user))) {
                l.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The `ATTENDEE` line of `user` in `text` says ACCEPTED.
fn has_accepted(text: &str, user: &str) -> bool {
    text.replace("\r\n ", "").split("\r\n").any(|l| {
        l.starts_with("ATTENDEE") && l.ends_with(&format!("mailto:{}", email(user))) && l.contains("PARTSTAT=ACCEPTED")
    })
}

#[test]
fn ending_early_drops_a_moved_occurrence_after_the_end_and_keeps_one_before() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let name = booked(&org).await.remove(0);
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let series = provider.list_series().await.unwrap().remove(0);
            let id = series.request.event_id.clone();
            let hour = jiff::SignedDuration::from_hours(1);
            for week in [0, 3] {
                let (instance, start) = occurrence(&series, week);
                let to = Interval::new(start + hour, start + hour + series.request.duration);
                provider
                    .move_occurrence(&id, &instance, to, &series.request.zone)
                    .await
                    .unwrap();
            }
            let (first, _) = occurrence(&series, 0);
            let (fourth, _) = occurrence(&series, 3);
            let changes = provider.list_changes(None, jiff::Timestamp::now()).await.unwrap();
            let moved: Vec<&str> = changes
                .occurrences
                .iter()
                .map(|(_, o)| o.instance_id.as_str())
                .collect();
            assert!(
                moved.contains(&first.as_str()) && moved.contains(&fourth.as_str()),
                "{kind:?}: {moved:?}"
            );

            // Ends after the second occurrence: the fourth no longer exists.
            let (_, until) = occurrence(&series, 1);
            provider.end_series(&id, until).await.unwrap();
            let changes = provider.list_changes(None, jiff::Timestamp::now()).await.unwrap();
            assert_eq!(changes.series.len(), 1, "{kind:?}");
            assert_eq!(changes.series[0].series.request.count, 2, "{kind:?}");
            let moved: Vec<&str> = changes
                .occurrences
                .iter()
                .map(|(_, o)| o.instance_id.as_str())
                .collect();
            assert_eq!(moved, [first.as_str()], "{kind:?}");
            for (user, collection) in [
                (USER, org.organizer_calendar.clone()),
                ("ana", org.calendar("ana")),
                ("ben", org.calendar("ben")),
            ] {
                let (_, _, text) = org.server.get(user, &format!("{collection}{name}")).await;
                assert_eq!(
                    text.matches("RECURRENCE-ID").count(),
                    1,
                    "{kind:?} {collection}: {text}"
                );
                assert!(text.contains("UNTIL="), "{kind:?} {collection}: {text}");
            }
        });
    }
}

#[test]
fn ending_early_keeps_an_occurrence_moved_to_an_earlier_day_that_took_place() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let name = booked(&org).await.remove(0);
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let series = provider.list_series().await.unwrap().remove(0);
            let id = series.request.event_id.clone();
            // The second week's meeting moved to yesterday: it was held.
            let (second, _) = occurrence(&series, 1);
            let held = jiff::Timestamp::now()
                .round(jiff::TimestampRound::new().smallest(jiff::Unit::Hour))
                .unwrap()
                - jiff::SignedDuration::from_hours(24);
            let to = Interval::new(held, held + series.request.duration);
            provider
                .move_occurrence(&id, &second, to, &series.request.zone)
                .await
                .unwrap();

            // Ended at the first week: the second's original time is after
            // the cut, but the meeting took place.
            let (_, until) = occurrence(&series, 0);
            provider.end_series(&id, until).await.unwrap();
            let changes = provider.list_changes(None, jiff::Timestamp::now()).await.unwrap();
            let moved: Vec<(&str, Option<Interval>)> = changes
                .occurrences
                .iter()
                .map(|(_, o)| (o.instance_id.as_str(), o.interval))
                .collect();
            assert_eq!(moved, [(second.as_str(), Some(to))], "{kind:?}");
            for (user, collection) in [
                (USER, org.organizer_calendar.clone()),
                ("ana", org.calendar("ana")),
                ("ben", org.calendar("ben")),
            ] {
                let (_, _, text) = org.server.get(user, &format!("{collection}{name}")).await;
                assert_eq!(
                    text.matches("RECURRENCE-ID").count(),
                    1,
                    "{kind:?} {collection}: {text}"
                );
                assert!(text.contains("UNTIL="), "{kind:?} {collection}: {text}");
            }
        });
    }
}

#[test]
fn a_persons_edit_between_liaisons_read_and_write_is_kept_and_deletes_are_conditional() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            run_ok(&org, &["run", "--once"]);
            let name = booked(&org).await.remove(0);
            let copy = format!("{}{name}", org.calendar("ana"));
            let (_, _, text) = org.server.get("ana", &copy).await;
            assert!(!has_accepted(&text, "ana"), "{kind:?}");

            // Ana accepts in her copy after liaison read it, before it writes.
            let mark = proxy.seen().len();
            proxy.interfere_before_write(&copy, "ana", &accepted_by(&text, "ana"));
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let series = provider.list_series().await.unwrap().remove(0);
            let (_, until) = occurrence(&series, 1);
            provider.end_series(&series.request.event_id, until).await.unwrap();
            assert!(!proxy.interference_pending(), "{kind:?}: Ana's edit was sent");
            let (_, _, text) = org.server.get("ana", &copy).await;
            assert!(has_accepted(&text, "ana"), "{kind:?}: Ana's answer is kept: {text}");
            assert!(text.contains("UNTIL="), "{kind:?}: and liaison's end applied: {text}");
            let puts: Vec<_> = proxy.seen()[mark..]
                .iter()
                .filter(|s| s.method == "PUT" && s.path == copy)
                .cloned()
                .collect();
            assert_eq!(puts.len(), 2, "{kind:?}: a 412, then the fresh version: {puts:?}");
            assert!(puts.iter().all(|s| s.if_match.is_some()), "{kind:?}: {puts:?}");

            // Cancelling deletes every resource on its ETag.
            provider.delete_series(&series.request.event_id).await.unwrap();
            let deletes: Vec<_> = proxy.seen()[mark..]
                .iter()
                .filter(|s| s.method == "DELETE")
                .cloned()
                .collect();
            assert_eq!(deletes.len(), 3, "{kind:?}: {deletes:?}");
            assert!(deletes.iter().all(|s| s.if_match.is_some()), "{kind:?}: {deletes:?}");
            assert!(booked(&org).await.is_empty(), "{kind:?}");
            for user in ["ana", "ben"] {
                assert!(org.server.list(&org.calendar(user)).await.is_empty(), "{kind:?} {user}");
            }
        });
    }
}

#[test]
fn a_resource_read_without_an_etag_is_not_written_blind() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            run_ok(&org, &["run", "--once"]);
            let name = booked(&org).await.remove(0);
            let copy = format!("{}{name}", org.calendar("ana"));
            let (_, _, text) = org.server.get("ana", &copy).await;
            let mark = proxy.seen().len();
            proxy.strip_etags_under(Some(&org.calendar("ana")));
            proxy.interfere_before_write(&copy, "ana", &accepted_by(&text, "ana"));
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let series = provider.list_series().await.unwrap().remove(0);
            let (_, until) = occurrence(&series, 1);
            let refused = provider
                .end_series(&series.request.event_id, until)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("sent no ETag") && refused.contains(&copy),
                "{kind:?}: {refused}"
            );
            assert!(
                proxy.seen()[mark..]
                    .iter()
                    .all(|s| !(s.path == copy && s.method == "PUT")),
                "{kind:?}: nothing written to Ana's copy"
            );
            // A blind PUT would have sent Ana's edit first and then lost it.
            assert!(proxy.interference_pending(), "{kind:?}");
            let (_, _, now) = org.server.get("ana", &copy).await;
            assert!(!now.contains("UNTIL="), "{kind:?}: {now}");
        });
    }
}

#[test]
fn the_organizers_resource_replaced_between_read_and_write_is_left_alone() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            run_ok(&org, &["run", "--once"]);
            let name = booked(&org).await.remove(0);
            let path = format!("{}{name}", org.organizer_calendar);
            let (_, _, original) = org.server.get(USER, &path).await;
            let uid = name.trim_end_matches(".ics");
            // A person's own event under the same name and UID, put there
            // after liaison read the series and before it writes.
            let theirs = event(
                uid,
                &[
                    "DTSTART;TZID=Europe/Berlin:20270315T100000",
                    "DURATION:PT30M",
                    "RRULE:FREQ=WEEKLY;COUNT=4",
                ],
            );
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let series = provider.list_series().await.unwrap().remove(0);
            let id = series.request.event_id.clone();

            proxy.interfere_before_write(&path, USER, &theirs);
            let (_, until) = occurrence(&series, 1);
            let ended = provider.end_series(&id, until).await.unwrap();
            assert!(!proxy.interference_pending(), "{kind:?}");
            assert_eq!(ended, EndOutcome::AlreadyGone, "{kind:?}");
            let (_, _, now) = org.server.get(USER, &path).await;
            assert!(
                !now.contains("UNTIL=") && !now.contains("X-LIAISON"),
                "{kind:?}: not edited: {now}"
            );

            // Liaison's series back; replaced again before the DELETE.
            let back = org.server.put(USER, &path, &original, None).await;
            assert!(back.status < 300, "{kind:?}: {}", back.status);
            proxy.interfere_before_write(&path, USER, &theirs);
            let deleted = provider.delete_series(&id).await.unwrap();
            assert!(!proxy.interference_pending(), "{kind:?}");
            assert_eq!(deleted, DeleteOutcome::AlreadyGone, "{kind:?}");
            let (status, _, now) = org.server.get(USER, &path).await;
            assert_eq!(status, 200, "{kind:?}: not deleted");
            assert!(now.contains("SUMMARY:busy"), "{kind:?}: {now}");
        });
    }
}

//! Bookings a run left half done, finished by the next one, on both real
//! servers (DESIGN §5c): a run killed between the organizer's PUT and the
//! attendee copies (`write-each`; a copy written late carries the
//! occurrences moved meanwhile), and a series the server holds under
//! another name than `<id>.ics` (`C:no-uid-conflict`, then found by UID).

use std::process::Stdio;
use std::time::Duration;

use liaison::calendar::caldav::CaldavProvider;
use liaison::calendar::{CalendarProvider as _, CreateOutcome};

use liaison::core::interval::Interval;

use super::DavOrg;
use super::end_to_end::{TIMING, booked, run_ok};
use super::trust::occurrence;
use crate::caldav_servers::proxy::Proxy;
use crate::caldav_servers::{Kind, USER, block_on};
use crate::util::command;

/// Starts `run --once` paused at `point` and kills it there.
fn kill_at(org: &DavOrg, point: &str) {
    let mut child = command(org.dir.path())
        .arg("--config")
        .arg(&org.config)
        .args(["run", "--once"])
        .env("LIAISON_GOOGLE_TIMING", TIMING)
        .env("LIAISON_PAUSE_AT", point)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = format!("paused at {point}");
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if text.contains(&needle) {
                let _ = tx.send(());
            }
        }
    });
    let paused = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    paused.unwrap_or_else(|_| panic!("never paused at {point}"));
}

/// Each person's calendar holds exactly one resource, named `name`, whose
/// UID is the series'.
async fn one_copy_each(org: &DavOrg, name: &str, kind: Kind) {
    let uid = name.trim_end_matches(".ics");
    for (user, _) in &org.people {
        let calendar = org.calendar(user);
        assert_eq!(org.server.list(&calendar).await, [name], "{kind:?}: {user}'s calendar");
        let (status, _, text) = org.server.get(user, &format!("{calendar}{name}")).await;
        assert_eq!(status, 200, "{kind:?}");
        assert!(text.contains(&format!("UID:{uid}")), "{kind:?}: {text}");
        assert!(
            !text.contains("X-LIAISON-COPY"),
            "{kind:?}: a copy lists no copies: {text}"
        );
    }
}

#[test]
fn a_run_killed_between_the_organizer_put_and_the_copies_is_completed_by_the_next() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            kill_at(&org, "caldav_after_organizer_put");
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}: the organizer's PUT was made");
            for (user, _) in &org.people {
                assert!(
                    org.server.list(&org.calendar(user)).await.is_empty(),
                    "{kind:?}: no copy was written before the kill"
                );
            }
            let organizer = format!("{}{}", org.organizer_calendar, series[0]);
            let (_, _, text) = org.server.get(USER, &organizer).await;
            assert!(text.contains("X-LIAISON-COPIES-PENDING"), "{kind:?}: {text}");

            // A dry run reads it and writes nothing: the copies stay missing
            // and the mark stays for the real run.
            let dry = run_ok(&org, &["run", "--once", "--dry-run"]);
            for (user, _) in &org.people {
                assert!(
                    org.server.list(&org.calendar(user)).await.is_empty(),
                    "{kind:?}: a dry run wrote a copy: {}",
                    dry.stderr
                );
            }
            let (_, _, text) = org.server.get(USER, &organizer).await;
            assert!(text.contains("X-LIAISON-COPIES-PENDING"), "{kind:?}: {text}");

            // The next run finds the series for its pending intent, records
            // it booked, and writes the two missing copies.
            let next = run_ok(&org, &["run", "--once"]);
            assert_eq!(booked(&org).await, series, "{kind:?}: {}", next.stderr);
            one_copy_each(&org, &series[0], kind).await;
            let (_, _, text) = org.server.get(USER, &organizer).await;
            assert!(!text.contains("X-LIAISON-COPIES-PENDING"), "{kind:?}: {text}");
            assert_eq!(text.matches("X-LIAISON-COPY:").count(), 2, "{kind:?}: {text}");

            // Settled: a further run keeps it and writes nothing more.
            let again = run_ok(&org, &["run", "--once"]);
            assert!(again.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", again.stderr);
            assert_eq!(booked(&org).await, series, "{kind:?}");
            one_copy_each(&org, &series[0], kind).await;
        });
    }
}

/// Gap 2: a copy that its calendar refuses while a later run completes the
/// copies (here a proxy answers 403 to every PUT into Ben's calendar) keeps
/// the organizer's mark, and every later run tries it again until it is
/// written; only then is the mark cleared.
#[test]
fn an_attendee_copy_refused_while_completing_keeps_the_mark_and_a_later_run_writes_it() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            kill_at(&org, "caldav_after_organizer_put");
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}: the organizer's PUT was made");
            let organizer = format!("{}{}", org.organizer_calendar, series[0]);

            proxy.refuse_puts_under(Some(&org.calendar("ben")));
            for attempt in 1..=2 {
                let refused_before = proxy.refused();
                let run = run_ok(&org, &["run", "--once"]);
                assert!(
                    proxy.refused() > refused_before,
                    "{kind:?} run {attempt}: Ben's copy was tried: {}",
                    run.stderr
                );
                assert!(
                    run.stderr.contains("the attendee copy cannot be written"),
                    "{kind:?}: {}",
                    run.stderr
                );
                assert_eq!(org.server.list(&org.calendar("ana")).await, series, "{kind:?}");
                assert!(org.server.list(&org.calendar("ben")).await.is_empty(), "{kind:?}");
                let (_, _, text) = org.server.get(USER, &organizer).await;
                assert!(
                    text.contains("X-LIAISON-COPIES-PENDING"),
                    "{kind:?} run {attempt}: the mark stays while a copy is missing: {text}"
                );
            }

            proxy.refuse_puts_under(None);
            let run = run_ok(&org, &["run", "--once"]);
            assert!(run.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", run.stderr);
            one_copy_each(&org, &series[0], kind).await;
            let (_, _, text) = org.server.get(USER, &organizer).await;
            assert!(!text.contains("X-LIAISON-COPIES-PENDING"), "{kind:?}: {text}");
            // Settled: once the change of the mark is read back, cycles are
            // quiet again (nothing is left pending).
            run_ok(&org, &["run", "--once"]);
            let quiet = run_ok(&org, &["run", "--once"]);
            assert!(quiet.stderr.contains("requests=3 "), "{kind:?}: {}", quiet.stderr);
        });
    }
}

#[test]
fn a_series_held_under_another_name_is_found_by_its_uid_and_not_booked_twice() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let name = series[0].clone();
            // The same event (same UID) under another resource name, as a
            // migration or another client may leave it; a fresh state, so
            // that liaison books the pair again under the same id.
            let from = format!("{}{name}", org.organizer_calendar);
            let (_, _, text) = org.server.get(USER, &from).await;
            let answer = org.server.request(USER, "DELETE", &from, &[], "").await;
            assert!(answer.status < 300, "{kind:?}: DELETE {}", answer.status);
            let moved = format!("{}moved-by-admin.ics", org.organizer_calendar);
            let answer = org.server.put(USER, &moved, &text, None).await;
            assert!(answer.status < 300, "{kind:?}: PUT {}", answer.status);
            std::fs::remove_dir_all(org.dir.path().join("state")).unwrap();

            // The change feed's full read (no token) recognises the series
            // by its UID and markers, not by its name: it is recorded from
            // the calendar, and no PUT is made (none booked twice).
            let run = run_ok(&org, &["run", "--once"]);
            assert!(
                run.stderr.contains("series recorded from the calendar"),
                "{kind:?}: {}",
                run.stderr
            );
            assert!(run.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", run.stderr);
            assert_eq!(booked(&org).await, ["moved-by-admin.ics"], "{kind:?}");
            one_copy_each(&org, &name, kind).await;
            let again = run_ok(&org, &["run", "--once"]);
            assert!(again.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", again.stderr);
            assert_eq!(booked(&org).await, ["moved-by-admin.ics"], "{kind:?}");

            // A create of the same series (as a state that lost it would
            // send): the PUT of <id>.ics meets the UID elsewhere (Xandikos:
            // 412 and a GET that finds nothing; Radicale: 409); the
            // calendar-query by UID finds it, ours: already booked.
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let listed = provider.list_series().await.unwrap();
            assert_eq!(listed.len(), 1, "{kind:?}");
            let outcome = provider.create_series(&listed[0].request).await.unwrap();
            assert!(matches!(outcome, CreateOutcome::AlreadyExists), "{kind:?}: {outcome:?}");
            assert_eq!(booked(&org).await, ["moved-by-admin.ics"], "{kind:?}");
        });
    }
}

/// A copy written late (refused while an occurrence was moved) shows the
/// occurrence where it is now, as the organizer's resource does.
#[test]
fn a_copy_written_late_carries_the_occurrence_moved_meanwhile() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            kill_at(&org, "caldav_after_organizer_put");
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            proxy.refuse_puts_under(Some(&org.calendar("ben")));
            run_ok(&org, &["run", "--once"]);
            assert!(org.server.list(&org.calendar("ben")).await.is_empty(), "{kind:?}");

            // The second week moved by an hour while Ben's copy is missing.
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let booked_series = provider.list_series().await.unwrap().remove(0);
            let request = &booked_series.request;
            let (second, start) = occurrence(&booked_series, 1);
            let hour = jiff::SignedDuration::from_hours(1);
            let to = Interval::new(start + hour, start + hour + request.duration);
            provider
                .move_occurrence(&request.event_id, &second, to, &request.zone)
                .await
                .unwrap();

            proxy.refuse_puts_under(None);
            run_ok(&org, &["run", "--once"]);
            one_copy_each(&org, &series[0], kind).await;
            let zone = jiff::tz::TimeZone::get(&request.zone).unwrap();
            let moved_to =
                jiff::fmt::strtime::format("%Y%m%dT%H%M%S", to.start.to_zoned_datetime(zone).datetime()).unwrap();
            let copy = format!("{}{}", org.calendar("ben"), series[0]);
            let (_, _, text) = org.server.get("ben", &copy).await;
            let text = text.replace("\r\n ", "");
            assert_eq!(text.matches("RECURRENCE-ID").count(), 1, "{kind:?}: {text}");
            assert!(
                text.contains(&format!("DTSTART;TZID={}:{moved_to}", request.zone)),
                "{kind:?}: Ben's copy shows the moved time: {text}"
            );
            assert!(
                !text.contains("X-LIAISON-COPY"),
                "{kind:?}: no organizer's marker: {text}"
            );
        });
    }
}

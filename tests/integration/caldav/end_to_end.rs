//! The real binary against Radicale and Xandikos (DESIGN §5c, issue 13's
//! "done when"): `check`, `plan` (writes nothing), `run --once` books a
//! sound term (every occurrence inside the working window and outside the
//! people's busy time), a second run changes nothing (same ETags), a quiet
//! cycle makes at most 3 requests, a declined series and a removed person
//! are cancelled in every calendar, a crash between intent and PUT leaves
//! no duplicate.

use std::process::Stdio;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;

use super::{DavOrg, email, event};
use crate::caldav_servers::{Kind, PASSWORD, USER, block_on};
use crate::util::{NOW, Run, command};

/// Short retries, so that a write's timeout (call timeout plus budget) is 2 s.
pub(super) const TIMING: &str = "timeout=1s,attempts=2,base=1ms,cap=5ms,budget=1s";

pub(super) fn run(org: &DavOrg, args: &[&str]) -> Run {
    let output = command(org.dir.path())
        .arg("--config")
        .arg(&org.config)
        .args(args)
        .env("LIAISON_GOOGLE_TIMING", TIMING)
        .output()
        .expect("liaison runs");
    Run::from(output)
}

pub(super) fn run_ok(org: &DavOrg, args: &[&str]) -> Run {
    let run = run(org, args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    run
}

/// The `requests=` of the `cycle done` line.
fn requests(run: &Run) -> u64 {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("cycle done"))
        .expect("a cycle done line");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("requests="))
        .and_then(|n| n.parse().ok())
        .expect("requests=")
}

/// Every resource of the organizer's and the people's calendars with its ETag.
async fn state(org: &DavOrg) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut collections = vec![org.organizer_calendar.clone()];
    collections.extend(org.people.iter().map(|(u, _)| org.calendar(u)));
    for collection in collections {
        for name in org.server.list(&collection).await {
            let (_, etag, _) = org.server.get(USER, &format!("{collection}{name}")).await;
            out.push((collection.clone(), name, etag));
        }
    }
    out
}

/// The series liaison booked, read back from the organizer's calendar.
pub(super) async fn booked(org: &DavOrg) -> Vec<String> {
    org.server
        .list(&org.organizer_calendar)
        .await
        .into_iter()
        .filter(|n| !n.starts_with("busy-"))
        .collect()
}

/// Ana is busy every weekday morning in the first term.
async fn busy_mornings(org: &DavOrg) {
    let cal = org.calendar("ana");
    let ics = event(
        "busy-mornings",
        &[
            "DTSTART;TZID=Europe/Berlin:20270308T090000",
            "DTEND;TZID=Europe/Berlin:20270308T120000",
            "RRULE:FREQ=DAILY;COUNT=40;BYDAY=MO,TU,WE,TH,FR",
        ],
    );
    let answer = org
        .server
        .put("ana", &format!("{cal}busy-mornings.ics"), &ics, None)
        .await;
    assert!(answer.status < 300, "{}", answer.status);
}

/// Every occurrence of every booked series: inside 09:00-17:00 on a weekday
/// in Berlin, after Ana's busy morning plus the 5-minute buffer.
async fn assert_sound(org: &DavOrg) {
    let berlin = TimeZone::get("Europe/Berlin").unwrap();
    for name in booked(org).await {
        let (_, _, text) = org.server.get(USER, &format!("{}{name}", org.organizer_calendar)).await;
        let dtstart = text
            .lines()
            .find(|l| l.starts_with("DTSTART;TZID=Europe/Berlin:"))
            .unwrap_or_else(|| panic!("{text}"));
        let start: jiff::civil::DateTime =
            jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", dtstart.rsplit(':').next().unwrap().trim())
                .unwrap()
                .to_datetime()
                .unwrap();
        assert!(text.contains("RRULE:FREQ=WEEKLY;COUNT=4"), "{text}");
        for week in 0..4 {
            let at = start
                .checked_add(jiff::Span::new().weeks(week))
                .unwrap()
                .to_zoned_datetime(berlin.clone())
                .unwrap();
            let wall = at.datetime().time();
            assert!(at.date().weekday().to_monday_one_offset() <= 5, "{at}");
            assert!(
                wall >= jiff::civil::time(12, 5, 0, 0),
                "{at}: inside Ana's busy morning or its buffer"
            );
            assert!(wall <= jiff::civil::time(16, 30, 0, 0), "{at}: ends after 17:00");
        }
    }
}

#[test]
fn check_plan_and_two_runs_book_once_and_a_quiet_cycle_costs_three_requests() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            busy_mornings(&org).await;

            let check = run_ok(&org, &["check"]);
            assert!(
                check.stdout.contains("caldav organizer calendar: "),
                "{kind:?}: {}",
                check.stdout
            );
            assert!(
                !check.stdout.contains(PASSWORD) && !check.stderr.contains(PASSWORD),
                "{kind:?}"
            );

            let before = state(&org).await;
            let plan = run_ok(&org, &["plan"]);
            assert!(
                plan.stdout.contains("ana (Finance)  ben (Sales)"),
                "{kind:?}: {}",
                plan.stdout
            );
            assert_eq!(state(&org).await, before, "{kind:?}: plan wrote nothing");

            let first = run_ok(&org, &["run", "--once"]);
            assert!(first.stderr.contains("booked=1"), "{kind:?}: {}", first.stderr);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            // The same event in each person's calendar (write-each).
            for user in ["ana", "ben"] {
                let names = org.server.list(&org.calendar(user)).await;
                assert!(names.contains(&series[0]), "{kind:?} {user}: {names:?}");
            }
            assert_sound(&org).await;

            let after_first = state(&org).await;
            let second = run_ok(&org, &["run", "--once"]);
            assert!(second.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", second.stderr);
            assert_eq!(state(&org).await, after_first, "{kind:?}: same resources, same ETags");
            let third = run_ok(&org, &["run", "--once"]);
            assert!(requests(&third) <= 3, "{kind:?}: a quiet cycle: {}", third.stderr);
            assert_eq!(
                requests(&third),
                3,
                "{kind:?}: one sync-collection per watched calendar"
            );
        });
    }
}

/// The quiet-cycle budget of DESIGN §5c in an organization of six people
/// (three pairs): under `write-each` one sync-collection for the
/// organizer's calendar and one for each person's (1 + 6 = 7); under
/// `scheduling` the organizer's only (1, within the budget of 3).
#[test]
fn a_quiet_cycle_costs_one_sync_per_watched_calendar_in_a_larger_org() {
    let people = [
        ("ana", "Finance"),
        ("ben", "Sales"),
        ("cai", "Finance"),
        ("dan", "Sales"),
        ("eve", "Legal"),
        ("fay", "Ops"),
    ];
    for kind in Kind::ALL {
        for (deliver, budget) in [("\"write-each\"", 1 + 6), ("\"scheduling\"", 1)] {
            block_on(async {
                let org = DavOrg::new(kind, &people).await;
                org.write_config(&format!("deliver = {deliver}"));
                let first = run_ok(&org, &["run", "--once"]);
                assert!(
                    first.stderr.contains("booked=3"),
                    "{kind:?} {deliver}: {}",
                    first.stderr
                );
                // The cycle after the bookings reads them back once.
                run_ok(&org, &["run", "--once"]);
                let quiet = run_ok(&org, &["run", "--once"]);
                assert!(
                    quiet.stderr.contains("booked=0 kept=3"),
                    "{kind:?} {deliver}: {}",
                    quiet.stderr
                );
                assert_eq!(requests(&quiet), budget, "{kind:?} {deliver}: {}", quiet.stderr);
            });
        }
    }
}

#[test]
fn a_declined_series_and_a_removed_person_are_cancelled_in_every_calendar() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales"), ("cai", "Sales")]).await;
            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let name = series[0].clone();
            let (_, _, text) = org.server.get(USER, &format!("{}{name}", org.organizer_calendar)).await;
            let text = text.replace("\r\n ", "");
            let partner = if text.contains("mailto:ben@example.com") {
                "ben"
            } else {
                "cai"
            };
            let other = if partner == "ben" { "cai" } else { "ben" };

            // The partner declines the whole series in their own copy.
            let copy = format!("{}{name}", org.calendar(partner));
            let (_, etag, text) = org.server.get(partner, &copy).await;
            let unfolded = text.replace("\r\n ", "");
            let declined: String = unfolded
                .split("\r\n")
                .map(|l| {
                    if l.starts_with("ATTENDEE") && l.ends_with(&format!("mailto:{}", email(partner))) {
                        l.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=DECLINED")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\r\n");
            let answer = org
                .server
                .put(partner, &copy, &declined, Some(("If-Match", etag.as_deref().unwrap())))
                .await;
            assert!(answer.status < 300, "{kind:?}: {}", answer.status);

            let repair = run_ok(&org, &["run", "--once"]);
            assert!(
                repair.stderr.contains("series cancelled"),
                "{kind:?}: {}",
                repair.stderr
            );
            for calendar in [
                org.organizer_calendar.clone(),
                org.calendar("ana"),
                org.calendar(partner),
            ] {
                assert!(
                    !org.server.list(&calendar).await.contains(&name),
                    "{kind:?}: {calendar} still has {name}"
                );
            }
            // Ana is paired again, with the other one.
            let again = booked(&org).await;
            assert_eq!(again.len(), 1, "{kind:?}: {}", repair.stderr);
            let (_, _, text) = org
                .server
                .get(USER, &format!("{}{}", org.organizer_calendar, again[0]))
                .await;
            let text = text.replace("\r\n ", "");
            assert!(text.contains(&format!("mailto:{}", email(other))), "{kind:?}: {text}");

            // The other one leaves the organization: their series goes too.
            let stay: Vec<String> = ["ana", partner].iter().map(|s| s.to_string()).collect();
            org.write_config_with("", &stay);
            let removal = run_ok(&org, &["run", "--once"]);
            assert!(
                removal.stderr.contains("series cancelled"),
                "{kind:?}: {}",
                removal.stderr
            );
            for calendar in [org.organizer_calendar.clone(), org.calendar("ana"), org.calendar(other)] {
                assert!(
                    !org.server.list(&calendar).await.contains(&again[0]),
                    "{kind:?}: {calendar}"
                );
            }
        });
    }
}

#[test]
fn a_crash_between_the_intent_and_the_put_leaves_no_duplicate() {
    for kind in Kind::ALL {
        block_on(async {
            let org = DavOrg::new(kind, &[("ana", "Finance"), ("ben", "Sales")]).await;
            let mut child = command(org.dir.path())
                .arg("--config")
                .arg(&org.config)
                .args(["run", "--once"])
                .env("LIAISON_GOOGLE_TIMING", TIMING)
                .env("LIAISON_PAUSE_AT", "after_intent")
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stderr = child.stderr.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if text.contains("paused at after_intent") {
                        let _ = tx.send(());
                    }
                }
            });
            rx.recv_timeout(Duration::from_secs(60))
                .expect("paused at after_intent");
            child.kill().unwrap();
            child.wait().unwrap();
            assert!(
                booked(&org).await.is_empty(),
                "{kind:?}: nothing was written before the PUT"
            );
            // The intent is pending; once the write timeout (2 s) has passed
            // it is given up and the pair booked, once.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let run = run_ok(&org, &["run", "--once"]);
                let series = booked(&org).await;
                assert!(series.len() <= 1, "{kind:?}: {series:?}");
                if series.len() == 1 {
                    break;
                }
                assert!(Instant::now() < deadline, "{kind:?}: never booked: {}", run.stderr);
                std::thread::sleep(Duration::from_millis(500));
            }
            let again = run_ok(&org, &["run", "--once"]);
            assert!(again.stderr.contains("booked=0 kept=1"), "{kind:?}: {}", again.stderr);
            for user in ["ana", "ben"] {
                assert_eq!(org.server.list(&org.calendar(user)).await.len(), 1, "{kind:?} {user}");
            }
            let _ = NOW;
        });
    }
}

//! The daemon with the real binary against the fake Google API: it books in the
//! background and stops cleanly on SIGTERM, survives a broken config on SIGHUP,
//! and never double-books when killed with SIGKILL at the worst moments or when
//! its database is lost or damaged.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::google::Org;
use crate::microsoft;
use crate::twins::{TestOrg, assert_store_matches_calendar, spawn};

/// Collects a child's stderr lines on a thread, so the test can wait for one.
pub struct Log {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Log {
    pub fn of(child: &mut Child) -> Log {
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Log {
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits up to `limit` for a line containing `needle`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        if self.seen.iter().any(|l| l.contains(needle)) {
            return true;
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    pub fn count(&mut self, needle: &str) -> usize {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.iter().filter(|l| l.contains(needle)).count()
    }

    pub fn text(&self) -> String {
        self.seen.join("\n")
    }
}

pub fn signal(child: &Child, name: &str) {
    // The shell's built-in kill: present on every machine, unlike /bin/kill.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{name} {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, up to `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// An authorized organization whose daemon cycles every second.
fn org(n: usize) -> Org {
    let org = Org::new(n);
    let text = std::fs::read_to_string(&org.config).unwrap();
    let text = text.replace(
        "first_term = \"2027-03-08\"",
        "first_term = \"2027-03-08\"\ncycle_every = \"1s\"",
    );
    std::fs::write(&org.config, text).unwrap();
    let auth = org.authorize();
    assert_eq!(auth.code, 0, "{}", auth.stderr);
    org
}

#[test]
fn the_daemon_books_in_the_background_and_stops_on_sigterm_with_exit_0() {
    let org = org(12);
    let mut child = org.spawn(&["run"], &[]);
    let mut log = Log::of(&mut child);
    assert!(
        log.wait_for("cycle done", Duration::from_secs(30)),
        "no cycle: {}",
        log.text()
    );
    signal(&child, "TERM");
    let started = Instant::now();
    let code = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(code, Some(0), "did not stop cleanly within 10 s: {}", log.text());
    eprintln!("stopped {:?} after SIGTERM", started.elapsed());
    assert_eq!(org.check_invariants(), 6);
    assert_store_matches_calendar(&org);
    let status = org.liaison(&["status", "--json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let shown: BTreeSet<String> = status["terms"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["connections"].as_array().unwrap().iter())
        .map(|c| c["event_id"].as_str().unwrap().to_string())
        .collect();
    let booked: BTreeSet<String> = org
        .liaison_events()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, booked, "status does not show the booked connections");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_daemon_running_on_the_old_one() {
    let org = org(6);
    let mut child = org.spawn(&["run"], &[]);
    let mut log = Log::of(&mut child);
    assert!(log.wait_for("cycle done", Duration::from_secs(30)), "{}", log.text());
    let good = std::fs::read_to_string(&org.config).unwrap();
    std::fs::write(
        &org.config,
        good.replace("[schedule]", "[schedule]\nterm_weeks = \"four\""),
    )
    .unwrap();
    signal(&child, "HUP");
    assert!(
        log.wait_for("keeping the old one", Duration::from_secs(10)),
        "{}",
        log.text()
    );
    let cycles = log.count("cycle done");
    assert!(
        log.wait_for_more("cycle done", cycles, Duration::from_secs(10)),
        "no cycle after the reload: {}",
        log.text()
    );
    assert!(child.try_wait().unwrap().is_none(), "the daemon exited");
    // A good config is taken on the next SIGHUP.
    std::fs::write(&org.config, good).unwrap();
    signal(&child, "HUP");
    assert!(
        log.wait_for("configuration reloaded", Duration::from_secs(10)),
        "{}",
        log.text()
    );
    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
}

impl Log {
    /// Waits until `needle` has been seen more than `already` times.
    fn wait_for_more(&mut self, needle: &str, already: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.count(needle) > already {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// Kills `run --once` with SIGKILL at a pause point, restarts it, and checks
/// that every pair has exactly one series and the store agrees with the calendar.
/// Fast retries with a short budget: an insert's write timeout (budget plus
/// one call timeout, DESIGN §4 "Write-ahead") is then 6 s, so a pending
/// intent is given up soon after that.
const SHORT_BUDGET: &str = "timeout=5s,attempts=12,base=1ms,cap=20ms,budget=1s";
/// For a process that will be killed with a call in flight: it cannot time
/// out and retry that call before the kill, however slow the machine.
const NO_RETRY_BEFORE_KILL: &str = "timeout=120s,attempts=12,base=1ms,cap=20ms,budget=1s";
/// For a restarted run that must find an intent still pending: its write
/// timeout (2 minutes) cannot pass between the flush and the lookup.
const LONG_WRITE_TIMEOUT: &str = "timeout=60s,attempts=12,base=1ms,cap=20ms,budget=60s";

/// `run --once` with [`SHORT_BUDGET`]; it must succeed.
fn run_once_short(org: &impl TestOrg) -> crate::util::Run {
    run_once_with(org, SHORT_BUDGET)
}

/// `run --once` with the given `LIAISON_GOOGLE_TIMING`; it must succeed.
fn run_once_with(org: &impl TestOrg, timing: &str) -> crate::util::Run {
    let run = crate::util::Run::from(
        org.command()
            .args(["run", "--once"])
            .env("LIAISON_GOOGLE_TIMING", timing)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// Waits until the fake holds a call at one of its gates (a readiness
/// signal: the call reached the server), up to 60 s.
fn wait_held(org: &Org) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while org.fake.held() == 0 {
        assert!(Instant::now() < deadline, "no call reached the gate");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills `run --once` of twelve people at pause `point`, then runs again
/// until all six pairs are booked: one series each, the store agreeing.
fn crash_at(org: &impl TestOrg, point: &str) {
    let timing = ("LIAISON_GOOGLE_TIMING", SHORT_BUDGET);
    let mut child = spawn(org, &["run", "--once"], &[("LIAISON_PAUSE_AT", point), timing]);
    let mut log = Log::of(&mut child);
    assert!(
        log.wait_for(&format!("paused at {point}"), Duration::from_secs(30)),
        "{}",
        log.text()
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let run_once = || run_once_short(org);
    run_once();
    // An intent whose insert may still be in flight keeps its pair reserved
    // until the write timeout has passed since it was flushed; then it is
    // given up and its people re-planned.
    let deadline = Instant::now() + Duration::from_secs(40);
    while org.invariants() < 6 {
        assert!(Instant::now() < deadline, "the reserved pair was never booked");
        std::thread::sleep(Duration::from_millis(500));
        run_once();
    }
    assert_eq!(org.invariants(), 6);
    assert_store_matches_calendar(org);
}

#[test]
fn a_kill_after_the_intent_is_flushed_and_before_the_insert_never_double_books() {
    crash_at(&org(12), "after_intent");
}

#[test]
fn a_kill_after_the_answer_and_before_the_store_marks_it_never_double_books() {
    crash_at(&org(12), "after_insert");
}

#[test]
fn microsoft_a_kill_after_the_intent_is_flushed_and_before_the_insert_never_double_books() {
    crash_at(&microsoft::Org::authorized(12), "after_intent");
}

#[test]
fn microsoft_a_kill_after_the_answer_and_before_the_store_marks_it_never_double_books() {
    crash_at(&microsoft::Org::authorized(12), "after_insert");
}

#[test]
fn a_kill_after_the_insert_is_performed_but_before_its_answer_never_double_books() {
    let org = org(12);
    // The first insert is performed at once; its answer waits at the gate,
    // and the client's call timeout is far longer than the test takes.
    org.fake.hold_answer_next("events.insert", 1);
    let mut child = org.spawn(&["run", "--once"], &[("LIAISON_GOOGLE_TIMING", NO_RETRY_BEFORE_KILL)]);
    wait_held(&org);
    assert_eq!(org.liaison_events().len(), 1, "the insert was performed");
    child.kill().unwrap(); // SIGKILL while the insert's answer is on its way
    child.wait().unwrap();
    org.fake.release_held();
    let inserts = org
        .fake
        .requests()
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.insert"))
        .count();
    assert_eq!(inserts, 1, "the killed run sent one insert and no retry");
    let again = org.liaison(&["run", "--once"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(org.check_invariants(), 6);
    assert_store_matches_calendar(&org);
}

/// The database of a booked organization of twelve is deleted, then
/// corrupted: each time `run` rebuilds it from the calendar (the events
/// carrying liaison's markers) and books nothing twice.
fn rebuilt_from_the_calendar_without_double_booking(org: &impl TestOrg) {
    crate::twins::run_at(org, crate::util::NOW);
    let state = org.dir().join("state");
    // Deleted: rebuilt from the calendar.
    std::fs::remove_dir_all(state.join("db")).unwrap();
    let run = crate::twins::run_at(org, crate::util::NOW);
    assert!(run.stderr.contains("booked=0 kept=6"), "{}", run.stderr);
    assert_store_matches_calendar(org);
    // Corrupted: every file of the database overwritten with garbage.
    for entry in walk(&state.join("db")) {
        std::fs::write(&entry, b"\x00garbage\xffnot a sled file").unwrap();
    }
    org.clear_requests();
    let run = crate::twins::run_at(org, crate::util::NOW);
    assert!(run.stderr.contains("moved aside"), "{}", run.stderr);
    assert!(run.stderr.contains("booked=0 kept=6"), "{}", run.stderr);
    let aside: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("db.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged database was not kept");
    assert_eq!(org.invariants(), 6);
    assert_store_matches_calendar(org);
}

#[test]
fn a_deleted_or_corrupted_database_is_rebuilt_from_the_calendar_without_double_booking() {
    rebuilt_from_the_calendar_without_double_booking(&org(12));
}

/// Graph's ids are the server's: the rebuild finds liaison's series by the
/// `liaison` marker property with `$filter`.
#[test]
fn microsoft_a_deleted_or_corrupted_database_is_rebuilt_from_the_markers_found_by_filter() {
    let org = microsoft::Org::authorized(12);
    rebuilt_from_the_calendar_without_double_booking(&org);
    let by_marker = org.fake.requests().into_iter().any(|r| {
        r.operation.as_deref() == Some("events.list")
            && r.status == 200
            && r.param("$filter")
                .is_some_and(|f| f.contains("Name liaison'") && f.contains("ep/value eq '1'"))
    });
    assert!(by_marker, "the rebuild did not look the markers up");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A killed run's insert held in flight; the restarted run looks it up (it
/// is missing) and books the others; then the insert lands. Released within
/// the write timeout, the landing is the booking; released after the pair was
/// given up and re-planned, the landing is removed. Either way nobody has two
/// connections in one week (DESIGN §4 "Write-ahead").
fn late_landing(org: &impl TestOrg, release_after_abandon: bool) {
    org.hold_inserts(1);
    // The killed run cannot time out and send its insert again before the
    // kill: the one insert in flight is the one at the gate.
    let mut child = spawn(
        org,
        &["run", "--once"],
        &[("LIAISON_GOOGLE_TIMING", NO_RETRY_BEFORE_KILL)],
    );
    wait_gate(org);
    child.kill().unwrap(); // SIGKILL with the insert in flight
    child.wait().unwrap();
    let run_once = || run_once_short(org);
    // The restarted run's write timeout is long: the intent is certainly
    // still pending when it looks it up, however slow the machine.
    let first = run_once_with(org, LONG_WRITE_TIMEOUT);
    assert!(
        first.stderr.contains("booked=5"),
        "the pair in flight stays reserved: {}",
        first.stderr
    );
    if release_after_abandon {
        // Past the write timeout of SHORT_BUDGET (6 s) the intent is given
        // up and its people are planned again (apart or together under a new id).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let run = run_once();
            if run.stderr.contains("given up") {
                break;
            }
            assert!(Instant::now() < deadline, "the intent was never given up");
            std::thread::sleep(Duration::from_millis(500));
        }
        org.release_held();
        let run = run_once();
        assert!(
            run.stderr.contains("landed after its booking had been given up"),
            "{}",
            run.stderr
        );
    } else {
        org.release_held();
        let run = run_once_with(org, LONG_WRITE_TIMEOUT);
        assert!(
            run.stderr.contains("pending booking found on the calendar"),
            "{}",
            run.stderr
        );
    }
    org.invariants();
    assert_store_matches_calendar(org);
    run_once();
    org.invariants();
    assert_store_matches_calendar(org);
}

#[test]
fn an_insert_in_flight_that_lands_after_the_restart_looked_it_up_is_the_booking() {
    late_landing(&org(12), false);
}

#[test]
fn microsoft_an_insert_in_flight_that_lands_after_the_restart_looked_it_up_is_the_booking() {
    late_landing(&microsoft::Org::authorized(12), false);
}

#[test]
fn an_insert_that_lands_after_its_intent_was_given_up_is_removed_and_never_double_books() {
    late_landing(&org(12), true);
}

#[test]
fn microsoft_an_insert_that_lands_after_its_intent_was_given_up_is_removed_and_never_double_books() {
    late_landing(&microsoft::Org::authorized(12), true);
}

/// Waits until the fake holds an insert at its gate (a readiness signal:
/// the call reached the server), up to 60 s.
fn wait_gate(org: &impl TestOrg) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while org.held() == 0 {
        assert!(Instant::now() < deadline, "no insert reached the gate");
        std::thread::sleep(Duration::from_millis(10));
    }
}

//! `liaison status` and `liaison history` with the real binary: `status.json`
//! written by every cycle (a failed one too), read without the database or a
//! calendar; history from a snapshot of the store, with a coverage matrix that
//! adds up; neither command changes a file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use liaison::calendar::local::LocalProvider;
use liaison::calendar::{BookedSeries, CalendarProvider};
use serde_json::Value;

use crate::fake_google::FakeGoogle;
use crate::util::{liaison, snapshot};

/// A demo organization of `people` with its bookings and state removed.
fn fresh_org(tmp: &Path, people: &str) -> PathBuf {
    let dir = tmp.join("org");
    let run = liaison(tmp, &["demo", "--dir", dir.to_str().unwrap(), "--people", people]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    dir
}

/// `liaison --config <org>/config.toml ARGS`.
fn run(dir: &Path, args: &[&str]) -> crate::util::Run {
    let config = dir.join("config.toml");
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    liaison(dir.parent().unwrap(), &all)
}

fn booked(dir: &Path) -> Vec<BookedSeries> {
    let provider = LocalProvider::new(dir, "primary");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(provider.list_series())
        .unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `json`, checking on the way that the text has its keys in alphabetical
/// order at every level, as `plan --json` promises (it is written from
/// structs whose fields are declared in that order; a parsed `Value` sorts
/// its keys, so printing it again must give the same text).
fn sorted_json(text: &str) -> Value {
    let value = json(text);
    let again = serde_json::to_string_pretty(&value).unwrap();
    assert_eq!(text.trim_end(), again, "keys out of alphabetical order");
    value
}

#[test]
fn before_any_cycle_status_exits_1_with_the_hint_and_history_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "6");
    let before = snapshot(&dir);
    let status = run(&dir, &["status"]);
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert!(status.stderr.contains("no cycle has run yet"), "{}", status.stderr);
    assert!(status.stderr.contains("liaison run --once"), "{}", status.stderr);
    assert_eq!(run(&dir, &["status", "--json"]).code, 1);
    let history = run(&dir, &["history"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(history.stdout.contains("No history yet"), "{}", history.stdout);
    let csv = run(&dir, &["history", "--csv"]);
    assert_eq!(csv.stdout.lines().count(), 1, "{}", csv.stdout);
    // Neither command created the state directory.
    assert_eq!(snapshot(&dir), before);
    assert!(!dir.join("state").exists());
}

#[test]
fn after_a_cycle_status_shows_the_connections_and_the_unpaired_without_changing_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    // An odd number of people: someone is left unpaired.
    let dir = fresh_org(tmp.path(), "9");
    let cycle = run(&dir, &["run", "--once"]);
    assert_eq!(cycle.code, 0, "{}", cycle.stderr);
    let series = booked(&dir);
    assert_eq!(series.len(), 4);
    let before = snapshot(&dir);

    let text = run(&dir, &["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let out = &text.stdout;
    assert!(out.contains("Last cycle: 2027-03-03 12:00:00 GMT, ok"), "{out}");
    assert!(out.contains("booked 4"), "{out}");
    assert!(out.contains("Next cycle: 2027-03-03 12:15:00 GMT (in 15m)"), "{out}");
    assert!(out.contains("2027-03-08 to 2027-04-04: 4 connections"), "{out}");
    for s in &series {
        for a in &s.request.attendees {
            assert!(out.contains(&a.name), "{} missing: {out}", a.name);
        }
    }

    let value = json(&run(&dir, &["status", "--json"]).stdout);
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["last_cycle"]["outcome"]["result"], "ok");
    let connections = value["terms"][0]["connections"].as_array().unwrap();
    let ids: BTreeSet<&str> = connections.iter().map(|c| c["event_id"].as_str().unwrap()).collect();
    let expected: BTreeSet<&str> = series.iter().map(|s| s.request.event_id.as_str()).collect();
    assert_eq!(ids, expected);
    for c in connections {
        assert_eq!(c["state"], "booked");
        for who in ["a", "b"] {
            assert!(c[who]["local_time"].as_str().is_some_and(|t| t.len() == 5), "{c}");
            assert!(c[who]["local_weekday"].as_str().is_some(), "{c}");
        }
    }
    let unpaired = value["attention"]["unpaired"].as_array().unwrap();
    assert_eq!(unpaired.len(), 1, "{value}");
    let email = unpaired[0]["email"].as_str().unwrap();
    assert!(out.contains("Needs attention:") && out.contains(email), "{out}");
    let paired: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| [s.request.pair.0.as_str(), s.request.pair.1.as_str()])
        .collect();
    assert!(!paired.contains(email));

    for args in [&["history"][..], &["history", "--csv"], &["history", "--json"]] {
        assert_eq!(run(&dir, args).code, 0);
    }
    assert_eq!(snapshot(&dir), before, "status or history changed a file");

    // `status` reads status.json and nothing else: without the database and
    // the calendars it says the same.
    std::fs::remove_dir_all(dir.join("state").join("db")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ics") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let again = run(&dir, &["status"]);
    assert_eq!((again.code, &again.stdout), (0, out), "{}", again.stderr);
}

#[test]
fn history_rows_match_the_booked_series_and_the_matrix_adds_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "12");
    assert_eq!(run(&dir, &["run", "--once"]).code, 0);
    let series = booked(&dir);
    assert_eq!(series.len(), 6);

    let csv = run(&dir, &["history", "--csv"]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("term,a_email,a_name,a_unit,b_email,b_name,b_unit,state")
    );
    // The demo's names and units have no commas or quotes: plain splitting works.
    let rows: BTreeSet<(String, String, String, String)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 8, "{l}");
            (f[0].into(), f[1].into(), f[4].into(), f[7].into())
        })
        .collect();
    let expected: BTreeSet<(String, String, String, String)> = series
        .iter()
        .map(|s| {
            let (a, b) = &s.request.pair;
            (s.request.term.to_string(), a.clone(), b.clone(), "booked".to_string())
        })
        .collect();
    assert_eq!(rows, expected);

    let value = json(&run(&dir, &["history", "--json"]).stdout);
    assert_eq!(value["counted_states"], serde_json::json!(["booked", "cancelled"]));
    assert_eq!(value["connections"], 6);
    let coverage = &value["coverage"];
    let pair_sum: u64 = coverage["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(pair_sum, 6);
    // The full matrix is symmetric: each connection appears twice off the diagonal.
    let matrix: Vec<Vec<u64>> = serde_json::from_value(coverage["matrix"].clone()).unwrap();
    let total: u64 = matrix.iter().flatten().sum();
    let diagonal: u64 = (0..matrix.len()).map(|i| matrix[i][i]).sum();
    assert_eq!((total - diagonal) / 2 + diagonal, 6);
    assert_eq!(diagonal, 0, "cross_unit_only: no same-unit connection");

    let text = run(&dir, &["history"]).stdout;
    assert!(text.contains("Term 2027-03-08 (term 1): 6 connections"), "{text}");
    assert!(text.contains("pending and abandoned intents are not counted"), "{text}");
    let units = coverage["units"].as_array().unwrap();
    // Header plus one aligned row per unit, all lines of the table equally wide
    // where they end in a number.
    let table: Vec<&str> = text.lines().rev().take(units.len() + 1).collect();
    let widths: BTreeSet<usize> = table.iter().map(|l| l.chars().count()).collect();
    assert_eq!(widths.len(), 1, "matrix not aligned:\n{text}");
}

#[test]
fn a_failed_cycle_is_reported_by_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "6");
    let victim = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ics"))
        .unwrap();
    std::fs::write(&victim, "BEGIN:VCARD\nEND:VCARD\n").unwrap();
    let cycle = run(&dir, &["run", "--once"]);
    assert_eq!(cycle.code, 2, "{}", cycle.stderr);

    let text = run(&dir, &["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(text.stdout.contains("FAILED"), "{}", text.stdout);
    assert!(text.stdout.contains(name), "{}", text.stdout);
    let value = json(&run(&dir, &["status", "--json"]).stdout);
    assert_eq!(value["last_cycle"]["outcome"]["result"], "error");
    assert_eq!(value["last_cycle"]["outcome"]["kind"], "input");
    assert!(value["last_cycle"]["summary"].is_null());
}

#[test]
fn a_damaged_status_file_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "4");
    assert_eq!(run(&dir, &["run", "--once"]).code, 0);
    let file = dir.join("state").join("status.json");
    std::fs::write(&file, "{\"schema_version\": 1, \"timezone\": ").unwrap();
    for args in [&["status"][..], &["status", "--json"]] {
        let status = run(&dir, args);
        assert_eq!(status.code, 1, "{}", status.stderr);
        assert!(status.stderr.contains(file.to_str().unwrap()), "{}", status.stderr);
        assert!(status.stdout.is_empty(), "{}", status.stdout);
    }
}

#[test]
fn authorization_needed_is_in_status_with_the_hint_and_no_secret() {
    let fake = FakeGoogle::start();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("client_secret.json"), fake.client_secret_json()).unwrap();
    let config = format!(
        r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
[calendar]
provider = "google"
[calendar.google]
client_secret = "client_secret.json"
api_base_url = "{}"
[[people]]
email = "ann@example.org"
name = "Ann"
unit = "Sales"
[[people]]
email = "bo@example.org"
name = "Bo"
unit = "Ops"
"#,
        fake.base_url()
    );
    let config_path = tmp.path().join("config.toml");
    std::fs::write(&config_path, config).unwrap();
    // Never authorized: the cycle needs `liaison auth`.
    let cycle = liaison(
        tmp.path(),
        &["--config", config_path.to_str().unwrap(), "run", "--once"],
    );
    assert_eq!(cycle.code, 3, "{}", cycle.stderr);

    let text = liaison(tmp.path(), &["--config", config_path.to_str().unwrap(), "status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("authorization"), "{}", text.stdout);
    assert!(text.stdout.contains("run `liaison auth`"), "{}", text.stdout);
    let raw = std::fs::read_to_string(tmp.path().join("state").join("status.json")).unwrap();
    let value = json(&raw);
    assert_eq!(value["last_cycle"]["outcome"]["kind"], "authorization");
    assert_eq!(value["attention"]["authorization"]["hint"], "run `liaison auth`");
    for secret in fake.secrets() {
        assert!(!raw.contains(&secret), "a secret is in status.json");
    }
}

/// Week 2 of the first term is a holiday week: every weekday loses that
/// week, so each series keeps its weekday with three meetings and an EXDATE
/// in bookings.ics; `plan`, `status` and `history` show the skipped date.
#[test]
fn a_holiday_week_is_an_exdate_in_bookings_and_shown_by_plan_status_and_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh_org(tmp.path(), "6");
    let config = dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let holidays = "skip_dates = [\"2027-03-15\", \"2027-03-16\", \"2027-03-17\", \"2027-03-18\", \"2027-03-19\"]";
    std::fs::write(
        &config,
        text.replacen("[schedule]\n", &format!("[schedule]\n{holidays}\n"), 1),
    )
    .unwrap();

    let plan = run(&dir, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("x3, skips 2027-03-1"), "{}", plan.stdout);
    let plan_json = sorted_json(&run(&dir, &["plan", "--json"]).stdout);
    let first = &plan_json["pairs"][0];
    assert_eq!(first["skipped"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(first["occurrences"].as_array().map(Vec::len), Some(3), "{first}");

    let cycle = run(&dir, &["run", "--once"]);
    assert_eq!(cycle.code, 0, "{}", cycle.stderr);
    let series = booked(&dir);
    assert_eq!(series.len(), 3);
    let ics = std::fs::read_to_string(dir.join("bookings.ics")).unwrap();
    for s in &series {
        assert_eq!(s.request.count, 4);
        assert_eq!(s.request.skip.len(), 1, "{:?}", s.request);
        let day = s.request.skip[0].date();
        assert!((jiff::civil::date(2027, 3, 15)..=jiff::civil::date(2027, 3, 19)).contains(&day));
        let line = format!(
            "EXDATE;TZID={}:{}",
            s.request.zone,
            s.request.skip[0].strftime("%Y%m%dT%H%M%S")
        );
        assert!(ics.contains(&line), "{line} missing in\n{ics}");
    }
    // The booked series are what the plan keeps now, in the same order of keys.
    let kept = sorted_json(&run(&dir, &["plan", "--json"]).stdout);
    assert_eq!(kept["kept"].as_array().map(Vec::len), Some(3), "{kept}");
    let status = run(&dir, &["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let day = series[0].request.skip[0].date().to_string();
    assert!(status.stdout.contains(&format!("skips {day}")), "{}", status.stdout);
    let value = json(&run(&dir, &["status", "--json"]).stdout);
    let skipped: Vec<&Value> = value["terms"][0]["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["skipped"][0])
        .collect();
    assert!(
        skipped
            .iter()
            .all(|d| d.as_str().is_some_and(|d| d.starts_with("2027-03-1"))),
        "{value}"
    );
    let history = run(&dir, &["history"]);
    assert!(history.stdout.contains(&format!("skipped {day}")), "{}", history.stdout);
}

//! Fairness over terms (issue 15): who was left unpaired in a term is kept in
//! the state, shown by `status` and `plan` as the terms in a row they have
//! waited, and weighs in the next term's plan. The real binary, a local
//! organization, a clock per cycle.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util::{Run, command};

/// A (Finance), W and X (Sales), Y and Z (Ops). W's calendar is full in term
/// 1 only; Y and Z are away every weekday of term 2. A, W and X prefer the
/// same morning hour, but W only the afternoon: without the wait, A's better
/// slot is with X.
const CONFIG: &str = r#"timezone = "UTC"
state_dir = "state"

[schedule]
first_term = "2027-03-08"
term_weeks = 4

[meeting]
duration = "30m"
hours = "09:00-17:00"
send_updates = "none"

[calendar]
provider = "local"

[calendar.local]
dir = "."

[[people]]
email = "a@example.org"
name = "A"
unit = "Finance"
preferred_hours = "09:00-10:00"

[[people]]
email = "w@example.org"
name = "W"
unit = "Sales"
preferred_hours = "16:00-17:00"

[[people]]
email = "x@example.org"
name = "X"
unit = "Sales"
preferred_hours = "09:00-10:00"

[[people]]
email = "y@example.org"
name = "Y"
unit = "Ops"
away = [AWAY]

[[people]]
email = "z@example.org"
name = "Z"
unit = "Ops"
away = [AWAY]
"#;

/// A calendar with the given `VEVENT`s.
fn ics(events: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
}

/// Busy from the first to the last day of term 1 (2027-03-08 to 2027-04-04).
const TERM_1_BUSY: &str = "BEGIN:VEVENT\r\nUID:full@test\r\nDTSTAMP:20270101T000000Z\r\n\
DTSTART:20270308T000000Z\r\nDTEND:20270405T000000Z\r\nSUMMARY:Offsite\r\nEND:VEVENT\r\n";

fn write_org(dir: &Path) {
    // Every weekday of term 2 (2027-04-05 to 2027-05-02).
    let start = jiff::civil::date(2027, 4, 5);
    let away: Vec<String> = (0..28)
        .map(|d| start.checked_add(jiff::Span::new().days(d)).unwrap())
        .filter(|d| {
            !matches!(
                d.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            )
        })
        .map(|d| format!("\"{d}\""))
        .collect();
    std::fs::write(dir.join("config.toml"), CONFIG.replace("AWAY", &away.join(", "))).unwrap();
    for who in ["a", "x", "y", "z"] {
        std::fs::write(dir.join(format!("{who}@example.org.ics")), ics("")).unwrap();
    }
    std::fs::write(dir.join("w@example.org.ics"), ics(TERM_1_BUSY)).unwrap();
}

/// `liaison args` in `dir` at `now`.
fn at(dir: &Path, now: &str, args: &[&str]) -> Run {
    Run::from(
        command(dir)
            .arg("--config")
            .arg(dir.join("config.toml"))
            .args(args)
            .env("LIAISON_NOW", now)
            .output()
            .expect("liaison runs"),
    )
}

fn json(run: &Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// `run --once` at `now`, then `status --json`.
fn cycle(dir: &Path, now: &str) -> Value {
    let run = at(dir, now, &["run", "--once"]);
    assert_eq!(run.code, 0, "cycle at {now}: {}", run.stderr);
    json(&at(dir, now, &["status", "--json"]))
}

/// (term start, email, reason, waited) of everyone `status` lists unpaired.
fn unpaired(status: &Value) -> BTreeSet<(String, String, String, u64)> {
    status["attention"]["unpaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["term"].as_str().unwrap().to_string(),
                u["email"].as_str().unwrap().to_string(),
                u["reason"].as_str().unwrap().to_string(),
                u["waited"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The pairs booked in the term starting `start`, from `status`.
fn pairs(status: &Value, start: &str) -> BTreeSet<(String, String)> {
    let term = status["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["start"] == start)
        .unwrap_or_else(|| panic!("no term {start} in {status}"));
    term["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let (a, b) = (c["a"]["email"].as_str().unwrap(), c["b"]["email"].as_str().unwrap());
            (a.min(b).to_string(), a.max(b).to_string())
        })
        .collect()
}

fn row(term: &str, email: &str, reason: &str, waited: u64) -> (String, String, String, u64) {
    (term.to_string(), email.to_string(), reason.to_string(), waited)
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn a_person_left_out_in_one_term_is_shown_waiting_and_gets_the_only_partner_in_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_org(dir);
    let (t1, t2, t3) = ("2027-03-08", "2027-04-05", "2027-05-03");

    // Term 1: W's calendar is full; A, X, Y, Z pair across units (A with an
    // Ops person, so A has met neither W nor X).
    let status = cycle(dir, "2027-03-03T12:00:00Z");
    assert_eq!(
        unpaired(&status),
        [row(t1, "w@example.org", "no_free_time", 1)].into(),
        "{status}"
    );
    let first = pairs(&status, t1);
    assert_eq!(first.len(), 2, "{first:?}");
    let ops_with = |y: &str, z: &str| -> BTreeSet<_> { [pair("a@example.org", y), pair("x@example.org", z)].into() };
    assert!(
        first == ops_with("y@example.org", "z@example.org") || first == ops_with("z@example.org", "y@example.org"),
        "{first:?}"
    );
    let text = at(dir, "2027-03-03T12:00:00Z", &["status"]);
    assert!(
        text.stdout.contains("W <w@example.org> (Sales): no free time")
            && text.stdout.contains("waited 1 term in a row"),
        "{}",
        text.stdout
    );

    // A week before term 2: `plan` (a dry run) already weighs W's wait, and
    // changes nothing.
    let plan = json(&at(dir, "2027-03-29T12:00:00Z", &["plan", "--term", t2, "--json"]));
    let planned: Vec<(String, String)> = plan["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["a"]["email"].as_str().unwrap().to_string(),
                p["b"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(planned, [pair("a@example.org", "w@example.org")], "{plan}");
    let shown: BTreeSet<(String, u64)> = plan["unpaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["email"].as_str().unwrap().to_string(), u["waited"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        shown,
        [
            ("x@example.org".into(), 1),
            ("y@example.org".into(), 0),
            ("z@example.org".into(), 0)
        ]
        .into(),
        "X waits for the first time; Y and Z are away, which is not a wait"
    );

    // Term 2, booked a week ahead: A is the only partner W and X could have
    // (Y and Z are away); W, who waited, gets A over X.
    let status = cycle(dir, "2027-03-29T12:00:00Z");
    assert_eq!(
        pairs(&status, t2),
        [pair("a@example.org", "w@example.org")].into(),
        "{status}"
    );
    assert_eq!(
        unpaired(&status),
        [
            row(t1, "w@example.org", "no_free_time", 1),
            row(t2, "x@example.org", "partners_taken", 1),
            row(t2, "y@example.org", "away", 0),
            row(t2, "z@example.org", "away", 0),
        ]
        .into(),
        "{status}"
    );
    let text = at(dir, "2027-03-29T12:00:00Z", &["plan", "--term", t2]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("<x@example.org>"))
        .unwrap_or_default();
    assert!(line.ends_with("; waited 1 term in a row"), "{}", text.stdout);
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("<y@example.org>"))
        .unwrap_or_default();
    assert!(line.ends_with("away every working day of the term"), "{}", text.stdout);

    // Term 3: X, who waited in term 2, is paired; W's pairing in term 2 and
    // Y's and Z's absence ended their runs, so whoever is left out now
    // waits for the first time.
    let status = cycle(dir, "2027-04-26T12:00:00Z");
    let third = pairs(&status, t3);
    assert_eq!(third.len(), 2, "{status}");
    assert!(
        third.iter().any(|(a, b)| a == "x@example.org" || b == "x@example.org"),
        "X is paired in term 3: {third:?}"
    );
    let left: Vec<_> = unpaired(&status).into_iter().filter(|u| u.0 == t3).collect();
    assert_eq!(left.len(), 1, "{status}");
    assert_eq!(left[0].3, 1, "{left:?}");
}

//! Tests of the whole pipeline: reading a file, the TOML syntax, every error of
//! a file reported together, and the shipped example file.

use std::path::Path;

use jiff::civil::time;

use super::test_support::{EXAMPLE, check_error, doc, env, parse_example};
use super::{DayWindow, ProviderKind, load, parse};

#[test]
#[rustfmt::skip]
fn a_toml_syntax_error_names_its_line() {
    check_error("meeting.buffer = \"5m\"\ntimezone = \"Europe/Berlin", Some(2), "", "invalid basic string");
}

#[test]
fn every_error_in_a_file_is_reported_together_in_file_order() {
    let text = r#"timezone = "Europe/Berln"

[schedule]
first_term = 2026-01-06
term_weeks = 0

[meeting]
hours = "17:00-09:00"
days = "mon-fry"
send_updates = "loud"

[pairing]
focus = ["nobody@example.com"]

[calendar]
provider = "google"

[[people]]
email = "ana@example.com"
name = "Ana"
unit = "Finance"
timezone = "Nowhere/City"

[[people]]
email = "ANA@example.com"
name = ""
unit = "Sales"
"#;
    let errors = parse(text, Path::new("config.toml"), &env()).map(|_| ()).unwrap_err();
    let got: Vec<(Option<usize>, &str)> = errors
        .0
        .iter()
        .map(|e| (e.line, e.key.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(1), "timezone"),
            (Some(4), "schedule.first_term"),
            (Some(5), "schedule.term_weeks"),
            (Some(8), "meeting.hours"),
            (Some(9), "meeting.days"),
            (Some(10), "meeting.send_updates"),
            (Some(13), "pairing.focus"),
            (Some(16), "calendar.google.client_secret"),
            (Some(22), "people[0].timezone"),
            (Some(25), "people[1].email"),
            (Some(26), "people[1].name"),
        ],
        "{errors}"
    );
    // One error per line of the Display, each starting with the file.
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), errors.0.len());
    assert!(shown.lines().all(|l| l.starts_with("config.toml:")), "{shown}");
    assert!(
        shown.contains(
            r#"config.toml:8: meeting.hours: end 09:00 is before start 17:00 (write "HH:MM-HH:MM", e.g. "09:00-17:00")"#
        ),
        "{shown}"
    );
}

#[test]
fn the_example_file_parses_as_shipped() {
    let cfg = parse_example(EXAMPLE);
    assert_eq!(cfg.calendar.provider, ProviderKind::Local);
    assert_eq!(
        cfg.calendar.local.as_ref().map(|l| l.dir.as_path()),
        Some(Path::new("/etc/liaison/calendars"))
    );
    assert!(cfg.people.len() >= 4);
    let units: std::collections::BTreeSet<_> = cfg.people.iter().map(|p| &p.unit).collect();
    let zones: std::collections::BTreeSet<_> = cfg.people.iter().map(|p| &p.timezone_name).collect();
    assert!(units.len() >= 2 && zones.len() >= 2);
    let kofi = cfg
        .people
        .iter()
        .find(|p| p.name == "Kofi Mensah")
        .map(|p| (p.timezone_name.as_str(), p.days.len(), p.preferred_hours));
    assert_eq!(
        kofi,
        Some((
            "America/New_York",
            4,
            Some(DayWindow {
                start: time(10, 0, 0, 0),
                end: time(12, 0, 0, 0)
            })
        ))
    );
}

#[test]
fn load_reads_the_file_and_resolves_paths_next_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, doc("state_dir = \"state\"")).unwrap();
    let cfg = load(&path).unwrap();
    assert_eq!(cfg.state_dir, dir.path().join("state"));
    assert_eq!(cfg.calendar.local.map(|l| l.dir), Some(dir.path().join("calendars")));
}

#[test]
fn load_of_a_missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = load(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.0.len(), 1);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}: cannot read", path.display())),
        "{shown}"
    );
}

// Found by the fuzz tests (tests/fuzz): the parser's depth limit on dotted
// keys carries no position, and a file that is not UTF-8 was refused
// without a line.

#[test]
fn a_key_nested_too_deeply_is_an_error_with_its_line() {
    let deep = vec!["t"; 200].join(".");
    check_error(&format!("# a comment\n[{deep}]"), Some(2), "", "nested too deeply");
    check_error(&format!("\n\n{deep} = 1"), Some(3), "", "nested too deeply");
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut bytes = doc("").into_bytes();
    bytes.extend(b"\n# caf\xe9\n");
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!(err.0[0].line, Some(6), "{err}");
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

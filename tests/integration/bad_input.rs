//! Malformed configuration and calendar files: exit 2, a message naming the file
//! and line (and the key, for configuration), no panic, and nothing changed.

use std::path::Path;

use crate::util::{liaison, snapshot};

/// A small valid organization on local calendars. Each case edits one line.
const CONFIG: &str = r#"timezone = "Europe/London"
state_dir = "state"

[schedule]
first_term = "2027-03-08"
term_weeks = 4

[meeting]
duration = "30m"
hours = "09:00-17:00"
send_updates = "all"

[pairing]
focus = []

[calendar]
provider = "local"

[calendar.local]
dir = "."

[[people]]
email = "ada@example.org"
name = "Ada"
unit = "Finance"

[[people]]
email = "bruno@example.org"
name = "Bruno"
unit = "Sales"
timezone = "America/New_York"

[[people]]
email = "chiara@example.org"
name = "Chiara"
unit = "Sales"
"#;

/// A valid calendar; ICS cases replace one line of it.
const ICS: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:one@test\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=Europe/London:20270309T100000\r
DTEND;TZID=Europe/London:20270309T110000\r
RRULE:FREQ=WEEKLY;COUNT=4\r
SUMMARY:Team\r
END:VEVENT\r
END:VCALENDAR\r
";

/// Writes the organization with `config` and ada's calendar `ics`.
fn write_org(dir: &Path, config: &str, ics: &str) {
    std::fs::write(dir.join("config.toml"), config).unwrap();
    std::fs::write(dir.join("ada@example.org.ics"), ics).unwrap();
    for other in ["bruno@example.org", "chiara@example.org"] {
        std::fs::write(dir.join(format!("{other}.ics")), ICS).unwrap();
    }
}

/// `text` with the first line containing `find` replaced by `with` (which may
/// span several lines); returns the new text and the 1-based line of `with`.
fn edit(text: &str, find: &str, with: &str) -> (String, usize) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = lines
        .iter()
        .position(|l| l.contains(find))
        .unwrap_or_else(|| panic!("no line contains {find:?}"));
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out: String = lines[..at].concat();
    out.push_str(with);
    out.push_str(eol);
    out.push_str(&lines[at + 1..].concat());
    (out, at + 1)
}

/// Runs `check` (config cases) and `plan` (all cases) on the broken organization
/// and asserts exit 2, the file and line in the message, the extra words, no
/// panic, and no file changed.
fn assert_rejected(name: &str, config: &str, ics: &str, file_and_line: &str, words: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    write_org(tmp.path(), config, ics);
    let before = snapshot(tmp.path());
    let config_path = tmp.path().join("config.toml");
    for command in ["check", "plan"] {
        let run = liaison(tmp.path(), &["--config", config_path.to_str().unwrap(), command]);
        let msg = &run.stderr;
        if command == "check" && file_and_line.contains(".ics") {
            // `check` validates configuration only; calendars are read by `plan`.
            assert_eq!(run.code, 0, "{name}: `check` read calendars: {msg}");
            continue;
        }
        assert_eq!(run.code, 2, "{name}: `{command}` exited {} with: {msg}", run.code);
        assert!(
            msg.contains(file_and_line),
            "{name}: `{command}` message lacks {file_and_line:?}: {msg}"
        );
        for w in words {
            assert!(msg.contains(w), "{name}: `{command}` message lacks {w:?}: {msg}");
        }
        assert!(!msg.contains("panicked"), "{name}: panic: {msg}");
    }
    assert_eq!(snapshot(tmp.path()), before, "{name}: files changed");
}

fn config_case(name: &str, find: &str, with: &str, words: &[&str]) {
    let (config, line) = edit(CONFIG, find, with);
    assert_rejected(name, &config, ICS, &format!("config.toml:{line}"), words);
}

fn ics_case(name: &str, find: &str, with: &str, words: &[&str]) {
    let (ics, line) = edit(ICS, find, with);
    assert_rejected(name, CONFIG, &ics, &format!("ada@example.org.ics:{line}"), words);
}

#[test]
fn malformed_configuration_is_rejected_with_file_line_and_key() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("unknown top-level key", "state_dir", "colour = \"blue\"", &["colour"]),
        ("typo in a table", "duration =", "durration = \"30m\"", &["durration"]),
        ("unknown zone", "timezone = \"Europe/London\"", "timezone = \"Mars/Olympus\"", &["Mars/Olympus"]),
        ("window ends before it starts", "hours =", "hours = \"17:00-09:00\"", &["meeting.hours"]),
        ("window not HH:MM-HH:MM", "hours =", "hours = \"9-5\"", &["meeting.hours"]),
        ("bad duration", "duration =", "duration = \"thirty\"", &["meeting.duration"]),
        ("duplicate email", "email = \"chiara@example.org\"", "email = \"ADA@example.org\"", &["email", "ada@example.org"]),
        ("malformed email", "email = \"bruno@example.org\"", "email = \"bruno-at-example\"", &["email"]),
        ("person without a unit", "unit = \"Finance\"", "unit = \"\"", &["unit"]),
        ("first term not a Monday", "first_term", "first_term = \"2027-03-09\"", &["schedule.first_term", "Tuesday"]),
        ("focus on a stranger", "focus = []", "focus = [\"zoe@example.org\"]", &["pairing.focus", "zoe@example.org"]),
        ("person's zone unknown", "timezone = \"America/New_York\"", "timezone = \"America/Nowhere\"", &["America/Nowhere"]),
        ("bad send_updates", "send_updates", "send_updates = \"everyone\"", &["meeting.send_updates"]),
        ("zero-week terms", "term_weeks", "term_weeks = 0", &["schedule.term_weeks"]),
        ("TOML syntax error", "[pairing]", "[pairing", &[]),
        ("bad provider", "provider = \"local\"", "provider = \"outlook\"", &["calendar.provider"]),
    ];
    for (name, find, with, words) in cases {
        config_case(name, find, with, words);
    }
}

#[test]
fn a_config_with_a_single_unit_names_the_units_problem() {
    let (config, _) = edit(CONFIG, "unit = \"Finance\"", "unit = \"Sales\"");
    let tmp = tempfile::tempdir().unwrap();
    write_org(tmp.path(), &config, ICS);
    let run = liaison(
        tmp.path(),
        &["--config", tmp.path().join("config.toml").to_str().unwrap(), "check"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    for words in [
        "one unit (Sales)",
        "pairing.cross_unit_only",
        "add people from another unit",
    ] {
        assert!(
            run.stderr.contains(words),
            "the message lacks {words:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn every_configuration_error_is_reported_not_only_the_first() {
    let (config, l1) = edit(CONFIG, "hours =", "hours = \"17:00-09:00\"");
    let (config, l2) = edit(&config, "first_term", "first_term = \"2027-03-09\"");
    let tmp = tempfile::tempdir().unwrap();
    write_org(tmp.path(), &config, ICS);
    let run = liaison(
        tmp.path(),
        &["--config", tmp.path().join("config.toml").to_str().unwrap(), "check"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(&format!("config.toml:{l1}")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("config.toml:{l2}")), "{}", run.stderr);
}

#[test]
fn malformed_calendars_are_rejected_with_file_and_line() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("not a calendar", "BEGIN:VCALENDAR", "BEGIN:VCARD", &[]),
        ("unparseable start", "DTSTART", "DTSTART;TZID=Europe/London:2027-03-09 10:00", &["DTSTART"]),
        ("unknown TZID", "DTSTART", "DTSTART;TZID=Atlantis/Central:20270309T100000", &["Atlantis/Central"]),
        ("bad RRULE", "RRULE", "RRULE:FREQ=SOMETIMES;COUNT=4", &["RRULE"]),
        ("end before start", "DTEND", "DTEND;TZID=Europe/London:20270309T090000", &["DTEND"]),
        ("unparseable end", "DTEND", "DTEND;TZID=Europe/London:tomorrow", &["DTEND"]),
    ];
    for (name, find, with, words) in cases {
        ics_case(name, find, with, words);
    }
}

#[test]
fn a_missing_config_file_says_where_it_looked_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    // An empty directory: nothing names a configuration, none is found.
    let run = liaison(tmp.path(), &["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let default = tmp.path().join("no-config-home/liaison/config.toml");
    for words in [
        "no configuration file found",
        // Every place it looked ...
        "--config",
        "$LIAISON_CONFIG",
        default.to_str().unwrap(),
        "/etc/liaison/config.toml",
        // ... and what to do about it.
        "copy config.example.toml to",
        "liaison demo",
    ] {
        assert!(
            run.stderr.contains(words),
            "the message lacks {words:?}: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(snapshot(tmp.path()), Vec::new(), "files were created");

    let run = liaison(tmp.path(), &["--config", "/nonexistent/liaison.toml", "plan"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/nonexistent/liaison.toml"), "{}", run.stderr);
}

#[test]
fn bad_arguments_are_usage_errors() {
    // In an empty directory a command also fails for want of a configuration,
    // with the same exit code: the messages show that the argument was refused.
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["plan", "--term", "next-week"],
            "invalid value 'next-week' for '--term",
        ),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&["demo", "--people", "1"], "invalid value '1' for '--people"),
    ];
    for (args, expected) in cases {
        let run = liaison(tmp.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(
            !run.stderr.contains("no configuration file"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

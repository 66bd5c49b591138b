//! The configuration file, read as the daemon reads it: `config::load` on a
//! file in a temporary directory. An accepted file must also render its
//! summary and meeting texts; a refused one must name the file and, for each
//! problem, the line or the key.

use std::path::Path;

use jiff::civil::date;
use liaison::config::{self, ConfigErrors};
use proptest::prelude::*;

use crate::harness::{bounded, fuzz, scratch_dir};
use crate::mutate::{Doc, Format, doc, toml_doc};

static FORMAT: Format = Format {
    seeds: &[
        include_str!("../../config.example.toml"),
        include_str!("seeds/config-full.toml"),
        include_str!("seeds/config-google.toml"),
        include_str!("seeds/config-service.toml"),
    ],
    lines: &[
        "[schedule]",
        "[meeting]",
        "[pairing]",
        "[safety]",
        "[calendar]",
        "[calendar.google]",
        "[calendar.local]",
        "[[people]]",
        "[[schedule]]",
        "[people]",
        "[meeting.hours]",
        "state_dir = \"/\"",
        "state_dir = \"~/state\"",
        "timezone = \"Mars/Olympus\"",
        "term_weeks = 53",
        "term_weeks = 0",
        "first_term = 2026-01-06",
        "first_term = 9999-12-27",
        "first_term = 0001-01-01",
        "first_term = 1979-05-27T07:32:00Z",
        "book_ahead = \"99999999999w\"",
        "cycle_every = \"0s\"",
        "min_notice = \"1y\"",
        "skip_dates = [9999-12-31, 0000-01-01]",
        "duration = \"1441m\"",
        "duration = \"0m\"",
        "granularity = \"7m\"",
        "buffer = \"-5m\"",
        "hours = \"23:59-00:00\"",
        "hours = \"00:00-24:00\"",
        "days = \"sun-sat\"",
        "days = [\"mon\", \"mon\", 5]",
        "preferred_hours = \"25:00-26:00\"",
        "title = \"{a.name}{b.unknown}{{{weeks}\"",
        "description = \"}{\"",
        "send_updates = \"sometimes\"",
        "conference = \"zoom\"",
        "location = \"\"",
        "max_busy_hours = 25",
        "max_busy_hours = \"24h1s\"",
        "max_busy_hours = -1.5",
        "cross_unit_only = \"yes\"",
        "avoid_repeat_terms = 4294967296",
        "focus = [\"nobody@example.com\"]",
        "pause_after_declines = -3",
        "max_cancel_per_cycle = 9223372036854775807",
        "provider = \"outlook\"",
        "provider = \"google\"",
        "instance = \"\u{202e}x\"",
        "auth = \"service_account\"",
        "client_secret = \"\"",
        "service_account_key = \"key.json\"",
        "impersonate = \"not an email\"",
        "organizer = \"\"",
        "api_base_url = \"http://[::1\"",
        "api_base_url = \"https://example.com/ \"",
        "requests_per_second = 0",
        "dir = \"/nonexistent/\u{0}\"",
        "email = \"ANA.LIMA@example.com\"",
        "email = \"a@b\"",
        "name = \"\"",
        "unit = \"\u{130}\"",
        "away = [2026-02-30]",
        "paused = 1",
        "unknown_key = 1",
        "a.b.c.d.e = 1",
        "timezone = { name = \"UTC\" }",
        "\"quoted key\" = 1",
        "people = []",
    ],
    values: &[
        "\"30m\"",
        "\"1h30m\"",
        "\"7d\"",
        "\"99999999999999d\"",
        "\"1mo\"",
        "\"09:00-17:00\"",
        "\"17:00-09:00\"",
        "\"mon-fri\"",
        "\"fri-mon\"",
        "[\"mon\", \"tue\"]",
        "[]",
        "[[]]",
        "{}",
        "{ a = 1 }",
        "true",
        "5",
        "-5",
        "1.5",
        "2026-01-05",
        "2026-01-05T10:00:00",
        "10:00:00",
        "\"2026-01-05\"",
        "\"Europe/Berlin\"",
        "\"America/Argentina/ComodRivadavia\"",
        "\"~/\"",
        "\"\"",
        "'''multi\nline'''",
        "\"\"\"unclosed",
        "\"a\\u0000b\"",
        "0x7fffffffffffffff",
        "inf",
        "nan",
    ],
    separator: b'=',
    nest: toml_nest,
};

/// Nested arrays and inline tables, and a long dotted table header.
fn toml_nest(depth: usize) -> String {
    match depth % 3 {
        0 => format!("deep = {}1{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("deep = {}1{}", "{ a = ".repeat(depth), " }".repeat(depth)),
        _ => format!("[{}]", vec!["t"; depth].join(".")),
    }
}

/// Every problem names the file, and the line or the key (a line within the
/// file); the message says something.
fn check_refusal(errors: &ConfigErrors, path: &Path, text: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.0.is_empty(), "an empty list of errors");
    let last_line = text.iter().filter(|b| **b == b'\n').count() + 1;
    for e in &errors.0 {
        let shown = e.to_string();
        prop_assert_eq!(&e.path, path, "{}", shown);
        prop_assert!(shown.starts_with(&path.display().to_string()), "{}", shown);
        prop_assert!(e.line.is_some() || e.key.is_some(), "neither line nor key: {}", shown);
        if let Some(line) = e.line {
            prop_assert!(
                (1..=last_line).contains(&line),
                "line {} of {}: {}",
                line,
                last_line,
                shown
            );
        }
        if let Some(key) = &e.key {
            prop_assert!(!key.is_empty() && shown.contains(key.as_str()), "{}", shown);
        }
        prop_assert!(!e.message.trim().is_empty(), "{}", shown);
        prop_assert!(!e.message.contains("internal error"), "{}", shown);
        // No name of serde's or the TOML parser's insides.
        prop_assert!(!e.message.contains("$__"), "{}", shown);
    }
    Ok(())
}

fn read_config(path: &Path, Doc(bytes): &Doc) -> Result<bool, TestCaseError> {
    std::fs::write(path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let loaded = bounded("config::load", bytes.len(), || {
        let loaded = config::load(path);
        if let Ok(cfg) = &loaded {
            // What `check` prints and every booking writes.
            let _ = config::summary(cfg, date(2026, 3, 4));
            if let [a, b, ..] = cfg.people.as_slice() {
                let weeks = cfg.schedule.term_weeks;
                let _ = config::render(&cfg.meeting.title, a, b, weeks);
                let _ = config::render(&cfg.meeting.description, a, b, weeks);
            }
        }
        loaded
    });
    match loaded {
        Ok(_) => Ok(true),
        Err(errors) => check_refusal(&errors, path, bytes).map(|()| false),
    }
}

#[test]
fn the_seeds_are_valid_configurations() {
    let dir = scratch_dir();
    let path = dir.path().join("config.toml");
    for seed in FORMAT.seeds {
        std::fs::write(&path, seed).unwrap();
        if let Err(e) = config::load(&path) {
            panic!("{e}\n{seed}");
        }
    }
}

#[test]
fn config_files() {
    let dir = scratch_dir();
    let path = dir.path().join("config.toml");
    let input = prop_oneof![doc(&FORMAT, 4), toml_doc(&FORMAT, 2)];
    fuzz("config", input, |input| read_config(&path, &input));
}

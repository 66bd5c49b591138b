//! `status.json`, read as `liaison status` reads it (`status::read` on a
//! state directory) and rendered for people. A refusal names the file and
//! the line of the JSON or the field at fault.

use jiff::Timestamp;
use liaison::status::{self, ReadError};
use proptest::prelude::*;

use crate::harness::{bounded, fuzz, scratch_dir};
use crate::mutate::{Doc, Format, json_doc, json_nest};

static FORMAT: Format = Format {
    seeds: &[
        include_str!("seeds/status-ok.json"),
        include_str!("seeds/status-error.json"),
    ],
    lines: &[
        "\"schema_version\": 2,",
        "\"schema_version\": 18446744073709551615,",
        "\"timezone\": \"Nowhere/City\",",
        "\"cycle_every\": \"P9999Y\",",
        "\"next_cycle\": \"9999-12-31T23:59:59Z\",",
        "\"weeks\": 4294967295,",
        "\"count\": 0,",
        "\"duration_minutes\": -9223372036854775808,",
        "\"index\": 9223372036854775807,",
        "\"elapsed_seconds\": 1e308,",
        "\"state\": \"lost\",",
        "\"result\": \"maybe\",",
        "\"local_time\": \"\u{202e}25:61\",",
    ],
    values: &[
        " \"2026-12-07\"",
        " \"9999-12-31\"",
        " \"-009999-01-01\"",
        " \"2026-12-07T13:15:00\"",
        " \"2026-11-30T13:28:36.50909562Z\"",
        " \"PT15M\"",
        " \"-PT1S\"",
        " \"America/New_York\"",
        " 4294967296",
        " -1",
        " 1.5",
        " null",
        " []",
        " {}",
    ],
    separator: b':',
    nest: json_nest,
};

/// Words that place a problem in the file: a line of the JSON or a field.
const PLACES: &[&str] = &["line ", "schema_version", "schema version", "field `"];

fn now() -> Timestamp {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn read_status(dir: &std::path::Path, Doc(text): &Doc) -> Result<bool, TestCaseError> {
    let file = dir.join(status::FILE_NAME);
    std::fs::write(&file, text).unwrap();
    let read = bounded("status::read", text.len(), || {
        status::read(dir).map(|(status, text)| {
            // `liaison status` shows it.
            let _ = status::render(&status, now());
            text
        })
    });
    match read {
        Ok(_) => Ok(true),
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(
                shown.starts_with(&format!("{}: ", file.display())),
                "not naming the file: {}",
                shown
            );
            prop_assert!(!matches!(e, ReadError::Missing { .. }), "{}", shown);
            prop_assert!(PLACES.iter().any(|p| shown.contains(p)), "no line or field: {}", shown);
            Ok(false)
        }
    }
}

#[test]
fn the_seeds_are_valid_status_files() {
    let dir = scratch_dir();
    for seed in FORMAT.seeds {
        assert!(read_status(dir.path(), &Doc(seed.as_bytes().to_vec())).unwrap());
    }
}

#[test]
fn status_files() {
    let dir = scratch_dir();
    fuzz("status.json", json_doc(&FORMAT, 3), |d| read_status(dir.path(), &d));
}

//! Helpers shared by the configuration's tests: a small valid file that a test
//! case edits line by line ([`doc`]), assertions on its errors
//! ([`check_error`]), and the shipped example file with readers of its keys.

use std::path::{Path, PathBuf};

use super::{Config, ConfigErrors, Env, parse};

pub(super) const PATH: &str = "/srv/liaison/config.toml";

/// The smallest valid file, one `dotted.key = value` per line so that a
/// test case can replace any line (see `doc`).
const BASE: &[&str] = &[
    r#"timezone = "Europe/Berlin""#,
    "schedule.first_term = 2026-01-05",
    r#"calendar.provider = "local""#,
    r#"calendar.local.dir = "calendars""#,
    r#"people = [{ email = "ana@example.com", name = "Ana", unit = "Finance" }, { email = "ben@example.com", name = "Ben", unit = "Sales" }]"#,
];

pub(super) fn env() -> Env {
    Env {
        state_directory: None,
        xdg_state_home: None,
        home: Some(PathBuf::from("/home/u")),
    }
}

fn key_of(line: &str) -> Option<&str> {
    let line = line.trim();
    if let Some(removed) = line.strip_prefix('-') {
        return Some(removed.trim());
    }
    line.split_once('=').map(|(k, _)| k.trim())
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}.")) || b.starts_with(&format!("{a}."))
}

/// The case's lines first (so its line numbers are its own: line 1 is the
/// case's first line), then every base line whose key the case does not
/// set. A case line `-key` removes that key and leaves a comment line.
pub(super) fn doc(case: &str) -> String {
    let case_lines: Vec<&str> = if case.is_empty() {
        Vec::new()
    } else {
        case.lines().collect()
    };
    let case_keys: Vec<&str> = case_lines.iter().filter_map(|l| key_of(l)).collect();
    let mut out: Vec<String> = case_lines
        .iter()
        .map(|l| match l.trim().strip_prefix('-') {
            Some(k) => format!("# removed {k}"),
            None => l.to_string(),
        })
        .collect();
    for line in BASE {
        let key = key_of(line).unwrap_or("");
        if !case_keys.iter().any(|k| related(k, key)) {
            out.push(line.to_string());
        }
    }
    out.join("\n")
}

pub(super) fn parse_doc(case: &str) -> Result<Config, ConfigErrors> {
    parse(&doc(case), Path::new(PATH), &env())
}

pub(super) fn valid(case: &str) -> Config {
    match parse_doc(case) {
        Ok(cfg) => cfg,
        Err(e) => panic!("expected a valid config, got:\n{e}\n--- file:\n{}", doc(case)),
    }
}

/// Asserts that `case` gives exactly one error, on `line`, with a key
/// containing `key` and a message containing `message`.
pub(super) fn check_error(case: &str, line: Option<usize>, key: &str, message: &str) {
    let errors = match parse_doc(case) {
        Ok(_) => panic!("expected an error for:\n{}", doc(case)),
        Err(errors) => errors,
    };
    let ok = errors.0.len() == 1 && {
        let e = &errors.0[0];
        e.line == line
            && e.key.as_deref().unwrap_or("").contains(key)
            && e.message.contains(message)
            && e.path == Path::new(PATH)
    };
    assert!(
        ok,
        "expected one error at line {line:?}, key ~ {key:?}, message ~ {message:?}; got:\n{errors}\n--- file:\n{}",
        doc(case)
    );
}

/// The second person of the base file.
pub(super) const BEN: &str = r#"{ email = "ben@example.com", name = "Ben", unit = "Sales" }"#;

/// The base people line with extra keys for Ana, the first person.
pub(super) fn people_with(extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!("people = [{{ email = \"ana@example.com\", name = \"Ana\", unit = \"Finance\"{extra} }}, {BEN}]")
}

pub(super) const EXAMPLE: &str = include_str!("../../config.example.toml");

pub(super) fn parse_example(text: &str) -> Config {
    match parse(text, Path::new("/etc/liaison/config.toml"), &env()) {
        Ok(cfg) => cfg,
        Err(e) => panic!("example does not parse:\n{e}"),
    }
}

/// Section header of a line (`[meeting]`, `[[people]]`) as a dotted prefix.
pub(super) fn section(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.strip_suffix("]]"))
        .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
    Some(inner.trim().to_string())
}

pub(super) fn full_key(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

/// `key` when the line is `<prefix>key = ...`.
pub(super) fn assigned_key<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(prefix)?;
    let (key, _) = rest.split_once(" =")?;
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(key)
}

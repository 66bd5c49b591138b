//! `plan` and `demo` output: a table for people, JSON for programs.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::json;

use crate::config::{self, Config};
use crate::core::plan::Plan;
use crate::store::SeriesRecord;

/// `plan` and `demo` output for people: one line per pair with the slot in each
/// person's own local time, then everyone unpaired with the reason.
pub fn render_plan(cfg: &Config, plan: &Plan, kept: &[SeriesRecord]) -> String {
    let mut out = String::new();
    let term = &plan.term;
    let _ = writeln!(
        out,
        "Term {} to {} ({} weeks): {} pairs, {} unpaired",
        term.start,
        term.end().yesterday().unwrap_or(term.end()),
        term.weeks,
        plan.pairs.len(),
        plan.unpaired.len()
    );
    let rows: Vec<[String; 5]> = plan
        .pairs
        .iter()
        .map(|pair| {
            let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
            let first = pair.occurrences.first().map_or(Timestamp::MIN, |o| o.start);
            let local = |p: &config::Person| {
                let z = first.to_zoned_datetime(p.timezone.clone());
                format!("{} {}", z.strftime("%a %H:%M"), p.timezone_name)
            };
            [
                format!("{} ({})", a.name, a.unit),
                format!("{} ({})", b.name, b.unit),
                local(a),
                local(b),
                format!(
                    "from {} x{}{}",
                    first.to_zoned_datetime(cfg.timezone.clone()).date(),
                    pair.occurrences.len(),
                    skipped_note(&pair.skipped)
                ),
            ]
        })
        .collect();
    let headers = ["Leader A", "Leader B", "A's local time", "B's local time", "Meetings"];
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    if !rows.is_empty() {
        let line = |cells: [&str; 5]| {
            let mut l = String::new();
            for (c, cell) in cells.iter().enumerate() {
                crate::text_table::pad(&mut l, cell, widths[c], false);
                l.push_str("  ");
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(out, "\n{}", line(headers));
        for r in &rows {
            let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
    }
    if !kept.is_empty() {
        let _ = writeln!(
            out,
            "\nAlready booked this term ({} series, kept as they are):",
            kept.len()
        );
        for r in kept {
            let [a, b] = &r.request.attendees;
            let _ = writeln!(
                out,
                "  {} & {}: {} {} x{}",
                a.name,
                b.name,
                r.request.start.strftime("%a %H:%M"),
                r.request.zone,
                r.request.count
            );
        }
    }
    if !plan.unpaired.is_empty() {
        let _ = writeln!(out, "\nUnpaired:");
        for u in &plan.unpaired {
            let p = &cfg.people[u.person];
            let _ = writeln!(
                out,
                "  {} <{}> ({}): {}{}",
                p.name,
                p.email,
                p.unit,
                u.reason,
                waited_note(u.waited)
            );
        }
    }
    out
}

/// "; waited 2 terms in a row" after an unpaired person (this term
/// included), or nothing when they did not wait (paused or away).
pub fn waited_note(waited: u32) -> String {
    match waited {
        0 => String::new(),
        1 => "; waited 1 term in a row".to_string(),
        n => format!("; waited {n} terms in a row"),
    }
}

/// ", skips 2027-03-15, 2027-03-22" for the skipped occurrences of a series
/// (their dates on the series' clock), or nothing.
pub fn skipped_note(skipped: &[jiff::civil::DateTime]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let dates: Vec<String> = skipped.iter().map(|d| d.date().to_string()).collect();
    format!(", skips {}", dates.join(", "))
}

/// `plan --json`: the same content, for programs. Keys are in alphabetical
/// order (as `serde_json::Value` keeps them): the fields of each struct below
/// are declared in that order. Built as borrowing structs rather than with
/// `json!`, whose maps allocated every key and value: for 10,000 people that
/// was a tenth of `plan --json`'s time.
pub fn plan_json<'a>(cfg: &'a Config, plan: &'a Plan, kept: &'a [SeriesRecord]) -> impl serde::Serialize + 'a {
    let person = |i: usize, first: Timestamp| {
        let p = &cfg.people[i];
        let z = first.to_zoned_datetime(p.timezone.clone());
        PersonJson {
            email: &p.email,
            local_start: z.strftime("%Y-%m-%dT%H:%M").to_string(),
            local_weekday: z.strftime("%A").to_string(),
            name: &p.name,
            timezone: &p.timezone_name,
            unit: &p.unit,
        }
    };
    let pairs = plan
        .pairs
        .iter()
        .map(|pair| {
            let first = pair.occurrences.first().map_or(Timestamp::MIN, |o| o.start);
            PairJson {
                a: person(pair.a, first),
                b: person(pair.b, first),
                first_week: pair.first_week,
                last_met_term: pair.last_met,
                occurrences: pair
                    .occurrences
                    .iter()
                    .map(|o| OccurrenceJson {
                        end: o.end.to_string(),
                        start: o.start.to_string(),
                    })
                    .collect(),
                series_timezone: &pair.zone_name,
                skipped: pair.skipped.iter().map(|d| d.date().to_string()).collect(),
                slot_score: pair.slot_score,
                time: pair.time.strftime("%H:%M").to_string(),
                weekday: format!("{:?}", pair.weekday),
            }
        })
        .collect();
    let unpaired = plan
        .unpaired
        .iter()
        .map(|u| {
            let p = &cfg.people[u.person];
            UnpairedJson {
                email: &p.email,
                message: u.reason.to_string(),
                name: &p.name,
                reason: json!(u.reason),
                unit: &p.unit,
                waited: u.waited,
            }
        })
        .collect();
    PlanJson {
        kept: kept.iter().map(|r| json!(r.request)).collect(),
        pairs,
        stats: json!(plan.stats),
        term: TermJson {
            index: plan.term.index,
            start: plan.term.start.to_string(),
            weeks: plan.term.weeks,
        },
        unpaired,
    }
}

// The shapes of `plan --json`, fields in alphabetical order (see `plan_json`).
// Nested library types (`reason`, `kept`, `stats`) go through `json!`, whose
// maps sort their keys too.

#[derive(serde::Serialize)]
struct PlanJson<'a> {
    kept: Vec<serde_json::Value>,
    pairs: Vec<PairJson<'a>>,
    stats: serde_json::Value,
    term: TermJson,
    unpaired: Vec<UnpairedJson<'a>>,
}

#[derive(serde::Serialize)]
struct TermJson {
    index: i64,
    start: String,
    weeks: u32,
}

#[derive(serde::Serialize)]
struct PairJson<'a> {
    a: PersonJson<'a>,
    b: PersonJson<'a>,
    first_week: u32,
    last_met_term: Option<i64>,
    occurrences: Vec<OccurrenceJson>,
    series_timezone: &'a str,
    skipped: Vec<String>,
    slot_score: u32,
    time: String,
    weekday: String,
}

#[derive(serde::Serialize)]
struct PersonJson<'a> {
    email: &'a str,
    local_start: String,
    local_weekday: String,
    name: &'a str,
    timezone: &'a str,
    unit: &'a str,
}

#[derive(serde::Serialize)]
struct OccurrenceJson {
    end: String,
    start: String,
}

#[derive(serde::Serialize)]
struct UnpairedJson<'a> {
    email: &'a str,
    message: String,
    name: &'a str,
    reason: serde_json::Value,
    unit: &'a str,
    waited: u32,
}

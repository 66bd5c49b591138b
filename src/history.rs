//! `liaison history`: who met whom, term by term, and the unit × unit coverage
//! matrix — how many connections each pair of units has had, the measure of
//! the network across units the program exists to build.
//!
//! Built from the store's series records (a snapshot: `history` never opens the
//! real database). A connection is a series that reached the calendar: booked,
//! or booked and later cancelled (the same rule as the planner's pair history,
//! `store::history`). Pending intents and abandoned ones are not connections.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::civil::Date;
use serde::Serialize;

use crate::store::{SeriesRecord, SeriesState};
use crate::text_table::table;

/// The states that count as a connection.
pub const COUNTED_STATES: [SeriesState; 2] = [SeriesState::Booked, SeriesState::Cancelled];

/// Said in every text output, so nobody wonders what the numbers count.
const COUNTED_NOTE: &str =
    "Connections are booked series, including those cancelled later; pending and abandoned intents are not counted.";

/// The whole history, as `--json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryReport {
    pub counted_states: Vec<SeriesState>,
    pub connections: usize,
    pub terms: Vec<TermHistory>,
    pub coverage: Coverage,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TermHistory {
    pub index: i64,
    pub start: Date,
    pub connections: Vec<Connection>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub term: Date,
    pub event_id: String,
    pub state: SeriesState,
    pub a: Member,
    pub b: Member,
    /// Dates (series' clock) of the weeks skipped: holidays, away days, days
    /// over `max_busy_hours`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Date>,
}

/// A person as they were when the series was booked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    pub email: String,
    pub name: String,
    pub unit: String,
}

/// Connections per pair of units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Sorted: the configured units and any unit found in the history.
    pub units: Vec<String>,
    /// Symmetric: `matrix[i][j]` connections between `units[i]` and `units[j]`
    /// (the diagonal counts same-unit connections).
    pub matrix: Vec<Vec<u32>>,
    /// Each unordered pair of units with at least one connection, once; the
    /// counts add up to the number of connections.
    pub pairs: Vec<UnitPair>,
    /// Pairs of different units that have met at least once, of all such pairs.
    pub unit_pairs_met: usize,
    pub unit_pairs_possible: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitPair {
    pub a_unit: String,
    pub b_unit: String,
    pub count: u32,
}

/// The history of `records`; `units` are the configured units (so that a unit
/// nobody has met yet shows as a row of zeros).
pub fn build(records: &[SeriesRecord], units: &[String]) -> HistoryReport {
    let mut indexed: Vec<(i64, Connection)> = records
        .iter()
        .filter(|r| COUNTED_STATES.contains(&r.state))
        .map(|r| {
            let member = |i: usize, unit: &str| Member {
                email: r.request.attendees[i].email.clone(),
                name: r.request.attendees[i].name.clone(),
                unit: unit.to_string(),
            };
            let connection = Connection {
                term: r.request.term,
                event_id: r.request.event_id.clone(),
                state: r.state,
                a: member(0, &r.units.0),
                b: member(1, &r.units.1),
                skipped: r.request.skip.iter().map(|d| d.date()).collect(),
            };
            (r.term_index, connection)
        })
        .collect();
    indexed.sort_by(|(_, x), (_, y)| (x.term, &x.a.email, &x.b.email).cmp(&(y.term, &y.a.email, &y.b.email)));

    let mut terms: Vec<TermHistory> = Vec::new();
    for (index, c) in &indexed {
        let index = *index;
        match terms.last_mut() {
            Some(t) if t.start == c.term => t.connections.push(c.clone()),
            _ => terms.push(TermHistory {
                index,
                start: c.term,
                connections: vec![c.clone()],
            }),
        }
    }

    let connections: Vec<&Connection> = indexed.iter().map(|(_, c)| c).collect();
    let all_units: BTreeSet<&str> = units
        .iter()
        .map(String::as_str)
        .chain(connections.iter().flat_map(|c| [c.a.unit.as_str(), c.b.unit.as_str()]))
        .collect();
    let units: Vec<String> = all_units.into_iter().map(str::to_string).collect();
    let position: BTreeMap<&str, usize> = units.iter().enumerate().map(|(i, u)| (u.as_str(), i)).collect();
    let mut matrix = vec![vec![0u32; units.len()]; units.len()];
    for c in &connections {
        let (i, j) = (position[c.a.unit.as_str()], position[c.b.unit.as_str()]);
        matrix[i][j] += 1;
        if i != j {
            matrix[j][i] += 1;
        }
    }
    let mut pairs = Vec::new();
    let mut unit_pairs_met = 0;
    for i in 0..units.len() {
        for j in i..units.len() {
            if matrix[i][j] > 0 {
                pairs.push(UnitPair {
                    a_unit: units[i].clone(),
                    b_unit: units[j].clone(),
                    count: matrix[i][j],
                });
                if i != j {
                    unit_pairs_met += 1;
                }
            }
        }
    }
    let n = units.len();
    HistoryReport {
        counted_states: COUNTED_STATES.to_vec(),
        connections: connections.len(),
        terms,
        coverage: Coverage {
            unit_pairs_possible: n * n.saturating_sub(1) / 2,
            units,
            matrix,
            pairs,
            unit_pairs_met,
        },
    }
}

/// Text for people: each term's pairs, then the coverage matrix.
pub fn render_text(report: &HistoryReport) -> String {
    let mut out = String::new();
    if report.terms.is_empty() {
        let _ = writeln!(out, "No history yet: no connection has been booked.\n{COUNTED_NOTE}");
        return out;
    }
    let _ = writeln!(out, "{COUNTED_NOTE}");
    for term in &report.terms {
        let _ = writeln!(
            out,
            "\nTerm {} (term {}): {} connections",
            term.start,
            term.index + 1,
            term.connections.len()
        );
        for c in &term.connections {
            let cancelled = if c.state == SeriesState::Cancelled {
                " (cancelled)"
            } else {
                ""
            };
            let skipped: Vec<String> = c.skipped.iter().map(Date::to_string).collect();
            let skipped = if skipped.is_empty() {
                String::new()
            } else {
                format!(", skipped {}", skipped.join(", "))
            };
            let _ = writeln!(
                out,
                "  {} ({}) & {} ({}){cancelled}{skipped}",
                c.a.name, c.a.unit, c.b.name, c.b.unit
            );
        }
    }
    let cov = &report.coverage;
    let _ = writeln!(
        out,
        "\nCoverage: connections between units ({} connections; {} of {} pairs of units have met)",
        report.connections, cov.unit_pairs_met, cov.unit_pairs_possible
    );
    out.push_str(&render_matrix(cov));
    out
}

/// The matrix as an aligned table: units down and across, counts right-aligned,
/// an empty diagonal shown as "-".
pub fn render_matrix(cov: &Coverage) -> String {
    let mut rows = vec![
        std::iter::once(String::new())
            .chain(cov.units.iter().cloned())
            .collect::<Vec<_>>(),
    ];
    for (i, unit) in cov.units.iter().enumerate() {
        let mut row = vec![unit.clone()];
        row.extend(cov.matrix[i].iter().enumerate().map(|(j, &n)| {
            if i == j && n == 0 {
                "-".to_string()
            } else {
                n.to_string()
            }
        }));
        rows.push(row);
    }
    table(&rows, |c| c > 0)
}

/// One row per connection, RFC 4180 quoting.
pub fn render_csv(report: &HistoryReport) -> String {
    let mut out = String::from("term,a_email,a_name,a_unit,b_email,b_name,b_unit,state\n");
    for c in report.terms.iter().flat_map(|t| &t.connections) {
        let cells = [
            c.term.to_string(),
            c.a.email.clone(),
            c.a.name.clone(),
            c.a.unit.clone(),
            c.b.email.clone(),
            c.b.name.clone(),
            c.b.unit.clone(),
            c.state.label().to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|s| csv_field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Attendee, SeriesRequest};
    use jiff::SignedDuration;
    use jiff::civil::date;

    fn record(a: (&str, &str, &str), b: (&str, &str, &str), term: Date, state: SeriesState) -> SeriesRecord {
        let attendee = |p: (&str, &str, &str)| Attendee {
            email: p.0.to_string(),
            name: p.1.to_string(),
        };
        SeriesRecord {
            request: SeriesRequest {
                event_id: format!("{}{}{term}", a.0, b.0),
                term,
                pair: (a.0.to_string(), b.0.to_string()),
                attendees: [attendee(a), attendee(b)],
                summary: "s".into(),
                description: "d".into(),
                location: None,
                zone: "UTC".into(),
                start: term.at(10, 0, 0, 0),
                duration: SignedDuration::from_mins(30),
                count: 4,
                skip: Vec::new(),
            },
            term_index: if term == date(2027, 3, 8) { 0 } else { 1 },
            units: (a.2.to_string(), b.2.to_string()),
            state,
            declined_by: None,
            instance: None,
            intent_at: None,
            responses: Default::default(),
            refusals: 0,
            retry_at: None,
        }
    }

    const ANN: (&str, &str, &str) = ("ann@x", "Ann", "Sales");
    const BO: (&str, &str, &str) = ("bo@x", "Bo", "Engineering");
    const CY: (&str, &str, &str) = ("cy@x", "Cy", "Research and Development");
    const DI: (&str, &str, &str) = ("di@x", "Di", "Sales");

    fn records() -> Vec<SeriesRecord> {
        let (t1, t2) = (date(2027, 3, 8), date(2027, 4, 5));
        vec![
            record(ANN, BO, t1, SeriesState::Booked),
            record(CY, DI, t1, SeriesState::Booked),
            record(ANN, CY, t2, SeriesState::Cancelled),
            record(BO, DI, t2, SeriesState::Booked),
            record(ANN, DI, t2, SeriesState::Pending),
            record(BO, CY, t2, SeriesState::Abandoned),
        ]
    }

    #[test]
    fn only_booked_and_cancelled_series_are_connections_and_the_matrix_adds_up() {
        let report = build(&records(), &["Finance".to_string(), "Sales".to_string()]);
        assert_eq!(report.connections, 4);
        assert_eq!(report.terms.len(), 2);
        assert_eq!(report.terms[1].index, 1);
        let cov = &report.coverage;
        assert_eq!(
            cov.units,
            ["Engineering", "Finance", "Research and Development", "Sales"]
        );
        assert_eq!(cov.pairs.iter().map(|p| p.count).sum::<u32>(), 4);
        // Sales met Engineering twice (Ann–Bo, Di–Bo) and R&D twice (Di–Cy, Ann–Cy).
        assert_eq!(cov.matrix[3], [2, 0, 2, 0]);
        assert_eq!(cov.matrix[0][3], 2);
        assert_eq!((cov.unit_pairs_met, cov.unit_pairs_possible), (2, 6));
    }

    #[test]
    fn the_matrix_is_aligned_with_units_sorted() {
        let report = build(&records(), &[]);
        let text = render_matrix(&report.coverage);
        assert_eq!(
            text,
            concat!(
                "                          Engineering  Research and Development  Sales\n",
                "Engineering                         -                         0      2\n",
                "Research and Development            0                         -      2\n",
                "Sales                               2                         2      -\n",
            )
        );
        let full = render_text(&report);
        assert!(full.contains("pending and abandoned intents are not counted"), "{full}");
        assert!(
            full.contains("Ann (Sales) & Cy (Research and Development) (cancelled)"),
            "{full}"
        );
        assert!(full.contains("2 of 3 pairs of units have met"), "{full}");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let odd_a = ("o@x", "O'Neil, \"Shaq\"", "R&D, Labs");
        let odd_b = ("p@x", "Plain", "Line\nBreak");
        let report = build(&[record(odd_a, odd_b, date(2027, 3, 8), SeriesState::Booked)], &[]);
        assert_eq!(
            render_csv(&report),
            "term,a_email,a_name,a_unit,b_email,b_name,b_unit,state\n\
             2027-03-08,o@x,\"O'Neil, \"\"Shaq\"\"\",\"R&D, Labs\",p@x,Plain,\"Line\nBreak\",booked\n"
        );
    }

    #[test]
    fn an_empty_history_says_so_and_what_counts() {
        let report = build(&[], &["Sales".to_string()]);
        let text = render_text(&report);
        assert!(text.starts_with("No history yet"), "{text}");
        assert!(text.contains("pending and abandoned"), "{text}");
        assert_eq!(render_csv(&report).lines().count(), 1);
    }
}

//! The report's model, table by table, and its page parsed back with a real
//! HTML parser (scraper): escaped names, nothing external, no script.

use std::path::Path;

use jiff::SignedDuration;
use jiff::Timestamp;
use jiff::civil::{Date, date};
use scraper::{Html, Selector};

use super::model::*;
use super::*;
use crate::calendar::{Attendee, SeriesRequest};
use crate::cycle::CycleSummary;
use crate::notes::{CycleNotes, UnpairedPerson};
use crate::store::SeriesState;

type P = (&'static str, &'static str, &'static str);
const ANN: P = ("ann@x.org", "Ann", "Sales");
const BO: P = ("bo@x.org", "Bo", "Ops");
const CY: P = ("cy@x.org", "Cy", "Eng");
const DI: P = ("di@x.org", "Di", "Sales");
const EVE: P = ("eve@x.org", "Eve", "Ops");

/// Term `index`'s first day (terms of 4 weeks from 2027-03-08).
fn term(index: i64) -> Date {
    date(2027, 3, 8)
        .checked_add(jiff::Span::new().weeks(4 * index))
        .unwrap()
}

fn record(a: P, b: P, index: i64, state: SeriesState) -> SeriesRecord {
    let attendee = |p: P| Attendee {
        email: p.0.into(),
        name: p.1.into(),
    };
    SeriesRecord {
        request: SeriesRequest {
            event_id: format!("{}{}{index}", a.1, b.1).to_lowercase(),
            term: term(index),
            pair: (a.0.into(), b.0.into()),
            attendees: [attendee(a), attendee(b)],
            summary: "s".into(),
            description: "d".into(),
            location: None,
            zone: "America/New_York".into(),
            start: term(index).at(19, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
            skip: Vec::new(),
        },
        term_index: index,
        units: (a.2.into(), b.2.into()),
        state,
        declined_by: None,
        instance: None,
        intent_at: None,
        responses: Default::default(),
        refusals: 0,
        retry_at: None,
    }
}

/// A configuration of `people` (four-week terms from 2027-03-08); the time
/// zone of each is given by `zone`.
fn config(people: &[P]) -> Config {
    let mut text = String::from(
        "timezone = \"Europe/London\"\nstate_dir = \"state\"\n[schedule]\nfirst_term = \"2027-03-08\"\nterm_weeks = 4\n\
         [calendar]\nprovider = \"local\"\n[calendar.local]\ndir = \".\"\n",
    );
    for p in people {
        let zone = if p.0 == BO.0 { "Asia/Tokyo" } else { "America/New_York" };
        text.push_str(&format!(
            "[[people]]\nemail = \"{}\"\nname = {:?}\nunit = {:?}\ntimezone = \"{zone}\"\n",
            p.0, p.1, p.2
        ));
    }
    crate::config::parse(&text, Path::new("/tmp/c.toml"), &crate::config::Env::default()).unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// What one term row must say: (number, connections, cancelled, repeats,
/// people connected, unit pairs, unit pairs so far).
type TermLine = (i64, usize, usize, usize, usize, usize, usize);

struct Case {
    name: &'static str,
    records: Vec<SeriesRecord>,
    terms: Vec<TermLine>,
    /// (email, connections, terms waited)
    people: Vec<(&'static str, usize, i64)>,
    /// Emails, longest waiting first.
    waiting: Vec<&'static str>,
    never_met: Vec<(&'static str, &'static str)>,
}

#[test]
fn the_model_counts_terms_repeats_coverage_and_waiting() {
    use SeriesState::*;
    let cases = vec![
        Case {
            name: "nothing booked: everyone waits 0 terms, every pair of units never met",
            records: vec![],
            terms: vec![],
            people: vec![("ann@x.org", 0, 0), ("eve@x.org", 0, 0)],
            waiting: vec![],
            never_met: vec![("Eng", "Ops"), ("Eng", "Sales"), ("Ops", "Sales")],
        },
        Case {
            name: "a pair that meets again is a repeat; pending and abandoned are not connections",
            records: vec![
                record(ANN, BO, 0, Booked),
                record(ANN, BO, 1, Booked),
                record(CY, DI, 1, Pending),
                record(CY, EVE, 1, Abandoned),
            ],
            terms: vec![(1, 1, 0, 0, 2, 1, 1), (2, 1, 0, 1, 2, 1, 1)],
            people: vec![("ann@x.org", 2, 0), ("bo@x.org", 2, 0), ("cy@x.org", 0, 2)],
            waiting: vec!["cy@x.org", "di@x.org", "eve@x.org"],
            never_met: vec![("Eng", "Ops"), ("Eng", "Sales")],
        },
        Case {
            name: "cancelled series count, and waiting counts terms since the last connection",
            records: vec![
                record(ANN, BO, 0, Cancelled),
                record(CY, DI, 0, Booked),
                record(CY, EVE, 1, Booked),
                record(DI, BO, 2, Booked),
            ],
            terms: vec![(1, 2, 1, 0, 4, 2, 2), (2, 1, 0, 0, 2, 1, 3), (3, 1, 0, 0, 2, 1, 3)],
            people: vec![
                ("ann@x.org", 1, 2),
                ("bo@x.org", 2, 0),
                ("cy@x.org", 2, 1),
                ("di@x.org", 2, 0),
                ("eve@x.org", 1, 1),
            ],
            waiting: vec!["ann@x.org", "cy@x.org", "eve@x.org"],
            never_met: vec![],
        },
    ];
    let cfg = config(&[ANN, BO, CY, DI, EVE]);
    for case in cases {
        let report = model(&cfg, &case.records, None, at("2027-03-03T12:00:00Z"));
        let terms: Vec<TermLine> = report
            .terms
            .iter()
            .map(|t| {
                (
                    t.number,
                    t.connections,
                    t.cancelled,
                    t.repeats,
                    t.people_connected,
                    t.unit_pairs,
                    t.unit_pairs_so_far,
                )
            })
            .collect();
        assert_eq!(terms, case.terms, "{}", case.name);
        for (email, connections, waited) in &case.people {
            let p = report.people.iter().find(|p| p.email == *email).unwrap();
            assert_eq!(
                (p.connections(), p.waiting_terms),
                (*connections, *waited),
                "{}: {email}",
                case.name
            );
        }
        assert_eq!(report.waiting, case.waiting, "{}", case.name);
        let never: Vec<(&str, &str)> = report.never_met.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(never, case.never_met, "{}", case.name);
        let connections: usize = report.terms.iter().map(|t| t.connections).sum();
        assert_eq!(report.summary.connections, connections, "{}", case.name);
        // Every connection gives each of its two people one partner.
        let partners: usize = report.people.iter().map(PersonRow::connections).sum();
        assert_eq!(partners, 2 * connections, "{}", case.name);
        assert!(
            report.meetings.is_none() && report.last_cycle.is_none(),
            "{}",
            case.name
        );
    }
}

#[test]
fn heat_levels_scale_with_the_largest_count_and_any_connection_shows() {
    let cases: [(u32, u32, u8); 8] = [
        (0, 0, 0),
        (0, 5, 0),
        (1, 1, 4),
        (1, 4, 1),
        (2, 4, 2),
        (3, 4, 3),
        (4, 4, 4),
        (1, 1000, 1),
    ];
    for (count, max, expected) in cases {
        let history = crate::history::HistoryReport {
            counted_states: vec![],
            connections: 0,
            terms: vec![],
            coverage: crate::history::Coverage {
                units: vec!["A".into(), "B".into(), "C".into()],
                matrix: vec![vec![0, count, max], vec![count, 0, 0], vec![max, 0, 0]],
                pairs: vec![],
                unit_pairs_met: 0,
                unit_pairs_possible: 3,
            },
        };
        let report = build(&Input {
            zone: &jiff::tz::TimeZone::UTC,
            zone_name: "UTC",
            people: &[],
            history: &history,
            status: None,
            now: at("2027-03-03T12:00:00Z"),
        });
        let cell = report.heatmap.cells[0][1];
        assert_eq!(cell.level, expected, "count {count} of max {max}");
        assert_eq!(cell.never_met, count == 0, "count {count}");
        assert!(report.heatmap.cells[0][0].same_unit && !report.heatmap.cells[0][0].never_met);
    }
}

/// The status of a cycle on `now` that left Eve unpaired in the term of `now`.
fn status_after_cycle(cfg: &Config, records: &[SeriesRecord], now: Timestamp, unpaired_term: Date) -> Status {
    let mut notes = CycleNotes::default();
    notes.unpaired.push(UnpairedPerson {
        term: unpaired_term,
        email: EVE.0.into(),
        name: EVE.1.into(),
        unit: EVE.2.into(),
        reason: "no_common_slot".into(),
        message: "no weekly time free for both with anyone".into(),
    });
    crate::status::build(cfg, records, now, now, &Ok(CycleSummary::default()), &notes)
}

#[test]
fn the_status_adds_the_current_and_next_terms_their_unpaired_and_the_meetings_in_local_time() {
    let cfg = config(&[ANN, BO, CY, DI, EVE]);
    let records = vec![
        record(ANN, BO, 0, SeriesState::Booked),
        record(CY, DI, 1, SeriesState::Booked),
    ];
    // Inside the first term: it is current, the second is next.
    let now = at("2027-03-10T12:00:00Z");
    let status = status_after_cycle(&cfg, &records, now, term(0));
    let report = model(&cfg, &records, Some(&status), now);
    let rows: Vec<(i64, &str, Option<usize>)> = report
        .terms
        .iter()
        .map(|t| (t.number, t.when, t.unpaired.as_ref().map(Vec::len)))
        .collect();
    // The second term is booked (Cy & Di) and was planned: nobody unpaired.
    assert_eq!(rows, [(1, "current", Some(1)), (2, "next", Some(0))]);
    let meetings = report.meetings.unwrap();
    assert!(meetings.current);
    assert_eq!(meetings.term_number, 1);
    let m = &meetings.rows[0];
    // 19:00 in New York on Monday is 09:00 on Tuesday in Tokyo.
    assert_eq!(
        (m.a.when.as_str(), m.a.timezone.as_str()),
        ("Mon 2027-03-08 19:00", "America/New_York")
    );
    assert_eq!(
        (m.b.when.as_str(), m.b.timezone.as_str()),
        ("Tue 2027-03-09 09:00", "Asia/Tokyo")
    );
    assert_eq!((m.weeks, m.minutes), (4, 30));
    assert_eq!(report.generated, "2027-03-10 12:00");
    assert_eq!(report.last_cycle.unwrap().error, None);

    // Before the first term: only the next term, and a term with nothing
    // booked and nobody unpaired was not planned (not known).
    let before = at("2027-03-01T12:00:00Z");
    let mut status = status_after_cycle(&cfg, &[], before, term(5));
    status.terms[0].connections.clear();
    let report = model(&cfg, &[], Some(&status), before);
    assert_eq!(report.terms.len(), 1);
    assert_eq!((report.terms[0].when, report.terms[0].unpaired.clone()), ("next", None));
    assert!(!report.meetings.unwrap().current);
}

const HOSTILE_UNIT: &str = "<script>alert(1)</script>";
const HOSTILE_NAME: &str = "Mallory <img src=x onerror=alert(2)> & \"Co\"";

fn hostile_page() -> String {
    let mal: P = ("mal@x.org", HOSTILE_NAME, HOSTILE_UNIT);
    let cfg = config(&[ANN, BO, mal]);
    let records = vec![
        record(ANN, mal, 0, SeriesState::Booked),
        record(BO, mal, 1, SeriesState::Cancelled),
    ];
    let now = at("2027-03-10T12:00:00Z");
    let status = status_after_cycle(&cfg, &records, now, term(0));
    render(&model(&cfg, &records, Some(&status), now))
}

#[test]
fn names_and_units_are_text_never_markup() {
    let page = hostile_page();
    let doc = Html::parse_document(&page);
    let select = |s: &str| Selector::parse(s).unwrap();
    assert_eq!(doc.select(&select("script")).count(), 0, "{page}");
    assert_eq!(doc.select(&select("img")).count(), 0, "{page}");
    assert!(
        !page.contains(HOSTILE_UNIT) && !page.contains("<img"),
        "raw markup in the page"
    );
    // The names are there, as text: in the people table and the heatmap.
    let text: String = doc.root_element().text().collect();
    assert!(text.contains(HOSTILE_UNIT), "{text}");
    assert!(text.contains(HOSTILE_NAME), "{text}");
    let row = doc.select(&select("tr[data-email=\"mal@x.org\"] td")).next().unwrap();
    assert_eq!(row.text().collect::<String>(), HOSTILE_NAME);
    let cells = doc
        .select(&select("text[data-metric=cell]"))
        .filter(|c| c.value().attr("data-row") == Some(HOSTILE_UNIT))
        .count();
    assert_eq!(cells, 3, "one row of the heatmap for the unit");
}

#[test]
fn the_page_references_nothing_outside_itself() {
    let page = hostile_page();
    let doc = Html::parse_document(&page);
    for element in doc.root_element().descendants().filter_map(scraper::ElementRef::wrap) {
        for (name, value) in element.value().attrs() {
            if ["src", "href", "xlink:href", "action", "srcset", "poster", "data"].contains(&name) {
                panic!(
                    "<{} {name}={value:?}>: the page must load nothing",
                    element.value().name()
                );
            }
        }
        assert!(
            !["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&element.value().name()),
            "<{}> in the page",
            element.value().name()
        );
    }
    for forbidden in ["http:", "https:", "url(", "@import", "//"] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    // The essentials of a page for phones and dark mode.
    let viewport = Selector::parse("meta[name=viewport]").unwrap();
    assert!(doc.select(&viewport).next().is_some());
    assert!(page.contains("prefers-color-scheme: dark"));
}

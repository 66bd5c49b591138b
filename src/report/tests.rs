//! The report's model, table by table, and its page parsed back with a real
//! HTML parser (scraper): escaped names, nothing external, no script.

use std::collections::BTreeMap;
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

/// The report of `n` units with no people: `count(i, j)` connections
/// between units `i` and `j` (symmetric; the diagonal as given).
fn units_report(n: usize, count: impl Fn(usize, usize) -> u32) -> Report {
    let units: Vec<String> = (0..n).map(|i| format!("Unit {i:04}")).collect();
    let matrix: Vec<Vec<u32>> = (0..n)
        .map(|i| (0..n).map(|j| count(i.min(j), i.max(j))).collect())
        .collect();
    let met = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .filter(|&(i, j)| matrix[i][j] > 0)
        .count();
    let history = crate::history::HistoryReport {
        counted_states: vec![],
        connections: 0,
        terms: vec![],
        coverage: crate::history::Coverage {
            units,
            matrix,
            pairs: vec![],
            unit_pairs_met: met,
            unit_pairs_possible: n * (n - 1) / 2,
        },
    };
    build(&Input {
        zone: &jiff::tz::TimeZone::UTC,
        zone_name: "UTC",
        people: &[],
        history: &history,
        status: None,
        now: at("2027-03-03T12:00:00Z"),
    })
}

/// Squares of each class of the compact map (`class` → count), from its
/// paths: each `M x y h w v c h-w z` is a run of `w / c` squares.
fn compact_squares(page: &str) -> BTreeMap<String, usize> {
    let doc = Html::parse_document(page);
    let mut out = BTreeMap::new();
    for path in doc.select(&Selector::parse("svg.heatmap.compact path").unwrap()) {
        let class = path.value().attr("class").unwrap().to_string();
        let d = path.value().attr("d").unwrap();
        let squares: usize = d
            .split('M')
            .filter(|r| !r.is_empty())
            .map(|run| {
                let h: usize = run
                    .split('h')
                    .nth(1)
                    .unwrap()
                    .split('v')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let c: usize = run
                    .split('v')
                    .nth(1)
                    .unwrap()
                    .split('h')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                h / c
            })
            .sum();
        *out.entry(class).or_default() += squares;
    }
    out
}

#[test]
fn the_page_stays_small_with_many_units_and_the_map_compact_above_forty() {
    // Up to 40 units, every square has its number.
    let page = render(&units_report(40, |i, j| u32::from(j == i + 1)));
    let doc = Html::parse_document(&page);
    let cells = doc.select(&Selector::parse("text[data-metric=cell]").unwrap()).count();
    assert_eq!(cells, 40 * 40);

    // Sparse (each unit met its neighbour), dense with every shade in a
    // pattern that makes short runs (the worst case for the paths), and
    // more units than the compact map has squares a side.
    let sparse = |i: usize, j: usize| u32::from(j == i + 1);
    let dense = |i: usize, j: usize| ((i + 2 * j) % 5) as u32;
    for (n, name, count) in [
        (41, "sparse", &sparse as &dyn Fn(usize, usize) -> u32),
        (250, "sparse", &sparse),
        (250, "dense", &dense),
        (1000, "sparse", &sparse),
        (1000, "dense", &dense),
    ] {
        let report = units_report(n, count);
        let page = render(&report);
        assert!(page.len() < 2_000_000, "{n} units, {name}: {} bytes", page.len());
        let doc = Html::parse_document(&page);
        let count_of = |s: &str| doc.select(&Selector::parse(s).unwrap()).count();
        // No number, tooltip or data per square: titles only on labels.
        assert_eq!(count_of("[data-metric=cell]"), 0, "{n} {name}");
        assert!(count_of("svg title") <= 2 * n, "{n} {name}");
        // The list of pairs that never met is cut, its count is all of them.
        let never = report.never_met_count;
        let pairs = n * (n - 1) / 2;
        assert_eq!(never, pairs - report.summary.unit_pairs_met, "{n} {name}");
        assert_eq!(
            count_of("ul.never-met li"),
            never.min(model::NEVER_MET_SHOWN),
            "{n} {name}"
        );
        let metric = |m: &str| {
            doc.select(&Selector::parse(&format!("[data-metric={m}]")).unwrap())
                .next()
                .map(|e| e.text().collect::<String>().parse::<usize>().unwrap())
        };
        assert_eq!(metric("never-met"), Some(never), "{n} {name}");
        assert_eq!(
            metric("never-met-more"),
            (never > model::NEVER_MET_SHOWN).then(|| never - model::NEVER_MET_SHOWN)
        );
        // Every square drawn once; one unit a square up to 250 units.
        let squares = compact_squares(&page);
        let side = n.div_ceil(n.div_ceil(250));
        assert_eq!(squares.values().sum::<usize>(), side * side, "{n} {name}: {squares:?}");
        if n <= 250 {
            let expected: BTreeMap<String, usize> = report
                .heatmap
                .cells
                .iter()
                .flatten()
                .map(|c| {
                    if c.never_met {
                        "never".to_string()
                    } else if c.count == 0 {
                        "same".to_string()
                    } else {
                        format!("l{}", c.level)
                    }
                })
                .fold(BTreeMap::new(), |mut m, k| {
                    *m.entry(k).or_default() += 1;
                    m
                });
            assert_eq!(squares, expected, "{n} {name}");
        }
    }
}

#[test]
fn after_a_failed_cycle_nobody_is_said_to_be_unpaired() {
    let cfg = config(&[ANN, BO, CY, DI, EVE]);
    let records = vec![record(ANN, BO, 0, SeriesState::Booked)];
    let now = at("2027-03-10T12:00:00Z");
    let failed: Result<CycleSummary, crate::failure::Failure> =
        Err(crate::failure::Failure::Other(anyhow::anyhow!("calendar unreachable")));
    let status = crate::status::build(&cfg, &records, now, now, &failed, &CycleNotes::default());
    // The current term has its connection (from the store), but the failed
    // cycle planned nothing: who is unpaired is not known.
    assert!(!status.terms[0].connections.is_empty());
    let report = model(&cfg, &records, Some(&status), now);
    assert_eq!(
        (report.terms[0].connections, report.terms[0].unpaired.clone()),
        (1, None)
    );
    let doc = Html::parse_document(&render(&report));
    assert_eq!(
        doc.select(&Selector::parse("[data-metric=term-unpaired]").unwrap())
            .count(),
        0
    );
    // The same after a cycle that succeeded: known, nobody.
    let ok = crate::status::build(
        &cfg,
        &records,
        now,
        now,
        &Ok(CycleSummary::default()),
        &CycleNotes::default(),
    );
    assert_eq!(model(&cfg, &records, Some(&ok), now).terms[0].unpaired, Some(vec![]));
}

#[test]
fn the_page_is_not_written_through_a_link_or_into_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.html");
    std::fs::write(&target, "theirs").unwrap();
    let link = dir.path().join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let why = write(&link, "page").unwrap_err().to_string();
    assert!(why.contains("symbolic link") && why.contains("target.html"), "{why}");
    // The link and its target are as they were.
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");

    let why = write(dir.path(), "page").unwrap_err().to_string();
    assert!(why.contains("is a directory") && why.contains("report.html"), "{why}");

    // A new file, and a plain file replaced.
    let file = dir.path().join("new.html");
    write(&file, "one").unwrap();
    write(&file, "two").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "two");
}

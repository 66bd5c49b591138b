//! The report as one self-contained HTML page: the stylesheet inline, the
//! heatmap as inline SVG, no script, no font, no image, nothing fetched (it
//! works offline, as an e-mail attachment, from a file share). maud escapes
//! every value put into the page, so names and units from the configuration
//! cannot inject markup. Elements that show a number carry `data-metric`
//! (what it counts), which the tests read to check each one against
//! `history --json` and `status --json`.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::heatmap;
use super::model::{PersonRow, Report, TermRow};
use crate::store::SeriesState;

/// Light and dark palettes (`prefers-color-scheme`), narrow screens.
const STYLE: &str = include_str!("style.css");

/// The page of `report`.
pub fn render(report: &Report) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { "liaison: connections across units" }
                // Static text of this crate, not data: nothing to escape.
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "Connections across units" }
                    p class="meta" {
                        "Written " (report.generated) " (" (report.zone) ")"
                        @if let Some(cycle) = &report.last_cycle {
                            " · last cycle " (cycle.started)
                            @if let Some(error) = &cycle.error {
                                ": " span class="bad" { "failed: " (error) }
                            } @else { ": ok" }
                        } @else {
                            " · no cycle has run yet"
                        }
                    }
                }
                main {
                    (summary(report))
                    (coverage(report))
                    (terms(&report.terms))
                    (meetings(report))
                    (people(report))
                }
                footer {
                    p { "Connections are booked series, including those cancelled later; pending and abandoned intents are not counted. Written by liaison from the same data as "
                        code { "liaison history --json" } " and " code { "liaison status --json" } "." }
                }
            }
        }
    };
    page.into_string()
}

fn summary(report: &Report) -> Markup {
    let s = &report.summary;
    html! {
        section class="cards" aria-label="Summary" {
            div class="card" { span class="big" data-metric="connections" { (s.connections) } span { "connections" } }
            div class="card" { span class="big" data-metric="terms" { (s.terms) } span { "terms with connections" } }
            div class="card" { span class="big" data-metric="people" { (s.people) } span { "people" } }
            div class="card" {
                span class="big" { span data-metric="unit-pairs-met" { (s.unit_pairs_met) } " / " span data-metric="unit-pairs-possible" { (s.unit_pairs_possible) } }
                span { "pairs of units have met" }
            }
            @if s.cancelled > 0 {
                div class="card" { span class="big" data-metric="cancelled" { (s.cancelled) } span { "cancelled later" } }
            }
        }
    }
}

fn coverage(report: &Report) -> Markup {
    html! {
        section id="coverage" {
            h2 { "Which units have met" }
            p { "Connections so far between each pair of the " span data-metric="units" { (report.summary.units) } " units. Pairs of different units that never met are marked." }
            @let units = report.heatmap.units.len();
            @if units > heatmap::DETAILED_MAX {
                @let per = heatmap::units_per_square(units);
                p class="note" {
                    "A compact map: units in alphabetical order, one row and one column each"
                    @if per > 1 { " (" (per) " consecutive units per square, shaded by their connections)" }
                    ", every few labelled. The count of each pair is in "
                    code { "liaison history --json" } " (" code { "coverage.matrix" } ")."
                }
            }
            div class="scroll" { (heatmap::render(&report.heatmap)) }
            p class="legend" aria-hidden="true" {
                span class="swatch never" {} " never met "
                @for level in 1..=super::model::LEVELS { span class=(format!("swatch l{level}")) {} }
                " fewer → more connections"
            }
            @if report.never_met_count == 0 {
                p { "Every pair of units has met." }
            } @else {
                details open[report.never_met_count <= 12] {
                    summary { "Pairs of units that never met (" span data-metric="never-met" { (report.never_met_count) } ")" }
                    ul class="never-met" {
                        @for (a, b) in &report.never_met { li { (a) " × " (b) } }
                    }
                    @let more = report.never_met_count - report.never_met.len();
                    @if more > 0 {
                        p class="note" {
                            "The first " (report.never_met.len()) " only, and " span data-metric="never-met-more" { (more) }
                            " more: " code { "liaison history --json" } " lists every pair."
                        }
                    }
                }
            }
        }
    }
}

fn terms(rows: &[TermRow]) -> Markup {
    html! {
        section id="terms" {
            h2 { "Terms" }
            @if rows.is_empty() {
                p { "No term has been planned yet." }
            } @else {
                div class="scroll" {
                    table class="stack" {
                        thead { tr {
                            th { "Term" } th { "Starts" }
                            th class="num" { "Pairs" } th class="num" { "Cancelled" } th class="num" { "Repeats" }
                            th class="num" { "People" } th class="num" { "Unit pairs" } th class="num" { "Unit pairs so far" }
                            th class="num" { "Unpaired" }
                        } }
                        tbody {
                            @for t in rows {
                                tr data-term=(t.start) {
                                    td class="term" { span data-metric="term-number" { (t.number) } @if !t.when.is_empty() { " " span class="tag" { (t.when) } } }
                                    td class="date" data-metric="term-start" { (t.start) }
                                    td class="num" data-label="pairs" data-metric="term-connections" { (t.connections) }
                                    td class="num" data-label="cancelled" data-metric="term-cancelled" { (t.cancelled) }
                                    td class="num" data-label="repeats" data-metric="term-repeats" { (t.repeats) }
                                    td class="num" data-label="people" data-metric="term-people" { (t.people_connected) }
                                    td class="num" data-label="unit pairs" data-metric="term-unit-pairs" { (t.unit_pairs) }
                                    td class="num" data-label="unit pairs so far" data-metric="term-unit-pairs-so-far" { (t.unit_pairs_so_far) }
                                    td class="num" data-label="unpaired" {
                                        @match &t.unpaired {
                                            Some(list) => span data-metric="term-unpaired" { (list.len()) },
                                            None => span class="muted" title="not known: the last cycle did not plan this term, or failed" { "–" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p class="note" { "Repeats: pairs that had met in an earlier term. Unit pairs: pairs of different units that met that term, and by its end. Unpaired: as the last cycle left the terms it planned; – when not known (a term it did not plan, or a failed cycle)." }
                @for t in rows {
                    @if let Some(list) = &t.unpaired {
                        @if !list.is_empty() {
                            div class="unpaired-term" data-term=(t.start) {
                                h3 { "Unpaired in term " span data-metric="term-number" { (t.number) } " (" span data-metric="term-start" { (t.start) } ")" }
                                ul class="unpaired" {
                                    @for u in list { li { strong { (u.name) } " (" (u.unit) "): " (u.reason) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn meetings(report: &Report) -> Markup {
    html! {
        section id="meetings" {
            @match &report.meetings {
                None => {
                    h2 { "This term's meetings" }
                    p { "No cycle has run yet: " code { "liaison run --once" } " books the first term." }
                }
                Some(m) => {
                    h2 {
                        @if m.current { "This term's meetings" } @else { "Next term's meetings" }
                        " (term " span data-metric="meeting-term-number" { (m.term_number) } ", from " span data-metric="meeting-term-start" { (m.start) } ")"
                    }
                    p { "The first meeting of each pair in each person's own time zone; it repeats weekly." }
                    @if m.rows.is_empty() {
                        p { "None booked yet." }
                    } @else {
                        div class="scroll" {
                            table class="meetings stack" {
                                thead { tr { th { "Person" } th { "Their time" } th { "Partner" } th { "Their time" } th class="num" { "Weeks" } th class="num" { "Minutes" } th { "State" } } }
                                tbody {
                                    @for row in &m.rows {
                                        tr.cancelled[row.state == SeriesState::Cancelled] {
                                            td class="who" { (row.a.name) " " span class="muted unit" { (row.a.unit) } }
                                            td class="when" { (row.a.when) " " span class="muted zone" { (row.a.timezone) } }
                                            td class="who partner" { (row.b.name) " " span class="muted unit" { (row.b.unit) } }
                                            td class="when" { (row.b.when) " " span class="muted zone" { (row.b.timezone) } }
                                            td class="num weeks" data-metric="meeting-weeks" { (row.weeks) }
                                            td class="num minutes" data-metric="meeting-minutes" { (row.minutes) }
                                            td class="state" { (row.state.label()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn people(report: &Report) -> Markup {
    let by_email = |email: &str| report.people.iter().find(|p| p.email == email);
    html! {
        section id="people" {
            h2 { "People" }
            @if !report.waiting.is_empty() {
                h3 { "Waited longest" }
                ol class="waiting" {
                    @for p in report.waiting.iter().filter_map(|e| by_email(e)) {
                        li data-email=(p.email) {
                            strong { (p.name) } " (" (p.unit) "): "
                            @if p.never_connected { "never connected, " }
                            span data-metric="waiting-terms" { (p.waiting_terms) } " term" @if p.waiting_terms != 1 { "s" } " without a connection"
                        }
                    }
                }
            }
            p { "Everyone's partners so far, oldest first, and how many connections each person has had (fairness)." }
            div class="scroll" {
                table class="people stack" {
                    thead { tr { th { "Person" } th { "Unit" } th class="num" { "Connections" } th { "Partners (term)" } } }
                    tbody {
                        @for p in &report.people { (person(p)) }
                    }
                }
            }
        }
    }
}

fn person(p: &PersonRow) -> Markup {
    html! {
        tr data-email=(p.email) {
            td class="name" { (p.name) @if !p.configured { " " span class="tag" { "no longer configured" } } }
            td class="unit" { (p.unit) }
            td class="num count" data-metric="person-connections" { (p.connections()) }
            td class="partners" data-label="Partners" {
                @if p.partners.is_empty() { span class="muted" { "none yet" } }
                @for (k, partner) in p.partners.iter().enumerate() {
                    @if k > 0 { ", " }
                    span.cancelled[partner.cancelled] {
                        (partner.name) " (" (partner.unit) ", " span data-metric="partner-term" { (partner.term_number) } ")"
                    }
                }
            }
        }
    }
}

//! The unit × unit heatmap as inline SVG (no script, no external reference):
//! one square per pair of units, shaded by connections, pairs of different
//! units that never met marked; each square's `<title>` names both units.
//! Unit names are text nodes and attribute values that maud escapes.

use maud::{Markup, html};

use super::model::Heatmap;

/// Side of one square, in SVG units.
const CELL: usize = 40;
/// Labels longer than this are cut (with "…") in the picture; the full name
/// is in each square's tooltip and in the tables.
const LABEL_CHARS: usize = 22;
/// Width per character of a label, for the margins (a rough mean for the
/// sans-serif faces at the size the stylesheet sets).
const CHAR_WIDTH: usize = 7;

/// A unit's label as drawn: cut to [`LABEL_CHARS`].
fn label(unit: &str) -> String {
    if unit.chars().count() <= LABEL_CHARS {
        unit.to_string()
    } else {
        let cut: String = unit.chars().take(LABEL_CHARS - 1).collect();
        format!("{cut}…")
    }
}

pub fn render(map: &Heatmap) -> Markup {
    let n = map.units.len();
    let longest = map.units.iter().map(|u| label(u).chars().count()).max().unwrap_or(0);
    // Row labels on the left, column labels slanted above.
    let left = longest * CHAR_WIDTH + 12;
    let top = longest * CHAR_WIDTH * 7 / 10 + 16;
    let width = left + n * CELL + top / 2 + 8;
    let height = top + n * CELL + 8;
    html! {
        svg class="heatmap" role="img" viewBox=(format!("0 0 {width} {height}"))
            width=(width) height=(height)
            // Shrinks with a narrow screen down to 4/5 of its size (text
            // still legible), then scrolls sideways in its box.
            style=(format!("max-width: {width}px; min-width: {}px", width * 4 / 5))
            aria-label="Connections between each pair of units" {
            @for (j, unit) in map.units.iter().enumerate() {
                @let x = left + j * CELL + CELL / 2;
                text class="col-label" x=(x) y=(top - 8)
                    transform=(format!("rotate(-45 {x} {})", top - 8)) {
                    title { (unit) }
                    (label(unit))
                }
            }
            @for (i, unit) in map.units.iter().enumerate() {
                @let y = top + i * CELL + CELL / 2;
                text class="row-label" x=(left - 8) y=(y) dominant-baseline="middle" text-anchor="end" {
                    title { (unit) }
                    (label(unit))
                }
                @for (j, cell) in map.cells[i].iter().enumerate() {
                    @let x = left + j * CELL;
                    @let y0 = top + i * CELL;
                    @let class = if cell.never_met { "cell never".to_string() }
                        else if cell.same_unit && cell.count == 0 { "cell same".to_string() }
                        else { format!("cell l{}", cell.level) };
                    g class=(class) {
                        title {
                            (unit) " × " (map.units[j]) ": "
                            @if cell.never_met { "never met" }
                            @else if cell.same_unit && cell.count == 0 { "same unit" }
                            @else { (cell.count) " connection" @if cell.count != 1 { "s" } }
                        }
                        rect x=(x + 1) y=(y0 + 1) width=(CELL - 2) height=(CELL - 2) rx="4" {}
                        text x=(x + CELL / 2) y=(y0 + CELL / 2) dominant-baseline="central" text-anchor="middle"
                            data-metric="cell" data-row=(unit) data-col=(map.units[j]) {
                            @if cell.same_unit && cell.count == 0 { "–" } @else { (cell.count) }
                        }
                    }
                }
            }
        }
    }
}

//! The unit × unit heatmap as inline SVG (no script, no external reference):
//! one square per pair of units, shaded by connections, pairs of different
//! units that never met marked. Up to [`DETAILED_MAX`] units each square
//! shows its count and a `<title>` naming both units; above, a compact map
//! whose size does not grow with units squared in markup (see [`compact`]).
//! Unit names are text nodes and attribute values that maud escapes.

use std::fmt::Write as _;

use maud::{Markup, html};

use super::model::{Heatmap, LEVELS, level};

/// Up to this many units, every square carries its number and tooltip
/// (40 units: 1,600 squares, about 0.5 MB of markup).
pub const DETAILED_MAX: usize = 40;
/// The compact map draws at most this many squares a side: above, runs of
/// consecutive units (in the matrix's order) share a square.
pub const COMPACT_SIDE: usize = 250;
/// Width of the compact map's squares, in SVG units (it fits the page's
/// column with its labels).
const COMPACT_WIDTH: usize = 800;
/// Smallest and largest side of one compact square.
const COMPACT_CELL: (usize, usize) = (3, 24);
/// Least distance between two drawn labels of the compact map.
const LABEL_GAP: usize = 16;

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

/// The map: detailed up to [`DETAILED_MAX`] units, compact above.
pub fn render(map: &Heatmap) -> Markup {
    if map.units.len() <= DETAILED_MAX {
        detailed(map)
    } else {
        compact(map)
    }
}

/// Units per square of the compact map of `n` units.
pub fn units_per_square(n: usize) -> usize {
    n.div_ceil(COMPACT_SIDE).max(1)
}

fn detailed(map: &Heatmap) -> Markup {
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

/// The compact map: no number, tooltip or data attribute per square; the
/// squares of one shade are a single `<path>`, each run of equal squares in
/// a row one rectangle of it, so the markup grows with the runs (in a sparse
/// network a few per row) and at most with [`COMPACT_SIDE`] squared. Every
/// `label_every`th unit is labelled, with its full name as tooltip.
fn compact(map: &Heatmap) -> Markup {
    let n = map.units.len();
    let per = units_per_square(n);
    let side = n.div_ceil(per);
    let cell = (COMPACT_WIDTH / side).clamp(COMPACT_CELL.0, COMPACT_CELL.1);
    // Each square: the connections of its units' pairs, and whether it holds
    // a pair of different units and whether any of those met.
    let mut squares = vec![vec![(0u64, false, false); side]; side];
    for (i, row) in map.cells.iter().enumerate() {
        for (j, c) in row.iter().enumerate() {
            let square = &mut squares[i / per][j / per];
            square.0 += u64::from(c.count);
            if !c.same_unit {
                square.1 = true;
                square.2 |= c.count > 0;
            }
        }
    }
    let max = squares.iter().flatten().map(|s| s.0).max().unwrap_or(0);
    let class = |&(count, different, met): &(u64, bool, bool)| -> usize {
        // 0: never met, 1: only one unit and no connection, 2..: levels.
        if different && !met {
            0
        } else if count == 0 {
            1
        } else {
            1 + usize::from(level(count, max))
        }
    };
    let names = ["never", "same"];
    let mut paths = vec![String::new(); 2 + usize::from(LEVELS)];
    let longest = map.units.iter().map(|u| label(u).chars().count()).max().unwrap_or(0);
    let left = longest * CHAR_WIDTH + 12;
    let top = longest * CHAR_WIDTH + 16;
    for (i, row) in squares.iter().enumerate() {
        let mut j = 0;
        while j < side {
            let kind = class(&row[j]);
            let run = row[j..].iter().take_while(|s| class(s) == kind).count();
            // Writing to a String cannot fail.
            let _ = write!(
                paths[kind],
                "M{} {}h{}v{cell}h-{}z",
                left + j * cell,
                top + i * cell,
                run * cell,
                run * cell
            );
            j += run;
        }
    }
    let every = LABEL_GAP.div_ceil(cell).max(1);
    let labelled: Vec<(usize, &String)> = (0..side)
        .step_by(every)
        .filter_map(|s| map.units.get(s * per).map(|u| (s, u)))
        .collect();
    let width = left + side * cell + 8;
    let height = top + side * cell + 8;
    html! {
        svg class="heatmap compact" role="img" viewBox=(format!("0 0 {width} {height}"))
            width=(width) height=(height)
            style=(format!("max-width: {width}px; min-width: {}px", width * 3 / 5))
            aria-label="Connections between each pair of units (compact)" {
            @for (s, unit) in &labelled {
                @let x = left + s * cell + cell / 2;
                text class="col-label" x=(x) y=(top - 6) dominant-baseline="middle"
                    transform=(format!("rotate(-90 {x} {})", top - 6)) {
                    title { (unit) } (label(unit))
                }
                @let y = top + s * cell + cell / 2;
                text class="row-label" x=(left - 6) y=(y) dominant-baseline="middle" text-anchor="end" {
                    title { (unit) } (label(unit))
                }
            }
            @for (kind, d) in paths.iter().enumerate() {
                @if !d.is_empty() {
                    path class=(names.get(kind).map_or_else(|| format!("l{}", kind - 1), |n| (*n).to_string())) d=(d) {}
                }
            }
        }
    }
}

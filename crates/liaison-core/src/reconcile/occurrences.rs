//! When a series' occurrences take place, and what ending it early keeps.

use jiff::Timestamp;

use crate::interval::Interval;
use crate::model::SeriesRequest;

/// The date, on the series' wall clock, of its last occurrence.
pub fn last_date(series: &SeriesRequest) -> Option<jiff::civil::Date> {
    let weeks = i64::from(series.count.saturating_sub(1));
    series.start.date().checked_add(jiff::Span::new().weeks(weeks)).ok()
}

/// The start of each occurrence of `series` as its rule puts it.
pub fn occurrence_starts(series: &SeriesRequest) -> Vec<Timestamp> {
    let Ok(zone) = jiff::tz::TimeZone::get(&series.zone) else {
        return Vec::new();
    };
    (0..series.count)
        .map_while(|k| series.start.checked_add(jiff::Span::new().weeks(i64::from(k))).ok())
        .filter_map(|start| zone.to_timestamp(start).ok())
        .collect()
}

/// What ending a series at `cutoff` means: every occurrence that starts (or
/// was moved to) before `cutoff` is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every occurrence is kept: nothing left to remove.
    Nothing,
    /// Keep the first `keep` occurrences; the last kept starts at `until`.
    After { until: Timestamp, keep: u32 },
    /// No occurrence has started or is inside the notice: delete it whole.
    Delete,
}

/// How `series` ends at `cutoff`. `moved` are the occurrences that take place
/// at another time than the rule's, where they take place now: one moved to
/// before `cutoff` keeps every occurrence up to the rule's last one before it
/// (its original time is not known to every store), which errs on keeping.
pub fn ending(series: &SeriesRequest, moved: &[Interval], cutoff: Timestamp) -> Ending {
    let starts = occurrence_starts(series);
    if starts.is_empty() {
        return Ending::Nothing;
    }
    let mut keep = starts.iter().filter(|&&s| s < cutoff).count();
    if moved.iter().any(|m| m.start < cutoff) {
        // A moved occurrence inside the notice: its original may be any of
        // them, so nothing is removed this cycle.
        keep = starts.len();
    }
    match keep {
        0 => Ending::Delete,
        k if k >= starts.len() => Ending::Nothing,
        k => Ending::After {
            until: starts[k - 1],
            keep: u32::try_from(k).unwrap_or(u32::MAX),
        },
    }
}

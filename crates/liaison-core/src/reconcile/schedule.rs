//! Whether a configured schedule fits the series already booked.

use jiff::civil::Date;

use super::occurrences::last_date;
use crate::series::{SeriesRecord, SeriesState};

/// Whether the configured schedule (`first_term`, `term_weeks`) fits the
/// series already booked: every booked or pending series must either end
/// before `first_term` or lie inside one term of the schedule (start in a
/// term's first week, end before the term does). Otherwise planning under the
/// new terms could book its people a second series in the same weeks. The
/// error says the first safe `first_term`: the Monday after the last
/// occurrence of the series that do not fit.
pub fn check_schedule_change(first_term: Date, term_weeks: u32, records: &[SeriesRecord]) -> Result<(), String> {
    let days = i64::from(term_weeks) * 7;
    let fits = |r: &SeriesRecord, last: Date| {
        let Ok(offset) = first_term.until(r.request.term).map(|s| s.get_days()) else {
            return false;
        };
        let term_end = r.request.term.checked_add(jiff::Span::new().days(days)).ok();
        offset >= 0
            && i64::from(offset) % days == 0
            && r.request.start.date() >= r.request.term
            && term_end.is_some_and(|end| last < end)
    };
    let mut blocking: Option<Date> = None;
    for r in records
        .iter()
        .filter(|r| matches!(r.state, SeriesState::Booked | SeriesState::Pending))
    {
        let Some(last) = last_date(&r.request) else {
            continue;
        };
        if last < first_term || fits(r, last) {
            continue;
        }
        blocking = Some(blocking.map_or(last, |b: Date| b.max(last)));
    }
    let Some(last) = blocking else { return Ok(()) };
    let monday_after = last
        .checked_add(jiff::Span::new().days(7 - i64::from(last.weekday().to_monday_zero_offset())))
        .unwrap_or(last);
    Err(format!(
        "schedule.first_term = {first_term} with term_weeks = {term_weeks} does not fit the series already \
         booked, which run until {last}: planning under these terms would book people a second series in \
         the same weeks. To change terms from the next term on, set schedule.first_term to {monday_after} or a \
         later Monday (with the new term_weeks); or go back to the terms the booked series follow."
    ))
}

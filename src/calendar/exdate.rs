//! Skipped occurrences read back from EXDATE values: the one reading shared by
//! the providers that keep a series as iCalendar text (Google's `recurrence`
//! lines, CalDAV's VEVENT).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The date-times of `values` (EXDATE value lists: comma-separated, local
/// `YYYYMMDDTHHMMSS` or UTC with a trailing `Z`) as wall-clock times on
/// `tz`'s clock, those within `count` weeks from `start`, in order, each once.
/// Values of another form (a DATE) are not liaison's and are left out.
pub(crate) fn skipped_starts<'v>(
    values: impl IntoIterator<Item = &'v str>,
    tz: &TimeZone,
    start: DateTime,
    count: u32,
) -> Vec<DateTime> {
    let end = start
        .checked_add(jiff::Span::new().weeks(i64::from(count)))
        .unwrap_or(DateTime::MAX);
    let mut out: Vec<DateTime> = values
        .into_iter()
        .flat_map(|list| list.split(','))
        .filter_map(|value| {
            let value = value.trim();
            let (body, utc) = match value.strip_suffix('Z') {
                Some(body) => (body, true),
                None => (value, false),
            };
            let dt = jiff::fmt::strtime::parse("%Y%m%dT%H%M%S", body)
                .ok()?
                .to_datetime()
                .ok()?;
            if utc {
                TimeZone::UTC.to_timestamp(dt).ok().map(|t| tz.to_datetime(t))
            } else {
                Some(dt)
            }
        })
        .filter(|dt| start <= *dt && *dt < end)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use jiff::civil::datetime;

    use super::*;

    #[test]
    fn local_and_utc_values_in_the_series_weeks_are_read_in_order_once() {
        let tz = TimeZone::get("Europe/London").unwrap();
        let start = datetime(2027, 3, 8, 10, 0, 0, 0);
        let table: [(&[&str], Vec<DateTime>); 5] = [
            (&[], vec![]),
            (&["20270315T100000"], vec![datetime(2027, 3, 15, 10, 0, 0, 0)]),
            // UTC, read on London's clock (summer time from the 28th).
            (&["20270329T090000Z"], vec![datetime(2027, 3, 29, 10, 0, 0, 0)]),
            // Two lists, a repeat, out of order, one before the start, one
            // after the four weeks, a DATE: two remain.
            (
                &[
                    "20270322T100000,20270315T100000",
                    " 20270315T100000 ,20270301T100000",
                    "20270405T100000",
                    "20270322",
                ],
                vec![datetime(2027, 3, 15, 10, 0, 0, 0), datetime(2027, 3, 22, 10, 0, 0, 0)],
            ),
            (&["garbage,2027-03-15"], vec![]),
        ];
        for (values, expected) in table {
            assert_eq!(
                skipped_starts(values.iter().copied(), &tz, start, 4),
                expected,
                "{values:?}"
            );
        }
    }
}

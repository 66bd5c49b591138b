//! Wall clocks to instants for one VCALENDAR, remembering for each zone a
//! span of wall clocks that all have one offset. A calendar's events are read
//! by the thousand, nearly all of them far from a change of offset, and
//! finding each one's offset in the zone's rules again was the largest single
//! cost of reading their dates.

use std::cell::RefCell;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// How far a remembered span stays from the nearest change of offset: more
/// than the difference between any two offsets (jiff's offsets lie within
/// ±26 hours, so they differ by less than 52; the time zone database's
/// largest jump is about a day), so that no other offset of the zone can
/// reach a wall clock inside the span.
const MARGIN: SignedDuration = SignedDuration::from_hours(72);

/// Per zone (by IANA name), the span of wall clocks last found steady.
#[derive(Default)]
pub(super) struct SteadyOffsets {
    spans: RefCell<Vec<Steady>>,
}

/// Wall clocks `from..until` of `zone` that all have `offset`, and no other.
struct Steady {
    zone: String,
    from: DateTime,
    until: DateTime,
    offset: Offset,
}

impl SteadyOffsets {
    /// `tz.to_timestamp(dt)`: the instant of the wall clock `dt` in `tz`, a
    /// wall clock in a gap read with the offset before it (`compatible`).
    pub(super) fn to_timestamp(&self, tz: &TimeZone, dt: DateTime) -> Result<Timestamp, jiff::Error> {
        // A zone without a name (a file's own VTIMEZONE) is not told apart
        // from others by anything cheap: read each time.
        let Some(name) = tz.iana_name() else {
            return tz.to_timestamp(dt);
        };
        let known = self
            .spans
            .borrow()
            .iter()
            .find(|s| s.zone == name)
            .map(|s| (s.from, s.until, s.offset));
        if let Some((from, until, offset)) = known
            && from <= dt
            && dt < until
        {
            return offset.to_timestamp(dt);
        }
        let ambiguous = tz.to_ambiguous_timestamp(dt);
        let at = ambiguous.compatible()?;
        if let AmbiguousOffset::Unambiguous { offset } = ambiguous.offset()
            && let Some((from, until)) = steady_around(tz, at, offset)
        {
            let mut spans = self.spans.borrow_mut();
            let steady = Steady {
                zone: name.to_string(),
                from,
                until,
                offset,
            };
            match spans.iter_mut().find(|s| s.zone == name) {
                Some(old) => *old = steady,
                None => spans.push(steady),
            }
        }
        Ok(at)
    }
}

/// The wall clocks around instant `at` of `tz`, whose offset there is
/// `offset`, that have that offset and no other: from `MARGIN` after the last
/// change of offset at or before `at` to `MARGIN` before the next one.
/// Every instant between those changes has `offset`, and a wall clock read
/// with another offset `o` would be the instant read with `offset` moved by
/// `offset - o`, less than `MARGIN`, so still between them, where the offset
/// is not `o`: no wall clock of the span is in a gap or a fold.
fn steady_around(tz: &TimeZone, at: Timestamp, offset: Offset) -> Option<(DateTime, DateTime)> {
    // `preceding` gives the changes strictly before its argument: a change
    // exactly at `at` is one of them only when asked from just after it.
    let just_after = at.checked_add(SignedDuration::from_nanos(1)).ok()?;
    let from = match tz.preceding(just_after).next() {
        Some(change) => offset.to_datetime(change.timestamp().checked_add(MARGIN).ok()?),
        None => DateTime::MIN,
    };
    let until = match tz.following(at).next() {
        Some(change) => offset.to_datetime(change.timestamp().checked_sub(MARGIN).ok()?),
        None => DateTime::MAX,
    };
    (from < until).then_some((from, until))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    /// Zones with yearly changes both ways, half-hour changes, changes at
    /// midnight, a skipped day (Apia, 2011-12-30), none at all, and UTC.
    const ZONES: [&str; 9] = [
        "Europe/Berlin",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Pacific/Apia",
        "America/Havana",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "UTC",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 300, ..Default::default() })]

        /// Whatever the order of the wall clocks asked, each gets the instant
        /// (or the error) the zone's own rules give, gaps and folds included.
        #[test]
        fn remembered_offsets_give_what_the_zone_gives(
            asks in proptest::collection::vec(
                (0..ZONES.len(), 1850i16..2150, 1i8..=12, 1i8..=28, 0i32..24 * 60, 0i64..4),
                1..80,
            ),
        ) {
            let steady = SteadyOffsets::default();
            for (zone, year, month, day, minute, near) in asks {
                let tz = TimeZone::get(ZONES[zone]).unwrap();
                // Wall clocks near an earlier one as often as not: events
                // of one calendar are close together.
                let dt = date(year, month, day)
                    .at((minute / 60) as i8, (minute % 60) as i8, 0, 0)
                    .checked_add(SignedDuration::from_mins(near * 7))
                    .unwrap();
                let ours = steady.to_timestamp(&tz, dt).map_err(|e| e.to_string());
                let theirs = tz.to_timestamp(dt).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(ours, theirs, "{} {}", ZONES[zone], dt);
            }
        }
    }

    #[test]
    fn the_span_remembered_stops_three_days_from_each_change() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let steady = SteadyOffsets::default();
        let winter = date(2026, 3, 20).at(12, 0, 0, 0);
        assert_eq!(
            steady.to_timestamp(&tz, winter).unwrap(),
            tz.to_timestamp(winter).unwrap()
        );
        // Winter time (+01:00) ran from 2025-10-26 01:00 UTC to 2026-03-29
        // 01:00 UTC; three days within each end, in wall clocks of +01:00.
        let (from, until) = {
            let spans = steady.spans.borrow();
            (spans[0].from, spans[0].until)
        };
        assert_eq!(
            (from, until),
            (date(2025, 10, 29).at(2, 0, 0, 0), date(2026, 3, 26).at(2, 0, 0, 0))
        );
        // Next to the change (the gap, the wall clock just after it, the
        // days before it) and in the autumn fold, as the zone reads them.
        for dt in [
            date(2026, 3, 29).at(2, 30, 0, 0),
            date(2026, 3, 29).at(3, 0, 0, 0),
            date(2026, 3, 29).at(1, 59, 59, 0),
            date(2026, 3, 26).at(2, 0, 0, 0),
            date(2026, 3, 26).at(1, 59, 0, 0),
            date(2026, 10, 25).at(2, 30, 0, 0),
        ] {
            assert_eq!(
                steady.to_timestamp(&tz, dt).unwrap(),
                tz.to_timestamp(dt).unwrap(),
                "{dt}"
            );
        }
    }

    /// Around every change of offset from 1850 to 2150 of zones with the
    /// largest jumps (Alaska's day in 1867, Apia's skipped and repeated days,
    /// Kwajalein's, Troll's two hours) and of two usual ones: with the span
    /// of the period before the change remembered, or of the period after
    /// it, wall clocks every three hours from four days before the change
    /// to four days after it, read with the offset before and the offset
    /// after, are read as the zone reads them.
    #[test]
    fn wall_clocks_around_every_change_are_read_as_the_zone_reads_them() {
        let zones = [
            "America/Anchorage",
            "Pacific/Apia",
            "Pacific/Kwajalein",
            "Antarctica/Troll",
            "Europe/Berlin",
            "Australia/Lord_Howe",
        ];
        let (first, last) = (
            Offset::UTC.to_timestamp(date(1850, 1, 1).at(0, 0, 0, 0)).unwrap(),
            Offset::UTC.to_timestamp(date(2150, 1, 1).at(0, 0, 0, 0)).unwrap(),
        );
        let middle = |a: Timestamp, b: Timestamp| Timestamp::from_second((a.as_second() + b.as_second()) / 2).unwrap();
        let mut checked = 0;
        for name in zones {
            let tz = TimeZone::get(name).unwrap();
            let changes: Vec<Timestamp> = tz
                .following(first)
                .map(|c| c.timestamp())
                .take_while(|&t| t < last)
                .collect();
            for (i, &at) in changes.iter().enumerate() {
                let before = if i == 0 { first } else { changes[i - 1] };
                let after = changes.get(i + 1).copied().unwrap_or(last);
                let offsets = [tz.to_offset(middle(before, at)), tz.to_offset(at)];
                for remembered in [middle(before, at), middle(at, after)] {
                    for offset in offsets {
                        for hours in (-96..=96).step_by(3) {
                            let steady = SteadyOffsets::default();
                            steady
                                .to_timestamp(&tz, tz.to_offset(remembered).to_datetime(remembered))
                                .unwrap();
                            let dt = offset.to_datetime(at.checked_add(SignedDuration::from_hours(hours)).unwrap());
                            let ours = steady.to_timestamp(&tz, dt).map_err(|e| e.to_string());
                            assert_eq!(ours, tz.to_timestamp(dt).map_err(|e| e.to_string()), "{name} {dt}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }
}

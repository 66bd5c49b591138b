//! A person's free time: their working window on each working day, in their own
//! zone, minus their busy time widened by the meeting buffer.
//!
//! Days are stepped as civil dates and each converted in the person's zone, never
//! by adding 24 hours to an instant. Local times that do not exist or exist twice
//! follow jiff's "compatible" policy (RFC 5545 and Temporal do the same): a time
//! in a spring-forward gap is moved forward by the gap's length (02:30 becomes
//! 03:30), and a time in a fall-back fold means its first occurrence.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::interval::{Interval, IntervalSet};

/// A local time-of-day range `[start, end)` such as 09:00–17:00; `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayWindow {
    pub start: Time,
    pub end: Time,
}

impl DayWindow {
    /// True when `[start, end)` lies inside the window (local times of one day).
    pub fn contains(&self, start: Time, end: Time) -> bool {
        self.start <= start && end <= self.end && start <= end
    }

    /// The window's midpoint, as minutes after midnight.
    pub fn center_minutes(&self) -> i64 {
        (minutes(self.start) + minutes(self.end)) / 2
    }

    /// Half the window's length in minutes (at least 1, to divide by).
    pub fn half_width_minutes(&self) -> i64 {
        ((minutes(self.end) - minutes(self.start)) / 2).max(1)
    }
}

/// Minutes after midnight of a local time.
pub fn minutes(t: Time) -> i64 {
    i64::from(t.hour()) * 60 + i64::from(t.minute())
}

/// The instant a local date and time denote in `zone` (compatible policy, above).
pub fn instant(zone: &TimeZone, date: Date, time: Time) -> Option<Timestamp> {
    zone.to_timestamp(date.to_datetime(time)).ok()
}

/// The span of a whole local day in `zone` (23 or 25 hours on DST days).
pub fn local_day(zone: &TimeZone, date: Date) -> Option<Interval> {
    let start = instant(zone, date, Time::midnight())?;
    let end = instant(zone, date.tomorrow().ok()?, Time::midnight())?;
    Some(Interval::new(start, end))
}

/// What determines one person's working time.
#[derive(Clone, Copy, Debug)]
pub struct WorkingTime<'a> {
    pub zone: &'a TimeZone,
    pub hours: DayWindow,
    pub days: &'a [Weekday],
    /// Personal days off, as local dates.
    pub away: &'a [Date],
}

/// Organization-wide rules that shape free time.
#[derive(Clone, Copy, Debug)]
pub struct FreeTimeRules<'a> {
    /// Free time required before and after a meeting.
    pub buffer: SignedDuration,
    /// Days without connections for everyone (local dates in each person's zone).
    pub skip_dates: &'a [Date],
    /// A day on which the person is already busy this long is not offered.
    pub max_busy: Option<SignedDuration>,
}

/// The working window on `date`, or `None` if the person does not work that day.
pub fn working_interval(work: &WorkingTime, date: Date) -> Option<Interval> {
    if !work.days.contains(&date.weekday()) || work.away.contains(&date) {
        return None;
    }
    let start = instant(work.zone, date, work.hours.start)?;
    let end = instant(work.zone, date, work.hours.end)?;
    Some(Interval::new(start, end)).filter(|i| !i.is_empty())
}

/// Whether `date` is a day without connections for this person: an
/// organization holiday, one of their away days, or a day on which they are
/// already busy `max_busy` or more. A weekly slot skips its occurrence on such
/// a day (an EXDATE) instead of being given up for the whole term.
pub fn is_excused(work: &WorkingTime, busy: &IntervalSet, rules: &FreeTimeRules, date: Date) -> bool {
    rules.skip_dates.contains(&date)
        || work.away.contains(&date)
        || rules
            .max_busy
            .is_some_and(|limit| local_day(work.zone, date).is_some_and(|day| busy.covered_within(&day) >= limit))
}

/// The excused days (see [`is_excused`]) among the local dates `[from, until)`,
/// as the instants of those whole local days.
pub fn excused_days(
    work: &WorkingTime,
    busy: &IntervalSet,
    rules: &FreeTimeRules,
    from: Date,
    until: Date,
) -> IntervalSet {
    let mut days = Vec::new();
    let mut date = from;
    while date < until {
        if work.days.contains(&date.weekday()) && is_excused(work, busy, rules, date) {
            days.extend(local_day(work.zone, date));
        }
        match date.checked_add(1.day()) {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    IntervalSet::from_intervals(days)
}

/// Free time over the local dates `[from, until)`: working windows on working days
/// that are not skipped, minus busy time widened by the buffer.
pub fn free_time(
    work: &WorkingTime,
    busy: &IntervalSet,
    rules: &FreeTimeRules,
    from: Date,
    until: Date,
) -> IntervalSet {
    let mut windows = Vec::new();
    let mut date = from;
    while date < until {
        if !is_excused(work, busy, rules, date) {
            windows.extend(working_interval(work, date));
        }
        match date.checked_add(1.day()) {
            Ok(next) => date = next,
            Err(_) => break,
        }
    }
    IntervalSet::from_intervals(windows).difference(&busy.widened(rules.buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    const WEEKDAYS: [Weekday; 5] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn nine_to_five() -> DayWindow {
        DayWindow {
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        }
    }

    fn no_rules() -> FreeTimeRules<'static> {
        FreeTimeRules {
            buffer: SignedDuration::ZERO,
            skip_dates: &[],
            max_busy: None,
        }
    }

    /// Free time of a 9–17 weekday worker in `tz` over `[from, until)`.
    fn free(tz: &TimeZone, busy: &IntervalSet, rules: &FreeTimeRules, from: Date, until: Date) -> IntervalSet {
        let work = WorkingTime {
            zone: tz,
            hours: nine_to_five(),
            days: &WEEKDAYS,
            away: &[],
        };
        free_time(&work, busy, rules, from, until)
    }

    #[test]
    fn new_york_working_hours_keep_their_local_time_across_the_spring_change() {
        let ny = zone("America/New_York");
        // DST starts Sunday 2027-03-14 in the US.
        let set = free(
            &ny,
            &IntervalSet::new(),
            &no_rules(),
            date(2027, 3, 12),
            date(2027, 3, 16),
        );
        let spans = set.spans();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].start, ts("2027-03-12T14:00:00Z")); // 09:00 EST
        assert_eq!(spans[1].start, ts("2027-03-15T13:00:00Z")); // 09:00 EDT
        assert_eq!(spans[1].duration(), SignedDuration::from_hours(8));
    }

    #[test]
    fn london_working_hours_follow_the_autumn_change_on_a_different_date_than_new_york() {
        let london = zone("Europe/London");
        // BST ends Sunday 2027-10-31; US DST ends a week later.
        let set = free(
            &london,
            &IntervalSet::new(),
            &no_rules(),
            date(2027, 10, 29),
            date(2027, 11, 2),
        );
        assert_eq!(set.spans()[0].start, ts("2027-10-29T08:00:00Z"));
        assert_eq!(set.spans()[1].start, ts("2027-11-01T09:00:00Z"));
    }

    #[test]
    fn a_half_hour_zone_starts_work_on_the_half_hour_in_utc() {
        let kolkata = zone("Asia/Kolkata");
        let set = free(
            &kolkata,
            &IntervalSet::new(),
            &no_rules(),
            date(2027, 3, 15),
            date(2027, 3, 16),
        );
        assert_eq!(set.spans()[0].start, ts("2027-03-15T03:30:00Z"));
    }

    #[test]
    fn a_window_starting_in_the_spring_gap_moves_forward_by_the_gap() {
        let ny = zone("America/New_York");
        let work = WorkingTime {
            zone: &ny,
            hours: DayWindow {
                start: time(2, 30, 0, 0),
                end: time(4, 0, 0, 0),
            },
            days: &[Weekday::Sunday],
            away: &[],
        };
        let window = working_interval(&work, date(2027, 3, 14)).unwrap();
        // 02:30 does not exist that night; it is read as 03:30 EDT (07:30Z).
        assert_eq!(window.start, ts("2027-03-14T07:30:00Z"));
        assert_eq!(window.end, ts("2027-03-14T08:00:00Z"));
    }

    #[test]
    fn a_window_starting_in_the_autumn_fold_uses_the_first_occurrence() {
        let ny = zone("America/New_York");
        let work = WorkingTime {
            zone: &ny,
            hours: DayWindow {
                start: time(1, 30, 0, 0),
                end: time(3, 0, 0, 0),
            },
            days: &[Weekday::Sunday],
            away: &[],
        };
        let window = working_interval(&work, date(2027, 11, 7)).unwrap();
        assert_eq!(window.start, ts("2027-11-07T05:30:00Z")); // 01:30 EDT
        assert_eq!(window.duration(), SignedDuration::from_mins(150));
    }

    #[test]
    fn london_windows_in_the_spring_gap_and_autumn_fold_follow_the_same_policy() {
        let london = zone("Europe/London");
        let work = |start: (i8, i8), end: (i8, i8)| WorkingTime {
            zone: &london,
            hours: DayWindow {
                start: time(start.0, start.1, 0, 0),
                end: time(end.0, end.1, 0, 0),
            },
            days: &[Weekday::Sunday],
            away: &[],
        };
        // 2027-03-28: 01:00 GMT jumps to 02:00 BST, so 01:30 is read as 02:30 BST.
        let spring = working_interval(&work((1, 30), (3, 0)), date(2027, 3, 28)).unwrap();
        assert_eq!(spring.start, ts("2027-03-28T01:30:00Z"));
        assert_eq!(spring.duration(), SignedDuration::from_mins(30));
        // 2027-10-31: 01:00-02:00 happens twice; 01:30 is the first (BST) one.
        let autumn = working_interval(&work((1, 30), (3, 0)), date(2027, 10, 31)).unwrap();
        assert_eq!(autumn.start, ts("2027-10-31T00:30:00Z"));
        assert_eq!(autumn.duration(), SignedDuration::from_mins(150));
    }

    #[test]
    fn busy_time_is_widened_by_the_buffer() {
        let utc = zone("UTC");
        let busy = IntervalSet::from_intervals([Interval::new(ts("2027-03-15T12:00:00Z"), ts("2027-03-15T13:00:00Z"))]);
        let rules = FreeTimeRules {
            buffer: SignedDuration::from_mins(5),
            ..no_rules()
        };
        let set = free(&utc, &busy, &rules, date(2027, 3, 15), date(2027, 3, 16));
        assert_eq!(set.spans()[0].end, ts("2027-03-15T11:55:00Z"));
        assert_eq!(set.spans()[1].start, ts("2027-03-15T13:05:00Z"));
    }

    #[test]
    fn skipped_away_weekend_and_overloaded_days_offer_nothing() {
        let utc = zone("UTC");
        let busy = IntervalSet::from_intervals([Interval::new(ts("2027-03-17T09:00:00Z"), ts("2027-03-17T15:00:00Z"))]);
        let rules = FreeTimeRules {
            buffer: SignedDuration::ZERO,
            skip_dates: &[date(2027, 3, 15)],
            max_busy: Some(SignedDuration::from_hours(6)),
        };
        let work = WorkingTime {
            zone: &utc,
            hours: nine_to_five(),
            days: &WEEKDAYS,
            away: &[date(2027, 3, 16)],
        };
        // Mon skipped, Tue away, Wed 6 h busy, Thu free, then the weekend.
        let set = free_time(&work, &busy, &rules, date(2027, 3, 15), date(2027, 3, 22));
        assert_eq!(set.spans().len(), 2);
        assert_eq!(set.spans()[0].start, ts("2027-03-18T09:00:00Z"));
        assert_eq!(set.spans()[1].start, ts("2027-03-19T09:00:00Z"));
    }

    #[test]
    fn excused_days_are_those_from_the_first_date_to_before_the_last() {
        let utc = zone("UTC");
        let rules = FreeTimeRules {
            buffer: SignedDuration::ZERO,
            skip_dates: &[date(2027, 3, 15), date(2027, 3, 19)],
            max_busy: None,
        };
        let work = WorkingTime {
            zone: &utc,
            hours: nine_to_five(),
            days: &WEEKDAYS,
            away: &[],
        };
        let days = excused_days(&work, &IntervalSet::new(), &rules, date(2027, 3, 15), date(2027, 3, 19));
        let monday = local_day(&utc, date(2027, 3, 15)).unwrap();
        assert_eq!(days.spans(), &[monday], "the 19th is the end, not in the range");
    }

    #[test]
    fn a_local_day_lasts_25_hours_when_clocks_fall_back() {
        let london = zone("Europe/London");
        let day = local_day(&london, date(2027, 10, 31)).unwrap();
        assert_eq!(day.duration(), SignedDuration::from_hours(25));
    }
}

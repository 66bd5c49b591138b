//! Another time for one occurrence of a pair's series in the same week (a
//! declined occurrence moved), scored like a series' slot.

use std::cmp::Reverse;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::availability::{FreeTimeRules, WorkingTime, free_time};
use super::interval::{Interval, IntervalSet};
use super::plan_input::{Person, PlanRules};
use super::slot::{ZoneGrid, person_score};
use super::term::Term;

/// What finding another time for one occurrence of a pair's series needs.
#[derive(Clone, Copy, Debug)]
pub struct WeekSlotInput<'a> {
    pub a: &'a Person,
    pub b: &'a Person,
    pub busy_a: &'a IntervalSet,
    pub busy_b: &'a IntervalSet,
    pub rules: &'a PlanRules,
    /// The series' zone: the new time is a slot of this zone's grid.
    pub zone_name: &'a str,
    pub zone: &'a TimeZone,
    /// Monday of the week, in the series' zone.
    pub week: Date,
    /// Now plus the minimum notice.
    pub not_before: Timestamp,
    /// The occurrence being replaced: nothing overlapping it is offered.
    pub avoid: Interval,
}

/// The best time in one week free for both people (their windows in their own
/// zones, busy time with buffer, skip and away days, `not_before`) that does not
/// overlap the declined time: another day first, then the same scores as a
/// series' slot, ties to the earliest. `None` when there is none.
pub fn best_slot_in_week(input: &WeekSlotInput) -> Option<Interval> {
    let rules = input.rules;
    let term = Term {
        index: 0,
        start: input.week,
        weeks: 1,
    };
    let grid = ZoneGrid::new(
        input.zone_name,
        input.zone,
        term,
        rules.granularity,
        rules.duration,
        input.not_before,
    );
    let free_rules = FreeTimeRules {
        buffer: rules.buffer,
        skip_dates: &rules.skip_dates,
        max_busy: rules.max_busy,
    };
    let from = input.week.yesterday().unwrap_or(input.week);
    let until = term.end().tomorrow().unwrap_or(term.end());
    let mask = |p: &Person, busy: &IntervalSet| {
        let work = WorkingTime {
            zone: &p.timezone,
            hours: p.hours,
            days: &p.days,
            away: &p.away,
        };
        let free = free_time(&work, busy, &free_rules, from, until);
        grid.mask(&free, |occ| {
            person_score(&p.timezone, p.hours, p.preferred_hours, busy, occ)
        })
    };
    let (ma, mb) = (mask(input.a, input.busy_a), mask(input.b, input.busy_b));
    // Someone declined that time, so nothing overlapping it is offered, and
    // another day comes before a later hour of the same day.
    let declined_day = input.avoid.start.to_zoned_datetime(input.zone.clone()).date();
    type Rank = (bool, u32, Reverse<Timestamp>);
    let mut best: Option<(Interval, Rank)> = None;
    ma.for_each_common(&mb, |k, score| {
        let Some(&occ) = grid.occurrences(k).first() else {
            return;
        };
        let other_day = occ.start.to_zoned_datetime(input.zone.clone()).date() != declined_day;
        let rank = (other_day, score, Reverse(occ.start));
        if !occ.overlaps(&input.avoid) && best.as_ref().is_none_or(|(_, r)| rank > *r) {
            best = Some((occ, rank));
        }
    });
    best.map(|(occ, _)| occ)
}

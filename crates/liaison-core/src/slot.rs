//! Weekly slots: a weekday and a local start time in a series' zone.
//!
//! A [`ZoneGrid`] holds, for one zone and one term, every candidate slot (every
//! multiple of the granularity on every weekday) with the real instants of each of
//! its weekly occurrences, converted with that zone's rules. A person's
//! [`SlotMask`] says which slots of a grid are free for them in *every* occurrence
//! from the first bookable week on, so a pair's valid slots are the AND of two
//! masks: cheap enough to test every pair of a large organization.

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::availability::{DayWindow, minutes};
use super::interval::{Interval, IntervalSet};
use super::term::Term;

/// The candidate slots of one zone over one term.
#[derive(Clone, Debug)]
pub struct ZoneGrid {
    pub zone_name: String,
    pub zone: TimeZone,
    pub term: Term,
    granularity_minutes: i64,
    steps_per_day: usize,
    duration: SignedDuration,
    /// `occurrences[k * weeks + w]`: occurrence `w` of slot `k`.
    occurrences: Vec<Interval>,
    /// First week of slot `k` whose occurrence starts at least `not_before`;
    /// `term.weeks` when none does.
    first_week: Vec<u32>,
    /// Per week, the slots in the order of their occurrence's start that week
    /// (not the slot order: in a spring-forward gap a later wall time can be
    /// an earlier instant), so that a person's free time is swept once.
    by_start: Vec<Vec<u32>>,
    /// The starts of those occurrences, in the same order.
    starts: Vec<Vec<Timestamp>>,
    /// Per week, the slots whose occurrence that week is before their first
    /// bookable week (not required to be free), as bits.
    not_required: Vec<Vec<u64>>,
    /// The slots with at least one bookable occurrence, as bits.
    bookable: Vec<u64>,
    /// Per week, when slot `k`'s occurrence that week is exactly
    /// `[origin + k * step, origin + k * step + duration)` (nanoseconds, the
    /// step being the granularity; every week without a change of offset):
    /// `origin`. A free span then holds a range of slots found by division,
    /// not by search. `None` for a week with a change of offset, a granularity that does not
    /// divide the day, occurrences past the end of time, or a meeting
    /// without length.
    regular: Vec<Option<i128>>,
}

/// A slot chosen for a pair, with the occurrences it will have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenSlot {
    /// Index of the grid (zone) the slot is expressed in.
    pub grid: usize,
    pub slot: usize,
    pub weekday: Weekday,
    pub time: Time,
    pub first_week: u32,
    /// Occurrences from `first_week` to the end of the term.
    pub occurrences: Vec<Interval>,
    /// Quality 0..=126 (both people's [`SlotMask`] scores added).
    pub score: u32,
}

impl ZoneGrid {
    /// Builds the grid of `zone` for `term`. Occurrences starting before
    /// `not_before` (now + minimum notice) are not bookable.
    pub fn new(
        zone_name: &str,
        zone: &TimeZone,
        term: Term,
        granularity: SignedDuration,
        duration: SignedDuration,
        not_before: Timestamp,
    ) -> ZoneGrid {
        let granularity_minutes = granularity.as_mins().clamp(1, 24 * 60);
        let steps_per_day = ((24 * 60) / granularity_minutes) as usize;
        let weeks = term.weeks as usize;
        let slots = 7 * steps_per_day;
        let mut occurrences = Vec::with_capacity(slots * weeks);
        let mut first_week = Vec::with_capacity(slots);
        for k in 0..slots {
            let (day, time) = slot_local(k, steps_per_day, granularity_minutes);
            let mut first = term.weeks;
            for w in 0..term.weeks {
                let start = term
                    .week_start(w)
                    .and_then(|monday| monday.checked_add(jiff::Span::new().days(day)).ok())
                    .and_then(|d| zone.to_timestamp(d.to_datetime(time)).ok());
                // Dates outside jiff's range cannot occur for real terms; an empty
                // interval at the end of time is never inside anyone's free time.
                let occ = start.map_or(Interval::new(Timestamp::MAX, Timestamp::MAX), |s| {
                    Interval::new(s, s.saturating_add(duration).unwrap_or(Timestamp::MAX))
                });
                if first == term.weeks && occ.start >= not_before && occ.start != Timestamp::MAX {
                    first = w;
                }
                occurrences.push(occ);
            }
            first_week.push(first);
        }
        let words = slots.div_ceil(64);
        let mut bookable = vec![0u64; words];
        let mut not_required = vec![vec![0u64; words]; weeks];
        for (k, &first) in first_week.iter().enumerate() {
            if first < term.weeks {
                bookable[k / 64] |= 1 << (k % 64);
            }
            for week in not_required.iter_mut().take(first as usize) {
                week[k / 64] |= 1 << (k % 64);
            }
        }
        let by_start: Vec<Vec<u32>> = (0..weeks)
            .map(|w| {
                let mut order: Vec<u32> = (0..slots as u32).collect();
                order.sort_by_key(|&k| (occurrences[k as usize * weeks + w].start, k));
                order
            })
            .collect();
        let step = i128::from(granularity_minutes) * 60_000_000_000;
        let length = duration.as_nanos();
        // A meeting without length is swept: a slot starting at a span's end
        // is not inside it, which the division would not see.
        let regular = (0..weeks)
            .map(|w| {
                if length <= 0 {
                    return None;
                }
                let origin = occurrences.get(w)?.start.as_nanosecond();
                (0..slots)
                    .all(|k| {
                        let occ = occurrences[k * weeks + w];
                        let start = occ.start.as_nanosecond();
                        start == origin + k as i128 * step && occ.end.as_nanosecond() == start + length
                    })
                    .then_some(origin)
            })
            .collect();
        let starts = by_start
            .iter()
            .enumerate()
            .map(|(w, order)| {
                order
                    .iter()
                    .map(|&k| occurrences[k as usize * weeks + w].start)
                    .collect()
            })
            .collect();
        ZoneGrid {
            zone_name: zone_name.to_string(),
            zone: zone.clone(),
            term,
            granularity_minutes,
            steps_per_day,
            duration,
            occurrences,
            first_week,
            by_start,
            starts,
            not_required,
            bookable,
            regular,
        }
    }

    pub fn slot_count(&self) -> usize {
        self.first_week.len()
    }

    pub fn words(&self) -> usize {
        self.slot_count().div_ceil(64)
    }

    /// Weekday and local start time of slot `k`.
    pub fn local(&self, k: usize) -> (Weekday, Time) {
        let (day, time) = slot_local(k, self.steps_per_day, self.granularity_minutes);
        let weekday = Weekday::Monday.wrapping_add(day);
        (weekday, time)
    }

    /// The bookable occurrences of slot `k` (from its first bookable week on).
    pub fn occurrences(&self, k: usize) -> &[Interval] {
        let weeks = self.term.weeks as usize;
        let first = self.first_week[k] as usize;
        &self.occurrences[k * weeks + first..(k + 1) * weeks]
    }

    pub fn first_week(&self, k: usize) -> u32 {
        self.first_week[k]
    }

    /// Wall-clock start of the first bookable occurrence of slot `k`, in this zone.
    ///
    /// Built from the civil date and the slot's time, not read back from the
    /// instant: in a spring-forward gap the instant reads as a later wall time,
    /// and a weekly rule from that start would move every other occurrence.
    pub fn first_start(&self, k: usize) -> Option<DateTime> {
        let first = self.first_week[k];
        if first >= self.term.weeks {
            return None;
        }
        let (day, time) = slot_local(k, self.steps_per_day, self.granularity_minutes);
        let date = self
            .term
            .week_start(first)?
            .checked_add(jiff::Span::new().days(day))
            .ok()?;
        Some(date.to_datetime(time))
    }

    /// The mask of slots free for a person with free time `free`: every
    /// bookable occurrence inside one span of it. `score_of` rates a slot for
    /// this person from the instant of its first occurrence.
    pub fn mask(&self, free: &IntervalSet, score_of: impl FnMut(Interval) -> u8) -> SlotMask {
        self.mask_with_skips(free, &IntervalSet::new(), score_of)
    }

    /// [`ZoneGrid::mask`] for a person with excused days (holidays, away days,
    /// days over `max_busy_hours`, as instants): an occurrence that overlaps
    /// one is skipped rather than required free, as long as the slot loses at
    /// most half of its bookable occurrences. The mask records, for each slot
    /// that loses some, which weeks (the third part of [`SlotMask::into_parts`]).
    pub fn mask_with_skips(
        &self,
        free: &IntervalSet,
        excused: &IntervalSet,
        mut score_of: impl FnMut(Interval) -> u8,
    ) -> SlotMask {
        let spans = free.spans();
        let excused = excused.spans();
        let mut bits = vec![0u64; self.words()];
        let mut scores = Vec::new();
        let mut skips: Vec<(u32, u64)> = Vec::new();
        if spans.is_empty() {
            return SlotMask { bits, scores, skips };
        }
        bits.copy_from_slice(&self.bookable);
        let weeks = self.term.weeks as usize;
        let mut week_bits = vec![0u64; self.words()];
        for (w, (order, starts)) in self.by_start.iter().zip(&self.starts).enumerate() {
            week_bits.copy_from_slice(&self.not_required[w]);
            // Free time covers a small part of the week: only the slots
            // starting inside each span of this week are looked at.
            let (Some(&first), Some(&last)) = (starts.first(), starts.last()) else {
                continue;
            };
            let lo = spans.partition_point(|sp| sp.end <= first);
            let hi = spans.partition_point(|sp| sp.start <= last);
            let spans = spans.get(lo..hi).unwrap_or_default();
            match self.regular[w] {
                Some(origin) => {
                    // Slot k is inside a span when it starts at or after the
                    // span's start and ends at or before its end: a range of
                    // k, found by division.
                    let length = self.duration.as_nanos();
                    let count = self.slot_count() as i64;
                    // Offsets from the week's first slot, in 64 bits (division
                    // of 128 bits is a slow library call). A week's slots lie
                    // within 7 days of `origin`, so an offset past ±2^62 ns
                    // (146 years) puts a span before or after all of them
                    // either way.
                    let near = |ns: i128| ns.clamp(-(1 << 62), 1 << 62) as i64;
                    let step = self.granularity_minutes * 60_000_000_000;
                    for span in spans {
                        let first = -(near(origin - span.start.as_nanosecond()).div_euclid(step));
                        let last = near(span.end.as_nanosecond() - length - origin).div_euclid(step);
                        let (first, last) = (first.max(0), last.min(count - 1));
                        if first <= last {
                            set_bits(&mut week_bits, first as usize, last as usize);
                        }
                    }
                }
                None => self.sweep(&mut week_bits, spans, w),
            }
            // Occurrences overlapping an excused day: skipped, so they need
            // not be free (an occurrence starting up to a meeting's length
            // before the day overlaps it too).
            for day in excused {
                let from = day.start.saturating_sub(self.duration).unwrap_or(day.start);
                let lo = starts.partition_point(|&t| t <= from);
                for (&k, &start) in order[lo..].iter().zip(&starts[lo..]) {
                    if start >= day.end {
                        break;
                    }
                    let k = k as usize;
                    let (word, bit) = (k / 64, 1u64 << (k % 64));
                    if self.not_required[w][word] & bit != 0 || !self.occurrences[k * weeks + w].overlaps(day) {
                        continue;
                    }
                    week_bits[word] |= bit;
                    match skips.binary_search_by_key(&(k as u32), |&(s, _)| s) {
                        Ok(at) => skips[at].1 |= 1 << w,
                        Err(at) => skips.insert(at, (k as u32, 1 << w)),
                    }
                }
            }
            for (b, wb) in bits.iter_mut().zip(&week_bits) {
                *b &= wb;
            }
        }
        // A slot that loses more than half of its occurrences is not offered.
        skips.retain(|&(k, lost)| {
            let k = k as usize;
            let (word, bit) = (k / 64, 1u64 << (k % 64));
            if bits[word] & bit == 0 {
                return false;
            }
            if !loses_at_most_half(lost, self.occurrences(k).len()) {
                bits[word] &= !bit;
                return false;
            }
            true
        });
        let mut at = 0;
        for (i, &word) in bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let k = i * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let lost = match skips.get(at) {
                    Some(&(s, lost)) if s as usize == k => {
                        at += 1;
                        lost
                    }
                    _ => 0,
                };
                let first = self.first_week[k] as usize;
                let held = (first..weeks).find(|&w| lost & (1 << w) == 0).unwrap_or(first);
                scores.push(score_of(self.occurrences[k * weeks + held]));
            }
        }
        SlotMask { bits, scores, skips }
    }

    /// Sets in `week_bits` the slots whose occurrence in week `w` lies
    /// inside one of `spans` (sorted, disjoint), for a week with a change
    /// of offset (see `regular`).
    fn sweep(&self, week_bits: &mut [u64], spans: &[Interval], w: usize) {
        let (order, starts) = (&self.by_start[w], &self.starts[w]);
        let end_of = |k: u32| self.occurrences[k as usize * self.term.weeks as usize + w].end;
        let mut from = 0;
        for span in spans {
            // The slots starting inside the span; the next span starts
            // after these.
            let first = gallop(starts, from, |&t| t < span.start);
            from = gallop(starts, first, |&t| t < span.end);
            // Of those, the ones ending by the span's end are inside it: a
            // prefix, since an occurrence's end grows with its start (every
            // occurrence lasts the same). Only the last few fail.
            let mut fits = from;
            while fits > first && end_of(order[fits - 1]) > span.end {
                fits -= 1;
            }
            for &k in &order[first..fits] {
                week_bits[k as usize / 64] |= 1 << (k % 64);
            }
        }
    }
}

/// Sets bits `first..=last` of `bits`.
fn set_bits(bits: &mut [u64], first: usize, last: usize) {
    for (word, bits) in bits.iter_mut().enumerate().take(last / 64 + 1).skip(first / 64) {
        let from = first.saturating_sub(word * 64).min(64);
        let to = (last + 1 - word * 64).min(64);
        let ones = if to - from == 64 {
            u64::MAX
        } else {
            ((1u64 << (to - from)) - 1) << from
        };
        *bits |= ones;
    }
}

/// `from` plus the partition point of `v[from..]` under `pred` (true, then
/// false), found by galloping from `from`: the slots of a person's next free
/// span are usually a few steps ahead, and a binary search over the whole
/// rest, mispredicted at every step, was most of a mask's time.
fn gallop<T>(v: &[T], from: usize, pred: impl Fn(&T) -> bool) -> usize {
    let rest = v.get(from..).unwrap_or_default();
    // Every index below `lo` satisfies `pred`.
    let (mut lo, mut step) = (0, 1);
    while step <= rest.len() && pred(&rest[step - 1]) {
        lo = step;
        step *= 2;
    }
    let hi = step.min(rest.len());
    from + lo + rest[lo..hi].partition_point(pred)
}

fn slot_local(k: usize, steps_per_day: usize, granularity_minutes: i64) -> (i64, Time) {
    let day = (k / steps_per_day) as i64;
    let minute = (k % steps_per_day) as i64 * granularity_minutes;
    // minute < 24 * 60 by construction, so the time is always valid.
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).unwrap_or(Time::midnight());
    (day, time)
}

/// Which slots of one grid are free for one person, and how much they like each.
#[derive(Clone, Debug, Default)]
pub struct SlotMask {
    bits: Vec<u64>,
    /// The score of each set bit, in slot order (a person has scores for a
    /// few dozen of a grid's 672 slots: large plans keep eight masks a person).
    scores: Vec<u8>,
    /// The set slots that skip some occurrences, in slot order, with the
    /// weeks they skip as bits (`1 << week`; terms have at most 52 weeks).
    /// Empty for most people: only excused days put entries here.
    skips: Vec<(u32, u64)>,
}

/// True when a slot with `count` bookable occurrences that skips the weeks
/// `lost` still keeps at least half of them (and so at least one).
pub fn loses_at_most_half(lost: u64, count: usize) -> bool {
    lost.count_ones() as usize * 2 <= count && count > 0
}

impl SlotMask {
    pub fn is_set(&self, k: usize) -> bool {
        self.bits.get(k / 64).is_some_and(|w| w & (1 << (k % 64)) != 0)
    }

    pub fn any(&self) -> bool {
        self.bits.iter().any(|&w| w != 0)
    }

    /// Calls `f(slot, combined score)` for every slot free in both masks, in slot order.
    pub fn for_each_common(&self, other: &SlotMask, f: impl FnMut(usize, u32)) {
        for_each_common((&self.bits, &self.scores), (&other.bits, &other.scores), f);
    }

    /// The bits, the scores of the set bits (in slot order) and the skips.
    pub fn into_parts(self) -> (Vec<u64>, Vec<u8>, Vec<(u32, u64)>) {
        (self.bits, self.scores, self.skips)
    }
}

/// The weeks slot `k` skips in a list of skips kept in slot order.
pub fn skip_weeks(skips: &[(u32, u64)], k: usize) -> u64 {
    if skips.is_empty() {
        return 0;
    }
    skips
        .binary_search_by_key(&(k as u32), |&(s, _)| s)
        .map_or(0, |at| skips[at].1)
}

/// [`SlotMask::for_each_common`] on masks kept as their parts (bits, and the
/// scores of the set bits in slot order).
pub fn for_each_common(a: (&[u64], &[u8]), b: (&[u64], &[u8]), mut f: impl FnMut(usize, u32)) {
    // Set bits before the current word in each mask: the index of a slot's score.
    let (mut base_a, mut base_b) = (0usize, 0usize);
    for (i, (&wa, &wb)) in a.0.iter().zip(b.0).enumerate() {
        let mut word = wa & wb;
        while word != 0 {
            let bit = word.trailing_zeros();
            word &= word - 1;
            let below = (1u64 << bit) - 1;
            let score_a =
                a.1.get(base_a + (wa & below).count_ones() as usize)
                    .copied()
                    .unwrap_or(0);
            let score_b =
                b.1.get(base_b + (wb & below).count_ones() as usize)
                    .copied()
                    .unwrap_or(0);
            f(i * 64 + bit as usize, u32::from(score_a) + u32::from(score_b));
        }
        base_a += wa.count_ones() as usize;
        base_b += wb.count_ones() as usize;
    }
}

/// How one person rates a meeting time, 0..=63: inside their preferred hours
/// (up to 24), near the middle of their working window (up to 24), on a day on
/// which they are less busy (up to 15).
pub fn person_score(
    zone: &TimeZone,
    hours: DayWindow,
    preferred: Option<DayWindow>,
    busy: &IntervalSet,
    occurrence: Interval,
) -> u8 {
    PersonScorer::new(zone, hours, preferred, busy).score(occurrence)
}

/// [`person_score`] for many meeting times of one person: how busy each of
/// their days is, the costly part, is worked out once per date.
pub struct PersonScorer<'a> {
    zone: &'a TimeZone,
    hours: DayWindow,
    preferred: Option<DayWindow>,
    busy: &'a IntervalSet,
    /// The quiet-day part of the score of each date seen so far.
    days: Vec<(jiff::civil::Date, i64)>,
    /// The zone's offset over the periods between its transitions seen so far
    /// (a term has at most a few): reading a local time is then arithmetic.
    offsets: Vec<(Timestamp, Timestamp, jiff::tz::Offset)>,
}

impl<'a> PersonScorer<'a> {
    pub fn new(
        zone: &'a TimeZone,
        hours: DayWindow,
        preferred: Option<DayWindow>,
        busy: &'a IntervalSet,
    ) -> PersonScorer<'a> {
        PersonScorer {
            zone,
            hours,
            preferred,
            busy,
            days: Vec::new(),
            offsets: Vec::new(),
        }
    }

    pub fn score(&mut self, occurrence: Interval) -> u8 {
        let hours = self.hours;
        let start = self.local(occurrence.start);
        let end = self.local(occurrence.end);
        let mut score = 0i64;
        if self
            .preferred
            .is_some_and(|p| start.date() == end.date() && p.contains(start.time(), end.time()))
        {
            score += 24;
        }
        let mid = minutes(start.time()) + occurrence.duration().as_mins() / 2;
        let distance = (mid - hours.center_minutes()).abs().min(hours.half_width_minutes());
        score += 24 - 24 * distance / hours.half_width_minutes();
        score += self.quiet_day(start.date());
        score.clamp(0, 63) as u8
    }

    /// `t` on the wall clock of the person's zone.
    fn local(&mut self, t: Timestamp) -> DateTime {
        if let Some(&(_, _, offset)) = self.offsets.iter().find(|(from, until, _)| *from <= t && t < *until) {
            return offset.to_datetime(t);
        }
        let offset = self.zone.to_offset(t);
        let from = self
            .zone
            .preceding(t)
            .next()
            .map_or(Timestamp::MIN, |tr| tr.timestamp());
        let until = self
            .zone
            .following(t)
            .next()
            .map_or(Timestamp::MAX, |tr| tr.timestamp());
        // `preceding` is strictly before `t`: a transition at `t` itself
        // starts the period, and `t` is checked against it next time.
        let from = if self.zone.to_offset(from) == offset { from } else { t };
        self.offsets.push((from, until, offset));
        offset.to_datetime(t)
    }

    fn quiet_day(&mut self, date: jiff::civil::Date) -> i64 {
        if let Some(&(_, q)) = self.days.iter().find(|(d, _)| *d == date) {
            return q;
        }
        let day = [self.hours.start, self.hours.end].map(|t| self.zone.to_timestamp(date.to_datetime(t)).ok());
        let quiet = match day {
            [Some(s), Some(e)] => {
                let window = Interval::new(s, e);
                let length = window.duration().as_secs().max(1);
                let busy_secs = self.busy.covered_within(&window).as_secs();
                15 - 15 * busy_secs.min(length) / length
            }
            _ => 0,
        };
        self.days.push((date, quiet));
        quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;
    use jiff::civil::{date, time};

    fn grid(zone: &str, start: jiff::civil::Date, weeks: u32, not_before: &str) -> ZoneGrid {
        let tz = TimeZone::get(zone).unwrap();
        let term = Term { index: 0, start, weeks };
        ZoneGrid::new(
            zone,
            &tz,
            term,
            SignedDuration::from_mins(15),
            SignedDuration::from_mins(30),
            not_before.parse().unwrap(),
        )
    }

    #[test]
    fn a_weekly_slot_keeps_its_local_time_when_the_zone_changes_offset() {
        // US DST starts 2027-03-14, inside this term.
        let g = grid("America/New_York", date(2027, 3, 1), 4, "2027-01-01T00:00:00Z");
        let k = 2 * g.steps_per_day + 40; // Wednesday 10:00
        assert_eq!(g.local(k), (Weekday::Wednesday, time(10, 0, 0, 0)));
        let starts: Vec<String> = g.occurrences(k).iter().map(|o| o.start.to_string()).collect();
        assert_eq!(
            starts,
            [
                "2027-03-03T15:00:00Z",
                "2027-03-10T15:00:00Z",
                "2027-03-17T14:00:00Z",
                "2027-03-24T14:00:00Z"
            ]
        );
    }

    #[test]
    fn the_first_start_of_a_slot_in_a_spring_gap_keeps_the_slot_time() {
        // Sunday 2027-03-14 02:30 does not exist in New York; the series must still
        // be written as 02:30 so that the other weeks happen at 02:30.
        let g = grid("America/New_York", date(2027, 3, 8), 2, "2027-01-01T00:00:00Z");
        let k = 6 * g.steps_per_day + 10; // Sunday 02:30
        assert_eq!(g.local(k), (Weekday::Sunday, time(2, 30, 0, 0)));
        assert_eq!(g.first_start(k), Some(date(2027, 3, 14).at(2, 30, 0, 0)));
        assert_eq!(g.occurrences(k)[0].start.to_string(), "2027-03-14T07:30:00Z");
    }

    #[test]
    fn occurrences_inside_the_minimum_notice_are_not_bookable() {
        let g = grid("UTC", date(2027, 3, 1), 4, "2027-03-10T00:00:00Z");
        let monday_nine = 36;
        let friday_nine = 4 * 96 + 36;
        assert_eq!(g.first_week(monday_nine), 2);
        assert_eq!(g.first_week(friday_nine), 1);
        assert_eq!(g.occurrences(monday_nine).len(), 2);
    }

    /// Free 09:00-17:00 every weekday of the four weeks from Monday 1 March
    /// (UTC), except Monday 15 March 09:00-10:00.
    fn weekdays_but_one_morning() -> IntervalSet {
        let free = IntervalSet::from_intervals((0..4).flat_map(|w: i64| {
            (0..5).map(move |d: i64| {
                let day = date(2027, 3, 1).checked_add((7 * w + d).days()).unwrap();
                let at = |h: i8| TimeZone::UTC.to_timestamp(day.at(h, 0, 0, 0)).unwrap();
                Interval::new(at(9), at(17))
            })
        }));
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        free.difference(&IntervalSet::from_intervals([Interval::new(
            t("2027-03-15T09:00:00Z"),
            t("2027-03-15T10:00:00Z"),
        )]))
    }

    /// The slots offered, their skipped weeks, and the occurrence each score
    /// was asked of (scores are checked to come back in the same order).
    fn offered(g: &ZoneGrid, free: &IntervalSet, excused_day: &str) -> (Vec<usize>, Vec<(u32, u64)>, Vec<Interval>) {
        let start: Timestamp = format!("{excused_day}T00:00:00Z").parse().unwrap();
        let day = Interval::new(start, start.checked_add(SignedDuration::from_hours(24)).unwrap());
        let excused = IntervalSet::from_intervals([day]);
        let mut asked = Vec::new();
        let mask = g.mask_with_skips(free, &excused, |occ| {
            asked.push(occ);
            (asked.len() % 50) as u8
        });
        let set: Vec<usize> = (0..g.slot_count()).filter(|&k| mask.is_set(k)).collect();
        let (_, scores, skips) = mask.into_parts();
        let expected: Vec<u8> = (1..=set.len()).map(|i| (i % 50) as u8).collect();
        assert_eq!(scores, expected, "one score per offered slot, in slot order");
        for occ in &asked {
            assert!(!occ.overlaps(&day), "scored on the excused day: {occ:?}");
        }
        (set, skips, asked)
    }

    #[test]
    fn skipped_weeks_are_kept_only_for_offered_slots_and_scores_come_from_held_weeks() {
        let g = grid("UTC", date(2027, 3, 1), 4, "2027-01-01T00:00:00Z");
        let free = weekdays_but_one_morning();
        let slot = |day: usize, h: usize, m: usize| day * 96 + (h * 60 + m) / 15;
        // Tuesday 2 March excused: Tuesday slots skip week 0. Those of the
        // night are not free in other weeks: not offered, no skipped weeks
        // kept. Monday slots come first and skip nothing.
        let (set, skips, asked) = offered(&g, &free, "2027-03-02");
        let tuesday: Vec<(u32, u64)> = (slot(1, 9, 0)..=slot(1, 16, 30)).map(|k| (k as u32, 1)).collect();
        assert_eq!(skips, tuesday);
        assert!(!set.contains(&slot(0, 9, 45)) && set.contains(&slot(0, 10, 0)));
        for (i, &k) in set.iter().enumerate() {
            let held = usize::from(skips.iter().any(|&(s, _)| s as usize == k));
            assert_eq!(asked[i], g.occurrences(k)[held], "slot {k}");
        }
        // Booking from Wednesday 3 March on: Monday and Tuesday slots start
        // in week 1. Monday 8 March excused: their score comes from week 2.
        let g = grid("UTC", date(2027, 3, 1), 4, "2027-03-03T00:00:00Z");
        let (set, skips, asked) = offered(&g, &free, "2027-03-08");
        let monday: Vec<(u32, u64)> = (slot(0, 10, 0)..=slot(0, 16, 30)).map(|k| (k as u32, 0b10)).collect();
        assert_eq!(skips, monday);
        for (i, &k) in set.iter().enumerate() {
            let first = g.first_week(k) as usize;
            let held = if k < 96 { 2 } else { first };
            assert_eq!(asked[i], g.occurrences(k)[held - first], "slot {k}");
        }
    }

    #[test]
    fn a_slot_is_free_only_if_every_occurrence_is_free() {
        let g = grid("UTC", date(2027, 3, 1), 2, "2027-01-01T00:00:00Z");
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        // Free on Monday 1 March 09:00-12:00 but not the following Monday.
        let free = IntervalSet::from_intervals([Interval::new(t("2027-03-01T09:00:00Z"), t("2027-03-01T12:00:00Z"))]);
        let mask = g.mask(&free, |_| 0);
        assert!(!mask.any());
        let free = free.union(&IntervalSet::from_intervals([Interval::new(
            t("2027-03-08T10:00:00Z"),
            t("2027-03-08T12:00:00Z"),
        )]));
        let mask = g.mask(&free, |_| 0);
        let set: Vec<usize> = (0..g.slot_count()).filter(|&k| mask.is_set(k)).collect();
        // Slots 10:00, 10:15, ..., 11:30 on Monday: 30-minute meetings ending by 12:00.
        assert_eq!(set, (40..=46).collect::<Vec<_>>());
    }

    #[test]
    fn the_scorer_reads_wall_clocks_as_the_zone_does_across_transitions() {
        let none = IntervalSet::new();
        let hours = DayWindow {
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        };
        for (zone, around) in [
            ("America/New_York", "2027-03-14T07:00:00Z"),
            ("Europe/London", "2027-10-31T01:00:00Z"),
            ("Australia/Sydney", "2027-04-03T16:00:00Z"),
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let mut scorer = PersonScorer::new(&tz, hours, None, &none);
            let at: Timestamp = around.parse().unwrap();
            // Out of order, on both sides of the transition and on it.
            for step in [0i64, 5, -5, 1, -1, 4 * 24, -4 * 24, 3, -3, 0] {
                for quarter in 0..4 {
                    let t = at
                        .checked_add(SignedDuration::from_mins(step * 60 + quarter * 15))
                        .unwrap();
                    assert_eq!(scorer.local(t), tz.to_datetime(t), "{zone} {t}");
                }
            }
            // A period learned before the transition ends at it: the
            // transition's own instant has the new offset.
            let mut scorer = PersonScorer::new(&tz, hours, None, &none);
            let before = at.checked_sub(SignedDuration::from_hours(1)).unwrap();
            assert_eq!(scorer.local(before), tz.to_datetime(before), "{zone}");
            assert_eq!(scorer.local(at), tz.to_datetime(at), "{zone} at the transition");
        }
    }

    #[test]
    fn a_slot_without_a_bookable_occurrence_is_never_free() {
        let g = grid("UTC", date(2027, 3, 1), 4, "2027-03-26T00:00:00Z");
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let all = IntervalSet::from_intervals([Interval::new(t("2027-02-01T00:00:00Z"), t("2027-05-01T00:00:00Z"))]);
        let mask = g.mask(&all, |_| 1);
        let (monday_nine, friday_nine) = (36, 4 * 96 + 36);
        assert!(!mask.is_set(monday_nine));
        assert!(mask.is_set(friday_nine));
    }

    /// The sweep gives the mask of its definition: a slot is set when it has a
    /// bookable occurrence and every bookable occurrence is inside free time.
    #[test]
    fn the_swept_mask_is_the_mask_of_its_definition_across_dst_and_notice() {
        use proptest::prelude::*;
        let cases = [
            ("America/New_York", date(2027, 3, 8), "2027-03-10T13:00:00Z"),
            ("Europe/London", date(2027, 10, 25), "2027-01-01T00:00:00Z"),
            ("Asia/Kolkata", date(2027, 3, 29), "2027-03-30T07:30:00Z"),
            ("Australia/Sydney", date(2027, 3, 29), "2027-01-01T00:00:00Z"),
            // Inside the last week: most slots have no bookable occurrence.
            ("UTC", date(2027, 3, 1), "2027-03-26T00:00:00Z"),
        ];
        let mut runner = proptest::test_runner::TestRunner::default();
        for (zone, start, not_before) in cases {
            let g = grid(zone, start, 4, not_before);
            let base = TimeZone::UTC.to_timestamp(start.to_datetime(time(0, 0, 0, 0))).unwrap();
            // Spans on the quarter hours, and off them by up to 15 minutes
            // (to the nanosecond) at either end.
            let off = prop_oneof![Just(0i64), 0i64..900_000_000_000];
            let spans = prop::collection::vec((0i64..28 * 96, 1i64..40, off.clone(), off), 0..40);
            runner
                .run(&spans, |spans| {
                    let free = IntervalSet::from_intervals(spans.iter().map(|&(at, len, early, late)| {
                        let s = base.checked_add(SignedDuration::from_mins(at * 15 - 24 * 60)).unwrap();
                        let e = s.checked_add(SignedDuration::from_mins(len * 15)).unwrap();
                        Interval::new(
                            s.checked_sub(SignedDuration::from_nanos(early)).unwrap(),
                            e.checked_sub(SignedDuration::from_nanos(late)).unwrap(),
                        )
                    }));
                    let minute = |o: Interval| (o.start.as_second() / 60 % 60) as u8;
                    let mask = g.mask(&free, minute);
                    for k in 0..g.slot_count() {
                        let occ = g.occurrences(k);
                        let expected = !occ.is_empty() && occ.iter().all(|o| free.contains(o));
                        prop_assert_eq!(mask.is_set(k), expected, "slot {}", k);
                    }
                    let mut scores = Vec::new();
                    mask.for_each_common(&mask, |k, score| scores.push((k, score)));
                    for (k, score) in scores {
                        prop_assert_eq!(score, 2 * u32::from(minute(g.occurrences(k)[0])));
                    }
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("{zone}: {e}"));
        }
    }

    #[test]
    fn a_slot_may_lose_at_most_half_of_its_occurrences_and_must_keep_one() {
        let cases = [
            (0b0, 0, false),
            (0b0, 1, true),
            (0b1, 1, false),
            (0b1, 2, true),
            (0b10, 3, true),
            (0b101, 3, false),
            (0b1010, 4, true),
            (0b1011, 4, false),
        ];
        for (lost, count, keeps) in cases {
            assert_eq!(loses_at_most_half(lost, count), keeps, "{lost:b} of {count}");
        }
    }

    #[test]
    fn weeks_without_a_change_of_offset_are_regular() {
        // The US changes on Sunday 14 March 2027: the first week of this
        // term is swept, the others divided; UTC never changes.
        let g = grid("America/New_York", date(2027, 3, 8), 4, "2027-01-01T00:00:00Z");
        let regular: Vec<bool> = g.regular.iter().map(Option::is_some).collect();
        assert_eq!(regular, [false, true, true, true]);
        let g = grid("UTC", date(2027, 3, 8), 2, "2027-01-01T00:00:00Z");
        let monday = TimeZone::UTC
            .to_timestamp(date(2027, 3, 15).to_datetime(time(0, 0, 0, 0)))
            .unwrap();
        assert_eq!(g.regular[1], Some(monday.as_nanosecond()));
    }

    #[test]
    fn a_meeting_without_length_does_not_start_at_the_end_of_free_time() {
        let term = Term {
            index: 0,
            start: date(2027, 3, 8),
            weeks: 2,
        };
        let g = ZoneGrid::new(
            "UTC",
            &TimeZone::UTC,
            term,
            SignedDuration::from_mins(15),
            SignedDuration::ZERO,
            "2027-01-01T00:00:00Z".parse().unwrap(),
        );
        assert!(g.regular.iter().all(Option::is_none));
        let at = |d: i8, h: i8| {
            TimeZone::UTC
                .to_timestamp(date(2027, 3, d).to_datetime(time(h, 0, 0, 0)))
                .unwrap()
        };
        let free =
            IntervalSet::from_intervals([Interval::new(at(8, 9), at(8, 10)), Interval::new(at(15, 9), at(15, 10))]);
        let mask = g.mask(&free, |_| 0);
        let set: Vec<usize> = (0..g.slot_count()).filter(|&k| mask.is_set(k)).collect();
        assert_eq!(set, [36, 37, 38, 39]);
    }

    #[test]
    fn set_bits_sets_exactly_the_range() {
        for (first, last) in [(0, 0), (0, 63), (3, 64), (63, 64), (64, 127), (5, 191), (130, 130)] {
            let mut bits = vec![0u64; 3];
            set_bits(&mut bits, first, last);
            for k in 0..192 {
                assert_eq!(
                    bits[k / 64] >> (k % 64) & 1 == 1,
                    (first..=last).contains(&k),
                    "{first}..={last}: bit {k}"
                );
            }
        }
    }

    #[test]
    fn gallop_finds_the_partition_point_of_the_rest() {
        let v: Vec<i32> = (0..40).map(|x| x / 3).collect();
        for from in 0..=v.len() {
            for threshold in -1..15 {
                let expected = from + v[from..].partition_point(|&x| x < threshold);
                assert_eq!(
                    gallop(&v, from, |&x| x < threshold),
                    expected,
                    "from {from}, below {threshold}"
                );
            }
        }
        assert_eq!(gallop::<i32>(&[], 0, |_| true), 0);
    }

    #[test]
    fn common_slots_add_both_scores() {
        let g = grid("UTC", date(2027, 3, 1), 1, "2027-01-01T00:00:00Z");
        let t = |s: &str| -> Timestamp { s.parse().unwrap() };
        let a = g.mask(
            &IntervalSet::from_intervals([Interval::new(t("2027-03-01T09:00:00Z"), t("2027-03-01T10:00:00Z"))]),
            |_| 3,
        );
        let b = g.mask(
            &IntervalSet::from_intervals([Interval::new(t("2027-03-01T09:30:00Z"), t("2027-03-01T11:00:00Z"))]),
            |_| 4,
        );
        let mut common = Vec::new();
        a.for_each_common(&b, |k, score| common.push((k, score)));
        assert_eq!(common, vec![(38, 7)]);
    }

    #[test]
    fn mid_day_preferred_and_quiet_days_score_higher() {
        let utc = TimeZone::UTC;
        let hours = DayWindow {
            start: time(9, 0, 0, 0),
            end: time(17, 0, 0, 0),
        };
        let at = |s: &str| {
            let start: Timestamp = s.parse().unwrap();
            Interval::new(start, start.saturating_add(SignedDuration::from_mins(30)).unwrap())
        };
        let none = IntervalSet::new();
        let noon = person_score(&utc, hours, None, &none, at("2027-03-01T12:45:00Z"));
        let morning = person_score(&utc, hours, None, &none, at("2027-03-01T09:00:00Z"));
        assert!(noon > morning, "{noon} > {morning}");
        let preferred = Some(DayWindow {
            start: time(9, 0, 0, 0),
            end: time(10, 0, 0, 0),
        });
        assert!(person_score(&utc, hours, preferred, &none, at("2027-03-01T09:00:00Z")) > morning);
        let busy = IntervalSet::from_intervals([at("2027-03-01T14:00:00Z").widened(SignedDuration::from_hours(2))]);
        assert!(person_score(&utc, hours, None, &busy, at("2027-03-01T12:45:00Z")) < noon);
        // Exactly: 24 for the middle of the window, and up to 15 for the share
        // of the day that is free (12:00-16:30 busy is 4.5 of 8 hours:
        // 15 - 15 × 4.5 / 8 = 15 - 8.4, the 8.4 truncated to 8). Twice, so that
        // the second round reads each day's part from the scorer's cache.
        assert_eq!(noon, 24 + 15);
        let mut scorer = PersonScorer::new(&utc, hours, None, &busy);
        for _ in 0..2 {
            assert_eq!(scorer.score(at("2027-03-01T12:45:00Z")), 24 + 7, "the busy day");
            assert_eq!(
                scorer.score(at("2027-03-02T12:45:00Z")),
                24 + 15,
                "the next day is free"
            );
        }
    }
}

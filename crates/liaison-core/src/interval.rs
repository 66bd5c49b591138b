//! Half-open instant intervals `[start, end)` and normalized sets of them.
//!
//! Everything about time in the core reduces to these: a person's free time is
//! their working windows minus their widened busy time, and a slot is valid when
//! every occurrence lies inside both people's free sets.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A half-open interval of instants, `start <= end`. Empty when `start == end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Interval {
    /// Builds `[start, end)`; a reversed pair is clamped to the empty interval at `start`
    /// so that the core never has to fail on it.
    pub fn new(start: Timestamp, end: Timestamp) -> Interval {
        Interval {
            start,
            end: end.max(start),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    /// True when the two intervals share at least one instant (an empty
    /// interval shares none, even inside another).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start.max(other.start) < self.end.min(other.end)
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The interval widened by `by` on both sides (saturating at the ends of time).
    pub fn widened(&self, by: SignedDuration) -> Interval {
        let start = self.start.checked_sub(by).unwrap_or(Timestamp::MIN);
        let end = self.end.checked_add(by).unwrap_or(Timestamp::MAX);
        Interval::new(start, end)
    }

    pub fn intersection(&self, other: &Interval) -> Option<Interval> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(Interval { start, end })
    }
}

/// A set of instants stored as sorted, disjoint, non-adjacent, non-empty intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalSet {
    spans: Vec<Interval>,
}

impl IntervalSet {
    pub fn new() -> IntervalSet {
        IntervalSet::default()
    }

    /// Normalizes any collection of intervals: sorts, drops empties, merges overlaps
    /// and touching neighbours.
    pub fn from_intervals(intervals: impl IntoIterator<Item = Interval>) -> IntervalSet {
        let mut all: Vec<Interval> = intervals.into_iter().filter(|i| !i.is_empty()).collect();
        all.sort_unstable();
        let mut spans: Vec<Interval> = Vec::with_capacity(all.len());
        for i in all {
            match spans.last_mut() {
                Some(last) if i.start <= last.end => last.end = last.end.max(i.end),
                _ => spans.push(i),
            }
        }
        IntervalSet { spans }
    }

    pub fn spans(&self) -> &[Interval] {
        &self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn union(&self, other: &IntervalSet) -> IntervalSet {
        IntervalSet::from_intervals(self.spans.iter().chain(other.spans.iter()).copied())
    }

    /// Every span widened by `by` on both sides (the meeting buffer).
    pub fn widened(&self, by: SignedDuration) -> IntervalSet {
        IntervalSet::from_intervals(self.spans.iter().map(|s| s.widened(by)))
    }

    /// The instants of `self` that are not in `other`.
    pub fn difference(&self, other: &IntervalSet) -> IntervalSet {
        let mut out = Vec::with_capacity(self.spans.len());
        let mut j = 0;
        for span in &self.spans {
            let mut start = span.start;
            // Skip the spans of `other` that end before this span begins.
            while j < other.spans.len() && other.spans[j].end <= start {
                j += 1;
            }
            let mut k = j;
            while k < other.spans.len() && other.spans[k].start < span.end {
                let cut = other.spans[k];
                if cut.start > start {
                    out.push(Interval { start, end: cut.start });
                }
                start = start.max(cut.end);
                k += 1;
            }
            if start < span.end {
                out.push(Interval { start, end: span.end });
            }
        }
        IntervalSet { spans: out }
    }

    /// True when `interval` lies entirely inside one span of the set.
    pub fn contains(&self, interval: &Interval) -> bool {
        // The only candidate is the last span starting at or before `interval.start`.
        let idx = self.spans.partition_point(|s| s.start <= interval.start);
        idx > 0 && self.spans[idx - 1].contains(interval)
    }

    /// True when some span shares an instant with `interval`.
    pub fn overlaps(&self, interval: &Interval) -> bool {
        let idx = self.spans.partition_point(|s| s.end <= interval.start);
        self.spans
            .get(idx)
            .is_some_and(|s| s.start < interval.end && !interval.is_empty())
    }

    /// Total time of the set inside `window`.
    pub fn covered_within(&self, window: &Interval) -> SignedDuration {
        let idx = self.spans.partition_point(|s| s.end <= window.start);
        self.spans[idx..]
            .iter()
            .take_while(|s| s.start < window.end)
            .filter_map(|s| s.intersection(window))
            .fold(SignedDuration::ZERO, |acc, i| acc + i.duration())
    }
}

impl FromIterator<Interval> for IntervalSet {
    fn from_iter<T: IntoIterator<Item = Interval>>(iter: T) -> Self {
        IntervalSet::from_intervals(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).unwrap()
    }

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(t(a), t(b))
    }

    fn set(pairs: &[(i64, i64)]) -> IntervalSet {
        pairs.iter().map(|&(a, b)| iv(a, b)).collect()
    }

    #[test]
    fn overlapping_and_touching_spans_merge() {
        assert_eq!(set(&[(5, 10), (0, 3), (3, 4), (8, 12)]), set(&[(0, 4), (5, 12)]));
    }

    #[test]
    fn difference_cuts_holes_and_edges() {
        let free = set(&[(0, 100)]);
        let busy = set(&[(-5, 10), (20, 30), (90, 200)]);
        assert_eq!(free.difference(&busy), set(&[(10, 20), (30, 90)]));
    }

    #[test]
    fn a_cut_at_either_end_of_a_span_leaves_no_empty_piece() {
        let free = set(&[(0, 10), (20, 30)]);
        let diff = free.difference(&set(&[(0, 5), (25, 30)]));
        assert_eq!(diff.spans(), &[iv(5, 10), iv(20, 25)]);
    }

    #[test]
    fn contains_needs_one_span_not_two_adjacent_pieces() {
        let s = set(&[(0, 10), (11, 20)]);
        assert!(s.contains(&iv(2, 10)));
        assert!(!s.contains(&iv(5, 15)));
        assert!(!s.contains(&iv(-1, 3)));
    }

    #[test]
    fn half_open_intervals_that_touch_do_not_overlap() {
        let s = set(&[(0, 10)]);
        assert!(!s.overlaps(&iv(10, 20)));
        assert!(s.overlaps(&iv(9, 20)));
    }

    #[test]
    fn covered_within_counts_only_the_window() {
        let s = set(&[(0, 10), (20, 30)]);
        assert_eq!(s.covered_within(&iv(5, 25)), SignedDuration::from_mins(10));
    }

    #[test]
    fn emptiness_of_intervals_and_sets() {
        assert!(iv(5, 5).is_empty() && iv(6, 5).is_empty() && !iv(5, 6).is_empty());
        assert!(IntervalSet::new().is_empty());
        assert!(set(&[(3, 3)]).is_empty(), "an empty interval adds nothing");
        assert!(!set(&[(3, 4)]).is_empty());
    }

    fn arb_set() -> impl Strategy<Value = Vec<(i64, i64)>> {
        prop::collection::vec((0i64..200, 0i64..30), 0..12)
            .prop_map(|v| v.into_iter().map(|(a, len)| (a, a + len)).collect())
    }

    proptest! {
        #[test]
        fn set_operations_agree_with_minute_by_minute_membership(a in arb_set(), b in arb_set(), q in (0i64..230, 1i64..40)) {
            let (sa, sb) = (set(&a), set(&b));
            let member = |p: &[(i64, i64)], m: i64| p.iter().any(|&(x, y)| x <= m && m < y);
            let diff = sa.difference(&sb);
            let uni = sa.union(&sb);
            for m in -5..240 {
                let inst = iv(m, m + 1);
                prop_assert_eq!(diff.overlaps(&inst), member(&a, m) && !member(&b, m));
                prop_assert_eq!(uni.overlaps(&inst), member(&a, m) || member(&b, m));
            }
            let query = iv(q.0, q.0 + q.1);
            let all_in = (q.0..q.0 + q.1).all(|m| member(&a, m));
            let any_in = (q.0..q.0 + q.1).any(|m| member(&a, m));
            prop_assert_eq!(sa.contains(&query), all_in);
            prop_assert_eq!(sa.overlaps(&query), any_in);
            for w in sa.spans().windows(2) {
                prop_assert!(w[0].end < w[1].start);
            }
            // Results are normalized too: no empty span, none touching.
            for result in [&diff, &uni] {
                prop_assert!(result.spans().iter().all(|s| !s.is_empty()), "{:?}", result);
                for w in result.spans().windows(2) {
                    prop_assert!(w[0].end < w[1].start, "{:?}", result);
                }
            }
        }

        #[test]
        fn interval_overlap_and_intersection_agree_with_minute_membership(x in (0i64..60, 0i64..20), y in (0i64..60, 0i64..20)) {
            let (a, b) = (iv(x.0, x.0 + x.1), iv(y.0, y.0 + y.1));
            let common: Vec<i64> = (-1..100)
                .filter(|&m| x.0 <= m && m < x.0 + x.1 && y.0 <= m && m < y.0 + y.1)
                .collect();
            prop_assert_eq!(a.overlaps(&b), !common.is_empty());
            let expected = common.first().map(|&lo| iv(lo, common[common.len() - 1] + 1));
            prop_assert_eq!(a.intersection(&b), expected);
        }
    }
}

//! History-derived keys of the pairs a plan weighs: never met, how long ago,
//! how often their units met.

use std::collections::{BTreeSet, HashMap};

use super::plan_input::{PlanInput, sorted};

/// History-derived keys of pairs of active people, indexed so that looking up a
/// pair allocates nothing (large plans look up tens of millions of pairs).
pub(crate) struct PairKeys {
    term: i64,
    avoid_repeat_terms: i64,
    /// Unit index of each active person.
    pub(crate) unit_of: Vec<usize>,
    units: usize,
    /// `unit_rank[x * units + y]`: dense rank of the connection count of units x
    /// and y (0 = met least).
    unit_rank: Vec<u32>,
    /// Per active person: (partner, last term met), sorted by partner.
    met: Vec<Vec<(usize, i64)>>,
    /// Per active person: terms in a row left unpaired, capped at [`MAX_WAIT`].
    pub(crate) waited: Vec<u32>,
}

/// Waits beyond this many terms weigh no more (it keeps the weights in range).
pub(crate) const MAX_WAIT: u32 = 8;

/// The bit of a [`PairKeys::cheap_key`] that holds the fresh tier: set
/// for a pair that did not meet within the last terms to avoid.
pub(crate) const FRESH_KEY: u64 = 1 << 63;

impl PairKeys {
    pub(crate) fn new(input: &PlanInput, active: &[usize]) -> PairKeys {
        let people = input.people;
        let unit_names: Vec<&str> = active
            .iter()
            .map(|&i| people[i].unit.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let units = unit_names.len();
        let unit_of = active
            .iter()
            .map(|&i| unit_names.binary_search(&people[i].unit.as_str()).unwrap_or(0))
            .collect();
        let count = |x: usize, y: usize| {
            let key = sorted(unit_names[x], unit_names[y]);
            input.history.unit_pairs.get(&key).copied().unwrap_or(0)
        };
        let distinct: BTreeSet<u32> = (0..units)
            .flat_map(|x| (x + 1..units).map(move |y| (x, y)))
            .map(|(x, y)| count(x, y))
            .collect();
        let mut unit_rank = vec![0; units * units];
        for x in 0..units {
            for y in 0..units {
                if x != y {
                    unit_rank[x * units + y] = distinct.range(..count(x, y)).count() as u32;
                }
            }
        }
        let index: HashMap<&str, usize> = active
            .iter()
            .enumerate()
            .map(|(v, &i)| (people[i].email.as_str(), v))
            .collect();
        let mut met = vec![Vec::new(); active.len()];
        for ((a, b), &term) in &input.history.last_met {
            if let (Some(&u), Some(&v)) = (index.get(a.as_str()), index.get(b.as_str())) {
                met[u].push((v, term));
                met[v].push((u, term));
            }
        }
        for list in &mut met {
            list.sort_unstable();
        }
        let waited = active
            .iter()
            .map(|&i| {
                input
                    .history
                    .waited
                    .get(&people[i].email)
                    .copied()
                    .unwrap_or(0)
                    .min(MAX_WAIT)
            })
            .collect();
        PairKeys {
            waited,
            term: input.term.index,
            avoid_repeat_terms: i64::from(input.rules.avoid_repeat_terms),
            unit_of,
            units,
            unit_rank,
            met,
        }
    }

    pub(crate) fn last_met(&self, u: usize, v: usize) -> Option<i64> {
        let list = &self.met[u];
        list.binary_search_by_key(&v, |&(w, _)| w).ok().map(|i| list[i].1)
    }

    /// The history tiers of a pair; higher is better in each.
    pub(crate) fn tiers(&self, u: usize, v: usize) -> Tiers {
        let (fresh, recency) = match self.last_met(u, v) {
            None => (1, 63),
            Some(t) => {
                let ago = (self.term - t).max(0);
                (u32::from(ago > self.avoid_repeat_terms), ago.min(62) as u32)
            }
        };
        let rank = self.unit_rank[self.unit_of[u] * self.units + self.unit_of[v]];
        Tiers {
            fresh,
            fair: self.waited[u] + self.waited[v],
            recency,
            unit: 63 - rank.min(63),
        }
    }

    /// Orders candidates before their slots are known: tiers first, then a hash of
    /// the pair and term, so ties spread over many partners instead of the first
    /// emails in alphabetical order.
    pub(crate) fn cheap_key(&self, u: usize, v: usize) -> u64 {
        let t = self.tiers(u, v);
        let (lo, hi) = (u.min(v) as u64, u.max(v) as u64);
        let mix = splitmix64(lo.wrapping_mul(0x1_0000_0001) ^ hi.wrapping_shl(20) ^ self.term as u64);
        (u64::from(t.fresh) << 63)
            | (u64::from(t.fair) << 58)
            | (u64::from(t.recency) << 52)
            | (u64::from(t.unit) << 46)
            | (mix >> 18)
    }
}

/// How a pair ranks by history, each tier above all the ones after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiers {
    /// 1 unless the two met within `avoid_repeat_terms` terms.
    pub(crate) fresh: u32,
    /// The terms both have waited unpaired (each capped at [`MAX_WAIT`]):
    /// a matching's total favours those left out longest.
    pub(crate) fair: u32,
    /// 63 for never met, else terms since they met (at most 62).
    pub(crate) recency: u32,
    /// 63 minus the dense rank of the unit pair's connection count.
    pub(crate) unit: u32,
}

/// A well-known 64-bit mixer; written here because only a deterministic spread is
/// needed, not a random number generator.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::{BTreeMap, BTreeSet};

    use jiff::civil::{Weekday, date, time};
    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::availability::DayWindow;
    use crate::plan_input::{History, Person, PlanRules};
    use crate::term::Term;

    fn person(email: &str, unit: &str) -> Person {
        Person {
            email: email.to_string(),
            name: email.to_string(),
            unit: unit.to_string(),
            timezone_name: "UTC".to_string(),
            timezone: TimeZone::UTC,
            hours: DayWindow {
                start: time(9, 0, 0, 0),
                end: time(17, 0, 0, 0),
            },
            days: vec![Weekday::Monday],
            preferred_hours: None,
            away: vec![],
            paused: false,
        }
    }

    /// Keys of `people` (all active, in the given order) in term 10, with
    /// `avoid_repeat_terms = 2`.
    fn keys_of(people: &[Person], history: &History) -> PairKeys {
        let busy = BTreeMap::new();
        let rules = PlanRules {
            duration: SignedDuration::from_mins(30),
            granularity: SignedDuration::from_mins(15),
            buffer: SignedDuration::ZERO,
            min_notice: SignedDuration::ZERO,
            skip_dates: vec![],
            max_busy: None,
            cross_unit_only: true,
            avoid_repeat_terms: 2,
            focus: vec![],
        };
        let (booked, excluded, not_before) = (BTreeSet::new(), BTreeSet::new(), BTreeMap::new());
        let input = PlanInput {
            people,
            busy: &busy,
            term: Term {
                index: 10,
                start: date(2027, 1, 4),
                weeks: 4,
            },
            now: Timestamp::UNIX_EPOCH,
            rules: &rules,
            history,
            booked: &booked,
            excluded_pairs: &excluded,
            not_before_week: &not_before,
        };
        let active: Vec<usize> = (0..people.len()).collect();
        PairKeys::new(&input, &active)
    }

    #[test]
    fn splitmix64_gives_the_published_sequence() {
        // Outputs of the reference SplitMix64 generator seeded with 0: each call
        // adds the golden gamma to the state, so the n-th output is the mix of
        // (n - 1) × gamma here.
        let gamma = 0x9E37_79B9_7F4A_7C15u64;
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(gamma), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(gamma.wrapping_mul(2)), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn a_pair_that_met_exactly_avoid_repeat_terms_ago_is_not_fresh() {
        let people = [
            person("a@x", "A"),
            person("b@x", "B"),
            person("c@x", "C"),
            person("d@x", "D"),
        ];
        let mut history = History::default();
        history.record("a@x", "b@x", "A", "B", 8); // 2 terms ago: still recent
        history.record("a@x", "c@x", "A", "C", 7); // 3 terms ago: fresh again
        let keys = keys_of(&people, &history);
        let (ab, ac, ad) = (keys.tiers(0, 1), keys.tiers(0, 2), keys.tiers(0, 3));
        assert_eq!((ab.fresh, ab.recency), (0, 2));
        assert_eq!((ac.fresh, ac.recency), (1, 3));
        assert_eq!((ad.fresh, ad.recency), (1, 63), "never met");
        assert_eq!(keys.tiers(1, 0), ab, "the tiers of a pair do not depend on its order");
    }

    #[test]
    fn unit_tiers_rank_each_unit_pair_by_how_often_it_met() {
        // Units A, B, C: A–B met 5 times, A–C twice, B–C never.
        let people = [person("a@x", "A"), person("b@x", "B"), person("c@x", "C")];
        let mut history = History::default();
        for term in 0..5 {
            history.record("a1@gone", "b1@gone", "A", "B", term);
        }
        for term in 0..2 {
            history.record("a1@gone", "c1@gone", "A", "C", term);
        }
        let keys = keys_of(&people, &history);
        let unit = |u, v| keys.tiers(u, v).unit;
        assert_eq!(unit(1, 2), 63, "B–C met least");
        assert_eq!(unit(0, 2), 62);
        assert_eq!(unit(0, 1), 61, "A–B met most");
        assert_eq!((unit(1, 0), unit(2, 0), unit(2, 1)), (61, 62, 63));
    }

    #[test]
    fn cheap_keys_order_by_tiers_before_the_spreading_hash() {
        let mut people: Vec<Person> = (0..6).map(|i| person(&format!("p{i}@x"), &format!("U{i}"))).collect();
        people.push(person("p6@x", "U4"));
        people.push(person("p7@x", "U7"));
        let mut history = History::default();
        history.record("p0@x", "p1@x", "U0", "U1", 9); // recent: not fresh
        history.record("p0@x", "p2@x", "U0", "U2", 5); // met 5 terms ago
        history.record("p3@x", "p4@x", "U3", "U4", 1); // makes U3–U4 a used unit pair
        history.waited.insert("p7@x".into(), 3); // left unpaired three terms
        let keys = keys_of(&people, &history);
        let key = |u, v| keys.cheap_key(u, v);
        assert_eq!(key(0, 5), key(5, 0), "a pair's key does not depend on its order");
        // Never met beats met 5 terms ago, which beats met within avoid_repeat_terms.
        assert!(key(0, 5) > key(0, 2) && key(0, 2) > key(0, 1));
        // Never met either (p6 is in U4), a unit pair that met less wins.
        assert_eq!(keys.tiers(3, 5).recency, keys.tiers(3, 6).recency);
        assert!(key(3, 5) > key(3, 6));
        // Never met either, units that never met either, the pair with
        // someone who waited wins.
        assert_eq!((keys.tiers(0, 7).fair, keys.tiers(0, 3).fair), (3, 0));
        assert_eq!(
            (keys.tiers(0, 7).recency, keys.tiers(0, 7).unit),
            (keys.tiers(0, 3).recency, keys.tiers(0, 3).unit)
        );
        assert!(key(0, 7) > key(0, 3));
        // The tiers sit above the hash: the top 18 bits are exactly the tiers.
        for (u, v) in [(0, 1), (0, 2), (0, 3), (0, 5), (0, 7), (3, 4), (3, 5), (3, 6)] {
            let t = keys.tiers(u, v);
            let top = (u64::from(t.fresh) << 17)
                | (u64::from(t.fair) << 12)
                | (u64::from(t.recency) << 6)
                | u64::from(t.unit);
            assert_eq!(key(u, v) >> 46, top, "pair ({u}, {v})");
            assert_eq!(key(u, v) & FRESH_KEY != 0, t.fresh == 1, "pair ({u}, {v})");
        }
        assert_eq!((key(0, 1) & FRESH_KEY, key(0, 5) & FRESH_KEY), (0, FRESH_KEY));
    }

    #[test]
    fn equal_tiers_are_spread_by_pair_and_term() {
        // Thirty people in thirty units who never met: every pair ties on the tiers,
        // so only the hash orders them. It must not follow the index order, and it
        // must differ from term to term, so ties do not always go the same way.
        let people: Vec<Person> = (0..30)
            .map(|i| person(&format!("p{i:02}@x"), &format!("U{i}")))
            .collect();
        let keys = keys_of(&people, &History::default());
        let pairs = || (0..30).flat_map(|u| (u + 1..30).map(move |v| (u, v)));
        let hashes: BTreeSet<u64> = pairs().map(|(u, v)| keys.cheap_key(u, v) & ((1 << 50) - 1)).collect();
        assert_eq!(hashes.len(), 435, "distinct pairs get distinct hashes");
        let order = |keys: &PairKeys| {
            let mut v: Vec<usize> = (1..30).collect();
            v.sort_by_key(|&v| Reverse(keys.cheap_key(7, v)));
            v
        };
        let this_term = order(&keys);
        assert_ne!(this_term, (1..30).collect::<Vec<_>>());
        assert!(pairs().all(|(u, v)| keys.cheap_key(u, v) == keys.cheap_key(v, u)));
        let mut next = keys_of(&people, &History::default());
        next.term += 1;
        assert_ne!(order(&next), this_term);
        // Every pair's hash changes with the term, not only one person's order.
        for (u, v) in pairs() {
            assert_ne!(keys.cheap_key(u, v), next.cheap_key(u, v), "({u}, {v})");
        }
    }
}

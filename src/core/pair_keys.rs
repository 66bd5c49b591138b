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
}

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
        PairKeys {
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
        (u64::from(t.fresh) << 62) | (u64::from(t.recency) << 56) | (u64::from(t.unit) << 50) | (mix >> 14)
    }
}

/// How a pair ranks by history, each tier above all the ones after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiers {
    /// 1 unless the two met within `avoid_repeat_terms` terms.
    pub(crate) fresh: u32,
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

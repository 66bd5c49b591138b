//! Planning one term: who meets whom, and when.
//!
//! 1. Each active person's free time over the term (their windows, in their own
//!    zone, minus busy time widened by the buffer).
//! 2. For every zone that any person lives in, a grid of weekly slots with the real
//!    instants of every occurrence; each person gets a mask of the slots free for
//!    them in every bookable week.
//! 3. Candidate pairs: active people of different units (with a focus person when
//!    `focus` is set) whose masks share a slot in either person's zone.
//! 4. Weights that order whole matchings strictly: no pair that met within
//!    `avoid_repeat_terms`, then never met or met longest ago, then unit pairs
//!    that met least, then slot quality.
//! 5. A maximum-cardinality, maximum-weight matching on the candidate graph.
//!
//! Large organizations keep, per person, only the best [`TOP_K`] candidates,
//! which keeps the matching fast; when that leaves people unpaired below the
//! size bound, everyone unpaired gets all their candidates and the matching runs
//! again. The result reports the bound that proves the matching's size maximum.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;

use super::availability::{FreeTimeRules, WorkingTime, free_time};
use super::interval::{Interval, IntervalSet};
use super::matching::{Edge, max_weight_matching};
use super::pair_keys::PairKeys;
pub use super::plan_input::{History, Person, PlanInput, PlanRules, sorted};
use super::slot::{SlotMask, ZoneGrid, person_score};
use super::term::Term;
pub use super::week_slot::{WeekSlotInput, best_slot_in_week};

/// Organizations up to this size use every candidate pair; larger ones keep each
/// person's best [`TOP_K`] candidates.
pub const FULL_GRAPH_LIMIT: usize = 400;
/// Candidates kept per person above [`FULL_GRAPH_LIMIT`].
pub const TOP_K: usize = 16;
/// Edges beyond which a large organization's graph is not grown further to prove
/// the matching's size maximum (about a second of matching on this machine).
const AUGMENT_EDGE_BUDGET: usize = 1_000_000;

/// Size limits of the candidate graph (tests make them small to exercise the
/// sparse path on graphs they can check by brute force).
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    pub full_graph_limit: usize,
    pub top_k: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            full_graph_limit: FULL_GRAPH_LIMIT,
            top_k: TOP_K,
        }
    }
}

/// Why a person has no partner this term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum UnpairedReason {
    Paused,
    CalendarUnavailable(String),
    NoBookableWeek,
    NoFreeTime,
    NoOtherUnit,
    NoCommonSlot,
    PartnersTaken,
    NotInFocus,
}

impl std::fmt::Display for UnpairedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnpairedReason::Paused => write!(f, "paused"),
            UnpairedReason::CalendarUnavailable(why) => write!(f, "calendar unavailable: {why}"),
            UnpairedReason::NoBookableWeek => write!(f, "no week of this term is left beyond the minimum notice"),
            UnpairedReason::NoFreeTime => write!(f, "no free time in the working window in every week of the term"),
            UnpairedReason::NoOtherUnit => write!(f, "no active person with free time in another unit"),
            UnpairedReason::NoCommonSlot => write!(f, "no weekly slot free for both with any possible partner"),
            UnpairedReason::PartnersTaken => write!(f, "every possible partner is paired with someone else"),
            UnpairedReason::NotInFocus => write!(f, "no focus person left to pair with"),
        }
    }
}

/// A person left without a partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpaired {
    pub person: usize,
    pub reason: UnpairedReason,
}

/// One proposed weekly connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPair {
    /// Indices into `PlanInput::people`; `people[a].email < people[b].email`.
    pub a: usize,
    pub b: usize,
    /// Zone the series is expressed in (one of the two people's).
    pub zone_name: String,
    pub weekday: Weekday,
    pub time: Time,
    /// Wall-clock start of the first occurrence in `zone_name`.
    pub first_start: DateTime,
    /// First week of the term with an occurrence (0 unless the term is under way).
    pub first_week: u32,
    /// Every occurrence, as instants.
    pub occurrences: Vec<Interval>,
    pub slot_score: u32,
    /// Term index in which the two last met, if ever.
    pub last_met: Option<i64>,
}

/// Counts that describe how the plan was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PlanStats {
    /// People who could be paired (active, not booked, with free time).
    pub eligible: usize,
    /// People with at least one candidate partner.
    pub with_candidates: usize,
    /// Edges handed to the matching.
    pub edges: usize,
    /// An upper bound on the number of pairs any plan could have; equal to the
    /// number of pairs when the matching's size is provably maximum.
    pub max_pairs_bound: usize,
}

/// The proposed pairs and everyone left out, with reasons.
#[derive(Clone, Debug)]
pub struct Plan {
    pub term: Term,
    pub pairs: Vec<PlannedPair>,
    pub unpaired: Vec<Unpaired>,
    pub stats: PlanStats,
}

/// Plans one term. Deterministic: the same input gives the same plan.
pub fn plan(input: &PlanInput) -> Plan {
    plan_with(input, Tuning::default())
}

/// [`plan`] with explicit graph size limits.
pub fn plan_with(input: &PlanInput, tuning: Tuning) -> Plan {
    plan_with_matcher(input, tuning, &mut |n, edges| max_weight_matching(n, edges, true))
}

/// A maximum-cardinality, maximum-weight matching: vertex count and edges in,
/// mates out.
pub(crate) type Matcher<'a> = dyn FnMut(usize, &[Edge]) -> Vec<Option<usize>> + 'a;

/// [`plan_with`], with the maximum-cardinality, maximum-weight matching done by
/// `matcher` (the tests pass one that also checks each result's certificate of
/// optimality, so the planner's real graphs are checked in every profile).
pub(crate) fn plan_with_matcher(input: &PlanInput, tuning: Tuning, matcher: &mut Matcher<'_>) -> Plan {
    let term = input.term;
    let not_before = input
        .now
        .saturating_add(input.rules.min_notice)
        .unwrap_or(Timestamp::MAX);
    let (active, mut unpaired) = eligible(input);
    let slots = Slots::new(input, &active, not_before);
    let graph = PairRules::new(input, &active, &slots);
    let n = active.len();
    let sparse = n > tuning.full_graph_limit;
    let (mut edge_set, candidate_count) = candidate_edges(&graph, &slots.has_free, sparse, tuning.top_k);
    let weigher = Weigher::new(n);
    let mut edges = Vec::with_capacity(edge_set.len());
    let mut chosen = HashMap::with_capacity(edge_set.len());
    for &(u, v) in &edge_set {
        weigher.add(&slots, &graph.keys, u, v, &mut edges, &mut chosen);
    }
    let bound = pairs_bound(input.people, &active, &candidate_count, input.rules.cross_unit_only);
    let mut mate = matcher(n, &edges);
    if sparse {
        let mut grow =
            |u: usize, v: usize, edges: &mut Vec<Edge>| weigher.add(&slots, &graph.keys, u, v, edges, &mut chosen);
        mate = augment(
            &graph,
            &slots.has_free,
            &candidate_count,
            bound,
            &mut edge_set,
            &mut edges,
            mate,
            matcher,
            &mut grow,
        );
    }
    let pairs = planned_pairs(input, &active, &slots, &graph.keys, &chosen, &mate);
    unpaired.extend(unpaired_reasons(
        input,
        &active,
        &slots,
        &graph,
        &candidate_count,
        &mate,
    ));
    unpaired.sort_by(|x, y| input.people[x.person].email.cmp(&input.people[y.person].email));
    let stats = PlanStats {
        eligible: slots.has_free.iter().filter(|&&f| f).count(),
        with_candidates: candidate_count.iter().filter(|&&c| c > 0).count(),
        edges: edges.len(),
        max_pairs_bound: bound,
    };
    Plan {
        term,
        pairs,
        unpaired,
        stats,
    }
}

/// Phase 1: who can take part at all. The active people (indexes into
/// `input.people`, in email order, so the plan does not depend on the order
/// of the config), and everyone else with the reason.
fn eligible(input: &PlanInput) -> (Vec<usize>, Vec<Unpaired>) {
    let people = input.people;
    let mut unpaired = Vec::new();
    let mut active = Vec::new();
    for (i, p) in people.iter().enumerate() {
        if input.booked.contains(&p.email) {
            continue;
        }
        let reason = if input
            .not_before_week
            .get(&p.email)
            .is_some_and(|&w| w >= input.term.weeks)
        {
            UnpairedReason::NoBookableWeek
        } else if p.paused {
            UnpairedReason::Paused
        } else {
            match input.busy.get(&p.email) {
                Some(Err(why)) => UnpairedReason::CalendarUnavailable(why.clone()),
                None => UnpairedReason::CalendarUnavailable("not read".to_string()),
                Some(Ok(_)) => {
                    active.push(i);
                    continue;
                }
            }
        };
        unpaired.push(Unpaired { person: i, reason });
    }
    active.sort_by(|&x, &y| people[x].email.cmp(&people[y].email));
    (active, unpaired)
}

/// Phase 2: one grid of weekly slots per zone anyone lives in, and each
/// active person's masks of the slots free for them in every bookable week.
struct Slots {
    grids: Vec<ZoneGrid>,
    /// Per active person, per grid.
    masks: Vec<Vec<SlotMask>>,
    /// Per active person, the grid of their own zone.
    zone_idx: Vec<usize>,
    /// Per active person: any slot free at all.
    has_free: Vec<bool>,
}

impl Slots {
    fn new(input: &PlanInput, active: &[usize], not_before: Timestamp) -> Slots {
        let (people, rules, term) = (input.people, input.rules, input.term);
        let zone_names: BTreeSet<&str> = active.iter().map(|&i| people[i].timezone_name.as_str()).collect();
        let grids: Vec<ZoneGrid> = zone_names
            .iter()
            .map(|name| {
                let zone = active
                    .iter()
                    .map(|&i| &people[i])
                    .find(|p| p.timezone_name == *name)
                    .map(|p| p.timezone.clone())
                    .unwrap_or(TimeZone::UTC);
                ZoneGrid::new(name, &zone, term, rules.granularity, rules.duration, not_before)
            })
            .collect();
        let grid_of: HashMap<&str, usize> = zone_names.iter().enumerate().map(|(g, n)| (*n, g)).collect();
        // A day of margin on both sides covers every zone.
        let from = term.start.yesterday().unwrap_or(term.start);
        let until = term.end().tomorrow().unwrap_or(term.end());
        let free_rules = FreeTimeRules {
            buffer: rules.buffer,
            skip_dates: &rules.skip_dates,
            max_busy: rules.max_busy,
        };
        let empty = IntervalSet::new();
        let masks: Vec<Vec<SlotMask>> = active
            .iter()
            .map(|&i| {
                let p = &people[i];
                let busy = match input.busy.get(&p.email) {
                    Some(Ok(b)) => b,
                    _ => &empty,
                };
                let work = WorkingTime {
                    zone: &p.timezone,
                    hours: p.hours,
                    days: &p.days,
                    away: &p.away,
                };
                let free = free_time(&work, busy, &free_rules, from, until);
                grids
                    .iter()
                    .map(|g| {
                        g.mask(&free, |occ| {
                            person_score(&p.timezone, p.hours, p.preferred_hours, busy, occ)
                        })
                    })
                    .collect()
            })
            .collect();
        let zone_idx = active
            .iter()
            .map(|&i| grid_of[people[i].timezone_name.as_str()])
            .collect();
        let has_free = masks
            .iter()
            .map(|m: &Vec<SlotMask>| m.iter().any(SlotMask::any))
            .collect();
        Slots {
            grids,
            masks,
            zone_idx,
            has_free,
        }
    }
}

/// Phase 3: who may meet whom (units, focus, excluded pairs, a common slot).
struct PairRules<'a> {
    keys: PairKeys,
    excluded: BTreeSet<(usize, usize)>,
    focused: Vec<bool>,
    cross_unit_only: bool,
    slots: &'a Slots,
}

impl<'a> PairRules<'a> {
    fn new(input: &PlanInput, active: &[usize], slots: &'a Slots) -> PairRules<'a> {
        let people = input.people;
        let focus: BTreeSet<&str> = input.rules.focus.iter().map(String::as_str).collect();
        let index: HashMap<&str, usize> = active
            .iter()
            .enumerate()
            .map(|(v, &i)| (people[i].email.as_str(), v))
            .collect();
        let excluded = input
            .excluded_pairs
            .iter()
            .filter_map(|(a, b)| Some((*index.get(a.as_str())?, *index.get(b.as_str())?)))
            .flat_map(|(u, v)| [(u, v), (v, u)])
            .collect();
        PairRules {
            keys: PairKeys::new(input, active),
            excluded,
            focused: active
                .iter()
                .map(|&i| focus.is_empty() || focus.contains(people[i].email.as_str()))
                .collect(),
            cross_unit_only: input.rules.cross_unit_only,
            slots,
        }
    }

    fn allowed(&self, u: usize, v: usize) -> bool {
        let (masks, z) = (&self.slots.masks, &self.slots.zone_idx);
        (!self.cross_unit_only || self.keys.unit_of[u] != self.keys.unit_of[v])
            && (self.focused[u] || self.focused[v])
            && (self.excluded.is_empty() || !self.excluded.contains(&(u, v)))
            && (masks[u][z[u]].intersects(&masks[v][z[u]]) || masks[u][z[v]].intersects(&masks[v][z[v]]))
    }
}

/// Phase 4: candidate edges and each person's count of candidates. All pairs
/// in small organizations; in large (`sparse`) ones each person's best `top_k`
/// by history and unit-pair keys (ties spread by a hash).
fn candidate_edges(
    graph: &PairRules,
    has_free: &[bool],
    sparse: bool,
    top_k: usize,
) -> (BTreeSet<(usize, usize)>, Vec<usize>) {
    let n = has_free.len();
    let mut candidate_count = vec![0usize; n];
    let mut edge_set: BTreeSet<(usize, usize)> = BTreeSet::new();
    for u in 0..n {
        if !has_free[u] {
            continue;
        }
        let mut best: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        for (v, &free) in has_free.iter().enumerate() {
            if v == u || !free || !graph.allowed(u, v) {
                continue;
            }
            candidate_count[u] += 1;
            if !sparse {
                if u < v {
                    edge_set.insert((u, v));
                }
                continue;
            }
            let key = graph.keys.cheap_key(u, v);
            if best.len() < top_k {
                best.push(Reverse((key, v)));
            } else if best.peek().is_some_and(|Reverse(min)| (key, v) > *min) {
                best.pop();
                best.push(Reverse((key, v)));
            }
        }
        for Reverse((_, v)) in best {
            edge_set.insert((u.min(v), u.max(v)));
        }
    }
    (edge_set, candidate_count)
}

/// Phase 5: exact weights, the best slot of each candidate pair in strict
/// tiers. Each tier's unit exceeds the most that all lower tiers of a whole
/// matching (at most `half` pairs) can add up to, so a matching's total orders
/// matchings lexicographically: not repeating a recent pair, then recency,
/// then unit pairs, then slots. `half` is capped to keep weights under 2^60,
/// the matching's limit: beyond 20,000 people the tiers are strict for
/// differences within 10,000 pairs.
struct Weigher {
    unit_tier: i64,
    recency_tier: i64,
    fresh_tier: i64,
}

impl Weigher {
    fn new(n: usize) -> Weigher {
        let half = (n / 2 + 1).min(10_000) as i64;
        let unit_tier = half * 128;
        let recency_tier = half * (63 * unit_tier + 128);
        let fresh_tier = half * (63 * recency_tier + 63 * unit_tier + 128);
        Weigher {
            unit_tier,
            recency_tier,
            fresh_tier,
        }
    }

    /// Adds the edge (u, v) with its weight and chosen slot, when they have one.
    fn add(
        &self,
        slots: &Slots,
        keys: &PairKeys,
        u: usize,
        v: usize,
        edges: &mut Vec<Edge>,
        chosen: &mut HashMap<(usize, usize), SlotChoice>,
    ) {
        let Some(choice) = best_slot(&slots.grids, &slots.masks, u, v, slots.zone_idx[u], slots.zone_idx[v]) else {
            return;
        };
        let tiers = keys.tiers(u, v);
        let weight = i64::from(tiers.fresh) * self.fresh_tier
            + i64::from(tiers.recency) * self.recency_tier
            + i64::from(tiers.unit) * self.unit_tier
            + i64::from(choice.score)
            + 1;
        edges.push(Edge { a: u, b: v, weight });
        chosen.insert((u, v), choice);
    }
}

/// Phase 6 (large organizations): a sparse graph can miss the edges of an
/// augmenting path. While the matching is below the size bound, give more
/// people all their candidates — first the unpaired, then, round by round,
/// their neighbours in the graph — and match again. Once every person
/// connected to an unpaired one has all candidates, the matching is maximum
/// in size even if the bound is not reached; the edge budget keeps a
/// pathological organization from growing the full graph.
#[allow(clippy::too_many_arguments)]
fn augment(
    graph: &PairRules,
    has_free: &[bool],
    candidate_count: &[usize],
    bound: usize,
    edge_set: &mut BTreeSet<(usize, usize)>,
    edges: &mut Vec<Edge>,
    mut mate: Vec<Option<usize>>,
    matcher: &mut Matcher<'_>,
    add_edge: &mut dyn FnMut(usize, usize, &mut Vec<Edge>),
) -> Vec<Option<usize>> {
    let n = has_free.len();
    let mut expanded = vec![false; n];
    while edges.len() < AUGMENT_EDGE_BUDGET {
        let matched = mate.iter().filter(|m| m.is_some()).count() / 2;
        if matched >= bound {
            break;
        }
        let mut frontier: BTreeSet<usize> = (0..n)
            .filter(|&u| mate[u].is_none() && candidate_count[u] > 0 && !expanded[u])
            .collect();
        for &(u, v) in edge_set.iter() {
            if expanded[u] && !expanded[v] {
                frontier.insert(v);
            }
            if expanded[v] && !expanded[u] {
                frontier.insert(u);
            }
        }
        if frontier.is_empty() {
            break;
        }
        for &u in &frontier {
            expanded[u] = true;
            for v in (0..n).filter(|&v| v != u && has_free[v] && graph.allowed(u, v)) {
                if edge_set.insert((u.min(v), u.max(v))) {
                    add_edge(u.min(v), u.max(v), edges);
                }
            }
        }
        mate = matcher(n, edges);
    }
    mate
}

/// Phase 7: the matched pairs as series to book, each from the first week
/// both people may meet.
fn planned_pairs(
    input: &PlanInput,
    active: &[usize],
    slots: &Slots,
    keys: &PairKeys,
    chosen: &HashMap<(usize, usize), SlotChoice>,
    mate: &[Option<usize>],
) -> Vec<PlannedPair> {
    let (people, term) = (input.people, input.term);
    let mut pairs = Vec::new();
    for (u, m) in mate.iter().enumerate() {
        let Some(v) = *m else { continue };
        if u > v {
            continue;
        }
        let Some(choice) = chosen.get(&(u, v)) else { continue };
        let grid = &slots.grids[choice.grid];
        let (pa, pb) = (active[u], active[v]);
        let (weekday, time) = grid.local(choice.slot);
        let slot_first = grid.first_week(choice.slot);
        let week_of = |p: usize| input.not_before_week.get(&people[p].email).copied().unwrap_or(0);
        let first_week = slot_first.max(week_of(pa)).max(week_of(pb));
        // Both people's weeks are inside the term (checked above), and a slot free
        // in every week from `slot_first` on is free from any later week on.
        let skip = (first_week - slot_first) as usize;
        let occurrences = grid.occurrences(choice.slot).get(skip..).unwrap_or_default().to_vec();
        let first_start = grid.first_start(choice.slot).unwrap_or(term.start.to_datetime(time));
        let first_start = first_start
            .checked_add(jiff::Span::new().weeks(i64::from(first_week - slot_first)))
            .unwrap_or(first_start);
        pairs.push(PlannedPair {
            a: pa,
            b: pb,
            zone_name: grid.zone_name.clone(),
            weekday,
            time,
            first_start,
            first_week,
            occurrences,
            slot_score: choice.score,
            last_met: keys.last_met(u, v),
        });
    }
    pairs
}

/// Phase 8: why each active person left without a partner is unpaired.
fn unpaired_reasons(
    input: &PlanInput,
    active: &[usize],
    slots: &Slots,
    graph: &PairRules,
    candidate_count: &[usize],
    mate: &[Option<usize>],
) -> Vec<Unpaired> {
    let (people, term, rules) = (input.people, input.term, input.rules);
    let n = active.len();
    let has_free = &slots.has_free;
    let bookable = slots
        .grids
        .iter()
        .any(|g| (0..g.slot_count()).any(|k| g.first_week(k) < term.weeks));
    let units_active: BTreeSet<&str> = (0..n)
        .filter(|&v| has_free[v])
        .map(|v| people[active[v]].unit.as_str())
        .collect();
    let focused = &graph.focused;
    let any_focus = !rules.focus.is_empty();
    let mut unpaired = Vec::new();
    for v in 0..n {
        if mate[v].is_some() {
            continue;
        }
        let p = &people[active[v]];
        let reason = if !bookable {
            UnpairedReason::NoBookableWeek
        } else if !has_free[v] {
            UnpairedReason::NoFreeTime
        } else if rules.cross_unit_only && units_active.iter().all(|u| *u == p.unit) {
            UnpairedReason::NoOtherUnit
        } else if any_focus && !focused[v] && (0..n).filter(|&f| focused[f]).all(|f| mate[f].is_some()) {
            UnpairedReason::NotInFocus
        } else if candidate_count[v] == 0 {
            UnpairedReason::NoCommonSlot
        } else {
            UnpairedReason::PartnersTaken
        };
        unpaired.push(Unpaired {
            person: active[v],
            reason,
        });
    }
    unpaired
}

/// An upper bound on the size of any matching: half the people with a candidate,
/// and, when pairs must cross units, no more than the people outside the largest unit.
fn pairs_bound(people: &[Person], active: &[usize], candidates: &[usize], cross_unit: bool) -> usize {
    let with: Vec<usize> = (0..active.len()).filter(|&v| candidates[v] > 0).collect();
    let mut bound = with.len() / 2;
    if cross_unit {
        let mut per_unit: HashMap<&str, usize> = HashMap::new();
        for &v in &with {
            *per_unit.entry(people[active[v]].unit.as_str()).or_default() += 1;
        }
        let largest = per_unit.values().copied().max().unwrap_or(0);
        bound = bound.min(with.len() - largest);
    }
    bound
}

/// The best slot of the pair (u, v): expressed in u's or v's zone, most
/// occurrences first, then the highest combined score, then the earliest start.
fn best_slot(
    grids: &[ZoneGrid],
    masks: &[Vec<SlotMask>],
    u: usize,
    v: usize,
    zu: usize,
    zv: usize,
) -> Option<SlotChoice> {
    // Higher ranks are better: more occurrences, higher score, earlier start.
    type Rank = (usize, u32, Reverse<Timestamp>);
    let mut best: Option<(SlotChoice, Rank)> = None;
    let zones: &[usize] = if zu == zv { &[zu] } else { &[zu, zv] };
    for &g in zones {
        let grid = &grids[g];
        masks[u][g].for_each_common(&masks[v][g], |k, score| {
            let occ = grid.occurrences(k);
            let start = occ.first().map_or(Timestamp::MAX, |o| o.start);
            let rank = (occ.len(), score, Reverse(start));
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((
                    SlotChoice {
                        grid: g,
                        slot: k,
                        score,
                    },
                    rank,
                ));
            }
        });
    }
    best.map(|(c, _)| c)
}

#[derive(Clone, Copy, Debug)]
struct SlotChoice {
    grid: usize,
    slot: usize,
    score: u32,
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

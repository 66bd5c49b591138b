//! Planning one term: who meets whom, and when.
//!
//! 1. Each active person's free time over the term (their windows, in their own
//!    zone, minus busy time widened by the buffer).
//! 2. For every zone that any person lives in, a grid of weekly slots with the real
//!    instants of every occurrence; each person gets a mask of the slots free for
//!    them in every bookable week. Per person, so on every core.
//! 3. Candidate pairs: active people of different units (with a focus person when
//!    `focus` is set) whose masks share a slot in either person's zone. Who has
//!    at least one is found exactly without visiting pairs: an index of who is
//!    free in each slot ([`Witnesses`]).
//! 4. Weights that order whole matchings strictly: no pair that met within
//!    `avoid_repeat_terms`, then never met or met longest ago, then unit pairs
//!    that met least, then slot quality.
//! 5. A maximum-cardinality, maximum-weight matching on the candidate graph.
//!
//! Small organizations (up to [`FULL_GRAPH_LIMIT`] people) use every candidate
//! pair and one matching. Larger ones are split, in a hash order, into blocks
//! of about [`BLOCK`] people, like small random copies of the organization;
//! inside each block every person keeps their best [`TOP_K`] candidates and the
//! blocks are matched by weight independently, on every core. The matching's
//! cost grows much faster than its size, so this is what keeps 100,000 people
//! within seconds. Then everyone left unpaired gets all their candidates in the
//! whole organization, and the matching grows to maximum size along augmenting
//! paths (`augment`), widening round by round to their neighbours until it
//! reaches the size bound or nobody connected to an unpaired person has
//! candidates left to add. The result reports the bound that proves the
//! matching's size maximum.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use rayon::prelude::*;
use serde::Serialize;

use super::augment::augment;
use super::availability::{FreeTimeRules, WorkingTime, excused_days, free_time};
use super::interval::{Interval, IntervalSet};
use super::matching::{Edge, max_weight_matching};
use super::pair_keys::{FRESH_KEY, PairKeys, splitmix64};
pub use super::plan_input::{History, Person, PlanInput, PlanRules, sorted};
use super::slot::{PersonScorer, SlotMask, ZoneGrid, for_each_common, loses_at_most_half, skip_weeks};
use super::term::Term;
pub use super::week_slot::{WeekSlotInput, best_slot_in_week};

/// Organizations up to this size use every candidate pair; larger ones keep each
/// person's best [`TOP_K`] candidates inside their block.
pub const FULL_GRAPH_LIMIT: usize = 400;
/// Candidates kept per person above [`FULL_GRAPH_LIMIT`].
pub const TOP_K: usize = 16;
/// People per block above [`FULL_GRAPH_LIMIT`]: a weighted matching of 1,000
/// people and their 16,000 edges takes milliseconds; of 20,000, many seconds.
pub const BLOCK: usize = 1_000;
/// Edges beyond which a large organization's graph is not grown further to prove
/// the matching's size maximum (the cardinality searches stay within seconds).
const AUGMENT_EDGE_BUDGET: usize = 4_000_000;

/// Size limits of the candidate graph (tests make them small to exercise the
/// sparse path on graphs they can check by brute force).
#[derive(Clone, Copy, Debug)]
pub struct Tuning {
    pub full_graph_limit: usize,
    pub top_k: usize,
    pub block: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            full_graph_limit: FULL_GRAPH_LIMIT,
            top_k: TOP_K,
            block: BLOCK,
        }
    }
}

/// Why a person has no partner this term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum UnpairedReason {
    Paused,
    /// Away (`away`) on every day of the term they work: like a pause, it
    /// is not a wait (it does not count towards `waited`).
    Away,
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
            UnpairedReason::Away => write!(f, "away every working day of the term"),
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

impl UnpairedReason {
    /// Whether a term unpaired for this reason counts as a wait: every
    /// reason but being paused or away the whole term (issue 15).
    pub fn is_wait(&self) -> bool {
        !matches!(self, UnpairedReason::Paused | UnpairedReason::Away)
    }

    /// The stable machine-readable name (`no_common_slot`, ...): the serde tag.
    pub fn code(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}

/// A person left without a partner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unpaired {
    pub person: usize,
    pub reason: UnpairedReason,
    /// Terms in a row the person has waited, this one included: the
    /// history's count plus one when `reason` is a wait, else 0; at most
    /// [`crate::pair_keys::MAX_WAIT`].
    pub waited: u32,
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
    /// Weeks the weekly rule spans from `first_week` (its COUNT), skipped
    /// occurrences included.
    pub count: u32,
    /// Every occurrence that takes place, as instants.
    pub occurrences: Vec<Interval>,
    /// The occurrences the rule puts on a holiday, an away day of either
    /// person or a day over `max_busy_hours`: wall-clock starts in
    /// `zone_name`, written as EXDATE. Never the first or the last.
    pub skipped: Vec<DateTime>,
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
    plan_with_matcher(input, tuning, &|n, edges| max_weight_matching(n, edges, true))
}

/// A maximum-cardinality, maximum-weight matching: vertex count and edges in,
/// mates out. Called from several threads at once (one block each).
pub(crate) type Matcher<'a> = dyn Fn(usize, &[Edge]) -> Vec<Option<usize>> + Sync + 'a;

/// [`plan_with`], with the maximum-cardinality, maximum-weight matching done by
/// `matcher` (the tests pass one that also checks each result's certificate of
/// optimality, so the planner's real graphs are checked in every profile).
pub(crate) fn plan_with_matcher(input: &PlanInput, tuning: Tuning, matcher: &Matcher<'_>) -> Plan {
    let term = input.term;
    let not_before = input
        .now
        .saturating_add(input.rules.min_notice)
        .unwrap_or(Timestamp::MAX);
    let (active, mut unpaired) = eligible(input);
    let slots = Slots::new(input, &active, not_before);
    let graph = PairRules::new(input, &active, &slots);
    let n = active.len();
    let has_candidate = graph.has_candidates();
    let mut bound = pairs_bound(input.people, &active, &has_candidate, input.rules.cross_unit_only);
    if graph.any_focus {
        // Every pair has someone of the focus list in it.
        let focused = (0..n).filter(|&v| graph.focused[v] && has_candidate[v]).count();
        bound = bound.min(focused);
    }
    let sparse = n > tuning.full_graph_limit;
    // Weights are compared within one matched graph: the whole organization,
    // or one block.
    let weigher = Weigher::new(if sparse { n.min(tuning.block.max(2)) } else { n }, &slots, &graph.keys);
    let (top_k, block) = if sparse {
        (tuning.top_k.max(1), tuning.block.max(2))
    } else {
        (usize::MAX, usize::MAX)
    };
    let members: Vec<usize> = (0..n).filter(|&v| has_candidate[v]).collect();
    let blocks = blocks(members, block, term.index);
    let matched: Vec<BlockMatching> = blocks
        .par_iter()
        .map(|members| match_block(&graph, &weigher, members, top_k, sparse, matcher))
        .collect();
    let mut mate = vec![None; n];
    let mut edge_list = Vec::new();
    for ((edges, block_mate), members) in matched.into_iter().zip(&blocks) {
        for (i, m) in block_mate.into_iter().enumerate() {
            mate[members[i]] = m.map(|j| members[j]);
        }
        edge_list.extend(edges);
    }
    let mut edges = edge_list.len();
    if sparse {
        edges += grow_to_maximum(&graph, &has_candidate, bound, &edge_list, &mut mate);
    }
    let pairs = planned_pairs(input, &active, &slots, &graph.keys, &mate);
    unpaired.extend(unpaired_reasons(input, &active, &slots, &graph, &has_candidate, &mate));
    unpaired.sort_by(|x, y| input.people[x.person].email.cmp(&input.people[y.person].email));
    for u in &mut unpaired {
        let before = input.history.waited.get(&input.people[u.person].email).copied();
        u.waited = super::waits::waited_now(before.unwrap_or(0), &u.reason);
    }
    let stats = PlanStats {
        eligible: slots.has_free.iter().filter(|&&f| f).count(),
        with_candidates: has_candidate.iter().filter(|&&c| c).count(),
        edges,
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
        } else if away_whole_term(p, input.term) {
            UnpairedReason::Away
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
        unpaired.push(Unpaired {
            person: i,
            reason,
            waited: 0,
        });
    }
    active.sort_by(|&x, &y| people[x].email.cmp(&people[y].email));
    (active, unpaired)
}

/// Whether `p` is away on every day of `term` that they work (their `days`,
/// in their own zone's dates): away the whole term, which is not a wait.
fn away_whole_term(p: &Person, term: Term) -> bool {
    if p.away.is_empty() {
        return false;
    }
    let mut day = term.start;
    let mut works = false;
    while day < term.end() {
        if p.days.contains(&day.weekday()) {
            works = true;
            if !p.away.contains(&day) {
                return false;
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    works
}

/// Phase 2: one grid of weekly slots per zone anyone lives in, and each
/// active person's masks of the slots free for them in every bookable week.
/// Flat arrays: large plans test masks of millions of pairs.
struct Slots {
    grids: Vec<ZoneGrid>,
    /// Words of one mask (every grid has as many slots).
    words: usize,
    /// Person v's mask in grid g: `bits[(v * grids + g) * words..][..words]`.
    bits: Vec<u64>,
    /// The scores of the set bits of mask (v, g), in slot order:
    /// `scores[score_start[v * grids + g]..score_start[v * grids + g + 1]]`.
    scores: Vec<u8>,
    score_start: Vec<usize>,
    /// The slots of mask (v, g) that skip some weeks (see [`SlotMask`]):
    /// `skips[skip_start[v * grids + g]..skip_start[v * grids + g + 1]]`.
    skips: Vec<(u32, u64)>,
    skip_start: Vec<usize>,
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
            .par_iter()
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
                let excused = excused_days(&work, busy, &free_rules, from, until);
                let mut scorer = PersonScorer::new(&p.timezone, p.hours, p.preferred_hours, busy);
                grids
                    .iter()
                    .map(|g| g.mask_with_skips(&free, &excused, |occ| scorer.score(occ)))
                    .collect()
            })
            .collect();
        let words = grids.first().map_or(0, ZoneGrid::words);
        let mut bits = Vec::with_capacity(active.len() * grids.len() * words);
        let mut scores = Vec::new();
        let mut score_start = Vec::with_capacity(active.len() * grids.len() + 1);
        let mut skips = Vec::new();
        let mut skip_start = Vec::with_capacity(active.len() * grids.len() + 1);
        let mut has_free = Vec::with_capacity(active.len());
        for person in masks {
            has_free.push(person.iter().any(SlotMask::any));
            for mask in person {
                let (mask_bits, mask_scores, mask_skips) = mask.into_parts();
                bits.extend_from_slice(&mask_bits);
                score_start.push(scores.len());
                scores.extend_from_slice(&mask_scores);
                skip_start.push(skips.len());
                skips.extend_from_slice(&mask_skips);
            }
        }
        score_start.push(scores.len());
        skip_start.push(skips.len());
        let zone_idx = active
            .iter()
            .map(|&i| grid_of[people[i].timezone_name.as_str()])
            .collect();
        Slots {
            grids,
            words,
            bits,
            scores,
            score_start,
            skips,
            skip_start,
            zone_idx,
            has_free,
        }
    }

    fn mask_skips(&self, v: usize, g: usize) -> &[(u32, u64)] {
        let at = v * self.grids.len() + g;
        &self.skips[self.skip_start[at]..self.skip_start[at + 1]]
    }

    /// True when person v skips some occurrence of some slot.
    fn has_skips(&self, v: usize) -> bool {
        let g = self.grids.len();
        self.skip_start[(v + 1) * g] > self.skip_start[v * g]
    }

    /// The weeks both u and v skip in slot k of grid g, when the slot keeps
    /// enough occurrences for the pair (at most half skipped).
    fn pair_skips(&self, u: usize, v: usize, g: usize, k: usize) -> Option<u64> {
        let lost = skip_weeks(self.mask_skips(u, g), k) | skip_weeks(self.mask_skips(v, g), k);
        (lost == 0 || loses_at_most_half(lost, self.grids[g].occurrences(k).len())).then_some(lost)
    }

    fn mask(&self, v: usize, g: usize) -> &[u64] {
        let at = (v * self.grids.len() + g) * self.words;
        &self.bits[at..at + self.words]
    }

    fn mask_scores(&self, v: usize, g: usize) -> &[u8] {
        let at = v * self.grids.len() + g;
        &self.scores[self.score_start[at]..self.score_start[at + 1]]
    }

    /// True when u and v share a slot of grid g that keeps enough occurrences.
    fn share(&self, u: usize, v: usize, g: usize) -> bool {
        let (su, sv) = (self.mask_skips(u, g), self.mask_skips(v, g));
        let (mu, mv) = (self.mask(u, g), self.mask(v, g));
        if su.is_empty() && sv.is_empty() {
            return mu.iter().zip(mv).any(|(a, b)| a & b != 0);
        }
        // Each one keeps at least half of every slot of theirs, but the two
        // may skip different weeks of the same slot.
        mu.iter().zip(mv).enumerate().any(|(i, (&a, &b))| {
            let mut word = a & b;
            while word != 0 {
                let k = i * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if self.pair_skips(u, v, g, k).is_some() {
                    return true;
                }
            }
            false
        })
    }

    /// The slots set in person v's mask of grid g.
    fn slots_of(&self, v: usize, g: usize) -> impl Iterator<Item = usize> + '_ {
        self.mask(v, g).iter().enumerate().flat_map(|(i, &w)| {
            let mut word = w;
            std::iter::from_fn(move || {
                (word != 0).then(|| {
                    let k = i * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    k
                })
            })
        })
    }
}

/// Phase 3: who may meet whom (units, focus, excluded pairs, a common slot).
struct PairRules<'a> {
    keys: PairKeys,
    excluded: BTreeSet<(usize, usize)>,
    /// People with an excluded pair.
    has_exclusion: Vec<bool>,
    focused: Vec<bool>,
    any_focus: bool,
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
        let excluded: BTreeSet<(usize, usize)> = input
            .excluded_pairs
            .iter()
            .filter_map(|(a, b)| Some((*index.get(a.as_str())?, *index.get(b.as_str())?)))
            .flat_map(|(u, v)| [(u, v), (v, u)])
            .collect();
        let mut has_exclusion = vec![false; active.len()];
        for &(u, _) in &excluded {
            has_exclusion[u] = true;
        }
        PairRules {
            keys: PairKeys::new(input, active),
            excluded,
            has_exclusion,
            focused: active
                .iter()
                .map(|&i| focus.is_empty() || focus.contains(people[i].email.as_str()))
                .collect(),
            any_focus: !focus.is_empty(),
            cross_unit_only: input.rules.cross_unit_only,
            slots,
        }
    }

    fn allowed(&self, u: usize, v: usize) -> bool {
        let z = &self.slots.zone_idx;
        (!self.cross_unit_only || self.keys.unit_of[u] != self.keys.unit_of[v])
            && (self.focused[u] || self.focused[v])
            && (self.excluded.is_empty() || !self.excluded.contains(&(u, v)))
            && (self.slots.share(u, v, z[u]) || (z[v] != z[u] && self.slots.share(u, v, z[v])))
    }

    /// Whether each active person has at least one candidate, without
    /// visiting pairs (see [`Witnesses`]); people with an excluded pair, whose
    /// witness may be that very partner, are checked against everyone.
    fn has_candidates(&self) -> Vec<bool> {
        let slots = self.slots;
        let n = slots.has_free.len();
        let everyone: Vec<usize> = (0..n).filter(|&v| slots.has_free[v]).collect();
        let all = Witnesses::new(self, &everyone);
        let focused = self.any_focus.then(|| {
            let focused: Vec<usize> = everyone.iter().copied().filter(|&v| self.focused[v]).collect();
            Witnesses::new(self, &focused)
        });
        (0..n)
            .into_par_iter()
            .map(|u| {
                if !slots.has_free[u] {
                    return false;
                }
                let table = match &focused {
                    Some(table) if !self.focused[u] => table,
                    _ => &all,
                };
                match table.find(self, u) {
                    None => false,
                    // A witness shares a slot of each one's own; with skipped
                    // weeks the two together may lose too many of it.
                    Some(v)
                        if (!self.has_exclusion[u] && !slots.has_skips(u) && !slots.has_skips(v))
                            || self.allowed(u, v) =>
                    {
                        true
                    }
                    Some(_) => everyone.iter().any(|&v| v != u && self.allowed(u, v)),
                }
            })
            .collect()
    }
}

/// For every slot of every grid, a few people free in it: whether a person
/// has any candidate is then a look-up per slot of theirs instead of a pass
/// over everyone. A pair (u, v) is a candidate when they share a slot of u's
/// grid, or of v's: so u looks in their own grid among everyone free there
/// (`any`), and in each other grid g among the people who live in g (`own`).
/// Units (and the person themselves) are told apart by keeping, per slot, the
/// first person, a second one, and the first of a unit other than the first's.
struct Witnesses {
    slots_per_grid: usize,
    any: Vec<Witness>,
    own: Vec<Witness>,
}

#[derive(Clone, Copy)]
struct Witness {
    first: u32,
    second: u32,
    other_unit: u32,
}

const NOBODY: u32 = u32::MAX;

impl Witness {
    const EMPTY: Witness = Witness {
        first: NOBODY,
        second: NOBODY,
        other_unit: NOBODY,
    };

    fn add(&mut self, v: usize, unit_of: &[usize]) {
        let v32 = v as u32;
        if self.first == NOBODY {
            self.first = v32;
            return;
        }
        if self.second == NOBODY {
            self.second = v32;
        }
        if self.other_unit == NOBODY && unit_of[v] != unit_of[self.first as usize] {
            self.other_unit = v32;
        }
    }

    /// Someone here other than u (of another unit when `cross_unit`).
    fn partner_for(&self, u: usize, unit_of: &[usize], cross_unit: bool) -> Option<usize> {
        let pick = |w: u32| (w != NOBODY).then_some(w as usize);
        let first = pick(self.first)?;
        if cross_unit {
            if unit_of[first] != unit_of[u] {
                Some(first)
            } else {
                pick(self.other_unit)
            }
        } else if first != u {
            Some(first)
        } else {
            pick(self.second)
        }
    }
}

impl Witnesses {
    fn new(rules: &PairRules, people: &[usize]) -> Witnesses {
        let slots = rules.slots;
        let slots_per_grid = slots.words * 64;
        let cells = slots.grids.len() * slots_per_grid;
        let (mut any, mut own) = (vec![Witness::EMPTY; cells], vec![Witness::EMPTY; cells]);
        let unit_of = &rules.keys.unit_of;
        for &v in people {
            for g in 0..slots.grids.len() {
                let is_own = g == slots.zone_idx[v];
                for k in slots.slots_of(v, g) {
                    let cell = g * slots_per_grid + k;
                    any[cell].add(v, unit_of);
                    if is_own {
                        own[cell].add(v, unit_of);
                    }
                }
            }
        }
        Witnesses {
            slots_per_grid,
            any,
            own,
        }
    }

    /// A person who may meet u by slots and units, if there is one.
    fn find(&self, rules: &PairRules, u: usize) -> Option<usize> {
        let slots = rules.slots;
        (0..slots.grids.len()).find_map(|g| {
            let table = if g == slots.zone_idx[u] { &self.any } else { &self.own };
            slots.slots_of(u, g).find_map(|k| {
                table[g * self.slots_per_grid + k].partner_for(u, &rules.keys.unit_of, rules.cross_unit_only)
            })
        })
    }
}

/// Phase 4: the people with a candidate, in blocks of at most `size` that
/// are matched on their own: dealt round-robin in an order hashed from the
/// person and the term, so that each block is a small random copy of the
/// organization (every zone, every unit); each block in email order.
fn blocks(members: Vec<usize>, size: usize, term: i64) -> Vec<Vec<usize>> {
    let count = members.len().div_ceil(size).max(1);
    let mut order = members;
    order.sort_by_key(|&v| (splitmix64(v as u64 ^ (term as u64).rotate_left(32)), v));
    let mut blocks = vec![Vec::new(); count];
    for (i, v) in order.into_iter().enumerate() {
        blocks[i % count].push(v);
    }
    for block in &mut blocks {
        block.sort_unstable();
    }
    blocks
}

/// A block's edges (as active indices) and mates (as positions in the block).
type BlockMatching = (Vec<(usize, usize)>, Vec<Option<usize>>);

/// Each member's best `top_k` candidates inside the block (all of them when
/// `top_k` is unbounded), by history and unit-pair keys (ties spread by a
/// hash), weighed and matched. Returns the block's edges (as active indices)
/// and its mates (as positions in `members`). With `fresh_only`, pairs that
/// met within `avoid_repeat_terms` are left out: a block's own maximum size
/// would take them to pair people whom other blocks can pair afresh (growing
/// the matching adds them back only where they pair more people).
fn match_block(
    graph: &PairRules,
    weigher: &Weigher,
    members: &[usize],
    top_k: usize,
    fresh_only: bool,
    matcher: &Matcher<'_>,
) -> BlockMatching {
    // Each member's candidates, and then each edge's weight (its best slot),
    // on every core: one block is the whole organization up to `BLOCK`
    // people, and the lists are joined in member order, so the result does
    // not depend on which core finished first.
    let mut local: Vec<(usize, usize)> = members
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, &u)| {
            let mut best: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
            let mut all = Vec::new();
            for (j, &v) in members.iter().enumerate() {
                if j == i {
                    continue;
                }
                if top_k == usize::MAX {
                    if i < j && (!fresh_only || graph.keys.tiers(u, v).fresh != 0) && graph.allowed(u, v) {
                        all.push((i, j));
                    }
                    continue;
                }
                // The key first: once the heap is full, most people cannot
                // enter it, and for them the slot masks need not be compared
                // (which was most of this loop). The same top_k come out.
                let key = graph.keys.cheap_key(u, v);
                if fresh_only && key & FRESH_KEY == 0 {
                    continue;
                }
                let full = best.len() == top_k;
                if full && best.peek().is_some_and(|Reverse(min)| (key, j) <= *min) || !graph.allowed(u, v) {
                    continue;
                }
                if full {
                    best.pop();
                }
                best.push(Reverse((key, j)));
            }
            all.extend(best.into_iter().map(|Reverse((_, j))| (i.min(j), i.max(j))));
            all
        })
        .collect();
    local.sort_unstable();
    local.dedup();
    let edges: Vec<Edge> = local
        .par_iter()
        .filter_map(|&(i, j)| {
            let weight = weigher.weight(members[i], members[j])?;
            Some(Edge { a: i, b: j, weight })
        })
        .collect();
    let mate = matcher(members.len(), &edges);
    let global = edges.iter().map(|e| (members[e.a], members[e.b])).collect();
    (global, mate)
}

/// Phase 5: exact weights, the best slot of each candidate pair in strict
/// tiers. Each tier's unit exceeds the most that all lower tiers of a whole
/// matching (at most `half` pairs) can add up to, so a matching's total orders
/// matchings lexicographically: not repeating a recent pair, then the people
/// who waited unpaired longest (fairness), then recency (never met first),
/// then unit pairs, then slots. `n` is the size of the largest graph matched
/// at once (a block of a large organization); `half` is capped to keep weights
/// under 2^60, the matching's limit (strict up to 1,000 people a graph).
struct Weigher<'a> {
    slots: &'a Slots,
    keys: &'a PairKeys,
    unit_tier: i64,
    recency_tier: i64,
    fair_tier: i64,
    fresh_tier: i64,
}

impl<'a> Weigher<'a> {
    fn new(n: usize, slots: &'a Slots, keys: &'a PairKeys) -> Weigher<'a> {
        let half = (n / 2 + 1).min(501) as i64;
        let unit_tier = half * 128;
        let recency_tier = half * (63 * unit_tier + 128);
        let fair_tier = half * (63 * recency_tier + 63 * unit_tier + 128);
        let most_fair = i64::from(2 * super::pair_keys::MAX_WAIT);
        let fresh_tier = half * (most_fair * fair_tier + 63 * recency_tier + 63 * unit_tier + 128);
        Weigher {
            slots,
            keys,
            unit_tier,
            recency_tier,
            fair_tier,
            fresh_tier,
        }
    }

    /// The weight of the pair (u, v), when they have a common slot.
    fn weight(&self, u: usize, v: usize) -> Option<i64> {
        let choice = best_slot(self.slots, u, v)?;
        let tiers = self.keys.tiers(u, v);
        Some(
            i64::from(tiers.fresh) * self.fresh_tier
                + i64::from(tiers.fair) * self.fair_tier
                + i64::from(tiers.recency) * self.recency_tier
                + i64::from(tiers.unit) * self.unit_tier
                + i64::from(choice.score)
                + 1,
        )
    }
}

/// Phase 6 (large organizations): the blocks were matched on their own, so
/// people are left unpaired whose partners are in other blocks. While the
/// matching is below the size bound, give more people all their candidates in
/// the whole organization — first the unpaired, then, round by round, their
/// neighbours in the graph — and grow the matching along augmenting paths.
/// Once every person connected to an unpaired one has all candidates, the
/// matching is maximum in size even if the bound is not reached; the edge
/// budget keeps a pathological organization from growing the full graph.
///
/// The paths are looked for among fresh pairs first (who have not met within
/// `avoid_repeat_terms`; the blocks matched only those), and among all pairs
/// only once no fresh path is left: a recent partner comes back only where
/// that pairs more people (DESIGN §4). Returns the number of edges added.
fn grow_to_maximum(
    graph: &PairRules,
    has_candidate: &[bool],
    bound: usize,
    block_edges: &[(usize, usize)],
    mate: &mut [Option<usize>],
) -> usize {
    let n = has_candidate.len();
    let matched = |mate: &[Option<usize>]| mate.iter().filter(|m| m.is_some()).count() / 2;
    if matched(mate) >= bound {
        return 0;
    }
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &(u, v) in block_edges {
        adj[u].push(v as u32);
        adj[v].push(u as u32);
    }
    let roots = || (0..n).filter(|&u| has_candidate[u]);
    let mut expanded = vec![false; n];
    let mut added = 0;
    let mut frontier: Vec<usize> = (0..n).filter(|&u| mate[u].is_none() && has_candidate[u]).collect();
    loop {
        // A few people at a time, each scanning everyone on its own core,
        // so that the edges in flight stay within the budget.
        for chunk in frontier.chunks(32) {
            if added >= AUGMENT_EDGE_BUDGET {
                break;
            }
            let new_edges: Vec<Vec<usize>> = chunk
                .par_iter()
                .map(|&u| {
                    let known: std::collections::HashSet<u32> = adj[u].iter().copied().collect();
                    (0..n)
                        .filter(|&v| v != u && has_candidate[v] && !known.contains(&(v as u32)) && graph.allowed(u, v))
                        .collect()
                })
                .collect();
            for (&u, vs) in chunk.iter().zip(new_edges) {
                expanded[u] = true;
                for v in vs {
                    // Both ends expanded in this round: the edge came twice.
                    if expanded[v] && adj[v].contains(&(u as u32)) {
                        continue;
                    }
                    adj[u].push(v as u32);
                    adj[v].push(u as u32);
                    added += 1;
                }
            }
        }
        // No more than the bound allows: the searches of the people who
        // cannot be paired would each explore everything they reach.
        let wanted = bound.saturating_sub(matched(mate));
        augment(&fresh_edges(graph, &adj, mate), mate, roots(), wanted);
        if matched(mate) >= bound || added >= AUGMENT_EDGE_BUDGET {
            break;
        }
        frontier = (0..n)
            .filter(|&v| {
                !expanded[v] && has_candidate[v] && (mate[v].is_none() || adj[v].iter().any(|&w| expanded[w as usize]))
            })
            .collect();
        if frontier.is_empty() {
            break;
        }
    }
    let wanted = bound.saturating_sub(matched(mate));
    augment(&adj, mate, roots(), wanted);
    added
}

/// The edges of `adj` between people who have not met recently, and the
/// matched ones (an augmenting search needs every matched pair).
fn fresh_edges(graph: &PairRules, adj: &[Vec<u32>], mate: &[Option<usize>]) -> Vec<Vec<u32>> {
    adj.iter()
        .enumerate()
        .map(|(u, list)| {
            let keep = |v: usize| mate[u] == Some(v) || graph.keys.tiers(u, v).fresh == 1;
            list.iter().copied().filter(|&v| keep(v as usize)).collect()
        })
        .collect()
}

/// Phase 7: the matched pairs as series to book, each in the best slot of
/// the pair, from the first week both people may meet.
fn planned_pairs(
    input: &PlanInput,
    active: &[usize],
    slots: &Slots,
    keys: &PairKeys,
    mate: &[Option<usize>],
) -> Vec<PlannedPair> {
    let (people, term) = (input.people, input.term);
    let mut pairs = Vec::new();
    for (u, m) in mate.iter().enumerate() {
        let Some(v) = *m else { continue };
        if u > v {
            continue;
        }
        let Some(choice) = best_slot(slots, u, v) else { continue };
        let grid = &slots.grids[choice.grid];
        let (pa, pb) = (active[u], active[v]);
        let (weekday, time) = grid.local(choice.slot);
        let slot_first = grid.first_week(choice.slot);
        let week_of = |p: usize| input.not_before_week.get(&people[p].email).copied().unwrap_or(0);
        let from = slot_first.max(week_of(pa)).max(week_of(pb));
        // Both people's weeks are inside the term (checked above), and a slot free
        // in every week from `slot_first` on is free from any later week on.
        // The series runs from its first held week to its last: skipped weeks
        // at either end shorten it, those between become EXDATEs.
        let held = |w: &u32| choice.skipped & (1 << w) == 0;
        let (Some(first_week), Some(last_week)) = ((from..term.weeks).find(held), (from..term.weeks).rev().find(held))
        else {
            continue;
        };
        let all = grid.occurrences(choice.slot);
        let occurrences = (first_week..=last_week)
            .filter(held)
            .filter_map(|w| all.get((w - slot_first) as usize).copied())
            .collect();
        let slot_start = grid.first_start(choice.slot).unwrap_or(term.start.to_datetime(time));
        let start_of = |w: u32| {
            slot_start
                .checked_add(jiff::Span::new().weeks(i64::from(w - slot_first)))
                .unwrap_or(slot_start)
        };
        let skipped = (first_week..=last_week).filter(|w| !held(w)).map(start_of).collect();
        pairs.push(PlannedPair {
            a: pa,
            b: pb,
            zone_name: grid.zone_name.clone(),
            weekday,
            time,
            first_start: start_of(first_week),
            first_week,
            count: last_week - first_week + 1,
            occurrences,
            skipped,
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
    has_candidate: &[bool],
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
    let focus_all_paired = (0..n).filter(|&f| focused[f]).all(|f| mate[f].is_some());
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
        } else if any_focus && !focused[v] && focus_all_paired {
            UnpairedReason::NotInFocus
        } else if !has_candidate[v] {
            UnpairedReason::NoCommonSlot
        } else {
            UnpairedReason::PartnersTaken
        };
        unpaired.push(Unpaired {
            person: active[v],
            reason,
            waited: 0,
        });
    }
    unpaired
}

/// An upper bound on the size of any matching: half the people with a candidate,
/// and, when pairs must cross units, no more than the people outside the largest unit.
fn pairs_bound(people: &[Person], active: &[usize], has_candidate: &[bool], cross_unit: bool) -> usize {
    let with: Vec<usize> = (0..active.len()).filter(|&v| has_candidate[v]).collect();
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
/// occurrences held first (fewest skipped), then the highest combined score,
/// then the earliest start.
fn best_slot(slots: &Slots, u: usize, v: usize) -> Option<SlotChoice> {
    // Higher ranks are better: more occurrences, higher score, earlier start.
    type Rank = (usize, u32, Reverse<Timestamp>);
    let mut best: Option<(SlotChoice, Rank)> = None;
    let (zu, zv) = (slots.zone_idx[u], slots.zone_idx[v]);
    let zones: &[usize] = if zu == zv { &[zu] } else { &[zu, zv] };
    for &g in zones {
        let grid = &slots.grids[g];
        let a = (slots.mask(u, g), slots.mask_scores(u, g));
        let b = (slots.mask(v, g), slots.mask_scores(v, g));
        for_each_common(a, b, |k, score| {
            let Some(skipped) = slots.pair_skips(u, v, g, k) else {
                return;
            };
            let occ = grid.occurrences(k);
            let start = occ.first().map_or(Timestamp::MAX, |o| o.start);
            let held = occ.len() - skipped.count_ones() as usize;
            let rank = (held, score, Reverse(start));
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((
                    SlotChoice {
                        grid: g,
                        slot: k,
                        score,
                        skipped,
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
    /// The weeks of the term the pair skips in this slot, as bits.
    skipped: u64,
}

#[cfg(test)]
#[path = "plan_tests/mod.rs"]
mod tests;

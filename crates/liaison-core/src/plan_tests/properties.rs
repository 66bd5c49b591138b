//! Generated terms (DST, away days, holidays) against naive oracles: every
//! invariant, the maximum size, and who may meet whom.

use super::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every occurrence of every pair is free for both people (windows in their own
    /// zones, busy time with buffer, DST included), nobody is in two pairs, no pair
    /// is within one unit, and the number of pairs is the maximum possible.
    #[test]
    fn generated_terms_across_dst_changes_keep_every_invariant(case in arb_case()) {
        let plan = case.plan();
        case.check_invariants(&plan);
        let candidates = case.naive_candidates();
        let best = brute_force_max_pairs(case.people.len(), &candidates);
        prop_assert_eq!(plan.pairs.len(), best);
        // The whole graph goes to the matching, also for an organization of
        // exactly `full_graph_limit` people.
        prop_assert_eq!(plan.stats.edges, candidates.len());
        let at_limit = case.plan_tuned(Tuning { full_graph_limit: case.people.len(), top_k: 1, block: BLOCK });
        prop_assert_eq!(at_limit.stats.edges, candidates.len());
        for pair in &plan.pairs {
            prop_assert!(candidates.contains(&(pair.a.min(pair.b), pair.a.max(pair.b))));
        }
        prop_assert_eq!(plan.pairs.len() * 2 + plan.unpaired.len(), case.people.len());
        // The sparse path (one candidate per person, then augmentation) must reach
        // the same size, and so must blocks matched apart and then joined.
        let sparse = case.plan_sparse();
        case.check_invariants(&sparse);
        prop_assert_eq!(sparse.pairs.len(), best);
        let blocks = case.plan_blocks();
        case.check_invariants(&blocks);
        prop_assert_eq!(blocks.pairs.len(), best);
        for plan in [&sparse, &blocks] {
            // Edges of the blocks and edges added by growing are distinct pairs.
            prop_assert!(plan.stats.edges <= candidates.len());
            for pair in &plan.pairs {
                prop_assert!(candidates.contains(&(pair.a.min(pair.b), pair.a.max(pair.b))));
            }
        }
    }

    /// Who has a candidate, from the slot index, is who has one by trying
    /// every pair with the same rules: with and without units, with a focus
    /// list and with excluded pairs. The bound and the reasons depend on it.
    #[test]
    fn the_slot_index_finds_exactly_the_people_with_a_candidate(
        case in arb_case(),
        cross_unit in any::<bool>(),
        focus in prop::collection::vec(any::<bool>(), 0..9),
        excluded in prop::collection::vec((0usize..9, 0usize..9), 0..4),
    ) {
        let mut case = case;
        case.rules.cross_unit_only = cross_unit;
        let n = case.people.len();
        case.rules.focus = focus
            .iter()
            .enumerate()
            .filter(|&(i, &f)| f && i < n)
            .map(|(i, _)| case.people[i].email.clone())
            .collect();
        for (a, b) in excluded {
            if a < n && b < n && a != b {
                case.excluded.insert(sorted(&case.people[a].email, &case.people[b].email));
            }
        }
        case.with_graph(|active, slots, graph| -> Result<(), TestCaseError> {
            let found = graph.has_candidates();
            let m = active.len();
            let brute: Vec<bool> = (0..m)
                .map(|u| slots.has_free[u] && (0..m).any(|v| v != u && slots.has_free[v] && graph.allowed(u, v)))
                .collect();
            prop_assert_eq!(found, brute);
            // And who may meet whom is what the naive rule says (slots, skipped
            // weeks, units), with the focus list and the excluded pairs on top.
            let naive: BTreeSet<(usize, usize)> = case.naive_candidates().into_iter().collect();
            for u in 0..m {
                for v in u + 1..m {
                    let (a, b) = (&case.people[active[u]], &case.people[active[v]]);
                    let expected = naive.contains(&(active[u].min(active[v]), active[u].max(active[v])))
                        && (case.rules.focus.is_empty() || case.rules.focus.contains(&a.email) || case.rules.focus.contains(&b.email))
                        && !case.excluded.contains(&sorted(&a.email, &b.email));
                    prop_assert_eq!(graph.allowed(u, v), expected, "{} and {}", a.email, b.email);
                }
            }
            Ok(())
        })?;
    }
}

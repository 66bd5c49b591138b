//! Large organizations: blocks, the candidates each member offers, and
//! growing the blocks' matchings to maximum size across blocks.

use super::*;

#[test]
fn blocks_share_the_people_out_evenly_and_the_same_way_each_time() {
    let members: Vec<usize> = (0..2_501).collect();
    let blocks = blocks(members.clone(), 1_000, 7);
    assert_eq!(blocks.iter().map(Vec::len).collect::<Vec<_>>(), [834, 834, 833]);
    let mut all: Vec<usize> = blocks.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, members);
    assert!(blocks.iter().all(|b| b.windows(2).all(|w| w[0] < w[1])));
    assert_eq!(super::blocks(members.clone(), 1_000, 7), blocks);
    // Not runs of consecutive people (who would share a unit and a zone).
    assert!(blocks[0].windows(2).any(|w| w[1] - w[0] > 1));
    assert_ne!(super::blocks(members, 1_000, 8), blocks, "another term, other blocks");
}

#[test]
fn the_same_input_gives_the_same_plan_whatever_the_order_of_people() {
    let mut people: Vec<Person> = (0..12)
        .map(|i| person(&format!("p{i:02}@x.org"), &format!("U{}", i % 3), ZONES[i % 3]))
        .collect();
    let case = Case::new(people.clone(), date(2027, 3, 8), 4);
    let first = case.plan();
    assert_eq!(case.plan().pairs, first.pairs);
    people.reverse();
    let reversed = Case::new(people, date(2027, 3, 8), 4);
    let second = reversed.plan();
    assert_eq!(case.pairs(&first), reversed.pairs(&second));
    let slots = |c: &Case, p: &Plan| -> Vec<_> {
        let mut v: Vec<_> = p
            .pairs
            .iter()
            .map(|x| (c.people[x.a].email.clone(), x.zone_name.clone(), x.occurrences.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(slots(&case, &first), slots(&reversed, &second));
}

#[test]
fn a_large_organization_still_gets_a_maximum_size_matching() {
    let people: Vec<Person> = (0..(FULL_GRAPH_LIMIT + 50))
        .map(|i| person(&format!("p{i:04}@x.org"), &format!("U{}", i % 9), ZONES[i % 3]))
        .collect();
    let case = Case::new(people, date(2027, 3, 8), 4);
    let plan = case.plan();
    assert!(plan.stats.edges < (FULL_GRAPH_LIMIT + 50) * TOP_K);
    // Each zone holds 150 people of three units of 50, all with the same
    // hours: a perfect cross-unit matching exists, so the maximum is n/2.
    assert_eq!(plan.pairs.len(), (FULL_GRAPH_LIMIT + 50) / 2);
    assert_eq!(plan.stats.max_pairs_bound, plan.pairs.len());
    case.check_invariants(&plan);
}

#[test]
fn blocks_matched_apart_are_joined_into_a_maximum_size_matching() {
    // 2,101 people: three blocks of 700, in two zones whose working hours
    // never overlap, so that each block leaves people of both zones over, to
    // be paired across blocks (without that step the plan falls short).
    let n = 2 * BLOCK + 101;
    let zones = ["America/Los_Angeles", "Asia/Kolkata"];
    let people: Vec<Person> = (0..n)
        .map(|i| person(&format!("p{i:04}@x.org"), &format!("U{}", i % 7), zones[i % 2]))
        .collect();
    let case = Case::new(people, date(2027, 3, 8), 4);
    let plan = case.plan();
    assert_eq!(plan.stats.max_pairs_bound, n / 2);
    assert_eq!(plan.pairs.len(), n / 2);
    case.check_invariants(&plan);
    assert_eq!(case.plan().pairs, plan.pairs, "the same input, the same plan");
}

#[test]
fn across_blocks_a_recent_partner_is_used_only_when_it_pairs_more_people() {
    // Units A and B of 20 people each, C of 40. Every A met every B last
    // term; every pair with C is fresh, so everyone can be paired without a
    // repeat (A with C, B with C). In blocks of three, a block's own largest
    // matching would pair an A with a B, and a search across blocks meets the
    // Bs (sorted before the Cs) first.
    let mut people = Vec::new();
    for i in 0..20 {
        people.push(person(&format!("a{i:02}@x.org"), "A", "Europe/London"));
        people.push(person(&format!("b{i:02}@x.org"), "B", "Europe/London"));
    }
    for i in 0..40 {
        people.push(person(&format!("c{i:02}@x.org"), "C", "Europe/London"));
    }
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    for i in 0..20 {
        for j in 0..20 {
            let (a, b) = (format!("a{i:02}@x.org"), format!("b{j:02}@x.org"));
            case.history.record(&a, &b, "A", "B", case.term.index - 1);
        }
    }
    let pairs_of_two = Tuning {
        full_graph_limit: 0,
        top_k: 2,
        block: 2,
    };
    for plan in [
        case.plan_tuned(pairs_of_two),
        case.plan_blocks(),
        case.plan_sparse(),
        case.plan(),
    ] {
        case.check_invariants(&plan);
        assert_eq!(plan.pairs.len(), 40, "everyone is paired");
        let units: Vec<(&str, &str)> = plan
            .pairs
            .iter()
            .map(|p| (case.people[p.a].unit.as_str(), case.people[p.b].unit.as_str()))
            .collect();
        assert!(
            units.iter().all(|&(a, b)| a == "C" || b == "C"),
            "recent partners met again: {units:?}"
        );
    }
    // Take away ten Cs: now twenty people can be paired only with a recent
    // partner, and are (the number paired comes first).
    let mut fewer = case.clone();
    fewer.people.retain(|p| !p.email.starts_with("c3"));
    for plan in [
        fewer.plan_tuned(pairs_of_two),
        fewer.plan_blocks(),
        fewer.plan_sparse(),
        fewer.plan(),
    ] {
        fewer.check_invariants(&plan);
        assert_eq!(plan.pairs.len(), 35);
        let repeats = plan
            .pairs
            .iter()
            .filter(|p| fewer.people[p.a].unit != "C" && fewer.people[p.b].unit != "C")
            .count();
        assert_eq!(repeats, 5, "only the repeats that pair more people");
    }
}

#[test]
fn each_member_of_a_block_offers_at_most_its_best_top_k_candidates() {
    // Six people of six units, all free together: every pair is allowed
    // but p0-p1, which is excluded.
    let people: Vec<Person> = (0..6)
        .map(|i| person(&format!("p{i}@x.org"), &format!("U{i}"), "UTC"))
        .collect();
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.excluded.insert(sorted("p0@x.org", "p1@x.org"));
    case.with_graph(|_, slots, graph| {
        let weigher = Weigher::new(6, slots, &graph.keys);
        let members: Vec<usize> = (0..6).collect();
        for top_k in [1, 2, 3] {
            let (edges, _) = match_block(graph, &weigher, &members, top_k, false, &|n, _| vec![None; n]);
            // Naively: each member's top_k partners by (key, index), joined.
            let mut expected = BTreeSet::new();
            for u in 0..6 {
                let mut others: Vec<(u64, usize)> = (0..6)
                    .filter(|&v| v != u && (u.min(v), u.max(v)) != (0, 1))
                    .map(|v| (graph.keys.cheap_key(u, v), v))
                    .collect();
                others.sort_unstable_by(|x, y| y.cmp(x));
                for &(_, v) in others.iter().take(top_k) {
                    expected.insert((u.min(v), u.max(v)));
                }
            }
            let got: BTreeSet<(usize, usize)> = edges.into_iter().collect();
            assert_eq!(got, expected, "top_k {top_k}");
        }
    });
}

#[test]
fn growing_finds_a_path_three_rounds_away_and_adds_nothing_past_the_bound() {
    use Weekday::*;
    // A path a-b-c-d-e-f (each pair shares one day); the blocks matched b-c
    // and d-e. Round 1 expands the unpaired a and f, round 2 b and e (nothing
    // new), round 3 c and d, whose edge completes a-b=c-d=e-f.
    let mut days: Vec<(&str, &[Weekday])> = vec![
        ("a", &[Monday]),
        ("b", &[Monday, Tuesday]),
        ("c", &[Tuesday, Wednesday]),
        ("d", &[Wednesday, Thursday]),
        ("e", &[Thursday, Friday]),
        ("f", &[Friday]),
    ];
    let case = day_graph(&days);
    let (pairs, added) = grow(&case, &[(1, 2), (3, 4)], 3);
    assert_eq!(pairs, [(0, 1), (2, 3), (4, 5)].into());
    assert_eq!(added, 3, "a-b, e-f, then c-d");
    // With g, who shares Friday with e and f: the bound (3) is reached in
    // round 1 (f-g), and nothing more is expanded.
    days.push(("g", &[Friday]));
    let case = day_graph(&days);
    let (pairs, added) = grow(&case, &[(1, 2), (3, 4)], 3);
    assert_eq!(pairs, [(1, 2), (3, 4), (5, 6)].into());
    assert_eq!(added, 4, "a-b, f-e, f-g, g-e");
    // Already at the bound: nothing is added at all.
    let (pairs, added) = grow(&case, &[(0, 1), (2, 3), (4, 5)], 3);
    assert_eq!(pairs, [(0, 1), (2, 3), (4, 5)].into());
    assert_eq!(added, 0);
}

#[test]
fn growing_takes_a_fresh_augmenting_path_over_a_recent_partner() {
    // a (A) and b (B) met last term; c (B) and d (A) were matched in a block.
    // From a, the shortest path is the recent b; the fresh one is a-c=d-b.
    let people = vec![
        person("a@x.org", "A", "UTC"),
        person("b@x.org", "B", "UTC"),
        person("c@x.org", "B", "UTC"),
        person("d@x.org", "A", "UTC"),
    ];
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.history.record("a@x.org", "b@x.org", "A", "B", 9);
    let (pairs, _) = grow(&case, &[(2, 3)], 2);
    assert_eq!(pairs, [(0, 2), (1, 3)].into());
}

#[test]
fn a_block_offers_no_pair_that_met_recently() {
    // a and b met last term; c and d never met anyone. In a block the
    // recent pair is no candidate at all (not merely a lighter edge), and
    // the fresh pairs pair everyone, so nothing is grown either.
    let people = vec![
        person("a@x.org", "A", "UTC"),
        person("b@x.org", "B", "UTC"),
        person("c@x.org", "A", "UTC"),
        person("d@x.org", "B", "UTC"),
    ];
    let mut case = Case::new(people, date(2027, 3, 8), 4);
    case.history.record("a@x.org", "b@x.org", "A", "B", case.term.index - 1);
    let plan = case.plan_tuned(Tuning {
        full_graph_limit: 0,
        top_k: 3,
        block: 4,
    });
    case.check_invariants(&plan);
    assert_eq!(plan.pairs.len(), 2);
    assert_eq!(plan.stats.edges, 3, "a-d, b-c and c-d; not a-b");
}

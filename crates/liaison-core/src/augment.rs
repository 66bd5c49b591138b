//! Growing a matching to maximum size on a general graph: Edmonds' augmenting
//! paths with blossom shrinking, one breadth-first search per unmatched
//! vertex, started from a matching found some other way (large plans match
//! blocks of people by weight first, see `plan`).
//!
//! Written here rather than taken from a graph crate because it must start
//! from the given matching and keep as much of it as it can (the weighted
//! matching of each block): the general matchings of petgraph and its kind
//! build their own greedy start. Each search costs O(size of its tree) besides
//! the edges it scans; a search that fails leaves its whole tree unusable for
//! later searches (Edmonds: no augmenting path will ever pass through it), so
//! failures cost each vertex once.

use std::collections::VecDeque;

const NONE: usize = usize::MAX;

/// Augments `mate` (symmetric: `mate[v] == Some(u)` iff `mate[u] == Some(v)`,
/// every matched pair an edge of `adj`) along augmenting paths from each
/// vertex of `roots` that is still unmatched, until none is left: afterwards
/// no augmenting path of `adj` starts at any of them. With every unmatched
/// vertex as a root, the matching is then of maximum size. Stops early once
/// `wanted` pairs were added (the caller knows no more can be: a search that
/// fails explores everything its root can reach). Returns how many pairs
/// were added.
pub(crate) fn augment(
    adj: &[Vec<u32>],
    mate: &mut [Option<usize>],
    roots: impl IntoIterator<Item = usize>,
    wanted: usize,
) -> usize {
    let mut search = Search::new(adj.len());
    let mut added = 0;
    for root in roots {
        if added >= wanted {
            break;
        }
        if root >= adj.len() || mate[root].is_some() || search.dead[root] {
            continue;
        }
        match search.find_path(adj, mate, root) {
            Some(free) => {
                search.flip(mate, free);
                added += 1;
            }
            None => search.bury(),
        }
        search.reset();
    }
    added
}

struct Search {
    /// Base of the blossom each vertex is in (itself when in none).
    base: Vec<usize>,
    /// The tree edge into each odd vertex (and, inside blossoms, the way back).
    parent: Vec<usize>,
    /// Even (outer) vertices of the current tree.
    even: Vec<bool>,
    in_blossom: Vec<bool>,
    on_path: Vec<bool>,
    /// Vertices of failed trees: no augmenting path passes through them.
    dead: Vec<bool>,
    /// Every vertex the current search touched, to reset only those.
    tree: Vec<usize>,
    queue: VecDeque<usize>,
}

impl Search {
    fn new(n: usize) -> Search {
        Search {
            base: (0..n).collect(),
            parent: vec![NONE; n],
            even: vec![false; n],
            in_blossom: vec![false; n],
            on_path: vec![false; n],
            dead: vec![false; n],
            tree: Vec::new(),
            queue: VecDeque::new(),
        }
    }

    fn reset(&mut self) {
        for &v in &self.tree {
            self.base[v] = v;
            self.parent[v] = NONE;
            self.even[v] = false;
        }
        self.tree.clear();
        self.queue.clear();
    }

    fn bury(&mut self) {
        for &v in &self.tree {
            self.dead[v] = true;
        }
    }

    fn mark_even(&mut self, v: usize) {
        self.even[v] = true;
        self.tree.push(v);
        self.queue.push_back(v);
    }

    /// An unmatched vertex reached from `root` by an augmenting path (the
    /// path is in `parent`), or `None`.
    fn find_path(&mut self, adj: &[Vec<u32>], mate: &[Option<usize>], root: usize) -> Option<usize> {
        self.mark_even(root);
        while let Some(v) = self.queue.pop_front() {
            for &to in &adj[v] {
                let to = to as usize;
                if self.dead[to] || self.base[v] == self.base[to] || mate[v] == Some(to) {
                    continue;
                }
                let to_is_even = to == root || mate[to].is_some_and(|m| self.parent[m] != NONE);
                if to_is_even {
                    self.shrink(mate, v, to);
                } else if self.parent[to] == NONE {
                    self.parent[to] = v;
                    self.tree.push(to);
                    match mate[to] {
                        None => return Some(to),
                        Some(m) => self.mark_even(m),
                    }
                }
            }
        }
        None
    }

    /// The edge (v, to) joins two even vertices of the tree: shrinks the odd
    /// cycle it closes into a blossom based at their lowest common ancestor.
    fn shrink(&mut self, mate: &[Option<usize>], v: usize, to: usize) {
        let ancestor = self.common_ancestor(mate, v, to);
        self.mark_path(mate, v, ancestor, to);
        self.mark_path(mate, to, ancestor, v);
        for i in 0..self.tree.len() {
            let x = self.tree[i];
            if self.in_blossom[self.base[x]] {
                self.base[x] = ancestor;
                if !self.even[x] {
                    // Already in `tree`: an odd vertex becomes even.
                    self.even[x] = true;
                    self.queue.push_back(x);
                }
            }
        }
        for &x in &self.tree {
            self.in_blossom[x] = false;
        }
    }

    fn common_ancestor(&mut self, mate: &[Option<usize>], a: usize, b: usize) -> usize {
        let mut marked = Vec::new();
        let mut a = a;
        loop {
            a = self.base[a];
            self.on_path[a] = true;
            marked.push(a);
            match mate[a] {
                Some(m) if self.parent[m] != NONE => a = self.parent[m],
                _ => break,
            }
        }
        let mut b = b;
        let found = loop {
            b = self.base[b];
            if self.on_path[b] {
                break b;
            }
            match mate[b] {
                Some(m) if self.parent[m] != NONE => b = self.parent[m],
                _ => break b,
            }
        };
        for x in marked {
            self.on_path[x] = false;
        }
        found
    }

    fn mark_path(&mut self, mate: &[Option<usize>], mut v: usize, ancestor: usize, mut child: usize) {
        while self.base[v] != ancestor {
            let Some(m) = mate[v] else { break };
            self.in_blossom[self.base[v]] = true;
            self.in_blossom[self.base[m]] = true;
            self.parent[v] = child;
            child = m;
            v = self.parent[m];
        }
    }

    /// Flips the matching along the path that ends at the unmatched `free`.
    fn flip(&self, mate: &mut [Option<usize>], free: usize) {
        let mut v = Some(free);
        while let Some(x) = v {
            let p = self.parent[x];
            if p == NONE {
                break;
            }
            let next = mate[p];
            mate[x] = Some(p);
            mate[p] = Some(x);
            v = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn adjacency(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<u32>> {
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in edges {
            if a != b && !adj[a].contains(&(b as u32)) {
                adj[a].push(b as u32);
                adj[b].push(a as u32);
            }
        }
        adj
    }

    fn size(mate: &[Option<usize>]) -> usize {
        mate.iter().flatten().count() / 2
    }

    fn is_matching_of(adj: &[Vec<u32>], mate: &[Option<usize>]) -> bool {
        mate.iter()
            .enumerate()
            .all(|(v, m)| m.is_none_or(|u| mate[u] == Some(v) && adj[v].contains(&(u as u32))))
    }

    /// The largest matching, by trying everything.
    fn brute_force(adj: &[Vec<u32>]) -> usize {
        fn go(v: usize, used: &mut [bool], adj: &[Vec<u32>]) -> usize {
            if v == used.len() {
                return 0;
            }
            if used[v] {
                return go(v + 1, used, adj);
            }
            let mut best = go(v + 1, used, adj);
            used[v] = true;
            for &u in &adj[v] {
                let u = u as usize;
                if !used[u] {
                    used[u] = true;
                    best = best.max(1 + go(v + 1, used, adj));
                    used[u] = false;
                }
            }
            used[v] = false;
            best
        }
        go(0, &mut vec![false; adj.len()], adj)
    }

    /// A greedy matching in edge order, as a warm start.
    fn greedy(n: usize, edges: &[(usize, usize)], take: &[bool]) -> Vec<Option<usize>> {
        let mut mate = vec![None; n];
        for (&(a, b), &t) in edges.iter().zip(take.iter().cycle()) {
            if t && a != b && mate[a].is_none() && mate[b].is_none() {
                mate[a] = Some(b);
                mate[b] = Some(a);
            }
        }
        mate
    }

    #[test]
    fn an_odd_cycle_with_a_tail_needs_a_blossom() {
        // Triangle 0-1-2 with 2-3 matched and 0 free, 4 hanging off 1: the
        // path 0-... must go around the blossom to reach 4.
        let edges = [(0, 1), (1, 2), (2, 0), (2, 3), (1, 4), (3, 5)];
        let adj = adjacency(6, &edges);
        let mut mate = vec![None; 6];
        mate[1] = Some(2);
        mate[2] = Some(1);
        mate[3] = Some(5);
        mate[5] = Some(3);
        let added = augment(&adj, &mut mate, 0..6, usize::MAX);
        assert_eq!(added, 1);
        assert_eq!(size(&mate), 3);
        assert!(is_matching_of(&adj, &mate));
    }

    #[test]
    fn a_matching_already_maximum_is_kept_as_it_is() {
        let edges = [(0, 1), (1, 2), (2, 3), (3, 4)];
        let adj = adjacency(5, &edges);
        let mut mate = vec![None, Some(2), Some(1), Some(4), Some(3)];
        let before = mate.clone();
        assert_eq!(augment(&adj, &mut mate, 0..5, usize::MAX), 0);
        assert_eq!(mate, before);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// From any warm start, augmenting from every vertex reaches the
        /// maximum size, keeps a matching of the graph, and never unmatches
        /// a vertex that was matched.
        #[test]
        fn from_any_start_the_matching_grows_to_maximum_size(
            n in 1usize..11,
            raw in prop::collection::vec((0usize..11, 0usize..11), 0..30),
            take in prop::collection::vec(any::<bool>(), 1..8),
        ) {
            let edges: Vec<(usize, usize)> = raw.into_iter().filter(|&(a, b)| a < n && b < n && a != b).collect();
            let adj = adjacency(n, &edges);
            let mut mate = greedy(n, &edges, &take);
            let start = mate.clone();
            let added = augment(&adj, &mut mate, 0..n, usize::MAX);
            prop_assert!(is_matching_of(&adj, &mate));
            prop_assert_eq!(size(&mate), brute_force(&adj));
            prop_assert_eq!(size(&mate), size(&start) + added);
            for v in 0..n {
                prop_assert!(start[v].is_none() || mate[v].is_some(), "vertex {} lost its partner", v);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Larger graphs than brute force can take, with many odd cycles
        /// (blossoms inside blossoms, trees that reach one blossom twice):
        /// the size is the maximum by the weighted matching with unit
        /// weights, whose results carry a certificate of their own.
        #[test]
        fn on_larger_graphs_with_nested_odd_cycles_the_size_is_maximum(
            n in 12usize..41,
            raw in prop::collection::vec((0usize..41, 0usize..41), 10..90),
            take in prop::collection::vec(any::<bool>(), 1..8),
        ) {
            let edges: Vec<(usize, usize)> = raw.into_iter().filter(|&(a, b)| a < n && b < n && a != b).collect();
            let adj = adjacency(n, &edges);
            let unit: Vec<crate::matching::Edge> = edges
                .iter()
                .map(|&(a, b)| crate::matching::Edge { a, b, weight: 1 })
                .collect();
            let (best, certificate) = crate::matching::max_weight_matching_with_certificate(n, &unit, true);
            prop_assert_eq!(crate::matching::verify_optimum(n, &unit, true, &best, &certificate), Ok(()));
            let maximum = size(&best);
            let mut mate = greedy(n, &edges, &take);
            let start = mate.clone();
            let added = augment(&adj, &mut mate, 0..n, usize::MAX);
            prop_assert!(is_matching_of(&adj, &mate));
            prop_assert_eq!(size(&mate), maximum);
            prop_assert_eq!(size(&mate), size(&start) + added);
        }
    }

    #[test]
    fn a_large_sparse_graph_from_an_empty_start_is_matched_perfectly() {
        // A chain of 2,001 triangles, each joined to the next by one edge: a
        // matching leaving one vertex out exists; the searches shrink blossoms.
        let triangles = 2_001;
        let n = 3 * triangles;
        let mut edges = Vec::new();
        for t in 0..triangles {
            let (a, b, c) = (3 * t, 3 * t + 1, 3 * t + 2);
            edges.extend([(a, b), (b, c), (c, a)]);
            if t + 1 < triangles {
                edges.push((c, 3 * (t + 1)));
            }
        }
        let adj = adjacency(n, &edges);
        let mut mate = vec![None; n];
        augment(&adj, &mut mate, 0..n, usize::MAX);
        assert!(is_matching_of(&adj, &mate));
        assert_eq!(size(&mate), n / 2);
        // Asked for ten pairs, it stops at ten.
        let mut mate = vec![None; n];
        assert_eq!(augment(&adj, &mut mate, 0..n, 10), 10);
        assert_eq!(size(&mate), 10);
    }
}

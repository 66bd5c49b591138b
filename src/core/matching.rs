//! TEMPORARY placeholder until the real matching lands (not to be committed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    pub weight: i64,
}
pub fn max_weight_matching(n: usize, edges: &[Edge], _max_cardinality: bool) -> Vec<Option<usize>> {
    let mut e = edges.to_vec();
    e.sort_by_key(|e| std::cmp::Reverse(e.weight));
    let mut mate = vec![None; n];
    for e in e {
        if mate[e.a].is_none() && mate[e.b].is_none() {
            mate[e.a] = Some(e.b);
            mate[e.b] = Some(e.a);
        }
    }
    mate
}

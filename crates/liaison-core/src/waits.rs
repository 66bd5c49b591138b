//! Who waited for a partner, term after term: what each term's plan left
//! unpaired (as the store keeps it), and from it, for each person, the terms
//! in a row they have waited (`History::waited`, the planner's fairness tier).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::pair_keys::MAX_WAIT;
use super::plan::{Plan, UnpairedReason};
use super::plan_input::Person;

/// Why one person was left unpaired in a term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// The planner's reason code (`partners_taken`, `paused`, ...).
    pub reason: String,
    /// Whether the term counts as a wait (every reason but paused or away
    /// the whole term).
    pub wait: bool,
}

/// The final decision of one term: who was left unpaired and why. A later
/// cycle planning the same term replaces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermOutcome {
    pub index: i64,
    pub start: Date,
    /// Email → why they were left unpaired.
    pub unpaired: BTreeMap<String, LeftOut>,
}

impl TermOutcome {
    /// The outcome of `plan`, whose people are `people`.
    pub fn of_plan(people: &[Person], plan: &Plan) -> TermOutcome {
        TermOutcome {
            index: plan.term.index,
            start: plan.term.start,
            unpaired: plan
                .unpaired
                .iter()
                .filter_map(|u| people.get(u.person).map(|p| (p.email.clone(), left_out(&u.reason))))
                .collect(),
        }
    }
}

/// How `reason` is kept in a [`TermOutcome`].
pub fn left_out(reason: &UnpairedReason) -> LeftOut {
    LeftOut {
        reason: reason.code(),
        wait: reason.is_wait(),
    }
}

/// For each person, the terms in a row right before term `term` in which
/// they waited: unpaired for a reason that is a wait, and in no series of
/// that term (`paired`: term index and email of everyone in a series).
/// A term they were paired in, paused or away in, or that has no outcome
/// (liaison did not plan it) ends the run. At most [`MAX_WAIT`]: longer
/// waits weigh no more in the planner. People who did not wait are absent.
pub fn waited(outcomes: &[TermOutcome], paired: &BTreeSet<(i64, String)>, term: i64) -> HashMap<String, u32> {
    let by_index: BTreeMap<i64, &TermOutcome> = outcomes.iter().map(|o| (o.index, o)).collect();
    let mut out = HashMap::new();
    let Some(last) = by_index.get(&(term - 1)) else {
        return out;
    };
    for email in last.unpaired.keys() {
        let mut count = 0;
        let mut t = term - 1;
        while count < MAX_WAIT {
            let Some(outcome) = by_index.get(&t) else { break };
            if paired.contains(&(t, email.clone())) {
                break;
            }
            match outcome.unpaired.get(email) {
                Some(l) if l.wait => count += 1,
                _ => break,
            }
            t -= 1;
        }
        if count > 0 {
            out.insert(email.clone(), count);
        }
    }
    out
}

/// The terms in a row a person unpaired for `reason` this term has waited,
/// this term included: `before` (the terms before it) plus one when the
/// reason is a wait, else 0; at most [`MAX_WAIT`].
pub fn waited_now(before: u32, reason: &UnpairedReason) -> u32 {
    if reason.is_wait() {
        before.saturating_add(1).min(MAX_WAIT)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// A term's outcome from (email, reason code) pairs.
    fn outcome(index: i64, left: &[(&str, &str)]) -> TermOutcome {
        TermOutcome {
            index,
            start: date(2027, 1, 4),
            unpaired: left
                .iter()
                .map(|(e, r)| {
                    let wait = !matches!(*r, "paused" | "away");
                    (
                        e.to_string(),
                        LeftOut {
                            reason: r.to_string(),
                            wait,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn waits_count_the_terms_in_a_row_before_the_planned_one() {
        struct Case {
            name: &'static str,
            outcomes: Vec<TermOutcome>,
            paired: Vec<(i64, &'static str)>,
            term: i64,
            expected: Vec<(&'static str, u32)>,
        }
        let cases = [
            Case {
                name: "one term left out",
                outcomes: vec![outcome(0, &[("a", "partners_taken")])],
                paired: vec![],
                term: 1,
                expected: vec![("a", 1)],
            },
            Case {
                name: "three terms in a row, any reason that is a wait",
                outcomes: vec![
                    outcome(0, &[("a", "no_common_slot")]),
                    outcome(1, &[("a", "calendar_unavailable")]),
                    outcome(2, &[("a", "partners_taken")]),
                ],
                paired: vec![],
                term: 3,
                expected: vec![("a", 3)],
            },
            Case {
                name: "a term paired resets the count",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken")]),
                    outcome(1, &[]),
                    outcome(2, &[("a", "partners_taken")]),
                ],
                paired: vec![],
                term: 3,
                expected: vec![("a", 1)],
            },
            Case {
                name: "a series in the term counts as paired even if listed",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken")]),
                    outcome(1, &[("a", "partners_taken")]),
                ],
                paired: vec![(0, "a")],
                term: 2,
                expected: vec![("a", 1)],
            },
            Case {
                name: "paused does not count and ends the run",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken")]),
                    outcome(1, &[("a", "paused")]),
                    outcome(2, &[("a", "no_free_time")]),
                ],
                paired: vec![],
                term: 3,
                expected: vec![("a", 1)],
            },
            Case {
                name: "paused in the last term: no wait at all",
                outcomes: vec![outcome(0, &[("a", "partners_taken")]), outcome(1, &[("a", "paused")])],
                paired: vec![],
                term: 2,
                expected: vec![],
            },
            Case {
                name: "away the whole term does not count",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken"), ("b", "partners_taken")]),
                    outcome(1, &[("a", "away"), ("b", "partners_taken")]),
                ],
                paired: vec![],
                term: 2,
                expected: vec![("b", 2)],
            },
            Case {
                name: "a term liaison did not plan ends the run",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken")]),
                    outcome(2, &[("a", "partners_taken")]),
                ],
                paired: vec![],
                term: 3,
                expected: vec![("a", 1)],
            },
            Case {
                name: "only terms before the planned one count",
                outcomes: vec![
                    outcome(0, &[("a", "partners_taken")]),
                    outcome(1, &[("a", "partners_taken")]),
                ],
                paired: vec![],
                term: 1,
                expected: vec![("a", 1)],
            },
            Case {
                name: "the count stops at the cap",
                outcomes: (0..12).map(|t| outcome(t, &[("a", "no_common_slot")])).collect(),
                paired: vec![],
                term: 12,
                expected: vec![("a", MAX_WAIT)],
            },
        ];
        for case in cases {
            let paired = case.paired.iter().map(|(t, e)| (*t, e.to_string())).collect();
            let got = waited(&case.outcomes, &paired, case.term);
            let expected: HashMap<String, u32> = case.expected.iter().map(|(e, n)| (e.to_string(), *n)).collect();
            assert_eq!(got, expected, "{}", case.name);
        }
    }

    #[test]
    fn the_wait_shown_includes_this_term_unless_paused_or_away() {
        assert_eq!(waited_now(0, &UnpairedReason::PartnersTaken), 1);
        assert_eq!(waited_now(2, &UnpairedReason::NoCommonSlot), 3);
        assert_eq!(waited_now(3, &UnpairedReason::Paused), 0);
        assert_eq!(waited_now(3, &UnpairedReason::Away), 0);
        assert_eq!(waited_now(MAX_WAIT, &UnpairedReason::NoFreeTime), MAX_WAIT);
    }
}

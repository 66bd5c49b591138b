//! What one planning run reads: the people, the rules, who met whom, and the
//! term's state. Its own module so that the planner's helpers (`pair_keys`,
//! `week_slot`) read it without importing the planner.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::availability::DayWindow;
use super::interval::IntervalSet;
use super::term::Term;

/// One leader, as the planner sees them.
#[derive(Clone, Debug)]
pub struct Person {
    /// Lower-cased.
    pub email: String,
    pub name: String,
    pub unit: String,
    pub timezone_name: String,
    pub timezone: TimeZone,
    pub hours: DayWindow,
    pub days: Vec<Weekday>,
    pub preferred_hours: Option<DayWindow>,
    /// Local dates (in the person's zone) without connections.
    pub away: Vec<Date>,
    pub paused: bool,
}

/// The rules of the configuration that planning depends on.
#[derive(Clone, Debug)]
pub struct PlanRules {
    pub duration: SignedDuration,
    pub granularity: SignedDuration,
    pub buffer: SignedDuration,
    pub min_notice: SignedDuration,
    pub skip_dates: Vec<Date>,
    pub max_busy: Option<SignedDuration>,
    pub cross_unit_only: bool,
    pub avoid_repeat_terms: u32,
    /// Lower-cased emails; empty means everyone.
    pub focus: Vec<String>,
}

/// Who met whom: the last term each pair met and how often each unit pair met.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// (email, email) sorted → index of the last term they met.
    pub last_met: HashMap<(String, String), i64>,
    /// (unit, unit) sorted → number of connections so far.
    pub unit_pairs: HashMap<(String, String), u32>,
    /// email → terms in a row, up to the term planned, that the person was
    /// left unpaired (a term paused or away throughout ends the run).
    pub waited: HashMap<String, u32>,
}

impl History {
    /// Records that `a` and `b` (of units `ua`, `ub`) met in term `term`.
    pub fn record(&mut self, a: &str, b: &str, ua: &str, ub: &str, term: i64) {
        let last = self.last_met.entry(sorted(a, b)).or_insert(term);
        *last = (*last).max(term);
        *self.unit_pairs.entry(sorted(ua, ub)).or_insert(0) += 1;
    }
}

/// Everything one planning run reads. No I/O: the caller has read calendars.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    pub people: &'a [Person],
    /// Busy time per email, or why it could not be read.
    pub busy: &'a BTreeMap<String, Result<IntervalSet, String>>,
    pub term: Term,
    pub now: Timestamp,
    pub rules: &'a PlanRules,
    pub history: &'a History,
    /// People who already have a series this term (they are left alone).
    pub booked: &'a BTreeSet<String>,
    /// Pairs (sorted emails) that must not be paired this term.
    pub excluded_pairs: &'a BTreeSet<(String, String)>,
    /// People re-paired during the term (their series was cancelled): the first
    /// week of the term in which they may have a new occurrence, so that nobody
    /// gets two connections in one week. A pair's series starts at the later of
    /// its slot's first bookable week and both people's weeks here.
    pub not_before_week: &'a BTreeMap<String, u32>,
}

/// The two strings in order, as a key for unordered pairs.
pub fn sorted(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_counts_each_connection_of_a_unit_pair_and_keeps_the_latest_term() {
        let mut history = History::default();
        history.record("b@x", "a@x", "Sales", "Ops", 3);
        history.record("a@x", "b@x", "Ops", "Sales", 1);
        history.record("c@x", "a@x", "Sales", "Ops", 2);
        let key = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(history.last_met[&key("a@x", "b@x")], 3, "the later term is kept");
        assert_eq!(history.last_met[&key("a@x", "c@x")], 2);
        assert_eq!(history.unit_pairs[&key("Ops", "Sales")], 3, "every connection counts");
        assert_eq!(history.unit_pairs.len(), 1);
    }
}

//! `check`: the guard between deciding and applying; refuses what would harm
//! calendars by mistake.

use std::fmt;

use jiff::Timestamp;

use crate::series::SeriesRecord;

use super::action::*;
use super::occurrences::*;

/// The guard's settings.
#[derive(Clone, Copy, Debug)]
pub struct Guard<'a> {
    pub instance: &'a str,
    pub cutoff: Timestamp,
    pub max_cancel_per_cycle: u32,
    /// `run --once --allow-mass-cancel`: the user confirmed this cycle.
    pub allow_mass_cancel: bool,
    /// Series of this installation booked now (for the 10 % rule).
    pub booked: usize,
}

/// Why [`check`] refused an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The event belongs to another installation.
    NotOurs(String),
    /// It would touch an occurrence starting before `now + min_notice`.
    InsideNotice(Timestamp),
    /// The cycle would end or cancel `count` series, more than the limit and
    /// more than 10 % of those booked.
    MassCancel { count: usize, limit: u32, booked: usize },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotOurs(i) => write!(f, "the event belongs to installation {i}"),
            Refusal::InsideNotice(at) => write!(f, "it would change an occurrence at {at}, inside min_notice"),
            Refusal::MassCancel { count, limit, booked } => write!(
                f,
                "this cycle would end or cancel {count} of {booked} booked series, more than \
                 safety.max_cancel_per_cycle = {limit}; nothing was ended. If that is intended, run \
                 `liaison run --once --allow-mass-cancel`"
            ),
        }
    }
}

/// The actions [`check`] let through, and those it refused with the reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub allowed: Vec<Action>,
    pub refused: Vec<(Action, Refusal)>,
}

/// Refuses what would harm calendars by mistake; the rest goes on.
pub fn check(actions: Vec<Action>, guard: &Guard) -> Checked {
    let mut checked = Checked::default();
    let mut removals = Vec::new();
    for action in actions {
        match refusal(&action, guard) {
            Some(why) => checked.refused.push((action, why)),
            None if action.is_removal() => removals.push(action),
            None => checked.allowed.push(action),
        }
    }
    let count = removals.len();
    let over_limit = count > guard.max_cancel_per_cycle as usize;
    let over_share = count * 10 > guard.booked;
    if over_limit && over_share && !guard.allow_mass_cancel {
        let why = Refusal::MassCancel {
            count,
            limit: guard.max_cancel_per_cycle,
            booked: guard.booked,
        };
        checked.refused.extend(removals.into_iter().map(|a| (a, why.clone())));
    } else {
        checked.allowed.extend(removals);
    }
    checked
}

/// Why one action is refused on its own, if it is.
fn refusal(action: &Action, guard: &Guard) -> Option<Refusal> {
    let owner = |r: &SeriesRecord| match &r.instance {
        Some(i) if i != guard.instance => Some(Refusal::NotOurs(i.clone())),
        _ => None,
    };
    let inside = |at: Timestamp| (at < guard.cutoff).then_some(Refusal::InsideNotice(at));
    match action {
        // Every occurrence removed must start after the notice; a moved one
        // inside it could be any of them, so it refuses the removal too.
        Action::End {
            record, until, moved, ..
        } => owner(record).or_else(|| {
            occurrence_starts(&record.request)
                .into_iter()
                .filter(|s| s > until)
                .chain(moved.iter().map(|m| m.start))
                .find_map(inside)
        }),
        Action::Cancel { record, moved, .. } => owner(record).or_else(|| {
            occurrence_starts(&record.request)
                .into_iter()
                .chain(moved.iter().map(|m| m.start))
                .find_map(inside)
        }),
        Action::Move { record, at, .. } => owner(record).or_else(|| inside(at.start)),
        Action::Book { record } => {
            owner(record).or_else(|| occurrence_starts(&record.request).into_iter().find_map(inside))
        }
        Action::Record { .. } | Action::Person { .. } | Action::Occurrence { .. } | Action::Wait { .. } => None,
    }
}

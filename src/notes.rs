//! What a cycle notices on the way (unreadable calendars, unpaired people,
//! actions the guard refused), for `status`; filled as it goes so that a
//! cycle that fails half-way still reports what it saw.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::calendar::BusyAnswer;
use crate::config::Config;
use crate::core::plan::Plan;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpairedPerson {
    pub term: Date,
    pub email: String,
    pub name: String,
    pub unit: String,
    /// Machine-readable reason (`no_common_slot`, `calendar_unavailable`, ...).
    pub reason: String,
    pub message: String,
}

/// What a cycle noticed on the way, filled as it goes so that a cycle that
/// fails half-way still reports what it saw.
#[derive(Clone, Debug, Default)]
pub struct CycleNotes {
    /// Email → why the calendar could not be read (first reason seen).
    pub(crate) unavailable: BTreeMap<String, String>,
    pub(crate) unpaired: Vec<UnpairedPerson>,
    pub(crate) refused: Vec<RefusedAction>,
}

/// An action the safety check refused, for `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedAction {
    pub action: String,
    pub reason: String,
}

impl CycleNotes {
    /// Notes an action the safety check refused.
    pub fn refused(&mut self, action: &crate::core::reconcile::Action, why: &crate::core::reconcile::Refusal) {
        self.refused.push(RefusedAction {
            action: action.to_string(),
            reason: why.to_string(),
        });
    }

    /// Notes the unreadable calendars and the unpaired people of one term.
    pub fn planned(&mut self, cfg: &Config, busy: &BTreeMap<String, BusyAnswer>, plan: &Plan) {
        for (email, answer) in busy {
            if let Err(reason) = answer {
                self.unavailable.entry(email.clone()).or_insert_with(|| reason.clone());
            }
        }
        for u in &plan.unpaired {
            let Some(p) = cfg.people.get(u.person) else { continue };
            // The reason's serde tag is its stable machine-readable name.
            let code = serde_json::to_value(&u.reason)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_string))
                .unwrap_or_default();
            self.unpaired.push(UnpairedPerson {
                term: plan.term.start,
                email: p.email.clone(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                reason: code,
                message: u.reason.to_string(),
            });
        }
    }
}

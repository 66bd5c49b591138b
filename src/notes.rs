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

/// An unpaired person as `status` shows them: with the terms in a row they
/// have waited. Its own type (the person flattened into it, so the JSON is one
/// object) because the notes' entries are built before the waits are known
/// to other modules' tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpairedStatus {
    #[serde(flatten)]
    pub person: UnpairedPerson,
    /// Terms in a row the person has waited, this one included (0 when
    /// paused or away the whole term); absent in files of older versions.
    #[serde(default)]
    pub waited: u32,
}

impl std::ops::Deref for UnpairedStatus {
    type Target = UnpairedPerson;
    fn deref(&self) -> &UnpairedPerson {
        &self.person
    }
}

/// What a cycle noticed on the way, filled as it goes so that a cycle that
/// fails half-way still reports what it saw.
#[derive(Clone, Debug, Default)]
pub struct CycleNotes {
    /// Email → why the calendar could not be read (first reason seen).
    pub(crate) unavailable: BTreeMap<String, String>,
    pub(crate) unpaired: Vec<UnpairedPerson>,
    /// (term, email) → terms in a row waited, this one included.
    pub(crate) waited: BTreeMap<(Date, String), u32>,
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

    /// The unpaired people with the terms in a row they have waited.
    pub fn unpaired_status(&self) -> Vec<UnpairedStatus> {
        self.unpaired
            .iter()
            .map(|u| UnpairedStatus {
                waited: self.waited.get(&(u.term, u.email.clone())).copied().unwrap_or(0),
                person: u.clone(),
            })
            .collect()
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
            self.waited.insert((plan.term.start, p.email.clone()), u.waited);
            self.unpaired.push(UnpairedPerson {
                term: plan.term.start,
                email: p.email.clone(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                reason: u.reason.code(),
                message: u.reason.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpaired_entry_of_status_is_one_object_and_reads_an_older_file_as_not_waited() {
        let entry = UnpairedStatus {
            person: UnpairedPerson {
                term: jiff::civil::date(2027, 3, 8),
                email: "w@x.org".into(),
                name: "W".into(),
                unit: "Sales".into(),
                reason: "no_free_time".into(),
                message: "no free time".into(),
            },
            waited: 2,
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["email"], "w@x.org", "the person's fields are flattened: {json}");
        assert_eq!(json["waited"], 2);
        let mut older = json.clone();
        older.as_object_mut().unwrap().remove("waited");
        let read: UnpairedStatus = serde_json::from_value(older).unwrap();
        assert_eq!(read.waited, 0);
        assert_eq!(read.person, entry.person);
    }
}

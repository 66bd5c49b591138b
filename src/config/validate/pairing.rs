//! `[pairing]`: whether partners must come from different units, how long
//! before a pair may repeat, the people to pair first (`focus`), and after how
//! many declined series a person is paused.

use std::collections::HashSet;

use super::fields::{Ctx, int_field};
use super::people::CheckedPerson;
use crate::config::defaults;
use crate::config::parsers::check_email;
use crate::config::raw::RawPairing;
use crate::config::types::Pairing;

pub(super) fn validate_pairing(ctx: &mut Ctx, raw: &RawPairing, people: &[CheckedPerson]) -> Option<Pairing> {
    let cross_unit_only = raw.cross_unit_only.unwrap_or(defaults::CROSS_UNIT_ONLY);
    if cross_unit_only && !people.is_empty() {
        let mut units: Vec<&str> = people.iter().filter_map(|p| p.unit.as_deref()).collect();
        units.sort_unstable();
        units.dedup();
        let all_units_known = people.iter().all(|p| p.unit.is_some());
        if units.len() < 2 && all_units_known {
            ctx.error(
                None,
                "people",
                format!(
                    "all people are in one unit ({}) but pairing.cross_unit_only is true: add people from another unit",
                    units.first().copied().unwrap_or("")
                ),
            );
        }
    }
    let avoid_repeat_terms = int_field(
        ctx,
        "pairing.avoid_repeat_terms",
        &raw.avoid_repeat_terms,
        defaults::AVOID_REPEAT_TERMS,
        0..=1000,
        "terms",
    );
    let pause_after_declines = int_field(
        ctx,
        "pairing.pause_after_declines",
        &raw.pause_after_declines,
        defaults::PAUSE_AFTER_DECLINES,
        0..=1000,
        "declined series (0 = never pause)",
    );
    let mut focus = Vec::new();
    // Sets, so that a long focus list against many people stays linear.
    let listed: HashSet<&str> = people.iter().filter_map(|p| p.email.as_deref()).collect();
    let mut taken: HashSet<String> = HashSet::new();
    // A person whose own email is invalid has already been reported; do not
    // add a second, confusing "not among people" for it.
    let all_emails_known = people.iter().all(|p| p.email.is_some());
    for v in raw.focus.iter().flatten() {
        match check_email(v.get_ref()) {
            Err(message) => ctx.error(Some(v.span()), "pairing.focus", message),
            Ok(email) => {
                if !listed.contains(email.as_str()) && all_emails_known {
                    ctx.error(
                        Some(v.span()),
                        "pairing.focus",
                        format!("{email} is not among [[people]] (add them or fix the email)"),
                    );
                } else if taken.insert(email.clone()) {
                    focus.push(email);
                }
            }
        }
    }
    Some(Pairing {
        cross_unit_only,
        avoid_repeat_terms: avoid_repeat_terms?,
        focus,
        pause_after_declines: pause_after_declines?,
    })
}

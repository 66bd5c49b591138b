//! Validation: from the raw structs to the typed [`Config`], one checker per
//! table (`schedule`, `meeting`, `calendar`, `people`, `pairing`) and the
//! top-level keys here. Validation never stops at the first problem: each
//! checker records every error in the [`Ctx`] and returns `None` for what it
//! could not build, and the caller assembles a `Config` only when every part
//! is there.
//!
//! `fields` holds the collector and the readers of single values; the
//! checkers use it and the value parsers, never this module.

mod caldav;
mod calendar;
mod fields;
mod meeting;
mod microsoft;
mod pairing;
mod people;
mod schedule;
#[cfg(test)]
mod tests;

pub use calendar::derived_instance;
pub(super) use fields::Ctx;

use std::path::PathBuf;

use crate::config::defaults;
use crate::config::locate::{Env, default_state_dir};
use crate::config::raw::RawConfig;
use crate::config::types::{Config, Safety};
use calendar::validate_calendar;
use fields::{int_field, path_field, zone_field};
use meeting::validate_meeting;
use pairing::validate_pairing;
use people::validate_people;
use schedule::validate_schedule;

/// Checks the whole file: the top-level keys here, each table in its module,
/// and builds the `Config` when nothing was wrong.
pub(super) fn validate(ctx: &mut Ctx, raw: RawConfig, env: &Env) -> Option<Config> {
    let base = match ctx.path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };

    let state_dir = match path_field(ctx, "state_dir", &raw.state_dir, &base, env) {
        Some(dir) => Some(dir),
        None if raw.state_dir.is_some() => None,
        None => {
            let default = default_state_dir(env);
            if default.is_none() {
                ctx.error(
                    None,
                    "state_dir",
                    "no default: none of $STATE_DIRECTORY, $XDG_STATE_HOME, $HOME is set (set state_dir)",
                );
            }
            default
        }
    };

    let zone = match &raw.timezone {
        Some(tz) => zone_field(ctx, "timezone", tz),
        None => {
            ctx.error(
                None,
                "timezone",
                "missing: the zone for people who name none (write e.g. timezone = \"Europe/Berlin\")",
            );
            None
        }
    };

    let schedule = validate_schedule(ctx, &raw.schedule);
    let (meeting, inherited) = validate_meeting(ctx, &raw.meeting, &raw.calendar);
    let calendar = validate_calendar(ctx, &raw.calendar, &raw.people, &base, env);
    let people = validate_people(ctx, &raw, zone.as_ref(), &inherited);
    let pairing = validate_pairing(ctx, &raw.pairing, &people);
    let max_cancel_per_cycle = int_field(
        ctx,
        "safety.max_cancel_per_cycle",
        &raw.safety.max_cancel_per_cycle,
        defaults::MAX_CANCEL_PER_CYCLE,
        0..=100_000,
        "series a cycle may end or cancel without confirmation",
    );

    let (timezone_name, timezone) = zone?;
    let people = people.into_iter().map(|p| p.person).collect::<Option<Vec<_>>>()?;
    // Entries that say `paused = false` in so many words (same order as `people`).
    let never_paused = raw
        .people
        .iter()
        .zip(&people)
        .filter(|(raw, _)| raw.get_ref().paused == Some(false))
        .map(|(_, p)| p.email.clone())
        .collect();
    Some(Config {
        never_paused,
        path: ctx.path.to_path_buf(),
        state_dir: state_dir?,
        timezone_name,
        timezone,
        schedule: schedule?,
        meeting: meeting?,
        pairing: pairing?,
        calendar: calendar?,
        safety: Safety {
            max_cancel_per_cycle: max_cancel_per_cycle?,
        },
        people,
    })
}

//! `[[people]]`: each person's email (unique, compared ignoring case), name,
//! unit (spelled one way), zone, and their own hours, days, preferred hours
//! and away dates, or what they inherit from `[meeting]`.

use std::collections::HashMap;
use std::ops::Range;

use jiff::tz::TimeZone;
use serde_spanned::Spanned;

use super::fields::{Ctx, date_list, days_field, window_field, zone_field};
use super::meeting::Inherited;
use crate::config::parsers::{check_email, intersect, show_window, window_length, within};
use crate::config::raw::RawConfig;
use crate::config::types::Person;

/// A person as validated, with what later checks need even when the person
/// as a whole is invalid.
pub(super) struct CheckedPerson {
    /// A syntactically valid email, even when it duplicates an earlier one.
    pub(super) email: Option<String>,
    pub(super) unit: Option<String>,
    pub(super) person: Option<Person>,
}

pub(super) fn validate_people(
    ctx: &mut Ctx,
    raw: &RawConfig,
    zone: Option<&(String, TimeZone)>,
    meeting: &Inherited,
) -> Vec<CheckedPerson> {
    if raw.people.is_empty() {
        ctx.error(
            None,
            "people",
            "no people listed (add [[people]] tables with email, name and unit)",
        );
    }
    // Emails seen so far (lower-cased) with the line of their first use.
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Unit spellings seen so far, keyed by lower case, to catch "Sales" vs "sales".
    let mut unit_spellings: HashMap<String, (String, usize)> = HashMap::new();
    let mut checked = Vec::new();
    for (i, spanned) in raw.people.iter().enumerate() {
        let p = spanned.get_ref();
        let whole = Some(spanned.span());
        let key = |field: &str| format!("people[{i}].{field}");

        let mut duplicate = false;
        let email = match &p.email {
            None => {
                ctx.error(
                    whole.clone(),
                    &key("email"),
                    "missing (write email = \"name@example.com\")",
                );
                None
            }
            Some(v) => match check_email(v.get_ref()) {
                Err(message) => {
                    ctx.error(Some(v.span()), &key("email"), message);
                    None
                }
                Ok(email) => {
                    let line = ctx.line_of(v.span().start);
                    if let Some(first) = seen.get(&email) {
                        ctx.error(
                            Some(v.span()),
                            &key("email"),
                            format!(
                                "{email} is listed twice (first at line {first}; emails are compared ignoring case)"
                            ),
                        );
                        duplicate = true;
                    } else {
                        seen.insert(email.clone(), line);
                    }
                    Some(email)
                }
            },
        };
        let name = required_text(ctx, &key("name"), &p.name, &whole, "write name = \"Ana Lima\"");
        let unit = required_text(ctx, &key("unit"), &p.unit, &whole, "write unit = \"Finance\"");
        if let (Some(unit), Some(v)) = (&unit, &p.unit) {
            let line = ctx.line_of(v.span().start);
            match unit_spellings.get(&unit.to_lowercase()) {
                Some((first, first_line)) if first != unit => ctx.error(
                    Some(v.span()),
                    &key("unit"),
                    format!(
                        "{unit:?} differs only in case from {first:?} (line {first_line}); spell a unit the same way everywhere"
                    ),
                ),
                Some(_) => {}
                None => {
                    unit_spellings.insert(unit.to_lowercase(), (unit.clone(), line));
                }
            }
        }
        let person_zone = match &p.timezone {
            Some(v) => zone_field(ctx, &key("timezone"), v),
            None => zone.cloned(),
        };
        let hours = match &p.hours {
            Some(_) => window_field(ctx, &key("hours"), &p.hours, ""),
            None => meeting.hours,
        };
        if let (Some(h), Some(duration), Some(v)) = (hours, meeting.duration, &p.hours)
            && window_length(h) < duration
        {
            ctx.error(
                Some(v.span()),
                &key("hours"),
                format!("{} is shorter than meeting.duration {duration:#}", show_window(h),),
            );
        }
        let days = match &p.days {
            Some(_) => days_field(ctx, &key("days"), &p.days),
            None => meeting.days.clone(),
        };
        let preferred_hours = match &p.preferred_hours {
            Some(v) => {
                let preferred = window_field(ctx, &key("preferred_hours"), &p.preferred_hours, "");
                if let (Some(pref), Some(h)) = (preferred, hours)
                    && !within(pref, h)
                {
                    ctx.error(
                        Some(v.span()),
                        &key("preferred_hours"),
                        format!(
                            "{} is not inside this person's hours {}",
                            show_window(pref),
                            show_window(h)
                        ),
                    );
                }
                preferred.map(Some)
            }
            // The meeting-wide preference is a soft default: clipped to the
            // person's own hours rather than an error they never wrote.
            None => match (meeting.preferred_hours, hours) {
                (Ok(preferred), Some(h)) => Some(preferred.and_then(|p| intersect(p, h))),
                _ => None,
            },
        };
        let away = date_list(ctx, &key("away"), &p.away);

        let person = match (
            person_zone,
            email.clone(),
            name,
            unit.clone(),
            hours,
            days,
            preferred_hours,
        ) {
            (
                Some((timezone_name, timezone)),
                Some(email),
                Some(name),
                Some(unit),
                Some(hours),
                Some(days),
                Some(preferred_hours),
            ) => Some(Person {
                email,
                name,
                unit,
                timezone_name,
                timezone,
                hours,
                days,
                preferred_hours,
                away,
                paused: p.paused.unwrap_or(false),
            }),
            _ => None,
        }
        .filter(|_| !duplicate);
        checked.push(CheckedPerson { email, unit, person });
    }
    checked
}

fn required_text(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<String>>,
    whole: &Option<Range<usize>>,
    hint: &str,
) -> Option<String> {
    match value {
        None => {
            ctx.error(whole.clone(), key, format!("missing ({hint})"));
            None
        }
        Some(v) if v.get_ref().trim().is_empty() => {
            ctx.error(Some(v.span()), key, format!("is empty ({hint})"));
            None
        }
        Some(v) => Some(v.get_ref().trim().to_string()),
    }
}

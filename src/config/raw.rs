//! The raw structs: the file as written, deserialized by serde before any
//! check. Every field is optional (a missing key gets its default or an error
//! in `validate`), most are wrapped in [`Spanned`] so that a message can name
//! the line, and every table refuses unknown keys so that a typo is an error,
//! not a silently ignored setting.

use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) state_dir: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) schedule: RawSchedule,
    #[serde(default)]
    pub(super) meeting: RawMeeting,
    #[serde(default)]
    pub(super) pairing: RawPairing,
    #[serde(default)]
    pub(super) calendar: RawCalendar,
    #[serde(default)]
    pub(super) safety: RawSafety,
    #[serde(default)]
    pub(super) people: Vec<Spanned<RawPerson>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSafety {
    pub(super) max_cancel_per_cycle: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) term_weeks: Option<Spanned<i64>>,
    pub(super) first_term: Option<Spanned<toml::Value>>,
    pub(super) book_ahead: Option<Spanned<String>>,
    pub(super) cycle_every: Option<Spanned<String>>,
    pub(super) min_notice: Option<Spanned<String>>,
    pub(super) skip_dates: Option<Vec<Spanned<toml::Value>>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeeting {
    pub(super) duration: Option<Spanned<String>>,
    pub(super) granularity: Option<Spanned<String>>,
    pub(super) buffer: Option<Spanned<String>>,
    pub(super) hours: Option<Spanned<String>>,
    pub(super) days: Option<Spanned<toml::Value>>,
    pub(super) preferred_hours: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) description: Option<Spanned<String>>,
    pub(super) send_updates: Option<Spanned<String>>,
    pub(super) conference: Option<Spanned<String>>,
    pub(super) location: Option<Spanned<String>>,
    pub(super) max_busy_hours: Option<Spanned<toml::Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPairing {
    pub(super) cross_unit_only: Option<bool>,
    pub(super) avoid_repeat_terms: Option<Spanned<i64>>,
    pub(super) focus: Option<Vec<Spanned<String>>>,
    pub(super) pause_after_declines: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) provider: Option<Spanned<String>>,
    pub(super) instance: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) google: RawGoogle,
    pub(super) microsoft: Option<RawMicrosoft>,
    pub(super) local: Option<RawLocal>,
    pub(super) caldav: Option<RawCaldav>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCaldav {
    pub(super) url: Option<Spanned<String>>,
    pub(super) username: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) organizer: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) organizer_calendar: Option<Spanned<String>>,
    pub(super) busy: Option<Spanned<String>>,
    pub(super) deliver: Option<Spanned<String>>,
    pub(super) requests_per_second: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMicrosoft {
    pub(super) tenant: Option<Spanned<String>>,
    pub(super) client_id: Option<Spanned<String>>,
    pub(super) auth: Option<Spanned<String>>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    pub(super) organizer: Option<Spanned<String>>,
    pub(super) api_base_url: Option<Spanned<String>>,
    pub(super) login_base_url: Option<Spanned<String>>,
    pub(super) requests_per_second: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoogle {
    pub(super) auth: Option<Spanned<String>>,
    pub(super) client_secret: Option<Spanned<String>>,
    pub(super) service_account_key: Option<Spanned<String>>,
    pub(super) impersonate: Option<Spanned<String>>,
    pub(super) organizer: Option<Spanned<String>>,
    pub(super) api_base_url: Option<Spanned<String>>,
    pub(super) requests_per_second: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLocal {
    pub(super) dir: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    pub(super) email: Option<Spanned<String>>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) unit: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) hours: Option<Spanned<String>>,
    pub(super) days: Option<Spanned<toml::Value>>,
    pub(super) preferred_hours: Option<Spanned<String>>,
    pub(super) away: Option<Vec<Spanned<toml::Value>>>,
    pub(super) paused: Option<bool>,
    pub(super) calendar: Option<Spanned<String>>,
}

/// serde's messages name Rust types ("expected i64", "expected struct
/// RawMeeting"); say what to write in TOML instead.
pub(super) fn plain_toml_message(message: &str) -> String {
    let mut out = message
        .trim_end()
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace(
            "recursion limit",
            "keys nested too deeply (more dotted parts than the parser allows)",
        )
        // How the toml crate hands a date to serde, seen where a table belongs.
        .replace(
            "unknown field `$__toml_private_datetime`, expected",
            "a date or time is not a table here; expected a table with",
        );
    while let Some(start) = out.find("struct Raw") {
        let name_end = out[start + "struct ".len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |i| start + "struct ".len() + i);
        out.replace_range(start..name_end, "a table");
    }
    out
}

/// The line of a TOML error that carries no position (the parser's limit on
/// the depth of dotted keys): the first line after which the text fails with
/// the same message, found by bisection over the lines.
pub(super) fn line_of_unplaced(text: &str, message: &str) -> Option<usize> {
    let ends: Vec<usize> = text
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain([text.len()])
        .collect();
    let fails = |line: usize| {
        let prefix = ends.get(line).and_then(|&end| text.get(..end)).unwrap_or(text);
        matches!(toml::from_str::<RawConfig>(prefix), Err(e) if e.span().is_none() && e.message() == message)
    };
    // Invariant: the text up to line `hi` (0-based) fails that way.
    let (mut lo, mut hi) = (0, ends.len().checked_sub(1)?);
    if !fails(hi) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(hi + 1)
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{EXAMPLE, assigned_key, check_error, full_key, people_with, section};

    // These tests skip rustfmt so that each case stays on one line, as a table.

    #[test]
    #[rustfmt::skip]
    fn an_unknown_key_is_an_error_with_its_line() {
        check_error(r#"meeting.hourz = "09:00-17:00""#, Some(1), "", "unknown field `hourz`");
        check_error(r#"colour = "blue""#, Some(1), "", "unknown field `colour`");
        check_error(&people_with(r#"zone = "UTC""#), Some(1), "", "unknown field `zone`");
    }

    #[test]
    #[rustfmt::skip]
    fn a_value_of_the_wrong_type_is_an_error_with_its_line() {
        check_error(r#"schedule.term_weeks = "4""#, Some(1), "", r#"invalid type: string "4", expected an integer"#);
        check_error("meeting = 3", Some(1), "", "invalid type: integer `3`, expected a table");
        check_error(r#"schedule.skip_dates = "2026-12-25""#, Some(1), "", "expected an array");
        // Found by the fuzz tests (tests/fuzz): an internal serde name was shown.
        check_error("meeting = 2026-01-05", Some(1), "", "a date or time is not a table here; expected a table with one of `duration`");
    }

    #[test]
    fn the_example_documents_every_key() {
        let mut documented = Vec::new();
        let mut current = String::new();
        for line in EXAMPLE.lines() {
            if let Some(s) = section(line) {
                current = s;
            }
            for prefix in ["", "# ", "#"] {
                if let Some(k) = assigned_key(line, prefix) {
                    documented.push(full_key(&current, k));
                }
            }
        }
        let keys = [
            "state_dir",
            "timezone",
            "schedule.term_weeks",
            "schedule.first_term",
            "schedule.book_ahead",
            "schedule.cycle_every",
            "schedule.min_notice",
            "schedule.skip_dates",
            "meeting.duration",
            "meeting.granularity",
            "meeting.buffer",
            "meeting.hours",
            "meeting.days",
            "meeting.preferred_hours",
            "meeting.title",
            "meeting.description",
            "meeting.send_updates",
            "meeting.conference",
            "meeting.location",
            "meeting.max_busy_hours",
            "pairing.cross_unit_only",
            "pairing.avoid_repeat_terms",
            "pairing.focus",
            "pairing.pause_after_declines",
            "calendar.provider",
            "calendar.instance",
            "safety.max_cancel_per_cycle",
            "calendar.google.auth",
            "calendar.google.client_secret",
            "calendar.google.service_account_key",
            "calendar.google.impersonate",
            "calendar.google.organizer",
            "calendar.google.api_base_url",
            "calendar.google.requests_per_second",
            "calendar.microsoft.tenant",
            "calendar.microsoft.client_id",
            "calendar.microsoft.auth",
            "calendar.microsoft.client_secret_file",
            "calendar.microsoft.organizer",
            "calendar.microsoft.api_base_url",
            "calendar.microsoft.login_base_url",
            "calendar.microsoft.requests_per_second",
            "calendar.local.dir",
            "calendar.caldav.url",
            "calendar.caldav.username",
            "calendar.caldav.password_file",
            "calendar.caldav.organizer",
            "calendar.caldav.ca_file",
            "calendar.caldav.organizer_calendar",
            "calendar.caldav.busy",
            "calendar.caldav.deliver",
            "calendar.caldav.requests_per_second",
            "people.email",
            "people.name",
            "people.unit",
            "people.timezone",
            "people.hours",
            "people.days",
            "people.preferred_hours",
            "people.away",
            "people.paused",
            "people.calendar",
        ];
        let missing: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !documented.iter().any(|d| d == k))
            .collect();
        assert!(missing.is_empty(), "undocumented keys: {missing:?}");
    }
}

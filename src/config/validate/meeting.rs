//! `[meeting]`: the length, grid and buffer of a meeting, the working window and
//! days, the templates of its title and description, how invitations go out,
//! and the busy-hours cap. It also hands people what they inherit from it
//! ([`Inherited`]).

use jiff::SignedDuration;
use jiff::civil::Weekday;
use serde_spanned::Spanned;

use super::fields::{
    Ctx, Invalid, Optional, days_field, duration_field, enum_field, span_of, template_field, window_field,
};
use crate::config::defaults;
use crate::config::parsers::{Sign, parse_busy_hours, show_window, window_length, within};
use crate::config::raw::{RawCalendar, RawMeeting};
use crate::config::types::{Conference, DayWindow, Meeting, SendUpdates};

/// What people inherit from `[meeting]`, each part on its own so that one bad
/// meeting key does not hide the checks of every person's own keys.
pub(super) struct Inherited {
    pub(super) duration: Option<SignedDuration>,
    pub(super) hours: Option<DayWindow>,
    pub(super) days: Option<Vec<Weekday>>,
    pub(super) preferred_hours: Optional<DayWindow>,
}

pub(super) fn validate_meeting(
    ctx: &mut Ctx,
    raw: &RawMeeting,
    calendar: &RawCalendar,
) -> (Option<Meeting>, Inherited) {
    let duration = duration_field(
        ctx,
        "meeting.duration",
        &raw.duration,
        defaults::DURATION,
        Sign::Positive,
    );
    if let Some(d) = duration
        && (d.subsec_nanos() != 0 || d.as_secs() % 60 != 0)
    {
        ctx.error(
            span_of(&raw.duration),
            "meeting.duration",
            format!("{d:#} is not a whole number of minutes"),
        );
    }
    let granularity = duration_field(
        ctx,
        "meeting.granularity",
        &raw.granularity,
        defaults::GRANULARITY,
        Sign::Positive,
    );
    if let Some(g) = granularity {
        // Candidate starts are multiples of the granularity from midnight, so
        // it must be whole minutes and divide the day evenly; otherwise the
        // grid would drift from day to day.
        let day = SignedDuration::from_hours(24);
        let whole_minutes = g.subsec_nanos() == 0 && g.as_secs() % 60 == 0;
        if !whole_minutes || g > day || day.as_secs() % g.as_secs() != 0 {
            ctx.error(
                span_of(&raw.granularity),
                "meeting.granularity",
                format!("{g:#} does not divide a day into whole minutes (write e.g. \"5m\", \"15m\", \"30m\", \"1h\")"),
            );
        }
    }
    let buffer = duration_field(ctx, "meeting.buffer", &raw.buffer, defaults::BUFFER, Sign::NonNegative);
    let hours = window_field(ctx, "meeting.hours", &raw.hours, defaults::HOURS);
    if let (Some(hours), Some(duration)) = (hours, duration)
        && window_length(hours) < duration
    {
        let at = raw.hours.as_ref().or(raw.duration.as_ref()).map(Spanned::span);
        ctx.error(
            at,
            "meeting.hours",
            format!("{} is shorter than meeting.duration {duration:#}", show_window(hours)),
        );
    }
    let days = days_field(ctx, "meeting.days", &raw.days);
    let preferred_hours: Optional<DayWindow> = match &raw.preferred_hours {
        None => Ok(None),
        Some(_) => {
            let preferred = window_field(ctx, "meeting.preferred_hours", &raw.preferred_hours, "");
            if let (Some(p), Some(h)) = (preferred, hours)
                && !within(p, h)
            {
                ctx.error(
                    span_of(&raw.preferred_hours),
                    "meeting.preferred_hours",
                    format!("{} is not inside meeting.hours {}", show_window(p), show_window(h)),
                );
            }
            preferred.map(Some).ok_or(Invalid)
        }
    };
    let title = template_field(ctx, "meeting.title", &raw.title, defaults::TITLE);
    if title.trim().is_empty() {
        ctx.error(span_of(&raw.title), "meeting.title", "is empty (write a title)");
    }
    let description = template_field(ctx, "meeting.description", &raw.description, defaults::DESCRIPTION);
    let send_updates = enum_field(
        ctx,
        "meeting.send_updates",
        &raw.send_updates,
        defaults::SEND_UPDATES,
        &[
            ("all", SendUpdates::All),
            ("externalOnly", SendUpdates::ExternalOnly),
            ("none", SendUpdates::None),
        ],
    );
    let conference = enum_field(
        ctx,
        "meeting.conference",
        &raw.conference,
        defaults::CONFERENCE,
        &[
            ("none", Conference::None),
            ("google_meet", Conference::GoogleMeet),
            ("teams", Conference::Teams),
        ],
    );
    let provider = calendar
        .provider
        .as_ref()
        .map_or(defaults::PROVIDER, |p| p.get_ref().as_str())
        .trim();
    let needs = match conference {
        Some(Conference::GoogleMeet) => Some(("google_meet", "google")),
        Some(Conference::Teams) => Some(("teams", "microsoft")),
        _ => None,
    };
    if let Some((name, needed)) = needs
        && !provider.eq_ignore_ascii_case(needed)
    {
        ctx.error(
            span_of(&raw.conference),
            "meeting.conference",
            format!("{name} needs calendar.provider = \"{needed}\" (write conference = \"none\")"),
        );
    }
    let location = raw
        .location
        .as_ref()
        .map(|l| l.get_ref().trim().to_string())
        .filter(|l| !l.is_empty());
    let max_busy_hours: Optional<SignedDuration> = match &raw.max_busy_hours {
        None => Ok(None),
        Some(value) => parse_busy_hours(value.get_ref()).map(Some).map_err(|message| {
            ctx.error(Some(value.span()), "meeting.max_busy_hours", message);
            Invalid
        }),
    };
    let inherited = Inherited {
        duration,
        hours,
        days: days.clone(),
        preferred_hours,
    };
    let meeting = (|| {
        Some(Meeting {
            duration: duration?,
            granularity: granularity?,
            buffer: buffer?,
            hours: hours?,
            days: days?,
            preferred_hours: preferred_hours.ok()?,
            title,
            description,
            send_updates: send_updates?,
            conference: conference?,
            location,
            max_busy_hours: max_busy_hours.ok()?,
        })
    })();
    (meeting, inherited)
}

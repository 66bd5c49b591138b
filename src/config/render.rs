//! What liaison shows from a valid configuration: [`render`] fills in the
//! placeholders of a meeting's title and description, [`summary`] is the
//! overview `liaison check` prints.

use std::collections::BTreeMap;

use jiff::Span;
use jiff::civil::Date;

use super::parsers::placeholders;
use super::types::{CaldavBusy, CaldavDeliver, Config, GoogleAuth, MicrosoftAuth, Person, ProviderKind};

/// Expands the placeholders `{a.name}`, `{a.unit}`, `{b.name}`, `{b.unit}` and
/// `{weeks}` in a meeting title or description. Anything else is copied as is
/// (`load` has already refused unknown placeholders).
pub fn render(template: &str, a: &Person, b: &Person, weeks: u32) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = 0;
    for (range, name) in placeholders(template) {
        let value = match name {
            "a.name" => a.name.clone(),
            "a.unit" => a.unit.clone(),
            "b.name" => b.name.clone(),
            "b.unit" => b.unit.clone(),
            "weeks" => weeks.to_string(),
            _ => continue,
        };
        out.push_str(&template[rest..range.start]);
        out.push_str(&value);
        rest = range.end;
    }
    out.push_str(&template[rest..]);
    out
}

/// A human summary of a valid configuration, for `liaison check`.
pub fn summary(cfg: &Config, today: Date) -> String {
    let mut out = String::new();
    let paused = cfg.people.iter().filter(|p| p.paused).count();
    let mut units: BTreeMap<&str, usize> = BTreeMap::new();
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    for person in &cfg.people {
        *units.entry(&person.unit).or_default() += 1;
        *zones.entry(&person.timezone_name).or_default() += 1;
    }
    let counted = |map: &BTreeMap<&str, usize>| {
        map.iter()
            .map(|(name, n)| format!("{name} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push_str(&format!("config:    {}\n", cfg.path.display()));
    out.push_str(&format!("people:    {}", cfg.people.len()));
    if paused > 0 {
        out.push_str(&format!(" ({paused} paused)"));
    }
    out.push('\n');
    out.push_str(&format!("units:     {}: {}\n", units.len(), counted(&units)));
    out.push_str(&format!("zones:     {}\n", counted(&zones)));
    let provider = match cfg.calendar.provider {
        ProviderKind::Local => match &cfg.calendar.local {
            Some(local) => format!("local ({})", local.dir.display()),
            None => "local".to_string(),
        },
        ProviderKind::Google => {
            let auth = match cfg.calendar.google.auth {
                GoogleAuth::Installed => "installed app",
                GoogleAuth::ServiceAccount => "service account",
            };
            format!("google ({auth}, organizer calendar {})", cfg.calendar.google.organizer)
        }
        ProviderKind::Microsoft => match &cfg.calendar.microsoft {
            Some(m) => {
                let auth = match m.auth {
                    MicrosoftAuth::DeviceCode => "device code, delegated",
                    MicrosoftAuth::ClientCredentials => "client credentials, app-only",
                };
                format!(
                    "microsoft ({auth}, tenant {}, app {}, organizer mailbox {})",
                    m.tenant, m.client_id, m.organizer
                )
            }
            None => "microsoft".to_string(),
        },
        ProviderKind::Caldav => match &cfg.calendar.caldav {
            Some(c) => {
                let busy = match c.busy {
                    CaldavBusy::FreeBusyQuery => "free-busy-query",
                    CaldavBusy::CalendarQuery => "calendar-query",
                    CaldavBusy::ScheduleOutbox => "schedule-outbox",
                };
                let deliver = match c.deliver {
                    CaldavDeliver::Scheduling => "scheduling",
                    CaldavDeliver::WriteEach => "write-each",
                };
                let calendar = c.organizer_calendar.as_deref().unwrap_or("found by discovery");
                format!(
                    "caldav ({} as {}, organizer {}, calendar {calendar}, busy by {busy}, delivery by {deliver}, {} \
                     requests/s)",
                    c.url, c.username, c.organizer, c.requests_per_second
                )
            }
            None => "caldav".to_string(),
        },
    };
    out.push_str(&format!("calendar:  {provider}\n"));
    let how = if cfg.calendar.instance_explicit {
        "set"
    } else {
        "derived from the organizer and this file's path"
    };
    out.push_str(&format!("instance:  {} ({how})\n", cfg.calendar.instance));
    out.push_str(&format!("state dir: {}\n", cfg.state_dir.display()));
    let weeks = cfg.schedule.term_weeks;
    let plural = if weeks == 1 { "" } else { "s" };
    let next = match next_term_start(cfg.schedule.first_term, weeks, today) {
        Some(date) => format!("next term starts {} {date}", date.strftime("%A")),
        None => "next term start is out of range".to_string(),
    };
    out.push_str(&format!("terms:     {weeks} week{plural}; {next}\n"));
    out
}

fn next_term_start(first: Date, term_weeks: u32, today: Date) -> Option<Date> {
    if today <= first {
        return Some(first);
    }
    let days = first.duration_until(today).as_hours() / 24;
    let period = i64::from(term_weeks.max(1)) * 7;
    let terms = (days + period - 1) / period;
    first.checked_add(Span::new().try_days(terms * period).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::config::defaults;
    use crate::config::test_support::{EXAMPLE, parse_example, valid};

    #[test]
    fn render_fills_in_both_people_and_the_term_length() {
        let cfg = valid("");
        let (a, b) = (&cfg.people[0], &cfg.people[1]);
        assert_eq!(
            render(defaults::TITLE, a, b, 4),
            "Connection: Ana (Finance) & Ben (Sales)"
        );
        let description = render(defaults::DESCRIPTION, a, b, 4);
        assert!(
            description.starts_with("Ana (Finance) and Ben (Sales) meet once a week for 4 weeks"),
            "{description}"
        );
        assert!(!description.contains('{'), "{description}");
        assert_eq!(render("{x} {weeks} {a.name", a, b, 1), "{x} 1 {a.name");
    }

    #[test]
    fn summary_counts_people_units_zones_and_finds_the_next_term() {
        let cfg = parse_example(EXAMPLE);
        let text = summary(&cfg, date(2026, 1, 6));
        assert!(text.contains("people:    5\n"), "{text}");
        assert!(
            text.contains("units:     3: Finance (2), Operations (1), Sales (2)"),
            "{text}"
        );
        assert!(
            text.contains("zones:     America/New_York (2), Europe/Berlin (3)"),
            "{text}"
        );
        assert!(text.contains("calendar:  local (/etc/liaison/calendars)"), "{text}");
        assert!(text.contains("state dir: /home/u/.local/state/liaison"), "{text}");
        assert!(
            text.contains("terms:     4 weeks; next term starts Monday 2026-02-02"),
            "{text}"
        );
        assert!(summary(&cfg, date(2026, 2, 2)).contains("starts Monday 2026-02-02"));
        assert!(summary(&cfg, date(2025, 6, 1)).contains("starts Monday 2026-01-05"));
    }
}

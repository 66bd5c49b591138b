//! The default of every optional key, in the file's own syntax: the one place
//! where they are written. They go through the same parsers as values from
//! the file, so a bad default would be reported like a bad value (and the
//! tests would catch it); `config.example.toml` shows them, and a test checks
//! that the two agree.

pub const TERM_WEEKS: i64 = 4;
pub const BOOK_AHEAD: &str = "7d";
pub const CYCLE_EVERY: &str = "15m";
pub const MIN_NOTICE: &str = "24h";
pub const DURATION: &str = "30m";
pub const GRANULARITY: &str = "15m";
pub const BUFFER: &str = "5m";
pub const HOURS: &str = "09:00-17:00";
pub const DAYS: &str = "mon-fri";
pub const TITLE: &str = "Connection: {a.name} ({a.unit}) & {b.name} ({b.unit})";
pub const DESCRIPTION: &str = "{a.name} ({a.unit}) and {b.name} ({b.unit}) meet once a week for {weeks} \
weeks to build a partnership between their units; then partners rotate.\n\
\n\
Agenda prompts:\n\
- Each of you: your current goals.\n\
- Where could {a.unit} and {b.unit} partner?\n\
- One thing each of you could do for the other.";
pub const SEND_UPDATES: &str = "all";
pub const CONFERENCE: &str = "none";
pub const CROSS_UNIT_ONLY: bool = true;
pub const AVOID_REPEAT_TERMS: i64 = 6;
pub const PAUSE_AFTER_DECLINES: i64 = 3;
pub const PROVIDER: &str = "google";
pub const AUTH: &str = "installed";
pub const ORGANIZER: &str = "primary";
pub const REQUESTS_PER_SECOND: i64 = 5;
pub const MAX_CANCEL_PER_CYCLE: i64 = 5;
pub const MICROSOFT_AUTH: &str = "device_code";
pub const MICROSOFT_ORGANIZER: &str = "me";
/// Graph allows 10,000 requests per 10 minutes per app and mailbox (about 16
/// a second) and four at once; liaison's are sequential, at most this many a
/// second (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits).
pub const MICROSOFT_REQUESTS_PER_SECOND: i64 = 4;
/// A CalDAV server is often a small machine of the organization's own: ten
/// requests a second keeps liaison a polite client of it.
pub const CALDAV_REQUESTS_PER_SECOND: i64 = 10;
pub const CALDAV_BUSY: &str = "free-busy-query";
pub const CALDAV_DELIVER: &str = "scheduling";

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jiff::SignedDuration;
    use jiff::civil::{Weekday, date, time};

    use crate::config::defaults;
    use crate::config::test_support::{
        EXAMPLE, PATH, assigned_key, full_key, parse_doc, parse_example, section, valid,
    };
    use crate::config::{Conference, DayWindow, GoogleAuth, ProviderKind, SendUpdates};

    /// The example with every "# key = value" default uncommented (with the
    /// continuation lines of a multi-line string), except keys the example
    /// sets for real (or only the key `only`). Returns the text and the keys
    /// uncommented.
    fn uncomment_defaults(example: &str, only: Option<&str>) -> (String, Vec<String>) {
        let lines: Vec<&str> = example.lines().collect();
        let mut active = Vec::new();
        let mut current = String::new();
        for line in &lines {
            if let Some(s) = section(line) {
                current = s;
            }
            if let Some(k) = assigned_key(line, "") {
                active.push(full_key(&current, k));
            }
        }
        let mut out = Vec::new();
        let mut keys = Vec::new();
        let mut current = String::new();
        let mut in_string = false;
        for line in &lines {
            if let Some(s) = section(line) {
                current = s;
            }
            if in_string {
                let text = line
                    .strip_prefix("# ")
                    .or_else(|| line.strip_prefix('#'))
                    .unwrap_or(line);
                in_string = !text.contains("\"\"\"");
                out.push(text.to_string());
                continue;
            }
            match assigned_key(line, "# ") {
                Some(k)
                    if !active.contains(&full_key(&current, k)) && only.is_none_or(|o| o == full_key(&current, k)) =>
                {
                    keys.push(full_key(&current, k));
                    let text = &line[2..];
                    in_string = text.matches("\"\"\"").count() == 1;
                    out.push(text.to_string());
                }
                _ => out.push(line.to_string()),
            }
        }
        (out.join("\n"), keys)
    }

    #[test]
    fn a_minimal_file_gets_every_default() {
        let cfg = valid("");
        assert_eq!(cfg.path, Path::new(PATH));
        assert_eq!(cfg.timezone_name, "Europe/Berlin");
        assert_eq!(cfg.state_dir, Path::new("/home/u/.local/state/liaison"));
        assert_eq!(cfg.schedule.term_weeks, 4);
        assert_eq!(cfg.schedule.first_term, date(2026, 1, 5));
        assert_eq!(cfg.schedule.book_ahead, SignedDuration::from_hours(7 * 24));
        assert_eq!(cfg.schedule.cycle_every, SignedDuration::from_mins(15));
        assert_eq!(cfg.schedule.min_notice, SignedDuration::from_hours(24));
        assert!(cfg.schedule.skip_dates.is_empty());
        let m = &cfg.meeting;
        assert_eq!(m.duration, SignedDuration::from_mins(30));
        assert_eq!(m.granularity, SignedDuration::from_mins(15));
        assert_eq!(m.buffer, SignedDuration::from_mins(5));
        assert_eq!(
            m.hours,
            DayWindow {
                start: time(9, 0, 0, 0),
                end: time(17, 0, 0, 0)
            }
        );
        assert_eq!(
            m.days,
            vec![
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday
            ]
        );
        assert_eq!(m.preferred_hours, None);
        assert_eq!(m.title, defaults::TITLE);
        assert_eq!(m.description, defaults::DESCRIPTION);
        assert_eq!(m.send_updates, SendUpdates::All);
        assert_eq!(m.conference, Conference::None);
        assert_eq!(m.location, None);
        assert_eq!(m.max_busy_hours, None);
        assert!(cfg.pairing.cross_unit_only);
        assert_eq!(cfg.pairing.avoid_repeat_terms, 6);
        assert!(cfg.pairing.focus.is_empty());
        assert_eq!(cfg.pairing.pause_after_declines, 3);
        assert_eq!(cfg.calendar.provider, ProviderKind::Local);
        let g = &cfg.calendar.google;
        assert_eq!(g.auth, GoogleAuth::Installed);
        assert_eq!(g.organizer, "primary");
        assert_eq!(g.api_base_url, None);
        assert_eq!(g.requests_per_second, 5);
        assert_eq!(cfg.people.len(), 2);
        let ana = &cfg.people[0];
        assert_eq!(
            (ana.email.as_str(), ana.name.as_str(), ana.unit.as_str()),
            ("ana@example.com", "Ana", "Finance")
        );
        assert_eq!(ana.timezone_name, "Europe/Berlin");
        assert_eq!(ana.hours, m.hours);
        assert_eq!(ana.days, m.days);
        assert!(!ana.paused);
    }

    #[test]
    fn the_defaults_shown_in_the_example_are_the_code_defaults() {
        let (uncommented, keys) = uncomment_defaults(EXAMPLE, None);
        // Guard against the helper silently finding nothing to compare.
        assert!(keys.len() >= 20, "only {} defaults found: {keys:?}", keys.len());
        let as_shipped = format!("{:?}", parse_example(EXAMPLE));
        let with_defaults = format!("{:?}", parse_example(&uncommented));
        if as_shipped != with_defaults {
            // Name the keys rather than print two long Debug dumps.
            let differing: Vec<&String> = keys
                .iter()
                .filter(|k| {
                    let (one, _) = uncomment_defaults(EXAMPLE, Some(k));
                    format!("{:?}", parse_example(&one)) != as_shipped
                })
                .collect();
            panic!("config.example.toml shows a default that differs from the code's: {differing:?}");
        }
        // The one default the example overrides for real, to run out of the box.
        assert!(EXAMPLE.contains(&format!("# provider = \"{}\"\n", defaults::PROVIDER)));
        let google = parse_doc("-calendar.provider\ncalendar.google.client_secret = \"c.json\"");
        assert_eq!(google.map(|c| c.calendar.provider), Ok(ProviderKind::Google));
    }
}

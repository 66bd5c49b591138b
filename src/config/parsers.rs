//! Value parsers: the formats of the file's values, as pure functions. Each
//! returns the message for a bad value (with a hint of what to write); the
//! caller in `validate` adds the file, line and key.
//!
//! Formats (the example file documents them for users):
//! - durations: jiff's "friendly" format with units `w`, `d`, `h`, `m`, `s`,
//!   e.g. `"30m"`, `"1h30m"`, `"7d"`; a day is 24 hours; months and years are
//!   refused because their length varies.
//! - windows: `"HH:MM-HH:MM"` in the person's own zone, start before end, not
//!   crossing midnight.
//! - days: a string of day names and ranges separated by commas, e.g.
//!   `"mon-fri"`, `"mon,wed,fri"`, `"sun-thu"` (ranges run forward and may wrap
//!   past Sunday), or an array of such strings, e.g. `["mon", "tue"]`.
//! - dates: TOML dates (`2026-01-05`) or strings (`"2026-01-05"`).
//! - zones: IANA names, e.g. `"Europe/Berlin"`, in any case.
//! - emails, `http(s)` URLs, instance names, paths (relative to the file's
//!   directory, `~/` for the home directory), and the `{placeholders}` of the
//!   meeting templates.

use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo};

use super::locate::Env;
use super::types::DayWindow;

const WINDOW_HINT: &str = r#"(write "HH:MM-HH:MM", e.g. "09:00-17:00")"#;
const DURATION_HINT: &str = r#"(write e.g. "30m", "1h30m", "7d"; units w, d, h, m, s)"#;
const DAYS_HINT: &str = r#"(write e.g. "mon-fri", "mon,wed,fri" or ["mon", "tue"])"#;
const DATE_HINT: &str = "(write YYYY-MM-DD, e.g. 2026-01-05)";

/// The placeholders a meeting title or description may use (`render` fills
/// them in).
pub(super) const PLACEHOLDERS: [&str; 5] = ["a.name", "a.unit", "b.name", "b.unit", "weeks"];

/// How a duration may be signed.
#[derive(Clone, Copy)]
pub(super) enum Sign {
    Positive,
    NonNegative,
}

/// Parses a duration with jiff's friendly parser. It is parsed as a `Span`
/// (not a `SignedDuration`, which refuses day units) and converted with days
/// of 24 hours; months and years have no fixed length and are refused.
pub(super) fn parse_duration(text: &str, sign: Sign) -> Result<SignedDuration, String> {
    let span: Span = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration {DURATION_HINT}"))?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("{text:?}: months and years are not allowed here {DURATION_HINT}"))?;
    match sign {
        Sign::Positive if duration <= SignedDuration::ZERO => {
            Err(format!("{text:?} must be longer than zero {DURATION_HINT}"))
        }
        Sign::NonNegative if duration < SignedDuration::ZERO => {
            Err(format!("{text:?} must not be negative {DURATION_HINT}"))
        }
        _ => Ok(duration),
    }
}

pub(super) fn parse_window(text: &str) -> Result<DayWindow, String> {
    let Some((start, end)) = text.split_once('-') else {
        return Err(format!("{text:?} is not a time window {WINDOW_HINT}"));
    };
    let start = parse_hhmm(start).map_err(|m| format!("{text:?}: start {m} {WINDOW_HINT}"))?;
    let end = parse_hhmm(end).map_err(|m| format!("{text:?}: end {m} {WINDOW_HINT}"))?;
    if end < start {
        return Err(format!(
            "end {} is before start {} {WINDOW_HINT}",
            show_time(end),
            show_time(start)
        ));
    }
    if end == start {
        return Err(format!(
            "end {} equals start: the window is empty {WINDOW_HINT}",
            show_time(end)
        ));
    }
    Ok(DayWindow { start, end })
}

/// `HH:MM` (or `H:MM`), 00:00 to 23:59.
fn parse_hhmm(text: &str) -> Result<Time, String> {
    let text = text.trim();
    let (h, m) = text.split_once(':').ok_or_else(|| format!("{text:?} is not HH:MM"))?;
    let digits = |s: &str, max_len: usize| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(format!("{text:?} is not HH:MM"));
    }
    let hour: i8 = h.parse().map_err(|_| format!("{text:?} is not HH:MM"))?;
    let minute: i8 = m.parse().map_err(|_| format!("{text:?} is not HH:MM"))?;
    if hour > 23 || minute > 59 {
        return Err(format!("{text:?} is not a time of day (00:00 to 23:59)"));
    }
    Time::new(hour, minute, 0, 0).map_err(|_| format!("{text:?} is not a time of day"))
}

pub(super) fn parse_days(value: &toml::Value) -> Result<Vec<Weekday>, String> {
    let mut parts: Vec<&str> = Vec::new();
    match value {
        toml::Value::String(s) => parts.extend(s.split(',')),
        toml::Value::Array(items) => {
            for item in items {
                match item {
                    toml::Value::String(s) => parts.extend(s.split(',')),
                    other => return Err(format!("{other} is not a day name {DAYS_HINT}")),
                }
            }
        }
        other => return Err(format!("{other} is not a list of days {DAYS_HINT}")),
    }
    // Indexed Monday = 0, so that the result comes out sorted Monday first.
    let mut set = [false; 7];
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('-') {
            None => set[day_index(part)?] = true,
            Some((from, to)) => {
                // Ranges run forward through the week and wrap past Sunday,
                // so "sun-thu" is the working week of e.g. Israel.
                let (from, to) = (day_index(from)?, day_index(to)?);
                let mut i = from;
                loop {
                    set[i] = true;
                    if i == to {
                        break;
                    }
                    i = (i + 1) % 7;
                }
            }
        }
    }
    let days: Vec<Weekday> = (0..7i8)
        .filter(|&i| set[i as usize])
        .filter_map(|i| Weekday::from_monday_zero_offset(i).ok())
        .collect();
    if days.is_empty() {
        return Err(format!("lists no day {DAYS_HINT}"));
    }
    Ok(days)
}

fn day_index(name: &str) -> Result<usize, String> {
    let lower = name.trim().to_ascii_lowercase();
    let index = match lower.as_str() {
        "mon" | "monday" => 0,
        "tue" | "tues" | "tuesday" => 1,
        "wed" | "wednesday" => 2,
        "thu" | "thur" | "thurs" | "thursday" => 3,
        "fri" | "friday" => 4,
        "sat" | "saturday" => 5,
        "sun" | "sunday" => 6,
        _ => return Err(format!("{:?} is not a day name {DAYS_HINT}", name.trim())),
    };
    Ok(index)
}

pub(super) fn parse_date(value: &toml::Value) -> Result<Date, String> {
    match value {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                let (y, m, day) = (
                    i16::try_from(d.year).ok(),
                    i8::try_from(d.month).ok(),
                    i8::try_from(d.day).ok(),
                );
                match (y, m, day) {
                    (Some(y), Some(m), Some(day)) => {
                        Date::new(y, m, day).map_err(|_| format!("{dt} is not a date {DATE_HINT}"))
                    }
                    _ => Err(format!("{dt} is not a date {DATE_HINT}")),
                }
            }
            _ => Err(format!("{dt} is not a plain date {DATE_HINT}")),
        },
        toml::Value::String(s) => {
            Date::strptime("%Y-%m-%d", s.trim()).map_err(|_| format!("{s:?} is not a date {DATE_HINT}"))
        }
        other => Err(format!("{other} is not a date {DATE_HINT}")),
    }
}

/// An IANA zone name, compared ignoring case, with its canonical spelling
/// (`"america/new_york"` gives `America/New_York`).
pub(super) fn parse_zone(text: &str) -> Result<(String, TimeZone), String> {
    let name = text.trim();
    match TimeZone::get(name) {
        Ok(tz) => {
            let canonical = tz.iana_name().unwrap_or(name).to_string();
            Ok((canonical, tz))
        }
        Err(_) => Err(format!(
            "unknown time zone {name:?} (write an IANA zone name, e.g. \"Europe/Berlin\" or \"America/New_York\")"
        )),
    }
}

/// `meeting.max_busy_hours`: a number of hours (whole or not) or a duration,
/// more than zero and at most a day.
pub(super) fn parse_busy_hours(value: &toml::Value) -> Result<SignedDuration, String> {
    let parsed = match value {
        // Range-checked before converting: `from_hours` panics on
        // overflow, and a huge number is only out of range.
        toml::Value::Integer(h) if (1..=24).contains(h) => Ok(SignedDuration::from_hours(*h)),
        toml::Value::Integer(_) => Ok(SignedDuration::ZERO),
        toml::Value::Float(h) => {
            SignedDuration::try_from_secs_f64(h * 3600.0).map_err(|_| format!("{h} is not a number of hours"))
        }
        toml::Value::String(s) => parse_duration(s, Sign::Positive),
        other => Err(format!("{other} is not a number of hours (write e.g. 6 or \"5h30m\")")),
    };
    parsed.and_then(|d| {
        if d > SignedDuration::ZERO && d <= SignedDuration::from_hours(24) {
            Ok(d)
        } else {
            Err(format!(
                "{value} is out of range: must be more than 0 and at most 24 hours"
            ))
        }
    })
}

/// A syntax check that catches typos, not a full RFC 5322 parser: the calendar
/// provider is the authority on whether an address exists, and no maintained
/// crate in the project's dependencies does more that would matter here.
pub(super) fn check_email(text: &str) -> Result<String, String> {
    let email = text.trim();
    let bad = || format!("{email:?} is not an email address (write e.g. \"ana@example.com\")");
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(bad());
    }
    // RFC 5321's limit: longer ones cannot be delivered, and two of them
    // must fit Google's 1024-character property value (`liaison_pair`).
    if email.len() > 254 {
        return Err(format!(
            "{email:?} is longer than 254 characters, the limit of an email address"
        ));
    }
    Ok(email.to_lowercase())
}

pub(super) fn resolve_path(text: &str, base: &Path, env: &Env) -> PathBuf {
    if let (Some(rest), Some(home)) = (text.strip_prefix("~/"), env.home.as_ref()) {
        return home.join(rest);
    }
    let path = Path::new(text);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    // Drop `.` components so that `dir = "."` shows as the directory itself.
    // `..` stays: resolving it by hand would be wrong across symlinks.
    let cleaned: PathBuf = joined
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

/// A URL liaison sends requests to (`calendar.google.api_base_url`, the
/// `auth_uri` and `token_uri` of credential files), parsed with the `url`
/// crate: `https://`, or plain `http://` only to this machine (127.0.0.0/8,
/// `::1`, `localhost`), where a test server or a local proxy may listen;
/// tokens and calendars never cross a network in the clear. No spaces (a
/// client library would choke on them later), no user or password in it.
pub fn endpoint_url(text: &str) -> Result<url::Url, String> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{text:?} contains a space or control character"));
    }
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{text:?} contains a user or password; put credentials in the credential files"
        ));
    }
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!("{text:?} is not an http(s) URL (scheme {scheme:?})"));
    }
    // http(s) URLs always have a host (the parser refuses them without one).
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if scheme == "http" && !loopback {
        return Err(format!(
            "{text:?} is plain http to another machine; use https:// (plain http:// only to 127.0.0.1, ::1 or localhost)"
        ));
    }
    Ok(url)
}

/// `calendar.google.api_base_url`: an [`endpoint_url`], surrounding spaces
/// trimmed as for every value of the configuration.
pub(super) fn check_url(text: &str) -> Result<String, String> {
    endpoint_url(text.trim()).map(String::from)
}

/// A `calendar.instance` name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
pub(super) fn check_instance(text: &str) -> Result<(), String> {
    let name = text.trim();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not 1 to 64 letters, digits, '-', '_' or '.' (write e.g. instance = \"hq-liaison\")"
        ))
    }
}

/// Placeholders `{name}` in a template, where `name` is letters, digits, `_`
/// and `.`; any other brace is plain text.
pub(super) fn placeholders(template: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let bytes = template.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'{' {
                let start = i;
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j] == b'}' && j > start + 1 {
                    i = j + 1;
                    return Some((start..j + 1, &template[start + 1..j]));
                }
            }
            i += 1;
        }
        None
    })
}

// Windows of the day.

pub(super) fn window_length(w: DayWindow) -> SignedDuration {
    w.start.duration_until(w.end)
}

pub(super) fn within(inner: DayWindow, outer: DayWindow) -> bool {
    inner.start >= outer.start && inner.end <= outer.end
}

pub(super) fn intersect(a: DayWindow, b: DayWindow) -> Option<DayWindow> {
    let start = a.start.max(b.start);
    let end = a.end.min(b.end);
    (start < end).then_some(DayWindow { start, end })
}

fn show_time(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

pub(super) fn show_window(w: DayWindow) -> String {
    format!("{}-{}", show_time(w.start), show_time(w.end))
}

#[cfg(test)]
mod tests {
    use jiff::civil::{date, time};

    use super::*;

    fn window(h1: i8, m1: i8, h2: i8, m2: i8) -> DayWindow {
        DayWindow {
            start: time(h1, m1, 0, 0),
            end: time(h2, m2, 0, 0),
        }
    }

    fn days(text: &str) -> Result<Vec<Weekday>, String> {
        parse_days(&toml::Value::String(text.into()))
    }

    #[test]
    fn durations_have_24_hour_days_and_the_asked_sign() {
        assert_eq!(
            parse_duration("1h30m", Sign::Positive),
            Ok(SignedDuration::from_mins(90))
        );
        assert_eq!(
            parse_duration(" 2w ", Sign::Positive),
            Ok(SignedDuration::from_hours(336))
        );
        assert_eq!(parse_duration("0s", Sign::NonNegative), Ok(SignedDuration::ZERO));
        let err = |text, sign| parse_duration(text, sign).unwrap_err();
        assert!(err("0s", Sign::Positive).contains("must be longer than zero"));
        assert!(err("-1m", Sign::NonNegative).contains("must not be negative"));
        assert!(err("1y", Sign::Positive).contains("months and years are not allowed"));
        assert!(err("30", Sign::Positive).contains("is not a duration (write e.g."));
    }

    #[test]
    fn windows_are_hh_mm_ranges_within_one_day() {
        assert_eq!(parse_window("9:00-17:30"), Ok(window(9, 0, 17, 30)));
        assert_eq!(parse_window(" 08:15 - 12:00 "), Ok(window(8, 15, 12, 0)));
        assert_eq!(parse_window("00:00-23:59"), Ok(window(0, 0, 23, 59)));
        let err = |text| parse_window(text).unwrap_err();
        assert!(err("09:00-9:5").contains("is not HH:MM"));
        assert!(err("009:00-10:00").contains("is not HH:MM"));
        assert!(err("09:60-10:00").contains("is not a time of day"));
        assert!(err("22:00-02:00").contains("is before start"));
        assert_eq!(show_window(window(9, 5, 17, 0)), "09:05-17:00");
    }

    #[test]
    fn window_arithmetic() {
        let (morning, day) = (window(9, 0, 12, 0), window(9, 0, 17, 0));
        assert_eq!(window_length(morning), SignedDuration::from_hours(3));
        assert!(within(morning, day) && within(day, day) && !within(day, morning));
        assert_eq!(intersect(window(8, 0, 10, 0), day), Some(window(9, 0, 10, 0)));
        // Windows that only touch share nothing.
        assert_eq!(intersect(morning, window(12, 0, 13, 0)), None);
    }

    #[test]
    fn days_are_names_ranges_and_lists() {
        use Weekday::*;
        assert_eq!(days("Sat-Mon"), Ok(vec![Monday, Saturday, Sunday]));
        assert_eq!(days("wed-wed"), Ok(vec![Wednesday]));
        assert_eq!(days("friday, ,Tues"), Ok(vec![Tuesday, Friday]));
        let list = toml::Value::Array(vec!["thu".into(), "mon,tue".into()]);
        assert_eq!(parse_days(&list), Ok(vec![Monday, Tuesday, Thursday]));
        assert!(days("").unwrap_err().contains("lists no day"));
        assert!(days("mon-fry").unwrap_err().contains("\"fry\" is not a day name"));
    }

    #[test]
    fn dates_are_plain_toml_dates_or_strings() {
        let toml_date = |text: &str| toml::Value::Datetime(text.parse().unwrap());
        assert_eq!(parse_date(&toml_date("2026-01-05")), Ok(date(2026, 1, 5)));
        assert_eq!(parse_date(&" 2028-02-29 ".into()), Ok(date(2028, 2, 29)));
        assert!(parse_date(&"2026-02-29".into()).unwrap_err().contains("is not a date"));
        assert!(
            parse_date(&toml_date("2026-01-05T09:00:00"))
                .unwrap_err()
                .contains("is not a plain date")
        );
        assert!(
            parse_date(&toml::Value::Integer(20260105))
                .unwrap_err()
                .contains("is not a date")
        );
    }

    #[test]
    fn zones_and_busy_hours() {
        assert_eq!(
            parse_zone(" europe/berlin ").map(|(name, _)| name),
            Ok("Europe/Berlin".to_string())
        );
        assert!(
            parse_zone("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone \"Mars/Olympus\"")
        );
        let busy = parse_busy_hours;
        assert_eq!(busy(&toml::Value::Integer(6)), Ok(SignedDuration::from_hours(6)));
        assert_eq!(busy(&toml::Value::Float(5.5)), Ok(SignedDuration::from_mins(330)));
        assert_eq!(busy(&"90m".into()), Ok(SignedDuration::from_mins(90)));
        assert_eq!(busy(&"1d".into()), Ok(SignedDuration::from_hours(24)));
        assert!(busy(&toml::Value::Integer(25)).unwrap_err().contains("out of range"));
        assert!(busy(&toml::Value::Float(0.0)).unwrap_err().contains("out of range"));
        assert!(busy(&"25h".into()).unwrap_err().contains("out of range"));
        assert!(
            busy(&toml::Value::Boolean(true))
                .unwrap_err()
                .contains("is not a number of hours")
        );
    }

    #[test]
    fn endpoints_need_https_except_to_this_machine() {
        for good in [
            "https://oauth2.googleapis.com/token",
            "https://proxy.example.org:8443/google/",
            "http://127.0.0.1:8080/token",
            "http://127.1.2.3/",
            "http://[::1]:9000/calendar/v3/",
            "http://localhost:9000",
            "http://LOCALHOST/x",
        ] {
            assert!(endpoint_url(good).is_ok(), "{good}");
        }
        let cases = [
            ("https://oauth2.googleapis.com/token ", "contains a space"),
            (" https://oauth2.googleapis.com/token", "contains a space"),
            ("https://oauth2.googleapis.com/to ken", "contains a space"),
            ("https://x.test/\t", "control character"),
            ("https://x.test/\u{7}", "control character"),
            ("http://oauth2.googleapis.com/token", "plain http to another machine"),
            ("http://10.0.0.5/", "plain http to another machine"),
            ("http://localhost.example.org/", "plain http to another machine"),
            ("http://[::2]/", "plain http to another machine"),
            ("ftp://127.0.0.1/", "not an http(s) URL"),
            ("file:///etc/passwd", "not an http(s) URL"),
            ("oauth2.googleapis.com/token", "is not a URL"),
            ("https://", "is not a URL"),
            ("https://user:secret@x.test/", "user or password"),
            ("", "is not a URL"),
        ];
        for (bad, expected) in cases {
            let err = endpoint_url(bad).unwrap_err();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
    }

    #[test]
    fn emails_urls_and_instance_names() {
        assert_eq!(check_email(" Ana@Example.COM "), Ok("ana@example.com".to_string()));
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a@b@c.d",
            "a@.b.c",
            "a@b.c.",
            "a@b..c",
            "a b@c.d",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(check_url(" https://x.test/ "), Ok("https://x.test/".to_string()));
        for bad in ["http://", "ftp://x.test/", "x.test", "http://a b/"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        for good in ["hq-liaison", "a.b_c-1", &"a".repeat(64)] {
            assert_eq!(check_instance(good), Ok(()), "{good}");
        }
        for bad in ["", " ", "a/b", "hq liaison", &"a".repeat(65)] {
            assert!(check_instance(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_resolve_against_the_base_and_home() {
        let env = Env {
            home: Some(PathBuf::from("/home/u")),
            ..Env::default()
        };
        let base = Path::new("/srv/liaison");
        assert_eq!(resolve_path("~/key.json", base, &env), Path::new("/home/u/key.json"));
        assert_eq!(resolve_path("/abs/./x", base, &env), Path::new("/abs/x"));
        assert_eq!(resolve_path("./a/./b", base, &env), Path::new("/srv/liaison/a/b"));
        assert_eq!(resolve_path("../c", base, &env), Path::new("/srv/liaison/../c"));
        // Without a home directory `~/` is an ordinary relative path.
        assert_eq!(
            resolve_path("~/k", base, &Env::default()),
            Path::new("/srv/liaison/~/k")
        );
    }

    #[test]
    fn placeholders_are_braced_names() {
        let found = |text| placeholders(text).collect::<Vec<_>>();
        assert_eq!(found("Hi {a.name}!"), vec![(3..11, "a.name")]);
        assert_eq!(found("{weeks}{b_2}"), vec![(0..7, "weeks"), (7..12, "b_2")]);
        assert!(found("{} {a name} {a.name").is_empty());
    }
}

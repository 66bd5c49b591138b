//! Configuration: finding the file, reading it, and turning it into a validated
//! [`Config`].
//!
//! The TOML text is first deserialized into *raw* structs that mirror the file
//! (every field optional, most wrapped in [`Spanned`] so that a message can name
//! the line), then validated field by field into the typed [`Config`] of
//! `types.rs`. Validation never stops at the first problem: every error in the
//! file is collected and reported together, each with the file, the line, the
//! key and what to write instead. Only syntax errors, unknown keys and values of
//! the wrong TOML type stop early, because the TOML parser reports those one at
//! a time.
//!
//! Defaults live in one place, the [`defaults`] module, and go through the same
//! parsers as values from the file; `config.example.toml` documents them and a
//! test checks that the two agree.
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

mod types;
pub use types::*;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo};
use serde::Deserialize;
use serde_spanned::Spanned;

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// The environment variables that choose the default `state_dir`. A struct
/// rather than direct `std::env` reads so that tests can state them.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `$STATE_DIRECTORY`, set by systemd's `StateDirectory=`; may hold several
    /// paths separated by colons, of which the first is used.
    pub state_directory: Option<PathBuf>,
    /// `$XDG_STATE_HOME`.
    pub xdg_state_home: Option<PathBuf>,
    /// `$HOME`; also used to expand a leading `~/` in paths.
    pub home: Option<PathBuf>,
}

impl Env {
    /// Reads the variables of the running process. Empty values count as
    /// unset, as the XDG base directory specification asks.
    pub fn from_process() -> Env {
        Env {
            state_directory: env_path("STATE_DIRECTORY"),
            xdg_state_home: env_path("XDG_STATE_HOME"),
            home: env_path("HOME"),
        }
    }
}

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// The key concerned, e.g. `meeting.hours` or `people[3].timezone`.
    pub key: Option<String>,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    fn single(path: &Path, message: String) -> ConfigErrors {
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message,
        }])
    }
}

/// Reads and validates the configuration file at `path`, taking the default
/// state directory from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::single(path, format!("cannot read the configuration file: {e}")))?;
    // Relative paths in the file are resolved against the file's directory.
    // Making that directory absolute here keeps the resolved paths valid even
    // if the daemon later runs with another working directory.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    parse(&text, &absolute, &Env::from_process())
}

/// Validates configuration `text` read from `path` (used for messages and to
/// resolve relative paths). Pure: reads no file and no environment.
pub fn parse(text: &str, path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx {
        path,
        text,
        errors: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map(|span| ctx.line_of(span.start));
            ctx.errors.push(ConfigError {
                path: path.to_path_buf(),
                line,
                key: None,
                message: plain_toml_message(e.message()),
            });
            return Err(ConfigErrors(ctx.errors));
        }
    };
    let config = validate(&mut ctx, raw, env);
    match config {
        Some(config) if ctx.errors.is_empty() => Ok(config),
        _ => {
            if ctx.errors.is_empty() {
                // Every `None` above comes with an error; this is a safety net
                // so that a missed case can never pass as a valid config.
                ctx.errors.push(ConfigError {
                    path: path.to_path_buf(),
                    line: None,
                    key: None,
                    message: "internal error: configuration rejected without a reason".into(),
                });
            }
            // Stable sort: errors without a line (missing keys) come first,
            // the rest in file order, each line's errors in validation order.
            ctx.errors.sort_by_key(|e| e.line);
            Err(ConfigErrors(ctx.errors))
        }
    }
}

/// Finds the configuration file: `explicit` (from `--config`), then
/// `$LIAISON_CONFIG`, then `$XDG_CONFIG_HOME/liaison/config.toml` (or
/// `$HOME/.config/liaison/config.toml`), then `/etc/liaison/config.toml`.
/// An explicit path is returned as is, so that `load` reports it if missing.
pub fn find_config_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigErrors> {
    find_config_path_in(
        explicit,
        env_path("LIAISON_CONFIG"),
        env_path("XDG_CONFIG_HOME"),
        env_path("HOME"),
        |p| p.is_file(),
    )
}

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

// ---------------------------------------------------------------------------
// Defaults: the one place where they are written.
// ---------------------------------------------------------------------------

/// The default of every optional key, in the file's own syntax. They go through
/// the same parsers as values from the file, so a bad default would be reported
/// like a bad value (and the tests would catch it).
pub mod defaults {
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
}

// ---------------------------------------------------------------------------
// Raw structs: the file as written. Every table refuses unknown keys so that a
// typo is an error, not a silently ignored setting.
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    state_dir: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    schedule: RawSchedule,
    #[serde(default)]
    meeting: RawMeeting,
    #[serde(default)]
    pairing: RawPairing,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    safety: RawSafety,
    #[serde(default)]
    people: Vec<Spanned<RawPerson>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafety {
    max_cancel_per_cycle: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    term_weeks: Option<Spanned<i64>>,
    first_term: Option<Spanned<toml::Value>>,
    book_ahead: Option<Spanned<String>>,
    cycle_every: Option<Spanned<String>>,
    min_notice: Option<Spanned<String>>,
    skip_dates: Option<Vec<Spanned<toml::Value>>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeeting {
    duration: Option<Spanned<String>>,
    granularity: Option<Spanned<String>>,
    buffer: Option<Spanned<String>>,
    hours: Option<Spanned<String>>,
    days: Option<Spanned<toml::Value>>,
    preferred_hours: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    send_updates: Option<Spanned<String>>,
    conference: Option<Spanned<String>>,
    location: Option<Spanned<String>>,
    max_busy_hours: Option<Spanned<toml::Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPairing {
    cross_unit_only: Option<bool>,
    avoid_repeat_terms: Option<Spanned<i64>>,
    focus: Option<Vec<Spanned<String>>>,
    pause_after_declines: Option<Spanned<i64>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    provider: Option<Spanned<String>>,
    instance: Option<Spanned<String>>,
    #[serde(default)]
    google: RawGoogle,
    local: Option<RawLocal>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoogle {
    auth: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    service_account_key: Option<Spanned<String>>,
    impersonate: Option<Spanned<String>>,
    organizer: Option<Spanned<String>>,
    api_base_url: Option<Spanned<String>>,
    requests_per_second: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    dir: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    email: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    hours: Option<Spanned<String>>,
    days: Option<Spanned<toml::Value>>,
    preferred_hours: Option<Spanned<String>>,
    away: Option<Vec<Spanned<toml::Value>>>,
    paused: Option<bool>,
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

const WINDOW_HINT: &str = r#"(write "HH:MM-HH:MM", e.g. "09:00-17:00")"#;
const DURATION_HINT: &str = r#"(write e.g. "30m", "1h30m", "7d"; units w, d, h, m, s)"#;
const DAYS_HINT: &str = r#"(write e.g. "mon-fri", "mon,wed,fri" or ["mon", "tue"])"#;
const DATE_HINT: &str = "(write YYYY-MM-DD, e.g. 2026-01-05)";
const PLACEHOLDERS: [&str; 5] = ["a.name", "a.unit", "b.name", "b.unit", "weeks"];

/// Collects errors and turns byte offsets into line numbers.
struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// Records an error at `span` (or without a line for keys that are absent).
    fn error(&mut self, span: Option<Range<usize>>, key: &str, message: impl Into<String>) {
        let line = span.map(|s| self.line_of(s.start));
        self.errors.push(ConfigError {
            path: self.path.to_path_buf(),
            line,
            key: Some(key.to_string()),
            message: message.into(),
        });
    }
}

/// A value taken from the file, or the default when the key is absent (then
/// without a span: there is no line to point at).
fn or_default<'a>(value: &'a Option<Spanned<String>>, default: &'a str) -> (&'a str, Option<Range<usize>>) {
    match value {
        Some(v) => (v.get_ref().as_str(), Some(v.span())),
        None => (default, None),
    }
}

fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

/// How a duration may be signed.
#[derive(Clone, Copy)]
enum Sign {
    Positive,
    NonNegative,
}

fn duration_field(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<String>>,
    default: &str,
    sign: Sign,
) -> Option<SignedDuration> {
    let (text, span) = or_default(value, default);
    match parse_duration(text, sign) {
        Ok(d) => Some(d),
        Err(message) => {
            ctx.error(span, key, message);
            None
        }
    }
}

fn window_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<String>>, default: &str) -> Option<DayWindow> {
    let (text, span) = or_default(value, default);
    match parse_window(text) {
        Ok(w) => Some(w),
        Err(message) => {
            ctx.error(span, key, message);
            None
        }
    }
}

fn days_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<toml::Value>>) -> Option<Vec<Weekday>> {
    let result = match value {
        Some(v) => parse_days(v.get_ref()),
        None => parse_days(&toml::Value::String(defaults::DAYS.to_string())),
    };
    match result {
        Ok(days) => Some(days),
        Err(message) => {
            ctx.error(span_of(value), key, message);
            None
        }
    }
}

fn zone_field(ctx: &mut Ctx, key: &str, value: &Spanned<String>) -> Option<(String, TimeZone)> {
    let name = value.get_ref().trim();
    match TimeZone::get(name) {
        Ok(tz) => {
            let canonical = tz.iana_name().unwrap_or(name).to_string();
            Some((canonical, tz))
        }
        Err(_) => {
            ctx.error(
                Some(value.span()),
                key,
                format!(
                    "unknown time zone {name:?} (write an IANA zone name, e.g. \"Europe/Berlin\" or \"America/New_York\")"
                ),
            );
            None
        }
    }
}

fn date_list(ctx: &mut Ctx, key: &str, values: &Option<Vec<Spanned<toml::Value>>>) -> Vec<Date> {
    let mut dates = Vec::new();
    for value in values.iter().flatten() {
        match parse_date(value.get_ref()) {
            Ok(date) => dates.push(date),
            Err(message) => ctx.error(Some(value.span()), key, message),
        }
    }
    dates.sort();
    dates.dedup();
    dates
}

/// An integer within `range`, or the default.
fn int_field(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<i64>>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    why: &str,
) -> Option<u32> {
    let (n, span) = match value {
        Some(v) => (*v.get_ref(), Some(v.span())),
        None => (default, None),
    };
    if !range.contains(&n) {
        ctx.error(
            span,
            key,
            format!(
                "{n} is out of range: must be from {} to {} {why}",
                range.start(),
                range.end()
            ),
        );
        return None;
    }
    match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            ctx.error(span, key, format!("{n} is out of range"));
            None
        }
    }
}

/// One of a fixed set of words, compared ignoring case (the canonical spelling
/// is the one listed).
fn enum_field<T: Copy>(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<String>>,
    default: &str,
    allowed: &[(&str, T)],
) -> Option<T> {
    let (text, span) = or_default(value, default);
    let found = allowed.iter().find(|(name, _)| name.eq_ignore_ascii_case(text.trim()));
    match found {
        Some((_, v)) => Some(*v),
        None => {
            let names: Vec<String> = allowed.iter().map(|(n, _)| format!("{n:?}")).collect();
            ctx.error(span, key, format!("{text:?} is not one of {}", names.join(", ")));
            None
        }
    }
}

fn path_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<String>>, base: &Path, env: &Env) -> Option<PathBuf> {
    let value = value.as_ref()?;
    let text = value.get_ref().trim();
    if text.is_empty() {
        ctx.error(Some(value.span()), key, "is empty (write a path)");
        return None;
    }
    Some(resolve_path(text, base, env))
}

fn template_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<String>>, default: &str) -> String {
    let (text, span) = or_default(value, default);
    for (_, name) in placeholders(text) {
        if !PLACEHOLDERS.contains(&name) {
            // Point at the line of the placeholder itself, which matters in
            // a multi-line description. The raw text of the TOML string holds
            // `{name}` verbatim unless the user escaped its characters.
            let needle = format!("{{{name}}}");
            let at = span.clone().map(|s| {
                let raw = ctx.text.get(s.clone()).unwrap_or("");
                match raw.find(&needle) {
                    Some(i) => s.start + i..s.start + i + needle.len(),
                    None => s,
                }
            });
            let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
            ctx.error(
                at,
                key,
                format!("unknown placeholder {needle} (known: {})", known.join(", ")),
            );
        }
    }
    text.to_string()
}

fn validate(ctx: &mut Ctx, raw: RawConfig, env: &Env) -> Option<Config> {
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
    let calendar = validate_calendar(ctx, &raw.calendar, &base, env);
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

fn validate_schedule(ctx: &mut Ctx, raw: &RawSchedule) -> Option<Schedule> {
    let term_weeks = int_field(
        ctx,
        "schedule.term_weeks",
        &raw.term_weeks,
        defaults::TERM_WEEKS,
        1..=52,
        "weeks (1 = a new partner every week)",
    );
    let first_term = match &raw.first_term {
        None => {
            ctx.error(
                None,
                "schedule.first_term",
                "missing: the Monday the first term starts (write e.g. first_term = 2026-01-05)",
            );
            None
        }
        Some(value) => match parse_date(value.get_ref()) {
            Err(message) => {
                ctx.error(Some(value.span()), "schedule.first_term", message);
                None
            }
            Ok(date) if date.weekday() != Weekday::Monday => {
                let monday = date
                    .checked_sub(Span::new().days(date.weekday().to_monday_zero_offset()))
                    .map(|m| format!(" (e.g. {m})"))
                    .unwrap_or_default();
                ctx.error(
                    Some(value.span()),
                    "schedule.first_term",
                    format!("{date} is a {}; terms start on a Monday{monday}", date.strftime("%A")),
                );
                None
            }
            Ok(date) => Some(date),
        },
    };
    let book_ahead = duration_field(
        ctx,
        "schedule.book_ahead",
        &raw.book_ahead,
        defaults::BOOK_AHEAD,
        Sign::NonNegative,
    );
    let cycle_every = duration_field(
        ctx,
        "schedule.cycle_every",
        &raw.cycle_every,
        defaults::CYCLE_EVERY,
        Sign::Positive,
    );
    let min_notice = duration_field(
        ctx,
        "schedule.min_notice",
        &raw.min_notice,
        defaults::MIN_NOTICE,
        Sign::NonNegative,
    );
    let skip_dates = date_list(ctx, "schedule.skip_dates", &raw.skip_dates);
    Some(Schedule {
        term_weeks: term_weeks?,
        first_term: first_term?,
        book_ahead: book_ahead?,
        cycle_every: cycle_every?,
        min_notice: min_notice?,
        skip_dates,
    })
}

/// A key that may be absent: `Ok(None)` when absent, `Err(Invalid)` when
/// present but wrong (the error is already recorded).
type Optional<T> = Result<Option<T>, Invalid>;

/// Marks a value whose error has been recorded.
#[derive(Clone, Copy, Debug)]
struct Invalid;

/// What people inherit from `[meeting]`, each part on its own so that one bad
/// meeting key does not hide the checks of every person's own keys.
struct Inherited {
    duration: Option<SignedDuration>,
    hours: Option<DayWindow>,
    days: Option<Vec<Weekday>>,
    preferred_hours: Optional<DayWindow>,
}

fn validate_meeting(ctx: &mut Ctx, raw: &RawMeeting, calendar: &RawCalendar) -> (Option<Meeting>, Inherited) {
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
        &[("none", Conference::None), ("google_meet", Conference::GoogleMeet)],
    );
    if conference == Some(Conference::GoogleMeet) {
        let provider = calendar
            .provider
            .as_ref()
            .map_or(defaults::PROVIDER, |p| p.get_ref().as_str());
        if !provider.trim().eq_ignore_ascii_case("google") {
            ctx.error(
                span_of(&raw.conference),
                "meeting.conference",
                "google_meet needs calendar.provider = \"google\" (write conference = \"none\")",
            );
        }
    }
    let location = raw
        .location
        .as_ref()
        .map(|l| l.get_ref().trim().to_string())
        .filter(|l| !l.is_empty());
    let max_busy_hours: Optional<SignedDuration> = match &raw.max_busy_hours {
        None => Ok(None),
        Some(value) => {
            let parsed = match value.get_ref() {
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
            let checked = parsed.and_then(|d| {
                if d > SignedDuration::ZERO && d <= SignedDuration::from_hours(24) {
                    Ok(d)
                } else {
                    Err(format!(
                        "{} is out of range: must be more than 0 and at most 24 hours",
                        value.get_ref()
                    ))
                }
            });
            checked.map(Some).map_err(|message| {
                ctx.error(Some(value.span()), "meeting.max_busy_hours", message);
                Invalid
            })
        }
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

fn validate_calendar(ctx: &mut Ctx, raw: &RawCalendar, base: &Path, env: &Env) -> Option<Calendar> {
    let provider = enum_field(
        ctx,
        "calendar.provider",
        &raw.provider,
        defaults::PROVIDER,
        &[("google", ProviderKind::Google), ("local", ProviderKind::Local)],
    );
    let g = &raw.google;
    let auth = enum_field(
        ctx,
        "calendar.google.auth",
        &g.auth,
        defaults::AUTH,
        &[
            ("installed", GoogleAuth::Installed),
            ("service_account", GoogleAuth::ServiceAccount),
        ],
    );
    let client_secret = path_field(ctx, "calendar.google.client_secret", &g.client_secret, base, env);
    let service_account_key = path_field(
        ctx,
        "calendar.google.service_account_key",
        &g.service_account_key,
        base,
        env,
    );
    let impersonate = match &g.impersonate {
        None => None,
        Some(v) => match check_email(v.get_ref()) {
            Ok(email) => Some(email),
            Err(message) => {
                ctx.error(Some(v.span()), "calendar.google.impersonate", message);
                None
            }
        },
    };
    let (organizer, organizer_span) = or_default(&g.organizer, defaults::ORGANIZER);
    let organizer = organizer.trim().to_string();
    if organizer.is_empty() {
        ctx.error(
            organizer_span,
            "calendar.google.organizer",
            "is empty (write \"primary\" or a calendar id)",
        );
    }
    let api_base_url = match &g.api_base_url {
        None => None,
        Some(v) => {
            let url = v.get_ref().trim();
            let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
            match rest {
                Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => Some(url.to_string()),
                _ => {
                    ctx.error(
                        Some(v.span()),
                        "calendar.google.api_base_url",
                        format!("{url:?} is not an http(s) URL (write e.g. \"http://127.0.0.1:8080/\")"),
                    );
                    None
                }
            }
        }
    };
    let requests_per_second = int_field(
        ctx,
        "calendar.google.requests_per_second",
        &g.requests_per_second,
        defaults::REQUESTS_PER_SECOND,
        1..=1000,
        "(Google allows 600 requests a minute per user, i.e. 10 a second)",
    );

    let local_dir = match &raw.local {
        Some(local) => path_field(ctx, "calendar.local.dir", &local.dir, base, env),
        None => None,
    };
    let local_dir_given = raw.local.as_ref().is_some_and(|l| l.dir.is_some());

    match provider {
        Some(ProviderKind::Local) if !local_dir_given => ctx.error(
            span_of(&raw.provider),
            "calendar.local.dir",
            "missing: provider \"local\" needs a directory (write [calendar.local] dir = \"calendars\")",
        ),
        Some(ProviderKind::Google) => match auth {
            Some(GoogleAuth::Installed) if g.client_secret.is_none() => ctx.error(
                span_of(&g.auth).or(span_of(&raw.provider)),
                "calendar.google.client_secret",
                "missing: auth \"installed\" needs the OAuth client JSON downloaded from Google Cloud (write client_secret = \"client_secret.json\")",
            ),
            Some(GoogleAuth::ServiceAccount) => {
                if g.service_account_key.is_none() {
                    ctx.error(
                        span_of(&g.auth),
                        "calendar.google.service_account_key",
                        "missing: auth \"service_account\" needs the key file (write service_account_key = \"key.json\")",
                    );
                }
                if g.impersonate.is_none() {
                    ctx.error(
                        span_of(&g.auth),
                        "calendar.google.impersonate",
                        "missing: auth \"service_account\" needs the user whose calendar organizes the events (write impersonate = \"organizer@example.com\")",
                    );
                }
            }
            _ => {}
        },
        _ => {}
    }

    let google = Google {
        auth: auth?,
        client_secret,
        service_account_key,
        impersonate,
        organizer,
        api_base_url,
        requests_per_second: requests_per_second?,
    };
    let instance = match &raw.instance {
        Some(v) => {
            let name = v.get_ref().trim();
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                ctx.error(
                    Some(v.span()),
                    "calendar.instance",
                    format!("{name:?} is not 1 to 64 letters, digits, '-', '_' or '.' (write e.g. instance = \"hq-liaison\")"),
                );
            }
            Some((name.to_string(), true))
        }
        None => Some((derived_instance(&google.organizer, ctx.path), false)),
    };
    let (instance, instance_explicit) = instance?;
    Some(Calendar {
        provider: provider?,
        instance,
        instance_explicit,
        google,
        local: local_dir.map(|dir| Local { dir }),
    })
}

/// The default `calendar.instance`: a short hash of the organizer calendar and
/// the configuration file's absolute path, so that the same file at the same
/// place names the same installation (a lost state recovers its events) and a
/// trial configuration elsewhere does not.
pub fn derived_instance(organizer: &str, config_path: &Path) -> String {
    use sha2::{Digest, Sha256};
    // The real path (links and `..` resolved), so that every way of naming
    // the same file gives the same installation.
    let absolute = std::fs::canonicalize(config_path)
        .or_else(|_| std::path::absolute(config_path))
        .unwrap_or_else(|_| config_path.to_path_buf());
    let mut hasher = Sha256::new();
    hasher.update(organizer.as_bytes());
    hasher.update([0u8]);
    hasher.update(absolute.as_os_str().as_encoded_bytes());
    let mut name = data_encoding::BASE32HEX_NOPAD.encode(&hasher.finalize());
    name.truncate(12);
    name.make_ascii_lowercase();
    format!("i-{name}")
}

/// A person as validated, with what later checks need even when the person
/// as a whole is invalid.
struct CheckedPerson {
    /// A syntactically valid email, even when it duplicates an earlier one.
    email: Option<String>,
    unit: Option<String>,
    person: Option<Person>,
}

fn validate_people(
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

fn validate_pairing(ctx: &mut Ctx, raw: &RawPairing, people: &[CheckedPerson]) -> Option<Pairing> {
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
    for v in raw.focus.iter().flatten() {
        match check_email(v.get_ref()) {
            Err(message) => ctx.error(Some(v.span()), "pairing.focus", message),
            Ok(email) => {
                let listed = people.iter().any(|p| p.email.as_deref() == Some(&email));
                // A person whose own email is invalid has already been reported;
                // do not add a second, confusing "not among people" for it.
                let all_emails_known = people.iter().all(|p| p.email.is_some());
                if !listed && all_emails_known {
                    ctx.error(
                        Some(v.span()),
                        "pairing.focus",
                        format!("{email} is not among [[people]] (add them or fix the email)"),
                    );
                } else if !focus.contains(&email) {
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

// ---------------------------------------------------------------------------
// Value parsers. Each returns the message for a bad value; the caller adds the
// file, line and key.
// ---------------------------------------------------------------------------

/// Parses a duration with jiff's friendly parser. It is parsed as a `Span`
/// (not a `SignedDuration`, which refuses day units) and converted with days
/// of 24 hours; months and years have no fixed length and are refused.
fn parse_duration(text: &str, sign: Sign) -> Result<SignedDuration, String> {
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

fn parse_window(text: &str) -> Result<DayWindow, String> {
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

fn parse_days(value: &toml::Value) -> Result<Vec<Weekday>, String> {
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

fn parse_date(value: &toml::Value) -> Result<Date, String> {
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

/// A syntax check that catches typos, not a full RFC 5322 parser: the calendar
/// provider is the authority on whether an address exists, and no maintained
/// crate in the project's dependencies does more that would matter here.
fn check_email(text: &str) -> Result<String, String> {
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

fn resolve_path(text: &str, base: &Path, env: &Env) -> PathBuf {
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

fn default_state_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dirs) = &env.state_directory {
        // systemd joins several StateDirectory= entries with colons.
        let text = dirs.to_string_lossy();
        if let Some(first) = text.split(':').find(|s| !s.is_empty()) {
            return Some(PathBuf::from(first));
        }
    }
    // The XDG specification says to ignore relative values.
    if let Some(xdg) = env.xdg_state_home.as_ref().filter(|p| p.is_absolute()) {
        return Some(xdg.join("liaison"));
    }
    env.home.as_ref().map(|home| home.join(".local/state/liaison"))
}

fn find_config_path_in(
    explicit: Option<&Path>,
    liaison_config: Option<PathBuf>,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
    exists: impl Fn(&Path) -> bool,
) -> Result<PathBuf, ConfigErrors> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = liaison_config {
        return Ok(path);
    }
    let user = match (xdg_config_home.filter(|p| p.is_absolute()), home) {
        (Some(xdg), _) => Some(xdg.join("liaison/config.toml")),
        (None, Some(home)) => Some(home.join(".config/liaison/config.toml")),
        (None, None) => None,
    };
    let system = PathBuf::from("/etc/liaison/config.toml");
    let tried: Vec<PathBuf> = user.into_iter().chain([system.clone()]).collect();
    if let Some(found) = tried.iter().find(|p| exists(p)) {
        return Ok(found.clone());
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    // The first place tried is the one to suggest: the user's own when there
    // is a home directory, otherwise the system-wide one.
    let suggested = tried.first().cloned().unwrap_or(system);
    Err(ConfigErrors::single(
        &suggested,
        format!(
            "no configuration file found (looked for --config, $LIAISON_CONFIG, {}); copy config.example.toml to {} and list your leaders, or run `liaison demo` to try it without an account",
            list.join(", "),
            suggested.display()
        ),
    ))
}

/// serde's messages name Rust types ("expected i64", "expected struct
/// RawMeeting"); say what to write in TOML instead.
fn plain_toml_message(message: &str) -> String {
    let mut out = message
        .trim_end()
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array");
    while let Some(start) = out.find("struct Raw") {
        let name_end = out[start + "struct ".len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |i| start + "struct ".len() + i);
        out.replace_range(start..name_end, "a table");
    }
    out
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Placeholders `{name}` in a template, where `name` is letters, digits, `_`
/// and `.`; any other brace is plain text.
fn placeholders(template: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
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

fn next_term_start(first: Date, term_weeks: u32, today: Date) -> Option<Date> {
    if today <= first {
        return Some(first);
    }
    let days = first.duration_until(today).as_hours() / 24;
    let period = i64::from(term_weeks.max(1)) * 7;
    let terms = (days + period - 1) / period;
    first.checked_add(Span::new().try_days(terms * period).ok()?).ok()
}

fn window_length(w: DayWindow) -> SignedDuration {
    w.start.duration_until(w.end)
}

fn within(inner: DayWindow, outer: DayWindow) -> bool {
    inner.start >= outer.start && inner.end <= outer.end
}

fn intersect(a: DayWindow, b: DayWindow) -> Option<DayWindow> {
    let start = a.start.max(b.start);
    let end = a.end.min(b.end);
    (start < end).then_some(DayWindow { start, end })
}

fn show_time(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn show_window(w: DayWindow) -> String {
    format!("{}-{}", show_time(w.start), show_time(w.end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    const PATH: &str = "/srv/liaison/config.toml";

    /// The smallest valid file, one `dotted.key = value` per line so that a
    /// test case can replace any line (see `doc`).
    const BASE: &[&str] = &[
        r#"timezone = "Europe/Berlin""#,
        "schedule.first_term = 2026-01-05",
        r#"calendar.provider = "local""#,
        r#"calendar.local.dir = "calendars""#,
        r#"people = [{ email = "ana@example.com", name = "Ana", unit = "Finance" }, { email = "ben@example.com", name = "Ben", unit = "Sales" }]"#,
    ];

    fn env() -> Env {
        Env {
            state_directory: None,
            xdg_state_home: None,
            home: Some(PathBuf::from("/home/u")),
        }
    }

    fn key_of(line: &str) -> Option<&str> {
        let line = line.trim();
        if let Some(removed) = line.strip_prefix('-') {
            return Some(removed.trim());
        }
        line.split_once('=').map(|(k, _)| k.trim())
    }

    fn related(a: &str, b: &str) -> bool {
        a == b || a.starts_with(&format!("{b}.")) || b.starts_with(&format!("{a}."))
    }

    /// The case's lines first (so its line numbers are its own: line 1 is the
    /// case's first line), then every base line whose key the case does not
    /// set. A case line `-key` removes that key and leaves a comment line.
    fn doc(case: &str) -> String {
        let case_lines: Vec<&str> = if case.is_empty() {
            Vec::new()
        } else {
            case.lines().collect()
        };
        let case_keys: Vec<&str> = case_lines.iter().filter_map(|l| key_of(l)).collect();
        let mut out: Vec<String> = case_lines
            .iter()
            .map(|l| match l.trim().strip_prefix('-') {
                Some(k) => format!("# removed {k}"),
                None => l.to_string(),
            })
            .collect();
        for line in BASE {
            let key = key_of(line).unwrap_or("");
            if !case_keys.iter().any(|k| related(k, key)) {
                out.push(line.to_string());
            }
        }
        out.join("\n")
    }

    fn parse_doc(case: &str) -> Result<Config, ConfigErrors> {
        parse(&doc(case), Path::new(PATH), &env())
    }

    fn valid(case: &str) -> Config {
        match parse_doc(case) {
            Ok(cfg) => cfg,
            Err(e) => panic!("expected a valid config, got:\n{e}\n--- file:\n{}", doc(case)),
        }
    }

    /// Asserts that `case` gives exactly one error, on `line`, with a key
    /// containing `key` and a message containing `message`.
    fn check_error(case: &str, line: Option<usize>, key: &str, message: &str) {
        let errors = match parse_doc(case) {
            Ok(_) => panic!("expected an error for:\n{}", doc(case)),
            Err(errors) => errors,
        };
        let ok = errors.0.len() == 1 && {
            let e = &errors.0[0];
            e.line == line
                && e.key.as_deref().unwrap_or("").contains(key)
                && e.message.contains(message)
                && e.path == Path::new(PATH)
        };
        assert!(
            ok,
            "expected one error at line {line:?}, key ~ {key:?}, message ~ {message:?}; got:\n{errors}\n--- file:\n{}",
            doc(case)
        );
    }

    /// The second person of the base file.
    const BEN: &str = r#"{ email = "ben@example.com", name = "Ben", unit = "Sales" }"#;

    /// The base people line with extra keys for Ana, the first person.
    fn people_with(extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(", {extra}")
        };
        format!("people = [{{ email = \"ana@example.com\", name = \"Ana\", unit = \"Finance\"{extra} }}, {BEN}]")
    }

    // --- errors, one line each ---------------------------------------------
    // These tests skip rustfmt so that each case stays on one line, as a table.

    #[test]
    #[rustfmt::skip]
    fn a_toml_syntax_error_names_its_line() {
        check_error("meeting.buffer = \"5m\"\ntimezone = \"Europe/Berlin", Some(2), "", "invalid basic string");
    }

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
    }

    #[test]
    #[rustfmt::skip]
    fn zones_must_be_iana_names() {
        check_error(r#"timezone = "Mars/Olympus""#, Some(1), "timezone", "unknown time zone \"Mars/Olympus\"");
        check_error(&people_with(r#"timezone = "Europe/Berlinn""#), Some(1), "people[0].timezone", "unknown time zone");
        check_error("-timezone", None, "timezone", "missing");
    }

    #[test]
    #[rustfmt::skip]
    fn windows_must_be_hh_mm_ranges_that_end_after_they_start() {
        check_error(r#"meeting.hours = "17:00-09:00""#, Some(1), "meeting.hours", r#"end 09:00 is before start 17:00 (write "HH:MM-HH:MM""#);
        check_error(r#"meeting.hours = "9am-5pm""#, Some(1), "meeting.hours", "is not HH:MM");
        check_error(r#"meeting.hours = "09:00""#, Some(1), "meeting.hours", "is not a time window");
        check_error(r#"meeting.hours = "09:00-24:00""#, Some(1), "meeting.hours", "not a time of day");
        check_error(r#"meeting.hours = "09:00-09:00""#, Some(1), "meeting.hours", "the window is empty");
        check_error(r#"meeting.preferred_hours = "12:00-11:00""#, Some(1), "meeting.preferred_hours", "before start");
        check_error(&people_with(r#"hours = "18:00-09:00""#), Some(1), "people[0].hours", "before start");
    }

    #[test]
    #[rustfmt::skip]
    fn preferred_hours_must_lie_within_the_working_window() {
        check_error(r#"meeting.preferred_hours = "08:00-10:00""#, Some(1), "meeting.preferred_hours", "not inside meeting.hours 09:00-17:00");
        check_error(&people_with(r#"hours = "10:00-14:00", preferred_hours = "13:00-15:00""#), Some(1), "people[0].preferred_hours", "not inside this person's hours 10:00-14:00");
    }

    #[test]
    #[rustfmt::skip]
    fn durations_must_parse_and_have_the_right_sign() {
        check_error(r#"meeting.duration = "30""#, Some(1), "meeting.duration", "is not a duration");
        check_error(r#"meeting.duration = "0m""#, Some(1), "meeting.duration", "must be longer than zero");
        check_error(r#"meeting.duration = "-30m""#, Some(1), "meeting.duration", "must be longer than zero");
        check_error(r#"meeting.duration = "30m10s""#, Some(1), "meeting.duration", "whole number of minutes");
        check_error(r#"meeting.buffer = "-5m""#, Some(1), "meeting.buffer", "must not be negative");
        check_error(r#"schedule.book_ahead = "1mo""#, Some(1), "schedule.book_ahead", "months and years are not allowed");
        check_error(r#"schedule.cycle_every = "0s""#, Some(1), "schedule.cycle_every", "longer than zero");
        check_error(r#"schedule.min_notice = "soon""#, Some(1), "schedule.min_notice", "is not a duration");
        check_error(r#"schedule.min_notice = "9999999999999999h""#, Some(1), "schedule.min_notice", "is not a duration");
    }

    #[test]
    #[rustfmt::skip]
    fn the_meeting_must_fit_in_the_working_window() {
        check_error(r#"meeting.duration = "9h""#, Some(1), "meeting.hours", "09:00-17:00 is shorter than meeting.duration 9h");
        check_error(&people_with(r#"hours = "09:00-09:15""#), Some(1), "people[0].hours", "shorter than meeting.duration 30m");
    }

    #[test]
    #[rustfmt::skip]
    fn granularity_must_divide_a_day_in_whole_minutes() {
        check_error(r#"meeting.granularity = "7m""#, Some(1), "meeting.granularity", "does not divide a day");
        check_error(r#"meeting.granularity = "30s""#, Some(1), "meeting.granularity", "whole minutes");
        check_error(r#"meeting.granularity = "2d""#, Some(1), "meeting.granularity", "does not divide a day");
    }

    #[test]
    #[rustfmt::skip]
    fn days_must_name_weekdays() {
        check_error(r#"meeting.days = "mon-fry""#, Some(1), "meeting.days", "\"fry\" is not a day name");
        check_error("meeting.days = []", Some(1), "meeting.days", "lists no day");
        check_error("meeting.days = 5", Some(1), "meeting.days", "is not a list of days");
        check_error(&people_with(r#"days = ["mon", 2]"#), Some(1), "people[0].days", "2 is not a day name");
    }

    #[test]
    #[rustfmt::skip]
    fn people_need_a_valid_unique_email_a_name_and_a_unit() {
        check_error(&people_with("").replace("ana@example.com", "ana.example.com"), Some(1), "people[0].email", "is not an email address");
        check_error(&people_with("").replace("ben@example.com", "ANA@Example.com"), Some(1), "people[1].email", "ana@example.com is listed twice (first at line 1");
        check_error(&people_with("").replace("\"Ana\"", "\" \""), Some(1), "people[0].name", "is empty");
        check_error(&people_with("").replace(r#", unit = "Finance""#, ""), Some(1), "people[0].unit", "missing");
        check_error(&people_with("").replace(r#"email = "ana@example.com", "#, ""), Some(1), "people[0].email", "missing");
        check_error("people = []", None, "people", "no people listed");
    }

    #[test]
    #[rustfmt::skip]
    fn unit_names_must_be_spelled_the_same_way() {
        let three = format!("people = [{BEN}, {{ email = \"c@example.com\", name = \"C\", unit = \"sales\" }}]");
        check_error(&three, Some(1), "people[1].unit", "\"sales\" differs only in case from \"Sales\"");
    }

    #[test]
    #[rustfmt::skip]
    fn cross_unit_pairing_needs_two_units() {
        let one_unit = format!("people = [{BEN}, {}]", BEN.replace("ben@", "bea@"));
        check_error(&one_unit, None, "people", "all people are in one unit (Sales)");
    }

    #[test]
    #[rustfmt::skip]
    fn the_first_term_must_be_a_monday_date() {
        check_error("schedule.first_term = 2026-01-07", Some(1), "schedule.first_term", "2026-01-07 is a Wednesday; terms start on a Monday (e.g. 2026-01-05)");
        check_error(r#"schedule.first_term = "next monday""#, Some(1), "schedule.first_term", "is not a date");
        check_error("schedule.first_term = 2026-01-05T09:00:00", Some(1), "schedule.first_term", "is not a plain date");
        check_error("-schedule.first_term", None, "schedule.first_term", "missing");
    }

    #[test]
    #[rustfmt::skip]
    fn integers_must_be_in_range() {
        check_error("schedule.term_weeks = 0", Some(1), "schedule.term_weeks", "out of range: must be from 1 to 52");
        check_error("schedule.term_weeks = 53", Some(1), "schedule.term_weeks", "out of range");
        check_error("pairing.avoid_repeat_terms = -1", Some(1), "pairing.avoid_repeat_terms", "out of range");
        check_error("calendar.google.requests_per_second = 0", Some(1), "calendar.google.requests_per_second", "out of range");
    }

    #[test]
    #[rustfmt::skip]
    fn focus_people_must_be_listed() {
        check_error(r#"pairing.focus = ["zoe@example.com"]"#, Some(1), "pairing.focus", "zoe@example.com is not among [[people]]");
        check_error(r#"pairing.focus = ["zoe"]"#, Some(1), "pairing.focus", "is not an email address");
    }

    #[test]
    #[rustfmt::skip]
    fn enumerations_list_the_allowed_values() {
        check_error(r#"meeting.send_updates = "everyone""#, Some(1), "meeting.send_updates", r#""everyone" is not one of "all", "externalOnly", "none""#);
        check_error(r#"meeting.conference = "zoom""#, Some(1), "meeting.conference", r#"is not one of "none", "google_meet""#);
        check_error(r#"calendar.provider = "outlook""#, Some(1), "calendar.provider", r#"is not one of "google", "local""#);
        check_error(r#"calendar.google.auth = "oauth""#, Some(1), "calendar.google.auth", r#"is not one of "installed", "service_account""#);
        check_error(r#"meeting.conference = "google_meet""#, Some(1), "meeting.conference", "needs calendar.provider = \"google\"");
    }

    #[test]
    #[rustfmt::skip]
    fn each_provider_needs_its_settings() {
        check_error("calendar.provider = \"local\"\n-calendar.local.dir", Some(1), "calendar.local.dir", "missing");
        check_error(r#"calendar.provider = "google""#, Some(1), "calendar.google.client_secret", "missing");
        check_error("calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.impersonate = \"o@example.com\"", Some(2), "calendar.google.service_account_key", "missing");
        check_error("calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.service_account_key = \"k.json\"", Some(2), "calendar.google.impersonate", "missing");
        check_error(r#"calendar.google.impersonate = "organizer""#, Some(1), "calendar.google.impersonate", "is not an email address");
        check_error(&format!("calendar.google.impersonate = \"{}@example.com\"", "a".repeat(250)), Some(1), "calendar.google.impersonate", "longer than 254 characters");
        check_error(r#"calendar.google.api_base_url = "ftp://127.0.0.1/""#, Some(1), "calendar.google.api_base_url", "is not an http(s) URL");
        check_error(r#"calendar.google.organizer = """#, Some(1), "calendar.google.organizer", "is empty");
    }

    #[test]
    #[rustfmt::skip]
    fn dates_in_lists_are_checked_one_by_one() {
        check_error(r#"schedule.skip_dates = [2026-12-25, "soon"]"#, Some(1), "schedule.skip_dates", "\"soon\" is not a date");
        check_error(&people_with(r#"away = ["2026-02-30"]"#), Some(1), "people[0].away", "is not a date");
    }

    #[test]
    #[rustfmt::skip]
    fn max_busy_hours_must_be_within_a_day() {
        check_error("meeting.max_busy_hours = 25", Some(1), "meeting.max_busy_hours", "out of range");
        check_error("meeting.max_busy_hours = 0", Some(1), "meeting.max_busy_hours", "out of range");
        check_error(r#"meeting.max_busy_hours = "lots""#, Some(1), "meeting.max_busy_hours", "is not a duration");
        check_error("meeting.max_busy_hours = true", Some(1), "meeting.max_busy_hours", "is not a number of hours");
        check_error("meeting.max_busy_hours = 9223372036854775807", Some(1), "meeting.max_busy_hours", "out of range");
        check_error("meeting.max_busy_hours = nan", Some(1), "meeting.max_busy_hours", "not a number of hours");
    }

    #[test]
    #[rustfmt::skip]
    fn templates_may_use_only_known_placeholders() {
        check_error(r#"meeting.title = "Hi {a.email}""#, Some(1), "meeting.title", "unknown placeholder {a.email} (known: {a.name}");
        check_error(r#"meeting.title = "  ""#, Some(1), "meeting.title", "is empty");
        // The line is the placeholder's own, inside a multi-line string.
        check_error("meeting.description = \"\"\"\nHello\n{team}\"\"\"", Some(3), "meeting.description", "unknown placeholder {team}");
    }

    #[test]
    #[rustfmt::skip]
    fn an_empty_path_is_an_error() {
        check_error(r#"state_dir = """#, Some(1), "state_dir", "is empty");
    }

    #[test]
    fn state_dir_without_any_environment_is_an_error() {
        let bare = Env::default();
        let err = parse(&doc(""), Path::new(PATH), &bare).map(|_| ()).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.0[0].message.contains("$STATE_DIRECTORY"), "{err}");
    }

    #[test]
    fn every_error_in_a_file_is_reported_together_in_file_order() {
        let text = r#"timezone = "Europe/Berln"

[schedule]
first_term = 2026-01-06
term_weeks = 0

[meeting]
hours = "17:00-09:00"
days = "mon-fry"
send_updates = "loud"

[pairing]
focus = ["nobody@example.com"]

[calendar]
provider = "google"

[[people]]
email = "ana@example.com"
name = "Ana"
unit = "Finance"
timezone = "Nowhere/City"

[[people]]
email = "ANA@example.com"
name = ""
unit = "Sales"
"#;
        let errors = parse(text, Path::new("config.toml"), &env()).map(|_| ()).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = errors
            .0
            .iter()
            .map(|e| (e.line, e.key.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(1), "timezone"),
                (Some(4), "schedule.first_term"),
                (Some(5), "schedule.term_weeks"),
                (Some(8), "meeting.hours"),
                (Some(9), "meeting.days"),
                (Some(10), "meeting.send_updates"),
                (Some(13), "pairing.focus"),
                (Some(16), "calendar.google.client_secret"),
                (Some(22), "people[0].timezone"),
                (Some(25), "people[1].email"),
                (Some(26), "people[1].name"),
            ],
            "{errors}"
        );
        // One error per line of the Display, each starting with the file.
        let shown = errors.to_string();
        assert_eq!(shown.lines().count(), errors.0.len());
        assert!(shown.lines().all(|l| l.starts_with("config.toml:")), "{shown}");
        assert!(shown.contains(
            r#"config.toml:8: meeting.hours: end 09:00 is before start 17:00 (write "HH:MM-HH:MM", e.g. "09:00-17:00")"#
        ), "{shown}");
    }

    #[test]
    fn a_bad_meeting_key_does_not_hide_the_checks_of_people() {
        let errors = parse_doc(&format!(
            "meeting.send_updates = \"loud\"\n{}",
            people_with(r#"hours = "09:00-09:10""#)
        ))
        .map(|_| ())
        .unwrap_err();
        let keys: Vec<_> = errors.0.iter().filter_map(|e| e.key.as_deref()).collect();
        assert_eq!(keys, ["meeting.send_updates", "people[0].hours"], "{errors}");
    }

    #[test]
    fn a_person_missing_a_field_is_reported_at_their_table() {
        let text = "timezone = \"UTC\"\n[schedule]\nfirst_term = 2026-01-05\n[calendar]\nprovider = \"local\"\nlocal.dir = \"c\"\n\n[[people]]\nemail = \"a@example.com\"\nname = \"A\"\nunit = \"X\"\n\n[[people]]\nemail = \"b@example.com\"\nname = \"B\"\n";
        let errors = parse(text, Path::new(PATH), &env()).map(|_| ()).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].key.as_deref(), Some("people[1].unit"));
        // The span of an array-of-tables entry starts at its header.
        assert_eq!(errors.0[0].line, Some(13), "{errors}");
    }

    // --- valid files ---------------------------------------------------------

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
    fn per_person_settings_override_the_meeting_defaults() {
        let cfg = valid(&format!(
            "meeting.preferred_hours = \"12:00-15:00\"\n{}",
            people_with(r#"email = "Ana@Example.COM", timezone = "america/new_york", hours = "07:00-13:00", days = "sun-tue", away = [2026-02-16, "2026-02-17"], paused = true"#)
                .replace(r#"email = "ana@example.com", "#, "")
        ));
        let ana = &cfg.people[0];
        assert_eq!(ana.email, "ana@example.com");
        assert_eq!(ana.timezone_name, "America/New_York");
        assert_eq!(
            ana.hours,
            DayWindow {
                start: time(7, 0, 0, 0),
                end: time(13, 0, 0, 0)
            }
        );
        assert_eq!(ana.days, vec![Weekday::Monday, Weekday::Tuesday, Weekday::Sunday]);
        // The meeting-wide preference is cut to Ana's own hours.
        assert_eq!(
            ana.preferred_hours,
            Some(DayWindow {
                start: time(12, 0, 0, 0),
                end: time(13, 0, 0, 0)
            })
        );
        assert_eq!(ana.away, vec![date(2026, 2, 16), date(2026, 2, 17)]);
        assert!(ana.paused);
        let ben = &cfg.people[1];
        assert_eq!(ben.timezone_name, "Europe/Berlin");
        assert_eq!(ben.preferred_hours, cfg.meeting.preferred_hours);
    }

    #[test]
    fn relative_paths_are_resolved_against_the_config_directory() {
        let cfg = valid(
            "state_dir = \"state\"\ncalendar.google.client_secret = \"secrets/client.json\"\ncalendar.google.service_account_key = \"~/key.json\"",
        );
        assert_eq!(cfg.state_dir, Path::new("/srv/liaison/state"));
        assert_eq!(
            cfg.calendar.local.as_ref().map(|l| l.dir.as_path()),
            Some(Path::new("/srv/liaison/calendars"))
        );
        assert_eq!(
            cfg.calendar.google.client_secret.as_deref(),
            Some(Path::new("/srv/liaison/secrets/client.json"))
        );
        assert_eq!(
            cfg.calendar.google.service_account_key.as_deref(),
            Some(Path::new("/home/u/key.json"))
        );
        let dot = valid("calendar.local.dir = \".\"\nstate_dir = \"./state/../st\"");
        assert_eq!(dot.calendar.local.map(|l| l.dir), Some(PathBuf::from("/srv/liaison")));
        assert_eq!(dot.state_dir, Path::new("/srv/liaison/state/../st"));
        assert_eq!(resolve_path("a", Path::new("."), &env()), Path::new("a"));
        assert_eq!(resolve_path(".", Path::new("."), &env()), Path::new("."));
        let absolute = valid(r#"state_dir = "/var/lib/liaison""#);
        assert_eq!(absolute.state_dir, Path::new("/var/lib/liaison"));
    }

    #[test]
    fn state_dir_defaults_follow_systemd_then_xdg_then_home() {
        let state = |env: Env| parse(&doc(""), Path::new(PATH), &env).map(|c| c.state_dir);
        let systemd = Env {
            state_directory: Some("/var/lib/liaison:/var/lib/other".into()),
            xdg_state_home: Some("/x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(systemd), Ok(PathBuf::from("/var/lib/liaison")));
        let xdg = Env {
            state_directory: None,
            xdg_state_home: Some("/x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(xdg), Ok(PathBuf::from("/x/liaison")));
        let relative_xdg = Env {
            state_directory: None,
            xdg_state_home: Some("x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(relative_xdg), Ok(PathBuf::from("/home/u/.local/state/liaison")));
        // An explicit state_dir wins over the environment.
        let explicit = parse(&doc(r#"state_dir = "/data""#), Path::new(PATH), &Env::default()).map(|c| c.state_dir);
        assert_eq!(explicit, Ok(PathBuf::from("/data")));
    }

    #[test]
    fn google_settings_are_read() {
        let cfg = valid(
            "calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.service_account_key = \"/etc/liaison/key.json\"\ncalendar.google.impersonate = \"Org@Example.com\"\ncalendar.google.api_base_url = \"http://127.0.0.1:8080/\"\ncalendar.google.requests_per_second = 8\nmeeting.conference = \"google_meet\"\nmeeting.send_updates = \"externalOnly\"\n-calendar.local.dir",
        );
        let g = &cfg.calendar.google;
        assert_eq!(cfg.calendar.provider, ProviderKind::Google);
        assert!(cfg.calendar.local.is_none());
        assert_eq!(g.auth, GoogleAuth::ServiceAccount);
        assert_eq!(g.impersonate.as_deref(), Some("org@example.com"));
        assert_eq!(g.api_base_url.as_deref(), Some("http://127.0.0.1:8080/"));
        assert_eq!(g.requests_per_second, 8);
        assert_eq!(cfg.meeting.conference, Conference::GoogleMeet);
        assert_eq!(cfg.meeting.send_updates, SendUpdates::ExternalOnly);
    }

    #[test]
    fn durations_days_and_dates_accept_the_documented_forms() {
        let cfg = valid(
            "meeting.duration = \"1h30m\"\nschedule.book_ahead = \"2w\"\nschedule.min_notice = \"0s\"\nmeeting.days = [\"Mon\", \"wed-thu\", \"friday\"]\nmeeting.max_busy_hours = 5.5\nschedule.first_term = \"2026-01-12\"\nschedule.skip_dates = [2026-12-25, 2026-12-24, 2026-12-25]\nmeeting.location = \"Room 4\"",
        );
        assert_eq!(cfg.meeting.duration, SignedDuration::from_mins(90));
        assert_eq!(cfg.schedule.book_ahead, SignedDuration::from_hours(14 * 24));
        assert_eq!(cfg.schedule.min_notice, SignedDuration::ZERO);
        assert_eq!(
            cfg.meeting.days,
            vec![Weekday::Monday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
        );
        assert_eq!(cfg.meeting.max_busy_hours, Some(SignedDuration::from_mins(330)));
        assert_eq!(cfg.schedule.first_term, date(2026, 1, 12));
        assert_eq!(cfg.schedule.skip_dates, vec![date(2026, 12, 24), date(2026, 12, 25)]);
        assert_eq!(cfg.meeting.location.as_deref(), Some("Room 4"));
        assert_eq!(
            parse_days(&toml::Value::String("fri-mon".into())),
            Ok(vec![
                Weekday::Monday,
                Weekday::Friday,
                Weekday::Saturday,
                Weekday::Sunday
            ])
        );
        assert_eq!(
            parse_duration("7d", Sign::Positive),
            Ok(SignedDuration::from_hours(168))
        );
        assert_eq!(
            valid(r#"meeting.max_busy_hours = "6h""#).meeting.max_busy_hours,
            Some(SignedDuration::from_hours(6))
        );
    }

    #[test]
    fn focus_emails_are_lower_cased_and_deduplicated() {
        let cfg = valid(r#"pairing.focus = ["BEN@example.com", "ben@example.com"]"#);
        assert_eq!(cfg.pairing.focus, vec!["ben@example.com".to_string()]);
    }

    #[test]
    fn one_unit_is_fine_when_same_unit_pairs_are_allowed() {
        let one_unit = format!(
            "pairing.cross_unit_only = false\npeople = [{BEN}, {}]",
            BEN.replace("ben@", "bea@")
        );
        assert!(!valid(&one_unit).pairing.cross_unit_only);
    }

    // --- the example file ----------------------------------------------------

    const EXAMPLE: &str = include_str!("../../config.example.toml");

    fn parse_example(text: &str) -> Config {
        match parse(text, Path::new("/etc/liaison/config.toml"), &env()) {
            Ok(cfg) => cfg,
            Err(e) => panic!("example does not parse:\n{e}"),
        }
    }

    /// Section header of a line (`[meeting]`, `[[people]]`) as a dotted prefix.
    fn section(line: &str) -> Option<String> {
        let t = line.trim();
        let inner = t
            .strip_prefix("[[")
            .and_then(|r| r.strip_suffix("]]"))
            .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
        Some(inner.trim().to_string())
    }

    fn full_key(section: &str, key: &str) -> String {
        if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        }
    }

    /// `key` when the line is `<prefix>key = ...`.
    fn assigned_key<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
        let rest = line.strip_prefix(prefix)?;
        let (key, _) = rest.split_once(" =")?;
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(key)
    }

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
    fn the_example_file_parses_as_shipped() {
        let cfg = parse_example(EXAMPLE);
        assert_eq!(cfg.calendar.provider, ProviderKind::Local);
        assert_eq!(
            cfg.calendar.local.as_ref().map(|l| l.dir.as_path()),
            Some(Path::new("/etc/liaison/calendars"))
        );
        assert!(cfg.people.len() >= 4);
        let units: std::collections::BTreeSet<_> = cfg.people.iter().map(|p| &p.unit).collect();
        let zones: std::collections::BTreeSet<_> = cfg.people.iter().map(|p| &p.timezone_name).collect();
        assert!(units.len() >= 2 && zones.len() >= 2);
        let kofi = cfg
            .people
            .iter()
            .find(|p| p.name == "Kofi Mensah")
            .map(|p| (p.timezone_name.as_str(), p.days.len(), p.preferred_hours));
        assert_eq!(
            kofi,
            Some((
                "America/New_York",
                4,
                Some(DayWindow {
                    start: time(10, 0, 0, 0),
                    end: time(12, 0, 0, 0)
                })
            ))
        );
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
            "calendar.local.dir",
            "people.email",
            "people.name",
            "people.unit",
            "people.timezone",
            "people.hours",
            "people.days",
            "people.preferred_hours",
            "people.away",
            "people.paused",
        ];
        let missing: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| !documented.iter().any(|d| d == k))
            .collect();
        assert!(missing.is_empty(), "undocumented keys: {missing:?}");
    }

    // --- templates, summary, lookup, loading --------------------------------

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

    #[test]
    fn the_config_file_is_looked_up_in_the_documented_order() {
        let exists = |found: &'static [&'static str]| move |p: &Path| found.iter().any(|f| Path::new(f) == p);
        let home = || Some(PathBuf::from("/home/u"));
        let xdg = || Some(PathBuf::from("/cfg"));
        let find = |explicit: Option<&Path>, env: Option<PathBuf>, found: &'static [&'static str]| {
            find_config_path_in(explicit, env, xdg(), home(), exists(found))
        };
        let all: &[&str] = &["/cfg/liaison/config.toml", "/etc/liaison/config.toml"];
        assert_eq!(
            find(Some(Path::new("my.toml")), Some("/env.toml".into()), all),
            Ok(PathBuf::from("my.toml"))
        );
        assert_eq!(
            find(None, Some("/env.toml".into()), all),
            Ok(PathBuf::from("/env.toml"))
        );
        assert_eq!(find(None, None, all), Ok(PathBuf::from("/cfg/liaison/config.toml")));
        assert_eq!(
            find(None, None, &["/etc/liaison/config.toml"]),
            Ok(PathBuf::from("/etc/liaison/config.toml"))
        );
        let via_home = find_config_path_in(
            None,
            None,
            None,
            home(),
            exists(&["/home/u/.config/liaison/config.toml"]),
        );
        assert_eq!(via_home, Ok(PathBuf::from("/home/u/.config/liaison/config.toml")));
        let none = find(None, None, &[]).unwrap_err().to_string();
        assert!(
            none.contains("/cfg/liaison/config.toml") && none.contains("/etc/liaison/config.toml"),
            "{none}"
        );
        assert!(
            none.contains("config.example.toml") && none.contains("liaison demo"),
            "{none}"
        );
    }

    #[test]
    fn load_reads_the_file_and_resolves_paths_next_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, doc("state_dir = \"state\"")).unwrap();
        let cfg = load(&path).unwrap();
        assert_eq!(cfg.state_dir, dir.path().join("state"));
        assert_eq!(cfg.calendar.local.map(|l| l.dir), Some(dir.path().join("calendars")));
    }

    #[test]
    fn load_of_a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let err = load(&path).map(|_| ()).unwrap_err();
        assert_eq!(err.0.len(), 1);
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("{}: cannot read", path.display())),
            "{shown}"
        );
    }

    #[test]
    fn errors_display_file_line_key_and_message() {
        let e = |line, key: Option<&str>| ConfigError {
            path: "config.toml".into(),
            line,
            key: key.map(String::from),
            message: "msg".into(),
        };
        assert_eq!(
            e(Some(12), Some("meeting.hours")).to_string(),
            "config.toml:12: meeting.hours: msg"
        );
        assert_eq!(e(None, Some("timezone")).to_string(), "config.toml: timezone: msg");
        assert_eq!(e(Some(3), None).to_string(), "config.toml:3: msg");
    }
}

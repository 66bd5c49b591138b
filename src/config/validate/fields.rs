//! The error collector [`Ctx`] and the readers of one field each: they take a
//! raw value (or the default when the key is absent), run it through its
//! parser and record the error, with its line and key, when it is bad. They
//! return `None` for a bad value, so that a table's checker can go on and
//! report every problem of the file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde_spanned::Spanned;

use crate::config::defaults;
use crate::config::error::ConfigError;
use crate::config::locate::Env;
use crate::config::parsers::{
    PLACEHOLDERS, Sign, parse_date, parse_days, parse_duration, parse_window, parse_zone, placeholders, resolve_path,
};
use crate::config::types::DayWindow;

/// Collects errors and turns byte offsets into line numbers.
pub(in crate::config) struct Ctx<'a> {
    pub(in crate::config) path: &'a Path,
    pub(in crate::config) text: &'a str,
    pub(in crate::config) errors: Vec<ConfigError>,
    /// Offsets of the text's line breaks, found at the first line asked for:
    /// a line is then a binary search, not a count from the start of the
    /// file (which, for each of 10,000 people, took seconds).
    pub(in crate::config) breaks: std::cell::OnceCell<Vec<usize>>,
}

impl Ctx<'_> {
    pub(in crate::config) fn line_of(&self, offset: usize) -> usize {
        let breaks = self.breaks.get_or_init(|| {
            self.text
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i)
                .collect()
        });
        // Breaks before `offset` (one at `offset` itself ends that line after it).
        breaks.partition_point(|&at| at < offset.min(self.text.len())) + 1
    }

    /// Records an error at `span` (or without a line for keys that are absent).
    pub(super) fn error(&mut self, span: Option<Range<usize>>, key: &str, message: impl Into<String>) {
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
pub(super) fn or_default<'a>(value: &'a Option<Spanned<String>>, default: &'a str) -> (&'a str, Option<Range<usize>>) {
    match value {
        Some(v) => (v.get_ref().as_str(), Some(v.span())),
        None => (default, None),
    }
}

pub(super) fn span_of<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
    value.as_ref().map(Spanned::span)
}

pub(super) fn duration_field(
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

pub(super) fn window_field(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<String>>,
    default: &str,
) -> Option<DayWindow> {
    let (text, span) = or_default(value, default);
    match parse_window(text) {
        Ok(w) => Some(w),
        Err(message) => {
            ctx.error(span, key, message);
            None
        }
    }
}

pub(super) fn days_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<toml::Value>>) -> Option<Vec<Weekday>> {
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

pub(super) fn zone_field(ctx: &mut Ctx, key: &str, value: &Spanned<String>) -> Option<(String, TimeZone)> {
    match parse_zone(value.get_ref()) {
        Ok(zone) => Some(zone),
        Err(message) => {
            ctx.error(Some(value.span()), key, message);
            None
        }
    }
}

pub(super) fn date_list(ctx: &mut Ctx, key: &str, values: &Option<Vec<Spanned<toml::Value>>>) -> Vec<Date> {
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
pub(super) fn int_field(
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
pub(super) fn enum_field<T: Copy>(
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

pub(super) fn path_field(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<Spanned<String>>,
    base: &Path,
    env: &Env,
) -> Option<PathBuf> {
    let value = value.as_ref()?;
    let text = value.get_ref().trim();
    if text.is_empty() {
        ctx.error(Some(value.span()), key, "is empty (write a path)");
        return None;
    }
    Some(resolve_path(text, base, env))
}

pub(super) fn template_field(ctx: &mut Ctx, key: &str, value: &Option<Spanned<String>>, default: &str) -> String {
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

/// A key that may be absent: `Ok(None)` when absent, `Err(Invalid)` when
/// present but wrong (the error is already recorded).
pub(super) type Optional<T> = Result<Option<T>, Invalid>;

/// Marks a value whose error has been recorded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Invalid;

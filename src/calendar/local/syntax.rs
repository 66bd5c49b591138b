//! The syntax of iCalendar files (RFC 5545 3.1): the file as UTF-8 text,
//! unfolding content lines, the BEGIN/END nesting of components, and each
//! property's name, parameters and value, with the physical line and byte
//! range of each, so that errors name the line and the writer can edit a file
//! in place. Also the value syntax the other modules share: DATE and
//! DATE-TIME values, `mailto:` addresses.
//!
//! icalendar's parser gives components and values but no positions: its errors
//! carry line numbers of the *unfolded* text inside a nom dump, and it accepts
//! some garbage silently (a bare word as a property). So the structure —
//! unfolding, BEGIN/END nesting and physical line numbers — is walked here, and
//! each content line is handed to icalendar's property parser for its name,
//! parameters (quoting) and value (TEXT unescaping).
//!
//! This is the bottom of the folder: it imports none of its siblings.

use std::borrow::Cow;
use std::fs;
use std::path::Path;

use jiff::civil::{Date, DateTime, Time};

use crate::calendar::CalendarError;

/// A component name, or a parameter key or value held apart from the file
/// (see [`Params::Parsed`]): up to 24 bytes kept inline, without an allocation.
pub(super) type Text = compact_str::CompactString;

/// A component (VCALENDAR, VEVENT, VTIMEZONE, ...) with where it is in the
/// file; its properties borrow from the file's text.
#[derive(Debug)]
pub(super) struct Comp<'t> {
    /// Upper case.
    pub(super) name: Text,
    /// Line of its BEGIN.
    pub(super) line: usize,
    /// Byte offset of its END line.
    pub(super) end_start: usize,
    pub(super) props: Vec<Prop<'t>>,
    pub(super) children: Vec<Comp<'t>>,
}

/// A property. Its name and value are slices of the file (a file holds
/// thousands of them, and allocating each was a third of reading a
/// calendar); they are owned when the line was folded, when icalendar read
/// it (quoted or escaped text), and a name written in lower case.
#[derive(Debug)]
pub(super) struct Prop<'t> {
    /// Upper case.
    pub(super) name: Cow<'t, str>,
    params: Params<'t>,
    pub(super) value: Cow<'t, str>,
    /// First physical line.
    pub(super) line: usize,
    /// Byte range in the file, line break(s) included.
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A property's parameters: the text of a plain line's (`;KEY=VALUE...`,
/// checked by [`simple_property`]), split when one is asked for; or held
/// apart, for a folded plain line (split once) and for any line icalendar
/// read (keys upper case, a parameter without value has "").
#[derive(Debug)]
enum Params<'t> {
    Plain(&'t str),
    Parsed(Vec<(Text, Text)>),
}

impl<'t> Comp<'t> {
    pub(super) fn prop(&self, name: &str) -> Option<&Prop<'t>> {
        self.props.iter().find(|p| p.name == name)
    }

    pub(super) fn value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| &*p.value)
    }

    pub(super) fn all<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Prop<'t>> + use<'s, 'n, 't> {
        self.props.iter().filter(move |p| p.name == name)
    }
}

impl Prop<'_> {
    /// The value of parameter `key` (upper case).
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        match &self.params {
            Params::Plain(raw) => plain_pairs(raw)
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            Params::Parsed(list) => list.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
        }
    }

    /// The same property owning its text (read from a folded line, which
    /// the file does not hold in one piece).
    fn into_owned(self) -> Prop<'static> {
        let params = match self.params {
            Params::Plain(raw) => {
                Params::Parsed(plain_pairs(raw).map(|(k, v)| (upper_text(k), Text::from(v))).collect())
            }
            Params::Parsed(list) => Params::Parsed(list),
        };
        Prop {
            name: Cow::Owned(self.name.into_owned()),
            params,
            value: Cow::Owned(self.value.into_owned()),
            line: self.line,
            start: self.start,
            end: self.end,
        }
    }
}

/// The `(key, value)` pairs of a plain line's parameters (see [`Params`]).
fn plain_pairs(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    split_ascii(raw, b';').filter_map(|kv| split_once_ascii(kv, b'='))
}

/// `text` split at each `sep`, an ASCII byte: `str::split` with a char, by
/// a byte search. The standard one decodes the char and compares it through
/// a call for each match, which on the parameters of every line of every
/// calendar was a tenth of reading them.
fn split_ascii(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr(sep, r.as_bytes()) {
            Some(i) => {
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `text.split_once(sep)` for an ASCII byte `sep` (see [`split_ascii`]).
fn split_once_ascii(text: &str, sep: u8) -> Option<(&str, &str)> {
    let i = memchr::memchr(sep, text.as_bytes())?;
    Some((text.get(..i)?, text.get(i + 1..)?))
}

pub(super) fn has_uid(event: &Comp, uid: &str) -> bool {
    event.value("UID").is_some_and(|v| v.trim() == uid.trim())
}

pub(super) fn events_of<'a, 't>(roots: &'a [Comp<'t>]) -> impl Iterator<Item = &'a Comp<'t>> {
    roots.iter().flat_map(|r| &r.children).filter(|c| c.name == "VEVENT")
}

/// A content line after unfolding: borrowed from the file unless it was folded.
struct ContentLine<'t> {
    text: Cow<'t, str>,
    /// 1-based number of its first physical line.
    line: usize,
    start: usize,
    end: usize,
}

/// The content lines of a file, unfolded (RFC 5545 3.1) one at a time, each
/// with its first physical line and its byte range. Accepts CRLF and bare
/// LF, skips blank lines.
struct Unfold<'t> {
    text: &'t str,
    /// Where the next physical line starts.
    offset: usize,
    /// Physical lines read so far.
    line: usize,
}

impl<'t> Unfold<'t> {
    fn new(text: &'t str) -> Self {
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        Unfold {
            text,
            offset: text.len() - body.len(),
            line: 0,
        }
    }

    /// The next physical line without its line break.
    fn physical(&mut self) -> Option<&'t str> {
        let rest = self.text.get(self.offset..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
        let physical = rest.get(..len).unwrap_or(rest);
        self.offset += len;
        self.line += 1;
        let content = physical.strip_suffix('\n').unwrap_or(physical);
        Some(content.strip_suffix('\r').unwrap_or(content))
    }
}

impl<'t> Iterator for Unfold<'t> {
    type Item = Located<ContentLine<'t>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (start, first) = loop {
            let start = self.offset;
            let content = self.physical()?;
            if !content.is_empty() {
                break (start, content);
            }
        };
        let line = self.line;
        if first.starts_with([' ', '\t']) {
            // Continuations of a content line are taken with it below.
            return Some(Err((
                line,
                "the file starts with a folded continuation line (leading space); \
                 expected BEGIN:VCALENDAR"
                    .into(),
            )));
        }
        let mut text = Cow::Borrowed(first);
        let mut end = self.offset;
        // The first byte of the next physical line tells a continuation or a
        // blank line (taken here) from the next content line (left for the
        // next call, which would otherwise search it for its end twice).
        loop {
            let rest = self.text.as_bytes().get(self.offset..).unwrap_or_default();
            match rest {
                [b' ' | b'\t', ..] => {
                    let next = self.physical().unwrap_or_default();
                    text.to_mut().push_str(next.get(1..).unwrap_or_default());
                    end = self.offset;
                }
                [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..] => {
                    self.physical();
                }
                _ => break,
            }
        }
        Some(Ok(ContentLine { text, line, start, end }))
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or(text)),
        None => format!("{text:?}"),
    }
}

/// The VCALENDARs of a file, checked for structure and content-line syntax.
pub(super) fn parse_calendar<'t>(text: &'t str, path: &str) -> Result<Vec<Comp<'t>>, CalendarError> {
    let fail = |line: usize, message: String| located(path, (line, message));
    let mut roots: Vec<Comp> = Vec::new();
    let mut stack: Vec<Comp> = Vec::new();
    for cl in Unfold::new(text) {
        let cl = cl.map_err(|e| located(path, e))?;
        let head_end = find_name_end(&cl.text).unwrap_or(cl.text.len());
        let head = cl.text.get(..head_end).unwrap_or_default();
        // Only BEGIN and END lines need the component name.
        let kind = if head.eq_ignore_ascii_case("BEGIN") {
            "BEGIN"
        } else if head.eq_ignore_ascii_case("END") {
            "END"
        } else {
            ""
        };
        let name = match kind {
            "" => Text::default(),
            _ => upper_text(cl.text.get(head_end + 1..).unwrap_or_default().trim()),
        };
        match kind {
            "BEGIN" => {
                if name.is_empty() {
                    return Err(fail(
                        cl.line,
                        "BEGIN without a component name; expected e.g. BEGIN:VEVENT".into(),
                    ));
                }
                if stack.is_empty() && name != "VCALENDAR" {
                    return Err(fail(
                        cl.line,
                        format!(
                            "not an iCalendar file: found BEGIN:{name} where BEGIN:VCALENDAR \
                             was expected"
                        ),
                    ));
                }
                stack.push(Comp {
                    name,
                    line: cl.line,
                    end_start: cl.start,
                    props: Vec::new(),
                    children: Vec::new(),
                });
            }
            "END" => {
                let Some(mut comp) = stack.pop() else {
                    return Err(fail(cl.line, format!("END:{name} without a matching BEGIN:{name}")));
                };
                if comp.name != name {
                    return Err(fail(
                        cl.line,
                        format!(
                            "END:{name} does not close BEGIN:{} of line {}; expected END:{}",
                            comp.name, comp.line, comp.name
                        ),
                    ));
                }
                comp.end_start = cl.start;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(comp),
                    None => roots.push(comp),
                }
            }
            _ => {
                let Some(current) = stack.last_mut() else {
                    let message = if roots.is_empty() {
                        format!(
                            "not an iCalendar file: found {} where BEGIN:VCALENDAR was expected",
                            snippet(&cl.text)
                        )
                    } else {
                        format!(
                            "content after END:VCALENDAR: {}; expected the end of the file \
                             or another BEGIN:VCALENDAR",
                            snippet(&cl.text)
                        )
                    };
                    return Err(fail(cl.line, message));
                };
                let at = (cl.line, cl.start, cl.end);
                // Pushed where it is read: moving each property through
                // results and matches was most of this loop's own time.
                match &cl.text {
                    Cow::Borrowed(line) => match parse_property(line, at, head_end) {
                        Ok(prop) => current.props.push(prop),
                        Err(message) => return Err(fail(cl.line, message)),
                    },
                    Cow::Owned(folded) => {
                        let prop = parse_property(folded, at, head_end).map_err(|m| fail(cl.line, m))?;
                        current.props.push(prop.into_owned());
                    }
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(fail(
            open.line,
            format!(
                "BEGIN:{} is never closed; expected END:{} before the end of the file",
                open.name, open.name
            ),
        ));
    }
    if roots.is_empty() {
        return Err(fail(
            1,
            "the file is empty; expected an iCalendar file starting with BEGIN:VCALENDAR".into(),
        ));
    }
    Ok(roots)
}

/// Where a content line's name (or a parameter) ends: its first ';' or ':'.
/// A byte search (memchr) rather than `str::find` with a set of chars, which
/// decodes every char: it runs on every line of every file.
fn find_name_end(text: &str) -> Option<usize> {
    memchr::memchr2(b';', b':', text.as_bytes())
}

/// A content line's property; `at` is its first physical line and its byte
/// range, `name_end` is [`find_name_end`] of it, or its length when it has
/// neither ';' nor ':'.
fn parse_property(text: &str, at: (usize, usize, usize), name_end: usize) -> Result<Prop<'_>, String> {
    let (line, start, end) = at;
    let no_colon = || {
        format!(
            "content line {} has no ':'; expected NAME:VALUE or NAME;PARAM=VALUE:VALUE",
            snippet(text)
        )
    };
    if name_end >= text.len() {
        return Err(no_colon());
    }
    let name = text.get(..name_end).unwrap_or_default();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "{name:?} is not a property name; expected letters, digits and '-' before ':' or ';'"
        ));
    }
    // A plain line has its ':' (checked there); only others are searched for one.
    if let Some((params, value)) = simple_property(text, name_end) {
        return Ok(Prop {
            name: upper(name),
            params: Params::Plain(params),
            value: Cow::Borrowed(value),
            line,
            start,
            end,
        });
    }
    if memchr::memchr(b':', text.as_bytes().get(name_end..).unwrap_or_default()).is_none() {
        return Err(no_colon());
    }
    let parsed = icalendar::parser::Property::try_from(text).map_err(|_| {
        format!(
            "cannot read content line {}; expected NAME;PARAM=VALUE:VALUE",
            snippet(text)
        )
    })?;
    // The crate falls back to "a property without value" when the parameters do
    // not parse (e.g. an unclosed quote); that is a broken line, not an empty value.
    if parsed.params.is_empty() && parsed.val.as_str().is_empty() && text.len() > name_end + 1 {
        return Err(format!(
            "cannot read the parameters of {}; expected NAME;PARAM=VALUE:VALUE with \
             quotes around values containing ':', ';' or ','",
            snippet(text)
        ));
    }
    Ok(Prop {
        name: upper(name),
        params: Params::Parsed(
            parsed
                .params
                .iter()
                .map(|p| {
                    (
                        upper_text(p.key.as_str()),
                        p.val.as_ref().map(|v| Text::from(v.as_str())).unwrap_or_default(),
                    )
                })
                .collect(),
        ),
        value: Cow::Owned(parsed.val.as_str().to_string()),
        line,
        start,
        end,
    })
}

/// `text` in upper case (ASCII), borrowed when it is so already, as nearly
/// every name is.
fn upper(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(text.to_ascii_uppercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// [`upper`] as a [`Text`] (inline when short).
fn upper_text(text: &str) -> Text {
    let mut out = Text::from(text);
    out.make_ascii_uppercase();
    out
}

/// The parameters (their text, `;KEY=VALUE...`) and the value of a content
/// line in the plain form nearly every calendar writes:
/// `NAME(;KEY=VALUE)*:VALUE` with keys of letters, digits and '-', parameter
/// values without quotes, ';', ':' or ',', and a value without a backslash.
/// For those lines icalendar's parser gives exactly these parameters and
/// this value (a value without '\\' unescapes to itself), at a fraction of
/// the cost (a test compares the two); any other line returns `None` and goes
/// through icalendar. `name_end` is where the name ends (at ';' or ':').
fn simple_property(text: &str, name_end: usize) -> Option<(&str, &str)> {
    let is_key = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let all = text.get(name_end..)?;
    let mut rest = all;
    while let Some(param) = rest.strip_prefix(';') {
        let end = find_name_end(param)?;
        let (key, val) = split_once_ascii(param.get(..end)?, b'=')?;
        if !is_key(key) || val.is_empty() || memchr::memchr2(b'"', b',', val.as_bytes()).is_some() {
            return None;
        }
        rest = param.get(end..)?;
    }
    let params = all.get(..all.len() - rest.len())?;
    let value = rest.strip_prefix(':')?;
    memchr::memchr(b'\\', value.as_bytes())
        .is_none()
        .then_some((params, value))
}

/// The file as text; `None` when it does not exist.
pub(super) fn read_text(path: &Path) -> Result<Option<String>, CalendarError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CalendarError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes().iter().take(valid).filter(|&&b| b == b'\n').count() + 1;
        located(
            &path.display().to_string(),
            (
                line,
                "the file is not valid UTF-8; expected an iCalendar file in UTF-8 (RFC 5545)".into(),
            ),
        )
    })
}

// ---------------------------------------------------------------------------
// Errors and values
// ---------------------------------------------------------------------------

pub(super) fn located(path: &str, (line, message): (usize, String)) -> CalendarError {
    CalendarError::Invalid {
        path: path.to_string(),
        line: Some(line),
        message,
    }
}

/// An error message with the 1-based line it concerns.
pub(super) type Located<T> = Result<T, (usize, String)>;

pub(super) fn at(line: usize) -> impl Fn(String) -> (usize, String) {
    move |message| (line, message)
}

pub(super) fn strip_mailto(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => v.get(7..).unwrap_or_default(),
        _ => v,
    }
}

pub(super) fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::new(
        s.get(0..4)?.parse().ok()?,
        s.get(4..6)?.parse().ok()?,
        s.get(6..8)?.parse().ok()?,
    )
    .ok()
}

/// `YYYYMMDDTHHMMSS` with an optional `Z`; the flag says it was UTC.
pub(super) fn parse_datetime(s: &str) -> Option<(DateTime, bool)> {
    let (body, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(body) => (body, true),
        None => (s, false),
    };
    let (date, time) = body.split_once(['T', 't'])?;
    let date = parse_date(date)?;
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let time = Time::new(
        time.get(0..2)?.parse().ok()?,
        time.get(2..4)?.parse().ok()?,
        time.get(4..6)?.parse().ok()?,
        0,
    )
    .ok()?;
    Some((date.to_datetime(time), utc))
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;

    use super::*;
    use crate::calendar::CalendarProvider as _;
    use crate::calendar::local::busy_from_ics;
    use crate::calendar::local::test_support::*;

    /// Unfolding as RFC 5545 3.1 says, the plain way: the file split into
    /// physical lines first, then each content line with its continuations;
    /// blank lines are skipped, a continuation with nothing to continue is an
    /// error on its line, where reading stops.
    #[allow(clippy::type_complexity)]
    fn unfold_by_lines(text: &str) -> Vec<Result<(String, usize, usize, usize), usize>> {
        let mut physical = Vec::new();
        let mut at = if text.starts_with('\u{feff}') { 3 } else { 0 };
        while at < text.len() {
            let len = text[at..].find('\n').map_or(text.len() - at, |i| i + 1);
            let raw = &text[at..at + len];
            let content = raw.strip_suffix('\n').unwrap_or(raw);
            physical.push((at, at + len, content.strip_suffix('\r').unwrap_or(content)));
            at += len;
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < physical.len() {
            let (start, mut end, first) = physical[i];
            i += 1;
            let line = i;
            if first.is_empty() {
                continue;
            }
            if first.starts_with([' ', '\t']) {
                out.push(Err(line));
                break;
            }
            let mut unfolded = first.to_string();
            while let Some(&(_, next_end, next)) = physical.get(i) {
                if next.starts_with([' ', '\t']) {
                    unfolded.push_str(&next[1..]);
                    end = next_end;
                } else if !next.is_empty() {
                    break;
                }
                i += 1;
            }
            out.push(Ok((unfolded, line, start, end)));
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2_000, ..Default::default() })]

        /// Unfolding gives what folding by whole physical lines gives (see
        /// `unfold_by_lines`): the same content lines, first lines and byte
        /// ranges, and the same error, on any mix of folds, blank lines,
        /// CR and LF.
        #[test]
        fn unfolding_reads_what_unfolding_by_whole_lines_reads(
            bom in proptest::bool::ANY,
            body in "[A:; \t\r\né]{0,40}",
        ) {
            let text = if bom { format!("\u{feff}{body}") } else { body };
            let ours: Vec<_> = Unfold::new(&text)
                .scan(false, |failed, line| {
                    (!std::mem::replace(failed, line.is_err())).then(|| line.map(|l| (l.text.into_owned(), l.line, l.start, l.end)).map_err(|e| e.0))
                })
                .collect();
            proptest::prop_assert_eq!(ours, unfold_by_lines(&text), "{:?}", text);
        }

        /// Wherever the fast path reads a line, icalendar's parser reads the
        /// same parameters and value; and the plain lines of real calendars
        /// take the fast path.
        #[test]
        fn the_fast_path_reads_lines_as_icalendar_does(
            name in "(DTSTART|SUMMARY|X-A|ATTENDEE|DESCRIPTION|RRULE|Location)",
            params in proptest::collection::vec(("(TZID|PARTSTAT|VALUE|CN|X-y|E.F)", r#"[A-Za-z0-9/ =_.:;",\\-]{0,6}"#), 0..3),
            value in r#"[A-Za-z0-9 :;,=\\"]{0,10}"#,
        ) {
            let mut line = name.clone();
            for (k, v) in &params {
                line.push_str(&format!(";{k}={v}"));
            }
            line.push(':');
            line.push_str(&value);
            let name_end = line.find([';', ':']).unwrap();
            if let Some((fast_params, fast_value)) = simple_property(&line, name_end) {
                let parsed = icalendar::parser::Property::try_from(line.as_str()).unwrap();
                let theirs: Vec<(String, String)> = parsed
                    .params
                    .iter()
                    .map(|p| (p.key.as_str().to_string(), p.val.as_ref().map(|v| v.as_str().to_string()).unwrap_or_default()))
                    .collect();
                let ours: Vec<(String, String)> = plain_pairs(fast_params).map(|(k, v)| (k.to_string(), v.to_string())).collect();
                proptest::prop_assert_eq!(ours, theirs, "{}", line);
                proptest::prop_assert_eq!(fast_value, parsed.val.as_str(), "{}", line);
            }
        }
    }

    #[test]
    fn plain_lines_take_the_fast_path() {
        for line in [
            "DTSTART;TZID=Europe/Berlin:20260302T093000",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com",
            "SUMMARY:Team meeting",
            "RRULE:FREQ=WEEKLY;COUNT=8",
        ] {
            let name_end = line.find([';', ':']).unwrap();
            assert!(simple_property(line, name_end).is_some(), "{line}");
        }
        for line in [
            "ATTENDEE;CN=\"Lovelace, Ada\":mailto:a@b",
            "DESCRIPTION:a\\, b",
            "X;K=:v",
        ] {
            let name_end = line.find([';', ':']).unwrap();
            assert!(simple_property(line, name_end).is_none(), "{line}");
        }
    }

    #[test]
    fn unfolding_keeps_first_lines_and_byte_ranges() {
        // A BOM, CRLF and LF, a blank line inside a folded line and one
        // between two lines, and a tab as the fold.
        let text = "\u{feff}A:1\r\nB;K=v:x\r\n\r\n y\n\tz\n\nC:3";
        let lines: Vec<_> = Unfold::new(text).map(Result::unwrap).collect();
        let seen: Vec<_> = lines
            .iter()
            .map(|l| (&*l.text, l.line, text.get(l.start..l.end).unwrap()))
            .collect();
        assert_eq!(
            seen,
            [
                ("A:1", 1, "A:1\r\n"),
                ("B;K=v:xyz", 2, "B;K=v:x\r\n\r\n y\n\tz\n"),
                ("C:3", 7, "C:3"),
            ]
        );
        assert!(matches!(lines[0].text, Cow::Borrowed(_)));
        let err = Unfold::new("\n y:1\n").next().unwrap().err().unwrap();
        assert_eq!(err.0, 2);
    }

    #[test]
    fn parameters_are_found_whatever_their_case_on_plain_and_folded_lines() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "dtstart;tzid=Europe/Berlin;Value=DATE-TIME:20260309T100000",
            "ATTENDEE;PARTSTAT=DECLINED;CN=\"Ada, L\":mailto:ada@example.com",
            "SUMMARY;LANGUAGE=en:long",
            " er",
            "location;altrep=x:ro",
            " om",
            "END:VCALENDAR",
        ]);
        let roots = parse_calendar(&text, "a.ics").unwrap();
        let root = &roots[0];
        let start = root.prop("DTSTART").unwrap();
        assert_eq!(
            (start.param("TZID"), start.param("VALUE")),
            (Some("Europe/Berlin"), Some("DATE-TIME"))
        );
        assert_eq!(start.param("CN"), None);
        assert!(matches!(start.value, Cow::Borrowed("20260309T100000")));
        let attendee = root.prop("ATTENDEE").unwrap();
        assert_eq!(
            (attendee.param("PARTSTAT"), attendee.param("CN")),
            (Some("DECLINED"), Some("Ada, L"))
        );
        let summary = root.prop("SUMMARY").unwrap();
        assert_eq!((summary.param("LANGUAGE"), &*summary.value), (Some("en"), "longer"));
        let location = root.prop("LOCATION").unwrap();
        assert_eq!((location.param("ALTREP"), &*location.value), (Some("x"), "room"));
        assert!(matches!(location.params, Params::Parsed(_)));
    }

    #[test]
    fn folded_lines_lf_line_ends_and_a_bom_are_read() {
        let text = "\u{feff}BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=Europe/\n Berlin:20260310T10\n\t0000\nDURATION:PT1H\n\nEND:VEVENT\nEND:VCALENDAR";
        assert_eq!(march(text), [span("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z")]);
    }

    #[test]
    fn alarms_todos_and_unknown_properties_are_ignored() {
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "BEGIN:VTODO",
            "DTSTART:20260309T100000Z",
            "DUE:20260309T120000Z",
            "END:VTODO",
            "BEGIN:VEVENT",
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "X-MOZ-GENERATION:3",
            "BEGIN:VALARM",
            "TRIGGER:-PT15M",
            "ACTION:DISPLAY",
            "END:VALARM",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(march(&text), [span("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z")]);
    }

    #[test]
    fn malformed_inputs_name_the_file_and_the_line() {
        const HEAD: [&str; 3] = ["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT"];
        let event = |props: &[&str]| {
            let mut lines = HEAD.to_vec();
            lines.extend_from_slice(props);
            lines.extend(["END:VEVENT", "END:VCALENDAR"]);
            ics(&lines)
        };
        let cases: Vec<(String, usize, &str)> = vec![
            (ics(&["hello world"]), 1, "not an iCalendar file"),
            (String::new(), 1, "empty"),
            (ics(&["BEGIN:VEVENT", "END:VEVENT"]), 1, "expected"),
            (ics(&[" BEGIN:VCALENDAR"]), 1, "continuation"),
            (
                ics(&[
                    "BEGIN:VCALENDAR",
                    "VERSION:2.0",
                    "BEGIN:VEVENT",
                    "DTSTART:20260309T100000Z",
                ]),
                3,
                "never closed",
            ),
            (
                ics(&[
                    "BEGIN:VCALENDAR",
                    "BEGIN:VEVENT",
                    "DTSTART:20260309T100000Z",
                    "END:VTODO",
                    "END:VCALENDAR",
                ]),
                4,
                "does not close BEGIN:VEVENT",
            ),
            (
                ics(&["BEGIN:VCALENDAR", "END:VCALENDAR", "SUMMARY:stray"]),
                3,
                "after END:VCALENDAR",
            ),
            (event(&["DTSTART 20260309T100000Z"]), 4, "has no ':'"),
            (event(&["DT START:20260309T100000Z"]), 4, "not a property name"),
            (event(&["UID:x"]), 3, "without DTSTART"),
            (event(&["DTSTART:2026-03-09T10:00"]), 4, "not a date-time"),
            (event(&["DTSTART;VALUE=DATE:20260309T100000"]), 4, "not a date"),
            (event(&["DTSTART:20261309T100000Z"]), 4, "not a date-time"),
            (
                event(&["DTSTART;TZID=Mars/Olympus_Mons:20260309T100000"]),
                4,
                "unknown time zone \"Mars/Olympus_Mons\"",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RRULE:FREQ=FORTNIGHTLY"]),
                5,
                "RRULE",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RRULE:FREQ=DAILY;UNTIL=tomorrow"]),
                5,
                "UNTIL=tomorrow",
            ),
            (
                event(&["UID:x", "DTSTART:20260309T100000Z", "DTEND:20260309T090000Z"]),
                6,
                "before DTSTART",
            ),
            (
                event(&["DTSTART;VALUE=DATE:20260309", "DTEND:20260310T090000Z"]),
                5,
                "both dates or both date-times",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "DURATION:1 hour"]),
                5,
                "not an iCalendar duration",
            ),
            (event(&["DTSTART:20260309T100000Z", "DURATION:-PT1H"]), 5, "negative"),
            (
                event(&["DTSTART:20260309T100000Z", "DTEND:20260309T110000Z", "DURATION:PT1H"]),
                6,
                "both DTEND and DURATION",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "DTSTART:20260309T110000Z"]),
                5,
                "a second DTSTART",
            ),
            (
                event(&[
                    "DTSTART:20260309T100000Z",
                    "RRULE:FREQ=DAILY",
                    "EXDATE:20260310T100000Z,2026031",
                ]),
                6,
                "EXDATE value \"2026031\"",
            ),
            (
                event(&[
                    "DTSTART:20260309T100000Z",
                    "RDATE;VALUE=PERIOD:20260310T100000Z/20260310T090000Z",
                ]),
                5,
                "ends before it starts",
            ),
            (
                event(&["DTSTART:20260309T100000Z", "RECURRENCE-ID:soon"]),
                5,
                "RECURRENCE-ID",
            ),
            (
                ics(&["BEGIN:VCALENDAR", "X-WR-TIMEZONE:Atlantis/Capital", "END:VCALENDAR"]),
                2,
                "unknown time zone",
            ),
            // A folded line counts from its first physical line, and lines after
            // folds keep their physical numbers.
            (
                event(&[
                    "DESCRIPTION:first part",
                    "  folded",
                    "DTSTART;TZID=Nowhere/",
                    " City:20260309T100000",
                ]),
                6,
                "unknown time zone \"Nowhere/City\"",
            ),
        ];
        assert!(cases.len() >= 12);
        for (text, line, fragment) in cases {
            let err = busy_from_ics(
                &text,
                "cal/ada.ics",
                OWNER,
                &TimeZone::UTC,
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .expect_err(&text);
            let shown = err.to_string();
            assert!(
                matches!(&err, CalendarError::Invalid { path, line: Some(l), .. } if path == "cal/ada.ics" && *l == line),
                "expected line {line} for {text:?}, got {shown}"
            );
            assert!(shown.starts_with(&format!("cal/ada.ics:{line}: ")), "{shown}");
            assert!(shown.contains(fragment), "{shown:?} should mention {fragment:?}");
            assert!(shown.contains("expected"), "{shown:?} should say what was expected");
        }
    }

    #[tokio::test]
    async fn a_file_that_is_not_utf8_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:caf".to_vec();
        bytes.extend([0xe9, b'\r', b'\n']);
        fs::write(dir.path().join("ada@example.com.ics"), bytes).unwrap();
        let p = provider(dir.path());
        let err = p
            .busy(
                &["ada@example.com".to_string()],
                range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, CalendarError::Invalid { line: Some(3), .. }), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }
}

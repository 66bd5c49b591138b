//! Structure-aware inputs: valid documents (the seeds of each format) changed
//! the way real files and answers go wrong — cut short, a bit flipped, lines
//! deleted, repeated, swapped or inserted from the format's own vocabulary, a
//! value replaced by one of the wrong type or a huge number or odd Unicode, a
//! line made very long, deep nesting — plus, for JSON and TOML, the same at
//! the level of values (a key removed, given another type, wrapped in an
//! array).
//! Every input is at most [`MAX_INPUT`] bytes.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// The largest input handed to a parser: far above any real configuration,
/// calendar export or API answer page of the tests' seeds, small enough to
/// keep each case fast.
pub const MAX_INPUT: usize = 256 * 1024;
/// The longest line the "very long line" mutation makes.
const MAX_LONG_LINE: usize = 100_000;
/// The deepest nesting the "deep nesting" mutation makes.
const MAX_DEPTH: usize = 20_000;

/// What the mutations know of one format.
pub struct Format {
    /// Valid documents.
    pub seeds: &'static [&'static str],
    /// Whole lines worth inserting: keys, properties, headers of the format.
    pub lines: &'static [&'static str],
    /// Values worth putting in place of a value (the format's own and wrong types).
    pub values: &'static [&'static str],
    /// What separates a key from its value on a line.
    pub separator: u8,
    /// `depth` levels of the format's nesting, as text.
    pub nest: fn(usize) -> String,
}

/// Values that break parsers of any format: huge and negative numbers, odd
/// Unicode (byte order mark, right-to-left override, zero width, combining
/// marks, characters whose lower case is longer, the last code point, NUL,
/// line and paragraph separators), quotes and escapes.
pub const ODD: &[&str] = &[
    "0",
    "-1",
    "-0",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "1e308",
    "-1e309",
    "NaN",
    "inf",
    "0.000000000000000000001",
    "99991231",
    "99991231T235959Z",
    "00000101T000000",
    "9999-12-31",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "\u{feff}",
    "\u{202e}abc",
    "\u{200b}",
    "e\u{301}\u{301}\u{301}",
    "\u{130}\u{130}",
    "\u{fb03}",
    "\u{1f642}",
    "\u{10ffff}",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{2028}\u{2029}",
    "\r",
    "\t",
    "\\",
    "\\u0000",
    "\\uD800",
    "\"",
    "'",
    "",
    " ",
];

/// A generated input; shown as text when a case fails.
#[derive(Clone)]
pub struct Doc(pub Vec<u8>);

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 4000;
        let text = String::from_utf8_lossy(&self.0);
        match text.char_indices().nth(SHOWN) {
            Some((cut, _)) => write!(f, "Doc({:?}… {} bytes in all)", &text[..cut], self.0.len()),
            None => write!(f, "Doc({text:?})"),
        }
    }
}

/// One change to a document.
#[derive(Clone, Debug)]
pub enum Op {
    Truncate(Index),
    FlipBit(Index, u8),
    SetByte(Index, u8),
    DeleteLine(Index),
    DuplicateLine(Index, usize),
    SwapLines(Index, Index),
    InsertLine(Index, Index),
    ReplaceValue(Index, Index, bool),
    LongLine(Index, usize, u8),
    Nest(Index, usize),
    Splice(Index, Index, Index),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => any::<Index>().prop_map(Op::Truncate),
        1 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Op::FlipBit(i, b)),
        1 => (
            any::<Index>(),
            prop_oneof![
                Just(0u8),
                Just(0xff),
                Just(0x80),
                Just(0xc3),
                Just(b'\n'),
                Just(b'\r'),
                Just(b' '),
                Just(b'"'),
                Just(b'\\'),
                Just(b'['),
                Just(b'{'),
                Just(b'='),
                Just(b':'),
                Just(b';'),
                Just(b','),
                any::<u8>(),
            ]
        )
            .prop_map(|(i, b)| Op::SetByte(i, b)),
        1 => any::<Index>().prop_map(Op::DeleteLine),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Op::DuplicateLine(i, n)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Op::SwapLines(a, b)),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(at, line)| Op::InsertLine(at, line)),
        4 => (any::<Index>(), any::<Index>(), any::<bool>()).prop_map(|(l, v, odd)| Op::ReplaceValue(l, v, odd)),
        1 => (any::<Index>(), 1usize..MAX_LONG_LINE, any::<u8>()).prop_map(|(i, n, c)| Op::LongLine(i, n, c)),
        1 => (any::<Index>(), 1usize..MAX_DEPTH).prop_map(|(i, d)| Op::Nest(i, d)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(a, b, c)| Op::Splice(a, b, c)),
    ]
}

/// Byte ranges of the lines of `doc`, line breaks included.
fn lines(doc: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in doc.iter().enumerate() {
        if *b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < doc.len() || out.is_empty() {
        out.push((start, doc.len()));
    }
    out
}

/// The line break `doc` uses (CRLF for iCalendar exports).
fn line_break(doc: &[u8]) -> &'static [u8] {
    if doc.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    }
}

fn pick<'a>(all: &[&'a str], index: &Index) -> &'a str {
    if all.is_empty() {
        ""
    } else {
        all[index.index(all.len())]
    }
}

/// Applies `op` to `doc`, keeping it within [`MAX_INPUT`].
pub fn apply(format: &Format, doc: &mut Vec<u8>, op: &Op) {
    let spans = lines(doc);
    let line = |i: &Index| spans[i.index(spans.len())];
    let at = |i: &Index| i.index(doc.len() + 1);
    let newline = line_break(doc);
    match op {
        Op::Truncate(i) => doc.truncate(at(i)),
        Op::FlipBit(i, bit) => {
            if !doc.is_empty() {
                let p = i.index(doc.len());
                doc[p] ^= 1 << bit;
            }
        }
        Op::SetByte(i, b) => {
            if !doc.is_empty() {
                let p = i.index(doc.len());
                doc[p] = *b;
            }
        }
        Op::DeleteLine(i) => {
            let (s, e) = line(i);
            doc.drain(s..e);
        }
        Op::DuplicateLine(i, n) => {
            let (s, e) = line(i);
            let mut copy = doc[s..e].to_vec();
            if !copy.ends_with(b"\n") {
                copy.extend_from_slice(newline);
            }
            let repeated = copy.repeat(*n);
            doc.splice(s..s, repeated);
        }
        Op::SwapLines(a, b) => {
            let (mut x, mut y) = (line(a), line(b));
            if x.0 > y.0 {
                std::mem::swap(&mut x, &mut y);
            }
            if x.1 <= y.0 {
                let second = doc[y.0..y.1].to_vec();
                let first = doc[x.0..x.1].to_vec();
                doc.splice(y.0..y.1, first);
                doc.splice(x.0..x.1, second);
            }
        }
        Op::InsertLine(i, which) => {
            let (s, _) = line(i);
            let mut text = pick(format.lines, which).as_bytes().to_vec();
            text.extend_from_slice(newline);
            doc.splice(s..s, text);
        }
        Op::ReplaceValue(i, which, odd) => {
            let (s, e) = line(i);
            let body_end = doc[s..e]
                .iter()
                .rposition(|b| *b != b'\n' && *b != b'\r')
                .map_or(s, |p| s + p + 1);
            if let Some(sep) = doc[s..body_end].iter().position(|b| *b == format.separator) {
                let from = s + sep + 1;
                // Keep a JSON line's trailing comma, so only the value changes.
                let to = if doc[from..body_end].ends_with(b",") {
                    body_end - 1
                } else {
                    body_end
                };
                let value = if *odd {
                    pick(ODD, which)
                } else {
                    pick(format.values, which)
                };
                doc.splice(from..to, value.bytes());
            }
        }
        Op::LongLine(i, n, c) => {
            let (s, e) = line(i);
            let end = doc[s..e]
                .iter()
                .position(|b| *b == b'\r' || *b == b'\n')
                .map_or(e, |p| s + p);
            let filler = match c % 4 {
                0 => b"a".to_vec(),
                1 => "\u{e9}".as_bytes().to_vec(),
                2 => b" ".to_vec(),
                _ => vec![*c],
            };
            doc.splice(end..end, filler.repeat(*n));
        }
        Op::Nest(i, depth) => {
            let (s, _) = line(i);
            let mut text = (format.nest)(*depth).into_bytes();
            text.extend_from_slice(newline);
            doc.splice(s..s, text);
        }
        Op::Splice(from, to, dest) => {
            let (a, b) = (at(from), at(to));
            let chunk = doc[a.min(b)..a.max(b)].to_vec();
            let d = at(dest);
            doc.splice(d..d, chunk);
        }
    }
    doc.truncate(MAX_INPUT);
}

/// A seed of `format` with up to `max_ops` mutations applied.
pub fn doc(format: &'static Format, max_ops: usize) -> impl Strategy<Value = Doc> {
    (any::<Index>(), proptest::collection::vec(op(), 1..=max_ops)).prop_map(move |(seed, ops)| {
        let mut d = pick(format.seeds, &seed).as_bytes().to_vec();
        for o in &ops {
            apply(format, &mut d, o);
        }
        Doc(d)
    })
}

/// A change to one JSON value.
#[derive(Clone, Debug)]
enum JsonOp {
    Remove(Index),
    Replace(Index, Index),
    WrapInArray(Index),
}

/// Values of every JSON type, and of the right type but extreme.
fn json_values() -> Vec<Value> {
    let mut all: Vec<Value> = vec![
        Value::Null,
        Value::Bool(true),
        serde_json::json!(-1),
        serde_json::json!(0),
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MIN),
        serde_json::json!(1e308),
        serde_json::json!(0.5),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([[[[["deep"]]]]]),
        serde_json::json!({"dateTime": "2026-03-09T10:00:00Z"}),
        serde_json::json!({"dateTime": "9999-12-31T23:59:59+14:00", "timeZone": "Pacific/Kiritimati"}),
        serde_json::json!({"date": "2026-03-09"}),
        serde_json::json!(["RRULE:FREQ=WEEKLY;UNTIL=99991231"]),
        serde_json::json!(["RRULE:FREQ=WEEKLY;COUNT=4294967295", "EXDATE:x"]),
        Value::String("9999-12-31T23:59:59Z".into()),
        Value::String("0000-01-01T00:00:00Z".into()),
        Value::String("2026-03-09T10:00:00.999999999999Z".into()),
        Value::String("RRULE:FREQ=WEEKLY;UNTIL=00010101T000000Z".into()),
        Value::String("a@x.org|b@y.org".into()),
        Value::String("x".repeat(70_000)),
    ];
    all.extend(ODD.iter().map(|s| Value::String((*s).to_string())));
    all
}

/// Every value in `v` with a way to reach it, depth first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

fn apply_json(root: &mut Value, op: &JsonOp, values: &[Value]) {
    let mut all = Vec::new();
    pointers(root, String::new(), &mut all);
    let (JsonOp::Remove(i) | JsonOp::Replace(i, _) | JsonOp::WrapInArray(i)) = op;
    let path = all[i.index(all.len())].clone();
    match op {
        JsonOp::Remove(_) => {
            let Some((parent, last)) = path.rsplit_once('/') else {
                return;
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match root.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Ok(n) = key.parse::<usize>()
                        && n < items.len()
                    {
                        items.remove(n);
                    }
                }
                _ => {}
            }
        }
        JsonOp::Replace(_, which) => {
            if let Some(slot) = root.pointer_mut(&path) {
                *slot = values[which.index(values.len())].clone();
            }
        }
        JsonOp::WrapInArray(_) => {
            if let Some(slot) = root.pointer_mut(&path) {
                *slot = Value::Array(vec![slot.take()]);
            }
        }
    }
}

fn json_op() -> impl Strategy<Value = JsonOp> {
    prop_oneof![
        1 => any::<Index>().prop_map(JsonOp::Remove),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| JsonOp::Replace(a, b)),
        1 => any::<Index>().prop_map(JsonOp::WrapInArray),
    ]
}

/// A JSON seed of `format` with up to three changes to its values (wrong
/// types, missing fields, extremes), written compact or pretty, then up to
/// `max_ops` changes to its bytes.
pub fn json_doc(format: &'static Format, max_ops: usize) -> impl Strategy<Value = Doc> {
    (
        any::<Index>(),
        proptest::collection::vec(json_op(), 0..=3),
        any::<bool>(),
        // Half the cases keep valid JSON, so the reading behind it is reached.
        prop_oneof![Just(Vec::new()), proptest::collection::vec(op(), 1..=max_ops)],
    )
        .prop_map(move |(seed, json_ops, pretty, ops)| {
            let text = pick(format.seeds, &seed);
            let mut bytes = match serde_json::from_str::<Value>(text) {
                Ok(mut value) => {
                    let values = json_values();
                    for o in &json_ops {
                        apply_json(&mut value, o, &values);
                    }
                    let written = if pretty {
                        serde_json::to_vec_pretty(&value)
                    } else {
                        serde_json::to_vec(&value)
                    };
                    written.unwrap_or_default()
                }
                Err(_) => text.as_bytes().to_vec(),
            };
            for o in &ops {
                apply(format, &mut bytes, o);
            }
            Doc(bytes)
        })
}

/// Deep JSON nesting: arrays and objects, not closed when `depth` is odd.
pub fn json_nest(depth: usize) -> String {
    let open: String = (0..depth).map(|i| if i % 2 == 0 { "[" } else { "{\"a\":" }).collect();
    if depth % 2 == 1 {
        return open;
    }
    let close: String = (0..depth).rev().map(|i| if i % 2 == 0 { "]" } else { "}" }).collect();
    format!("{open}1{close}")
}

/// Where a TOML value is: keys and array indices from the root table.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    At(usize),
}

fn toml_paths(v: &toml::Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match v {
        toml::Value::Table(t) => {
            for (k, item) in t {
                at.push(Step::Key(k.clone()));
                toml_paths(item, at, out);
                at.pop();
            }
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::At(i));
                toml_paths(item, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn toml_at<'v>(mut v: &'v mut toml::Value, path: &[Step]) -> Option<&'v mut toml::Value> {
    for step in path {
        v = match (step, v) {
            (Step::Key(k), toml::Value::Table(t)) => t.get_mut(k)?,
            (Step::At(i), toml::Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// TOML values of every type, and of the right type but extreme.
fn toml_values() -> Vec<toml::Value> {
    use toml::Value as V;
    let date = |s: &str| V::Datetime(s.parse().unwrap());
    let mut all = vec![
        V::Integer(i64::MAX),
        V::Integer(i64::MIN),
        V::Integer(-1),
        V::Integer(0),
        V::Integer(53),
        V::Float(1e308),
        V::Float(f64::NAN),
        V::Float(-0.5),
        V::Boolean(true),
        date("9999-12-31"),
        date("0001-01-01"),
        date("2026-01-06"),
        date("2026-01-05T10:00:00Z"),
        date("2026-01-05T10:00:00"),
        date("10:00:00"),
        V::Array(Vec::new()),
        V::Array(vec![V::Integer(1), V::String("mon".into())]),
        V::Table(toml::Table::new()),
        V::String("30m".into()),
        V::String("99999999999w".into()),
        V::String("09:00-17:00".into()),
        V::String("sat-fri".into()),
        V::String("Europe/Berlin".into()),
        V::String("{a.name}{b.unit}{weeks}{nope}".into()),
        V::String("x".repeat(70_000)),
    ];
    all.extend(ODD.iter().map(|s| V::String((*s).to_string())));
    all
}

/// A TOML seed of `format` with up to three changes to its values (wrong
/// types, missing keys, extremes), written back as TOML, then up to
/// `max_ops` changes to its bytes (none in half the cases, so that the
/// validation behind the syntax is reached).
pub fn toml_doc(format: &'static Format, max_ops: usize) -> impl Strategy<Value = Doc> {
    (
        any::<Index>(),
        proptest::collection::vec(json_op(), 0..=3),
        prop_oneof![Just(Vec::new()), proptest::collection::vec(op(), 1..=max_ops)],
    )
        .prop_map(move |(seed, value_ops, ops)| {
            let text = pick(format.seeds, &seed);
            let mut bytes = match text.parse::<toml::Table>() {
                Ok(table) => {
                    let mut root = toml::Value::Table(table);
                    let values = toml_values();
                    for o in &value_ops {
                        let mut all = Vec::new();
                        toml_paths(&root, &mut Vec::new(), &mut all);
                        let (JsonOp::Remove(i) | JsonOp::Replace(i, _) | JsonOp::WrapInArray(i)) = o;
                        let path = all[i.index(all.len())].clone();
                        match o {
                            JsonOp::Remove(_) => {
                                if let Some((last, parent)) = path.split_last()
                                    && let Some(holder) = toml_at(&mut root, parent)
                                {
                                    match (last, holder) {
                                        (Step::Key(k), toml::Value::Table(t)) => {
                                            t.remove(k);
                                        }
                                        (Step::At(n), toml::Value::Array(a)) if *n < a.len() => {
                                            a.remove(*n);
                                        }
                                        _ => {}
                                    }
                                }
                            }
                            JsonOp::Replace(_, which) => {
                                if !path.is_empty()
                                    && let Some(slot) = toml_at(&mut root, &path)
                                {
                                    *slot = values[which.index(values.len())].clone();
                                }
                            }
                            JsonOp::WrapInArray(_) => {
                                if !path.is_empty()
                                    && let Some(slot) = toml_at(&mut root, &path)
                                {
                                    let inner = std::mem::replace(slot, toml::Value::Boolean(false));
                                    *slot = toml::Value::Array(vec![inner]);
                                }
                            }
                        }
                    }
                    toml::to_string(&root)
                        .map(String::into_bytes)
                        .unwrap_or_else(|_| text.as_bytes().to_vec())
                }
                Err(_) => text.as_bytes().to_vec(),
            };
            for o in &ops {
                apply(format, &mut bytes, o);
            }
            Doc(bytes)
        })
}

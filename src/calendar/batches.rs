//! Cutting a busy-time read into the requests a calendar API allows: the
//! range into windows of at most a span, the people into groups of at most a
//! count. Google's `freeBusy.query` and Microsoft's `getSchedule` differ only
//! in those two limits.

use std::collections::HashSet;

use jiff::SignedDuration;

use crate::core::interval::Interval;

/// One request: some people over one window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Query {
    pub emails: Vec<String>,
    pub window: Interval,
}

/// The requests that cover `emails` over `range`, each person asked once (in
/// the order first given), windows of at most `max_span`, groups of at most
/// `max_people`.
pub(crate) fn batches(emails: &[String], range: Interval, max_span: SignedDuration, max_people: usize) -> Vec<Query> {
    let mut seen = HashSet::with_capacity(emails.len());
    let unique: Vec<&String> = emails.iter().filter(|e| seen.insert(e.as_str())).collect();
    let mut windows = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let end = start.checked_add(max_span).map_or(range.end, |e| e.min(range.end));
        windows.push(Interval::new(start, end));
        start = end;
    }
    let mut queries = Vec::new();
    for window in windows {
        for group in unique.chunks(max_people.max(1)) {
            queries.push(Query {
                emails: group.iter().map(|e| e.to_string()).collect(),
                window,
            });
        }
    }
    queries
}

//! Free/busy for many people in as few `freeBusy.query` calls as Google allows:
//! at most 50 calendars and about 90 days per call. The range is cut into
//! windows of at most 89 days and the people into groups of at most 50; each
//! (window, group) is one call, and the answers are merged per person.
//!
//! A calendar Google cannot read (`notFound`, ...) makes that person's answer
//! an `Err(reason)`; the others are unaffected.

use std::collections::BTreeMap;

use google_calendar3::api::{FreeBusyCalendar, FreeBusyRequest, FreeBusyRequestItem, FreeBusyResponse};
use jiff::SignedDuration;

use super::events::{from_chrono, to_chrono};
use crate::calendar::BusyAnswer;
use crate::core::interval::{Interval, IntervalSet};

/// Google's limit of calendars per query.
pub(crate) const MAX_CALENDARS: usize = 50;
/// Google's limit of the queried range is undocumented; clients observe
/// "The requested time range is too long." past about 90 days. A day of
/// margin keeps a window clear of however Google counts that limit (across
/// a DST change, say).
pub(crate) const MAX_SPAN: SignedDuration = SignedDuration::from_hours(89 * 24);

pub(crate) use crate::calendar::batches::Query;

/// The calls that cover `emails` over `range` (duplicates asked once).
pub(crate) fn plan_queries(emails: &[String], range: Interval) -> Vec<Query> {
    crate::calendar::batches::batches(emails, range, MAX_SPAN, MAX_CALENDARS)
}

/// The request body of one query.
pub(crate) fn request_for(query: &Query) -> Result<FreeBusyRequest, String> {
    Ok(FreeBusyRequest {
        time_min: Some(to_chrono(query.window.start)?),
        time_max: Some(to_chrono(query.window.end)?),
        items: Some(
            query
                .emails
                .iter()
                .map(|email| FreeBusyRequestItem {
                    id: Some(email.clone()),
                })
                .collect(),
        ),
        ..FreeBusyRequest::default()
    })
}

/// Everyone starts with no busy time; each answer adds to it or marks the
/// person unavailable (the first reason is kept).
pub(crate) fn empty_answers(emails: &[String]) -> BTreeMap<String, BusyAnswer> {
    emails.iter().map(|e| (e.clone(), Ok(IntervalSet::new()))).collect()
}

/// Merges the answer to `query` into `answers`.
pub(crate) fn merge_answer(query: &Query, response: &FreeBusyResponse, answers: &mut BTreeMap<String, BusyAnswer>) {
    let calendars = response.calendars.as_ref();
    for email in &query.emails {
        // Google keys the answer by the id as asked; be lenient about case.
        let calendar = calendars.and_then(|c| {
            c.get(email)
                .or_else(|| c.iter().find(|(k, _)| k.eq_ignore_ascii_case(email)).map(|(_, v)| v))
        });
        let read = match calendar {
            None => Err("Google's free/busy answer does not mention this calendar".to_string()),
            Some(calendar) => busy_of(calendar, query.window),
        };
        let Some(entry) = answers.get_mut(email) else {
            continue;
        };
        match (entry.as_mut(), read) {
            (Ok(so_far), Ok(busy)) => *so_far = so_far.union(&busy),
            (Ok(_), Err(reason)) => *entry = Err(reason),
            (Err(_), _) => {}
        }
    }
}

fn busy_of(calendar: &FreeBusyCalendar, window: Interval) -> Result<IntervalSet, String> {
    if let Some(first) = calendar.errors.iter().flatten().next() {
        let reason = first.reason.as_deref().unwrap_or("unknown");
        return Err(match reason {
            "notFound" => "Google Calendar does not know this calendar, or its free/busy is not shared with the \
                           organizer (notFound)"
                .to_string(),
            other => format!("Google Calendar could not read this calendar's free/busy ({other})"),
        });
    }
    let mut spans = Vec::new();
    for period in calendar.busy.iter().flatten() {
        let (Some(start), Some(end)) = (period.start, period.end) else {
            return Err("Google's free/busy answer has a busy period without start or end".into());
        };
        let span = Interval::new(from_chrono("busy.start", start)?, from_chrono("busy.end", end)?);
        if let Some(inside) = span.intersection(&window) {
            spans.push(inside);
        }
    }
    Ok(IntervalSet::from_intervals(spans))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn people(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("p{i:03}@example.com")).collect()
    }

    fn four_weeks() -> Interval {
        Interval::new(ts("2026-03-01T00:00:00Z"), ts("2026-03-30T00:00:00Z"))
    }

    #[test]
    fn people_are_asked_fifty_at_a_time() {
        for (n, sizes) in [(1, vec![1]), (50, vec![50]), (51, vec![50, 1]), (120, vec![50, 50, 20])] {
            let queries = plan_queries(&people(n), four_weeks());
            let got: Vec<usize> = queries.iter().map(|q| q.emails.len()).collect();
            assert_eq!(got, sizes, "{n} people");
            assert!(queries.iter().all(|q| q.window == four_weeks()));
            let asked: Vec<String> = queries.into_iter().flat_map(|q| q.emails).collect();
            assert_eq!(asked, people(n), "everyone once, in order");
        }
    }

    #[test]
    fn a_long_range_is_split_into_windows_of_at_most_89_days() {
        let start = ts("2026-01-01T00:00:00Z");
        let end = start.checked_add(SignedDuration::from_hours(200 * 24)).unwrap();
        let queries = plan_queries(&people(120), Interval::new(start, end));
        assert_eq!(queries.len(), 9, "3 windows x 3 groups");
        let mut windows: Vec<Interval> = queries.iter().map(|q| q.window).collect();
        windows.dedup();
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].start, start);
        assert_eq!(windows[2].end, end);
        for pair in windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "windows tile the range");
        }
        assert!(windows.iter().all(|w| w.duration() <= MAX_SPAN));
        assert_eq!(windows[2].duration(), SignedDuration::from_hours(22 * 24));
    }

    #[test]
    fn nothing_to_ask_means_no_query() {
        assert!(plan_queries(&[], four_weeks()).is_empty());
        let empty = Interval::new(ts("2026-03-01T00:00:00Z"), ts("2026-03-01T00:00:00Z"));
        assert!(plan_queries(&people(3), empty).is_empty());
        let twice = vec!["a@x.org".to_string(), "a@x.org".to_string()];
        assert_eq!(plan_queries(&twice, four_weeks())[0].emails, ["a@x.org"]);
    }

    #[test]
    fn the_request_names_every_calendar_and_the_window() {
        let q = &plan_queries(&people(2), four_weeks())[0];
        let mut value = serde_json::to_value(request_for(q).unwrap()).unwrap();
        google_calendar3::common::remove_json_null_values(&mut value);
        assert_eq!(
            value,
            json!({
                "timeMin": "2026-03-01T00:00:00Z",
                "timeMax": "2026-03-30T00:00:00Z",
                "items": [{"id": "p000@example.com"}, {"id": "p001@example.com"}],
            })
        );
    }

    fn response(value: serde_json::Value) -> FreeBusyResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn answers_are_merged_per_person_and_a_calendar_error_stays_with_its_person() {
        let emails = vec!["ada@x.org".to_string(), "bob@x.org".to_string(), "cy@x.org".to_string()];
        let range = Interval::new(ts("2026-01-01T00:00:00Z"), ts("2026-06-01T00:00:00Z"));
        let queries = plan_queries(&emails, range);
        assert_eq!(queries.len(), 2, "151 days: two windows");
        let mut answers = empty_answers(&emails);
        merge_answer(
            &queries[0],
            &response(json!({"kind": "calendar#freeBusy", "calendars": {
                "ada@x.org": {"busy": [{"start": "2026-01-05T09:00:00Z", "end": "2026-01-05T10:00:00Z"}]},
                "Bob@X.org": {"busy": []},
                "cy@x.org": {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []},
            }})),
            &mut answers,
        );
        merge_answer(
            &queries[1],
            &response(json!({"calendars": {
                "ada@x.org": {"busy": [{"start": "2026-05-05T09:00:00-04:00", "end": "2026-05-05T10:00:00-04:00"}]},
                "bob@x.org": {"errors": [{"domain": "global", "reason": "internalError"}]},
                "cy@x.org": {"busy": []},
            }})),
            &mut answers,
        );
        let ada = answers["ada@x.org"].as_ref().unwrap();
        assert_eq!(
            ada.spans(),
            [
                Interval::new(ts("2026-01-05T09:00:00Z"), ts("2026-01-05T10:00:00Z")),
                Interval::new(ts("2026-05-05T13:00:00Z"), ts("2026-05-05T14:00:00Z")),
            ]
        );
        let bob = answers["bob@x.org"].as_ref().unwrap_err();
        assert!(bob.contains("(internalError)"), "{bob}");
        let cy = answers["cy@x.org"].as_ref().unwrap_err();
        assert!(cy.contains("(notFound)") && cy.contains("not shared"), "{cy}");
    }

    #[test]
    fn a_calendar_missing_from_the_answer_is_that_persons_error() {
        let emails = vec!["ada@x.org".to_string()];
        let q = &plan_queries(&emails, four_weeks())[0];
        let mut answers = empty_answers(&emails);
        merge_answer(q, &response(json!({"calendars": {}})), &mut answers);
        assert!(answers["ada@x.org"].is_err());
        let mut answers = empty_answers(&emails);
        merge_answer(
            q,
            &response(json!({"calendars": {"ada@x.org": {"busy": [{"start": "2026-03-02T09:00:00Z"}]}}})),
            &mut answers,
        );
        assert!(
            answers["ada@x.org"]
                .as_ref()
                .unwrap_err()
                .contains("without start or end")
        );
    }

    #[test]
    fn busy_time_outside_the_window_is_clipped() {
        let emails = vec!["ada@x.org".to_string()];
        let q = &plan_queries(&emails, four_weeks())[0];
        let mut answers = empty_answers(&emails);
        merge_answer(
            q,
            &response(json!({"calendars": {"ada@x.org": {"busy": [
                {"start": "2026-02-28T00:00:00Z", "end": "2026-03-01T01:00:00Z"},
            ]}}})),
            &mut answers,
        );
        assert_eq!(
            answers["ada@x.org"].as_ref().unwrap().spans(),
            [Interval::new(ts("2026-03-01T00:00:00Z"), ts("2026-03-01T01:00:00Z"))]
        );
    }
}

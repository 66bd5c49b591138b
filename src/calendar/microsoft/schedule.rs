//! Busy time through `getSchedule`, within Microsoft's documented limits:
//! "up to 20 entities at once" and "the time period to look up must be less
//! than 62 days" (https://learn.microsoft.com/en-us/graph/outlook-get-free-busy-schedule#limits-and-error-conditions).
//! The range is cut into windows of at most 61 days and the people into
//! groups of at most 20; each (window, group) is one request, merged per
//! person. `busy`, `oof` and `tentative` items are busy; `free` and
//! `workingElsewhere` are not (the person works, and the meeting is online).
//! A schedule Graph cannot read comes back with its own `error`: that
//! person's answer is the reason, the others are unaffected.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::events::instant;
use crate::calendar::BusyAnswer;
use crate::core::interval::{Interval, IntervalSet};

pub(crate) const MAX_SCHEDULES: usize = 20;
/// A day under the documented 62 days, so no counting of the limit (a DST
/// day, an inclusive end) can push a window over it.
pub(crate) const MAX_SPAN: SignedDuration = SignedDuration::from_hours(61 * 24);
/// `availabilityViewInterval`, in minutes (5 to 1440): liaison reads the
/// items, not the view, so the view is kept to one character a day.
const VIEW_INTERVAL: u32 = 1440;

pub(crate) use crate::calendar::batches::Query;

/// The getSchedule requests that cover `emails` over `range` (duplicates asked once).
pub(crate) fn plan(emails: &[String], range: Interval) -> Vec<Query> {
    crate::calendar::batches::batches(emails, range, MAX_SPAN, MAX_SCHEDULES)
}

pub(crate) fn body(q: &Query) -> Value {
    let utc = |t: jiff::Timestamp| {
        t.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .datetime()
            .strftime("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    json!({
        "schedules": q.emails,
        "startTime": {"dateTime": utc(q.window.start), "timeZone": "UTC"},
        "endTime": {"dateTime": utc(q.window.end), "timeZone": "UTC"},
        "availabilityViewInterval": VIEW_INTERVAL,
    })
}

/// Merges one answer into `answers`.
pub(crate) fn merge(q: &Query, answer: &Value, answers: &mut BTreeMap<String, BusyAnswer>) {
    let infos = answer["value"].as_array().cloned().unwrap_or_default();
    for email in &q.emails {
        let info = infos
            .iter()
            .find(|i| i["scheduleId"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(email)));
        let read = match info {
            None => Err("Microsoft's getSchedule answer does not mention this person".to_string()),
            Some(info) => busy_of(info, q.window),
        };
        let Some(entry) = answers.get_mut(email) else { continue };
        match (entry.as_mut(), read) {
            (Ok(so_far), Ok(busy)) => *so_far = so_far.union(&busy),
            (Ok(_), Err(reason)) => *entry = Err(reason),
            (Err(_), _) => {}
        }
    }
}

fn busy_of(info: &Value, window: Interval) -> Result<IntervalSet, String> {
    if let Some(error) = info.get("error").filter(|e| !e.is_null()) {
        let code = error["responseCode"].as_str().unwrap_or("unknown");
        let message = error["message"].as_str().unwrap_or("");
        return Err(format!(
            "Microsoft 365 cannot read this person's free/busy ({code}: {message}); check the address and that the mailbox is in the tenant"
        ));
    }
    let mut spans = Vec::new();
    for item in info["scheduleItems"].as_array().into_iter().flatten() {
        let status = item["status"].as_str().unwrap_or("busy").to_ascii_lowercase();
        if matches!(status.as_str(), "free" | "workingelsewhere") {
            continue;
        }
        let start = instant(&item["start"]).map_err(|m| format!("getSchedule item: {m}"))?;
        let end = instant(&item["end"]).map_err(|m| format!("getSchedule item: {m}"))?;
        if end <= start {
            continue;
        }
        if let Some(inside) = Interval::new(start, end).intersection(&window) {
            spans.push(inside);
        }
    }
    Ok(IntervalSet::from_intervals(spans))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn people_are_asked_twenty_at_a_time_over_windows_under_62_days() {
        let people: Vec<String> = (0..45).map(|i| format!("p{i}@contoso.com")).collect();
        let range = Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-06-09T00:00:00Z"));
        let queries = plan(&people, range);
        assert_eq!(queries.len(), 2 * 3, "100 days: 2 windows; 45 people: 3 groups");
        assert!(queries.iter().all(|q| q.emails.len() <= MAX_SCHEDULES));
        assert!(
            queries
                .iter()
                .all(|q| q.window.end.duration_since(q.window.start) < SignedDuration::from_hours(62 * 24))
        );
        assert_eq!(queries[0].window.start, range.start);
        assert_eq!(queries.last().unwrap().window.end, range.end);
        let twice = vec!["a@x.org".to_string(), "a@x.org".to_string()];
        assert_eq!(plan(&twice, range)[0].emails.len(), 1);
    }

    #[test]
    fn busy_oof_and_tentative_are_busy_free_and_working_elsewhere_are_not_and_errors_are_per_person() {
        let q = Query {
            emails: vec!["a@x.org".into(), "b@x.org".into()],
            window: Interval::new(ts("2027-03-08T00:00:00Z"), ts("2027-03-09T00:00:00Z")),
        };
        let item = |status: &str, h: u32| {
            json!({"status": status,
            "start": {"dateTime": format!("2027-03-08T{h:02}:00:00.0000000"), "timeZone": "UTC"},
            "end": {"dateTime": format!("2027-03-08T{h:02}:30:00.0000000"), "timeZone": "UTC"}})
        };
        let answer = json!({"value": [
            {"scheduleId": "A@x.org", "scheduleItems": [item("busy", 9), item("oof", 10), item("tentative", 11), item("free", 12), item("workingElsewhere", 13)]},
            {"scheduleId": "b@x.org", "error": {"message": "not found", "responseCode": "ErrorMailRecipientNotFound"}},
        ]});
        let mut answers: BTreeMap<String, BusyAnswer> =
            q.emails.iter().map(|e| (e.clone(), Ok(IntervalSet::new()))).collect();
        merge(&q, &answer, &mut answers);
        let a = answers["a@x.org"].as_ref().unwrap();
        assert_eq!(a.spans().len(), 3);
        assert!(
            answers["b@x.org"]
                .as_ref()
                .unwrap_err()
                .contains("ErrorMailRecipientNotFound")
        );
    }
}

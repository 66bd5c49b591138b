//! `liaison status` for people.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::types::*;
use crate::text_table::table;

/// `liaison status` for people.
pub fn render(status: &Status, now: Timestamp) -> String {
    let tz = TimeZone::get(&status.timezone).unwrap_or(TimeZone::UTC);
    let at = |t: Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    };
    let mut out = String::new();
    let last = &status.last_cycle;
    let took = last.started.duration_until(last.finished);
    match (&last.outcome, &last.summary) {
        (Outcome::Ok, Some(s)) => {
            let term = s.term.map_or_else(|| "none due".to_string(), |d| d.to_string());
            let _ = writeln!(
                out,
                "Last cycle: {}, ok in {:.1}s: term {term}, booked {}, kept {}, moved {}, cancelled {}, unpaired {}, {} requests",
                at(last.started),
                s.elapsed_seconds,
                s.booked,
                s.kept,
                s.moved,
                s.cancelled,
                s.unpaired,
                s.requests
            );
        }
        (Outcome::Ok, None) => {
            let _ = writeln!(out, "Last cycle: {}, ok", at(last.started));
        }
        (Outcome::Error { message, .. }, _) => {
            let _ = writeln!(
                out,
                "Last cycle: {}, FAILED after {:.1}s: {message}",
                at(last.started),
                took.as_secs_f64()
            );
        }
    }
    let until = now.duration_until(status.next_cycle);
    let when = if until.is_negative() {
        format!("overdue by {:#}", whole_seconds(until.abs()))
    } else {
        format!("in {:#}", whole_seconds(until))
    };
    let _ = writeln!(out, "Next cycle: {} ({when})", at(status.next_cycle));

    for term in &status.terms {
        let which = if term.current { "This term" } else { "Next term" };
        let _ = write!(out, "\n{which}, {} to {}: ", term.start, term.end);
        if term.connections.is_empty() {
            let _ = writeln!(out, "no connections booked yet");
            continue;
        }
        let _ = writeln!(out, "{} connections", term.connections.len());
        let local = |p: &Participant| match (&p.local_start, &p.local_time) {
            (Some(start), Some(time)) => format!("{} {time} {}", start.strftime("%a"), p.timezone),
            _ => format!("? {}", p.timezone),
        };
        let mut rows = vec![
            [
                "Leader A",
                "Leader B",
                "A's local time",
                "B's local time",
                "Meetings",
                "State",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for c in &term.connections {
            rows.push(vec![
                format!("{} ({})", c.a.name, c.a.unit),
                format!("{} ({})", c.b.name, c.b.unit),
                local(&c.a),
                local(&c.b),
                if c.skipped.is_empty() {
                    format!("from {} x{}", c.first_start_local.date(), c.count)
                } else {
                    // The weeks that meet, then the dates skipped.
                    let dates: Vec<String> = c.skipped.iter().map(|d| d.to_string()).collect();
                    format!(
                        "from {} x{}, skips {}",
                        c.first_start_local.date(),
                        c.count as usize - c.skipped.len().min(c.count as usize),
                        dates.join(", ")
                    )
                },
                c.state.label().to_string(),
            ]);
        }
        out.push_str(&table(&rows, |_| false));
    }

    let mut items = Vec::new();
    let a = &status.attention;
    if let Some(auth) = &a.authorization {
        // Provider messages usually end with the hint already; say it once.
        if auth.message.contains(&auth.hint) {
            items.push(auth.message.clone());
        } else {
            items.push(format!("authorization needed: {}; {}", auth.message, auth.hint));
        }
    } else if let Outcome::Error { message, .. } = &last.outcome {
        items.push(format!("the last cycle failed: {message}"));
    }
    if until.is_negative() && until.abs() > status.cycle_every {
        items.push(format!(
            "no cycle since {}: is `liaison run` running?",
            at(last.started)
        ));
    }
    for c in &a.unavailable_calendars {
        items.push(format!("calendar unavailable: {} <{}>: {}", c.name, c.email, c.reason));
    }
    for u in &a.unpaired {
        // Said once, under "calendar unavailable", for those whose calendar failed.
        if a.unavailable_calendars.iter().any(|c| c.email == u.email) {
            continue;
        }
        items.push(format!(
            "unpaired in term {}: {} <{}> ({}): {}{}",
            u.term,
            u.name,
            u.email,
            u.unit,
            u.message,
            crate::render::waited_note(u.waited)
        ));
    }
    for p in &a.pending {
        items.push(format!(
            "pending booking in term {}: {} & {} (event {}); the next cycle resolves it",
            p.term, p.a, p.b, p.event_id
        ));
    }
    for r in &a.refused {
        items.push(format!("not done: {}: {}", r.action, r.reason));
    }
    for r in &a.refused_pairs {
        let next = match r.retry_at {
            Some(t) => format!("tried again after {}", at(t)),
            None => "left for the rest of the term".to_string(),
        };
        items.push(format!(
            "refused by the calendar in term {}: {} & {} ({} times); {next}",
            r.term, r.a, r.b, r.refusals
        ));
    }
    if items.is_empty() {
        let _ = writeln!(out, "\nNeeds attention: nothing.");
    } else {
        let _ = writeln!(out, "\nNeeds attention:");
        for item in items {
            let _ = writeln!(out, "  - {item}");
        }
    }
    out
}

fn whole_seconds(d: SignedDuration) -> SignedDuration {
    SignedDuration::from_secs(d.as_secs())
}

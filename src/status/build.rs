//! A cycle's status from its result, its notes and the store.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::config::Config;
use crate::core::term::Term;
use crate::cycle::CycleSummary;
use crate::failure::Failure;
use crate::store::{SeriesRecord, SeriesState, Store, StoreError};

use super::file::write;
use super::types::*;
use crate::notes::CycleNotes;

/// Writes `status.json` after a cycle, whatever its outcome, and returns it
/// with the records it was built from (for the report), or the error of
/// reading them: then the status has the cycle's outcome without this
/// term's connections, and the report must not be rewritten from nothing. A
/// failure to write is logged, not returned: the cycle's own result is what
/// the caller acts on.
pub fn record_cycle(
    cfg: &Config,
    store: &Store,
    started: Timestamp,
    elapsed: SignedDuration,
    result: &Result<CycleSummary, Failure>,
    notes: &CycleNotes,
) -> (Status, Result<Vec<SeriesRecord>, StoreError>) {
    let records = store.series();
    if let Err(e) = &records {
        tracing::warn!(error = %e, "status: could not read the series for this term's connections");
    }
    let finished = started.checked_add(elapsed).unwrap_or(started);
    let status = build(cfg, records.as_deref().unwrap_or(&[]), started, finished, result, notes);
    if let Err(e) = write(&cfg.state_dir, &status) {
        tracing::warn!(path = %cfg.state_dir.join(FILE_NAME).display(), error = %e, "could not write the status file");
    }
    (status, records)
}

/// The status after a cycle that started at `started`: plain data in, plain data out.
pub fn build(
    cfg: &Config,
    records: &[SeriesRecord],
    started: Timestamp,
    finished: Timestamp,
    result: &Result<CycleSummary, Failure>,
    notes: &CycleNotes,
) -> Status {
    let (outcome, summary) = match result {
        Ok(s) => (Outcome::Ok, Some(s.counts.clone())),
        Err(f) => {
            let kind = match f {
                Failure::Unauthorized(_) => ErrorKind::Authorization,
                Failure::Usage(_) => ErrorKind::Input,
                // Only the start meets the state's problems; a cycle never does.
                Failure::State(_) | Failure::Other(_) => ErrorKind::Other,
            };
            let message = format!("{:#}", f.error());
            (Outcome::Error { kind, message }, None)
        }
    };
    let authorization = match &outcome {
        Outcome::Error {
            kind: ErrorKind::Authorization,
            message,
        } => Some(AuthProblem {
            message: message.clone(),
            hint: auth_hint(cfg),
        }),
        _ => None,
    };
    let name_of = |email: &str| {
        cfg.people
            .iter()
            .find(|p| p.email == email)
            .map_or_else(String::new, |p| p.name.clone())
    };
    let attention = Attention {
        authorization,
        unavailable_calendars: notes
            .unavailable
            .iter()
            .map(|(email, reason)| UnavailableCalendar {
                email: email.clone(),
                name: name_of(email),
                reason: reason.clone(),
            })
            .collect(),
        unpaired: notes.unpaired_status(),
        pending: records
            .iter()
            .filter(|r| r.state == SeriesState::Pending)
            .map(|r| PendingIntent {
                term: r.request.term,
                event_id: r.request.event_id.clone(),
                a: r.request.pair.0.clone(),
                b: r.request.pair.1.clone(),
            })
            .collect(),
        refused: notes.refused.clone(),
        refused_pairs: records
            .iter()
            .filter(|r| r.state == SeriesState::Failed)
            .map(|r| RefusedPair {
                term: r.request.term,
                a: r.request.pair.0.clone(),
                b: r.request.pair.1.clone(),
                refusals: r.refusals,
                retry_at: r.retry_at.filter(|_| r.refusals < crate::core::series::MAX_REFUSALS),
            })
            .collect(),
    };
    Status {
        schema_version: SCHEMA_VERSION,
        timezone: cfg.timezone_name.clone(),
        last_cycle: LastCycle {
            started,
            finished,
            outcome,
            summary,
        },
        next_cycle: started.checked_add(cfg.schedule.cycle_every).unwrap_or(started),
        cycle_every: cfg.schedule.cycle_every,
        terms: status_terms(cfg, started)
            .into_iter()
            .map(|(term, current)| term_status(cfg, records, term, current))
            .collect(),
        attention,
    }
}

/// The term under way at `now` (if the first has started) and the one after it.
fn status_terms(cfg: &Config, now: Timestamp) -> Vec<(Term, bool)> {
    let (first, weeks) = (cfg.schedule.first_term, cfg.schedule.term_weeks);
    let today = crate::app::today(cfg, now);
    if today < first {
        return Term::nth(first, weeks, 0).map(|t| (t, false)).into_iter().collect();
    }
    let Some(current) = Term::containing(first, weeks, today) else {
        return Vec::new();
    };
    let next = current.next().map(|t| (t, false));
    [(current, true)].into_iter().chain(next).collect()
}

fn term_status(cfg: &Config, records: &[SeriesRecord], term: Term, current: bool) -> TermStatus {
    let mut connections: Vec<Connection> = records
        .iter()
        .filter(|r| r.request.term == term.start && r.state != SeriesState::Abandoned)
        .map(|r| connection(cfg, r))
        .collect();
    connections.sort_by(|x, y| (x.first_start, &x.a.email, &x.b.email).cmp(&(y.first_start, &y.a.email, &y.b.email)));
    TermStatus {
        index: term.index,
        start: term.start,
        end: term.end().yesterday().unwrap_or(term.end()),
        weeks: term.weeks,
        current,
        connections,
    }
}

fn connection(cfg: &Config, r: &SeriesRecord) -> Connection {
    let req = &r.request;
    let first_start = TimeZone::get(&req.zone)
        .ok()
        .and_then(|tz| req.start.to_zoned_datetime(tz).ok())
        .map(|z| z.timestamp());
    let participant = |i: usize, unit: &str| {
        let attendee = &req.attendees[i];
        let person = cfg.people.iter().find(|p| p.email == attendee.email);
        let (zone_name, zone) = match person {
            Some(p) => (p.timezone_name.clone(), Some(p.timezone.clone())),
            None => (req.zone.clone(), TimeZone::get(&req.zone).ok()),
        };
        let local = first_start.zip(zone).map(|(t, z)| t.to_zoned_datetime(z));
        Participant {
            email: attendee.email.clone(),
            name: attendee.name.clone(),
            unit: unit.to_string(),
            timezone: zone_name,
            local_start: local.as_ref().map(|z| z.datetime()),
            local_weekday: local.as_ref().map(|z| z.strftime("%A").to_string()),
            local_time: local.as_ref().map(|z| z.strftime("%H:%M").to_string()),
        }
    };
    Connection {
        event_id: req.event_id.clone(),
        state: r.state,
        series_timezone: req.zone.clone(),
        first_start_local: req.start,
        first_start,
        count: req.count,
        skipped: req.skip.iter().map(|d| d.date()).collect(),
        duration_minutes: req.duration.as_mins(),
        a: participant(0, &r.units.0),
        b: participant(1, &r.units.1),
    }
}

//! Booking one series with the write-ahead log: the intent flushed to the
//! store, then the insert, then the record marked booked (DESIGN §4
//! "Write-ahead"); and the series a planned pair becomes.

use jiff::Timestamp;

use crate::calendar::{Attendee, CalendarError, CalendarProvider, CreateOutcome, ErrorScope, SeriesRequest};
use crate::config::{self, Config};
use crate::core::ids::event_id;
use crate::core::plan::{Plan, PlannedPair};
use crate::core::reconcile::refusal_retry_at;
use crate::core::term::Term;
use crate::store::{SeriesRecord, SeriesState, Store};

use crate::app::record_from_calendar;
use crate::failure::Failure;

/// The series to create for a planned pair.
pub fn series_request(cfg: &Config, term: &Term, pair: &PlannedPair, generation: u32) -> SeriesRequest {
    let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
    let count = term.weeks - pair.first_week;
    let attendee = |p: &config::Person| Attendee {
        email: p.email.clone(),
        name: p.name.clone(),
    };
    SeriesRequest {
        event_id: event_id(cfg.calendar.organizer(), term.start, &a.email, &b.email, generation),
        term: term.start,
        pair: (a.email.clone(), b.email.clone()),
        attendees: [attendee(a), attendee(b)],
        summary: config::render(&cfg.meeting.title, a, b, count),
        description: config::render(&cfg.meeting.description, a, b, count),
        location: cfg.meeting.location.clone(),
        zone: pair.zone_name.clone(),
        start: pair.first_start,
        duration: cfg.meeting.duration,
        count,
    }
}

/// What booking a plan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BookReport {
    pub created: usize,
    pub already_there: usize,
}

/// Books every pair of `plan` (the demo: a fresh store and a local calendar).
pub async fn book<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    plan: &Plan,
    now: Timestamp,
) -> Result<BookReport, Failure> {
    let mut report = BookReport::default();
    for pair in &plan.pairs {
        let record = intent_for(cfg, store, plan, pair)?;
        match book_one(cfg, provider, store, now, record).await? {
            Some(CreateOutcome::Created) => report.created += 1,
            Some(CreateOutcome::AlreadyExists) => report.already_there += 1,
            None => {}
        }
    }
    Ok(report)
}

/// The record of the series to book for a planned pair: a pending intent of
/// this installation, with the id's generation following the pair's earlier
/// series this term (a refused id is used again; see `Store::generations`).
pub fn intent_for(cfg: &Config, store: &Store, plan: &Plan, pair: &PlannedPair) -> Result<SeriesRecord, Failure> {
    let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
    let generation = store.generations(plan.term.start, &a.email, &b.email)?;
    let request = series_request(cfg, &plan.term, pair, generation);
    let refusals = store.get(&request.event_id)?.map_or(0, |r| r.refusals);
    let mut record = SeriesRecord::new(
        request,
        plan.term.index,
        (a.unit.clone(), b.unit.clone()),
        SeriesState::Pending,
    );
    record.instance = Some(cfg.calendar.instance.clone());
    record.refusals = refusals;
    Ok(record)
}

/// Books one checked intent: written and flushed to the store (with the wall
/// clock time, for the write-ahead rule), then the insert, then the record
/// marked booked. `None` when it was not booked (logged).
///
/// A series that already exists under the same deterministic id is accepted,
/// never duplicated; one of another installation is recorded as theirs and
/// left alone. A refusal that concerns this pair only is recorded for a
/// retry with backoff; anything that concerns everyone ends the cycle: the
/// intent is forgotten when the calendar certainly did not apply it, and
/// kept pending (resolved by a lookup later) when it may have.
pub async fn book_one<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    mut record: SeriesRecord,
) -> Result<Option<CreateOutcome>, Failure> {
    record.intent_at = Some(Timestamp::now());
    store.put(&record)?;
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::pause_point("after_intent");
    let r = &record.request;
    let (term, a, b, id) = (r.term, r.pair.0.clone(), r.pair.1.clone(), r.event_id.clone());
    let outcome = match provider.create_series(&record.request).await {
        Ok(outcome) => outcome,
        // The id's event was cancelled: this pair had a series this term that
        // someone ended (the store had lost it). Never recreate it.
        Err(CalendarError::IdCancelled(_)) => {
            record.state = SeriesState::Cancelled;
            record.intent_at = None;
            store.put(&record)?;
            tracing::info!(term = %term, a = %a, b = %b, id = %id,
                "series of this pair was cancelled earlier this term; not booked again");
            return Ok(None);
        }
        Err(e) if e.scope() == ErrorScope::ThisOne => {
            record.state = SeriesState::Failed;
            record.intent_at = None;
            record.refusals += 1;
            record.retry_at = Some(refusal_retry_at(now, cfg.schedule.cycle_every, record.refusals));
            store.put(&record)?;
            if record.refusals >= crate::core::series::MAX_REFUSALS {
                tracing::error!(term = %term, a = %a, b = %b, id = %id, error = %e, refusals = record.refusals,
                    "series refused by the calendar again; this pair is left for the rest of the term");
            } else {
                tracing::warn!(term = %term, a = %a, b = %b, id = %id, error = %e, refusals = record.refusals,
                    retry_at = %record.retry_at.unwrap_or(Timestamp::MAX), "series refused by the calendar; retried later");
            }
            return Ok(None);
        }
        Err(e) => {
            // Certainly not applied: nothing is marked. A pair refused before
            // keeps its refusals (and is tried again next cycle).
            if e.write_refused() {
                if record.refusals > 0 {
                    record.state = SeriesState::Failed;
                    record.intent_at = None;
                    record.retry_at = Some(now);
                    store.put(&record)?;
                } else {
                    store.remove(&id)?;
                }
            }
            return Err(e.into());
        }
    };
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::pause_point("after_insert");
    // A 409 may be another installation's series of the same pair and term:
    // it is theirs, and this pair is booked already (never twice).
    if outcome == CreateOutcome::AlreadyExists
        && let Some(existing) = provider.get_series(&id).await?
        && existing.instance.as_deref().is_some_and(|i| i != cfg.calendar.instance)
    {
        let foreign = record_from_calendar(cfg, existing);
        store.put(&foreign)?;
        tracing::info!(term = %term, a = %a, b = %b, id = %id, instance = foreign.instance.as_deref().unwrap_or(""),
            "this pair is booked by another installation; left alone");
        return Ok(None);
    }
    record.state = SeriesState::Booked;
    record.intent_at = None;
    store.put(&record)?;
    let r = &record.request;
    tracing::info!(
        term = %term,
        a = %a,
        b = %b,
        slot = %format_args!("{} {}", r.start.strftime("%a %H:%M"), r.zone),
        first = %crate::core::reconcile::occurrence_starts(r).first().copied().unwrap_or(Timestamp::MIN),
        weeks = r.count,
        id = %id,
        outcome = if outcome == CreateOutcome::Created { "created" } else { "already there" },
        "booked"
    );
    Ok(Some(outcome))
}

//! Booking with the write-ahead log: the intents flushed to the store, then
//! the inserts, then the records marked booked (DESIGN §4 "Write-ahead"), in
//! batches of the provider's size; and the series a planned pair becomes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

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
    // Templates name the weeks that meet; the rule spans the skipped ones too.
    let count = pair.occurrences.len() as u32;
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
        count: pair.count,
        skip: pair.skipped.clone(),
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
    let intents = intents_for(cfg, store, plan)?;
    for (_, outcome) in book_all(cfg, provider, store, now, intents, &AtomicBool::new(false)).await? {
        match outcome {
            Some(CreateOutcome::Created) => report.created += 1,
            Some(CreateOutcome::AlreadyExists) => report.already_there += 1,
            None => {}
        }
    }
    Ok(report)
}

/// The records of the series to book for the pairs of `plan`: pending
/// intents of this installation, with each id's generation following the
/// pair's earlier series this term (a refused id is used again; see
/// `Store::generations`). The store is read once for all of them.
pub fn intents_for(cfg: &Config, store: &Store, plan: &Plan) -> Result<Vec<SeriesRecord>, Failure> {
    let records = store.series()?;
    let generations = crate::store::generations(&records, plan.term.start);
    let refusals: HashMap<&str, u32> = records
        .iter()
        .map(|r| (r.request.event_id.as_str(), r.refusals))
        .collect();
    let mut intents = Vec::with_capacity(plan.pairs.len());
    for pair in &plan.pairs {
        let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
        let generation = generations
            .get(&crate::core::plan::sorted(&a.email, &b.email))
            .copied()
            .unwrap_or(0);
        let request = series_request(cfg, &plan.term, pair, generation);
        let mut record = SeriesRecord::new(
            request,
            plan.term.index,
            (a.unit.clone(), b.unit.clone()),
            SeriesState::Pending,
        );
        record.instance = Some(cfg.calendar.instance.clone());
        record.refusals = refusals.get(record.request.event_id.as_str()).copied().unwrap_or(0);
        intents.push(record);
    }
    Ok(intents)
}

/// Books checked intents, in batches of the provider's
/// [`batch_size`](CalendarProvider::batch_size) (DESIGN §4 "Write-ahead"):
/// each batch's intents are written and flushed to the store (with the wall
/// clock time, for the write-ahead rule), then the calendar creates the
/// batch, then each record is marked. A crash before the calendar's write
/// leaves pending intents, which the next cycle looks up. `stop` is read
/// between batches. Returns each intent tried with what became of it
/// (`None`: not booked, logged), in order.
///
/// A series that already exists under the same deterministic id is accepted,
/// never duplicated; one of another installation is recorded as theirs and
/// left alone. A refusal that concerns one pair only is recorded for a
/// retry with backoff; anything that concerns everyone ends the cycle: the
/// intents are forgotten when the calendar certainly did not apply them, and
/// kept pending (resolved by a lookup later) when it may have.
pub async fn book_all<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    intents: Vec<SeriesRecord>,
    stop: &AtomicBool,
) -> Result<Vec<(SeriesRecord, Option<CreateOutcome>)>, Failure> {
    let size = provider.batch_size().max(1);
    let mut shown = crate::progress::Task::counted(
        &format!("booking {} series", intents.len()),
        u64::try_from(intents.len()).unwrap_or(u64::MAX),
    );
    let mut done = Vec::with_capacity(intents.len());
    let mut rest = intents.into_iter().peekable();
    while rest.peek().is_some() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Shows the bar at the start of a batch too once the work has lasted,
        // so a slow first batch is not silent.
        shown.inc(0);
        let mut batch: Vec<SeriesRecord> = rest.by_ref().take(size).collect();
        let flushed_at = Timestamp::now();
        for record in &mut batch {
            record.intent_at = Some(flushed_at);
        }
        store.update(&batch, &[])?;
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::pause_point("after_intent");
        let requests: Vec<SeriesRequest> = batch.iter().map(|r| r.request.clone()).collect();
        let outcomes = provider.create_many(&requests).await;
        #[cfg(feature = "test-hooks")]
        if outcomes.iter().any(Result::is_ok) {
            crate::test_hooks::pause_point("after_insert");
        }
        let (results, ended) = settle(cfg, provider, store, now, batch, outcomes).await?;
        shown.inc(u64::try_from(results.len()).unwrap_or(0));
        done.extend(results);
        if let Some(e) = ended {
            return Err(e);
        }
    }
    Ok(done)
}

/// Marks a batch's records from the calendar's outcomes (see [`book_all`]);
/// the error that ended the batch, if one did, is returned after the store
/// has them all.
async fn settle<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    batch: Vec<SeriesRecord>,
    outcomes: Vec<Result<CreateOutcome, CalendarError>>,
) -> Result<(Vec<(SeriesRecord, Option<CreateOutcome>)>, Option<Failure>), Failure> {
    let mut results = Vec::with_capacity(batch.len());
    let mut put = Vec::new();
    let mut remove = Vec::new();
    let mut ended: Option<Failure> = None;
    // Series the calendar has already: theirs or ours, asked below.
    let mut existing = Vec::new();
    let mut outcomes = outcomes.into_iter();
    for mut record in batch {
        let r = &record.request;
        let (term, a, b, id) = (r.term, r.pair.0.clone(), r.pair.1.clone(), r.event_id.clone());
        let outcome = match (&ended, outcomes.next()) {
            (None, Some(outcome)) => outcome,
            // After an error that concerns everyone: never sent, so certainly
            // not applied.
            _ => {
                forget(&mut record, now, &mut put, &mut remove);
                continue;
            }
        };
        match outcome {
            Ok(CreateOutcome::Created) => {
                let record = booked(record, CreateOutcome::Created);
                put.push(record.clone());
                results.push((record, Some(CreateOutcome::Created)));
            }
            Ok(CreateOutcome::AlreadyExists) => existing.push(record),
            // The id's event was cancelled: this pair had a series this term that
            // someone ended (the store had lost it). Never recreate it.
            Err(CalendarError::IdCancelled(_)) => {
                record.state = SeriesState::Cancelled;
                record.intent_at = None;
                tracing::info!(term = %term, a = %a, b = %b, id = %id,
                    "series of this pair was cancelled earlier this term; not booked again");
                put.push(record.clone());
                results.push((record, None));
            }
            Err(e) if e.scope() == ErrorScope::ThisOne => {
                record.state = SeriesState::Failed;
                record.intent_at = None;
                record.refusals += 1;
                record.retry_at = Some(refusal_retry_at(now, cfg.schedule.cycle_every, record.refusals));
                if record.refusals >= crate::core::series::MAX_REFUSALS {
                    tracing::error!(term = %term, a = %a, b = %b, id = %id, error = %e, refusals = record.refusals,
                        "series refused by the calendar again; this pair is left for the rest of the term");
                } else {
                    tracing::warn!(term = %term, a = %a, b = %b, id = %id, error = %e, refusals = record.refusals,
                        retry_at = %record.retry_at.unwrap_or(Timestamp::MAX), "series refused by the calendar; retried later");
                }
                put.push(record.clone());
                results.push((record, None));
            }
            Err(e) => {
                // Certainly not applied: nothing is marked. Maybe applied (a
                // timeout): the intent stays pending and is looked up later.
                if e.write_refused() {
                    forget(&mut record, now, &mut put, &mut remove);
                }
                ended = Some(e.into());
            }
        }
    }
    store.update(&put, &remove.iter().map(String::as_str).collect::<Vec<_>>())?;
    if existing.is_empty() {
        return Ok((results, ended));
    }
    // A 409 may be another installation's series of the same pair and term:
    // it is theirs, and this pair is booked already (never twice). A lookup
    // that fails leaves the intent pending, resolved by a later cycle.
    let ids: Vec<String> = existing.iter().map(|r| r.request.event_id.clone()).collect();
    let found = provider.get_many(&ids).await?;
    let mut put = Vec::new();
    for (record, found) in existing.into_iter().zip(found) {
        let (term, a, b, id) = (
            record.request.term,
            record.request.pair.0.clone(),
            record.request.pair.1.clone(),
            record.request.event_id.clone(),
        );
        match found {
            Ok(Some(theirs)) if theirs.instance.as_deref().is_some_and(|i| i != cfg.calendar.instance) => {
                let foreign = record_from_calendar(cfg, theirs);
                tracing::info!(term = %term, a = %a, b = %b, id = %id, instance = foreign.instance.as_deref().unwrap_or(""),
                    "this pair is booked by another installation; left alone");
                put.push(foreign);
                results.push((record, None));
            }
            Ok(_) => {
                let record = booked(record, CreateOutcome::AlreadyExists);
                put.push(record.clone());
                results.push((record, Some(CreateOutcome::AlreadyExists)));
            }
            Err(e) => {
                if ended.is_none() {
                    ended = Some(e.into());
                }
            }
        }
    }
    store.update(&put, &[])?;
    Ok((results, ended))
}

/// An intent the calendar certainly did not apply: forgotten (its id is free
/// again), or, for a pair refused before, kept failed with its refusals and
/// tried again next cycle.
fn forget(record: &mut SeriesRecord, now: Timestamp, put: &mut Vec<SeriesRecord>, remove: &mut Vec<String>) {
    if record.refusals > 0 {
        record.state = SeriesState::Failed;
        record.intent_at = None;
        record.retry_at = Some(now);
        put.push(record.clone());
    } else {
        remove.push(record.request.event_id.clone());
    }
}

/// The record marked booked, logged.
fn booked(mut record: SeriesRecord, outcome: CreateOutcome) -> SeriesRecord {
    record.state = SeriesState::Booked;
    record.intent_at = None;
    let r = &record.request;
    tracing::info!(
        term = %r.term,
        a = %r.pair.0,
        b = %r.pair.1,
        slot = %format_args!("{} {}", r.start.strftime("%a %H:%M"), r.zone),
        first = %crate::core::reconcile::occurrence_starts(r).first().copied().unwrap_or(Timestamp::MIN),
        weeks = r.count,
        id = %r.event_id,
        outcome = if outcome == CreateOutcome::Created { "created" } else { "already there" },
        "booked"
    );
    record
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::calendar::{BookedSeries, BusyAnswer, DeleteOutcome, EndOutcome};
    use crate::core::interval::Interval;

    /// A calendar that answers inserts from a script and records, at each
    /// call, which of the series it is given the store has as flushed intents.
    struct Scripted<'a> {
        store: &'a Store,
        batch: usize,
        /// The outcome of each series in turn; `Created` once it runs out.
        script: Mutex<Vec<Result<CreateOutcome, CalendarError>>>,
        /// Per call, the ids given and whether each was a pending intent.
        calls: Mutex<Vec<Vec<(String, bool)>>>,
        /// What `get_series` finds (for series that already exist).
        existing: BTreeMap<String, BookedSeries>,
    }

    impl<'a> Scripted<'a> {
        fn new(store: &'a Store, batch: usize, script: Vec<Result<CreateOutcome, CalendarError>>) -> Self {
            Scripted {
                store,
                batch,
                script: Mutex::new(script.into_iter().rev().collect()),
                calls: Mutex::new(Vec::new()),
                existing: BTreeMap::new(),
            }
        }

        fn calls(&self) -> Vec<Vec<(String, bool)>> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl CalendarProvider for Scripted<'_> {
        async fn busy(&self, _: &[String], _: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
            Ok(BTreeMap::new())
        }

        async fn create_series(&self, _: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
            unreachable!("booking goes through create_many")
        }

        async fn create_many(&self, series: &[SeriesRequest]) -> Vec<Result<CreateOutcome, CalendarError>> {
            let announced = series
                .iter()
                .map(|s| {
                    let record = self.store.get(&s.event_id).unwrap();
                    let pending = record.is_some_and(|r| r.state == SeriesState::Pending && r.intent_at.is_some());
                    (s.event_id.clone(), pending)
                })
                .collect();
            self.calls.lock().unwrap().push(announced);
            let mut script = self.script.lock().unwrap();
            let mut out = Vec::new();
            for _ in series {
                let outcome = script.pop().unwrap_or(Ok(CreateOutcome::Created));
                let ends = outcome.as_ref().is_err_and(|e| e.scope() != ErrorScope::ThisOne);
                out.push(outcome);
                if ends {
                    break;
                }
            }
            out
        }

        fn batch_size(&self) -> usize {
            self.batch
        }

        async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
            Ok(self.existing.values().cloned().collect())
        }

        async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
            Ok(self.existing.get(event_id).cloned())
        }

        async fn delete_series(&self, _: &str) -> Result<DeleteOutcome, CalendarError> {
            unreachable!()
        }

        async fn end_series(&self, _: &str, _: Timestamp) -> Result<EndOutcome, CalendarError> {
            unreachable!()
        }
    }

    fn config() -> Config {
        let mut text = String::from(
            "timezone = \"UTC\"\nstate_dir = \"state\"\n[schedule]\nfirst_term = \"2027-03-08\"\n\
             [calendar]\nprovider = \"local\"\ninstance = \"here\"\n[calendar.local]\ndir = \".\"\n",
        );
        for i in 0..10 {
            text.push_str(&format!(
                "[[people]]\nemail = \"p{i}@x.org\"\nname = \"P{i}\"\nunit = \"U{}\"\n",
                i % 2
            ));
        }
        crate::config::parse(&text, Path::new("/tmp/c.toml"), &crate::config::Env::default()).unwrap()
    }

    /// Five intents of this installation, for the pairs p0-p1 … p8-p9.
    fn intents(cfg: &Config) -> Vec<SeriesRecord> {
        (0..5)
            .map(|i| {
                let (a, b) = (&cfg.people[2 * i], &cfg.people[2 * i + 1]);
                let attendee = |p: &config::Person| Attendee {
                    email: p.email.clone(),
                    name: p.name.clone(),
                };
                let request = SeriesRequest {
                    event_id: event_id("primary", cfg.schedule.first_term, &a.email, &b.email, 0),
                    term: cfg.schedule.first_term,
                    pair: (a.email.clone(), b.email.clone()),
                    attendees: [attendee(a), attendee(b)],
                    summary: "s".into(),
                    description: "d".into(),
                    location: None,
                    zone: "UTC".into(),
                    start: cfg.schedule.first_term.at(10, 0, 0, 0),
                    duration: jiff::SignedDuration::from_mins(30),
                    count: 4,
                    skip: Vec::new(),
                };
                let mut record = SeriesRecord::new(request, 0, (a.unit.clone(), b.unit.clone()), SeriesState::Pending);
                record.instance = Some("here".into());
                record
            })
            .collect()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn states(store: &Store, intents: &[SeriesRecord]) -> Vec<Option<SeriesState>> {
        intents
            .iter()
            .map(|r| store.get(&r.request.event_id).unwrap().map(|r| r.state))
            .collect()
    }

    const NOW: &str = "2027-03-01T12:00:00Z";

    #[test]
    fn each_batch_is_flushed_as_intents_before_the_calendar_sees_it() {
        let cfg = config();
        for (batch, calls) in [(1, 5), (2, 3), (usize::MAX, 1)] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let calendar = Scripted::new(&store, batch, vec![]);
            let intents = intents(&cfg);
            let done = block_on(book_all(
                &cfg,
                &calendar,
                &store,
                NOW.parse().unwrap(),
                intents.clone(),
                &AtomicBool::new(false),
            ))
            .unwrap();
            let seen = calendar.calls();
            assert_eq!(seen.len(), calls, "batch size {batch}: one call per batch");
            assert!(
                seen.iter().flatten().all(|(_, announced)| *announced),
                "batch size {batch}: {seen:?}"
            );
            assert_eq!(seen.iter().flatten().count(), 5);
            assert!(done.iter().all(|(_, o)| *o == Some(CreateOutcome::Created)));
            assert_eq!(states(&store, &intents), vec![Some(SeriesState::Booked); 5]);
            assert!(store.series().unwrap().iter().all(|r| r.intent_at.is_none()));
        }
    }

    #[test]
    fn a_stop_is_heard_between_batches() {
        let cfg = config();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let calendar = Scripted::new(&store, 2, vec![]);
        let stop = AtomicBool::new(true);
        let done = block_on(book_all(
            &cfg,
            &calendar,
            &store,
            NOW.parse().unwrap(),
            intents(&cfg),
            &stop,
        ))
        .unwrap();
        assert!(done.is_empty());
        assert!(calendar.calls().is_empty());
        assert!(
            store.series().unwrap().is_empty(),
            "no intent written for what is not sent"
        );
    }

    #[test]
    fn an_error_for_everyone_ends_the_batch_and_what_was_not_applied_is_not_kept_pending() {
        let cfg = config();
        let now: Timestamp = NOW.parse().unwrap();
        let cases = [
            // Refused outright (the calendar certainly did not apply it): its
            // intent and those never sent are forgotten.
            (CalendarError::Quota("q".into()), None),
            // Maybe applied (a timeout): its intent stays pending, looked up
            // later; those never sent are forgotten.
            (CalendarError::Transient("t".into()), Some(SeriesState::Pending)),
        ];
        for (error, second) in cases {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let script = vec![Ok(CreateOutcome::Created), Err(error)];
            let calendar = Scripted::new(&store, usize::MAX, script);
            let mut intents = intents(&cfg);
            // A pair refused before keeps its refusals and is tried next cycle.
            intents[4].refusals = 1;
            let result = block_on(book_all(
                &cfg,
                &calendar,
                &store,
                now,
                intents.clone(),
                &AtomicBool::new(false),
            ));
            assert!(result.is_err());
            assert_eq!(
                states(&store, &intents),
                [Some(SeriesState::Booked), second, None, None, Some(SeriesState::Failed)]
            );
            let failed = store.get(&intents[4].request.event_id).unwrap().unwrap();
            assert_eq!((failed.refusals, failed.retry_at), (1, Some(now)));
        }
    }

    #[test]
    fn refusals_of_one_pair_and_series_found_already_there_are_marked_in_place() {
        let cfg = config();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let intents = intents(&cfg);
        let script = vec![
            Ok(CreateOutcome::AlreadyExists),
            Err(CalendarError::Refused("attendee".into())),
            Err(CalendarError::IdCancelled("x".into())),
            Ok(CreateOutcome::AlreadyExists),
            Ok(CreateOutcome::Created),
        ];
        let mut calendar = Scripted::new(&store, usize::MAX, script);
        // The fourth pair's series is another installation's.
        let mut theirs = BookedSeries {
            request: intents[3].request.clone(),
            active: true,
            instance: Some("there".into()),
        };
        calendar
            .existing
            .insert(theirs.request.event_id.clone(), theirs.clone());
        theirs.instance = Some("here".into());
        calendar.existing.insert(
            intents[0].request.event_id.clone(),
            BookedSeries {
                request: intents[0].request.clone(),
                ..theirs
            },
        );
        let done = block_on(book_all(
            &cfg,
            &calendar,
            &store,
            NOW.parse().unwrap(),
            intents.clone(),
            &AtomicBool::new(false),
        ))
        .unwrap();
        let outcomes: BTreeMap<String, Option<CreateOutcome>> =
            done.into_iter().map(|(r, o)| (r.request.event_id, o)).collect();
        let expected = [
            Some(CreateOutcome::AlreadyExists),
            None,
            None,
            None,
            Some(CreateOutcome::Created),
        ];
        for (record, outcome) in intents.iter().zip(expected) {
            assert_eq!(outcomes[&record.request.event_id], outcome);
        }
        assert_eq!(
            states(&store, &intents),
            [
                Some(SeriesState::Booked),
                Some(SeriesState::Failed),
                Some(SeriesState::Cancelled),
                Some(SeriesState::Booked),
                Some(SeriesState::Booked)
            ]
        );
        let foreign = store.get(&intents[3].request.event_id).unwrap().unwrap();
        assert_eq!(foreign.instance.as_deref(), Some("there"));
        assert_eq!(store.get(&intents[1].request.event_id).unwrap().unwrap().refusals, 1);
    }
}

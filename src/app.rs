//! The imperative shell around the core: reads calendars and the store, calls the
//! one planning function, books the result, and renders it for people.
//!
//! `plan`, `demo` (and later `run`) all go through [`make_plan`], so what `plan`
//! shows is what booking would do.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::Context as _;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde_json::json;

use crate::calendar::google::{GoogleProvider, Timing};
use crate::calendar::local::LocalProvider;
use crate::calendar::{
    Attendee, BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Changes, CreateOutcome, DeleteOutcome,
    EndOutcome, ErrorScope, SeriesRequest,
};
use crate::config::{self, Config, ProviderKind};
use crate::core::availability::local_day;
use crate::core::ids::event_id;
use crate::core::interval::{Interval, IntervalSet};
use crate::core::plan::{self, History, Plan, PlanInput, PlanRules, PlannedPair};
use crate::core::reconcile::{refusal_blocks, refusal_retry_at};
use crate::core::term::Term;
use crate::store::{SeriesRecord, SeriesState, Snapshot, Store};

/// How a command failed, which decides its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage, configuration or input files: exit 2.
    Usage(anyhow::Error),
    /// Authorization needed or revoked: exit 3.
    Unauthorized(anyhow::Error),
    /// Anything else: exit 1.
    Other(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Unauthorized(_) => 3,
            Failure::Other(_) => 1,
        }
    }

    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Usage(e) | Failure::Unauthorized(e) | Failure::Other(e) => e,
        }
    }
}

impl From<CalendarError> for Failure {
    fn from(e: CalendarError) -> Failure {
        match e {
            e @ CalendarError::Unauthorized(_) => Failure::Unauthorized(e.into()),
            e if e.is_bad_input() => Failure::Usage(e.into()),
            e => Failure::Other(e.into()),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        Failure::Other(e.into())
    }
}

/// Hidden override of the Google client's timeouts and retry bounds, for tests
/// of the binary (e.g. `timeout=2s,attempts=10,base=1ms,cap=20ms,budget=10s`).
pub const GOOGLE_TIMING_ENV: &str = "LIAISON_GOOGLE_TIMING";

/// The calendar provider a configuration names. Static dispatch: the trait
/// uses `async fn`, so it cannot be a trait object.
#[derive(Debug)]
pub enum Provider {
    Local(LocalProvider),
    /// Boxed: it is much larger than the local provider.
    Google(Box<GoogleProvider>),
}

impl Provider {
    /// The Google provider, for what only it does (instances, patch, delete).
    pub fn google(&self) -> Option<&GoogleProvider> {
        match self {
            Provider::Local(_) => None,
            Provider::Google(p) => Some(p),
        }
    }
}

impl CalendarProvider for Provider {
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        match self {
            Provider::Local(p) => p.busy(emails, range).await,
            Provider::Google(p) => p.busy(emails, range).await,
        }
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.create_series(series).await,
            Provider::Google(p) => p.create_series(series).await,
        }
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        match self {
            Provider::Local(p) => p.list_series().await,
            Provider::Google(p) => p.list_series().await,
        }
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        match self {
            Provider::Local(p) => p.get_series(event_id).await,
            Provider::Google(p) => p.get_series(event_id).await,
        }
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.delete_series(event_id).await,
            Provider::Google(p) => p.delete_series(event_id).await,
        }
    }

    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        match self {
            Provider::Local(p) => p.end_series(event_id, until).await,
            Provider::Google(p) => p.end_series(event_id, until).await,
        }
    }

    fn write_timeout(&self) -> jiff::SignedDuration {
        match self {
            Provider::Local(p) => p.write_timeout(),
            Provider::Google(p) => p.write_timeout(),
        }
    }

    async fn list_changes(&self, token: Option<&str>) -> Result<Changes, CalendarError> {
        match self {
            Provider::Local(p) => p.list_changes(token).await,
            Provider::Google(p) => p.list_changes(token).await,
        }
    }

    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        match self {
            Provider::Local(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
            Provider::Google(p) => p.move_occurrence(series_id, instance_id, to, zone).await,
        }
    }

    fn requests(&self) -> u64 {
        match self {
            Provider::Local(p) => p.requests(),
            Provider::Google(p) => p.requests(),
        }
    }
}

/// The calendar provider the configuration names. For Google the credential
/// files are read and checked here; a missing token surfaces at the first call.
pub async fn provider(cfg: &Config) -> Result<Provider, Failure> {
    match (cfg.calendar.provider, &cfg.calendar.local) {
        (ProviderKind::Local, Some(local)) => Ok(Provider::Local(local_provider(cfg, &local.dir))),
        (ProviderKind::Local, None) => Err(Failure::Usage(anyhow::anyhow!(
            "{}: calendar.local.dir is required with provider = \"local\"",
            cfg.path.display()
        ))),
        (ProviderKind::Google, _) => {
            let timing = match std::env::var(GOOGLE_TIMING_ENV) {
                Ok(spec) => Timing::default()
                    .with_overrides(&spec)
                    .map_err(|e| Failure::Usage(anyhow::anyhow!("${GOOGLE_TIMING_ENV}: {e}")))?,
                Err(_) => Timing::default(),
            };
            Ok(Provider::Google(Box::new(
                GoogleProvider::with_timing(cfg, timing).await?,
            )))
        }
    }
}

/// The local provider on `dir`, reading floating and all-day times in each
/// person's zone.
pub fn local_provider(cfg: &Config, dir: &std::path::Path) -> LocalProvider {
    let zones = cfg.people.iter().map(|p| (p.email.clone(), p.timezone.clone()));
    LocalProvider::new(dir, &cfg.calendar.google.organizer)
        .with_time_zones(cfg.timezone.clone(), zones)
        .with_instance(cfg.calendar.instance.clone())
}

/// The planning rules of a configuration.
pub fn plan_rules(cfg: &Config) -> PlanRules {
    PlanRules {
        duration: cfg.meeting.duration,
        granularity: cfg.meeting.granularity,
        buffer: cfg.meeting.buffer,
        min_notice: cfg.schedule.min_notice,
        skip_dates: cfg.schedule.skip_dates.clone(),
        max_busy: cfg.meeting.max_busy_hours,
        cross_unit_only: cfg.pairing.cross_unit_only,
        avoid_repeat_terms: cfg.pairing.avoid_repeat_terms,
        focus: cfg.pairing.focus.clone(),
    }
}

/// The first instant liaison may book, move or cancel anything at:
/// `now + schedule.min_notice`.
pub fn notice_cutoff(cfg: &Config, now: Timestamp) -> Timestamp {
    now.checked_add(cfg.schedule.min_notice).unwrap_or(Timestamp::MAX)
}

/// Today in the organization's zone.
pub fn today(cfg: &Config, now: Timestamp) -> Date {
    now.to_zoned_datetime(cfg.timezone.clone()).date()
}

/// The term containing `date`, or the first term if `date` is before it.
pub fn term_for(cfg: &Config, date: Date) -> Result<Term, Failure> {
    let first = cfg.schedule.first_term;
    let weeks = cfg.schedule.term_weeks;
    let term = if date < first {
        Term::nth(first, weeks, 0)
    } else {
        Term::containing(first, weeks, date)
    };
    term.ok_or_else(|| Failure::Usage(anyhow::anyhow!("date {date} is out of range")))
}

/// The instants to read busy time for: the term with two days of margin on each
/// side (zones differ by up to 26 hours) plus the buffer.
pub fn busy_range(cfg: &Config, term: &Term) -> Interval {
    let first = term.start.checked_sub(2.days()).unwrap_or(term.start);
    let last = term.end().checked_add(1.day()).unwrap_or(term.end());
    let start = local_day(&cfg.timezone, first).map_or(Timestamp::MIN, |d| d.start);
    let end = local_day(&cfg.timezone, last).map_or(Timestamp::MAX, |d| d.end);
    Interval::new(start, end).widened(cfg.meeting.buffer)
}

/// What liaison knows about a term before planning it.
#[derive(Debug, Default)]
pub struct TermState {
    pub history: History,
    /// Series of this term already booked (or pending): their people are kept.
    pub kept: Vec<SeriesRecord>,
    /// People not to pair again this term: those of kept series.
    pub booked: BTreeSet<String>,
    /// Pairs whose series this term was cancelled: never recreated this term.
    pub excluded_pairs: BTreeSet<(String, String)>,
    /// People whose series this term was cancelled, re-paired for the rest of
    /// the term: the first week of the term they may meet again (the week after
    /// the last occurrence of their cancelled series that was held or is inside
    /// the minimum notice).
    pub not_before_week: BTreeMap<String, u32>,
    /// People liaison paused (too many declined series in a row).
    pub paused: BTreeSet<String>,
}

impl TermState {
    /// The state of `term` from all series records. `cutoff` is now plus the
    /// minimum notice: occurrences of a cancelled series before it count as
    /// held, so their people are re-paired only from the week after.
    pub fn from_records(records: &[SeriesRecord], term: &Term, cutoff: Timestamp, now: Timestamp) -> TermState {
        let mut state = TermState {
            history: crate::store::history(records),
            ..TermState::default()
        };
        for r in records.iter().filter(|r| r.request.term == term.start) {
            let (a, b) = &r.request.pair;
            match r.state {
                SeriesState::Pending | SeriesState::Booked => {
                    state.kept.push(r.clone());
                    state.booked.insert(a.clone());
                    state.booked.insert(b.clone());
                }
                SeriesState::Cancelled => {
                    state.excluded_pairs.insert((a.clone(), b.clone()));
                    let week = held_weeks(&r.request, term, cutoff);
                    for p in [a, b] {
                        let w = state.not_before_week.entry(p.clone()).or_insert(0);
                        *w = (*w).max(week);
                    }
                }
                // Refused by the calendar: tried again after its backoff,
                // left for the term after the third refusal.
                SeriesState::Failed if refusal_blocks(r, now) => {
                    state.excluded_pairs.insert((a.clone(), b.clone()));
                }
                SeriesState::Failed => continue,
                // A late landing waiting to be removed: its people were planned
                // again, and it is not theirs to keep.
                SeriesState::Unwanted => continue,
                SeriesState::Abandoned => continue,
            }
        }
        state.not_before_week.retain(|p, _| !state.booked.contains(p));
        state
    }
}

/// The week of `term` after the last occurrence of `series` that starts before
/// `cutoff` (0 when none does).
pub fn held_weeks(series: &SeriesRequest, term: &Term, cutoff: Timestamp) -> u32 {
    let Ok(zone) = jiff::tz::TimeZone::get(&series.zone) else {
        return term.weeks;
    };
    let mut next = 0;
    for k in 0..series.count {
        let Ok(start) = series.start.checked_add(jiff::Span::new().weeks(i64::from(k))) else {
            break;
        };
        let Ok(at) = zone.to_timestamp(start) else { break };
        if at >= cutoff {
            break;
        }
        let days = term.start.until(start.date()).map_or(0, |s| s.get_days());
        next = u32::try_from(days.div_euclid(7) + 1).unwrap_or(0);
    }
    next
}

/// The store's record of a series found on the calendar.
pub fn record_from_calendar(cfg: &Config, series: BookedSeries) -> SeriesRecord {
    let unit_of = |email: &str| {
        cfg.people
            .iter()
            .find(|p| p.email == email)
            .map_or_else(String::new, |p| p.unit.clone())
    };
    let term_index =
        Term::containing(cfg.schedule.first_term, cfg.schedule.term_weeks, series.request.term).map_or(0, |t| t.index);
    let units = (unit_of(&series.request.pair.0), unit_of(&series.request.pair.1));
    let state = if series.active {
        SeriesState::Booked
    } else {
        SeriesState::Cancelled
    };
    let mut record = SeriesRecord::new(series.request, term_index, units, state);
    record.instance = series.instance;
    record
}

/// Records from the store, updated with what the calendar says: the calendar
/// wins for every series it has. `plan` uses this in memory; `run` writes the
/// same merge into the store, so both plan from the same state.
pub fn merge_calendar(cfg: &Config, records: Vec<SeriesRecord>, calendar: Vec<BookedSeries>) -> Vec<SeriesRecord> {
    let mut by_id: BTreeMap<String, SeriesRecord> =
        records.into_iter().map(|r| (r.request.event_id.clone(), r)).collect();
    for series in calendar {
        let record = record_from_calendar(cfg, series);
        by_id.insert(record.request.event_id.clone(), record);
    }
    by_id.into_values().collect()
}

/// Reads everyone's busy time for the term.
pub async fn read_busy<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    term: &Term,
) -> Result<BTreeMap<String, Result<IntervalSet, String>>, Failure> {
    let emails: Vec<String> = cfg.people.iter().map(|p| p.email.clone()).collect();
    Ok(provider.busy(&emails, busy_range(cfg, term)).await?)
}

/// The one planning function: `plan`, `demo` and `run` all call it.
pub fn make_plan(
    cfg: &Config,
    busy: &BTreeMap<String, Result<IntervalSet, String>>,
    state: &TermState,
    term: Term,
    now: Timestamp,
) -> Plan {
    let rules = plan_rules(cfg);
    let paused_people;
    let people = if state.paused.is_empty() {
        &cfg.people
    } else {
        paused_people = cfg
            .people
            .iter()
            .map(|p| config::Person {
                paused: p.paused || state.paused.contains(&p.email),
                ..p.clone()
            })
            .collect::<Vec<_>>();
        &paused_people
    };
    plan::plan(&PlanInput {
        people,
        busy,
        term,
        now,
        rules: &rules,
        history: &state.history,
        booked: &state.booked,
        excluded_pairs: &state.excluded_pairs,
        not_before_week: &state.not_before_week,
    })
}

/// The series to create for a planned pair.
pub fn series_request(cfg: &Config, term: &Term, pair: &PlannedPair, generation: u32) -> SeriesRequest {
    let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
    let count = term.weeks - pair.first_week;
    let attendee = |p: &config::Person| Attendee {
        email: p.email.clone(),
        name: p.name.clone(),
    };
    SeriesRequest {
        event_id: event_id(
            &cfg.calendar.google.organizer,
            term.start,
            &a.email,
            &b.email,
            generation,
        ),
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
    pause_point("after_intent");
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
    pause_point("after_insert");
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

/// Name of the hidden test switch that stops the process at a named point of
/// booking (`after_intent`, `after_insert`) so that crash tests can kill it
/// there with SIGKILL.
pub const PAUSE_ENV: &str = "LIAISON_PAUSE_AT";

/// Blocks forever at `point` when the test switch names it; otherwise nothing.
fn pause_point(point: &str) {
    static PAUSE_AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if PAUSE_AT.get_or_init(|| std::env::var(PAUSE_ENV).ok()).as_deref() == Some(point) {
        eprintln!("liaison: paused at {point} ({PAUSE_ENV})");
        loop {
            std::thread::park();
        }
    }
}

/// `plan` and `demo` output for people: one line per pair with the slot in each
/// person's own local time, then everyone unpaired with the reason.
pub fn render_plan(cfg: &Config, plan: &Plan, kept: &[SeriesRecord]) -> String {
    let mut out = String::new();
    let term = &plan.term;
    let _ = writeln!(
        out,
        "Term {} to {} ({} weeks): {} pairs, {} unpaired",
        term.start,
        term.end().yesterday().unwrap_or(term.end()),
        term.weeks,
        plan.pairs.len(),
        plan.unpaired.len()
    );
    let rows: Vec<[String; 5]> = plan
        .pairs
        .iter()
        .map(|pair| {
            let (a, b) = (&cfg.people[pair.a], &cfg.people[pair.b]);
            let first = pair.occurrences.first().map_or(Timestamp::MIN, |o| o.start);
            let local = |p: &config::Person| {
                let z = first.to_zoned_datetime(p.timezone.clone());
                format!("{} {}", z.strftime("%a %H:%M"), p.timezone_name)
            };
            [
                format!("{} ({})", a.name, a.unit),
                format!("{} ({})", b.name, b.unit),
                local(a),
                local(b),
                format!(
                    "from {} x{}",
                    first.to_zoned_datetime(cfg.timezone.clone()).date(),
                    pair.occurrences.len()
                ),
            ]
        })
        .collect();
    let headers = ["Leader A", "Leader B", "A's local time", "B's local time", "Meetings"];
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    if !rows.is_empty() {
        let line = |cells: [&str; 5]| {
            let mut l = String::new();
            for (c, cell) in cells.iter().enumerate() {
                let _ = write!(l, "{cell:<width$}  ", width = widths[c]);
            }
            l.trim_end().to_string()
        };
        let _ = writeln!(out, "\n{}", line(headers));
        for r in &rows {
            let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
    }
    if !kept.is_empty() {
        let _ = writeln!(
            out,
            "\nAlready booked this term ({} series, kept as they are):",
            kept.len()
        );
        for r in kept {
            let [a, b] = &r.request.attendees;
            let _ = writeln!(
                out,
                "  {} & {}: {} {} x{}",
                a.name,
                b.name,
                r.request.start.strftime("%a %H:%M"),
                r.request.zone,
                r.request.count
            );
        }
    }
    if !plan.unpaired.is_empty() {
        let _ = writeln!(out, "\nUnpaired:");
        for u in &plan.unpaired {
            let p = &cfg.people[u.person];
            let _ = writeln!(out, "  {} <{}> ({}): {}", p.name, p.email, p.unit, u.reason);
        }
    }
    out
}

/// `plan --json`: the same content, for programs.
pub fn plan_json(cfg: &Config, plan: &Plan, kept: &[SeriesRecord]) -> serde_json::Value {
    let person = |i: usize, first: Timestamp| {
        let p = &cfg.people[i];
        let z = first.to_zoned_datetime(p.timezone.clone());
        json!({
            "email": p.email, "name": p.name, "unit": p.unit, "timezone": p.timezone_name,
            "local_start": z.strftime("%Y-%m-%dT%H:%M").to_string(),
            "local_weekday": z.strftime("%A").to_string(),
        })
    };
    let pairs: Vec<_> = plan
        .pairs
        .iter()
        .map(|pair| {
            let first = pair.occurrences.first().map_or(Timestamp::MIN, |o| o.start);
            json!({
                "a": person(pair.a, first),
                "b": person(pair.b, first),
                "series_timezone": pair.zone_name,
                "weekday": format!("{:?}", pair.weekday),
                "time": pair.time.strftime("%H:%M").to_string(),
                "first_week": pair.first_week,
                "occurrences": pair.occurrences.iter().map(|o| json!({"start": o.start.to_string(), "end": o.end.to_string()})).collect::<Vec<_>>(),
                "slot_score": pair.slot_score,
                "last_met_term": pair.last_met,
            })
        })
        .collect();
    let unpaired: Vec<_> = plan
        .unpaired
        .iter()
        .map(|u| {
            let p = &cfg.people[u.person];
            json!({"email": p.email, "name": p.name, "unit": p.unit, "reason": u.reason, "message": u.reason.to_string()})
        })
        .collect();
    json!({
        "term": {"index": plan.term.index, "start": plan.term.start.to_string(), "weeks": plan.term.weeks},
        "pairs": pairs,
        "unpaired": unpaired,
        "kept": kept.iter().map(|r| &r.request).collect::<Vec<_>>(),
        "stats": plan.stats,
    })
}

/// Refuses to run a configuration that does not fit the state: terms that
/// do not fit the booked series (DESIGN §4 "Failures": terms change from the
/// next term on), or a derived `calendar.instance` other than the one this
/// state's events carry (the configuration file moved: its own events would
/// look foreign).
pub fn check_state(cfg: &Config, store: &Store) -> Result<(), Failure> {
    let records = store.series()?;
    let usage = |message: String| Failure::Usage(anyhow::anyhow!("{}: {message}", cfg.path.display()));
    crate::core::reconcile::check_schedule_change(cfg.schedule.first_term, cfg.schedule.term_weeks, &records)
        .map_err(usage)?;
    if let Some(old) = store.instance()?
        && old != cfg.calendar.instance
        && !cfg.calendar.instance_explicit
    {
        return Err(usage(format!(
            "this state belongs to installation {old:?}, but this configuration file's installation is {:?} \
             (derived from the file's path: was it moved, or reached through another path?). Set \
             calendar.instance = \"{old}\" to keep managing its events.",
            cfg.calendar.instance
        )));
    }
    Ok(())
}

/// Opens the store of `cfg` for the commands that write (`run`), moving a
/// damaged database aside so that the cycle rebuilds it from the calendar.
pub fn open_store(cfg: &Config) -> Result<Store, Failure> {
    let (store, _) = Store::open_or_move_aside(&cfg.state_dir, Timestamp::now())?;
    Ok(store)
}

/// A snapshot of the store of `cfg`, if one exists: read-only commands never
/// create, change or lock the real one.
pub fn store_snapshot(cfg: &Config) -> Result<Option<Snapshot>, Failure> {
    Store::open_snapshot(&cfg.state_dir)
        .with_context(|| format!("reading the state in {}", cfg.state_dir.display()))
        .map_err(Failure::Other)
}

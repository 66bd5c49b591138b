//! The imperative shell around the core: reads calendars and the store, calls the
//! one planning function, books the result, and renders it for people.
//!
//! `plan`, `demo` (and later `run`) all go through [`make_plan`], so what `plan`
//! shows is what booking would do.
//!
//! Split by job: [`crate::failure`] (exit codes), [`crate::provider`] (which
//! calendar), [`crate::booking`] (one booking with the write-ahead log),
//! [`crate::render`] (plan output); here the planning inputs (`TermState`,
//! rules, terms, busy time) and the state checks at start.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

use crate::calendar::{BookedSeries, CalendarProvider, SeriesRequest};
use crate::config::{self, Config, ProviderKind};
use crate::core::availability::local_day;
use crate::core::interval::{Interval, IntervalSet};
use crate::core::plan::{self, History, Plan, PlanInput, PlanRules};
use crate::core::reconcile::refusal_blocks;
use crate::core::term::Term;
use crate::core::waits::TermOutcome;
use crate::store::{SeriesRecord, SeriesState, Snapshot, Store};

use crate::failure::Failure;

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

/// `History::waited` for planning `term`: the terms in a row before it that
/// each person waited, from the stored outcomes of the terms planned before
/// and the series (a person in a series of a term was paired in it).
pub fn waited(
    records: &[SeriesRecord],
    outcomes: &[TermOutcome],
    term: &Term,
) -> std::collections::HashMap<String, u32> {
    let paired: BTreeSet<(i64, String)> = records
        .iter()
        .filter(|r| {
            matches!(
                r.state,
                SeriesState::Pending | SeriesState::Booked | SeriesState::Cancelled
            )
        })
        .flat_map(|r| {
            let (a, b) = &r.request.pair;
            [(r.term_index, a.clone()), (r.term_index, b.clone())]
        })
        .collect();
    crate::core::waits::waited(outcomes, &paired, term.index)
}

/// The outcome of a term in which nobody was planned (everyone is booked or
/// paused): the paused people, unpaired as paused.
pub fn outcome_without_plan(cfg: &Config, state: &TermState, term: &Term) -> TermOutcome {
    let reason = crate::core::waits::left_out(&plan::UnpairedReason::Paused);
    TermOutcome {
        index: term.index,
        start: term.start,
        unpaired: cfg
            .people
            .iter()
            .filter(|p| (p.paused || state.paused.contains(&p.email)) && !state.booked.contains(&p.email))
            .map(|p| (p.email.clone(), reason.clone()))
            .collect(),
    }
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
    crate::core::reconcile::series_record(&cfg.people, cfg.schedule.first_term, cfg.schedule.term_weeks, &series)
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
    Ok(busy_shown(provider, &emails, busy_range(cfg, term)).await?)
}

/// `provider.busy`, with a progress bar on a terminal while it lasts (its
/// position: the provider's steps, requests or files read).
pub async fn busy_shown<P: CalendarProvider>(
    provider: &P,
    emails: &[String],
    range: Interval,
) -> Result<BTreeMap<String, Result<IntervalSet, String>>, crate::calendar::CalendarError> {
    let task = crate::progress::Task::open(&format!("reading free/busy of {} people", emails.len()));
    let before = provider.steps();
    crate::progress::watch(
        task,
        || provider.steps().saturating_sub(before),
        provider.busy(emails, range),
    )
    .await
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

/// What `liaison plan` shows: the plan of the term containing `date` (default:
/// today), from the state (read-only) merged with what the calendar has, and
/// that term's state. Writes nothing. The scaling benchmark runs this too.
pub async fn dry_plan(cfg: &Config, date: Option<Date>, now: Timestamp) -> Result<(Plan, TermState), Failure> {
    let term = term_for(cfg, date.unwrap_or_else(|| today(cfg, now)))?;
    let provider = crate::provider::provider(cfg).await?;
    let (records, paused, outcomes) = match store_snapshot(cfg)? {
        Some(store) => (store.series()?, store.paused_people()?, store.term_outcomes()?),
        None => Default::default(),
    };
    // What the calendar has wins, as in `run`, so both plan from the same state.
    let records = merge_calendar(cfg, records, provider.list_series().await?);
    let cutoff = notice_cutoff(cfg, now);
    let mut state = TermState::from_records(&records, &term, cutoff, now);
    state.paused = paused.into_iter().filter(|p| !cfg.never_paused.contains(p)).collect();
    state.history.waited = waited(&records, &outcomes, &term);
    let busy = read_busy(cfg, &provider, &term).await?;
    let plan = make_plan(cfg, &busy, &state, term, now);
    Ok((plan, state))
}

/// Refuses to run a configuration that does not fit the state: terms that
/// do not fit the booked series (DESIGN §4 "Failures": terms change from the
/// next term on), or a derived `calendar.instance` other than the one this
/// state's events carry (the configuration file moved: its own events would
/// look foreign).
pub fn check_state(cfg: &Config, store: &Store, now: Timestamp) -> Result<(), Failure> {
    let records = store.series()?;
    let usage = |message: String| Failure::Usage(anyhow::anyhow!("{}: {message}", cfg.path.display()));
    crate::core::reconcile::check_schedule_change(cfg.schedule.first_term, cfg.schedule.term_weeks, &records)
        .map_err(usage)?;
    // Another organizer calendar (or local directory) under series booked on
    // the old one: liaison would not see them there and would book their
    // people again.
    let calendar = calendar_identity(cfg)?;
    if let Some(old) = store.calendar()?
        && !same_calendar(&old, &calendar)
    {
        let today = today(cfg, now);
        let previous = store.instance()?;
        let running: Vec<_> = records
            .iter()
            .filter(|r| matches!(r.state, SeriesState::Booked | SeriesState::Pending))
            .filter(|r| r.owned_by(&cfg.calendar.instance) || (previous.is_some() && r.instance == previous))
            .filter_map(|r| crate::core::reconcile::last_date(&r.request))
            .filter(|last| *last >= today)
            .collect();
        if let Some(until) = running.iter().max() {
            // The same configuration, signed in as someone else: a matter
            // of who signs in (exit 3), not of the configuration.
            let signed_in = |c: &str| c.strip_prefix("microsoft:").map(str::to_string);
            if let (Some(was), Some(now), Some(m)) = (signed_in(&old), signed_in(&calendar), &cfg.calendar.microsoft)
                && m.organizer == "me"
            {
                return Err(Failure::Unauthorized(anyhow::anyhow!(
                    "signed in to Microsoft as {now}, but this state's {} series are on {was}'s calendar and still \
                     have meetings to come (until {until}); liaison would not see them in {now}'s calendar and \
                     would book their people again. Run `liaison auth` and sign in as {was} (or set \
                     calendar.microsoft.organizer = \"{was}\" in {} so that only {was} is accepted).",
                    running.len(),
                    cfg.path.display()
                )));
            }
            return Err(usage(format!(
                "the calendar changed from {old} to {calendar} while {} series booked on the old one still \
                 have meetings to come (until {until}); liaison would not see them on the new one and would \
                 book their people again. Change it after {until}, or go back to the old one.",
                running.len()
            )));
        }
    }
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

/// Which calendar liaison writes to, as the state remembers it: the
/// provider and its organizer calendar (or directory). For Microsoft the
/// organizer mailbox's address, with `organizer = "me"` the signed-in
/// person's as `liaison auth` stored it (so signing in as someone else is
/// another calendar, not the same `me`).
pub fn calendar_identity(cfg: &Config) -> Result<String, Failure> {
    Ok(match (&cfg.calendar.provider, &cfg.calendar.local) {
        (ProviderKind::Local, Some(local)) => format!("local:{}", local.dir.display()),
        (ProviderKind::Microsoft, _) => {
            format!("microsoft:{}", crate::calendar::microsoft::organizer_mailbox(cfg)?)
        }
        (ProviderKind::Caldav, _) => format!("caldav:{}", cfg.calendar.organizer()),
        _ => format!("google:{}", cfg.calendar.google.organizer),
    })
}

/// Versions before the signed-in account was recorded named every
/// delegated Microsoft calendar `microsoft:me`.
const MICROSOFT_ME: &str = "microsoft:me";

/// Whether the state's calendar `old` is the calendar `new`: the same
/// identity, or a `microsoft:me` of an earlier version, which the next
/// cycle replaces with the address.
pub fn same_calendar(old: &str, new: &str) -> bool {
    old == new || (old == MICROSOFT_ME && new.starts_with("microsoft:"))
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

//! One cycle, as `run --once` and the daemon perform it: read what changed on
//! the calendar and look up pending intents; *decide* and *check* the repairs
//! (`core::reconcile`, pure); *apply* them; then plan each due term through
//! `app::make_plan` (the same call as `plan`) and book the checked result.
//! This module makes no repair decision of its own: it reads, applies and logs.
//! Every cycle, failed or not, ends by writing `status.json` (see `status`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::app::{self, TermState};
use crate::booking;
use crate::calendar::{BookedSeries, CalendarError, CalendarProvider, Changes, DeleteOutcome, EndOutcome, ErrorScope};
use crate::config::Config;
use crate::core::availability::instant;
use crate::core::interval::{Interval, IntervalSet};
use crate::core::plan::{WeekSlotInput, best_slot_in_week};
use crate::core::reconcile::{self, Action, Checked, Facts, Guard, RecordWhy, Refusal};
use crate::core::term::Term;
use crate::core::waits::TermOutcome;
use crate::failure::Failure;
use crate::notes::CycleNotes;
use crate::store::{HandledOccurrence, SeriesRecord, SeriesState, Store};

/// What one cycle did, for the summary log line and `status`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CycleSummary {
    pub counts: Counts,
    /// Every action of the cycle, in the order applied (refused ones too).
    pub actions: Vec<ActionLine>,
}

/// The numbers of the `cycle done` log line, as `status.json` keeps them.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// First day of the earliest term the cycle looked after.
    pub term: Option<jiff::civil::Date>,
    pub booked: usize,
    pub kept: usize,
    pub moved: usize,
    pub cancelled: usize,
    pub unpaired: usize,
    /// Actions the safety check refused (absent in files of earlier versions).
    #[serde(default)]
    pub refused: usize,
    pub requests: u64,
    pub elapsed_seconds: f64,
}

/// The terms a cycle at `now` must have booked: the current term (once it has
/// started) and the next one when its start is within `book_ahead`.
pub fn terms_to_book(cfg: &Config, now: Timestamp) -> Vec<Term> {
    let first = cfg.schedule.first_term;
    let weeks = cfg.schedule.term_weeks;
    let today = app::today(cfg, now);
    let mut terms = Vec::new();
    let next = if today >= first {
        let Some(current) = Term::containing(first, weeks, today) else {
            return terms;
        };
        // A term whose remaining occurrences are all inside the minimum notice
        // has nothing left to book.
        let end = instant(&cfg.timezone, current.end(), jiff::civil::Time::midnight());
        if end.is_some_and(|end| end.checked_sub(cfg.schedule.min_notice).is_ok_and(|last| now < last)) {
            terms.push(current);
        }
        current.next()
    } else {
        Term::nth(first, weeks, 0)
    };
    if let Some(next) = next {
        let starts = instant(&cfg.timezone, next.start, jiff::civil::Time::midnight());
        let due = starts.is_some_and(|s| s.checked_sub(cfg.schedule.book_ahead).is_ok_and(|due| now >= due));
        if due {
            terms.push(next);
        }
    }
    terms
}

/// How a cycle runs.
#[derive(Debug, Default)]
pub struct Options {
    /// Once set, the cycle ends between two calendar requests.
    pub stop: AtomicBool,
    /// `run --once --allow-mass-cancel`: the user confirmed the removals the
    /// guard would otherwise refuse.
    pub allow_mass_cancel: bool,
    /// `run --once --dry-run`: decide and check, write nothing (the caller
    /// passes a provider that writes nothing and a copy of the store).
    pub dry_run: bool,
    /// Steps the cycle has taken (actions applied, terms planned), for the
    /// daemon's watchdog: it pings only while this or the requests move.
    pub progress: std::sync::atomic::AtomicU64,
}

/// One action of a cycle as the log and `--dry-run` show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ActionLine {
    /// `record`, `person`, `occurrence`, `end`, `cancel`, `move` or `book`.
    pub kind: &'static str,
    pub text: String,
    /// Why the guard refused it, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl ActionLine {
    fn of(action: &Action, refused: Option<&Refusal>) -> ActionLine {
        let kind = match action {
            Action::Record { .. } => "record",
            Action::Person { .. } => "person",
            Action::Occurrence { .. } => "occurrence",
            Action::End { .. } => "end",
            Action::Cancel { .. } => "cancel",
            Action::Move { .. } => "move",
            Action::Book { .. } => "book",
            Action::Wait { .. } => "wait",
        };
        ActionLine {
            kind,
            text: action.to_string(),
            refused: refused.map(ToString::to_string),
        }
    }
}

/// One cycle; `notes` collects what `status` reports as it goes (the
/// caller, `runner`, writes it).
pub async fn run<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    options: &Options,
    notes: &mut CycleNotes,
) -> Result<CycleSummary, Failure> {
    let started = Instant::now();
    let requests_before = provider.requests();
    let terms = terms_to_book(cfg, now);
    let mut summary = CycleSummary::default();
    summary.counts.term = terms.first().map(|t| t.start);
    // Read: what changed on the calendar, and the pending intents.
    // A token of another calendar (the organizer changed) is never used.
    let calendar = app::calendar_identity(cfg)?;
    let same_calendar = store.calendar()?.is_none_or(|c| app::same_calendar(&c, &calendar));
    let token = if same_calendar { store.sync_token()? } else { None };
    let changes = provider.list_changes(token.as_deref(), now).await?;
    let records = store.series_map()?;
    let lookups = look_up_pending(provider, &records, &changes).await?;
    let last_roster = store.roster()?;
    let person_states = store.person_states()?;
    let handled = store.handled_occurrences()?;
    let instance = cfg.calendar.instance.as_str();
    let cutoff = app::notice_cutoff(cfg, now);
    let facts = Facts {
        now,
        cutoff,
        wall_now: Timestamp::now(),
        write_timeout: provider.write_timeout(),
        instance,
        first_term: cfg.schedule.first_term,
        term_weeks: cfg.schedule.term_weeks,
        people: &cfg.people,
        never_paused: &cfg.never_paused,
        pause_after_declines: cfg.pairing.pause_after_declines,
        last_roster: last_roster.as_ref(),
        records: &records,
        person_states: &person_states,
        handled: &handled,
        changes: &changes,
        lookups: &lookups,
    };
    // Decide and check (pure), then apply.
    let actions = reconcile::decide(&facts);
    let guard = Guard {
        instance,
        cutoff,
        max_cancel_per_cycle: cfg.safety.max_cancel_per_cycle,
        allow_mass_cancel: options.allow_mass_cancel,
        booked: records
            .values()
            .filter(|r| r.state == SeriesState::Booked && r.owned_by(instance))
            .count(),
    };
    let checked = reconcile::check(actions, &guard);
    report_refused(&checked, &mut summary, notes);
    let mut complete = true;
    for action in &checked.allowed {
        summary.actions.push(ActionLine::of(action, None));
        options.progress.fetch_add(1, Ordering::SeqCst);
        complete &= apply(cfg, provider, store, now, action, &mut summary).await?;
        if options.stop.load(Ordering::SeqCst) {
            return Ok(summary);
        }
    }
    // The token moves on only once every change it covers is dealt with; a
    // move that failed in passing is read (and tried) again next cycle. When
    // the guard held back series missing from a full read, the next cycle
    // must read everything again to see them (an incremental read would not).
    let missing_held = checked.refused.iter().any(|(a, _)| {
        matches!(
            a,
            Action::Record {
                why: RecordWhy::Missing,
                ..
            }
        )
    });
    if missing_held {
        store.set_sync_token(None)?;
    } else if complete {
        store.set_sync_token(changes.next_token.as_deref())?;
    }

    // Book: plan each due term from the store as the repairs left it, then
    // book every term's checked pairs in one go (the local calendar file is
    // then written once, not once per series).
    let paused: BTreeSet<String> = store
        .paused_people()?
        .into_iter()
        .filter(|p| !cfg.never_paused.contains(p))
        .collect();
    let mut intents = Vec::new();
    for term in &terms {
        if options.stop.load(Ordering::SeqCst) {
            return Ok(summary);
        }
        // The pairs chosen for an earlier term of this cycle are booked only
        // after the loop (one calendar write); they count as met here, so the
        // next term does not pair them again.
        let mut records = store.series()?;
        records.extend(intents.iter().map(|r: &SeriesRecord| SeriesRecord {
            state: SeriesState::Booked,
            ..r.clone()
        }));
        let mut state = TermState::from_records(&records, term, cutoff, now);
        state.paused = paused.clone();
        state.history.waited = app::waited(&records, &store.term_outcomes()?, term);
        summary.counts.kept += state.kept.len();
        // Only people still waiting for a partner are planned, so only their
        // free/busy is read; nobody waiting means no free/busy read at all.
        let waiting: Vec<String> = cfg
            .people
            .iter()
            .filter(|p| !p.paused && !state.paused.contains(&p.email) && !state.booked.contains(&p.email))
            .map(|p| p.email.clone())
            .collect();
        if waiting.is_empty() {
            store.set_term_outcome(&app::outcome_without_plan(cfg, &state, term))?;
            continue;
        }
        tracing::info!(term = %term.start, waiting = waiting.len(), "reading busy time and planning");
        let busy = app::busy_shown(provider, &waiting, app::busy_range(cfg, term)).await?;
        options.progress.fetch_add(1, Ordering::SeqCst);
        if options.stop.load(Ordering::SeqCst) {
            return Ok(summary);
        }
        let plan = app::make_plan(cfg, &busy, &state, *term, now);
        options.progress.fetch_add(1, Ordering::SeqCst);
        notes.planned(cfg, &busy, &plan);
        // This cycle's decision for the term replaces any earlier one: who
        // waited is derived from these when the next terms are planned.
        store.set_term_outcome(&TermOutcome::of_plan(&cfg.people, &plan))?;
        for u in &plan.unpaired {
            let p = &cfg.people[u.person];
            tracing::info!(term = %term.start, person = %p.email, reason = %u.reason, "unpaired");
        }
        summary.counts.unpaired += plan.unpaired.len();
        let books = booking::intents_for(cfg, store, &plan)?
            .into_iter()
            .map(|record| Action::Book { record })
            .collect();
        let checked = reconcile::check(books, &guard);
        report_refused(&checked, &mut summary, notes);
        intents.extend(checked.allowed.into_iter().filter_map(|action| match action {
            Action::Book { record } => Some(record),
            _ => None,
        }));
    }
    book(cfg, provider, store, now, intents, options, &mut summary).await?;
    if options.stop.load(Ordering::SeqCst) {
        return Ok(summary);
    }
    // The token stored above was read before this cycle's bookings; a
    // provider whose changes report its own writes (Graph's delta) moves it
    // past them when nothing else changed, so the next cycle is quiet.
    if complete
        && !missing_held
        && summary.counts.booked > 0
        && let Some(token) = changes.next_token.as_deref()
    {
        match provider.token_after_own_writes(token, now).await {
            Ok(Some(next)) => store.set_sync_token(Some(&next))?,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not read past this cycle's own bookings; the next cycle reads them")
            }
        }
    }
    let records = store.series()?;
    store.set_roster(&reconcile::next_roster(
        &cfg.people,
        last_roster.as_ref(),
        &records,
        now,
    ))?;
    store.set_instance(instance)?;
    store.set_calendar(&calendar)?;
    summary.counts.requests = provider.requests().saturating_sub(requests_before);
    summary.counts.elapsed_seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        term = %summary.counts.term.map_or("none".to_string(), |d| d.to_string()),
        booked = summary.counts.booked,
        kept = summary.counts.kept,
        moved = summary.counts.moved,
        cancelled = summary.counts.cancelled,
        unpaired = summary.counts.unpaired,
        refused = summary.counts.refused,
        requests = summary.counts.requests,
        elapsed = %format_args!("{:.1}s", summary.counts.elapsed_seconds),
        "cycle done"
    );
    Ok(summary)
}

/// Logs what the guard refused and notes it for `status`.
fn report_refused(checked: &Checked, summary: &mut CycleSummary, notes: &mut CycleNotes) {
    for (action, why) in &checked.refused {
        tracing::warn!(action = %action, reason = %why, "refused by the safety check; not done");
        summary.actions.push(ActionLine::of(action, Some(why)));
        summary.counts.refused += 1;
        notes.refused(action, why);
    }
}

/// Looks up each pending intent the change feed did not already report. A
/// lookup that fails in passing leaves the intent pending for the next cycle.
async fn look_up_pending<P: CalendarProvider>(
    provider: &P,
    records: &BTreeMap<String, SeriesRecord>,
    changes: &Changes,
) -> Result<BTreeMap<String, Option<BookedSeries>>, Failure> {
    let reported: BTreeSet<&str> = changes
        .series
        .iter()
        .map(|d| d.series.request.event_id.as_str())
        .collect();
    let ids: Vec<String> = records
        .values()
        .filter(|r| r.state == SeriesState::Pending && !reported.contains(r.request.event_id.as_str()))
        .map(|r| r.request.event_id.clone())
        .collect();
    let mut lookups = BTreeMap::new();
    if ids.is_empty() {
        return Ok(lookups);
    }
    let found = match provider.get_many(&ids).await {
        Ok(found) => found,
        Err(e) if e.scope() == ErrorScope::Authorization => return Err(e.into()),
        Err(e) => {
            tracing::warn!(pending = ids.len(), error = %e, "pending bookings not looked up; retrying next cycle");
            return Ok(lookups);
        }
    };
    for (id, found) in ids.into_iter().zip(found) {
        match found {
            Ok(found) => {
                lookups.insert(id, found);
            }
            Err(e) if e.scope() == ErrorScope::Authorization => return Err(e.into()),
            Err(e) => tracing::warn!(id = %id, error = %e, "pending booking not looked up; retrying next cycle"),
        }
    }
    Ok(lookups)
}

/// Applies one checked action. `Ok(false)` when it failed in a way that
/// concerns only it (logged; retried next cycle); an error that concerns
/// everyone (quota, disk, authorization) ends the cycle.
async fn apply<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    action: &Action,
    summary: &mut CycleSummary,
) -> Result<bool, Failure> {
    match action {
        Action::Record { record, why } => {
            let r = &record.request;
            if *why == RecordWhy::Answers {
                tracing::debug!(id = %r.event_id, "{why}");
            } else {
                tracing::info!(id = %r.event_id, term = %r.term, a = %r.pair.0, b = %r.pair.1, state = ?record.state, "{why}");
            }
            if matches!(why, RecordWhy::DeletedByPerson | RecordWhy::Missing) {
                summary.counts.cancelled += 1;
            }
            store.put(record)?;
        }
        Action::Person { email, state, note } => {
            tracing::info!(person = %email, declines_in_a_row = state.declines_in_a_row, paused = state.paused, "{note}");
            store.put_person(email, state)?;
        }
        Action::Occurrence { id, handled } => {
            tracing::info!(id = %handled.series, occurrence = %id, "{}", handled.note);
            store.mark_occurrence_handled(id, handled)?;
        }
        Action::End { record, why, .. } | Action::Cancel { record, why, .. } => {
            let r = &record.request;
            let id = r.event_id.as_str();
            let done = match action {
                Action::End { until, .. } => provider
                    .end_booked_series(r, *until)
                    .await
                    .map(|o| o == EndOutcome::Ended),
                _ => provider.delete_series(id).await.map(|o| o == DeleteOutcome::Deleted),
            };
            let gone = match done {
                Ok(done) => !done,
                Err(e) if passing(&e) => {
                    tracing::warn!(id = %id, error = %e, "series not ended; retrying next cycle");
                    return Ok(true);
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(ended) = reconcile::ended_record(action) {
                store.put(&ended)?;
                summary.counts.cancelled += 1;
                let what = if matches!(action, Action::End { .. }) {
                    "series ended early"
                } else {
                    "series cancelled"
                };
                tracing::info!(id = %id, term = %r.term, a = %r.pair.0, b = %r.pair.1, reason = %why,
                    kept = ended.request.count, already_gone = gone, "{what}");
            }
        }
        Action::Move {
            record,
            occurrence,
            original,
            at,
            who,
        } => {
            if !provider.capabilities().occurrences {
                let handled = HandledOccurrence {
                    series: record.request.event_id.clone(),
                    note: "declined occurrence not moved: this calendar cannot move one occurrence".into(),
                    at: Some(*at),
                    original: Some(*original),
                };
                tracing::info!(id = %handled.series, occurrence = %occurrence, "{}", handled.note);
                store.mark_occurrence_handled(occurrence, &handled)?;
                return Ok(true);
            }
            let declined = Declined {
                record,
                occurrence,
                original: *original,
                at: *at,
                who,
            };
            return move_declined(cfg, provider, store, now, &declined, summary).await;
        }
        Action::Wait { record, why } => {
            let r = &record.request;
            tracing::info!(id = %r.event_id, a = %r.pair.0, b = %r.pair.1, reason = %why,
                "series not ended yet: its next occurrence is inside min_notice");
        }
        Action::Book { record } => {
            let never = AtomicBool::new(false);
            let tried = booking::book_all(cfg, provider, store, now, vec![record.clone()], &never).await?;
            summary.counts.booked += tried.iter().filter(|(_, outcome)| outcome.is_some()).count();
        }
    }
    Ok(true)
}

/// Books checked intents (see `booking::book_all`) and adds each one tried
/// to the summary.
async fn book<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    intents: Vec<crate::store::SeriesRecord>,
    options: &Options,
    summary: &mut CycleSummary,
) -> Result<(), Failure> {
    for (record, outcome) in booking::book_all(cfg, provider, store, now, intents, &options.stop).await? {
        options.progress.fetch_add(1, Ordering::SeqCst);
        summary.actions.push(ActionLine::of(&Action::Book { record }, None));
        if outcome.is_some() {
            summary.counts.booked += 1;
        }
    }
    Ok(())
}

/// An error of one repair (end, cancel, move) that does not stop the cycle:
/// anything but a quota, the disk or the authorization, which would fail
/// every other write too. The repair is logged and retried next cycle, and
/// the bookings of the cycle go on (one bad event never blocks them).
fn passing(e: &CalendarError) -> bool {
    !matches!(
        e,
        CalendarError::Quota(_)
            | CalendarError::Io { .. }
            | CalendarError::Unauthorized(_)
            | CalendarError::Credentials(_)
    )
}

/// A declined occurrence to move.
struct Declined<'a> {
    record: &'a SeriesRecord,
    occurrence: &'a str,
    original: Timestamp,
    at: Interval,
    who: &'a str,
}

/// Moves an occurrence `who` declined to the best other time free for both
/// that week (core's `best_slot_in_week`), or records that there is none.
async fn move_declined<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    declined: &Declined<'_>,
    summary: &mut CycleSummary,
) -> Result<bool, Failure> {
    let &Declined {
        record,
        occurrence,
        original,
        at,
        who,
    } = declined;
    let r = &record.request;
    let id = r.event_id.as_str();
    let handled = |note: &str, at: Interval| HandledOccurrence {
        series: id.to_string(),
        note: note.to_string(),
        at: Some(at),
        original: Some(original),
    };
    let not_before = app::notice_cutoff(cfg, now);
    let person = |email: &str| cfg.people.iter().find(|p| p.email == email);
    let (Some(pa), Some(pb), Ok(zone)) = (person(&r.pair.0), person(&r.pair.1), TimeZone::get(&r.zone)) else {
        store.mark_occurrence_handled(occurrence, &handled("declined; pair no longer configured", at))?;
        return Ok(true);
    };
    // The week of the occurrence, in the series' zone.
    let date = at.start.to_zoned_datetime(zone.clone()).date();
    let week = date
        .checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
        .unwrap_or(date);
    let day = |offset: i64| {
        week.checked_add(jiff::Span::new().days(offset))
            .ok()
            .and_then(|d| instant(&zone, d, jiff::civil::Time::midnight()))
    };
    let range = Interval::new(day(-2).unwrap_or(Timestamp::MIN), day(9).unwrap_or(Timestamp::MAX));
    let busy = provider.busy(&[pa.email.clone(), pb.email.clone()], range).await?;
    let own = IntervalSet::from_intervals([at]);
    let (Some(Ok(busy_a)), Some(Ok(busy_b))) = (busy.get(&pa.email), busy.get(&pb.email)) else {
        tracing::info!(id = %id, occurrence = %occurrence, person = %who,
            "declined occurrence not moved: a calendar could not be read; tried again next cycle");
        return Ok(false);
    };
    // The occurrence itself shows as busy for whoever did not decline it.
    let (busy_a, busy_b) = (busy_a.difference(&own), busy_b.difference(&own));
    let rules = app::plan_rules(cfg);
    let found = best_slot_in_week(&WeekSlotInput {
        a: pa,
        b: pb,
        busy_a: &busy_a,
        busy_b: &busy_b,
        rules: &rules,
        zone_name: &r.zone,
        zone: &zone,
        week,
        not_before,
        avoid: at,
    });
    let Some(to) = found else {
        tracing::info!(id = %id, occurrence = %occurrence, person = %who,
            "declined occurrence not moved: no other time free for both that week");
        store.mark_occurrence_handled(occurrence, &handled("declined; no other time that week", at))?;
        return Ok(true);
    };
    match provider.move_occurrence(id, occurrence, to, &r.zone).await {
        Ok(()) => {
            summary.counts.moved += 1;
            tracing::info!(id = %id, occurrence = %occurrence, person = %who, from = %at.start, to = %to.start,
                "declined occurrence moved");
            store.mark_occurrence_handled(occurrence, &handled("moved by liaison", to))?;
            Ok(true)
        }
        Err(e) if passing(&e) => {
            tracing::warn!(id = %id, occurrence = %occurrence, error = %e,
                "declined occurrence not moved; tried again next cycle");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(first_term: &str, book_ahead: &str) -> Config {
        let text = format!(
            r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "{first_term}"
book_ahead = "{book_ahead}"
[calendar]
provider = "local"
[calendar.local]
dir = "."
[[people]]
email = "a@x.org"
name = "A"
unit = "U1"
[[people]]
email = "b@x.org"
name = "B"
unit = "U2"
"#
        );
        crate::config::parse(&text, Path::new("/tmp/c.toml"), &crate::config::Env::default()).unwrap()
    }

    fn starts(terms: &[Term]) -> Vec<String> {
        terms.iter().map(|t| t.start.to_string()).collect()
    }

    #[test]
    fn before_the_first_term_only_a_term_within_book_ahead_is_booked() {
        let cfg = config("2027-03-08", "7d");
        assert!(terms_to_book(&cfg, "2027-02-28T23:00:00Z".parse().unwrap()).is_empty());
        // 2027-03-01 00:00 in London is exactly seven days before the term.
        assert_eq!(
            starts(&terms_to_book(&cfg, "2027-03-01T00:00:00Z".parse().unwrap())),
            ["2027-03-08"]
        );
    }

    #[test]
    fn a_term_ending_within_the_minimum_notice_is_not_booked_any_more() {
        let cfg = config("2027-03-08", "1d");
        // The term ends Monday 2027-04-05 00:00 BST; min_notice is 24 h.
        assert_eq!(
            starts(&terms_to_book(&cfg, "2027-04-03T22:00:00Z".parse().unwrap())),
            ["2027-03-08"]
        );
        // Only the next term is left (and due, one day ahead).
        assert_eq!(
            starts(&terms_to_book(&cfg, "2027-04-04T00:00:00Z".parse().unwrap())),
            ["2027-04-05"]
        );
    }

    #[test]
    fn during_a_term_the_current_one_and_a_due_next_one_are_booked() {
        let cfg = config("2027-03-08", "7d");
        assert_eq!(
            starts(&terms_to_book(&cfg, "2027-03-20T12:00:00Z".parse().unwrap())),
            ["2027-03-08"]
        );
        // The second term starts Monday 2027-04-05 00:00 BST (2027-04-04T23:00Z).
        assert_eq!(
            starts(&terms_to_book(&cfg, "2027-03-28T23:00:00Z".parse().unwrap())),
            ["2027-03-08", "2027-04-05"]
        );
    }
}

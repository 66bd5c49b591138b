//! One booking cycle, as `run --once` performs it (and the daemon loop will):
//! finish intents a previous run left pending, then make sure the current term
//! and, within `book_ahead`, the next term are booked. Every cycle, failed or
//! not, ends by writing `status.json` (see `status`).
//!
//! Every step goes through the same functions as `plan` (`app::make_plan`), so a
//! cycle books exactly what `plan` showed for the same calendars.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::app::{self, Failure, TermState};
use std::collections::BTreeSet;

use crate::calendar::{AttendeeResponse, CalendarError, CalendarProvider, DeleteOutcome, Occurrence};
use crate::config::Config;
use crate::core::availability::instant;
use crate::core::interval::{Interval, IntervalSet};
use crate::core::plan::{WeekSlotInput, best_slot_in_week};
use crate::core::term::Term;
use crate::status::CycleNotes;
use crate::store::{PersonState, SeriesState, Store};

/// What one cycle did, for the summary log line and `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleSummary {
    /// First day of the earliest term the cycle looked after.
    pub term: Option<jiff::civil::Date>,
    pub booked: usize,
    pub kept: usize,
    pub moved: usize,
    pub cancelled: usize,
    pub unpaired: usize,
    pub requests: u64,
    pub elapsed: SignedDuration,
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

/// Runs one cycle, then writes `status.json` whatever its outcome (so `status`
/// shows a failed cycle too, e.g. an authorization that needs renewing).
pub async fn run_once<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
) -> Result<CycleSummary, Failure> {
    run_once_until(cfg, provider, store, now, &AtomicBool::new(false)).await
}

/// Runs one cycle, ending early (between two calendar requests) once `stop` is set.
pub async fn run_once_until<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    stop: &AtomicBool,
) -> Result<CycleSummary, Failure> {
    let started = Instant::now();
    let mut notes = CycleNotes::default();
    let result = cycle(cfg, provider, store, now, stop, &mut notes).await;
    let elapsed = SignedDuration::try_from(started.elapsed()).unwrap_or(SignedDuration::MAX);
    crate::status::record_cycle(cfg, store, now, elapsed, &result, &notes);
    result
}

/// The cycle itself; `notes` collects what `status` reports as it goes.
async fn cycle<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    stop: &AtomicBool,
    notes: &mut CycleNotes,
) -> Result<CycleSummary, Failure> {
    let started = Instant::now();
    let requests_before = provider.requests();
    let terms = terms_to_book(cfg, now);
    let mut summary = CycleSummary {
        term: terms.first().map(|t| t.start),
        ..CycleSummary::default()
    };
    read_changes(cfg, provider, store, now, &mut summary).await?;
    resolve_pending(provider, store).await?;
    repair(cfg, provider, store, now, &mut summary).await?;
    let cutoff = app::notice_cutoff(cfg, now);
    let paused = liaison_paused(cfg, store)?;
    for term in &terms {
        let mut state = TermState::from_records(&store.series()?, term, cutoff);
        state.paused = paused.clone();
        summary.kept += state.kept.len();
        // Nobody left to pair (everyone booked or paused): a quiet cycle reads no
        // free/busy at all.
        // Only people still waiting for a partner are planned, so only their
        // free/busy is read; nobody waiting (everyone booked or paused) means a
        // quiet cycle that reads no free/busy at all.
        let waiting: Vec<String> = cfg
            .people
            .iter()
            .filter(|p| !p.paused && !state.paused.contains(&p.email) && !state.booked.contains(&p.email))
            .map(|p| p.email.clone())
            .collect();
        if waiting.is_empty() {
            continue;
        }
        let busy = provider.busy(&waiting, app::busy_range(cfg, term)).await?;
        let plan = app::make_plan(cfg, &busy, &state, *term, now);
        notes.planned(cfg, &busy, &plan);
        for u in &plan.unpaired {
            let p = &cfg.people[u.person];
            tracing::info!(term = %term.start, person = %p.email, reason = %u.reason, "unpaired");
        }
        summary.unpaired += plan.unpaired.len();
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let report = app::book(cfg, provider, store, &plan, stop).await?;
        summary.booked += report.created + report.already_there;
    }
    summary.requests = provider.requests().saturating_sub(requests_before);
    summary.elapsed = SignedDuration::try_from(started.elapsed()).unwrap_or(SignedDuration::MAX);
    tracing::info!(
        term = %summary.term.map_or("none".to_string(), |d| d.to_string()),
        booked = summary.booked,
        kept = summary.kept,
        moved = summary.moved,
        cancelled = summary.cancelled,
        unpaired = summary.unpaired,
        requests = summary.requests,
        elapsed = %format_args!("{:.1}s", summary.elapsed.as_secs_f64()),
        "cycle done"
    );
    Ok(summary)
}

/// Makes the store agree with the calendar: reads what changed among
/// liaison's series since the stored sync token (everything on the first cycle,
/// after lost state or an expired token) and records it. A series missing from
/// the store (state lost or moved aside) is recorded; a pending intent whose
/// insert reached the calendar is marked booked; a series a person deleted is
/// recorded as cancelled (its pair is never booked again this term); a whole
/// series declined by an attendee is marked for [`repair`]. The new token is
/// stored only after all of that is, so a crash reads the same changes again.
async fn read_changes<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    summary: &mut CycleSummary,
) -> Result<(), Failure> {
    let token = store.sync_token()?;
    let changes = provider.list_changes(token.as_deref()).await?;
    for details in changes.series {
        let mut record = app::record_from_calendar(cfg, details.series);
        let known = store.get(&record.request.event_id)?;
        let r = &record.request;
        let (a, b) = (r.pair.0.clone(), r.pair.1.clone());
        for email in [&a, &b] {
            if details.responses.get(email) == Some(&AttendeeResponse::Accepted) {
                reset_declines(store, email)?;
            }
        }
        let decliner = [&a, &b]
            .into_iter()
            .find(|e| details.responses.get(*e) == Some(&AttendeeResponse::Declined))
            .cloned();
        match &known {
            Some(k) if k.state == SeriesState::Booked && record.state == SeriesState::Cancelled => {
                tracing::info!(id = %r.event_id, term = %r.term, a = %a, b = %b,
                    "series deleted on the calendar by a person; recorded, this pair is not booked again this term");
                summary.cancelled += 1;
            }
            Some(k) if k.state == record.state && k.declined_by == decliner => continue,
            Some(k) if k.state == SeriesState::Cancelled => continue,
            Some(_) => {}
            None => tracing::info!(id = %r.event_id, term = %r.term, a = %a, b = %b,
                state = ?record.state, "series recorded from the calendar"),
        }
        if record.state == SeriesState::Booked {
            record.declined_by = decliner;
            if let Some(who) = &record.declined_by {
                tracing::info!(id = %record.request.event_id, term = %record.request.term, person = %who,
                    "series declined; it is cancelled and both people paired again");
            }
        }
        store.put(&record)?;
    }
    for id in changes.deleted_ids {
        if let Some(mut record) = store.get(&id)?
            && record.state == SeriesState::Booked
        {
            let r = &record.request;
            tracing::info!(id = %id, term = %r.term, a = %r.pair.0, b = %r.pair.1,
                "series deleted on the calendar by a person; recorded, this pair is not booked again this term");
            record.state = SeriesState::Cancelled;
            store.put(&record)?;
            summary.cancelled += 1;
        }
    }
    for (series_id, occurrence) in &changes.occurrences {
        repair_occurrence(cfg, provider, store, now, series_id, occurrence, summary).await?;
    }
    store.set_sync_token(changes.next_token.as_deref())?;
    Ok(())
}

/// One occurrence of a booked series that a person changed. Declined by one of
/// the pair: moved to the best other time free for both in the same week (never
/// inside `min_notice`), or left with a log line saying why not. Moved by a
/// person: accepted as the new truth. Cancelled by a person: left as is. Each
/// occurrence is dealt with once.
async fn repair_occurrence<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    series_id: &str,
    occurrence: &Occurrence,
    summary: &mut CycleSummary,
) -> Result<(), Failure> {
    let Some(record) = store.get(series_id)? else {
        return Ok(());
    };
    let instance = occurrence.instance_id.as_str();
    if record.state != SeriesState::Booked || store.occurrence_handled(instance)? {
        return Ok(());
    }
    let r = &record.request;
    let (a, b) = (&r.pair.0, &r.pair.1);
    let current = occurrence.interval;
    let decliner = [a, b]
        .into_iter()
        .find(|e| occurrence.responses.get(*e) == Some(&AttendeeResponse::Declined));
    let (note, now_at) = match (occurrence.cancelled, decliner, current) {
        (true, _, _) => {
            tracing::info!(id = %series_id, occurrence = %instance, "occurrence cancelled by a person; left as is");
            ("cancelled by a person", None)
        }
        (false, Some(who), Some(at)) => {
            move_declined(cfg, provider, now, &record, occurrence, at, who, summary).await?
        }
        (false, None, Some(at)) if at.start != occurrence.original_start => {
            tracing::info!(id = %series_id, occurrence = %instance, a = %a, b = %b, from = %occurrence.original_start,
                to = %at.start, "occurrence moved by a person; accepted as the new time");
            ("moved by a person", Some(at))
        }
        _ => return Ok(()),
    };
    store.mark_occurrence_handled(instance, series_id, note, now_at)?;
    Ok(())
}

/// Moves an occurrence `who` declined; returns the note to record.
#[allow(clippy::too_many_arguments)]
async fn move_declined<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    now: Timestamp,
    record: &crate::store::SeriesRecord,
    occurrence: &Occurrence,
    at: Interval,
    who: &str,
    summary: &mut CycleSummary,
) -> Result<(&'static str, Option<Interval>), Failure> {
    let r = &record.request;
    let (id, instance) = (r.event_id.as_str(), occurrence.instance_id.as_str());
    let not_before = app::notice_cutoff(cfg, now);
    if at.start < not_before {
        tracing::info!(id = %id, occurrence = %instance, person = %who,
            "declined occurrence not moved: it starts inside min_notice");
        return Ok(("declined inside min_notice", Some(at)));
    }
    let person = |email: &str| cfg.people.iter().find(|p| p.email == email);
    let (Some(pa), Some(pb), Ok(zone)) = (person(&r.pair.0), person(&r.pair.1), TimeZone::get(&r.zone)) else {
        return Ok(("declined; pair no longer configured", Some(at)));
    };
    // The week of the occurrence, in the series' zone.
    let date = occurrence.original_start.to_zoned_datetime(zone.clone()).date();
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
        tracing::info!(id = %id, occurrence = %instance, person = %who,
            "declined occurrence not moved: a calendar could not be read");
        return Ok(("declined; calendar unreadable", Some(at)));
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
        tracing::info!(id = %id, occurrence = %instance, person = %who,
            "declined occurrence not moved: no other time free for both that week");
        return Ok(("declined; no other time that week", Some(at)));
    };
    match provider.move_occurrence(id, instance, to, &r.zone).await {
        Ok(()) => {
            summary.moved += 1;
            tracing::info!(id = %id, occurrence = %instance, person = %who, from = %at.start, to = %to.start,
                "declined occurrence moved");
            Ok(("moved by liaison", Some(to)))
        }
        Err(e @ (CalendarError::Unauthorized(_) | CalendarError::Transient(_))) => Err(e.into()),
        Err(e) => {
            tracing::warn!(id = %id, occurrence = %instance, error = %e, "declined occurrence not moved");
            Ok(("declined; move refused", Some(at)))
        }
    }
}

fn reset_declines(store: &Store, email: &str) -> Result<(), Failure> {
    let mut person = store.person(email)?;
    if person.declines_in_a_row > 0 && !person.paused {
        person.declines_in_a_row = 0;
        store.put_person(email, &person)?;
    }
    Ok(())
}

/// People liaison paused after declined series, less those the configuration
/// now says `paused = false` for explicitly (that lifts the pause).
fn liaison_paused(cfg: &Config, store: &Store) -> Result<BTreeSet<String>, Failure> {
    let mut paused = store.paused_people()?;
    for email in &cfg.never_paused {
        if paused.remove(email) {
            store.put_person(email, &PersonState::default())?;
            tracing::info!(person = %email, "pause lifted: the configuration says paused = false");
        }
    }
    Ok(paused)
}

/// Why liaison cancels a booked series.
enum Why {
    Declined(String),
    Removed(String),
    Paused(String),
}

/// Cancels the booked series that must go: declined by an attendee, or with
/// a person removed from the configuration or paused. A series whose next
/// occurrence starts inside `min_notice` is left alone until it has passed
/// (never cancel what people may already count on). Their people are paired
/// again by the planning that follows (never as the same pair this term).
async fn repair<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    summary: &mut CycleSummary,
) -> Result<(), Failure> {
    let paused = liaison_paused(cfg, store)?;
    let cutoff = app::notice_cutoff(cfg, now);
    for mut record in store.series()? {
        if record.state != SeriesState::Booked {
            continue;
        }
        let (a, b) = record.request.pair.clone();
        let person = |email: &str| cfg.people.iter().find(|p| p.email == email);
        let why = if let Some(who) = &record.declined_by {
            Why::Declined(who.clone())
        } else if let Some(gone) = [&a, &b].into_iter().find(|e| person(e).is_none()) {
            Why::Removed(gone.clone())
        } else if let Some(p) = [&a, &b]
            .into_iter()
            .find(|e| person(e).is_some_and(|p| p.paused) || paused.contains(*e))
        {
            Why::Paused(p.clone())
        } else {
            continue;
        };
        // Occurrences moved to another time count too: the rule alone does
        // not say when they take place.
        let moved = store.moved_occurrences(&record.request.event_id)?;
        let next_moved = moved.iter().filter(|i| i.end > now).map(|i| i.start).min();
        let next_rule = next_occurrence(&record.request, now);
        let next = match (next_rule, next_moved) {
            (Some(r), Some(m)) => Some(r.min(m)),
            (r, m) => r.or(m),
        };
        let Some(next) = next else {
            // Every occurrence has started: nothing left to cancel.
            if record.declined_by.take().is_some() {
                store.put(&record)?;
            }
            continue;
        };
        let reason = match &why {
            Why::Declined(p) => format!("declined by {p}"),
            Why::Removed(p) => format!("{p} is no longer in the configuration"),
            Why::Paused(p) => format!("{p} is paused"),
        };
        let id = record.request.event_id.clone();
        if next < cutoff {
            tracing::info!(id = %id, a = %a, b = %b, reason = %reason, next = %next,
                "series not cancelled yet: its next occurrence is inside min_notice");
            continue;
        }
        let outcome = match provider.delete_series(&id).await {
            Ok(o) => o,
            Err(e @ CalendarError::Unauthorized(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(id = %id, error = %e, "series not cancelled; retrying next cycle");
                continue;
            }
        };
        record.state = SeriesState::Cancelled;
        store.put(&record)?;
        summary.cancelled += 1;
        tracing::info!(id = %id, term = %record.request.term, a = %a, b = %b, reason = %reason,
            outcome = if outcome == DeleteOutcome::Deleted { "deleted" } else { "already gone" },
            "series cancelled");
        if let Why::Declined(who) = &why
            && !cfg.never_paused.contains(who)
        {
            let mut state = store.person(who)?;
            state.declines_in_a_row += 1;
            let limit = cfg.pairing.pause_after_declines;
            if limit > 0 && state.declines_in_a_row >= limit && !state.paused {
                state.paused = true;
                tracing::warn!(person = %who, declined = state.declines_in_a_row,
                    "person paused after declining {limit} series in a row; set `paused = false` on their entry to resume");
            }
            store.put_person(who, &state)?;
        }
    }
    Ok(())
}

/// The start of the first occurrence of `series` that has not ended at `now`
/// (one in progress counts: it is inside any notice).
fn next_occurrence(series: &crate::calendar::SeriesRequest, now: Timestamp) -> Option<Timestamp> {
    let zone = jiff::tz::TimeZone::get(&series.zone).ok()?;
    (0..series.count)
        .filter_map(|k| series.start.checked_add(jiff::Span::new().weeks(i64::from(k))).ok())
        .filter_map(|start| zone.to_timestamp(start).ok())
        .find(|&at| at.checked_add(series.duration).is_ok_and(|end| end > now))
}

/// Resolves intents left pending by a killed run or a failed insert with a `get`
/// on their id: booked or cancelled if the calendar has them, else abandoned, and
/// their people are planned again with fresh calendars. One failing lookup is
/// logged and retried next cycle; it does not stop the others.
async fn resolve_pending<P: CalendarProvider>(provider: &P, store: &Store) -> Result<(), Failure> {
    for mut record in store.series()? {
        if record.state != SeriesState::Pending {
            continue;
        }
        let id = record.request.event_id.clone();
        record.state = match provider.get_series(&id).await {
            Ok(Some(series)) if series.active => SeriesState::Booked,
            Ok(Some(_)) => SeriesState::Cancelled,
            Ok(None) => SeriesState::Abandoned,
            Err(e @ CalendarError::Unauthorized(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(id = %id, error = %e, "pending booking not resolved; retrying next cycle");
                continue;
            }
        };
        store.put(&record)?;
        tracing::info!(id = %id, state = ?record.state, "pending booking resolved");
    }
    Ok(())
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

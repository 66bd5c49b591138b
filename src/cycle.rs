//! One booking cycle, as `run --once` performs it (and the daemon loop will):
//! finish intents a previous run left pending, then make sure the current term
//! and, within `book_ahead`, the next term are booked. Every cycle, failed or
//! not, ends by writing `status.json` (see `status`).
//!
//! Every step goes through the same functions as `plan` (`app::make_plan`), so a
//! cycle books exactly what `plan` showed for the same calendars.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

use crate::app::{self, Failure, TermState};
use crate::calendar::{CalendarError, CalendarProvider};
use crate::config::Config;
use crate::core::availability::instant;
use crate::core::term::Term;
use crate::status::CycleNotes;
use crate::store::{SeriesState, Store};

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
    adopt_calendar_series(cfg, provider, store).await?;
    resolve_pending(provider, store).await?;
    for term in &terms {
        let state = TermState::from_records(&store.series()?, term);
        summary.kept += state.kept.len();
        let busy = app::read_busy(cfg, provider, term).await?;
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

/// Makes the store agree with the calendar on every series the calendar has: a
/// series missing from the store (state lost or moved aside) is recorded, and a
/// pending intent whose insert did reach the calendar is marked booked. Without
/// this, a run with lost state would see its own bookings as busy time and book
/// everyone again.
async fn adopt_calendar_series<P: CalendarProvider>(cfg: &Config, provider: &P, store: &Store) -> Result<(), Failure> {
    for series in provider.list_series().await? {
        let record = app::record_from_calendar(cfg, series);
        let known = store.get(&record.request.event_id)?;
        if known.as_ref().is_some_and(|r| r.state == record.state) {
            continue;
        }
        let r = &record.request;
        tracing::info!(id = %r.event_id, term = %r.term, a = %r.pair.0, b = %r.pair.1,
            state = ?record.state, "series recorded from the calendar");
        store.put(&record)?;
    }
    Ok(())
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

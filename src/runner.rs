//! Runs one cycle and records it: `status.json` and `report.html` are
//! written after every cycle, failed ones included (not for a dry run). Kept apart from `cycle` so that
//! `status` depends on the cycle's results and not the other way round.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

use crate::calendar::CalendarProvider;
use crate::config::Config;
use crate::cycle::{self, CycleSummary, Options};
use crate::failure::Failure;
use crate::notes::CycleNotes;
use crate::store::Store;

/// Runs one cycle, then writes `status.json` whatever its outcome (so `status`
/// shows a failed cycle too, e.g. an authorization that needs renewing).
pub async fn run_once<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
) -> Result<CycleSummary, Failure> {
    run_with(cfg, provider, store, now, &Options::default()).await
}

/// Runs one cycle with `options`; status and report are written unless it is a dry run.
pub async fn run_with<P: CalendarProvider>(
    cfg: &Config,
    provider: &P,
    store: &Store,
    now: Timestamp,
    options: &Options,
) -> Result<CycleSummary, Failure> {
    let started = Instant::now();
    let mut notes = CycleNotes::default();
    let result = cycle::run(cfg, provider, store, now, options, &mut notes).await;
    let elapsed = SignedDuration::try_from(started.elapsed()).unwrap_or(SignedDuration::MAX);
    if !options.dry_run {
        let (status, records) = crate::status::record_cycle(cfg, store, now, elapsed, &result, &notes);
        crate::report::record_cycle(cfg, &records, &status, now);
    }
    result
}

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
        record(cfg, store, now, elapsed, &result, &notes);
    }
    result
}

/// Writes `status.json`, then `report.html` from the same records. When the
/// records cannot be read the old page stays (a page of no connections would
/// tell its readers the network is gone) and the log says why.
fn record(
    cfg: &Config,
    store: &Store,
    now: Timestamp,
    elapsed: SignedDuration,
    result: &Result<CycleSummary, Failure>,
    notes: &CycleNotes,
) {
    let (status, records) = crate::status::record_cycle(cfg, store, now, elapsed, result, notes);
    match records {
        Ok(records) => crate::report::record_cycle(cfg, &records, &status, now),
        Err(e) => tracing::warn!(
            path = %crate::report::default_path(cfg).display(),
            error = %e,
            "report not rewritten (the previous page stays): could not read the series"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_cannot_be_read_leaves_the_old_report_and_still_writes_the_status() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let text = format!(
            "timezone = \"UTC\"\nstate_dir = {:?}\n[schedule]\nfirst_term = \"2027-03-08\"\n\
             [calendar]\nprovider = \"local\"\n[calendar.local]\ndir = \".\"\n\
             [[people]]\nemail = \"a@x.org\"\nname = \"A\"\nunit = \"U\"\n\
             [[people]]\nemail = \"b@x.org\"\nname = \"B\"\nunit = \"V\"\n",
            state.to_str().unwrap()
        );
        let cfg = crate::config::parse(&text, &dir.path().join("c.toml"), &crate::config::Env::default()).unwrap();
        let store = Store::open(&state).unwrap();
        let report = crate::report::default_path(&cfg);
        let now: Timestamp = "2027-03-03T12:00:00Z".parse().unwrap();
        let failed: Result<CycleSummary, Failure> = Err(Failure::Other(anyhow::anyhow!("the cycle failed")));
        let notes = CycleNotes::default();

        // A readable store: the page is rewritten (the test can see it).
        std::fs::write(&report, "the old page").unwrap();
        record(&cfg, &store, now, SignedDuration::ZERO, &failed, &notes);
        assert!(std::fs::read_to_string(&report).unwrap().contains("<!DOCTYPE html>"));

        // A damaged series: the old page stays, the status is written.
        std::fs::write(&report, "the old page").unwrap();
        std::fs::remove_file(state.join(crate::status::FILE_NAME)).unwrap();
        store.put_raw_series("broken", b"not json");
        assert!(store.series().is_err());
        record(&cfg, &store, now, SignedDuration::ZERO, &failed, &notes);
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "the old page");
        let status = std::fs::read_to_string(state.join(crate::status::FILE_NAME)).unwrap();
        assert!(status.contains("the cycle failed"), "{status}");
    }
}

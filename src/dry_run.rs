//! `run --once --dry-run`: the same cycle against a private copy of the state
//! and a provider that reads the calendar but writes nothing, then the
//! checked action list printed (text or JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::calendar::{
    BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Changes, CreateOutcome, DeleteOutcome, EndOutcome,
    SeriesRequest,
};
use crate::core::interval::Interval;
use crate::cycle::CycleSummary;

/// A provider that answers reads from `inner` and pretends every write
/// succeeded, counting them.
pub struct DryRun<'a, P> {
    inner: &'a P,
    writes: AtomicU64,
}

impl<'a, P: CalendarProvider> DryRun<'a, P> {
    pub fn new(inner: &'a P) -> Self {
        inner.reads_only();
        DryRun {
            inner,
            writes: AtomicU64::new(0),
        }
    }

    /// Writes that were asked for and not made.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    fn skip(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

impl<P: CalendarProvider> CalendarProvider for DryRun<'_, P> {
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        self.inner.busy(emails, range).await
    }

    async fn create_series(&self, _series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        self.skip();
        Ok(CreateOutcome::Created)
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        self.inner.list_series().await
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        self.inner.get_series(event_id).await
    }

    async fn get_many(
        &self,
        event_ids: &[String],
    ) -> Result<Vec<Result<Option<BookedSeries>, CalendarError>>, CalendarError> {
        self.inner.get_many(event_ids).await
    }

    /// The inner provider's: the same batches are planned, none is written.
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }

    async fn delete_series(&self, _event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        self.skip();
        Ok(DeleteOutcome::Deleted)
    }

    async fn end_series(&self, _event_id: &str, _until: Timestamp) -> Result<EndOutcome, CalendarError> {
        self.skip();
        Ok(EndOutcome::Ended)
    }

    fn write_timeout(&self) -> SignedDuration {
        self.inner.write_timeout()
    }

    async fn list_changes(&self, token: Option<&str>, now: Timestamp) -> Result<Changes, CalendarError> {
        self.inner.list_changes(token, now).await
    }

    async fn move_occurrence(
        &self,
        _series_id: &str,
        _instance_id: &str,
        _to: Interval,
        _zone: &str,
    ) -> Result<(), CalendarError> {
        self.skip();
        Ok(())
    }

    fn capabilities(&self) -> crate::calendar::Capabilities {
        self.inner.capabilities()
    }

    fn steps(&self) -> u64 {
        self.inner.steps()
    }

    fn requests(&self) -> u64 {
        self.inner.requests()
    }
}

/// The action list for people: one line per action, refused ones marked.
pub fn render(summary: &CycleSummary) -> String {
    let mut out = String::new();
    let refused = summary.actions.iter().filter(|a| a.refused.is_some()).count();
    let _ = writeln!(
        out,
        "Dry run: {} actions ({} refused by the safety check); nothing was written.",
        summary.actions.len(),
        refused
    );
    for a in &summary.actions {
        match &a.refused {
            None => {
                let _ = writeln!(out, "  {:<10} {}", a.kind, a.text);
            }
            Some(why) => {
                let _ = writeln!(out, "  {:<10} {}\n             REFUSED: {why}", a.kind, a.text);
            }
        }
    }
    out
}

/// The action list for programs.
pub fn json(summary: &CycleSummary) -> serde_json::Value {
    json!({
        "dry_run": true,
        "term": summary.counts.term.map(|d| d.to_string()),
        "actions": summary.actions,
        "counts": {
            "booked": summary.counts.booked,
            "kept": summary.counts.kept,
            "moved": summary.counts.moved,
            "cancelled": summary.counts.cancelled,
            "unpaired": summary.counts.unpaired,
            "refused": summary.counts.refused,
        },
    })
}

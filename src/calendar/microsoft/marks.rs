//! What a series' marks say is still due: skipped weeks to cancel after a
//! create, and the occurrences an early end must make again (its restore),
//! over the series' instances.

use std::sync::atomic::Ordering;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::events;
use super::{INSTANCES_MARGIN, MAX_PAGES, MicrosoftProvider, PAGE, query, segment, utc_text};
use crate::calendar::http::ApiError;
use crate::calendar::{CalendarError, SeriesDetails, SeriesRequest};

impl MicrosoftProvider {
    /// Cancels the skipped weeks whose cancellation the skip mark of
    /// `event` says is still due (see [`events::SkipMark`]). True when
    /// nothing is left due; failures are logged and the mark stays due for
    /// the next read. A dry run leaves it (true: nothing it could do).
    pub(super) async fn settle_skips(&self, event: &Value, d: &SeriesDetails) -> bool {
        let id = &d.series.request.event_id;
        match events::SkipMark::of(event) {
            Some(Ok(mark)) if mark.due && !self.reads_only.load(Ordering::SeqCst) => {
                tracing::info!(%id, weeks = mark.weeks.len(), "cancelling the skipped weeks a create left due");
                // The request read back holds the mark's weeks.
                self.complete_skips(event["id"].as_str().unwrap_or(""), &d.series.request)
                    .await
            }
            Some(Err(message)) => {
                tracing::warn!(%id, %message, "the skip mark of a series cannot be read; left as it is");
                true
            }
            _ => true,
        }
    }

    /// Cancels the skipped weeks of series `graph_id` (`series.skip`), then
    /// writes its skip mark done. True when both went through (or there is
    /// nothing to skip); a failure is logged, the mark stays due.
    pub(super) async fn complete_skips(&self, graph_id: &str, series: &SeriesRequest) -> bool {
        if series.skip.is_empty() {
            return true;
        }
        let id = &series.event_id;
        if let Err(e) = self.cancel_skipped(graph_id, series).await {
            tracing::warn!(%id, error = %e, "the skipped weeks are not all cancelled yet; tried again on the next read");
            return false;
        }
        let done = events::SkipMark {
            due: false,
            weeks: series.skip.clone(),
        };
        let body = json!({"singleValueExtendedProperties": [done.property()]});
        let path = format!("{}/events/{}", self.mailbox, segment(graph_id));
        match self
            .graph
            .call("events.update", "PATCH", &path, Some(&body), None)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                // Cancelling again is harmless: cancelled weeks are not listed.
                tracing::warn!(%id, error = %self.error("events.update (the skip mark)", e), "skipped weeks cancelled, but the skip mark could not be cleared; cleared on the next read");
                false
            }
        }
    }

    /// Completes the restore that the end mark of `event` still lists (an
    /// end whose restore failed, or whose process stopped after the
    /// `PATCH`), then writes the mark back without the list. True when
    /// nothing is left to restore; failures are logged, and the mark stays
    /// for the next read. A dry run leaves it (true: nothing it could do).
    pub(super) async fn settle(&self, event: &Value, d: &SeriesDetails) -> bool {
        let mark = match events::EndMark::of(event) {
            None => return true,
            Some(Ok(mark)) => mark,
            Some(Err(message)) => {
                tracing::warn!(id = %d.series.request.event_id, %message, "the end mark of a series cannot be read; left as it is");
                return true;
            }
        };
        if mark.restore.is_empty() || self.reads_only.load(Ordering::SeqCst) {
            return true;
        }
        let id = &d.series.request.event_id;
        let graph_id = event["id"].as_str().unwrap_or("");
        tracing::info!(%id, moved = mark.restore.moved.len(), cancelled = mark.restore.cancelled.len(),
            "completing what an earlier end of this series left to restore");
        if let Err(e) = self.restore(graph_id, &d.series.request, &mark.restore).await {
            tracing::warn!(%id, error = %e, "the occurrences people changed are not all restored yet; tried again on the next read");
            return false;
        }
        match self.clear_restore(graph_id, mark.last).await {
            Ok(()) => true,
            Err(e) => {
                // Restoring again is harmless: only occurrences still at the
                // rule's time are changed (see `restore`).
                tracing::warn!(%id, error = %e, "restored, but the end mark could not be cleared; cleared on the next read");
                false
            }
        }
    }

    /// The instances of series `graph_id` (all pages) over its whole span
    /// and [`INSTANCES_MARGIN`] either side: an occurrence a person moved
    /// outside the window would look cancelled, and be cancelled by
    /// `restore`. `None` when the series is gone.
    pub(super) async fn instances(
        &self,
        graph_id: &str,
        series: &SeriesRequest,
    ) -> Result<Option<Vec<Value>>, CalendarError> {
        let starts = events::pattern_starts(series).map_err(|m| self.invalid("events.instances", m))?;
        let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
            return Ok(Some(Vec::new()));
        };
        let lo = first.checked_sub(INSTANCES_MARGIN).unwrap_or(*first);
        let hi = last
            .checked_add(INSTANCES_MARGIN)
            .and_then(|t| t.checked_add(series.duration))
            .unwrap_or(*last);
        let mut next = Some(format!(
            "{}/events/{}/instances?startDateTime={}&endDateTime={}&$top={PAGE}",
            self.mailbox,
            segment(graph_id),
            query(&utc_text(lo)),
            query(&utc_text(hi))
        ));
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else {
                return Ok(Some(out));
            };
            let page = match self.graph.call("events.instances", "GET", &path, None, None).await {
                Ok(v) => v.unwrap_or(Value::Null),
                Err(ApiError::NotFound(_) | ApiError::Gone(_)) => return Ok(None),
                Err(e) => return Err(self.error("events.instances", e)),
            };
            out.extend(page["value"].as_array().into_iter().flatten().cloned());
            next = page["@odata.nextLink"].as_str().map(str::to_string);
        }
        Err(self.invalid(
            "events.instances",
            format!("more than {MAX_PAGES} pages; Graph's paging does not end"),
        ))
    }

    /// Cancels the occurrences of series `graph_id` that `series.skip` names
    /// (holidays, away days): Graph's recurrence has no exception dates at
    /// creation (https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence),
    /// so each is an occurrence cancelled after it, found by its original
    /// start among the instances (`POST .../cancel` on the occurrence:
    /// https://learn.microsoft.com/en-us/graph/api/event-cancel). Those
    /// already cancelled are not listed and not asked again.
    pub(super) async fn cancel_skipped(&self, graph_id: &str, series: &SeriesRequest) -> Result<(), CalendarError> {
        if series.skip.is_empty() {
            return Ok(());
        }
        let tz = jiff::tz::TimeZone::get(&series.zone)
            .map_err(|_| self.invalid("events.cancel", format!("time zone {:?} is unknown", series.zone)))?;
        let Some(items) = self.instances(graph_id, series).await? else {
            return Ok(());
        };
        for skipped in &series.skip {
            let Ok(original) = tz.to_timestamp(*skipped) else {
                continue;
            };
            let found = items.iter().find_map(|item| {
                let o = events::occurrence_of(item).ok()?;
                (o.original_start == original && !o.cancelled).then_some(o.instance_id)
            });
            let Some(occurrence) = found else { continue };
            let path = format!("{}/events/{}/cancel", self.mailbox, segment(&occurrence));
            let body = json!({"comment": "No connection this week (a day without connections)."});
            match self.graph.call("events.cancel", "POST", &path, Some(&body), None).await {
                Ok(_) | Err(ApiError::NotFound(_) | ApiError::Gone(_)) => {}
                Err(e) => return Err(self.error("events.cancel (a skipped week)", e)),
            }
        }
        Ok(())
    }

    /// Makes again, after the recurrence of series `graph_id` changed, what
    /// people had changed among its kept occurrences (`changed`): Exchange
    /// dropped it. Occurrences are found again by their original start; only
    /// one still at the rule's time is changed (an exception was made after
    /// the end: by an earlier restore, or by a person, whose change stays).
    /// One that cannot be found is logged: a moved one was cancelled since,
    /// a cancelled one is cancelled already.
    pub(super) async fn restore(
        &self,
        graph_id: &str,
        series: &SeriesRequest,
        changed: &events::Changed,
    ) -> Result<(), CalendarError> {
        let Some(after) = self.instances(graph_id, series).await? else {
            tracing::warn!(id = %series.event_id, "the series is gone; nothing to restore");
            return Ok(());
        };
        // The occurrence listed at its original start, and whether it is
        // still at the rule's time.
        let at = |original: Timestamp| {
            after.iter().find_map(|item| {
                let o = events::occurrence_of(item).ok()?;
                (o.original_start == original).then(|| {
                    let plain = item["type"].as_str() != Some("exception");
                    (o.instance_id, plain, item["@odata.etag"].as_str().map(str::to_string))
                })
            })
        };
        // Each write goes with the etag just read: an occurrence a person
        // changed since (412) keeps their change.
        let changed_since = |original: &Timestamp| {
            tracing::info!(id = %series.event_id, occurrence = %original, "an occurrence changed on the calendar while it was restored (412); the change stays");
        };
        // Each one is tried (a failure of one does not leave the others
        // undone); the first failure is answered, and the end mark keeps the
        // list for the next read.
        let mut first_error = None;
        for (original, to) in &changed.moved {
            let (id, tag) = match at(*original) {
                Some((id, true, tag)) => (id, tag),
                Some((_, false, _)) => {
                    tracing::info!(id = %series.event_id, occurrence = %original, "a moved occurrence was changed again since the end; left as it is");
                    continue;
                }
                None => {
                    tracing::warn!(id = %series.event_id, occurrence = %original, "a moved occurrence to restore cannot be found (cancelled since?); left as it is");
                    continue;
                }
            };
            let body = events::moved(*to, &series.zone).map_err(|m| self.invalid("events.update", m))?;
            let path = format!("{}/events/{}", self.mailbox, segment(&id));
            match self
                .graph
                .call_if("events.update", "PATCH", &path, Some(&body), None, tag.as_deref())
                .await
            {
                Ok(_) => {}
                Err(ApiError::Duplicate) => changed_since(original),
                Err(e) => {
                    tracing::error!(error = %e, occurrence = %original, "a moved occurrence could not be moved back after the series ended");
                    first_error.get_or_insert(self.error("events.update (an occurrence moved again after ending)", e));
                }
            }
        }
        for original in &changed.cancelled {
            let (id, tag) = match at(*original) {
                Some((id, true, tag)) => (id, tag),
                Some((_, false, _)) => {
                    tracing::info!(id = %series.event_id, occurrence = %original, "a cancelled occurrence was changed since the end (by a person); left as it is");
                    continue;
                }
                None => {
                    tracing::info!(id = %series.event_id, occurrence = %original, "a cancelled occurrence to restore is not listed: cancelled already");
                    continue;
                }
            };
            let path = format!("{}/events/{}/cancel", self.mailbox, segment(&id));
            let body = json!({"comment": "This occurrence stays cancelled."});
            match self
                .graph
                .call_if("events.cancel", "POST", &path, Some(&body), None, tag.as_deref())
                .await
            {
                Ok(_) | Err(ApiError::NotFound(_) | ApiError::Gone(_)) => {}
                Err(ApiError::Duplicate) => changed_since(original),
                Err(e) => {
                    tracing::error!(error = %e, occurrence = %original, "a cancelled occurrence could not be cancelled again after the series ended");
                    first_error
                        .get_or_insert(self.error("events.cancel (an occurrence cancelled again after ending)", e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Writes the end mark of `graph_id` back without its restore list.
    pub(super) async fn clear_restore(&self, graph_id: &str, last: jiff::civil::Date) -> Result<(), CalendarError> {
        let done = events::EndMark {
            last,
            restore: events::Changed::default(),
        };
        let body = json!({"singleValueExtendedProperties": [done.property()]});
        let path = format!("{}/events/{}", self.mailbox, segment(graph_id));
        self.graph
            .call("events.update", "PATCH", &path, Some(&body), None)
            .await
            .map(|_| ())
            .map_err(|e| self.error("events.update (the end mark)", e))
    }
}

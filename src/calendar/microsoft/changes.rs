//! Reading what changed on the organizer's calendar: liaison's series
//! listed (all pages), `calendarView/delta` rounds drained, their tokens and
//! window, and the full read that lists the series again.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::events;
use super::{
    Listing, MAX_PAGES, MicrosoftProvider, PAGE, Round, TOKEN_PREFIX, WINDOW_AHEAD, WINDOW_BACK, WINDOW_MARGIN, query,
    utc_text,
};
use crate::calendar::http::ApiError;
use crate::calendar::{AttendeeResponse, CalendarError, Changes, SeriesDetails};
use crate::core::interval::Interval;

impl MicrosoftProvider {
    /// Every liaison series on the organizer's calendar, all pages (see
    /// [`Listing`]): those that cannot be read (a person changed the
    /// pattern, say) exist, so a full read must not take them for deleted.
    pub(super) async fn list_masters(&self) -> Result<Listing, CalendarError> {
        let mut next = Some(format!(
            "{}/events?$filter={}&$expand={}&$top={PAGE}",
            self.mailbox,
            query(&events::filter(events::MARK, "1")),
            query(&events::expand())
        ));
        let mut out = Listing::default();
        for _ in 0..MAX_PAGES {
            let Some(path) = next.take() else {
                return Ok(out);
            };
            let page = self.list_events(&path).await?;
            for event in page["value"].as_array().into_iter().flatten() {
                self.take_master(event, &mut out).await;
            }
            next = page["@odata.nextLink"].as_str().map(str::to_string);
        }
        Err(self.invalid(
            "events.list",
            format!("more than {MAX_PAGES} pages; Graph's paging does not end"),
        ))
    }

    /// Reads one listed master into `out`: its series (a restore its end
    /// left completed), or its id among the unreadable. One damaged event
    /// must not block the others; a new insert of its pair would meet it by
    /// its liaison_id.
    pub(super) async fn take_master(&self, event: &Value, out: &mut Listing) {
        match self.read_master(event) {
            Ok(Some(d)) => {
                out.unsettled |= !self.settle(event, &d).await;
                out.unsettled |= !self.settle_skips(event, &d).await;
                if events::EndMark::of(event).is_some_and(|m| m.is_ok_and(|m| m.holds_for(event))) {
                    out.ended.push(d.series.request.event_id.clone());
                }
                out.series.push(d);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "skipping a liaison event that cannot be read");
                out.unreadable.extend(events::liaison_id(event));
            }
        }
    }

    /// Drains one delta round from `start`; `Ok(None)` when Graph no longer
    /// knows the token (410 / `syncStateNotFound`).
    pub(super) async fn drain(&self, start: String) -> Result<Option<Round>, CalendarError> {
        let mut round = Round {
            items: Vec::new(),
            removed: Vec::new(),
            delta_link: String::new(),
        };
        let mut next = start;
        let prefer = format!("odata.maxpagesize={PAGE}");
        for page_number in 0..MAX_PAGES {
            let page = match self
                .graph
                .call("calendarView.delta", "GET", &next, None, Some(&prefer))
                .await
            {
                Ok(v) => v.unwrap_or(Value::Null),
                Err(ApiError::Gone(_)) if page_number == 0 => return Ok(None),
                Err(e) => return Err(self.error("calendarView.delta", e)),
            };
            for item in page["value"].as_array().into_iter().flatten() {
                if item.get("@removed").is_some() {
                    round.removed.extend(item["id"].as_str().map(str::to_string));
                } else {
                    round.items.push(item.clone());
                }
            }
            if let Some(link) = page["@odata.nextLink"].as_str() {
                next = link.to_string();
            } else if let Some(link) = page["@odata.deltaLink"].as_str() {
                round.delta_link = link.to_string();
                return Ok(Some(round));
            } else {
                return Err(self.invalid(
                    "calendarView.delta",
                    "a page with neither nextLink nor deltaLink".into(),
                ));
            }
        }
        Err(self.invalid(
            "calendarView.delta",
            format!("more than {MAX_PAGES} pages; the round does not end"),
        ))
    }

    /// Occurrences of liaison's series that a person changed: exceptions,
    /// cancelled ones, and those an attendee declined while the series
    /// itself is not declined by them.
    pub(super) fn changed_occurrences(items: &[Value], series: &BTreeMap<String, SeriesDetails>, out: &mut Changes) {
        for item in items {
            let Some(master) = item["seriesMasterId"].as_str() else {
                continue;
            };
            let Some(d) = series.get(master) else { continue };
            let declined_here = events::responses(item).iter().any(|(who, r)| {
                *r == AttendeeResponse::Declined && d.responses.get(who) != Some(&AttendeeResponse::Declined)
            });
            let exception = item["type"].as_str() == Some("exception") || item["isCancelled"].as_bool() == Some(true);
            if !(exception || declined_here) {
                continue;
            }
            match events::occurrence_of(item) {
                Ok(o) => out.occurrences.push((d.series.request.event_id.clone(), o)),
                Err(message) => tracing::warn!(%message, "skipping an occurrence that cannot be read"),
            }
        }
    }

    /// Remembers the etags of a round's occurrences (for `move_occurrence`).
    pub(super) fn remember_etags(&self, items: &[Value]) {
        if let Ok(mut etags) = self.etags.lock() {
            for item in items {
                if let (Some(id), Some(tag)) = (item["id"].as_str(), item["@odata.etag"].as_str()) {
                    etags.insert(id.to_string(), tag.to_string());
                }
            }
        }
    }

    pub(super) fn token_for(window: Interval, link: &str) -> String {
        format!(
            "{TOKEN_PREFIX}|{}|{}|{link}",
            window.start.as_second(),
            window.end.as_second()
        )
    }

    /// The window and delta link of a stored token, when its window holds
    /// `now` and still reaches far enough past it (Graph fixes a round's
    /// window at its first request: a clock that moved on, or back, needs a
    /// new round).
    pub(super) fn usable(token: &str, now: Timestamp) -> Option<(Interval, String)> {
        let mut parts = token.splitn(4, '|');
        if parts.next() != Some(TOKEN_PREFIX) {
            return None;
        }
        let mut at = || -> Option<Timestamp> { Timestamp::from_second(parts.next()?.parse().ok()?).ok() };
        let (start, end) = (at()?, at()?);
        let link = parts.next()?;
        (start <= now && end.duration_since(now) >= WINDOW_MARGIN)
            .then(|| (Interval::new(start, end), link.to_string()))
    }

    /// The delta window of a new round read at `now`.
    pub(super) fn window(now: Timestamp) -> Interval {
        Interval::new(
            now.checked_sub(WINDOW_BACK).unwrap_or(now),
            now.checked_add(WINDOW_AHEAD).unwrap_or(now),
        )
    }

    pub(super) async fn full_read(&self, now: Timestamp) -> Result<Changes, CalendarError> {
        let listing = self.list_masters().await?;
        let window = Self::window(now);
        let start = format!(
            "{}/calendarView/delta?startDateTime={}&endDateTime={}",
            self.mailbox,
            query(&utc_text(window.start)),
            query(&utc_text(window.end))
        );
        let round = self
            .drain(start)
            .await?
            .ok_or_else(|| CalendarError::Transient("Graph refused a new delta round (410)".into()))?;
        let by_graph: BTreeMap<String, SeriesDetails> = listing
            .series
            .iter()
            .filter_map(|d| self.known(&d.series.request.event_id).map(|g| (g, d.clone())))
            .collect();
        let mut changes = Changes {
            full: true,
            // A restore left unfinished: the next cycle reads everything
            // again, and tries it again.
            next_token: (!listing.unsettled).then(|| Self::token_for(window, &round.delta_link)),
            unreadable: listing.unreadable,
            ended: listing.ended,
            ..Changes::default()
        };
        Self::changed_occurrences(&round.items, &by_graph, &mut changes);
        self.remember_etags(&round.items);
        changes.series = listing.series;
        Ok(changes)
    }
}

//! What changed since the last cycle: one `sync-collection` REPORT (RFC
//! 6578) per collection liaison watches — the organizer's, and under
//! `write-each` each person's, where their copies hold their answers — then
//! one `calendar-multiget` per collection for the series that changed.
//!
//! The store keeps one token; here it is a JSON object of each collection's
//! token, so a collection added later (a new person) starts with a full read
//! of its own. A token the server refuses (`DAV:valid-sync-token`, 403 or
//! 412) means one full read of that collection. A quiet cycle is one REPORT
//! per watched collection and nothing else.
//!
//! A series reported with its copies still pending (a run stopped between
//! the organizer's PUT and them) has them written here (`series`).
//!
//! Under `write-each` an attendee's answer is the one in their own copy;
//! the organizer's resource gives the answers of attendees without one.

use std::collections::{BTreeMap, BTreeSet};

use url::Url;

use super::CaldavProvider;
use super::client::{Call, body_text};
use super::ical::{Resource, SeriesData};
use super::xml::{self, Multistatus};
use crate::calendar::{CalendarError, Changes, SeriesDetails};
use crate::config::{CaldavCalendar, CaldavDeliver};

/// Most resources asked for in one multiget.
const MULTIGET_BATCH: usize = 100;

/// The series id a member's href names (`<collection>/<id>.ics`), for names
/// liaison could have written (base32hex ids).
fn id_of(href: &str) -> Option<String> {
    let name = href.trim_end_matches('/').rsplit('/').next()?;
    let id = name.strip_suffix(".ics")?;
    let ours = !id.is_empty() && id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9'));
    ours.then(|| id.to_string())
}

impl CaldavProvider {
    /// The collections a cycle watches: the organizer's first, then each
    /// person's (write-each), with whose it is.
    async fn watched(&self) -> Result<Vec<(Option<String>, Url)>, CalendarError> {
        let mut out = vec![(None, self.organizer_collection().await?)];
        if self.settings.deliver == CaldavDeliver::WriteEach {
            for (email, calendar) in &self.settings.calendars {
                if let CaldavCalendar::Collection(url) = calendar
                    && let Ok(url) = Url::parse(url)
                {
                    out.push((Some(email.clone()), url));
                }
            }
        }
        Ok(out)
    }

    /// One sync-collection; a refused token means a full read. Returns the
    /// answer and whether it was a full read.
    async fn sync(&self, url: &Url, token: Option<&str>) -> Result<(Multistatus, bool), CalendarError> {
        let mut token = token.unwrap_or("");
        for _ in 0..2 {
            let call = Call::new("REPORT", url)
                .xml(xml::sync_collection(token))
                .accepting(&[403, 409, 412]);
            let answer = self
                .dav
                .send(&call)
                .await
                .map_err(|e| self.error("sync-collection", e))?;
            let text = body_text(&answer);
            if answer.status == 207 || answer.is_success() {
                let ms = xml::parse_multistatus(&text).map_err(|m| self.invalid("sync-collection", m))?;
                return Ok((ms, token.is_empty()));
            }
            if !token.is_empty() && xml::names_precondition(&text, (xml::DAV, "valid-sync-token")) {
                tracing::info!(collection = %url, "the server no longer knows the sync token; reading the collection again");
                token = "";
                continue;
            }
            return Err(CalendarError::Refused(format!(
                "sync-collection on {url}: HTTP {} {}",
                answer.status,
                text.chars().take(200).collect::<String>()
            )));
        }
        Err(self.invalid("sync-collection", format!("{url} refuses even a full read")))
    }

    /// The resources `ids` of `collection` (multiget), by id; missing ones are absent.
    async fn multiget(&self, collection: &Url, ids: &[String]) -> Result<BTreeMap<String, String>, CalendarError> {
        let mut out = BTreeMap::new();
        for batch in ids.chunks(MULTIGET_BATCH) {
            let hrefs: Vec<String> = batch
                .iter()
                .filter_map(|id| self.resource_url(collection, id).ok())
                .map(|u| u.path().to_string())
                .collect();
            let call = Call::new("REPORT", collection)
                .header("Depth", "1")
                .xml(xml::calendar_multiget(&hrefs));
            let answer = self
                .dav
                .send(&call)
                .await
                .map_err(|e| self.error("calendar-multiget", e))?;
            let ms = xml::parse_multistatus(&body_text(&answer)).map_err(|m| self.invalid("calendar-multiget", m))?;
            for response in ms.responses {
                if let (Some(id), Some(data)) = (id_of(&response.href), response.prop(xml::CALENDAR_DATA)) {
                    out.insert(id, data.text.clone());
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn changes(&self, token: Option<&str>) -> Result<Changes, CalendarError> {
        let tokens: BTreeMap<String, String> = token.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
        let watched = self.watched().await?;
        let mut next = BTreeMap::new();
        let mut full = false;
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut removed: Vec<String> = Vec::new();
        for (owner, url) in &watched {
            let (ms, was_full) = self.sync(url, tokens.get(url.as_str()).map(String::as_str)).await?;
            if owner.is_none() {
                full = was_full;
            }
            if let Some(t) = ms.sync_token {
                next.insert(url.to_string(), t);
            }
            for response in &ms.responses {
                let Some(id) = id_of(&response.href) else { continue };
                match (owner, response.status == Some(404)) {
                    (None, true) => removed.push(id),
                    // A person who deletes their copy: their answer is read
                    // from the organizer's resource from then on.
                    (Some(_), true) => {}
                    (_, false) => {
                        changed.insert(id);
                    }
                }
            }
        }
        let mut changes = Changes {
            full,
            next_token: Some(serde_json::to_string(&next).map_err(|e| self.invalid("sync token", e.to_string()))?),
            deleted_ids: removed,
            ..Changes::default()
        };
        if changed.is_empty() {
            return Ok(changes);
        }
        let organizer = &watched[0].1;
        let ids: Vec<String> = changed.into_iter().collect();
        let masters = self.multiget(organizer, &ids).await?;
        let mut series: Vec<SeriesData> = Vec::new();
        for (id, text) in &masters {
            match Resource::parse(text).and_then(|r| r.series()) {
                Ok(Some(data)) => {
                    // A series a stopped run left without its copies: they
                    // are written now, before the copies are read below.
                    if data.copies_pending {
                        let url = self.resource_url(organizer, id)?;
                        self.complete_copies(&url, &data, text).await?;
                    }
                    series.push(data)
                }
                Ok(None) => {}
                Err(message) => {
                    tracing::warn!(id = %id, %message, "skipping a liaison event that cannot be read");
                    changes.unreadable.push(id.clone());
                }
            }
        }
        // Each attendee's own copy, for their answers.
        let mut by_collection: BTreeMap<Url, (String, Vec<String>)> = BTreeMap::new();
        for data in &series {
            for (email, url) in self.copy_urls(&data.series.request)? {
                let Some(collection) = url.join(".").ok() else { continue };
                by_collection
                    .entry(collection)
                    .or_insert_with(|| (email.clone(), Vec::new()))
                    .1
                    .push(data.series.request.event_id.clone());
            }
        }
        let mut copies: BTreeMap<(String, String), SeriesData> = BTreeMap::new();
        for (collection, (email, ids)) in &by_collection {
            for (id, text) in self.multiget(collection, ids).await? {
                if let Ok(Some(copy)) = Resource::parse(&text).and_then(|r| r.series()) {
                    copies.insert((id, email.clone()), copy);
                }
            }
        }
        for mut data in series {
            let id = data.series.request.event_id.clone();
            for ((copy_id, email), copy) in copies.iter().filter(|((i, _), _)| *i == id) {
                let _ = copy_id;
                if let Some(answer) = copy.responses.get(email) {
                    data.responses.insert(email.clone(), *answer);
                }
                for occurrence in &copy.occurrences {
                    let Some(answer) = occurrence.responses.get(email) else {
                        continue;
                    };
                    match data
                        .occurrences
                        .iter_mut()
                        .find(|o| o.instance_id == occurrence.instance_id)
                    {
                        Some(o) => {
                            o.responses.insert(email.clone(), *answer);
                        }
                        None => {
                            let mut o = occurrence.clone();
                            o.responses = BTreeMap::from([(email.clone(), *answer)]);
                            data.occurrences.push(o);
                        }
                    }
                }
            }
            for occurrence in &data.occurrences {
                changes.occurrences.push((id.clone(), occurrence.clone()));
            }
            changes.series.push(SeriesDetails {
                series: data.series,
                responses: data.responses,
                conference_link: None,
            });
        }
        Ok(changes)
    }
}

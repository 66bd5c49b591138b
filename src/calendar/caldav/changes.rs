//! What changed since the last cycle: one `sync-collection` REPORT (RFC
//! 6578) per collection liaison watches — the organizer's, and under
//! `write-each` each person's, where their copies hold their answers — then
//! one `calendar-multiget` per collection of the resources that changed.
//!
//! Liaison's events are recognised by their content (the `X-LIAISON`
//! markers, the UID that is the series id), not by their resource name: a
//! server, a client or a person may hold one under another name than
//! `<id>.ics` (a migration, a move, a copy made by hand). Such names are
//! remembered with the tokens, so that when one is deleted its series is
//! known, and a series whose `<id>.ics` is reported deleted while it is seen
//! under its new name is not taken for deleted.
//!
//! The store keeps one token; here it is a JSON object ([`FeedState`]) of
//! each collection's token, so a collection added later (a new person)
//! starts with a full read of its own. A token the server refuses
//! (`DAV:valid-sync-token`, 403 or 412) means one full read of that
//! collection. A quiet cycle is one REPORT per watched collection and
//! nothing else (unless some attendee copy is still to be written). A
//! person's calendar the server answers 404 or 403 for is logged and
//! skipped (its token kept); the others are read.
//!
//! A series reported with its copies still pending (a run stopped between
//! the organizer's PUT and them) has them written here (`series`); one whose
//! copies cannot all be written stays in [`FeedState::pending`] and is read
//! and completed again by the next cycles until they are.
//!
//! Under `write-each` an attendee's answer is the one in their own copy;
//! the organizer's resource gives the answers of attendees without one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use url::Url;

use super::CaldavProvider;
use super::client::{Call, body_text};
use super::ical::{Resource, SeriesData};
use super::xml::{self, Multistatus};
use crate::calendar::{CalendarError, Changes, SeriesDetails};
use crate::config::CaldavDeliver;

/// Most resources asked for in one multiget.
const MULTIGET_BATCH: usize = 100;

/// What the change feed keeps between cycles (the store's one token).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// Each watched collection's sync token, by collection URL.
    pub tokens: BTreeMap<String, String>,
    /// The series id of each of liaison's events held under another name
    /// than `<id>.ics`, by resource URL.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// Series whose attendee copies are not all written yet.
    #[serde(default)]
    pub pending: BTreeSet<String>,
}

impl FeedState {
    /// The state a token holds; the first format (a bare object of tokens)
    /// is read as such; anything else is no state (one full read).
    fn read(token: Option<&str>) -> FeedState {
        let Some(value) = token.and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()) else {
            return FeedState::default();
        };
        if value.get("tokens").is_some() {
            return serde_json::from_value(value).unwrap_or_default();
        }
        FeedState {
            tokens: serde_json::from_value(value).unwrap_or_default(),
            ..FeedState::default()
        }
    }

    /// The resource of series `id` in `collection` under another name, if
    /// one is known.
    fn renamed(&self, collection: &Url, id: &str) -> Option<Url> {
        self.names
            .iter()
            .filter(|(_, i)| *i == id)
            .filter_map(|(href, _)| Url::parse(href).ok())
            .find(|href| href.join(".").ok().as_ref() == Some(collection))
    }
}

/// The series id a member's href names (`<collection>/<id>.ics`), for names
/// liaison could have written (base32hex ids).
fn id_of(href: &Url) -> Option<String> {
    let name = href.path().trim_end_matches('/').rsplit('/').next()?;
    let id = name.strip_suffix(".ics")?;
    let ours = !id.is_empty() && id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9'));
    ours.then(|| id.to_string())
}

/// A liaison event read from a collection, with where it is.
struct Read {
    href: Url,
    /// The resource as read.
    text: String,
    data: SeriesData,
}

impl CaldavProvider {
    /// The collections a cycle watches: the organizer's first, then each
    /// person's (write-each), with whose it is.
    async fn watched(&self) -> Result<Vec<(Option<String>, Url)>, CalendarError> {
        let mut out = vec![(None, self.organizer_collection().await?)];
        if self.settings.deliver == CaldavDeliver::WriteEach {
            for (email, url) in self.collections().await? {
                out.push((Some(email), url));
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

    /// The resources `hrefs` of `collection` (multiget), by URL; missing
    /// ones are absent.
    async fn multiget(&self, collection: &Url, hrefs: &[Url]) -> Result<BTreeMap<Url, String>, CalendarError> {
        let mut out = BTreeMap::new();
        for batch in hrefs.chunks(MULTIGET_BATCH) {
            let paths: Vec<String> = batch.iter().map(|u| u.path().to_string()).collect();
            let call = Call::new("REPORT", collection)
                .header("Depth", "1")
                .xml(xml::calendar_multiget(&paths));
            let answer = self
                .dav
                .send(&call)
                .await
                .map_err(|e| self.error("calendar-multiget", e))?;
            let ms = xml::parse_multistatus(&body_text(&answer)).map_err(|m| self.invalid("calendar-multiget", m))?;
            for response in ms.responses {
                if let (Ok(href), Some(data)) = (collection.join(&response.href), response.prop(xml::CALENDAR_DATA)) {
                    out.insert(href, data.text.clone());
                }
            }
        }
        Ok(out)
    }

    /// Reads `texts` (resources of `collection`) as liaison's events, by
    /// series id (the UID), and keeps `names` current for them. Events that
    /// are liaison's but cannot be read are listed in `unreadable`.
    fn read_events(
        &self,
        collection: &Url,
        texts: BTreeMap<Url, String>,
        names: &mut BTreeMap<String, String>,
        unreadable: &mut Vec<String>,
    ) -> Result<BTreeMap<String, Read>, CalendarError> {
        let mut out = BTreeMap::new();
        for (href, text) in texts {
            let resource = Resource::parse(&text);
            let uid = resource.as_ref().ok().and_then(Resource::uid);
            match resource.and_then(|r| r.series()) {
                Ok(Some(data)) => {
                    let id = data.series.request.event_id.clone();
                    if href == self.resource_url(collection, &id)? {
                        names.remove(href.as_str());
                    } else {
                        names.insert(href.to_string(), id.clone());
                    }
                    out.insert(id, Read { href, text, data });
                }
                Ok(None) => {
                    names.remove(href.as_str());
                }
                Err(message) => {
                    // One damaged event must not block reading the others.
                    let id = uid
                        .or_else(|| names.get(href.as_str()).cloned())
                        .or_else(|| id_of(&href));
                    tracing::warn!(href = %href, %message, "skipping a liaison event that cannot be read");
                    unreadable.extend(id);
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn changes(&self, token: Option<&str>) -> Result<Changes, CalendarError> {
        let before = FeedState::read(token);
        let watched = self.watched().await?;
        let organizer = watched[0].1.clone();
        let mut state = FeedState {
            names: before.names.clone(),
            ..FeedState::default()
        };
        let mut full = false;
        // Changed resources, by collection; ids whose resource went.
        let mut changed: BTreeMap<Url, Vec<Url>> = BTreeMap::new();
        let mut removed: Vec<String> = Vec::new();
        // People's calendars that cannot be read this cycle.
        let mut skipped: BTreeSet<Url> = BTreeSet::new();
        for (owner, url) in &watched {
            let known = before.tokens.get(url.as_str());
            let (ms, was_full) = match (self.sync(url, known.map(String::as_str)).await, owner) {
                (Ok(read), _) => read,
                // One person's calendar gone, unshared or misconfigured: that
                // person's problem (their busy time fails too, so they stay
                // unpaired with the reason), not everyone's. Its token is
                // kept for when it is back.
                (Err(CalendarError::NotFound(reason) | CalendarError::Refused(reason)), Some(email)) => {
                    tracing::warn!(person = %email, calendar = %url, %reason,
                        "this person's calendar cannot be read for changes; skipped this cycle");
                    if let Some(token) = known {
                        state.tokens.insert(url.to_string(), token.clone());
                    }
                    skipped.insert(url.clone());
                    continue;
                }
                (Err(e), _) => return Err(e),
            };
            if owner.is_none() {
                full = was_full;
            }
            if was_full {
                // Learned again from this read.
                state.names.retain(|href, _| !href.starts_with(url.as_str()));
            }
            if let Some(t) = ms.sync_token {
                state.tokens.insert(url.to_string(), t);
            }
            for response in &ms.responses {
                let Ok(href) = url.join(&response.href) else { continue };
                if href.path().ends_with('/') {
                    continue;
                }
                if response.status == Some(404) {
                    let id = state.names.remove(href.as_str()).or_else(|| id_of(&href));
                    // A person who deletes their copy: their answer is read
                    // from the organizer's resource from then on.
                    if owner.is_none() {
                        removed.extend(id);
                    }
                } else {
                    changed.entry(url.clone()).or_default().push(href);
                }
            }
        }
        let mut unreadable = Vec::new();
        let mut masters = match changed.remove(&organizer) {
            Some(hrefs) => {
                let texts = self.multiget(&organizer, &hrefs).await?;
                self.read_events(&organizer, texts, &mut state.names, &mut unreadable)?
            }
            None => BTreeMap::new(),
        };
        // Each attendee's own copies that changed, for their answers.
        let mut copies: BTreeMap<(String, String), SeriesData> = BTreeMap::new();
        for (owner, url) in watched.iter().skip(1) {
            let (Some(email), Some(hrefs)) = (owner, changed.get(url)) else {
                continue;
            };
            let texts = self.multiget(url, hrefs).await?;
            for (id, read) in self.read_events(url, texts, &mut state.names, &mut Vec::new())? {
                copies.insert((id, email.clone()), read.data);
            }
        }
        // The series of those copies, and those whose copies are still to
        // be written, where the organizer's resource did not change.
        let wanted: BTreeSet<String> = copies
            .keys()
            .map(|(id, _)| id.clone())
            .chain(before.pending.iter().cloned())
            .filter(|id| !masters.contains_key(id))
            .collect();
        if !wanted.is_empty() {
            let hrefs = wanted
                .iter()
                .map(|id| match state.renamed(&organizer, id) {
                    Some(href) => Ok(href),
                    None => self.resource_url(&organizer, id),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let texts = self.multiget(&organizer, &hrefs).await?;
            masters.extend(self.read_events(&organizer, texts, &mut state.names, &mut unreadable)?);
        }
        // Seen under another name: not deleted, and used there from now on.
        removed.retain(|id| !masters.contains_key(id));
        for (href, id) in &state.names {
            if let Ok(url) = Url::parse(href)
                && url.join(".").ok().as_ref() == Some(&organizer)
            {
                self.remember_href(id, url);
            }
        }
        // Copies a stopped run left unwritten, or that a calendar refused:
        // written now, before the copies are read below.
        for (id, read) in &masters {
            if read.data.copies_pending && !self.complete_copies(&read.href, &read.text, &read.data).await? {
                state.pending.insert(id.clone());
            }
        }
        // The copies of changed series that were not read above.
        let mut unread: BTreeMap<Url, Vec<(String, Url)>> = BTreeMap::new();
        for (id, read) in &masters {
            for (email, url) in self.copy_urls(&read.data.series.request).await? {
                if copies.contains_key(&(id.clone(), email.clone())) {
                    continue;
                }
                let Ok(collection) = url.join(".") else { continue };
                let href = state.renamed(&collection, id).unwrap_or(url);
                unread.entry(collection).or_default().push((email, href));
            }
        }
        for (collection, wanted) in &unread {
            // A calendar skipped above holds no copies to read this cycle.
            if skipped.contains(collection) {
                continue;
            }
            let hrefs: Vec<Url> = wanted.iter().map(|(_, h)| h.clone()).collect();
            let texts = match self.multiget(collection, &hrefs).await {
                Ok(texts) => texts,
                // Gone or unshared since (or never watched): that person's
                // answers come from the organizer's resource this cycle.
                Err(CalendarError::NotFound(reason) | CalendarError::Refused(reason)) => {
                    tracing::warn!(calendar = %collection, %reason,
                        "a person's calendar cannot be read for their copies; skipped this cycle");
                    continue;
                }
                Err(e) => return Err(e),
            };
            for (id, read) in self.read_events(collection, texts, &mut state.names, &mut Vec::new())? {
                if let Some((email, _)) = wanted.iter().find(|(_, h)| *h == read.href) {
                    copies.insert((id, email.clone()), read.data);
                }
            }
        }
        let mut changes = Changes {
            full,
            next_token: Some(serde_json::to_string(&state).map_err(|e| self.invalid("sync token", e.to_string()))?),
            deleted_ids: removed,
            unreadable,
            ..Changes::default()
        };
        for (id, read) in masters {
            let mut data = read.data;
            for ((_, email), copy) in copies
                .range((id.clone(), String::new())..)
                .take_while(|((i, _), _)| *i == id)
            {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_state_reads_its_first_format_and_nothing_else() {
        let old = r#"{"https://dav.example.com/cal/":"t1"}"#;
        let state = FeedState::read(Some(old));
        assert_eq!(
            state.tokens.get("https://dav.example.com/cal/").map(String::as_str),
            Some("t1")
        );
        assert!(state.names.is_empty() && state.pending.is_empty());
        let mut now = FeedState::default();
        now.tokens.insert("https://dav.example.com/cal/".into(), "t2".into());
        now.names
            .insert("https://dav.example.com/cal/moved.ics".into(), "abc".into());
        now.pending.insert("abc".into());
        let text = serde_json::to_string(&now).unwrap();
        assert_eq!(FeedState::read(Some(&text)), now);
        assert_eq!(FeedState::read(Some("not json")), FeedState::default());
        assert_eq!(FeedState::read(None), FeedState::default());
        let collection = Url::parse("https://dav.example.com/cal/").unwrap();
        assert_eq!(
            now.renamed(&collection, "abc").map(|u| u.to_string()),
            Some("https://dav.example.com/cal/moved.ics".to_string())
        );
        let other = Url::parse("https://dav.example.com/other/").unwrap();
        assert_eq!(now.renamed(&other, "abc"), None);
    }
}

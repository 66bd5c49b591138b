//! Liaison's series on the server: create (PUT with `If-None-Match: *`, a
//! 412 verified with a GET), read one or all, end early, move one
//! occurrence, cancel — the organizer's resource and, under `write-each`,
//! the copy in each attendee's calendar (same name, same UID).
//!
//! A run that stops between the organizer's PUT and the copies leaves the
//! organizer's resource marked (`ical::COPIES_PENDING`); the next read of
//! the series that settles it (the change feed, the lookup of a pending
//! intent, a retried create) writes the missing copies and clears the mark.
//!
//! A server that refuses a UID used under another name (`C:no-uid-conflict`:
//! 412 from Xandikos, 409 from Radicale) holds the series elsewhere: it is
//! found by UID with a `calendar-query` and used at that href.
//!
//! Every change is a GET, an edit of the text and a PUT with `If-Match` on
//! the ETag read: a person's concurrent edit is never overwritten (a 412
//! reads the new version and applies the edit to it, once more). A resource
//! read without an ETag is not written blind: the change is refused. A
//! DELETE is conditional the same way.
//!
//! The `X-LIAISON-COPY` URLs an event lists are text anyone who can write
//! to the organizer's calendar controls. Liaison writes a copy only at
//! `<attendee's collection>/<id>.ics` (configured or derived, see `people`);
//! it edits or deletes one only there, or, for an attendee no longer among
//! the people, at a listed `<id>.ics` on the configured server, and only
//! after reading there liaison's event of that series. Anything else listed
//! is logged and left alone.

use std::sync::PoisonError;

use url::Url;

use super::CaldavProvider;
use super::client::{Call, SERVICE, body_text, etag};
use super::ical::{self, Resource, SeriesData};
use super::xml;
use crate::calendar::http::ApiError;
use crate::calendar::{CalendarError, CreateOutcome, DeleteOutcome, EndOutcome, SeriesRequest};
use crate::config::CaldavDeliver;
use crate::core::interval::Interval;

/// Tries of a read-edit-write when someone else writes in between.
const EDIT_TRIES: usize = 3;

/// What a PUT with `If-None-Match: *` found.
enum PutNew {
    /// Written; the new ETag when the server sent it.
    Created(Option<String>),
    /// The name is taken (412).
    Exists,
    /// The UID is used by another resource of the collection.
    UidElsewhere,
}

/// A resource as read: its text and ETag.
pub struct Fetched {
    pub text: String,
    pub etag: Option<String>,
}

/// What a conditional edit or delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Touched {
    Done,
    /// Nothing there (any more).
    Gone,
    /// Something else than liaison's event of the series: left alone.
    NotOurs,
}

/// Whether `id` has the shape of liaison's ids (base32hex, see
/// `core::ids`): only such ids name resources liaison writes.
pub(super) fn is_series_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9'))
}

/// Whether `text` is liaison's event of series `id`.
fn holds_series(text: &str, id: &str) -> bool {
    Resource::parse(text)
        .and_then(|r| r.series())
        .is_ok_and(|d| d.is_some_and(|d| d.series.request.event_id == id))
}

/// A resource read without an ETag cannot be written conditionally.
fn no_etag(url: &Url) -> CalendarError {
    CalendarError::Refused(format!(
        "{SERVICE} sent no ETag for {url}; liaison does not write or delete without one (a person's \
         concurrent edit could be lost)"
    ))
}

impl CaldavProvider {
    /// The URL of the series `id` in the collection `collection`.
    pub(super) fn resource_url(&self, collection: &Url, id: &str) -> Result<Url, CalendarError> {
        collection
            .join(&format!("{id}.ics"))
            .map_err(|e| self.invalid("resource", format!("{collection}{id}.ics: {e}")))
    }

    /// The collection liaison writes the series to.
    pub(super) async fn organizer_collection(&self) -> Result<Url, CalendarError> {
        match &self.configured_calendar {
            Some(url) => Ok(url.clone()),
            None => Ok(self.discovered().await?.organizer_calendar.clone()),
        }
    }

    /// GET of one resource; `None` when it does not exist.
    pub(super) async fn fetch(&self, url: &Url) -> Result<Option<Fetched>, CalendarError> {
        let call = Call::new("GET", url).accepting(&[404, 410]);
        let answer = self.dav.send(&call).await.map_err(|e| self.error("GET", e))?;
        if answer.status == 404 || answer.status == 410 {
            return Ok(None);
        }
        Ok(Some(Fetched {
            etag: etag(&answer),
            text: body_text(&answer),
        }))
    }

    /// The series in the organizer's resource `id`, with its answers (the
    /// organizer's copy only), occurrences and copies, for a lookup that
    /// settles it: copies a stopped run left unwritten are written.
    pub(super) async fn look_up(&self, id: &str) -> Result<Option<SeriesData>, CalendarError> {
        let Some((url, fetched)) = self.locate(id).await? else {
            return Ok(None);
        };
        let data = self.parse_series(&url, &fetched.text)?;
        if let Some(data) = &data {
            // Copies still missing are tried again by the change feed's
            // next cycles (it keeps the series as pending).
            self.complete_copies(&url, &fetched.text, data).await?;
        }
        Ok(data)
    }

    /// The organizer's resource of series `id` and its content: at
    /// `<id>.ics`, or where a `calendar-query` by UID finds it.
    async fn locate(&self, id: &str) -> Result<Option<(Url, Fetched)>, CalendarError> {
        let collection = self.organizer_collection().await?;
        let known = self
            .hrefs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        let url = match known {
            Some(url) => url,
            None => self.resource_url(&collection, id)?,
        };
        if let Some(fetched) = self.fetch(&url).await? {
            return Ok(Some((url, fetched)));
        }
        let Some((url, fetched)) = self.find_by_uid(&collection, id).await? else {
            return Ok(None);
        };
        tracing::info!(id = %id, href = %url, "series found by its UID under another name; used there");
        self.remember_href(id, url.clone());
        Ok(Some((url, fetched)))
    }

    /// Series `id` is held at `url` in the organizer's collection (another
    /// name than `<id>.ics`): used there from now on.
    pub(super) fn remember_href(&self, id: &str, url: Url) {
        self.hrefs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), url);
    }

    /// The resource of `collection` whose event has the UID `uid`.
    async fn find_by_uid(&self, collection: &Url, uid: &str) -> Result<Option<(Url, Fetched)>, CalendarError> {
        let call = Call::new("REPORT", collection)
            .header("Depth", "1")
            .xml(xml::calendar_query_uid(uid));
        let answer = self
            .dav
            .send(&call)
            .await
            .map_err(|e| self.error("calendar-query by UID", e))?;
        let ms = xml::parse_multistatus(&body_text(&answer)).map_err(|m| self.invalid("calendar-query by UID", m))?;
        for response in &ms.responses {
            let Some(data) = response.prop(xml::CALENDAR_DATA) else {
                continue;
            };
            // The server filtered; the UID is checked again here.
            let same = Resource::parse(&data.text)
                .ok()
                .and_then(|r| r.uid())
                .is_some_and(|u| u == uid);
            if !same {
                continue;
            }
            let url = collection
                .join(&response.href)
                .map_err(|e| self.invalid("calendar-query by UID", format!("{}: {e}", response.href)))?;
            return Ok(Some((
                url,
                Fetched {
                    text: data.text.clone(),
                    etag: response.prop(xml::GETETAG).map(|e| e.text.trim().to_string()),
                },
            )));
        }
        Ok(None)
    }

    /// Writes the attendee copies of `data` and clears the organizer's mark,
    /// when the resource at `url` is marked: a run stopped
    /// between the organizer's PUT and its copies. A copy that exists is
    /// kept; one its calendar refuses is logged, and the mark stays until
    /// every copy is written, so the next run tries the missing ones again.
    /// True when every copy is written (the mark is cleared). `text` is the
    /// resource `data` was read from: its moved occurrences go into the copies.
    pub(super) async fn complete_copies(
        &self,
        url: &Url,
        text: &str,
        data: &SeriesData,
    ) -> Result<bool, CalendarError> {
        if !data.copies_pending {
            return Ok(true);
        }
        let id = &data.series.request.event_id;
        // Only copies this instance would have written: another instance's
        // series is its business, and without write-each there are none.
        if self.settings.deliver != CaldavDeliver::WriteEach
            || data.series.instance.as_deref() != Some(self.instance.as_str())
            || !is_series_id(id)
        {
            tracing::warn!(id = %id, href = %url, instance = ?data.series.instance,
                "an event marked with attendee copies to write that this instance did not book under \
                 deliver = \"write-each\"; no copy written");
            return Ok(true);
        }
        if self.reads_only.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::info!(id = %id, "attendee copies an earlier run left unwritten: written by the next real run");
            return Ok(false);
        }
        let mut missing = 0usize;
        if data.series.active {
            // Rendered from the series as `create` writes it, with the
            // occurrences moved since, at the URLs liaison derives for the
            // attendees (never the listed ones).
            let copy = ical::render(&data.series.request, &self.settings.organizer, &self.instance, &[])
                .map_err(|m| self.invalid("PUT", format!("cannot render the copy of series {id}: {m}")))?;
            let copy = ical::with_overrides_of(&copy, text);
            for (_, copy_url) in self.copy_urls(&data.series.request).await? {
                match self.put_new(&copy_url, &copy).await {
                    Ok(PutNew::Created(_)) => {
                        tracing::info!(id = %id, copy = %copy_url, "wrote an attendee copy an earlier run left unwritten")
                    }
                    Ok(PutNew::Exists | PutNew::UidElsewhere) => {}
                    Err(
                        e @ (ApiError::Refused(_) | ApiError::NotFound(_) | ApiError::Invalid(_) | ApiError::Duplicate),
                    ) => {
                        missing += 1;
                        tracing::warn!(id = %id, copy = %copy_url, error = %e,
                            "the attendee copy cannot be written; tried again next run")
                    }
                    Err(e) => return Err(self.error("PUT", e)),
                }
            }
        }
        if missing > 0 {
            return Ok(false);
        }
        self.edit_checked(url, Some(id), |t| Ok(ical::copies_written(t)))
            .await?;
        Ok(true)
    }

    pub(super) fn parse_series(&self, url: &Url, text: &str) -> Result<Option<SeriesData>, CalendarError> {
        Resource::parse(text)
            .and_then(|r| r.series())
            .map_err(|m| self.invalid("read", format!("{url}: {m}")))
    }

    /// The attendee copies of `series` under `write-each`: `(email, url)`
    /// of each attendee whose collection is configured or derived.
    pub(super) async fn copy_urls(&self, series: &SeriesRequest) -> Result<Vec<(String, Url)>, CalendarError> {
        Ok(self
            .copy_targets(series)
            .await?
            .into_iter()
            .filter_map(|(email, url)| url.ok().map(|u| (email, u)))
            .collect())
    }

    /// Same, with the reason for an attendee whose collection is unknown.
    async fn copy_targets(&self, series: &SeriesRequest) -> Result<Vec<(String, Result<Url, String>)>, CalendarError> {
        if self.settings.deliver != CaldavDeliver::WriteEach {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for attendee in &series.attendees {
            let target = match self.collection_of(&attendee.email).await? {
                Ok(collection) => Ok(self.resource_url(&collection, &series.event_id)?),
                Err(reason) => Err(reason),
            };
            out.push((attendee.email.clone(), target));
        }
        Ok(out)
    }

    /// PUT of a new resource.
    async fn put_new(&self, url: &Url, text: &str) -> Result<PutNew, ApiError> {
        let call = Call::new("PUT", url)
            .header("If-None-Match", "*")
            .ical(text.to_string())
            .accepting(&[409, 412]);
        let answer = self.dav.send(&call).await?;
        let uid_elsewhere = || xml::names_precondition(&body_text(&answer), (xml::CALDAV, "no-uid-conflict"));
        Ok(match answer.status {
            409 | 412 if uid_elsewhere() => PutNew::UidElsewhere,
            412 => PutNew::Exists,
            409 => return Err(ApiError::Duplicate),
            _ => PutNew::Created(etag(&answer)),
        })
    }

    pub(super) async fn create(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let collection = self.organizer_collection().await?;
        let url = self.resource_url(&collection, &series.event_id)?;
        let mut copies = Vec::new();
        for (email, target) in self.copy_targets(series).await? {
            match target {
                Ok(url) => copies.push((email, url)),
                // Nothing written: this pair is refused, with the reason.
                Err(reason) => {
                    return Err(CalendarError::Refused(format!(
                        "series {} needs a copy in {email}'s calendar: {reason}",
                        series.event_id
                    )));
                }
            }
        }
        let copy_list: Vec<String> = copies.iter().map(|(_, u)| u.to_string()).collect();
        let invalid = |m: String| self.invalid("PUT", format!("cannot book series {:?}: {m}", series.event_id));
        let mut master = ical::render(series, &self.settings.organizer, &self.instance, &copy_list).map_err(invalid)?;
        if !copies.is_empty() {
            master = ical::mark_copies_pending(&master).map_err(invalid)?;
        }
        let put = match self.put_new(&url, &master).await {
            Ok(put) => put,
            // A missing or forbidden collection is everyone's problem: every booking would meet it.
            Err(e) => return Err(self.error("PUT", e)),
        };
        let (outcome, url, written) = match put {
            PutNew::Created(tag) => {
                #[cfg(feature = "test-hooks")]
                crate::test_hooks::pause_point("caldav_after_organizer_put");
                (CreateOutcome::Created, url, tag.map(|t| (master.clone(), t)))
            }
            // The name is taken, or the UID is used under another name. Ours
            // (same pair and term) means it is booked already, also when our
            // own earlier attempt got through.
            PutNew::Exists | PutNew::UidElsewhere => {
                let Some((url, fetched)) = self.locate(&series.event_id).await? else {
                    return Err(CalendarError::Transient(format!(
                        "PUT {url}: the server says it exists but it cannot be read, nor found by its UID"
                    )));
                };
                match self.parse_series(&url, &fetched.text)? {
                    Some(found) if !found.series.active => {
                        return Err(CalendarError::IdCancelled(series.event_id.clone()));
                    }
                    Some(found)
                        if (&found.series.request.pair, found.series.request.term) == (&series.pair, series.term) =>
                    {
                        if !found.copies_pending {
                            // Its copies were written with it; one missing
                            // now is one its owner deleted.
                            return Ok(CreateOutcome::AlreadyExists);
                        }
                        (CreateOutcome::AlreadyExists, url, None)
                    }
                    _ => {
                        return Err(self.invalid(
                            "PUT",
                            format!(
                                "{url} is taken by another event, not the series of {}|{}",
                                series.pair.0, series.pair.1
                            ),
                        ));
                    }
                }
            }
        };
        // The copies (write-each): the same event in each attendee's
        // calendar. One that exists already is the one an earlier try wrote.
        let copy = ical::render(series, &self.settings.organizer, &self.instance, &[]).map_err(invalid)?;
        for (email, copy_url) in &copies {
            match self.put_new(copy_url, &copy).await {
                Ok(_) => {}
                Err(
                    e @ (ApiError::Refused(_) | ApiError::NotFound(_) | ApiError::Invalid(_) | ApiError::Duplicate),
                ) => {
                    return Err(CalendarError::Refused(format!(
                        "the copy of series {} in {email}'s calendar {copy_url}: {e}",
                        series.event_id
                    )));
                }
                Err(e) => return Err(self.error("PUT", e)),
            }
        }
        if !copies.is_empty() {
            self.clear_copies_pending(&url, &series.event_id, written).await?;
        }
        Ok(outcome)
    }

    /// Clears the organizer's mark once its copies are written: one PUT on
    /// the ETag of our own write when the server sent it, else a read first.
    async fn clear_copies_pending(
        &self,
        url: &Url,
        id: &str,
        written: Option<(String, String)>,
    ) -> Result<(), CalendarError> {
        if let Some((text, tag)) = written {
            let call = Call::new("PUT", url)
                .header("If-Match", tag)
                .ical(ical::copies_written(&text))
                .accepting(&[412]);
            let answer = self.dav.send(&call).await.map_err(|e| self.error("PUT", e))?;
            if answer.status != 412 {
                return Ok(());
            }
        }
        self.edit_checked(url, Some(id), |t| Ok(ical::copies_written(t)))
            .await?;
        Ok(())
    }

    /// Reads `url`, applies `edit` and writes it back with `If-Match`; a
    /// 412 (someone wrote in between) reads again. When `series` is given,
    /// only if the resource (as read each time) is liaison's event of that
    /// series: what a person put there meanwhile is left alone.
    async fn edit_checked<F>(&self, url: &Url, series: Option<&str>, edit: F) -> Result<Touched, CalendarError>
    where
        F: Fn(&str) -> Result<String, String>,
    {
        for _ in 0..EDIT_TRIES {
            let Some(fetched) = self.fetch(url).await? else {
                return Ok(Touched::Gone);
            };
            if let Some(id) = series
                && !holds_series(&fetched.text, id)
            {
                tracing::warn!(href = %url, id = %id, "not liaison's event of this series; left alone");
                return Ok(Touched::NotOurs);
            }
            let Some(tag) = fetched.etag else {
                return Err(no_etag(url));
            };
            let text = edit(&fetched.text).map_err(|m| self.invalid("edit", format!("{url}: {m}")))?;
            let call = Call::new("PUT", url)
                .header("If-Match", tag)
                .ical(text)
                .accepting(&[412, 404]);
            let answer = self.dav.send(&call).await.map_err(|e| self.error("PUT", e))?;
            match answer.status {
                412 => {
                    tracing::info!(href = %url, "changed since liaison read it; reading it again");
                    continue;
                }
                404 => return Ok(Touched::Gone),
                _ => return Ok(Touched::Done),
            }
        }
        Err(CalendarError::Transient(format!(
            "{url} kept changing while liaison edited it; tried {EDIT_TRIES} times"
        )))
    }

    /// Deletes the resource at `url` with `If-Match` on the ETag read (a
    /// 412 reads it again); when `series` is given only if it is
    /// liaison's event of that series.
    async fn delete_checked(&self, url: &Url, series: Option<&str>) -> Result<Touched, CalendarError> {
        for _ in 0..EDIT_TRIES {
            let Some(fetched) = self.fetch(url).await? else {
                return Ok(Touched::Gone);
            };
            if let Some(id) = series
                && !holds_series(&fetched.text, id)
            {
                tracing::warn!(href = %url, id = %id, "not liaison's event of this series; not deleted");
                return Ok(Touched::NotOurs);
            }
            let Some(tag) = fetched.etag else {
                return Err(no_etag(url));
            };
            let call = Call::new("DELETE", url)
                .header("If-Match", tag)
                .accepting(&[404, 410, 412]);
            let answer = self.dav.send(&call).await.map_err(|e| self.error("DELETE", e))?;
            match answer.status {
                412 => continue,
                404 | 410 => return Ok(Touched::Gone),
                _ => return Ok(Touched::Done),
            }
        }
        Err(CalendarError::Transient(format!(
            "{url} kept changing while liaison deleted it; tried {EDIT_TRIES} times"
        )))
    }

    /// The organizer's resource and the copies it names.
    async fn with_copies(&self, id: &str) -> Result<Option<(Url, SeriesData)>, CalendarError> {
        let Some((url, fetched)) = self.locate(id).await? else {
            return Ok(None);
        };
        Ok(self.parse_series(&url, &fetched.text)?.map(|d| (url, d)))
    }

    /// The attendee copies of `data` liaison may edit or delete: each
    /// attendee's `<collection>/<id>.ics` that the event lists, and listed
    /// `<id>.ics` resources on the configured server whose attendee has no
    /// known collection. A listed URL anywhere else is logged and ignored
    /// (see the module's doc).
    pub(super) async fn verified_copies(&self, data: &SeriesData) -> Result<Vec<Url>, CalendarError> {
        let id = &data.series.request.event_id;
        let listed: Vec<Url> = data.copies.iter().filter_map(|c| Url::parse(c).ok()).collect();
        let mut out = Vec::new();
        if is_series_id(id) {
            for attendee in &data.series.request.attendees {
                if let Ok(collection) = self.collection_of(&attendee.email).await? {
                    let expected = self.resource_url(&collection, id)?;
                    if listed.contains(&expected) && !out.contains(&expected) {
                        out.push(expected);
                    }
                }
            }
        }
        // An attendee no longer among the people (or whose calendar is
        // now configured elsewhere) has no expected URL: a listed copy of
        // theirs is still followed when it has the series' name on the
        // configured server (its content is checked before any change).
        let name = format!("{id}.ics");
        for copy in listed {
            if out.contains(&copy) {
                continue;
            }
            let named = copy.path_segments().and_then(|mut s| s.next_back()) == Some(name.as_str());
            if is_series_id(id) && named && self.dav.trusts(&copy) {
                out.push(copy);
            } else {
                tracing::warn!(id = %id, copy = %copy,
                    "the event lists an attendee copy where liaison writes none; ignored");
            }
        }
        Ok(out)
    }

    /// Where the copy of series `id` written at `url` is now, when it is no
    /// longer there: its owner, a client or the server may hold it under
    /// another name in the same collection (found by its UID). `None` when
    /// it is gone.
    async fn moved_copy(&self, url: &Url, id: &str) -> Result<Option<Url>, CalendarError> {
        let Ok(collection) = url.join(".") else { return Ok(None) };
        Ok(self.find_by_uid(&collection, id).await?.map(|(u, _)| u))
    }

    /// `edit` applied to the copy of series `id` written at `url`, wherever
    /// it is now in its collection.
    async fn edit_copy<F>(&self, url: &Url, id: &str, edit: F) -> Result<(), CalendarError>
    where
        F: Fn(&str) -> Result<String, String>,
    {
        if self.edit_checked(url, Some(id), &edit).await? == Touched::Gone
            && let Some(moved) = self.moved_copy(url, id).await?
        {
            self.edit_checked(&moved, Some(id), &edit).await?;
        }
        Ok(())
    }

    pub(super) async fn end(&self, id: &str, until: jiff::Timestamp) -> Result<EndOutcome, CalendarError> {
        let Some((url, data)) = self.with_copies(id).await? else {
            return Ok(EndOutcome::AlreadyGone);
        };
        if !data.series.active {
            return Ok(EndOutcome::AlreadyGone);
        }
        // An occurrence moved to a time already past is kept, whatever the cut.
        let now = jiff::Timestamp::now();
        let edit = |text: &str| ical::end_early(text, until, now);
        // Copies first: the organizer's resource, which lists them, goes
        // last, so a retry after a failure reaches every copy again.
        for copy in self.verified_copies(&data).await? {
            self.edit_copy(&copy, id, edit).await?;
        }
        // Checked again on each read: after a 412 the resource may hold
        // something else than the series.
        Ok(match self.edit_checked(&url, Some(id), edit).await? {
            Touched::Done => EndOutcome::Ended,
            Touched::Gone | Touched::NotOurs => EndOutcome::AlreadyGone,
        })
    }

    pub(super) async fn delete(&self, id: &str) -> Result<DeleteOutcome, CalendarError> {
        let Some((url, data)) = self.with_copies(id).await? else {
            return Ok(DeleteOutcome::AlreadyGone);
        };
        for copy in self.verified_copies(&data).await? {
            if self.delete_checked(&copy, Some(id)).await? == Touched::Gone
                && let Some(moved) = self.moved_copy(&copy, id).await?
            {
                self.delete_checked(&moved, Some(id)).await?;
            }
        }
        Ok(match self.delete_checked(&url, Some(id)).await? {
            Touched::Done => DeleteOutcome::Deleted,
            Touched::Gone | Touched::NotOurs => DeleteOutcome::AlreadyGone,
        })
    }

    pub(super) async fn move_one(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        let original = ical::original_of(series_id, instance_id).ok_or_else(|| {
            self.invalid(
                "move",
                format!("{instance_id:?} is not an occurrence of series {series_id}"),
            )
        })?;
        let Some((url, data)) = self.with_copies(series_id).await? else {
            return Err(CalendarError::NotFound(format!("series {series_id}")));
        };
        let edit = |text: &str| ical::move_occurrence(text, original, to, zone);
        for copy in self.verified_copies(&data).await? {
            self.edit_copy(&copy, series_id, edit).await?;
        }
        match self.edit_checked(&url, Some(series_id), edit).await? {
            Touched::Done => Ok(()),
            Touched::Gone | Touched::NotOurs => Err(CalendarError::NotFound(format!("series {series_id}"))),
        }
    }

    /// Every series in the organizer's calendar (one `calendar-query`).
    pub(super) async fn all_series(&self) -> Result<Vec<SeriesData>, CalendarError> {
        let collection = self.organizer_collection().await?;
        let body = xml::calendar_query_all();
        let call = Call::new("REPORT", &collection).header("Depth", "1").xml(body);
        let answer = self
            .dav
            .send(&call)
            .await
            .map_err(|e| self.error("calendar-query", e))?;
        let ms = xml::parse_multistatus(&body_text(&answer)).map_err(|m| self.invalid("calendar-query", m))?;
        let mut out = Vec::new();
        for response in &ms.responses {
            let Some(data) = response.prop(xml::CALENDAR_DATA) else {
                continue;
            };
            match Resource::parse(&data.text).and_then(|r| r.series()) {
                Ok(Some(series)) => out.push(series),
                Ok(None) => {}
                // One damaged event must not block reading the others.
                Err(message) => {
                    tracing::warn!(href = %response.href, %message, "skipping a liaison event that cannot be read")
                }
            }
        }
        Ok(out)
    }
}

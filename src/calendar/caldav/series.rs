//! Liaison's series on the server: create (PUT with `If-None-Match: *`, a
//! 412 verified with a GET), read one or all, end early, move one
//! occurrence, cancel — the organizer's resource and, under `write-each`,
//! the copy in each attendee's calendar (same name, same UID).
//!
//! Every change is a GET, an edit of the text and a PUT with `If-Match` on
//! the ETag read: a person's concurrent edit is never overwritten (a 412
//! reads the new version and applies the edit to it, once more).

use url::Url;

use super::CaldavProvider;
use super::client::{Call, body_text, etag};
use super::ical::{self, Resource, SeriesData};
use super::xml;
use crate::calendar::http::ApiError;
use crate::calendar::{CalendarError, CreateOutcome, DeleteOutcome, EndOutcome, SeriesRequest};
use crate::config::CaldavDeliver;
use crate::core::interval::Interval;

/// Tries of a read-edit-write when someone else writes in between.
const EDIT_TRIES: usize = 3;

/// A resource as read: its text and ETag.
pub struct Fetched {
    pub text: String,
    pub etag: Option<String>,
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
    /// organizer's copy only), occurrences and copies.
    pub(super) async fn read_series(&self, id: &str) -> Result<Option<SeriesData>, CalendarError> {
        let url = self.resource_url(&self.organizer_collection().await?, id)?;
        let Some(fetched) = self.fetch(&url).await? else {
            return Ok(None);
        };
        self.parse_series(&url, &fetched.text)
    }

    pub(super) fn parse_series(&self, url: &Url, text: &str) -> Result<Option<SeriesData>, CalendarError> {
        Resource::parse(text)
            .and_then(|r| r.series())
            .map_err(|m| self.invalid("read", format!("{url}: {m}")))
    }

    /// The attendee copies of `series`: `(email, url)` of each attendee whose
    /// collection is configured, under `write-each`.
    pub(super) fn copy_urls(&self, series: &SeriesRequest) -> Result<Vec<(String, Url)>, CalendarError> {
        if self.settings.deliver != CaldavDeliver::WriteEach {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for attendee in &series.attendees {
            if let Some(collection) = self.collection_of(&attendee.email) {
                out.push((
                    attendee.email.clone(),
                    self.resource_url(&collection, &series.event_id)?,
                ));
            }
        }
        Ok(out)
    }

    /// PUT of a new resource; `Ok(false)` when one exists already (412).
    async fn put_new(&self, url: &Url, text: &str) -> Result<bool, ApiError> {
        let call = Call::new("PUT", url)
            .header("If-None-Match", "*")
            .ical(text.to_string())
            .accepting(&[412]);
        Ok(self.dav.send(&call).await?.status != 412)
    }

    pub(super) async fn create(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let collection = self.organizer_collection().await?;
        let url = self.resource_url(&collection, &series.event_id)?;
        let copies = self.copy_urls(series)?;
        let copy_list: Vec<String> = copies.iter().map(|(_, u)| u.to_string()).collect();
        let render = |copies: &[String]| {
            ical::render(series, &self.settings.organizer, &self.instance, copies)
                .map_err(|m| self.invalid("PUT", format!("cannot book series {:?}: {m}", series.event_id)))
        };
        let master = render(&copy_list)?;
        let created = match self.put_new(&url, &master).await {
            Ok(created) => created,
            // A missing or forbidden collection is everyone's problem: every booking would meet it.
            Err(e) => return Err(self.error("PUT", e)),
        };
        let outcome = if created {
            CreateOutcome::Created
        } else {
            // 412: the name is taken. Ours (same pair and term) means it is
            // booked already, also when our own earlier attempt got through.
            match self.read_series(&series.event_id).await? {
                Some(found) if !found.series.active => return Err(CalendarError::IdCancelled(series.event_id.clone())),
                Some(found)
                    if (&found.series.request.pair, found.series.request.term) == (&series.pair, series.term) =>
                {
                    CreateOutcome::AlreadyExists
                }
                Some(_) => {
                    return Err(self.invalid(
                        "PUT",
                        format!(
                            "{url} is taken by another event, not the series of {}|{}",
                            series.pair.0, series.pair.1
                        ),
                    ));
                }
                None => {
                    return Err(CalendarError::Transient(format!(
                        "PUT {url}: the server says it exists but it cannot be read"
                    )));
                }
            }
        };
        // The copies (write-each): the same event in each attendee's
        // calendar. One that exists already is the one an earlier try wrote.
        let copy = render(&[])?;
        for (email, copy_url) in &copies {
            match self.put_new(copy_url, &copy).await {
                Ok(_) => {}
                Err(e @ (ApiError::Refused(_) | ApiError::NotFound(_) | ApiError::Invalid(_))) => {
                    return Err(CalendarError::Refused(format!(
                        "the copy of series {} in {email}'s calendar {copy_url}: {e}",
                        series.event_id
                    )));
                }
                Err(e) => return Err(self.error("PUT", e)),
            }
        }
        Ok(outcome)
    }

    /// Reads `url`, applies `edit` and writes it back with `If-Match`; a
    /// 412 (someone wrote in between) reads again. `Ok(false)` when the
    /// resource is gone.
    async fn edit<F>(&self, url: &Url, edit: F) -> Result<bool, CalendarError>
    where
        F: Fn(&str) -> Result<String, String>,
    {
        for _ in 0..EDIT_TRIES {
            let Some(fetched) = self.fetch(url).await? else {
                return Ok(false);
            };
            let text = edit(&fetched.text).map_err(|m| self.invalid("edit", format!("{url}: {m}")))?;
            let mut call = Call::new("PUT", url).ical(text).accepting(&[412, 404]);
            if let Some(tag) = &fetched.etag {
                call = call.header("If-Match", tag.clone());
            }
            let answer = self.dav.send(&call).await.map_err(|e| self.error("PUT", e))?;
            match answer.status {
                412 => continue,
                404 => return Ok(false),
                _ => return Ok(true),
            }
        }
        Err(CalendarError::Transient(format!(
            "{url} kept changing while liaison edited it; tried {EDIT_TRIES} times"
        )))
    }

    /// The organizer's resource and the copies it names.
    async fn with_copies(&self, id: &str) -> Result<Option<(Url, SeriesData)>, CalendarError> {
        let url = self.resource_url(&self.organizer_collection().await?, id)?;
        let Some(fetched) = self.fetch(&url).await? else {
            return Ok(None);
        };
        Ok(self.parse_series(&url, &fetched.text)?.map(|d| (url, d)))
    }

    fn copy_list(&self, data: &SeriesData) -> Vec<Url> {
        data.copies.iter().filter_map(|c| Url::parse(c).ok()).collect()
    }

    pub(super) async fn end(&self, id: &str, until: jiff::Timestamp) -> Result<EndOutcome, CalendarError> {
        let Some((url, data)) = self.with_copies(id).await? else {
            return Ok(EndOutcome::AlreadyGone);
        };
        if !data.series.active {
            return Ok(EndOutcome::AlreadyGone);
        }
        let edit = |text: &str| ical::end_early(text, until);
        // Copies first: the organizer's resource, which lists them, goes
        // last, so a retry after a failure reaches every copy again.
        for copy in self.copy_list(&data) {
            self.edit(&copy, edit).await?;
        }
        Ok(if self.edit(&url, edit).await? {
            EndOutcome::Ended
        } else {
            EndOutcome::AlreadyGone
        })
    }

    pub(super) async fn delete(&self, id: &str) -> Result<DeleteOutcome, CalendarError> {
        let Some((url, data)) = self.with_copies(id).await? else {
            return Ok(DeleteOutcome::AlreadyGone);
        };
        for copy in self.copy_list(&data) {
            let call = Call::new("DELETE", &copy).accepting(&[404, 410]);
            self.dav.send(&call).await.map_err(|e| self.error("DELETE", e))?;
        }
        for _ in 0..EDIT_TRIES {
            let Some(fetched) = self.fetch(&url).await? else {
                return Ok(DeleteOutcome::AlreadyGone);
            };
            let mut call = Call::new("DELETE", &url).accepting(&[404, 410, 412]);
            if let Some(tag) = &fetched.etag {
                call = call.header("If-Match", tag.clone());
            }
            let answer = self.dav.send(&call).await.map_err(|e| self.error("DELETE", e))?;
            match answer.status {
                412 => continue,
                404 | 410 => return Ok(DeleteOutcome::AlreadyGone),
                _ => return Ok(DeleteOutcome::Deleted),
            }
        }
        Err(CalendarError::Transient(format!(
            "{url} kept changing while liaison deleted it"
        )))
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
        for copy in self.copy_list(&data) {
            self.edit(&copy, edit).await?;
        }
        if self.edit(&url, edit).await? {
            Ok(())
        } else {
            Err(CalendarError::NotFound(format!("series {series_id}")))
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

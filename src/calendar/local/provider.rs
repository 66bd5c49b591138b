//! The provider over a directory of iCalendar files: [`LocalProvider`] (its
//! paths, the person files it reads, the lock around writes to bookings.ics)
//! and its [`CalendarProvider`] implementation, and busy time: which events of
//! a file are the owner's and busy ([`busy_from_ics`]).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rayon::prelude::*;

use super::recurrence::{self, Ctx, Ev, Overrides, parse_event};
use super::syntax::{Comp, Located, Prop, located, parse_calendar, read_text, strip_mailto};
use super::writer;
use crate::calendar::{
    BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Capabilities, CreateOutcome, DeleteOutcome, EndOutcome,
    ErrorScope, SeriesRequest,
};
use crate::core::interval::{Interval, IntervalSet};

/// The organizer calendar inside the directory.
pub(super) const BOOKINGS_FILE: &str = "bookings.ics";

/// Calendar files read in parallel between two checkpoints: enough to keep
/// both cores busy, few enough that a stop is seen within milliseconds.
const FILES_PER_CHECKPOINT: usize = 64;

/// Calendar provider over a directory of iCalendar files.
#[derive(Debug)]
pub struct LocalProvider {
    dir: PathBuf,
    organizer: String,
    /// Zone for floating times and all-day events of people not in `zones`.
    default_zone: TimeZone,
    /// Per-person zones, keyed by lower-case email.
    zones: BTreeMap<String, TimeZone>,
    /// `calendar.instance`, written as `X-LIAISON-INSTANCE` on every series;
    /// `None` writes no marker.
    instance: Option<String>,
    /// Serializes the read-modify-write of bookings.ics between tasks of this
    /// process (the temp-file-and-rename only protects readers).
    write_lock: Mutex<()>,
    /// Files read and written so far ([`CalendarProvider::steps`]).
    steps: AtomicU64,
}

impl LocalProvider {
    /// A provider reading `<dir>/<email>.ics` and writing `<dir>/bookings.ics`
    /// with `organizer` as ORGANIZER. Floating times are read in UTC until
    /// [`LocalProvider::with_time_zones`] says otherwise.
    pub fn new(dir: impl Into<PathBuf>, organizer: impl Into<String>) -> Self {
        LocalProvider {
            dir: dir.into(),
            organizer: organizer.into(),
            default_zone: TimeZone::UTC,
            zones: BTreeMap::new(),
            instance: None,
            write_lock: Mutex::new(()),
            steps: AtomicU64::new(0),
        }
    }

    /// Marks every series this provider books with `X-LIAISON-INSTANCE:<name>`,
    /// the installation's `calendar.instance` (DESIGN §4 "Ownership"). Without
    /// it (or with an empty name) no marker is written.
    pub fn with_instance(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.instance = (!name.trim().is_empty()).then(|| name.trim().to_string());
        self
    }

    /// Sets each person's zone (and the zone of everyone else), used for their
    /// floating times and all-day events unless their file names its own zone
    /// in `X-WR-TIMEZONE`.
    pub fn with_time_zones(mut self, default: TimeZone, people: impl IntoIterator<Item = (String, TimeZone)>) -> Self {
        self.default_zone = default;
        self.zones = people
            .into_iter()
            .map(|(email, tz)| (email.to_ascii_lowercase(), tz))
            .collect();
        self
    }

    /// Where the series liaison books are written.
    pub fn bookings_path(&self) -> PathBuf {
        self.dir.join(BOOKINGS_FILE)
    }

    /// Marks the series `event_id` as `STATUS:CANCELLED` in bookings.ics.
    /// Returns `true` when an active series was cancelled, `false` when there is
    /// no such series or it already was cancelled (nothing is written then).
    pub fn cancel_series(&self, event_id: &str) -> Result<bool, CalendarError> {
        let _guard = self.lock_writes();
        self.step();
        writer::cancel_series(&self.bookings_path(), event_id)
    }

    /// Counts a file read or written.
    fn step(&self) {
        self.steps.fetch_add(1, Ordering::Relaxed);
    }

    /// Serializes the read-modify-write of bookings.ics (see `write_lock`).
    fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `email`'s zone and busy time from their own calendar file, or why it
    /// cannot be read (which leaves only them unpaired).
    fn own_busy(&self, email: &str, range: Interval) -> Result<Result<(TimeZone, IntervalSet), String>, CalendarError> {
        let path = match self.person_path(email) {
            Err(why) => return Ok(Err(why)),
            Ok(path) => path,
        };
        // Addresses are case-insensitive in practice; files are often named
        // in lower case whatever the configuration says. Tried in turn
        // rather than checked first: one system call fewer per person.
        let lower = self.dir.join(format!("{}.ics", email.to_lowercase()));
        let mut found = None;
        for candidate in std::iter::once(path.clone()).chain((lower != path).then_some(lower)) {
            if let Some(text) = read_text(&candidate)? {
                found = Some((candidate, text));
                break;
            }
        }
        self.step();
        let Some((path, text)) = found else {
            return Ok(Err(format!("no calendar file {}", path.display())));
        };
        let name = path.display().to_string();
        let zone = self.zone_of(email);
        let own = busy_from_ics(&text, &name, email, &zone, range)?;
        Ok(Ok((zone, own)))
    }

    fn zone_of(&self, email: &str) -> TimeZone {
        self.zones
            .get(&email.to_ascii_lowercase())
            .unwrap_or(&self.default_zone)
            .clone()
    }

    /// `<dir>/<email>.ics`, refusing emails that would name another file.
    fn person_path(&self, email: &str) -> Result<PathBuf, String> {
        let unsafe_name = email.is_empty()
            || email.starts_with('.')
            || email.contains(['/', '\\', '\0'])
            || email.eq_ignore_ascii_case("bookings");
        if unsafe_name {
            return Err(format!(
                "{email:?} cannot name a calendar file in {}",
                self.dir.display()
            ));
        }
        Ok(self.dir.join(format!("{email}.ics")))
    }
}

impl CalendarProvider for LocalProvider {
    /// `bookings.ics` holds no answers, and nobody changes one occurrence in it.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            answers: false,
            occurrences: false,
        }
    }

    async fn end_series(&self, event_id: &str, until: Timestamp) -> Result<EndOutcome, CalendarError> {
        let _guard = self.lock_writes();
        self.step();
        writer::end_series(&self.bookings_path(), event_id, until)
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        Ok(if self.cancel_series(event_id)? {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::AlreadyGone
        })
    }

    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let bookings_path = self.bookings_path();
        let bookings_name = bookings_path.display().to_string();
        let bookings_text = read_text(&bookings_path)?;
        self.step();
        let bookings = bookings_text
            .as_deref()
            .map(|text| parse_calendar(text, &bookings_name))
            .transpose()?;
        // The organizer calendar read once per zone of the people asking, not
        // once per person (it holds every series booked).
        let mut organizer: HashMap<String, Organizer> = HashMap::new();
        let mut answers = BTreeMap::new();
        for chunk in emails.chunks(FILES_PER_CHECKPOINT) {
            // A checkpoint between chunks: a daemon told to stop drops the read
            // here, and the watchdog sees the read move.
            tokio::task::yield_now().await;
            // Each person's own file on its own core; the answers (and the
            // first error, in the order of `emails`) do not depend on which
            // finishes first.
            let own: Vec<_> = chunk.par_iter().map(|email| self.own_busy(email, range)).collect();
            for (email, own) in chunk.iter().zip(own) {
                let answer = match own? {
                    Err(why) => Err(why),
                    Ok((zone, own)) => {
                        let booked = match &bookings {
                            Some(roots) => {
                                // A zone without a name is not shared: read for the person alone.
                                let alone;
                                let read = match zone.iana_name() {
                                    Some(name) => match organizer.entry(name.to_string()) {
                                        Entry::Occupied(e) => e.into_mut(),
                                        Entry::Vacant(e) => e.insert(Organizer::read(roots, &bookings_name, &zone)?),
                                    },
                                    None => {
                                        alone = Organizer::read(roots, &bookings_name, &zone)?;
                                        &alone
                                    }
                                };
                                read.busy(&bookings_name, email, range)?
                            }
                            None => IntervalSet::new(),
                        };
                        Ok(own.union(&booked))
                    }
                };
                answers.insert(email.clone(), answer);
            }
        }
        Ok(answers)
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        let path = self.bookings_path();
        let event = writer::render_series(series, &self.organizer, self.instance.as_deref(), &path)?;
        let _guard = self.lock_writes();
        self.step();
        writer::add_series(&self.dir, &path, &series.event_id, &event)
    }

    /// One read and one write of bookings.ics for the whole batch. A series
    /// the file cannot hold for one attendee is refused alone; one it cannot
    /// hold at all ends the batch there, after the series before it are
    /// written; a failed write is the error of the first series it carried.
    async fn create_many(&self, series: &[SeriesRequest]) -> Vec<Result<CreateOutcome, CalendarError>> {
        let path = self.bookings_path();
        let mut outcomes: Vec<Option<Result<CreateOutcome, CalendarError>>> = Vec::with_capacity(series.len());
        let mut events: Vec<(usize, String)> = Vec::new();
        let mut ended = None;
        for (i, one) in series.iter().enumerate() {
            match writer::render_series(one, &self.organizer, self.instance.as_deref(), &path) {
                Ok(event) => {
                    events.push((i, event));
                    outcomes.push(None);
                }
                Err(e) if e.scope() == ErrorScope::ThisOne => outcomes.push(Some(Err(e))),
                Err(e) => {
                    ended = Some(e);
                    break;
                }
            }
        }
        let written = if events.is_empty() {
            Ok(Vec::new())
        } else {
            let _guard = self.lock_writes();
            self.step();
            let batch: Vec<(&str, &str)> = events
                .iter()
                .filter_map(|(i, event)| series.get(*i).map(|s| (s.event_id.as_str(), event.as_str())))
                .collect();
            writer::add_many(&self.dir, &path, &batch)
        };
        match written {
            Ok(created) => {
                for ((i, _), outcome) in events.iter().zip(created) {
                    if let Some(slot) = outcomes.get_mut(*i) {
                        *slot = Some(Ok(outcome));
                    }
                }
            }
            Err(e) => {
                // Nothing was written: the batch ends at its first series.
                if let Some((first, _)) = events.first() {
                    outcomes.truncate(*first);
                    outcomes.push(Some(Err(e)));
                    ended = None;
                }
            }
        }
        let mut out: Vec<_> = outcomes.into_iter().flatten().collect();
        out.extend(ended.map(Err));
        out
    }

    fn batch_size(&self) -> usize {
        usize::MAX
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        self.step();
        writer::list_series(&self.bookings_path())
    }

    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        let all = self.list_series().await?;
        Ok(all.into_iter().find(|s| s.request.event_id == event_id))
    }

    /// One read of bookings.ics for all the ids.
    async fn get_many(
        &self,
        event_ids: &[String],
    ) -> Result<Vec<Result<Option<BookedSeries>, CalendarError>>, CalendarError> {
        let mut all: HashMap<String, BookedSeries> = HashMap::new();
        for series in self.list_series().await? {
            // The first of the file wins, as in `get_series`.
            all.entry(series.request.event_id.clone()).or_insert(series);
        }
        Ok(event_ids.iter().map(|id| Ok(all.get(id).cloned())).collect())
    }

    fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// Busy time from iCalendar text
// ---------------------------------------------------------------------------

/// Busy time of `owner_email` inside `range`, read from the iCalendar `text` of
/// their calendar (`path` only names it in errors).
///
/// Floating times and all-day events are read in `owner_zone`, unless the file
/// names its calendar's zone in `X-WR-TIMEZONE` (Google and Apple write it):
/// that is the zone its calendar app showed them in. Cancelled, transparent
/// and declined (by the owner's ATTENDEE line) events are free time.
/// Recurrences are expanded only up to `range.end`.
pub fn busy_from_ics(
    text: &str,
    path: &str,
    owner_email: &str,
    owner_zone: &TimeZone,
    range: Interval,
) -> Result<IntervalSet, CalendarError> {
    let roots = parse_calendar(text, path)?;
    busy_in(&roots, path, owner_email, owner_zone, range)
}

/// Busy time of `owner` from the calendar `roots` (`path` names it in
/// errors) where every event is theirs: a person's own calendar.
fn busy_in(
    roots: &[Comp],
    path: &str,
    owner: &str,
    owner_zone: &TimeZone,
    range: Interval,
) -> Result<IntervalSet, CalendarError> {
    let fail = |e: (usize, String)| located(path, e);
    let (contexts, events) = read_events(roots, owner_zone).map_err(fail)?;
    let overrides = Overrides::of(events.iter().map(|(event, _)| event));
    let mut budget = recurrence::Budget::default();
    let mut spans = Vec::new();
    for (event, ctx) in &events {
        let Some(ctx) = contexts.get(*ctx) else { continue };
        if shows_busy(event.comp, owner) {
            let replaced = overrides.of_series(event);
            recurrence::extend_spans(&mut spans, event, ctx, range, replaced, &mut budget).map_err(fail)?;
        }
    }
    Ok(spans.into_iter().collect())
}

/// Every VEVENT of `roots`, read, with the index of its VCALENDAR's context.
/// Every one is read before any is used, so that a malformed one is reported
/// wherever it is, not only when it falls inside the range asked.
type Events<'c> = (Vec<Ctx<'c>>, Vec<(Ev<'c>, usize)>);

fn read_events<'c>(roots: &'c [Comp], zone: &TimeZone) -> Located<Events<'c>> {
    let contexts = roots
        .iter()
        .map(|root| Ctx::new(root, zone))
        .collect::<Result<Vec<_>, _>>()?;
    let mut events = Vec::new();
    for (i, (root, ctx)) in roots.iter().zip(&contexts).enumerate() {
        for comp in root.children.iter().filter(|c| c.name == "VEVENT") {
            events.push((parse_event(comp, ctx)?, i));
        }
    }
    Ok((contexts, events))
}

/// The organizer calendar (bookings.ics) read for the people of one zone
/// (its floating times are read in their zone), its events indexed by the
/// addresses of their attendees and organizer. Each person's busy time then
/// expands only the events naming them: the file holds every series booked,
/// and reading all of it for each of thousands of people would take time
/// growing with their product.
pub(super) struct Organizer<'c> {
    contexts: Vec<Ctx<'c>>,
    events: Vec<(Ev<'c>, usize)>,
    overrides: Overrides<'c>,
    /// Lower-case address → indices in `events`, each once.
    by_address: HashMap<String, Vec<usize>>,
}

impl<'c> Organizer<'c> {
    pub(super) fn read(roots: &'c [Comp], path: &str, zone: &TimeZone) -> Result<Organizer<'c>, CalendarError> {
        let (contexts, events) = read_events(roots, zone).map_err(|e| located(path, e))?;
        let overrides = Overrides::of(events.iter().map(|(event, _)| event));
        let mut by_address: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (event, _)) in events.iter().enumerate() {
            for prop in event.comp.all("ATTENDEE").chain(event.comp.all("ORGANIZER")) {
                let addresses = std::iter::once(&*prop.value).chain(prop.param("EMAIL"));
                for address in addresses {
                    let list = by_address
                        .entry(strip_mailto(address).to_ascii_lowercase())
                        .or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        Ok(Organizer {
            contexts,
            events,
            overrides,
            by_address,
        })
    }

    /// Busy time of `owner` inside `range`: the events naming them as
    /// attendee or organizer that show as busy for them.
    pub(super) fn busy(&self, path: &str, owner: &str, range: Interval) -> Result<IntervalSet, CalendarError> {
        let fail = |e: (usize, String)| located(path, e);
        let key = owner.trim().to_ascii_lowercase();
        // One budget per person asked: a query reads only the events naming them.
        let mut budget = recurrence::Budget::default();
        let mut spans = Vec::new();
        for &i in self.by_address.get(&key).map_or(&[][..], Vec::as_slice) {
            let Some((event, ctx)) = self.events.get(i) else {
                continue;
            };
            let Some(ctx) = self.contexts.get(*ctx) else { continue };
            if shows_busy(event.comp, owner) {
                let replaced = self.overrides.of_series(event);
                recurrence::extend_spans(&mut spans, event, ctx, range, replaced, &mut budget).map_err(fail)?;
            }
        }
        Ok(spans.into_iter().filter_map(|span| span.intersection(&range)).collect())
    }
}

/// False for cancelled and transparent events and for those the owner declined.
fn shows_busy(comp: &Comp, owner: &str) -> bool {
    let is = |value: &str, expected: &str| value.trim().eq_ignore_ascii_case(expected);
    let (mut status, mut transp, mut declined) = (None, None, false);
    // One pass over the properties (a calendar has thousands of events); the
    // first STATUS and TRANSP count, as `Comp::value` reads them.
    for p in &comp.props {
        match &*p.name {
            "STATUS" => status = status.or(Some(&*p.value)),
            "TRANSP" => transp = transp.or(Some(&*p.value)),
            // The answer first: it is cheaper than the address.
            "ATTENDEE" => {
                declined =
                    declined || p.param("PARTSTAT").is_some_and(|s| is(s, "DECLINED")) && is_address_of(p, owner);
            }
            _ => {}
        }
    }
    !(status.is_some_and(|s| is(s, "CANCELLED")) || transp.is_some_and(|t| is(t, "TRANSPARENT")) || declined)
}

/// An ATTENDEE/ORGANIZER names `email` in its value (with or without `mailto:`)
/// or in its EMAIL parameter (Apple puts a urn:uuid in the value).
fn is_address_of(prop: &Prop, email: &str) -> bool {
    same_address(&prop.value, email) || prop.param("EMAIL").is_some_and(|e| same_address(e, email))
}

fn same_address(value: &str, email: &str) -> bool {
    strip_mailto(value).eq_ignore_ascii_case(email.trim())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::calendar::local::test_support::*;

    #[test]
    fn a_utc_event_is_busy_for_its_span() {
        let text = one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z"]);
        assert_eq!(march(&text), [span("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z")]);
    }

    #[test]
    fn cancelled_and_transparent_events_are_free() {
        let cancelled = one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z", "STATUS:CANCELLED"]);
        let transparent = one_event(&[
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "TRANSP:TRANSPARENT",
        ]);
        let opaque = one_event(&[
            "DTSTART:20260309T140000Z",
            "DTEND:20260309T150000Z",
            "TRANSP:OPAQUE",
            "STATUS:TENTATIVE",
        ]);
        assert!(march(&cancelled).is_empty());
        assert!(march(&transparent).is_empty());
        assert_eq!(march(&opaque).len(), 1);
    }

    #[test]
    fn a_declined_meeting_is_not_busy() {
        let with = |attendee: &str| {
            one_event(&[
                "DTSTART:20260309T140000Z",
                "DTEND:20260309T150000Z",
                "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com",
                attendee,
            ])
        };
        assert!(march(&with("ATTENDEE;CN=Ada;PARTSTAT=DECLINED:MAILTO:Ada@Example.com")).is_empty());
        assert!(march(&with("ATTENDEE;PARTSTAT=declined:ada@example.com")).is_empty());
        // Apple puts a urn in the value and the address in EMAIL.
        assert!(march(&with("ATTENDEE;EMAIL=ada@example.com;PARTSTAT=DECLINED:urn:uuid:1234")).is_empty());
        assert_eq!(
            march(&with("ATTENDEE;PARTSTAT=ACCEPTED:mailto:ada@example.com")).len(),
            1
        );
        // Someone else declining does not free the owner.
        assert_eq!(
            march(&with("ATTENDEE;PARTSTAT=DECLINED:mailto:cy@example.com")).len(),
            1
        );
    }

    #[test]
    fn busy_time_is_clipped_to_the_range() {
        let text = one_event(&["DTSTART:20260309T080000Z", "DTEND:20260309T180000Z"]);
        let r = range("2026-03-09T12:00:00Z", "2026-03-10T00:00:00Z");
        assert_eq!(
            busy_for(&text, "UTC", r),
            [span("2026-03-09T12:00:00Z", "2026-03-09T18:00:00Z")]
        );
    }

    #[test]
    fn exports_from_google_outlook_and_apple_are_read() {
        let google = ics(&[
            "BEGIN:VCALENDAR",
            "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:ada@example.com",
            "X-WR-TIMEZONE:Europe/Berlin",
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Berlin",
            "X-LIC-LOCATION:Europe/Berlin",
            "BEGIN:DAYLIGHT",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "TZNAME:CEST",
            "DTSTART:19700329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "END:DAYLIGHT",
            "BEGIN:STANDARD",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "END:STANDARD",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "DTSTART;TZID=Europe/Berlin:20260302T093000",
            "DTEND;TZID=Europe/Berlin:20260302T100000",
            "RRULE:FREQ=WEEKLY;WKST=MO;UNTIL=20260323T083000Z;BYDAY=MO",
            "EXDATE;TZID=Europe/Berlin:20260309T093000",
            "DTSTAMP:20260301T120000Z",
            "ORGANIZER;CN=Ada Lovelace:mailto:ada@example.com",
            "UID:4k2r0example@google.com",
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Ada",
            " Lovelace;X-NUM-GUESTS=0:mailto:ada@example.com",
            "CREATED:20260201T100000Z",
            "DESCRIPTION:Weekly sync\\, agenda in the doc\\; bring notes\\nThanks",
            "LAST-MODIFIED:20260201T100000Z",
            "LOCATION:",
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "SUMMARY:Sync",
            "TRANSP:OPAQUE",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:This is an event reminder",
            "TRIGGER:-P0DT0H10M0S",
            "END:VALARM",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;VALUE=DATE:20260320",
            "DTEND;VALUE=DATE:20260321",
            "UID:holiday@google.com",
            "SUMMARY:Off",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(
            march(&google),
            [
                span("2026-03-02T08:30:00Z", "2026-03-02T09:00:00Z"),
                span("2026-03-16T08:30:00Z", "2026-03-16T09:00:00Z"),
                span("2026-03-19T23:00:00Z", "2026-03-20T23:00:00Z"),
                span("2026-03-23T08:30:00Z", "2026-03-23T09:00:00Z"),
            ]
        );

        let outlook = ics(&[
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            "PRODID:Microsoft Exchange Server 2010",
            "VERSION:2.0",
            "X-WR-CALNAME:Calendar",
            "BEGIN:VTIMEZONE",
            "TZID:Eastern Standard Time",
            "BEGIN:STANDARD",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:-0400",
            "TZOFFSETTO:-0500",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:-0500",
            "TZOFFSETTO:-0400",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "ORGANIZER;CN=Bob:mailto:bob@example.com",
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Ada:mailto:ada@example.com",
            "DESCRIPTION;LANGUAGE=en-US:\\n",
            "RRULE:FREQ=DAILY;COUNT=10",
            "EXDATE;TZID=Eastern Standard Time:20260304T090000,20260305T090000",
            "UID:040000008200E00074C5B7101A82E00800000000",
            "SUMMARY;LANGUAGE=en-US:Standup",
            "DTSTART;TZID=Eastern Standard Time:20260302T090000",
            "DTEND;TZID=Eastern Standard Time:20260302T091500",
            "CLASS:PUBLIC",
            "PRIORITY:5",
            "DTSTAMP:20260227T150000Z",
            "TRANSP:OPAQUE",
            "STATUS:CONFIRMED",
            "SEQUENCE:0",
            "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let busy = march(&outlook);
        assert_eq!(busy.len(), 8);
        assert_eq!(busy[0], span("2026-03-02T14:00:00Z", "2026-03-02T14:15:00Z"));
        assert_eq!(busy[2], span("2026-03-06T14:00:00Z", "2026-03-06T14:15:00Z"));
        assert_eq!(busy[4], span("2026-03-08T13:00:00Z", "2026-03-08T13:15:00Z"));

        let apple = ics(&[
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Apple Inc.//macOS 15.0//EN",
            "CALSCALE:GREGORIAN",
            "BEGIN:VEVENT",
            "CREATED:20260220T101010Z",
            "DTEND;TZID=America/Los_Angeles:20260310T140000",
            "DTSTART;TZID=America/Los_Angeles:20260310T130000",
            "UID:1B2C3D4E-0000-4000-8000-ABCDEF012345",
            "SUMMARY:Lunch",
            "ATTENDEE;CN=\"Lovelace, Ada\";CUTYPE=INDIVIDUAL;EMAIL=ada@example.com;PARTSTAT=",
            " DECLINED:urn:uuid:00000000-0000-0000-0000-000000000001",
            "SEQUENCE:1",
            "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;VALUE=DATE:20260311",
            "DTEND;VALUE=DATE:20260312",
            "UID:A1",
            "SUMMARY:Birthday",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "DTSTART;TZID=America/Los_Angeles:20260312T080000",
            "DURATION:PT45M",
            "UID:A2",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        assert_eq!(march(&apple), [span("2026-03-12T15:00:00Z", "2026-03-12T15:45:00Z")]);
    }

    #[tokio::test]
    async fn the_file_named_as_written_wins_over_the_lower_case_one() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "Ada@Example.com.ics",
            &one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z"]),
        );
        write(
            dir.path(),
            "ada@example.com.ics",
            &one_event(&["DTSTART:20260310T140000Z", "DTEND:20260310T150000Z"]),
        );
        let p = provider(dir.path());
        let emails = ["Ada@Example.com".to_string(), "Cy@Example.com".to_string()];
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        let ada = spans_of(answers["Ada@Example.com"].as_ref().unwrap());
        assert_eq!(ada, [span("2026-03-09T14:00:00Z", "2026-03-09T15:00:00Z")]);
        // Neither file exists: the message names the address as written.
        let missing = answers["Cy@Example.com"].as_ref().unwrap_err();
        assert!(missing.ends_with("/Cy@Example.com.ics"), "{missing}");
    }

    #[tokio::test]
    async fn a_missing_person_file_is_a_per_person_error() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "ada@example.com.ics",
            &one_event(&["DTSTART:20260309T140000Z", "DTEND:20260309T150000Z"]),
        );
        let p = provider(dir.path());
        let emails = ["ada@example.com".to_string(), "cy@example.com".to_string()];
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            answers["ada@example.com"]
                .as_ref()
                .map(IntervalSet::spans)
                .unwrap()
                .len(),
            1
        );
        let missing = answers["cy@example.com"].as_ref().unwrap_err();
        assert!(missing.starts_with("no calendar file "), "{missing}");
        assert!(missing.ends_with("cy@example.com.ics"), "{missing}");
    }

    #[tokio::test]
    async fn a_malformed_person_file_fails_the_whole_query() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ada@example.com.ics", &one_event(&["DTSTART:tomorrow"]));
        write(
            dir.path(),
            "bob@example.com.ics",
            &one_event(&["DTSTART:20260309T140000Z"]),
        );
        let p = provider(dir.path());
        let emails = ["ada@example.com".to_string(), "bob@example.com".to_string()];
        let err = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(err.is_bad_input());
        assert!(err.to_string().contains("ada@example.com.ics:6: DTSTART"), "{err}");
    }

    #[tokio::test]
    async fn booked_series_are_busy_for_their_attendees_only() {
        let dir = tempfile::tempdir().unwrap();
        for who in ["ada", "bob", "cy"] {
            write(
                dir.path(),
                &format!("{who}@example.com.ics"),
                &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
            );
        }
        let p = provider(dir.path());
        p.create_series(&request("b1")).await.unwrap();
        let emails = ["ada@example.com", "Bob@Example.com", "cy@example.com"].map(String::from);
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        let expected = [
            span("2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z"),
            span("2026-03-09T13:00:00Z", "2026-03-09T13:30:00Z"),
            span("2026-03-16T13:00:00Z", "2026-03-16T13:30:00Z"),
            span("2026-03-23T13:00:00Z", "2026-03-23T13:30:00Z"),
        ];
        assert_eq!(spans_of(answers["ada@example.com"].as_ref().unwrap()), expected);
        assert_eq!(spans_of(answers["Bob@Example.com"].as_ref().unwrap()), expected);
        assert!(answers["cy@example.com"].as_ref().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_organizer_calendar_is_busy_for_whom_its_events_name_in_each_ones_zone() {
        let dir = tempfile::tempdir().unwrap();
        for who in ["ada", "bob", "cy"] {
            write(
                dir.path(),
                &format!("{who}@example.com.ics"),
                &ics(&["BEGIN:VCALENDAR", "END:VCALENDAR"]),
            );
        }
        let event = |uid: &str, start: &str, who: &[&str]| {
            let mut lines = vec![
                "BEGIN:VEVENT".to_string(),
                format!("UID:{uid}"),
                format!("DTSTART:{start}"),
            ];
            lines.push("DURATION:PT1H".into());
            lines.extend(who.iter().map(|w| w.to_string()));
            lines.push("END:VEVENT".into());
            lines
        };
        let mut lines = vec!["BEGIN:VCALENDAR".to_string()];
        // Named by the EMAIL parameter (Apple), as organizer in capitals, as
        // attendee twice, declined by Ada, and without her.
        lines.extend(event(
            "e1",
            "20260302T090000Z",
            &["ATTENDEE;EMAIL=ada@example.com:urn:uuid:1"],
        ));
        lines.extend(event(
            "e2",
            "20260303T090000Z",
            &["ORGANIZER:MAILTO:ADA@EXAMPLE.COM", "ATTENDEE:mailto:ada@example.com"],
        ));
        lines.extend(event(
            "e3",
            "20260304T090000Z",
            &[
                "ATTENDEE;PARTSTAT=DECLINED:mailto:ada@example.com",
                "ATTENDEE:mailto:cy@example.com",
            ],
        ));
        lines.extend(event("e4", "20260305T090000Z", &["ATTENDEE:mailto:bob@example.com"]));
        // A floating time, read in each attendee's own zone.
        lines.extend(event(
            "e5",
            "20260306T090000",
            &["ATTENDEE:mailto:ada@example.com", "ATTENDEE:mailto:cy@example.com"],
        ));
        lines.push("END:VCALENDAR".into());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        write(dir.path(), BOOKINGS_FILE, &ics(&lines));
        let p = provider(dir.path()).with_time_zones(
            zone("UTC"),
            [
                ("ada@example.com".to_string(), zone("Europe/Paris")),
                ("cy@example.com".to_string(), zone("Asia/Tokyo")),
            ],
        );
        let emails = ["Ada@Example.com", "bob@example.com", "cy@example.com"].map(String::from);
        let answers = p
            .busy(&emails, range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"))
            .await
            .unwrap();
        let starts = |email: &str| -> Vec<String> {
            spans_of(answers[email].as_ref().unwrap())
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        };
        assert_eq!(
            starts("Ada@Example.com"),
            ["2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z", "2026-03-06T08:00:00Z"]
        );
        assert_eq!(starts("bob@example.com"), ["2026-03-05T09:00:00Z"]);
        assert_eq!(
            starts("cy@example.com"),
            ["2026-03-04T09:00:00Z", "2026-03-06T00:00:00Z"]
        );
    }

    #[test]
    fn emails_that_would_name_other_files_are_refused() {
        let p = provider(Path::new("/cal"));
        for email in ["../etc/passwd", "a/b", "", ".hidden", "bookings"] {
            assert!(p.person_path(email).is_err(), "{email}");
        }
        assert_eq!(
            p.person_path("ada@example.com").unwrap(),
            Path::new("/cal/ada@example.com.ics")
        );
    }

    #[test]
    fn person_zones_apply_to_their_floating_times() {
        let p = provider(Path::new("/cal")).with_time_zones(
            zone("Europe/Paris"),
            [("Ada@Example.com".to_string(), zone("Asia/Tokyo"))],
        );
        assert_eq!(p.zone_of("ada@example.com").iana_name(), Some("Asia/Tokyo"));
        assert_eq!(p.zone_of("bob@example.com").iana_name(), Some("Europe/Paris"));
    }
}

//! The CalDAV provider (RFC 4791): any standard server — Nextcloud, Fastmail,
//! iCloud, SOGo, Radicale, Xandikos — through the shared HTTP layer
//! (`calendar::http`), which paces, times out and retries every request.
//!
//! Layout, one job a file:
//! - `credentials`: HTTP Basic from the user name and the 0600 password file.
//! - `client`: one request with the credentials through the HTTP layer, and
//!   a failed answer read into the neutral error classes.
//! - `xml`: the WebDAV/CalDAV request bodies and the multistatus answers.
//! - `discovery`: well-known URL → principal → calendar home → calendar.
//! - `people`: each person's calendar, configured or derived from the home.
//! - `busy`: VFREEBUSY answers and outbox requests.
//! - `ical`: a series as an iCalendar resource (VTIMEZONE, markers, copies),
//!   read back, and edited in place (end early, move one occurrence).
//! - `series`: create, read, end, move, cancel on the server (ETags).
//! - `changes`: sync-collection per watched collection, answers from copies.

mod busy;
mod changes;
mod client;
mod credentials;
mod discovery;
mod ical;
mod people;
mod series;
mod xml;

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use tokio::sync::OnceCell;
use url::Url;

use self::client::{Call, Dav, SERVICE, body_text};
pub use self::credentials::Credentials;
use self::discovery::{Discovered, DiscoveryError};
use super::http::{ApiError, HttpClient, Timing, http_client, http_client_on, https_connector_with_roots};
use super::{
    BookedSeries, BusyAnswer, CalendarError, CalendarProvider, Capabilities, Changes, CreateOutcome, DeleteOutcome,
    EndOutcome, SeriesRequest,
};
use crate::config::{Caldav, CaldavBusy, CaldavCalendar, Config};
use crate::core::interval::{Interval, IntervalSet};

/// Calendar provider over a CalDAV server.
pub struct CaldavProvider {
    dav: Dav,
    settings: Caldav,
    /// `calendar.caldav.url`, parsed.
    root: Url,
    /// `calendar.caldav.organizer_calendar`, parsed, when configured.
    configured_calendar: Option<Url>,
    /// `calendar.instance`, written on every event this provider creates.
    instance: String,
    /// Every person's email, in the configuration's order.
    people: Vec<String>,
    /// People's calendars derived from the calendar home (see `people`).
    derived: people::DerivedCache,
    /// Each person's zone (floating and all-day times of `calendar-query`).
    zones: BTreeMap<String, TimeZone>,
    default_zone: TimeZone,
    /// Filled on first need (see `discovery`).
    discovered: OnceCell<Discovered>,
    /// Series found by UID under another name than `<id>.ics` (see
    /// `series::locate`), used for them from then on.
    hrefs: std::sync::Mutex<BTreeMap<String, Url>>,
    /// Set for a dry run: reads then leave missing attendee copies to a
    /// real run (see [`CalendarProvider::reads_only`]).
    reads_only: std::sync::atomic::AtomicBool,
    /// Where the configuration file is, for messages.
    config_path: String,
}

impl std::fmt::Debug for CaldavProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaldavProvider")
            .field("root", &self.root.as_str())
            .field("requests", &self.dav.requests())
            .finish_non_exhaustive()
    }
}

impl CaldavProvider {
    /// The provider `cfg` describes, with the production retry policy.
    pub fn from_config(cfg: &Config) -> Result<CaldavProvider, CalendarError> {
        CaldavProvider::with_timing(cfg, Timing::default())
    }

    /// Same, with other timeouts and retry bounds (tests). Reads the
    /// password file and the CA bundle; a bad one is `Invalid` (exit 2).
    pub fn with_timing(cfg: &Config, timing: Timing) -> Result<CaldavProvider, CalendarError> {
        let config_path = cfg.path.display().to_string();
        let invalid = |key: &str, message: String| CalendarError::Invalid {
            path: config_path.clone(),
            line: None,
            message: format!("{key}: {message}"),
        };
        let settings = cfg
            .calendar
            .caldav
            .clone()
            .ok_or_else(|| invalid("calendar.caldav", "missing: provider \"caldav\" needs the table".into()))?;
        let credentials = Credentials::load(&settings.username, &settings.password_file)?;
        let client = match &settings.ca_file {
            None => http_client(),
            Some(path) => ca_client(path)?,
        };
        let configured_people: Vec<Url> = settings
            .calendars
            .values()
            .filter_map(|c| match c {
                CaldavCalendar::Collection(url) => Url::parse(url).ok(),
                CaldavCalendar::Address(_) => None,
            })
            .collect();
        let root = Url::parse(&settings.url).map_err(|e| invalid("calendar.caldav.url", e.to_string()))?;
        let configured_calendar = settings
            .organizer_calendar
            .as_deref()
            .map(Url::parse)
            .transpose()
            .map_err(|e| invalid("calendar.caldav.organizer_calendar", e.to_string()))?;
        let dav = Dav::new(client, credentials, settings.requests_per_second, timing);
        // The configuration's URLs; discovery adds what the server names.
        dav.trust(&root);
        for url in configured_calendar.iter().chain(&configured_people) {
            dav.trust(url);
        }
        Ok(CaldavProvider {
            dav,
            root,
            configured_calendar,
            instance: cfg.calendar.instance.clone(),
            people: cfg.people.iter().map(|p| p.email.clone()).collect(),
            derived: people::DerivedCache::default(),
            zones: cfg
                .people
                .iter()
                .map(|p| (p.email.clone(), p.timezone.clone()))
                .collect(),
            default_zone: cfg.timezone.clone(),
            discovered: OnceCell::new(),
            hrefs: std::sync::Mutex::new(BTreeMap::new()),
            reads_only: std::sync::atomic::AtomicBool::new(false),
            config_path,
            settings,
        })
    }

    /// Runs discovery once (later calls reuse it).
    pub async fn discovered(&self) -> Result<&Discovered, CalendarError> {
        self.discovered
            .get_or_try_init(|| async {
                discovery::discover(&self.dav, &self.root, self.configured_calendar.as_ref())
                    .await
                    .map_err(|e| match e {
                        DiscoveryError::Api(e) => self.error("discovery", e),
                        DiscoveryError::Unexpected(message) => self.invalid("discovery", message),
                    })
            })
            .await
    }

    /// Lines for `liaison check`: what discovery found on the server.
    pub async fn describe(&self) -> Result<Vec<String>, CalendarError> {
        let found = self.discovered().await?;
        let mut lines = vec![
            format!("caldav principal: {}", found.principal),
            format!(
                "caldav organizer calendar: {}{}",
                found.organizer_calendar,
                if found.sync_token { " (sync-collection)" } else { "" }
            ),
        ];
        if let Some(home) = &found.home {
            lines.push(format!("caldav calendar home: {home}"));
        }
        let outbox = match &found.outbox {
            Some(outbox) => format!("caldav scheduling outbox: {outbox}"),
            None => {
                "caldav scheduling outbox: none (the server does not schedule: use deliver = \"write-each\")".into()
            }
        };
        lines.push(outbox);
        lines.extend(self.describe_people().await?);
        Ok(lines)
    }

    /// `email`'s calendar user address.
    fn address_of<'a>(&'a self, email: &'a str) -> &'a str {
        match self.settings.calendars.get(email) {
            Some(CaldavCalendar::Address(address)) => address,
            _ => email,
        }
    }

    fn zone_of(&self, email: &str) -> &TimeZone {
        self.zones.get(email).unwrap_or(&self.default_zone)
    }

    /// Busy time of one person's collection.
    async fn collection_busy(&self, email: &str, range: Interval) -> Result<BusyAnswer, CalendarError> {
        let url = match self.collection_of(email).await? {
            Ok(url) => url,
            Err(reason) => return Ok(Err(reason)),
        };
        let (body, what) = match self.settings.busy {
            CaldavBusy::CalendarQuery => (xml::calendar_query_expanded(range.start, range.end), "calendar-query"),
            _ => (xml::free_busy_query(range.start, range.end), "free-busy-query"),
        };
        let call = Call::new("REPORT", &url).header("Depth", "1").xml(body);
        let answer = match self.dav.send(&call).await {
            Ok(answer) => answer,
            // This person's calendar only: missing, or not readable by liaison.
            Err(ApiError::NotFound(m) | ApiError::Gone(m)) => {
                return Ok(Err(format!("{what} on {url}: the calendar does not exist ({m})")));
            }
            Err(ApiError::Refused(m) | ApiError::Invalid(m)) => return Ok(Err(format!("{what} on {url}: {m}"))),
            Err(e) => return Err(self.error(what, e)),
        };
        let text = body_text(&answer);
        Ok(match self.settings.busy {
            CaldavBusy::CalendarQuery => self.busy_from_query(email, &url, &text, range),
            _ => busy::busy_from_vfreebusy(&text, range).map_err(|m| format!("{what} on {url}: {m}")),
        })
    }

    /// Busy time from a `calendar-query` answer: each event read as the
    /// local provider reads a person's file.
    fn busy_from_query(&self, email: &str, url: &Url, text: &str, range: Interval) -> BusyAnswer {
        let ms = xml::parse_multistatus(text).map_err(|m| format!("calendar-query on {url}: {m}"))?;
        let mut spans: Vec<Interval> = Vec::new();
        for response in &ms.responses {
            let Some(data) = response.prop(xml::CALENDAR_DATA) else {
                continue;
            };
            let busy = super::local::busy_from_ics(&data.text, &response.href, email, self.zone_of(email), range)
                .map_err(|e| format!("calendar-query on {url}: {e}"))?;
            spans.extend(busy.spans().iter().copied());
        }
        Ok(spans.into_iter().collect::<IntervalSet>())
    }

    /// Busy time of many people through the organizer's scheduling outbox.
    async fn outbox_busy(
        &self,
        emails: &[String],
        range: Interval,
    ) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let outbox = self.discovered().await?.outbox.clone().ok_or_else(|| {
            self.invalid(
                "busy",
                format!(
                    "{SERVICE} has no scheduling outbox (RFC 6638); set calendar.caldav.busy = \"free-busy-query\""
                ),
            )
        })?;
        let mut answers = BTreeMap::new();
        for batch in emails.chunks(busy::OUTBOX_BATCH) {
            let addresses: Vec<String> = batch.iter().map(|e| self.address_of(e).to_string()).collect();
            let now = jiff::Timestamp::now();
            let uid = format!("liaison-freebusy-{}", now.as_millisecond());
            let body = busy::outbox_request(&self.settings.organizer, &addresses, range, &uid, now);
            let call = Call::new("POST", &outbox)
                .header("Originator", format!("mailto:{}", self.settings.organizer))
                .ical(body);
            let answer = self.dav.send(&call).await.map_err(|e| self.error("outbox POST", e))?;
            let replies =
                xml::parse_schedule_response(&body_text(&answer)).map_err(|m| self.invalid("outbox POST", m))?;
            for (email, address) in batch.iter().zip(&addresses) {
                let reply = replies.iter().find(|r| {
                    let r = r.recipient.trim();
                    r.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
                        && r.get(7..).is_some_and(|a| a.eq_ignore_ascii_case(address))
                        || r.eq_ignore_ascii_case(address)
                });
                let answer = match reply {
                    None => Err(format!("the outbox did not answer for {address}")),
                    Some(r) if !r.request_status.starts_with('2') => Err(format!(
                        "the server cannot read {address}'s free/busy ({})",
                        r.request_status
                    )),
                    Some(r) => busy::busy_from_vfreebusy(r.calendar_data.as_deref().unwrap_or(""), range)
                        .map_err(|m| format!("outbox answer for {address}: {m}")),
                };
                answers.insert(email.clone(), answer);
            }
        }
        Ok(answers)
    }

    /// Busy time of each email inside `range` (the trait's `busy`).
    pub async fn read_busy(
        &self,
        emails: &[String],
        range: Interval,
    ) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        let answers = match self.settings.busy {
            CaldavBusy::ScheduleOutbox => self.outbox_busy(emails, range).await?,
            CaldavBusy::FreeBusyQuery | CaldavBusy::CalendarQuery => {
                let mut answers = BTreeMap::new();
                for email in emails {
                    answers.insert(email.clone(), self.collection_busy(email, range).await?);
                }
                answers
            }
        };
        for (email, answer) in &answers {
            if let Err(reason) = answer {
                tracing::warn!(person = %email, %reason, "free/busy unavailable; left unpaired this cycle");
            }
        }
        Ok(answers)
    }

    /// An [`ApiError`] as the rest of liaison sees it.
    fn error(&self, what: &str, e: ApiError) -> CalendarError {
        match e {
            ApiError::Unauthorized { message, .. } => CalendarError::Credentials(message),
            ApiError::NotFound(m) | ApiError::Gone(m) => CalendarError::NotFound(format!("{what}: {m}")),
            ApiError::RateLimited { reason, .. } => CalendarError::Transient(format!(
                "{what}: {SERVICE} kept asking to slow down ({reason}) after retries"
            )),
            ApiError::Transient { message, .. } => CalendarError::Transient(format!("{what}: {message}")),
            ApiError::Quota(m) => CalendarError::Quota(format!("{what}: {m}")),
            ApiError::Refused(m) => CalendarError::Refused(format!("{what}: {m}")),
            ApiError::Duplicate => self.invalid(what, "the resource exists already".into()),
            ApiError::Invalid(m) => self.invalid(what, m),
        }
    }

    fn invalid(&self, what: &str, message: String) -> CalendarError {
        CalendarError::Invalid {
            path: format!("CalDAV ({what}; {} calendar.caldav)", self.config_path),
            line: None,
            message,
        }
    }
}

impl CalendarProvider for CaldavProvider {
    async fn busy(&self, emails: &[String], range: Interval) -> Result<BTreeMap<String, BusyAnswer>, CalendarError> {
        self.read_busy(emails, range).await
    }

    async fn create_series(&self, series: &SeriesRequest) -> Result<CreateOutcome, CalendarError> {
        self.create(series).await
    }

    async fn list_series(&self) -> Result<Vec<BookedSeries>, CalendarError> {
        Ok(self.all_series().await?.into_iter().map(|d| d.series).collect())
    }

    /// Also writes the attendee copies a stopped run left unwritten (the
    /// lookup of a pending intent).
    async fn get_series(&self, event_id: &str) -> Result<Option<BookedSeries>, CalendarError> {
        Ok(self.look_up(event_id).await?.map(|d| d.series))
    }

    async fn delete_series(&self, event_id: &str) -> Result<DeleteOutcome, CalendarError> {
        self.delete(event_id).await
    }

    async fn end_series(&self, event_id: &str, until: jiff::Timestamp) -> Result<EndOutcome, CalendarError> {
        self.end(event_id, until).await
    }

    /// A PUT whose answer was lost may still be applied until its last
    /// attempt's timeout has passed.
    fn write_timeout(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(self.dav.write_timeout()).unwrap_or(jiff::SignedDuration::MAX)
    }

    async fn list_changes(&self, token: Option<&str>, _now: jiff::Timestamp) -> Result<Changes, CalendarError> {
        self.changes(token).await
    }

    async fn move_occurrence(
        &self,
        series_id: &str,
        instance_id: &str,
        to: Interval,
        zone: &str,
    ) -> Result<(), CalendarError> {
        self.move_one(series_id, instance_id, to, zone).await
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            answers: true,
            occurrences: true,
        }
    }

    fn reads_only(&self) {
        self.reads_only.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn requests(&self) -> u64 {
        self.dav.requests()
    }
}

/// A client trusting only the CA bundle at `path`.
fn ca_client(path: &std::path::Path) -> Result<HttpClient, CalendarError> {
    let invalid = |message: String| CalendarError::Invalid {
        path: path.display().to_string(),
        line: None,
        message: format!("{message} (calendar.caldav.ca_file)"),
    };
    let pem = std::fs::read(path).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    https_connector_with_roots(&pem).map(http_client_on).map_err(invalid)
}

/// Lines for `liaison check` about the CalDAV account: the password file is
/// there, private and readable (never its content); then what discovery
/// finds on the server with these credentials.
pub async fn describe_credentials(cfg: &Config) -> Result<Vec<String>, CalendarError> {
    let Some(caldav) = &cfg.calendar.caldav else {
        return Ok(Vec::new());
    };
    let provider = CaldavProvider::from_config(cfg)?;
    let mut lines = vec![format!(
        "caldav password: {} (private; user {})",
        caldav.password_file.display(),
        caldav.username
    )];
    lines.extend(provider.describe().await?);
    Ok(lines)
}

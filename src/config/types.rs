//! The validated configuration: what the rest of liaison reads once `load` has
//! accepted a file. Every field has its final type (zones resolved, durations
//! parsed, defaults applied), so nothing downstream re-validates.

use std::path::PathBuf;

use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

/// Shared with the core, which plans with them directly.
pub use crate::core::availability::DayWindow;
pub use crate::core::plan::Person;

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    pub state_dir: PathBuf,
    /// IANA name and resolved zone of `timezone`.
    pub timezone_name: String,
    pub timezone: TimeZone,
    pub schedule: Schedule,
    pub meeting: Meeting,
    pub pairing: Pairing,
    pub calendar: Calendar,
    pub safety: Safety,
    /// In file order.
    pub people: Vec<Person>,
    /// People whose entry says `paused = false` explicitly: that lifts a pause
    /// liaison put on them after declined series, and keeps it from pausing them.
    pub never_paused: std::collections::BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct Schedule {
    pub term_weeks: u32,
    /// A Monday.
    pub first_term: Date,
    pub book_ahead: SignedDuration,
    pub cycle_every: SignedDuration,
    pub min_notice: SignedDuration,
    pub skip_dates: Vec<Date>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendUpdates {
    All,
    ExternalOnly,
    None,
}

impl SendUpdates {
    /// The value Google's API takes.
    pub fn as_api_str(self) -> &'static str {
        match self {
            SendUpdates::All => "all",
            SendUpdates::ExternalOnly => "externalOnly",
            SendUpdates::None => "none",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conference {
    None,
    GoogleMeet,
    /// A Teams meeting (Microsoft provider).
    Teams,
}

#[derive(Clone, Debug)]
pub struct Meeting {
    pub duration: SignedDuration,
    pub granularity: SignedDuration,
    pub buffer: SignedDuration,
    pub hours: DayWindow,
    /// Sorted Monday first, no duplicates, never empty.
    pub days: Vec<Weekday>,
    pub preferred_hours: Option<DayWindow>,
    pub title: String,
    pub description: String,
    pub send_updates: SendUpdates,
    pub conference: Conference,
    pub location: Option<String>,
    pub max_busy_hours: Option<SignedDuration>,
}

#[derive(Clone, Debug)]
pub struct Pairing {
    pub cross_unit_only: bool,
    pub avoid_repeat_terms: u32,
    /// Emails (lower-cased), each one of `people`.
    pub focus: Vec<String>,
    pub pause_after_declines: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    Microsoft,
    Local,
    /// Any CalDAV server (RFC 4791): Nextcloud, Fastmail, iCloud, Radicale, ...
    Caldav,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoogleAuth {
    Installed,
    ServiceAccount,
}

#[derive(Clone, Debug)]
pub struct Google {
    pub auth: GoogleAuth,
    pub client_secret: Option<PathBuf>,
    pub service_account_key: Option<PathBuf>,
    pub impersonate: Option<String>,
    pub organizer: String,
    /// `None` means Google's own endpoint.
    pub api_base_url: Option<String>,
    pub requests_per_second: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MicrosoftAuth {
    /// Delegated: `liaison auth` prints a code to enter at Microsoft's page.
    DeviceCode,
    /// App-only: the app's own secret, no user.
    ClientCredentials,
}

/// `[calendar.microsoft]`, validated (present whenever `provider = "microsoft"`).
#[derive(Clone, Debug)]
pub struct Microsoft {
    /// Tenant id (a GUID) or domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// The app registration's application (client) id, a GUID.
    pub client_id: String,
    pub auth: MicrosoftAuth,
    /// The file holding the client secret (`client_credentials`).
    pub client_secret_file: Option<PathBuf>,
    /// `me` or the mailbox whose calendar organizes the events.
    pub organizer: String,
    /// `None` means Graph's own endpoint (with its version, `.../v1.0/`).
    pub api_base_url: Option<String>,
    /// `None` means Microsoft's login host; the tenant is appended.
    pub login_base_url: Option<String>,
    pub requests_per_second: u32,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub dir: PathBuf,
}

/// Guards on destructive actions (DESIGN §4 "Reconcile").
#[derive(Clone, Debug)]
pub struct Safety {
    /// A cycle that would end or cancel more series than this (and more than
    /// 10 % of the booked ones) does none of it without confirmation.
    pub max_cancel_per_cycle: u32,
}

#[derive(Clone, Debug)]
pub struct Calendar {
    pub provider: ProviderKind,
    /// This installation's name, written on every event it creates.
    pub instance: String,
    /// True when the file sets `calendar.instance` (not derived).
    pub instance_explicit: bool,
    pub google: Google,
    /// Present whenever `provider = "microsoft"`.
    pub microsoft: Option<Microsoft>,
    /// Present whenever `provider = "local"`.
    pub local: Option<Local>,
    /// Present whenever `provider = "caldav"`.
    pub caldav: Option<Caldav>,
}

impl Calendar {
    /// The organizer calendar of the provider in use, as the deterministic
    /// event ids and the state's calendar identity name it: Google's
    /// `organizer` (also the local provider's), the Microsoft mailbox (`me`
    /// or an address), or for CalDAV the organizer collection when
    /// configured, else the organizer's address.
    pub fn organizer(&self) -> &str {
        match self.provider {
            ProviderKind::Microsoft => match &self.microsoft {
                Some(m) => &m.organizer,
                None => &self.google.organizer,
            },
            ProviderKind::Caldav => match &self.caldav {
                Some(c) => c.organizer_calendar.as_deref().unwrap_or(&c.organizer),
                None => &self.google.organizer,
            },
            ProviderKind::Google | ProviderKind::Local => &self.google.organizer,
        }
    }
}

/// How the CalDAV provider reads busy time (`calendar.caldav.busy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaldavBusy {
    /// RFC 4791 §7.10 REPORT on each person's calendar (read-free-busy suffices).
    FreeBusyQuery,
    /// `calendar-query` with a time range and server-side expansion (reads events).
    CalendarQuery,
    /// RFC 6638 POST of a VFREEBUSY request to the organizer's outbox.
    ScheduleOutbox,
}

/// Who puts the series in the attendees' calendars (`calendar.caldav.deliver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaldavDeliver {
    /// The server invites the attendees (RFC 6638).
    Scheduling,
    /// liaison writes the same event into each attendee's calendar too.
    WriteEach,
}

/// `[calendar.caldav]`, validated (present whenever `provider = "caldav"`).
#[derive(Clone, Debug)]
pub struct Caldav {
    /// Server root or calendar home (https, or http to loopback).
    pub url: String,
    pub username: String,
    /// Holds the password (mode 0600; checked when it is read, never shown).
    pub password_file: PathBuf,
    /// The organizer's address (`ORGANIZER:mailto:...`), lower-cased.
    pub organizer: String,
    /// A PEM bundle of the private CA that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// Absolute URL of the collection liaison writes the series to; `None`:
    /// the one calendar of the organizer's home, found by discovery.
    pub organizer_calendar: Option<String>,
    pub busy: CaldavBusy,
    pub deliver: CaldavDeliver,
    /// Client-side pacing of every request to the server.
    pub requests_per_second: u32,
    /// `people[].calendar` by email: an absolute collection URL (a path in
    /// the file is resolved against `url`) or a calendar user address.
    pub calendars: std::collections::BTreeMap<String, CaldavCalendar>,
}

/// One person's `calendar` under CalDAV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaldavCalendar {
    /// The URL of their calendar collection.
    Collection(String),
    /// Their calendar user address, when it differs from the email.
    Address(String),
}

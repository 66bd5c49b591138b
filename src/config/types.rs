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
}

impl Calendar {
    /// The organizer calendar of the provider in use, as the deterministic
    /// event ids and the state's calendar identity name it: Google's
    /// `organizer` (also the local provider's, as before), or the Microsoft
    /// mailbox (`me` or an address).
    pub fn organizer(&self) -> &str {
        match (self.provider, &self.microsoft) {
            (ProviderKind::Microsoft, Some(m)) => &m.organizer,
            _ => &self.google.organizer,
        }
    }
}

//! The CalDAV provider (RFC 4791): any standard server — Nextcloud, Fastmail,
//! iCloud, SOGo, Radicale, Xandikos — through the shared HTTP layer
//! (`calendar::http`), which paces, times out and retries every request.
//!
//! Layout, one job a file:
//! - `credentials`: HTTP Basic from the user name and the 0600 password file.

mod credentials;

pub use self::credentials::Credentials;

use crate::calendar::CalendarError;
use crate::config::Config;

/// Lines for `liaison check` about the CalDAV account: the password file is
/// there, private and readable (never its content).
pub fn describe_credentials(cfg: &Config) -> Result<Vec<String>, CalendarError> {
    let Some(caldav) = &cfg.calendar.caldav else {
        return Ok(Vec::new());
    };
    let creds = Credentials::load(&caldav.username, &caldav.password_file)?;
    Ok(vec![format!(
        "caldav password: {} (private; user {})",
        creds.password_file.display(),
        creds.username
    )])
}

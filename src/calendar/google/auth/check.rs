//! What `liaison check` says about the Google credentials: the files parse
//! (and a service-account key can sign), whether a token is stored and for
//! what, whether others can read it, and when an app in "Testing" loses it.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::token_store::StoredToken;
use super::tokens::TokenSource;
use crate::calendar::CalendarError;
use crate::calendar::google::scopes::SCOPES;
use crate::config::Config;

/// Google's lifetime of refresh tokens of OAuth apps in "Testing" status.
const TESTING_TOKEN_DAYS: i64 = 7;

/// Lines for `liaison check` about the Google credentials: the files parse
/// (and a service-account key can sign), and whether a token is stored —
/// never the token itself. Problems with the files are errors.
pub async fn describe_credentials(cfg: &Config, now: Timestamp) -> Result<Vec<String>, CalendarError> {
    let google = &cfg.calendar.google;
    let mut lines = Vec::new();
    match TokenSource::from_config(cfg).await? {
        TokenSource::Installed(tokens) => {
            lines.push(format!(
                "client secret: {} (OAuth client {})",
                tokens.client.path.display(),
                tokens.client.client_id
            ));
            let path = &tokens.path;
            match StoredToken::load(path).map_err(CalendarError::from)? {
                None => lines.push(format!("token: none stored in {}; run `liaison auth`", path.display())),
                Some(token) => {
                    lines.push(format!(
                        "token: stored in {} (authorized {}, scopes: {})",
                        path.display(),
                        token.authorized_at.strftime("%Y-%m-%d %H:%M UTC"),
                        token.scopes.join(" ")
                    ));
                    if let Err(e) = tokens.check_grant(&token, &SCOPES) {
                        lines.push(format!("token problem: {e}; run `liaison auth`"));
                    }
                    if let Some(mode) = group_or_other_access(path) {
                        lines.push(format!(
                            "token problem: {} is readable by others (mode {mode:o}); run `chmod 600` on it",
                            path.display()
                        ));
                    }
                    let expiry = token
                        .authorized_at
                        .checked_add(SignedDuration::from_hours(24 * TESTING_TOKEN_DAYS))
                        .unwrap_or(token.authorized_at);
                    let status = if expiry <= now { "expired" } else { "expires" };
                    lines.push(format!(
                        "note: if the OAuth app is still in Google's \"Testing\" publishing status, this authorization {status} \
                         7 days after it was given ({}); publish the app (\"In production\") to keep it",
                        expiry.strftime("%Y-%m-%d %H:%M UTC")
                    ));
                }
            }
        }
        TokenSource::ServiceAccount(tokens) => {
            lines.push(format!(
                "service account: {} acting for {} (key {})",
                tokens.client_email,
                tokens.subject,
                google
                    .service_account_key
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ));
        }
    }
    Ok(lines)
}

#[cfg(unix)]
fn group_or_other_access(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn group_or_other_access(_: &Path) -> Option<u32> {
    None
}

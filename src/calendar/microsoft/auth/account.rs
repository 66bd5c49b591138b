//! Who signed in (delegated grants): `liaison auth` asks Graph
//! (`GET /me`, https://learn.microsoft.com/en-us/graph/api/user-get, which
//! needs `User.Read`) and stores the answer with the grant; every later run
//! compares it with `calendar.microsoft.organizer`, so a grant of another
//! person (another mailbox) is refused with both names instead of booking
//! into the wrong calendar. With `organizer = "me"` the signed-in address is
//! the organizer mailbox, and names the calendar in the state.

use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use super::token_file::{StoredGrant, token_path};
use super::{TOKEN_TIMEOUT, microsoft_of};
use crate::calendar::CalendarError;
use crate::calendar::http::{HttpClient, exchange};
use crate::calendar::microsoft::client::{GRAPH_ROOT_URL, classify};
use crate::config::{Config, MicrosoftAuth};

const PROFILE_BODY_LIMIT: usize = 1024 * 1024;

/// The signed-in person's names in the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub user_principal_name: String,
    /// The primary SMTP address; an account without a mailbox has none.
    pub mail: Option<String>,
}

impl Account {
    /// The address that names the mailbox: `mail`, else the UPN.
    pub fn address(&self) -> &str {
        self.mail.as_deref().unwrap_or(&self.user_principal_name)
    }

    /// Whether `mailbox` (an address from the configuration) is this account.
    pub fn is(&self, mailbox: &str) -> bool {
        let mailbox = mailbox.trim();
        self.user_principal_name.eq_ignore_ascii_case(mailbox)
            || self.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(mailbox))
    }

    /// Reads Graph's user resource.
    pub(crate) fn from_profile(profile: &Value) -> Option<Account> {
        let text = |k: &str| {
            profile
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        Some(Account {
            user_principal_name: text("userPrincipalName")?,
            mail: text("mail"),
        })
    }
}

/// `GET {api}/me` with a fresh access token: who signed in.
pub(crate) async fn whoami(http: &HttpClient, api_root: &str, token: &SecretString) -> Result<Account, CalendarError> {
    let root = api_root.strip_suffix('/').unwrap_or(api_root);
    let url = format!("{root}/me?$select=userPrincipalName,mail");
    let request = google_calendar3::hyper::Request::get(&url)
        .header("authorization", format!("Bearer {}", token.expose_secret()))
        .header("accept", "application/json")
        .body(String::new())
        .map_err(|e| invalid(&url, format!("the URL is not valid: {e}")))?;
    let answer = tokio::time::timeout(TOKEN_TIMEOUT, exchange(http, request, PROFILE_BODY_LIMIT))
        .await
        .map_err(|_| CalendarError::Transient(format!("{url} did not answer within {}s", TOKEN_TIMEOUT.as_secs())))?
        .map_err(|e| CalendarError::Transient(format!("{url}: {e}")))?;
    if !answer.is_success() {
        return Err(match classify(&answer, "user.get (GET me)") {
            crate::calendar::http::ApiError::Unauthorized { message, .. } => CalendarError::Unauthorized(format!(
                "liaison could not read who signed in: {message} (the app registration needs the delegated \
                 permission User.Read)"
            )),
            e if e.is_retryable() => CalendarError::Transient(e.to_string()),
            e => invalid(&url, e.to_string()),
        });
    }
    let profile: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    Account::from_profile(&profile).ok_or_else(|| invalid(&url, "the answer names no userPrincipalName".into()))
}

fn invalid(url: &str, message: String) -> CalendarError {
    CalendarError::Invalid {
        path: format!("Microsoft Graph ({url})"),
        line: None,
        message,
    }
}

/// Graph's API root of `cfg`.
pub(crate) fn api_root(cfg: &Config) -> Result<String, CalendarError> {
    let m = microsoft_of(cfg)?;
    Ok(m.api_base_url.as_deref().unwrap_or(GRAPH_ROOT_URL).to_string())
}

/// Refuses `account` when `calendar.microsoft.organizer` names another mailbox.
pub(crate) fn check_organizer(cfg: &Config, account: &Account) -> Result<(), CalendarError> {
    let m = microsoft_of(cfg)?;
    if m.organizer == "me" || account.is(&m.organizer) {
        return Ok(());
    }
    Err(CalendarError::Unauthorized(format!(
        "signed in to Microsoft as {}, but calendar.microsoft.organizer in {} is {}: a delegated grant reaches only \
         the signed-in person's own calendar. Sign in as {} (run `liaison auth`), or set organizer = \"{}\"",
        account.address(),
        cfg.path.display(),
        m.organizer,
        m.organizer,
        account.address()
    )))
}

/// Who signed in, for `device_code` (`None` for app-only grants, whose
/// mailbox is the configured organizer): from the stored grant, checked
/// against the configured organizer. A missing grant, or one stored before
/// liaison recorded the account, is an authorization error.
pub fn signed_in(cfg: &Config) -> Result<Option<Account>, CalendarError> {
    let m = microsoft_of(cfg)?;
    if m.auth == MicrosoftAuth::ClientCredentials {
        return Ok(None);
    }
    let path = token_path(&cfg.state_dir);
    let grant = StoredGrant::load(&path)?.ok_or_else(|| {
        CalendarError::Unauthorized(format!("no Microsoft authorization is stored in {}", path.display()))
    })?;
    let account = grant.account.ok_or_else(|| {
        CalendarError::Unauthorized(format!(
            "{} was written by an earlier version of liaison and does not say who signed in, so liaison cannot \
             tell whether it is the organizer's calendar; sign in again",
            path.display()
        ))
    })?;
    check_organizer(cfg, &account)?;
    Ok(Some(account))
}

/// The organizer mailbox's address: the configured one, or with
/// `organizer = "me"` the signed-in person's.
pub fn organizer_mailbox(cfg: &Config) -> Result<String, CalendarError> {
    let m = microsoft_of(cfg)?;
    if m.organizer != "me" {
        return Ok(m.organizer.to_ascii_lowercase());
    }
    Ok(signed_in(cfg)?.map_or_else(|| m.organizer.clone(), |a| a.address().to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_named_by_its_mail_else_its_principal_name_and_matches_either() {
        let a = Account::from_profile(
            &serde_json::json!({"userPrincipalName": "ada@contoso.onmicrosoft.com", "mail": "Ada@Contoso.com"}),
        )
        .unwrap();
        assert_eq!(a.address(), "Ada@Contoso.com");
        assert!(a.is("ada@contoso.com") && a.is("ADA@contoso.onmicrosoft.com") && !a.is("bo@contoso.com"));
        let b =
            Account::from_profile(&serde_json::json!({"userPrincipalName": "bo@contoso.com", "mail": null})).unwrap();
        assert_eq!(b.address(), "bo@contoso.com");
        assert!(Account::from_profile(&serde_json::json!({"mail": "x@contoso.com"})).is_none());
    }
}

//! Authorization with the Microsoft identity platform (v2.0 endpoints):
//! where each Graph call gets its access token, and `liaison auth`.
//!
//! Two kinds, as `calendar.microsoft.auth` says:
//! - `device_code` (delegated): `liaison auth` runs the device authorization
//!   grant (RFC 8628; `device`) and stores the grant in
//!   `state_dir/microsoft-token.json` (`token_file`). Afterwards the access
//!   token is renewed with the refresh token, which Microsoft rotates: each
//!   answer's new refresh token replaces the stored one at once, atomically
//!   ("Replace the old refresh token with this newly acquired refresh token",
//!   https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
//!   Nothing here ever prompts: a refused refresh is `Unauthorized` ("run
//!   `liaison auth`"), exit 3.
//! - `client_credentials` (app-only): the secret read from
//!   `client_secret_file` (mode 0600) buys a token for
//!   `https://graph.microsoft.com/.default`; nothing is stored.
//!
//! The token requests are our own form POSTs (no crate speaks the device
//! grant of this platform without pulling a browser flow or a second HTTP
//! stack). Secrets live in `SecretString`s, and no message built here
//! contains one.

mod account;
mod check;
mod device;
mod token_file;

use std::path::{Path, PathBuf};
use std::time::Duration;

use google_calendar3::hyper;
use jiff::{SignedDuration, Timestamp};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

pub use self::account::{Account, organizer_mailbox, signed_in};
pub use self::check::describe_credentials;
pub use self::device::{AuthReport, authorize};
use self::token_file::StoredGrant;
pub use self::token_file::{TOKEN_FILE, token_path};
use crate::calendar::CalendarError;
use crate::calendar::http::{HttpClient, exchange, http_client};
use crate::config::{Config, Microsoft, MicrosoftAuth};

/// Microsoft's login host; the tenant is appended.
pub const LOGIN_ROOT_URL: &str = "https://login.microsoftonline.com/";
/// The delegated permissions liaison asks for: `Calendars.ReadWrite` covers
/// getSchedule (least: `Calendars.ReadBasic`) and the organizer's events
/// (https://learn.microsoft.com/en-us/graph/api/calendar-getschedule#permissions,
/// https://learn.microsoft.com/en-us/graph/api/user-post-events#permissions);
/// `User.Read` lets `liaison auth` read who signed in (`GET /me`, least
/// privileged: https://learn.microsoft.com/en-us/graph/api/user-get#permissions;
/// every app registration has it from the start); `offline_access` gives
/// the refresh token. No `.Shared`, no mail.
pub const DELEGATED_SCOPES: [&str; 3] = [
    "offline_access",
    "https://graph.microsoft.com/User.Read",
    "https://graph.microsoft.com/Calendars.ReadWrite",
];
/// The one scope of the client-credentials grant: the app's consented roles.
pub const APP_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Longest wait for the token endpoint.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN_BODY_LIMIT: usize = 1024 * 1024;
const FORM_VALUE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'*');

/// Why no token could be had, by what the caller does next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Only `liaison auth` (or a fix in Entra ID or the configuration) helps.
    #[error("{0}")]
    Unauthorized(String),
    /// The token endpoint could not be reached or failed: try again later.
    #[error("{0}")]
    Transient(String),
}

impl From<TokenError> for CalendarError {
    fn from(e: TokenError) -> CalendarError {
        match e {
            TokenError::Unauthorized(m) => CalendarError::Unauthorized(m),
            TokenError::Transient(m) => CalendarError::Transient(m),
        }
    }
}

/// The tenant's v2.0 endpoints.
#[derive(Clone, Debug)]
pub(crate) struct Endpoints {
    pub tenant: String,
    pub client_id: String,
    /// `{login}/{tenant}/oauth2/v2.0/`
    base: String,
}

impl Endpoints {
    pub(crate) fn of(m: &Microsoft) -> Endpoints {
        let login = m.login_base_url.as_deref().unwrap_or(LOGIN_ROOT_URL);
        let login = login.strip_suffix('/').unwrap_or(login);
        Endpoints {
            tenant: m.tenant.clone(),
            client_id: m.client_id.clone(),
            base: format!("{login}/{}/oauth2/v2.0/", m.tenant),
        }
    }

    pub(crate) fn token(&self) -> String {
        format!("{}token", self.base)
    }

    pub(crate) fn device_code(&self) -> String {
        format!("{}devicecode", self.base)
    }
}

/// A successful answer of the token endpoint.
pub(crate) struct Granted {
    pub access_token: SecretString,
    pub expires_at: Option<Timestamp>,
    pub refresh_token: Option<SecretString>,
    pub scopes: Option<Vec<String>>,
}

/// An error answer: `error` and `error_description`.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: u16,
    pub error: String,
    pub description: String,
}

/// POSTs a form to `url` within [`TOKEN_TIMEOUT`]: the granted token, or
/// the endpoint's refusal; `Err` when no answer came.
pub(crate) async fn post_form(
    http: &HttpClient,
    url: &str,
    pairs: &[(&str, &str)],
) -> Result<Result<Value, Refusal>, TokenError> {
    let form = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, FORM_VALUE)))
        .collect::<Vec<_>>()
        .join("&");
    let request = hyper::Request::post(url)
        .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .map_err(|_| TokenError::Unauthorized(format!("the token URL {url:?} is not valid")))?;
    let unreachable = |detail: String| TokenError::Transient(format!("Microsoft's token endpoint {url} {detail}"));
    let answer = tokio::time::timeout(TOKEN_TIMEOUT, exchange(http, request, TOKEN_BODY_LIMIT))
        .await
        .map_err(|_| unreachable(format!("did not answer within {}s", TOKEN_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    let json: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if answer.is_success() {
        return Ok(Ok(json));
    }
    if answer.status >= 500 || answer.status == 429 {
        return Err(unreachable(format!("answered {}", answer.status)));
    }
    let text = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(Err(Refusal {
        status: answer.status,
        error: text("error"),
        // AADSTS descriptions end with trace and correlation ids on new lines.
        description: text("error_description").lines().next().unwrap_or("").to_string(),
    }))
}

/// Reads a token answer.
pub(crate) fn granted(json: &Value, now: Timestamp) -> Result<Granted, TokenError> {
    let access = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::Transient("Microsoft's token endpoint answered without an access token".into()))?;
    let expires_at = json
        .get("expires_in")
        .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
        .and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok());
    Ok(Granted {
        access_token: SecretString::from(access.to_string()),
        expires_at,
        refresh_token: json
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::from(t.to_string())),
        scopes: json
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| s.split_whitespace().map(str::to_string).collect()),
    })
}

/// A refusal of the token endpoint, in plain words.
pub(crate) fn explain(r: &Refusal, what: &str) -> TokenError {
    let why = match r.error.as_str() {
        "invalid_grant" => {
            "the grant was revoked or expired (an admin revoked sessions, the password changed, or it went unused for 90 days)"
        }
        "invalid_client" => {
            "the client secret is wrong or expired (create a new one under Certificates & secrets in Entra ID)"
        }
        "unauthorized_client" => {
            "the app registration does not allow this (check the client id, and \"Allow public client flows\" for device_code)"
        }
        "invalid_scope" => "the app registration lacks a permission liaison asks for (Calendars.ReadWrite)",
        _ => "Microsoft refused it",
    };
    TokenError::Unauthorized(format!("{what}: {why} ({} {}: {})", r.status, r.error, r.description))
}

/// The delegated grant: the stored access token while fresh, else a refresh
/// whose rotated refresh token is stored before the access token is used.
pub(crate) struct Delegated {
    pub endpoints: Endpoints,
    pub path: PathBuf,
    http: HttpClient,
    state: tokio::sync::Mutex<Option<StoredGrant>>,
}

impl Delegated {
    fn load(&self) -> Result<StoredGrant, TokenError> {
        let grant = StoredGrant::load(&self.path)?.ok_or_else(|| {
            TokenError::Unauthorized(format!(
                "no Microsoft authorization is stored in {}",
                self.path.display()
            ))
        })?;
        if !grant.client_id.eq_ignore_ascii_case(&self.endpoints.client_id)
            || !grant.tenant.eq_ignore_ascii_case(&self.endpoints.tenant)
        {
            return Err(TokenError::Unauthorized(format!(
                "{} was authorized for app {} in tenant {}, but the configuration names app {} in tenant {}",
                self.path.display(),
                grant.client_id,
                grant.tenant,
                self.endpoints.client_id,
                self.endpoints.tenant
            )));
        }
        Ok(grant)
    }

    async fn access_token(&self) -> Result<String, TokenError> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            *state = Some(self.load()?);
        }
        if let Some(grant) = state.as_ref()
            && grant.is_fresh(Timestamp::now())
            && let Some(access) = &grant.access_token
        {
            return Ok(access.expose_secret().to_string());
        }
        // The file may hold a newer grant (`liaison auth` ran meanwhile).
        let current = self.load()?;
        let scope = DELEGATED_SCOPES.join(" ");
        let answer = post_form(
            &self.http,
            &self.endpoints.token(),
            &[
                ("client_id", self.endpoints.client_id.as_str()),
                ("grant_type", "refresh_token"),
                ("refresh_token", current.refresh_token.expose_secret()),
                ("scope", &scope),
            ],
        )
        .await?
        .map_err(|r| explain(&r, "Microsoft refused to renew the stored authorization"))?;
        let g = granted(&answer, Timestamp::now())?;
        let grant = StoredGrant {
            refresh_token: g.refresh_token.unwrap_or_else(|| current.refresh_token.clone()),
            access_token: Some(g.access_token.clone()),
            expires_at: g.expires_at,
            scopes: g.scopes.unwrap_or_else(|| current.scopes.clone()),
            ..current
        };
        // The old refresh token may stop working now: the new one is kept
        // before anything else happens, or the grant is lost.
        grant.save(&self.path).map_err(|e| {
            TokenError::Unauthorized(format!(
                "cannot store the renewed authorization in {}: {e}; Microsoft rotates refresh tokens, so run `liaison auth` once the file can be written",
                self.path.display()
            ))
        })?;
        *state = Some(grant);
        Ok(g.access_token.expose_secret().to_string())
    }
}

/// App-only tokens from the client secret.
pub(crate) struct App {
    pub endpoints: Endpoints,
    secret: SecretString,
    http: HttpClient,
    state: tokio::sync::Mutex<Option<(SecretString, Option<Timestamp>)>>,
}

impl App {
    async fn access_token(&self) -> Result<String, TokenError> {
        let mut state = self.state.lock().await;
        let soon = Timestamp::now()
            .saturating_add(SignedDuration::from_secs(120))
            .unwrap_or(Timestamp::MAX);
        if let Some((token, expiry)) = state.as_ref()
            && expiry.is_some_and(|e| soon < e)
        {
            return Ok(token.expose_secret().to_string());
        }
        let answer = post_form(
            &self.http,
            &self.endpoints.token(),
            &[
                ("client_id", self.endpoints.client_id.as_str()),
                ("client_secret", self.secret.expose_secret()),
                ("grant_type", "client_credentials"),
                ("scope", APP_SCOPE),
            ],
        )
        .await?
        .map_err(|r| explain(&r, "Microsoft refused a token for the app"))?;
        let g = granted(&answer, Timestamp::now())?;
        let token = g.access_token.expose_secret().to_string();
        *state = Some((g.access_token, g.expires_at));
        Ok(token)
    }
}

/// Where Graph calls get their access tokens.
pub(crate) enum TokenSource {
    Delegated(Delegated),
    App(App),
}

impl TokenSource {
    /// The source `calendar.microsoft.auth` names. The client secret file is
    /// read (and its mode checked) here; a missing delegated grant is an
    /// error only when a call needs a token.
    pub(crate) fn from_config(cfg: &Config) -> Result<TokenSource, CalendarError> {
        let m = microsoft_of(cfg)?;
        let endpoints = Endpoints::of(m);
        Ok(match m.auth {
            MicrosoftAuth::DeviceCode => TokenSource::Delegated(Delegated {
                endpoints,
                path: token_path(&cfg.state_dir),
                http: http_client(),
                state: tokio::sync::Mutex::new(None),
            }),
            MicrosoftAuth::ClientCredentials => {
                let path = m.client_secret_file.as_deref().ok_or_else(|| CalendarError::Invalid {
                    path: cfg.path.display().to_string(),
                    line: None,
                    message: "calendar.microsoft.client_secret_file is required with auth = \"client_credentials\""
                        .into(),
                })?;
                TokenSource::App(App {
                    endpoints,
                    secret: read_secret(path)?,
                    http: http_client(),
                    state: tokio::sync::Mutex::new(None),
                })
            }
        })
    }

    pub(crate) async fn access_token(&self) -> Result<String, TokenError> {
        match self {
            TokenSource::Delegated(d) => d.access_token().await,
            TokenSource::App(a) => a.access_token().await,
        }
    }

    /// Graph refused the current token: the next call gets a new one.
    pub(crate) async fn invalidate(&self) {
        match self {
            TokenSource::Delegated(d) => {
                if let Some(g) = d.state.lock().await.as_mut() {
                    g.access_token = None;
                }
            }
            TokenSource::App(a) => *a.state.lock().await = None,
        }
    }
}

/// `[calendar.microsoft]`, which validation guarantees for this provider.
pub(crate) fn microsoft_of(cfg: &Config) -> Result<&Microsoft, CalendarError> {
    cfg.calendar.microsoft.as_ref().ok_or_else(|| CalendarError::Invalid {
        path: cfg.path.display().to_string(),
        line: None,
        message: "calendar.microsoft is required with provider = \"microsoft\"".into(),
    })
}

/// The client secret: the file's text without its trailing newline. A file
/// others may read is refused (the secret acts for the whole app).
pub(crate) fn read_secret(path: &Path) -> Result<SecretString, CalendarError> {
    let invalid = |message: String| CalendarError::Invalid {
        path: path.display().to_string(),
        line: None,
        message,
    };
    if let Some(mode) = group_or_other_access(path) {
        return Err(invalid(format!(
            "calendar.microsoft.client_secret_file is readable by others (mode {mode:o}); run `chmod 600 {}`",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("calendar.microsoft.client_secret_file cannot be read: {e}")))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.trim().is_empty() || secret.contains('\n') {
        return Err(invalid(
            "calendar.microsoft.client_secret_file must hold the client secret's value on one line".into(),
        ));
    }
    Ok(SecretString::from(secret.to_string()))
}

#[cfg(unix)]
pub(crate) fn group_or_other_access(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
pub(crate) fn group_or_other_access(_: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_others_can_read_is_refused_and_its_newline_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.txt");
        std::fs::write(&path, "s3cr3t~value\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = read_secret(&path).unwrap_err().to_string();
            assert!(
                e.contains("readable by others (mode 644)") && e.contains("chmod 600"),
                "{e}"
            );
            assert!(!e.contains("s3cr3t"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(read_secret(&path).unwrap().expose_secret(), "s3cr3t~value");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_secret(&path).unwrap_err().to_string().contains("on one line"));
    }

    #[test]
    fn token_answers_and_refusals_are_read() {
        let now: Timestamp = "2027-03-03T12:00:00Z".parse().unwrap();
        let g = granted(
            &serde_json::json!({"access_token": "a", "expires_in": 3599, "refresh_token": "r2", "scope": "Calendars.ReadWrite"}),
            now,
        )
        .unwrap();
        assert_eq!(g.expires_at, Some("2027-03-03T12:59:59Z".parse().unwrap()));
        assert_eq!(g.refresh_token.unwrap().expose_secret(), "r2");
        assert!(matches!(
            granted(&serde_json::json!({}), now),
            Err(TokenError::Transient(_))
        ));
        let refusal = Refusal {
            status: 400,
            error: "invalid_grant".into(),
            description: "AADSTS50173: The provided grant has expired".into(),
        };
        let e = explain(&refusal, "Microsoft refused to renew the stored authorization").to_string();
        assert!(e.contains("revoked or expired") && e.contains("AADSTS50173"), "{e}");
    }

    #[test]
    fn endpoints_append_the_tenant_to_the_login_root() {
        let m = Microsoft {
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "c".into(),
            auth: MicrosoftAuth::DeviceCode,
            client_secret_file: None,
            organizer: "me".into(),
            api_base_url: None,
            login_base_url: Some("http://127.0.0.1:9/".into()),
            requests_per_second: 4,
        };
        let e = Endpoints::of(&m);
        assert_eq!(
            e.token(),
            "http://127.0.0.1:9/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        let m = Microsoft {
            login_base_url: None,
            ..m
        };
        assert_eq!(
            Endpoints::of(&m).device_code(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
        );
    }
}

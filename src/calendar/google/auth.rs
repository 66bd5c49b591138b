//! Authorization with Google: the one-time consent of `liaison auth`, the token
//! file, and the tokens every API call asks for.
//!
//! Two kinds, as `calendar.google.auth` says:
//! - `installed`: an OAuth client of type "Desktop app". `liaison auth` runs
//!   yup-oauth2's installed flow with a loopback redirect and stores the result
//!   in `state_dir/token.json` through [`TokenFileSink`] (0600 temporary file,
//!   fsync, rename). Afterwards [`InstalledTokens`] only ever *refreshes* that
//!   token and can never show a consent page.
//! - `service_account`: a key with domain-wide delegation, acting for
//!   `impersonate`; yup-oauth2's JWT flow fetches tokens as needed and nothing is
//!   stored.
//!
//! Why the refresh is written here and not left to yup-oauth2 12.1.2: its
//! `Authenticator` discards the error of a failed refresh and falls back to the
//! consent flow (authenticator.rs, `if let Ok(token_info) = ...`); with the
//! loopback method it even ignores a delegate's refusal to present the URL and
//! waits for a browser forever (installed.rs, `let _ = present_user_url`). Its
//! authorized-user flow, which only refreshes, hard-codes Google's token URI,
//! so a client secret's `token_uri` would not be honoured. A daemon must neither
//! hang nor lose the one fact the user needs — `invalid_grant`, often the 7-day
//! expiry of apps in "Testing" — so the refresh (one form POST) is ours.
//!
//! Secrets (client secret, refresh and access tokens, private keys) live in
//! `SecretString`s or types with a hand-written `Debug`, and no message built
//! here contains one.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use google_calendar3::common::GetToken;
use google_calendar3::hyper;
use google_calendar3::hyper_util::client::legacy::Client;
use google_calendar3::hyper_util::rt::TokioExecutor;
use http_body_util::BodyExt as _;
use jiff::{SignedDuration, Timestamp};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use yup_oauth2::authenticator::Authenticator;
use yup_oauth2::authenticator_delegate::InstalledFlowDelegate;
use yup_oauth2::storage::{TokenInfo, TokenStorage, TokenStorageError};
use yup_oauth2::{ApplicationSecret, CustomHyperClientBuilder, InstalledFlowReturnMethod, ServiceAccountKey};

use crate::calendar::CalendarError;
use crate::calendar::http::{Connector, https_connector};
use crate::config::{Config, GoogleAuth};

/// Read free/busy of the people's calendars.
pub const SCOPE_FREEBUSY: &str = "https://www.googleapis.com/auth/calendar.freebusy";
/// Create, change and delete events on calendars the account owns.
pub const SCOPE_EVENTS: &str = "https://www.googleapis.com/auth/calendar.events.owned";
/// Exactly what liaison asks for, and all it asks for.
pub const SCOPES: [&str; 2] = [SCOPE_FREEBUSY, SCOPE_EVENTS];

/// The token file's name inside `state_dir`.
pub const TOKEN_FILE: &str = "token.json";
/// Longest wait for Google's token endpoint.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `liaison auth` waits for the browser to come back.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(600);
/// An access token this close to its expiry is refreshed first.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);
/// Google's lifetime of refresh tokens of OAuth apps in "Testing" status.
const TESTING_TOKEN_DAYS: i64 = 7;

/// The plain-words explanation of `invalid_grant` for installed apps.
const INVALID_GRANT_HINT: &str = "it was revoked, or it expired. OAuth apps left in Google's \"Testing\" \
     publishing status get refresh tokens that expire after 7 days: publish the app (\"In production\") \
     on the OAuth consent screen in Google Cloud to keep them";

/// Where the token of `state_dir` is kept.
pub fn token_path(state_dir: &Path) -> PathBuf {
    state_dir.join(TOKEN_FILE)
}

/// Why no token could be had, by what the caller does next. Travels through
/// google-calendar3 as the boxed error of `Error::MissingToken`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Only a new `liaison auth` (or a configuration fix) helps.
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

// ---------------------------------------------------------------------------
// Credential files
// ---------------------------------------------------------------------------

/// The OAuth client JSON downloaded from Google Cloud (`installed` or `web`).
#[derive(Clone, Debug)]
pub struct ClientSecret {
    pub path: PathBuf,
    pub client_id: String,
    secret: SecretString,
    pub auth_uri: String,
    pub token_uri: String,
}

impl ClientSecret {
    /// Reads and checks the file; errors name the file and never quote it.
    pub fn read(path: &Path) -> Result<ClientSecret, CalendarError> {
        let bytes = read_credential_file(path)?;
        ClientSecret::parse(&bytes, path).map_err(|message| CalendarError::Invalid {
            path: path.display().to_string(),
            line: None,
            message,
        })
    }

    fn parse(bytes: &[u8], path: &Path) -> Result<ClientSecret, String> {
        #[derive(Deserialize)]
        struct Console {
            installed: Option<App>,
            web: Option<App>,
        }
        #[derive(Deserialize)]
        struct App {
            client_id: String,
            client_secret: String,
            auth_uri: String,
            token_uri: String,
        }
        let console: Console = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "{}; expected the OAuth client JSON downloaded from Google Cloud ({{\"installed\": {{\"client_id\": ..., \"client_secret\": ..., \"auth_uri\": ..., \"token_uri\": ...}}}})",
                json_problem(&e)
            )
        })?;
        let app = console.installed.or(console.web).ok_or_else(|| {
            "neither \"installed\" nor \"web\" is present; expected the JSON of an OAuth client of type \"Desktop app\""
                .to_string()
        })?;
        for (key, value) in [("auth_uri", &app.auth_uri), ("token_uri", &app.token_uri)] {
            if !(value.starts_with("https://") || value.starts_with("http://")) {
                return Err(format!("{key} {value:?} is not an http(s) URL"));
            }
        }
        if app.client_id.trim().is_empty() || app.client_secret.is_empty() {
            return Err("client_id or client_secret is empty".into());
        }
        Ok(ClientSecret {
            path: path.to_path_buf(),
            client_id: app.client_id,
            secret: SecretString::from(app.client_secret),
            auth_uri: app.auth_uri,
            token_uri: app.token_uri,
        })
    }

    fn to_application_secret(&self) -> ApplicationSecret {
        ApplicationSecret {
            client_id: self.client_id.clone(),
            client_secret: self.secret.expose_secret().to_string(),
            auth_uri: self.auth_uri.clone(),
            token_uri: self.token_uri.clone(),
            ..ApplicationSecret::default()
        }
    }
}

/// A service-account key file (Google's JSON, with its private key).
#[derive(Clone)]
pub struct ServiceAccount {
    pub path: PathBuf,
    pub client_email: String,
    pub client_id: Option<String>,
    /// Carries the private key: never printed (see the `Debug` impl).
    key: ServiceAccountKey,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("path", &self.path)
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .field("token_uri", &self.key.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    pub fn read(path: &Path) -> Result<ServiceAccount, CalendarError> {
        let bytes = read_credential_file(path)?;
        ServiceAccount::parse(&bytes, path).map_err(|message| CalendarError::Invalid {
            path: path.display().to_string(),
            line: None,
            message,
        })
    }

    fn parse(bytes: &[u8], path: &Path) -> Result<ServiceAccount, String> {
        let key: ServiceAccountKey = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "{}; expected a service-account key JSON from Google Cloud (with private_key, client_email, token_uri)",
                json_problem(&e)
            )
        })?;
        if !key.private_key.contains("PRIVATE KEY-----") {
            return Err("private_key is not a PEM private key".into());
        }
        if !(key.token_uri.starts_with("https://") || key.token_uri.starts_with("http://")) {
            return Err(format!("token_uri {:?} is not an http(s) URL", key.token_uri));
        }
        Ok(ServiceAccount {
            path: path.to_path_buf(),
            client_email: key.client_email.clone(),
            client_id: key.client_id.clone(),
            key,
        })
    }
}

/// A credential file the configuration names: one that cannot be read is a
/// configuration problem (exit 2), like one that does not parse.
fn read_credential_file(path: &Path) -> Result<Vec<u8>, CalendarError> {
    std::fs::read(path).map_err(|e| CalendarError::Invalid {
        path: path.display().to_string(),
        line: None,
        message: format!("cannot read it: {e}"),
    })
}

/// Where and what is wrong in a JSON file, without quoting its content (a
/// serde_json message can contain a value of the file, e.g. a secret).
fn json_problem(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends too early",
        serde_json::error::Category::Data => "has a missing or mistyped field",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

// ---------------------------------------------------------------------------
// The token file
// ---------------------------------------------------------------------------

/// What `token.json` holds for the installed flow.
#[derive(Clone, Debug)]
pub(crate) struct StoredToken {
    /// The OAuth client the grant belongs to (a refresh with another fails).
    pub client_id: String,
    pub refresh_token: SecretString,
    pub access_token: Option<SecretString>,
    pub expires_at: Option<Timestamp>,
    /// Granted scopes, as far as Google said.
    pub scopes: Vec<String>,
    /// When `liaison auth` ran: the 7-day clock of apps in "Testing" starts here.
    pub authorized_at: Timestamp,
}

/// The file format. Only used to read and write; has no `Debug`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenJson {
    version: u32,
    client_id: String,
    refresh_token: String,
    access_token: Option<String>,
    expires_at: Option<Timestamp>,
    scopes: Vec<String>,
    authorized_at: Timestamp,
}

const TOKEN_FILE_VERSION: u32 = 1;

impl StoredToken {
    fn is_fresh(&self, now: Timestamp) -> bool {
        match (&self.access_token, self.expires_at) {
            (Some(_), Some(at)) => now.saturating_add(EXPIRY_MARGIN).is_ok_and(|soon| soon < at),
            // Without an expiry Google's tokens last an hour; refresh to be safe.
            _ => false,
        }
    }

    /// Reads the token file; `Ok(None)` when there is none.
    pub(crate) fn load(path: &Path) -> Result<Option<StoredToken>, TokenError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TokenError::Unauthorized(format!("cannot read {}: {e}", path.display()))),
        };
        let json: TokenJson = serde_json::from_slice(&bytes).map_err(|e| {
            TokenError::Unauthorized(format!(
                "{} {}; it is not a token file this version of liaison wrote",
                path.display(),
                json_problem(&e)
            ))
        })?;
        if json.version != TOKEN_FILE_VERSION {
            return Err(TokenError::Unauthorized(format!(
                "{} has version {}; expected {TOKEN_FILE_VERSION}",
                path.display(),
                json.version
            )));
        }
        Ok(Some(StoredToken {
            client_id: json.client_id,
            refresh_token: SecretString::from(json.refresh_token),
            access_token: json.access_token.map(SecretString::from),
            expires_at: json.expires_at,
            scopes: json.scopes,
            authorized_at: json.authorized_at,
        }))
    }

    /// Writes the token file atomically, private to the user: a 0600 temporary
    /// file in the same directory, fsync, rename, fsync of the directory.
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = TokenJson {
            version: TOKEN_FILE_VERSION,
            client_id: self.client_id.clone(),
            refresh_token: self.refresh_token.expose_secret().to_string(),
            access_token: self.access_token.as_ref().map(|t| t.expose_secret().to_string()),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
            authorized_at: self.authorized_at,
        };
        let bytes = serde_json::to_vec_pretty(&json).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomically(path, &bytes, crate::fsutil::Mode::Private)
    }
}

/// yup-oauth2's token storage during `liaison auth`: writes what the consent
/// produced to the token file, and never offers a stored token, so that
/// `liaison auth` always asks Google afresh (the user may switch accounts).
struct TokenFileSink {
    path: PathBuf,
    client_id: String,
}

#[async_trait::async_trait]
impl TokenStorage for TokenFileSink {
    async fn set(&self, scopes: &[&str], token: TokenInfo) -> Result<(), TokenStorageError> {
        let refresh_token = token.refresh_token.ok_or(TokenStorageError::Other(
            "Google's answer has no refresh token, so liaison could not renew access; run `liaison auth` again".into(),
        ))?;
        let expires_at = token
            .expires_at
            .and_then(|at| Timestamp::from_second(at.unix_timestamp()).ok());
        let stored = StoredToken {
            client_id: self.client_id.clone(),
            refresh_token: SecretString::from(refresh_token),
            access_token: token.access_token.map(SecretString::from),
            expires_at,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            authorized_at: Timestamp::now(),
        };
        stored.save(&self.path).map_err(TokenStorageError::Io)
    }

    async fn get(&self, _scopes: &[&str]) -> Option<TokenInfo> {
        None
    }
}

// ---------------------------------------------------------------------------
// Tokens for API calls
// ---------------------------------------------------------------------------

/// The HTTP client of the token endpoint (and of yup-oauth2).
type TokenClient = Client<Connector, String>;

fn token_client() -> TokenClient {
    Client::builder(TokioExecutor::new()).build(https_connector())
}

/// Bytes left as they are in an `application/x-www-form-urlencoded` value.
const FORM_VALUE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'*');

/// Access tokens of the installed flow: the stored one while fresh, else a
/// refresh with the stored refresh token. Never asks for consent.
pub(crate) struct InstalledTokens {
    client: ClientSecret,
    path: PathBuf,
    http: TokenClient,
    /// One refresh at a time; `None` until the file is first read.
    state: tokio::sync::Mutex<Option<StoredToken>>,
}

/// What a successful refresh gave.
#[derive(Debug)]
pub(crate) struct Refreshed {
    access_token: SecretString,
    expires_at: Option<Timestamp>,
    /// `scope` of the answer, when Google sent it.
    scopes: Option<Vec<String>>,
    /// Google may rotate the refresh token.
    refresh_token: Option<SecretString>,
}

impl InstalledTokens {
    pub(crate) fn new(client: ClientSecret, path: PathBuf) -> InstalledTokens {
        InstalledTokens {
            client,
            path,
            http: token_client(),
            state: tokio::sync::Mutex::new(None),
        }
    }

    /// A fresh access token allowing `scopes`.
    pub(crate) async fn access_token(&self, scopes: &[&str]) -> Result<String, TokenError> {
        let mut state = self.state.lock().await;
        let now = Timestamp::now();
        if state.is_none() {
            *state = Some(self.load()?);
        }
        if let Some(token) = state.as_ref() {
            self.check_grant(token, scopes)?;
            if token.is_fresh(now)
                && let Some(access) = &token.access_token
            {
                return Ok(access.expose_secret().to_string());
            }
        }
        // Re-read the file first: `liaison auth` may have replaced it while
        // this process ran, and its grant is the one to use.
        let current = self.load()?;
        self.check_grant(&current, scopes)?;
        let (token, _) = self.refresh_and_store(current).await?;
        let access = token
            .access_token
            .as_ref()
            .map(|a| a.expose_secret().to_string())
            .unwrap_or_default();
        *state = Some(token);
        Ok(access)
    }

    /// Forgets the access token, so the next call refreshes.
    pub(crate) async fn invalidate(&self) {
        if let Some(token) = self.state.lock().await.as_mut() {
            token.access_token = None;
        }
    }

    /// Refreshes right away (used by `liaison auth` to prove the grant works);
    /// returns the scopes Google says it granted, when it says.
    pub(crate) async fn refresh_now(&self) -> Result<Option<Vec<String>>, TokenError> {
        let current = self.load()?;
        let (token, granted) = self.refresh_and_store(current).await?;
        *self.state.lock().await = Some(token);
        Ok(granted)
    }

    fn load(&self) -> Result<StoredToken, TokenError> {
        StoredToken::load(&self.path)?.ok_or_else(|| {
            TokenError::Unauthorized(format!("no Google authorization is stored in {}", self.path.display()))
        })
    }

    fn check_grant(&self, token: &StoredToken, scopes: &[&str]) -> Result<(), TokenError> {
        if token.client_id != self.client.client_id {
            return Err(TokenError::Unauthorized(format!(
                "{} was authorized for OAuth client {}, but {} is client {}",
                self.path.display(),
                token.client_id,
                self.client.path.display(),
                self.client.client_id
            )));
        }
        if let Some(missing) = scopes.iter().find(|s| !token.scopes.iter().any(|g| g == *s)) {
            return Err(TokenError::Unauthorized(format!(
                "the stored authorization does not include {missing} (allow it on Google's consent page)"
            )));
        }
        Ok(())
    }

    async fn refresh_and_store(&self, current: StoredToken) -> Result<(StoredToken, Option<Vec<String>>), TokenError> {
        let refreshed = self.refresh(&current.refresh_token).await?;
        let granted = refreshed.scopes.clone();
        let token = StoredToken {
            refresh_token: refreshed.refresh_token.unwrap_or_else(|| current.refresh_token.clone()),
            access_token: Some(refreshed.access_token),
            expires_at: refreshed.expires_at,
            scopes: refreshed.scopes.unwrap_or_else(|| current.scopes.clone()),
            ..current.clone()
        };
        // Keep the file if `liaison auth` replaced it during the refresh; the
        // access token is still good for this process.
        let replaced = StoredToken::load(&self.path).ok().flatten().is_some_and(|now_on_disk| {
            now_on_disk.refresh_token.expose_secret() != current.refresh_token.expose_secret()
        });
        if !replaced && let Err(e) = token.save(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot save the refreshed access token; it is used from memory");
        }
        Ok((token, granted))
    }

    /// One refresh-token grant (RFC 6749 §6) at the client secret's `token_uri`.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<Refreshed, TokenError> {
        let form = [
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.secret.expose_secret()),
            ("refresh_token", refresh_token.expose_secret()),
            ("grant_type", "refresh_token"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, FORM_VALUE)))
        .collect::<Vec<_>>()
        .join("&");
        let request = hyper::Request::post(&self.client.token_uri)
            .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .map_err(|_| {
                TokenError::Unauthorized(format!(
                    "token_uri {:?} in {} is not a valid URL",
                    self.client.token_uri,
                    self.client.path.display()
                ))
            })?;
        let unreachable = |detail: String| {
            TokenError::Transient(format!("Google's token endpoint {} {detail}", self.client.token_uri))
        };
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| unreachable(format!("cannot be reached: {e}")))?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(format!("answer was cut off: {e}")))?
                .to_bytes();
            Ok::<_, TokenError>((status, body))
        };
        let (status, body) = tokio::time::timeout(TOKEN_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("did not answer within {}s", TOKEN_TIMEOUT.as_secs())))??;
        parse_token_answer(status, &body, Timestamp::now(), &self.client.path)
    }
}

/// Reads the token endpoint's answer to a refresh.
fn parse_token_answer(status: u16, body: &[u8], now: Timestamp, client_path: &Path) -> Result<Refreshed, TokenError> {
    #[derive(Deserialize)]
    struct Granted {
        access_token: Option<String>,
        expires_in: Option<i64>,
        scope: Option<String>,
        refresh_token: Option<String>,
        token_type: Option<String>,
    }
    #[derive(Deserialize)]
    struct Refused {
        error: String,
        error_description: Option<String>,
    }
    if (200..300).contains(&status) {
        let granted: Granted = serde_json::from_slice(body).map_err(|e| {
            TokenError::Transient(format!(
                "Google's token endpoint answered {status} with {}",
                json_problem(&e)
            ))
        })?;
        if let Some(kind) = granted.token_type.as_deref()
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(TokenError::Unauthorized(format!(
                "Google's token endpoint issued a {kind:?} token; expected \"Bearer\""
            )));
        }
        let access_token = granted
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| TokenError::Transient("Google's token endpoint answered without an access token".into()))?;
        return Ok(Refreshed {
            access_token: SecretString::from(access_token),
            expires_at: granted
                .expires_in
                .and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok()),
            scopes: granted
                .scope
                .map(|s| s.split_whitespace().map(str::to_string).collect()),
            refresh_token: granted.refresh_token.filter(|t| !t.is_empty()).map(SecretString::from),
        });
    }
    if status == 429 || status >= 500 {
        return Err(TokenError::Transient(format!(
            "Google's token endpoint answered {status}"
        )));
    }
    let Ok(refused) = serde_json::from_slice::<Refused>(body) else {
        return Err(TokenError::Unauthorized(format!(
            "Google's token endpoint answered {status} (check token_uri in {})",
            client_path.display()
        )));
    };
    let what = match &refused.error_description {
        Some(d) => format!("{}: {d}", refused.error),
        None => refused.error.clone(),
    };
    Err(TokenError::Unauthorized(match refused.error.as_str() {
        "invalid_grant" => format!("Google refused the stored authorization ({what}): {INVALID_GRANT_HINT}"),
        "invalid_client" | "unauthorized_client" => format!(
            "Google does not accept the OAuth client of {} ({what}): was it deleted, or its secret reset? \
             Download its JSON again from Google Cloud",
            client_path.display()
        ),
        _ => format!("Google's token endpoint refused the refresh ({what})"),
    }))
}

/// Service-account tokens through yup-oauth2's JWT flow (which never prompts).
pub(crate) struct ServiceAccountTokens {
    auth: Authenticator<Connector>,
    client_email: String,
    client_id: Option<String>,
    subject: String,
    force_refresh: AtomicBool,
}

impl ServiceAccountTokens {
    pub(crate) async fn new(account: &ServiceAccount, subject: &str) -> Result<ServiceAccountTokens, CalendarError> {
        let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
            account.key.clone(),
            CustomHyperClientBuilder::from(token_client()),
        )
        // Every token request, not only those made inside a timed API call.
        .with_timeout(TOKEN_TIMEOUT)
        .subject(subject)
        .build()
        .await
        .map_err(|e| CalendarError::Invalid {
            path: account.path.display().to_string(),
            line: None,
            // The io::Error says what is wrong with the key; it never quotes it.
            message: format!("the service-account key cannot be used: {e}"),
        })?;
        Ok(ServiceAccountTokens {
            auth,
            client_email: account.client_email.clone(),
            client_id: account.client_id.clone(),
            subject: subject.to_string(),
            force_refresh: AtomicBool::new(false),
        })
    }

    async fn access_token(&self, scopes: &[&str]) -> Result<String, TokenError> {
        let token = if self.force_refresh.swap(false, Ordering::Relaxed) {
            self.auth.force_refreshed_token(scopes).await
        } else {
            self.auth.token(scopes).await
        };
        let token = token.map_err(|e| self.explain(e))?;
        token
            .token()
            .map(str::to_string)
            .ok_or_else(|| TokenError::Transient("Google's token endpoint answered without an access token".into()))
    }

    fn explain(&self, e: yup_oauth2::Error) -> TokenError {
        use yup_oauth2::error::AuthErrorCode as Code;
        match e {
            yup_oauth2::Error::AuthError(a)
                if matches!(
                    a.error,
                    Code::UnauthorizedClient | Code::AccessDenied | Code::InvalidGrant | Code::InvalidScope
                ) =>
            {
                TokenError::Unauthorized(format!(
                    "Google refused a token for {} ({a}): in the Google Workspace admin console (Security > API controls > \
                     Domain-wide delegation) the service account's client id {} needs exactly the scopes {} and {}, \
                     and impersonate must name a user of the domain",
                    self.subject,
                    self.client_id.as_deref().unwrap_or("(see the key file)"),
                    SCOPE_FREEBUSY,
                    SCOPE_EVENTS
                ))
            }
            other => token_error_from_yup(other),
        }
    }
}

/// yup-oauth2's errors by what the caller does next.
fn token_error_from_yup(e: yup_oauth2::Error) -> TokenError {
    use yup_oauth2::Error as Y;
    match e {
        Y::HttpError(_) | Y::HttpClientError(_) | Y::JSONError(_) | Y::MissingAccessToken => {
            TokenError::Transient(format!("Google's token endpoint failed: {e}"))
        }
        other => TokenError::Unauthorized(format!("no token from Google: {other}")),
    }
}

/// Where API calls get their access tokens.
#[derive(Clone)]
pub(crate) enum TokenSource {
    Installed(Arc<InstalledTokens>),
    ServiceAccount(Arc<ServiceAccountTokens>),
}

impl TokenSource {
    /// The source `calendar.google.auth` names. Reads and checks the credential
    /// files; a missing token is only an error when a call needs one, so the
    /// daemon can start before `liaison auth`.
    pub(crate) async fn from_config(cfg: &Config) -> Result<TokenSource, CalendarError> {
        let google = &cfg.calendar.google;
        let missing = |key: &str| CalendarError::Invalid {
            path: cfg.path.display().to_string(),
            line: None,
            message: format!("calendar.google.{key} is required"),
        };
        match google.auth {
            GoogleAuth::Installed => {
                let path = google
                    .client_secret
                    .as_deref()
                    .ok_or_else(|| missing("client_secret"))?;
                let client = ClientSecret::read(path)?;
                Ok(TokenSource::Installed(Arc::new(InstalledTokens::new(
                    client,
                    token_path(&cfg.state_dir),
                ))))
            }
            GoogleAuth::ServiceAccount => {
                let path = google
                    .service_account_key
                    .as_deref()
                    .ok_or_else(|| missing("service_account_key"))?;
                let subject = google.impersonate.as_deref().ok_or_else(|| missing("impersonate"))?;
                let account = ServiceAccount::read(path)?;
                Ok(TokenSource::ServiceAccount(Arc::new(
                    ServiceAccountTokens::new(&account, subject).await?,
                )))
            }
        }
    }

    pub(crate) async fn access_token(&self, scopes: &[&str]) -> Result<String, TokenError> {
        match self {
            TokenSource::Installed(t) => t.access_token(scopes).await,
            TokenSource::ServiceAccount(t) => t.access_token(scopes).await,
        }
    }

    /// The API refused the current access token: get a new one next time.
    pub(crate) async fn invalidate(&self) {
        match self {
            TokenSource::Installed(t) => t.invalidate().await,
            TokenSource::ServiceAccount(t) => t.force_refresh.store(true, Ordering::Relaxed),
        }
    }
}

type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, Box<dyn std::error::Error + Send + Sync>>> + Send + 'a>>;

impl GetToken for TokenSource {
    fn get_token<'a>(&'a self, scopes: &'a [&str]) -> TokenFuture<'a> {
        Box::pin(async move {
            self.access_token(scopes)
                .await
                .map(Some)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

// ---------------------------------------------------------------------------
// `liaison auth`
// ---------------------------------------------------------------------------

/// Options of `liaison auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthOptions {
    /// Open the consent page with `xdg-open`/`open` (the URL is printed anyway).
    pub open_browser: bool,
}

/// What `liaison auth` achieved, for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthReport {
    Installed {
        token_path: PathBuf,
        /// Scopes Google says it granted (`None`: it did not say).
        granted: Option<Vec<String>>,
    },
    ServiceAccount {
        client_email: String,
        subject: String,
    },
}

/// Runs the one-time authorization `calendar.google.auth` names. The installed
/// flow prints the consent URL on stdout (alone on its line), opens a browser
/// unless told not to, waits for the loopback redirect, stores the token and
/// proves it can be refreshed; the service-account flow fetches one token.
pub async fn authorize(cfg: &Config, options: AuthOptions) -> Result<AuthReport, CalendarError> {
    match TokenSource::from_config(cfg).await? {
        TokenSource::Installed(tokens) => {
            crate::store::create_private_dir(&cfg.state_dir).map_err(|e| match e {
                crate::store::StoreError::Io { path, source } => CalendarError::Io { path, source },
                other => CalendarError::Io {
                    path: cfg.state_dir.clone(),
                    source: std::io::Error::other(other.to_string()),
                },
            })?;
            let sink = TokenFileSink {
                path: tokens.path.clone(),
                client_id: tokens.client.client_id.clone(),
            };
            let consent = yup_oauth2::InstalledFlowAuthenticator::with_client(
                tokens.client.to_application_secret(),
                InstalledFlowReturnMethod::HTTPRedirect,
                CustomHyperClientBuilder::from(token_client()),
            )
            .flow_delegate(Box::new(ConsentPage {
                open_browser: options.open_browser,
            }))
            // `prompt=consent` makes Google issue a refresh token even when this
            // client was authorized before; without it a second `liaison auth`
            // would get an access token only, useless after an hour.
            .force_account_selection(true)
            // The code exchange at the token endpoint, up to the answer's
            // head: without this, a server that accepts and never answers
            // holds `liaison auth` until the consent timeout (10 minutes),
            // long after the browser came back.
            .with_timeout(TOKEN_TIMEOUT)
            .with_storage(Box::new(sink))
            .build()
            .await
            .map_err(|e| CalendarError::Transient(format!("cannot start the authorization: {e}")))?;
            match tokio::time::timeout(CONSENT_TIMEOUT, consent.token(&SCOPES)).await {
                Err(_) => {
                    return Err(CalendarError::Unauthorized(format!(
                        "no answer from the browser within {} minutes",
                        CONSENT_TIMEOUT.as_secs() / 60
                    )));
                }
                Ok(Err(e)) => return Err(consent_error(e).into()),
                Ok(Ok(_)) => {}
            }
            let granted = tokens.refresh_now().await?;
            if let Some(granted) = &granted
                && let Some(missing) = SCOPES.iter().find(|s| !granted.iter().any(|g| g == *s))
            {
                return Err(CalendarError::Unauthorized(format!(
                    "Google granted {} but not {missing}: tick every box on the consent page",
                    granted.join(" ")
                )));
            }
            Ok(AuthReport::Installed {
                token_path: tokens.path.clone(),
                granted,
            })
        }
        TokenSource::ServiceAccount(tokens) => {
            let token = tokio::time::timeout(TOKEN_TIMEOUT, tokens.access_token(&SCOPES))
                .await
                .map_err(|_| CalendarError::Transient("Google's token endpoint did not answer".into()))?;
            token?;
            Ok(AuthReport::ServiceAccount {
                client_email: tokens.client_email.clone(),
                subject: tokens.subject.clone(),
            })
        }
    }
}

fn consent_error(e: yup_oauth2::Error) -> TokenError {
    use yup_oauth2::error::AuthErrorCode as Code;
    match e {
        yup_oauth2::Error::AuthError(a) if a.error == Code::AccessDenied => {
            TokenError::Unauthorized(format!("access was not granted on Google's consent page ({a})"))
        }
        yup_oauth2::Error::AuthError(a) => {
            TokenError::Unauthorized(format!("Google refused the authorization code ({a})"))
        }
        yup_oauth2::Error::StorageError(s) => TokenError::Unauthorized(format!("cannot store the token: {s}")),
        other => token_error_from_yup(other),
    }
}

impl fmt::Display for AuthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthReport::Installed { token_path, granted } => {
                writeln!(f, "Authorized: liaison can now read free/busy and manage its events.")?;
                match granted {
                    Some(scopes) => writeln!(f, "granted scopes: {}", scopes.join(" "))?,
                    None => writeln!(
                        f,
                        "granted scopes: {} (as requested; Google did not list them)",
                        SCOPES.join(" ")
                    )?,
                }
                writeln!(f, "token stored in {} (mode 0600)", token_path.display())
            }
            AuthReport::ServiceAccount { client_email, subject } => {
                writeln!(f, "Authorized: service account {client_email} can act for {subject}.")?;
                writeln!(f, "granted scopes: {}", SCOPES.join(" "))?;
                writeln!(f, "no token is stored: service-account tokens are fetched when needed")
            }
        }
    }
}

/// yup-oauth2's delegate for `liaison auth`: prints the URL, opens a browser.
struct ConsentPage {
    open_browser: bool,
}

impl InstalledFlowDelegate for ConsentPage {
    fn present_user_url<'a>(
        &'a self,
        url: &'a str,
        _need_code: bool,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            {
                // The URL alone on its line, on stdout, so a script can follow it.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "Open this page in a browser, sign in with the organizer's Google account and allow access:"
                );
                let _ = writeln!(out, "{url}");
                let _ = writeln!(out, "Waiting for Google to send the browser back here...");
                let _ = out.flush();
            }
            if self.open_browser {
                open_in_browser(url);
            }
            Ok(String::new())
        })
    }
}

/// Best effort: without a desktop the printed URL is all there is.
fn open_in_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background so it never lingers as a zombie.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => tracing::debug!(opener, error = %e, "no browser opened; open the printed URL yourself"),
    }
}

// ---------------------------------------------------------------------------
// `liaison check`
// ---------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_JSON: &str = r#"{"installed":{"client_id":"123.apps.googleusercontent.com","project_id":"p",
        "auth_uri":"http://127.0.0.1:9/o/oauth2/auth","token_uri":"http://127.0.0.1:9/token",
        "client_secret":"GOCSPX-very-secret","redirect_uris":["http://localhost"]}}"#;

    fn client() -> ClientSecret {
        ClientSecret::parse(CLIENT_JSON.as_bytes(), Path::new("client.json")).unwrap()
    }

    fn stored(client_id: &str) -> StoredToken {
        StoredToken {
            client_id: client_id.into(),
            refresh_token: SecretString::from("1//refresh-secret".to_string()),
            access_token: Some(SecretString::from("ya29.access-secret".to_string())),
            expires_at: Some("2026-03-02T15:00:00Z".parse().unwrap()),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            authorized_at: "2026-03-02T14:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn the_client_secret_honours_its_uris_and_never_prints_the_secret() {
        let c = client();
        assert_eq!(c.client_id, "123.apps.googleusercontent.com");
        assert_eq!(c.auth_uri, "http://127.0.0.1:9/o/oauth2/auth");
        assert_eq!(c.token_uri, "http://127.0.0.1:9/token");
        let app = c.to_application_secret();
        assert_eq!(app.token_uri, c.token_uri);
        assert_eq!(app.client_secret, "GOCSPX-very-secret");
        let debug = format!("{c:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
    }

    #[test]
    fn bad_client_secret_files_are_explained_without_quoting_them() {
        let cases = [
            ("{", "ends too early"),
            (
                "{\"installed\": {\"client_id\": 5, \"client_secret\": \"s3cr3t\"}}",
                "missing or mistyped field",
            ),
            ("{\"other\": {}}", "neither \"installed\" nor \"web\""),
            (
                r#"{"installed":{"client_id":"i","client_secret":"s3cr3t","auth_uri":"file:///x","token_uri":"https://t"}}"#,
                "auth_uri \"file:///x\" is not an http(s) URL",
            ),
            (
                r#"{"web":{"client_id":"i","client_secret":"","auth_uri":"https://a","token_uri":"https://t"}}"#,
                "is empty",
            ),
        ];
        for (text, expected) in cases {
            let err = ClientSecret::parse(text.as_bytes(), Path::new("c.json")).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
        let err = ClientSecret::read(Path::new("/nonexistent/client.json")).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/client.json: "), "{err}");
    }

    #[test]
    fn a_service_account_key_never_prints_its_private_key() {
        let json = r#"{"type":"service_account","project_id":"p","private_key_id":"kid",
            "private_key":"-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n",
            "client_email":"liaison@p.iam.gserviceaccount.com","client_id":"42",
            "token_uri":"http://127.0.0.1:9/token"}"#;
        let account = ServiceAccount::parse(json.as_bytes(), Path::new("key.json")).unwrap();
        assert_eq!(account.client_email, "liaison@p.iam.gserviceaccount.com");
        let debug = format!("{account:?}");
        assert!(
            !debug.contains("TOPSECRET") && !debug.contains("PRIVATE KEY"),
            "{debug}"
        );
        let not_pem = json.replace(
            "-----BEGIN PRIVATE KEY-----\\nTOPSECRET\\n-----END PRIVATE KEY-----\\n",
            "TOPSECRET",
        );
        let err = ServiceAccount::parse(not_pem.as_bytes(), Path::new("key.json")).unwrap_err();
        assert!(
            err.contains("not a PEM private key") && !err.contains("TOPSECRET"),
            "{err}"
        );
    }

    #[test]
    fn stored_tokens_print_no_secret() {
        let token = stored("c");
        let debug = format!("{token:?}");
        assert!(
            !debug.contains("refresh-secret") && !debug.contains("access-secret"),
            "{debug}"
        );
    }

    #[test]
    fn the_token_file_round_trips_with_mode_0600_and_no_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let token = stored("c");
        token.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let back = StoredToken::load(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token.expose_secret(), "1//refresh-secret");
        assert_eq!(back.access_token.unwrap().expose_secret(), "ya29.access-secret");
        assert_eq!(back.scopes, SCOPES);
        assert_eq!(back.authorized_at, token.authorized_at);
        // Overwriting replaces the file whole; no temporary file is left.
        let mut second = stored("c");
        second.access_token = None;
        second.save(&path).unwrap();
        assert!(StoredToken::load(&path).unwrap().unwrap().access_token.is_none());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [TOKEN_FILE]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_token_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        stored("old").save(&path).unwrap();
        // Renaming onto a directory fails after the temporary file was written.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), "x").unwrap();
        assert!(stored("new").save(&blocked).is_err());
        assert_eq!(StoredToken::load(&path).unwrap().unwrap().client_id, "old");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn missing_and_damaged_token_files_are_unauthorized() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        assert!(StoredToken::load(&path).unwrap().is_none());
        let tokens = InstalledTokens::new(client(), path.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(tokens.access_token(&[SCOPE_FREEBUSY])).unwrap_err();
        assert_eq!(
            err,
            TokenError::Unauthorized(format!("no Google authorization is stored in {}", path.display()))
        );
        std::fs::write(&path, "{\"refresh_token\": \"1//leak\"").unwrap();
        let err = StoredToken::load(&path).unwrap_err();
        assert!(
            matches!(&err, TokenError::Unauthorized(m) if m.contains("ends too early") && !m.contains("leak")),
            "{err:?}"
        );
    }

    #[test]
    fn a_fresh_stored_token_is_used_without_a_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let mut token = stored("123.apps.googleusercontent.com");
        token.expires_at = Some(Timestamp::now().checked_add(SignedDuration::from_mins(30)).unwrap());
        token.save(&path).unwrap();
        // The client's token_uri is a closed port: any refresh would fail.
        let tokens = InstalledTokens::new(client(), path);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(
            rt.block_on(tokens.access_token(&[SCOPE_EVENTS])).unwrap(),
            "ya29.access-secret"
        );
        // Once the API refuses it, the next call refreshes, and an unreachable
        // token endpoint is a transient failure, not a reason to re-authorize.
        rt.block_on(tokens.invalidate());
        let err = rt.block_on(tokens.access_token(&[SCOPE_EVENTS])).unwrap_err();
        assert!(matches!(err, TokenError::Transient(_)), "{err:?}");
    }

    #[test]
    fn a_token_of_another_client_or_without_a_scope_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let tokens = InstalledTokens::new(client(), path);
        let err = tokens.check_grant(&stored("other-client"), &SCOPES).unwrap_err();
        assert!(
            matches!(&err, TokenError::Unauthorized(m) if m.contains("OAuth client other-client")),
            "{err:?}"
        );
        let mut narrow = stored("123.apps.googleusercontent.com");
        narrow.scopes = vec![SCOPE_FREEBUSY.into()];
        assert!(tokens.check_grant(&narrow, &[SCOPE_FREEBUSY]).is_ok());
        let err = tokens.check_grant(&narrow, &[SCOPE_EVENTS]).unwrap_err();
        assert!(
            matches!(&err, TokenError::Unauthorized(m) if m.contains(SCOPE_EVENTS)),
            "{err:?}"
        );
    }

    #[test]
    fn token_endpoint_answers_are_read_by_what_to_do_next() {
        let now: Timestamp = "2026-03-02T14:00:00Z".parse().unwrap();
        let p = Path::new("client.json");
        let ok = parse_token_answer(
            200,
            br#"{"access_token":"ya29.new","expires_in":3599,"scope":"https://www.googleapis.com/auth/calendar.freebusy https://www.googleapis.com/auth/calendar.events.owned","token_type":"Bearer"}"#,
            now,
            p,
        )
        .unwrap();
        assert_eq!(ok.access_token.expose_secret(), "ya29.new");
        assert_eq!(ok.expires_at, Some("2026-03-02T14:59:59Z".parse().unwrap()));
        assert_eq!(ok.scopes.as_deref(), Some(&SCOPES.map(String::from)[..]));
        assert!(ok.refresh_token.is_none());

        let invalid_grant = parse_token_answer(
            400,
            br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
            now,
            p,
        )
        .unwrap_err();
        let TokenError::Unauthorized(message) = &invalid_grant else {
            panic!("{invalid_grant:?}")
        };
        assert!(
            message.contains("invalid_grant: Token has been expired or revoked."),
            "{message}"
        );
        assert!(message.contains("\"Testing\""), "{message}");
        assert!(message.contains("expire after 7 days"), "{message}");
        let shown = CalendarError::from(invalid_grant).to_string();
        assert!(shown.ends_with("; run `liaison auth`"), "{shown}");

        let cases: [(u16, &[u8], &str); 7] = [
            (401, br#"{"error":"invalid_client"}"#, "unauthorized"),
            (400, br#"{"error":"unauthorized_client"}"#, "unauthorized"),
            (404, b"<html>not here</html>", "unauthorized"),
            (500, b"oops", "transient"),
            (503, br#"{"error":"unavailable"}"#, "transient"),
            (200, br#"{"token_type":"Bearer"}"#, "transient"),
            (200, b"not json", "transient"),
        ];
        for (status, body, expected) in cases {
            let got = match parse_token_answer(status, body, now, p) {
                Err(TokenError::Unauthorized(_)) => "unauthorized",
                Err(TokenError::Transient(_)) => "transient",
                Ok(_) => "ok",
            };
            assert_eq!(got, expected, "{status} {}", String::from_utf8_lossy(body));
        }
    }

    #[tokio::test]
    async fn the_consent_sink_stores_what_google_granted_and_refuses_a_missing_refresh_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        let sink = TokenFileSink {
            path: path.clone(),
            client_id: "c".into(),
        };
        let info = |refresh: Option<&str>| TokenInfo {
            access_token: Some("ya29.a".into()),
            refresh_token: refresh.map(String::from),
            expires_at: None,
            id_token: None,
        };
        assert!(sink.get(&SCOPES).await.is_none(), "liaison auth always asks afresh");
        let err = sink.set(&SCOPES, info(None)).await.unwrap_err();
        assert!(err.to_string().contains("no refresh token"), "{err}");
        assert!(!path.exists());
        sink.set(&SCOPES, info(Some("1//r"))).await.unwrap();
        let stored = StoredToken::load(&path).unwrap().unwrap();
        assert_eq!(stored.scopes, SCOPES);
        assert_eq!(stored.client_id, "c");
        assert_eq!(stored.refresh_token.expose_secret(), "1//r");
    }

    #[test]
    fn auth_reports_name_the_scopes_and_the_file() {
        let report = AuthReport::Installed {
            token_path: PathBuf::from("/var/lib/liaison/token.json"),
            granted: Some(SCOPES.map(String::from).to_vec()),
        };
        let text = report.to_string();
        assert!(
            text.contains(&format!("granted scopes: {SCOPE_FREEBUSY} {SCOPE_EVENTS}")),
            "{text}"
        );
        assert!(
            text.contains("token stored in /var/lib/liaison/token.json (mode 0600)"),
            "{text}"
        );
    }
}

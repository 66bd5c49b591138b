//! Where API calls get their access tokens: [`TokenSource`], the kind
//! `calendar.google.auth` names — the installed kind's stored and refreshed
//! token, or a service account's tokens from yup-oauth2's JWT flow (which
//! never prompts; nothing is stored) — handed to the hub as its `GetToken`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use google_calendar3::common::GetToken;
use yup_oauth2::CustomHyperClientBuilder;
use yup_oauth2::authenticator::Authenticator;

use super::credentials::{ClientSecret, ServiceAccount};
use super::error::TokenError;
use super::refresh::{InstalledTokens, TOKEN_TIMEOUT};
use super::token_store::token_path;
use crate::calendar::CalendarError;
use crate::calendar::google::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY};
use crate::calendar::http::{Connector, http_client};
use crate::config::{Config, GoogleAuth};

/// Service-account tokens through yup-oauth2's JWT flow (which never prompts).
pub(crate) struct ServiceAccountTokens {
    auth: Authenticator<Connector>,
    pub(super) client_email: String,
    client_id: Option<String>,
    pub(super) subject: String,
    force_refresh: AtomicBool,
}

impl ServiceAccountTokens {
    pub(crate) async fn new(account: &ServiceAccount, subject: &str) -> Result<ServiceAccountTokens, CalendarError> {
        let auth = yup_oauth2::ServiceAccountAuthenticator::with_client(
            account.key.clone(),
            CustomHyperClientBuilder::from(http_client()),
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
            message: format!("its private_key cannot be used: {e}"),
        })?;
        Ok(ServiceAccountTokens {
            auth,
            client_email: account.client_email.clone(),
            client_id: account.client_id.clone(),
            subject: subject.to_string(),
            force_refresh: AtomicBool::new(false),
        })
    }

    pub(super) async fn access_token(&self, scopes: &[&str]) -> Result<String, TokenError> {
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

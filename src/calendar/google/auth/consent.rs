//! `liaison auth`, the one-time authorization: for the installed kind,
//! yup-oauth2's installed flow with a loopback redirect (the consent URL
//! printed, a browser opened), its result stored in the token file through
//! [`TokenFileSink`] and proved by one refresh; for a service account, one
//! token fetched. The only place that may show a consent page.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use jiff::Timestamp;
use secrecy::SecretString;
use yup_oauth2::authenticator_delegate::InstalledFlowDelegate;
use yup_oauth2::storage::{TokenInfo, TokenStorage, TokenStorageError};
use yup_oauth2::{CustomHyperClientBuilder, InstalledFlowReturnMethod};

use super::error::TokenError;
use super::refresh::TOKEN_TIMEOUT;
use super::token_store::StoredToken;
use super::tokens::{TokenSource, token_error_from_yup};
use crate::calendar::CalendarError;
use crate::calendar::google::scopes::SCOPES;
use crate::calendar::http::http_client;
use crate::config::Config;

/// How long `liaison auth` waits for the browser to come back.
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(600);

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
            crate::fsutil::create_private_dir(&cfg.state_dir).map_err(|source| CalendarError::Io {
                path: cfg.state_dir.clone(),
                source,
            })?;
            let sink = TokenFileSink {
                path: tokens.path.clone(),
                client_id: tokens.client.client_id.clone(),
            };
            let consent = yup_oauth2::InstalledFlowAuthenticator::with_client(
                tokens.client.to_application_secret(),
                InstalledFlowReturnMethod::HTTPRedirect,
                CustomHyperClientBuilder::from(http_client()),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use secrecy::ExposeSecret as _;

    use super::super::token_store::token_path;
    use super::*;
    use crate::calendar::google::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY};

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

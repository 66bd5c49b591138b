//! `liaison auth`, the one-time authorization: for the installed kind, the
//! authorization-code flow with a loopback redirect, `state` and PKCE (S256)
//! — the consent URL printed and a browser opened, the redirect accepted only
//! with this authorization's `state` (`loopback`), the code redeemed with its
//! verifier, the token stored and proved by one refresh; for a service
//! account, one token fetched. The only place that may show a consent page.
//!
//! Not yup-oauth2's installed flow, which sends neither `state` nor a PKCE
//! challenge and takes the first `?code=` any local process sends to its
//! port; yup-oauth2 still serves the service accounts (`tokens`).

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::error::TokenError;
use super::loopback::{Answer, Loopback};
use super::pkce::{Pkce, new_state};
use super::refresh::{InstalledTokens, TOKEN_TIMEOUT};
use super::tokens::TokenSource;
use crate::calendar::CalendarError;
use crate::calendar::google::scopes::SCOPES;
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
/// unless told not to, waits for the loopback redirect of this authorization,
/// stores the token and proves it can be refreshed; the service-account flow
/// fetches one token.
pub async fn authorize(cfg: &Config, options: AuthOptions) -> Result<AuthReport, CalendarError> {
    match TokenSource::from_config(cfg).await? {
        TokenSource::Installed(tokens) => {
            crate::fsutil::create_private_dir(&cfg.state_dir).map_err(|source| CalendarError::Io {
                path: cfg.state_dir.clone(),
                source,
            })?;
            let granted = consent(&tokens, options).await?;
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

/// The installed flow: consent in the browser, the code redeemed and stored,
/// one refresh; answers the scopes Google says it granted.
async fn consent(tokens: &InstalledTokens, options: AuthOptions) -> Result<Option<Vec<String>>, CalendarError> {
    let state = new_state();
    let pkce = Pkce::new();
    let listener = Loopback::bind(state.clone())
        .await
        .map_err(|e| CalendarError::Transient(format!("cannot listen on 127.0.0.1 for the browser: {e}")))?;
    let redirect_uri = listener.redirect_uri();
    let url = consent_url(
        &tokens.client.auth_uri,
        &tokens.client.client_id,
        &redirect_uri,
        &state,
        &pkce,
    );
    present(url.as_str(), options.open_browser);
    let answer = match tokio::time::timeout(CONSENT_TIMEOUT, listener.wait()).await {
        Err(_) => {
            return Err(CalendarError::Unauthorized(format!(
                "no answer from the browser within {} minutes",
                CONSENT_TIMEOUT.as_secs() / 60
            )));
        }
        Ok(Err(e)) => {
            return Err(CalendarError::Transient(format!(
                "the listener for the browser failed: {e}"
            )));
        }
        Ok(Ok(answer)) => answer,
    };
    let code = match answer {
        Answer::Code(code) => code,
        Answer::Refused { error, description } => return Err(refusal(&error, description.as_deref()).into()),
    };
    let token = tokens
        .redeem_code(&code, &redirect_uri, pkce.verifier(), &SCOPES)
        .await?;
    token.save(&tokens.path).map_err(|source| CalendarError::Io {
        path: tokens.path.clone(),
        source,
    })?;
    Ok(tokens.refresh_now().await?)
}

/// The consent page's URL: Google's parameters for an installed app, this
/// authorization's `state` and PKCE challenge.
fn consent_url(auth_uri: &url::Url, client_id: &str, redirect_uri: &str, state: &str, pkce: &Pkce) -> url::Url {
    let mut url = auth_uri.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &SCOPES.join(" "))
        // A refresh token, the only thing that lasts.
        .append_pair("access_type", "offline")
        // `consent` makes Google issue a refresh token even when this client
        // was authorized before (without it a second `liaison auth` would
        // get an access token only, useless after an hour);
        // `select_account` lets the user pick the organizer's account.
        .append_pair("prompt", "select_account consent")
        .append_pair("state", state)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", Pkce::METHOD);
    url
}

/// Google's `error` on the redirect, in plain words.
fn refusal(error: &str, description: Option<&str>) -> TokenError {
    let detail = description.map(|d| format!(": {d}")).unwrap_or_default();
    TokenError::Unauthorized(if error == "access_denied" {
        format!("access was not granted on Google's consent page ({error}{detail})")
    } else {
        format!("Google's consent page answered with an error ({error}{detail})")
    })
}

/// Prints the URL alone on its line on stdout (so a script can follow it)
/// and opens a browser when asked.
fn present(url: &str, open_browser: bool) {
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Open this page in a browser, sign in with the organizer's Google account and allow access:"
        );
        let _ = writeln!(out, "{url}");
        let _ = writeln!(out, "Waiting for Google to send the browser back here...");
        let _ = out.flush();
    }
    if open_browser {
        open_in_browser(url);
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::calendar::google::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY};

    #[test]
    fn the_consent_url_carries_state_and_an_s256_challenge() {
        let auth_uri = url::Url::parse("http://127.0.0.1:9/o/oauth2/auth?hd=example.org").unwrap();
        let pkce = Pkce::new();
        let url = consent_url(&auth_uri, "123.apps", "http://127.0.0.1:4711", "the-state", &pkce);
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("hd"), Some("example.org"), "the URI's own query is kept");
        assert_eq!(get("client_id"), Some("123.apps"));
        assert_eq!(get("redirect_uri"), Some("http://127.0.0.1:4711"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("scope"), Some(SCOPES.join(" ").as_str()));
        assert_eq!(get("access_type"), Some("offline"));
        assert_eq!(get("state"), Some("the-state"));
        assert_eq!(
            get("code_challenge"),
            Some(super::super::pkce::s256(pkce.verifier()).as_str())
        );
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert!(!url.as_str().contains(pkce.verifier()), "the verifier never travels");
    }

    #[test]
    fn a_refused_consent_is_said_plainly() {
        let denied = CalendarError::from(refusal("access_denied", None)).to_string();
        assert_eq!(
            denied,
            "authorization needed: access was not granted on Google's consent page (access_denied); run `liaison auth`"
        );
        let other = refusal("invalid_scope", Some("Some requested scopes were invalid.")).to_string();
        assert!(
            other.contains("(invalid_scope: Some requested scopes were invalid.)"),
            "{other}"
        );
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

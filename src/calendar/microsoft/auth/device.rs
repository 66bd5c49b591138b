//! `liaison auth` for Microsoft: the device authorization grant (RFC 8628)
//! for `device_code` — the verification URL and the user code printed, the
//! token endpoint polled every `interval` seconds (`authorization_pending`:
//! go on; `slow_down`: 5 s more, RFC 8628 §3.5; `authorization_declined`,
//! or RFC 8628's `access_denied`, and `expired_token`: stop), the grant
//! stored 0600 — or, for `client_credentials`, one token fetched to prove
//! the secret. The only place that waits for a person.
//! (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code,
//! https://www.rfc-editor.org/rfc/rfc8628#section-3.5)

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use super::account::{api_root, check_organizer, whoami};
use super::token_file::StoredGrant;
use super::{DELEGATED_SCOPES, TokenError, TokenSource, explain, granted, post_form};
use crate::calendar::CalendarError;
use crate::config::Config;

/// RFC 8628 §3.5: "the interval MUST be increased by 5 seconds" on `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// The polling interval when the answer names none (RFC 8628 §3.2: 5 s).
const DEFAULT_INTERVAL: u64 = 5;
/// The longest wait when the answer names no expiry (Microsoft: 15 minutes).
const DEFAULT_EXPIRY: u64 = 900;

/// What `liaison auth` achieved, for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthReport {
    Delegated {
        token_path: PathBuf,
        scopes: Vec<String>,
        /// Who signed in.
        account: String,
    },
    App {
        client_id: String,
        tenant: String,
    },
}

impl fmt::Display for AuthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthReport::Delegated {
                token_path,
                scopes,
                account,
            } => {
                writeln!(
                    f,
                    "Authorized: liaison can now read free/busy and manage the organizer's events."
                )?;
                writeln!(f, "signed in as: {account}")?;
                writeln!(f, "granted permissions: {}", scopes.join(" "))?;
                writeln!(f, "token stored in {} (mode 0600)", token_path.display())
            }
            AuthReport::App { client_id, tenant } => {
                writeln!(
                    f,
                    "Authorized: app {client_id} got a token from tenant {tenant} with its client secret."
                )?;
                writeln!(f, "no token is stored: app tokens are fetched when needed")
            }
        }
    }
}

/// Runs the one-time authorization `calendar.microsoft.auth` names.
pub async fn authorize(cfg: &Config) -> Result<AuthReport, CalendarError> {
    match TokenSource::from_config(cfg)? {
        TokenSource::App(app) => {
            app.access_token().await?;
            Ok(AuthReport::App {
                client_id: app.endpoints.client_id.clone(),
                tenant: app.endpoints.tenant.clone(),
            })
        }
        TokenSource::Delegated(d) => {
            crate::fsutil::create_private_dir(&cfg.state_dir).map_err(|source| CalendarError::Io {
                path: cfg.state_dir.clone(),
                source,
            })?;
            let scope = DELEGATED_SCOPES.join(" ");
            let started = post_form(
                &d.http,
                &d.endpoints.device_code(),
                &[("client_id", d.endpoints.client_id.as_str()), ("scope", &scope)],
            )
            .await?
            .map_err(|r| explain(&r, "Microsoft refused to start the sign-in"))?;
            let field = |k: &str| started.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let number = |k: &str, default: u64| {
                started
                    .get(k)
                    .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
                    .unwrap_or(default)
            };
            let (device_code, user_code, uri) = (field("device_code"), field("user_code"), field("verification_uri"));
            if device_code.is_empty() || user_code.is_empty() || uri.is_empty() {
                return Err(TokenError::Transient(
                    "Microsoft's device code answer lacks device_code, user_code or verification_uri".into(),
                )
                .into());
            }
            let expires_in = number("expires_in", DEFAULT_EXPIRY);
            present(&uri, &user_code, expires_in);
            let mut interval = Duration::from_secs(number("interval", DEFAULT_INTERVAL));
            let deadline = std::time::Instant::now() + Duration::from_secs(expires_in);
            loop {
                tokio::time::sleep(interval).await;
                let answer = post_form(
                    &d.http,
                    &d.endpoints.token(),
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                        ("client_id", d.endpoints.client_id.as_str()),
                        ("device_code", &device_code),
                    ],
                )
                .await;
                let refusal = match answer {
                    Ok(Ok(json)) => {
                        let g = granted(&json, Timestamp::now())?;
                        let refresh_token = g.refresh_token.ok_or_else(|| {
                            TokenError::Unauthorized(
                                "Microsoft's answer has no refresh token (offline_access was not granted), so liaison could not renew access".into(),
                            )
                        })?;
                        let scopes = g
                            .scopes
                            .unwrap_or_else(|| DELEGATED_SCOPES.iter().map(|s| s.to_string()).collect());
                        if !scopes.iter().any(|s| {
                            s.eq_ignore_ascii_case("Calendars.ReadWrite") || s.ends_with("/Calendars.ReadWrite")
                        }) {
                            return Err(TokenError::Unauthorized(format!(
                                "Microsoft granted {} but not Calendars.ReadWrite: grant it (or have an admin consent) and run `liaison auth` again",
                                scopes.join(" ")
                            ))
                            .into());
                        }
                        // Who signed in, before anything is stored: a grant of
                        // another person than the organizer is never kept.
                        let account = whoami(&d.http, &api_root(cfg)?, &g.access_token).await?;
                        check_organizer(cfg, &account)?;
                        let grant = StoredGrant {
                            tenant: d.endpoints.tenant.clone(),
                            client_id: d.endpoints.client_id.clone(),
                            refresh_token,
                            access_token: Some(g.access_token),
                            expires_at: g.expires_at,
                            scopes: scopes.clone(),
                            authorized_at: Timestamp::now(),
                            account: Some(account.clone()),
                        };
                        grant.save(&d.path).map_err(|source| CalendarError::Io {
                            path: d.path.clone(),
                            source,
                        })?;
                        *d.state.lock().await = Some(grant);
                        return Ok(AuthReport::Delegated {
                            token_path: d.path.clone(),
                            scopes,
                            account: account.address().to_string(),
                        });
                    }
                    Ok(Err(refusal)) => refusal,
                    // The endpoint did not answer: ask again at the next interval.
                    Err(TokenError::Transient(why)) => {
                        tracing::warn!(error = %why, "polling Microsoft's token endpoint failed; trying again");
                        if std::time::Instant::now() >= deadline {
                            return Err(TokenError::Unauthorized(format!("the sign-in code expired: {why}")).into());
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                match refusal.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" => interval += SLOW_DOWN_STEP,
                    "authorization_declined" | "access_denied" => {
                        return Err(TokenError::Unauthorized(format!(
                            "the sign-in was declined at Microsoft's page ({}: {})",
                            refusal.error, refusal.description
                        ))
                        .into());
                    }
                    "expired_token" => {
                        return Err(TokenError::Unauthorized(format!(
                            "the code {user_code} expired before the sign-in was completed ({}); run `liaison auth` again and enter the new code within {} minutes",
                            refusal.description,
                            expires_in / 60
                        ))
                        .into());
                    }
                    _ => return Err(explain(&refusal, "Microsoft refused the sign-in").into()),
                }
                if std::time::Instant::now() >= deadline {
                    return Err(TokenError::Unauthorized(format!(
                        "the code {user_code} expired before the sign-in was completed; run `liaison auth` again"
                    ))
                    .into());
                }
            }
        }
    }
}

/// Prints where to go and the code, each alone on its line (a script can
/// read them), on stdout.
fn present(uri: &str, user_code: &str, expires_in: u64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Sign in as the organizer: open this page in a browser and enter the code below."
    );
    let _ = writeln!(out, "{uri}");
    let _ = writeln!(out, "code: {user_code}");
    let _ = writeln!(
        out,
        "Waiting for the sign-in (the code expires in {} minutes)...",
        (expires_in / 60).max(1)
    );
    let _ = out.flush();
}

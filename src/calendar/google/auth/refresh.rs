//! Access tokens of the installed kind: the stored one while fresh, else our
//! own refresh-token grant (RFC 6749 §6) at the client secret's `token_uri`,
//! whose refusal (`invalid_grant`, often the 7-day expiry of apps in
//! "Testing") is explained in plain words. Never asks for consent; see the
//! `auth` module for why the refresh is not left to yup-oauth2. Also the
//! one redemption of an authorization code with its PKCE verifier (RFC 6749
//! §4.1.3, RFC 7636 §4.5) for `liaison auth`: the same endpoint and answer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use google_calendar3::hyper;
use jiff::{SignedDuration, Timestamp};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::credentials::{ClientSecret, json_problem};
use super::error::TokenError;
use super::token_store::StoredToken;
use crate::calendar::http::{HttpClient, exchange, http_client};

/// Longest wait for Google's token endpoint.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read from the token endpoint (a token answer is a few
/// hundred bytes).
const TOKEN_BODY_LIMIT: usize = 1024 * 1024;

/// The plain-words explanation of `invalid_grant` for installed apps.
const INVALID_GRANT_HINT: &str = "it was revoked, or it expired. OAuth apps left in Google's \"Testing\" \
     publishing status get refresh tokens that expire after 7 days: publish the app (\"In production\") \
     on the OAuth consent screen in Google Cloud to keep them";

/// Bytes left as they are in an `application/x-www-form-urlencoded` value.
const FORM_VALUE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'*');

/// Access tokens of the installed flow: the stored one while fresh, else a
/// refresh with the stored refresh token. Never asks for consent.
pub(crate) struct InstalledTokens {
    pub(super) client: ClientSecret,
    pub(super) path: PathBuf,
    http: HttpClient,
    /// One refresh at a time; `None` until the file is first read.
    state: tokio::sync::Mutex<Option<StoredToken>>,
}

/// Which grant a token request makes, for its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    Refresh,
    Code,
}

/// What a successful refresh (or code redemption) gave.
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
            http: http_client(),
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

    pub(super) fn check_grant(&self, token: &StoredToken, scopes: &[&str]) -> Result<(), TokenError> {
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

    /// Redeems the authorization code of `liaison auth` with its PKCE
    /// verifier, and answers the token to store: `scopes` are those asked
    /// for, when Google's answer does not list the granted ones.
    pub(super) async fn redeem_code(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        verifier: &str,
        scopes: &[&str],
    ) -> Result<StoredToken, TokenError> {
        let form = [
            ("code", code.expose_secret()),
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.secret.expose_secret()),
            ("redirect_uri", redirect_uri),
            ("grant_type", "authorization_code"),
            ("code_verifier", verifier),
        ];
        let (status, body) = self.post_form(&form).await?;
        let granted = parse_token_answer(status, &body, Timestamp::now(), &self.client.path, Grant::Code)?;
        let refresh_token = granted.refresh_token.ok_or_else(|| {
            TokenError::Unauthorized("Google's answer has no refresh token, so liaison could not renew access".into())
        })?;
        Ok(StoredToken {
            client_id: self.client.client_id.clone(),
            refresh_token,
            access_token: Some(granted.access_token),
            expires_at: granted.expires_at,
            scopes: granted
                .scopes
                .unwrap_or_else(|| scopes.iter().map(|s| s.to_string()).collect()),
            authorized_at: Timestamp::now(),
        })
    }

    /// One refresh-token grant (RFC 6749 §6) at the client secret's `token_uri`.
    async fn refresh(&self, refresh_token: &SecretString) -> Result<Refreshed, TokenError> {
        let form = [
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.secret.expose_secret()),
            ("refresh_token", refresh_token.expose_secret()),
            ("grant_type", "refresh_token"),
        ];
        let (status, body) = self.post_form(&form).await?;
        parse_token_answer(status, &body, Timestamp::now(), &self.client.path, Grant::Refresh)
    }

    /// POSTs a form to the client secret's `token_uri`, within [`TOKEN_TIMEOUT`];
    /// answers the status and body, whatever the status.
    async fn post_form(
        &self,
        pairs: &[(&str, &str)],
    ) -> Result<(u16, google_calendar3::hyper::body::Bytes), TokenError> {
        let form = pairs
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
        // Not counted with the API requests, nor paced or retried with them:
        // a failed refresh fails this call, and the call's own retries ask again.
        let answer = tokio::time::timeout(TOKEN_TIMEOUT, exchange(&self.http, request, TOKEN_BODY_LIMIT))
            .await
            .map_err(|_| unreachable(format!("did not answer within {}s", TOKEN_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
        Ok((answer.status, answer.body))
    }
}

/// Reads the token endpoint's answer to a refresh or a code redemption.
pub(crate) fn parse_token_answer(
    status: u16,
    body: &[u8],
    now: Timestamp,
    client_path: &Path,
    grant: Grant,
) -> Result<Refreshed, TokenError> {
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
        // A code is refused when it expired (minutes), was used, or its PKCE
        // verifier does not match: only a new consent helps.
        "invalid_grant" | "invalid_request" if grant == Grant::Code => {
            format!("Google refused the authorization code ({what})")
        }
        "invalid_grant" => format!("Google refused the stored authorization ({what}): {INVALID_GRANT_HINT}"),
        "invalid_client" | "unauthorized_client" => format!(
            "Google does not accept the OAuth client of {} ({what}): was it deleted, or its secret reset? \
             Download its JSON again from Google Cloud",
            client_path.display()
        ),
        _ if grant == Grant::Code => format!("Google's token endpoint refused the authorization code ({what})"),
        _ => format!("Google's token endpoint refused the refresh ({what})"),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{client, stored};
    use super::super::token_store::token_path;
    use super::*;
    use crate::calendar::CalendarError;
    use crate::calendar::google::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPES};

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
            Grant::Refresh,
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
            Grant::Refresh,
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

        // The same refusal of a code: no word of a stored authorization.
        let bad_code = parse_token_answer(
            400,
            br#"{"error":"invalid_grant","error_description":"Invalid code verifier."}"#,
            now,
            p,
            Grant::Code,
        )
        .unwrap_err();
        assert_eq!(
            bad_code,
            TokenError::Unauthorized(
                "Google refused the authorization code (invalid_grant: Invalid code verifier.)".into()
            )
        );

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
            let got = match parse_token_answer(status, body, now, p, Grant::Refresh) {
                Err(TokenError::Unauthorized(_)) => "unauthorized",
                Err(TokenError::Transient(_)) => "transient",
                Ok(_) => "ok",
            };
            assert_eq!(got, expected, "{status} {}", String::from_utf8_lossy(body));
        }
    }
}

//! Authorization with Google: the one-time consent of `liaison auth`, the token
//! file, and the tokens every API call asks for.
//!
//! Two kinds, as `calendar.google.auth` says:
//! - `installed`: an OAuth client of type "Desktop app". `liaison auth` runs
//!   the authorization-code flow with a loopback redirect, `state` and PKCE
//!   (ours: yup-oauth2's installed flow has neither) and stores the result
//!   in `state_dir/token.json` (0600 temporary file, fsync, rename).
//!   Afterwards `refresh::InstalledTokens` only ever *refreshes* that token and can
//!   never show a consent page.
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
//!
//! Layout, each module using only those above it:
//! - `error`: [`TokenError`], why no token could be had.
//! - `credentials`: the OAuth client JSON and the service-account key.
//! - `token_store`: `token.json`, read and written atomically.
//! - `refresh`: the installed kind's tokens, our own refresh, `invalid_grant`,
//!   and the redemption of a consent's code.
//! - `tokens`: [`TokenSource`] (installed or service account) for the hub.
//! - `pkce`: a consent's PKCE verifier and challenge, and its `state`.
//! - `loopback`: the listener the browser comes back to, which accepts only
//!   this consent's `state`.
//! - `consent`: `liaison auth`, the loopback flow.
//! - `check`: what `liaison check` says about the credentials.

mod check;
mod consent;
mod credentials;
mod error;
#[cfg(test)]
mod fixtures;
mod loopback;
mod pkce;
mod refresh;
mod token_store;
mod tokens;

pub use self::check::describe_credentials;
pub use self::consent::{AuthOptions, AuthReport, CONSENT_TIMEOUT, authorize};
pub use self::credentials::{ClientSecret, ServiceAccount};
pub use self::error::TokenError;
pub use self::refresh::TOKEN_TIMEOUT;
pub(crate) use self::refresh::{Grant, parse_token_answer};
#[cfg(test)]
pub(crate) use self::token_store::StoredToken;
pub use self::token_store::{TOKEN_FILE, token_path};
pub(crate) use self::tokens::TokenSource;
pub use super::scopes::{SCOPE_EVENTS, SCOPE_FREEBUSY, SCOPES};

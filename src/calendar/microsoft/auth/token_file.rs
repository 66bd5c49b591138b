//! The delegated grant's file, `state_dir/microsoft-token.json`: the refresh
//! token (which Microsoft rotates on every refresh), the access token and
//! its expiry, the tenant and app it belongs to, and who signed in
//! (version 2; a version-1 file, written before, has no account and must be
//! replaced by `liaison auth`). Written atomically and
//! private to the user (0600 temporary file, fsync, rename: `fsutil`), so a
//! crash between two refreshes leaves the old grant or the new one.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use super::TokenError;
use super::account::Account;

/// The file's name inside `state_dir` (not Google's `token.json`: a state
/// directory moved from one provider to the other keeps neither by mistake).
pub const TOKEN_FILE: &str = "microsoft-token.json";
const VERSION: u32 = 2;
/// The version before the account was recorded: still read, so that the
/// error can say what is missing.
const VERSION_WITHOUT_ACCOUNT: u32 = 1;
/// An access token this close to its expiry is refreshed first.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(120);

pub fn token_path(state_dir: &Path) -> PathBuf {
    state_dir.join(TOKEN_FILE)
}

/// What the file holds.
#[derive(Clone, Debug)]
pub(crate) struct StoredGrant {
    pub tenant: String,
    pub client_id: String,
    pub refresh_token: SecretString,
    pub access_token: Option<SecretString>,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    pub authorized_at: Timestamp,
    /// Who signed in (`None` in a version-1 file).
    pub account: Option<Account>,
}

/// The file format; no `Debug`, so it never prints.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantJson {
    version: u32,
    tenant: String,
    client_id: String,
    refresh_token: String,
    access_token: Option<String>,
    expires_at: Option<Timestamp>,
    scopes: Vec<String>,
    authorized_at: Timestamp,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail: Option<String>,
}

impl StoredGrant {
    pub(crate) fn is_fresh(&self, now: Timestamp) -> bool {
        match (&self.access_token, self.expires_at) {
            (Some(_), Some(at)) => now.saturating_add(EXPIRY_MARGIN).is_ok_and(|soon| soon < at),
            _ => false,
        }
    }

    /// `Ok(None)` when there is no file.
    pub(crate) fn load(path: &Path) -> Result<Option<StoredGrant>, TokenError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TokenError::Unauthorized(format!("cannot read {}: {e}", path.display()))),
        };
        let json: GrantJson = serde_json::from_slice(&bytes).map_err(|e| {
            TokenError::Unauthorized(format!(
                "{} is not a token file this version of liaison wrote (line {}, column {})",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if json.version != VERSION && json.version != VERSION_WITHOUT_ACCOUNT {
            return Err(TokenError::Unauthorized(format!(
                "{} has version {}; expected {VERSION}",
                path.display(),
                json.version
            )));
        }
        Ok(Some(StoredGrant {
            tenant: json.tenant,
            client_id: json.client_id,
            refresh_token: SecretString::from(json.refresh_token),
            access_token: json.access_token.map(SecretString::from),
            expires_at: json.expires_at,
            scopes: json.scopes,
            authorized_at: json.authorized_at,
            account: json.user_principal_name.map(|user_principal_name| Account {
                user_principal_name,
                mail: json.mail,
            }),
        }))
    }

    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = GrantJson {
            version: VERSION,
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            refresh_token: self.refresh_token.expose_secret().to_string(),
            access_token: self.access_token.as_ref().map(|t| t.expose_secret().to_string()),
            expires_at: self.expires_at,
            scopes: self.scopes.clone(),
            authorized_at: self.authorized_at,
            user_principal_name: self.account.as_ref().map(|a| a.user_principal_name.clone()),
            mail: self.account.as_ref().and_then(|a| a.mail.clone()),
        };
        let bytes = serde_json::to_vec_pretty(&json).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomically(path, &bytes, crate::fsutil::Mode::Private)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(refresh: &str) -> StoredGrant {
        StoredGrant {
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35".into(),
            refresh_token: SecretString::from(refresh.to_string()),
            access_token: Some(SecretString::from("eyJ.access-secret".to_string())),
            expires_at: Some("2027-03-03T13:00:00Z".parse().unwrap()),
            scopes: vec!["Calendars.ReadWrite".into()],
            authorized_at: "2027-03-03T12:00:00Z".parse().unwrap(),
            account: Some(Account {
                user_principal_name: "organizer@contoso.onmicrosoft.com".into(),
                mail: Some("organizer@contoso.com".into()),
            }),
        }
    }

    #[test]
    fn the_grant_file_round_trips_0600_and_never_prints_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        grant("0.A.refresh-one").save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // A rotated refresh token replaces the file whole.
        grant("0.A.refresh-two").save(&path).unwrap();
        let back = StoredGrant::load(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token.expose_secret(), "0.A.refresh-two");
        assert!(back.is_fresh("2027-03-03T12:30:00Z".parse().unwrap()));
        assert!(
            !back.is_fresh("2027-03-03T12:59:00Z".parse().unwrap()),
            "within the margin"
        );
        let debug = format!("{back:?}");
        assert!(
            !debug.contains("refresh-two") && !debug.contains("access-secret"),
            "{debug}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [TOKEN_FILE], "no temporary file left");
        assert!(StoredGrant::load(&dir.path().join("none.json")).unwrap().is_none());
        assert_eq!(back.account, grant("x").account, "who signed in is kept");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(StoredGrant::load(&path), Err(TokenError::Unauthorized(_))));
    }

    #[test]
    fn a_version_1_file_is_read_without_an_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        std::fs::write(
            &path,
            r#"{"version": 1, "tenant": "t", "client_id": "c", "refresh_token": "r", "access_token": null,
                "expires_at": null, "scopes": [], "authorized_at": "2027-03-03T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(StoredGrant::load(&path).unwrap().unwrap().account, None);
    }
}

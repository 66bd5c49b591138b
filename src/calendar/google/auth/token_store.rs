//! The token file of the installed kind, `state_dir/token.json`: what it
//! holds, read back, and written atomically and private to the user (a 0600
//! temporary file, fsync, rename, fsync of the directory).

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use super::credentials::json_problem;
use super::error::TokenError;

/// The token file's name inside `state_dir`.
pub const TOKEN_FILE: &str = "token.json";
/// An access token this close to its expiry is refreshed first.
const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// Where the token of `state_dir` is kept.
pub fn token_path(state_dir: &Path) -> PathBuf {
    state_dir.join(TOKEN_FILE)
}

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
    pub(super) fn is_fresh(&self, now: Timestamp) -> bool {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::stored;
    use super::*;
    use crate::calendar::google::scopes::SCOPES;

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
}

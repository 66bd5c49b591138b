//! The credential files the configuration names: the OAuth client JSON of
//! the installed kind (`client_secret`) and the service-account key
//! (`service_account_key`), read and checked without ever quoting them.
//!
//! The URLs liaison sends to (`auth_uri` and `token_uri` of the client,
//! `token_uri` of the key) are parsed here, at load, with the rule of
//! [`endpoint_url`]: https, or plain http to this machine only. The other
//! URLs of these files (`redirect_uris`, `auth_provider_x509_cert_url`,
//! `client_x509_cert_url`, a key's `auth_uri`) are never opened, so they are
//! not judged: older desktop clients list `urn:ietf:wg:oauth:2.0:oob` among
//! their redirect URIs, and refusing it would refuse a good file.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;
use yup_oauth2::ServiceAccountKey;

use crate::calendar::CalendarError;
use crate::config::endpoint_url;

/// The OAuth client JSON downloaded from Google Cloud (`installed` or `web`).
#[derive(Clone, Debug)]
pub struct ClientSecret {
    pub path: PathBuf,
    pub client_id: String,
    pub(super) secret: SecretString,
    /// Where the browser is sent for consent.
    pub auth_uri: url::Url,
    /// Where codes and refresh tokens are exchanged for access tokens.
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

    pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<ClientSecret, String> {
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
        let auth_uri = endpoint_url(&app.auth_uri).map_err(|e| format!("auth_uri {e}"))?;
        endpoint_url(&app.token_uri).map_err(|e| format!("token_uri {e}"))?;
        if app.client_id.trim().is_empty() || app.client_secret.is_empty() {
            return Err("client_id or client_secret is empty".into());
        }
        Ok(ClientSecret {
            path: path.to_path_buf(),
            client_id: app.client_id,
            secret: SecretString::from(app.client_secret),
            auth_uri,
            // As written (checked above): the exact URL, as the file names it.
            token_uri: app.token_uri,
        })
    }
}

/// A service-account key file (Google's JSON, with its private key).
#[derive(Clone)]
pub struct ServiceAccount {
    pub path: PathBuf,
    pub client_email: String,
    pub client_id: Option<String>,
    /// Carries the private key: never printed (see the `Debug` impl).
    pub(super) key: ServiceAccountKey,
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

    pub(super) fn parse(bytes: &[u8], path: &Path) -> Result<ServiceAccount, String> {
        let key: ServiceAccountKey = serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "{}; expected a service-account key JSON from Google Cloud (with private_key, client_email, token_uri)",
                json_problem(&e)
            )
        })?;
        if !key.private_key.contains("PRIVATE KEY-----") {
            return Err("private_key is not a PEM private key".into());
        }
        // yup-oauth2 builds its request from the text as it is and panics on
        // one that does not parse (a trailing space did): checked here.
        endpoint_url(&key.token_uri).map_err(|e| format!("token_uri {e}"))?;
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
pub(super) fn json_problem(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Eof => "ends too early",
        serde_json::error::Category::Data => "has a missing or mistyped field",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::super::fixtures::client;
    use super::*;

    #[test]
    fn the_client_secret_honours_its_uris_and_never_prints_the_secret() {
        let c = client();
        assert_eq!(c.client_id, "123.apps.googleusercontent.com");
        assert_eq!(c.auth_uri.as_str(), "http://127.0.0.1:9/o/oauth2/auth");
        assert_eq!(c.token_uri, "http://127.0.0.1:9/token");
        assert_eq!(c.secret.expose_secret(), "GOCSPX-very-secret");
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
                r#"{"installed":{"client_id":"i","client_secret":"s3cr3t","auth_uri":"https://a","token_uri":"https://t/token "}}"#,
                "token_uri \"https://t/token \" contains a space",
            ),
            (
                r#"{"installed":{"client_id":"i","client_secret":"s3cr3t","auth_uri":"http://accounts.example.org/auth","token_uri":"https://t"}}"#,
                "auth_uri \"http://accounts.example.org/auth\" is plain http to another machine",
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
        for (token_uri, expected) in [
            (
                "http://127.0.0.1:9/token ",
                "token_uri \"http://127.0.0.1:9/token \" contains a space",
            ),
            ("http://oauth2.example.org/token", "is plain http to another machine"),
        ] {
            let bad = json.replace("http://127.0.0.1:9/token", token_uri);
            let err = ServiceAccount::parse(bad.as_bytes(), Path::new("key.json")).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }
}

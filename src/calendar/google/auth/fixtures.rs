//! What the tests of the auth modules share: a client secret and a stored token.

use std::path::Path;

use secrecy::SecretString;

use super::credentials::ClientSecret;
use super::token_store::StoredToken;
use crate::calendar::google::scopes::SCOPES;

pub(super) const CLIENT_JSON: &str = r#"{"installed":{"client_id":"123.apps.googleusercontent.com","project_id":"p",
    "auth_uri":"http://127.0.0.1:9/o/oauth2/auth","token_uri":"http://127.0.0.1:9/token",
    "client_secret":"GOCSPX-very-secret","redirect_uris":["http://localhost"]}}"#;

pub(super) fn client() -> ClientSecret {
    ClientSecret::parse(CLIENT_JSON.as_bytes(), Path::new("client.json")).unwrap()
}

pub(super) fn stored(client_id: &str) -> StoredToken {
    StoredToken {
        client_id: client_id.into(),
        refresh_token: SecretString::from("1//refresh-secret".to_string()),
        access_token: Some(SecretString::from("ya29.access-secret".to_string())),
        expires_at: Some("2026-03-02T15:00:00Z".parse().unwrap()),
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        authorized_at: "2026-03-02T14:00:00Z".parse().unwrap(),
    }
}

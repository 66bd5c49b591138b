//! Tokens against the stub: refresh, revocation, a refused token, a missing one, `check`, service accounts.

use super::*;

#[tokio::test]
async fn an_expired_token_is_refreshed_and_kept_for_the_next_process() {
    let granted = json!({"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer",
        "scope": SCOPES.join(" ")});
    let s = setup(vec![reply(200, json!({"items": []}))], vec![reply(200, granted)], true).await;
    assert!(s.provider.list_series().await.unwrap().is_empty());
    let tokens = s.stub.token_requests();
    assert_eq!(tokens.len(), 1);
    for part in [
        "grant_type=refresh_token",
        "refresh_token=1%2F%2Fstored-refresh",
        "client_id=123.apps",
    ] {
        assert!(tokens[0].body.contains(part), "{part} in {}", tokens[0].body);
    }
    assert_eq!(
        s.stub.api_requests()[0].authorization.as_deref(),
        Some("Bearer ya29.fresh")
    );
    let stored = StoredToken::load(&token_path(&s.dir.path().join("state")))
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.unwrap().expose_secret(), "ya29.fresh");
    assert_eq!(
        stored.refresh_token.expose_secret(),
        "1//stored-refresh",
        "kept when not rotated"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized_with_the_testing_hint() {
    let refused = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
    let s = setup(vec![], vec![reply(400, refused)], true).await;
    let err = s.provider.list_series().await.unwrap_err();
    let CalendarError::Unauthorized(_) = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    for part in [
        "invalid_grant",
        "\"Testing\"",
        "expire after 7 days",
        "run `liaison auth`",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("stored-refresh") && !text.contains("s3cr3t"), "{text}");
    assert!(s.stub.api_requests().is_empty());
    assert_eq!(s.provider.requests(), 0);
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_once() {
    let granted = json!({"access_token": "ya29.fresh", "expires_in": 3599});
    let s = setup(
        vec![
            reply(401, google_error(401, "authError")),
            reply(200, json!({"items": []})),
        ],
        vec![reply(200, granted)],
        false,
    )
    .await;
    s.provider.list_series().await.unwrap();
    let auth: Vec<_> = s.stub.api_requests().into_iter().map(|r| r.authorization).collect();
    assert_eq!(
        auth,
        [Some("Bearer ya29.stored".into()), Some("Bearer ya29.fresh".into())]
    );
}

#[tokio::test]
async fn a_missing_token_asks_to_run_liaison_auth() {
    let s = setup(vec![], vec![], false).await;
    std::fs::remove_file(token_path(&s.dir.path().join("state"))).unwrap();
    let provider = provider_for(s.dir.path(), &s.base).await;
    let err = provider.series_details("a0b1c2d3e4f5g6h7i8j9k0l1m2").await.unwrap_err();
    assert!(matches!(err, CalendarError::Unauthorized(_)), "{err:?}");
    assert!(
        err.to_string().contains("no Google authorization is stored in"),
        "{err}"
    );
    assert!(err.to_string().ends_with("run `liaison auth`"), "{err}");
}

#[tokio::test]
async fn check_says_whether_a_token_is_stored_and_never_shows_it() {
    let s = setup(vec![], vec![], false).await;
    let cfg = config_for(s.dir.path(), &s.base);
    let now = Timestamp::now();
    let lines = describe_credentials(&cfg, now).await.unwrap().join("\n");
    assert!(lines.contains(&format!("OAuth client {CLIENT_ID}")), "{lines}");
    assert!(lines.contains("token: stored in"), "{lines}");
    assert!(lines.contains("\"Testing\"") && lines.contains("7 days"), "{lines}");
    assert!(
        !lines.contains("ya29") && !lines.contains("1//") && !lines.contains("s3cr3t"),
        "{lines}"
    );

    std::fs::remove_file(token_path(&cfg.state_dir)).unwrap();
    let lines = describe_credentials(&cfg, now).await.unwrap().join("\n");
    assert!(
        lines.contains("token: none stored in") && lines.contains("run `liaison auth`"),
        "{lines}"
    );

    std::fs::write(s.dir.path().join("client.json"), "{\"installed\": ").unwrap();
    let err = describe_credentials(&cfg, now).await.unwrap_err();
    assert!(err.is_bad_input() && err.to_string().contains("client.json"), "{err}");
    std::fs::remove_file(s.dir.path().join("client.json")).unwrap();
    let err = describe_credentials(&cfg, now).await.unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("cannot read it"),
        "{err}"
    );
}

/// A throwaway RSA key made for these tests only; it signs nothing real.
const TEST_KEY_PEM: &str = include_str!("../testdata/test-service-account.pem");

fn service_account_config(dir: &Path, base: &str) -> Config {
    std::fs::write(
        dir.join("key.json"),
        json!({"type": "service_account", "project_id": "p", "private_key_id": "kid",
            "private_key": TEST_KEY_PEM, "client_email": "liaison@p.iam.gserviceaccount.com",
            "client_id": "4242", "token_uri": format!("{base}/token")})
        .to_string(),
    )
    .unwrap();
    let text = format!(
        r#"
timezone = "UTC"
state_dir = "{state}"
[schedule]
first_term = 2026-03-02
[calendar]
provider = "google"
[calendar.google]
auth = "service_account"
service_account_key = "{key}"
impersonate = "organizer@example.com"
api_base_url = "{base}/"
[[people]]
email = "ada@example.com"
name = "Ada"
unit = "Finance"
[[people]]
email = "bob@example.com"
name = "Bob"
unit = "Sales"
"#,
        state = dir.join("state").display(),
        key = dir.join("key.json").display(),
    );
    config::parse(&text, &dir.join("config.toml"), &Env::default()).unwrap()
}

/// The claims of the JWT a service account sent as its assertion.
fn jwt_claims(form: &str) -> Value {
    let assertion = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("assertion="))
        .expect("an assertion");
    let payload = assertion.split('.').nth(1).expect("a JWT");
    let bytes = data_encoding::BASE64URL_NOPAD.decode(payload.as_bytes()).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_service_account_gets_tokens_for_its_subject_with_the_two_scopes() {
    let granted = json!({"access_token": "ya29.sa", "expires_in": 3600, "token_type": "Bearer"});
    let s = setup(vec![reply(200, json!({"items": []}))], vec![reply(200, granted)], false).await;
    let cfg = service_account_config(s.dir.path(), &s.base);
    let report = authorize(&cfg, AuthOptions { open_browser: false }).await.unwrap();
    assert_eq!(
        report,
        AuthReport::ServiceAccount {
            client_email: "liaison@p.iam.gserviceaccount.com".into(),
            subject: "organizer@example.com".into(),
        }
    );
    let token = &s.stub.token_requests()[0];
    assert!(token.body.contains("grant-type%3Ajwt-bearer"), "{}", token.body);
    let claims = jwt_claims(&token.body);
    assert_eq!(claims["sub"], "organizer@example.com");
    assert_eq!(claims["iss"], "liaison@p.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], format!("{}/token", s.base));
    assert_eq!(claims["scope"], SCOPES.join(" "));
    let lines = describe_credentials(&cfg, Timestamp::now()).await.unwrap().join("\n");
    assert!(
        lines.contains("service account: liaison@p.iam.gserviceaccount.com acting for organizer@example.com"),
        "{lines}"
    );
    assert!(!lines.contains("PRIVATE KEY"), "{lines}");
}

#[tokio::test]
async fn a_service_account_without_delegation_is_told_what_to_add() {
    let refused = json!({"error": "unauthorized_client",
        "error_description": "Client is unauthorized to retrieve access tokens using this method."});
    let s = setup(vec![], vec![reply(401, refused)], false).await;
    let cfg = service_account_config(s.dir.path(), &s.base);
    let err = authorize(&cfg, AuthOptions { open_browser: false }).await.unwrap_err();
    let CalendarError::Unauthorized(_) = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    for part in [
        "unauthorized_client",
        "Domain-wide delegation",
        "client id 4242",
        SCOPE_FREEBUSY,
        SCOPE_EVENTS,
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

/// Found by the fuzz tests (tests/fuzz): a private key that does not read
/// was refused without naming the key `private_key`.
#[tokio::test]
async fn a_private_key_that_does_not_read_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = service_account_config(dir.path(), "https://oauth2.example.com");
    let key = dir.path().join("key.json");
    let damaged = std::fs::read_to_string(&key)
        .unwrap()
        .replace("-----BEGIN PRIVATE KEY-----", ",----BEGIN PRIVATE KEY-----");
    std::fs::write(&key, damaged).unwrap();
    let err = describe_credentials(&cfg, Timestamp::now()).await.unwrap_err();
    let text = err.to_string();
    assert!(err.is_bad_input(), "{err:?}");
    assert!(
        text.starts_with(&format!("{}: its private_key cannot be used", key.display())),
        "{text}"
    );
    assert!(!text.contains("MIIE"), "{text}");
}

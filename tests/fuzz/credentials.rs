//! The OAuth credential files: the client secret JSON (`ClientSecret::read`),
//! the service-account key (`ServiceAccount::read`, and what `liaison check`
//! does with it: build the signer), and `state_dir/token.json` (read by
//! `describe_credentials`, as `liaison check` does). A refusal names the file
//! and the line of the JSON or the key at fault, and never quotes a secret.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use liaison::calendar::CalendarError;
use liaison::calendar::google::auth::{ClientSecret, ServiceAccount};
use liaison::calendar::google::describe_credentials;
use liaison::config::{self, Config, Env};
use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{bounded, fuzz, scratch_dir};
use crate::mutate::{Doc, Format, json_doc, json_nest};

const LINES: &[&str] = &[
    "\"installed\": {},",
    "\"web\": null,",
    "\"client_id\": \"\",",
    "\"client_secret\": 5,",
    "\"token_uri\": \"file:///etc/passwd\",",
    "\"token_uri\": \"https://oauth2.googleapis.com/token \",",
    "\"auth_uri\": \"http://[::1\",",
    "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\",",
    "\"private_key\": \"-----BEGIN RSA PRIVATE KEY-----\\n-----END RSA PRIVATE KEY-----\",",
    "\"client_email\": \"\u{202e}\",",
    "\"version\": 2,",
    "\"expires_at\": \"9999-12-31T23:59:59Z\",",
    "\"authorized_at\": \"-009999-01-01T00:00:00Z\",",
    "\"scopes\": [],",
    "\"unknown\": true,",
];

const VALUES: &[&str] = &[
    " \"https://oauth2.googleapis.com/token\"",
    " \"http://127.0.0.1:9/token\"",
    " \"2026-03-03T13:00:00Z\"",
    " \"2026-03-03\"",
    " 1",
    " 4294967296",
    " null",
    " []",
    " {}",
    " \"\"",
];

static CLIENT: Format = Format {
    seeds: &[
        include_str!("seeds/client-secret.json"),
        include_str!("seeds/client-secret-web.json"),
    ],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

static SERVICE: Format = Format {
    seeds: &[include_str!("seeds/service-account.json")],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

static TOKEN: Format = Format {
    seeds: &[include_str!("seeds/token.json")],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: json_nest,
};

/// Words that place a problem in a credential file: a line or a key.
const PLACES: &[&str] = &[
    "line ",
    "\"installed\"",
    "\"web\"",
    "client_id",
    "client_secret",
    "auth_uri",
    "token_uri",
    "private_key",
    "client_email",
    "version",
];

/// The strings of the JSON `body` under `keys`, at any depth and inside
/// arrays (none when it is not JSON).
fn strings(body: &[u8], keys: &[&str]) -> Vec<String> {
    fn all(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| all(i, out)),
            Value::Object(map) => map.values().for_each(|i| all(i, out)),
            _ => {}
        }
    }
    fn walk(v: &Value, keys: &[&str], out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, item) in map {
                    if keys.contains(&k.as_str()) {
                        all(item, out);
                    }
                    walk(item, keys, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, keys, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, keys, &mut out);
    }
    out
}

/// `message` names `file` and a line or key, and quotes none of the secrets
/// under `secret_keys` (unless the file also put one under a key that is
/// shown, which is the file's doing).
fn check_message(
    message: &str,
    file: &Path,
    body: &[u8],
    secret_keys: &[&str],
    shown_keys: &[&str],
) -> Result<(), TestCaseError> {
    prop_assert!(
        message.contains(&file.display().to_string()),
        "not naming the file: {}",
        message
    );
    prop_assert!(
        PLACES.iter().any(|p| message.contains(p)),
        "no line or key: {}",
        message
    );
    let shown = strings(body, shown_keys).concat();
    for secret in strings(body, secret_keys) {
        // Every line of a PEM key, and whole tokens and secrets.
        for part in secret
            .lines()
            .map(str::trim)
            .filter(|p| p.len() >= 16 && !p.starts_with("-----"))
        {
            if !shown.contains(part) {
                prop_assert!(!message.contains(part), "a secret in: {}", message);
            }
        }
    }
    Ok(())
}

fn calendar_message(e: &CalendarError, file: &Path) -> Result<String, TestCaseError> {
    match e {
        CalendarError::Invalid { path, .. } => {
            prop_assert_eq!(path, &file.display().to_string());
            Ok(e.to_string())
        }
        CalendarError::Unauthorized(_) => Ok(e.to_string()),
        other => Err(TestCaseError::fail(format!("unexpected kind: {other:?}"))),
    }
}

fn google_config(dir: &Path, auth_lines: &str) -> Config {
    let text = format!(
        "timezone = \"UTC\"\nstate_dir = \"state\"\n[schedule]\nfirst_term = 2026-03-02\n\
         [calendar]\nprovider = \"google\"\n[calendar.google]\n{auth_lines}\n\
         [[people]]\nemail = \"a@x.org\"\nname = \"A\"\nunit = \"U\"\n\
         [[people]]\nemail = \"b@x.org\"\nname = \"B\"\nunit = \"V\"\n"
    );
    config::parse(&text, &dir.join("config.toml"), &Env::default()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn now() -> Timestamp {
    "2026-03-03T12:00:00Z".parse().unwrap()
}

fn read_client(file: &Path, Doc(body): &Doc) -> Result<bool, TestCaseError> {
    std::fs::write(file, body).unwrap();
    match bounded("ClientSecret::read", body.len(), || ClientSecret::read(file)) {
        Ok(_) => Ok(true),
        Err(e) => {
            let message = calendar_message(&e, file)?;
            check_message(
                &message,
                file,
                body,
                &["client_secret"],
                &["client_id", "auth_uri", "token_uri"],
            )?;
            Ok(false)
        }
    }
}

fn read_service_account(
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    file: &Path,
    Doc(body): &Doc,
) -> Result<bool, TestCaseError> {
    std::fs::write(file, body).unwrap();
    let read = bounded("a service-account key", body.len(), || {
        ServiceAccount::read(file)?;
        rt.block_on(describe_credentials(cfg, now()))
    });
    match read {
        Ok(_) => Ok(true),
        Err(e) => {
            let message = calendar_message(&e, file)?;
            check_message(&message, file, body, &["private_key"], &["token_uri", "client_email"])?;
            Ok(false)
        }
    }
}

fn read_token(rt: &tokio::runtime::Runtime, cfg: &Config, file: &Path, Doc(body): &Doc) -> Result<bool, TestCaseError> {
    std::fs::write(file, body).unwrap();
    match bounded("token.json", body.len(), || {
        rt.block_on(describe_credentials(cfg, now()))
    }) {
        Ok(lines) => {
            let all = lines.concat();
            // What `check` shows on purpose: the client id and the scopes.
            let shown = strings(body, &["client_id", "scopes"]).concat();
            for secret in strings(body, &["refresh_token", "access_token"]) {
                if secret.len() >= 16 && !shown.contains(&secret) {
                    prop_assert!(!all.contains(&secret), "a token shown: {}", all);
                }
            }
            Ok(true)
        }
        Err(e) => {
            let message = calendar_message(&e, file)?;
            check_message(
                &message,
                file,
                body,
                &["refresh_token", "access_token"],
                &["client_id", "scopes"],
            )?;
            Ok(false)
        }
    }
}

/// A state directory with the client secret seed and a config naming it.
fn installed(dir: &Path) -> (Config, PathBuf) {
    let client = dir.join("client_secret.json");
    std::fs::write(&client, CLIENT.seeds[0]).unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let cfg = google_config(dir, "auth = \"installed\"\nclient_secret = \"client_secret.json\"");
    (cfg, dir.join("state").join("token.json"))
}

fn service(dir: &Path) -> (Config, PathBuf) {
    let cfg = google_config(
        dir,
        "auth = \"service_account\"\nservice_account_key = \"key.json\"\nimpersonate = \"org@x.org\"",
    );
    (cfg, dir.join("key.json"))
}

#[test]
fn the_seeds_are_valid_credentials() {
    let dir = scratch_dir();
    let rt = runtime();
    for seed in CLIENT.seeds {
        assert!(read_client(&dir.path().join("c.json"), &Doc(seed.as_bytes().to_vec())).unwrap());
    }
    let (cfg, key) = service(dir.path());
    assert!(read_service_account(&rt, &cfg, &key, &Doc(SERVICE.seeds[0].as_bytes().to_vec())).unwrap());
    let (cfg, token) = installed(dir.path());
    assert!(read_token(&rt, &cfg, &token, &Doc(TOKEN.seeds[0].as_bytes().to_vec())).unwrap());
}

#[test]
fn client_secret_files() {
    let dir = scratch_dir();
    let file = dir.path().join("client_secret.json");
    fuzz("client secret", json_doc(&CLIENT, 3), |d| read_client(&file, &d));
}

#[test]
fn service_account_keys() {
    let dir = scratch_dir();
    let rt = runtime();
    let (cfg, file) = service(dir.path());
    fuzz("service-account key", json_doc(&SERVICE, 3), |d| {
        read_service_account(&rt, &cfg, &file, &d)
    });
}

#[test]
fn token_files() {
    let dir = scratch_dir();
    let rt = runtime();
    let (cfg, file) = installed(dir.path());
    fuzz("token.json", json_doc(&TOKEN, 3), |d| read_token(&rt, &cfg, &file, &d));
}

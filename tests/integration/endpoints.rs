//! What liaison sends requests to, and how much it reads back: every URL of
//! the configuration and the credential files is parsed at load (https, or
//! plain http to this machine only; exit 2 naming the file and key), and an
//! answer larger than the limit is an error, not memory growth.

use crate::fake_google::{DEFAULT_USER, FakeGoogle};
use crate::google::{Org, base_command};
use crate::util::Run;

/// A service-account configuration on the fake, its key as `key`.
fn service_account_org(fake: &FakeGoogle, key: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.json"), key).unwrap();
    let config = format!(
        r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
[calendar]
provider = "google"
[calendar.google]
auth = "service_account"
service_account_key = "key.json"
impersonate = "{DEFAULT_USER}"
api_base_url = "{}"
[[people]]
email = "ada@example.org"
name = "Ada"
unit = "Finance"
[[people]]
email = "bob@example.org"
name = "Bob"
unit = "Sales"
"#,
        fake.base_url()
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    dir
}

fn liaison(dir: &std::path::Path, args: &[&str]) -> Run {
    let config = dir.join("config.toml");
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    Run::from(base_command(dir).args(&all).output().expect("liaison runs"))
}

#[test]
fn a_token_uri_with_a_trailing_space_is_exit_2_naming_the_file_and_key() {
    let fake = FakeGoogle::start();
    let token_uri = fake.token_uri();
    let key = fake
        .service_account_key_json()
        .replace(&format!("\"{token_uri}\""), &format!("\"{token_uri} \""));
    assert!(key.contains(&format!("{token_uri} ")));
    let dir = service_account_org(&fake, &key);
    let key_path = dir.path().join("key.json");
    let expected = format!("{}: token_uri \"{token_uri} \" contains a space", key_path.display());
    // `check` used to pass, and the first token request then panicked
    // inside yup-oauth2 (exit 101).
    for args in [&["check"][..], &["plan"], &["run", "--once"]] {
        let run = liaison(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert!(
        !fake.requests().iter().any(|r| r.path == "/token"),
        "no request to the broken URI"
    );

    // The untouched key works: the refusal above was the space's.
    std::fs::write(&key_path, fake.service_account_key_json()).unwrap();
    let run = liaison(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn plain_http_to_another_machine_is_refused_in_config_and_credential_files() {
    let fake = FakeGoogle::start();
    let dir = service_account_org(&fake, &fake.service_account_key_json());
    let config_path = dir.path().join("config.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();

    // The configuration's api_base_url: the key, its line, the rule.
    let remote = config.replace(&fake.base_url(), "http://calendar.example.org/");
    std::fs::write(&config_path, &remote).unwrap();
    let run = liaison(dir.path(), &["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("calendar.google.api_base_url"), "{}", run.stderr);
    assert!(
        run.stderr.contains("config.toml:11: calendar.google.api_base_url"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\"http://calendar.example.org/\" is plain http to another machine"),
        "{}",
        run.stderr
    );
    std::fs::write(&config_path, &config).unwrap();

    // The key's token_uri.
    let key = fake
        .service_account_key_json()
        .replace(&fake.token_uri(), "http://oauth2.example.org/token");
    std::fs::write(dir.path().join("key.json"), key).unwrap();
    let run = liaison(dir.path(), &["check"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("key.json: token_uri \"http://oauth2.example.org/token\" is plain http"),
        "{}",
        run.stderr
    );

    // An installed client's auth_uri and token_uri.
    let org = Org::new(2);
    let client_path = org.dir().join("client_secret.json");
    for (key, remote) in [
        ("auth_uri", "http://accounts.example.org/o/oauth2/auth"),
        ("token_uri", "http://oauth2.example.org/token"),
    ] {
        let original = if key == "auth_uri" {
            org.fake.auth_uri()
        } else {
            org.fake.token_uri()
        };
        let client = org.fake.client_secret_json().replace(&original, remote);
        std::fs::write(&client_path, client).unwrap();
        for args in [&["check"][..], &["auth", "--no-browser"]] {
            let run = org.liaison(args);
            assert_eq!(run.code, 2, "{key} {args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains(&format!(
                    "client_secret.json: {key} \"{remote}\" is plain http to another machine"
                )),
                "{}",
                run.stderr
            );
            assert!(
                !run.stdout.contains("oauth2"),
                "no consent URL is printed: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn an_answer_over_the_size_limit_is_an_error_not_memory_growth() {
    let org = Org::authorized(2);
    // 17 MiB streamed without Content-Length, one MiB over the limit.
    let limit = liaison::calendar::http::BODY_LIMIT;
    org.fake.oversize_next("events.list", limit + (1 << 20));
    org.fake.clear_requests();
    let started = std::time::Instant::now();
    let run = org.liaison(&["plan"]);
    let took = started.elapsed();
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("Google's answer is larger than 16 MiB"),
        "{}",
        run.stderr
    );
    let lists: Vec<_> = org
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.list"))
        .collect();
    assert_eq!(lists.len(), 1, "an answer too large is not asked for again");
    assert!(lists[0].injected);
    eprintln!("oversized answer refused in {took:?} (exit {})", run.code);

    // The next answers are of normal size again and the plan goes through.
    let run = org.liaison(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

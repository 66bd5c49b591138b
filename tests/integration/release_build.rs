//! The release binary has no test switch: built the way users build it
//! (`cargo build --release`), it contains none of the `test-hooks` variable
//! names, and setting them changes nothing: its clock is the real one, it
//! does not stop at a crash point, and its Google timing is the default.
//!
//! Every check is made on the test suite's own binary too, which has the
//! switches: there it must see them work, so a probe that could not tell
//! would fail.
//!
//! Ignored by plain `cargo test`: it builds the release binary, which takes
//! minutes from scratch and cannot come from a test build (`cargo test`
//! turns the feature on). `.ci/run` runs it (`-- --ignored`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use jiff::Timestamp;
use liaison::test_hooks::{ENV_NAMES, GOOGLE_TIMING_ENV, NOW_ENV, PAUSE_ENV};
use serde_json::Value;

use crate::google::Org;
use crate::util::{Run, command_of};

/// A date the real clock has left behind.
const PAST: &str = "2001-01-03T12:00:00Z";

/// How long a binary may take to reach a pause point or finish a demo.
const WAIT: Duration = Duration::from_secs(120);

/// `cargo build --release` of the binary, as a user runs it (no feature
/// asked): its path, after checking from cargo's own report that it was
/// built with the release profile and without `test-hooks`.
fn release_binary() -> PathBuf {
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "liaison",
            "--message-format=json",
        ])
        .stderr(Stdio::piped())
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo build --release failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let artifact = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|m| {
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "liaison"
                && m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.contains(&Value::from("bin")))
        })
        .unwrap_or_else(|| panic!("cargo reported no liaison binary:\n{stdout}"));
    assert_eq!(artifact["features"], Value::Array(vec![]), "{artifact}");
    assert_eq!(
        artifact["profile"]["debug_assertions"], false,
        "not a release build: {artifact}"
    );
    assert_ne!(artifact["profile"]["opt_level"], "0", "not a release build: {artifact}");
    PathBuf::from(artifact["executable"].as_str().expect("a path to the executable"))
}

/// The first term the demo plans when run by `binary` with `envs`, from the
/// config.toml it writes: the term after the clock's date.
fn demo_first_term(binary: &Path, tmp: &Path, name: &str, envs: &[(&str, &str)]) -> String {
    let dir = tmp.join(name);
    let run = Run::from(
        command_of(binary, tmp)
            .args(["demo", "--people", "4", "--dir", dir.to_str().unwrap()])
            .envs(envs.iter().copied())
            .output()
            .expect("liaison runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let line = config
        .lines()
        .find(|l| l.starts_with("first_term = "))
        .expect("a first_term");
    line.trim_start_matches("first_term = ").trim_matches('"').to_string()
}

/// Runs the demo of `binary` with `$LIAISON_PAUSE_AT=after_intent`: whether
/// it stopped there (then it is killed) instead of finishing.
fn pauses_at_a_crash_point(binary: &Path, tmp: &Path, name: &str) -> bool {
    let dir = tmp.join(name);
    let mut child = command_of(binary, tmp)
        .args(["demo", "--people", "4", "--dir", dir.to_str().unwrap()])
        .env(PAUSE_ENV, "after_intent")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("liaison starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at after_intent") {
                let _ = tx.send(true);
            }
        }
        // stderr closed: the process ended without pausing.
        let _ = tx.send(false);
    });
    let paused = rx.recv_timeout(WAIT).expect("liaison paused or ended in time");
    if paused {
        child.kill().unwrap();
        child.wait().unwrap();
    } else {
        assert!(child.wait().unwrap().success(), "the demo failed");
    }
    paused
}

/// `plan` on an authorized Google organization with an invalid
/// `$LIAISON_GOOGLE_TIMING`: a binary that reads it refuses it (exit 2).
fn plan_with_bad_google_timing(binary: &Path, org: &Org) -> Run {
    Run::from(
        command_of(binary, org.dir())
            .args(["--config", org.config.to_str().unwrap(), "plan"])
            .env(NOW_ENV, crate::util::NOW)
            .env(GOOGLE_TIMING_ENV, "attempts=lots")
            .output()
            .expect("liaison runs"),
    )
}

#[test]
#[ignore = "builds the release binary (minutes from scratch); .ci/run runs it"]
fn the_release_binary_has_no_test_switch_and_keeps_the_real_clock() {
    let release = release_binary();
    let tested = PathBuf::from(env!("CARGO_BIN_EXE_liaison"));

    // No variable name in the file.
    let release_bytes = std::fs::read(&release).unwrap();
    let tested_bytes = std::fs::read(&tested).unwrap();
    let holds = |bytes: &[u8], name: &str| bytes.windows(name.len()).any(|w| w == name.as_bytes());
    for name in ENV_NAMES {
        assert!(
            holds(&tested_bytes, name),
            "the probe cannot find {name} in the test binary"
        );
        assert!(
            !holds(&release_bytes, name),
            "{name} is in the release binary {}",
            release.display()
        );
    }

    // The clock is the real one, whatever $LIAISON_NOW says; no `--now` flag.
    let tmp = tempfile::tempdir().unwrap();
    let today = Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let set = [(NOW_ENV, PAST)];
    assert!(demo_first_term(&tested, tmp.path(), "tested", &set).starts_with("2001-01-"));
    let first_term = demo_first_term(&release, tmp.path(), "release", &set);
    assert!(
        first_term >= today,
        "the release demo planned from {first_term}, before today {today}"
    );
    let flag = Run::from(
        command_of(&release, tmp.path())
            .args(["--now", PAST, "check"])
            .output()
            .unwrap(),
    );
    assert_eq!(flag.code, 2, "{}", flag.stderr);
    assert!(flag.stderr.contains("--now"), "{}", flag.stderr);

    // No crash point.
    assert!(pauses_at_a_crash_point(&tested, tmp.path(), "paused"));
    assert!(!pauses_at_a_crash_point(&release, tmp.path(), "not-paused"));

    // No timing override: the tested binary refuses a bad one, the release
    // binary does not read it and plans with its defaults.
    let org = Org::authorized(4);
    let tested_plan = plan_with_bad_google_timing(&tested, &org);
    assert_eq!(tested_plan.code, 2, "{}", tested_plan.stderr);
    assert!(tested_plan.stderr.contains(GOOGLE_TIMING_ENV), "{}", tested_plan.stderr);
    let release_plan = plan_with_bad_google_timing(&release, &org);
    assert_eq!(release_plan.code, 0, "{}", release_plan.stderr);
    assert!(
        !release_plan.stderr.contains(GOOGLE_TIMING_ENV),
        "{}",
        release_plan.stderr
    );
}

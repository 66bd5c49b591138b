//! Every command that prints ends quietly when the reader of its output has
//! gone (`liaison history | head -n 1`): exit 0, no panic, nothing on stderr.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::util::{Run, command, liaison};

/// How long a command whose reader has gone may take to end.
const END_WITHIN: Duration = Duration::from_secs(60);

/// A demo organization of `people` with one cycle run, so that `status` and
/// `history` have something to print.
fn org(tmp: &Path, people: &str) -> PathBuf {
    let dir = tmp.join("org");
    let demo = liaison(tmp, &["demo", "--dir", dir.to_str().unwrap(), "--people", people]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let cycle = liaison(tmp, &["--config", config(&dir).as_str(), "run", "--once"]);
    assert_eq!(cycle.code, 0, "{}", cycle.stderr);
    dir
}

fn config(dir: &Path) -> String {
    dir.join("config.toml").to_str().unwrap().to_string()
}

/// No panic and no error line: log lines (none at the default level today)
/// may stay.
fn assert_quiet(stderr: &str, args: &[&str]) {
    for bad in ["panicked", "Broken pipe", "broken pipe"] {
        assert!(!stderr.contains(bad), "{args:?}: {bad}: {stderr}");
    }
    assert!(
        !stderr.lines().any(|l| l.starts_with("liaison: ")),
        "{args:?}: {stderr}"
    );
}

/// Runs `liaison ARGS` with stdout a pipe whose read end was closed before
/// the start: its first write fails with EPIPE, whatever the timing.
fn with_closed_stdout(cwd: &Path, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = command(cwd)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("liaison runs");
    Run::from(output)
}

#[test]
fn every_printing_command_ends_quietly_with_exit_0_when_stdout_is_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = org(tmp.path(), "12");
    let config = config(&dir);
    let demo_dir = tmp.path().join("second-demo");
    let commands: Vec<Vec<&str>> = vec![
        vec!["check"],
        vec!["plan"],
        vec!["plan", "--json"],
        vec!["run", "--once", "--dry-run"],
        vec!["run", "--once", "--dry-run", "--json"],
        vec!["status"],
        vec!["status", "--json"],
        vec!["history"],
        vec!["history", "--json"],
        vec!["history", "--csv"],
    ];
    for args in &commands {
        let mut all = vec!["--config", config.as_str()];
        all.extend_from_slice(args);
        // The command prints when its reader is there: the closed pipe is
        // what the second run meets, not an empty output.
        let open = liaison(tmp.path(), &all);
        assert_eq!(open.code, 0, "{args:?}: {}", open.stderr);
        assert!(!open.stdout.is_empty(), "{args:?} printed nothing");

        let closed = with_closed_stdout(tmp.path(), &all);
        assert_eq!(closed.code, 0, "{args:?} with stdout closed: {}", closed.stderr);
        assert_quiet(&closed.stderr, args);
    }
    // The demo too: it books first, then prints.
    let demo = with_closed_stdout(tmp.path(), &["demo", "--dir", demo_dir.to_str().unwrap()]);
    assert_eq!(demo.code, 0, "demo with stdout closed: {}", demo.stderr);
    assert_quiet(&demo.stderr, &["demo"]);
    assert!(demo_dir.join("bookings.ics").is_file(), "the demo's work was done");
}

/// `liaison plan --json | head -n 1` on an output larger than a pipe holds:
/// the reader takes one line and goes while liaison is still writing.
#[test]
fn plan_piped_into_a_reader_that_stops_after_one_line_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    let demo = liaison(tmp.path(), &["demo", "--dir", dir.to_str().unwrap(), "--people", "250"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let config = config(&dir);
    let args = ["--config", config.as_str(), "plan", "--json"];
    let full = liaison(tmp.path(), &args);
    assert_eq!(full.code, 0, "{}", full.stderr);
    // A Linux pipe holds 64 KiB and the reader below takes at most 8 KiB:
    // with more than 96 KiB to print, liaison is still writing when the
    // reader leaves, and meets the closed pipe.
    assert!(
        full.stdout.len() > 96 * 1024,
        "plan printed only {} bytes; a larger organization is needed",
        full.stdout.len()
    );

    let mut child = command(tmp.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("liaison starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\n");
    // The reader, and with it the pipe's only read end, is gone here.
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(stderr) = rx.recv_timeout(END_WITHIN) else {
        let _ = child.kill();
        panic!("liaison did not end within {END_WITHIN:?} after its reader left");
    };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_quiet(&stderr, &args);
}

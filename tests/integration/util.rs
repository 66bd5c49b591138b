//! Helpers: run the binary and capture what it did.

use std::path::Path;
use std::process::{Command, Output};

/// A fixed "now" for reproducible runs: Wednesday 2027-03-03, so the demo's first
/// term starts Monday 2027-03-08 and contains the US (Mar 14) and EU (Mar 28)
/// daylight-saving changes.
pub const NOW: &str = "2027-03-03T12:00:00Z";

/// [`NOW`] as an instant, for calls of the library that take the cycle's clock.
pub fn now() -> jiff::Timestamp {
    NOW.parse().expect("NOW is an RFC 3339 instant")
}

/// Saturday of the first term's second week: weeks 0 and 1 have taken place,
/// week 2 is more than the 24 h notice away.
pub const SATURDAY_WEEK_1: &str = "2027-03-20T12:00:00Z";

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The binary in `cwd`, with no configuration from the environment and the
/// fixed clock.
pub fn command(cwd: &Path) -> Command {
    let mut command = command_of(Path::new(env!("CARGO_BIN_EXE_liaison")), cwd);
    command.env("LIAISON_NOW", NOW);
    command
}

/// `binary` in `cwd`, with no configuration from the environment and no
/// test switch set.
pub fn command_of(binary: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .current_dir(cwd)
        .env_remove("LIAISON_CONFIG")
        .env_remove("LIAISON_LOG")
        .env("XDG_CONFIG_HOME", cwd.join("no-config-home"))
        .env("XDG_STATE_HOME", cwd.join("state-home"))
        .env("HOME", cwd);
    for name in liaison::test_hooks::ENV_NAMES {
        command.env_remove(name);
    }
    command
}

/// Runs `liaison` with `args` in `cwd` (see [`command`]).
pub fn liaison(cwd: &Path, args: &[&str]) -> Run {
    Run::from(command(cwd).args(args).output().expect("the liaison binary runs"))
}

/// Every file under `dir` with its contents, for "nothing changed" checks.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").display().to_string();
                out.push((rel, std::fs::read(&path).expect("readable file")));
            }
        }
    }
    out.sort();
    out
}

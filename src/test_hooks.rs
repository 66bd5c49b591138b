//! Switches that let the integration tests steer the real binary: a fixed
//! clock, crash points inside booking and fast Google retries, each read from
//! an environment variable.
//!
//! Compiled only with the `test-hooks` cargo feature, which the test suite
//! turns on (the package's dev-dependency on itself) and `cargo build
//! --release` never does: a released binary contains neither these names nor
//! the code that reads them, so a leftover export cannot freeze its clock,
//! park it or change its retries (issue 10). `.ci/run` checks the release
//! binary for [`ENV_NAMES`].

use jiff::Timestamp;

use crate::calendar::google::Timing;
use crate::failure::Failure;

/// Pretend the current time is this instant (RFC 3339), for the whole run.
pub const NOW_ENV: &str = "LIAISON_NOW";
/// Stop the process at a named point (booking: `after_intent`,
/// `after_insert`; CalDAV: `caldav_after_organizer_put`; Microsoft:
/// `microsoft_after_end_patch`, between ending a series and restoring what
/// people changed) so that crash tests can kill it there with SIGKILL.
pub const PAUSE_ENV: &str = "LIAISON_PAUSE_AT";
/// Override the Google client's timeouts and retry bounds (e.g.
/// `timeout=2s,attempts=10,base=1ms,cap=20ms,budget=10s`, see
/// [`Timing::with_overrides`]).
pub const GOOGLE_TIMING_ENV: &str = "LIAISON_GOOGLE_TIMING";

/// Every variable this module reads: none may appear in a release binary.
pub const ENV_NAMES: [&str; 3] = [NOW_ENV, PAUSE_ENV, GOOGLE_TIMING_ENV];

/// The fixed "now" of `$LIAISON_NOW`, if set. A value that is not an RFC 3339
/// instant is a usage error (exit 2), as a bad flag would be.
pub fn fixed_now() -> Result<Option<Timestamp>, Failure> {
    match std::env::var(NOW_ENV) {
        Ok(text) => text
            .parse()
            .map(Some)
            .map_err(|e| Failure::Usage(anyhow::anyhow!("${NOW_ENV}: {text:?} is not an RFC 3339 instant: {e}"))),
        Err(_) => Ok(None),
    }
}

/// The Google client's timing: the defaults, with `$LIAISON_GOOGLE_TIMING`'s
/// overrides when set.
pub fn google_timing() -> Result<Timing, Failure> {
    match std::env::var(GOOGLE_TIMING_ENV) {
        Ok(spec) => Timing::default()
            .with_overrides(&spec)
            .map_err(|e| Failure::Usage(anyhow::anyhow!("${GOOGLE_TIMING_ENV}: {e}"))),
        Err(_) => Ok(Timing::default()),
    }
}

/// Blocks this thread forever when `$LIAISON_PAUSE_AT` names `point`;
/// otherwise returns at once.
pub fn pause_point(point: &str) {
    static PAUSE_AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if PAUSE_AT.get_or_init(|| std::env::var(PAUSE_ENV).ok()).as_deref() == Some(point) {
        eprintln!("liaison: paused at {point} ({PAUSE_ENV})");
        loop {
            std::thread::park();
        }
    }
}

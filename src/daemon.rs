//! The daemon: `liaison run`. Runs a booking cycle every `cycle_every` until told
//! to stop, reloads its configuration on SIGHUP, and talks to systemd
//! (`Type=notify`: READY=1, STATUS=, WATCHDOG=1).
//!
//! Only start-up errors end it with a non-zero exit (so `Restart=on-failure`
//! keeps its meaning); an error inside a cycle is logged and the next cycle tries
//! again. Shutdown is a parameter of the loop, so tests stop it the way signals do.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use sd_notify::NotifyState;

use crate::app;
use crate::calendar::CalendarProvider as _;
use crate::config::{self, Config};
use crate::cycle::{self, CycleSummary};
use crate::failure::Failure;
use crate::provider::{self, Provider};
use crate::runner;

/// How long a stop waits for the cycle in progress before dropping it, within
/// systemd's `TimeoutStopSec=15` and the 10 s the issue allows.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// A cycle without a request answered or retried for this long is stuck: the
/// watchdog is no longer pinged (every request has a timeout well under it).
const STUCK_AFTER: Duration = Duration::from_secs(300);

/// Where "now" comes from: the real clock, or a fixed instant for tests.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// What makes the loop act between cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Stop,
    Reload,
}

/// Runs the daemon until `signals` yields [`Signal::Stop`]. `signals` is polled
/// for the next signal each time the loop waits.
pub async fn run<S, F>(config_path: PathBuf, clock: Clock, mut signals: S) -> Result<(), Failure>
where
    S: FnMut() -> F,
    F: Future<Output = Signal>,
{
    let mut cfg = load(&config_path)?;
    let store = app::open_store(&cfg)?;
    let mut provider = provider::provider(&cfg).await?;
    notify(&[NotifyState::Ready]);
    tracing::info!(config = %config_path.display(), people = cfg.people.len(), "liaison started");

    app::check_state(&cfg, &store, clock.now())?;
    let options = cycle::Options::default();
    let watchdog = sd_notify::watchdog_enabled();
    let mut failures: u32 = 0;
    loop {
        // The cycle runs while signals are watched: a stop lets the request in
        // flight finish, and the cycle ends before its next request.
        let mut reload_pending = false;
        let outcome = {
            let cycle = runner::run_with(&cfg, &provider, &store, clock.now(), &options);
            tokio::pin!(cycle);
            // The watchdog is pinged only while the cycle makes progress (a
            // request made, an action applied, a term planned): a cycle stuck
            // without any for STUCK_AFTER lets systemd's watchdog restart it.
            let made = || provider.requests() + options.progress.load(Ordering::SeqCst);
            let mut progress = Progress::new(made(), std::time::Instant::now());
            let finished = loop {
                tokio::select! {
                    result = &mut cycle => break Some(result),
                    signal = signals() => match signal {
                        Signal::Stop => {
                            options.stop.store(true, Ordering::SeqCst);
                            break None;
                        }
                        Signal::Reload => reload_pending = true,
                    },
                    _ = watchdog_tick(watchdog) => {
                        let now = std::time::Instant::now();
                        if progress.alive(made(), now) {
                            notify(&[NotifyState::Watchdog]);
                        } else {
                            tracing::error!(stuck_for = ?progress.stuck_for(now), "cycle makes no progress; watchdog not pinged");
                        }
                    }
                }
            };
            match finished {
                Some(result) => result,
                // Stopping: the cycle ends before its next request; a request
                // that hangs in retries is dropped after a grace period (every
                // step is in the write-ahead log, so the next start resumes it).
                None => match tokio::time::timeout(STOP_GRACE, &mut cycle).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!("stopping in the middle of a cycle; the next start resumes it");
                        Err(Failure::Other(anyhow::anyhow!("cycle interrupted by shutdown")))
                    }
                },
            }
        };
        if reload_pending {
            reload(&config_path, &mut cfg, &mut provider, &store, clock.now()).await;
        }
        report(&outcome);
        if options.stop.load(Ordering::SeqCst) {
            break;
        }
        failures = if outcome.is_ok() { 0 } else { failures.saturating_add(1) };
        let every = Duration::try_from(cfg.schedule.cycle_every).unwrap_or(Duration::from_secs(900));
        let pause = retry_pause(every, failures);
        let wait = tokio::time::sleep(pause);
        tokio::pin!(wait);
        let stop_now = loop {
            tokio::select! {
                _ = &mut wait => break false,
                signal = signals() => match signal {
                    Signal::Stop => break true,
                    Signal::Reload => reload(&config_path, &mut cfg, &mut provider, &store, clock.now()).await,
                },
                _ = watchdog_tick(watchdog) => notify(&[NotifyState::Watchdog]),
            }
        };
        if stop_now {
            break;
        }
    }
    notify(&[NotifyState::Stopping]);
    store.flush()?;
    tracing::info!("liaison stopped");
    Ok(())
}

/// The signals a daemon under systemd or a terminal receives: SIGTERM and SIGINT
/// stop it, SIGHUP reloads. Returns a function giving the next one.
pub fn unix_signals() -> Result<impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = Signal> + Send>>, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let setup =
        |kind| signal(kind).map_err(|e| Failure::Other(anyhow::anyhow!(e).context("installing signal handlers")));
    let term = Arc::new(tokio::sync::Mutex::new(setup(SignalKind::terminate())?));
    let int = Arc::new(tokio::sync::Mutex::new(setup(SignalKind::interrupt())?));
    let hup = Arc::new(tokio::sync::Mutex::new(setup(SignalKind::hangup())?));
    Ok(move || {
        let (term, int, hup) = (term.clone(), int.clone(), hup.clone());
        Box::pin(async move {
            let (mut term, mut int, mut hup) = (term.lock().await, int.lock().await, hup.lock().await);
            tokio::select! {
                _ = term.recv() => Signal::Stop,
                _ = int.recv() => Signal::Stop,
                _ = hup.recv() => Signal::Reload,
            }
        }) as std::pin::Pin<Box<dyn Future<Output = Signal> + Send>>
    })
}

fn load(path: &Path) -> Result<Config, Failure> {
    config::load(path).map_err(|e| Failure::Usage(e.into()))
}

/// How long the daemon waits before the next cycle: `cycle_every`, or after
/// `failures` failed cycles in a row 1, 2, 4 … minutes, capped by it.
pub fn retry_pause(every: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return every;
    }
    let minutes = 1u64 << failures.saturating_sub(1).min(20);
    every.min(Duration::from_secs(60 * minutes))
}

/// Why a reloaded configuration cannot replace the running one: the keys that
/// say which calendar and state this daemon owns cannot change under it.
fn reload_refusal(old: &Config, new: &Config) -> Option<String> {
    let changed = |key: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        format!(
            "{key} changed from {a} to {b}; restart liaison (`systemctl restart liaison`) to use another calendar or state"
        )
    };
    if old.calendar.organizer() != new.calendar.organizer() {
        let key = match new.calendar.provider {
            crate::config::ProviderKind::Microsoft => "calendar.microsoft.organizer",
            crate::config::ProviderKind::Caldav => "calendar.caldav.organizer_calendar",
            _ => "calendar.google.organizer",
        };
        return Some(changed(key, &old.calendar.organizer(), &new.calendar.organizer()));
    }
    if old.calendar.provider != new.calendar.provider {
        return Some(changed(
            "calendar.provider",
            &format!("{:?}", old.calendar.provider),
            &format!("{:?}", new.calendar.provider),
        ));
    }
    let local_dir = |c: &Config| {
        c.calendar
            .local
            .as_ref()
            .map(|l| l.dir.display().to_string())
            .unwrap_or_default()
    };
    if local_dir(old) != local_dir(new) {
        return Some(changed("calendar.local.dir", &local_dir(old), &local_dir(new)));
    }
    if old.state_dir != new.state_dir {
        return Some(changed("state_dir", &old.state_dir.display(), &new.state_dir.display()));
    }
    if old.calendar.instance != new.calendar.instance {
        return Some(changed(
            "calendar.instance",
            &old.calendar.instance,
            &new.calendar.instance,
        ));
    }
    None
}

/// Reloads the configuration; a bad new one is reported and the old one kept.
async fn reload(path: &Path, cfg: &mut Config, provider: &mut Provider, store: &crate::store::Store, now: Timestamp) {
    // systemd 253 and later ignore RELOADING=1 without the monotonic time.
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
    let checked = config::load(path)
        .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())
        .and_then(|new| match reload_refusal(cfg, &new) {
            Some(why) => Err(vec![why]),
            None => app::check_state(&new, store, now)
                .map(|()| new)
                .map_err(|f| vec![format!("{:#}", f.error())]),
        });
    match checked {
        Ok(new) => match provider::provider(&new).await {
            Ok(p) => {
                tracing::info!(config = %path.display(), people = new.people.len(), "configuration reloaded");
                *cfg = new;
                *provider = p;
            }
            Err(e) => {
                tracing::error!(error = %format!("{:#}", e.error()), "new configuration not used; keeping the old one")
            }
        },
        Err(errors) => {
            for e in &errors {
                tracing::error!(error = %e, "new configuration not used; keeping the old one");
            }
        }
    }
    notify(&[NotifyState::Ready]);
}

/// Logs a cycle's failure (its success logs itself) and tells systemd.
fn report(outcome: &Result<CycleSummary, Failure>) {
    match outcome {
        Ok(s) => {
            let status = format!(
                "last cycle: booked={} kept={} unpaired={} requests={}",
                s.counts.booked, s.counts.kept, s.counts.unpaired, s.counts.requests
            );
            notify(&[NotifyState::Status(&status)]);
        }
        Err(Failure::Unauthorized(e)) => {
            tracing::error!(error = %format!("{e:#}"), "cycle skipped: authorization needed; run `liaison auth`");
            notify(&[NotifyState::Status("authorization needed: run `liaison auth`")]);
        }
        Err(f) => {
            tracing::error!(error = %format!("{:#}", f.error()), "cycle failed; retrying next cycle");
            notify(&[NotifyState::Status("last cycle failed; see the log")]);
        }
    }
}

/// Whether a running cycle still moves: the count of its steps (requests,
/// actions, plans) and when it last changed.
struct Progress {
    steps: u64,
    since: std::time::Instant,
}

impl Progress {
    fn new(steps: u64, now: std::time::Instant) -> Progress {
        Progress { steps, since: now }
    }

    /// Takes the step count seen at `now`; true while the last change is
    /// less than [`STUCK_AFTER`] ago (then the watchdog is pinged).
    fn alive(&mut self, steps: u64, now: std::time::Instant) -> bool {
        if steps != self.steps {
            *self = Progress::new(steps, now);
        }
        self.stuck_for(now) < STUCK_AFTER
    }

    fn stuck_for(&self, now: std::time::Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}

/// Resolves when the watchdog should be pinged (never without a watchdog).
async fn watchdog_tick(interval: Option<Duration>) {
    match interval {
        Some(i) => tokio::time::sleep(i / 2).await,
        None => std::future::pending().await,
    }
}

/// Tells systemd, when running under it; elsewhere this does nothing.
fn notify(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(organizer: &str, state: &str, instance: Option<&str>) -> Config {
        let instance = instance.map_or(String::new(), |i| format!("instance = \"{i}\"\n"));
        let text = format!(
            "timezone = \"Europe/London\"\nstate_dir = \"{state}\"\n[schedule]\nfirst_term = \"2027-03-08\"\n\
             [calendar]\nprovider = \"google\"\n{instance}[calendar.google]\nclient_secret = \"c.json\"\n\
             organizer = \"{organizer}\"\n[[people]]\nemail = \"a@x.org\"\nname = \"A\"\nunit = \"U1\"\n\
             [[people]]\nemail = \"b@x.org\"\nname = \"B\"\nunit = \"U2\"\n"
        );
        config::parse(&text, Path::new("/etc/liaison/config.toml"), &config::Env::default()).unwrap()
    }

    #[test]
    fn a_reload_may_not_move_the_daemon_to_another_calendar_state_or_instance() {
        let old = config("primary", "/var/lib/liaison", None);
        let cases = [
            ("same", config("primary", "/var/lib/liaison", None), None),
            (
                "organizer",
                config("team@example.org", "/var/lib/liaison", None),
                Some("calendar.google.organizer"),
            ),
            ("state_dir", config("primary", "/tmp/other", None), Some("state_dir")),
            (
                "instance",
                config("primary", "/var/lib/liaison", Some("hq")),
                Some("calendar.instance"),
            ),
        ];
        for (name, new, key) in cases {
            let got = reload_refusal(&old, &new);
            assert_eq!(got.is_some(), key.is_some(), "{name}: {got:?}");
            if let (Some(message), Some(key)) = (got, key) {
                assert!(message.starts_with(key), "{name}: {message}");
            }
        }
    }

    #[test]
    fn the_watchdog_is_pinged_only_while_the_cycle_makes_steps() {
        let t0 = std::time::Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let mut p = Progress::new(0, t0);
        assert!(p.alive(0, at(299)), "quiet for less than STUCK_AFTER");
        assert!(!p.alive(0, at(300)), "no step for STUCK_AFTER: stuck");
        assert!(p.alive(1, at(301)), "a step revives it");
        assert!(p.alive(1, at(600)));
        assert!(!p.alive(1, at(601)));
    }

    #[test]
    fn failed_cycles_are_retried_sooner_doubling_up_to_cycle_every() {
        let every = Duration::from_secs(15 * 60);
        let minutes = |n: u32| retry_pause(every, n).as_secs() / 60;
        assert_eq!([0, 1, 2, 3, 4, 5, 40].map(minutes), [15, 1, 2, 4, 8, 15, 15]);
    }
}

//! The daemon: `liaison run`. Runs a booking cycle every `cycle_every` until told
//! to stop, reloads its configuration on SIGHUP, and talks to systemd
//! (`Type=notify`: READY=1, STATUS=, WATCHDOG=1).
//!
//! Only start-up errors end it with a non-zero exit (so `Restart=on-failure`
//! keeps its meaning); an error inside a cycle is logged and the next cycle tries
//! again. Shutdown is a parameter of the loop, so tests stop it the way signals do.
//!
//! The loop itself only waits: each cycle and each reading of the
//! configuration runs on a thread of its own (see [`off_thread`]), so however
//! long a cycle computes (thousands of calendars read, a large plan), signals
//! are answered at once and the watchdog is pinged from a task of its own
//! while the cycle moves.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use sd_notify::NotifyState;
use tokio::sync::{Notify, oneshot};

use crate::app;
use crate::calendar::CalendarProvider as _;
use crate::config::{self, Config};
use crate::cycle::{self, CycleSummary};
use crate::failure::Failure;
use crate::provider::{self, Provider};
use crate::runner;
use crate::store::Store;

/// How long a stop waits for the cycle in progress to reach its next step
/// (it stops between two steps) before leaving it: the daemon exits within a
/// second of SIGTERM. Every write is announced in the write-ahead log, so a
/// cycle left in its middle is resumed by the next start.
const STOP_GRACE: Duration = Duration::from_millis(500);

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

/// What the daemon runs on: replaced together on a reload, shared with the
/// cycle in progress (which keeps the ones it started with).
struct Running {
    cfg: Arc<Config>,
    provider: Arc<Provider>,
    store: Arc<Store>,
}

/// Runs the daemon until `signals` yields [`Signal::Stop`]. `signals` is polled
/// for the next signal each time the loop waits.
pub async fn run<S, F>(config_path: PathBuf, clock: Clock, mut signals: S) -> Result<(), Failure>
where
    S: FnMut() -> F,
    F: Future<Output = Signal>,
{
    // Reading a large configuration takes seconds: a stop meanwhile is answered.
    let path = config_path.clone();
    let Some(loaded) = until_stop(off_thread("liaison-config", move || load(&path)), &mut signals).await else {
        return Ok(());
    };
    let cfg = Arc::new(loaded.map_err(|_| ended_abnormally("reading the configuration"))??);
    let store = Arc::new(app::open_store(&cfg)?);
    let provider = Arc::new(provider::provider(&cfg).await?);
    let mut running = Running { cfg, provider, store };
    notify(&[NotifyState::Ready]);
    tracing::info!(config = %config_path.display(), people = running.cfg.people.len(), "liaison started");

    app::check_state(&running.cfg, &running.store, clock.now())?;
    let options = Arc::new(cycle::Options::default());
    let heartbeat = Arc::new(Heartbeat::default());
    let _watchdog = sd_notify::watchdog_enabled().map(|interval| {
        let task = tokio::spawn(watchdog(interval, heartbeat.clone(), || {
            notify(&[NotifyState::Watchdog])
        }));
        AbortOnDrop(task)
    });
    let mut failures: u32 = 0;
    loop {
        // The cycle runs on its own thread while signals are watched: a stop
        // ends it at its next step, or leaves it after STOP_GRACE.
        let mut reload_pending = false;
        let (provider, steps) = (running.provider.clone(), options.clone());
        heartbeat.cycle(Some(Box::new(move || {
            provider.steps() + steps.progress.load(Ordering::SeqCst)
        })));
        let cancel = Arc::new(Notify::new());
        let mut cycle = start_cycle(&running, clock.now(), &options, &cancel);
        let finished = loop {
            tokio::select! {
                result = &mut cycle => break Some(result),
                signal = signals() => match signal {
                    Signal::Stop => break None,
                    Signal::Reload => reload_pending = true,
                },
            }
        };
        heartbeat.cycle(None);
        let Some(outcome) = finished else {
            options.stop.store(true, Ordering::SeqCst);
            cancel.notify_one();
            if tokio::time::timeout(STOP_GRACE, &mut cycle).await.is_err() {
                tracing::warn!("stopping in the middle of a cycle; the next start resumes it");
            }
            break;
        };
        let outcome = match outcome {
            Ok(Some(outcome)) => outcome,
            // Dropped: only a stop does that, handled above.
            Ok(None) => break,
            // The cycle's thread ended without an answer (a panic, logged
            // above): the process ends too, and the service manager starts it
            // again.
            Err(_) => return Err(ended_abnormally("the cycle")),
        };
        if reload_pending && !reload(&config_path, &mut running, clock.now(), &mut signals).await {
            break;
        }
        report(&outcome, &running.cfg);
        failures = if outcome.is_ok() { 0 } else { failures.saturating_add(1) };
        let every = Duration::try_from(running.cfg.schedule.cycle_every).unwrap_or(Duration::from_secs(900));
        let wait = tokio::time::sleep(retry_pause(every, failures));
        tokio::pin!(wait);
        let stop_now = loop {
            tokio::select! {
                _ = &mut wait => break false,
                signal = signals() => match signal {
                    Signal::Stop => break true,
                    Signal::Reload => {
                        if !reload(&config_path, &mut running, clock.now(), &mut signals).await {
                            break true;
                        }
                    }
                },
            }
        };
        if stop_now {
            break;
        }
    }
    notify(&[NotifyState::Stopping]);
    running.store.flush()?;
    tracing::info!("liaison stopped");
    Ok(())
}

/// Starts a cycle on a thread of its own (see [`off_thread`]). It resolves to
/// the cycle's result, or to `None` when `cancel` dropped it at one of its
/// awaits; an `Err` when the thread ended without an answer (a panic).
fn start_cycle(
    running: &Running,
    now: Timestamp,
    options: &Arc<cycle::Options>,
    cancel: &Arc<Notify>,
) -> oneshot::Receiver<Option<Result<CycleSummary, Failure>>> {
    let (cfg, provider, store) = (running.cfg.clone(), running.provider.clone(), running.store.clone());
    let (options, cancel) = (options.clone(), cancel.clone());
    // The thread drives the cycle's future; its timers and sockets stay with
    // this runtime, whose thread keeps running them.
    let runtime = tokio::runtime::Handle::current();
    off_thread("liaison-cycle", move || {
        runtime.block_on(async {
            tokio::select! {
                result = runner::run_with(&cfg, &*provider, &store, now, &options) => Some(result),
                () = cancel.notified() => None,
            }
        })
    })
}

/// Runs `work` on a new thread and resolves to its result. A plain thread
/// and not tokio's blocking pool: the runtime waits for that pool when it
/// shuts down, and a stop must not wait for a long computation to end (what
/// it leaves undone, the write-ahead log lets the next start finish). An
/// `Err` when the thread could not start or ended without an answer.
fn off_thread<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> oneshot::Receiver<T> {
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let _ = tx.send(work());
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "cannot start a thread");
    }
    rx
}

/// Waits for `work` while watching signals: `None` as soon as a stop comes
/// (a reload meanwhile is dropped: what is being read is the file as it is).
async fn until_stop<T, S, F>(work: impl Future<Output = T>, signals: &mut S) -> Option<T>
where
    S: FnMut() -> F,
    F: Future<Output = Signal>,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Some(done),
            signal = signals() => if signal == Signal::Stop {
                return None;
            },
        }
    }
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

/// A thread that ended without an answer.
fn ended_abnormally(what: &str) -> Failure {
    Failure::Other(anyhow::anyhow!("{what} ended abnormally; see the log above"))
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
/// The file is read on a thread of its own while signals are watched: false
/// when a stop came meanwhile (the daemon then stops).
async fn reload<S, F>(path: &Path, running: &mut Running, now: Timestamp, signals: &mut S) -> bool
where
    S: FnMut() -> F,
    F: Future<Output = Signal>,
{
    // systemd 253 and later ignore RELOADING=1 without the monotonic time.
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
    let (file, old, store) = (path.to_path_buf(), running.cfg.clone(), running.store.clone());
    let read = off_thread("liaison-config", move || {
        config::load(&file)
            .map_err(|errors| errors.0.iter().map(ToString::to_string).collect::<Vec<_>>())
            .and_then(|new| match reload_refusal(&old, &new) {
                Some(why) => Err(vec![why]),
                None => app::check_state(&new, &store, now)
                    .map(|()| new)
                    .map_err(|f| vec![format!("{:#}", f.error())]),
            })
    });
    let Some(read) = until_stop(read, signals).await else {
        return false;
    };
    match read {
        Ok(Ok(new)) => match provider::provider(&new).await {
            Ok(p) => {
                tracing::info!(config = %path.display(), people = new.people.len(), "configuration reloaded");
                running.cfg = Arc::new(new);
                running.provider = Arc::new(p);
            }
            Err(e) => {
                tracing::error!(error = %format!("{:#}", e.error()), "new configuration not used; keeping the old one")
            }
        },
        Ok(Err(errors)) => {
            for e in &errors {
                tracing::error!(error = %e, "new configuration not used; keeping the old one");
            }
        }
        Err(_) => tracing::error!("the configuration could not be read; keeping the old one"),
    }
    notify(&[NotifyState::Ready]);
    true
}

/// Logs a cycle's failure (its success logs itself) and tells systemd.
fn report(outcome: &Result<CycleSummary, Failure>, cfg: &Config) {
    match outcome {
        Ok(s) => {
            let status = format!(
                "last cycle: booked={} kept={} unpaired={} requests={}",
                s.counts.booked, s.counts.kept, s.counts.unpaired, s.counts.requests
            );
            notify(&[NotifyState::Status(&status)]);
        }
        Err(Failure::Unauthorized(e)) => {
            let hint = crate::status::auth_hint(cfg);
            tracing::error!(error = %format!("{e:#}"), "cycle skipped: authorization needed; {hint}");
            notify(&[NotifyState::Status(&format!("authorization needed: {hint}"))]);
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
    since: tokio::time::Instant,
}

impl Progress {
    fn new(steps: u64, now: tokio::time::Instant) -> Progress {
        Progress { steps, since: now }
    }

    /// Takes the step count seen at `now`; true while the last change is
    /// less than [`STUCK_AFTER`] ago (then the watchdog is pinged).
    fn alive(&mut self, steps: u64, now: tokio::time::Instant) -> bool {
        if steps != self.steps {
            *self = Progress::new(steps, now);
        }
        self.stuck_for(now) < STUCK_AFTER
    }

    fn stuck_for(&self, now: tokio::time::Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}

/// The count of steps of the cycle in progress: requests made, files read or
/// written, actions applied, terms planned.
type Steps = Box<dyn Fn() -> u64 + Send>;

/// What the watchdog task knows: the cycle in progress, if one is.
#[derive(Default)]
struct Heartbeat(Mutex<Option<Steps>>);

impl Heartbeat {
    fn cycle(&self, steps: Option<Steps>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = steps;
    }

    /// The steps of the cycle in progress; `None` between cycles.
    fn steps(&self) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|count| count())
    }
}

/// Calls `ping` at half the watchdog's `interval`: always between cycles,
/// and during a cycle while it makes progress (see [`Progress`]). A task of
/// its own, so a long cycle (on its own thread) keeps the watchdog pinged.
async fn watchdog(interval: Duration, heartbeat: Arc<Heartbeat>, mut ping: impl FnMut()) {
    let mut progress: Option<Progress> = None;
    loop {
        tokio::time::sleep(interval / 2).await;
        let now = tokio::time::Instant::now();
        let alive = match heartbeat.steps() {
            None => {
                progress = None;
                true
            }
            Some(steps) => {
                let p = progress.get_or_insert_with(|| Progress::new(steps, now));
                let alive = p.alive(steps, now);
                if !alive {
                    tracing::error!(stuck_for = ?p.stuck_for(now), "cycle makes no progress; watchdog not pinged");
                }
                alive
            }
        };
        if alive {
            ping();
        }
    }
}

/// Ends a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
        let t0 = tokio::time::Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let mut p = Progress::new(0, t0);
        assert!(p.alive(0, at(299)), "quiet for less than STUCK_AFTER");
        assert!(!p.alive(0, at(300)), "no step for STUCK_AFTER: stuck");
        assert!(p.alive(1, at(301)), "a step revives it");
        assert!(p.alive(1, at(600)));
        assert!(!p.alive(1, at(601)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_task_pings_between_cycles_and_during_a_cycle_while_it_moves() {
        use std::sync::atomic::AtomicU64;
        let heartbeat = Arc::new(Heartbeat::default());
        let pings = Arc::new(AtomicU64::new(0));
        let counted = pings.clone();
        // Pinged every minute (at 60 s, 120 s, ...); the test looks a second
        // after, so that no two wake-ups fall on the same instant.
        let _task = AbortOnDrop(tokio::spawn(watchdog(
            Duration::from_secs(120),
            heartbeat.clone(),
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        )));
        let at = |secs: u64| tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_secs(secs));
        let pinged = || pings.load(Ordering::SeqCst);
        at(181).await;
        assert_eq!(pinged(), 3, "between cycles, every minute");
        // A cycle that takes no step: pinged while its last step (seen at
        // 240 s) is less than STUCK_AFTER ago, at 240 ... 480 s, then never.
        let steps = Arc::new(AtomicU64::new(7));
        let read = steps.clone();
        heartbeat.cycle(Some(Box::new(move || read.load(Ordering::SeqCst))));
        at(600).await;
        assert_eq!(pinged(), 3 + 5, "stuck: no ping after STUCK_AFTER");
        // A step revives it (at 840 s) ...
        steps.fetch_add(1, Ordering::SeqCst);
        at(60).await;
        assert_eq!(pinged(), 9);
        // ... and a cycle that keeps moving keeps it pinged.
        for _ in 0..10 {
            steps.fetch_add(1, Ordering::SeqCst);
            at(60).await;
        }
        assert_eq!(pinged(), 19);
        // After the cycle, pinged again whatever its steps.
        heartbeat.cycle(None);
        at(600).await;
        assert_eq!(pinged(), 29);
    }

    #[test]
    fn failed_cycles_are_retried_sooner_doubling_up_to_cycle_every() {
        let every = Duration::from_secs(15 * 60);
        let minutes = |n: u32| retry_pause(every, n).as_secs() / 60;
        assert_eq!([0, 1, 2, 3, 4, 5, 40].map(minutes), [15, 1, 2, 4, 8, 15, 15]);
    }
}

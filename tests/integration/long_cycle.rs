//! The daemon with a 10,000-person local organization, whose first cycle
//! reads 10,000 calendars and plans 5,000 pairs: the daemon keeps answering
//! during it. The watchdog is pinged through the cycle, and SIGTERM in its
//! middle ends the process with exit 0 within a second.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::daemon::{Log, signal, wait_exit};

/// The watchdog interval the test gives the daemon (`WATCHDOG_USEC`): it
/// pings at half of it, and systemd would kill it after a whole one silent.
const WATCHDOG: Duration = Duration::from_secs(2);

/// Writes the demo organization of `people` people into `dir` (its first
/// term starts 2027-03-08, five days after the tests' fixed now).
fn organization(dir: &Path, people: usize) -> std::path::PathBuf {
    let org = liaison::demo::generate(&liaison::demo::Shape::demo(people), 1, jiff::civil::date(2027, 3, 8));
    for (name, text) in &org.calendars {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let config = dir.join("config.toml");
    std::fs::write(&config, &org.config_toml).unwrap();
    config
}

/// What the daemon tells the service manager, with when it arrived: a
/// datagram socket at `path`, as systemd's `NOTIFY_SOCKET`, read on a thread.
fn notifications(path: &Path) -> mpsc::Receiver<(Instant, String)> {
    let socket = UnixDatagram::bind(path).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if tx.send((Instant::now(), text)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `limit` for a notification containing `needle`; its arrival.
fn wait_notified(rx: &mpsc::Receiver<(Instant, String)>, needle: &str, limit: Duration) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((at, text)) if text.lines().any(|l| l == needle) => return Some(at),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn a_long_cycle_keeps_the_watchdog_pinged_and_sigterm_in_its_middle_exits_0_within_a_second() {
    let tmp = tempfile::tempdir().unwrap();
    let config = organization(tmp.path(), 10_000);
    let socket = tmp.path().join("notify.sock");
    let notified = notifications(&socket);
    let mut child = crate::util::command(tmp.path())
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
        .env_remove("WATCHDOG_PID")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = Log::of(&mut child);
    assert!(
        wait_notified(&notified, "READY=1", Duration::from_secs(120)).is_some(),
        "never ready: {}",
        log.text()
    );
    // The readiness signal of the cycle's middle: it starts reading the
    // 10,000 calendars (then plans them), which takes seconds at least.
    assert!(
        log.wait_for("reading busy time and planning", Duration::from_secs(120)),
        "the cycle never started planning: {}",
        log.text()
    );
    let middle = Instant::now();
    let mut pings = vec![middle];
    while pings.len() <= 4 {
        let at = wait_notified(&notified, "WATCHDOG=1", Duration::from_secs(30));
        pings.push(at.unwrap_or_else(|| panic!("no watchdog ping during the cycle: {}", log.text())));
    }
    let longest = pings.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    eprintln!("4 watchdog pings during the cycle, at most {longest:?} apart");
    assert!(
        longest < WATCHDOG,
        "a gap of {longest:?} between pings would let systemd kill it"
    );
    assert_eq!(
        log.count("cycle done"),
        0,
        "the cycle ended before SIGTERM: {}",
        log.text()
    );

    signal(&child, "TERM");
    let sent = Instant::now();
    let code = wait_exit(&mut child, Duration::from_secs(10));
    let took = sent.elapsed();
    eprintln!("exited {took:?} after SIGTERM, {:?} into the cycle", sent - middle);
    assert_eq!(code, Some(0), "{}", log.text());
    assert!(took < Duration::from_secs(1), "took {took:?} to stop: {}", log.text());
    assert!(
        log.wait_for("liaison stopped", Duration::from_secs(10)),
        "{}",
        log.text()
    );
    assert_eq!(
        log.count("cycle done"),
        0,
        "SIGTERM did not come in the middle of the cycle"
    );
    assert_eq!(log.count("panicked"), 0, "{}", log.text());
}

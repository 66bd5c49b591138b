//! End to end with Google: the real `liaison` binary, with the real
//! google-calendar3 and yup-oauth2 clients, against the fake Google API on
//! 127.0.0.1: authorization by following the printed URL, `plan`, `run --once`
//! under failures, a revoked token, an unknown calendar, and no secret in logs;
//! and the library's Google provider itself ending a series early.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::{Value, json};

use crate::fake_google::{DEFAULT_USER, FakeGoogle};
use crate::util::Run;

const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/calendar.events.owned",
];

/// Fast retries for tests; the defaults wait up to minutes. The call timeout
/// is far above any answer of the fake on a loaded machine, so no test's
/// outcome depends on the machine's speed; lost answers are simulated by cut
/// connections and gates, never by waiting for a timeout.
const TIMING: &str = "timeout=30s,attempts=12,base=1ms,cap=20ms,budget=60s";

/// How long the test that plays the browser waits for any one thing
/// (a line from `liaison auth`, an HTTP answer, the process to end).
const BROWSER_WAIT: Duration = Duration::from_secs(60);

const ZONES: [&str; 4] = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata"];

/// A person of the test organization and the busy time the test gave them.
pub struct Member {
    pub email: String,
    pub unit: String,
    pub zone: String,
    pub busy: Vec<(Timestamp, Timestamp)>,
}

/// An organization on the fake Google: calendars, config, client secret.
pub struct Org {
    pub fake: FakeGoogle,
    pub tmp: tempfile::TempDir,
    pub config: PathBuf,
    pub members: Vec<Member>,
}

impl Org {
    /// `n` people in six units and four zones, each with a weekly team meeting
    /// and a weekly 1:1 (recurring events in their own zone) across the first
    /// term, which starts 2027-03-08 and contains both DST changes.
    pub fn new(n: usize) -> Org {
        let fake = FakeGoogle::start();
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("client_secret.json"), fake.client_secret_json()).unwrap();
        let mut config = format!(
            r#"timezone = "Europe/London"
state_dir = "state"

[schedule]
first_term = "2027-03-08"

[calendar]
provider = "google"

[calendar.google]
client_secret = "client_secret.json"
api_base_url = "{}"
requests_per_second = 1000
"#,
            fake.base_url()
        );
        let mut members = Vec::new();
        for i in 0..n {
            let zone = ZONES[i % ZONES.len()].to_string();
            let email = format!("leader{i:03}@example.org");
            let unit = format!("Unit {}", i % 6);
            config.push_str(&format!(
                "\n[[people]]\nemail = \"{email}\"\nname = \"Leader {i}\"\nunit = \"{unit}\"\ntimezone = \"{zone}\"\n"
            ));
            fake.add_calendar(&email, &zone);
            let tz = TimeZone::get(&zone).unwrap();
            let mut busy = Vec::new();
            for (k, (day, hour, minutes)) in [(i % 5, 10 + (i % 3) as i8, 60i64), ((i + 2) % 5, 14, 30)]
                .into_iter()
                .enumerate()
            {
                let date = jiff::civil::date(2027, 3, 1).checked_add((day as i64).days()).unwrap();
                let start = date.at(hour, 0, 0, 0);
                let end = start.checked_add(minutes.minutes()).unwrap();
                fake.add_event(
                    &email,
                    json!({
                        "summary": format!("Meeting {k}"),
                        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": zone},
                        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": zone},
                        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=8"],
                    }),
                );
                for w in 0..8 {
                    let s = tz.to_timestamp(start.checked_add((7 * w).days()).unwrap()).unwrap();
                    let e = tz.to_timestamp(end.checked_add((7 * w).days()).unwrap()).unwrap();
                    busy.push((s, e));
                }
            }
            members.push(Member {
                email,
                unit,
                zone,
                busy,
            });
        }
        let path = tmp.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        Org {
            fake,
            tmp,
            config: path,
            members,
        }
    }

    /// [`Org::new`], authorized with `liaison auth` (which must succeed).
    pub fn authorized(n: usize) -> Org {
        let org = Org::new(n);
        let auth = org.authorize();
        assert_eq!(auth.code, 0, "{}", auth.stderr);
        org
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Runs `liaison --config <org> ARGS` with the fixed clock and fast retries.
    pub fn liaison(&self, args: &[&str]) -> Run {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        Run::from(base_command(self.dir()).args(&all).output().expect("liaison runs"))
    }

    /// Starts `liaison --config <org> ARGS` in the background with `envs`,
    /// stderr piped.
    pub fn spawn(&self, args: &[&str], envs: &[(&str, &str)]) -> std::process::Child {
        base_command(self.dir())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("liaison starts")
    }

    /// `liaison auth --no-browser`, with the test playing the browser: it reads
    /// the printed URL, asks the fake's consent page, and follows its redirect to
    /// liaison's loopback listener.
    /// Every wait is bounded by [`BROWSER_WAIT`]: a `liaison auth` that
    /// prints nothing, an answer that never comes, or a process that never
    /// ends fail the test instead of hanging it.
    pub fn authorize(&self) -> Run {
        let mut child = base_command(self.dir())
            .args(["--config", self.config.to_str().unwrap(), "auth", "--no-browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("liaison auth starts");
        let lines = lines_of(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut printed = String::new();
        let url = loop {
            match lines.recv_timeout(BROWSER_WAIT) {
                Ok(line) => {
                    printed.push_str(&line);
                    printed.push('\n');
                    if line.starts_with("http") {
                        break Some(line.trim().to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("liaison auth printed no URL within {BROWSER_WAIT:?}: {printed}");
                }
            }
        };
        let url = url.unwrap_or_else(|| panic!("auth printed no URL: {printed}"));
        let (status, headers, _) = http_get(&url);
        assert_eq!(status, 302, "consent page answered {status}");
        let location = headers
            .get("location")
            .expect("a redirect to the loopback listener")
            .clone();
        let (status, _, _) = http_get(&location);
        assert!(status < 400, "the loopback listener answered {status}");
        let deadline = Instant::now() + BROWSER_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    printed.push_str(&line);
                    printed.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("liaison auth did not finish within {BROWSER_WAIT:?}: {printed}");
                }
            }
        }
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("liaison auth did not exit within {BROWSER_WAIT:?}: {printed}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: printed,
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Every liaison series on the organizer's calendar (not the exceptions of
    /// single occurrences, which carry the same private properties).
    pub fn liaison_events(&self) -> Vec<Value> {
        self.fake
            .events(DEFAULT_USER)
            .into_iter()
            .filter(|e| e["extendedProperties"]["private"]["liaison"] == "1" && e.get("recurringEventId").is_none())
            .collect()
    }

    /// DESIGN §6 invariants 1, 3 and 4 over every liaison event: one event per
    /// pair and term, every occurrence inside both windows (09:00-17:00 local,
    /// Monday to Friday) and clear of both people's busy time with the 5-minute
    /// buffer, no same-unit pair, at most one connection per person per week.
    /// Returns the number of series still running as booked (active and
    /// not ended early; an ended one is checked with the occurrences it kept).
    pub fn check_invariants(&self) -> usize {
        let members: BTreeMap<&str, &Member> = self.members.iter().map(|m| (m.email.as_str(), m)).collect();
        let mut per_pair_term = BTreeMap::new();
        let mut per_week = BTreeSet::new();
        let mut active = 0;
        for event in self.liaison_events() {
            let private = &event["extendedProperties"]["private"];
            let key = (
                private["liaison_pair"].as_str().unwrap().to_string(),
                private["liaison_term"].as_str().unwrap().to_string(),
            );
            // A deleted event is in nobody's calendar: a late landing that
            // liaison removed does not count against a later series of the pair.
            if event["status"] == "cancelled" {
                continue;
            }
            *per_pair_term.entry(key.clone()).or_insert(0) += 1;
            if !event["recurrence"][0].as_str().unwrap_or("").contains("UNTIL=") {
                active += 1;
            }
            let (a, b) = key.0.split_once('|').unwrap();
            let (a, b) = (members[a], members[b]);
            assert_ne!(a.unit, b.unit, "same-unit pair {}", key.0);
            for occ in occurrences(&event) {
                for m in [a, b] {
                    let tz = TimeZone::get(&m.zone).unwrap();
                    let (s, e) = (occ.0.to_zoned_datetime(tz.clone()), occ.1.to_zoned_datetime(tz));
                    assert!(
                        s.date() == e.date()
                            && s.date().weekday().to_monday_one_offset() <= 5
                            && s.time() >= jiff::civil::time(9, 0, 0, 0)
                            && e.time() <= jiff::civil::time(17, 0, 0, 0),
                        "{} at {s} is outside {}'s window",
                        event["id"],
                        m.email
                    );
                    let buffer = SignedDuration::from_mins(5);
                    for &(bs, be) in &m.busy {
                        let clear =
                            occ.1 <= bs.checked_sub(buffer).unwrap() || occ.0 >= be.checked_add(buffer).unwrap();
                        assert!(clear, "{} at {s} overlaps {}'s busy time", event["id"], m.email);
                    }
                    let week = jiff::civil::date(2027, 3, 8)
                        .until(s.date())
                        .unwrap()
                        .get_days()
                        .div_euclid(7);
                    assert!(
                        per_week.insert((m.email.clone(), week)),
                        "{} has two connections in week {week}",
                        m.email
                    );
                }
            }
        }
        for (key, count) in per_pair_term {
            assert_eq!(count, 1, "{key:?} has {count} events");
        }
        active
    }
}

/// The two people of a liaison event, as its private property names them.
pub fn pair_of(event: &Value) -> (String, String) {
    let (a, b) = event["extendedProperties"]["private"]["liaison_pair"]
        .as_str()
        .unwrap()
        .split_once('|')
        .unwrap();
    (a.to_string(), b.to_string())
}

/// The binary with a clean environment, the fixed clock and fast retries.
pub fn base_command(cwd: &Path) -> Command {
    let mut command = crate::util::command(cwd);
    command.env("LIAISON_GOOGLE_TIMING", TIMING);
    command
}

/// The occurrences of a recurring event: its first start in its zone, then the
/// same wall-clock time every week, COUNT times or up to UNTIL (UTC) when
/// liaison ended the series early.
pub fn occurrences(event: &Value) -> Vec<(Timestamp, Timestamp)> {
    let zone = TimeZone::get(event["start"]["timeZone"].as_str().unwrap()).unwrap();
    let local = |v: &Value| -> DateTime {
        let text = v["dateTime"].as_str().unwrap();
        match text.parse::<Timestamp>() {
            Ok(ts) => ts.to_zoned_datetime(zone.clone()).datetime(),
            Err(_) => text.parse().unwrap(),
        }
    };
    let (start, end) = (local(&event["start"]), local(&event["end"]));
    let rule = event["recurrence"][0].as_str().unwrap();
    let part = |key: &str| {
        rule.split(';')
            .find_map(|p| p.trim_start_matches("RRULE:").strip_prefix(key))
            .map(str::to_string)
    };
    let until = part("UNTIL=").map(|u| {
        jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", &u)
            .unwrap()
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
    });
    let count: i64 = part("COUNT=").map_or(520, |c| c.parse().unwrap());
    (0..count)
        .map(|w| {
            let s = zone.to_timestamp(start.checked_add((7 * w).days()).unwrap()).unwrap();
            let e = zone.to_timestamp(end.checked_add((7 * w).days()).unwrap()).unwrap();
            (s, e)
        })
        .take_while(|(s, _)| until.is_none_or(|u| *s <= u))
        .collect()
}

/// The lines a child prints on `stdout`, read on a thread (so that the test
/// can wait for one with a timeout).
pub fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A plain HTTP/1.1 GET: status, lower-cased headers, body. Connecting,
/// writing and each read are bounded by [`BROWSER_WAIT`].
pub fn http_get(url: &str) -> (u16, BTreeMap<String, String>, String) {
    use std::net::ToSocketAddrs as _;
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    // `localhost` may name ::1 and 127.0.0.1; the listener is on one of them.
    let mut stream = authority
        .to_socket_addrs()
        .expect("a loopback address")
        .find_map(|address| TcpStream::connect_timeout(&address, BROWSER_WAIT).ok())
        .unwrap_or_else(|| panic!("cannot connect to {authority}"));
    stream.set_read_timeout(Some(BROWSER_WAIT)).unwrap();
    stream.set_write_timeout(Some(BROWSER_WAIT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("GET {url}: no whole answer within {BROWSER_WAIT:?}: {e}"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

#[test]
fn authorize_plan_and_book_a_term_with_only_the_two_minimal_scopes() {
    let org = Org::new(24);
    let auth = org.authorize();
    assert_eq!(auth.code, 0, "auth failed: {}\n{}", auth.stdout, auth.stderr);
    assert!(auth.stdout.contains("granted scopes"), "{}", auth.stdout);
    let token = org.dir().join("state").join("token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let plan = org.liaison(&["plan", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let planned: Value = serde_json::from_str(&plan.stdout).unwrap();
    let pairs = planned["pairs"].as_array().unwrap().len();
    assert!(pairs >= 10, "only {pairs} pairs planned for 24 people");
    assert!(org.liaison_events().is_empty(), "plan wrote to the calendar");

    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        org.check_invariants(),
        pairs,
        "run booked something else than plan showed"
    );
    assert!(
        run.stderr
            .contains(&format!("cycle done term=2027-03-08 booked={pairs}")),
        "{}",
        run.stderr
    );

    let scopes: BTreeSet<String> = org.fake.requests().iter().flat_map(|r| r.scopes.clone()).collect();
    let expected: BTreeSet<String> = SCOPES.iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, expected, "the fake saw other scopes");
}

#[test]
fn with_thirty_percent_of_requests_failing_every_pair_is_booked_once() {
    let org = Org::new(24);
    assert_eq!(org.authorize().code, 0);
    let pairs = {
        let plan = org.liaison(&["plan", "--json"]);
        let v: Value = serde_json::from_str(&plan.stdout).unwrap();
        v["pairs"].as_array().unwrap().len()
    };
    org.fake.set_failure_rate(0.3, 7, &[429, 500, 503]);
    org.fake.drop_after_write_next(3);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let injected = org.fake.requests().iter().filter(|r| r.injected).count();
    let dropped = org.fake.requests().iter().filter(|r| r.dropped).count();
    assert!(injected > 5, "only {injected} failures were injected");
    assert_eq!(dropped, 3);
    assert_eq!(org.check_invariants(), pairs);
    // A dropped insert was retried: its 409 was resolved by a get, not a second event.
    let inserts_409 = org
        .fake
        .requests()
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.insert") && r.status == 409)
        .count();
    assert!(inserts_409 >= 1, "no retried insert met its own event");
}

#[test]
fn a_revoked_token_exits_3_and_says_to_run_auth() {
    let org = Org::new(6);
    assert_eq!(org.authorize().code, 0);
    org.fake.revoke_refresh_tokens();
    // The stored access token expires now (the file still says it is good
    // for an hour): the run meets a 401 and must use the refresh token.
    org.fake.expire_access_tokens();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("liaison auth"), "{}", run.stderr);
    assert!(
        run.stderr.contains("7 days"),
        "no hint about Google's Testing status: {}",
        run.stderr
    );
    assert!(org.liaison_events().is_empty());
}

#[test]
fn an_unknown_calendar_leaves_one_person_unpaired_and_the_rest_booked() {
    let mut org = Org::new(13);
    // A 14th person whose calendar Google does not know.
    let config = std::fs::read_to_string(&org.config).unwrap()
        + "\n[[people]]\nemail = \"ghost@example.org\"\nname = \"Ghost\"\nunit = \"Unit 5\"\n";
    std::fs::write(&org.config, config).unwrap();
    org.members.push(Member {
        email: "ghost@example.org".into(),
        unit: "Unit 5".into(),
        zone: "Europe/London".into(),
        busy: vec![],
    });
    assert_eq!(org.authorize().code, 0);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("ghost@example.org"), "{}", run.stderr);
    assert!(run.stderr.contains("notFound"), "{}", run.stderr);
    assert_eq!(org.check_invariants(), 6);
    assert!(org.liaison_events().iter().all(|e| {
        !e["extendedProperties"]["private"]["liaison_pair"]
            .as_str()
            .unwrap()
            .contains("ghost")
    }));
}

#[test]
fn no_token_secret_or_key_appears_in_any_log_line() {
    let org = Org::new(10);
    let auth = org.authorize();
    assert_eq!(auth.code, 0);
    let plan = org.liaison(&["-vv", "plan"]);
    let run = org.liaison(&["-vv", "--log-format", "json", "run", "--once"]);
    let check = org.liaison(&["-vv", "check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let all = [
        auth.stdout,
        auth.stderr,
        plan.stdout,
        plan.stderr,
        run.stdout,
        run.stderr,
        check.stdout,
        check.stderr,
    ]
    .join("\n");
    assert!(all.lines().count() > 20, "too little was logged to judge");
    for secret in org.fake.secrets() {
        assert!(
            !all.contains(&secret),
            "a secret appeared in the output: {}…",
            &secret[..secret.len().min(8)]
        );
    }
}

#[test]
fn a_booking_run_for_120_people_makes_few_requests() {
    let org = Org::new(120);
    assert_eq!(org.authorize().code, 0);
    org.fake.clear_requests();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pairs = org.check_invariants();
    let requests = org.fake.requests();
    let freebusy = requests
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.freebusy.query"))
        .count();
    let inserts = requests
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.insert"))
        .count();
    let others = requests.len() - freebusy - inserts;
    eprintln!(
        "120 people: {} requests = {freebusy} freeBusy + {inserts} inserts + {others} others; {pairs} pairs",
        requests.len()
    );
    assert_eq!(freebusy, 3, "⌈120/50⌉ free/busy calls");
    assert_eq!(inserts, pairs);
    assert!(others <= 2, "{others} other requests");
}

/// The library's Google provider on the fake, authorized as a service account
/// acting for [`DEFAULT_USER`] (no consent flow), with `calendar.instance = "hq"`.
fn provider_on(fake: &FakeGoogle, dir: &Path) -> liaison::calendar::google::GoogleProvider {
    use liaison::calendar::google::{GoogleProvider, Timing};
    std::fs::write(dir.join("key.json"), fake.service_account_key_json()).unwrap();
    let text = format!(
        r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
[calendar]
provider = "google"
instance = "hq"
[calendar.google]
auth = "service_account"
service_account_key = "key.json"
impersonate = "{DEFAULT_USER}"
api_base_url = "{}"
requests_per_second = 1000
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
    let cfg = liaison::config::parse(&text, &dir.join("config.toml"), &liaison::config::Env::default()).unwrap();
    let timing = Timing::default().with_overrides(TIMING).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(GoogleProvider::with_timing(&cfg, timing)).unwrap()
}

#[test]
fn a_four_week_series_ended_after_its_second_occurrence_keeps_two_instances() {
    use liaison::calendar::{Attendee, CalendarProvider, CreateOutcome, DeleteOutcome, EndOutcome, SeriesRequest};
    let fake = FakeGoogle::start();
    fake.add_calendar("ada@example.org", "Europe/London");
    fake.add_calendar("bob@example.org", "Europe/London");
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path());
    // Mondays 10:00 London from 2027-03-08; the fourth is after the UK's DST change.
    let request = SeriesRequest {
        event_id: "endtest00001".into(),
        term: jiff::civil::date(2027, 3, 8),
        pair: ("ada@example.org".into(), "bob@example.org".into()),
        attendees: [
            Attendee {
                email: "ada@example.org".into(),
                name: "Ada".into(),
            },
            Attendee {
                email: "bob@example.org".into(),
                name: "Bob".into(),
            },
        ],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: jiff::civil::datetime(2027, 3, 8, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    };
    let id = request.event_id.as_str();
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(provider.create_series(&request).await.unwrap(), CreateOutcome::Created);
        let before = provider.list_changes(None, crate::util::now()).await.unwrap();
        let token = before.next_token.expect("a sync token");
        let originals = |occurrences: &[liaison::calendar::Occurrence]| -> Vec<Timestamp> {
            occurrences.iter().map(|o| o.original_start).collect()
        };
        let all = provider.instances(id).await.unwrap();
        assert_eq!(
            originals(&all),
            [
                ts("2027-03-08T10:00:00Z"),
                ts("2027-03-15T10:00:00Z"),
                ts("2027-03-22T10:00:00Z"),
                ts("2027-03-29T09:00:00Z"),
            ]
        );

        let second = all[1].original_start;
        assert_eq!(provider.end_series(id, second).await.unwrap(), EndOutcome::Ended);
        let kept = provider.instances(id).await.unwrap();
        assert_eq!(originals(&kept), originals(&all[..2]));
        assert!(kept.iter().all(|o| !o.cancelled && o.interval.is_some()));

        let series = provider
            .get_series(id)
            .await
            .unwrap()
            .expect("the series is still there");
        assert!(series.active);
        assert_eq!(series.instance.as_deref(), Some("hq"));
        assert_eq!(
            series.request,
            SeriesRequest {
                count: 2,
                ..request.clone()
            }
        );

        // The next incremental read reports the shortened series.
        let changes = provider.list_changes(Some(&token), crate::util::now()).await.unwrap();
        assert!(!changes.full);
        let changed: Vec<_> = changes
            .series
            .iter()
            .map(|d| (d.series.request.event_id.as_str(), d.series.request.count))
            .collect();
        assert_eq!(changed, [(id, 2)]);

        // Free/busy no longer holds the weeks after the end.
        let range = liaison::core::interval::Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-05T00:00:00Z"));
        let busy = provider.busy(&["ada@example.org".to_string()], range).await.unwrap();
        let spans: Vec<_> = busy["ada@example.org"]
            .as_ref()
            .unwrap()
            .spans()
            .iter()
            .map(|s| s.start)
            .collect();
        assert_eq!(spans, originals(&all[..2]));

        // Ending it again is harmless; once deleted, it is gone.
        assert_eq!(provider.end_series(id, second).await.unwrap(), EndOutcome::Ended);
        assert_eq!(provider.delete_series(id).await.unwrap(), DeleteOutcome::Deleted);
        assert_eq!(provider.end_series(id, second).await.unwrap(), EndOutcome::AlreadyGone);
        assert_eq!(
            provider.end_series("neverbooked1", second).await.unwrap(),
            EndOutcome::AlreadyGone
        );
    });

    let patches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.patch"))
        .collect();
    assert_eq!(patches.len(), 4);
    for patch in &patches {
        assert_eq!(patch.param("sendUpdates"), Some("all"), "meeting.send_updates' default");
        assert_eq!(patch.scopes, [SCOPES[1]], "a patch asks for calendar.events.owned only");
        assert_eq!(
            patch.json().unwrap(),
            json!({"recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20270315T100000Z"]})
        );
    }
    let statuses: Vec<u16> = patches.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [200, 200, 200, 404]);
    let inserted = &fake.events(DEFAULT_USER)[0];
    assert_eq!(inserted["extendedProperties"]["private"]["liaison_instance"], "hq");
}

#[test]
fn a_daily_limit_on_inserts_is_a_quota_error_at_once_and_other_calls_pass() {
    use liaison::calendar::{Attendee, CalendarError, CalendarProvider, ErrorScope, SeriesRequest};
    let fake = FakeGoogle::start();
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path());
    let request = SeriesRequest {
        event_id: "quotatest001".into(),
        term: jiff::civil::date(2027, 3, 8),
        pair: ("ada@example.org".into(), "bob@example.org".into()),
        attendees: [
            Attendee {
                email: "ada@example.org".into(),
                name: "Ada".into(),
            },
            Attendee {
                email: "bob@example.org".into(),
                name: "Bob".into(),
            },
        ],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: jiff::civil::datetime(2027, 3, 8, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    };
    fake.fail_method("events.insert", 1, 403, "dailyLimitExceeded");
    fake.fail_method("events.insert", 20, 403, "userRateLimitExceeded");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let err = provider.create_series(&request).await.unwrap_err();
        assert!(matches!(err, CalendarError::Quota(_)), "{err:?}");
        assert_eq!(err.scope(), ErrorScope::Everyone);
        assert!(err.to_string().contains("Daily Limit Exceeded"), "{err}");
        assert_eq!(provider.requests(), 1, "a daily limit is not retried");
        assert!(provider.list_series().await.unwrap().is_empty(), "reads still pass");
        // A rate limit is retried until the attempts run out, then transient.
        let err = provider.create_series(&request).await.unwrap_err();
        assert!(matches!(err, CalendarError::Transient(_)), "{err:?}");
        assert!(!err.write_refused());
    });
    let inserts = fake
        .requests()
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("calendar.events.insert"))
        .count();
    assert_eq!(
        inserts,
        1 + 12,
        "one daily-limit answer, then the 12 attempts of TIMING"
    );
}

/// A series with a skipped week (a holiday) is inserted with the EXDATE in
/// its `recurrence`, Google's instances leave that week out, and ending the
/// series early (the patch replaces the whole `recurrence`) writes it again.
#[test]
fn a_skipped_week_is_an_exdate_in_the_inserted_recurrence_and_survives_ending_early() {
    use liaison::calendar::{Attendee, CalendarProvider, CreateOutcome, EndOutcome, SeriesRequest};
    let fake = FakeGoogle::start();
    fake.add_calendar("ada@example.org", "Europe/London");
    fake.add_calendar("bob@example.org", "Europe/London");
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path());
    let attendee = |email: &str| Attendee {
        email: email.into(),
        name: email.into(),
    };
    let request = SeriesRequest {
        event_id: "skiptest00001".into(),
        term: jiff::civil::date(2027, 3, 8),
        pair: ("ada@example.org".into(), "bob@example.org".into()),
        attendees: [attendee("ada@example.org"), attendee("bob@example.org")],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: jiff::civil::datetime(2027, 3, 8, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: vec![jiff::civil::datetime(2027, 3, 15, 10, 0, 0, 0)],
    };
    let id = request.event_id.as_str();
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(provider.create_series(&request).await.unwrap(), CreateOutcome::Created);
        let inserted = fake
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path.ends_with("/events"))
            .expect("an insert");
        let body: serde_json::Value = serde_json::from_str(&inserted.body).unwrap();
        assert_eq!(
            body["recurrence"],
            serde_json::json!(["RRULE:FREQ=WEEKLY;COUNT=4", "EXDATE;TZID=Europe/London:20270315T100000"])
        );
        let starts = |all: &[liaison::calendar::Occurrence]| -> Vec<Timestamp> {
            all.iter().map(|o| o.original_start).collect()
        };
        let all = provider.instances(id).await.unwrap();
        assert_eq!(
            starts(&all),
            [
                ts("2027-03-08T10:00:00Z"),
                ts("2027-03-22T10:00:00Z"),
                ts("2027-03-29T09:00:00Z")
            ]
        );
        assert_eq!(provider.get_series(id).await.unwrap().unwrap().request, request);

        let third = ts("2027-03-22T10:00:00Z");
        assert_eq!(
            provider.end_booked_series(&request, third).await.unwrap(),
            EndOutcome::Ended
        );
        let kept = provider.instances(id).await.unwrap();
        assert_eq!(starts(&kept), starts(&all[..2]), "the holiday did not come back");
        let read = provider.get_series(id).await.unwrap().unwrap().request;
        assert_eq!((read.count, read.skip), (3, request.skip.clone()));
    });
}

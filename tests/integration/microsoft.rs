//! End to end with Microsoft 365: the real `liaison` binary against the fake
//! Graph and identity platform on 127.0.0.1 — sign-in with a device code
//! (approved, declined, expired, slowed down, by someone else than the
//! organizer) and with client credentials, `plan`, `run --once` under
//! throttling and a lost answer, a revoked grant, a quiet cycle's requests,
//! a delta window on the cycle's clock, getSchedule split for 102 people over
//! 15 weeks, a crash with an insert still in flight; and the library's
//! provider paced under a per-mailbox quota. The repairs and the other crash
//! tests run for both providers from `repair.rs` and `daemon.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde_json::{Value, json};

use crate::fake_graph::{CLIENT_ID, CLIENT_SECRET, DEFAULT_USER, DeviceState, FakeGraph, TENANT_DOMAIN};
pub use crate::google::Member;
use crate::google::lines_of;
use crate::util::Run;
use liaison::store::SeriesState;

/// Fast retries; the call timeout far above any answer of the fake.
const TIMING: &str = "timeout=30s,attempts=12,base=1ms,cap=20ms,budget=60s";
/// The longest wait for `liaison auth` to print or end.
const WAIT: Duration = Duration::from_secs(60);
const ZONES: [&str; 4] = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata"];
const PROPERTY: &str = "String {b0a1c7e2-3f5d-4c1a-9e4b-6c2d8f0a1e37} Name ";

/// An organization on the fake Graph, configured for the device code.
pub struct Org {
    pub fake: FakeGraph,
    pub tmp: tempfile::TempDir,
    pub config: PathBuf,
    pub members: Vec<Member>,
    /// The Monday the first term starts.
    pub first_term: Date,
}

fn civil(t: jiff::civil::DateTime) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

impl Org {
    /// `n` people in six units and four zones, each with two weekly
    /// meetings in their own zone (one named by its Windows name) across
    /// the first term (2027-03-08, both DST changes inside).
    pub fn new(n: usize, extra: &str) -> Org {
        Org::starting(n, extra, jiff::civil::date(2027, 3, 8))
    }

    /// [`Org::new`] with the first term on `first_term` (a Monday), the
    /// meetings from the week before it.
    pub fn starting(n: usize, extra: &str, first_term: Date) -> Org {
        assert_eq!(first_term.weekday(), jiff::civil::Weekday::Monday);
        let week_before = first_term.checked_sub(7.days()).unwrap();
        let fake = FakeGraph::start();
        let tmp = tempfile::tempdir().unwrap();
        let mut config = format!(
            r#"timezone = "Europe/London"
state_dir = "state"

[schedule]
first_term = "{first_term}"

[calendar]
provider = "microsoft"

[calendar.microsoft]
tenant = "{TENANT_DOMAIN}"
client_id = "{CLIENT_ID}"
api_base_url = "{}"
login_base_url = "{}"
requests_per_second = 16
{extra}
"#,
            fake.api_base(),
            fake.login_base()
        );
        let mut members = Vec::new();
        for i in 0..n {
            let zone = ZONES[i % ZONES.len()].to_string();
            let email = format!("leader{i:03}@contoso.com");
            let unit = format!("Unit {}", i % 6);
            config.push_str(&format!(
                "\n[[people]]\nemail = \"{email}\"\nname = \"Leader {i}\"\nunit = \"{unit}\"\ntimezone = \"{zone}\"\n"
            ));
            fake.add_mailbox(&email, &zone);
            let tz = TimeZone::get(&zone).unwrap();
            let mut busy = Vec::new();
            for (k, (day, hour, minutes)) in [(i % 5, 10 + (i % 3) as i8, 60i64), ((i + 2) % 5, 14, 30)]
                .into_iter()
                .enumerate()
            {
                let date = week_before.checked_add((day as i64).days()).unwrap();
                let start = date.at(hour, 0, 0, 0);
                let end = start.checked_add(minutes.minutes()).unwrap();
                let zone_name = if k == 0 && zone == "Europe/Berlin" {
                    "W. Europe Standard Time"
                } else {
                    zone.as_str()
                };
                let weekday = ["monday", "tuesday", "wednesday", "thursday", "friday"][day];
                fake.add_event(
                    &email,
                    json!({
                        "subject": format!("Meeting {k}"),
                        "start": {"dateTime": civil(start), "timeZone": zone_name},
                        "end": {"dateTime": civil(end), "timeZone": zone_name},
                        "showAs": if k == 1 { "tentative" } else { "busy" },
                        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
                                       "range": {"type": "numbered", "startDate": date.to_string(), "numberOfOccurrences": 8}},
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
            first_term,
        }
    }

    /// [`Org::new`], signed in with the device code.
    pub fn authorized(n: usize) -> Org {
        let org = Org::new(n, "");
        let auth = org.authorize(Some(DeviceState::Approved));
        assert_eq!(auth.code, 0, "{}\n{}", auth.stdout, auth.stderr);
        org
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn command(&self) -> Command {
        let mut c = crate::util::command(self.dir());
        c.env("LIAISON_GOOGLE_TIMING", TIMING).arg("--config").arg(&self.config);
        c
    }

    pub fn liaison(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("liaison runs"))
    }

    pub fn liaison_at(&self, now: &str, args: &[&str]) -> Run {
        Run::from(
            self.command()
                .env("LIAISON_NOW", now)
                .args(args)
                .output()
                .expect("liaison runs"),
        )
    }

    /// `liaison auth`, with the test as the person at Microsoft's page: it
    /// reads the printed code and answers it (`None`: never answers).
    pub fn authorize(&self, answer: Option<DeviceState>) -> Run {
        let mut child = self
            .command()
            .arg("auth")
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
        let deadline = Instant::now() + WAIT;
        let mut answered = false;
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    printed.push_str(&line);
                    printed.push('\n');
                    if let (Some(code), Some(state), false) = (line.strip_prefix("code: "), answer, answered) {
                        assert!(self.fake.answer_user_code(code.trim(), state), "unknown code {code}");
                        answered = true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("liaison auth did not finish within {WAIT:?}: {printed}");
                }
            }
        }
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "liaison auth did not exit: {printed}");
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: printed,
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// liaison's series on the organizer's calendar (raw, with properties).
    pub fn liaison_events(&self) -> Vec<Value> {
        self.fake
            .events(DEFAULT_USER)
            .into_iter()
            .filter(|e| prop(e, "liaison").as_deref() == Some("1"))
            .collect()
    }

    /// Every occurrence of every liaison series, as the fake expands it, is
    /// inside both people's window, clear of their busy time with the
    /// buffer; no same-unit pair; one series per pair and term; at most one
    /// connection per person per week. Answers the number of series.
    pub fn check_invariants(&self) -> usize {
        let members: BTreeMap<&str, &Member> = self.members.iter().map(|m| (m.email.as_str(), m)).collect();
        let mut per_pair_term = BTreeMap::new();
        let mut per_week = BTreeSet::new();
        let events = self.liaison_events();
        for event in &events {
            let pair = prop(event, "liaison_pair").unwrap();
            *per_pair_term
                .entry((pair.clone(), prop(event, "liaison_term").unwrap()))
                .or_insert(0) += 1;
            let (a, b) = pair.split_once('|').unwrap();
            let (a, b) = (members[a], members[b]);
            assert_ne!(a.unit, b.unit, "same-unit pair {pair}");
            let instances = self.fake.instances(event["id"].as_str().unwrap());
            assert!(!instances.is_empty());
            for (_, s, e, cancelled) in instances {
                if cancelled {
                    continue;
                }
                for m in [a, b] {
                    let tz = TimeZone::get(&m.zone).unwrap();
                    let (ls, le) = (s.to_zoned_datetime(tz.clone()), e.to_zoned_datetime(tz));
                    assert!(
                        ls.date() == le.date()
                            && ls.date().weekday().to_monday_one_offset() <= 5
                            && ls.time() >= jiff::civil::time(9, 0, 0, 0)
                            && le.time() <= jiff::civil::time(17, 0, 0, 0),
                        "{pair} at {ls} is outside {}'s window",
                        m.email
                    );
                    let buffer = SignedDuration::from_mins(5);
                    for &(bs, be) in &m.busy {
                        assert!(
                            e <= bs.checked_sub(buffer).unwrap() || s >= be.checked_add(buffer).unwrap(),
                            "{pair} at {ls} overlaps {}'s busy time",
                            m.email
                        );
                    }
                    let week = self.first_term.until(ls.date()).unwrap().get_days().div_euclid(7);
                    assert!(
                        per_week.insert((m.email.clone(), week)),
                        "{} twice in week {week}",
                        m.email
                    );
                }
            }
        }
        for (key, count) in per_pair_term {
            assert_eq!(count, 1, "{key:?} has {count} series");
        }
        events.len()
    }
}

/// One of liaison's properties of a raw stored event.
pub fn prop(event: &Value, name: &str) -> Option<String> {
    event["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| p["id"].as_str() == Some(&format!("{PROPERTY}{name}")))
        .and_then(|p| p["value"].as_str())
        .map(str::to_string)
}

fn planned_pairs(org: &Org) -> usize {
    let plan = org.liaison(&["plan", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let planned: Value = serde_json::from_str(&plan.stdout).unwrap();
    planned["pairs"].as_array().unwrap().len()
}

#[test]
fn microsoft_device_code_sign_in_then_plan_writes_nothing_and_run_books_a_sound_term() {
    let org = Org::new(24, "");
    org.fake.slow_down_next(1);
    let auth = org.authorize(Some(DeviceState::Approved));
    assert_eq!(auth.code, 0, "{}\n{}", auth.stdout, auth.stderr);
    assert!(
        auth.stdout.contains("code: ") && auth.stdout.contains("/devicelogin"),
        "{}",
        auth.stdout
    );
    assert!(
        auth.stdout
            .contains(&format!("organizer mailbox: {DEFAULT_USER} (reachable)"))
            && auth.stdout.contains(&format!("signed in as: {DEFAULT_USER}")),
        "{}",
        auth.stdout
    );
    let (polls, early) = org.fake.device_polls();
    assert!(polls >= 2, "pending or slow_down, then the token: {polls}");
    assert_eq!(early, 0, "polled sooner than the interval (slow_down adds 5 s)");
    let token = org.dir().join("state").join("microsoft-token.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let check = org.liaison(&["check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.contains("token: stored in"), "{}", check.stdout);

    let before = std::fs::read(&token).unwrap();
    let pairs = planned_pairs(&org);
    assert!(pairs >= 10, "only {pairs} pairs planned for 24 people");
    assert!(org.liaison_events().is_empty(), "plan wrote to the calendar");
    assert!(
        org.fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.operation.as_deref() == Some("getSchedule") || r.operation.is_none()),
        "plan sent a write"
    );

    // The access token from the sign-in is refused from now on: the run
    // must redeem the refresh token.
    org.fake.expire_access_tokens();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        org.check_invariants(),
        pairs,
        "run booked something else than plan showed"
    );
    assert!(run.stderr.contains(&format!("booked={pairs}")), "{}", run.stderr);
    // Every series carries its id as transactionId and the instance marker.
    for e in org.liaison_events() {
        assert_eq!(e["transactionId"].as_str(), prop(&e, "liaison_id").as_deref());
        assert!(prop(&e, "liaison_instance").is_some_and(|i| i.starts_with("i-")));
    }
    // getSchedule stayed within Microsoft's limits.
    for r in org
        .fake
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("getSchedule"))
    {
        assert!(r.json().unwrap()["schedules"].as_array().unwrap().len() <= 20);
    }
    // The run redeemed the stored refresh token, and the fake rotated it
    // (the old one stops working): the new one was stored, 0600, and the
    // next run, made to refresh again, signs in with it.
    let refresh = |bytes: &[u8]| -> String {
        let v: Value = serde_json::from_slice(bytes).unwrap();
        v["refresh_token"].as_str().expect("a refresh token").to_string()
    };
    let after = std::fs::read(&token).unwrap();
    assert_ne!(refresh(&before), refresh(&after), "the refresh token did not rotate");
    assert!(
        org.fake.secrets().contains(&refresh(&after)),
        "the stored refresh token is not one the fake issued"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    }
    org.fake.expire_access_tokens();
    let again = org.liaison(&["run", "--once"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(org.check_invariants(), pairs, "a second run booked again");
    assert_ne!(
        refresh(&after),
        refresh(&std::fs::read(&token).unwrap()),
        "the second run rotated it again"
    );
}

#[test]
fn microsoft_a_declined_or_expired_sign_in_exits_3_and_writes_no_token() {
    let org = Org::new(2, "");
    let declined = org.authorize(Some(DeviceState::Declined));
    assert_eq!(declined.code, 3, "{}", declined.stderr);
    assert!(declined.stderr.contains("declined"), "{}", declined.stderr);
    org.fake.expire_device_codes();
    // Expire the code as soon as it is handed out: no answer comes.
    let expired = {
        let fake = &org.fake;
        std::thread::scope(|s| {
            let run = s.spawn(|| org.authorize(None));
            // The code is expired once it exists (polled at least once).
            let deadline = Instant::now() + WAIT;
            while fake.device_polls().0 < 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            fake.expire_device_codes();
            run.join().unwrap()
        })
    };
    assert_eq!(expired.code, 3, "{}", expired.stderr);
    assert!(expired.stderr.contains("expired"), "{}", expired.stderr);
    assert!(!org.dir().join("state").join("microsoft-token.json").exists());
}

#[test]
fn microsoft_client_credentials_book_within_the_access_policy_and_exit_3_outside_it() {
    let fake_secret = "client-secret.txt";
    let org = Org::new(
        8,
        &format!(
            "auth = \"client_credentials\"\nclient_secret_file = \"{fake_secret}\"\norganizer = \"{DEFAULT_USER}\""
        ),
    );
    let secret = org.dir().join(fake_secret);
    std::fs::write(&secret, format!("{CLIENT_SECRET}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
        let check = org.liaison(&["check"]);
        assert_eq!(check.code, 2, "{}", check.stdout);
        assert!(
            check.stderr.contains("readable by others") && check.stderr.contains(fake_secret),
            "{}",
            check.stderr
        );
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let auth = org.liaison(&["auth"]);
    assert_eq!(auth.code, 0, "{}", auth.stderr);
    assert!(auth.stdout.contains("client secret"), "{}", auth.stdout);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(org.check_invariants() >= 3);
    assert!(
        org.fake.requests().iter().all(|r| !r.path.contains("/me/")),
        "app tokens have no /me"
    );
    // An access policy that leaves the organizer out: authorization, exit 3.
    org.fake.restrict_app_to(&["someone.else@contoso.com"]);
    let refused = org.liaison(&["run", "--once"]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("AccessPolicy") && refused.stderr.contains("liaison auth"),
        "{}",
        refused.stderr
    );
}

/// Who signed in is read at `liaison auth` (`GET /me`) and kept with the
/// grant. With the organizer named, a sign-in by an assistant is refused,
/// naming both, and nothing is stored; a grant of the assistant kept under
/// `organizer = "me"` is refused at the next run once the organizer is
/// named, before any request; once the organizer signs in, `run` books.
#[test]
fn microsoft_a_sign_in_by_someone_else_than_the_organizer_exits_3_naming_both() {
    let named = format!("organizer = \"{DEFAULT_USER}\"");
    let org = Org::new(4, &named);
    let token = org.dir().join("state").join("microsoft-token.json");
    let assistant = "assistant@contoso.com";
    org.fake.set_user(assistant);
    let auth = org.authorize(Some(DeviceState::Approved));
    assert_eq!(auth.code, 3, "{}\n{}", auth.stdout, auth.stderr);
    assert!(
        auth.stderr.contains(&format!("signed in to Microsoft as {assistant}"))
            && auth
                .stderr
                .contains(&format!("organizer in {} is {DEFAULT_USER}", org.config.display()))
            && auth.stderr.contains(&format!("Sign in as {DEFAULT_USER}")),
        "{}",
        auth.stderr
    );
    assert!(!token.exists(), "another person's grant was stored");

    // The assistant's grant, kept while the organizer was "me" ...
    let config = std::fs::read_to_string(&org.config).unwrap();
    std::fs::write(&org.config, config.replace(&named, "")).unwrap();
    let auth = org.authorize(Some(DeviceState::Approved));
    assert_eq!(auth.code, 0, "{}\n{}", auth.stdout, auth.stderr);
    assert!(
        auth.stdout.contains(&format!("signed in as: {assistant}")),
        "{}",
        auth.stdout
    );
    // ... is refused at each run once the organizer is named again.
    std::fs::write(&org.config, &config).unwrap();
    org.fake.clear_requests();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("signed in to Microsoft as {assistant}")) && run.stderr.contains(DEFAULT_USER),
        "{}",
        run.stderr
    );
    assert!(
        org.fake.requests().iter().all(|r| r.operation.is_none()),
        "Graph was called with another person's grant"
    );
    let check = org.liaison(&["check"]);
    assert!(
        check.stdout.contains(&format!("signed in as: {assistant}")) && check.stdout.contains("token problem"),
        "{}",
        check.stdout
    );
    assert!(org.fake.events(assistant).is_empty() && org.liaison_events().is_empty());

    org.fake.set_user(DEFAULT_USER);
    let auth = org.authorize(Some(DeviceState::Approved));
    assert_eq!(auth.code, 0, "{}\n{}", auth.stdout, auth.stderr);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(org.check_invariants(), 2);
    assert!(org.fake.events(assistant).is_empty());
}

/// With `organizer = "me"` the calendar is the signed-in person's, and the
/// state names it by that person's address: someone else signing in while
/// the first person's series have meetings to come is refused at the next
/// run (exit 3, both named) instead of booking everyone again in their own
/// calendar. A state of an earlier version, which named the calendar
/// `microsoft:me`, is taken as the signed-in person's.
#[test]
fn microsoft_another_person_signing_in_under_organizer_me_exits_3_while_series_run() {
    let org = Org::authorized(4);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(org.check_invariants(), 2);
    {
        let store = liaison::store::Store::open(&org.dir().join("state")).unwrap();
        assert_eq!(
            store.calendar().unwrap().as_deref(),
            Some("microsoft:organizer@contoso.com")
        );
        store.set_calendar("microsoft:me").unwrap();
    }
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "an earlier version's microsoft:me: {}", run.stderr);
    let store = liaison::store::Store::open(&org.dir().join("state")).unwrap();
    assert_eq!(
        store.calendar().unwrap().as_deref(),
        Some("microsoft:organizer@contoso.com")
    );
    drop(store);

    let assistant = "assistant@contoso.com";
    org.fake.set_user(assistant);
    let auth = org.authorize(Some(DeviceState::Approved));
    assert_eq!(auth.code, 0, "{}\n{}", auth.stdout, auth.stderr);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("signed in to Microsoft as {assistant}"))
            && run.stderr.contains(&format!("on {DEFAULT_USER}'s calendar"))
            && run.stderr.contains("liaison auth"),
        "{}",
        run.stderr
    );
    assert!(
        org.fake.events(assistant).is_empty(),
        "booked into the assistant's calendar"
    );
    assert_eq!(org.check_invariants(), 2);
}

/// A grant stored before liaison recorded who signed in (a token file of
/// version 1) cannot be checked against the organizer: `run` exits 3 and
/// asks for `liaison auth`, and `check` says why.
#[test]
fn microsoft_a_token_file_without_the_signed_in_account_asks_for_liaison_auth() {
    let org = Org::authorized(4);
    let token = org.dir().join("state").join("microsoft-token.json");
    let mut grant: Value = serde_json::from_slice(&std::fs::read(&token).unwrap()).unwrap();
    grant["version"] = json!(1);
    let fields = grant.as_object_mut().unwrap();
    fields.remove("user_principal_name");
    fields.remove("mail");
    std::fs::write(&token, serde_json::to_vec(&grant).unwrap()).unwrap();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("does not say who signed in") && run.stderr.contains("run `liaison auth`"),
        "{}",
        run.stderr
    );
    let check = org.liaison(&["check"]);
    assert!(check.stdout.contains("does not say who signed in"), "{}", check.stdout);
    assert!(org.liaison_events().is_empty());
    assert_eq!(org.authorize(Some(DeviceState::Approved)).code, 0);
    assert_eq!(org.liaison(&["run", "--once"]).code, 0);
    assert_eq!(org.check_invariants(), 2);
}

#[test]
fn microsoft_a_revoked_grant_exits_3_and_says_to_run_auth() {
    let org = Org::authorized(4);
    org.fake.expire_access_tokens();
    org.fake.revoke_refresh_tokens();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("run `liaison auth`") && run.stderr.contains("invalid_grant"),
        "{}",
        run.stderr
    );
    for secret in org.fake.secrets() {
        assert!(!run.stderr.contains(&secret), "a secret in the log");
    }
}

#[test]
fn microsoft_throttling_bursts_and_a_lost_answer_leave_exactly_one_series_per_pair() {
    let org = Org::authorized(24);
    let pairs = planned_pairs(&org);
    org.fake.set_retry_after(Some(0));
    org.fake.fail_next(3, 429);
    org.fake.fail_method("events.create", 2, 503);
    org.fake.fail_method("getSchedule", 2, 429);
    // The first insert is applied, and its answer never comes: the retry
    // carries the same transactionId.
    org.fake.drop_after_write_next(1);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(org.check_invariants(), pairs);
    let requests = org.fake.requests();
    assert!(requests.iter().any(|r| r.dropped), "no answer was lost");
    assert!(requests.iter().filter(|r| r.injected).count() >= 7);
    let creates = requests
        .iter()
        .filter(|r| r.operation.as_deref() == Some("events.create") && !r.injected)
        .count();
    assert_eq!(
        creates,
        pairs + 1,
        "one POST per pair, plus the one repeated after the lost answer"
    );
}

#[test]
fn microsoft_a_quiet_cycle_reads_changes_with_the_delta_link_in_at_most_three_requests() {
    let org = Org::authorized(12);
    let booked = org.liaison(&["run", "--once"]);
    assert_eq!(booked.code, 0, "{}", booked.stderr);
    assert!(booked.stderr.contains("booked=6"), "{}", booked.stderr);
    // The cycle right after the one that booked is quiet: the booking cycle
    // read its own new series off the delta round (Graph reports them as
    // changes, by their occurrences), so none of their masters is read now.
    org.fake.clear_requests();
    let quiet = org.liaison(&["run", "--once"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(quiet.stderr.contains("booked=0 kept=6"), "{}", quiet.stderr);
    let graph: Vec<_> = org
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.operation.is_some())
        .collect();
    assert!(
        graph.len() <= 3,
        "{} requests: {:?}",
        graph.len(),
        graph.iter().map(|r| (&r.method, &r.path)).collect::<Vec<_>>()
    );
    assert!(
        graph.iter().any(|r| r.param("$deltatoken").is_some()),
        "the stored delta link was used"
    );
}

/// The term of 2032, which falls on the same days as 2027's (DST changes
/// included), is years from the machine's clock: the delta window follows
/// the cycle's clock, so a declined occurrence is seen and moved.
#[test]
fn microsoft_the_delta_window_follows_the_cycles_clock_not_the_machines() {
    let org = Org::starting(12, "", jiff::civil::date(2032, 3, 8));
    assert_eq!(org.authorize(Some(DeviceState::Approved)).code, 0);
    let now = "2032-03-03T12:00:00Z";
    let clock: Timestamp = now.parse().unwrap();
    assert!(
        clock.duration_since(Timestamp::now()) > SignedDuration::from_hours(24 * 365),
        "the machine's clock is within a year of {now}: pick a later term"
    );
    crate::repair::a_declined_occurrence_is_moved(&org, now);
    // A new round (the token expired) begins with a window around the
    // test's clock.
    org.fake.invalidate_delta_tokens();
    org.fake.clear_requests();
    let run = org.liaison_at(now, &["run", "--once"]);
    assert!(run.stderr.contains("booked=0 kept=6"), "{}", run.stderr);
    let starts: Vec<_> = org
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("delta") && r.param("startDateTime").is_some())
        .collect();
    assert!(!starts.is_empty());
    let term_end = clock.checked_add(SignedDuration::from_hours(24 * 7 * 6)).unwrap();
    for r in starts {
        let at = |k: &str| r.param(k).unwrap().parse::<Timestamp>().unwrap();
        assert!(
            at("startDateTime") <= clock && at("endDateTime") > term_end,
            "a delta window of {} to {} for a clock at {clock}",
            at("startDateTime"),
            at("endDateTime")
        );
    }
}

#[test]
fn microsoft_a_kill_while_an_insert_is_in_flight_then_a_restart_never_double_books() {
    let org = Org::authorized(8);
    let pairs = planned_pairs(&org);
    org.fake.hold_next("events.create", 1);
    let mut child = org
        .command()
        .args(["run", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while org.fake.held() == 0 {
        assert!(Instant::now() < deadline, "no insert reached the fake");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let _ = child.wait();
    // The restarted run looks the pending intent up and finds nothing; the
    // insert lands afterwards; a later run adopts it, never a second one.
    let restarted = org.liaison(&["run", "--once"]);
    assert_eq!(restarted.code, 0, "{}", restarted.stderr);
    org.fake.release_held();
    let later = org.liaison_at("2027-03-03T12:10:00Z", &["run", "--once"]);
    assert_eq!(later.code, 0, "{}", later.stderr);
    assert_eq!(
        org.check_invariants(),
        pairs,
        "the insert in flight landed and was adopted: one series per pair"
    );
    crate::twins::assert_store_matches_calendar(&org);
}

/// The fake's getSchedule `startTime`/`endTime` (UTC civil times) of a request.
fn schedule_window(body: &Value) -> (Timestamp, Timestamp) {
    let at = |k: &str| {
        body[k]["dateTime"]
            .as_str()
            .unwrap()
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned_datetime(TimeZone::UTC)
            .unwrap()
            .timestamp()
    };
    (at("startTime"), at("endTime"))
}

/// Free/busy of 102 people over a term of 15 weeks (108 days with its
/// margins), through the binary: getSchedule is split within the limits the
/// fake enforces (its own constants: 20 schedules, under 62 days), every
/// person is asked once over each window and the windows tile the range, and
/// both windows' answers count — a person busy all day only in the second
/// window is left without free time, and an address the tenant does not know
/// is unpaired with Graph's per-schedule error while the rest are paired.
#[test]
fn microsoft_free_busy_for_102_people_over_a_15_week_term_is_split_within_graphs_limits() {
    let org = Org::new(101, "");
    let unknown = "nobody@contoso.com";
    let mut text = std::fs::read_to_string(&org.config).unwrap();
    text = text.replacen("[schedule]\n", "[schedule]\nterm_weeks = 15\n", 1);
    text.push_str(&format!(
        "\n[[people]]\nemail = \"{unknown}\"\nname = \"Nobody\"\nunit = \"Unit 5\"\ntimezone = \"Europe/London\"\n"
    ));
    std::fs::write(&org.config, text).unwrap();
    // Busy every day, all day, from week 9 (past the first 61 days) on.
    let late = &org.members[0];
    let from = org.first_term.checked_add(63.days()).unwrap();
    org.fake.add_event(
        &late.email,
        json!({
            "subject": "Secondment",
            "start": {"dateTime": civil(from.at(7, 0, 0, 0)), "timeZone": late.zone},
            "end": {"dateTime": civil(from.at(19, 0, 0, 0)), "timeZone": late.zone},
            "recurrence": {"pattern": {"type": "daily", "interval": 1},
                           "range": {"type": "endDate", "startDate": from.to_string(),
                                     "endDate": from.checked_add(45.days()).unwrap().to_string()}},
        }),
    );
    assert_eq!(org.authorize(Some(DeviceState::Approved)).code, 0);
    org.fake.clear_requests();
    let started = Instant::now();
    let plan = org.liaison(&["plan", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    eprintln!("plan for 102 people over 15 weeks: {:?}", started.elapsed());

    let queries: Vec<_> = org
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("getSchedule"))
        .collect();
    assert_eq!(queries.len(), 6 * 2, "⌈102/20⌉ groups × 2 windows");
    let mut asked: BTreeMap<String, Vec<(Timestamp, Timestamp)>> = BTreeMap::new();
    for q in &queries {
        assert_eq!(q.status, 200, "{}", q.body);
        let body = q.json().unwrap();
        let people = body["schedules"].as_array().unwrap();
        assert!(people.len() <= crate::fake_graph::SCHEDULE_MAX_ENTITIES);
        let (start, end) = schedule_window(&body);
        assert!(end.duration_since(start) < crate::fake_graph::SCHEDULE_MAX_RANGE);
        for p in people {
            asked
                .entry(p.as_str().unwrap().to_string())
                .or_default()
                .push((start, end));
        }
    }
    assert_eq!(asked.len(), 102);
    let ranges: BTreeSet<(Timestamp, Timestamp)> = asked
        .values_mut()
        .map(|windows| {
            windows.sort();
            assert!(
                windows.windows(2).all(|w| w[0].1 == w[1].0),
                "windows leave a gap or overlap: {windows:?}"
            );
            (windows[0].0, windows[windows.len() - 1].1)
        })
        .collect();
    assert_eq!(ranges.len(), 1, "everyone over the same range");
    let (start, end) = ranges.into_iter().next().unwrap();
    assert!(end.duration_since(start) > SignedDuration::from_hours(100 * 24));

    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let reason = |email: &str| {
        plan["unpaired"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .map(|u| u["message"].as_str().unwrap().to_string())
    };
    let missing = reason(unknown).expect("the unknown address is unpaired");
    assert!(missing.contains("ErrorMailRecipientNotFound"), "{missing}");
    let busy = reason(&late.email).expect("the person busy in the second window is unpaired");
    assert!(busy.contains("no free time"), "{busy}");
    assert!(plan["pairs"].as_array().unwrap().len() >= 45, "{}", plan["pairs"]);
}

/// The library's Microsoft provider on `fake`, with client credentials for
/// the organizer, paced at `rps` requests a second.
pub fn provider_on(fake: &FakeGraph, dir: &Path, rps: u32) -> liaison::calendar::microsoft::MicrosoftProvider {
    provider_for(fake, dir, rps, DEFAULT_USER)
}

/// [`provider_on`] as the installation `instance` (`calendar.instance`).
pub fn provider_as(fake: &FakeGraph, dir: &Path, instance: &str) -> liaison::calendar::microsoft::MicrosoftProvider {
    provider_config(fake, dir, 16, DEFAULT_USER, &format!("instance = \"{instance}\"\n"))
}

/// [`provider_on`] with `organizer` as the organizer mailbox.
fn provider_for(
    fake: &FakeGraph,
    dir: &Path,
    rps: u32,
    organizer: &str,
) -> liaison::calendar::microsoft::MicrosoftProvider {
    provider_config(fake, dir, rps, organizer, "")
}

/// The provider of a config with `calendar` (lines) in its `[calendar]`.
fn provider_config(
    fake: &FakeGraph,
    dir: &Path,
    rps: u32,
    organizer: &str,
    calendar: &str,
) -> liaison::calendar::microsoft::MicrosoftProvider {
    let secret = dir.join("graph-secret.txt");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let text = format!(
        r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
[calendar]
provider = "microsoft"
{calendar}[calendar.microsoft]
tenant = "{TENANT_DOMAIN}"
client_id = "{CLIENT_ID}"
auth = "client_credentials"
client_secret_file = "graph-secret.txt"
organizer = "{organizer}"
api_base_url = "{}"
login_base_url = "{}"
requests_per_second = {rps}
[[people]]
email = "ada@contoso.com"
name = "Ada"
unit = "U0"
[[people]]
email = "bo@contoso.com"
name = "Bo"
unit = "U1"
"#,
        fake.api_base(),
        fake.login_base()
    );
    let cfg = liaison::config::parse(&text, &dir.join("config.toml"), &liaison::config::Env::default()).unwrap();
    let timing = liaison::calendar::google::Timing::default()
        .with_overrides("timeout=30s,attempts=6,base=1ms,cap=5ms,budget=30s")
        .unwrap();
    liaison::calendar::microsoft::MicrosoftProvider::with_timing(&cfg, timing).unwrap()
}

/// The provider's pacing (`calendar.microsoft.requests_per_second`, a token
/// bucket with a burst of as many) keeps it under a per-mailbox quota the
/// fake measures on the real clock: any window of `w` holds at most `rps +
/// rps × w` paced starts, plus one call paced before the window that arrived
/// inside it. And where a quota is tighter than the pacing, every refusal's
/// `Retry-After` is waited for (no call comes back early) and every call
/// still gets its answer.
#[test]
fn microsoft_pacing_keeps_the_provider_under_a_per_mailbox_quota_and_retry_after_is_kept() {
    use liaison::calendar::CalendarProvider as _;
    const RPS: u32 = 16;
    let window = Duration::from_millis(500);
    // One more for the two clocks (governor's and the fake's) not agreeing to the microsecond.
    let limit = (RPS + RPS / 2 + 2) as usize;
    let calls_made = 3 * limit;
    let fake = FakeGraph::start();
    fake.set_quota(limit, window);
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let p = provider_on(&fake, tmp.path(), RPS);
        for i in 0..calls_made {
            assert!(p.get_series(&format!("nosuchseries{i:04}")).await.unwrap().is_none());
        }
        assert_eq!(p.requests(), calls_made as u64, "no call was refused and retried");
    });
    let (peak, refused, _) = fake.quota_report();
    eprintln!("paced at {RPS}/s: at most {peak} calls in one {window:?} window (quota {limit})");
    assert_eq!(refused, 0, "the quota was never hit (peak {peak} of {limit})");
    assert!(peak <= limit);

    // A quota of 5 calls a second, under pacing at 16: refused, waited for.
    let fake = FakeGraph::start();
    fake.set_quota(5, Duration::from_secs(1));
    let calls_made = 12;
    let started = Instant::now();
    runtime.block_on(async {
        let p = provider_on(&fake, tmp.path(), RPS);
        for i in 0..calls_made {
            assert!(p.get_series(&format!("nosuchseries{i:04}")).await.unwrap().is_none());
        }
    });
    let (peak, refused, early) = fake.quota_report();
    eprintln!(
        "a quota of 5/s: {refused} refusals, {:?} for {calls_made} calls",
        started.elapsed()
    );
    assert!(
        refused >= 2,
        "the quota was tighter than the pacing: {refused} refusals"
    );
    assert_eq!(early, 0, "a call came back before its Retry-After");
    assert!(peak <= 5);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two windows' waits at least"
    );
}

/// A person edits a liaison series so that liaison cannot read it any more
/// (here a range with no end): it still exists, so a full read must not take
/// it for deleted — its record stays booked and its pair is not booked again.
#[test]
fn microsoft_a_series_made_unreadable_is_not_taken_for_deleted_on_a_full_read() {
    let org = Org::authorized(12);
    assert_eq!(org.liaison(&["run", "--once"]).code, 0);
    let events = org.liaison_events();
    let before = events.len();
    let mut edited = events[0].clone();
    let key = prop(&edited, "liaison_id").unwrap();
    org.fake.delete_event(DEFAULT_USER, edited["id"].as_str().unwrap());
    let object = edited.as_object_mut().unwrap();
    for read_only in [
        "id",
        "exceptions",
        "seriesMasterId",
        "type",
        "createdDateTime",
        "iCalUId",
        "changeKey",
    ] {
        object.remove(read_only);
    }
    edited["recurrence"]["range"]["type"] = json!("noEnd");
    org.fake.add_event(DEFAULT_USER, edited);
    org.fake.invalidate_delta_tokens();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("skipping a liaison event that cannot be read"),
        "{}",
        run.stderr
    );
    assert_eq!(crate::twins::store_state(&org, &key), SeriesState::Booked);
    assert!(run.stderr.contains("booked=0"), "{}", run.stderr);
    assert_eq!(org.liaison_events().len(), before, "nothing booked or removed");
}

/// The organizer edits a liaison series in Outlook so that liaison cannot
/// read it (no end date): the next cycle, reading changes with its delta
/// link, skips that series as unreadable and goes on — it ends well, the
/// series' record stays booked, and the token moves past the edit (the
/// cycle after does not read that master again).
#[test]
fn microsoft_a_series_made_unreadable_does_not_stop_the_incremental_read() {
    let org = Org::authorized(12);
    assert_eq!(org.liaison(&["run", "--once"]).code, 0);
    let events = org.liaison_events();
    let before = events.len();
    let edited = &events[0];
    let key = prop(edited, "liaison_id").unwrap();
    let mut recurrence = edited["recurrence"].clone();
    recurrence["range"]["type"] = json!("noEnd");
    let graph_id = edited["id"].as_str().unwrap();
    org.fake
        .update_event(DEFAULT_USER, graph_id, json!({"recurrence": recurrence}));
    org.fake.clear_requests();
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reads = org.fake.requests();
    assert!(
        reads
            .iter()
            .any(|r| r.operation.as_deref() == Some("delta") && r.param("$deltatoken").is_some()),
        "an incremental read"
    );
    assert!(
        run.stderr.contains("skipping a liaison event that cannot be read"),
        "{}",
        run.stderr
    );
    assert_eq!(crate::twins::store_state(&org, &key), SeriesState::Booked);
    assert_eq!(org.liaison_events().len(), before, "nothing booked or removed");
    org.fake.clear_requests();
    let quiet = org.liaison(&["run", "--once"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(
        org.fake.requests().iter().all(|r| !r.path.ends_with(graph_id)),
        "the token did not move past the edit: the master was read again"
    );
}

/// Graph's refusals are classed by status and error code, each against the
/// fake as it answers them: a refused token (401) and a missing permission
/// (403) are authorization (exit 3, `liaison auth` or an admin), a request
/// Graph calls malformed (400) and a URL that cannot even be sent are bad
/// requests that name the request (never an authorization problem), and an
/// unknown mailbox (404) is "not found".
#[test]
fn microsoft_graph_refusals_are_classed_by_status_and_code() {
    use liaison::calendar::{CalendarError, CalendarProvider as _};
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = Timestamp::now();
    // A stored delta token whose link Graph (or hyper) refuses.
    let token_with = |fake: &FakeGraph, query: &str| {
        format!(
            "graph2|{}|{}|{}users/{DEFAULT_USER}/calendarView/delta?{query}",
            now.as_second() - 86_400,
            now.as_second() + 400 * 86_400,
            fake.api_base()
        )
    };
    runtime.block_on(async {
        // 401 on every attempt, a fresh token included.
        let fake = FakeGraph::start();
        fake.fail_method("events.list", 40, 401);
        let e = provider_on(&fake, tmp.path(), 16).get_series("x").await.unwrap_err();
        assert!(matches!(e, CalendarError::Unauthorized(_)), "401: {e:?}");

        // 403: an access policy that leaves the organizer out.
        let fake = FakeGraph::start();
        fake.restrict_app_to(&["someone.else@contoso.com"]);
        let e = provider_on(&fake, tmp.path(), 16).get_series("x").await.unwrap_err();
        assert!(
            matches!(&e, CalendarError::Unauthorized(m) if m.contains("403") && m.contains("permission") && m.contains("events.list")),
            "403: {e:?}"
        );

        // 400: a query Graph refuses on a delta link.
        let fake = FakeGraph::start();
        let p = provider_on(&fake, tmp.path(), 16);
        let bad = token_with(&fake, "$filter=subject%20eq%20%27x%27");
        let e = p.list_changes(Some(&bad), now).await.unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, CalendarError::Invalid { .. })
                && text.contains("calendarView.delta (GET")
                && text.contains("malformed (400)")
                && text.contains("ErrorInvalidUrlQuery"),
            "400: {e:?}"
        );
        assert_eq!(
            fake.requests().iter().filter(|r| r.status == 400).count(),
            1,
            "a malformed request is not retried"
        );

        // A URL that cannot be sent at all (a space in it): named, not sent.
        let unsendable = token_with(&fake, "$deltatoken=a b");
        fake.clear_requests();
        let e = p.list_changes(Some(&unsendable), now).await.unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, CalendarError::Invalid { .. }) && text.contains("calendarView.delta") && text.contains("is not valid"),
            "bad URL: {e:?}"
        );
        assert!(
            fake.requests().iter().all(|r| r.operation.as_deref() != Some("delta")),
            "the bad URL reached the server"
        );

        // 404: an organizer mailbox the tenant does not have.
        let fake = FakeGraph::start();
        let e = provider_for(&fake, tmp.path(), 16, "nobody@contoso.com")
            .get_series("x")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CalendarError::NotFound(m) if m.contains("ErrorInvalidUser") && m.contains("events.list")),
            "404: {e:?}"
        );
    });
}

/// The Microsoft twin of Google's "a four-week series ended after its
/// second occurrence keeps two instances", through the library's provider
/// on the fake Graph: Mondays 10:00 London across the UK's DST change. On
/// Graph, ending rewrites the recurrence, which drops the series'
/// exceptions (as Exchange does): the first occurrence, which a person
/// moved, stays where they put it, and the second, which they cancelled,
/// stays cancelled; the later two are gone, and free/busy shows only what
/// takes place.
#[test]
fn microsoft_a_four_week_series_ended_after_its_second_occurrence_keeps_two_and_what_people_changed() {
    use liaison::calendar::{CalendarProvider as _, CreateOutcome, DeleteOutcome, EndOutcome, SeriesRequest};
    let fake = FakeGraph::start();
    fake.add_mailbox("ada@contoso.com", "Europe/London");
    fake.add_mailbox("bo@contoso.com", "Europe/London");
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let request = crate::microsoft_end::request("endtest00001");
    let id = request.event_id.as_str();
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let runtime = crate::microsoft_end::runtime();
    runtime.block_on(async {
        assert_eq!(provider.create_series(&request).await.unwrap(), CreateOutcome::Created);
        let graph_id = fake
            .events(DEFAULT_USER)
            .into_iter()
            .find(|e| prop(e, "liaison_id").as_deref() == Some(id))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = provider.list_changes(None, crate::util::now()).await.unwrap();
        let token = before.next_token.expect("a delta token");
        let originals: Vec<Timestamp> = fake.occurrences(&graph_id).iter().map(|o| o.original).collect();
        assert_eq!(
            originals,
            [
                ts("2027-03-08T10:00:00Z"),
                ts("2027-03-15T10:00:00Z"),
                ts("2027-03-22T10:00:00Z"),
                ts("2027-03-29T09:00:00Z"),
            ]
        );
        let moved = (ts("2027-03-08T14:00:00Z"), ts("2027-03-08T14:30:00Z"));
        fake.move_occurrence(DEFAULT_USER, &graph_id, originals[0], moved.0, moved.1);
        fake.cancel_occurrence(DEFAULT_USER, &graph_id, originals[1]);

        fake.clear_requests();
        assert_eq!(provider.end_series(id, originals[1]).await.unwrap(), EndOutcome::Ended);
        let kept: Vec<(Timestamp, Timestamp, bool)> = fake
            .occurrences(&graph_id)
            .iter()
            .map(|o| (o.original, o.start, o.cancelled))
            .collect();
        assert_eq!(
            kept,
            [(originals[0], moved.0, false), (originals[1], originals[1], true)],
            "requests: {:?}",
            fake.requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
        let series = provider
            .get_series(id)
            .await
            .unwrap()
            .expect("the series is still there");
        assert!(series.active);
        assert_eq!(
            series.request,
            SeriesRequest {
                count: 2,
                ..request.clone()
            }
        );

        // The next incremental read reports the shortened series.
        let changes = provider.list_changes(Some(&token), crate::util::now()).await.unwrap();
        let changed: Vec<_> = changes
            .series
            .iter()
            .map(|d| (d.series.request.event_id.as_str(), d.series.request.count))
            .collect();
        assert_eq!(changed, [(id, 2)]);

        // Free/busy holds only the moved first occurrence.
        let range = liaison::core::interval::Interval::new(ts("2027-03-01T00:00:00Z"), ts("2027-04-05T00:00:00Z"));
        let busy = provider.busy(&["ada@contoso.com".to_string()], range).await.unwrap();
        let spans: Vec<_> = busy["ada@contoso.com"]
            .as_ref()
            .unwrap()
            .spans()
            .iter()
            .map(|s| s.start)
            .collect();
        assert_eq!(spans, [moved.0]);

        // Ending it again is harmless; once cancelled, it is gone.
        assert_eq!(provider.end_series(id, originals[1]).await.unwrap(), EndOutcome::Ended);
        assert_eq!(fake.occurrences(&graph_id).len(), 2);
        assert_eq!(provider.delete_series(id).await.unwrap(), DeleteOutcome::Deleted);
        assert_eq!(
            provider.end_series(id, originals[1]).await.unwrap(),
            EndOutcome::AlreadyGone
        );
        assert_eq!(
            provider.end_series("neverbooked1", originals[1]).await.unwrap(),
            EndOutcome::AlreadyGone
        );
    });
}

/// Graph has no exception dates at creation: a series with a skipped week
/// (a holiday) is created whole and that occurrence cancelled right after;
/// a retried create (the same id) cancels nothing twice.
#[test]
fn microsoft_a_skipped_week_is_an_occurrence_cancelled_after_creation() {
    use liaison::calendar::{Attendee, CalendarProvider as _, CreateOutcome, SeriesRequest};
    let fake = FakeGraph::start();
    fake.add_mailbox("ada@contoso.com", "Europe/London");
    fake.add_mailbox("bo@contoso.com", "Europe/London");
    let tmp = tempfile::tempdir().unwrap();
    let provider = provider_on(&fake, tmp.path(), 16);
    let attendee = |email: &str| Attendee {
        email: email.into(),
        name: email.into(),
    };
    let request = SeriesRequest {
        event_id: "skiptest00001".into(),
        term: jiff::civil::date(2027, 3, 8),
        pair: ("ada@contoso.com".into(), "bo@contoso.com".into()),
        attendees: [attendee("ada@contoso.com"), attendee("bo@contoso.com")],
        summary: "Connection".into(),
        description: "Agenda".into(),
        location: None,
        zone: "Europe/London".into(),
        start: jiff::civil::datetime(2027, 3, 8, 10, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: vec![jiff::civil::datetime(2027, 3, 22, 10, 0, 0, 0)],
    };
    let ts = |s: &str| s.parse::<Timestamp>().unwrap();
    let runtime = crate::microsoft_end::runtime();
    runtime.block_on(async {
        assert_eq!(provider.create_series(&request).await.unwrap(), CreateOutcome::Created);
        let graph_id = fake
            .events(DEFAULT_USER)
            .into_iter()
            .find(|e| prop(e, "liaison_id").as_deref() == Some("skiptest00001"))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let state = |fake: &FakeGraph| -> Vec<(Timestamp, bool)> {
            fake.occurrences(&graph_id)
                .iter()
                .map(|o| (o.original, o.cancelled))
                .collect()
        };
        let expected = [
            (ts("2027-03-08T10:00:00Z"), false),
            (ts("2027-03-15T10:00:00Z"), false),
            (ts("2027-03-22T10:00:00Z"), true),
            (ts("2027-03-29T09:00:00Z"), false),
        ];
        assert_eq!(state(&fake), expected);
        fake.clear_requests();
        assert_eq!(
            provider.create_series(&request).await.unwrap(),
            CreateOutcome::AlreadyExists
        );
        assert_eq!(state(&fake), expected);
        assert!(
            !fake.requests().iter().any(|r| r.path.ends_with("/cancel")),
            "nothing cancelled twice"
        );
    });
}

//! One test body for every calendar provider. The end-to-end tests of repairs
//! and crashes state each rule once, against [`TestOrg`]: an organization on a
//! fake calendar with the binary configured for it, liaison's series as they
//! read back, people acting in their calendars (declining, moving,
//! deleting), and the requests liaison made. It is implemented for the fake
//! Google ([`google::Org`]) and the fake Graph ([`microsoft::Org`]); a
//! `#[test]` per provider runs the same body, so the two cannot drift apart.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use jiff::Timestamp;
use jiff::civil::Date;
use liaison::store::{SeriesState, Store};
use serde_json::json;

use crate::google::Member;
use crate::util::Run;
use crate::{fake_google, fake_graph, google, microsoft};

/// One of liaison's series as the calendar holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// The calendar's id (Google: liaison's own id; Graph: the server's).
    pub id: String,
    /// liaison's deterministic id: the store's key.
    pub key: String,
    pub pair: (String, String),
    /// Its occurrences at their original times (an ended series: those kept).
    pub occurrences: Vec<(Timestamp, Timestamp)>,
    /// Ended early (Google: `UNTIL`; Graph: an `endDate` range).
    pub ended: bool,
}

/// One request liaison made, by what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// The token endpoint (no part of a cycle's request budget).
    Token,
    /// Free/busy of these people.
    FreeBusy(Vec<String>),
    /// Reading changes: with the stored token, or in full.
    Changes {
        incremental: bool,
    },
    Read,
    Create,
    /// A change of an existing event (ending it, moving an occurrence):
    /// `METHOD path`.
    Change(String),
    /// Deleting or cancelling an event: `METHOD path`.
    Delete(String),
}

/// An organization on a fake calendar, as the provider-neutral tests use it.
pub trait TestOrg {
    fn dir(&self) -> &Path;
    fn config(&self) -> &Path;
    fn members(&self) -> &[Member];
    /// The Monday the first term starts.
    fn first_term(&self) -> Date;
    /// `liaison --config <org>`, with the fixed clock ([`crate::util::NOW`])
    /// and fast retries.
    fn command(&self) -> Command;
    /// Every liaison series on the organizer's calendar that was not deleted
    /// (ended ones included).
    fn series(&self) -> Vec<Series>;
    /// Checks DESIGN §6 invariants 1, 3 and 4 over every liaison series
    /// (panics on a breach); answers how many run as booked (not ended).
    fn invariants(&self) -> usize;
    /// `who` declines the series, or its occurrence originally at `occurrence`.
    fn decline(&self, series: &Series, who: &str, occurrence: Option<Timestamp>);
    /// A person deletes the series.
    fn delete(&self, series: &Series);
    /// A person moves the occurrence originally at `original` to `to`.
    fn person_moves(&self, series: &Series, original: Timestamp, to: (Timestamp, Timestamp));
    /// Where the occurrence originally at `original` starts now.
    fn start_of(&self, series: &Series, original: Timestamp) -> Timestamp;
    /// A calendar (mailbox) for a newcomer.
    fn add_calendar(&self, email: &str, zone: &str);
    /// The next `n` requests that move an occurrence fail with a 503.
    fn fail_moves(&self, n: usize);
    /// Holds the next `n` inserts at the fake's write gate, authorized but
    /// unapplied, until [`TestOrg::release_held`] (a client killed meanwhile
    /// does not stop them: they land when released).
    fn hold_inserts(&self, n: usize);
    /// Calls waiting at the gate now.
    fn held(&self) -> usize;
    /// Lets the held calls through and waits until each was applied.
    fn release_held(&self);
    fn clear_requests(&self);
    /// The requests since the last [`TestOrg::clear_requests`].
    fn calls(&self) -> Vec<Call>;
    /// The requests that changed or deleted `series` or one of its occurrences.
    fn writes_to(&self, series: &Series) -> Vec<String>;
}

/// `run --once` at `now`; it must succeed.
pub fn run_at(org: &impl TestOrg, now: &str) -> Run {
    let run = Run::from(
        org.command()
            .args(["run", "--once"])
            .env("LIAISON_NOW", now)
            .output()
            .expect("liaison runs"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// `liaison ARGS` at the fixed clock, whatever its exit code.
pub fn liaison(org: &impl TestOrg, args: &[&str]) -> Run {
    Run::from(org.command().args(args).output().expect("liaison runs"))
}

/// `liaison ARGS` in the background with `envs`, stderr piped.
pub fn spawn(org: &impl TestOrg, args: &[&str], envs: &[(&str, &str)]) -> Child {
    org.command()
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("liaison starts")
}

/// The series running as booked (not ended early), by key.
pub fn active(org: &impl TestOrg) -> Vec<Series> {
    let mut series: Vec<Series> = org.series().into_iter().filter(|s| !s.ended).collect();
    series.sort_by(|a, b| a.key.cmp(&b.key));
    series
}

/// The series with liaison's id `key`, ended or not.
pub fn find(org: &impl TestOrg, key: &str) -> Series {
    org.series()
        .into_iter()
        .find(|s| s.key == key)
        .unwrap_or_else(|| panic!("no series {key} on the calendar"))
}

pub fn store_state(org: &impl TestOrg, key: &str) -> SeriesState {
    let store = Store::open(&org.dir().join("state")).unwrap();
    store.get(key).unwrap().unwrap().state
}

/// The store and the calendar agree: nothing is left pending, and the store's
/// booked series are exactly the calendar's series running as booked.
pub fn assert_store_matches_calendar(org: &impl TestOrg) {
    let store = Store::open(&org.dir().join("state")).unwrap();
    let records = store.series().unwrap();
    assert!(
        records.iter().all(|r| r.state != SeriesState::Pending),
        "intents left pending"
    );
    let booked: BTreeSet<String> = records
        .iter()
        .filter(|r| r.state == SeriesState::Booked)
        .map(|r| r.request.event_id.clone())
        .collect();
    let on_calendar: BTreeSet<String> = active(org).into_iter().map(|s| s.key).collect();
    assert_eq!(booked, on_calendar, "store and calendar disagree");
}

/// The configuration with `who`'s `[[people]]` entry passed through `edit`
/// (which gets the entry without its header; an empty answer removes it).
pub fn edit_person(org: &impl TestOrg, who: &str, edit: impl FnOnce(&str) -> String) {
    let text = std::fs::read_to_string(org.config()).unwrap();
    let entry = text
        .split("\n[[people]]")
        .find(|block| block.contains(&format!("\"{who}\"")))
        .unwrap_or_else(|| panic!("{who} is not in the configuration"))
        .to_string();
    let edited = edit(&entry);
    let replacement = if edited.is_empty() {
        String::new()
    } else {
        format!("\n[[people]]{edited}")
    };
    std::fs::write(
        org.config(),
        text.replacen(&format!("\n[[people]]{entry}"), &replacement, 1),
    )
    .unwrap();
}

/// `paused = true` on `who`'s entry.
pub fn pause_in_config(org: &impl TestOrg, who: &str) {
    edit_person(org, who, |entry| format!("{}\npaused = true\n", entry.trim_end()));
}

/// Appends `text` to the configuration.
pub fn append_config(org: &impl TestOrg, text: &str) {
    let mut config = std::fs::read_to_string(org.config()).unwrap();
    config.push_str(text);
    std::fs::write(org.config(), config).unwrap();
}

impl TestOrg for google::Org {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn config(&self) -> &Path {
        &self.config
    }

    fn members(&self) -> &[Member] {
        &self.members
    }

    fn first_term(&self) -> Date {
        jiff::civil::date(2027, 3, 8)
    }

    fn command(&self) -> Command {
        let mut command = google::base_command(self.tmp.path());
        command.arg("--config").arg(&self.config);
        command
    }

    fn series(&self) -> Vec<Series> {
        self.liaison_events()
            .into_iter()
            .filter(|e| e["status"] != "cancelled")
            .map(|e| {
                let id = e["id"].as_str().unwrap().to_string();
                Series {
                    key: id.clone(),
                    id,
                    pair: google::pair_of(&e),
                    occurrences: google::occurrences(&e),
                    ended: e["recurrence"][0].as_str().unwrap_or("").contains("UNTIL="),
                }
            })
            .collect()
    }

    fn invariants(&self) -> usize {
        self.check_invariants()
    }

    fn decline(&self, series: &Series, who: &str, occurrence: Option<Timestamp>) {
        let instance = occurrence.map(|t| t.to_string());
        self.fake
            .set_response_status(&series.id, who, "declined", instance.as_deref());
    }

    fn delete(&self, series: &Series) {
        self.fake.delete_event(fake_google::DEFAULT_USER, &series.id);
    }

    /// An exception event, as Google stores a person's move.
    fn person_moves(&self, series: &Series, original: Timestamp, to: (Timestamp, Timestamp)) {
        let event = self
            .liaison_events()
            .into_iter()
            .find(|e| e["id"] == series.id.as_str())
            .unwrap();
        let zone = event["start"]["timeZone"].clone();
        let mut exception = event.clone();
        let fields = exception.as_object_mut().unwrap();
        fields.remove("id");
        fields.remove("recurrence");
        exception["recurringEventId"] = json!(series.id);
        exception["originalStartTime"] = json!({"dateTime": original.to_string(), "timeZone": zone});
        exception["start"] = json!({"dateTime": to.0.to_string(), "timeZone": zone});
        exception["end"] = json!({"dateTime": to.1.to_string(), "timeZone": zone});
        self.fake.add_event(fake_google::DEFAULT_USER, exception);
    }

    /// The start of the exception `<series>_<original in UTC>`, if any.
    fn start_of(&self, series: &Series, original: Timestamp) -> Timestamp {
        let id = format!("{}_{}", series.id, original.strftime("%Y%m%dT%H%M%SZ"));
        self.fake
            .events(fake_google::DEFAULT_USER)
            .into_iter()
            .find(|e| e["id"] == id.as_str() && e["status"] != "cancelled")
            .map_or(original, |e| e["start"]["dateTime"].as_str().unwrap().parse().unwrap())
    }

    fn add_calendar(&self, email: &str, zone: &str) {
        self.fake.add_calendar(email, zone);
    }

    fn fail_moves(&self, n: usize) {
        self.fake.fail_method("events.patch", n, 503, "backendError");
    }

    fn hold_inserts(&self, n: usize) {
        self.fake.hold_next("events.insert", n);
    }

    fn held(&self) -> usize {
        self.fake.held()
    }

    fn release_held(&self) {
        self.fake.release_held();
    }

    fn clear_requests(&self) {
        self.fake.clear_requests();
    }

    fn calls(&self) -> Vec<Call> {
        self.fake
            .requests()
            .iter()
            .map(|r| match (r.api_method.as_deref(), r.method.as_str()) {
                (None, _) => Call::Token,
                (Some("calendar.freebusy.query"), _) => Call::FreeBusy(
                    r.json().unwrap()["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| i["id"].as_str().unwrap().to_string())
                        .collect(),
                ),
                (Some("calendar.events.list"), _) => Call::Changes {
                    incremental: r.param("syncToken").is_some(),
                },
                (Some("calendar.events.insert"), _) => Call::Create,
                (Some(_), "DELETE") => Call::Delete(format!("DELETE {}", r.path)),
                (Some(_), "GET") => Call::Read,
                (Some(_), method) => Call::Change(format!("{method} {}", r.path)),
            })
            .collect()
    }

    /// Instance ids are `<series>_<stamp>`: the series' id is in every path.
    fn writes_to(&self, series: &Series) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Change(w) | Call::Delete(w) if w.contains(&series.id) => Some(w),
                _ => None,
            })
            .collect()
    }
}

impl TestOrg for microsoft::Org {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn config(&self) -> &Path {
        &self.config
    }

    fn members(&self) -> &[Member] {
        &self.members
    }

    fn first_term(&self) -> Date {
        self.first_term
    }

    fn command(&self) -> Command {
        microsoft::Org::command(self)
    }

    fn series(&self) -> Vec<Series> {
        self.liaison_events()
            .iter()
            .map(|e| {
                let id = e["id"].as_str().unwrap().to_string();
                let prop = |name: &str| microsoft::prop(e, name).unwrap();
                let (a, b) = prop("liaison_pair")
                    .split_once('|')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap();
                Series {
                    key: prop("liaison_id"),
                    pair: (a, b),
                    occurrences: self
                        .fake
                        .occurrences(&id)
                        .iter()
                        .map(|o| {
                            let length = o.end.duration_since(o.start);
                            (o.original, o.original.checked_add(length).unwrap())
                        })
                        .collect(),
                    ended: e["recurrence"]["range"]["type"] == "endDate",
                    id,
                }
            })
            .collect()
    }

    fn invariants(&self) -> usize {
        self.check_invariants();
        active(self).len()
    }

    fn decline(&self, series: &Series, who: &str, occurrence: Option<Timestamp>) {
        self.fake.respond(&series.id, who, "declined", occurrence);
    }

    fn delete(&self, series: &Series) {
        self.fake.delete_event(fake_graph::DEFAULT_USER, &series.id);
    }

    fn person_moves(&self, series: &Series, original: Timestamp, to: (Timestamp, Timestamp)) {
        self.fake
            .move_occurrence(fake_graph::DEFAULT_USER, &series.id, original, to.0, to.1);
    }

    fn start_of(&self, series: &Series, original: Timestamp) -> Timestamp {
        self.fake
            .occurrences(&series.id)
            .into_iter()
            .find(|o| o.original == original)
            .unwrap_or_else(|| panic!("{} has no occurrence at {original}", series.id))
            .start
    }

    fn add_calendar(&self, email: &str, zone: &str) {
        self.fake.add_mailbox(email, zone);
    }

    fn fail_moves(&self, n: usize) {
        self.fake.fail_method("events.update", n, 503);
    }

    fn hold_inserts(&self, n: usize) {
        self.fake.hold_next("events.create", n);
    }

    fn held(&self) -> usize {
        self.fake.held()
    }

    fn release_held(&self) {
        self.fake.release_held();
    }

    fn clear_requests(&self) {
        self.fake.clear_requests();
    }

    fn calls(&self) -> Vec<Call> {
        self.fake
            .requests()
            .iter()
            .map(|r| match r.operation.as_deref() {
                None => Call::Token,
                Some("getSchedule") => Call::FreeBusy(
                    r.json().unwrap()["schedules"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect(),
                ),
                Some("delta") => Call::Changes {
                    incremental: r.param("$deltatoken").is_some(),
                },
                Some("events.create") => Call::Create,
                Some("events.update") => Call::Change(format!("{} {}", r.method, r.path)),
                Some("events.cancel" | "events.delete") => Call::Delete(format!("{} {}", r.method, r.path)),
                Some(_) => Call::Read,
            })
            .collect()
    }

    /// A write names the series' Graph id, or the id of one of its occurrences.
    fn writes_to(&self, series: &Series) -> Vec<String> {
        let mut ids: Vec<String> = self.fake.occurrences(&series.id).into_iter().map(|o| o.id).collect();
        ids.push(series.id.clone());
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Change(w) | Call::Delete(w) if ids.iter().any(|id| w.contains(id.as_str())) => Some(w),
                _ => None,
            })
            .collect()
    }
}

/// The free/busy reads among `calls`.
pub fn free_busy_reads(calls: &[Call]) -> Vec<Vec<String>> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::FreeBusy(people) => Some(people.clone()),
            _ => None,
        })
        .collect()
}

/// The calls that count against a cycle's request budget (not the token endpoint's).
pub fn api_calls(calls: &[Call]) -> Vec<Call> {
    calls.iter().filter(|c| **c != Call::Token).cloned().collect()
}

//! Reconcile (DESIGN §4 "Reconcile", "Ownership", "Ending early", "Failures"):
//! what liaison refuses to do to calendars, end to end through the real
//! binary against the fake Google API and the local provider.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use liaison::store::{SeriesState, Store};
use serde_json::Value;

use crate::google::{Org, base_command, occurrences, pair_of};
use crate::twins::{self, Call, TestOrg};
use crate::util::{Run, liaison, snapshot};

use crate::util::SATURDAY_WEEK_1;

fn org(n: usize) -> Org {
    Org::authorized(n)
}

/// `run --once [extra]` of `config` at `now`, whatever its exit code.
fn run_config(org: &Org, config: &Path, now: &str, extra: &[&str]) -> Run {
    let mut command = base_command(org.dir());
    command
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .args(extra)
        .env("LIAISON_NOW", now);
    Run::from(command.output().expect("liaison runs"))
}

fn run_ok(org: &Org, now: &str) -> Run {
    let run = run_config(org, &org.config, now, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

fn active(org: &Org) -> Vec<Value> {
    let mut events: Vec<Value> = org
        .liaison_events()
        .into_iter()
        .filter(|e| e["status"] != "cancelled")
        .collect();
    events.sort_by_key(|e| e["id"].as_str().unwrap().to_string());
    events
}

/// Requests that write to the calendar.
fn writes(org: &Org) -> Vec<String> {
    org.fake
        .requests()
        .iter()
        .filter(|r| {
            matches!(r.method.as_str(), "PATCH" | "DELETE" | "POST" | "PUT")
                && r.api_method.as_deref() != Some("calendar.freebusy.query")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The configuration with the `[[people]]` entries of `emails` left out.
fn without_people(config: &str, emails: &BTreeSet<String>) -> String {
    let mut parts = config.split("\n[[people]]");
    let mut out = parts.next().unwrap().to_string();
    for block in parts {
        if !emails.iter().any(|e| block.contains(&format!("\"{e}\""))) {
            out.push_str("\n[[people]]");
            out.push_str(block);
        }
    }
    out
}

/// Nobody has two connections in one week, over every active liaison event
/// (ended ones count with the occurrences they kept).
fn assert_one_connection_per_person_per_week(org: &Org) {
    let mut seen: BTreeMap<(String, i32), String> = BTreeMap::new();
    for event in active(org) {
        let (a, b) = pair_of(&event);
        for (start, _) in occurrences(&event) {
            let week = jiff::civil::date(2027, 3, 8)
                .until(start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
                .unwrap()
                .get_days()
                .div_euclid(7);
            for person in [&a, &b] {
                let id = event["id"].as_str().unwrap().to_string();
                if let Some(other) = seen.insert((person.clone(), week), id.clone()) {
                    panic!("{person} has two connections in week {week}: {other} and {id}");
                }
            }
        }
    }
}

#[test]
fn reconcile_a_trial_configuration_with_fresh_state_changes_no_event_of_the_first_installation() {
    let org = org(6);
    run_ok(&org, crate::util::NOW);
    let before = active(&org);
    assert_eq!(before.len(), 3);
    let instance = before[0]["extendedProperties"]["private"]["liaison_instance"].clone();
    assert!(instance.is_string(), "events carry the instance marker: {}", before[0]);

    // A trial: two of the people, a fresh state, the same organizer calendar,
    // a configuration file elsewhere (so another instance).
    let trial_dir = org.dir().join("trial");
    std::fs::create_dir_all(trial_dir.join("state")).unwrap();
    std::fs::copy(org.dir().join("state/token.json"), trial_dir.join("state/token.json")).unwrap();
    let text = std::fs::read_to_string(&org.config).unwrap();
    // Both people of one series and one of another: three, in more than one unit.
    let third = pair_of(&before[1]).0;
    let keep: BTreeSet<String> = [pair_of(&before[0]).0, pair_of(&before[0]).1, third.clone()].into();
    let everyone: BTreeSet<String> = org.members.iter().map(|m| m.email.clone()).collect();
    let gone: BTreeSet<String> = everyone.difference(&keep).cloned().collect();
    let trial = without_people(&text, &gone).replace("client_secret.json", "../client_secret.json");
    let trial_config = trial_dir.join("config.toml");
    std::fs::write(&trial_config, trial).unwrap();
    org.fake.clear_requests();

    for now in [crate::util::NOW, SATURDAY_WEEK_1] {
        let run = run_config(&org, &trial_config, now, &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        if now == crate::util::NOW {
            // Said once, when first seen.
            assert_eq!(
                run.stderr.matches("belongs to installation").count(),
                3,
                "{}",
                run.stderr
            );
        }
        assert!(
            run.stderr.contains("booked=0"),
            "the two are booked already: {}",
            run.stderr
        );
    }
    // A second trial cycle with one of its two people removed: the marker,
    // not only the fresh roster, keeps the trial off the first's events.
    let text = std::fs::read_to_string(&trial_config).unwrap();
    std::fs::write(&trial_config, without_people(&text, &[third].into())).unwrap();
    let run = run_config(&org, &trial_config, SATURDAY_WEEK_1, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(writes(&org), Vec::<String>::new(), "the trial wrote to the calendar");
    assert_eq!(active(&org), before, "the first installation's events changed");
    // The first installation still owns and keeps them.
    let run = run_ok(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("cancelled=0"), "{}", run.stderr);
    assert_eq!(active(&org), before);
}

/// The Microsoft twin of the trial above: a second configuration file (so
/// another instance) with a fresh state, signed in as the same organizer,
/// finds the first installation's series by their markers, counts their
/// people as booked, and writes nothing to the calendar.
#[test]
fn microsoft_reconcile_a_trial_configuration_with_fresh_state_changes_no_event_of_the_first_installation() {
    let org = crate::microsoft::Org::authorized(6);
    twins::run_at(&org, crate::util::NOW);
    let before = twins::active(&org);
    assert_eq!(before.len(), 3);
    let trial_dir = org.dir().join("trial");
    std::fs::create_dir_all(trial_dir.join("state")).unwrap();
    std::fs::copy(
        org.dir().join("state/microsoft-token.json"),
        trial_dir.join("state/microsoft-token.json"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&org.config).unwrap();
    let third = before[1].pair.0.clone();
    let keep: BTreeSet<String> = [before[0].pair.0.clone(), before[0].pair.1.clone(), third.clone()].into();
    let everyone: BTreeSet<String> = org.members.iter().map(|m| m.email.clone()).collect();
    let gone: BTreeSet<String> = everyone.difference(&keep).cloned().collect();
    let trial_config = trial_dir.join("config.toml");
    std::fs::write(&trial_config, without_people(&text, &gone)).unwrap();
    org.fake.clear_requests();
    let trial = |now: &str| {
        let run = Run::from(
            crate::util::command(&trial_dir)
                .args(["--config", trial_config.to_str().unwrap(), "run", "--once"])
                .env("LIAISON_NOW", now)
                .output()
                .expect("liaison runs"),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    };
    for now in [crate::util::NOW, SATURDAY_WEEK_1] {
        let run = trial(now);
        if now == crate::util::NOW {
            assert_eq!(
                run.stderr.matches("belongs to installation").count(),
                3,
                "{}",
                run.stderr
            );
        }
        assert!(
            run.stderr.contains("booked=0"),
            "the two are booked already: {}",
            run.stderr
        );
    }
    // One of the trial's people removed: the marker, not only the fresh
    // roster, keeps the trial off the first installation's events.
    let text = std::fs::read_to_string(&trial_config).unwrap();
    std::fs::write(&trial_config, without_people(&text, &[third].into())).unwrap();
    trial(SATURDAY_WEEK_1);
    let writes: Vec<String> = org
        .fake
        .requests()
        .iter()
        .filter(|r| {
            matches!(
                r.operation.as_deref(),
                Some("events.create" | "events.update" | "events.cancel" | "events.delete")
            )
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "the trial wrote to the calendar");
    assert_eq!(twins::active(&org), before, "the first installation's events changed");
    let run = twins::run_at(&org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("cancelled=0"), "{}", run.stderr);
    assert_eq!(twins::active(&org), before);
}

#[test]
fn reconcile_a_trial_configuration_on_local_calendars_writes_nothing_to_bookings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    let demo = liaison(tmp.path(), &["demo", "--dir", dir.to_str().unwrap(), "--people", "8"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let bookings = std::fs::read(dir.join("bookings.ics")).unwrap();
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let emails: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("email = \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect();
    let gone: BTreeSet<String> = emails[3..].iter().cloned().collect();
    let trial_dir = tmp.path().join("trial");
    std::fs::create_dir_all(&trial_dir).unwrap();
    let trial = without_people(&text, &gone)
        .replace("state_dir = \"state\"", "state_dir = \"trial-state\"")
        .replace("dir = \"calendars\"", &format!("dir = {:?}", dir.to_str().unwrap()))
        .replace("dir = \".\"", &format!("dir = {:?}", dir.to_str().unwrap()));
    std::fs::write(trial_dir.join("config.toml"), &trial).unwrap();
    let run = liaison(
        tmp.path(),
        &[
            "--config",
            trial_dir.join("config.toml").to_str().unwrap(),
            "run",
            "--once",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{trial}", run.stderr);
    assert!(
        String::from_utf8_lossy(&bookings).contains("X-LIAISON-INSTANCE:"),
        "bookings carry the marker"
    );
    // A second cycle with one of the trial's two people removed.
    let one: BTreeSet<String> = [emails[2].clone()].into();
    std::fs::write(trial_dir.join("config.toml"), without_people(&trial, &one)).unwrap();
    let again = liaison(
        tmp.path(),
        &[
            "--config",
            trial_dir.join("config.toml").to_str().unwrap(),
            "run",
            "--once",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        std::fs::read(dir.join("bookings.ics")).unwrap(),
        bookings,
        "the trial changed the first installation's bookings: {}\n{}",
        run.stderr,
        again.stderr
    );
}

#[test]
fn reconcile_an_outage_of_the_daily_quota_on_inserts_then_recovery_books_every_pair_planned() {
    let org = org(6);
    let plan = org.liaison(&["plan", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let planned: BTreeSet<(String, String)> = plan["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut pair = [
                p["a"]["email"].as_str().unwrap().to_string(),
                p["b"]["email"].as_str().unwrap().to_string(),
            ];
            pair.sort();
            (pair[0].clone(), pair[1].clone())
        })
        .collect();
    assert_eq!(planned.len(), 3);

    // Three cycles in which every insert meets Google's daily limit.
    for cycle in 0..3 {
        org.fake.fail_method("events.insert", 1, 403, "dailyLimitExceeded");
        let run = run_config(&org, &org.config, crate::util::NOW, &[]);
        assert_ne!(run.code, 0, "cycle {cycle} should fail: {}", run.stderr);
        assert!(run.stderr.contains("quota"), "{}", run.stderr);
        let store = Store::open(&org.dir().join("state")).unwrap();
        let marked: Vec<_> = store
            .series()
            .unwrap()
            .into_iter()
            .filter(|r| r.state != SeriesState::Booked)
            .map(|r| (r.request.pair, r.state))
            .collect();
        assert!(marked.is_empty(), "cycle {cycle} marked pairs: {marked:?}");
    }
    assert!(active(&org).is_empty());
    let run = run_ok(&org, crate::util::NOW);
    let booked: BTreeSet<(String, String)> = active(&org).iter().map(pair_of).collect();
    assert_eq!(booked, planned, "{}", run.stderr);
}

/// A person removed mid-term: their series ends after the occurrences that
/// took place (never deleted whole, which would erase them), the later ones
/// are gone, and an occurrence a person had moved before the end stays where
/// it took place — Exchange drops every exception of a series whose
/// recurrence changes, so on Graph liaison makes the move again.
fn a_removed_person_keeps_the_held_occurrences_and_the_series_ends_after_them(org: &impl TestOrg) {
    twins::run_at(org, crate::util::NOW);
    let series = twins::active(org)[0].clone();
    let (gone, partner) = series.pair.clone();
    let saturday: jiff::Timestamp = SATURDAY_WEEK_1.parse().unwrap();
    let held: Vec<_> = series
        .occurrences
        .iter()
        .copied()
        .filter(|(s, _)| *s < saturday)
        .collect();
    assert_eq!(held.len(), 2);
    // The first occurrence took place half an hour later than planned.
    let (first, first_end) = held[0];
    let half = jiff::SignedDuration::from_mins(30);
    let moved = (first.checked_add(half).unwrap(), first_end.checked_add(half).unwrap());
    org.person_moves(&series, first, moved);
    twins::edit_person(org, &gone, |_| String::new());

    let run = twins::run_at(org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("series ended early"), "{}", run.stderr);
    // `find` panics when the series is gone: deleted, erasing what took place.
    let after = twins::find(org, &series.key);
    assert!(after.ended, "{after:?}");
    assert_eq!(after.occurrences, held, "held occurrences kept, later ones gone");
    assert_eq!(
        org.start_of(&after, first),
        moved.0,
        "the occurrence a person moved went back to the rule's time"
    );
    let store = Store::open(&org.dir().join("state")).unwrap();
    let record = store.get(&series.key).unwrap().unwrap();
    assert_eq!((record.state, record.request.count), (SeriesState::Cancelled, 2));
    drop(store);
    // The partner is planned again from the week after: in a new series of
    // the remaining weeks, or unpaired with a reason.
    let repaired = twins::active(org)
        .iter()
        .any(|s| s.key != series.key && (s.pair.0 == partner || s.pair.1 == partner));
    let unpaired = run.stderr.contains(&format!("person={partner} reason="));
    assert!(repaired || unpaired, "{partner} was not planned again: {}", run.stderr);
}

#[test]
fn reconcile_a_removed_person_keeps_the_held_occurrences_and_the_series_ends_after_them() {
    let org = org(6);
    a_removed_person_keeps_the_held_occurrences_and_the_series_ends_after_them(&org);
    assert_one_connection_per_person_per_week(&org);
}

#[test]
fn microsoft_reconcile_a_removed_person_keeps_the_held_occurrences_and_the_series_ends_after_them() {
    a_removed_person_keeps_the_held_occurrences_and_the_series_ends_after_them(&crate::microsoft::Org::authorized(6));
}

/// Six of nine series would end at once (one person of each removed), more
/// than the default limit of 5 and more than 10 % of 9: nothing is written
/// until `--allow-mass-cancel` confirms it for one cycle.
fn removing_a_third_of_the_people_cancels_nothing_until_confirmed(org: &impl TestOrg) {
    twins::run_at(org, crate::util::NOW);
    let before = twins::active(org);
    assert_eq!(before.len(), 9);
    let gone: BTreeSet<String> = before.iter().take(6).map(|s| s.pair.0.clone()).collect();
    for who in &gone {
        twins::edit_person(org, who, |_| String::new());
    }
    org.clear_requests();
    let changes = || -> Vec<Call> {
        org.calls()
            .into_iter()
            .filter(|c| matches!(c, Call::Change(_) | Call::Delete(_)))
            .collect()
    };

    let run = twins::run_at(org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("refused by the safety check"), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-mass-cancel"), "{}", run.stderr);
    assert_eq!(changes(), []);
    assert_eq!(twins::active(org), before);
    let status = twins::liaison(org, &["status"]);
    assert!(status.stdout.contains("--allow-mass-cancel"), "{}", status.stdout);
    // The guard holds on the next cycle too.
    let run = twins::run_at(org, SATURDAY_WEEK_1);
    assert!(run.stderr.contains("refused by the safety check"), "{}", run.stderr);
    assert_eq!(twins::active(org), before);

    // Confirmed once: all six end after their held occurrences.
    let confirmed = Run::from(
        org.command()
            .args(["run", "--once", "--allow-mass-cancel"])
            .env("LIAISON_NOW", SATURDAY_WEEK_1)
            .output()
            .unwrap(),
    );
    assert_eq!(confirmed.code, 0, "{}", confirmed.stderr);
    assert_eq!(
        confirmed.stderr.matches("series ended early").count(),
        6,
        "{}",
        confirmed.stderr
    );
    assert_eq!(org.series().iter().filter(|s| s.ended).count(), 6);
    org.invariants();
}

#[test]
fn reconcile_removing_a_third_of_the_people_cancels_nothing_until_confirmed() {
    removing_a_third_of_the_people_cancels_nothing_until_confirmed(&org(18));
}

#[test]
fn microsoft_reconcile_removing_a_third_of_the_people_cancels_nothing_until_confirmed() {
    removing_a_third_of_the_people_cancels_nothing_until_confirmed(&crate::microsoft::Org::authorized(18));
}

#[test]
fn reconcile_a_first_term_change_mid_term_is_refused_and_a_later_one_never_double_books() {
    let org = org(6);
    run_ok(&org, crate::util::NOW);
    let before = active(&org);
    let text = std::fs::read_to_string(&org.config).unwrap();
    std::fs::write(
        &org.config,
        text.replace("first_term = \"2027-03-08\"", "first_term = \"2027-03-15\""),
    )
    .unwrap();
    org.fake.clear_requests();
    let run = run_config(&org, &org.config, SATURDAY_WEEK_1, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("2027-04-05"),
        "names the first safe date: {}",
        run.stderr
    );
    assert!(writes(&org).is_empty());
    assert_eq!(active(&org), before);

    // From the next term on, with two-week terms: accepted, and the new
    // terms start after the booked ones end.
    std::fs::write(
        &org.config,
        text.replace(
            "first_term = \"2027-03-08\"",
            "first_term = \"2027-04-05\"\nterm_weeks = 2",
        ),
    )
    .unwrap();
    run_ok(&org, SATURDAY_WEEK_1);
    run_ok(&org, "2027-03-29T12:00:00Z");
    assert!(active(&org).len() > before.len(), "the new term was booked");
    assert_one_connection_per_person_per_week(&org);
}

#[test]
fn reconcile_dry_run_prints_the_actions_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    let demo = liaison(tmp.path(), &["demo", "--dir", dir.to_str().unwrap(), "--people", "8"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    std::fs::remove_file(dir.join("bookings.ics")).unwrap();
    std::fs::remove_dir_all(dir.join("state")).unwrap();
    let config = dir.join("config.toml");
    let before = snapshot(tmp.path());
    let run = liaison(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "run", "--once", "--dry-run"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("nothing was written"), "{}", run.stdout);
    assert_eq!(run.stdout.matches("\n  book ").count(), 4, "{}", run.stdout);
    let json = liaison(
        tmp.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "run",
            "--once",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds: Vec<&str> = value["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["book"; 4]);
    assert_eq!(snapshot(tmp.path()), before, "a dry run wrote a file");

    // After a real run, removing a person shows the cancellation it would do.
    let real = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run", "--once"]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    let text = std::fs::read_to_string(&config).unwrap();
    let first = text
        .lines()
        .find_map(|l| l.strip_prefix("email = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    std::fs::write(&config, without_people(&text, &[first.clone()].into())).unwrap();
    let before = snapshot(tmp.path());
    let run = liaison(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "run", "--once", "--dry-run"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("cancel ")
            && run
                .stdout
                .contains(&format!("{first} is no longer in the configuration")),
        "{}",
        run.stdout
    );
    assert_eq!(snapshot(tmp.path()), before, "a dry run wrote a file");
}

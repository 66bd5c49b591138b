//! liaison against the fake Google where the fake is as strict as Google:
//! sync tokens of one calendar, writes only to owned calendars, delegated
//! service-account subjects, deleted series bare or whole in incremental
//! reads, Google's own freeBusy limits (the product must stay within them with
//! its own chunking), and the per-user rate quota (the product's pacing must
//! keep under it).

use std::path::Path;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use liaison::calendar::google::{GoogleProvider, Timing};
use liaison::calendar::{CalendarError, CalendarProvider};
use liaison::core::interval::Interval;
use serde_json::{Value, json};

use crate::fake_google::{
    DEFAULT_USER, DeletedShape, FREEBUSY_MAX_CALENDARS, FREEBUSY_MAX_RANGE, FakeGoogle, RequestRecord,
};
use crate::google::Org;

/// Retries fast and few; a call timeout no loaded machine reaches.
const TIMING: &str = "timeout=30s,attempts=4,base=1ms,cap=5ms,budget=20s";

/// What the in-process provider is configured with.
struct Setup<'a> {
    organizer: &'a str,
    requests_per_second: u32,
    people: &'a [String],
}

/// The library's Google provider on the fake, as a service account acting for
/// [`DEFAULT_USER`], built and used on the calling test's runtime.
async fn provider(fake: &FakeGoogle, dir: &Path, setup: &Setup<'_>) -> GoogleProvider {
    std::fs::write(dir.join("key.json"), fake.service_account_key_json()).unwrap();
    let mut text = format!(
        r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
[calendar]
provider = "google"
instance = "strict"
[calendar.google]
auth = "service_account"
service_account_key = "key.json"
impersonate = "{DEFAULT_USER}"
organizer = "{}"
api_base_url = "{}"
requests_per_second = {}
"#,
        setup.organizer,
        fake.base_url(),
        setup.requests_per_second
    );
    for (i, email) in setup.people.iter().enumerate() {
        text.push_str(&format!(
            "[[people]]\nemail = \"{email}\"\nname = \"P {i}\"\nunit = \"U{}\"\n",
            i % 2
        ));
    }
    let cfg = liaison::config::parse(&text, &dir.join("config.toml"), &liaison::config::Env::default()).unwrap();
    let timing = Timing::default().with_overrides(TIMING).unwrap();
    GoogleProvider::with_timing(&cfg, timing).await.unwrap()
}

fn two() -> Vec<String> {
    vec!["ada@example.org".into(), "bob@example.org".into()]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn calls<'a>(requests: &'a [RequestRecord], method: &str) -> Vec<&'a RequestRecord> {
    requests
        .iter()
        .filter(|r| r.api_method.as_deref() == Some(method))
        .collect()
}

/// The calendar ids and the range of one recorded `freeBusy.query`.
fn freebusy_query(r: &RequestRecord) -> (usize, SignedDuration) {
    let body = r.json().expect("a JSON body");
    let at = |k: &str| body[k].as_str().unwrap().parse::<Timestamp>().unwrap();
    (
        body["items"].as_array().unwrap().len(),
        at("timeMax").duration_since(at("timeMin")),
    )
}

#[test]
fn free_busy_for_many_people_over_100_days_stays_within_googles_limits() {
    let fake = FakeGoogle::start();
    let people: Vec<String> = (0..123).map(|i| format!("p{i:03}@example.org")).collect();
    for p in &people {
        fake.add_calendar(p, "Europe/London");
    }
    // One busy hour near the end of the range for the last person.
    fake.add_event(
        &people[122],
        json!({"start": {"dateTime": "2027-06-01T09:00:00Z"}, "end": {"dateTime": "2027-06-01T10:00:00Z"}}),
    );
    let tmp = tempfile::tempdir().unwrap();
    let start: Timestamp = "2027-03-01T00:00:00Z".parse().unwrap();
    let range = Interval::new(start, start.checked_add(SignedDuration::from_hours(100 * 24)).unwrap());
    let answers = runtime().block_on(async {
        let p = provider(
            &fake,
            tmp.path(),
            &Setup {
                organizer: "primary",
                requests_per_second: 1000,
                people: &two(),
            },
        )
        .await;
        p.busy(&people, range).await.unwrap()
    });
    assert_eq!(answers.len(), people.len());
    assert!(answers.values().all(Result::is_ok), "every calendar answered");
    assert_eq!(answers[&people[122]].as_ref().unwrap().spans().len(), 1);
    let requests = fake.requests();
    let queries = calls(&requests, "calendar.freebusy.query");
    // ⌈123/50⌉ groups × ⌈100/90⌉ windows; each within Google's limits as the
    // fake has them (its own constants, not the product's).
    assert_eq!(queries.len(), 3 * 2);
    for q in &queries {
        assert_eq!(q.status, 200, "{}", q.body);
        let (calendars, span) = freebusy_query(q);
        assert!(
            calendars <= FREEBUSY_MAX_CALENDARS,
            "{calendars} calendars in one query"
        );
        assert!(span <= FREEBUSY_MAX_RANGE, "a range of {span:?}");
    }
}

#[test]
fn a_sync_token_of_another_calendar_makes_the_next_read_a_full_one() {
    let fake = FakeGoogle::start();
    let team = "team@group.calendar.google.com";
    fake.add_owned_calendar(team, "Europe/London", DEFAULT_USER);
    fake.add_event(
        team,
        json!({"id": "teamevent01", "start": {"dateTime": "2027-03-08T09:00:00Z"}, "end": {"dateTime": "2027-03-08T10:00:00Z"},
            "extendedProperties": {"private": {"liaison": "1"}}}),
    );
    let tmp = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let on_primary = provider(
            &fake,
            tmp.path(),
            &Setup {
                organizer: "primary",
                requests_per_second: 1000,
                people: &two(),
            },
        )
        .await;
        let first = on_primary.list_changes(None, crate::util::now()).await.unwrap();
        let token = first.next_token.expect("a sync token");
        assert!(
            !on_primary
                .list_changes(Some(&token), crate::util::now())
                .await
                .unwrap()
                .full
        );
        // The organizer calendar changed (configuration, or who `primary` is):
        // the old token must not read the new calendar as "nothing changed".
        let on_team = provider(
            &fake,
            tmp.path(),
            &Setup {
                organizer: team,
                requests_per_second: 1000,
                people: &two(),
            },
        )
        .await;
        let changes = on_team.list_changes(Some(&token), crate::util::now()).await.unwrap();
        assert!(changes.full, "the read after the change is a full one");
        assert_ne!(changes.next_token.as_deref(), Some(token.as_str()));
    });
    let lists: Vec<(String, u16)> = calls(&fake.requests(), "calendar.events.list")
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(lists.last().map(|l| l.1), Some(200));
    assert!(
        lists
            .iter()
            .any(|(path, status)| path.contains("team") && *status == 410)
    );
}

/// `run --once` books; a person deletes one series; the next `run --once`
/// reads the change incrementally, in `shape`, records the deletion and does
/// not book that pair again.
fn a_deleted_series_is_recorded(shape: DeletedShape) {
    let org = Org::new(12);
    assert_eq!(org.authorize().code, 0);
    let first = org.liaison(&["run", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let booked = org.check_invariants();
    assert_eq!(booked, 6);
    let victim = org.liaison_events()[0]["id"].as_str().unwrap().to_string();
    org.fake.set_deleted_shape(shape);
    org.fake.delete_event(DEFAULT_USER, &victim);
    org.fake.clear_requests();
    let second = org.liaison(&["run", "--once"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let requests = org.fake.requests();
    let list = calls(&requests, "calendar.events.list");
    assert!(
        list.iter().all(|r| r.param("syncToken").is_some() && r.status == 200),
        "the change was read incrementally"
    );
    assert!(
        second
            .stderr
            .contains("series deleted on the calendar by a person; this pair is not booked again this term"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains(&victim), "{}", second.stderr);
    assert_eq!(
        calls(&requests, "calendar.events.insert").len(),
        0,
        "nothing booked again"
    );
    assert_eq!(org.check_invariants(), booked - 1);
    let third = org.liaison(&["run", "--once"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(org.check_invariants(), booked - 1, "still not booked again");
}

#[test]
fn a_series_deleted_by_a_person_is_recorded_when_google_sends_only_its_id() {
    a_deleted_series_is_recorded(DeletedShape::IdOnly);
}

#[test]
fn a_series_deleted_by_a_person_is_recorded_when_google_sends_its_whole_body() {
    a_deleted_series_is_recorded(DeletedShape::FullBody);
}

/// Replaces `from` by `to` in the org's configuration.
fn edit_config(org: &Org, from: &str, to: &str) {
    let text = std::fs::read_to_string(&org.config).unwrap();
    assert!(text.contains(from), "{from:?} not in the config");
    std::fs::write(&org.config, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn an_organizer_calendar_the_user_does_not_own_is_refused_like_google_does() {
    let org = Org::new(6);
    org.fake.add_calendar("boss@example.org", "Europe/London");
    edit_config(
        &org,
        "[calendar.google]\n",
        "[calendar.google]\norganizer = \"boss@example.org\"\n",
    );
    assert_eq!(org.authorize().code, 0);
    let run = org.liaison(&["run", "--once"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("requiredAccessLevel"), "{}", run.stderr);
    assert!(org.fake.events("boss@example.org").is_empty());

    // A secondary calendar the user owns is a good organizer calendar.
    org.fake
        .add_owned_calendar("team@group.calendar.google.com", "Europe/London", DEFAULT_USER);
    edit_config(&org, "boss@example.org", "team@group.calendar.google.com");
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let booked = org
        .fake
        .events("team@group.calendar.google.com")
        .into_iter()
        .filter(|e| e["extendedProperties"]["private"]["liaison"] == "1")
        .count();
    assert_eq!(booked, 3);
}

/// A service-account configuration for the binary, acting for `subject`.
pub fn service_account_org(subject: &str) -> Org {
    let org = Org::new(4);
    std::fs::write(org.dir().join("key.json"), org.fake.service_account_key_json()).unwrap();
    edit_config(
        &org,
        "client_secret = \"client_secret.json\"\n",
        &format!("auth = \"service_account\"\nservice_account_key = \"key.json\"\nimpersonate = \"{subject}\"\n"),
    );
    org
}

#[test]
fn a_service_account_needs_a_known_subject_and_delegation() {
    let org = service_account_org(DEFAULT_USER);
    let auth = org.liaison(&["auth"]);
    assert_eq!(auth.code, 0, "{}{}", auth.stdout, auth.stderr);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(org.check_invariants(), 2);

    // Delegation withdrawn by the admin: exit 3, saying what to add where.
    org.fake.set_delegation(None);
    let run = org.liaison(&["run", "--once"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    for part in ["unauthorized_client", "Domain-wide delegation"] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }

    // A subject that is no user of the domain.
    let org = service_account_org("nobody@example.org");
    let auth = org.liaison(&["auth"]);
    assert_eq!(auth.code, 3, "{}{}", auth.stdout, auth.stderr);
    assert!(auth.stderr.contains("Invalid email or User ID"), "{}", auth.stderr);
}

/// The product's pacing (`calendar.google.requests_per_second`, a token
/// bucket) keeps it under a per-user quota the fake measures on its own
/// clock: with `rps` a second and a burst of `rps`, any window of `w` holds at
/// most `rps + rps × w` paced starts, plus one call that was paced before the
/// window and arrived inside it (calls are sequential).
#[test]
fn pacing_keeps_the_provider_under_the_per_user_quota() {
    const RPS: u32 = 20;
    let window = Duration::from_millis(500);
    // One more for the two clocks (governor's and the fake's) not agreeing to the microsecond.
    let limit = (RPS + RPS / 2 + 2) as usize;
    let calls_made: usize = 3 * limit;
    let fake = FakeGoogle::start();
    fake.set_quota(limit, window, 429, "rateLimitExceeded");
    let tmp = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let p = provider(
            &fake,
            tmp.path(),
            &Setup {
                organizer: "primary",
                requests_per_second: RPS,
                people: &two(),
            },
        )
        .await;
        for i in 0..calls_made {
            let got = p.get_series(&format!("nosuchseries{i:04}")).await.unwrap();
            assert!(got.is_none());
        }
        assert_eq!(p.requests(), calls_made as u64, "no call was refused and retried");
    });
    let (peak, refused) = fake.quota_report();
    eprintln!("paced at {RPS}/s: at most {peak} calls in one {window:?} window (quota {limit})");
    assert_eq!(refused, 0, "the quota was never hit (peak {peak} of {limit})");
    assert!(peak <= limit);
}

/// A quota the product does run into (here: 2 calls per hour) is retried
/// with backoff and, when it does not pass, reported as transient: the cycle
/// stops and is tried again sooner, nothing is marked.
#[test]
fn a_quota_that_does_not_pass_is_retried_then_transient() {
    let fake = FakeGoogle::start();
    fake.set_quota(2, Duration::from_secs(3600), 403, "userRateLimitExceeded");
    let tmp = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let p = provider(
            &fake,
            tmp.path(),
            &Setup {
                organizer: "primary",
                requests_per_second: 1000,
                people: &two(),
            },
        )
        .await;
        assert!(p.get_series("nosuchseries1").await.unwrap().is_none());
        assert!(p.get_series("nosuchseries2").await.unwrap().is_none());
        let err = p.get_series("nosuchseries3").await.unwrap_err();
        assert!(matches!(err, CalendarError::Transient(_)), "{err:?}");
        assert!(err.to_string().contains("userRateLimitExceeded"), "{err}");
    });
    let refused: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.status == 403)
        .map(|r| json!(r.path))
        .collect();
    assert_eq!(refused.len(), 4, "the attempts of TIMING");
    assert_eq!(fake.quota_report(), (2, 4));
}

/// An organizer change under series that still have meetings to come is
/// refused at start (liaison would not see them on the new calendar and would
/// book their people again); once they have taken place it is accepted, and
/// the old calendar's sync token is never used on the new one.
#[test]
fn an_organizer_change_waits_for_the_booked_series_and_never_uses_the_old_token() {
    let org = Org::new(12);
    edit_config(
        &org,
        "provider = \"google\"\n",
        "provider = \"google\"\ninstance = \"hq\"\n",
    );
    assert_eq!(org.authorize().code, 0);
    let first = org.liaison(&["run", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(org.check_invariants(), 6);
    org.fake
        .add_owned_calendar("team@group.calendar.google.com", "Europe/London", DEFAULT_USER);
    edit_config(
        &org,
        "[calendar.google]\n",
        "[calendar.google]\norganizer = \"team@group.calendar.google.com\"\n",
    );
    org.fake.clear_requests();
    let refused = org.liaison(&["run", "--once"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the calendar changed from google:primary"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("(until 2027-03-"),
        "names the last meeting: {}",
        refused.stderr
    );
    assert!(calls(&org.fake.requests(), "calendar.events.list").is_empty());

    // After the term: the change is accepted; the new calendar is read in
    // full without the old token, and the old series (all held) are left be.
    let after = crate::util::Run::from(
        crate::google::base_command(org.dir())
            .args(["--config", org.config.to_str().unwrap(), "run", "--once"])
            .env("LIAISON_NOW", "2027-04-10T12:00:00Z")
            .output()
            .unwrap(),
    );
    assert_eq!(after.code, 0, "{}", after.stderr);
    let lists: Vec<Option<String>> = calls(&org.fake.requests(), "calendar.events.list")
        .iter()
        .map(|r| r.param("syncToken").map(str::to_string))
        .collect();
    assert_eq!(lists, [None], "one full read, no token of the old calendar");
    assert!(
        !after.stderr.contains("refused by the safety check"),
        "{}",
        after.stderr
    );
}

//! The request budget and the pacing of one booking cycle on Google, for a
//! 10,000-person organization (issue 11): the library's cycle (what `run
//! --once` runs) with the real google-calendar3 and yup-oauth2 clients against
//! the fake Google on 127.0.0.1, the organization made by `liaison demo`'s
//! generator and its calendars loaded into the fake, so that freeBusy serves
//! them. The pacer runs on a virtual clock (`Pacer::on_virtual_clock`): the
//! same token bucket and quota as in production, with each wait moving that
//! clock instead of sleeping, so the schedule is exact and the test fast.
//! Nothing here measures wall-clock time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::civil::date;
use liaison::calendar::google::{GoogleProvider, Timing};
use liaison::calendar::http::{Pacer, VirtualClock};
use liaison::demo::{Shape, generate};
use serde_json::{Value, json};

use crate::fake_google::{DEFAULT_USER, FREEBUSY_MAX_CALENDARS, FakeGoogle};

const PEOPLE: usize = 10_000;
const UNITS: usize = 250;

/// Fast retries and a call timeout no loaded machine reaches; there is no
/// failure to retry here, so these only bound a broken run.
const TIMING: &str = "timeout=60s,attempts=4,base=1ms,cap=5ms,budget=120s";

/// One VEVENT of the demo's iCalendar text as the Google event it stands for
/// (the fields the demo writes: zoned or all-day start and end, RRULE,
/// TRANSP, attendees with PARTSTAT).
fn google_event(vevent: &str) -> Value {
    let mut event = json!({});
    let mut attendees = Vec::new();
    for line in vevent.lines() {
        let Some((name_params, value)) = line.split_once(':') else {
            continue;
        };
        let mut parts = name_params.split(';');
        let name = parts.next().unwrap_or_default();
        let params: BTreeMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        let time = || match params.get("TZID") {
            Some(zone) => {
                let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", value).unwrap();
                json!({"dateTime": at.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": zone})
            }
            None => {
                let day = jiff::civil::Date::strptime("%Y%m%d", value).unwrap();
                json!({"date": day.to_string()})
            }
        };
        match name {
            "DTSTART" => event["start"] = time(),
            "DTEND" => event["end"] = time(),
            "SUMMARY" => event["summary"] = json!(value),
            "RRULE" => event["recurrence"] = json!([format!("RRULE:{value}")]),
            "TRANSP" if value == "TRANSPARENT" => event["transparency"] = json!("transparent"),
            "ATTENDEE" => {
                let email = line.rsplit_once("mailto:").unwrap().1;
                let status = match params.get("PARTSTAT").copied() {
                    Some("DECLINED") => "declined",
                    Some("ACCEPTED") => "accepted",
                    _ => "needsAction",
                };
                attendees.push(json!({"email": email, "responseStatus": status}));
            }
            _ => {}
        }
    }
    if !attendees.is_empty() {
        event["attendees"] = json!(attendees);
    }
    event
}

/// The requests of a budget, by kind, as the fake received them.
#[derive(Debug, Default)]
struct Counts {
    free_busy: usize,
    inserts: usize,
    lists: usize,
    other_api: Vec<String>,
    tokens: usize,
}

#[test]
fn a_cycle_for_10000_people_stays_within_its_request_budget_and_is_paced() {
    let started = Instant::now();
    let fake = FakeGoogle::start();
    let tmp = tempfile::tempdir().unwrap();
    let first_term = date(2027, 3, 8);
    // The demo's organization of 10,000 people in 250 units and 8 zones, with
    // lighter calendars than `--busy` (a team meeting, a 1:1, a transparent
    // hold, a declined meeting and a day out of office each): the budget does
    // not depend on how busy people are, and the fake's freeBusy expands every
    // event of every query.
    let shape = Shape {
        people: PEOPLE,
        units: UNITS,
        zones: 8,
        recurring: 2,
        one_offs: 0..=0,
    };
    let org = generate(&shape, 1, first_term);
    for (person, (_, ics)) in org.people.iter().zip(&org.calendars) {
        fake.add_calendar(&person.email, &person.zone);
        for vevent in ics.split("BEGIN:VEVENT").skip(1) {
            fake.add_event(&person.email, google_event(vevent));
        }
    }
    std::fs::write(tmp.path().join("key.json"), fake.service_account_key_json()).unwrap();
    let calendar = format!(
        "[calendar]\nprovider = \"google\"\n\n[calendar.google]\nauth = \"service_account\"\n\
         service_account_key = \"key.json\"\nimpersonate = \"{DEFAULT_USER}\"\napi_base_url = \"{}\"\n",
        fake.base_url()
    );
    let local = "[calendar]\nprovider = \"local\"\n\n[calendar.local]\ndir = \".\"\n";
    assert!(org.config_toml.contains(local), "the demo's calendar section changed");
    let text = org.config_toml.replace(local, &calendar);
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let cfg = liaison::config::parse(&text, &path, &liaison::config::Env::default()).unwrap();
    // The default rate: the test shows what an installation gets.
    let rate = cfg.calendar.google.requests_per_second;
    assert_eq!(rate, 5);
    // Two days before the first term: it is within `book_ahead` and the only
    // term due, so the cycle reads busy time once for everyone.
    let now: Timestamp = "2027-03-06T12:00:00Z".parse().unwrap();
    let setup = started.elapsed();

    let clock = VirtualClock::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (summary, product_count) = runtime.block_on(async {
        let timing = Timing::default().with_overrides(TIMING).unwrap();
        let provider = GoogleProvider::with_timing(&cfg, timing)
            .await
            .unwrap()
            .paced_by(Pacer::on_virtual_clock(rate, &clock));
        let store = liaison::app::open_store(&cfg).unwrap();
        let summary = liaison::runner::run_once(&cfg, &provider, &store, now).await.unwrap();
        (summary, liaison::calendar::CalendarProvider::requests(&provider))
    });
    let cycle = started.elapsed() - setup;

    // The requests by kind, as the fake received them.
    let requests = fake.requests();
    let mut counts = Counts::default();
    let mut asked: Vec<String> = Vec::new();
    for r in &requests {
        match r.api_method.as_deref() {
            Some("calendar.freebusy.query") => {
                counts.free_busy += 1;
                let items = r.json().unwrap()["items"].as_array().unwrap().clone();
                assert!(items.len() <= FREEBUSY_MAX_CALENDARS);
                asked.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
            }
            Some("calendar.events.insert") => counts.inserts += 1,
            Some("calendar.events.list") => counts.lists += 1,
            Some(other) => counts.other_api.push(other.to_string()),
            None if r.path == "/token" => counts.tokens += 1,
            None => panic!("an unexpected request: {} {}", r.method, r.path),
        }
        assert!(r.status < 300, "{} {} answered {}", r.method, r.path, r.status);
    }
    let booked = summary.counts.booked;
    let api = counts.free_busy + counts.inserts + counts.lists + counts.other_api.len();
    let total = api + counts.tokens;
    let bound = PEOPLE.div_ceil(FREEBUSY_MAX_CALENDARS) + booked + 1;
    eprintln!(
        "{PEOPLE} people, {UNITS} units: {booked} pairs booked, {} unpaired; requests: {} freeBusy, {} inserts, \
         {} events.list, {} other, {} token; {total} in all (bound {bound}, 1.05 x bound {:.0})",
        summary.counts.unpaired,
        counts.free_busy,
        counts.inserts,
        counts.lists,
        counts.other_api.len(),
        counts.tokens,
        1.05 * bound as f64
    );
    assert!(
        booked >= PEOPLE * 9 / 20,
        "the organization is mostly paired: {booked} pairs"
    );
    // Each person's busy time read once, 50 to a request, in as few requests
    // as that allows.
    assert_eq!(counts.free_busy, PEOPLE.div_ceil(FREEBUSY_MAX_CALENDARS));
    assert_eq!(asked.len(), PEOPLE);
    assert_eq!(asked.iter().collect::<BTreeSet<_>>().len(), PEOPLE);
    // One insert per pair booked, nothing looked up before or after it.
    assert_eq!(counts.inserts, booked);
    assert_eq!(fake.events(DEFAULT_USER).len(), booked);
    // One read of the organizer calendar (the changes), nothing else.
    assert_eq!(counts.lists, 1);
    assert_eq!(counts.other_api, Vec::<String>::new());
    assert!(
        (total as f64) <= 1.05 * bound as f64,
        "{total} requests for a bound of {bound}"
    );
    // The product counts what the fake received.
    assert_eq!(product_count, api as u64);
    assert_eq!(summary.counts.requests, api as u64);

    // Pacing: every API request passed the bucket once, at its virtual time:
    // the bucket's burst of `rate` at the start, then one every 1/rate, so no
    // second after the burst holds more than `rate` requests.
    let sends = clock.sends();
    assert_eq!(sends.len(), api);
    let step = Duration::from_secs(1) / rate;
    for (i, at) in sends.iter().enumerate() {
        let expected = step * (i + 1).saturating_sub(rate as usize) as u32;
        assert_eq!(*at, expected, "request {i}");
    }
    let after_burst = &sends[rate as usize - 1..];
    for two in after_burst.windows(2) {
        assert!(two[1] - two[0] >= step);
    }
    for span in after_burst.windows(rate as usize + 1) {
        assert!(span[rate as usize] - span[0] >= Duration::from_secs(1));
    }
    // The cycle's virtual duration: requests / rate, less the burst's second.
    let virtual_duration = clock.now();
    assert_eq!(virtual_duration, step * (api - rate as usize) as u32);
    eprintln!(
        "paced at {rate}/s: {api} API requests over {:.1} s of virtual time ({:.1} min); \
         test: setup {:.1} s, cycle {:.1} s (wall clock, not asserted)",
        virtual_duration.as_secs_f64(),
        virtual_duration.as_secs_f64() / 60.0,
        setup.as_secs_f64(),
        cycle.as_secs_f64()
    );
}

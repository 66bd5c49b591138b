//! iCalendar files as the local provider reads its directory: a person's
//! calendar (`<email>.ics`, busy time) and the organizer calendar
//! (`bookings.ics`: busy time of its attendees, liaison's series read back).
//! Besides mutated exports (Google, Outlook, liaison's demo), generated
//! events put recurrence rules at their limits: huge COUNT and INTERVAL,
//! SECONDLY rules, years 1 and 9999, rules that never match a day.
//!
//! Properties: no panic; memory and time within the harness' bounds; busy
//! time lies inside the asked range; a refusal is `CalendarError::Invalid`
//! naming the file and a line of it.

use std::path::Path;

use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use liaison::calendar::local::LocalProvider;
use liaison::calendar::{Attendee, CalendarError, CalendarProvider as _, SeriesRequest};
use liaison::core::interval::Interval;
use proptest::prelude::*;
use proptest::sample::select;

use crate::harness::{bounded, fuzz, scratch_dir};
use crate::mutate::{Doc, Format, doc};

/// The person whose calendar is read; the demo's bookings.ics involves her.
const OWNER: &str = "ada.okafor@example.org";

static PERSON: Format = Format {
    seeds: &[
        include_str!("seeds/person-google.ics"),
        include_str!("seeds/person-outlook.ics"),
        include_str!("seeds/person-demo.ics"),
    ],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: ics_nest,
};

static BOOKINGS: Format = Format {
    seeds: &[include_str!("seeds/bookings.ics")],
    lines: LINES,
    values: VALUES,
    separator: b':',
    nest: ics_nest,
};

const LINES: &[&str] = &[
    "BEGIN:VCALENDAR",
    "END:VCALENDAR",
    "BEGIN:VEVENT",
    "END:VEVENT",
    "BEGIN:VTIMEZONE",
    "END:VTIMEZONE",
    "BEGIN:STANDARD",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "END:DAYLIGHT",
    "BEGIN:VALARM",
    "END:VALARM",
    "BEGIN:",
    "END:",
    " folded continuation",
    "\tfolded with a tab",
    "UID:standup-1@google.com",
    "DTSTART:00010101T000000",
    "DTSTART:99991231T235959Z",
    "DTSTART;VALUE=DATE:99991231",
    "DTSTART;TZID=Customized Time Zone:20260303T093000",
    "DTSTART;TZID=\"Europe/Berlin\":20260329T023000",
    "DTSTART;TZID=America/New_York:20261101T013000",
    "DTEND:99991231T235959Z",
    "DTEND;VALUE=DATE:00010101",
    "DURATION:P99999999W",
    "DURATION:PT9223372036854775807S",
    "DURATION:P1Y",
    "RRULE:FREQ=SECONDLY",
    "RRULE:FREQ=SECONDLY;COUNT=4294967295",
    "RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=99999",
    "RRULE:FREQ=YEARLY;INTERVAL=4294967295",
    "RRULE:FREQ=DAILY;INTERVAL=0",
    "RRULE:FREQ=DAILY;UNTIL=99991231T235959Z",
    "RRULE:FREQ=WEEKLY;UNTIL=00010101",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
    "RRULE:FREQ=YEARLY;BYYEARDAY=366;BYSETPOS=-1",
    "RRULE:FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
    "RRULE:FREQ=WEEKLY;BYDAY=5MO",
    "RRULE:FREQ=HOURLY;BYHOUR=25",
    "RRULE:",
    "EXDATE:20260304T090000Z,bad",
    "EXDATE;VALUE=DATE:20260304,20260305",
    "RDATE;VALUE=PERIOD:20260317T140000Z/P99999999W",
    "RDATE:99991231T235959Z",
    "RECURRENCE-ID:20260309T090000Z",
    "RECURRENCE-ID;RANGE=THISANDFUTURE:20260309T090000Z",
    "X-WR-TIMEZONE:Nowhere/City",
    "X-WR-TIMEZONE:UTC",
    "TZID:Customized Time Zone",
    "TZOFFSETTO:+9959",
    "TZOFFSETTO:-2400",
    "X-LIC-LOCATION:Asia/Kolkata",
    "STATUS:CANCELLED",
    "TRANSP:TRANSPARENT",
    "ATTENDEE;PARTSTAT=DECLINED:mailto:ada.okafor@example.org",
    "ATTENDEE;CN=\"unclosed:mailto:x@y.z",
    "ATTENDEE;EMAIL=ADA.OKAFOR@EXAMPLE.ORG:urn:uuid:x",
    "ORGANIZER:mailto:ada.okafor@example.org",
    "X-LIAISON:1",
    "X-LIAISON-TERM:9999-12-27",
    "X-LIAISON-PAIR:a@x|b@y",
    "X-LIAISON-PAIR:|",
    "X-LIAISON-DURATION:PT-30M",
    "X-LIAISON-DURATION:P9999Y",
    "X-LIAISON-INSTANCE:\u{202e}",
    "NO COLON HERE",
    ":",
    ";:",
    "X-\u{e9}:1",
];

const VALUES: &[&str] = &[
    "20260309T100000Z",
    "20260309T100000",
    "20260309",
    "2026-03-09",
    "99991231T235959Z",
    "00000000T000000",
    "20261301T250000",
    "FREQ=WEEKLY;COUNT=4",
    "FREQ=WEEKLY;UNTIL=20260101T000000Z",
    "FREQ=DAILY;COUNT=100000",
    "FREQ=SECONDLY;INTERVAL=1",
    "FREQ=YEARLY;COUNT=18446744073709551616",
    "PT30M",
    "P1W",
    "-PT1H",
    "Europe/Berlin",
    "Windows/Nowhere",
    "mailto:",
    "1",
    "a@x.org|b@y.org",
];

/// Components nested `depth` deep, unclosed when `depth` is odd.
fn ics_nest(depth: usize) -> String {
    let open = "BEGIN:VEVENT\r\n".repeat(depth);
    if depth % 2 == 1 {
        return open;
    }
    format!("{open}{}", "END:VEVENT\r\n".repeat(depth))
}

/// One VEVENT property line out of parts at their limits.
fn rule_event() -> impl Strategy<Value = String> {
    let start = (
        select(vec![
            "20260309T100000Z",
            "20260309T100000",
            "20260309",
            "20260308T023000",
            "00010101T000000",
            "16000229T120000Z",
            "19700101T000000Z",
            "99991231T235959Z",
            "99991231",
        ]),
        select(vec![
            "",
            ";TZID=Europe/Berlin",
            ";TZID=America/New_York",
            ";TZID=Australia/Lord_Howe",
            ";TZID=Pacific/Kiritimati",
        ]),
    );
    let freq = select(vec![
        "SECONDLY",
        "MINUTELY",
        "HOURLY",
        "DAILY",
        "WEEKLY",
        "MONTHLY",
        "YEARLY",
        "FORTNIGHTLY",
    ]);
    let part = |key: &'static str, values: Vec<&'static str>| {
        proptest::option::of(select(values)).prop_map(move |v| v.map(|v| format!(";{key}={v}")).unwrap_or_default())
    };
    let rule = (
        freq,
        part(
            "INTERVAL",
            vec![
                "1",
                "2",
                "1000",
                "65535",
                "4294967295",
                "18446744073709551615",
                "0",
                "-1",
            ],
        ),
        part(
            "COUNT",
            vec!["0", "1", "52", "99999", "100001", "4294967295", "99999999999"],
        ),
        part(
            "UNTIL",
            vec![
                "99991231",
                "99991231T235959Z",
                "00010101",
                "20260401T000000Z",
                "20260401",
            ],
        ),
        part(
            "BYDAY",
            vec!["MO", "-1SU", "53MO", "5FR", "MO,TU,WE,TH,FR,SA,SU", "+1MO,-1FR"],
        ),
        part("BYMONTHDAY", vec!["31", "-1", "30", "0", "32"]),
        part("BYMONTH", vec!["2", "13", "1,2,3,4,5,6,7,8,9,10,11,12"]),
        part("BYSETPOS", vec!["-1", "1", "366", "0"]),
        (
            part("BYYEARDAY", vec!["366", "-366", "1"]),
            part("BYWEEKNO", vec!["53", "-53", "1"]),
            part("BYHOUR", vec!["0", "23", "24"]),
            part("BYMINUTE", vec!["0,15,30,45", "60"]),
            part("BYSECOND", vec!["0", "59", "60"]),
            part("WKST", vec!["SU", "XX"]),
        ),
    )
        .prop_map(|(f, i, c, u, d, md, m, sp, (yd, wn, h, mi, s, wk))| {
            format!("RRULE:FREQ={f}{i}{c}{u}{d}{md}{m}{sp}{yd}{wn}{h}{mi}{s}{wk}")
        });
    let length = select(vec![
        "",
        "DURATION:PT1H",
        "DURATION:P99999999W",
        "DURATION:PT0S",
        "DTEND:99991231T235959Z",
    ]);
    (
        start,
        proptest::collection::vec(rule, 1..4),
        length,
        0usize..40,
        any::<bool>(),
    )
        .prop_map(|((value, zone), rules, length, exdates, cancelled)| {
            let mut lines = vec![format!("BEGIN:VEVENT\r\nUID:gen\r\nDTSTART{zone}:{value}")];
            lines.extend(rules);
            if !length.is_empty() {
                lines.push(length.to_string());
            }
            if exdates > 0 {
                let all: Vec<String> = (0..exdates)
                    .map(|d| format!("202603{:02}T100000Z", d % 28 + 1))
                    .collect();
                lines.push(format!("EXDATE:{}", all.join(",")));
            }
            if cancelled {
                lines.push("STATUS:CANCELLED".into());
            }
            lines.push("END:VEVENT".into());
            lines.join("\r\n")
        })
}

/// A calendar of up to 12 generated events, sometimes repeated many times
/// (the limits hold for a file, not only for one rule).
fn rule_calendar() -> impl Strategy<Value = Doc> {
    (
        proptest::collection::vec(rule_event(), 1..12),
        select(vec![1usize, 1, 1, 4, 32]),
    )
        .prop_map(|(events, times)| {
            let text = format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}\r\nEND:VCALENDAR\r\n",
                events.join("\r\n").repeat(times)
            );
            Doc(text.into_bytes())
        })
}

/// The ranges asked: terms of the seeds' years, and the edges of time.
fn range() -> impl Strategy<Value = Interval> {
    select(vec![
        ("2026-03-02T00:00:00Z", "2026-04-13T00:00:00Z"),
        ("2026-11-30T00:00:00Z", "2027-01-11T00:00:00Z"),
        ("9999-11-01T00:00:00Z", "9999-12-30T00:00:00Z"),
        ("1970-01-01T00:00:00Z", "1970-02-01T00:00:00Z"),
    ])
    .prop_map(|(a, b)| Interval::new(a.parse::<Timestamp>().unwrap(), b.parse::<Timestamp>().unwrap()))
}

fn provider(dir: &Path) -> LocalProvider {
    LocalProvider::new(dir, "primary")
        .with_instance("i-fuzz")
        .with_time_zones(
            TimeZone::UTC,
            [(OWNER.to_string(), TimeZone::get("Asia/Kolkata").unwrap())],
        )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A refusal names `file` and a line of it.
fn check_refusal(err: &CalendarError, file: &Path, text: &[u8]) -> Result<(), TestCaseError> {
    let last_line = text.iter().filter(|b| **b == b'\n').count() + 1;
    let shown = err.to_string();
    let CalendarError::Invalid { path, line, message } = err else {
        return Err(TestCaseError::fail(format!("not Invalid: {err:?}")));
    };
    prop_assert_eq!(path, &file.display().to_string(), "{}", shown);
    let Some(line) = *line else {
        return Err(TestCaseError::fail(format!("no line: {shown}")));
    };
    prop_assert!(
        (1..=last_line).contains(&line),
        "line {} of {}: {}",
        line,
        last_line,
        shown
    );
    prop_assert!(shown.starts_with(&format!("{}:{line}: ", file.display())), "{}", shown);
    prop_assert!(!message.trim().is_empty(), "{}", shown);
    Ok(())
}

/// Busy time of the owner, read from `text` as their calendar file.
fn read_person(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    Doc(text): &Doc,
    range: Interval,
) -> Result<bool, TestCaseError> {
    let file = dir.join(format!("{OWNER}.ics"));
    std::fs::write(&file, text).unwrap();
    let p = provider(dir);
    let emails = [OWNER.to_string()];
    let read = bounded("LocalProvider::busy", text.len(), || {
        rt.block_on(p.busy(&emails, range))
    });
    match read {
        Ok(answers) => {
            let answer = answers.get(OWNER).ok_or_else(|| TestCaseError::fail("no answer"))?;
            let busy = answer.as_ref().map_err(|why| TestCaseError::fail(why.clone()))?;
            for span in busy.spans() {
                prop_assert!(
                    range.start <= span.start && span.end <= range.end,
                    "{:?} outside {:?}",
                    span,
                    range
                );
            }
            Ok(true)
        }
        Err(e) => check_refusal(&e, &file, text).map(|()| false),
    }
}

/// `text` as bookings.ics: the series listed, the changes, the busy time of
/// an attendee; then liaison's own writes into it.
fn read_bookings(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    Doc(text): &Doc,
    range: Interval,
) -> Result<bool, TestCaseError> {
    let file = dir.join("bookings.ics");
    std::fs::write(&file, text).unwrap();
    let p = provider(dir);
    let emails = [OWNER.to_string()];
    let read = bounded("bookings.ics", text.len(), || {
        rt.block_on(async {
            let series = p.list_series().await?;
            let changes = p.list_changes(None, range.start).await?;
            let busy = p.busy(&emails, range).await?;
            Ok::<_, CalendarError>((series, changes, busy))
        })
    });
    let series = match read {
        Ok((series, changes, _)) => {
            prop_assert_eq!(series.len(), changes.series.len());
            series
        }
        Err(e) => return check_refusal(&e, &file, text).map(|()| false),
    };
    // What a cycle writes into the file: an end, a cancellation, a booking.
    // Each is done or refused with the file and a line; the file stays one
    // liaison reads.
    let ids: Vec<String> = series.iter().map(|s| s.request.event_id.clone()).collect();
    let until: Timestamp = "2026-12-21T18:15:00Z".parse().unwrap();
    let writes = bounded("bookings.ics writes", text.len(), || {
        rt.block_on(async {
            let mut refusals = Vec::new();
            if let Some(id) = ids.first() {
                refusals.extend(p.end_series(id, until).await.err());
            }
            if let Some(id) = ids.last() {
                refusals.extend(p.delete_series(id).await.err());
            }
            refusals.extend(p.create_series(&request()).await.err());
            (refusals, p.list_series().await)
        })
    });
    let (refusals, after) = writes;
    for e in &refusals {
        check_refusal(e, &file, text)?;
    }
    after.map_err(|e| TestCaseError::fail(format!("unreadable after liaison's own writes: {e}")))?;
    Ok(true)
}

/// A series as a cycle books it.
fn request() -> SeriesRequest {
    let person = |email: &str, name: &str| Attendee {
        email: email.into(),
        name: name.into(),
    };
    SeriesRequest {
        event_id: "fuzz0123456789abcdefghijkl".into(),
        term: date(2026, 12, 7),
        pair: (OWNER.into(), "zoe@example.org".into()),
        attendees: [
            person(OWNER, "Ada Okafor"),
            person("zoe@example.org", "Zo\u{eb} \u{202e}"),
        ],
        summary: "Connection".into(),
        description: "line one\nline two; with, punctuation".into(),
        location: None,
        zone: "America/New_York".into(),
        start: date(2026, 12, 8).at(9, 0, 0, 0),
        duration: SignedDuration::from_mins(30),
        count: 4,
        skip: Vec::new(),
    }
}

#[test]
fn the_seeds_are_valid_calendars() {
    let dir = scratch_dir();
    let rt = runtime();
    let r = Interval::new(
        "2026-03-02T00:00:00Z".parse().unwrap(),
        "2027-01-11T00:00:00Z".parse().unwrap(),
    );
    for seed in PERSON.seeds {
        let doc = Doc(seed.as_bytes().to_vec());
        assert!(read_person(&rt, dir.path(), &doc, r).unwrap(), "{seed}");
    }
    std::fs::write(dir.path().join(format!("{OWNER}.ics")), PERSON.seeds[0]).unwrap();
    let doc = Doc(BOOKINGS.seeds[0].as_bytes().to_vec());
    assert!(read_bookings(&rt, dir.path(), &doc, r).unwrap());
    // The three series of the seed, the first ended, the last cancelled, and
    // the one booked.
    let series = runtime().block_on(provider(dir.path()).list_series()).unwrap();
    let summary: Vec<(u32, bool)> = series.iter().map(|s| (s.request.count, s.active)).collect();
    assert_eq!(summary, [(3, true), (4, true), (4, false), (4, true)]);
    assert_eq!(series[3].request, request());
}

#[test]
fn person_calendars() {
    let dir = scratch_dir();
    let rt = runtime();
    let input = prop_oneof![3 => doc(&PERSON, 4), 1 => rule_calendar()];
    fuzz("ics person", (input, range()), |(d, r)| {
        read_person(&rt, dir.path(), &d, r)
    });
}

#[test]
fn bookings_files() {
    let dir = scratch_dir();
    std::fs::write(dir.path().join(format!("{OWNER}.ics")), PERSON.seeds[0]).unwrap();
    let rt = runtime();
    fuzz("ics bookings", (doc(&BOOKINGS, 4), range()), |(d, r)| {
        read_bookings(&rt, dir.path(), &d, r)
    });
}

/// Found by this harness: rules just under the limit of one rule, repeated in
/// a few kilobytes, took 316 MB and 6 s for 9 KB (and grew with the file).
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "expands a million occurrences; runs in the release fuzz run"
)]
fn many_rules_just_under_the_limit_of_one_stay_within_bounds() {
    let event = "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260309T100000Z\r\nRRULE:FREQ=SECONDLY;COUNT=99999\r\n\
                 RRULE:FREQ=SECONDLY;COUNT=99999;INTERVAL=2\r\nEND:VEVENT\r\n";
    let text = format!("BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n", event.repeat(64));
    let dir = scratch_dir();
    let doc = Doc(text.into_bytes());
    let r = Interval::new(
        "2026-03-02T00:00:00Z".parse().unwrap(),
        "2026-04-13T00:00:00Z".parse().unwrap(),
    );
    let accepted = read_person(&runtime(), dir.path(), &doc, r).unwrap();
    assert!(!accepted, "a million occurrences are refused");
}

/// Found by this harness: a rule that meets a date every four years
/// (BYYEARDAY=366), repeated 60 times in 10 KB, searched for 4.2 s to reach
/// a range in the year 9999. The days searched are now budgeted per file
/// (`calendar::local::recurrence` tests the budget itself in every run).
#[test]
#[cfg_attr(debug_assertions, ignore = "searches ten million days; runs in the release fuzz run")]
fn a_rarely_matching_rule_repeated_is_refused_at_once() {
    let rule = "RRULE:FREQ=YEARLY;BYYEARDAY=366;BYSETPOS=-1\r\n";
    let text = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261214T090000Z\r\nDURATION:PT1H\r\n{}\
         END:VEVENT\r\nEND:VCALENDAR\r\n",
        rule.repeat(60)
    );
    let dir = scratch_dir();
    let r = Interval::new(
        "9999-11-01T00:00:00Z".parse().unwrap(),
        "9999-12-30T00:00:00Z".parse().unwrap(),
    );
    let file = dir.path().join(format!("{OWNER}.ics"));
    std::fs::write(&file, &text).unwrap();
    let err = bounded("LocalProvider::busy", text.len(), || {
        runtime().block_on(provider(dir.path()).busy(&[OWNER.to_string()], r))
    })
    .unwrap_err();
    // Each copy searches about 2.9 million days: the fourth is refused.
    assert!(
        err.to_string().starts_with(&format!(
            "{}:9: the recurrence rules of this file search",
            file.display()
        )),
        "{err}"
    );
}

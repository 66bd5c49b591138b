//! The sample organization of `liaison demo`: a config file and one iCalendar
//! file per person with realistic weeks (recurring team meetings, 1:1s, all-day
//! out-of-office, transparent holds, a declined meeting), generated from a seed so
//! the same seed always gives the same organization.

use std::fmt::Write as _;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Units of the sample organization; more units than these are numbered
/// ("Finance 2", "Operations 2", ...).
pub const UNITS: [&str; 6] = ["Finance", "Operations", "Sales", "Engineering", "People", "Legal"];

/// Zones of the sample organization, the first [`Shape::zones`] of them: the
/// default four include one on the half hour, with DST rules that change on
/// different dates (or not at all); the last four reach from the Pacific to
/// Sydney, so some pairs of zones share no working hour.
pub const ZONES: [&str; 8] = [
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Australia/Sydney",
];

/// The size and the calendars of a generated organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// People (at least 2).
    pub people: usize,
    /// Units (at least 1, at most the number of people).
    pub units: usize,
    /// Zones, the first ones of [`ZONES`] (1 to 8).
    pub zones: usize,
    /// Recurring meetings in each person's calendar: the unit's weekly team
    /// meeting (always there), then 1:1s (the second of them fortnightly, the
    /// others weekly).
    pub recurring: usize,
    /// One-off meetings per week: each week draws a number in this range.
    pub one_offs: std::ops::RangeInclusive<usize>,
}

impl Shape {
    /// The demo's organization of `people`: six units, four zones, a team
    /// meeting and two 1:1s, three to six one-off meetings a week.
    pub fn demo(people: usize) -> Shape {
        Shape {
            people,
            units: UNITS.len(),
            zones: 4,
            recurring: 3,
            one_offs: 3..=6,
        }
    }

    /// A large organization as the scaling benchmarks use it: eight zones, six
    /// recurring meetings and about fourteen one-off meetings a week per person.
    pub fn busy(people: usize, units: usize) -> Shape {
        Shape {
            people,
            units,
            zones: ZONES.len(),
            recurring: 6,
            one_offs: 7..=21,
        }
    }

    /// The name of unit `u`.
    pub fn unit_name(u: usize) -> String {
        match u / UNITS.len() {
            0 => UNITS[u % UNITS.len()].to_string(),
            round => format!("{} {}", UNITS[u % UNITS.len()], round + 1),
        }
    }
}

const FIRST: [&str; 24] = [
    "Ada", "Bruno", "Chiara", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam", "Maya",
    "Nils", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf",
];
const LAST: [&str; 16] = [
    "Okafor",
    "Lindqvist",
    "Rossi",
    "Sharma",
    "Novak",
    "Haddad",
    "Hopper",
    "Tanaka",
    "Garcia",
    "Weber",
    "Iyer",
    "Murphy",
    "Cohen",
    "Berg",
    "Petrova",
    "Nair",
];

/// One generated person.
#[derive(Clone, Debug)]
pub struct DemoPerson {
    pub email: String,
    pub name: String,
    pub unit: String,
    pub zone: String,
}

/// A generated organization: who is in it and the text of every file.
#[derive(Clone, Debug)]
pub struct DemoOrg {
    pub people: Vec<DemoPerson>,
    /// Units and zones the people are in.
    pub units: usize,
    pub zones: usize,
    pub config_toml: String,
    /// (file name, contents) of each `<email>.ics`.
    pub calendars: Vec<(String, String)>,
}

/// Generates the organization of `shape` (its counts clamped to what makes
/// sense), with the first term starting on `first_term` (a Monday).
pub fn generate(shape: &Shape, seed: u64, first_term: Date) -> DemoOrg {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let count = shape.people.max(2);
    let units = shape.units.clamp(1, count);
    let zones = shape.zones.clamp(1, ZONES.len());
    let people: Vec<DemoPerson> = (0..count)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len() + i * 7) % LAST.len()];
            let suffix = if i < FIRST.len() {
                String::new()
            } else {
                (i / FIRST.len()).to_string()
            };
            DemoPerson {
                email: format!("{}.{}{}@example.org", first.to_lowercase(), last.to_lowercase(), suffix),
                name: format!("{first} {last}"),
                unit: Shape::unit_name(i % units),
                // Units spread over zones, so cross-unit pairs are also cross-zone.
                zone: ZONES[(i / units + i) % zones].to_string(),
            }
        })
        .collect();

    let mut config = String::new();
    let _ = write!(
        config,
        r#"# Sample organization generated by `liaison demo` (seed {seed}).
# Edit it, then run: liaison --config <this file> plan
timezone = "Europe/London"
state_dir = "state"

[schedule]
term_weeks = 4
first_term = "{first_term}"

[meeting]
duration = "30m"
hours = "09:00-17:00"
preferred_hours = "10:00-15:00"

[calendar]
provider = "local"

[calendar.local]
dir = "."
"#
    );
    config.reserve(people.len() * 120);
    for p in &people {
        let _ = write!(
            config,
            "\n[[people]]\nemail = \"{}\"\nname = \"{}\"\nunit = \"{}\"\ntimezone = \"{}\"\n",
            p.email, p.name, p.unit, p.zone
        );
    }

    let calendars = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let unit = i % units;
            (
                format!("{}.ics", p.email),
                calendar(&mut rng, shape, p, (i, unit), &people, first_term),
            )
        })
        .collect();
    DemoOrg {
        people,
        units,
        zones,
        config_toml: config,
        calendars,
    }
}

/// A realistic calendar: weekly team meeting, weekly or fortnightly 1:1s, a few
/// one-off meetings each week, a week-long trip or an all-day out-of-office, a
/// transparent focus hold and a meeting the person declined.
fn calendar(
    rng: &mut ChaCha8Rng,
    shape: &Shape,
    p: &DemoPerson,
    (index, unit_index): (usize, usize),
    all: &[DemoPerson],
    first_term: Date,
) -> String {
    let mut ics =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//liaison//demo//EN\r\nCALSCALE:GREGORIAN\r\n");
    let zone = &p.zone;
    // Everything starts a week before the term so that recurrences run into it.
    let start_week = first_term.checked_sub(7.days()).unwrap_or(first_term);
    let mut uid = 0;
    let mut event = |ics: &mut String, date: Date, hour: i8, minute: i8, mins: i64, summary: &str, extra: &str| {
        uid += 1;
        let start = date.at(hour, minute, 0, 0);
        let end = start.checked_add(mins.minutes()).unwrap_or(start);
        let _ = write!(
            ics,
            "BEGIN:VEVENT\r\nUID:demo-{index}-{uid}@liaison\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID={zone}:{}\r\nDTEND;TZID={zone}:{}\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\n",
            start.strftime("%Y%m%dT%H%M%S"),
            end.strftime("%Y%m%dT%H%M%S"),
        );
    };
    let day = |d: i64| start_week.checked_add(d.days()).unwrap_or(start_week);

    // Weekly team meeting, one hour, same weekday and time for the whole unit.
    event(
        &mut ics,
        day(unit_index as i64 % 5),
        10,
        0,
        60,
        &format!("{} team meeting", p.unit),
        "RRULE:FREQ=WEEKLY;COUNT=12\r\n",
    );
    // 1:1s with direct reports: weekly, the second one fortnightly.
    for k in 0..shape.recurring.saturating_sub(1) {
        let interval = if k == 1 { 2 } else { 1 };
        let d = rng.random_range(0..5);
        let h = rng.random_range(9..16);
        event(
            &mut ics,
            day(d),
            h,
            30 * (k % 2) as i8,
            30,
            &format!("1:1 #{}", k + 1),
            &format!("RRULE:FREQ=WEEKLY;INTERVAL={interval};COUNT=8\r\n"),
        );
    }
    // A few one-off meetings in each of six weeks, some with colleagues.
    for week in 0..6 {
        for _ in 0..rng.random_range(shape.one_offs.clone()) {
            let d = week * 7 + rng.random_range(0..5);
            let h = rng.random_range(9..17);
            let m = [0, 15, 30, 45].choose(rng).copied().unwrap_or(0);
            let len = [30, 45, 60, 90].choose(rng).copied().unwrap_or(30);
            let other = &all[rng.random_range(0..all.len())];
            let attendees = format!(
                "ORGANIZER:mailto:{}\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{}\r\n",
                other.email, p.email
            );
            event(&mut ics, day(d), h, m, len, "Review", &attendees);
        }
    }
    // A transparent focus hold every Friday afternoon: not busy.
    event(
        &mut ics,
        day(4),
        14,
        0,
        120,
        "Focus time (free)",
        "TRANSP:TRANSPARENT\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\n",
    );
    // A meeting the person declined: not busy.
    event(
        &mut ics,
        day(7 + 2),
        11,
        0,
        60,
        "Vendor pitch",
        &format!(
            "ORGANIZER:mailto:vendor@example.com\r\nATTENDEE;CN={};PARTSTAT=DECLINED:mailto:{}\r\n",
            p.name, p.email
        ),
    );
    // An all-day out-of-office on one day of the term.
    let off = day(7 + 7 * rng.random_range(0..4) + rng.random_range(0..5));
    let next = off.tomorrow().unwrap_or(off);
    let _ = write!(
        ics,
        "BEGIN:VEVENT\r\nUID:demo-{index}-ooo@liaison\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Out of office\r\nEND:VEVENT\r\n",
        off.strftime("%Y%m%d"),
        next.strftime("%Y%m%d"),
    );
    ics.push_str("END:VCALENDAR\r\n");
    ics
}

/// The first Monday at least two days after `today`, so that the demo's first term
/// lies beyond the default minimum notice.
pub fn next_term_start(today: Date) -> Date {
    let mut d = today.checked_add(2.days()).unwrap_or(today);
    while d.weekday() != Weekday::Monday {
        d = d.tomorrow().unwrap_or(d);
    }
    d
}

//! Time zones of iCalendar files: TZID resolution for one VCALENDAR — IANA
//! names, Windows zone names (Outlook, Exchange), IANA names behind a vendor
//! prefix, and the file's own VTIMEZONE components, whose latest rules become a
//! POSIX TZ string.

use std::cell::RefCell;
use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::syntax::{Comp, parse_datetime};

/// TZID resolution for one VCALENDAR, cached because every event asks again.
pub(super) struct Zones<'c> {
    vtimezones: Vec<&'c Comp<'c>>,
    cache: RefCell<BTreeMap<String, TimeZone>>,
}

impl<'c> Zones<'c> {
    pub(super) fn new(root: &'c Comp) -> Self {
        Zones {
            vtimezones: root.children.iter().filter(|c| c.name == "VTIMEZONE").collect(),
            cache: RefCell::new(BTreeMap::new()),
        }
    }

    /// IANA names first (what Google and Apple write, and what every VTIMEZONE
    /// of theirs describes), then Windows names (Outlook), then an IANA name
    /// behind a vendor prefix, then the file's own VTIMEZONE rules.
    pub(super) fn resolve(&self, tzid: &str) -> Result<TimeZone, String> {
        let tzid = tzid.trim();
        if let Some(tz) = self.cache.borrow().get(tzid) {
            return Ok(tz.clone());
        }
        let tz = match zone_by_name(tzid) {
            Some(tz) => tz,
            None => {
                let Some(vtimezone) = self
                    .vtimezones
                    .iter()
                    .find(|c| c.value("TZID").is_some_and(|id| id.trim() == tzid))
                else {
                    return Err(format!(
                        "unknown time zone {tzid:?}; expected an IANA name such as \
                         Europe/Berlin, a Windows zone name, or a VTIMEZONE with that TZID"
                    ));
                };
                zone_from_vtimezone(vtimezone).map_err(|why| format!("time zone {tzid:?}: {why}"))?
            }
        };
        self.cache.borrow_mut().insert(tzid.to_string(), tz.clone());
        Ok(tz)
    }
}

fn zone_by_name(name: &str) -> Option<TimeZone> {
    if name.is_empty() {
        return None;
    }
    if let Ok(tz) = TimeZone::get(name) {
        return Some(tz);
    }
    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(name))
    {
        return TimeZone::get(iana).ok();
    }
    // "/mozilla.org/20050126_1/America/New_York", "/citadel.org/20190914_1/Europe/Berlin"
    name.match_indices('/')
        .filter_map(|(i, _)| name.get(i + 1..))
        .filter(|rest| rest.contains('/'))
        .find_map(|rest| TimeZone::get(rest).ok())
}

/// A zone from a VTIMEZONE's current rules, for TZIDs no database knows
/// (Outlook's "Customized Time Zone"). The latest STANDARD and DAYLIGHT
/// definitions become a POSIX TZ string, which jiff evaluates for every year;
/// older historical rules in the component are not followed.
fn zone_from_vtimezone(comp: &Comp) -> Result<TimeZone, String> {
    if let Some(tz) = comp.value("X-LIC-LOCATION").and_then(|n| zone_by_name(n.trim())) {
        return Ok(tz);
    }
    let latest = |kind: &str| {
        comp.children
            .iter()
            .filter(|c| c.name == kind)
            .filter_map(|c| Some((parse_datetime(c.value("DTSTART")?.trim())?.0, c)))
            .max_by_key(|(dt, _)| *dt)
    };
    let offset = |c: &Comp| {
        c.value("TZOFFSETTO").and_then(parse_utc_offset).ok_or_else(|| {
            format!(
                "{} at line {} has no valid TZOFFSETTO; expected e.g. TZOFFSETTO:+0100",
                c.name, c.line
            )
        })
    };
    let (std_start, standard) = latest("STANDARD")
        .ok_or_else(|| "VTIMEZONE without a STANDARD rule with a DTSTART; expected at least one".to_string())?;
    let std_offset = offset(standard)?;
    let Some((dst_start, daylight)) = latest("DAYLIGHT") else {
        return Ok(TimeZone::fixed(std_offset));
    };
    let dst_offset = offset(daylight)?;
    let rules = (daylight.value("RRULE"), standard.value("RRULE"));
    let (Some(dst_rule), Some(std_rule)) = rules else {
        // One-off transitions only: whichever came last is in force.
        let last = if dst_start > std_start { dst_offset } else { std_offset };
        return Ok(TimeZone::fixed(last));
    };
    if dst_rule.to_ascii_uppercase().contains("UNTIL") {
        // Daylight saving that has ended.
        return Ok(TimeZone::fixed(std_offset));
    }
    let posix = format!(
        "STD{}DST{},{}/{},{}/{}",
        posix_offset(std_offset),
        posix_offset(dst_offset),
        posix_rule(dst_rule)?,
        posix_time(dst_start),
        posix_rule(std_rule)?,
        posix_time(std_start),
    );
    TimeZone::posix(&posix).map_err(|e| format!("its rules do not form a time zone: {e}"))
}

/// `+0530`, `-0800`, `+013000`.
fn parse_utc_offset(raw: &str) -> Option<Offset> {
    let raw = raw.trim();
    let sign = match raw.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits = raw.get(1..)?;
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i32>().ok());
    let seconds = part(0..2)? * 3600 + part(2..4)? * 60 + part(4..6).unwrap_or(0);
    Offset::from_seconds(sign * seconds).ok()
}

/// POSIX offsets count west of Greenwich: UTC+01:00 is `-1`.
fn posix_offset(offset: Offset) -> String {
    let west = -offset.seconds();
    let sign = if west < 0 { "-" } else { "" };
    let s = west.unsigned_abs();
    format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn posix_time(dt: DateTime) -> String {
    format!("{}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
}

/// `FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU` → `M3.5.0`.
fn posix_rule(rule: &str) -> Result<String, String> {
    let unsupported =
        || format!("transition rule {rule:?} is not understood; expected FREQ=YEARLY;BYMONTH=<m>;BYDAY=<n><weekday>");
    let mut month = None;
    let mut byday = None;
    for part in rule.split(';') {
        match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("BYMONTH") => month = v.trim().parse::<u8>().ok(),
            Some((k, v)) if k.eq_ignore_ascii_case("BYDAY") => byday = Some(v.trim()),
            _ => {}
        }
    }
    let (month, byday) = month.zip(byday).ok_or_else(unsupported)?;
    let split = byday.len().checked_sub(2).ok_or_else(unsupported)?;
    let (nth, day) = (
        byday.get(..split).ok_or_else(unsupported)?,
        byday.get(split..).ok_or_else(unsupported)?,
    );
    let week = match nth.trim_start_matches('+') {
        "-1" | "5" => 5,
        n => n
            .parse::<u8>()
            .ok()
            .filter(|n| (1..=4).contains(n))
            .ok_or_else(unsupported)?,
    };
    let weekday = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
        .iter()
        .position(|d| d.eq_ignore_ascii_case(day))
        .ok_or_else(unsupported)?;
    if !(1..=12).contains(&month) {
        return Err(unsupported());
    }
    Ok(format!("M{month}.{week}.{weekday}"))
}

/// Windows zone names (Outlook, Exchange) → IANA, after CLDR's windowsZones
/// (territory "001"). The common ones only; others still work when the file
/// carries a VTIMEZONE for them.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time", "America/New_York"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

// ---------------------------------------------------------------------------
// Reading the file structure

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::local::test_support::*;

    #[test]
    fn an_event_with_a_tzid_is_read_in_that_zone() {
        let text = one_event(&[
            "DTSTART;TZID=Europe/Berlin:20260310T100000",
            "DTEND;TZID=Europe/Berlin:20260310T113000",
        ]);
        assert_eq!(march(&text), [span("2026-03-10T09:00:00Z", "2026-03-10T10:30:00Z")]);
    }

    #[test]
    fn a_half_hour_zone_is_respected() {
        let timed = one_event(&[
            "DTSTART;TZID=Asia/Kolkata:20260310T093000",
            "DTEND;TZID=Asia/Kolkata:20260310T100000",
        ]);
        assert_eq!(march(&timed), [span("2026-03-10T04:00:00Z", "2026-03-10T04:30:00Z")]);
        let all_day = one_event(&["DTSTART;VALUE=DATE:20260310"]);
        let r = range("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
        assert_eq!(
            busy_for(&all_day, "Asia/Kolkata", r),
            [span("2026-03-09T18:30:00Z", "2026-03-10T18:30:00Z")]
        );
    }

    #[test]
    fn outlook_windows_zone_names_are_understood() {
        let text = one_event(&[
            "DTSTART;TZID=\"W. Europe Standard Time\":20260715T100000",
            "DTEND;TZID=\"W. Europe Standard Time\":20260715T110000",
        ]);
        let r = range("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z");
        assert_eq!(
            busy_for(&text, "UTC", r),
            [span("2026-07-15T08:00:00Z", "2026-07-15T09:00:00Z")]
        );
    }

    #[test]
    fn every_windows_zone_maps_to_a_zone_jiff_knows() {
        for (windows, iana) in WINDOWS_ZONES {
            assert!(TimeZone::get(iana).is_ok(), "{windows} -> {iana}");
        }
    }

    #[test]
    fn a_vendor_prefixed_tzid_is_understood() {
        let text = one_event(&[
            "DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20260105T090000",
            "DURATION:PT1H",
        ]);
        assert_eq!(january(&text), [span("2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z")]);
    }

    #[test]
    fn a_custom_vtimezone_is_understood() {
        // Outlook's "Customized Time Zone": central European rules under a name
        // no database knows.
        let text = ics(&[
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            "PRODID:Microsoft Exchange Server 2010",
            "VERSION:2.0",
            "BEGIN:VTIMEZONE",
            "TZID:Customized Time Zone",
            "BEGIN:STANDARD",
            "DTSTART:16010101T030000",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10",
            "END:STANDARD",
            "BEGIN:DAYLIGHT",
            "DTSTART:16010101T020000",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3",
            "END:DAYLIGHT",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "DTSTART;TZID=Customized Time Zone:20260115T100000",
            "DTEND;TZID=Customized Time Zone:20260115T110000",
            "RRULE:FREQ=MONTHLY;COUNT=7",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);
        let r = range("2026-01-01T00:00:00Z", "2026-08-01T00:00:00Z");
        let busy = busy_for(&text, "UTC", r);
        assert_eq!(busy[0], span("2026-01-15T09:00:00Z", "2026-01-15T10:00:00Z"));
        assert_eq!(busy[6], span("2026-07-15T08:00:00Z", "2026-07-15T09:00:00Z"));
    }
}

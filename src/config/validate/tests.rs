//! Tests of validation, through [`parse`] of small files: one table of bad
//! values per kind of check (each case gives exactly one error, on its line
//! and key), then valid files and what they turn into.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use jiff::civil::{Weekday, date, time};

use crate::config::parsers::{Sign, parse_days, parse_duration, resolve_path};
use crate::config::test_support::{BEN, PATH, check_error, env, parse_doc, people_with, valid};
use crate::config::{Conference, DayWindow, GoogleAuth, MicrosoftAuth, ProviderKind, SendUpdates, parse};

// --- errors, one line each ---------------------------------------------
// These tests skip rustfmt so that each case stays on one line, as a table.

#[test]
#[rustfmt::skip]
fn zones_must_be_iana_names() {
    check_error(r#"timezone = "Mars/Olympus""#, Some(1), "timezone", "unknown time zone \"Mars/Olympus\"");
    check_error(&people_with(r#"timezone = "Europe/Berlinn""#), Some(1), "people[0].timezone", "unknown time zone");
    check_error("-timezone", None, "timezone", "missing");
}

#[test]
#[rustfmt::skip]
fn windows_must_be_hh_mm_ranges_that_end_after_they_start() {
    check_error(r#"meeting.hours = "17:00-09:00""#, Some(1), "meeting.hours", r#"end 09:00 is before start 17:00 (write "HH:MM-HH:MM""#);
    check_error(r#"meeting.hours = "9am-5pm""#, Some(1), "meeting.hours", "is not HH:MM");
    check_error(r#"meeting.hours = "09:00""#, Some(1), "meeting.hours", "is not a time window");
    check_error(r#"meeting.hours = "09:00-24:00""#, Some(1), "meeting.hours", "not a time of day");
    check_error(r#"meeting.hours = "09:00-09:00""#, Some(1), "meeting.hours", "the window is empty");
    check_error(r#"meeting.preferred_hours = "12:00-11:00""#, Some(1), "meeting.preferred_hours", "before start");
    check_error(&people_with(r#"hours = "18:00-09:00""#), Some(1), "people[0].hours", "before start");
}

#[test]
#[rustfmt::skip]
fn preferred_hours_must_lie_within_the_working_window() {
    check_error(r#"meeting.preferred_hours = "08:00-10:00""#, Some(1), "meeting.preferred_hours", "not inside meeting.hours 09:00-17:00");
    check_error(&people_with(r#"hours = "10:00-14:00", preferred_hours = "13:00-15:00""#), Some(1), "people[0].preferred_hours", "not inside this person's hours 10:00-14:00");
}

#[test]
#[rustfmt::skip]
fn durations_must_parse_and_have_the_right_sign() {
    check_error(r#"meeting.duration = "30""#, Some(1), "meeting.duration", "is not a duration");
    check_error(r#"meeting.duration = "0m""#, Some(1), "meeting.duration", "must be longer than zero");
    check_error(r#"meeting.duration = "-30m""#, Some(1), "meeting.duration", "must be longer than zero");
    check_error(r#"meeting.duration = "30m10s""#, Some(1), "meeting.duration", "whole number of minutes");
    check_error(r#"meeting.buffer = "-5m""#, Some(1), "meeting.buffer", "must not be negative");
    check_error(r#"schedule.book_ahead = "1mo""#, Some(1), "schedule.book_ahead", "months and years are not allowed");
    check_error(r#"schedule.cycle_every = "0s""#, Some(1), "schedule.cycle_every", "longer than zero");
    check_error(r#"schedule.min_notice = "soon""#, Some(1), "schedule.min_notice", "is not a duration");
    check_error(r#"schedule.min_notice = "9999999999999999h""#, Some(1), "schedule.min_notice", "is not a duration");
}

#[test]
#[rustfmt::skip]
fn the_meeting_must_fit_in_the_working_window() {
    check_error(r#"meeting.duration = "9h""#, Some(1), "meeting.hours", "09:00-17:00 is shorter than meeting.duration 9h");
    check_error(&people_with(r#"hours = "09:00-09:15""#), Some(1), "people[0].hours", "shorter than meeting.duration 30m");
}

#[test]
#[rustfmt::skip]
fn granularity_must_divide_a_day_in_whole_minutes() {
    check_error(r#"meeting.granularity = "7m""#, Some(1), "meeting.granularity", "does not divide a day");
    check_error(r#"meeting.granularity = "30s""#, Some(1), "meeting.granularity", "whole minutes");
    check_error(r#"meeting.granularity = "2d""#, Some(1), "meeting.granularity", "does not divide a day");
}

#[test]
#[rustfmt::skip]
fn days_must_name_weekdays() {
    check_error(r#"meeting.days = "mon-fry""#, Some(1), "meeting.days", "\"fry\" is not a day name");
    check_error("meeting.days = []", Some(1), "meeting.days", "lists no day");
    check_error("meeting.days = 5", Some(1), "meeting.days", "is not a list of days");
    check_error(&people_with(r#"days = ["mon", 2]"#), Some(1), "people[0].days", "2 is not a day name");
}

#[test]
#[rustfmt::skip]
fn people_need_a_valid_unique_email_a_name_and_a_unit() {
    check_error(&people_with("").replace("ana@example.com", "ana.example.com"), Some(1), "people[0].email", "is not an email address");
    check_error(&people_with("").replace("ben@example.com", "ANA@Example.com"), Some(1), "people[1].email", "ana@example.com is listed twice (first at line 1");
    check_error(&people_with("").replace("\"Ana\"", "\" \""), Some(1), "people[0].name", "is empty");
    check_error(&people_with("").replace(r#", unit = "Finance""#, ""), Some(1), "people[0].unit", "missing");
    check_error(&people_with("").replace(r#"email = "ana@example.com", "#, ""), Some(1), "people[0].email", "missing");
    check_error("people = []", None, "people", "no people listed");
}

#[test]
#[rustfmt::skip]
fn unit_names_must_be_spelled_the_same_way() {
    let three = format!("people = [{BEN}, {{ email = \"c@example.com\", name = \"C\", unit = \"sales\" }}]");
    check_error(&three, Some(1), "people[1].unit", "\"sales\" differs only in case from \"Sales\"");
}

#[test]
#[rustfmt::skip]
fn cross_unit_pairing_needs_two_units() {
    let one_unit = format!("people = [{BEN}, {}]", BEN.replace("ben@", "bea@"));
    check_error(&one_unit, None, "people", "all people are in one unit (Sales)");
}

#[test]
#[rustfmt::skip]
fn the_first_term_must_be_a_monday_date() {
    check_error("schedule.first_term = 2026-01-07", Some(1), "schedule.first_term", "2026-01-07 is a Wednesday; terms start on a Monday (e.g. 2026-01-05)");
    check_error(r#"schedule.first_term = "next monday""#, Some(1), "schedule.first_term", "is not a date");
    check_error("schedule.first_term = 2026-01-05T09:00:00", Some(1), "schedule.first_term", "is not a plain date");
    check_error("-schedule.first_term", None, "schedule.first_term", "missing");
}

#[test]
#[rustfmt::skip]
fn integers_must_be_in_range() {
    check_error("schedule.term_weeks = 0", Some(1), "schedule.term_weeks", "out of range: must be from 1 to 52");
    check_error("schedule.term_weeks = 53", Some(1), "schedule.term_weeks", "out of range");
    check_error("pairing.avoid_repeat_terms = -1", Some(1), "pairing.avoid_repeat_terms", "out of range");
    check_error("calendar.google.requests_per_second = 0", Some(1), "calendar.google.requests_per_second", "out of range");
}

#[test]
#[rustfmt::skip]
fn focus_people_must_be_listed() {
    check_error(r#"pairing.focus = ["zoe@example.com"]"#, Some(1), "pairing.focus", "zoe@example.com is not among [[people]]");
    check_error(r#"pairing.focus = ["zoe"]"#, Some(1), "pairing.focus", "is not an email address");
}

#[test]
#[rustfmt::skip]
fn enumerations_list_the_allowed_values() {
    check_error(r#"meeting.send_updates = "everyone""#, Some(1), "meeting.send_updates", r#""everyone" is not one of "all", "externalOnly", "none""#);
    check_error(r#"meeting.conference = "zoom""#, Some(1), "meeting.conference", r#"is not one of "none", "google_meet", "teams""#);
    check_error(r#"calendar.provider = "outlook""#, Some(1), "calendar.provider", r#"is not one of "google", "microsoft", "local""#);
    check_error(r#"calendar.google.auth = "oauth""#, Some(1), "calendar.google.auth", r#"is not one of "installed", "service_account""#);
    check_error(r#"meeting.conference = "google_meet""#, Some(1), "meeting.conference", "needs calendar.provider = \"google\"");
}

#[test]
#[rustfmt::skip]
fn each_provider_needs_its_settings() {
    check_error("calendar.provider = \"local\"\n-calendar.local.dir", Some(1), "calendar.local.dir", "missing");
    check_error(r#"calendar.provider = "google""#, Some(1), "calendar.google.client_secret", "missing");
    check_error("calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.impersonate = \"o@example.com\"", Some(2), "calendar.google.service_account_key", "missing");
    check_error("calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.service_account_key = \"k.json\"", Some(2), "calendar.google.impersonate", "missing");
    check_error(r#"calendar.google.impersonate = "organizer""#, Some(1), "calendar.google.impersonate", "is not an email address");
    check_error(&format!("calendar.google.impersonate = \"{}@example.com\"", "a".repeat(250)), Some(1), "calendar.google.impersonate", "longer than 254 characters");
    check_error(r#"calendar.google.api_base_url = "ftp://127.0.0.1/""#, Some(1), "calendar.google.api_base_url", "is not an http(s) URL");
    check_error(r#"calendar.google.organizer = """#, Some(1), "calendar.google.organizer", "is empty");
}

#[test]
#[rustfmt::skip]
fn dates_in_lists_are_checked_one_by_one() {
    check_error(r#"schedule.skip_dates = [2026-12-25, "soon"]"#, Some(1), "schedule.skip_dates", "\"soon\" is not a date");
    check_error(&people_with(r#"away = ["2026-02-30"]"#), Some(1), "people[0].away", "is not a date");
}

#[test]
#[rustfmt::skip]
fn max_busy_hours_must_be_within_a_day() {
    check_error("meeting.max_busy_hours = 25", Some(1), "meeting.max_busy_hours", "out of range");
    check_error("meeting.max_busy_hours = 0", Some(1), "meeting.max_busy_hours", "out of range");
    check_error(r#"meeting.max_busy_hours = "lots""#, Some(1), "meeting.max_busy_hours", "is not a duration");
    check_error("meeting.max_busy_hours = true", Some(1), "meeting.max_busy_hours", "is not a number of hours");
    check_error("meeting.max_busy_hours = 9223372036854775807", Some(1), "meeting.max_busy_hours", "out of range");
    check_error("meeting.max_busy_hours = nan", Some(1), "meeting.max_busy_hours", "not a number of hours");
}

#[test]
#[rustfmt::skip]
fn templates_may_use_only_known_placeholders() {
    check_error(r#"meeting.title = "Hi {a.email}""#, Some(1), "meeting.title", "unknown placeholder {a.email} (known: {a.name}");
    check_error(r#"meeting.title = "  ""#, Some(1), "meeting.title", "is empty");
    // The line is the placeholder's own, inside a multi-line string.
    check_error("meeting.description = \"\"\"\nHello\n{team}\"\"\"", Some(3), "meeting.description", "unknown placeholder {team}");
}

#[test]
#[rustfmt::skip]
fn an_empty_path_is_an_error() {
    check_error(r#"state_dir = """#, Some(1), "state_dir", "is empty");
}

#[test]
fn a_bad_meeting_key_does_not_hide_the_checks_of_people() {
    let errors = parse_doc(&format!(
        "meeting.send_updates = \"loud\"\n{}",
        people_with(r#"hours = "09:00-09:10""#)
    ))
    .map(|_| ())
    .unwrap_err();
    let keys: Vec<_> = errors.0.iter().filter_map(|e| e.key.as_deref()).collect();
    assert_eq!(keys, ["meeting.send_updates", "people[0].hours"], "{errors}");
}

#[test]
fn a_person_missing_a_field_is_reported_at_their_table() {
    let text = "timezone = \"UTC\"\n[schedule]\nfirst_term = 2026-01-05\n[calendar]\nprovider = \"local\"\nlocal.dir = \"c\"\n\n[[people]]\nemail = \"a@example.com\"\nname = \"A\"\nunit = \"X\"\n\n[[people]]\nemail = \"b@example.com\"\nname = \"B\"\n";
    let errors = parse(text, Path::new(PATH), &env()).map(|_| ()).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert_eq!(errors.0[0].key.as_deref(), Some("people[1].unit"));
    // The span of an array-of-tables entry starts at its header.
    assert_eq!(errors.0[0].line, Some(13), "{errors}");
}

// --- valid files ---------------------------------------------------------

#[test]
fn per_person_settings_override_the_meeting_defaults() {
    let cfg = valid(&format!(
        "meeting.preferred_hours = \"12:00-15:00\"\n{}",
        people_with(r#"email = "Ana@Example.COM", timezone = "america/new_york", hours = "07:00-13:00", days = "sun-tue", away = [2026-02-16, "2026-02-17"], paused = true"#)
            .replace(r#"email = "ana@example.com", "#, "")
    ));
    let ana = &cfg.people[0];
    assert_eq!(ana.email, "ana@example.com");
    assert_eq!(ana.timezone_name, "America/New_York");
    assert_eq!(
        ana.hours,
        DayWindow {
            start: time(7, 0, 0, 0),
            end: time(13, 0, 0, 0)
        }
    );
    assert_eq!(ana.days, vec![Weekday::Monday, Weekday::Tuesday, Weekday::Sunday]);
    // The meeting-wide preference is cut to Ana's own hours.
    assert_eq!(
        ana.preferred_hours,
        Some(DayWindow {
            start: time(12, 0, 0, 0),
            end: time(13, 0, 0, 0)
        })
    );
    assert_eq!(ana.away, vec![date(2026, 2, 16), date(2026, 2, 17)]);
    assert!(ana.paused);
    let ben = &cfg.people[1];
    assert_eq!(ben.timezone_name, "Europe/Berlin");
    assert_eq!(ben.preferred_hours, cfg.meeting.preferred_hours);
}

#[test]
fn relative_paths_are_resolved_against_the_config_directory() {
    let cfg = valid(
        "state_dir = \"state\"\ncalendar.google.client_secret = \"secrets/client.json\"\ncalendar.google.service_account_key = \"~/key.json\"",
    );
    assert_eq!(cfg.state_dir, Path::new("/srv/liaison/state"));
    assert_eq!(
        cfg.calendar.local.as_ref().map(|l| l.dir.as_path()),
        Some(Path::new("/srv/liaison/calendars"))
    );
    assert_eq!(
        cfg.calendar.google.client_secret.as_deref(),
        Some(Path::new("/srv/liaison/secrets/client.json"))
    );
    assert_eq!(
        cfg.calendar.google.service_account_key.as_deref(),
        Some(Path::new("/home/u/key.json"))
    );
    let dot = valid("calendar.local.dir = \".\"\nstate_dir = \"./state/../st\"");
    assert_eq!(dot.calendar.local.map(|l| l.dir), Some(PathBuf::from("/srv/liaison")));
    assert_eq!(dot.state_dir, Path::new("/srv/liaison/state/../st"));
    assert_eq!(resolve_path("a", Path::new("."), &env()), Path::new("a"));
    assert_eq!(resolve_path(".", Path::new("."), &env()), Path::new("."));
    let absolute = valid(r#"state_dir = "/var/lib/liaison""#);
    assert_eq!(absolute.state_dir, Path::new("/var/lib/liaison"));
}

#[test]
fn google_settings_are_read() {
    let cfg = valid(
        "calendar.provider = \"google\"\ncalendar.google.auth = \"service_account\"\ncalendar.google.service_account_key = \"/etc/liaison/key.json\"\ncalendar.google.impersonate = \"Org@Example.com\"\ncalendar.google.api_base_url = \"http://127.0.0.1:8080/\"\ncalendar.google.requests_per_second = 8\nmeeting.conference = \"google_meet\"\nmeeting.send_updates = \"externalOnly\"\n-calendar.local.dir",
    );
    let g = &cfg.calendar.google;
    assert_eq!(cfg.calendar.provider, ProviderKind::Google);
    assert!(cfg.calendar.local.is_none());
    assert_eq!(g.auth, GoogleAuth::ServiceAccount);
    assert_eq!(g.impersonate.as_deref(), Some("org@example.com"));
    assert_eq!(g.api_base_url.as_deref(), Some("http://127.0.0.1:8080/"));
    assert_eq!(g.requests_per_second, 8);
    assert_eq!(cfg.meeting.conference, Conference::GoogleMeet);
    assert_eq!(cfg.meeting.send_updates, SendUpdates::ExternalOnly);
}

#[test]
fn durations_days_and_dates_accept_the_documented_forms() {
    let cfg = valid(
        "meeting.duration = \"1h30m\"\nschedule.book_ahead = \"2w\"\nschedule.min_notice = \"0s\"\nmeeting.days = [\"Mon\", \"wed-thu\", \"friday\"]\nmeeting.max_busy_hours = 5.5\nschedule.first_term = \"2026-01-12\"\nschedule.skip_dates = [2026-12-25, 2026-12-24, 2026-12-25]\nmeeting.location = \"Room 4\"",
    );
    assert_eq!(cfg.meeting.duration, SignedDuration::from_mins(90));
    assert_eq!(cfg.schedule.book_ahead, SignedDuration::from_hours(14 * 24));
    assert_eq!(cfg.schedule.min_notice, SignedDuration::ZERO);
    assert_eq!(
        cfg.meeting.days,
        vec![Weekday::Monday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday]
    );
    assert_eq!(cfg.meeting.max_busy_hours, Some(SignedDuration::from_mins(330)));
    assert_eq!(cfg.schedule.first_term, date(2026, 1, 12));
    assert_eq!(cfg.schedule.skip_dates, vec![date(2026, 12, 24), date(2026, 12, 25)]);
    assert_eq!(cfg.meeting.location.as_deref(), Some("Room 4"));
    assert_eq!(
        parse_days(&toml::Value::String("fri-mon".into())),
        Ok(vec![
            Weekday::Monday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday
        ])
    );
    assert_eq!(
        parse_duration("7d", Sign::Positive),
        Ok(SignedDuration::from_hours(168))
    );
    assert_eq!(
        valid(r#"meeting.max_busy_hours = "6h""#).meeting.max_busy_hours,
        Some(SignedDuration::from_hours(6))
    );
}

#[test]
fn focus_emails_are_lower_cased_and_deduplicated() {
    let cfg = valid(r#"pairing.focus = ["BEN@example.com", "ben@example.com"]"#);
    assert_eq!(cfg.pairing.focus, vec!["ben@example.com".to_string()]);
}

#[test]
fn one_unit_is_fine_when_same_unit_pairs_are_allowed() {
    let one_unit = format!(
        "pairing.cross_unit_only = false\npeople = [{BEN}, {}]",
        BEN.replace("ben@", "bea@")
    );
    assert!(!valid(&one_unit).pairing.cross_unit_only);
}

// --- [calendar.microsoft] ------------------------------------------------

/// The smallest valid Microsoft setup, before the case's own lines.
const MICROSOFT: &str = "calendar.provider = \"microsoft\"\n-calendar.local.dir\ncalendar.microsoft.tenant = \"contoso.onmicrosoft.com\"\ncalendar.microsoft.client_id = \"9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35\"";

fn microsoft_with(extra: &str) -> String {
    format!("{extra}\n{MICROSOFT}")
}

#[test]
#[rustfmt::skip]
fn microsoft_keys_are_checked_one_error_each() {
    check_error(r#"calendar.microsoft.tenant = "contoso""#, Some(1), "calendar.microsoft.tenant", "is not a tenant id (a GUID");
    check_error(r#"calendar.microsoft.tenant = "contoso.onmicrosoft.com/x""#, Some(1), "calendar.microsoft.tenant", "or the tenant's domain");
    check_error(r#"calendar.microsoft.client_id = "liaison-app""#, Some(1), "calendar.microsoft.client_id", "is not the application (client) id, a GUID");
    check_error(r#"calendar.microsoft.client_id = "9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c3""#, Some(1), "calendar.microsoft.client_id", "a GUID");
    check_error(r#"calendar.microsoft.auth = "password""#, Some(1), "calendar.microsoft.auth", r#"is not one of "device_code", "client_credentials""#);
    check_error(r#"calendar.microsoft.organizer = "liaison""#, Some(1), "calendar.microsoft.organizer", "or \"me\" for the signed-in user");
    check_error(r#"calendar.microsoft.api_base_url = "http://graph.example.org/v1.0/""#, Some(1), "calendar.microsoft.api_base_url", "plain http to another machine");
    check_error(r#"calendar.microsoft.login_base_url = "ftp://127.0.0.1/""#, Some(1), "calendar.microsoft.login_base_url", "is not an http(s) URL");
    check_error("calendar.microsoft.requests_per_second = 17", Some(1), "calendar.microsoft.requests_per_second", "about 16 a second");
    check_error(r#"calendar.microsoft.colour = "blue""#, Some(1), "", "unknown field `colour`");
    check_error(r#"meeting.conference = "teams""#, Some(1), "meeting.conference", "teams needs calendar.provider = \"microsoft\"");
}

#[test]
#[rustfmt::skip]
fn microsoft_requires_its_app_and_what_each_way_of_signing_in_needs() {
    check_error("calendar.provider = \"microsoft\"\n-calendar.local.dir\ncalendar.microsoft.client_id = \"9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35\"", Some(1), "calendar.microsoft.tenant", "missing: provider \"microsoft\" needs the directory (tenant) id");
    check_error("calendar.provider = \"microsoft\"\n-calendar.local.dir\ncalendar.microsoft.tenant = \"contoso.onmicrosoft.com\"", Some(1), "calendar.microsoft.client_id", "missing: provider \"microsoft\" needs the app registration's application (client) id");
    check_error(&microsoft_with("calendar.microsoft.auth = \"client_credentials\"\ncalendar.microsoft.organizer = \"org@contoso.com\""), Some(1), "calendar.microsoft.client_secret_file", "missing: auth \"client_credentials\" needs the file that holds the client secret");
    check_error(&microsoft_with("calendar.microsoft.auth = \"client_credentials\"\ncalendar.microsoft.client_secret_file = \"s.txt\""), Some(1), "calendar.microsoft.organizer", "\"me\" names nobody");
}

#[test]
fn a_microsoft_table_is_checked_but_not_required_with_another_provider() {
    // Valid with the local provider, even without tenant and client id.
    let cfg = valid("calendar.microsoft.auth = \"client_credentials\"");
    assert!(cfg.calendar.microsoft.is_none());
    assert_eq!(cfg.calendar.provider, ProviderKind::Local);
}

#[test]
fn microsoft_settings_are_read_with_their_defaults() {
    let cfg = valid(MICROSOFT);
    let m = cfg.calendar.microsoft.as_ref().expect("microsoft settings");
    assert_eq!(cfg.calendar.provider, ProviderKind::Microsoft);
    assert_eq!(m.tenant, "contoso.onmicrosoft.com");
    assert_eq!(m.client_id, "9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35");
    assert_eq!(m.auth, MicrosoftAuth::DeviceCode);
    assert_eq!(m.organizer, "me");
    assert_eq!((m.api_base_url.as_deref(), m.login_base_url.as_deref()), (None, None));
    assert_eq!(m.requests_per_second, 4);
    assert_eq!(cfg.calendar.organizer(), "me");

    let cfg = valid(
        "calendar.provider = \"microsoft\"\n-calendar.local.dir\ncalendar.microsoft.client_id = \"9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35\"\ncalendar.microsoft.tenant = \"72F988BF-86F1-41AF-91AB-2D7CD011DB47\"\ncalendar.microsoft.auth = \"client_credentials\"\ncalendar.microsoft.client_secret_file = \"secrets/graph.txt\"\ncalendar.microsoft.organizer = \"Liaison@Contoso.com\"\ncalendar.microsoft.api_base_url = \"http://127.0.0.1:8080/v1.0/\"\ncalendar.microsoft.login_base_url = \"http://127.0.0.1:8080/\"\ncalendar.microsoft.requests_per_second = 2\nmeeting.conference = \"teams\"",
    );
    let m = cfg.calendar.microsoft.as_ref().expect("microsoft settings");
    assert_eq!(m.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_eq!(m.auth, MicrosoftAuth::ClientCredentials);
    assert_eq!(
        m.client_secret_file.as_deref(),
        Some(Path::new("/srv/liaison/secrets/graph.txt"))
    );
    assert_eq!(m.organizer, "liaison@contoso.com");
    assert_eq!(m.api_base_url.as_deref(), Some("http://127.0.0.1:8080/v1.0/"));
    assert_eq!(m.login_base_url.as_deref(), Some("http://127.0.0.1:8080/"));
    assert_eq!(m.requests_per_second, 2);
    assert_eq!(cfg.meeting.conference, Conference::Teams);
    // The organizer mailbox names the calendar in ids and the derived instance.
    assert_eq!(cfg.calendar.organizer(), "liaison@contoso.com");
    assert_eq!(
        cfg.calendar.instance,
        crate::config::derived_instance("liaison@contoso.com", Path::new(crate::config::test_support::PATH))
    );
}

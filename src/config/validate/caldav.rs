//! `[calendar.caldav]` and each person's `calendar`: the server (https, or
//! plain http to loopback), the HTTP Basic user and the file holding the
//! password, the organizer's address and collection, a private CA, how busy
//! time is read and who delivers the invitations. Required keys are required
//! only when `provider = "caldav"`, so the table may stay in a file that uses
//! another provider. The password file is only named here: its mode (0600)
//! and content are checked when it is read (`liaison check`, every run).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

use super::fields::{Ctx, enum_field, int_field, path_field};
use crate::config::defaults;
use crate::config::locate::Env;
use crate::config::parsers::{check_email, endpoint_url};
use crate::config::raw::{RawCaldav, RawPerson};
use crate::config::types::{Caldav, CaldavBusy, CaldavCalendar, CaldavDeliver};

/// The validated table; `Some(None)` when another provider is in use (the
/// table and people's calendars are still checked when present), `None`
/// after an error.
pub(super) fn validate_caldav(
    ctx: &mut Ctx,
    raw: Option<&RawCaldav>,
    people: &[Spanned<RawPerson>],
    provider_span: Option<Range<usize>>,
    in_use: bool,
    base: &Path,
    env: &Env,
) -> Option<Option<Caldav>> {
    let any_calendar = people.iter().any(|p| p.get_ref().calendar.is_some());
    if raw.is_none() && !in_use && !any_calendar {
        return Some(None);
    }
    let empty = RawCaldav::default();
    let c = raw.unwrap_or(&empty);
    let mut ok = true;
    let mut missing = |ctx: &mut Ctx, present: bool, key: &str, hint: &str| {
        if in_use && !present {
            ok = false;
            ctx.error(
                provider_span.clone(),
                key,
                format!("missing: provider \"caldav\" needs {hint}"),
            );
        }
    };
    missing(
        ctx,
        c.url.is_some(),
        "calendar.caldav.url",
        "the server (write [calendar.caldav] url = \"https://dav.example.com/\")",
    );
    missing(
        ctx,
        c.username.is_some(),
        "calendar.caldav.username",
        "the account liaison signs in with (write username = \"liaison\")",
    );
    missing(
        ctx,
        c.password_file.is_some(),
        "calendar.caldav.password_file",
        "the file that holds the account's password, mode 0600 (write password_file = \"caldav-password\")",
    );
    missing(
        ctx,
        c.organizer.is_some(),
        "calendar.caldav.organizer",
        "the organizer's address (write organizer = \"liaison@example.com\")",
    );

    let url = c.url.as_ref().and_then(|v| match endpoint_url(v.get_ref().trim()) {
        Ok(url) => Some(url),
        Err(message) => {
            ctx.error(Some(v.span()), "calendar.caldav.url", message);
            None
        }
    });
    let username = c.username.as_ref().and_then(|v| {
        let name = v.get_ref().trim();
        // RFC 7617 §2: the user-id of Basic credentials cannot hold a colon.
        let why = if name.is_empty() {
            Some("is empty (write the account's user name)".to_string())
        } else if name.contains(':') {
            Some(format!(
                "{name:?} contains ':', which HTTP Basic credentials cannot carry in a user name"
            ))
        } else if name.chars().any(char::is_control) {
            Some(format!("{name:?} contains a control character"))
        } else {
            None
        };
        match why {
            Some(message) => {
                ctx.error(Some(v.span()), "calendar.caldav.username", message);
                None
            }
            None => Some(name.to_string()),
        }
    });
    let password_file = path_field(ctx, "calendar.caldav.password_file", &c.password_file, base, env);
    let organizer = c
        .organizer
        .as_ref()
        .and_then(|v| match check_email(strip_mailto(v.get_ref())) {
            Ok(email) => Some(email),
            Err(message) => {
                ctx.error(Some(v.span()), "calendar.caldav.organizer", message);
                None
            }
        });
    let ca_file = path_field(ctx, "calendar.caldav.ca_file", &c.ca_file, base, env);
    let ca_bad = c.ca_file.is_some() && ca_file.is_none();
    let organizer_calendar = match (&c.organizer_calendar, &url) {
        (Some(v), Some(root)) => match collection_url(root, v.get_ref()) {
            Ok(u) => Some(Some(u)),
            Err(message) => {
                ctx.error(Some(v.span()), "calendar.caldav.organizer_calendar", message);
                None
            }
        },
        // Without a valid url a path cannot be resolved; that error is reported.
        (Some(_), None) => None,
        (None, _) => Some(None),
    };
    let busy = enum_field(
        ctx,
        "calendar.caldav.busy",
        &c.busy,
        defaults::CALDAV_BUSY,
        &[
            ("free-busy-query", CaldavBusy::FreeBusyQuery),
            ("calendar-query", CaldavBusy::CalendarQuery),
            ("schedule-outbox", CaldavBusy::ScheduleOutbox),
        ],
    );
    let deliver = enum_field(
        ctx,
        "calendar.caldav.deliver",
        &c.deliver,
        defaults::CALDAV_DELIVER,
        &[
            ("scheduling", CaldavDeliver::Scheduling),
            ("write-each", CaldavDeliver::WriteEach),
        ],
    );
    let requests_per_second = int_field(
        ctx,
        "calendar.caldav.requests_per_second",
        &c.requests_per_second,
        defaults::CALDAV_REQUESTS_PER_SECOND,
        1..=100,
        "(client-side pacing; a self-hosted server is often a small machine)",
    );
    let calendars = people_calendars(ctx, people, url.as_ref(), &mut ok);

    if !in_use {
        return Some(None);
    }
    if !ok || ca_bad {
        return None;
    }
    Some(Some(Caldav {
        url: url?.to_string(),
        username: username?,
        password_file: password_file?,
        organizer: organizer?,
        ca_file,
        organizer_calendar: organizer_calendar?,
        busy: busy?,
        deliver: deliver?,
        requests_per_second: requests_per_second?,
        calendars: calendars?,
    }))
}

/// Each person's `calendar`: a collection URL (anything with a `/`, a path
/// resolved against `calendar.caldav.url`) or an address. A person without
/// one has it derived by the provider when it needs their collection (from
/// the calendar home and the email; `calendar::caldav::people`), or is
/// reached by their email through the outbox.
fn people_calendars(
    ctx: &mut Ctx,
    people: &[Spanned<RawPerson>],
    root: Option<&url::Url>,
    ok: &mut bool,
) -> Option<BTreeMap<String, CaldavCalendar>> {
    let mut calendars = BTreeMap::new();
    let mut complete = true;
    for (i, spanned) in people.iter().enumerate() {
        let p = spanned.get_ref();
        let key = format!("people[{i}].calendar");
        // A bad or missing email is reported by the people's checker.
        let email = p.email.as_ref().and_then(|e| check_email(e.get_ref()).ok());
        let calendar = match &p.calendar {
            None => None,
            Some(v) => {
                let text = v.get_ref().trim();
                let parsed = if text.contains('/') {
                    match root {
                        Some(root) => collection_url(root, text).map(CaldavCalendar::Collection),
                        // The url's own error is reported; nothing to resolve against.
                        None => {
                            complete = false;
                            continue;
                        }
                    }
                } else {
                    check_email(strip_mailto(text))
                        .map(CaldavCalendar::Address)
                        .map_err(|m| format!("{m}, or the URL of the person's calendar collection"))
                };
                match parsed {
                    Ok(c) => Some(c),
                    Err(message) => {
                        *ok = false;
                        complete = false;
                        ctx.error(Some(v.span()), &key, message);
                        continue;
                    }
                }
            }
        };
        if let (Some(email), Some(calendar)) = (email, calendar) {
            calendars.insert(email, calendar);
        }
    }
    complete.then_some(calendars)
}

/// `text` (a URL, or a path on the server of `root`) as the absolute URL of a
/// collection: with a trailing slash, and under the same rules as every URL
/// liaison sends to (https, or plain http to loopback).
fn collection_url(root: &url::Url, text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty (write the collection's URL or path)".into());
    }
    let joined = root
        .join(text)
        .map_err(|e| format!("{text:?} is not a URL or a path on the server ({e})"))?;
    let mut url = endpoint_url(joined.as_str())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} has a query or fragment; a collection URL has neither"
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url.to_string())
}

fn strip_mailto(text: &str) -> &str {
    let t = text.trim();
    match t.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => t.get(7..).unwrap_or(t),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::test_support::{check_error, doc, parse_doc, valid};
    use crate::config::{CaldavBusy, CaldavCalendar, CaldavDeliver, ProviderKind};

    /// A CalDAV file: the case's lines, then a complete `[calendar.caldav]`
    /// (lines the case sets win, `-key` removes one) with people whose
    /// calendars are paths on the server.
    fn caldav(case: &str) -> String {
        let base = [
            r#"calendar.provider = "caldav""#,
            r#"calendar.caldav.url = "https://dav.example.com/dav/""#,
            r#"calendar.caldav.username = "liaison""#,
            r#"calendar.caldav.password_file = "secret/caldav-password""#,
            r#"calendar.caldav.organizer = "Liaison@Example.com""#,
            r#"people = [{ email = "ana@example.com", name = "Ana", unit = "Finance", calendar = "/dav/ana/work/" }, { email = "ben@example.com", name = "Ben", unit = "Sales", calendar = "https://other.example.com/ben/cal" }]"#,
        ];
        let key = |l: &str| {
            l.trim()
                .trim_start_matches('-')
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let case_keys: Vec<String> = case.lines().map(key).collect();
        let mut lines: Vec<String> = case
            .lines()
            .filter(|l| !l.trim().starts_with('-'))
            .map(String::from)
            .collect();
        lines.extend(
            base.iter()
                .filter(|l| !case_keys.contains(&key(l)))
                .map(|l| l.to_string()),
        );
        // `-calendar.local.dir` keeps the base file's local table out.
        lines.push("-calendar.local.dir".into());
        lines.join("\n")
    }

    #[test]
    fn a_complete_table_is_read_with_its_defaults_and_resolved_urls() {
        let cfg = valid(&caldav(""));
        assert_eq!(cfg.calendar.provider, ProviderKind::Caldav);
        let c = cfg.calendar.caldav.as_ref().unwrap();
        assert_eq!(c.url, "https://dav.example.com/dav/");
        assert_eq!(c.username, "liaison");
        assert!(
            c.password_file.ends_with("secret/caldav-password"),
            "{:?}",
            c.password_file
        );
        assert_eq!(c.organizer, "liaison@example.com");
        assert_eq!(
            (c.busy, c.deliver),
            (CaldavBusy::FreeBusyQuery, CaldavDeliver::Scheduling)
        );
        assert_eq!(c.organizer_calendar, None);
        assert_eq!(c.requests_per_second, 10, "the default pacing");
        let paced = valid(&caldav("calendar.caldav.requests_per_second = 3"));
        assert_eq!(paced.calendar.caldav.unwrap().requests_per_second, 3);
        assert_eq!(
            c.calendars.get("ana@example.com"),
            Some(&CaldavCalendar::Collection(
                "https://dav.example.com/dav/ana/work/".into()
            ))
        );
        assert_eq!(
            c.calendars.get("ben@example.com"),
            Some(&CaldavCalendar::Collection("https://other.example.com/ben/cal/".into())),
            "a collection URL gets its trailing slash"
        );
        // Without an organizer calendar, ids and the instance follow the organizer's address.
        assert_eq!(cfg.calendar.organizer(), "liaison@example.com");
        let with_calendar = valid(&caldav(
            r#"calendar.caldav.organizer_calendar = "/dav/liaison/connections""#,
        ));
        assert_eq!(
            with_calendar.calendar.organizer(),
            "https://dav.example.com/dav/liaison/connections/"
        );
        assert_ne!(cfg.calendar.instance, with_calendar.calendar.instance);
    }

    #[test]
    fn required_keys_are_named_when_missing() {
        for key in ["url", "username", "password_file", "organizer"] {
            let case = caldav(&format!("-calendar.caldav.{key}"));
            check_error(
                &case,
                Some(1),
                &format!("calendar.caldav.{key}"),
                "missing: provider \"caldav\" needs",
            );
        }
    }

    #[test]
    #[rustfmt::skip]
    fn bad_values_are_errors_with_their_line_and_key() {
        check_error(&caldav(r#"calendar.caldav.url = "http://dav.example.com/""#), Some(1), "calendar.caldav.url", "plain http to another machine");
        check_error(&caldav(r#"calendar.caldav.url = "https://user:pw@dav.example.com/""#), Some(1), "calendar.caldav.url", "contains a user or password");
        check_error(&caldav(r#"calendar.caldav.username = "a:b""#), Some(1), "calendar.caldav.username", "cannot carry");
        check_error(&caldav(r#"calendar.caldav.username = " ""#), Some(1), "calendar.caldav.username", "is empty");
        check_error(&caldav(r#"calendar.caldav.organizer = "nobody""#), Some(1), "calendar.caldav.organizer", "is not an email address");
        check_error(&caldav(r#"calendar.caldav.busy = "guess""#), Some(1), "calendar.caldav.busy", r#"is not one of "free-busy-query", "calendar-query", "schedule-outbox""#);
        check_error(&caldav(r#"calendar.caldav.deliver = "post""#), Some(1), "calendar.caldav.deliver", r#"is not one of "scheduling", "write-each""#);
        check_error(&caldav(r#"calendar.caldav.organizer_calendar = "http://10.0.0.1/cal/""#), Some(1), "calendar.caldav.organizer_calendar", "plain http to another machine");
        check_error(&caldav(r#"calendar.caldav.organizer_calendar = "/cal/?x=1""#), Some(1), "calendar.caldav.organizer_calendar", "has a query or fragment");
        check_error(&caldav(r#"calendar.caldav.password_file = """#), Some(1), "calendar.caldav.password_file", "is empty");
        check_error(&caldav(r#"calendar.caldav.bogus = 1"#), Some(1), "", "unknown field `bogus`");
        check_error(&caldav("calendar.caldav.requests_per_second = 0"), Some(1), "calendar.caldav.requests_per_second", "out of range: must be from 1 to 100");
        check_error(&caldav("calendar.caldav.requests_per_second = 101"), Some(1), "calendar.caldav.requests_per_second", "out of range");
    }

    #[test]
    fn loopback_http_is_allowed_for_a_test_server() {
        let cfg = valid(&caldav(r#"calendar.caldav.url = "http://127.0.0.1:5232/""#));
        let c = cfg.calendar.caldav.unwrap();
        assert_eq!(c.url, "http://127.0.0.1:5232/");
        assert_eq!(
            c.calendars.get("ana@example.com"),
            Some(&CaldavCalendar::Collection(
                "http://127.0.0.1:5232/dav/ana/work/".into()
            ))
        );
    }

    #[test]
    fn a_person_without_a_calendar_is_left_to_derivation_and_a_bad_one_is_an_error() {
        let without_ana = r#"people = [{ email = "ana@example.com", name = "Ana", unit = "Finance" }, { email = "ben@example.com", name = "Ben", unit = "Sales", calendar = "/ben/" }]"#;
        for mode in [
            "",
            "calendar.caldav.busy = \"calendar-query\"",
            "calendar.caldav.busy = \"schedule-outbox\"",
            "calendar.caldav.deliver = \"write-each\"",
        ] {
            let cfg = valid(&caldav(&format!("{without_ana}\n{mode}")));
            let calendars = cfg.calendar.caldav.unwrap().calendars;
            assert_eq!(calendars.len(), 1, "{mode}");
            assert!(!calendars.contains_key("ana@example.com"), "{mode}");
        }
        // An address (with or without mailto:) where one is enough.
        let addresses = r#"people = [{ email = "ana@example.com", name = "Ana", unit = "Finance", calendar = "mailto:Ana.Lima@example.com" }, { email = "ben@example.com", name = "Ben", unit = "Sales", calendar = "bad address" }]"#;
        let case = format!("{addresses}\ncalendar.caldav.busy = \"schedule-outbox\"");
        check_error(
            &caldav(&case),
            Some(1),
            "people[1].calendar",
            "or the URL of the person's calendar collection",
        );
    }

    #[test]
    fn another_provider_keeps_no_caldav_table_but_checks_it() {
        let cfg = valid(r#"calendar.caldav.busy = "calendar-query""#);
        assert!(cfg.calendar.caldav.is_none());
        assert_eq!(cfg.calendar.organizer(), "primary");
        check_error(
            r#"calendar.caldav.url = "ftp://x.example.com/""#,
            Some(1),
            "calendar.caldav.url",
            "is not an http(s) URL",
        );
        assert!(parse_doc("").is_ok(), "{}", doc(""));
    }
}

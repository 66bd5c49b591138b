//! Tests of building, writing, reading and rendering the status.

use std::path::Path;

use super::*;
use crate::calendar::{Attendee, SeriesRequest};
use crate::config::Config;
use crate::cycle::CycleSummary;
use crate::failure::Failure;
use crate::store::{SeriesRecord, SeriesState};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

fn config() -> Config {
    let text = r#"timezone = "Europe/London"
state_dir = "state"
[schedule]
first_term = "2027-03-08"
cycle_every = "15m"
[calendar]
provider = "local"
[calendar.local]
dir = "."
[[people]]
email = "a@x.org"
name = "Ann"
unit = "Sales"
timezone = "America/New_York"
[[people]]
email = "b@x.org"
name = "Bo"
unit = "Ops"
timezone = "Asia/Tokyo"
"#;
    crate::config::parse(text, Path::new("/tmp/c.toml"), &crate::config::Env::default()).unwrap()
}

fn record(state: SeriesState) -> SeriesRecord {
    let attendee = |e: &str, n: &str| Attendee {
        email: e.to_string(),
        name: n.to_string(),
    };
    SeriesRecord {
        request: SeriesRequest {
            event_id: "abc123".into(),
            term: date(2027, 3, 8),
            pair: ("a@x.org".into(), "b@x.org".into()),
            attendees: [attendee("a@x.org", "Ann"), attendee("b@x.org", "Bo")],
            summary: "s".into(),
            description: "d".into(),
            location: None,
            zone: "America/New_York".into(),
            start: date(2027, 3, 8).at(19, 0, 0, 0),
            duration: SignedDuration::from_mins(30),
            count: 4,
            skip: Vec::new(),
        },
        term_index: 0,
        units: ("Sales".into(), "Ops".into()),
        state,
        declined_by: None,
        instance: None,
        intent_at: None,
        responses: Default::default(),
        refusals: 0,
        retry_at: None,
    }
}

fn now() -> Timestamp {
    "2027-03-03T12:00:00Z".parse().unwrap()
}

fn ok() -> Result<CycleSummary, Failure> {
    Ok(CycleSummary {
        counts: Counts {
            term: Some(date(2027, 3, 8)),
            booked: 1,
            ..Counts::default()
        },
        ..CycleSummary::default()
    })
}

#[test]
fn connections_carry_each_persons_local_time() {
    let cfg = config();
    let status = build(
        &cfg,
        &[record(SeriesState::Booked)],
        now(),
        now(),
        &ok(),
        &CycleNotes::default(),
    );
    // Before the first term there is only the next term.
    assert_eq!(status.terms.len(), 1);
    assert!(!status.terms[0].current);
    let c = &status.terms[0].connections[0];
    // 19:00 in New York on Monday is 09:00 on Tuesday in Tokyo.
    assert_eq!(c.first_start, Some("2027-03-09T00:00:00Z".parse().unwrap()));
    assert_eq!(
        (c.a.local_weekday.as_deref(), c.a.local_time.as_deref()),
        (Some("Monday"), Some("19:00"))
    );
    assert_eq!(
        (c.b.local_weekday.as_deref(), c.b.local_time.as_deref()),
        (Some("Tuesday"), Some("09:00"))
    );
    assert_eq!(status.next_cycle, "2027-03-03T12:15:00Z".parse().unwrap());
    let text = render(&status, now());
    assert!(text.contains("Mon 19:00 America/New_York"), "{text}");
    assert!(text.contains("Tue 09:00 Asia/Tokyo"), "{text}");
    assert!(text.contains("Needs attention: nothing."), "{text}");
}

#[test]
fn a_failed_authorization_is_reported_with_the_hint() {
    let cfg = config();
    let failed = Err(Failure::Unauthorized(anyhow::anyhow!("token revoked")));
    let status = build(
        &cfg,
        &[record(SeriesState::Pending)],
        now(),
        now(),
        &failed,
        &CycleNotes::default(),
    );
    assert_eq!(
        status.last_cycle.outcome,
        Outcome::Error {
            kind: ErrorKind::Authorization,
            message: "token revoked".into()
        }
    );
    assert!(status.last_cycle.summary.is_none());
    assert_eq!(status.attention.authorization.as_ref().unwrap().hint, AUTH_HINT);
    assert_eq!(status.attention.pending.len(), 1);
    let text = render(&status, now());
    assert!(text.contains("FAILED"), "{text}");
    assert!(text.contains("run `liaison auth`"), "{text}");
    assert!(text.contains("pending booking in term 2027-03-08"), "{text}");
}

#[test]
fn a_status_long_overdue_says_the_daemon_may_not_run() {
    let cfg = config();
    let status = build(&cfg, &[], now(), now(), &ok(), &CycleNotes::default());
    let later: Timestamp = "2027-03-03T13:00:00Z".parse().unwrap();
    let text = render(&status, later);
    assert!(text.contains("overdue by 45m"), "{text}");
    assert!(text.contains("is `liaison run` running?"), "{text}");
}

#[test]
fn the_file_is_written_atomically_private_and_reads_back() {
    let cfg = config();
    let dir = tempfile::tempdir().unwrap();
    let status = build(
        &cfg,
        &[record(SeriesState::Booked)],
        now(),
        now(),
        &ok(),
        &CycleNotes::default(),
    );
    write(dir.path(), &status).unwrap();
    // A second write replaces the file; no temporary file is left behind.
    write(dir.path(), &status).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [FILE_NAME]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (read_back, _) = read(dir.path()).unwrap();
    assert_eq!(read_back, status);
}

#[test]
fn missing_invalid_and_newer_files_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let missing = read(dir.path()).unwrap_err();
    assert!(matches!(missing, ReadError::Missing { .. }));
    assert!(missing.to_string().contains("liaison run --once"), "{missing}");
    std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
    let invalid = read(dir.path()).unwrap_err();
    assert!(matches!(invalid, ReadError::Invalid { .. }));
    assert!(invalid.to_string().contains(FILE_NAME), "{invalid}");
    std::fs::write(dir.path().join(FILE_NAME), r#"{"schema_version": 99}"#).unwrap();
    assert!(matches!(
        read(dir.path()).unwrap_err(),
        ReadError::Newer { found: 99, .. }
    ));
    std::fs::write(dir.path().join(FILE_NAME), r#"{"schema_version": 1}"#).unwrap();
    assert!(matches!(read(dir.path()).unwrap_err(), ReadError::Invalid { .. }));
}

/// Found by the fuzz tests (tests/fuzz): a value of the wrong type was
/// reported without its place (the file was read into a `Value` first), and
/// bytes that are not UTF-8 without a line.
#[test]
fn a_value_of_the_wrong_type_and_bad_bytes_are_reported_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let status = build(&config(), &[], now(), now(), &ok(), &CycleNotes::default());
    let text = serde_json::to_string_pretty(&status).unwrap();
    let broken = text.replace("\"cycle_every\": \"PT15M\"", "\"cycle_every\": [1]");
    assert_ne!(broken, text);
    let line = broken.lines().position(|l| l.contains("cycle_every")).unwrap() + 1;
    std::fs::write(dir.path().join(FILE_NAME), &broken).unwrap();
    let err = read(dir.path()).unwrap_err().to_string();
    assert!(err.contains(&format!("at line {line} column")), "{err}");
    let mut bytes = text.replace("Europe/London", "Europe/L?ndon").into_bytes();
    let at = bytes.windows(3).position(|w| w == b"L?n").unwrap() + 1;
    bytes[at] = 0xff;
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    std::fs::write(dir.path().join(FILE_NAME), &bytes).unwrap();
    let err = read(dir.path()).unwrap_err().to_string();
    assert!(err.contains(&format!("at line {line} column")), "{err}");
}

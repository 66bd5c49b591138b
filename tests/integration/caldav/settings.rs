//! The CalDAV settings against the real servers: the configured pacing,
//! a refused password (exit 3, the password file named, not `liaison
//! auth`), a private CA (`ca_file`) for a server on TLS, and people's
//! calendars derived from the calendar home when not configured.

use std::time::Instant;

use liaison::calendar::CalendarProvider as _;
use liaison::calendar::caldav::CaldavProvider;
use liaison::calendar::http::Timing;
use liaison::core::interval::Interval;

use super::end_to_end::{TIMING, booked, run, run_ok};
use super::{DavOrg, email};
use crate::caldav_servers::{Kind, Server, Tls, block_on};

fn range() -> Interval {
    Interval::new(
        "2027-03-01T00:00:00Z".parse().unwrap(),
        "2027-04-30T00:00:00Z".parse().unwrap(),
    )
}

/// Gap 5: `calendar.caldav.requests_per_second` paces the requests (a
/// bucket of R a second with a burst of R): N requests take at least
/// (N - R) / R seconds, measured. At the default (10), 12 requests take
/// 0.2 s at least; at 2, 8 requests take 3 s at least. No upper bound on
/// the wall clock (the machine may be slow).
#[test]
fn requests_are_paced_at_the_configured_rate() {
    block_on(async {
        let org = DavOrg::new(Kind::Radicale, &[("ana", "Finance"), ("ben", "Sales")]).await;
        let people = [email("ana"), email("ben")];
        for (extra, rate, reads) in [("", 10u32, 6u32), ("requests_per_second = 2", 2, 4)] {
            org.write_config(extra);
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let started = Instant::now();
            for _ in 0..reads {
                let busy = provider.read_busy(&people, range()).await.unwrap();
                assert!(busy.values().all(Result::is_ok), "{busy:?}");
            }
            let took = started.elapsed().as_secs_f64();
            let n = reads * 2;
            assert_eq!(provider.requests(), u64::from(n), "{extra}");
            let at_least = f64::from(n - rate) / f64::from(rate);
            // 10 ms for the clock's and the bucket's rounding.
            assert!(
                took >= at_least - 0.01,
                "{extra:?}: {n} requests in {took:.3} s, under {at_least} s"
            );
            eprintln!("{extra:?}: {n} requests in {took:.3} s (at least {at_least} s)");
        }
    });
}

/// Gap 6: a password the server refuses is an authorization failure (exit
/// 3) whose message and status hint name the password file and the
/// account — never `liaison auth`, which cannot help.
#[test]
fn a_refused_password_names_the_password_file_not_liaison_auth() {
    block_on(async {
        let org = DavOrg::new(Kind::Radicale, &[("ana", "Finance"), ("ben", "Sales")]).await;
        let file = org.dir.path().join("caldav-password");
        std::fs::write(&file, "wrong\n").unwrap();
        let failed = run(&org, &["run", "--once"]);
        assert_eq!(failed.code, 3, "{}", failed.stderr);
        assert!(failed.stderr.contains(&file.display().to_string()), "{}", failed.stderr);
        assert!(failed.stderr.contains("user \"liaison\""), "{}", failed.stderr);
        assert!(!failed.stderr.contains("liaison auth"), "{}", failed.stderr);
        assert!(
            !failed.stderr.contains("wrong"),
            "the password is never shown: {}",
            failed.stderr
        );
        let status = std::fs::read_to_string(org.dir.path().join("state/status.json")).unwrap();
        let status: serde_json::Value = serde_json::from_str(&status).unwrap();
        let hint = status["attention"]["authorization"]["hint"].as_str().unwrap();
        assert!(hint.contains(&file.display().to_string()), "{hint}");
        assert!(!hint.contains("liaison auth"), "{hint}");
    });
}

/// A CA and a certificate it signed for 127.0.0.1, as PEM files in `dir`.
fn private_ca(dir: &std::path::Path) -> (String, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let certificate = dir.join("server.pem");
    let key = dir.join("server.key");
    std::fs::write(&certificate, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (ca.pem(), certificate, key)
}

/// Gap 7: Radicale on TLS with a certificate of a private CA. Without
/// `ca_file` the connection fails (the system roots do not know the CA);
/// with it, busy time is read and the real binary books; a missing or
/// invalid `ca_file` is a clear configuration error (exit 2).
#[test]
fn a_server_signed_by_a_private_ca_is_reached_with_ca_file_only() {
    block_on(async {
        let keys = tempfile::tempdir().unwrap();
        let (ca_pem, certificate, key) = private_ca(keys.path());
        let tls = Tls {
            certificate: &certificate,
            key: &key,
            ca_pem: &ca_pem,
        };
        let people = [("ana", "Finance"), ("ben", "Sales")];
        let server = Server::start_with(Kind::Radicale, &["ana", "ben"], Some(tls));
        assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
        let org = DavOrg::on(server, &people).await;
        let ca_file = org.dir.path().join("private-ca.pem");
        std::fs::write(&ca_file, &ca_pem).unwrap();

        // Short retries: a refused certificate fails every attempt alike.
        let timing = Timing::default().with_overrides(TIMING).unwrap();
        let provider = CaldavProvider::with_timing(&org.load(), timing).unwrap();
        let err = provider
            .read_busy(&[email("ana")], range())
            .await
            .expect_err("the system roots do not know the private CA");
        eprintln!("without ca_file: {err}");
        assert!(err.to_string().contains("UnknownIssuer"), "the cause is shown: {err}");

        org.write_config("ca_file = \"private-ca.pem\"");
        let provider = CaldavProvider::from_config(&org.load()).unwrap();
        let busy = provider
            .read_busy(&[email("ana"), email("ben")], range())
            .await
            .unwrap();
        assert!(busy.values().all(Result::is_ok), "{busy:?}");
        let first = run_ok(&org, &["run", "--once"]);
        assert!(first.stderr.contains("booked=1"), "{}", first.stderr);
        assert_eq!(booked(&org).await.len(), 1);

        for (content, why) in [
            (None, "cannot be read"),
            (Some("not a certificate\n"), "holds no certificate"),
            (
                Some("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
                "is not a PEM bundle",
            ),
        ] {
            match content {
                Some(text) => std::fs::write(&ca_file, text).unwrap(),
                None => {
                    let _ = std::fs::remove_file(&ca_file);
                }
            }
            let check = run(&org, &["check"]);
            assert_eq!(check.code, 2, "{why}: {}", check.stderr);
            assert!(
                check.stderr.contains(&ca_file.display().to_string()),
                "{}",
                check.stderr
            );
            assert!(check.stderr.contains("calendar.caldav.ca_file"), "{}", check.stderr);
            assert!(check.stderr.contains(why), "{why}: {}", check.stderr);
        }
    });
}

/// Gap 4: without `people[].calendar` each person's calendar is derived
/// from liaison's calendar home and their email (Radicale keeps each
/// account's home at `/<login>/`; here the logins are emails), and the
/// bookings land there; a person without such a home gets a clear error
/// naming the key to set (`check`: exit 2; a run: unpaired with the
/// reason). Xandikos has one principal, so nothing is derived there: the
/// same clear error for everyone.
#[test]
fn peoples_calendars_are_derived_from_the_calendar_home_or_a_clear_error_says_why_not() {
    for kind in Kind::ALL {
        block_on(async {
            let people = [("ana@example.com", "Finance"), ("ben@example.com", "Sales")];
            let org = DavOrg::new(kind, &people).await;
            org.write_config_derived("");
            match kind {
                Kind::Radicale => {
                    let check = run_ok(&org, &["check"]);
                    for user in ["ana@example.com", "ben@example.com"] {
                        let line = format!(
                            "caldav calendar of {user}: {} (derived)",
                            org.server.url(&org.calendar(user))
                        );
                        let stdout = check.stdout.replace("%40", "@");
                        assert!(stdout.contains(&line), "{line}\n{}", check.stdout);
                    }
                    let first = run_ok(&org, &["run", "--once"]);
                    assert!(first.stderr.contains("booked=1"), "{}", first.stderr);
                    let series = booked(&org).await;
                    for user in ["ana@example.com", "ben@example.com"] {
                        assert_eq!(org.server.list(&org.calendar(user)).await, series, "{user}");
                    }
                }
                Kind::Xandikos => {
                    let check = run(&org, &["check"]);
                    assert_eq!(check.code, 2, "{}", check.stderr);
                    for (i, user) in ["ana@example.com", "ben@example.com"].iter().enumerate() {
                        assert!(
                            check
                                .stderr
                                .contains(&format!("{user}'s calendar is not configured and cannot be derived")),
                            "{}",
                            check.stderr
                        );
                        assert!(
                            check.stderr.contains(&format!("set people[{i}].calendar")),
                            "{}",
                            check.stderr
                        );
                    }
                    let first = run_ok(&org, &["run", "--once"]);
                    assert!(first.stderr.contains("booked=0"), "{}", first.stderr);
                    assert!(first.stderr.contains("cannot be derived"), "{}", first.stderr);
                }
            }
        });
    }
}

/// The same on Radicale for one person without an account there: the
/// others are paired, this one is named with the key to set.
#[test]
fn a_person_whose_calendar_cannot_be_derived_is_named_with_the_key_to_set() {
    block_on(async {
        let people = [
            ("ana@example.com", "Finance"),
            ("ben@example.com", "Sales"),
            ("cai@example.com", "Sales"),
        ];
        let server = Server::start(Kind::Radicale, &["ana@example.com", "ben@example.com"]);
        let org = DavOrg::on_accounts(server, &people, &["ana@example.com", "ben@example.com"]).await;
        org.write_config_derived("");
        let check = run(&org, &["check"]);
        assert_eq!(check.code, 2, "{}", check.stderr);
        assert!(
            check
                .stderr
                .contains("cai@example.com's calendar is not configured and cannot be derived"),
            "{}",
            check.stderr
        );
        assert!(check.stderr.contains("set people[2].calendar"), "{}", check.stderr);
        assert!(!check.stderr.contains("ana@example.com's calendar"), "{}", check.stderr);
        let first = run_ok(&org, &["run", "--once"]);
        assert!(first.stderr.contains("booked=1"), "{}", first.stderr);
        assert!(first.stderr.contains("cai@example.com"), "{}", first.stderr);
    });
}

//! Copy URLs written inside an event are never followed (DESIGN §5c): an
//! event in the organizer's calendar, which anyone who can write there
//! controls, lists `X-LIAISON-COPY` URLs on a foreign host and on other
//! people's events, and is marked `X-LIAISON-COPIES-PENDING`. Neither the
//! next cycle (which completes pending copies) nor moving, ending or
//! cancelling the series sends anything there: the foreign host sees no
//! connection (so the password never leaves), the other events are never
//! requested and keep their ETags, while the attendees' real copies are
//! still written, edited and deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use liaison::calendar::CalendarProvider as _;
use liaison::calendar::caldav::CaldavProvider;
use liaison::core::interval::Interval;

use super::end_to_end::{booked, run_ok};
use super::{DavOrg, event};
use crate::caldav_servers::proxy::Proxy;
use crate::caldav_servers::{Kind, PASSWORD, Server, USER, block_on};

/// A host on 127.0.0.1 that counts the connections made to it.
struct Recorder {
    base: String,
    connections: Arc<AtomicUsize>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Recorder { base, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// The id of occurrence `week` (0 = the first) of `series` and its start.
pub(super) fn occurrence(series: &liaison::calendar::BookedSeries, week: i64) -> (String, jiff::Timestamp) {
    let request = &series.request;
    let start = request
        .start
        .checked_add(jiff::Span::new().weeks(week))
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get(&request.zone).unwrap())
        .unwrap()
        .timestamp();
    let stamp = jiff::fmt::strtime::format(
        "%Y%m%dT%H%M%SZ",
        start.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime(),
    )
    .unwrap();
    (format!("{}_{stamp}", request.event_id), start)
}

#[test]
fn copy_urls_written_inside_an_event_are_never_followed() {
    for kind in Kind::ALL {
        block_on(async {
            let server = Server::start(kind, &["ana", "ben", "cai"]);
            let org =
                DavOrg::on_accounts(server, &[("ana", "Finance"), ("ben", "Sales")], &["ana", "ben", "cai"]).await;
            let proxy = Proxy::start(&org.server.base);
            org.write_config(&format!("url = {:?}", proxy.base));
            let recorder = Recorder::start();

            // Events of their own in Ana's (an attendee) and Cai's (not one) calendars.
            let mut private = Vec::new();
            for user in ["ana", "cai"] {
                let path = format!("{}private.ics", org.calendar(user));
                let ics = event(
                    "private",
                    &["DTSTART;TZID=Europe/Berlin:20270601T090000", "DURATION:PT1H"],
                );
                let answer = org.server.put(user, &path, &ics, None).await;
                assert!(answer.status < 300, "{kind:?}: {}", answer.status);
                private.push((user, path));
            }

            run_ok(&org, &["run", "--once"]);
            let series = booked(&org).await;
            assert_eq!(series.len(), 1, "{kind:?}");
            let name = series[0].clone();
            let ben_copy = format!("{}{name}", org.calendar("ben"));

            // The planted lines, and Ben's copy deleted so that completing
            // the copies has a real one to write.
            let organizer = format!("{}{name}", org.organizer_calendar);
            let (_, etag, text) = org.server.get(USER, &organizer).await;
            let proxied = |path: &str| format!("{}{path}", proxy.base.trim_end_matches('/'));
            let planted = format!(
                "X-LIAISON:1\r\nX-LIAISON-COPY:{}x.ics\r\nX-LIAISON-COPY:{}\r\nX-LIAISON-COPY:{}\r\n\
                 X-LIAISON-COPIES-PENDING:TRUE\r\n",
                recorder.base,
                proxied(&private[0].1),
                proxied(&private[1].1)
            );
            let text = text.replace("\r\n ", "").replacen("X-LIAISON:1\r\n", &planted, 1);
            let answer = org
                .server
                .put(USER, &organizer, &text, Some(("If-Match", etag.as_deref().unwrap())))
                .await;
            assert!(answer.status < 300, "{kind:?}: {}", answer.status);
            let answer = org.server.request("ben", "DELETE", &ben_copy, &[], "").await;
            assert!(answer.status < 300, "{kind:?}: {}", answer.status);
            let mut before = Vec::new();
            for (user, path) in &private {
                before.push(org.server.get(user, path).await);
            }
            let untouched = |stage: &str| {
                let seen = proxy.seen();
                let touched: Vec<_> = seen
                    .iter()
                    .filter(|s| private.iter().any(|(_, p)| s.path == *p))
                    .collect();
                assert!(touched.is_empty(), "{kind:?} {stage}: {touched:?}");
                assert_eq!(
                    recorder.connections(),
                    0,
                    "{kind:?} {stage}: the foreign host was reached"
                );
            };

            // The next cycle completes the copies: Ben's only.
            let run = run_ok(&org, &["run", "--once"]);
            assert!(!run.stderr.contains(PASSWORD), "{kind:?}");
            untouched("completing the copies");
            let (status, _, copy) = org.server.get("ben", &ben_copy).await;
            assert_eq!(status, 200, "{kind:?}: Ben's copy is written again: {}", run.stderr);
            assert!(!copy.contains("X-LIAISON-COPY"), "{kind:?}: {copy}");
            let (_, _, text) = org.server.get(USER, &organizer).await;
            assert!(!text.contains("X-LIAISON-COPIES-PENDING"), "{kind:?}: {text}");

            // Moving, ending and cancelling the series reach the real copies only.
            let provider = CaldavProvider::from_config(&org.load()).unwrap();
            let listed = provider.list_series().await.unwrap();
            assert_eq!(listed.len(), 1, "{kind:?}");
            let id = listed[0].request.event_id.clone();
            let (second, start) = occurrence(&listed[0], 1);
            let to = Interval::new(
                start + jiff::SignedDuration::from_hours(1),
                start + jiff::SignedDuration::from_hours(1) + listed[0].request.duration,
            );
            provider
                .move_occurrence(&id, &second, to, &listed[0].request.zone)
                .await
                .unwrap();
            untouched("moving an occurrence");
            for user in ["ana", "ben"] {
                let (_, _, copy) = org.server.get(user, &format!("{}{name}", org.calendar(user))).await;
                assert!(
                    copy.contains("RECURRENCE-ID"),
                    "{kind:?} {user}: the move reached the copy"
                );
            }
            let (_, until) = occurrence(&listed[0], 2);
            provider.end_series(&id, until).await.unwrap();
            untouched("ending the series");
            provider.delete_series(&id).await.unwrap();
            untouched("cancelling the series");
            for user in ["ana", "ben"] {
                let names = org.server.list(&org.calendar(user)).await;
                assert!(!names.contains(&name), "{kind:?}: {user}'s copy is deleted");
            }
            for ((user, path), was) in private.iter().zip(&before) {
                assert_eq!(&org.server.get(user, path).await, was, "{kind:?}: {path}");
            }
        });
    }
}

//! Real CalDAV servers for the tests: Radicale and Xandikos from the virtual
//! environment `.ci/run` fills (`.ci/venv`, pinned in
//! `.ci/caldav-requirements.txt`), each started on 127.0.0.1 on a free port
//! with its storage in a temporary directory, ready once its port accepts a
//! connection (bounded wait), stopped when the [`Server`] is dropped.
//!
//! A missing server is a test failure whose message says how to install it,
//! never a skip. Radicale runs with htpasswd authentication (plain entries)
//! and the rights `authenticated` (any signed-in user reads and writes every
//! collection, as liaison's account must under `deliver = "write-each"`).
//! Xandikos refuses `--htpasswd` without TLS, so it runs without
//! authentication (liaison still sends its credentials; they are ignored).
//!
//! The helpers speak plain HTTP with liaison's own client (`calendar::http`)
//! to create calendars and to play the people who edit, answer or delete
//! events.

pub mod proxy;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use google_calendar3::hyper::Request;
use liaison::calendar::http::{Answer, HttpClient, exchange, http_client, http_client_on, https_connector_with_roots};

/// How long a server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The password of every account on the test servers.
pub const PASSWORD: &str = "correct horse battery staple";
/// liaison's account.
pub const USER: &str = "liaison";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Radicale,
    Xandikos,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Radicale, Kind::Xandikos];

    fn program(self) -> &'static str {
        match self {
            Kind::Radicale => "radicale",
            Kind::Xandikos => "xandikos",
        }
    }

    /// Where this server keeps a user's calendars: Radicale under the user's
    /// principal (`/<user>/`), Xandikos under its one principal's home.
    pub fn home(self, user: &str) -> String {
        match self {
            Kind::Radicale => format!("/{user}/"),
            Kind::Xandikos => format!("/user/calendars/{user}-"),
        }
    }

    /// Whether the server checks credentials.
    pub fn authenticates(self) -> bool {
        self == Kind::Radicale
    }
}

/// The virtual environment with the servers: `$LIAISON_CALDAV_VENV`, else
/// `.ci/venv` in the repository.
pub fn venv() -> PathBuf {
    match std::env::var_os("LIAISON_CALDAV_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/venv"),
    }
}

/// The server's program, or a failure that says how to install it.
fn program(kind: Kind) -> PathBuf {
    program_in(&venv(), kind)
}

fn program_in(venv: &Path, kind: Kind) -> PathBuf {
    let path = venv.join("bin").join(kind.program());
    assert!(
        path.is_file(),
        "{} is not installed: {} does not exist. Install the CalDAV test servers as .ci/run does: \
         `python3 -m venv .ci/venv && .ci/venv/bin/pip install -r .ci/caldav-requirements.txt` \
         (or set LIAISON_CALDAV_VENV to a virtual environment that has them)",
        kind.program(),
        path.display()
    );
    path
}

/// A certificate and its key (PEM files) a server answers TLS with, and the
/// CA that signed it, which the helpers' own client trusts.
pub struct Tls<'a> {
    pub certificate: &'a Path,
    pub key: &'a Path,
    pub ca_pem: &'a str,
}

/// A running server; stopped (killed and reaped) when dropped.
pub struct Server {
    pub kind: Kind,
    /// `http://127.0.0.1:<port>/` (`https://` with TLS)
    pub base: String,
    /// The helpers' client (trusting the test's CA under TLS).
    client: HttpClient,
    child: Child,
    /// Storage, users, logs.
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now (the server binds it a moment later;
/// a lost race shows as a server that does not start, and is retried).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Server {
    /// Starts `kind` with accounts for `users` (besides liaison's).
    pub fn start(kind: Kind, users: &[&str]) -> Server {
        Server::start_with(kind, users, None)
    }

    /// Same, answering TLS with `tls` (Radicale only: its `ssl` options).
    pub fn start_with(kind: Kind, users: &[&str], tls: Option<Tls>) -> Server {
        assert!(
            tls.is_none() || kind == Kind::Radicale,
            "TLS is set up for Radicale only"
        );
        let client = match &tls {
            Some(t) => http_client_on(https_connector_with_roots(t.ca_pem.as_bytes()).expect("the test CA")),
            None => http_client(),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let program = program(kind);
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
            let mut command = Command::new(&program);
            match kind {
                Kind::Radicale => {
                    let htpasswd: String = std::iter::once(USER)
                        .chain(users.iter().copied())
                        .map(|u| format!("{u}:{PASSWORD}\n"))
                        .collect();
                    std::fs::write(dir.path().join("users"), htpasswd).expect("users file");
                    command
                        .arg("--server-hosts")
                        .arg(format!("127.0.0.1:{port}"))
                        .arg("--storage-filesystem-folder")
                        .arg(dir.path().join("collections"))
                        .args(["--auth-type", "htpasswd", "--auth-htpasswd-encryption", "plain"])
                        .arg("--auth-htpasswd-filename")
                        .arg(dir.path().join("users"))
                        .args(["--rights-type", "authenticated"])
                        // No delay after a failed login (its default is 1 s).
                        .args(["--auth-delay", "0"]);
                    if let Some(t) = &tls {
                        command
                            .args(["--server-ssl", "True", "--server-certificate"])
                            .arg(t.certificate)
                            .arg("--server-key")
                            .arg(t.key);
                    }
                }
                Kind::Xandikos => {
                    command
                        .args(["serve", "--defaults", "--no-detect-systemd"])
                        .arg("-d")
                        .arg(dir.path().join("data"))
                        .arg("--state-dir")
                        .arg(dir.path().join("state"))
                        .args(["-l", "127.0.0.1", "-p", &port.to_string()]);
                }
            }
            let child = command
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
            let mut server = Server {
                kind,
                base: format!("{scheme}://127.0.0.1:{port}/"),
                client: client.clone(),
                child,
                dir,
            };
            if server.wait_listening(port) {
                return server;
            }
            last_log = server.log();
        }
        panic!(
            "{} did not listen within {START_TIMEOUT:?}; its log:\n{last_log}",
            kind.program()
        );
    }

    /// Polls the port until it accepts a connection, or the server exits, or
    /// the bound passes.
    fn wait_listening(&mut self, port: u16) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.trim_end_matches('/'), path)
    }

    /// The path of a calendar named `name` of `user` on this server.
    pub fn calendar_path(&self, user: &str, name: &str) -> String {
        format!("{}{name}/", self.kind.home(user))
    }

    /// One request as `user`, answered whole.
    pub async fn request(&self, user: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let basic = data_encoding::BASE64.encode(format!("{user}:{PASSWORD}").as_bytes());
        let mut builder = Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("Authorization", format!("Basic {basic}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(body.to_string()).expect("request");
        tokio::time::timeout(Duration::from_secs(30), exchange(&self.client, request, 1 << 24))
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within 30 s"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Creates the calendar `name` of `user` (and, on Radicale, signs the
    /// user in once so that their principal exists); returns its path.
    pub async fn make_calendar(&self, user: &str, name: &str) -> String {
        if self.kind == Kind::Radicale {
            let home = self.kind.home(user);
            let answer = self.request(user, "PROPFIND", &home, &[("Depth", "0")], "").await;
            assert!(answer.status < 300, "PROPFIND {home}: {}", answer.status);
        }
        let path = self.calendar_path(user, name);
        let answer = self.request(user, "MKCALENDAR", &path, &[], "").await;
        assert_eq!(answer.status, 201, "MKCALENDAR {path}: {}", text(&answer));
        path
    }

    /// PUT of an iCalendar object as `user`; returns the answer.
    pub async fn put(&self, user: &str, path: &str, ics: &str, condition: Option<(&str, &str)>) -> Answer {
        let mut headers = vec![("Content-Type", "text/calendar; charset=utf-8")];
        headers.extend(condition);
        self.request(user, "PUT", path, &headers, ics).await
    }

    /// GET as `user`: the status, the ETag and the body.
    pub async fn get(&self, user: &str, path: &str) -> (u16, Option<String>, String) {
        let answer = self.request(user, "GET", path, &[], "").await;
        let etag = answer
            .headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (answer.status, etag, text(&answer))
    }

    /// The names of the resources in a collection (Depth 1 PROPFIND).
    pub async fn list(&self, path: &str) -> Vec<String> {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#;
        let answer = self
            .request(
                USER,
                "PROPFIND",
                path,
                &[("Depth", "1"), ("Content-Type", "application/xml")],
                body,
            )
            .await;
        assert_eq!(answer.status, 207, "PROPFIND {path}: {}", text(&answer));
        let body = text(&answer);
        let mut names: Vec<String> = body
            .split("href>")
            .filter_map(|s| {
                s.strip_suffix("</")
                    .or_else(|| s.strip_suffix("</ns0:"))
                    .or_else(|| s.strip_suffix("</D:"))
            })
            .filter(|href| href.ends_with(".ics"))
            .filter_map(|href| href.rsplit('/').next().map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

pub fn text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_server_fails_with_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        for kind in Kind::ALL {
            let venv = empty.path().to_path_buf();
            let failure = std::panic::catch_unwind(move || program_in(&venv, kind)).unwrap_err();
            let message = failure.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(
                message.contains(&format!("{} is not installed", kind.program())),
                "{message}"
            );
            assert!(
                message.contains(".ci/venv/bin/pip install -r .ci/caldav-requirements.txt"),
                "{message}"
            );
        }
    }

    /// Both servers start, create calendars, take an event only once under
    /// `If-None-Match: *`, and check Radicale's credentials.
    #[test]
    fn both_servers_start_and_answer_as_the_provider_expects() {
        for kind in Kind::ALL {
            let started = Instant::now();
            let server = Server::start(kind, &["ana"]);
            let listening = started.elapsed();
            block_on(async {
                let calendar = server.make_calendar("ana", "work").await;
                let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:x1\r\n\
                           DTSTAMP:20270101T000000Z\r\nDTSTART:20270308T090000Z\r\nDTEND:20270308T093000Z\r\n\
                           SUMMARY:busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
                let path = format!("{calendar}x1.ics");
                let first = server.put("ana", &path, ics, Some(("If-None-Match", "*"))).await;
                assert_eq!(first.status, 201, "{kind:?}: {}", text(&first));
                let again = server.put("ana", &path, ics, Some(("If-None-Match", "*"))).await;
                assert_eq!(again.status, 412, "{kind:?}: {}", text(&again));
                let (status, etag, body) = server.get("ana", &path).await;
                assert_eq!(status, 200, "{kind:?}");
                assert!(etag.is_some() && body.contains("UID:x1"), "{kind:?}: {body}");
                assert_eq!(server.list(&calendar).await, ["x1.ics"], "{kind:?}");
                if kind.authenticates() {
                    let basic = data_encoding::BASE64.encode(b"ana:wrong");
                    let request = Request::builder()
                        .method("GET")
                        .uri(server.url(&path))
                        .header("Authorization", format!("Basic {basic}"))
                        .body(String::new())
                        .unwrap();
                    let refused = exchange(&http_client(), request, 1 << 20).await.unwrap();
                    assert_eq!(refused.status, 401, "{kind:?}");
                }
            });
            eprintln!("{kind:?} listened after {listening:?}");
        }
    }
}

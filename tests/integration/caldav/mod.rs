//! The CalDAV provider against real servers (Radicale and Xandikos, started
//! by `caldav_servers`): discovery and busy time through the library, then
//! the real binary end to end (`end_to_end`).

mod busy;
mod edits;
mod end_to_end;
mod recovery;
mod renamed;
mod settings;
mod trust;
mod unreadable;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use crate::caldav_servers::{Kind, PASSWORD, Server, USER};

/// An organization on a real CalDAV server: liaison's account with its
/// calendar `connections`, each person's calendar `work`, and a
/// configuration in a temporary directory.
pub struct DavOrg {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// `(user, unit)`; each person's email is `<user>@example.com`.
    pub people: Vec<(String, String)>,
    /// The path of liaison's calendar on the server.
    pub organizer_calendar: String,
}

pub fn email(user: &str) -> String {
    // A user named by an email (for derived calendars) is that email.
    if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@example.com")
    }
}

impl DavOrg {
    /// A server of `kind` with calendars for liaison and `people`.
    pub async fn new(kind: Kind, people: &[(&str, &str)]) -> DavOrg {
        let users: Vec<&str> = people.iter().map(|(u, _)| *u).collect();
        DavOrg::on(Server::start(kind, &users), people).await
    }

    /// The same on a server started by the caller (with accounts for `people`).
    pub async fn on(server: Server, people: &[(&str, &str)]) -> DavOrg {
        let users: Vec<&str> = people.iter().map(|(u, _)| *u).collect();
        DavOrg::on_accounts(server, people, &users).await
    }

    /// The same where only `accounts` of the people have an account (and a
    /// calendar) on the server.
    pub async fn on_accounts(server: Server, people: &[(&str, &str)], accounts: &[&str]) -> DavOrg {
        let organizer_calendar = server.make_calendar(USER, "connections").await;
        for user in accounts {
            server.make_calendar(user, "work").await;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let password = dir.path().join("caldav-password");
        std::fs::write(&password, format!("{PASSWORD}\n")).expect("password file");
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let org = DavOrg {
            config: dir.path().join("config.toml"),
            server,
            dir,
            people: people.iter().map(|(u, n)| (u.to_string(), n.to_string())).collect(),
            organizer_calendar,
        };
        org.write_config("");
        org
    }

    /// The path of `user`'s calendar.
    pub fn calendar(&self, user: &str) -> String {
        self.server.calendar_path(user, "work")
    }

    /// Writes the configuration: write-each delivery, busy by
    /// free-busy-query, then the `[calendar.caldav]` lines of `caldav_extra`
    /// (which override those keys).
    pub fn write_config(&self, caldav_extra: &str) {
        self.write_config_with(
            caldav_extra,
            &self.people.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>(),
        );
    }

    /// Same, with only the people of `users`.
    pub fn write_config_with(&self, caldav_extra: &str, users: &[String]) {
        self.write_config_full(caldav_extra, users, true);
    }

    /// Same as [`DavOrg::write_config`], without `people[].calendar` (the
    /// provider derives them).
    pub fn write_config_derived(&self, caldav_extra: &str) {
        let users: Vec<String> = self.people.iter().map(|(u, _)| u.clone()).collect();
        self.write_config_full(caldav_extra, &users, false);
    }

    fn write_config_full(&self, caldav_extra: &str, users: &[String], calendars: bool) {
        let mut keys = vec![
            ("url", format!("{:?}", self.server.base)),
            ("username", format!("{USER:?}")),
            ("password_file", "\"caldav-password\"".to_string()),
            ("organizer", format!("{:?}", email(USER))),
            ("organizer_calendar", format!("{:?}", self.organizer_calendar)),
            ("busy", "\"free-busy-query\"".to_string()),
            ("deliver", "\"write-each\"".to_string()),
        ];
        for line in caldav_extra.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.split_once('=').expect("key = value");
            let key = key.trim();
            keys.retain(|(k, _)| *k != key);
            if value.trim() != "<none>" {
                keys.push((Box::leak(key.to_string().into_boxed_str()), value.trim().to_string()));
            }
        }
        let mut text = String::from(
            "timezone = \"Europe/Berlin\"\nstate_dir = \"state\"\n\n[schedule]\nfirst_term = 2027-03-08\nterm_weeks = 4\n\n\
             [calendar]\nprovider = \"caldav\"\n\n[calendar.caldav]\n",
        );
        for (key, value) in keys {
            text.push_str(&format!("{key} = {value}\n"));
        }
        for (user, unit) in self.people.iter().filter(|(u, _)| users.contains(u)) {
            text.push_str(&format!(
                "\n[[people]]\nemail = {:?}\nname = {:?}\nunit = {unit:?}\n",
                email(user),
                user
            ));
            if calendars {
                text.push_str(&format!("calendar = {:?}\n", self.calendar(user)));
            }
        }
        std::fs::write(&self.config, text).expect("config");
    }

    pub fn load(&self) -> liaison::config::Config {
        liaison::config::load(&self.config).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Europe/Berlin as calendar apps send it (rules, not dates). Servers need
/// it: without it Radicale reads `TZID=Europe/Berlin` at one fixed offset.
pub const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n\
DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

/// A VEVENT resource with the given extra lines (DTSTART, RRULE, ...),
/// with [`BERLIN`] for its local times.
pub fn event(uid: &str, lines: &[&str]) -> String {
    let mut out = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{BERLIN}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\n"
    );
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("SUMMARY:busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    out
}

#[allow(dead_code)]
pub const ALL: [Kind; 2] = Kind::ALL;

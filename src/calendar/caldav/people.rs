//! Each person's calendar collection: `people[].calendar` when the
//! configuration names one, else derived (DESIGN §3, §5c) from the calendar
//! home of liaison's own account and the person's email. Many servers keep
//! every account's home side by side under the account's name, and where
//! that name is the email (Fastmail, Nextcloud or Radicale with email
//! logins) the person's home is liaison's with its last segment replaced by
//! the email, e.g. `/dav/calendars/user/liaison@example.com/` →
//! `/dav/calendars/user/ana@example.com/`. The person's calendar is then the
//! one calendar for events in that home.
//!
//! A calendar that cannot be derived is that person's problem, with the
//! reason and the key to set (`people[N].calendar`): their busy time is
//! unknown (they stay unpaired) and no copy is written for them. Derivation
//! costs discovery and one PROPFIND per person, once per process; a
//! configured calendar costs nothing.

use std::collections::BTreeMap;

use url::Url;

use super::CaldavProvider;
use super::client::Call;
use super::discovery::resolve;
use super::xml;
use crate::calendar::CalendarError;
use crate::calendar::http::ApiError;
use crate::config::{CaldavBusy, CaldavCalendar, CaldavDeliver};

/// A person's collection, or why there is none.
pub type Derived = Result<Url, String>;

/// `home` with its last path segment replaced by `email`: the home of the
/// account named `email` on a server that keeps homes side by side.
fn sibling_home(home: &Url, email: &str) -> Option<Url> {
    home.path_segments()?.find(|s| !s.is_empty())?;
    let mut url = home.clone();
    {
        let mut segments = url.path_segments_mut().ok()?;
        segments.pop_if_empty().pop().push(email).push("");
    }
    (url != *home).then_some(url)
}

impl CaldavProvider {
    /// Whether the busy time or the delivery reads or writes people's own
    /// collections (else the outbox reaches them by address).
    pub(super) fn needs_collections(&self) -> bool {
        matches!(
            self.settings.busy,
            CaldavBusy::FreeBusyQuery | CaldavBusy::CalendarQuery
        ) || self.settings.deliver == CaldavDeliver::WriteEach
    }

    /// `email`'s collection: configured, or derived (once per process).
    /// `Ok(Err(reason))` when it is neither, an error when the server fails
    /// for everyone (discovery, authorization).
    pub(super) async fn collection_of(&self, email: &str) -> Result<Derived, CalendarError> {
        if let Some(CaldavCalendar::Collection(url)) = self.settings.calendars.get(email) {
            return Ok(Url::parse(url).map_err(|e| format!("people[].calendar {url}: {e}")));
        }
        if !self.people.iter().any(|p| p == email) {
            return Ok(Err(format!("{email} is not among the people of {}", self.config_path)));
        }
        let mut derived = self.derived.lock().await;
        if let Some(known) = derived.get(email) {
            return Ok(known.clone());
        }
        let found = self.derive(email).await?.map_err(|reason| {
            let key = match self.people.iter().position(|p| p == email) {
                Some(i) => format!("people[{i}].calendar"),
                None => "people[].calendar".to_string(),
            };
            format!(
                "{email}'s calendar is not configured and cannot be derived: {reason}; set {key} to the URL of \
                 the person's calendar collection ({})",
                self.config_path
            )
        });
        match &found {
            Ok(url) => tracing::info!(person = %email, calendar = %url, "calendar derived from the calendar home"),
            Err(reason) => tracing::warn!(person = %email, %reason, "no calendar for this person"),
        }
        derived.insert(email.to_string(), found.clone());
        Ok(found)
    }

    /// The collection of every person who has one, in the configuration's
    /// order of people.
    pub(super) async fn collections(&self) -> Result<Vec<(String, Url)>, CalendarError> {
        let mut out = Vec::new();
        for email in &self.people {
            if let Ok(url) = self.collection_of(email).await? {
                out.push((email.clone(), url));
            }
        }
        Ok(out)
    }

    /// Derives `email`'s collection from liaison's calendar home.
    async fn derive(&self, email: &str) -> Result<Derived, CalendarError> {
        let found = self.discovered().await?;
        let Some(home) = &found.home else {
            return Ok(Err(format!(
                "the principal {} names no calendar-home-set to start from",
                found.principal
            )));
        };
        let Some(person_home) = sibling_home(home, email) else {
            return Ok(Err(format!(
                "liaison's calendar home {home} has no account name in its path"
            )));
        };
        // A sibling of the home the trusted server named.
        self.dav.trust(&person_home);
        let call = Call::new("PROPFIND", &person_home)
            .header("Depth", "1")
            .xml(xml::propfind(&[xml::RESOURCETYPE, xml::SUPPORTED_COMPONENTS]));
        let answer = match self.dav.send(&call).await {
            Ok(answer) => answer,
            Err(e @ (ApiError::NotFound(_) | ApiError::Gone(_) | ApiError::Refused(_))) => {
                return Ok(Err(format!(
                    "{person_home} (liaison's calendar home with the email for the account name) cannot be read: {e}"
                )));
            }
            Err(e) => return Err(self.error("PROPFIND", e)),
        };
        let ms = match xml::parse_multistatus(&String::from_utf8_lossy(&answer.body)) {
            Ok(ms) => ms,
            Err(m) => return Ok(Err(format!("PROPFIND {person_home}: {m}"))),
        };
        let calendars: Vec<Url> = ms
            .responses
            .iter()
            .filter(|r| r.is_calendar())
            .filter(|r| {
                r.prop(xml::SUPPORTED_COMPONENTS)
                    .is_none_or(|c| c.comps.iter().any(|n| n.eq_ignore_ascii_case("VEVENT")))
            })
            .filter_map(|r| resolve(&person_home, &r.href).ok())
            .collect();
        Ok(match calendars.as_slice() {
            [one] => {
                // Named by the trusted server, from liaison's own home.
                self.dav.trust(one);
                Ok(one.clone())
            }
            [] => Err(format!("{person_home} holds no calendar for events")),
            many => Err(format!(
                "{person_home} holds {} calendars ({}), and liaison does not guess which one",
                many.len(),
                many.iter().map(Url::as_str).collect::<Vec<_>>().join(", ")
            )),
        })
    }

    /// Lines for `liaison check`: each person's calendar, configured or
    /// derived; an error naming every person whose calendar cannot be
    /// derived, when the configuration needs one.
    pub(super) async fn describe_people(&self) -> Result<Vec<String>, CalendarError> {
        if !self.needs_collections() {
            return Ok(Vec::new());
        }
        let mut lines = Vec::new();
        let mut missing = Vec::new();
        for email in &self.people {
            let configured = matches!(self.settings.calendars.get(email), Some(CaldavCalendar::Collection(_)));
            match self.collection_of(email).await? {
                Ok(url) if configured => lines.push(format!("caldav calendar of {email}: {url}")),
                Ok(url) => lines.push(format!("caldav calendar of {email}: {url} (derived)")),
                Err(reason) => missing.push(reason),
            }
        }
        if missing.is_empty() {
            Ok(lines)
        } else {
            Err(self.invalid("people's calendars", missing.join("\n")))
        }
    }
}

/// Derived calendars by email, filled on first need.
pub type DerivedCache = tokio::sync::Mutex<BTreeMap<String, Derived>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persons_home_is_the_sibling_of_liaisons_named_by_the_email() {
        let home = Url::parse("https://dav.example.com/dav/calendars/user/liaison@example.com/").unwrap();
        assert_eq!(
            sibling_home(&home, "ana@example.com").unwrap().as_str(),
            "https://dav.example.com/dav/calendars/user/ana@example.com/"
        );
        let radicale = Url::parse("http://127.0.0.1:5232/liaison/").unwrap();
        assert_eq!(
            sibling_home(&radicale, "ana@example.com").unwrap().as_str(),
            "http://127.0.0.1:5232/ana@example.com/"
        );
        let root = Url::parse("https://dav.example.com/").unwrap();
        assert_eq!(sibling_home(&root, "ana@example.com"), None);
    }
}

//! Discovery (RFC 6764 §6, RFC 4791 §6.2.1, RFC 5397): `/.well-known/caldav`
//! (redirects followed, each target held to the same URL rules as the
//! configuration's) → `current-user-principal` → `calendar-home-set` and the
//! scheduling outbox → the organizer's calendar: the configured one, checked
//! to be a calendar, or the one calendar of the home.
//!
//! A cycle needs none of it when the organizer calendar is configured and
//! busy time is not read through the outbox: then nothing is discovered, and
//! a quiet cycle costs only its sync requests. `liaison check` always runs it.

use url::Url;

use super::client::{Call, Dav, origin};
use super::xml::{self, Multistatus};
use crate::calendar::http::ApiError;
use crate::config::endpoint_url;

/// Most redirects followed from `/.well-known/caldav`.
const MAX_REDIRECTS: usize = 5;

/// What discovery found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    pub principal: Url,
    pub home: Option<Url>,
    /// RFC 6638 scheduling outbox, when the server has one.
    pub outbox: Option<Url>,
    /// The calendar liaison writes to.
    pub organizer_calendar: Url,
    /// What the organizer calendar supports, for `liaison check`.
    pub sync_token: bool,
}

/// Why discovery failed: a request that failed, or an answer that does not
/// lead on (a message for the user).
#[derive(Debug)]
pub enum DiscoveryError {
    Api(ApiError),
    Unexpected(String),
}

impl From<ApiError> for DiscoveryError {
    fn from(e: ApiError) -> DiscoveryError {
        DiscoveryError::Api(e)
    }
}

fn unexpected(message: String) -> DiscoveryError {
    DiscoveryError::Unexpected(message)
}

/// `href` (from an answer to a request on `base`) as an absolute URL, held
/// to the configuration's rules (https, or http to loopback).
pub fn resolve(base: &Url, href: &str) -> Result<Url, String> {
    let joined = base
        .join(href.trim())
        .map_err(|e| format!("{SERVICE_HREF} {href:?} is not a URL ({e})"))?;
    endpoint_url(joined.as_str()).map_err(|m| format!("{SERVICE_HREF} {m}"))
}

const SERVICE_HREF: &str = "the server named";

/// PROPFIND with Depth `depth` asking for `props`.
async fn propfind(dav: &Dav, url: &Url, depth: &str, props: &[xml::Name]) -> Result<Multistatus, DiscoveryError> {
    let call = Call::new("PROPFIND", url)
        .header("Depth", depth)
        .xml(xml::propfind(props));
    let answer = dav.send(&call).await?;
    xml::parse_multistatus(&String::from_utf8_lossy(&answer.body))
        .map_err(|m| unexpected(format!("PROPFIND {url}: {m}")))
}

/// The principal of the signed-in account.
async fn principal(dav: &Dav, root: &Url) -> Result<Url, DiscoveryError> {
    let mut url = root
        .join("/.well-known/caldav")
        .map_err(|e| unexpected(format!("{root}: {e}")))?;
    for _ in 0..=MAX_REDIRECTS {
        let call = Call::new("PROPFIND", &url)
            .header("Depth", "0")
            .xml(xml::propfind(&[xml::CURRENT_USER_PRINCIPAL]))
            .accepting(&[301, 302, 303, 307, 308, 404, 405, 501]);
        let answer = dav.send(&call).await?;
        match answer.status {
            301 | 302 | 303 | 307 | 308 => {
                let location = answer
                    .headers
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| unexpected(format!("{url} redirects without a Location")))?;
                url = resolve(&url, location).map_err(unexpected)?;
                // The configured server sends liaison there.
                dav.trust(&url);
            }
            207 => {
                let ms = xml::parse_multistatus(&String::from_utf8_lossy(&answer.body))
                    .map_err(|m| unexpected(format!("PROPFIND {url}: {m}")))?;
                if let Some(href) = ms
                    .responses
                    .iter()
                    .find_map(|r| r.prop(xml::CURRENT_USER_PRINCIPAL).and_then(|p| p.hrefs.first()))
                {
                    return resolve(&url, href).map_err(unexpected).inspect(|u| dav.trust(u));
                }
                break;
            }
            _ => break,
        }
    }
    // No (usable) well-known answer: ask the configured URL itself.
    let ms = propfind(dav, root, "0", &[xml::CURRENT_USER_PRINCIPAL]).await?;
    let href = ms
        .responses
        .iter()
        .find_map(|r| r.prop(xml::CURRENT_USER_PRINCIPAL).and_then(|p| p.hrefs.first()))
        .ok_or_else(|| {
            unexpected(format!(
                "{} names no current-user-principal at {root} or /.well-known/caldav; set calendar.caldav.url \
                 to the server's CalDAV root",
                origin(root)
            ))
        })?;
    resolve(root, href).map_err(unexpected).inspect(|u| dav.trust(u))
}

/// Runs discovery from `root`; `configured` is `calendar.caldav.organizer_calendar`.
pub async fn discover(dav: &Dav, root: &Url, configured: Option<&Url>) -> Result<Discovered, DiscoveryError> {
    let principal = principal(dav, root).await?;
    let ms = propfind(
        dav,
        &principal,
        "0",
        &[xml::CALENDAR_HOME_SET, xml::SCHEDULE_OUTBOX_URL],
    )
    .await?;
    let first_href = |name| {
        ms.responses
            .iter()
            .find_map(|r| r.prop(name).and_then(|p| p.hrefs.first().cloned()))
    };
    let home = first_href(xml::CALENDAR_HOME_SET)
        .map(|h| resolve(&principal, &h))
        .transpose()
        .map_err(unexpected)?;
    let outbox = first_href(xml::SCHEDULE_OUTBOX_URL)
        .map(|h| resolve(&principal, &h))
        .transpose()
        .map_err(unexpected)?;
    // What the trusted server names (iCloud's home is on a host of its own).
    for url in home.iter().chain(&outbox) {
        dav.trust(url);
    }
    let (organizer_calendar, sync_token) = match configured {
        Some(url) => {
            let ms = propfind(dav, url, "0", &[xml::RESOURCETYPE, xml::SYNC_TOKEN]).await?;
            let this = ms.responses.first();
            if !this.is_some_and(xml::Response::is_calendar) {
                return Err(unexpected(format!(
                    "calendar.caldav.organizer_calendar {url} is not a calendar collection"
                )));
            }
            (url.clone(), this.is_some_and(|r| r.prop(xml::SYNC_TOKEN).is_some()))
        }
        None => {
            let home = home.as_ref().ok_or_else(|| {
                unexpected(format!(
                    "the principal {principal} names no calendar-home-set; set calendar.caldav.organizer_calendar"
                ))
            })?;
            let ms = propfind(
                dav,
                home,
                "1",
                &[xml::RESOURCETYPE, xml::SUPPORTED_COMPONENTS, xml::SYNC_TOKEN],
            )
            .await?;
            let calendars: Vec<(Url, bool)> = ms
                .responses
                .iter()
                .filter(|r| r.is_calendar())
                .filter(|r| {
                    r.prop(xml::SUPPORTED_COMPONENTS)
                        .is_none_or(|c| c.comps.iter().any(|n| n.eq_ignore_ascii_case("VEVENT")))
                })
                .map(|r| resolve(home, &r.href).map(|u| (u, r.prop(xml::SYNC_TOKEN).is_some())))
                .collect::<Result<_, _>>()
                .map_err(unexpected)?;
            match calendars.as_slice() {
                [one] => {
                    dav.trust(&one.0);
                    one.clone()
                }
                [] => {
                    return Err(unexpected(format!(
                        "the calendar home {home} has no calendar for events; create one and set \
                         calendar.caldav.organizer_calendar"
                    )));
                }
                many => {
                    let list: Vec<String> = many.iter().map(|(u, _)| u.to_string()).collect();
                    return Err(unexpected(format!(
                        "the calendar home {home} has {} calendars ({}); set calendar.caldav.organizer_calendar \
                         to the one liaison writes to",
                        many.len(),
                        list.join(", ")
                    )));
                }
            }
        }
    };
    Ok(Discovered {
        principal,
        home,
        outbox,
        organizer_calendar,
        sync_token,
    })
}

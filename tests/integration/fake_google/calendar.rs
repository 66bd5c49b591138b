//! The calendar model: calendars, events, recurring series with their
//! exceptions (overridden or cancelled instances), and the Calendar API
//! operations on them. Pure data in, JSON or an [`ApiError`] out; the HTTP layer
//! is in `mod.rs`.
//!
//! Events are kept as the JSON resources Google would return (`serde_json::Value`),
//! so every field a client sends survives untouched; the fake adds the fields
//! Google's server sets. An exception to a series is stored as its own event
//! with `recurringEventId` and `originalStartTime`, as Google exposes it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::times::{self, OccStart, Occurrence, When};

// Google's limits, as the fake's own constants: they come from Google's pages
// (cited next to each), never from liaison's code, so that a product constant
// that drifts past Google's is caught here.

/// Calendars per `freeBusy.query`: `calendarExpansionMax` "Maximum value is
/// 50" (discovery document, schema `FreeBusyRequest`;
/// https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query).
pub const FREEBUSY_MAX_CALENDARS: usize = 50;
/// The longest `freeBusy` range. Google's reference names no number; clients
/// meet 400 "The requested time range is too long." past 90 days
/// (https://github.com/calcom/cal.diy/pull/11962: "The Google /freeBusy
/// endpoint has a maximum time span of 90 days"). The fake takes it as 90 × 24
/// hours and refuses a range one second longer.
pub const FREEBUSY_MAX_RANGE: SignedDuration = SignedDuration::from_hours(90 * 24);
/// A client-supplied event id: base32hex characters (`a-v`, `0-9`), "between
/// 5 and 1024 characters" (discovery document, `Event.id`;
/// https://developers.google.com/workspace/calendar/api/v3/reference/events/insert).
pub const EVENT_ID_LEN: std::ops::RangeInclusive<usize> = 5..=1024;
/// Extended properties: "The maximum size of a property's key is 44
/// characters, and properties with longer keys will be silently dropped. The
/// maximum size of a property's value is 1024 characters, and properties with
/// longer values will be silently truncated."
/// (https://developers.google.com/workspace/calendar/api/guides/extended-properties#limits).
pub const EXTENDED_PROPERTY_MAX_KEY: usize = 44;
pub const EXTENDED_PROPERTY_MAX_VALUE: usize = 1024;
/// `maxResults` of `events.list` and `events.instances`: default and maximum.
const DEFAULT_PAGE: usize = 250;
const MAX_PAGE: usize = 2500;

/// Query parameters as (name, value) pairs, repeated names kept.
pub type Params = [(String, String)];

pub fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn params_all<'a>(q: &'a Params, name: &str) -> Vec<&'a str> {
    q.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

fn flag(q: &Params, name: &str) -> Result<bool, ApiError> {
    match param(q, name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(ApiError::invalid(format!("Invalid value '{v}' for {name}")).at("parameter", name)),
    }
}

#[derive(Clone, Debug)]
pub struct Calendar {
    pub time_zone: String,
    pub events: BTreeMap<String, Stored>,
    /// The user who owns it (lower case): a user's own calendar is theirs;
    /// a secondary calendar names its owner.
    pub owner: String,
    /// Other users with writer access (an ACL rule `writer`), lower case.
    pub writers: BTreeSet<String>,
}

/// How an incremental `events.list` answers an event deleted since the token.
/// Google's `Event.status` (discovery document): "Deleted events are only
/// guaranteed to have the id field populated. On the organizer's calendar,
/// cancelled events continue to expose event details ... However, incremental
/// sync requests with showDeleted set to false will not return these details."
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletedShape {
    /// Only `kind`, `etag`, `id` and `status: cancelled`: the least Google
    /// guarantees.
    #[default]
    IdOnly,
    /// The whole event as it was, with `status: cancelled` (extended
    /// properties included): what the organizer's calendar shows.
    FullBody,
    /// The deleted events of one listing alternately bare and whole (first
    /// bare), in the listing's order.
    Alternate,
}

#[derive(Clone, Debug)]
pub struct Stored {
    pub value: Value,
    /// The model's change counter when this event last changed (sync tokens).
    pub seq: u64,
}

#[derive(Debug, Default)]
pub struct Model {
    /// Keyed by the lower-cased calendar id.
    pub calendars: BTreeMap<String, Calendar>,
    /// Bumped on every change of an event.
    pub seq: u64,
    /// Sync tokens carry this; bumping it makes every token "no longer valid".
    pub sync_epoch: u64,
    /// The shape of deleted events in incremental lists.
    pub deleted_shape: DeletedShape,
    next_id: u64,
    /// Who each event invites, built by freeBusy when `seq` has moved since.
    invitations: Mutex<Invitations>,
}

/// The events that list each attendee (lower case): (calendar key, event
/// id), as of the model's change counter `seq`.
#[derive(Debug, Default)]
struct Invitations {
    seq: Option<u64>,
    of: HashMap<String, Vec<(String, String)>>,
}

fn key(id: &str) -> String {
    id.to_lowercase()
}

fn status(ev: &Value) -> &str {
    ev.get("status").and_then(Value::as_str).unwrap_or("confirmed")
}

fn str_field<'a>(ev: &'a Value, name: &str) -> Option<&'a str> {
    ev.get(name).and_then(Value::as_str)
}

fn recurrence(ev: &Value) -> Vec<String> {
    ev.get("recurrence")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn is_recurring(ev: &Value) -> bool {
    !recurrence(ev).is_empty()
}

/// The attendee entry for `email`, compared case-insensitively.
fn attendee<'a>(ev: &'a Value, email: &str) -> Option<&'a Value> {
    ev.get("attendees")?.as_array()?.iter().find(|a| {
        a.get("email")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case(email))
    })
}

/// True when `id` is a valid client-supplied event id: base32hex, [`EVENT_ID_LEN`] characters.
pub fn valid_event_id(id: &str) -> bool {
    EVENT_ID_LEN.contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

/// An attendee address Google accepts. Google answers 400 `invalid` "Invalid
/// attendee email." for, e.g., an address with surrounding spaces
/// (https://github.com/googleapis/google-api-php-client/issues/1605); its full
/// rule is not published, so the fake refuses only what is plainly not an
/// address: whitespace or control characters, not exactly one `@`, an empty
/// local part, a domain without a dot or with an empty label.
pub fn valid_attendee_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Applies Google's extended-property limits the way Google documents them:
/// a key longer than [`EXTENDED_PROPERTY_MAX_KEY`] drops its property, a value
/// longer than [`EXTENDED_PROPERTY_MAX_VALUE`] characters is cut to that length.
fn limit_extended_properties(ev: &mut Value) {
    for kind in ["private", "shared"] {
        let Some(map) = ev
            .pointer_mut(&format!("/extendedProperties/{kind}"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        map.retain(|k, _| k.chars().count() <= EXTENDED_PROPERTY_MAX_KEY);
        for v in map.values_mut() {
            if let Some(text) = v.as_str()
                && text.chars().count() > EXTENDED_PROPERTY_MAX_VALUE
            {
                *v = Value::String(text.chars().take(EXTENDED_PROPERTY_MAX_VALUE).collect());
            }
        }
    }
}

pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A Meet-style code (`abc-defg-hij`) derived from a conference request id, so
/// a retried request with the same id gets the same link.
fn meet_code(request_id: &str) -> String {
    let mut h = fnv(request_id);
    let mut letters = String::new();
    for i in 0..10 {
        if i == 3 || i == 7 {
            letters.push('-');
        }
        h = splitmix(h);
        letters.push(char::from(b'a' + (h % 26) as u8));
    }
    letters
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// RFC 7396 merge of `patch` into `target` (objects merge, arrays and scalars
/// replace, `null` removes): the semantics Google documents for `patch`.
fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("made an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn time_error(message: String) -> ApiError {
    if message.starts_with("Missing") {
        ApiError::required(message)
    } else {
        ApiError::invalid(message)
    }
}

fn parse_time(v: &Value, what: &str) -> Result<When, ApiError> {
    match v.get(what) {
        Some(t) if t.is_object() => times::parse_event_time(t, what).map_err(time_error),
        _ => Err(ApiError::required(format!("Missing {what} time."))),
    }
}

fn parse_rfc3339(raw: &str, name: &str) -> Result<Timestamp, ApiError> {
    raw.parse::<Timestamp>().map_err(|_| {
        ApiError::new(400, "global", "badRequest", format!("Bad Request: invalid {name}")).at("parameter", name)
    })
}

fn occ_key(ev: &Value) -> Option<OccStart> {
    let original = ev.get("originalStartTime")?;
    match times::parse_event_time(original, "originalStart").ok()? {
        When::Timed { at, .. } => Some(OccStart::At(at)),
        When::AllDay(d) => Some(OccStart::Day(d)),
    }
}

/// How `patch` and `update` treat the request body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Patch,
    Update,
}

impl Model {
    /// A user's own calendar (its owner is the user of the same address).
    pub fn ensure_calendar(&mut self, id: &str, time_zone: &str) {
        self.calendars.entry(key(id)).or_insert_with(|| Calendar {
            time_zone: time_zone.to_string(),
            events: BTreeMap::new(),
            owner: key(id),
            writers: BTreeSet::new(),
        });
    }

    /// A secondary calendar owned by `owner` (created, or given that owner).
    pub fn ensure_owned_calendar(&mut self, id: &str, time_zone: &str, owner: &str) {
        self.ensure_calendar(id, time_zone);
        if let Some(c) = self.calendars.get_mut(&key(id)) {
            c.owner = key(owner);
        }
    }

    /// Whether `user` may write events on calendar `cal` (a resolved key):
    /// its owner may; a user with an ACL rule `writer` may too, unless the
    /// token only holds `calendar.events.owned` ("See, create, change, and
    /// delete events on Google calendars you own", discovery document).
    /// A calendar the fake does not know is left to the handler (404).
    pub fn can_write(&self, cal: &str, user: &str, owned_only: bool) -> bool {
        match self.calendars.get(cal) {
            None => true,
            Some(c) => c.owner == key(user) || (!owned_only && c.writers.contains(&key(user))),
        }
    }

    /// The users of the domain: the owners of the users' own calendars.
    pub fn users(&self) -> BTreeSet<String> {
        self.calendars
            .iter()
            .filter(|(k, c)| **k == c.owner)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The calendar key a request means: `primary` is the caller's own calendar.
    pub fn resolve(id: &str, user: &str) -> String {
        if id == "primary" { key(user) } else { key(id) }
    }

    fn calendar(&self, cal: &str) -> Result<&Calendar, ApiError> {
        self.calendars.get(cal).ok_or_else(ApiError::not_found)
    }

    fn zone_of(&self, cal: &str) -> TimeZone {
        self.calendars
            .get(cal)
            .and_then(|c| times::zone(&c.time_zone))
            .unwrap_or(TimeZone::UTC)
    }

    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_event_id(&mut self) -> String {
        self.next_id += 1;
        let (a, b) = (splitmix(self.next_id), splitmix(self.next_id ^ 0xA5A5_A5A5));
        let mut bytes = a.to_be_bytes().to_vec();
        bytes.extend_from_slice(&b.to_be_bytes());
        data_encoding::BASE32HEX_NOPAD.encode(&bytes).to_lowercase()
    }

    /// Sets the fields Google's server owns after a change.
    fn touch(ev: &mut Value, seq: u64, now: Timestamp) {
        ev["updated"] = json!(times::rfc3339_millis(now));
        ev["etag"] = json!(format!("\"{}\"", 3_400_000_000_000_000u64 + seq * 1000));
    }

    /// Validates `ev` and writes it the way Google answers: times in the
    /// event's zone, attendees with a `responseStatus`, `status` set, and a
    /// conference created when asked for.
    fn normalize(&self, cal: &str, ev: &mut Value, conference_version: u8) -> Result<(), ApiError> {
        let zone = self.zone_of(cal);
        let start = parse_time(ev, "start")?;
        let end = parse_time(ev, "end")?;
        match (&start, &end) {
            (When::Timed { at: s, .. }, When::Timed { at: e, .. }) if e < s => {
                return Err(ApiError::time_range_empty("end"));
            }
            (When::AllDay(s), When::AllDay(e)) if e < s => return Err(ApiError::time_range_empty("end")),
            (When::Timed { .. }, When::AllDay(_)) | (When::AllDay(_), When::Timed { .. }) => {
                return Err(ApiError::invalid(
                    "Start and end times must either both be date or both be dateTime.",
                ));
            }
            _ => {}
        }
        let rec = recurrence(ev);
        if !rec.is_empty() {
            if rec
                .iter()
                .any(|l| l.to_ascii_uppercase().starts_with("DTSTART") || l.to_ascii_uppercase().starts_with("DTEND"))
            {
                return Err(ApiError::invalid("Invalid recurrence rule."));
            }
            if let (When::Timed { zone: sz, .. }, When::Timed { zone: ez, .. }) = (&start, &end) {
                if sz.is_none() {
                    return Err(ApiError::required("Missing time zone definition for start time."));
                }
                if ez.is_none() {
                    return Err(ApiError::required("Missing time zone definition for end time."));
                }
            }
            let zone_name = self.series_zone(cal, ev);
            times::expand(&start, &end, &rec, &zone_name, None)
                .map_err(|why| ApiError::invalid(format!("Invalid recurrence rule. ({why})")))?;
        }
        ev["start"] = times::event_time_json(&start, &zone);
        ev["end"] = times::event_time_json(&end, &zone);
        if let Some(original) = ev.get("originalStartTime").cloned() {
            let when = times::parse_event_time(&original, "originalStart").map_err(time_error)?;
            ev["originalStartTime"] = times::event_time_json(&when, &zone);
        }
        if ev.get("status").is_none() {
            ev["status"] = json!("confirmed");
        }
        let organizer = ev
            .pointer("/organizer/email")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| cal.to_string());
        limit_extended_properties(ev);
        if let Some(list) = ev.get_mut("attendees").and_then(Value::as_array_mut) {
            for a in list.iter_mut() {
                let Some(email) = a.get("email").and_then(Value::as_str) else {
                    return Err(ApiError::required("Missing attendee email."));
                };
                if !valid_attendee_email(email) {
                    return Err(ApiError::invalid("Invalid attendee email."));
                }
                let is_organizer = a
                    .get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(&organizer));
                if is_organizer {
                    a["organizer"] = json!(true);
                    a["self"] = json!(true);
                }
                if a.get("responseStatus").is_none() {
                    a["responseStatus"] = json!(if is_organizer { "accepted" } else { "needsAction" });
                }
            }
        }
        if conference_version == 0 {
            // Google ignores conference data unless the client declares version 1.
            if ev.pointer("/conferenceData/conferenceId").is_none()
                && let Some(o) = ev.as_object_mut()
            {
                o.remove("conferenceData");
            }
        } else if let Some(request_id) = ev
            .pointer("/conferenceData/createRequest/requestId")
            .and_then(Value::as_str)
        {
            let kind = ev
                .pointer("/conferenceData/createRequest/conferenceSolutionKey/type")
                .and_then(Value::as_str)
                .unwrap_or("hangoutsMeet");
            if kind != "hangoutsMeet" {
                return Err(ApiError::invalid("Invalid conference type value."));
            }
            let code = meet_code(request_id);
            let uri = format!("https://meet.google.com/{code}");
            ev["conferenceData"] = json!({
                "createRequest": {
                    "requestId": request_id,
                    "conferenceSolutionKey": { "type": "hangoutsMeet" },
                    "status": { "statusCode": "success" }
                },
                "entryPoints": [{ "entryPointType": "video", "uri": uri, "label": format!("meet.google.com/{code}") }],
                "conferenceSolution": {
                    "key": { "type": "hangoutsMeet" },
                    "name": "Google Meet",
                    "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"
                },
                "conferenceId": code
            });
            ev["hangoutLink"] = json!(uri);
        }
        Ok(())
    }

    /// The zone a series is expanded in: `start.timeZone`, else the calendar's.
    fn series_zone(&self, cal: &str, ev: &Value) -> String {
        ev.pointer("/start/timeZone")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                self.calendars
                    .get(cal)
                    .map(|c| c.time_zone.clone())
                    .unwrap_or_else(|| "UTC".into())
            })
    }

    /// The occurrences of an event (one for a single event) starting before `until`.
    fn occurrences(&self, cal: &str, ev: &Value, until: Option<Timestamp>) -> Vec<Occurrence> {
        let (Ok(start), Ok(end)) = (parse_time(ev, "start"), parse_time(ev, "end")) else {
            return Vec::new();
        };
        let rec = recurrence(ev);
        if rec.is_empty() {
            let original = match &start {
                When::Timed { at, .. } => OccStart::At(*at),
                When::AllDay(d) => OccStart::Day(*d),
            };
            return vec![Occurrence { original, start, end }];
        }
        times::expand(&start, &end, &rec, &self.series_zone(cal, ev), until).unwrap_or_default()
    }

    /// The stored exceptions of series `master_id` in `cal`, by original start.
    fn exceptions<'a>(cal: &'a Calendar, master_id: &str) -> BTreeMap<OccStart, &'a Stored> {
        cal.events
            .values()
            .filter(|s| str_field(&s.value, "recurringEventId") == Some(master_id))
            .filter_map(|s| Some((occ_key(&s.value)?, s)))
            .collect()
    }

    /// The JSON of one unmodified instance of a series.
    fn instance_json(&self, cal: &str, master: &Value, occ: &Occurrence) -> Value {
        let zone = self.zone_of(cal);
        let mut v = master.clone();
        let master_id = str_field(master, "id").unwrap_or_default().to_string();
        if let Some(o) = v.as_object_mut() {
            o.remove("recurrence");
        }
        v["id"] = json!(format!("{master_id}_{}", times::instance_stamp(&occ.original)));
        v["recurringEventId"] = json!(master_id);
        v["originalStartTime"] = times::event_time_json(&occ.start, &zone);
        v["start"] = times::event_time_json(&occ.start, &zone);
        v["end"] = times::event_time_json(&occ.end, &zone);
        v
    }

    /// Finds the instance `id` (`<series>_<stamp>`) of a stored series.
    fn lookup_instance(&self, cal: &str, id: &str) -> Option<(String, Occurrence)> {
        let (master_id, stamp) = id.rsplit_once('_')?;
        let original = times::parse_stamp(stamp)?;
        let master = &self.calendars.get(cal)?.events.get(master_id)?.value;
        if !is_recurring(master) {
            return None;
        }
        let until = match &original {
            OccStart::At(at) => at.checked_add(SignedDuration::from_secs(1)).ok()?,
            OccStart::Day(d) => When::AllDay(d.tomorrow().ok()?).instant(&TimeZone::UTC),
        };
        // All-day originals are compared by date, timed ones by instant.
        let occ = self
            .occurrences(cal, master, Some(until))
            .into_iter()
            .find(|o| o.original == original)?;
        Some((master_id.to_string(), occ))
    }

    /// `events.get`.
    pub fn get(&self, cal: &str, id: &str) -> Result<Value, ApiError> {
        let calendar = self.calendar(cal)?;
        if let Some(s) = calendar.events.get(id) {
            return Ok(s.value.clone());
        }
        let (master_id, occ) = self.lookup_instance(cal, id).ok_or_else(ApiError::not_found)?;
        if let Some(exception) = Self::exceptions(calendar, &master_id).get(&occ.original) {
            return Ok(exception.value.clone());
        }
        let master = &calendar.events[&master_id].value;
        Ok(self.instance_json(cal, master, &occ))
    }

    /// `events.insert`.
    pub fn insert(
        &mut self,
        cal: &str,
        user: &str,
        ev: Value,
        conference_version: u8,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        self.insert_inner(cal, user, ev, conference_version, true, now)
    }

    /// Test data ([`super::FakeGoogle::add_event`]): as if the calendar's owner
    /// inserted it, with any id.
    pub fn insert_raw(&mut self, cal: &str, ev: Value, now: Timestamp) -> Result<Value, ApiError> {
        self.insert_inner(cal, cal, ev, 1, false, now)
    }

    fn insert_inner(
        &mut self,
        cal: &str,
        user: &str,
        mut ev: Value,
        conference_version: u8,
        check_id: bool,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        self.calendar(cal)?;
        if !ev.is_object() {
            return Err(ApiError::new(400, "global", "parseError", "Parse Error"));
        }
        let id = match str_field(&ev, "id") {
            Some(id) if check_id && !valid_event_id(id) => return Err(ApiError::invalid("Invalid resource id value.")),
            Some(id) => id.to_string(),
            None => self.new_event_id(),
        };
        if self.calendars[cal].events.contains_key(&id) {
            return Err(ApiError::duplicate());
        }
        ev["id"] = json!(id);
        self.normalize(cal, &mut ev, conference_version)?;
        let now_s = times::rfc3339_millis(now);
        ev["kind"] = json!("calendar#event");
        ev["created"] = json!(now_s);
        ev["htmlLink"] = json!(format!(
            "https://www.google.com/calendar/event?eid={}",
            hex(&format!("{id} {cal}"))
        ));
        if ev.get("iCalUID").is_none() {
            ev["iCalUID"] = json!(format!("{id}@google.com"));
        }
        if ev.get("sequence").is_none() {
            ev["sequence"] = json!(0);
        }
        ev["creator"] = json!({ "email": user });
        if key(user) == cal {
            ev["creator"]["self"] = json!(true);
        }
        if ev.get("organizer").is_none() {
            ev["organizer"] = json!({ "email": cal });
            if key(user) == cal {
                ev["organizer"]["self"] = json!(true);
            }
        }
        if ev.get("reminders").is_none() {
            ev["reminders"] = json!({ "useDefault": true });
        }
        if ev.get("eventType").is_none() {
            ev["eventType"] = json!("default");
        }
        let seq = self.bump();
        Self::touch(&mut ev, seq, now);
        self.calendars
            .get_mut(cal)
            .expect("checked")
            .events
            .insert(id, Stored { value: ev.clone(), seq });
        Ok(ev)
    }

    /// `events.patch` (merge) and `events.update` (replace). Writing an
    /// instance id of a series creates or changes that instance's exception.
    pub fn write(
        &mut self,
        cal: &str,
        id: &str,
        body: Value,
        mode: Write,
        conference_version: u8,
        now: Timestamp,
    ) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::new(400, "global", "parseError", "Parse Error"));
        }
        if str_field(&body, "id").is_some_and(|b| b != id) {
            return Err(ApiError::invalid("Invalid resource id value."));
        }
        let old = self.get(cal, id)?;
        // An instance's exception may be stored under another id (raw test data).
        let id = str_field(&old, "id").unwrap_or(id).to_string();
        let id = id.as_str();
        let mut ev = if mode == Write::Update {
            let mut ev = body.clone();
            for field in [
                "id",
                "kind",
                "created",
                "creator",
                "organizer",
                "iCalUID",
                "htmlLink",
                "recurringEventId",
                "originalStartTime",
            ] {
                if let Some(v) = old.get(field) {
                    ev[field] = v.clone();
                }
            }
            ev
        } else {
            let mut ev = old.clone();
            let mut patch = body.clone();
            // start/end are replaced whole: merging a `dateTime` into a `date` would make both.
            for field in ["start", "end"] {
                if let Some(v) = patch.as_object_mut().and_then(|p| p.remove(field)) {
                    ev[field] = v;
                }
            }
            merge_patch(&mut ev, &patch);
            ev
        };
        // Attendees sent again without a response keep the one they gave.
        if let Some(list) = ev.get_mut("attendees").and_then(Value::as_array_mut) {
            for a in list.iter_mut() {
                if a.get("responseStatus").is_none()
                    && let Some(prev) = a
                        .get("email")
                        .and_then(Value::as_str)
                        .and_then(|e| attendee(&old, e))
                        .and_then(|p| p.get("responseStatus"))
                {
                    a["responseStatus"] = prev.clone();
                }
            }
        }
        ev["id"] = json!(id);
        self.normalize(cal, &mut ev, conference_version)?;
        if ["start", "end", "recurrence", "location", "status"]
            .iter()
            .any(|f| ev.get(*f) != old.get(*f))
        {
            let n = old.get("sequence").and_then(Value::as_i64).unwrap_or(0);
            ev["sequence"] = json!(n + 1);
        }
        let seq = self.bump();
        Self::touch(&mut ev, seq, now);
        self.calendars
            .get_mut(cal)
            .expect("get found it")
            .events
            .insert(id.to_string(), Stored { value: ev.clone(), seq });
        Ok(ev)
    }

    /// `events.delete`: the event (or instance) becomes `cancelled`.
    pub fn delete(&mut self, cal: &str, id: &str, now: Timestamp) -> Result<(), ApiError> {
        let old = self.get(cal, id)?;
        if status(&old) == "cancelled" {
            return Err(ApiError::deleted());
        }
        let id = str_field(&old, "id").unwrap_or(id);
        let mut ids = vec![id.to_string()];
        if is_recurring(&old) {
            // Cancelling a series cancels its modified instances too.
            ids.extend(
                self.calendars[cal]
                    .events
                    .values()
                    .filter(|s| str_field(&s.value, "recurringEventId") == Some(id) && status(&s.value) != "cancelled")
                    .filter_map(|s| str_field(&s.value, "id").map(str::to_string)),
            );
        }
        for (i, eid) in ids.iter().enumerate() {
            let mut ev = if i == 0 {
                old.clone()
            } else {
                self.calendars[cal].events[eid].value.clone()
            };
            ev["status"] = json!("cancelled");
            let seq = self.bump();
            Self::touch(&mut ev, seq, now);
            self.calendars
                .get_mut(cal)
                .expect("exists")
                .events
                .insert(eid.clone(), Stored { value: ev, seq });
        }
        Ok(())
    }

    /// `events.list`.
    pub fn list(&self, cal: &str, q: &Params) -> Result<Value, ApiError> {
        let calendar = self.calendar(cal)?;
        let single = flag(q, "singleEvents")?;
        let show_deleted = flag(q, "showDeleted")?;
        let sync = match param(q, "syncToken") {
            None => None,
            Some(token) => {
                for p in [
                    "privateExtendedProperty",
                    "sharedExtendedProperty",
                    "timeMin",
                    "timeMax",
                    "updatedMin",
                    "iCalUID",
                    "orderBy",
                    "q",
                ] {
                    if param(q, p).is_some() {
                        return Err(
                            ApiError::invalid(format!("Parameter {p} cannot be used with syncToken"))
                                .at("parameter", p),
                        );
                    }
                }
                Some(self.check_sync_token(cal, token)?)
            }
        };
        if param(q, "q").is_some() {
            return Err(ApiError::unsupported("the q parameter"));
        }
        let order = param(q, "orderBy");
        match order {
            None | Some("updated") => {}
            Some("startTime") if single => {}
            Some("startTime") => {
                return Err(ApiError::new(
                    400,
                    "global",
                    "badRequest",
                    "The requested ordering is not available for the particular query.",
                ));
            }
            Some(o) => {
                return Err(ApiError::invalid(format!("Invalid value '{o}' for orderBy")).at("parameter", "orderBy"));
            }
        }
        let time_min = param(q, "timeMin").map(|t| parse_rfc3339(t, "timeMin")).transpose()?;
        let time_max = param(q, "timeMax").map(|t| parse_rfc3339(t, "timeMax")).transpose()?;
        if let (Some(lo), Some(hi)) = (time_min, time_max)
            && hi <= lo
        {
            return Err(ApiError::time_range_empty("timeMax"));
        }
        let updated_min = param(q, "updatedMin")
            .map(|t| parse_rfc3339(t, "updatedMin"))
            .transpose()?;
        let mut props = Vec::new();
        for (name, path) in [
            ("privateExtendedProperty", "private"),
            ("sharedExtendedProperty", "shared"),
        ] {
            for constraint in params_all(q, name) {
                let (k, v) = constraint.split_once('=').ok_or_else(|| {
                    ApiError::invalid(format!("Invalid {name} value: expected propertyName=value"))
                        .at("parameter", name)
                })?;
                props.push((path, k, v));
            }
        }
        let ical_uid = param(q, "iCalUID");
        let zone = self.zone_of(cal);

        let matches = |ev: &Value| -> bool {
            props.iter().all(|(kind, k, v)| {
                ev.get("extendedProperties")
                    .and_then(|p| p.get(*kind))
                    .and_then(|p| p.get(*k))
                    .and_then(Value::as_str)
                    == Some(*v)
            }) && ical_uid.is_none_or(|u| str_field(ev, "iCalUID") == Some(u))
                && updated_min.is_none_or(|m| {
                    str_field(ev, "updated")
                        .and_then(|u| u.parse::<Timestamp>().ok())
                        .is_some_and(|u| u >= m)
                })
        };
        let overlaps = |occ: &Occurrence| -> bool {
            time_min.is_none_or(|lo| occ.end.instant(&zone) > lo)
                && time_max.is_none_or(|hi| occ.start.instant(&zone) < hi)
        };

        // (sort key, event) pairs; the sort key doubles as the page token.
        let mut items: Vec<(String, Value)> = Vec::new();
        let mut deleted_seen = 0usize;
        for stored in calendar.events.values() {
            let ev = &stored.value;
            if let Some(since) = sync {
                if stored.seq > since {
                    // Google: in an incremental sync a deleted event may come
                    // back with nothing but its id and status, or whole; which
                    // one is [`DeletedShape`]'s choice.
                    let deleted = status(ev) == "cancelled" && ev.get("recurringEventId").is_none();
                    let bare = match self.deleted_shape {
                        DeletedShape::IdOnly => true,
                        DeletedShape::FullBody => false,
                        DeletedShape::Alternate => deleted_seen.is_multiple_of(2),
                    };
                    if deleted {
                        deleted_seen += 1;
                    }
                    let item = if deleted && bare {
                        json!({"kind": "calendar#event", "etag": ev.get("etag").cloned().unwrap_or(Value::Null),
                               "id": str_field(ev, "id").unwrap_or_default(), "status": "cancelled"})
                    } else {
                        ev.clone()
                    };
                    items.push((String::new(), item));
                }
                continue;
            }
            if !matches(ev) {
                continue;
            }
            let cancelled = status(ev) == "cancelled";
            let is_exception = ev.get("recurringEventId").is_some();
            if single && is_recurring(ev) {
                let exceptions = Self::exceptions(calendar, str_field(ev, "id").unwrap_or_default());
                for occ in self.occurrences(cal, ev, time_max) {
                    if exceptions.contains_key(&occ.original) || !overlaps(&occ) {
                        continue;
                    }
                    if cancelled && !show_deleted {
                        continue;
                    }
                    items.push((String::new(), self.instance_json(cal, ev, &occ)));
                }
                continue;
            }
            // Google: "Cancelled instances of recurring events (but not the
            // underlying recurring event) will still be included if showDeleted
            // and singleEvents are both False."
            let listed_anyway = is_exception && !single;
            if cancelled && !show_deleted && !listed_anyway {
                continue;
            }
            let windowed = time_min.is_some() || time_max.is_some();
            if windowed && !self.occurrences(cal, ev, time_max).iter().any(&overlaps) {
                continue;
            }
            items.push((String::new(), ev.clone()));
        }
        for (k, ev) in items.iter_mut() {
            let id = str_field(ev, "id").unwrap_or_default();
            *k = match order {
                Some("startTime") => {
                    let start = parse_time(ev, "start")
                        .map(|w| w.instant(&zone).as_second())
                        .unwrap_or(0);
                    format!("{:020}|{id}", start + 100_000_000_000)
                }
                Some("updated") => format!("{}|{id}", str_field(ev, "updated").unwrap_or_default()),
                _ => id.to_string(),
            };
        }
        let (page, next) = paginate(items, q)?;
        let mut out = self.collection(cal, page, next);
        if out.get("nextPageToken").is_none() {
            out["nextSyncToken"] = json!(self.sync_token(cal));
        }
        Ok(out)
    }

    fn collection(&self, cal: &str, items: Vec<Value>, next: Option<String>) -> Value {
        let calendar = &self.calendars[cal];
        let updated = calendar
            .events
            .values()
            .filter_map(|s| str_field(&s.value, "updated"))
            .max()
            .unwrap_or("1970-01-01T00:00:00.000Z");
        let mut out = json!({
            "kind": "calendar#events",
            "etag": format!("\"p3{:014}\"", self.seq),
            "summary": cal,
            "description": "",
            "updated": updated,
            "timeZone": calendar.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{ "method": "popup", "minutes": 10 }],
            "items": items,
        });
        if let Some(token) = next {
            out["nextPageToken"] = json!(token);
        }
        out
    }

    /// A sync token of calendar `cal` (a resolved key): it names the
    /// calendar, so a token of one calendar is refused on another.
    pub fn sync_token(&self, cal: &str) -> String {
        format!("fakesync-{}-{}-{}", self.sync_epoch, hex(cal), self.seq)
    }

    /// The change counter a token of calendar `cal` stands for. A token the
    /// server does not honour (another calendar's, invalidated, made up) is
    /// 410 `fullSyncRequired`: Google's documented answer to a sync token it
    /// invalidated ("the server will respond to an incremental request with a
    /// response code 410", https://developers.google.com/workspace/calendar/api/guides/sync).
    /// Google does not say what it answers for another calendar's token; 410
    /// is the answer that makes a client read everything again.
    fn check_sync_token(&self, cal: &str, token: &str) -> Result<u64, ApiError> {
        let rest = token
            .strip_prefix("fakesync-")
            .ok_or_else(ApiError::full_sync_required)?;
        let mut parts = rest.splitn(3, '-');
        let (Some(epoch), Some(calendar), Some(seq)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ApiError::full_sync_required());
        };
        match (epoch.parse::<u64>(), unhex(calendar), seq.parse::<u64>()) {
            (Ok(e), Some(c), Ok(s)) if e == self.sync_epoch && c == cal && s <= self.seq => Ok(s),
            _ => Err(ApiError::full_sync_required()),
        }
    }

    /// `events.instances`.
    pub fn instances(&self, cal: &str, id: &str, q: &Params) -> Result<Value, ApiError> {
        let calendar = self.calendar(cal)?;
        let master = &calendar.events.get(id).ok_or_else(ApiError::not_found)?.value;
        let show_deleted = flag(q, "showDeleted")?;
        let time_min = param(q, "timeMin").map(|t| parse_rfc3339(t, "timeMin")).transpose()?;
        let time_max = param(q, "timeMax").map(|t| parse_rfc3339(t, "timeMax")).transpose()?;
        let original_start = param(q, "originalStart")
            .map(|t| parse_rfc3339(t, "originalStart"))
            .transpose()?;
        let zone = self.zone_of(cal);
        let mut items = Vec::new();
        if !is_recurring(master) {
            // A single event is its own only instance.
            if status(master) != "cancelled" || show_deleted {
                items.push((String::new(), master.clone()));
            }
        } else {
            let exceptions = Self::exceptions(calendar, id);
            for occ in self.occurrences(cal, master, time_max) {
                let ev = match exceptions.get(&occ.original) {
                    Some(s) => s.value.clone(),
                    None => self.instance_json(cal, master, &occ),
                };
                if status(&ev) == "cancelled" && !show_deleted {
                    continue;
                }
                let (Ok(s), Ok(e)) = (parse_time(&ev, "start"), parse_time(&ev, "end")) else {
                    continue;
                };
                if time_min.is_some_and(|lo| e.instant(&zone) <= lo)
                    || time_max.is_some_and(|hi| s.instant(&zone) >= hi)
                {
                    continue;
                }
                if original_start.is_some_and(|o| occ.original != OccStart::At(o)) {
                    continue;
                }
                items.push((times::instance_stamp(&occ.original), ev));
            }
        }
        let (page, next) = paginate(items, q)?;
        Ok(self.collection(cal, page, next))
    }

    /// `freeBusy.query`.
    pub fn free_busy(&self, user: &str, body: &Value) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::new(400, "global", "parseError", "Parse Error"));
        }
        let read = |name: &str| -> Result<Timestamp, ApiError> {
            let raw = body
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::required(format!("Missing {name} parameter.")).at("parameter", name))?;
            parse_rfc3339(raw, name)
        };
        let lo = read("timeMin")?;
        let hi = read("timeMax")?;
        if hi <= lo {
            return Err(ApiError::time_range_empty("timeMax"));
        }
        if hi.duration_since(lo) > FREEBUSY_MAX_RANGE {
            return Err(ApiError::new(
                400,
                "calendar",
                "timeRangeTooLong",
                "The requested time range is too long.",
            )
            .at("parameter", "timeMax"));
        }
        let out_zone = match body.get("timeZone").and_then(Value::as_str) {
            None => TimeZone::UTC,
            Some(name) => times::zone(name)
                .ok_or_else(|| ApiError::invalid("Invalid time zone definition.").at("parameter", "timeZone"))?,
        };
        let items: Vec<&str> = body
            .get("items")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|i| i.get("id").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        let expansion_max = body
            .get("calendarExpansionMax")
            .and_then(Value::as_u64)
            .map_or(FREEBUSY_MAX_CALENDARS, |m| (m as usize).min(FREEBUSY_MAX_CALENDARS));
        let too_many = items.len() > expansion_max;
        let format = |t: Timestamp| times::rfc3339_in(t, &out_zone);
        let known: Vec<String> = items
            .iter()
            .map(|id| Self::resolve(id, user))
            .filter(|cal| !too_many && self.calendars.contains_key(cal))
            .collect();
        let busy_of: HashMap<&str, Vec<(Timestamp, Timestamp)>> = known
            .iter()
            .map(String::as_str)
            .zip(self.busy_many(&known, lo, hi))
            .collect();
        let mut calendars = Map::new();
        for id in items {
            let cal = Self::resolve(id, user);
            let entry = if too_many {
                json!({ "errors": [{ "domain": "calendar", "reason": "tooManyCalendarsRequested" }], "busy": [] })
            } else if let Some(spans) = busy_of.get(cal.as_str()) {
                let busy: Vec<Value> = spans
                    .iter()
                    .map(|&(s, e)| json!({ "start": format(s), "end": format(e) }))
                    .collect();
                json!({ "busy": busy })
            } else {
                json!({ "errors": [{ "domain": "global", "reason": "notFound" }], "busy": [] })
            };
            calendars.insert(id.to_string(), entry);
        }
        Ok(json!({
            "kind": "calendar#freeBusy",
            "timeMin": times::rfc3339_millis(lo),
            "timeMax": times::rfc3339_millis(hi),
            "calendars": calendars,
        }))
    }

    /// The busy time of each calendar of `targets` in `[lo, hi)`, merged and
    /// clipped: its own opaque, non-cancelled events it did not decline, and
    /// the events of every other calendar that invite it and that it did not
    /// decline. Invitations are found through an index of attendees, rebuilt
    /// after any change of an event, so a query of 50 calendars in an
    /// organization of thousands does not read every event.
    pub fn busy_many(&self, targets: &[String], lo: Timestamp, hi: Timestamp) -> Vec<Vec<(Timestamp, Timestamp)>> {
        let mut spans: Vec<Vec<(Timestamp, Timestamp)>> = vec![Vec::new(); targets.len()];
        let mut add = |i: usize, cal_key: &str, cal: &Calendar, ev: &Value| {
            if status(ev) == "cancelled" || str_field(ev, "transparency") == Some("transparent") {
                return;
            }
            let target = &targets[i];
            let response = attendee(ev, target)
                .and_then(|a| str_field(a, "responseStatus"))
                .unwrap_or("needsAction");
            if response == "declined" || self.is_orphan(cal_key, cal, ev) {
                return;
            }
            let exceptions = if is_recurring(ev) {
                Self::exceptions(cal, str_field(ev, "id").unwrap_or_default())
                    .into_keys()
                    .collect()
            } else {
                BTreeSet::new()
            };
            let zone = self.zone_of(target);
            for occ in self.occurrences(cal_key, ev, Some(hi)) {
                if exceptions.contains(&occ.original) {
                    continue;
                }
                let (s, e) = (occ.start.instant(&zone).max(lo), occ.end.instant(&zone).min(hi));
                if s < e {
                    spans[i].push((s, e));
                }
            }
        };
        let invitations = self.invitations();
        for (i, target) in targets.iter().enumerate() {
            // Its own events.
            if let Some(cal) = self.calendars.get(target) {
                for stored in cal.events.values() {
                    add(i, target, cal, &stored.value);
                }
            }
            // The events of other calendars that invite it.
            let invited = invitations.of.get(&target.to_ascii_lowercase());
            for (cal_key, id) in invited.into_iter().flatten().filter(|(c, _)| c != target) {
                let Some(cal) = self.calendars.get(cal_key) else {
                    continue;
                };
                if let Some(stored) = cal.events.get(id) {
                    add(i, cal_key, cal, &stored.value);
                }
            }
        }
        spans
            .into_iter()
            .map(|mut spans| {
                spans.sort();
                let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
                for (s, e) in spans {
                    match merged.last_mut() {
                        Some(last) if s <= last.1 => last.1 = last.1.max(e),
                        _ => merged.push((s, e)),
                    }
                }
                merged
            })
            .collect()
    }

    /// The attendee index as of the current `seq`, rebuilt when an event
    /// changed since it was built (every change bumps `seq`).
    fn invitations(&self) -> std::sync::MutexGuard<'_, Invitations> {
        let mut index = self.invitations.lock().unwrap_or_else(PoisonError::into_inner);
        if index.seq != Some(self.seq) {
            let mut of: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (cal_key, cal) in &self.calendars {
                for (id, stored) in &cal.events {
                    let Some(attendees) = stored.value.get("attendees").and_then(Value::as_array) else {
                        continue;
                    };
                    let emails: BTreeSet<String> = attendees
                        .iter()
                        .filter_map(|a| a.get("email").and_then(Value::as_str))
                        .map(str::to_ascii_lowercase)
                        .collect();
                    for email in emails {
                        of.entry(email).or_default().push((cal_key.clone(), id.clone()));
                    }
                }
            }
            *index = Invitations {
                seq: Some(self.seq),
                of,
            };
        }
        index
    }

    /// An exception whose series no longer has its occurrence (the rule was
    /// shortened with UNTIL or COUNT after the exception was made): like
    /// `instances`, freeBusy no longer shows it.
    fn is_orphan(&self, cal_key: &str, cal: &Calendar, ev: &Value) -> bool {
        let (Some(master_id), Some(original)) = (str_field(ev, "recurringEventId"), occ_key(ev)) else {
            return false;
        };
        let Some(master) = cal.events.get(master_id).map(|s| &s.value) else {
            return false;
        };
        if !is_recurring(master) {
            return false;
        }
        let until = match &original {
            OccStart::At(at) => at.checked_add(SignedDuration::from_secs(1)).ok(),
            OccStart::Day(d) => d.tomorrow().ok().map(|next| When::AllDay(next).instant(&TimeZone::UTC)),
        };
        !self
            .occurrences(cal_key, master, until)
            .iter()
            .any(|o| o.original == original)
    }

    /// Finds the calendar that stores event `id`.
    pub fn find_event(&self, id: &str) -> Option<String> {
        self.calendars
            .iter()
            .find(|(_, c)| c.events.contains_key(id))
            .map(|(k, _)| k.clone())
    }

    /// Sets `email`'s `responseStatus` on a series (and its exceptions), or on
    /// one instance (creating its exception). `instance` is an instance id, its
    /// `YYYYMMDDTHHMMSSZ` suffix, or the RFC 3339 original start.
    pub fn set_response_status(
        &mut self,
        event_id: &str,
        email: &str,
        response: &str,
        instance: Option<&str>,
        now: Timestamp,
    ) -> Result<(), String> {
        let cal = self
            .find_event(event_id)
            .ok_or_else(|| format!("no event {event_id} on any calendar"))?;
        let targets: Vec<String> = match instance {
            None => {
                let mut ids = vec![event_id.to_string()];
                ids.extend(
                    Self::exceptions(&self.calendars[&cal], event_id)
                        .values()
                        .filter_map(|s| str_field(&s.value, "id").map(str::to_string)),
                );
                ids
            }
            Some(which) => {
                let stamp = if let Some(s) = which.strip_prefix(&format!("{event_id}_")) {
                    s.to_string()
                } else if let Ok(at) = which.parse::<Timestamp>() {
                    times::instance_stamp(&OccStart::At(at))
                } else {
                    which.to_string()
                };
                let instance_id = format!("{event_id}_{stamp}");
                let (_, occ) = self
                    .lookup_instance(&cal, &instance_id)
                    .ok_or_else(|| format!("{which} is not an instance of {event_id}"))?;
                // An exception stored under another id (raw test data) is used as is.
                let existing = Self::exceptions(&self.calendars[&cal], event_id)
                    .get(&occ.original)
                    .and_then(|s| str_field(&s.value, "id").map(str::to_string));
                if existing.is_none() {
                    let master = self.calendars[&cal].events[event_id].value.clone();
                    let ev = self.instance_json(&cal, &master, &occ);
                    let seq = self.bump();
                    self.calendars
                        .get_mut(&cal)
                        .expect("found")
                        .events
                        .insert(instance_id.clone(), Stored { value: ev, seq });
                }
                vec![existing.unwrap_or(instance_id)]
            }
        };
        for id in targets {
            let seq = self.bump();
            let stored = self
                .calendars
                .get_mut(&cal)
                .expect("found")
                .events
                .get_mut(&id)
                .expect("listed");
            let list = stored
                .value
                .get_mut("attendees")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| format!("event {id} has no attendees"))?;
            let entry = list
                .iter_mut()
                .find(|a| {
                    a.get("email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .ok_or_else(|| format!("{email} is not an attendee of {id}"))?;
            entry["responseStatus"] = json!(response);
            stored.seq = seq;
            Self::touch(&mut stored.value, seq, now);
        }
        Ok(())
    }
}

/// One page of `items` (sorted by key) after `pageToken`, and the next token.
fn paginate(mut items: Vec<(String, Value)>, q: &Params) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let max = match param(q, "maxResults") {
        None => DEFAULT_PAGE,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_PAGE),
            _ => {
                return Err(ApiError::invalid(format!(
                    "Invalid value '{m}'. Values must be within the range: [1, 2500]"
                ))
                .at("parameter", "maxResults"));
            }
        },
    };
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(token) = param(q, "pageToken") {
        let after =
            unhex(token).ok_or_else(|| ApiError::invalid("Invalid page token value.").at("parameter", "pageToken"))?;
        items.retain(|(k, _)| *k > after);
    }
    let next = if items.len() > max {
        Some(hex(&items[max - 1].0))
    } else {
        None
    };
    Ok((items.into_iter().take(max).map(|(_, v)| v).collect(), next))
}

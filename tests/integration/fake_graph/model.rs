//! The fake Graph's mailboxes and events: series expansion (daily and weekly
//! patterns, numbered / endDate / noEnd ranges, on the wall clock of the
//! series' zone), exceptions of single occurrences, `transactionId`,
//! extended properties and their `$filter`/`$expand`, `getSchedule`, and the
//! change log behind `calendarView/delta`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde_json::{Value, json};

use super::errors::GraphError;

/// Most occurrences one series expands to (an unbounded one to its first ones).
pub const MAX_OCCURRENCES: usize = 730;

/// getSchedule's limits, as Microsoft documents them: "up to 20 entities at
/// once" and "the time period to look up must be less than 62 days"
/// (https://learn.microsoft.com/en-us/graph/outlook-get-free-busy-schedule#limits-and-error-conditions).
pub const SCHEDULE_MAX_ENTITIES: usize = 20;
pub const SCHEDULE_MAX_RANGE: SignedDuration = SignedDuration::from_hours(62 * 24);

/// Windows zone names the fake knows (its own table, after CLDR's
/// windowsZones, independent of liaison's), besides IANA names.
const WINDOWS: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
];

/// A zone by Windows or IANA name, as Graph accepts both.
pub fn zone(name: &str) -> Option<TimeZone> {
    if let Some((_, iana)) = WINDOWS.iter().find(|(w, _)| w.eq_ignore_ascii_case(name)) {
        return TimeZone::get(iana).ok();
    }
    TimeZone::get(name).ok()
}

/// Graph's `dateTimeTimeZone` of an instant in UTC: `2027-03-08T09:00:00.0000000`.
pub fn utc_json(at: Timestamp) -> Value {
    json!({
        "dateTime": at.to_zoned_datetime(TimeZone::UTC).datetime().strftime("%Y-%m-%dT%H:%M:%S.0000000").to_string(),
        "timeZone": "UTC",
    })
}

/// Reads a `dateTimeTimeZone`: a civil time in the named zone (an offset in
/// the text is refused, as Graph expects a plain local time).
pub fn parse_dtz(v: &Value, what: &str) -> Result<(Timestamp, TimeZone, String), GraphError> {
    let bad = |m: String| GraphError::bad_request("ErrorInvalidRequest", m);
    let text = v
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{what}.dateTime is required")))?;
    let name = v.get("timeZone").and_then(Value::as_str).unwrap_or("UTC");
    let tz = zone(name).ok_or_else(|| {
        GraphError::bad_request(
            "TimeZoneNotSupportedException",
            format!(
                "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
            ),
        )
    })?;
    let civil: DateTime = text
        .parse()
        .map_err(|_| bad(format!("{what}.dateTime {text:?} is not a local date and time")))?;
    let at = civil
        .to_zoned_datetime(tz.clone())
        .map_err(|e| bad(format!("{what}: {e}")))?
        .timestamp();
    Ok((at, tz, name.to_string()))
}

/// One stored event: a series master, a single instance, or (in
/// `exceptions`) a changed occurrence of a master.
#[derive(Clone, Debug)]
pub struct Stored {
    pub mailbox: String,
    pub value: Value,
    /// Changed occurrences by original start.
    pub exceptions: BTreeMap<Timestamp, Exception>,
    /// Change-log sequence of the last change to it (an occurrence's
    /// included, as Exchange keeps exceptions inside the master item): its
    /// `@odata.etag`.
    pub changed: u64,
    /// Change-log sequence of the last change to the series itself (not
    /// one occurrence): part of every occurrence's etag.
    pub version: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Exception {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub cancelled: bool,
    /// Attendee answers that differ from the master's, by lower-case address.
    pub responses: BTreeMap<String, String>,
    /// Change-log sequence of its last change.
    pub changed: u64,
}

/// A deleted event, for `delta`'s `@removed` entries.
#[derive(Clone, Debug)]
pub struct Removed {
    pub mailbox: String,
    pub instance_ids: Vec<(String, Timestamp)>,
    pub at: u64,
}

#[derive(Debug, Default)]
pub struct Model {
    /// Known mailboxes (users of the tenant) and their zone.
    pub mailboxes: BTreeMap<String, String>,
    pub events: BTreeMap<String, Stored>,
    pub removed: Vec<Removed>,
    /// transactionId → event id, per mailbox.
    pub transactions: BTreeMap<(String, String), String>,
    pub seq: u64,
    pub next_id: u64,
    /// Delta tokens from before this change-log position are refused.
    pub delta_floor: u64,
}

/// One occurrence (or single instance) as a calendar view shows it.
#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub master: Option<String>,
    pub original: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub cancelled: bool,
    pub exception: bool,
}

/// An opaque-looking id of an occurrence: the master's id and the original
/// start, hex-encoded so that nothing can read it as a date.
pub fn occurrence_id(master: &str, original: Timestamp) -> String {
    let raw = format!("{master}|{}", original.as_second());
    let hex: String = raw.bytes().map(|b| format!("{b:02x}")).collect();
    format!("AAMkOcc{hex}")
}

fn parse_occurrence_id(id: &str) -> Option<(String, Timestamp)> {
    let hex = id.strip_prefix("AAMkOcc")?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let raw = String::from_utf8(bytes?).ok()?;
    let (master, secs) = raw.split_once('|')?;
    Some((master.to_string(), Timestamp::from_second(secs.parse().ok()?).ok()?))
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

pub fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The starts of a series' occurrences (original, before exceptions), on the
/// wall clock of `recurrenceTimeZone` (else the start's zone).
pub fn expand(event: &Value) -> Result<Vec<Timestamp>, GraphError> {
    let bad = |m: String| GraphError::bad_request("ErrorInvalidRequest", m);
    let (start, start_tz, _) = parse_dtz(&event["start"], "start")?;
    let Some(recurrence) = event.get("recurrence").filter(|r| !r.is_null()) else {
        return Ok(vec![start]);
    };
    let pattern = &recurrence["pattern"];
    let range = &recurrence["range"];
    let tz = match range.get("recurrenceTimeZone").and_then(Value::as_str) {
        Some(name) => zone(name).ok_or_else(|| bad(format!("recurrenceTimeZone {name:?} is not supported")))?,
        None => start_tz,
    };
    let local = start.to_zoned_datetime(tz.clone()).datetime();
    let start_date: Date = range
        .get("startDate")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| bad("recurrence.range.startDate is required (YYYY-MM-DD)".into()))?;
    let interval = pattern.get("interval").and_then(Value::as_i64).unwrap_or(1).max(1);
    let (limit, end_date) = match range.get("type").and_then(Value::as_str) {
        Some("numbered") => {
            let n = range
                .get("numberOfOccurrences")
                .and_then(Value::as_u64)
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("a numbered range needs numberOfOccurrences > 0".into()))?;
            (n as usize, None)
        }
        Some("endDate") => {
            let end: Date = range
                .get("endDate")
                .and_then(Value::as_str)
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| bad("an endDate range needs endDate (YYYY-MM-DD)".into()))?;
            if end < start_date {
                return Err(bad("recurrence.range.endDate is before its startDate".into()));
            }
            (MAX_OCCURRENCES, Some(end))
        }
        Some("noEnd") => (MAX_OCCURRENCES, None),
        other => {
            return Err(bad(format!(
                "recurrence.range.type {other:?} is not numbered, endDate or noEnd"
            )));
        }
    };
    let mut days: Vec<Weekday> = Vec::new();
    for d in pattern
        .get("daysOfWeek")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        days.push(
            d.as_str()
                .and_then(weekday)
                .ok_or_else(|| bad(format!("daysOfWeek {d} is not a day")))?,
        );
    }
    let mut dates: Vec<Date> = Vec::new();
    match pattern.get("type").and_then(Value::as_str) {
        Some("daily") => {
            let mut d = start_date;
            while dates.len() < limit && end_date.is_none_or(|e| d <= e) {
                dates.push(d);
                d = d.checked_add(interval.days()).map_err(|e| bad(e.to_string()))?;
            }
        }
        Some("weekly") => {
            if days.is_empty() {
                return Err(bad("a weekly pattern needs daysOfWeek".into()));
            }
            let first = weekday(
                pattern
                    .get("firstDayOfWeek")
                    .and_then(Value::as_str)
                    .unwrap_or("sunday"),
            )
            .unwrap_or(Weekday::Sunday);
            // The week containing startDate, from its first day.
            let back = (start_date.weekday().to_sunday_zero_offset() - first.to_sunday_zero_offset() + 7) % 7;
            let mut week = start_date
                .checked_sub((back as i64).days())
                .map_err(|e| bad(e.to_string()))?;
            'weeks: for _ in 0..MAX_OCCURRENCES {
                for offset in 0..7 {
                    let d = week.checked_add(offset.days()).map_err(|e| bad(e.to_string()))?;
                    if d < start_date || !days.contains(&d.weekday()) {
                        continue;
                    }
                    if dates.len() >= limit || end_date.is_some_and(|e| d > e) {
                        break 'weeks;
                    }
                    dates.push(d);
                }
                week = week
                    .checked_add((7 * interval).days())
                    .map_err(|e| bad(e.to_string()))?;
            }
        }
        other => {
            return Err(GraphError::bad_request(
                "ErrorInvalidRequest",
                format!("fake Graph: recurrence pattern {other:?} is not modelled (only daily and weekly)"),
            ));
        }
    }
    let mut out = Vec::new();
    for d in dates {
        let at = d
            .to_datetime(local.time())
            .to_zoned_datetime(tz.clone())
            .map_err(|e| bad(e.to_string()))?
            .timestamp();
        out.push(at);
    }
    Ok(out)
}

impl Model {
    pub fn ensure_mailbox(&mut self, address: &str, zone: &str) {
        self.mailboxes.entry(lower(address)).or_insert_with(|| zone.to_string());
    }

    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn duration(event: &Value) -> Result<SignedDuration, GraphError> {
        let (start, _, _) = parse_dtz(&event["start"], "start")?;
        let (end, _, _) = parse_dtz(&event["end"], "end")?;
        if end < start {
            return Err(GraphError::bad_request(
                "ErrorInvalidRequest",
                "The end time of the event is before its start time.",
            ));
        }
        Ok(end.duration_since(start))
    }

    /// Every instance of a stored event (cancelled exceptions included).
    pub fn instances_of(&self, id: &str) -> Result<Vec<Instance>, GraphError> {
        let stored = self.events.get(id).ok_or_else(GraphError::not_found)?;
        let duration = Self::duration(&stored.value)?;
        let series = stored.value.get("recurrence").is_some_and(|r| !r.is_null());
        let mut out = Vec::new();
        for original in expand(&stored.value)? {
            let ex = stored.exceptions.get(&original);
            let start = ex.and_then(|e| e.start).unwrap_or(original);
            let end = ex
                .and_then(|e| e.end)
                .unwrap_or_else(|| start.saturating_add(duration).unwrap_or(start));
            out.push(Instance {
                id: if series {
                    occurrence_id(id, original)
                } else {
                    id.to_string()
                },
                master: series.then(|| id.to_string()),
                original,
                start,
                end,
                cancelled: ex.is_some_and(|e| e.cancelled),
                exception: ex.is_some(),
            });
        }
        Ok(out)
    }

    /// The `@odata.etag` of an event or of one occurrence (by its id), as
    /// `If-Match` is compared with; `None` when there is no such item.
    pub fn etag(&self, id: &str) -> Option<String> {
        if let Some((master, original)) = parse_occurrence_id(id) {
            let stored = self.events.get(&master)?;
            let ex = stored.exceptions.get(&original).map_or(0, |e| e.changed);
            return Some(format!("W/\"{}.{ex}\"", stored.version));
        }
        self.events.get(id).map(|s| format!("W/\"{}\"", s.changed))
    }

    /// The JSON of one instance, as `calendarView`, `instances` and `delta` show it.
    pub fn instance_json(&self, instance: &Instance) -> Value {
        let Some(master_id) = &instance.master else {
            return self.event_json(&instance.id, None).unwrap_or(Value::Null);
        };
        let Some(stored) = self.events.get(master_id) else {
            return Value::Null;
        };
        let mut v = public_fields(&stored.value);
        v["id"] = json!(instance.id);
        v["seriesMasterId"] = json!(master_id);
        v["type"] = json!(if instance.exception { "exception" } else { "occurrence" });
        v["start"] = utc_json(instance.start);
        v["end"] = utc_json(instance.end);
        v["originalStart"] = json!(instance.original.to_string());
        v["isCancelled"] = json!(instance.cancelled);
        v["@odata.etag"] = json!(self.etag(&instance.id));
        v.as_object_mut().map(|o| o.remove("recurrence"));
        if let Some(ex) = stored.exceptions.get(&instance.original)
            && let Some(list) = v["attendees"].as_array_mut()
        {
            for a in list {
                let address = lower(a["emailAddress"]["address"].as_str().unwrap_or(""));
                if let Some(r) = ex.responses.get(&address) {
                    a["status"]["response"] = json!(r);
                }
            }
        }
        v
    }

    /// A stored event as Graph answers it: times in UTC, extended properties
    /// only when `$expand` asks for them (`expand`: the property ids asked).
    pub fn event_json(&self, id: &str, expand: Option<&[String]>) -> Result<Value, GraphError> {
        let stored = self.events.get(id).ok_or_else(GraphError::not_found)?;
        let mut v = public_fields(&stored.value);
        let (start, _, _) = parse_dtz(&stored.value["start"], "start")?;
        let (end, _, _) = parse_dtz(&stored.value["end"], "end")?;
        v["start"] = utc_json(start);
        v["end"] = utc_json(end);
        v["@odata.etag"] = json!(self.etag(id));
        if let Some(ids) = expand {
            let props: Vec<Value> = stored.value["singleValueExtendedProperties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| ids.iter().any(|i| same_property_id(i, p["id"].as_str().unwrap_or(""))))
                .cloned()
                .collect();
            v["singleValueExtendedProperties"] = json!(props);
        }
        Ok(v)
    }

    /// `POST /users/{mailbox}/events`. A `transactionId` seen before on this
    /// mailbox answers the event it created, and creates nothing.
    pub fn create(&mut self, mailbox: &str, mut event: Value, now: Timestamp) -> Result<(String, bool), GraphError> {
        if let Some(tx) = event.get("transactionId").and_then(Value::as_str) {
            let key = (lower(mailbox), tx.to_string());
            if let Some(existing) = self.transactions.get(&key)
                && self.events.contains_key(existing)
            {
                return Ok((existing.clone(), false));
            }
        }
        for key in [
            "id",
            "seriesMasterId",
            "type",
            "createdDateTime",
            "iCalUId",
            "changeKey",
        ] {
            if event.get(key).is_some() {
                return Err(GraphError::bad_request(
                    "ErrorInvalidPropertyForOperation",
                    format!("The property '{key}' is read-only and cannot be set."),
                ));
            }
        }
        if event.get("start").is_none() || event.get("end").is_none() {
            return Err(GraphError::bad_request(
                "ErrorInvalidRequest",
                "start and end are required.",
            ));
        }
        Self::duration(&event)?;
        let (_, _, start_zone) = parse_dtz(&event["start"], "start")?;
        let (_, _, end_zone) = parse_dtz(&event["end"], "end")?;
        expand(&event)?;
        for a in event["attendees"].as_array().into_iter().flatten() {
            let address = a["emailAddress"]["address"].as_str().unwrap_or("");
            if !address.contains('@') || address.contains(' ') {
                return Err(GraphError::bad_request(
                    "ErrorInvalidRecipients",
                    format!("At least one recipient is not valid., Recipient '{address}' is not resolved."),
                ));
            }
        }
        for p in event["singleValueExtendedProperties"].as_array().into_iter().flatten() {
            let pid = p["id"].as_str().unwrap_or("");
            if !pid.starts_with("String {") || !pid.contains("} Name ") || p["value"].as_str().is_none() {
                return Err(GraphError::bad_request(
                    "ErrorInvalidExtendedPropertyValue",
                    format!("fake Graph: extended property {pid:?} is not a named String property with a value"),
                ));
            }
        }
        self.next_id += 1;
        let id = format!("AAMkEvt{:06}", self.next_id);
        let series = event.get("recurrence").is_some_and(|r| !r.is_null());
        let obj = event
            .as_object_mut()
            .ok_or_else(|| GraphError::bad_request("ErrorInvalidRequest", "not an object"))?;
        obj.insert("id".into(), json!(id));
        obj.insert(
            "type".into(),
            json!(if series { "seriesMaster" } else { "singleInstance" }),
        );
        obj.insert("createdDateTime".into(), json!(now.to_string()));
        obj.insert("lastModifiedDateTime".into(), json!(now.to_string()));
        obj.insert(
            "iCalUId".into(),
            json!(format!("040000008200E00074C5B7101A82E008{:012}", self.next_id)),
        );
        obj.insert("isOrganizer".into(), json!(true));
        obj.insert("isCancelled".into(), json!(false));
        obj.insert("originalStartTimeZone".into(), json!(start_zone));
        obj.insert("originalEndTimeZone".into(), json!(end_zone));
        obj.insert(
            "organizer".into(),
            json!({"emailAddress": {"address": lower(mailbox), "name": lower(mailbox)}}),
        );
        obj.entry("showAs").or_insert(json!("busy"));
        if let Some(list) = obj.get_mut("attendees").and_then(Value::as_array_mut) {
            for a in list {
                a["status"] = json!({"response": "none", "time": "0001-01-01T00:00:00Z"});
                if a.get("type").is_none() {
                    a["type"] = json!("required");
                }
            }
        }
        if obj.get("isOnlineMeeting").and_then(Value::as_bool) == Some(true) {
            if obj.get("onlineMeetingProvider").and_then(Value::as_str) != Some("teamsForBusiness") {
                return Err(GraphError::bad_request(
                    "ErrorInvalidRequest",
                    "fake Graph: only onlineMeetingProvider teamsForBusiness is modelled",
                ));
            }
            obj.insert(
                "onlineMeeting".into(),
                json!({"joinUrl": format!("https://teams.example.invalid/l/meetup-join/{id}")}),
            );
        }
        let seq = self.bump();
        if let Some(tx) = event.get("transactionId").and_then(Value::as_str) {
            self.transactions.insert((lower(mailbox), tx.to_string()), id.clone());
        }
        self.events.insert(
            id.clone(),
            Stored {
                mailbox: lower(mailbox),
                value: event,
                exceptions: BTreeMap::new(),
                changed: seq,
                version: seq,
            },
        );
        Ok((id, true))
    }

    /// `PATCH` of a master or single instance (a merge; `recurrence`,
    /// `start`, `end` and `attendees` replaced whole), or of an occurrence
    /// id (its start and end: the occurrence becomes an exception).
    pub fn update(&mut self, mailbox: &str, id: &str, patch: &Value, now: Timestamp) -> Result<String, GraphError> {
        if let Some((master, original)) = parse_occurrence_id(id) {
            let stored = self.owned(mailbox, &master)?;
            let _ = stored;
            let instances = self.instances_of(&master)?;
            if !instances.iter().any(|i| i.original == original) {
                return Err(GraphError::not_found());
            }
            let start = patch
                .get("start")
                .map(|v| parse_dtz(v, "start"))
                .transpose()?
                .map(|t| t.0);
            let end = patch.get("end").map(|v| parse_dtz(v, "end")).transpose()?.map(|t| t.0);
            if let (Some(s), Some(e)) = (start, end)
                && e <= s
            {
                return Err(GraphError::bad_request("ErrorInvalidRequest", "end before start"));
            }
            let seq = self.bump();
            let stored = self.events.get_mut(&master).ok_or_else(GraphError::not_found)?;
            let ex = stored.exceptions.entry(original).or_default();
            if start.is_some() {
                ex.start = start;
            }
            if end.is_some() {
                ex.end = end;
            }
            ex.changed = seq;
            stored.changed = seq;
            return Ok(master);
        }
        self.owned(mailbox, id)?;
        if patch.get("transactionId").is_some() {
            return Err(GraphError::bad_request(
                "ErrorInvalidPropertyForOperation",
                "transactionId cannot be changed after the event is created.",
            ));
        }
        let mut merged = self.events.get(id).map(|s| s.value.clone()).unwrap_or(Value::Null);
        for (key, value) in patch.as_object().into_iter().flatten() {
            if ["id", "type", "seriesMasterId", "createdDateTime", "iCalUId"].contains(&key.as_str()) {
                continue;
            }
            if key == "singleValueExtendedProperties" {
                merged[key] = merge_properties(&merged[key], value)?;
                continue;
            }
            merged[key] = value.clone();
        }
        Self::duration(&merged)?;
        let new_starts: BTreeSet<Timestamp> = expand(&merged)?.into_iter().collect();
        merged["lastModifiedDateTime"] = json!(now.to_string());
        let seq = self.bump();
        let stored = self.events.get_mut(id).ok_or_else(GraphError::not_found)?;
        let recurrence_changed = patch
            .get("recurrence")
            .is_some_and(|r| *r != stored.value["recurrence"]);
        if recurrence_changed {
            // As Exchange: a new recurrence removes every exception (MS-OXOCAL
            // §3.1.4.7.3.5): moved occurrences go back to the rule's time,
            // cancelled ones come back, answers to one occurrence are gone.
            stored.exceptions.clear();
        } else {
            // Exceptions the new rule no longer has are dropped.
            stored.exceptions.retain(|k, _| new_starts.contains(k));
        }
        stored.value = merged;
        stored.changed = seq;
        stored.version = seq;
        Ok(id.to_string())
    }

    fn owned(&self, mailbox: &str, id: &str) -> Result<&Stored, GraphError> {
        let stored = self.events.get(id).ok_or_else(GraphError::not_found)?;
        if stored.mailbox != lower(mailbox) {
            return Err(GraphError::not_found());
        }
        Ok(stored)
    }

    /// `POST .../cancel` (organizer only) or `DELETE`: the event (or one
    /// occurrence) goes; a series' instances are logged as removed.
    pub fn remove(&mut self, mailbox: &str, id: &str, cancel: bool) -> Result<(), GraphError> {
        if let Some((master, original)) = parse_occurrence_id(id) {
            self.owned(mailbox, &master)?;
            let seq = self.bump();
            let stored = self.events.get_mut(&master).ok_or_else(GraphError::not_found)?;
            let ex = stored.exceptions.entry(original).or_default();
            ex.cancelled = true;
            ex.changed = seq;
            stored.changed = seq;
            return Ok(());
        }
        let stored = self.owned(mailbox, id)?;
        if cancel && stored.value["isOrganizer"].as_bool() != Some(true) {
            return Err(GraphError::bad_request(
                "ErrorAccessDenied",
                "Your request can't be completed. You need to be an organizer to cancel a meeting.",
            ));
        }
        let instance_ids = self
            .instances_of(id)
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.id, i.start))
            .collect();
        let seq = self.bump();
        if let Some(stored) = self.events.remove(id) {
            self.removed.push(Removed {
                mailbox: stored.mailbox,
                instance_ids,
                at: seq,
            });
        }
        Ok(())
    }

    /// An attendee's answer on a whole event, or on one occurrence (given by
    /// its original start), as the attendee's client would send it.
    pub fn respond(
        &mut self,
        id: &str,
        attendee: &str,
        response: &str,
        occurrence: Option<Timestamp>,
    ) -> Result<(), String> {
        let seq = self.bump();
        let stored = self.events.get_mut(id).ok_or(format!("no event {id}"))?;
        let who = lower(attendee);
        let listed = stored.value["attendees"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| lower(a["emailAddress"]["address"].as_str().unwrap_or("")) == who);
        if !listed {
            return Err(format!("{attendee} is not an attendee of {id}"));
        }
        match occurrence {
            None => {
                for a in stored.value["attendees"].as_array_mut().into_iter().flatten() {
                    if lower(a["emailAddress"]["address"].as_str().unwrap_or("")) == who {
                        a["status"] = json!({"response": response, "time": Timestamp::now().to_string()});
                    }
                }
            }
            Some(original) => {
                let ex = stored.exceptions.entry(original).or_default();
                ex.responses.insert(who, response.to_string());
                ex.changed = seq;
            }
        }
        if occurrence.is_none() {
            stored.version = seq;
        }
        stored.changed = seq;
        Ok(())
    }

    /// Events of `mailbox` matching an extended-property `$filter`, or all.
    pub fn list(&self, mailbox: &str, filter: Option<&Filter>) -> Vec<String> {
        self.events
            .iter()
            .filter(|(_, s)| s.mailbox == lower(mailbox))
            .filter(|(_, s)| filter.is_none_or(|f| f.matches(&s.value)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Busy items of `who` in `[lo, hi)`: their own events and those of others
    /// that invite them (unless they declined), with each event's `showAs`.
    pub fn schedule_items(&self, who: &str, lo: Timestamp, hi: Timestamp) -> Vec<(Timestamp, Timestamp, String)> {
        let who = lower(who);
        let mut out = Vec::new();
        for (id, stored) in &self.events {
            let attendee = stored.value["attendees"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| lower(a["emailAddress"]["address"].as_str().unwrap_or("")) == who);
            if stored.mailbox != who && attendee.is_none() {
                continue;
            }
            let declined_all =
                attendee.is_some_and(|a| a["status"]["response"].as_str() == Some("declined")) && stored.mailbox != who;
            let show = stored.value["showAs"].as_str().unwrap_or("busy").to_string();
            for i in self.instances_of(id).unwrap_or_default() {
                let declined_here = stored
                    .exceptions
                    .get(&i.original)
                    .and_then(|e| e.responses.get(&who))
                    .map(|r| r == "declined");
                if i.cancelled || declined_here.unwrap_or(declined_all) || i.end <= lo || i.start >= hi {
                    continue;
                }
                out.push((i.start.max(lo), i.end.min(hi), show.clone()));
            }
        }
        out.sort();
        out
    }

    /// The change log since `from` (exclusive) up to `to` (inclusive), inside
    /// `[lo, hi)`: the instances of changed events, and the ids of removed
    /// ones. With `from = None`, every instance in the window.
    pub fn delta(
        &self,
        mailbox: &str,
        from: Option<u64>,
        to: u64,
        lo: Timestamp,
        hi: Timestamp,
    ) -> (Vec<Value>, Vec<String>) {
        let mut items = Vec::new();
        for (id, stored) in &self.events {
            if stored.mailbox != lower(mailbox) || from.is_some_and(|f| stored.changed <= f) || stored.changed > to {
                continue;
            }
            for i in self.instances_of(id).unwrap_or_default() {
                if i.end > lo && i.start < hi {
                    items.push(self.instance_json(&i));
                }
            }
        }
        let mut removed = Vec::new();
        if let Some(f) = from {
            for r in &self.removed {
                if r.mailbox == lower(mailbox) && r.at > f && r.at <= to {
                    removed.extend(
                        r.instance_ids
                            .iter()
                            .filter(|(_, s)| *s >= lo && *s < hi)
                            .map(|(id, _)| id.clone()),
                    );
                }
            }
        }
        (items, removed)
    }
}

/// A `PATCH`'s extended properties over the stored ones: each named one is
/// created or its value replaced, the others stay ("To create one or more
/// single-value extended properties in an existing resource instance",
/// `PATCH` with them, https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties).
fn merge_properties(stored: &Value, patch: &Value) -> Result<Value, GraphError> {
    let mut out: Vec<Value> = stored.as_array().cloned().unwrap_or_default();
    for p in patch.as_array().into_iter().flatten() {
        let pid = p["id"].as_str().unwrap_or("");
        if !pid.starts_with("String {") || !pid.contains("} Name ") || p["value"].as_str().is_none() {
            return Err(GraphError::bad_request(
                "ErrorInvalidExtendedPropertyValue",
                format!("fake Graph: extended property {pid:?} is not a named String property with a value"),
            ));
        }
        match out
            .iter_mut()
            .find(|q| same_property_id(q["id"].as_str().unwrap_or(""), pid))
        {
            Some(q) => q["value"] = p["value"].clone(),
            None => out.push(p.clone()),
        }
    }
    Ok(json!(out))
}

/// Fields a client sees of a stored event (everything but the extended
/// properties, which need `$expand`).
fn public_fields(v: &Value) -> Value {
    let mut out = v.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("singleValueExtendedProperties");
    }
    out
}

/// Two extended-property ids are the same when their type, GUID (any case)
/// and name (exact case, as Graph compares names) match.
pub fn same_property_id(a: &str, b: &str) -> bool {
    let split = |s: &str| -> Option<(String, String, String)> {
        let (kind, rest) = s.trim().split_once(' ')?;
        let (guid, name) = rest.split_once(" Name ")?;
        Some((lower(kind), lower(guid.trim()), name.trim().to_string()))
    };
    match (split(a), split(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// The one `$filter` form the fake reads on events:
/// `singleValueExtendedProperties/Any(ep: ep/id eq '<id>' and ep/value eq '<value>')`
/// (values compared ignoring case, as Graph documents).
#[derive(Clone, Debug)]
pub struct Filter {
    pub property: String,
    pub value: String,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, GraphError> {
        let bad = || {
            GraphError::bad_request(
                "BadRequest",
                format!(
                    "fake Graph: $filter {text:?} is not singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')"
                ),
            )
        };
        let t = text.trim();
        let lowered = t.to_ascii_lowercase();
        let prefix = "singlevalueextendedproperties/any(ep: ep/id eq '";
        if !lowered.starts_with(prefix) || !t.ends_with("')") {
            return Err(bad());
        }
        let inner = &t[prefix.len()..t.len() - 2];
        let (property, value) = inner.split_once("' and ep/value eq '").ok_or_else(bad)?;
        Ok(Filter {
            property: property.to_string(),
            value: value.replace("''", "'"),
        })
    }

    fn matches(&self, event: &Value) -> bool {
        event["singleValueExtendedProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                same_property_id(&self.property, p["id"].as_str().unwrap_or(""))
                    && p["value"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(&self.value))
            })
    }
}

/// The property ids of `$expand=singleValueExtendedProperties($filter=id eq
/// '<a>' or id eq '<b>')`.
pub fn parse_expand(text: &str) -> Result<Vec<String>, GraphError> {
    let bad = || {
        GraphError::bad_request(
            "BadRequest",
            format!("fake Graph: $expand {text:?} is not singleValueExtendedProperties($filter=id eq '...' or ...)"),
        )
    };
    let t = text.trim();
    let inner = t
        .strip_prefix("singleValueExtendedProperties($filter=")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    inner
        .split(" or ")
        .map(|clause| {
            clause
                .trim()
                .strip_prefix("id eq '")
                .and_then(|r| r.strip_suffix('\''))
                .map(str::to_string)
                .ok_or_else(bad)
        })
        .collect()
}

//! The sled database in `state_dir`: which pairs met in which term, and every
//! series liaison booked or is about to book. Only this module knows sled.
//!
//! Trees:
//! - `meta`: `schema_version`.
//! - `series`: event id → [`SeriesRecord`] (JSON). A record is written as
//!   `Pending` and flushed *before* the calendar insert, and marked `Booked` after
//!   it: the write-ahead log that makes retries and crashes safe.
//! - `people`: email → [`PersonState`] (JSON): declined series in a row, and
//!   whether liaison paused the person.
//! - `unpaired`: term start date (`2027-01-04`) → [`TermOutcome`] (JSON): who
//!   the last cycle to plan that term left unpaired and why, replaced by every
//!   later cycle planning it; `History::waited` is derived from these. Added
//!   without a schema bump: a database without the tree reads as no outcomes
//!   (nobody waited), and an older liaison ignores a tree it does not open.
//! - `meta`: also `sync_token`, the organizer calendar's sync token of the
//!   last change read (incremental reading; absent means read everything).
//!
//! History is derived from the booked series, so it can never disagree with them.

use std::path::{Path, PathBuf};

use crate::core::plan::History;
pub use crate::core::series::{HandledOccurrence, PersonState, SeriesRecord, SeriesState};
pub use crate::core::waits::TermOutcome;

const SCHEMA_VERSION: u32 = 1;
const DB_DIR: &str = "db";
/// Keys in `meta` of the occurrences liaison dealt with.
const OCCURRENCE_PREFIX: &str = "occurrence:";
/// Key in `meta` of the people configured at the end of the last cycle.
const ROSTER_KEY: &str = "roster";
/// Key in `meta` of the calendar the last cycle wrote to.
const CALENDAR_KEY: &str = "calendar";
/// Key in `meta` of the installation that last ran on this state.
const INSTANCE_KEY: &str = "instance";

/// Waits of 50 ms for a lock still held by this process's closing handle.
const LOCK_RETRIES: u32 = 100;

/// A schema version as stored (four bytes, big-endian), or its bytes.
fn schema_text(found: &[u8]) -> String {
    match <[u8; 4]>::try_from(found) {
        Ok(bytes) => u32::from_be_bytes(bytes).to_string(),
        Err(_) => format!("{found:?}"),
    }
}

/// Errors of the store, with the path they concern.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database {path} is in use by another liaison process (is `liaison run` active?)")]
    Locked { path: PathBuf },
    #[error("state database {path}: {message}")]
    Damaged { path: PathBuf, message: String },
    /// Written by another version of liaison: kept as it is, never moved aside.
    #[error(
        "state database {path}: written by another version of liaison (schema {}, this one reads {SCHEMA_VERSION}); \
         run the version that wrote it, or move the directory aside and liaison rebuilds the state from the calendar",
        schema_text(found)
    )]
    UnknownSchema { path: PathBuf, found: Vec<u8> },
    /// An existing state directory that is not liaison's to make private
    /// (see `fsutil::create_private_dir`).
    #[error("state directory {path}: {why}")]
    Refused { path: PathBuf, why: String },
    #[error("state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The open database.
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    series: sled::Tree,
    people: sled::Tree,
    meta: sled::Tree,
    unpaired: sled::Tree,
}

impl Store {
    /// Opens (creating if needed) the database under `state_dir`, which is created
    /// private to the user (0700).
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        Store::open_waiting(state_dir, LOCK_RETRIES)
    }

    /// [`Store::open`], waiting at most `retries` times 50 ms for a lock.
    fn open_waiting(state_dir: &Path, retries: u32) -> Result<Store, StoreError> {
        crate::fsutil::create_private_dir(state_dir).map_err(|source| match crate::fsutil::refusal(&source) {
            Some(why) => StoreError::Refused {
                path: state_dir.to_path_buf(),
                why: why.to_string(),
            },
            None => StoreError::Io {
                path: state_dir.to_path_buf(),
                source,
            },
        })?;
        let path = state_dir.join(DB_DIR);
        // sled releases its file lock from a background thread after the last
        // handle drops, so a reopen right after a close can briefly find it held.
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new().path(&path).open().map_err(|e| map_sled(&path, e)) {
                Err(StoreError::Locked { .. }) if attempts < retries => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other?,
            }
        };
        let store = Store {
            series: db.open_tree("series").map_err(|e| map_sled(&path, e))?,
            people: db.open_tree("people").map_err(|e| map_sled(&path, e))?,
            meta: db.open_tree("meta").map_err(|e| map_sled(&path, e))?,
            unpaired: db.open_tree("unpaired").map_err(|e| map_sled(&path, e))?,
            db,
            path,
        };
        store.check_schema()?;
        Ok(store)
    }

    /// Opens a private copy of the database, if one exists, for read-only
    /// commands: sled rewrites files even when only read, and holds a lock while
    /// the daemon runs, so `plan` reads a snapshot instead and never touches the
    /// real state. The copy is deleted when the returned store is dropped.
    pub fn open_snapshot(state_dir: &Path) -> Result<Option<Snapshot>, StoreError> {
        let source = state_dir.join(DB_DIR);
        if !source.exists() {
            return Ok(None);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let temp = tempfile::Builder::new()
            .prefix("liaison-snapshot-")
            .tempdir()
            .map_err(io(&std::env::temp_dir()))?;
        copy_dir(&source, &temp.path().join(DB_DIR)).map_err(io(&source))?;
        let store = Store::open(temp.path())?;
        Ok(Some(Snapshot { store, _dir: temp }))
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = &self.meta;
        match meta.get("schema_version").map_err(|e| map_sled(&self.path, e))? {
            None => {
                meta.insert("schema_version", &SCHEMA_VERSION.to_be_bytes()[..])
                    .map_err(|e| map_sled(&self.path, e))?;
                Ok(())
            }
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_be_bytes() => Ok(()),
            Some(v) => Err(StoreError::UnknownSchema {
                path: self.path.clone(),
                found: v.to_vec(),
            }),
        }
    }

    /// Writes everything to disk (shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Opens the store; if the database is damaged or unreadable, moves it aside
    /// (never deletes it) and starts an empty one, which the next cycle rebuilds
    /// from the calendar. Returns where the damaged copy went, if anywhere.
    pub fn open_or_move_aside(state_dir: &Path, now: jiff::Timestamp) -> Result<(Store, Option<PathBuf>), StoreError> {
        // Every tree is read once, so a record that cannot be decoded is found
        // here, at the start, and not in every later cycle.
        let checked = Store::open(state_dir).and_then(|s| {
            s.series()?;
            s.paused_people()?;
            s.handled_occurrences()?;
            s.roster()?;
            s.instance()?;
            s.calendar()?;
            s.term_outcomes()?;
            Ok(s)
        });
        match checked {
            Ok(store) => Ok((store, None)),
            // Only a database that cannot be read as data is moved aside: a lock,
            // a permission or disk error, or a newer schema must not cost the
            // state (pauses, decline counts, pairs people ended); they stop the
            // start with a message instead.
            Err(e @ StoreError::Damaged { .. }) => {
                let from = state_dir.join(DB_DIR);
                let to = state_dir.join(format!("{DB_DIR}.damaged-{}", now.as_second()));
                std::fs::rename(&from, &to).map_err(|source| StoreError::Io {
                    path: from.clone(),
                    source,
                })?;
                tracing::warn!(error = %e, moved_to = %to.display(), "state database damaged; moved aside, rebuilding from the calendar");
                Ok((Store::open(state_dir)?, Some(to)))
            }
            Err(e) => Err(e),
        }
    }

    /// Every series record, in event-id order.
    pub fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        self.series
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(|e| map_sled(&self.path, e))?;
                serde_json::from_slice(&value).map_err(|e| StoreError::Damaged {
                    path: self.path.clone(),
                    message: format!("series {}: {e}", String::from_utf8_lossy(&key)),
                })
            })
            .collect()
    }

    /// Stores `bytes` as the series `key` as they are, for tests of what a
    /// damaged record does.
    #[cfg(test)]
    pub(crate) fn put_raw_series(&self, key: &str, bytes: &[u8]) {
        self.series.insert(key, bytes).unwrap();
    }

    pub fn get(&self, event_id: &str) -> Result<Option<SeriesRecord>, StoreError> {
        let value = self.series.get(event_id).map_err(|e| map_sled(&self.path, e))?;
        value
            .map(|v| self.decode(&format!("series {event_id}"), &v))
            .transpose()
    }

    /// Writes the record and flushes it to disk before returning: the caller may
    /// act on the calendar only after this.
    pub fn put(&self, record: &SeriesRecord) -> Result<(), StoreError> {
        // Serializing plain data with string keys cannot fail.
        let value = serde_json::to_vec(record).unwrap_or_default();
        self.series
            .insert(record.request.event_id.as_bytes(), value)
            .map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Writes the records `put` and forgets the ids `remove` at once (one
    /// sled batch: all or none), flushed before returning, with one flush
    /// instead of one per record: the intents of a batch of bookings, then
    /// what became of them.
    pub fn update(&self, put: &[SeriesRecord], remove: &[&str]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for record in put {
            // Serializing plain data with string keys cannot fail.
            batch.insert(
                record.request.event_id.as_bytes(),
                serde_json::to_vec(record).unwrap_or_default(),
            );
        }
        for id in remove {
            batch.remove(id.as_bytes());
        }
        self.series.apply_batch(batch).map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// The state of the person `email` (default when liaison knows nothing).
    pub fn person(&self, email: &str) -> Result<PersonState, StoreError> {
        let value = self.people.get(email).map_err(|e| map_sled(&self.path, e))?;
        match value {
            None => Ok(PersonState::default()),
            Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Damaged {
                path: self.path.clone(),
                message: format!("person {email}: {e}"),
            }),
        }
    }

    /// Every person liaison paused.
    pub fn paused_people(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        Ok(self
            .person_states()?
            .into_iter()
            .filter(|(_, state)| state.paused)
            .map(|(email, _)| email)
            .collect())
    }

    /// True when liaison already dealt with this changed occurrence (moved it,
    /// found no slot for it, or accepted a person's move).
    pub fn occurrence_handled(&self, instance_id: &str) -> Result<bool, StoreError> {
        let key = format!("{OCCURRENCE_PREFIX}{instance_id}");
        Ok(self.meta.get(key).map_err(|e| map_sled(&self.path, e))?.is_some())
    }

    /// Records that liaison dealt with this changed occurrence. Flushed.
    pub fn mark_occurrence_handled(&self, instance_id: &str, handled: &HandledOccurrence) -> Result<(), StoreError> {
        let key = format!("{OCCURRENCE_PREFIX}{instance_id}");
        let value = serde_json::to_vec(handled).unwrap_or_default();
        self.meta.insert(key, value).map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Writes the person's state and flushes it.
    pub fn put_person(&self, email: &str, state: &PersonState) -> Result<(), StoreError> {
        let value = serde_json::to_vec(state).unwrap_or_default();
        self.people.insert(email, value).map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// The sync token of the last change read from the organizer calendar.
    pub fn sync_token(&self) -> Result<Option<String>, StoreError> {
        let value = self.meta.get("sync_token").map_err(|e| map_sled(&self.path, e))?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Stores (or, with `None`, forgets) the sync token, flushed.
    pub fn set_sync_token(&self, token: Option<&str>) -> Result<(), StoreError> {
        match token {
            Some(t) => self.meta.insert("sync_token", t.as_bytes()).map(|_| ()),
            None => self.meta.remove("sync_token").map(|_| ()),
        }
        .map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Every series record, by event id.
    pub fn series_map(&self) -> Result<std::collections::BTreeMap<String, SeriesRecord>, StoreError> {
        Ok(self
            .series()?
            .into_iter()
            .map(|r| (r.request.event_id.clone(), r))
            .collect())
    }

    /// Forgets the record of an intent the calendar refused outright (it
    /// never landed): its id is free again. Flushed.
    pub fn remove(&self, event_id: &str) -> Result<(), StoreError> {
        self.series.remove(event_id).map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Every person liaison knows something about.
    pub fn person_states(&self) -> Result<std::collections::BTreeMap<String, PersonState>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for item in self.people.iter() {
            let (key, value) = item.map_err(|e| map_sled(&self.path, e))?;
            let email = String::from_utf8_lossy(&key).into_owned();
            let state: PersonState = self.decode(&format!("person {email}"), &value)?;
            out.insert(email, state);
        }
        Ok(out)
    }

    /// Every changed occurrence liaison dealt with, by occurrence id.
    pub fn handled_occurrences(&self) -> Result<std::collections::BTreeMap<String, HandledOccurrence>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for item in self.meta.scan_prefix(OCCURRENCE_PREFIX) {
            let (key, value) = item.map_err(|e| map_sled(&self.path, e))?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let handled: HandledOccurrence = self.decode(&key, &value)?;
            out.insert(key[OCCURRENCE_PREFIX.len()..].to_string(), handled);
        }
        Ok(out)
    }

    /// The people configured when the last cycle ended (`None` before the
    /// first one: a fresh state treats nobody as removed).
    pub fn roster(&self) -> Result<Option<std::collections::BTreeSet<String>>, StoreError> {
        self.meta_json(ROSTER_KEY)
    }

    pub fn set_roster(&self, roster: &std::collections::BTreeSet<String>) -> Result<(), StoreError> {
        self.set_meta_json(ROSTER_KEY, roster)
    }

    /// The calendar (provider and organizer) the last cycle wrote to.
    pub fn calendar(&self) -> Result<Option<String>, StoreError> {
        self.meta_json(CALENDAR_KEY)
    }

    pub fn set_calendar(&self, calendar: &str) -> Result<(), StoreError> {
        self.set_meta_json(CALENDAR_KEY, &calendar)
    }

    /// The `calendar.instance` of the last cycle that ran on this state.
    pub fn instance(&self) -> Result<Option<String>, StoreError> {
        self.meta_json(INSTANCE_KEY)
    }

    pub fn set_instance(&self, instance: &str) -> Result<(), StoreError> {
        self.set_meta_json(INSTANCE_KEY, &instance)
    }

    fn meta_json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let value = self.meta.get(key).map_err(|e| map_sled(&self.path, e))?;
        value.map(|v| self.decode(&format!("meta {key}"), &v)).transpose()
    }

    /// A stored value; one that cannot be decoded makes the database damaged
    /// (`what` names it in the message).
    fn decode<T: serde::de::DeserializeOwned>(&self, what: &str, bytes: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Damaged {
            path: self.path.clone(),
            message: format!("{what}: {e}"),
        })
    }

    fn set_meta_json<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        // Serializing plain data with string keys cannot fail.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.meta.insert(key, bytes).map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Who each planned term left unpaired, in term order.
    pub fn term_outcomes(&self) -> Result<Vec<TermOutcome>, StoreError> {
        self.unpaired
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(|e| map_sled(&self.path, e))?;
                self.decode(&format!("unpaired {}", String::from_utf8_lossy(&key)), &value)
            })
            .collect()
    }

    /// Stores the final decision of a term, replacing what an earlier cycle
    /// decided for it. Flushed before returning.
    pub fn set_term_outcome(&self, outcome: &TermOutcome) -> Result<(), StoreError> {
        // Serializing plain data with string keys cannot fail.
        let value = serde_json::to_vec(outcome).unwrap_or_default();
        self.unpaired
            .insert(outcome.start.to_string(), value)
            .map_err(|e| map_sled(&self.path, e))?;
        self.db.flush().map_err(|e| map_sled(&self.path, e))?;
        Ok(())
    }

    /// Pair history from every series that was booked.
    pub fn history(&self) -> Result<History, StoreError> {
        Ok(history(&self.series()?))
    }

    /// How many series the pair `a`, `b` already had in the term starting `term`
    /// (any state): the generation of the id of their next series.
    pub fn generations(&self, term: jiff::civil::Date, a: &str, b: &str) -> Result<u32, StoreError> {
        let pair = crate::core::plan::sorted(a, b);
        Ok(generations(&self.series()?, term).get(&pair).copied().unwrap_or(0))
    }
}

/// For each pair, how many series it already had in the term starting `term`
/// (see [`Store::generations`]), from one read of the records.
pub fn generations(
    records: &[SeriesRecord],
    term: jiff::civil::Date,
) -> std::collections::HashMap<(String, String), u32> {
    let mut counts = std::collections::HashMap::new();
    // A refused id never reached the calendar and is used again; an
    // abandoned one may still land late, so it never is.
    for r in records
        .iter()
        .filter(|r| r.request.term == term && r.state != SeriesState::Failed)
    {
        *counts.entry(r.request.pair.clone()).or_insert(0) += 1;
    }
    counts
}

/// Pair history from series records: every series that reached the calendar
/// (cancelled ones included: the two were scheduled to meet).
pub fn history(records: &[SeriesRecord]) -> History {
    let mut history = History::default();
    for r in records {
        if matches!(r.state, SeriesState::Booked | SeriesState::Cancelled) {
            let (a, b) = &r.request.pair;
            history.record(a, b, &r.units.0, &r.units.1, r.term_index);
        }
    }
    history
}

/// A read-only copy of the database; derefs to [`Store`].
pub struct Snapshot {
    store: Store,
    _dir: tempfile::TempDir,
}

impl Snapshot {
    /// An empty private database (a dry run without any state yet).
    pub fn empty() -> Result<Snapshot, StoreError> {
        let temp = tempfile::Builder::new()
            .prefix("liaison-snapshot-")
            .tempdir()
            .map_err(|source| StoreError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let store = Store::open(temp.path())?;
        Ok(Snapshot { store, _dir: temp })
    }
}

impl std::ops::Deref for Snapshot {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn map_sled(path: &Path, e: sled::Error) -> StoreError {
    match e {
        // sled wraps the failed file lock in an error of its own (kind Other,
        // "could not acquire lock on ..."), so the text is the only sign of it.
        sled::Error::Io(source)
            if source.kind() == std::io::ErrorKind::WouldBlock
                || source.raw_os_error() == Some(11)
                || source.to_string().contains("could not acquire lock") =>
        {
            StoreError::Locked {
                path: path.to_path_buf(),
            }
        }
        sled::Error::Io(source) => StoreError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => StoreError::Damaged {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Attendee, SeriesRequest};
    use jiff::SignedDuration;
    use jiff::civil::date;

    fn record(a: &str, b: &str, term: jiff::civil::Date, index: i64, state: SeriesState) -> SeriesRecord {
        let attendee = |e: &str| Attendee {
            email: e.to_string(),
            name: e.to_string(),
        };
        SeriesRecord {
            request: SeriesRequest {
                event_id: crate::core::ids::event_id("primary", term, a, b, 0),
                term,
                pair: (a.to_string(), b.to_string()),
                attendees: [attendee(a), attendee(b)],
                summary: "s".into(),
                description: "d".into(),
                location: None,
                zone: "UTC".into(),
                start: term.to_datetime(jiff::civil::time(10, 0, 0, 0)),
                duration: SignedDuration::from_mins(30),
                count: 4,
                skip: Vec::new(),
            },
            term_index: index,
            units: ("U1".into(), "U2".into()),
            state,
            declined_by: None,
            instance: None,
            intent_at: None,
            responses: Default::default(),
            refusals: 0,
            retry_at: None,
        }
    }

    #[test]
    fn records_survive_reopening_and_build_history() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .put(&record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Booked))
                .unwrap();
            store
                .put(&record("a@x", "c@x", date(2027, 2, 1), 1, SeriesState::Pending))
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        // Both records, whole, in event-id order.
        let booked = record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Booked);
        let pending = record("a@x", "c@x", date(2027, 2, 1), 1, SeriesState::Pending);
        let mut expected = vec![booked.clone(), pending.clone()];
        expected.sort_by(|x, y| x.request.event_id.cmp(&y.request.event_id));
        assert_eq!(store.series().unwrap(), expected);
        assert_eq!(store.get(&booked.request.event_id).unwrap(), Some(booked));
        assert_eq!(store.get("nosuchid0000").unwrap(), None);
        // History counts the booked series only.
        let history = store.history().unwrap();
        assert_eq!(history.last_met.get(&("a@x".into(), "b@x".into())), Some(&0));
        assert!(!history.last_met.contains_key(&("a@x".into(), "c@x".into())));
    }

    /// An outcome of term `index` (starting `start`) leaving out `left`.
    fn outcome(index: i64, start: jiff::civil::Date, left: &[(&str, &str, bool)]) -> TermOutcome {
        TermOutcome {
            index,
            start,
            unpaired: left
                .iter()
                .map(|(e, r, wait)| {
                    let left = crate::core::waits::LeftOut {
                        reason: r.to_string(),
                        wait: *wait,
                    };
                    (e.to_string(), left)
                })
                .collect(),
        }
    }

    #[test]
    fn term_outcomes_survive_reopening_and_a_later_cycle_replaces_its_terms() {
        let dir = tempfile::tempdir().unwrap();
        let (t0, t1) = (date(2027, 1, 4), date(2027, 2, 1));
        let first = outcome(0, t0, &[("a@x", "partners_taken", true), ("p@x", "paused", false)]);
        let second = outcome(1, t1, &[("a@x", "no_common_slot", true)]);
        let replaced = outcome(1, t1, &[("b@x", "calendar_unavailable", true)]);
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.term_outcomes().unwrap(), [], "a new database has none");
            store.set_term_outcome(&second).unwrap();
            store.set_term_outcome(&first).unwrap();
            assert_eq!(
                store.term_outcomes().unwrap(),
                [first.clone(), second.clone()],
                "in term order"
            );
            // A later cycle planning term 1 again: only its decision counts.
            store.set_term_outcome(&replaced).unwrap();
        }
        let (store, moved) = Store::open_or_move_aside(dir.path(), jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(moved, None);
        assert_eq!(store.term_outcomes().unwrap(), [first, replaced]);
    }

    #[test]
    fn an_outcome_that_cannot_be_decoded_moves_the_database_aside_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.unpaired.insert("2027-01-04", &b"{not json"[..]).unwrap();
            store.flush().unwrap();
        }
        let (store, moved) = Store::open_or_move_aside(dir.path(), jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert!(moved.is_some(), "the damaged database is moved aside");
        assert_eq!(store.term_outcomes().unwrap(), []);
    }

    #[test]
    fn an_update_writes_and_forgets_records_together_and_they_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let term = date(2027, 1, 4);
        let (a, b, c) = (
            record("a@x", "b@x", term, 0, SeriesState::Pending),
            record("c@x", "d@x", term, 0, SeriesState::Pending),
            record("e@x", "f@x", term, 0, SeriesState::Pending),
        );
        {
            let store = Store::open(dir.path()).unwrap();
            store.update(&[a.clone(), b.clone()], &[]).unwrap();
            let mut booked = a.clone();
            booked.state = SeriesState::Booked;
            store.update(&[booked, c.clone()], &[&b.request.event_id]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let states: Vec<_> = [&a, &b, &c]
            .iter()
            .map(|r| store.get(&r.request.event_id).unwrap().map(|r| r.state))
            .collect();
        assert_eq!(states, [Some(SeriesState::Booked), None, Some(SeriesState::Pending)]);
    }

    #[test]
    fn a_lock_released_while_waiting_is_taken_and_one_held_on_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        // Held throughout: reported as in use after the retries.
        let held = Store::open_waiting(dir.path(), 2).err().unwrap();
        assert!(matches!(held, StoreError::Locked { .. }), "{held}");
        // Released while the second open waits: it gets the database.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        let second = Store::open_waiting(dir.path(), 100);
        releaser.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn roster_calendar_and_instance_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.roster().unwrap(), None, "a fresh state has no roster");
            assert_eq!(store.calendar().unwrap(), None);
            assert_eq!(store.instance().unwrap(), None);
            let roster: std::collections::BTreeSet<String> = ["a@x".to_string(), "b@x".to_string()].into();
            store.set_roster(&roster).unwrap();
            store.set_calendar("google:primary").unwrap();
            store.set_instance("i-abc").unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let roster: Vec<String> = store.roster().unwrap().unwrap().into_iter().collect();
        assert_eq!(roster, ["a@x", "b@x"]);
        assert_eq!(store.calendar().unwrap().as_deref(), Some("google:primary"));
        assert_eq!(store.instance().unwrap().as_deref(), Some("i-abc"));
    }

    #[test]
    fn handled_occurrences_and_removed_records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Booked);
        let b = record("a@x", "c@x", date(2027, 1, 4), 0, SeriesState::Pending);
        let handled = HandledOccurrence {
            series: a.request.event_id.clone(),
            note: "moved by liaison".into(),
            at: None,
            original: None,
        };
        {
            let store = Store::open(dir.path()).unwrap();
            assert!(!store.occurrence_handled("occ1").unwrap());
            store.mark_occurrence_handled("occ1", &handled).unwrap();
            store.put(&a).unwrap();
            store.put(&b).unwrap();
            store.remove(&b.request.event_id).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert!(store.occurrence_handled("occ1").unwrap());
        assert!(!store.occurrence_handled("occ2").unwrap());
        assert_eq!(store.handled_occurrences().unwrap().get("occ1"), Some(&handled));
        assert_eq!(store.get(&b.request.event_id).unwrap(), None, "removed");
        assert_eq!(store.series().unwrap(), vec![a]);
    }

    #[test]
    fn generations_count_the_pairs_series_of_the_term_except_refused_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let term = date(2027, 1, 4);
        assert_eq!(store.generations(term, "a@x", "b@x").unwrap(), 0);
        let mut first = record("a@x", "b@x", term, 0, SeriesState::Cancelled);
        store.put(&first).unwrap();
        first.request.event_id = "second".into();
        first.state = SeriesState::Abandoned;
        store.put(&first).unwrap();
        first.request.event_id = "refused".into();
        first.state = SeriesState::Failed;
        store.put(&first).unwrap();
        // Other pairs and terms do not count.
        store.put(&record("a@x", "c@x", term, 0, SeriesState::Booked)).unwrap();
        store
            .put(&record("a@x", "b@x", date(2027, 2, 1), 1, SeriesState::Booked))
            .unwrap();
        assert_eq!(
            store.generations(term, "b@x", "a@x").unwrap(),
            2,
            "cancelled and abandoned"
        );
    }

    #[test]
    fn a_database_of_another_schema_version_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.meta.insert("schema_version", &99u32.to_be_bytes()[..]).unwrap();
            store.flush().unwrap();
        }
        let opened = Store::open(dir.path()).err().unwrap();
        assert!(matches!(opened, StoreError::UnknownSchema { .. }), "{opened}");
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert!(Store::open_or_move_aside(dir.path(), now).is_err(), "never moved aside");
        assert!(dir.path().join(DB_DIR).exists());
    }

    #[test]
    fn a_database_path_that_is_a_file_is_an_io_error_not_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DB_DIR), b"not a directory").unwrap();
        let opened = Store::open_waiting(dir.path(), 1).err().unwrap();
        assert!(matches!(opened, StoreError::Io { .. }), "{opened:?}");
    }

    #[test]
    fn every_field_of_a_record_survives_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Failed);
        r.refusals = 2;
        r.retry_at = Some(jiff::Timestamp::from_second(1_800_000_000).unwrap());
        r.instance = Some("i-abc".into());
        r.declined_by = Some("a@x".into());
        r.intent_at = Some(jiff::Timestamp::from_second(1_700_000_000).unwrap());
        r.responses = [("a@x".to_string(), crate::calendar::AttendeeResponse::Declined)].into();
        {
            Store::open(dir.path()).unwrap().put(&r).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.get(&r.request.event_id).unwrap(), Some(r));
    }

    #[test]
    fn read_only_commands_do_not_create_a_database() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::open_snapshot(dir.path()).unwrap().is_none());
        assert!(!dir.path().join(DB_DIR).exists());
    }

    #[test]
    fn a_snapshot_reads_the_data_even_while_the_database_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .put(&record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Booked))
            .unwrap();
        let snapshot = Store::open_snapshot(dir.path()).unwrap().unwrap();
        let booked = record("a@x", "b@x", date(2027, 1, 4), 0, SeriesState::Booked);
        assert_eq!(snapshot.series().unwrap(), std::slice::from_ref(&booked));
        // A copy: later writes to the database do not show in it.
        store
            .put(&record("a@x", "c@x", date(2027, 2, 1), 1, SeriesState::Pending))
            .unwrap();
        assert_eq!(snapshot.series().unwrap(), [booked]);
        assert_eq!(store.series().unwrap().len(), 2);
    }

    #[test]
    fn people_and_the_sync_token_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.sync_token().unwrap(), None);
            store.set_sync_token(Some("tok1")).unwrap();
            let state = PersonState {
                declines_in_a_row: 3,
                paused: true,
            };
            store.put_person("a@x", &state).unwrap();
            store.put_person("b@x", &PersonState::default()).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.sync_token().unwrap().as_deref(), Some("tok1"));
        let paused = PersonState {
            declines_in_a_row: 3,
            paused: true,
        };
        assert_eq!(store.person("a@x").unwrap(), paused);
        assert_eq!(store.person("c@x").unwrap(), PersonState::default());
        let known: Vec<(String, PersonState)> = store.person_states().unwrap().into_iter().collect();
        assert_eq!(
            known,
            [("a@x".to_string(), paused), ("b@x".to_string(), PersonState::default())]
        );
        assert_eq!(store.paused_people().unwrap().into_iter().collect::<Vec<_>>(), ["a@x"]);
        store.set_sync_token(None).unwrap();
        assert_eq!(store.sync_token().unwrap(), None);
    }

    #[test]
    fn a_record_that_cannot_be_decoded_moves_the_database_aside_at_the_start() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.people.insert("a@x", &b"not json"[..]).unwrap();
            store.flush().unwrap();
        }
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let (store, moved) = Store::open_or_move_aside(dir.path(), now).unwrap();
        let moved = moved.expect("moved aside");
        assert!(moved.exists(), "the damaged copy is kept");
        assert!(store.paused_people().unwrap().is_empty());
    }

    #[test]
    fn a_healthy_database_is_never_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert!(Store::open_or_move_aside(dir.path(), now).unwrap().1.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_state_directory_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        Store::open(&state).unwrap();
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

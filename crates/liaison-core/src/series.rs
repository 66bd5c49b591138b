//! What liaison remembers about each series and person: plain data that the
//! store keeps and that reconciling decides from.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::interval::Interval;
use crate::model::{AttendeeResponse, SeriesRequest};

/// Where a series is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesState {
    /// Intent recorded; the insert may or may not have reached the calendar.
    Pending,
    /// The calendar has it.
    Booked,
    /// Ended (early, by liaison) or deleted (by a person): it is not booked
    /// again this term. `request.count` is how many occurrences it kept.
    Cancelled,
    /// The intent never reached the calendar (found missing, after the
    /// calendar's write timeout, when resolving it). Its id is never used
    /// again: a late landing under it is removed as soon as it is seen.
    Abandoned,
    /// The calendar refused this pair (not everyone): retried with backoff on
    /// later cycles, left for the term after [`MAX_REFUSALS`].
    Failed,
    /// An insert that landed after its intent had been given up (its people
    /// were planned again): removed as soon as the guard lets it, and until
    /// then remembered as such, never taken for a booking.
    Unwanted,
}

impl SeriesState {
    /// The state as `status` and `history` show it.
    pub fn label(self) -> &'static str {
        match self {
            SeriesState::Pending => "pending",
            SeriesState::Booked => "booked",
            SeriesState::Cancelled => "cancelled",
            SeriesState::Abandoned => "abandoned",
            SeriesState::Failed => "refused by the calendar",
            SeriesState::Unwanted => "landed late; being removed",
        }
    }
}

/// Refusals after which a pair is left for the rest of the term.
pub const MAX_REFUSALS: u32 = 3;

/// One series as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRecord {
    pub request: SeriesRequest,
    /// Index of the term (for history: how long ago a pair met).
    pub term_index: i64,
    /// Units of the two people at booking time, in pair order.
    pub units: (String, String),
    pub state: SeriesState,
    /// The attendee who declined the whole series, while liaison has not yet
    /// ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    /// The installation that owns the event; `None` for records and events
    /// written before markers existed (adopted as this installation's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// When the intent was flushed (wall clock), for a pending intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_at: Option<Timestamp>,
    /// The answers of the two people as last read, so an old acceptance read
    /// again is not taken for a new one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<String, AttendeeResponse>,
    /// Refusals of this pair by the calendar this term (state `Failed`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refusals: u32,
    /// Not tried again before this instant (state `Failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SeriesRecord {
    /// A new record in `state` with nothing else known.
    pub fn new(request: SeriesRequest, term_index: i64, units: (String, String), state: SeriesState) -> SeriesRecord {
        SeriesRecord {
            request,
            term_index,
            units,
            state,
            declined_by: None,
            instance: None,
            intent_at: None,
            responses: BTreeMap::new(),
            refusals: 0,
            retry_at: None,
        }
    }

    /// True when the event belongs to the installation `instance` (records
    /// without a marker predate markers and are this installation's).
    pub fn owned_by(&self, instance: &str) -> bool {
        self.instance.as_deref().is_none_or(|i| i == instance)
    }
}

/// What liaison remembers about one person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonState {
    /// Series this person declined in a row (reset when they accept one).
    pub declines_in_a_row: u32,
    /// Paused by liaison after `pairing.pause_after_declines` declined series.
    pub paused: bool,
}

/// A changed occurrence liaison dealt with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandledOccurrence {
    pub series: String,
    pub note: String,
    /// Where it takes place now (`None` when it was cancelled).
    pub at: Option<Interval>,
    /// Where the rule put it; absent in records of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Timestamp>,
}

impl HandledOccurrence {
    /// Where it takes place at another time than the rule's and has not
    /// ended by `now`: what ending its series must keep in mind. An old record
    /// without the original time counts when it has not ended.
    pub fn moved_to(&self, now: Timestamp) -> Option<Interval> {
        let at = self.at?;
        let moved = self.original.is_none_or(|o| o != at.start);
        (moved && at.end > now).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SeriesRecord {
        let request = crate::reconcile::tests::request("a-b");
        SeriesRecord::new(request, 10, ("A".into(), "B".into()), SeriesState::Failed)
    }

    #[test]
    fn each_state_has_the_words_status_and_history_show() {
        let labels = [
            (SeriesState::Pending, "pending"),
            (SeriesState::Booked, "booked"),
            (SeriesState::Cancelled, "cancelled"),
            (SeriesState::Abandoned, "abandoned"),
            (SeriesState::Failed, "refused by the calendar"),
            (SeriesState::Unwanted, "landed late; being removed"),
        ];
        for (state, label) in labels {
            assert_eq!(state.label(), label);
        }
    }

    #[test]
    fn refusals_are_stored_only_when_there_are_some_and_read_back() {
        let mut r = record();
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("refusals"), "{json}");
        r.refusals = 2;
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"refusals\":2"), "{json}");
        assert_eq!(serde_json::from_str::<SeriesRecord>(&json).unwrap(), r);
    }

    #[test]
    fn a_moved_occurrence_counts_until_it_has_ended() {
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        let moved = HandledOccurrence {
            series: "id".into(),
            note: "moved".into(),
            at: Some(Interval::new(at("2027-03-09T10:00:00Z"), at("2027-03-09T10:30:00Z"))),
            original: Some(at("2027-03-08T10:00:00Z")),
        };
        assert!(moved.moved_to(at("2027-03-09T10:29:59Z")).is_some());
        assert_eq!(moved.moved_to(at("2027-03-09T10:30:00Z")), None, "ended at its end");
        // Where the rule put it is not a move.
        let kept = HandledOccurrence {
            original: Some(at("2027-03-09T10:00:00Z")),
            ..moved.clone()
        };
        assert_eq!(kept.moved_to(at("2027-03-01T00:00:00Z")), None);
        // An old record without the original time counts.
        let old = HandledOccurrence {
            original: None,
            ..moved
        };
        assert!(old.moved_to(at("2027-03-01T00:00:00Z")).is_some());
    }
}

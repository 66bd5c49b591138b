//! The pure scheduling core: plain data in, plain data out.
//!
//! Nothing in here does I/O, reads a clock, logs, or awaits: `now` and every
//! calendar are arguments. That is what lets `plan`, `run` and the tests share
//! one planning function and lets the tests check every occurrence exhaustively.
//!
//! Layout:
//! - [`interval`]: half-open instant intervals and normalized sets of them.
//! - [`term`]: which dates a term covers.
//! - [`availability`]: a person's free time (working windows in their own zone
//!   minus busy time widened by the buffer).
//! - [`slot`]: weekly slots, their occurrences in a term, validity and scores.
//! - [`matching`]: maximum-weight matching on a general graph; `augment`:
//!   growing a given matching to maximum size (large plans).
//! - [`plan`]: candidate pairs, weights, the matching and the resulting plan,
//!   phase by phase; [`plan_input`] what it reads; [`pair_keys`] the history
//!   keys it weighs pairs by.
//! - [`week_slot`]: another time for one occurrence in the same week.
//! - [`waits`]: who each term left unpaired, and from it the terms in a
//!   row each person waited (the planner's fairness tier).
//! - [`ids`]: deterministic event ids.
//! - [`model`]: the plain data exchanged with calendars.
//! - [`series`]: what liaison remembers about each series and person.
//! - [`reconcile`]: decide a cycle's actions from the store and the calendar's
//!   changes, and check them before anything is applied.

// Tests may unwrap: a failure there is a failing test, not a crash.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub(crate) mod augment;
pub mod availability;
pub mod ids;
pub mod interval;
pub mod matching;
pub mod model;
pub mod pair_keys;
pub mod plan;
pub mod plan_input;
pub mod reconcile;
pub mod series;
pub mod slot;
pub mod term;
pub mod waits;
pub mod week_slot;

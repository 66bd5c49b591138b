//! Reconciling: what a cycle does about the series liaison knows and what the
//! calendar reported (DESIGN §4 "Reconcile: decide, check, apply").
//!
//! [`decide`] turns the configuration, the store and the calendar's changes
//! into a list of [`Action`]s, each with its reason; [`check`] refuses those
//! that would harm calendars by mistake (another installation's events,
//! anything inside the minimum notice, cancellations in bulk). Both are pure:
//! the cycle (`crate::cycle`) reads the calendar and applies what is left.
//!
//! Layout: [`action`] (what a cycle does, with reasons), [`decide`],
//! [`check`], [`occurrences`] (when a series meets, what ending it keeps),
//! [`schedule`] (whether new terms fit the booked series).

pub mod action;
pub mod check;
pub mod decide;
pub mod occurrences;
pub mod schedule;

pub use action::*;
pub use check::*;
pub use decide::*;
pub use occurrences::*;
pub use schedule::*;

#[cfg(test)]
pub(crate) mod tests;

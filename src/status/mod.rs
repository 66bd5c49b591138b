//! `status.json`: what the last cycle did, the connections of this term and the
//! next, and what needs attention. The cycle writes it; `liaison status` reads it.
//!
//! The file exists because sled allows one process at a time: `status` must work
//! while the daemon holds the database, so everything it shows is in this file
//! and `status` opens nothing else (no database, no calendar). It is written to a
//! temporary file in the same directory, fsynced and renamed, so a reader sees
//! the old file or the new one, never half of one; mode 0600. It holds names,
//! emails, units, times and error messages, never a credential (DESIGN §6.6: the
//! providers' errors never carry secrets).
//!
//! Layout: [`types`] the file's types; [`build`] (a cycle's status, written after
//! each cycle), [`file`] (atomic write, checked read), [`render`] (`liaison
//! status` for people).

mod build;
mod file;
mod render;
pub mod types;

pub use crate::cycle::Counts;
pub use crate::notes::{CycleNotes, RefusedAction, UnpairedPerson};
pub use build::{build, record_cycle};
pub use file::{ReadError, read, write};
pub use render::render;
pub use types::*;

#[cfg(test)]
mod tests;

//! Fuzzing of every parser of outside input, on stable Rust with proptest:
//! the configuration file, iCalendar files (people's calendars and
//! bookings.ics, read through the local provider), Google's JSON answers,
//! `status.json` and the OAuth credential files (client secret,
//! service-account key, token.json).
//!
//! Inputs are structure-aware (`mutate`): valid documents of each format cut,
//! flipped, with lines deleted, repeated or inserted, values of the wrong type
//! or huge or odd Unicode, very long lines and deep nesting. Every parser
//! must hold three properties on each input: it does not panic; it stays
//! within a memory and time bound (`harness::bounded`, measured by the
//! counting allocator of `alloc`); and a refusal is an error value whose
//! message names the file (or the API call) and the line or the key.
//!
//! `cargo test` runs a few dozen cases per parser; `LIAISON_FUZZ_CASES=<n>`
//! runs n per parser (README "Fuzzing" gives the command of the long run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
mod config;
mod credentials;
mod google;
mod harness;
mod ics;
mod mutate;
mod status;

#[global_allocator]
static COUNTING: alloc::Counting = alloc::Counting;

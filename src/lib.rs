//! liaison: pairs leaders across the units of an organization and books a weekly
//! connection for each pair, term after term.
//!
//! Layout:
//! - [`core`]: the pure scheduling core (intervals, availability, slots, matching,
//!   planning). No I/O, no clock, no async, no logging.
//! - [`config`]: loading and validating the TOML configuration.
//! - [`calendar`]: calendar providers behind one trait (local iCalendar files).
//! - [`store`]: the sled database (history and booked series).
//! - [`app`]: the shell that wires them together for each command.
//! - [`cycle`]: one cycle (`run --once` and each turn of the daemon): read, then
//!   `core::reconcile` decides and checks, then apply and book.
//! - [`dry_run`]: `run --once --dry-run`: the cycle with nothing written.
//! - [`daemon`]: `liaison run`: the loop, signals, reload, systemd notification.
//! - [`status`]: `status.json`, written after each cycle, read by `liaison status`.
//! - [`history`]: who met whom and the unit × unit coverage matrix.
//! - [`report`]: `liaison report`, the HTML page of the network (from the
//!   data of `history` and `status`), rewritten after each cycle.
//! - [`progress`]: progress bars on a terminal for long reads and bookings.
//! - [`logging`]: the log filter, `$LIAISON_LOG` under a cap for dependencies.
//! - `test_hooks` (only with the `test-hooks` feature, which only the tests
//!   enable): the binary's switches for integration tests.

// Tests may unwrap: a failure there is a failing test, not a crash.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod booking;
pub mod calendar;
pub mod config;
pub use liaison_core as core;
pub mod cycle;
pub mod daemon;
pub mod demo;
pub mod dry_run;
pub mod failure;
pub mod fsutil;
pub mod history;
pub mod logging;
pub mod manual;
pub mod notes;
pub mod progress;
pub mod provider;
pub mod render;
pub mod report;
pub mod runner;
pub mod status;
pub mod store;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod text_table;

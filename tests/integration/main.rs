//! Integration tests: the real `liaison` binary on temporary directories, and
//! the real Google clients against a fake Google API on 127.0.0.1.
//! One test binary with a module per topic (faster to link, easy to find).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod caldav;
mod caldav_servers;
mod closed_stdout;
mod consent;
mod daemon;
mod demo;
mod endpoints;
mod fake_google;
mod fake_graph;
mod google;
mod google_budget;
mod log_cap;
mod long_cycle;
mod microsoft;
mod microsoft_end;
mod microsoft_skip;
mod reconcile;
mod release_build;
mod repair;
mod report;
mod run_once;
mod state;
mod status;
mod strict;
mod terms;
mod twins;
mod util;
mod waits;

//! Integration tests: the real `liaison` binary on temporary directories.
//! One test binary with a module per topic (faster to link, easy to find).

mod bad_input;
mod demo;
mod fake_google;
mod util;

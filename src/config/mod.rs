//! Configuration: finding the file, reading it, and turning it into a validated
//! [`Config`].
//!
//! The TOML text is first deserialized into *raw* structs that mirror the file
//! (every field optional, most wrapped in `Spanned` so that a message can name
//! the line), then validated field by field into the typed [`Config`] of
//! `types.rs`. Validation never stops at the first problem: every error in the
//! file is collected and reported together, each with the file, the line, the
//! key and what to write instead. Only syntax errors, unknown keys and values of
//! the wrong TOML type stop early, because the TOML parser reports those one at
//! a time.
//!
//! Defaults live in one place, the [`defaults`] module, and go through the same
//! parsers as values from the file; `config.example.toml` documents them and a
//! test checks that the two agree.
//!
//! Layout, in the order a file goes through (this module only wires them up:
//! [`load`] and [`parse`]):
//! - `locate`: where the file is ([`find_config_path`]: `--config`,
//!   `$LIAISON_CONFIG`, the XDG and system places) and the default state
//!   directory, from the environment ([`Env`]);
//! - `raw`: the serde structs that mirror the file;
//! - `validate`: the error collector and one checker per table, from the raw
//!   structs to the [`Config`] of `types`;
//! - `parsers`: the formats of values (durations, windows, days, dates, zones,
//!   emails, paths, URLs, template placeholders), pure functions that return
//!   the message for a bad value; [`endpoint_url`], the rule for every URL
//!   liaison sends to, also serves the credential files;
//! - [`defaults`]; `error`: [`ConfigError`] and [`ConfigErrors`];
//! - `render`: [`render`] of the meeting templates and the [`summary`] that
//!   `liaison check` prints.
//!
//! They depend one way: `validate` uses `parsers`, `raw`, `locate`, `defaults`,
//! `error` and `types`; `render` uses `parsers` and `types`; `parsers` uses
//! `locate` (for `~/`); none of them imports this module.

pub mod defaults;
mod error;
mod locate;
mod parsers;
mod raw;
mod render;
mod types;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use locate::{Env, find_config_path};
pub use parsers::endpoint_url;
pub use render::{render, summary};
pub use types::*;
pub use validate::derived_instance;

use std::path::Path;

use raw::{RawConfig, line_of_unplaced, plain_toml_message};
use validate::{Ctx, validate};

/// Reads and validates the configuration file at `path`, taking the default
/// state directory from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigErrors::single(path, format!("cannot read the configuration file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes().iter().take(valid).filter(|&&b| b == b'\n').count() + 1;
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: Some(line),
            key: None,
            message: "the file is not valid UTF-8; expected a TOML file in UTF-8".into(),
        }])
    })?;
    // Relative paths in the file are resolved against the file's directory.
    // Making that directory absolute here keeps the resolved paths valid even
    // if the daemon later runs with another working directory.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    parse(&text, &absolute, &Env::from_process())
}

/// Validates configuration `text` read from `path` (used for messages and to
/// resolve relative paths). Pure: reads no file and no environment.
pub fn parse(text: &str, path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx {
        path,
        text,
        errors: Vec::new(),
        breaks: Default::default(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = match e.span() {
                Some(span) => Some(ctx.line_of(span.start)),
                None => line_of_unplaced(text, e.message()),
            };
            ctx.errors.push(ConfigError {
                path: path.to_path_buf(),
                line,
                key: None,
                message: plain_toml_message(e.message()),
            });
            return Err(ConfigErrors(ctx.errors));
        }
    };
    let config = validate(&mut ctx, raw, env);
    match config {
        Some(config) if ctx.errors.is_empty() => Ok(config),
        _ => {
            if ctx.errors.is_empty() {
                // Every `None` above comes with an error; this is a safety net
                // so that a missed case can never pass as a valid config.
                ctx.errors.push(ConfigError {
                    path: path.to_path_buf(),
                    line: None,
                    key: None,
                    message: "internal error: configuration rejected without a reason".into(),
                });
            }
            // Stable sort: errors without a line (missing keys) come first,
            // the rest in file order, each line's errors in validation order.
            ctx.errors.sort_by_key(|e| e.line);
            Err(ConfigErrors(ctx.errors))
        }
    }
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

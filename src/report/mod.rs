//! `liaison report`: the network as one self-contained HTML page for the
//! people who sponsor the program: a unit × unit heatmap of connections
//! (pairs of units that never met marked), the terms (pairs, cancellations,
//! repeats, coverage, who was left unpaired and why), each person's partners
//! and who has waited longest, and the current term's meetings in each
//! person's own time.
//!
//! Layout: [`model`] is a pure function from the data of `history --json`
//! ([`crate::history::build`] on the store's records and the configured
//! units, as `liaison history` calls it) and `status --json` to a plain
//! [`model::Report`]; `html` renders it (maud, which escapes every value),
//! `heatmap` draws the SVG. Here: gathering the input and writing the file
//! atomically, by `liaison report` and after each cycle.

mod heatmap;
mod html;
pub mod model;

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::config::Config;
use crate::status::Status;
use crate::store::SeriesRecord;

/// The file's name inside `state_dir` (the default of `--out`, and where
/// each cycle rewrites it).
pub const FILE_NAME: &str = "report.html";

/// `state_dir/report.html`.
pub fn default_path(cfg: &Config) -> PathBuf {
    cfg.state_dir.join(FILE_NAME)
}

/// The report's model from the store's records and the status (`None`
/// before the first cycle), as `history` and `status` read them.
pub fn model(cfg: &Config, records: &[SeriesRecord], status: Option<&Status>, now: Timestamp) -> model::Report {
    let units: Vec<String> = cfg.people.iter().map(|p| p.unit.clone()).collect();
    let history = crate::history::build(records, &units);
    let people: Vec<model::Member> = cfg
        .people
        .iter()
        .map(|p| model::Member {
            email: p.email.clone(),
            name: p.name.clone(),
            unit: p.unit.clone(),
        })
        .collect();
    model::build(&model::Input {
        zone: &cfg.timezone,
        zone_name: &cfg.timezone_name,
        people: &people,
        history: &history,
        status,
        now,
    })
}

/// The page of `report`.
pub fn render(report: &model::Report) -> String {
    html::render(report)
}

/// Whether the page can be written at `path`, or why not: a directory (a
/// file name is expected) or a symbolic link (the atomic write would replace
/// the link with a file, and following it would write where the user did
/// not name; so the link's target must be named).
pub fn check_out(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::read_link(path).map_or_else(|_| "?".to_string(), |t| t.display().to_string());
            Err(format!(
                "is a symbolic link (to {target}); the report is written as a new file renamed into place, \
                 which would replace the link: name the file itself"
            ))
        }
        Ok(meta) if meta.is_dir() => Err(format!(
            "is a directory; a file name is expected, e.g. {}",
            path.join(FILE_NAME).display()
        )),
        _ => Ok(()),
    }
}

/// Writes the page to `path` atomically (a reader sees the old page or the
/// new one), private to the user like the rest of the state: it names people.
/// Refuses what [`check_out`] refuses.
pub fn write(path: &Path, page: &str) -> std::io::Result<()> {
    check_out(path).map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    crate::fsutil::write_atomically(path, page.as_bytes(), crate::fsutil::Mode::Private)
}

/// Rewrites `state_dir/report.html` after a cycle. A failure is logged, not
/// returned: the cycle's own result is what the caller acts on.
pub fn record_cycle(cfg: &Config, records: &[SeriesRecord], status: &Status, now: Timestamp) {
    let path = default_path(cfg);
    let page = render(&model(cfg, records, Some(status), now));
    if let Err(e) = write(&path, &page) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the report");
    }
}

#[cfg(test)]
mod tests;

//! `status.json` on disk: written atomically (0600), read with its schema
//! version checked.

use std::path::{Path, PathBuf};

use super::types::*;

/// Writes the status into `state_dir` atomically with mode 0600.
pub fn write(state_dir: &Path, status: &Status) -> std::io::Result<()> {
    let mut text = serde_json::to_string_pretty(status).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::fsutil::write_atomically(
        &state_dir.join(FILE_NAME),
        text.as_bytes(),
        crate::fsutil::Mode::Private,
    )
}

/// Why `status.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no cycle has run yet ({} does not exist): start `liaison run` or run `liaison run --once`", path.display())]
    Missing { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid liaison status file: {message} (the next cycle rewrites it)", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: schema version {found} is newer than this liaison reads ({SCHEMA_VERSION}); upgrade liaison", path.display())]
    Newer { path: PathBuf, found: u64 },
}

/// Reads and validates `state_dir/status.json`; returns it and its text.
pub fn read(state_dir: &Path) -> Result<(Status, String), ReadError> {
    let path = state_dir.join(FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing { path }),
        Err(source) => return Err(ReadError::Io { path, source }),
    };
    let invalid = |message: String| ReadError::Invalid {
        path: path.clone(),
        message,
    };
    // Parsed from the bytes, not a `Value`, so that every error has its line
    // and column (and bytes that are not UTF-8 are one of them).
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    // The version first: a newer file may not fit this schema, and saying so is
    // more useful than naming the field that does not fit.
    match value.get("schema_version").and_then(serde_json::Value::as_u64) {
        None => return Err(invalid("no schema_version".to_string())),
        Some(v) if v > u64::from(SCHEMA_VERSION) => return Err(ReadError::Newer { path, found: v }),
        Some(_) => {}
    }
    let status = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8: {e}")))?;
    Ok((status, text))
}

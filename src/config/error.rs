//! The errors of a configuration file: one [`ConfigError`] per problem, with
//! the file, the line and the key, and [`ConfigErrors`], all of a file's
//! problems together, shown one per line.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// The key concerned, e.g. `meeting.hours` or `people[3].timezone`.
    pub key: Option<String>,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    pub(super) fn single(path: &Path, message: String) -> ConfigErrors {
        ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_display_file_line_key_and_message() {
        let e = |line, key: Option<&str>| ConfigError {
            path: "config.toml".into(),
            line,
            key: key.map(String::from),
            message: "msg".into(),
        };
        assert_eq!(
            e(Some(12), Some("meeting.hours")).to_string(),
            "config.toml:12: meeting.hours: msg"
        );
        assert_eq!(e(None, Some("timezone")).to_string(), "config.toml: timezone: msg");
        assert_eq!(e(Some(3), None).to_string(), "config.toml:3: msg");
    }
}

//! How a command failed, which decides its exit code (0, 1, 2, 3, 4).

use crate::calendar::CalendarError;

/// How a command failed, which decides its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage, configuration or input files: exit 2.
    Usage(anyhow::Error),
    /// Authorization needed or revoked: exit 3.
    Unauthorized(anyhow::Error),
    /// The state cannot be used as it is: a database written by another
    /// version of liaison, or a state directory that is not liaison's own
    /// (another user's, writable by everyone, a system directory): exit 4.
    State(anyhow::Error),
    /// Anything else: exit 1.
    Other(anyhow::Error),
}

/// The exit codes of failures that only a person can mend (configuration,
/// authorization, state): starting again cannot help, so the systemd units
/// list exactly these in `RestartPreventExitStatus=` (a test checks it).
pub const PERMANENT_EXIT_CODES: [u8; 3] = [2, 3, 4];

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Unauthorized(_) => 3,
            Failure::State(_) => 4,
            Failure::Other(_) => 1,
        }
    }

    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Usage(e) | Failure::Unauthorized(e) | Failure::State(e) | Failure::Other(e) => e,
        }
    }
}

impl From<CalendarError> for Failure {
    fn from(e: CalendarError) -> Failure {
        match e {
            e @ (CalendarError::Unauthorized(_) | CalendarError::Credentials(_)) => Failure::Unauthorized(e.into()),
            e if e.is_bad_input() => Failure::Usage(e.into()),
            e => Failure::Other(e.into()),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        use crate::store::StoreError;
        match e {
            e @ (StoreError::UnknownSchema { .. } | StoreError::Refused { .. }) => Failure::State(e.into()),
            e => Failure::Other(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every value of `key=` in the `[Service]` section of a unit file, as
    /// systemd reads them: assignments add up, an empty one clears the list.
    fn service_values(unit: &str, key: &str) -> Vec<String> {
        let mut section = "";
        let mut values = Vec::new();
        for line in unit.lines().map(str::trim) {
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                section = line;
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) if section == "[Service]" && k.trim() == key => {
                    if v.trim().is_empty() {
                        values.clear();
                    } else {
                        values.extend(v.split_whitespace().map(str::to_string));
                    }
                }
                _ => {}
            }
        }
        values
    }

    #[test]
    fn the_systemd_units_restart_after_no_permanent_failure_and_dump_no_core() {
        let units = [
            ("liaison.service", include_str!("../systemd/liaison.service")),
            ("liaison-user.service", include_str!("../systemd/liaison-user.service")),
        ];
        for (name, unit) in units {
            let listed: BTreeSet<String> = service_values(unit, "RestartPreventExitStatus").into_iter().collect();
            let mut expected: BTreeSet<String> = PERMANENT_EXIT_CODES.iter().map(u8::to_string).collect();
            // systemd's own status for a credential it cannot load (243,
            // EXIT_CREDENTIALS) needs a human too, where the unit loads one.
            if !service_values(unit, "LoadCredential").is_empty() {
                expected.insert("243".into());
            }
            assert_eq!(listed, expected, "{name}: RestartPreventExitStatus=");
            assert_eq!(service_values(unit, "LimitCORE"), ["0"], "{name}: LimitCORE=");
            assert_eq!(service_values(unit, "Restart"), ["on-failure"], "{name}: Restart=");
        }
        // What is permanent is what the failures say: configuration,
        // authorization and state, and nothing else.
        let codes = [
            Failure::Usage(anyhow::anyhow!("u")),
            Failure::Unauthorized(anyhow::anyhow!("a")),
            Failure::State(anyhow::anyhow!("s")),
            Failure::Other(anyhow::anyhow!("o")),
        ]
        .map(|f| f.exit_code());
        assert_eq!(codes, [2, 3, 4, 1]);
        assert_eq!(PERMANENT_EXIT_CODES, [codes[0], codes[1], codes[2]]);
    }

    #[test]
    fn an_unknown_schema_and_a_refused_state_directory_are_state_failures() {
        use crate::store::StoreError;
        let path = std::path::PathBuf::from("/var/lib/liaison/db");
        let schema = Failure::from(StoreError::UnknownSchema {
            path: path.clone(),
            found: 99u32.to_be_bytes().to_vec(),
        });
        assert_eq!(schema.exit_code(), 4);
        let message = schema.error().to_string();
        assert!(
            message.contains("written by another version of liaison (schema 99, this one reads 1)"),
            "{message}"
        );
        let refused = Failure::from(StoreError::Refused {
            path: path.clone(),
            why: "a system directory".into(),
        });
        assert_eq!(refused.exit_code(), 4);
        let locked = Failure::from(StoreError::Locked { path });
        assert_eq!(locked.exit_code(), 1, "another process may let go of it: restarted");
    }
}

//! How a command failed, which decides its exit code (0, 1, 2, 3).

use crate::calendar::CalendarError;

/// How a command failed, which decides its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage, configuration or input files: exit 2.
    Usage(anyhow::Error),
    /// Authorization needed or revoked: exit 3.
    Unauthorized(anyhow::Error),
    /// Anything else: exit 1.
    Other(anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Unauthorized(_) => 3,
            Failure::Other(_) => 1,
        }
    }

    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Usage(e) | Failure::Unauthorized(e) | Failure::Other(e) => e,
        }
    }
}

impl From<CalendarError> for Failure {
    fn from(e: CalendarError) -> Failure {
        match e {
            e @ CalendarError::Unauthorized(_) => Failure::Unauthorized(e.into()),
            e if e.is_bad_input() => Failure::Usage(e.into()),
            e => Failure::Other(e.into()),
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        Failure::Other(e.into())
    }
}

//! Why no access token could be had, by what the caller does next: the one
//! error of every kind of credentials, carried through google-calendar3 to
//! the classification of a failed call.

use crate::calendar::CalendarError;

/// Why no token could be had, by what the caller does next. Travels through
/// google-calendar3 as the boxed error of `Error::MissingToken`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Only a new `liaison auth` (or a configuration fix) helps.
    #[error("{0}")]
    Unauthorized(String),
    /// The token endpoint could not be reached or failed: try again later.
    #[error("{0}")]
    Transient(String),
}

impl From<TokenError> for CalendarError {
    fn from(e: TokenError) -> CalendarError {
        match e {
            TokenError::Unauthorized(m) => CalendarError::Unauthorized(m),
            TokenError::Transient(m) => CalendarError::Transient(m),
        }
    }
}

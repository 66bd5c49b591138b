//! The OAuth scopes liaison asks Google for: exactly two, never the crate's
//! default of full calendar access. Every API request names one of them,
//! and consent, refresh and `liaison check` check the grant against them.

/// Read free/busy of the people's calendars.
pub const SCOPE_FREEBUSY: &str = "https://www.googleapis.com/auth/calendar.freebusy";
/// Create, change and delete events on calendars the account owns.
pub const SCOPE_EVENTS: &str = "https://www.googleapis.com/auth/calendar.events.owned";
/// Exactly what liaison asks for, and all it asks for.
pub const SCOPES: [&str; 2] = [SCOPE_FREEBUSY, SCOPE_EVENTS];

//! The embedded calendar provider: plain iCalendar (RFC 5545) files in one
//! directory.
//!
//! `<dir>/<email>.ics` is each person's calendar — an export from Google,
//! Outlook or Apple Calendar, or a file `liaison demo` wrote — and is only read,
//! for busy time. `<dir>/bookings.ics` plays the organizer calendar: liaison
//! appends one VEVENT per booked series and reads them back, and those series
//! count as busy time for their attendees, as they would on Google. Each VEVENT
//! carries `X-LIAISON-INSTANCE` with the installation's name when the provider
//! was given one ([`LocalProvider::with_instance`]); ending a series early
//! rewrites its RRULE to `FREQ=WEEKLY;UNTIL=<UTC>`.
//!
//! Reading is strict about structure (a malformed file is an error naming the
//! file and the line) and lenient where real exports differ: CRLF or LF line
//! ends, blank lines, Windows zone names, vendor-prefixed TZIDs, custom
//! VTIMEZONEs.
//!
//! One file per job, each importing only the ones below it:
//! - `provider`: [`LocalProvider`], its paths and the person files it reads,
//!   the [`CalendarProvider`](super::CalendarProvider) implementation, and
//!   busy time ([`busy_from_ics`]): which events are the owner's and busy;
//! - `writer`: bookings.ics — rendering, adding, cancelling and ending series
//!   with atomic writes, and reading liaison's series back;
//! - `recurrence`: the times of one VEVENT (DTSTART, DTEND, DURATION) and their
//!   expansion (RRULE, RDATE, EXDATE, RECURRENCE-ID instances);
//! - `zones`: TZID resolution (IANA, Windows and vendor-prefixed names,
//!   VTIMEZONE rules as POSIX TZ strings);
//! - `steady`: wall clocks to instants, remembering per zone a span of wall
//!   clocks far from any change of offset;
//! - `syntax`: the file's text, content lines, properties, parameters and
//!   components, with their line numbers and byte ranges.

mod provider;
mod recurrence;
mod steady;
mod syntax;
#[cfg(test)]
mod test_support;
mod writer;
mod zones;

pub use provider::{LocalProvider, busy_from_ics};

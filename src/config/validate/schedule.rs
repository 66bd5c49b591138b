//! `[schedule]`: the terms (their length and the Monday of the first), how far
//! ahead to book, how often to run a cycle, the notice a meeting needs and the
//! dates to skip.

use jiff::Span;
use jiff::civil::Weekday;

use super::fields::{Ctx, date_list, duration_field, int_field};
use crate::config::defaults;
use crate::config::parsers::{Sign, parse_date};
use crate::config::raw::RawSchedule;
use crate::config::types::Schedule;

pub(super) fn validate_schedule(ctx: &mut Ctx, raw: &RawSchedule) -> Option<Schedule> {
    let term_weeks = int_field(
        ctx,
        "schedule.term_weeks",
        &raw.term_weeks,
        defaults::TERM_WEEKS,
        1..=52,
        "weeks (1 = a new partner every week)",
    );
    let first_term = match &raw.first_term {
        None => {
            ctx.error(
                None,
                "schedule.first_term",
                "missing: the Monday the first term starts (write e.g. first_term = 2026-01-05)",
            );
            None
        }
        Some(value) => match parse_date(value.get_ref()) {
            Err(message) => {
                ctx.error(Some(value.span()), "schedule.first_term", message);
                None
            }
            Ok(date) if date.weekday() != Weekday::Monday => {
                let monday = date
                    .checked_sub(Span::new().days(date.weekday().to_monday_zero_offset()))
                    .map(|m| format!(" (e.g. {m})"))
                    .unwrap_or_default();
                ctx.error(
                    Some(value.span()),
                    "schedule.first_term",
                    format!("{date} is a {}; terms start on a Monday{monday}", date.strftime("%A")),
                );
                None
            }
            Ok(date) => Some(date),
        },
    };
    let book_ahead = duration_field(
        ctx,
        "schedule.book_ahead",
        &raw.book_ahead,
        defaults::BOOK_AHEAD,
        Sign::NonNegative,
    );
    let cycle_every = duration_field(
        ctx,
        "schedule.cycle_every",
        &raw.cycle_every,
        defaults::CYCLE_EVERY,
        Sign::Positive,
    );
    let min_notice = duration_field(
        ctx,
        "schedule.min_notice",
        &raw.min_notice,
        defaults::MIN_NOTICE,
        Sign::NonNegative,
    );
    let skip_dates = date_list(ctx, "schedule.skip_dates", &raw.skip_dates);
    Some(Schedule {
        term_weeks: term_weeks?,
        first_term: first_term?,
        book_ahead: book_ahead?,
        cycle_every: cycle_every?,
        min_notice: min_notice?,
        skip_dates,
    })
}

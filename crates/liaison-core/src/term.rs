//! Terms: term `n` starts on `first_term + n × term_weeks` weeks and lasts
//! `term_weeks` weeks. Dates are civil dates; the caller converts them in the
//! organization's zone.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// One term: its index from the first term, its first day (a Monday) and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Term {
    pub index: i64,
    pub start: Date,
    pub weeks: u32,
}

impl Term {
    /// Term `index` of the calendar that starts at `first` with `weeks`-week terms.
    /// `None` only for dates outside jiff's supported range.
    pub fn nth(first: Date, weeks: u32, index: i64) -> Option<Term> {
        let start = first.checked_add((index * 7 * i64::from(weeks)).days()).ok()?;
        Some(Term { index, start, weeks })
    }

    /// The term that contains `date` (terms before the first have negative indices).
    pub fn containing(first: Date, weeks: u32, date: Date) -> Option<Term> {
        let days = first.until(date).ok()?.get_days() as i64;
        let len = 7 * i64::from(weeks.max(1));
        Term::nth(first, weeks, days.div_euclid(len))
    }

    /// The day after the term's last day.
    pub fn end(&self) -> Date {
        Term::nth(self.start, self.weeks, 1).map_or(self.start, |t| t.start)
    }

    /// The Monday of week `week` (0-based) of the term.
    pub fn week_start(&self, week: u32) -> Option<Date> {
        self.start.checked_add((i64::from(week) * 7).days()).ok()
    }

    pub fn next(&self) -> Option<Term> {
        Term::nth(self.start, self.weeks, 1).map(|t| Term {
            index: self.index + 1,
            ..t
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn terms_follow_back_to_back() {
        let first = date(2026, 12, 7);
        let t2 = Term::nth(first, 4, 2).unwrap();
        assert_eq!(t2.start, date(2027, 2, 1));
        assert_eq!(t2.end(), date(2027, 3, 1));
        assert_eq!(t2.next().unwrap().start, t2.end());
        assert_eq!(t2.next().unwrap().index, 3);
        assert_eq!(t2.next().unwrap().weeks, 4);
    }

    #[test]
    fn the_containing_term_is_found_for_any_day_even_before_the_first() {
        let first = date(2026, 12, 7);
        assert_eq!(Term::containing(first, 4, date(2026, 12, 7)).unwrap().index, 0);
        assert_eq!(Term::containing(first, 4, date(2027, 1, 3)).unwrap().index, 0);
        assert_eq!(Term::containing(first, 4, date(2027, 1, 4)).unwrap().index, 1);
        let before = Term::containing(first, 4, date(2026, 12, 6)).unwrap();
        assert_eq!((before.index, before.start), (-1, date(2026, 11, 9)));
    }
}

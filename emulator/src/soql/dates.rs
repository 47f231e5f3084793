//! SOQL's date literals (`TODAY`, `LAST_N_DAYS:7`, `THIS_QUARTER`, …) as ranges of time relative
//! to the org's clock, in the org's time zone (GMT). Weeks start on Sunday (en_US); the fiscal
//! year is the calendar year (Salesforce's default).

use portico_model::{Date, DateTime};

/// A date literal: its name (upper case) and `n` for the `_N_` forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateLiteral {
    /// `TODAY`, `LAST_N_DAYS`, …
    pub name: String,
    /// The `n` of `LAST_N_DAYS:n`.
    pub n: Option<i64>,
}

/// The literals without `n`.
const PLAIN: &[&str] = &[
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_QUARTER",
    "LAST_QUARTER",
    "NEXT_QUARTER",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "THIS_FISCAL_QUARTER",
    "LAST_FISCAL_QUARTER",
    "NEXT_FISCAL_QUARTER",
    "THIS_FISCAL_YEAR",
    "LAST_FISCAL_YEAR",
    "NEXT_FISCAL_YEAR",
];

/// The literals with `:n`.
const WITH_N: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "N_WEEKS_AGO",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
    "N_MONTHS_AGO",
    "LAST_N_QUARTERS",
    "NEXT_N_QUARTERS",
    "N_QUARTERS_AGO",
    "LAST_N_YEARS",
    "NEXT_N_YEARS",
    "N_YEARS_AGO",
    "LAST_N_FISCAL_QUARTERS",
    "NEXT_N_FISCAL_QUARTERS",
    "N_FISCAL_QUARTERS_AGO",
    "LAST_N_FISCAL_YEARS",
    "NEXT_N_FISCAL_YEARS",
    "N_FISCAL_YEARS_AGO",
];

/// Whether a word is a date literal: `Some(true)` when it takes `:n`.
pub fn takes_n(word: &str) -> Option<bool> {
    let upper = word.to_ascii_uppercase();
    if PLAIN.contains(&upper.as_str()) {
        Some(false)
    } else if WITH_N.contains(&upper.as_str()) {
        Some(true)
    } else {
        None
    }
}

const DAY: i64 = 86_400;

fn days(d: Date) -> i64 {
    d.at_midnight_utc().seconds.div_euclid(DAY)
}

/// The first day of the month `k` months after `d`'s month.
fn month_start(d: Date, k: i64) -> i64 {
    let index = i64::from(d.year) * 12 + i64::from(d.month) - 1 + k;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    days(Date::new(year as i32, month as u8, 1).expect("a valid month start"))
}

impl DateLiteral {
    /// The range it stands for, `[start, end)` in seconds since the epoch, at `now`.
    pub fn range(&self, now: DateTime) -> (i64, i64) {
        let today = now.date_utc();
        let d = days(today);
        let n = self.n.unwrap_or(0);
        // Sunday-start weeks: 1970-01-01 was a Thursday.
        let week = d - (d + 4).rem_euclid(7);
        let month = |k: i64| month_start(today, k);
        let quarter = |k: i64| month_start(today, -((i64::from(today.month) - 1) % 3) + 3 * k);
        let year = |k: i64| month_start(today, -(i64::from(today.month) - 1) + 12 * k);
        let name = self.name.replace("_FISCAL", "");
        let (start, end) = match name.as_str() {
            "YESTERDAY" => (d - 1, d),
            "TODAY" => (d, d + 1),
            "TOMORROW" => (d + 1, d + 2),
            "LAST_WEEK" => (week - 7, week),
            "THIS_WEEK" => (week, week + 7),
            "NEXT_WEEK" => (week + 7, week + 14),
            "LAST_MONTH" => (month(-1), month(0)),
            "THIS_MONTH" => (month(0), month(1)),
            "NEXT_MONTH" => (month(1), month(2)),
            "LAST_90_DAYS" => (d - 90, d + 1),
            "NEXT_90_DAYS" => (d + 1, d + 91),
            "LAST_QUARTER" => (quarter(-1), quarter(0)),
            "THIS_QUARTER" => (quarter(0), quarter(1)),
            "NEXT_QUARTER" => (quarter(1), quarter(2)),
            "LAST_YEAR" => (year(-1), year(0)),
            "THIS_YEAR" => (year(0), year(1)),
            "NEXT_YEAR" => (year(1), year(2)),
            "LAST_N_DAYS" => (d - n, d + 1),
            "NEXT_N_DAYS" => (d + 1, d + 1 + n),
            "N_DAYS_AGO" => (d - n, d - n + 1),
            "LAST_N_WEEKS" => (week - 7 * n, week),
            "NEXT_N_WEEKS" => (week + 7, week + 7 + 7 * n),
            "N_WEEKS_AGO" => (week - 7 * n, week - 7 * n + 7),
            "LAST_N_MONTHS" => (month(-n), month(0)),
            "NEXT_N_MONTHS" => (month(1), month(1 + n)),
            "N_MONTHS_AGO" => (month(-n), month(1 - n)),
            "LAST_N_QUARTERS" => (quarter(-n), quarter(0)),
            "NEXT_N_QUARTERS" => (quarter(1), quarter(1 + n)),
            "N_QUARTERS_AGO" => (quarter(-n), quarter(1 - n)),
            "LAST_N_YEARS" => (year(-n), year(0)),
            "NEXT_N_YEARS" => (year(1), year(1 + n)),
            "N_YEARS_AGO" => (year(-n), year(1 - n)),
            _ => (d, d + 1),
        };
        (start * DAY, end * DAY)
    }
}

/// A stored date (`2026-01-04`) or date-time (`2026-01-04T10:00:00.000+0000`) as seconds since
/// the epoch.
pub fn instant(stored: &str) -> Option<i64> {
    if stored.len() == 10 {
        return Date::parse(stored).ok().map(|d| d.at_midnight_utc().seconds);
    }
    let normalized = match stored.len().checked_sub(5).map(|i| stored.split_at(i)) {
        Some((head, tail)) if (tail.starts_with('+') || tail.starts_with('-')) && !tail.contains(':') => {
            format!("{head}{}:{}", &tail[..3], &tail[3..])
        }
        _ => stored.to_owned(),
    };
    DateTime::parse_rfc3339(&normalized).ok().map(|t| t.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(name: &str, n: Option<i64>) -> DateLiteral {
        DateLiteral { name: name.into(), n }
    }

    fn day(s: &str) -> i64 {
        instant(s).unwrap()
    }

    #[test]
    fn ranges_follow_salesforce() {
        // Wednesday 2026-05-13, 15:00 UTC.
        let now = DateTime { seconds: day("2026-05-13") + 15 * 3600, nanoseconds: 0 };
        assert_eq!(lit("TODAY", None).range(now), (day("2026-05-13"), day("2026-05-14")));
        assert_eq!(lit("YESTERDAY", None).range(now), (day("2026-05-12"), day("2026-05-13")));
        assert_eq!(lit("LAST_N_DAYS", Some(1)).range(now), (day("2026-05-12"), day("2026-05-14")));
        assert_eq!(lit("NEXT_N_DAYS", Some(2)).range(now), (day("2026-05-14"), day("2026-05-16")));
        assert_eq!(lit("THIS_WEEK", None).range(now), (day("2026-05-10"), day("2026-05-17")));
        assert_eq!(lit("LAST_MONTH", None).range(now), (day("2026-04-01"), day("2026-05-01")));
        assert_eq!(lit("THIS_QUARTER", None).range(now), (day("2026-04-01"), day("2026-07-01")));
        assert_eq!(lit("LAST_N_QUARTERS", Some(2)).range(now), (day("2025-10-01"), day("2026-04-01")));
        assert_eq!(lit("NEXT_YEAR", None).range(now), (day("2027-01-01"), day("2028-01-01")));
        assert_eq!(lit("LAST_90_DAYS", None).range(now).1, day("2026-05-14"));
        assert_eq!(takes_n("last_n_days"), Some(true));
        assert_eq!(takes_n("today"), Some(false));
        assert_eq!(takes_n("Email"), None);
        assert_eq!(instant("2026-01-01T00:00:01.000+0000"), Some(day("2026-01-01") + 1));
        assert_eq!(instant("2026-01-01T01:00:00.000+0100"), Some(day("2026-01-01")));
    }
}

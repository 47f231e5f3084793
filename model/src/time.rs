//! Calendar arithmetic and the timestamp formats Salesforce reads and writes.
//!
//! Bookings carry RFC 3339 timestamps with offsets; Salesforce wants UTC with milliseconds
//! (`2026-11-22T14:30:00.000Z`) for `datetime` fields and `YYYY-MM-DD` for `date` fields. The
//! conversions are small and exact, so they live here rather than in a date library both the
//! host and every guest would have to carry.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DateTime {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds past `seconds`, below 1e9.
    pub nanoseconds: u32,
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// The year.
    pub year: i32,
    /// The month, 1..=12.
    pub month: u8,
    /// The day, 1..=31.
    pub day: u8,
}

/// A timestamp or date string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {expected}")]
pub struct ParseTimeError {
    input: String,
    expected: &'static str,
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// A date, if it exists in the Gregorian calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(input: &str) -> Result<Date, ParseTimeError> {
        let err = || ParseTimeError { input: input.to_owned(), expected: "date (YYYY-MM-DD)" };
        let b = input.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let year = digits(&input[0..4]).ok_or_else(err)? as i32;
        let month = digits(&input[5..7]).ok_or_else(err)? as u8;
        let day = digits(&input[8..10]).ok_or_else(err)? as u8;
        Date::new(year, month, day).ok_or_else(err)
    }

    /// This date plus `days` (which may be negative).
    pub fn add_days(self, days: i64) -> Date {
        civil_from_days(days_from_civil(self.year, self.month, self.day) + days)
    }

    /// Midnight UTC at the start of this date.
    pub fn at_midnight_utc(self) -> DateTime {
        DateTime { seconds: days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY, nanoseconds: 0 }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl DateTime {
    /// Parses an RFC 3339 timestamp (`2026-11-22T14:30:00Z`, `…T15:30:00.250+01:00`).
    pub fn parse_rfc3339(input: &str) -> Result<DateTime, ParseTimeError> {
        let err = || ParseTimeError { input: input.to_owned(), expected: "RFC 3339 timestamp" };
        if !input.is_ascii() || input.len() < 20 {
            return Err(err());
        }
        let date = Date::parse(&input[..10]).map_err(|_| err())?;
        let b = input.as_bytes();
        if !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return Err(err());
        }
        let hour = digits(&input[11..13]).ok_or_else(err)?;
        let minute = digits(&input[14..16]).ok_or_else(err)?;
        let second = digits(&input[17..19]).ok_or_else(err)?;
        if hour > 23 || minute > 59 || second > 60 {
            return Err(err());
        }
        let mut rest = &input[19..];
        let mut nanoseconds = 0u32;
        if let Some(frac) = rest.strip_prefix('.') {
            let len = frac.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || len > 9 {
                return Err(err());
            }
            nanoseconds = digits(&frac[..len]).ok_or_else(err)? * 10u32.pow(9 - len as u32);
            rest = &frac[len..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ => {
                let sb = rest.as_bytes();
                if sb.len() != 6 || !matches!(sb[0], b'+' | b'-') || sb[3] != b':' {
                    return Err(err());
                }
                let h = i64::from(digits(&rest[1..3]).ok_or_else(err)?);
                let m = i64::from(digits(&rest[4..6]).ok_or_else(err)?);
                let sign = if sb[0] == b'-' { -1 } else { 1 };
                sign * (h * 3600 + m * 60)
            }
        };
        let seconds = date.at_midnight_utc().seconds + i64::from(hour * 3600 + minute * 60 + second.min(59)) - offset;
        let instant = DateTime { seconds, nanoseconds };
        // An offset may move the instant out of the four-digit years (`9999-12-31T23:30:00-01:00`):
        // it could then not be written back, nor sent to Salesforce.
        if !(1..=9999).contains(&instant.date_utc().year) {
            return Err(err());
        }
        Ok(instant)
    }

    /// The UTC calendar date of this instant.
    pub fn date_utc(self) -> Date {
        civil_from_days(self.seconds.div_euclid(SECONDS_PER_DAY))
    }

    /// This instant plus `seconds` (which may be negative).
    pub fn add_seconds(self, seconds: i64) -> DateTime {
        DateTime { seconds: self.seconds + seconds, nanoseconds: self.nanoseconds }
    }

    /// This instant plus `days` whole days.
    pub fn add_days(self, days: i64) -> DateTime {
        self.add_seconds(days * SECONDS_PER_DAY)
    }

    /// Whole minutes from `self` to `later` (negative if `later` is earlier).
    pub fn minutes_until(self, later: DateTime) -> i64 {
        (later.seconds - self.seconds).div_euclid(60)
    }

    /// The Salesforce REST format: UTC with milliseconds, `2026-11-22T14:30:00.000Z`.
    pub fn to_salesforce(self) -> String {
        let date = self.date_utc();
        let secs = self.seconds.rem_euclid(SECONDS_PER_DAY);
        format!(
            "{date}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            self.nanoseconds / 1_000_000
        )
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_salesforce())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_cannot_move_an_instant_out_of_the_four_digit_years() {
        assert!(DateTime::parse_rfc3339("9999-12-31T23:30:00-01:00").is_err());
        assert!(DateTime::parse_rfc3339("0000-01-01T00:30:00+01:00").is_err());
        assert!(DateTime::parse_rfc3339("9999-12-31T23:30:00Z").is_ok());
    }

    #[test]
    fn round_trips_through_salesforce_format() {
        let t = DateTime::parse_rfc3339("2026-11-22T15:30:00.250+01:00").unwrap();
        assert_eq!(t.to_salesforce(), "2026-11-22T14:30:00.250Z");
        assert_eq!(DateTime::parse_rfc3339(&t.to_salesforce()).unwrap(), t);
    }

    #[test]
    fn handles_leap_years_and_epoch_edges() {
        assert_eq!(Date::parse("2024-02-29").unwrap().add_days(1), Date::new(2024, 3, 1).unwrap());
        assert!(Date::parse("2026-02-29").is_err());
        let t = DateTime::parse_rfc3339("1969-12-31T23:59:59Z").unwrap();
        assert_eq!(t.seconds, -1);
        assert_eq!(t.date_utc(), Date::new(1969, 12, 31).unwrap());
        assert_eq!(Date::new(2026, 12, 30).unwrap().add_days(5).to_string(), "2027-01-04");
    }

    #[test]
    fn refuses_malformed_timestamps() {
        for bad in ["2026-11-22", "2026-11-22T25:00:00Z", "2026-11-22T10:00:00", "yesterday", "2026-11-22T10:00:00.Z"] {
            assert!(DateTime::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}

/// Round trips between the two formats over generated instants (proptest). The years are kept
/// within 0001–9998, so that no offset moves an instant out of the four-digit years both
/// formats have.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// 0001-01-01T00:00:00Z and 9998-12-31T23:59:59Z.
    const FIRST: i64 = -62_135_596_800;
    const LAST: i64 = 253_370_764_799;

    fn instant() -> impl Strategy<Value = DateTime> {
        (FIRST..=LAST, 0u32..1000).prop_map(|(seconds, ms)| DateTime { seconds, nanoseconds: ms * 1_000_000 })
    }

    /// An offset of at most ±23:59, in seconds, on whole minutes.
    fn offset() -> impl Strategy<Value = i64> {
        (-(23 * 60 + 59)..=23 * 60 + 59i64).prop_map(|minutes| minutes * 60)
    }

    /// `t` written as RFC 3339 in the given offset, with `digits` fraction digits.
    fn rfc3339(t: DateTime, offset: i64, digits: u32) -> String {
        let local = t.seconds + offset;
        let date = civil_from_days(local.div_euclid(SECONDS_PER_DAY));
        let secs = local.rem_euclid(SECONDS_PER_DAY);
        let fraction = match digits {
            0 => String::new(),
            d => format!(".{:0width$}", t.nanoseconds / 10u32.pow(9 - d), width = d as usize),
        };
        let zone = match offset {
            0 => "Z".to_owned(),
            o => format!("{}{:02}:{:02}", if o < 0 { '-' } else { '+' }, o.abs() / 3600, o.abs() % 3600 / 60),
        };
        format!("{date}T{:02}:{:02}:{:02}{fraction}{zone}", secs / 3600, secs % 3600 / 60, secs % 60)
    }

    proptest! {
        #[test]
        fn salesforce_format_reads_back_as_the_instant(t in instant()) {
            prop_assert_eq!(DateTime::parse_rfc3339(&t.to_salesforce()), Ok(t));
        }

        #[test]
        fn any_offset_and_precision_reads_as_the_same_instant(
            t in instant(), offset in offset(), digits in 3u32..=9,
        ) {
            let text = rfc3339(t, offset, digits);
            prop_assert_eq!(DateTime::parse_rfc3339(&text), Ok(t), "{}", text);
            prop_assert_eq!(DateTime::parse_rfc3339(&text).map(DateTime::to_salesforce), Ok(t.to_salesforce()));
        }

        #[test]
        fn salesforce_format_keeps_milliseconds(seconds in FIRST..=LAST, nanoseconds in 0u32..1_000_000_000) {
            let t = DateTime { seconds, nanoseconds };
            let back = DateTime::parse_rfc3339(&t.to_salesforce()).expect("the Salesforce format is RFC 3339");
            prop_assert_eq!(back, DateTime { seconds, nanoseconds: nanoseconds / 1_000_000 * 1_000_000 });
        }

        #[test]
        fn dates_read_back_and_day_arithmetic_inverts(days in -719_162i64..=2_932_896, n in -100_000i64..=100_000) {
            let date = civil_from_days(days);
            prop_assert_eq!(Date::parse(&date.to_string()), Ok(date));
            prop_assert_eq!(date.add_days(n).add_days(-n), date);
            prop_assert_eq!(date.at_midnight_utc().date_utc(), date);
        }
    }
}

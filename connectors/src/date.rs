//! Calendar dates: parsing the formats department exports use, and day arithmetic.
//!
//! Canonical form is `YYYY-MM-DD`. Accepted dirty forms: `2024/1/5`, `2024-1-5`,
//! `20240105`, `2024年1月5日`, `2024.1.5`. Day numbers use the proleptic Gregorian calendar
//! (days since 1970-01-01), enough for ages and intervals; no time zones are involved.

use std::fmt;

/// A valid calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year (1900..=2100 accepted by the parser).
    pub year: u16,
    /// Month 1..=12.
    pub month: u8,
    /// Day of month.
    pub day: u8,
}

/// How a date was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateForm {
    /// Exactly `YYYY-MM-DD`.
    Canonical,
    /// Any other accepted form (counted by the `date_format` rule).
    Other,
}

impl Date {
    /// A date if `year`, `month`, `day` form a valid one in 1900..=2100.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1900..=2100).contains(&year) && weinong_keys::valid_date(year, month, day))
            .then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, if it lies in 1900..=2100.
    pub fn from_days(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// Parses any accepted form; `None` if it is not a valid date.
    pub fn parse(text: &str) -> Option<(Date, DateForm)> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && all_digits(&b[..4])
            && all_digits(&b[5..7])
        {
            let d = from_digits(&b[..4], &b[5..7], &b[8..10])?;
            return Some((d, DateForm::Canonical));
        }
        if b.len() == 8 && all_digits(b) {
            let d = from_digits(&b[..4], &b[4..6], &b[6..8])?;
            return Some((d, DateForm::Other));
        }
        let parts: Vec<&str> = t
            .split(['-', '/', '.', '年', '月', '日'])
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.len() > 4 || !all_digits(p.as_bytes()))
        {
            return None;
        }
        if parts[0].len() != 4 || parts[1].len() > 2 || parts[2].len() > 2 {
            return None;
        }
        let d = from_digits(
            parts[0].as_bytes(),
            parts[1].as_bytes(),
            parts[2].as_bytes(),
        )?;
        Some((d, DateForm::Other))
    }

    /// `2024/1/5`.
    pub fn slashed(self) -> String {
        format!("{}/{}/{}", self.year, self.month, self.day)
    }

    /// `20240105`.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `2024年1月5日`.
    pub fn chinese(self) -> String {
        format!("{}年{}月{}日", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`. Written digit by digit (every stored date is rendered once per row on
    /// import, and the formatting machinery cost more than the rest of the value).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year > 9999 || self.month > 99 || self.day > 99 {
            return write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day);
        }
        // Each operand is below 10 after `% 10`, so the narrowing is exact.
        let digit = |n: u16| b'0' + (n % 10) as u8;
        let (y, m, d) = (self.year, u16::from(self.month), u16::from(self.day));
        let buf = [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(m / 10),
            digit(m),
            b'-',
            digit(d / 10),
            digit(d),
        ];
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// The date whose year, month and day are these runs of digits (none when a run does not
/// fit its field; `Date::new` checks the calendar).
fn from_digits(year: &[u8], month: &[u8], day: &[u8]) -> Option<Date> {
    Date::new(
        u16::try_from(num(year)?).ok()?,
        u8::try_from(num(month)?).ok()?,
        u8::try_from(num(day)?).ok()?,
    )
}

fn num(b: &[u8]) -> Option<u32> {
    if b.len() > 4 || !all_digits(b) {
        return None;
    }
    Some(
        b.iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let d = Date::new(2024, 1, 5).expect("valid");
        assert_eq!(Date::parse("2024-01-05"), Some((d, DateForm::Canonical)));
        for s in [
            "2024/1/5",
            "2024/01/05",
            "20240105",
            "2024年1月5日",
            "2024-1-5",
            " 2024.1.5 ",
        ] {
            assert_eq!(Date::parse(s), Some((d, DateForm::Other)), "{s}");
        }
        for s in [
            "",
            "2024-02-30",
            "2023/2/29",
            "不详",
            "24/1/5",
            "2024-13-01",
            "202401",
            "2024/1/5/6",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
        assert_eq!(Date::parse(&d.slashed()).map(|x| x.0), Some(d));
        assert_eq!(Date::parse(&d.compact()).map(|x| x.0), Some(d));
        assert_eq!(Date::parse(&d.chinese()).map(|x| x.0), Some(d));
    }

    #[test]
    fn display_is_zero_padded_iso() {
        for (y, m, d) in [
            (2024, 1, 5),
            (1900, 12, 31),
            (2100, 2, 28),
            (5, 1, 1),
            (999, 10, 9),
        ] {
            let date = Date {
                year: y,
                month: m,
                day: d,
            };
            assert_eq!(date.to_string(), format!("{y:04}-{m:02}-{d:02}"));
        }
        let far = Date {
            year: 12345,
            month: 1,
            day: 2,
        };
        assert_eq!(far.to_string(), "12345-01-02");
    }

    #[test]
    fn day_numbers_round_trip_and_match_known_values() {
        assert_eq!(Date::new(1970, 1, 1).expect("valid").to_days(), 0);
        assert_eq!(Date::new(2000, 3, 1).expect("valid").to_days(), 11_017);
        assert_eq!(Date::new(1900, 1, 1).expect("valid").to_days(), -25_567);
        let mut prev = Date::new(1900, 1, 1).expect("valid");
        for n in -25_566..(Date::new(2100, 12, 31).expect("valid").to_days() + 1) {
            let d = Date::from_days(n).expect("in range");
            assert_eq!(d.to_days(), n);
            assert!(d > prev);
            prev = d;
        }
    }
}

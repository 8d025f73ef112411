//! Resident ID numbers (GB 11643-1999): parse, normalise and validate.
//!
//! Steps as in the standard: 6-digit area code, 8-digit birth date `YYYYMMDD`, 3-digit
//! sequence (odd male, even female), check character. The check character is
//! `"10X98765432"[S mod 11]` with `S = Σ a_i·w_i` over the first 17 digits and weights
//! `7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2`.

use std::fmt;

use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Why a string is not a valid resident ID number. Never contains the ID itself.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Not 18 characters after trimming.
    #[error("ID number must have 18 characters, found {0}")]
    Length(usize),
    /// A non-digit among the first 17 characters, or a last character that is not a digit or X.
    #[error("ID number has an invalid character at position {0} (digits only, last may be X)")]
    Character(usize),
    /// The area code starts with 0 or is otherwise impossible.
    #[error("ID number area code is invalid (first digit must be 1-9)")]
    Area,
    /// The birth date is not a real calendar date, or before 1900.
    #[error("ID number birth date is not a valid date (positions 7-14)")]
    BirthDate,
    /// The check character does not match.
    #[error("ID number check digit is wrong: expected {expected}, found {found}")]
    CheckDigit {
        /// The character the first 17 digits call for.
        expected: char,
        /// The character found.
        found: char,
    },
}

/// Sex as encoded by the parity of the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Odd sequence number.
    Male,
    /// Even sequence number.
    Female,
}

/// A validated, normalised 18-character resident ID number (upper-case `X`).
///
/// Personal data: zeroized on drop, and `Debug` masks all but the area code.
#[derive(Clone, PartialEq, Eq, Hash, Zeroize, ZeroizeOnDrop)]
pub struct ResidentId([u8; 18]);

impl ResidentId {
    /// Parse and validate, after trimming whitespace and upper-casing a trailing `x`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        let bytes = trimmed.as_bytes();
        if bytes.len() != 18 {
            return Err(IdError::Length(trimmed.chars().count()));
        }
        let mut id = [0u8; 18];
        for (i, &b) in bytes.iter().enumerate() {
            let ok = b.is_ascii_digit() || (i == 17 && (b == b'X' || b == b'x'));
            if !ok {
                return Err(IdError::Character(i + 1));
            }
            id[i] = b.to_ascii_uppercase();
        }
        if id[0] == b'0' {
            return Err(IdError::Area);
        }
        let (y, m, d) = date_of(&id);
        if !(1900..=2100).contains(&y) || !valid_date(y, m, d) {
            return Err(IdError::BirthDate);
        }
        let expected = check_char(&id);
        if id[17] != expected {
            return Err(IdError::CheckDigit {
                expected: char::from(expected),
                found: char::from(id[17]),
            });
        }
        Ok(Self(id))
    }

    /// The normalised 18 characters.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and 'X' were admitted by `parse`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The birth date `(year, month, day)` encoded in positions 7–14.
    pub fn birth_date(&self) -> (u16, u8, u8) {
        date_of(&self.0)
    }

    /// The 6-digit area code (e.g. `310104` for Xuhui, Shanghai).
    pub fn area_code(&self) -> &str {
        &self.as_str()[..6]
    }

    /// Sex from the parity of the sequence number.
    pub fn sex(&self) -> Sex {
        if (self.0[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

/// The check character that the first 17 digits of `id` call for.
pub fn check_char(id: &[u8; 18]) -> u8 {
    let s: u32 = id[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| u32::from(c - b'0') * w)
        .sum();
    CHECK_CHARS[usize::try_from(s % 11).unwrap_or(0)]
}

fn digits(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0, |acc, &c| acc * 10 + u32::from(c - b'0'))
}

fn date_of(id: &[u8; 18]) -> (u16, u8, u8) {
    // At most 9999 / 99 / 99, so the conversions cannot fail.
    let narrow = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    (
        u16::try_from(digits(&id[6..10])).unwrap_or(u16::MAX),
        narrow(digits(&id[10..12])),
        narrow(digits(&id[12..14])),
    )
}

/// Whether `y-m-d` is a real Gregorian date.
pub fn valid_date(y: u16, m: u8, d: u8) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({}************)", self.area_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_from_the_standard_validates() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), (1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(ResidentId::parse(" 11010519491231002x ").unwrap(), id);
    }

    #[test]
    fn rejections_name_the_problem() {
        let cases: &[(&str, IdError)] = &[
            ("", IdError::Length(0)),
            ("1101051949123100", IdError::Length(16)),
            ("11010519491231002Y", IdError::Character(18)),
            ("1101051949123A002X", IdError::Character(14)),
            ("01010519491231002X", IdError::Area),
            ("110105194902300021", IdError::BirthDate),
            ("110105194913310021", IdError::BirthDate),
            (
                "110105194912310021",
                IdError::CheckDigit {
                    expected: 'X',
                    found: '1',
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&ResidentId::parse(input).unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn every_wrong_check_char_is_refused() {
        let good = *b"11010519491231002X";
        for c in b"0123456789".iter() {
            let mut bad = good;
            bad[17] = *c;
            let s = std::str::from_utf8(&bad).unwrap();
            assert!(matches!(
                ResidentId::parse(s),
                Err(IdError::CheckDigit { .. })
            ));
        }
    }

    #[test]
    fn leap_days() {
        assert!(valid_date(2000, 2, 29));
        assert!(!valid_date(1900, 2, 29));
        assert!(valid_date(1948, 2, 29));
        assert!(!valid_date(1949, 2, 29));
    }
}

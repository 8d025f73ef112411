//! ICD-10 code normalisation.
//!
//! Canonical form: an upper-case letter, two digits, and optionally a dot and the fourth
//! character (`I10`, `E11.9`). Exports carry the Chinese clinical extension (`I10.x00`,
//! `E11.900`), lower case (`i10`) and codes without the dot (`E119`); all are reduced to
//! the canonical form, which is what the Charlson mapping (Quan 2005) needs. Anything
//! else is not a code and is dropped and counted by the caller.

/// The outcome of normalising one code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Icd10 {
    /// Already canonical.
    Canonical(String),
    /// Rewritten into the canonical form.
    Normalised(String),
    /// Not an ICD-10 code.
    Invalid,
}

/// Normalises one code.
pub fn normalise(raw: &str) -> Icd10 {
    let t = raw.trim();
    let b = t.as_bytes();
    if b.len() < 3
        || !b[0].is_ascii_alphabetic()
        || !b[1].is_ascii_digit()
        || !b[2].is_ascii_digit()
    {
        return Icd10::Invalid;
    }
    let mut out = String::with_capacity(5);
    out.push(char::from(b[0].to_ascii_uppercase()));
    out.push(char::from(b[1]));
    out.push(char::from(b[2]));
    let rest = &b[3..];
    let rest = rest.strip_prefix(b".").unwrap_or(rest);
    match rest.first() {
        None => {}
        Some(c) if c.is_ascii_digit() => {
            // Extension digits after the fourth character (E11.900) carry no Charlson meaning.
            if !rest[1..].iter().all(|c| c.is_ascii_alphanumeric()) {
                return Icd10::Invalid;
            }
            out.push('.');
            out.push(char::from(*c));
        }
        // `I10.x00`: the clinical version's placeholder for "no fourth character".
        Some(b'x' | b'X') if !rest[1..].iter().all(|c| c.is_ascii_alphanumeric()) => {
            return Icd10::Invalid;
        }
        Some(b'x' | b'X') => {}
        Some(_) => return Icd10::Invalid,
    }
    if out == t {
        Icd10::Canonical(out)
    } else {
        Icd10::Normalised(out)
    }
}

/// Splits a list cell on `;`, `,`, `，`, `；`, `、` or spaces (empty parts ignored).
pub fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', ',', '，', '；', '、', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(normalise("I10"), Icd10::Canonical("I10".into()));
        assert_eq!(normalise("E11.9"), Icd10::Canonical("E11.9".into()));
        for (raw, want) in [
            ("i10", "I10"),
            ("E119", "E11.9"),
            ("I10.x00", "I10"),
            ("I10.X00x002", "I10"),
            ("E11.900", "E11.9"),
            ("e11.9", "E11.9"),
            ("I10.", "I10"),
        ] {
            assert_eq!(normalise(raw), Icd10::Normalised(want.into()), "{raw}");
        }
        for raw in ["", "高血压", "I1", "110", "I10.-", "XYZ", "I10;"] {
            assert_eq!(normalise(raw), Icd10::Invalid, "{raw}");
        }
        assert_eq!(
            split_list("I10; E11.9，i20、").collect::<Vec<_>>(),
            ["I10", "E11.9", "i20"]
        );
    }
}

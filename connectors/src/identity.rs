//! Identifying fields (ID number, name, phone, address) and their protection at rest.
//!
//! GB/T 39786 level 3 asks for the confidentiality of personal information at rest: the
//! identifying fields of a subject are sealed together with SM4-GCM under the node's
//! [`DataKey`], bound (as associated data) to the department and the subject pseudonym, so
//! a sealed record cannot be moved to another row. Rows are found by pseudonym only.
//! The plaintext encoding is a version byte and four length-prefixed fields (u32 big-endian
//! length, 0xFFFF_FFFF for absent), not serde output.

use std::fmt;

use weinong_keys::{DataKey, Sealer, SubjectPseudonym};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::ConnectorError;
use crate::schema::Department;

const IDENTITY_VERSION: u8 = 1;
const ABSENT: u32 = u32::MAX;

/// The identifying fields of one subject. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Identity {
    /// Normalised ID number (18 characters).
    pub id_number: String,
    /// Name.
    pub name: String,
    /// Phone number, if known.
    pub phone: Option<String>,
    /// Address, if known.
    pub address: Option<String>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity(<redacted>)")
    }
}

fn aad(department: Department, subject: &SubjectPseudonym) -> Vec<u8> {
    let mut a = Vec::with_capacity(48);
    a.extend_from_slice(b"weinong/identity/v1\0");
    a.extend_from_slice(department.short_name().as_bytes());
    a.push(0);
    a.extend_from_slice(subject.as_bytes());
    a
}

fn put(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(&ABSENT.to_be_bytes()),
        Some(s) => {
            // Identity values are bounded by IDENTITY_BYTES_MAX (1 KiB) when cleaned.
            let len = u32::try_from(s.len()).unwrap_or(ABSENT - 1);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

fn take(input: &mut &[u8]) -> Result<Option<String>, ConnectorError> {
    let corrupt = || ConnectorError::Corrupt("identity record truncated".into());
    let (len, rest) = input.split_first_chunk::<4>().ok_or_else(corrupt)?;
    let len = u32::from_be_bytes(*len);
    *input = rest;
    if len == ABSENT {
        return Ok(None);
    }
    let len = usize::try_from(len).map_err(|_| corrupt())?;
    if rest.len() < len {
        return Err(corrupt());
    }
    let (s, rest) = rest.split_at(len);
    *input = rest;
    String::from_utf8(s.to_vec())
        .map(Some)
        .map_err(|_| ConnectorError::Corrupt("identity field is not UTF-8".into()))
}

impl Identity {
    /// Seals the identity for storage.
    pub fn seal(
        &self,
        key: &DataKey,
        department: Department,
        subject: &SubjectPseudonym,
    ) -> Result<Vec<u8>, ConnectorError> {
        Ok(key.seal(&aad(department, subject), &self.plaintext())?)
    }

    /// As [`Identity::seal`], through a [`Sealer`] (many identities under one key).
    pub fn seal_with(
        &self,
        sealer: &mut Sealer,
        department: Department,
        subject: &SubjectPseudonym,
    ) -> Result<Vec<u8>, ConnectorError> {
        Ok(sealer.seal(&aad(department, subject), &self.plaintext())?)
    }

    fn plaintext(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let len = 17
            + self.id_number.len()
            + self.name.len()
            + self.phone.as_ref().map_or(0, String::len)
            + self.address.as_ref().map_or(0, String::len);
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(len));
        plain.push(IDENTITY_VERSION);
        put(&mut plain, Some(&self.id_number));
        put(&mut plain, Some(&self.name));
        put(&mut plain, self.phone.as_deref());
        put(&mut plain, self.address.as_deref());
        plain
    }

    /// Opens a sealed identity of `subject` in `department`.
    pub fn open(
        key: &DataKey,
        department: Department,
        subject: &SubjectPseudonym,
        sealed: &[u8],
    ) -> Result<Identity, ConnectorError> {
        let plain = key.open(&aad(department, subject), sealed)?;
        let (version, mut rest) = plain
            .split_first()
            .ok_or_else(|| ConnectorError::Corrupt("empty identity".into()))?;
        if *version != IDENTITY_VERSION {
            return Err(ConnectorError::Corrupt(format!(
                "identity record version {version}, expected {IDENTITY_VERSION}"
            )));
        }
        let id_number = take(&mut rest)?.unwrap_or_default();
        let name = take(&mut rest)?.unwrap_or_default();
        let phone = take(&mut rest)?;
        let address = take(&mut rest)?;
        if !rest.is_empty() {
            return Err(ConnectorError::Corrupt(
                "identity record has trailing bytes".into(),
            ));
        }
        Ok(Identity {
            id_number,
            name,
            phone,
            address,
        })
    }
}

/// Masks an identifying value for reports: keeps the first 4 and last 2 characters of an
/// ID number, the first character of anything else.
pub fn mask(value: &str, id_like: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    if id_like && chars.len() > 6 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
    } else {
        let head: String = chars.iter().take(1).collect();
        format!("{head}{}", "*".repeat(chars.len().saturating_sub(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_binding() {
        let key = DataKey::from_bytes([3; 16]);
        let s = SubjectPseudonym::from_bytes([5; 32]);
        let id = Identity {
            id_number: "11010519491231002X".into(),
            name: "张三".into(),
            phone: None,
            address: Some("浦东新区世纪大道100号".into()),
        };
        let sealed = id.seal(&key, Department::CivilAffairs, &s).expect("seal");
        let mut sealer = key.sealer().expect("sealer");
        let again = id
            .seal_with(&mut sealer, Department::CivilAffairs, &s)
            .expect("seal");
        assert_ne!(again, sealed, "fresh nonce");
        assert_eq!(
            Identity::open(&key, Department::CivilAffairs, &s, &again).expect("open"),
            id
        );
        assert!(!sealed.windows(6).any(|w| w == b"110105"));
        assert_eq!(
            Identity::open(&key, Department::CivilAffairs, &s, &sealed).expect("open"),
            id
        );
        assert!(Identity::open(&key, Department::Health, &s, &sealed).is_err());
        assert!(
            Identity::open(
                &key,
                Department::CivilAffairs,
                &SubjectPseudonym::from_bytes([6; 32]),
                &sealed
            )
            .is_err()
        );
        assert!(
            Identity::open(
                &DataKey::from_bytes([4; 16]),
                Department::CivilAffairs,
                &s,
                &sealed
            )
            .is_err()
        );
        assert_eq!(mask("11010519491231002X", true), "1101************2X");
        assert_eq!(mask("张三丰", false), "张**");
        assert!(!format!("{id:?}").contains("张"));
    }
}

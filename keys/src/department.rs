//! [`Department`]: the three government departments that hold data and run nodes, and
//! every name and number they go by.
//!
//! One enum for the whole workspace: the ledger's data categories name their holder with
//! it (`weinong_contracts::Department`), model specs name input holders and recipients with
//! it (`weinong_mpc::model::Holder`), node configs say which one a node serves
//! (`[assessment] department`), and the connectors load each one's data
//! (`weinong_connectors::Department`). It lives here, the crate all of them depend on, so
//! that no crate needs a hand-written map to another's.
//!
//! Each department has several names, each used in one place, and none may change (they
//! are in files, databases and signed model specs):
//!
//! | department | [`code`](Department::code) | [`party`](Department::party) | [`name`](Department::name) | [`short_name`](Department::short_name) | [`zh`](Department::zh) | [`en`](Department::en) |
//! |---|---|---|---|---|---|---|
//! | [`CivilAffairs`](Department::CivilAffairs) | 1 | 0 | `civil_affairs` | `civil` | 民政 | civil affairs |
//! | [`Health`](Department::Health) | 2 | 1 | `health` | `health` | 卫健 | health |
//! | [`MedicalInsurance`](Department::MedicalInsurance) | 3 | 2 | `medical_insurance` | `insurance` | 医保 | medical insurance |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A department that holds personal data, runs a node and plays one MPC party.
///
/// Ordered as [`Department::ALL`] (party order). Serde and [`Display`](fmt::Display) use
/// [`Department::name`] (`civil_affairs`, `health`, `medical_insurance`), as node configs
/// and model specs do; [`FromStr`] also accepts the short names and a few aliases (for the
/// command line); [`Department::from_name`] accepts only the exact names (for specs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 民政 (civil affairs): person register, GB/T 42195 ability assessments, household and
    /// income checks, subsidies. MPC party P0.
    CivilAffairs = 1,
    /// 卫健 (health): check-ups, diagnoses, falls, screens (Morse, AD8, MMSE, Braden,
    /// MNA-SF). MPC party P1.
    Health = 2,
    /// 医保 (medical insurance): claims with ICD-10 diagnoses, hospital stays, medications,
    /// long-term-care insurance. MPC party P2.
    MedicalInsurance = 3,
}

impl Department {
    /// Every department, in party order.
    pub const ALL: [Department; 3] = [
        Department::CivilAffairs,
        Department::Health,
        Department::MedicalInsurance,
    ];

    /// The stable number of this department (1, 2, 3).
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The department numbered `code`, if any.
    pub fn from_code(code: u8) -> Option<Department> {
        Department::ALL.into_iter().find(|d| d.code() == code)
    }

    /// The MPC party this department plays: 0, 1 or 2 (P0, P1, P2).
    pub const fn party(self) -> usize {
        match self {
            Department::CivilAffairs => 0,
            Department::Health => 1,
            Department::MedicalInsurance => 2,
        }
    }

    /// The department that plays MPC party `index`, if any.
    pub fn of_party(index: usize) -> Option<Department> {
        Department::ALL.get(index).copied()
    }

    /// The name used in node configs, model specs, model file names and serde
    /// (`civil_affairs`, `health`, `medical_insurance`).
    pub const fn name(self) -> &'static str {
        match self {
            Department::CivilAffairs => "civil_affairs",
            Department::Health => "health",
            Department::MedicalInsurance => "medical_insurance",
        }
    }

    /// The department named exactly `name` (see [`Department::name`]), if any.
    pub fn from_name(name: &str) -> Option<Department> {
        Department::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The short name department data goes by (`civil`, `health`, `insurance`): the data
    /// commands' `--department`, input and truth file names, the department store's job
    /// records, and the associated data that binds a sealed identity to its department.
    pub const fn short_name(self) -> &'static str {
        match self {
            Department::CivilAffairs => "civil",
            Department::Health => "health",
            Department::MedicalInsurance => "insurance",
        }
    }

    /// The Chinese name (民政, 卫健, 医保).
    pub const fn zh(self) -> &'static str {
        match self {
            Department::CivilAffairs => "民政",
            Department::Health => "卫健",
            Department::MedicalInsurance => "医保",
        }
    }

    /// The English name, for messages (`civil affairs`, `health`, `medical insurance`).
    pub const fn en(self) -> &'static str {
        match self {
            Department::CivilAffairs => "civil affairs",
            Department::Health => "health",
            Department::MedicalInsurance => "medical insurance",
        }
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no department.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown department '{0}': expected civil, health or insurance")]
pub struct UnknownDepartment(pub String);

impl FromStr for Department {
    type Err = UnknownDepartment;

    /// Any of a department's names, case-insensitive, surrounding whitespace ignored: the
    /// [`name`](Department::name), the [`short_name`](Department::short_name), the name
    /// with `-` for `_`, or its pinyin (`minzheng`, `weijian`, `yibao`).
    fn from_str(s: &str) -> Result<Self, UnknownDepartment> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "civil" | "civil_affairs" | "civil-affairs" | "minzheng" => {
                Ok(Department::CivilAffairs)
            }
            "health" | "weijian" => Ok(Department::Health),
            "insurance" | "medical_insurance" | "medical-insurance" | "yibao" => {
                Ok(Department::MedicalInsurance)
            }
            _ => Err(UnknownDepartment(lower)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_number_round_trips() {
        for (i, d) in Department::ALL.into_iter().enumerate() {
            assert_eq!(d.party(), i);
            assert_eq!(Department::of_party(i), Some(d));
            assert_eq!(Department::from_code(d.code()), Some(d));
            assert_eq!(Department::from_name(d.name()), Some(d));
            assert_eq!(d.name().parse::<Department>(), Ok(d));
            assert_eq!(d.short_name().parse::<Department>(), Ok(d));
            assert_eq!(d.to_string(), d.name());
            let json = serde_json::to_string(&d).expect("serialise");
            assert_eq!(json, format!("\"{}\"", d.name()));
            assert_eq!(
                serde_json::from_str::<Department>(&json).expect("deserialise"),
                d
            );
        }
        assert_eq!(Department::of_party(3), None);
        assert_eq!(Department::from_code(0), None);
        // Specs take only the exact names; the command line also takes the short ones.
        assert_eq!(Department::from_name("civil"), None);
        assert_eq!(
            " YiBao ".parse::<Department>(),
            Ok(Department::MedicalInsurance)
        );
        let err = "finance"
            .parse::<Department>()
            .expect_err("no such department");
        assert_eq!(
            err.to_string(),
            "unknown department 'finance': expected civil, health or insurance"
        );
    }

    #[test]
    fn the_names_are_the_ones_in_files() {
        let names: Vec<_> = Department::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(names, ["civil_affairs", "health", "medical_insurance"]);
        let short: Vec<_> = Department::ALL.iter().map(|d| d.short_name()).collect();
        assert_eq!(short, ["civil", "health", "insurance"]);
        let zh: Vec<_> = Department::ALL.iter().map(|d| d.zh()).collect();
        assert_eq!(zh, ["民政", "卫健", "医保"]);
    }
}

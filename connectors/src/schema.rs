//! Canonical department schemas: the fields each department's node stores, their kinds,
//! ranges, missing-value policies and data-element codes.
//!
//! The schemas carry exactly the inputs the assessment models need (see
//! `assessment-instruments.md`) plus the identifying fields, which are never stored in the
//! clear (see [`crate::identity`]). Field names are the canonical column names of the input
//! files, of the database tables and of the truth files the generator writes.

/// A department that runs a node and loads its own data: the workspace's one department
/// type (`weinong_keys::Department`). Data commands, file names and the store use its
/// [`short_name`](Department::short_name) (`civil`, `health`, `insurance`); its schema is
/// [`TableSpec::of`].
pub use weinong_keys::Department;

impl TableSpec {
    /// The canonical schema of `department`.
    pub fn of(department: Department) -> &'static TableSpec {
        match department {
            Department::CivilAffairs => &CIVIL,
            Department::Health => &HEALTH,
            Department::MedicalInsurance => &INSURANCE,
        }
    }
}

/// Units a measurement may arrive in; the canonical unit is the first of each pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Kilograms; `斤` (0.5 kg, exactly) is converted.
    Kilogram,
    /// Centimetres; metres are converted.
    Centimetre,
}

/// What a field holds and how its raw text is cleaned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// The resident ID number (GB 11643); identifying, sealed.
    IdNumber,
    /// A person's name; identifying, sealed.
    Name,
    /// A phone number; identifying, sealed.
    Phone,
    /// A postal address; identifying, sealed.
    Address,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
    /// An integer in `min..=max`.
    Int {
        /// Smallest valid value.
        min: i64,
        /// Largest valid value.
        max: i64,
    },
    /// An integer from a fixed set (instrument points such as Morse 0/15/30).
    Choice(&'static [i64]),
    /// A decimal with one fractional digit, in `min_x10..=max_x10` tenths of the unit.
    Decimal {
        /// Canonical unit.
        unit: Unit,
        /// Smallest valid value, in tenths.
        min_x10: i64,
        /// Largest valid value, in tenths.
        max_x10: i64,
    },
    /// A list of ICD-10 codes separated by `;`, normalised to `A00` or `A00.0`.
    Icd10List,
    /// A text code from a fixed set.
    Code(&'static [&'static str]),
    /// A free identifier (claim number): trimmed, at most `limits::TEXT_CHARS_MAX`.
    Text,
}

impl FieldKind {
    /// True for the fields that identify a person and are sealed at rest.
    pub fn is_identifying(self) -> bool {
        matches!(
            self,
            FieldKind::IdNumber | FieldKind::Name | FieldKind::Phone | FieldKind::Address
        )
    }

    /// The SQL column type, the same text for SQLite and PostgreSQL (the migration must
    /// agree; a test checks it).
    #[cfg(test)]
    pub(crate) fn sql_type(self) -> &'static str {
        match self {
            FieldKind::Int { .. } | FieldKind::Choice(_) => "BIGINT",
            FieldKind::Decimal { .. } => "DOUBLE PRECISION",
            _ => "TEXT",
        }
    }
}

/// What cleaning does with an empty value (documented per field in the schema table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingPolicy {
    /// The row cannot be used without it: rejected with reason `missing_required`.
    Reject,
    /// Stored as NULL and counted (`missing_null`).
    Null,
    /// Filled in and counted (`missing_imputed`).
    Impute(Imputation),
}

/// How a missing value is filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imputation {
    /// Zero: for event counts and flags, "none recorded" is taken as none.
    Zero,
    /// The sex code from the ID number's sequence digit (odd male `1`, even female `2`).
    SexFromId,
    /// The birth date from the ID number.
    BirthDateFromId,
}

/// One canonical field.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// Canonical column name.
    pub name: &'static str,
    /// Chinese label, as department exports usually name the column.
    pub label_zh: &'static str,
    /// Data-element code (WS 363 catalogue) where one exists.
    pub element: Option<&'static str>,
    /// What the field holds.
    pub kind: FieldKind,
    /// What happens when it is empty.
    pub missing: MissingPolicy,
}

/// How duplicates are recognised after normalisation (the first occurrence is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DedupKey {
    /// Same subject (ID number) and the same value of the named date field, or same name +
    /// birth date + district and that date (civil affairs: one row per assessment; a
    /// re-registered ID number with the same person's name, birth date and district on the
    /// same assessment day is the same assessment).
    PersonOrNameBirthDistrictOn(&'static str),
    /// Same subject and the same value of the named date field.
    SubjectAnd(&'static str),
    /// The same value of the named identifier field.
    Field(&'static str),
}

/// A department's canonical table.
#[derive(Debug)]
pub struct TableSpec {
    /// The department.
    pub department: Department,
    /// The database table holding cleaned rows.
    pub table: &'static str,
    /// The database table holding the department's sealed identities, one row per subject.
    pub subject_table: &'static str,
    /// Fields in canonical order.
    pub fields: &'static [FieldSpec],
    /// Duplicate rule.
    pub dedup: DedupKey,
    /// The table's primary key columns (pseudonym is the column `subject`).
    pub primary_key: &'static [&'static str],
}

impl TableSpec {
    /// The index of a canonical field by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The fields stored as table columns (everything but the identifying fields).
    pub fn data_fields(&self) -> impl Iterator<Item = (usize, &'static FieldSpec)> + '_ {
        self.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.kind.is_identifying())
    }

    /// The identifying fields, in canonical order (sealed together per subject).
    pub fn identity_fields(&self) -> impl Iterator<Item = (usize, &'static FieldSpec)> + '_ {
        self.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind.is_identifying())
    }
}

/// The 16 districts of Shanghai, by administrative code (GB/T 2260).
pub const DISTRICTS: [(&str, &str); 16] = [
    ("310101", "黄浦区"),
    ("310104", "徐汇区"),
    ("310105", "长宁区"),
    ("310106", "静安区"),
    ("310107", "普陀区"),
    ("310109", "虹口区"),
    ("310110", "杨浦区"),
    ("310112", "闵行区"),
    ("310113", "宝山区"),
    ("310114", "嘉定区"),
    ("310115", "浦东新区"),
    ("310116", "金山区"),
    ("310117", "松江区"),
    ("310118", "青浦区"),
    ("310120", "奉贤区"),
    ("310151", "崇明区"),
];

const DISTRICT_CODES: [&str; 16] = [
    "310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
    "310114", "310115", "310116", "310117", "310118", "310120", "310151",
];

const fn f(
    name: &'static str,
    label_zh: &'static str,
    element: Option<&'static str>,
    kind: FieldKind,
    missing: MissingPolicy,
) -> FieldSpec {
    FieldSpec {
        name,
        label_zh,
        element,
        kind,
        missing,
    }
}

const NULL: MissingPolicy = MissingPolicy::Null;
const REJECT: MissingPolicy = MissingPolicy::Reject;
const ZERO: MissingPolicy = MissingPolicy::Impute(Imputation::Zero);
/// The identifying fields every table carries (sealed, never stored as columns).
const ID_NUMBER: FieldSpec = f(
    "id_number",
    "身份证号",
    Some("DE02.01.030.00"),
    FieldKind::IdNumber,
    REJECT,
);
const PERSON_NAME: FieldSpec = f(
    "name",
    "姓名",
    Some("DE02.01.039.00"),
    FieldKind::Name,
    REJECT,
);

const fn item(name: &'static str, label_zh: &'static str, max: i64) -> FieldSpec {
    f(name, label_zh, None, FieldKind::Int { min: 0, max }, NULL)
}

const fn item_from(name: &'static str, label_zh: &'static str, min: i64, max: i64) -> FieldSpec {
    f(name, label_zh, None, FieldKind::Int { min, max }, NULL)
}

/// A count or flag (`0..=max`) where an empty cell means none happened.
const fn count(name: &'static str, label_zh: &'static str, max: i64) -> FieldSpec {
    f(name, label_zh, None, FieldKind::Int { min: 0, max }, ZERO)
}

/// A coded field with no data element; empty when missing.
const fn code(
    name: &'static str,
    label_zh: &'static str,
    codes: &'static [&'static str],
) -> FieldSpec {
    f(name, label_zh, None, FieldKind::Code(codes), NULL)
}

/// A field with data element `element` that, when empty, is read from the ID number.
const fn from_id(
    name: &'static str,
    label_zh: &'static str,
    element: &'static str,
    kind: FieldKind,
    imputation: Imputation,
) -> FieldSpec {
    f(
        name,
        label_zh,
        Some(element),
        kind,
        MissingPolicy::Impute(imputation),
    )
}

/// The highest care-risk frequency code: "three times or more" (GB/T 42195-2022 form).
pub const RISK_FREQUENCY_MAX: i64 = 3;

/// The four care-risk frequency columns of the civil table, in form order (fall, choking,
/// self-harm, wandering).
pub const RISK_COLUMNS: [&str; 4] = [
    "risk_fall_30d",
    "risk_choking_30d",
    "risk_self_harm_30d",
    "risk_wandering_30d",
];

const fn choice(name: &'static str, label_zh: &'static str, set: &'static [i64]) -> FieldSpec {
    f(name, label_zh, None, FieldKind::Choice(set), NULL)
}

/// Civil affairs: one row per GB/T 42195 assessment (schema version 3), the register fields
/// repeated in each row as health repeats identities per check-up; the death register's date
/// since version 4.
pub static CIVIL: TableSpec = TableSpec {
    department: Department::CivilAffairs,
    table: "civil_assessment",
    primary_key: &["subject", "assessed_on"],
    subject_table: "subject_civil",
    dedup: DedupKey::PersonOrNameBirthDistrictOn("assessed_on"),
    fields: &[
        ID_NUMBER,
        PERSON_NAME,
        f("phone", "联系电话", None, FieldKind::Phone, NULL),
        f("address", "居住地址", None, FieldKind::Address, NULL),
        from_id(
            "sex",
            "性别",
            "DE02.01.040.00",
            FieldKind::Code(&["1", "2"]),
            Imputation::SexFromId,
        ),
        from_id(
            "birth_date",
            "出生日期",
            "DE02.01.005.01",
            FieldKind::Date,
            Imputation::BirthDateFromId,
        ),
        code("district", "所在区", &DISTRICT_CODES),
        // 0 illiterate, 1 primary school, 2 secondary school or above (MMSE cut-offs).
        item("education", "文化程度", 2),
        item("living_alone", "独居", 1),
        // Shanghai unified care-needs grade 照护1-6, carried, never computed.
        item_from("care_grade", "照护等级", 1, 6),
        f("assessed_on", "评估日期", None, FieldKind::Date, REJECT),
        // GB/T 42195-2022: 自理能力
        item("gb_eating", "进食", 4),
        item("gb_grooming", "修饰", 4),
        item("gb_bathing", "洗澡", 4),
        item("gb_dress_upper", "穿/脱上衣", 4),
        item("gb_dress_lower", "穿/脱裤子和鞋袜", 4),
        item("gb_urine", "小便控制", 4),
        item("gb_bowel", "大便控制", 4),
        item("gb_toilet", "如厕", 4),
        // 基础运动能力
        item("gb_bed_transfer", "床上体位转移", 4),
        item("gb_chair_transfer", "床椅转移", 4),
        item("gb_walking", "平地行走", 4),
        item("gb_stairs", "上下楼梯", 3),
        // 精神状态
        item("gb_orient_time", "时间定向", 4),
        item("gb_orient_place", "空间定向", 4),
        item("gb_orient_person", "人物定向", 4),
        item("gb_memory", "记忆", 4),
        item("gb_understanding", "理解能力", 4),
        item("gb_expression", "表达能力", 4),
        item("gb_aggression", "攻击行为", 1),
        item("gb_depression", "抑郁症状", 1),
        item("gb_consciousness", "意识水平", 2),
        // 感知觉与社会参与
        item("gb_vision", "视力", 2),
        item("gb_hearing", "听力", 2),
        item("gb_daily_affairs", "执行日常事务", 4),
        item("gb_transport", "使用交通工具外出", 3),
        item("gb_social", "社会交往能力", 4),
        // Care-risk events in the last 30 days (GB/T 42195 basic-information form): the
        // form's frequency code per kind, 0 none, 1 once, 2 twice, 3 three times or more.
        // Until schema version 3 these were 0/1 flags under the same names and labels, so
        // old exports still import: their 1 reads "once".
        count("risk_fall_30d", "近30天跌倒", RISK_FREQUENCY_MAX),
        count("risk_choking_30d", "近30天噎食", RISK_FREQUENCY_MAX),
        count("risk_self_harm_30d", "近30天自杀自伤", RISK_FREQUENCY_MAX),
        count("risk_wandering_30d", "近30天走失", RISK_FREQUENCY_MAX),
        // 死亡登记: a register field like the others, repeated in each of the person's
        // rows once recorded; empty for the living. Last, because schema version 4 adds
        // it to version 3's table (exports without the column still import).
        f("death_date", "死亡日期", None, FieldKind::Date, NULL),
    ],
};

/// Health: one row per check-up (several per person give the weight history).
pub static HEALTH: TableSpec = TableSpec {
    department: Department::Health,
    table: "health_checkup",
    primary_key: &["subject", "exam_date"],
    subject_table: "subject_health",
    dedup: DedupKey::SubjectAnd("exam_date"),
    fields: &[
        ID_NUMBER,
        PERSON_NAME,
        f("exam_date", "体检日期", None, FieldKind::Date, REJECT),
        f(
            "height_cm",
            "身高",
            Some("DE04.10.167.00"),
            FieldKind::Decimal {
                unit: Unit::Centimetre,
                min_x10: 1200,
                max_x10: 2100,
            },
            NULL,
        ),
        f(
            "weight_kg",
            "体重",
            Some("DE04.10.188.00"),
            FieldKind::Decimal {
                unit: Unit::Kilogram,
                min_x10: 250,
                max_x10: 2000,
            },
            NULL,
        ),
        f(
            "sbp",
            "收缩压",
            Some("DE04.10.174.00"),
            FieldKind::Int { min: 60, max: 260 },
            NULL,
        ),
        f(
            "dbp",
            "舒张压",
            Some("DE04.10.176.00"),
            FieldKind::Int { min: 30, max: 160 },
            NULL,
        ),
        f(
            "diagnoses",
            "疾病诊断编码",
            Some("DE05.01.024.00"),
            FieldKind::Icd10List,
            NULL,
        ),
        count("falls_12m", "近12个月跌倒次数", 20),
        // Morse Fall Scale, item points as the scale assigns them.
        choice("morse_history", "跌倒史", &[0, 25]),
        choice("morse_secondary_dx", "超过一个疾病诊断", &[0, 15]),
        choice("morse_aid", "行走辅助", &[0, 15, 30]),
        choice("morse_iv", "静脉输液", &[0, 20]),
        choice("morse_gait", "步态", &[0, 10, 20]),
        choice("morse_mental", "认知状态", &[0, 15]),
        // AD8: 1 = yes, a change; 0 = no; empty = don't know (not scored).
        item("ad8_judgment", "判断力", 1),
        item("ad8_interest", "兴趣减退", 1),
        item("ad8_repeats", "重复提问", 1),
        item("ad8_learning", "学习使用工具", 1),
        item("ad8_month_year", "记不清月份年份", 1),
        item("ad8_finances", "处理财务", 1),
        item("ad8_appointments", "记住约定", 1),
        item("ad8_memory", "日常记忆", 1),
        item("mmse", "MMSE总分", 30),
        // Braden scale.
        item_from("braden_sensory", "感知", 1, 4),
        item_from("braden_moisture", "潮湿", 1, 4),
        item_from("braden_activity", "活动", 1, 4),
        item_from("braden_mobility", "移动", 1, 4),
        item_from("braden_nutrition", "营养", 1, 4),
        item_from("braden_friction", "摩擦力和剪切力", 1, 3),
        // MNA-SF.
        item("mna_intake", "食欲减退", 2),
        item("mna_weight_loss", "体重下降", 3),
        item("mna_mobility", "活动能力", 2),
        choice("mna_stress", "急性疾病或心理创伤", &[0, 2]),
        item("mna_neuro", "精神心理问题", 2),
        item("mna_bmi", "BMI评分", 3),
    ],
};

/// Medical insurance: one row per claim (outpatient visit or inpatient stay).
pub static INSURANCE: TableSpec = TableSpec {
    department: Department::MedicalInsurance,
    table: "insurance_claim",
    primary_key: &["claim_id"],
    subject_table: "subject_insurance",
    dedup: DedupKey::Field("claim_id"),
    fields: &[
        f("claim_id", "结算单号", None, FieldKind::Text, REJECT),
        ID_NUMBER,
        PERSON_NAME,
        // 1 outpatient (门诊), 2 inpatient (住院).
        code("setting", "就诊类型", &["1", "2"]),
        f("admit_date", "就诊/入院日期", None, FieldKind::Date, REJECT),
        f("discharge_date", "出院日期", None, FieldKind::Date, NULL),
        f(
            "diagnoses",
            "诊断编码",
            Some("DE05.01.024.00"),
            FieldKind::Icd10List,
            NULL,
        ),
        f(
            "medication_count",
            "用药种数",
            Some("DE08.50.022.00"),
            FieldKind::Int { min: 0, max: 60 },
            NULL,
        ),
        count("ltc_insured", "长护险参保", 1),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_well_formed() {
        for d in Department::ALL {
            let s = TableSpec::of(d);
            assert_eq!(s.department, d);
            assert!(
                s.index_of("id_number").is_some(),
                "{d}: every table names its subject"
            );
            let mut names: Vec<_> = s.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), s.fields.len(), "{d}: duplicate field name");
            match s.dedup {
                DedupKey::SubjectAnd(n) | DedupKey::Field(n) => assert!(s.index_of(n).is_some()),
                DedupKey::PersonOrNameBirthDistrictOn(on) => {
                    for n in ["name", "birth_date", "district", on] {
                        assert!(s.index_of(n).is_some());
                    }
                }
            }
            assert_eq!(d.short_name().parse::<Department>().expect("round trip"), d);
        }
        assert!("finance".parse::<Department>().is_err());
    }
}

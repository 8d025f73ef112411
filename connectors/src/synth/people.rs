//! Who the synthetic people are: district, age, sex, resident ID number and name.
//!
//! Distributions (approximate, for realism, not statistics): the share of registered
//! residents aged 60+ by district (Pudong largest), an age pyramid for 60–105 by five-year
//! band, and the male share falling with age. ID numbers are unique by construction: each
//! district owns its area codes (current, historic, and one elsewhere in China for people
//! born outside Shanghai), and sequence numbers are allocated per (district, birth date)
//! with odd numbers for men and even for women, as GB 11643 requires. Given names are an
//! injective function of the sequence number, so name + birth date + district never
//! collides between two real people (the generator's fuzzy duplicates are the only ones).

use std::collections::HashMap;

use super::rng::R;
use crate::date::Date;
use crate::error::ConnectorError;

/// The reference date of the synthetic data ("today" for ages and recent events).
pub const AS_OF: Date = Date {
    year: 2026,
    month: 6,
    day: 30,
};

/// Per-mille share of the 60+ population by district (order of `schema::DISTRICTS`).
const DISTRICT_WEIGHTS: [u32; 16] = [
    45, 55, 40, 60, 65, 48, 70, 80, 80, 45, 190, 35, 40, 30, 35, 40,
];

/// Historic area codes (merged districts and former counties) carried on old ID cards.
const HISTORIC_AREA: [&str; 16] = [
    "310103", "310104", "310105", "310108", "310107", "310109", "310110", "310221", "310113",
    "310222", "310225", "310228", "310227", "310229", "310226", "310230",
];

/// Area codes elsewhere in China, one owned by each district (birthplace of migrants).
const ELSEWHERE_AREA: [&str; 16] = [
    "320102", "320582", "330102", "330402", "340102", "340202", "350102", "360102", "370102",
    "410102", "420102", "430102", "440103", "510104", "320302", "321002",
];

/// Area code used only by the generator's name + birth date + district duplicates.
pub const DUPLICATE_AREA: &str = "310199";

/// (first age of band, per-mille share, male per-mille share)
const AGE_BANDS: [(u16, u32, u32); 9] = [
    (60, 270, 490),
    (65, 260, 485),
    (70, 190, 475),
    (75, 110, 460),
    (80, 80, 430),
    (85, 60, 400),
    (90, 25, 350),
    (95, 5, 280),
    (100, 1, 250),
];

const SURNAMES: [(&str, u32); 40] = [
    ("王", 70),
    ("李", 60),
    ("张", 60),
    ("刘", 40),
    ("陈", 55),
    ("杨", 25),
    ("黄", 25),
    ("赵", 18),
    ("吴", 30),
    ("周", 30),
    ("徐", 30),
    ("孙", 18),
    ("朱", 25),
    ("胡", 15),
    ("沈", 22),
    ("顾", 20),
    ("陆", 20),
    ("钱", 12),
    ("蔡", 12),
    ("姚", 10),
    ("戴", 8),
    ("金", 12),
    ("曹", 10),
    ("施", 10),
    ("俞", 8),
    ("邱", 6),
    ("汪", 8),
    ("倪", 6),
    ("严", 6),
    ("许", 12),
    ("郭", 12),
    ("何", 10),
    ("高", 12),
    ("林", 12),
    ("马", 10),
    ("罗", 8),
    ("蒋", 10),
    ("唐", 10),
    ("董", 8),
    ("袁", 6),
];

const MALE_CHARS: [char; 24] = [
    '建', '国', '明', '华', '伟', '强', '军', '平', '志', '德', '福', '荣', '根', '林', '海', '康',
    '宝', '兴', '生', '龙', '杰', '永', '祥', '忠',
];
const FEMALE_CHARS: [char; 24] = [
    '秀', '英', '兰', '芳', '玲', '珍', '凤', '梅', '娟', '萍', '美', '丽', '琴', '霞', '莲', '云',
    '妹', '娣', '菊', '红', '月', '惠', '敏', '静',
];

const ROADS: [&str; 20] = [
    "南京东路",
    "淮海中路",
    "长宁路",
    "延安西路",
    "曹杨路",
    "四川北路",
    "控江路",
    "莘庄路",
    "牡丹江路",
    "城中路",
    "世纪大道",
    "卫零路",
    "中山中路",
    "公园路",
    "南桥路",
    "八一路",
    "张杨路",
    "共和新路",
    "虹桥路",
    "打浦路",
];

/// Demographics drawn in the first pass.
#[derive(Clone, Copy, Debug)]
pub struct Draft {
    pub district: u8,
    pub birth: Date,
    pub male: bool,
    /// 0 current code, 1 historic, 2 elsewhere.
    pub area_kind: u8,
}

/// A person's identity after sequence allocation.
#[derive(Clone, Debug)]
pub struct Identity {
    pub district: u8,
    pub birth: Date,
    pub male: bool,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
}

fn pick_weighted<T: Copy>(r: &mut R, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut x = u32::try_from(r.below(u64::from(total))).unwrap_or(0);
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// Draws district, birth date, sex and area kind.
pub fn draft(r: &mut R) -> Draft {
    let districts: Vec<(u8, u32)> = (0u8..16).zip(DISTRICT_WEIGHTS).collect();
    let district = pick_weighted(r, &districts);
    let bands: Vec<(usize, u32)> = AGE_BANDS
        .iter()
        .enumerate()
        .map(|(i, b)| (i, b.1))
        .collect();
    let band = AGE_BANDS[pick_weighted(r, &bands)];
    let width = if band.0 == 100 { 6 } else { 5 };
    let age = band.0 + u16::try_from(r.below(width)).unwrap_or(0);
    let male = r.below(1000) < u64::from(band.2);
    // Birth date: AS_OF minus age years minus 0..364 days.
    let days =
        AS_OF.to_days() - i64::from(age) * 36_525 / 100 - i64::try_from(r.below(365)).unwrap_or(0);
    let birth = Date::from_days(days).unwrap_or(Date {
        year: 1950,
        month: 1,
        day: 1,
    });
    let k = r.below(100);
    let area_kind = if k < 85 {
        0
    } else if k < 95 {
        1
    } else {
        2
    };
    Draft {
        district,
        birth,
        male,
        area_kind,
    }
}

/// Allocates unique sequence numbers in index order; moves a birth date forward by a day
/// when its (district, date, sex) group is full.
pub fn allocate(drafts: &mut [Draft]) -> Result<Vec<u16>, ConnectorError> {
    let mut next: HashMap<(u8, i64), (u16, u16)> = HashMap::with_capacity(drafts.len() / 8);
    let mut out = Vec::with_capacity(drafts.len());
    for d in drafts.iter_mut() {
        let mut tries = 0;
        loop {
            let slot = next
                .entry((d.district, d.birth.to_days()))
                .or_insert((0, 0));
            let n = if d.male { &mut slot.0 } else { &mut slot.1 };
            if *n < 500 {
                out.push(if d.male { 2 * *n + 1 } else { 2 * *n });
                *n += 1;
                break;
            }
            tries += 1;
            if tries > 365 {
                return Err(ConnectorError::Invalid(
                    "population too large for unique ID numbers".into(),
                ));
            }
            d.birth = Date::from_days(d.birth.to_days() + 1).unwrap_or(d.birth);
        }
    }
    Ok(out)
}

/// The 18-character ID for an area code, birth date and sequence number.
pub fn id_number(area: &str, birth: Date, seq: u16) -> String {
    let mut id = [b'0'; 18];
    let body = format!("{area}{}{seq:03}", birth.compact());
    id[..17].copy_from_slice(&body.as_bytes()[..17]);
    id[17] = weinong_keys::check_char(&id);
    String::from_utf8_lossy(&id).into_owned()
}

/// Area code of a person.
pub fn area_code(d: &Draft) -> &'static str {
    let i = usize::from(d.district);
    match d.area_kind {
        0 => crate::schema::DISTRICTS[i].0,
        1 => HISTORIC_AREA[i],
        _ => ELSEWHERE_AREA[i],
    }
}

/// Completes identity fields.
pub fn identity(r: &mut R, d: &Draft, seq: u16, group_offset: u64) -> Identity {
    let surnames: &[(&str, u32)] = &SURNAMES;
    let surname = pick_weighted(r, surnames);
    let pool = if d.male { &MALE_CHARS } else { &FEMALE_CHARS };
    // Injective in seq/2 within a group (≤ 500 < 24²), shifted per group for variety.
    let g = (u64::from(seq / 2) + group_offset) % 576;
    let given: String = [
        pool[usize::try_from(g / 24).unwrap_or(0)],
        pool[usize::try_from(g % 24).unwrap_or(0)],
    ]
    .iter()
    .collect();
    let name = format!("{surname}{given}");
    let prefixes = [
        "138", "139", "135", "136", "137", "150", "151", "186", "189", "133", "021",
    ];
    let p = prefixes[usize::try_from(r.below(prefixes.len() as u64)).unwrap_or(0)];
    let phone = if p == "021" {
        format!("021{:08}", r.below(100_000_000))
    } else {
        format!("{p}{:08}", r.below(100_000_000))
    };
    let district_name = crate::schema::DISTRICTS[usize::from(d.district)].1;
    let road = ROADS[usize::try_from(r.below(ROADS.len() as u64)).unwrap_or(0)];
    let address = format!(
        "上海市{district_name}{road}{}弄{}号{}室",
        1 + r.below(999),
        1 + r.below(60),
        101 + 100 * r.below(18) + r.below(6)
    );
    Identity {
        district: d.district,
        birth: d.birth,
        male: d.male,
        id_number: id_number(area_code(d), d.birth, seq),
        name,
        phone,
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate_and_are_unique() {
        let mut drafts: Vec<Draft> = (0..20_000u64)
            .map(|i| draft(&mut R::new(7, 1, i)))
            .collect();
        let seqs = allocate(&mut drafts).expect("allocate");
        let mut ids = std::collections::HashSet::new();
        for (i, (d, s)) in drafts.iter().zip(&seqs).enumerate() {
            let who = identity(&mut R::new(7, 2, i as u64), d, *s, 0);
            let parsed = weinong_keys::ResidentId::parse(&who.id_number).expect("valid ID");
            assert_eq!(parsed.sex() == weinong_keys::Sex::Male, d.male);
            assert!(ids.insert(who.id_number));
        }
    }
}

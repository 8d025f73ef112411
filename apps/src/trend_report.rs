//! The periodic-v2 report a care team reads: the trend of each indicator and the reasons
//! that raised the risk tier, Chinese first and English after, from one subject's opened
//! outputs. It only names and formats values the model computed; it decides nothing.

use std::collections::BTreeMap;

/// The model whose outputs this report reads.
pub const MODEL: &str = "periodic-v2";

/// The reason outputs and their labels, in the order the report lists them.
const REASONS: [(&str, &str, &str); 6] = [
    (
        "reason_ability_declining",
        "能力下降趋势",
        "ability declining",
    ),
    (
        "reason_weight_loss",
        "持续体重下降",
        "sustained weight loss",
    ),
    ("reason_falls", "跌倒增多", "falls increasing"),
    ("reason_new_conditions", "新发慢病", "new chronic condition"),
    (
        "reason_blood_pressure",
        "血压控制不佳",
        "blood pressure poorly controlled",
    ),
    (
        "reason_risk_events",
        "近30天照护风险事件≥2次",
        "≥ 2 care-risk events in 30 days",
    ),
];

/// The report lines for one subject, or an error naming the output the row lacks (a
/// receipt of another model or version).
pub fn lines(names: &[String], row: &[i64]) -> Result<Vec<String>, String> {
    let values: BTreeMap<&str, i64> = names
        .iter()
        .map(String::as_str)
        .zip(row.iter().copied())
        .collect();
    let get = |name: &str| {
        values
            .get(name)
            .copied()
            .ok_or_else(|| format!("the result has no output `{name}`: not a {MODEL} result"))
    };
    let trend = match get("ability_trend")? {
        0 => "改善 improving",
        1 => "稳定 stable",
        2 => "下降 declining",
        _ => "评估不足两次 fewer than two assessments",
    };
    let tier = match get("risk_tier")? {
        0 => "0 低 low",
        1 => "1 关注 watch",
        2 => "2 较高 elevated",
        _ => "3 高 high",
    };
    let yes = |v: i64| if v == 1 { "是 yes" } else { "否 no" };
    let weight = get("weight_change")?;
    let mut out = vec![
        format!(
            "能力趋势 ability trend      {trend}: {:+} 分 points over {} 个月 months, {} 次评估 assessments",
            get("ability_change")?,
            get("ability_span_months")?,
            get("ability_visits")?,
        ),
        format!(
            "体重 weight                {}{}.{} kg since the earliest check-up; 持续下降 sustained loss: {}",
            if weight < 0 { "-" } else { "+" },
            weight.unsigned_abs() / 10,
            weight.unsigned_abs() % 10,
            yes(get("reason_weight_loss")?),
        ),
        format!(
            "跌倒 falls                 {} 次评估记录跌倒 assessments with a fall; 增多 increasing: {}",
            get("falls_visits")?,
            yes(get("reason_falls")?),
        ),
        format!(
            "照护风险事件 risk events     {} (最近4次评估 last 4 assessments, 下限 a lower bound)",
            get("risk_events_recorded")?,
        ),
        format!(
            "新发慢病 new conditions      {} (Charlson, 首次评估以来 since the earliest assessment)",
            get("new_conditions")?,
        ),
        format!(
            "血压 blood pressure         {} 次体检未控制 of the last 4 check-ups uncontrolled",
            get("bp_uncontrolled_visits")?,
        ),
        format!("风险等级 risk tier          {tier}"),
    ];
    let mut reasons = Vec::new();
    for (name, zh, en) in REASONS {
        if get(name)? == 1 {
            reasons.push(format!("{zh} ({en})"));
        }
    }
    out.push(format!(
        "原因 reasons               {}",
        if reasons.is_empty() {
            "无 none".to_owned()
        } else {
            reasons.join("; ")
        }
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use weinong_mpc::model::{PERIODIC_V2, compile};

    #[test]
    fn every_output_the_report_reads_is_a_periodic_v2_output() {
        let model = compile(PERIODIC_V2).expect("shipped");
        assert_eq!(model.name(), MODEL);
        let names: Vec<String> = model.outputs().iter().map(|o| o.name.clone()).collect();
        let mut row = vec![0; names.len()];
        let at = |n: &str| names.iter().position(|x| x == n).expect("output");
        row[at("ability_trend")] = 2;
        row[at("ability_change")] = -12;
        row[at("weight_change")] = -35;
        row[at("reason_ability_declining")] = 1;
        row[at("reason_falls")] = 1;
        row[at("risk_tier")] = 3;
        let text = lines(&names, &row)
            .expect("every output present")
            .join("\n");
        assert!(text.contains("下降 declining: -12 分"), "{text}");
        assert!(text.contains("-3.5 kg"), "{text}");
        assert!(text.contains("能力下降趋势 (ability declining); 跌倒增多 (falls increasing)"));
        assert!(text.contains("3 高 high"));
        // The reasons the report names are exactly the model's reason outputs.
        let model_reasons: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| n.starts_with("reason_"))
            .collect();
        let mut listed: Vec<&str> = REASONS.iter().map(|r| r.0).collect();
        listed.sort_unstable();
        assert_eq!(listed, model_reasons);
        assert!(lines(&names[1..], &row[1..]).is_err());
    }
}

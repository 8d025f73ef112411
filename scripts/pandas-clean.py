#!/usr/bin/env python3
"""The peer implementation for `weinong bench data`: the same cleaning as
weinong-connectors, written the way a pandas user would, over a `weinong data synth`
directory, storing the cleaned tables into SQLite.

Rules and order mirror connectors/src/clean.rs: exact duplicates, missing/invalid ID,
other required fields, per-field normalisation (dates, birth date vs ID, units, ICD-10,
ranges, missing-value policies), fuzzy duplicates; counts over stored rows. Pseudonyms are
HMAC-SM3 (OpenSSL through hashlib). Not done here (pandas has no SM4): sealing the
identifying fields, which weinong does and this run simply drops.

Prints one JSON line: rows_read, seconds, counts per department, matches_injected.
Usage: pandas-clean.py --dir SYNTH_DIR --db OUT.sqlite
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import sqlite3
import sys
import time
import tomllib

import numpy as np
import pandas as pd

RULES = ["duplicate_exact", "duplicate_fuzzy", "id_invalid", "birth_date_mismatch", "date_format",
         "date_invalid", "unit_converted", "icd10_normalised", "icd10_invalid", "number_invalid",
         "out_of_range", "missing_rejected", "missing_null", "missing_imputed"]
DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
             "310114", "310115", "310116", "310117", "310118", "310120", "310151"]

# (name, label_zh, kind, arg, policy) — kind: id, name, phone, address, date, int(min,max),
# choice(set), dec(unit,min_x10,max_x10), icd, code(set), text; policy: reject, null,
# zero, sex, birth.
# Chinese labels of the civil-affairs export's columns (FieldSpec::label_zh).
LABELS = {'id_number': '身份证号', 'name': '姓名', 'phone': '联系电话', 'address': '居住地址', 'sex': '性别', 'birth_date': '出生日期', 'district': '所在区', 'education': '文化程度', 'living_alone': '独居', 'care_grade': '照护等级', 'assessed_on': '评估日期', 'gb_eating': '进食', 'gb_grooming': '修饰', 'gb_bathing': '洗澡', 'gb_dress_upper': '穿/脱上衣', 'gb_dress_lower': '穿/脱裤子和鞋袜', 'gb_urine': '小便控制', 'gb_bowel': '大便控制', 'gb_toilet': '如厕', 'gb_bed_transfer': '床上体位转移', 'gb_chair_transfer': '床椅转移', 'gb_walking': '平地行走', 'gb_stairs': '上下楼梯', 'gb_orient_time': '时间定向', 'gb_orient_place': '空间定向', 'gb_orient_person': '人物定向', 'gb_memory': '记忆', 'gb_understanding': '理解能力', 'gb_expression': '表达能力', 'gb_aggression': '攻击行为', 'gb_depression': '抑郁症状', 'gb_consciousness': '意识水平', 'gb_vision': '视力', 'gb_hearing': '听力', 'gb_daily_affairs': '执行日常事务', 'gb_transport': '使用交通工具外出', 'gb_social': '社会交往能力', 'risk_fall_30d': '近30天跌倒', 'risk_choking_30d': '近30天噎食', 'risk_self_harm_30d': '近30天自杀自伤', 'risk_wandering_30d': '近30天走失'}


def items(spec):
    out = []
    for s in spec.split():
        n, lo, hi = s.split(":")
        out.append((n, LABELS.get(n), "int", (int(lo), int(hi)), "null"))
    return out

CIVIL = [
    ("id_number", "身份证号", "id", None, "reject"), ("name", "姓名", "name", None, "reject"),
    ("phone", "联系电话", "phone", None, "null"), ("address", "居住地址", "address", None, "null"),
    ("sex", "性别", "code", {"1", "2"}, "sex"), ("birth_date", "出生日期", "date", None, "birth"),
    ("district", "所在区", "code", set(DISTRICTS), "null"), ("education", "文化程度", "int", (0, 2), "null"),
    ("living_alone", "独居", "int", (0, 1), "null"), ("care_grade", "照护等级", "int", (1, 6), "null"),
    ("assessed_on", "评估日期", "date", None, "reject"),
] + items("gb_eating:0:4 gb_grooming:0:4 gb_bathing:0:4 gb_dress_upper:0:4 gb_dress_lower:0:4 gb_urine:0:4 "
          "gb_bowel:0:4 gb_toilet:0:4 gb_bed_transfer:0:4 gb_chair_transfer:0:4 gb_walking:0:4 gb_stairs:0:3 "
          "gb_orient_time:0:4 gb_orient_place:0:4 gb_orient_person:0:4 gb_memory:0:4 gb_understanding:0:4 "
          "gb_expression:0:4 gb_aggression:0:1 gb_depression:0:1 gb_consciousness:0:2 gb_vision:0:2 "
          "gb_hearing:0:2 gb_daily_affairs:0:4 gb_transport:0:3 gb_social:0:4") + [
    # Frequency codes since schema version 3: 0 none, 1 once, 2 twice, 3 three times or more.
    (n, LABELS[n], "int", (0, 3), "zero") for n in ["risk_fall_30d", "risk_choking_30d", "risk_self_harm_30d", "risk_wandering_30d"]
]
HEALTH = [
    ("id_number", "身份证号", "id", None, "reject"), ("name", "姓名", "name", None, "reject"),
    ("exam_date", "体检日期", "date", None, "reject"),
    ("height_cm", "身高", "dec", ("cm", 1200, 2100), "null"), ("weight_kg", "体重", "dec", ("kg", 250, 2000), "null"),
    ("sbp", "收缩压", "int", (60, 260), "null"), ("dbp", "舒张压", "int", (30, 160), "null"),
    ("diagnoses", "疾病诊断编码", "icd", None, "null"), ("falls_12m", None, "int", (0, 20), "zero"),
    ("morse_history", None, "choice", {0, 25}, "null"), ("morse_secondary_dx", None, "choice", {0, 15}, "null"),
    ("morse_aid", None, "choice", {0, 15, 30}, "null"), ("morse_iv", None, "choice", {0, 20}, "null"),
    ("morse_gait", None, "choice", {0, 10, 20}, "null"), ("morse_mental", None, "choice", {0, 15}, "null"),
] + items("ad8_judgment:0:1 ad8_interest:0:1 ad8_repeats:0:1 ad8_learning:0:1 ad8_month_year:0:1 "
          "ad8_finances:0:1 ad8_appointments:0:1 ad8_memory:0:1 mmse:0:30 braden_sensory:1:4 "
          "braden_moisture:1:4 braden_activity:1:4 braden_mobility:1:4 braden_nutrition:1:4 braden_friction:1:3 "
          "mna_intake:0:2 mna_weight_loss:0:3 mna_mobility:0:2") + [
    ("mna_stress", None, "choice", {0, 2}, "null"),
] + items("mna_neuro:0:2 mna_bmi:0:3")
INSURANCE = [
    ("claim_id", "结算单号", "text", None, "reject"), ("id_number", "身份证号", "id", None, "reject"),
    ("name", "姓名", "name", None, "reject"), ("setting", "就诊类型", "code", {"1", "2"}, "null"),
    ("admit_date", "就诊/入院日期", "date", None, "reject"), ("discharge_date", "出院日期", "date", None, "null"),
    ("diagnoses", "诊断编码", "icd", None, "null"), ("medication_count", "用药种数", "int", (0, 60), "null"),
    ("ltc_insured", "长护险参保", "int", (0, 1), "zero"),
]
SPECS = {"civil": (CIVIL, "civil.csv", "civil_assessment"), "health": (HEALTH, "health.csv", "health_checkup"),
         "insurance": (INSURANCE, "insurance.jsonl", "insurance_claim")}
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.array(list("10X98765432"))
DOMAIN = b"weinong/subject-pseudonym/v1\0"
ICD_OK = re.compile(r"^[A-Z]\d\d(\.\d)?$")
ICD_ANY = re.compile(r"^([A-Za-z])(\d\d)\.?(?:(\d)[0-9A-Za-z]*|[xX][0-9A-Za-z]*)?$")
SPLIT = re.compile(r"[;,，；、 ]")


def load(dept, d):
    spec, fname, _ = SPECS[dept]
    path = os.path.join(d, fname)
    if fname.endswith(".jsonl"):
        with open(path, encoding="utf-8") as f:
            recs = [json.loads(line) for line in f if line.strip()]
        df = pd.DataFrame(recs, dtype=object)
        df = df.apply(lambda c: c.map(lambda v: "" if v is None else str(v)))
    else:
        raw = open(path, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        import io
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    mapping = {}
    mpath = os.path.join(d, f"{dept}.mapping.toml")
    if os.path.exists(mpath):
        with open(mpath, "rb") as f:
            mapping = tomllib.load(f).get("columns", {})
    cols = {}
    for name, label, *_ in spec:
        src = mapping.get(name) or (name if name in df.columns else label)
        cols[name] = df[src] if src in df.columns else pd.Series([""] * len(df), index=df.index)
    return pd.DataFrame(cols)


def valid_ids(ids):
    ok = ids.str.fullmatch(r"[1-9]\d{16}[\dX]")
    out = pd.Series(False, index=ids.index)
    if ok.any():
        sub = ids[ok]
        arr = np.frombuffer("".join(sub.str[:17]).encode(), dtype=np.uint8).reshape(-1, 17).astype(np.int64) - 48
        check = CHECK[(arr @ WEIGHTS) % 11]
        dates = pd.to_datetime(sub.str[6:14], format="%Y%m%d", errors="coerce")
        good = (check == sub.str[17].to_numpy()) & dates.notna().to_numpy() & (dates.dt.year.between(1900, 2100)).to_numpy()
        out[ok] = good
    return out


def parse_dates(s):
    canon = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    t = s.str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True)
    t = t.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    ok = t.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}")
    d = pd.to_datetime(t.where(ok, None), format="%Y-%m-%d", errors="coerce")
    d = d.where(d.dt.year.between(1900, 2100))
    return d, canon & d.notna()


def icd(cell, counts):
    out = []
    for part in SPLIT.split(cell):
        part = part.strip()
        if not part:
            continue
        if ICD_OK.match(part):
            out.append(part)
            continue
        m = ICD_ANY.match(part)
        if not m:
            counts["icd10_invalid"] += 1
            continue
        code = m.group(1).upper() + m.group(2) + ("." + m.group(3) if m.group(3) else "")
        counts["icd10_normalised"] += 1
        out.append(code)
    return ";".join(out)


def measure(s, unit):
    m = s.str.lower().str.extract(r"^\s*(-?\d*\.?\d*)\s*(公斤|千克|kg|斤|厘米|cm|米|m)?\s*$")
    num = pd.to_numeric(m[0], errors="coerce")
    factor = {"kg": {"斤": 0.5}, "cm": {"米": 100.0, "m": 100.0}}[unit]
    conv = m[1].isin(list(factor))
    val = num * m[1].map(factor).fillna(1.0)
    tenths = np.floor(val * 10 + 0.5 + 1e-9)
    return tenths, conv & num.notna()


def clean(dept, df, pepper):
    spec, _, table = SPECS[dept]
    c = {r: 0 for r in RULES}
    rejected = {}
    read = len(df)
    df = df.apply(lambda col: col.str.strip())
    dup = df.duplicated(keep="first")
    c["duplicate_exact"] = int(dup.sum())
    df = df[~dup]
    ids = df["id_number"].str.upper()
    miss_id = ids.eq("")
    bad_id = ~miss_id & ~valid_ids(ids)
    c["id_invalid"] = int(bad_id.sum())
    rejected["id_invalid:id_number"] = int(bad_id.sum())
    rejected["missing_rejected:id_number"] = int(miss_id.sum())
    keep = ~miss_id & ~bad_id
    for name, _, kind, _, policy in spec:
        if policy == "reject" and name != "id_number":
            m = keep & df[name].eq("")
            rejected[f"missing_rejected:{name}"] = int(m.sum())
            keep &= ~m
    c["missing_rejected"] = sum(v for k, v in rejected.items() if k.startswith("missing_rejected"))
    df = df[keep].copy()
    df["id_number"] = ids[keep]
    out = pd.DataFrame(index=df.index)
    fc = {r: pd.Series(0, index=df.index) for r in RULES}  # per-row counts, summed over stored rows
    id_birth = pd.to_datetime(df["id_number"].str[6:14], format="%Y%m%d")
    for name, _, kind, arg, policy in spec:
        s = df[name]
        empty = s.eq("")
        if kind in ("id", "name"):
            continue
        if policy in ("null",) and kind in ("phone", "address", "date", "int", "choice", "dec", "icd", "code"):
            fc["missing_null"] += empty.astype(int)
        if policy in ("zero", "sex", "birth"):
            fc["missing_imputed"] += empty.astype(int)
        if kind in ("phone", "address"):
            continue
        if kind == "date":
            d, canon = parse_dates(s)
            inv = ~empty & d.isna()
            fc["date_invalid"] += inv.astype(int)
            fc["date_format"] += (~empty & d.notna() & ~canon).astype(int)
            if policy == "birth":
                mism = d.notna() & (d != id_birth)
                fc["birth_date_mismatch"] += mism.astype(int)
                d = id_birth
            out[name] = d.dt.strftime("%Y-%m-%d")
        elif kind in ("int", "choice"):
            isint = s.str.fullmatch(r"-?\d+")
            n = pd.to_numeric(s.where(isint), errors="coerce")
            fc["number_invalid"] += (~empty & ~isint).astype(int)
            inrange = n.between(*arg) if kind == "int" else n.isin(arg)
            oor = n.notna() & ~inrange
            fc["out_of_range"] += oor.astype(int)
            n = n.where(inrange)
            if policy == "zero":
                n = n.where(~empty, 0)
            out[name] = n.astype("Int64")
        elif kind == "dec":
            unit, lo, hi = arg
            tenths, conv = measure(s, unit)
            fc["number_invalid"] += (~empty & tenths.isna()).astype(int)
            fc["unit_converted"] += conv.astype(int)
            oor = tenths.notna() & ~tenths.between(lo, hi)
            fc["out_of_range"] += oor.astype(int)
            out[name] = (tenths.where(~oor) / 10.0)
        elif kind == "icd":
            per = {"icd10_invalid": [], "icd10_normalised": []}
            vals = []
            for cell in s:
                cc = {"icd10_invalid": 0, "icd10_normalised": 0}
                vals.append(icd(cell, cc) if cell else "")
                for k in per:
                    per[k].append(cc[k])
            for k in per:
                fc[k] += pd.Series(per[k], index=s.index)
            out[name] = pd.Series(vals, index=s.index).replace("", None)
        elif kind == "code":
            bad = ~empty & ~s.isin(arg)
            fc["out_of_range"] += bad.astype(int)
            v = s.where(~empty & ~bad, None)
            if policy == "sex":
                v = v.where(~empty, np.where(df["id_number"].str[16].astype(int) % 2 == 1, "1", "2"))
            out[name] = v
        elif kind == "text":
            out[name] = s
    # fuzzy duplicates over stored rows
    if dept == "civil":
        # One row per assessment: duplicates share the assessment date.
        d1 = pd.DataFrame({"i": df["id_number"], "a": out["assessed_on"]}).duplicated(keep="first")
        key2 = pd.DataFrame({"n": df["name"], "b": out["birth_date"], "d": out["district"], "a": out["assessed_on"]})
        d2 = out["district"].notna() & key2.duplicated(keep="first")
        fuzzy = d1 | d2
    elif dept == "health":
        fuzzy = pd.DataFrame({"i": df["id_number"], "d": out["exam_date"]}).duplicated(keep="first")
    else:
        fuzzy = out["claim_id"].duplicated(keep="first")
    c["duplicate_fuzzy"] = int(fuzzy.sum())
    stored = ~fuzzy
    for r in RULES:
        if r not in ("duplicate_exact", "duplicate_fuzzy", "id_invalid", "missing_rejected"):
            c[r] += int(fc[r][stored].sum())
    out = out[stored]
    out.insert(0, "subject", [hmac.new(pepper, DOMAIN + i.encode(), "sm3").digest() for i in df["id_number"][stored]])
    rejected = {k: v for k, v in rejected.items() if v}
    return out, c, rejected, read


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--db", required=True)
    a = ap.parse_args()
    secrets = json.load(open(os.path.join(a.dir, "secrets.json")))
    pepper = bytes.fromhex(secrets["pepper"])
    injected = json.load(open(os.path.join(a.dir, "dirt.json")))["departments"]
    if os.path.exists(a.db):
        os.remove(a.db)
    t0 = time.perf_counter()
    con = sqlite3.connect(a.db)
    rows_read, counts, match = 0, {}, True
    for dept in ["civil", "health", "insurance"]:
        df = load(dept, a.dir)
        out, c, rej, read = clean(dept, df, pepper)
        rows_read += read
        out.to_sql(SPECS[dept][2], con, if_exists="replace", index=False, chunksize=50_000)
        counts[dept] = c
        if c != injected[dept]["rules"] or rej != injected[dept]["rejected_by_reason"]:
            match = False
            print(f"{dept}: pandas {c} {rej} vs injected {injected[dept]['rules']} {injected[dept]['rejected_by_reason']}",
                  file=sys.stderr)
    con.commit()
    con.close()
    seconds = time.perf_counter() - t0
    print(json.dumps({"rows_read": rows_read, "seconds": seconds, "counts": counts, "matches_injected": match}))


if __name__ == "__main__":
    main()

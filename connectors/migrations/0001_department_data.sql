-- Weinong department data, schema version 1.
-- One set of migrations for SQLite and PostgreSQL: only types both accept (TEXT, BIGINT,
-- DOUBLE PRECISION, BYTEA; SQLite stores BYTEA values as blobs). Dates are TEXT
-- 'YYYY-MM-DD'. Identifying fields never appear here: they are sealed (SM4-GCM) in
-- subject.identity; rows are keyed by the subject pseudonym (HMAC-SM3, 32 bytes).

CREATE TABLE subject (
    department TEXT NOT NULL,
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL,
    PRIMARY KEY (department, subject)
);

CREATE TABLE civil_person (
    subject BYTEA NOT NULL,
    sex TEXT,
    birth_date TEXT,
    district TEXT,
    education BIGINT,
    living_alone BIGINT,
    care_grade BIGINT,
    assessed_on TEXT,
    gb_eating BIGINT,
    gb_grooming BIGINT,
    gb_bathing BIGINT,
    gb_dress_upper BIGINT,
    gb_dress_lower BIGINT,
    gb_urine BIGINT,
    gb_bowel BIGINT,
    gb_toilet BIGINT,
    gb_bed_transfer BIGINT,
    gb_chair_transfer BIGINT,
    gb_walking BIGINT,
    gb_stairs BIGINT,
    gb_orient_time BIGINT,
    gb_orient_place BIGINT,
    gb_orient_person BIGINT,
    gb_memory BIGINT,
    gb_understanding BIGINT,
    gb_expression BIGINT,
    gb_aggression BIGINT,
    gb_depression BIGINT,
    gb_consciousness BIGINT,
    gb_vision BIGINT,
    gb_hearing BIGINT,
    gb_daily_affairs BIGINT,
    gb_transport BIGINT,
    gb_social BIGINT,
    risk_fall_30d BIGINT,
    risk_choking_30d BIGINT,
    risk_self_harm_30d BIGINT,
    risk_wandering_30d BIGINT,
    PRIMARY KEY (subject)
);

CREATE TABLE health_checkup (
    subject BYTEA NOT NULL,
    exam_date TEXT NOT NULL,
    height_cm DOUBLE PRECISION,
    weight_kg DOUBLE PRECISION,
    sbp BIGINT,
    dbp BIGINT,
    diagnoses TEXT,
    falls_12m BIGINT,
    morse_history BIGINT,
    morse_secondary_dx BIGINT,
    morse_aid BIGINT,
    morse_iv BIGINT,
    morse_gait BIGINT,
    morse_mental BIGINT,
    ad8_judgment BIGINT,
    ad8_interest BIGINT,
    ad8_repeats BIGINT,
    ad8_learning BIGINT,
    ad8_month_year BIGINT,
    ad8_finances BIGINT,
    ad8_appointments BIGINT,
    ad8_memory BIGINT,
    mmse BIGINT,
    braden_sensory BIGINT,
    braden_moisture BIGINT,
    braden_activity BIGINT,
    braden_mobility BIGINT,
    braden_nutrition BIGINT,
    braden_friction BIGINT,
    mna_intake BIGINT,
    mna_weight_loss BIGINT,
    mna_mobility BIGINT,
    mna_stress BIGINT,
    mna_neuro BIGINT,
    mna_bmi BIGINT,
    PRIMARY KEY (subject, exam_date)
);

CREATE TABLE insurance_claim (
    subject BYTEA NOT NULL,
    claim_id TEXT NOT NULL,
    setting TEXT,
    admit_date TEXT,
    discharge_date TEXT,
    diagnoses TEXT,
    medication_count BIGINT,
    ltc_insured BIGINT,
    PRIMARY KEY (claim_id)
);
CREATE INDEX insurance_claim_subject ON insurance_claim (subject);

CREATE TABLE import_job (
    id TEXT NOT NULL PRIMARY KEY,
    department TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at_ms BIGINT NOT NULL,
    rows_stored BIGINT NOT NULL,
    report_json TEXT NOT NULL
);

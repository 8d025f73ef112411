-- Weinong department data, schema version 2, SQLite.
-- (PostgreSQL's version 2 is 0002_department_data.postgres.sql: identities per department
-- only; its tables keep their PRIMARY KEY constraints.)
--
-- 1. Keys are named indexes instead of inline PRIMARY KEYs (which SQLite cannot drop), so
--    that an import into an empty table drops them, appends the rows and builds each index
--    once, sorted, before it commits, in the import's one transaction
--    (connectors/src/write.rs, `BulkLoad`). Rows are keyed by random pseudonyms: kept
--    through the import, an index takes one random B-tree insert per row.
-- 2. Sealed identities move from one `subject` table with a department column (repeated in
--    every row) to one table per department, `subject_<department>`.
-- Tables are rebuilt the way SQLite documents for schema changes: create, copy, drop, rename.

CREATE TABLE civil_person_v2 (
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
    risk_wandering_30d BIGINT
);
INSERT INTO civil_person_v2 SELECT * FROM civil_person;
DROP TABLE civil_person;
ALTER TABLE civil_person_v2 RENAME TO civil_person;
CREATE UNIQUE INDEX civil_person_key ON civil_person (subject);

CREATE TABLE health_checkup_v2 (
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
    mna_bmi BIGINT
);
INSERT INTO health_checkup_v2 SELECT * FROM health_checkup;
DROP TABLE health_checkup;
ALTER TABLE health_checkup_v2 RENAME TO health_checkup;
CREATE UNIQUE INDEX health_checkup_key ON health_checkup (subject, exam_date);

CREATE TABLE insurance_claim_v2 (
    subject BYTEA NOT NULL,
    claim_id TEXT NOT NULL,
    setting TEXT,
    admit_date TEXT,
    discharge_date TEXT,
    diagnoses TEXT,
    medication_count BIGINT,
    ltc_insured BIGINT
);
INSERT INTO insurance_claim_v2 SELECT * FROM insurance_claim;
DROP TABLE insurance_claim;
ALTER TABLE insurance_claim_v2 RENAME TO insurance_claim;
CREATE UNIQUE INDEX insurance_claim_key ON insurance_claim (claim_id);
CREATE INDEX insurance_claim_subject ON insurance_claim (subject);

CREATE TABLE subject_civil (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL
);
INSERT INTO subject_civil (subject, identity) SELECT subject, identity FROM subject WHERE department = 'civil';
CREATE UNIQUE INDEX subject_civil_key ON subject_civil (subject);

CREATE TABLE subject_health (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL
);
INSERT INTO subject_health (subject, identity) SELECT subject, identity FROM subject WHERE department = 'health';
CREATE UNIQUE INDEX subject_health_key ON subject_health (subject);

CREATE TABLE subject_insurance (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL
);
INSERT INTO subject_insurance (subject, identity) SELECT subject, identity FROM subject WHERE department = 'insurance';
CREATE UNIQUE INDEX subject_insurance_key ON subject_insurance (subject);

DROP TABLE subject;

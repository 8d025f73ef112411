-- Weinong department data, schema version 3, SQLite.
-- The civil table becomes one row per GB/T 42195 assessment (`civil_assessment`, keyed by
-- subject and assessment date, the register fields repeated in each row), so a person's
-- re-assessments form a history. The four risk_*_30d columns now hold the assessment
-- form's frequency code (0 none, 1 once, 2 twice, 3 three times or more) instead of a 0/1
-- flag: the rows move unchanged, so a stored 1 now reads "once", a lower bound of the
-- true frequency (the store's upgrade report counts those rows: `store::UpgradeReport`).
-- A row without an assessment date cannot be keyed: it fails the NOT NULL and the whole
-- migration rolls back (imports have always refused such rows).
-- Rebuilt the way SQLite documents for schema changes: create, copy, drop; the key is a
-- named index, as in version 2, so bulk loads can drop and rebuild it.

CREATE TABLE civil_assessment (
    subject BYTEA NOT NULL,
    sex TEXT,
    birth_date TEXT,
    district TEXT,
    education BIGINT,
    living_alone BIGINT,
    care_grade BIGINT,
    assessed_on TEXT NOT NULL,
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
INSERT INTO civil_assessment (subject, sex, birth_date, district, education, living_alone, care_grade, assessed_on, gb_eating, gb_grooming, gb_bathing, gb_dress_upper, gb_dress_lower, gb_urine, gb_bowel, gb_toilet, gb_bed_transfer, gb_chair_transfer, gb_walking, gb_stairs, gb_orient_time, gb_orient_place, gb_orient_person, gb_memory, gb_understanding, gb_expression, gb_aggression, gb_depression, gb_consciousness, gb_vision, gb_hearing, gb_daily_affairs, gb_transport, gb_social, risk_fall_30d, risk_choking_30d, risk_self_harm_30d, risk_wandering_30d)
    SELECT subject, sex, birth_date, district, education, living_alone, care_grade, assessed_on, gb_eating, gb_grooming, gb_bathing, gb_dress_upper, gb_dress_lower, gb_urine, gb_bowel, gb_toilet, gb_bed_transfer, gb_chair_transfer, gb_walking, gb_stairs, gb_orient_time, gb_orient_place, gb_orient_person, gb_memory, gb_understanding, gb_expression, gb_aggression, gb_depression, gb_consciousness, gb_vision, gb_hearing, gb_daily_affairs, gb_transport, gb_social, risk_fall_30d, risk_choking_30d, risk_self_harm_30d, risk_wandering_30d FROM civil_person;
DROP TABLE civil_person;
CREATE UNIQUE INDEX civil_assessment_key ON civil_assessment (subject, assessed_on);

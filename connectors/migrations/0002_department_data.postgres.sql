-- Weinong department data, schema version 2, PostgreSQL.
-- (SQLite's version 2 is 0002_department_data.sqlite.sql, which also turns its keys into
-- named indexes for bulk loading.)
--
-- Sealed identities move from one `subject` table with a department column (repeated in
-- every row) to one table per department, `subject_<department>`.

CREATE TABLE subject_civil (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL,
    PRIMARY KEY (subject)
);
INSERT INTO subject_civil (subject, identity) SELECT subject, identity FROM subject WHERE department = 'civil';

CREATE TABLE subject_health (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL,
    PRIMARY KEY (subject)
);
INSERT INTO subject_health (subject, identity) SELECT subject, identity FROM subject WHERE department = 'health';

CREATE TABLE subject_insurance (
    subject BYTEA NOT NULL,
    identity BYTEA NOT NULL,
    PRIMARY KEY (subject)
);
INSERT INTO subject_insurance (subject, identity) SELECT subject, identity FROM subject WHERE department = 'insurance';

DROP TABLE subject;

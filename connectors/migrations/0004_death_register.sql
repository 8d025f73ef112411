-- Weinong department data, schema version 4, both engines.
-- Civil affairs records deaths (死亡登记) as a register field of its assessment rows: the
-- date of death, NULL for the living and for every row stored before this version. Added
-- as the table's last column, so the rows stay as they are and no data moves.

ALTER TABLE civil_assessment ADD COLUMN death_date TEXT;

-- Issue 15, conflict of interest (回避): staff members' ID number and household number as
-- keyed hashes under INTAKE_PERSONAL_DATA_LOOKUP_KEY (never in the clear), registered by
-- administrators. Intake, which alone opens sealed applicants, compares them with a case's
-- applicant when a staff member accepts, is assigned or decides the case.
CREATE TABLE IF NOT EXISTS staff_identities (
    staff_id        text        PRIMARY KEY,
    id_hash         text,
    household_hash  text,
    set_by          text        NOT NULL,
    updated_at      timestamptz NOT NULL
);

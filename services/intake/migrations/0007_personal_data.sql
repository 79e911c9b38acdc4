-- Personal data by design (issue 15, `intake.personal_data`).
-- One row per subject (a resident, named everywhere else by `subject_id`, a random
-- pseudonym): the keyed hash of the ID number that finds it (`lookup_hash`, HMAC-SHA256 under
-- INTAKE_PERSONAL_DATA_LOOKUP_KEY) and its data key, wrapped by a master key. An erasure
-- sets `wrapped_key` and `lookup_hash` to NULL: every sealed field of that person, in every
-- event on every topic and in every backup, can no longer be opened; a resident who comes
-- back later is a new subject.
CREATE TABLE IF NOT EXISTS personal_data_subjects (
    subject_id   text        PRIMARY KEY,
    lookup_hash  text        UNIQUE,
    key_id       text,
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    erased_at    timestamptz,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

-- The case's subject: staff and the resident's own reads open the sealed applicant with
-- that subject's key; `applicant_key` stays for rows written before sealing.
ALTER TABLE applications ADD COLUMN IF NOT EXISTS subject_id text;
ALTER TABLE applications ALTER COLUMN applicant_key DROP NOT NULL;
CREATE INDEX IF NOT EXISTS applications_subject_idx ON applications (subject_id);

-- Every read of a resident's personal data in the clear (issue 15): who, whose (the subject,
-- never the ID number), which case, through which endpoint. Inspectors list them.
CREATE TABLE IF NOT EXISTS personal_data_reads (
    read_id      bigserial   PRIMARY KEY,
    read_at      timestamptz NOT NULL,
    reader_id    text        NOT NULL,
    reader_role  text        NOT NULL,
    reader_org   text,
    subject_id   text        NOT NULL,
    case_id      text,
    endpoint     text        NOT NULL
);
CREATE INDEX IF NOT EXISTS personal_data_reads_subject_idx
    ON personal_data_reads (subject_id, read_at);

-- Legal holds (issue 15): a case an inspection still needs. While a case of a subject is
-- held, that subject's personal data is not erased (409).
CREATE TABLE IF NOT EXISTS legal_holds (
    case_id   text        PRIMARY KEY,
    held_by   text        NOT NULL,
    reason    text        NOT NULL,
    held_at   timestamptz NOT NULL
);

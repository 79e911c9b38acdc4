-- Issue 15 for joint cases (联办): the joint application's applicant is sealed per subject
-- like a single application's. `applicant` keeps it as the event has it (sealed; opened on
-- read with the subject's key), `subject_id` names whose it is (the erasure finds the joint
-- cases by it), `applicant_key` is the subject's keyed lookup hash (NULL once erased).
ALTER TABLE joint_cases ADD COLUMN IF NOT EXISTS applicant jsonb;
ALTER TABLE joint_cases ADD COLUMN IF NOT EXISTS subject_id text;
ALTER TABLE joint_cases ALTER COLUMN applicant_key DROP NOT NULL;
CREATE INDEX IF NOT EXISTS joint_cases_subject_idx ON joint_cases (subject_id);

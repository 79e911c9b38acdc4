-- Issue 17 #3 (服务条线): per-line and per-staff figures on the board.
-- line_id: the accepting center's line of the case (intake.application_accepted.line_id);
-- handling_line_id: the handling unit's line (routing.case_routed.line_id);
-- accepting_staff_id: the first-inquiry responsible staff member (首问责任人);
-- handled_by: the officer holding the case (routing.case_assigned / case_reassigned), then
-- the one who decided it (routing.case_decided.decided_by).
-- NULL for facts projected before these columns existed (the per-line board then counts
-- the case in each line taking its category, as before).
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS line_id text;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS handling_line_id text;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS accepting_staff_id text;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS handled_by text;
CREATE INDEX IF NOT EXISTS board_cases_handling_idx ON board_cases (handling_org_id, handled_by);

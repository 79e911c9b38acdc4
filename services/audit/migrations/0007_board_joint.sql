-- Issue 17 (联办): the board knows joint cases. A joint case is one row of its own (`joint`,
-- item_code = the bundle's code) at its accepting center, counted once there, its promise
-- kept when the final joint result came on or before `promised_date`; each member is a row
-- of its own under the office and tier that decided it (`joint_case_id` names its joint case),
-- with no accepting center, so the center counts the bundle once and not once per member.
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS joint boolean NOT NULL DEFAULT false;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS joint_case_id text;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS promised_date date;

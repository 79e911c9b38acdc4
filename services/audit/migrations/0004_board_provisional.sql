-- Issue 13 #7: which board figures rest on a provisional holiday estimate (a year whose
-- official schedule was not published when the date was counted).
-- promise_provisional: the case's promised date (intake.application_accepted, revised by
-- intake.promised_date_revised); on_time_provisional: the decision's on-time verdict
-- (routing.case_decided). NULL when the event did not say (v1).
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS promise_provisional boolean;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS on_time_provisional boolean;

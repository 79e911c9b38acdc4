-- Issue 13 #7: which board figures rest on a provisional holiday estimate (a year whose
-- official schedule was not published when the date was counted).
-- promise_provisional: the case's promised date (intake.application_accepted, revised by
-- intake.promised_date_revised); on_time_provisional: the decision's on-time verdict
-- (routing.case_decided). NULL when the event did not say (v1).
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS promise_provisional boolean;
ALTER TABLE board_cases ADD COLUMN IF NOT EXISTS on_time_provisional boolean;

-- The holiday schedules published in the log (routing.holiday_schedule_published), one row per
-- year (a superseding notice replaces it): with the package's years they are the calendar the
-- board counts working days by, the same as intake's and routing's.
CREATE TABLE IF NOT EXISTS board_holiday_schedules (
    year             integer PRIMARY KEY,
    notice_no        text    NOT NULL,
    holidays         date[]  NOT NULL,
    makeup_workdays  date[]  NOT NULL,
    idx              bigint  NOT NULL
);

-- Issue 13 #7: the working-day calendar intake counts receipts by, and how firm each receipt is.
--
-- `holiday_schedules`: the statutory holiday schedules routing published
-- (routing.holiday_schedule_published), one row per year (a superseding notice replaces the
-- row); `revision` grows with every publication received, so an in-memory calendar catches up
-- by reading the rows newer than the last it folded. With the package's years they make the
-- calendar of every promise intake prints (contracts.workdays.WorkingCalendar).
CREATE TABLE IF NOT EXISTS holiday_schedules (
    year             integer     PRIMARY KEY,
    notice_no        text        NOT NULL,
    holidays         date[]      NOT NULL,
    makeup_workdays  date[]      NOT NULL,
    revision         integer     NOT NULL UNIQUE,
    published_at     timestamptz NOT NULL
);

-- The years the receipt's promised date was counted over without an official schedule
-- (empty: firm; NULL: a v1 acceptance did not say).
ALTER TABLE applications ADD COLUMN IF NOT EXISTS promised_provisional_years integer[];

-- The office hours of each center (routing.org_unit_registered / routing.office_hours_set):
-- the promised date on a receipt is decided by the accepting center's hours
-- (contracts.workdays.promised_deadline, the rule routing's deadline clock runs on).
ALTER TABLE centers ADD COLUMN IF NOT EXISTS office_hours jsonb;

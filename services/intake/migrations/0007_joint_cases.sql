-- Issue 17 (联办): intake's read model of joint cases, written in the transaction of the
-- joint case's own events (`intake.projections.joint_cases`) and of routing's
-- `routing.joint_result_ready` (the result coming back: once, or member by member).
CREATE TABLE IF NOT EXISTS joint_cases (
    joint_case_id            text PRIMARY KEY,
    bundle_code              text        NOT NULL,
    bundle_name_zh           text        NOT NULL,
    status                   text        NOT NULL,  -- awaiting_materials | accepted | result_ready | delivered
    accepting_center_id      text        NOT NULL,
    registered_community_id  text        NOT NULL,
    applicant_key            text        NOT NULL,  -- HMAC of the ID number (the resident reads it)
    accepting_staff_id       text,
    submitted_by             text        NOT NULL,
    submitted_by_role        text        NOT NULL,
    missing                  jsonb,                 -- what the one notice still waits for
    receipt_no               text,
    promised_completion_date date,
    result_return            text,
    members                  jsonb       NOT NULL DEFAULT '[]',  -- case_id, item_code, status
    result_ready_at          timestamptz,           -- every member done (the final result)
    delivered_at             timestamptz,           -- the resident got it (领取)
    updated_at               timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS joint_cases_center ON joint_cases (accepting_center_id);

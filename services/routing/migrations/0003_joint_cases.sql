-- Issue 17 #1 (联办): the joint cases routing has seen, and which case is a member of which.
-- `accepted` is intake's `intake.joint_application_accepted` payload: the joint case's
-- first state (members, order, refusal and result rules); routing's own `routing.joint_*`
-- events on the stream `joint-<hex>` follow it in the event store.
CREATE TABLE IF NOT EXISTS joint_cases (
    joint_case_id text PRIMARY KEY,
    accepted      jsonb       NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS joint_members (
    case_id       text PRIMARY KEY,
    joint_case_id text NOT NULL REFERENCES joint_cases (joint_case_id)
);

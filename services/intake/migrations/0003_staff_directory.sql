-- The staff directory, from routing's org tree (routing.staff_registered): who works at which
-- center in which roles. Intake records a staff member as the actor of an event, and as the
-- first-inquiry responsible staff member (首问责任人) of a case, only when the tree lists
-- them at that center: accountability (责任追究制) needs a name the org tree knows.
CREATE TABLE IF NOT EXISTS staff (
    staff_id    text PRIMARY KEY,
    name_zh     text        NOT NULL,
    roles       text[]      NOT NULL,
    unit_id     text        NOT NULL,
    office_id   text,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_unit_idx ON staff (unit_id);

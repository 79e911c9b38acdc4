-- Issue 17 #3 (服务条线): the service line each queued case belongs to (the handling unit's
-- line, `routing.case_routed.line_id`), so the queue can be read line by line. NULL for
-- cases routed before lines were recorded, or at a unit with no line for the item.
ALTER TABLE case_queue ADD COLUMN IF NOT EXISTS line_id text;
CREATE INDEX IF NOT EXISTS case_queue_line_idx ON case_queue (handling_unit_id, line_id, status, due_at);

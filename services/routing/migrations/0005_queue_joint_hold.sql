-- 联办: a joint member waiting its turn or stopped by another's refusal is `open` but its
-- clock does not run (`CaseState.joint_hold`); the queue says so, so such a member is never
-- shown overdue nor mistaken for work that can be decided. Backfilled from the members'
-- latest hold or resume event.
ALTER TABLE case_queue ADD COLUMN IF NOT EXISTS joint_hold text;
UPDATE case_queue q SET joint_hold = h.reason
FROM (
    SELECT DISTINCT ON (stream_id) stream_id, event_type, convert_from(envelope, 'UTF8')::jsonb -> 'payload' ->> 'reason' AS reason
    FROM events
    WHERE event_type IN ('routing.joint_member_held', 'routing.joint_member_resumed')
    ORDER BY stream_id, stream_version DESC
) h
WHERE h.stream_id = q.case_id AND h.event_type = 'routing.joint_member_held'
  AND q.joint_hold IS NULL;

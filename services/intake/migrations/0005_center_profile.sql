-- What a resident reads about a center before going there (the portal's center page, the
-- public GET /v1/centers/{unit_id}): its service lines (窗口) and how to get there (an
-- island's boat), from routing.org_unit_registered / routing.service_lines_set.
ALTER TABLE centers ADD COLUMN IF NOT EXISTS service_lines jsonb;
ALTER TABLE centers ADD COLUMN IF NOT EXISTS access_note_zh text;

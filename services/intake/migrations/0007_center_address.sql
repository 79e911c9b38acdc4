-- Where a center is (the public center page and the centers list): from
-- routing.org_unit_registered's optional address_zh (NULL for units registered without one).
ALTER TABLE centers ADD COLUMN IF NOT EXISTS address_zh text;

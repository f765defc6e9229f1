-- 变更申请 for every change the guide names (升级、降级、增项、暂扣、恢复、吊销、注销、撤销、撤回、
-- 信息变更), each with its 生效日期.
--
-- - `action` now holds the legal act: upgrade, downgrade, add_item, suspend, reinstate,
--   revoke_penalty (吊销), revoke (撤销), withdraw (撤回), cancel, enterprise_info. Rows
--   recorded before this migration as `revoke` (the console's 撤销（吊销）) read as 撤销.
-- - `qualification_id` is only for changes to one qualification: 增项 and 信息变更 have none.
-- - `enterprise_id`: whose register the change is about (every request has one).
-- - `details`: JSON of what the request is about as recorded (the qualification, the item
--   added, the enterprise block before and after); NULL on rows from before this migration.
-- - `effective_on`: the Beijing date from which the change applies; an approval before it is
--   refused. Rows from before this migration took effect on the day they were decided (or, if
--   pending, may be decided from the day they were recorded).
ALTER TABLE change_requests ALTER COLUMN qualification_id DROP NOT NULL;
ALTER TABLE change_requests ADD COLUMN enterprise_id BIGINT REFERENCES enterprises (id);
ALTER TABLE change_requests ADD COLUMN details TEXT;
ALTER TABLE change_requests ADD COLUMN effective_on TEXT;
UPDATE change_requests r SET enterprise_id = c.enterprise_id
FROM qualifications q JOIN certificates c ON c.number = q.certificate_number
WHERE q.id = r.qualification_id;
UPDATE change_requests SET effective_on =
    to_char((COALESCE(decided_at, requested_at)::timestamptz AT TIME ZONE 'UTC') + interval '8 hours',
            'YYYY-MM-DD');
ALTER TABLE change_requests ALTER COLUMN enterprise_id SET NOT NULL;
ALTER TABLE change_requests ALTER COLUMN effective_on SET NOT NULL;
ALTER TABLE change_requests ADD CONSTRAINT change_requests_target
    CHECK ((action IN ('add_item', 'enterprise_info')) = (qualification_id IS NULL));
CREATE INDEX change_requests_enterprise ON change_requests (enterprise_id);

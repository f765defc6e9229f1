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
--
-- SQLite cannot drop a NOT NULL with ALTER, so the table is rebuilt (nothing references it).
CREATE TABLE change_requests_0010 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    qualification_id INTEGER REFERENCES qualifications (id),
    new_grade TEXT,
    details TEXT,
    basis TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES accounts (id),
    requested_at TEXT NOT NULL,
    -- approved or rejected, once decided
    decision TEXT,
    decided_by INTEGER REFERENCES accounts (id),
    decided_at TEXT,
    CHECK ((action IN ('add_item', 'enterprise_info')) = (qualification_id IS NULL))
);
INSERT INTO change_requests_0010
    (id, action, enterprise_id, qualification_id, new_grade, details, basis, effective_on,
     requested_by, requested_at, decision, decided_by, decided_at)
SELECT r.id, r.action, c.enterprise_id, r.qualification_id, r.new_grade, NULL, r.basis,
       date(COALESCE(r.decided_at, r.requested_at), '+8 hours'),
       r.requested_by, r.requested_at, r.decision, r.decided_by, r.decided_at
FROM change_requests r
JOIN qualifications q ON q.id = r.qualification_id
JOIN certificates c ON c.number = q.certificate_number;
DROP TABLE change_requests;
ALTER TABLE change_requests_0010 RENAME TO change_requests;
CREATE INDEX change_requests_enterprise ON change_requests (enterprise_id);

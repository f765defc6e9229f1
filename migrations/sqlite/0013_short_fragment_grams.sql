-- Lookup by a name fragment of one or two characters without reading every row: the SQLite
-- counterpart of PostgreSQL's `name_grams` (migration 0011), as a table of every distinct one-
-- and two-character substring of each `name_key`, keyed by the substring. The grams are of
-- `lower(name_key)`, and the lookup folds the fragment with the same `lower`, so a fragment
-- finds what `instr(lower(name_key), lower(fragment))` found before (ASCII case folded).
CREATE TABLE enterprise_name_grams (
    gram TEXT NOT NULL,
    enterprise_id INTEGER NOT NULL,
    PRIMARY KEY (gram, enterprise_id)
) WITHOUT ROWID;

-- The grams of every name as it stands, the one definition the backfill and the triggers
-- share. A trigger may not use a recursive CTE, so the character positions come from
-- `json_each` over an array of one zero per character (`hex(zeroblob(n))` is n "00"s).
CREATE VIEW enterprise_name_grams_of_names (enterprise_id, gram) AS
SELECT e.id, substr(lower(e.name_key), p.key + 1, w.value)
FROM enterprises e,
     json_each('[' || substr(replace(hex(zeroblob(length(lower(e.name_key)))), '00', ',0'), 2) || ']') p,
     json_each('[1, 2]') w
WHERE p.key + w.value <= length(lower(e.name_key));

INSERT OR IGNORE INTO enterprise_name_grams (gram, enterprise_id)
SELECT gram, enterprise_id FROM enterprise_name_grams_of_names;

-- Kept in step with `enterprises` here rather than in the store, so every writer of a name
-- (the store, the start-up fill of `name_key`, the load benchmark's copy) keeps it. Old grams
-- are removed before the row changes, while the view still gives them, by their primary key
-- (an index on `enterprise_id` alone would double the table for the rare rename).
CREATE TRIGGER enterprise_name_grams_insert AFTER INSERT ON enterprises BEGIN
    INSERT OR IGNORE INTO enterprise_name_grams (gram, enterprise_id)
    SELECT gram, enterprise_id FROM enterprise_name_grams_of_names WHERE enterprise_id = new.id;
END;
CREATE TRIGGER enterprise_name_grams_delete BEFORE DELETE ON enterprises BEGIN
    DELETE FROM enterprise_name_grams
    WHERE enterprise_id = old.id
      AND gram IN (SELECT gram FROM enterprise_name_grams_of_names WHERE enterprise_id = old.id);
END;
CREATE TRIGGER enterprise_name_grams_update_before BEFORE UPDATE OF name_key ON enterprises
WHEN old.name_key IS NOT new.name_key BEGIN
    DELETE FROM enterprise_name_grams
    WHERE enterprise_id = old.id
      AND gram IN (SELECT gram FROM enterprise_name_grams_of_names WHERE enterprise_id = old.id);
END;
CREATE TRIGGER enterprise_name_grams_update_after AFTER UPDATE OF name_key ON enterprises
WHEN old.name_key IS NOT new.name_key BEGIN
    INSERT OR IGNORE INTO enterprise_name_grams (gram, enterprise_id)
    SELECT gram, enterprise_id FROM enterprise_name_grams_of_names WHERE enterprise_id = new.id;
END;

-- Enterprise lookup on a large register (issue 13) without reading every row: an FTS5 index
-- of `name_key` with the trigram tokenizer (SQLite 3.34+), which answers a quoted phrase of
-- three or more characters as a substring match. Kept in step with `enterprises` by the
-- triggers below; a fragment of fewer than three characters has no trigram and is compared
-- with `instr` row by row instead. The page order (`ORDER BY name, id`) comes from an index.
CREATE VIRTUAL TABLE enterprise_names USING fts5(
    name_key,
    content = 'enterprises',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO enterprise_names (enterprise_names) VALUES ('rebuild');

CREATE TRIGGER enterprise_names_insert AFTER INSERT ON enterprises BEGIN
    INSERT INTO enterprise_names (rowid, name_key) VALUES (new.id, new.name_key);
END;
CREATE TRIGGER enterprise_names_delete AFTER DELETE ON enterprises BEGIN
    INSERT INTO enterprise_names (enterprise_names, rowid, name_key)
    VALUES ('delete', old.id, old.name_key);
END;
CREATE TRIGGER enterprise_names_update AFTER UPDATE OF name_key ON enterprises BEGIN
    INSERT INTO enterprise_names (enterprise_names, rowid, name_key)
    VALUES ('delete', old.id, old.name_key);
    INSERT INTO enterprise_names (rowid, name_key) VALUES (new.id, new.name_key);
END;

CREATE INDEX enterprises_name_id ON enterprises (name, id);

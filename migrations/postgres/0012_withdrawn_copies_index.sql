-- The status snapshot lists every withdrawn copy (`WHERE withdrawn_at IS NOT NULL`); with a
-- million copies and a few percent withdrawn, a partial index reads those instead of every
-- copy.
CREATE INDEX copies_withdrawn ON copies (id) WHERE withdrawn_at IS NOT NULL;

-- Enterprise lookup on a large register (issue 13) without reading every row:
--
-- - `name_key LIKE '%…%'` for a fragment of three or more characters is answered from a
--   trigram index (pg_trgm, a contrib extension that database owners may create). Trigrams of
--   CJK text are extracted only when the database's LC_CTYPE classifies CJK characters as
--   letters: C.UTF-8 and the *.UTF-8 locales do, plain `C`/`POSIX` do not (create the database
--   with a UTF-8 ctype).
-- - a fragment of one or two characters has no trigram; it is looked up as an element of
--   `name_grams`, every one- and two-character substring of the name (a stored generated
--   column, so walking the name index for a common fragment compares arrays instead of
--   computing substrings), with a GIN index: `name_grams @> ARRAY[fragment]`.
-- - the page order (`ORDER BY name, id`) from an index, so a fragment most names contain stops
--   after the page instead of sorting every match.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX enterprises_name_key_trgm ON enterprises USING gin (name_key gin_trgm_ops);

CREATE FUNCTION zizhi_short_grams(t TEXT) RETURNS TEXT[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(DISTINCT substr(t, i, n)), '{}')
    FROM generate_series(1, 2) AS n, generate_series(1, char_length(t) - n + 1) AS i
$$;
ALTER TABLE enterprises
    ADD COLUMN name_grams TEXT[] GENERATED ALWAYS AS (zizhi_short_grams(name_key)) STORED;
CREATE INDEX enterprises_name_grams ON enterprises USING gin (name_grams);

CREATE INDEX enterprises_name_id ON enterprises (name, id);

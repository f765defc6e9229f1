-- A certificate's copies newest first (the first scan of a copy reads its certificate's
-- newest copies in one go: `Store::newest_copies_of`): read from the index in order instead of
-- collecting and sorting all of them. It also serves every lookup by certificate alone, which
-- the index it replaces did.
CREATE INDEX copies_certificate_newest ON copies (certificate_number, id);
DROP INDEX copies_certificate;

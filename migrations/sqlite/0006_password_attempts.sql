-- Wrong passwords of an enterprise's digital certificate, counted in the database so every
-- instance sees them: after five in a row the password is not tried again until
-- `locked_until` (each further failure locks again), and a right password clears the count.
ALTER TABLE enterprise_credentials ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE enterprise_credentials ADD COLUMN locked_until TEXT;

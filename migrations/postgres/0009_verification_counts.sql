-- 核验次数: how many times each usage copy was verified on each day (Beijing date), for the
-- enterprise's 使用记录. Nothing about who verified is kept: no address, no device, no time
-- of day. Written in batches by each instance (`verify::tally`), added to what is there.
CREATE TABLE copy_verifications (
    copy_id BIGINT NOT NULL REFERENCES copies (id),
    day TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (copy_id, day)
);

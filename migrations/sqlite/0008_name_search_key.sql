-- The enterprise name as search compares it (`zizhi_shared::legal_text::search_key`: full NFC,
-- so a CJK compatibility ideograph the register keeps as entered and the unified ideograph an
-- input method may give instead find each other). The store writes it with every name; rows
-- from before this migration are filled in by the store at start-up, in Rust, because SQLite
-- has no Unicode normalisation.
ALTER TABLE enterprises ADD COLUMN name_key TEXT;

-- Passes on an empty table, fails in production: existing rows have no region.
ALTER TABLE accounts
    ADD COLUMN region text NOT NULL;

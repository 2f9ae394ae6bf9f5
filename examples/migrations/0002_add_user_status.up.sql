-- Fail fast instead of queueing every query on the table behind this ALTER.
SET lock_timeout = '5s';

CREATE TYPE user_status AS ENUM ('active', 'suspended', 'deleted');

-- A constant default is stored as metadata since Postgres 11: no table rewrite.
ALTER TABLE users
    ADD COLUMN status user_status NOT NULL DEFAULT 'active';

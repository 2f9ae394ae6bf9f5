CREATE TYPE user_status AS ENUM ('active', 'suspended', 'deleted');

-- A constant default is stored as metadata since Postgres 11: no table rewrite.
ALTER TABLE users
    ADD COLUMN status user_status NOT NULL DEFAULT 'active';

-- The schema name is filled in at deploy time: migration-ci --replace '/* TEMPLATE: schema */=app'
CREATE SCHEMA IF NOT EXISTS /* TEMPLATE: schema */;

CREATE TABLE /* TEMPLATE: schema */.accounts (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    total_cents integer     NOT NULL CHECK (total_cents >= 0),
    currency    char(3)     NOT NULL DEFAULT 'EUR',
    note        text,
    placed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_user_id_idx ON orders (user_id);

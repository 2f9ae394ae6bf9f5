-- Fail fast instead of queueing every query on the table behind this ALTER.
SET lock_timeout = '5s';

ALTER TABLE orders ADD COLUMN updated_at timestamptz;

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Keep the timestamp honest; "updated_at" is never set by hand.
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER orders_touch_updated_at
    BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

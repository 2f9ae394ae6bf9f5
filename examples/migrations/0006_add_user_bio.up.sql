-- Fail fast instead of queueing every query on the table behind this ALTER.
SET lock_timeout = '5s';

ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT '';
COMMENT ON COLUMN users.bio IS 'Shown on the profile page; empty when never set.';

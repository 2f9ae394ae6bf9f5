-- Users as they exist before the status column: some without a name, one with an address in
-- upper case. Ids from 1000 on: the generated test rows already use the low ones.
INSERT INTO users (id, email, full_name, created_at) VALUES
    (1000, 'ada@example.com',   'Ada Lovelace', '2015-12-10 09:00:00+00'),
    (1001, 'Grace@Example.com', NULL,           '2016-12-09 09:00:00+00'),
    (1002, 'anon@example.com',  '',             now());

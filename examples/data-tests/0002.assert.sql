-- Every existing user is active after the migration.
SELECT id, email, status
FROM users
WHERE status IS DISTINCT FROM 'active';

-- Names and addresses are left exactly as they were: NULL stays NULL, '' stays ''.
SELECT expected.id, u.email, u.full_name
FROM (VALUES (1000, 'ada@example.com', 'Ada Lovelace'),
             (1001, 'Grace@Example.com', NULL),
             (1002, 'anon@example.com', '')) AS expected (id, email, full_name)
LEFT JOIN users u ON u.id = expected.id
WHERE (u.email, u.full_name) IS DISTINCT FROM (expected.email, expected.full_name);

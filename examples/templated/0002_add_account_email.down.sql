DROP INDEX /* TEMPLATE: schema */.accounts_email_idx;
ALTER TABLE /* TEMPLATE: schema */.accounts DROP COLUMN email;

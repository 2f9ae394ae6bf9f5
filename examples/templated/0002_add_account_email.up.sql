ALTER TABLE /* TEMPLATE: schema */.accounts ADD COLUMN email text;
CREATE INDEX accounts_email_idx ON /* TEMPLATE: schema */.accounts (email);

-- A typo on line 4 that review missed.
ALTER TABLE accounts ADD COLUMN plan text;

ALTER TABLE accounts AERT COLUMN plan SET DEFAULT 'free';

DROP TABLE /* TEMPLATE: schema */.accounts;
DROP SCHEMA /* TEMPLATE: schema */;

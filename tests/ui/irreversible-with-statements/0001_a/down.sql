-- migrate:irreversible
DROP TABLE a;

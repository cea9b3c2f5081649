-- migrate:allow(drop-column) nothing has read it since 2.3
ALTER TABLE accounts DROP COLUMN legacy;

DROP TABLE audit;

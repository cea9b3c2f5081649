CREATE TABLE audit (id INT);
ALTER TABLE accounts ADD COLUMN legacy TEXT;

-- migrate:no-transactoin
CREATE TABLE a (id INTEGER);

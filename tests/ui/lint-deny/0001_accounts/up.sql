CREATE TABLE accounts (id INT PRIMARY KEY, legacy TEXT);
CREATE TABLE audit (id INT);

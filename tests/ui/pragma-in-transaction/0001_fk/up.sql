PRAGMA foreign_keys = ON;
CREATE TABLE t (a INTEGER);

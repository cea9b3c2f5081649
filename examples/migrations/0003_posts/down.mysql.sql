-- On MySQL the index serves the foreign key on author, so it cannot be dropped first: it goes with its table.
DROP TABLE posts;

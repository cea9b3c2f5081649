-- MySQL names the table an index belongs to.
DROP INDEX posts_author ON posts;
DROP TABLE posts;

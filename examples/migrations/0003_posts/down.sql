DROP INDEX posts_author;
DROP TABLE posts;

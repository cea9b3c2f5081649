CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author INTEGER NOT NULL REFERENCES users (id),
    body TEXT NOT NULL
);
CREATE INDEX posts_author ON posts (author);

CREATE TABLE corpus_booleans (id integer PRIMARY KEY, b boolean);
-- rows
INSERT INTO corpus_booleans VALUES (1, true), (2, false), (3, NULL), (4, 'yes'), (5, 'f');

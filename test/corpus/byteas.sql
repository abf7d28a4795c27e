-- bytea: the bytes as a JSON string when they are valid UTF-8 (as Ruby's
-- valid_encoding?: no surrogates, no overlong forms), else the hex text
-- ("\x..." as PostgreSQL prints it).
CREATE TABLE corpus_byteas (id integer PRIMARY KEY, b bytea);
-- rows
INSERT INTO corpus_byteas VALUES
  (1, '\x48656c6c6f'),
  (2, '\x'),
  (3, '\xff00fe'),
  (4, convert_to('Zürich ✓', 'UTF8')),
  (5, '\x3c3e26'),
  (6, '\x0a00'),
  (7, '\xeda080'),
  (8, '\xc080'),
  (9, '\xe282'),
  (10, NULL);

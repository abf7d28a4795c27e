-- numeric edges: many digits, tiny and huge magnitudes, trailing zeros.
CREATE TABLE corpus_numeric_edges (id integer PRIMARY KEY, n numeric);
-- rows
INSERT INTO corpus_numeric_edges VALUES
  (1, 0.1234567890123456789012345678901234567890), (2, 1e-100), (3, 123.4500),
  (4, -1e30), (5, 0.5), (6, 10);

-- text, varchar, char(n): JSON strings escaped as ActiveSupport::JSON does
-- (JSON gem escapes: \" \\ \b \f \n \r \t, other C0 controls as \u00xx, DEL
-- raw, "/" raw; ActiveSupport adds < > & U+2028 U+2029 as \u escapes);
-- non-ASCII stays raw UTF-8. char(5) keeps its blank padding (bpchar output).
CREATE TABLE corpus_strings (id integer PRIMARY KEY, t text, v varchar(20), c char(5));
-- rows
INSERT INTO corpus_strings VALUES
  (1, 'plain', 'plain', 'ab'),
  (2, '', '', ''),
  (3, 'say "hi"', 'back\slash', 'a"b\c'),
  (4, E'line1\nline2\ttab\rcr', E'\b\f', E'x\ty'),
  (5, E'\x01\x1f\x7f', 'nul?', 'ctl'),
  (6, '<script>&amp;</script>', 'a<b>c&d', '<>&'),
  (7, 'Zürich ✓', 'Zürich ✓', 'Zür'),
  (8, E'sep\u2028para\u2029end', E'\u2028', E'\u2029'),
  (9, E'emoji \U0001F600', '/slash/', ' lead'),
  (10, NULL, NULL, NULL);

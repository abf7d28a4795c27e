-- smallint, integer, bigint, oid: JSON numbers, every digit (incl. max/min bigint).
-- The primary key is a bigint too, so keys with a negative and the max bigint id are checked.
CREATE TABLE corpus_integers (id bigint PRIMARY KEY, s smallint, i integer, b bigint, o oid);
-- rows
INSERT INTO corpus_integers VALUES
  (-1, -1, -1, -1, 1),
  (1, 0, 0, 0, 0),
  (2, 42, 42, 42, 42),
  (3, -32768, -2147483648, -9223372036854775808, 0),
  (4, 32767, 2147483647, 9223372036854775807, 4294967295),
  (5, NULL, NULL, NULL, NULL),
  (9223372036854775807, 7, 7, 7, 7);

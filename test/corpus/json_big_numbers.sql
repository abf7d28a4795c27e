-- json/jsonb numbers beyond 64 bits: JSON.parse gives a Ruby Integer (bignum)
-- for integers of any size and Float::INFINITY (as_json: null) for a float
-- literal that overflows; jsonb's numeric text turns 1e400 into a 401-digit
-- integer.
CREATE TABLE corpus_json_big_numbers (id integer PRIMARY KEY, j json, jb jsonb);
-- rows
INSERT INTO corpus_json_big_numbers VALUES
  (1, '[18446744073709551616]', '[18446744073709551616]'),
  (2, '[-123456789012345678901234567890]', '[-123456789012345678901234567890]'),
  (3, '[1e400]', '[1e400]');

-- double precision edges of Ruby Float#to_s: smallest denormal, 2^53+1,
-- the 1e16 switch to exponent form, three-digit exponents.
CREATE TABLE corpus_float_edges (id integer PRIMARY KEY, d double precision);
-- rows
INSERT INTO corpus_float_edges VALUES
  (1, 5e-324), (2, 9007199254740993), (3, 1.23e-5), (4, 9999999999999998),
  (5, 1/3.0::float8), (6, 123456.789e3), (7, 1e100), (8, 1e-100),
  (9, 1.2345678901234568e-300);

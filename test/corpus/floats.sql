-- double precision and real: Ruby Float#to_s (shortest round-trip digits; plain
-- notation for 1e-4 <= |x| < 1e16, else d.ddde+XX with a two-digit exponent).
-- ActiveRecord reads a real from its float4 text (shortest float4 digits), so
-- real 0.1 is 0.1, not 0.10000000149011612. NaN/+-Infinity render as null.
CREATE TABLE corpus_floats (id integer PRIMARY KEY, d double precision, r real);
-- rows
INSERT INTO corpus_floats VALUES
  (1, 100, 100),
  (2, 1.5, 1.5),
  (3, 1e20, 1e20),
  (4, 1.5e-7, 1.5e-7),
  (5, 'NaN', 'NaN'),
  (6, 'Infinity', 'Infinity'),
  (7, '-Infinity', '-Infinity'),
  (8, 0, 0),
  (9, '-0', '-0'),
  (10, 0.1, 0.1),
  (11, 1e15, 16777217),
  (12, 1e16, 3.4028235e38),
  (13, 0.0001, 0.00001),
  (14, 123456789.125, 1.17549435e-38),
  (15, -2.5, -2.5),
  (16, 1.7976931348623157e308, 1e-45),
  (17, NULL, NULL);

-- numeric: BigDecimal#to_s as ActiveSupport defines it (plain "F" notation, at
-- least one fractional digit, trailing zeros dropped), as a JSON string;
-- NaN and +-Infinity render as null.
CREATE TABLE corpus_numerics (id integer PRIMARY KEY, n numeric, p numeric(10,2));
-- rows
INSERT INTO corpus_numerics VALUES
  (1, 50.00, 50),
  (2, 100, 100.5),
  (3, -0.50, -0.5),
  (4, 0.000001, 0.001),
  (5, 1088.25, 1088.25),
  (6, 'NaN', NULL),
  (7, 0, 0),
  (8, -0.0, -0),
  (9, 12345678901234567890.123456789, 99999999.99),
  (10, 1e-20, -99999999.99),
  (11, 1e20, 1.005),
  (12, 'Infinity', NULL),
  (13, '-Infinity', NULL),
  (14, NULL, NULL);

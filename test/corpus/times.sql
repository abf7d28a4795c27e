-- time and timetz (UTC offsets only here): Rails' time columns, on 2000-01-01,
-- "2000-01-01THH:MM:SS.mmmZ", microseconds truncated.
CREATE TABLE corpus_times (id integer PRIMARY KEY, t time, ttz timetz);
-- rows
INSERT INTO corpus_times VALUES
  (1, '10:00:00.5', '10:00:00.5+00'),
  (2, '00:00:00', '00:00:00+00'),
  (3, '23:59:59.999999', '23:59:59.999999+00'),
  (4, '12:34:56.789', '12:34:56.789Z'),
  (5, NULL, NULL);

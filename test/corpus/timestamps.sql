-- timestamp and timestamptz: ISO 8601 in UTC with milliseconds, microseconds
-- truncated (not rounded, also before 2000 and 1970), "Z"; a timestamp without
-- time zone is read as UTC (offsets in its input are ignored by PostgreSQL);
-- +-infinity render as null. The session TimeZone only affects the input.
CREATE TABLE corpus_timestamps (id integer PRIMARY KEY, ts timestamp, tstz timestamptz);
-- rows
SET TimeZone = 'America/New_York';
INSERT INTO corpus_timestamps VALUES
  (1, '2024-05-01 10:00:00.123456', '2024-05-01 10:00:00.123456+00'),
  (2, '2024-05-01 12:00:00.123456+02', '2024-05-01 12:00:00.123456+02'),
  (3, '2024-05-01 10:00:00', '2024-01-15 08:30:00'),
  (4, '2024-05-01 10:00:00.999999', '2024-05-01 23:59:59.999999-05:30'),
  (5, '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00'),
  (6, '1969-12-31 23:59:59.9995', '1969-12-31 23:59:59.0005+00'),
  (7, '1900-01-01 00:00:00', '1900-01-01 00:00:00+00'),
  (8, 'infinity', 'infinity'),
  (9, '-infinity', '-infinity'),
  (10, '2024-05-01 10:00:00.5', '2024-07-01 12:00:00.001 Europe/Paris'),
  (11, NULL, NULL);

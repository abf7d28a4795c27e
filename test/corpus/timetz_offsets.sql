-- timetz with non-UTC offsets: Rails' time type parses "HH:MM:SS+hh" as
-- 2000-01-01 HH:MM:SS at that offset and renders it in UTC (so it may leave
-- 2000-01-01: 00:30+01 is 1999-12-31T23:30Z).
CREATE TABLE corpus_timetz_offsets (id integer PRIMARY KEY, ttz timetz);
-- rows
INSERT INTO corpus_timetz_offsets VALUES
  (1, '12:00:00.5+02'), (2, '01:30:00-05'), (3, '00:30:00+01'), (4, '10:00:00+05:30'), (5, NULL);

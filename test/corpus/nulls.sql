-- NULL in every column (every type of the corpus): null.
CREATE TYPE corpus_null_mood AS ENUM ('x');
CREATE TABLE corpus_nulls (id integer PRIMARY KEY, s smallint, i integer, b bigint, o oid,
  n numeric, p numeric(10,2), r real, d double precision, bo boolean, t text, v varchar(3),
  c char(2), u uuid, j json, jb jsonb, ia int[], ta text[], dt date, ts timestamp,
  tstz timestamptz, tm time, tmtz timetz, iv interval, bt bytea, e corpus_null_mood,
  m money);
-- rows
INSERT INTO corpus_nulls (id) VALUES (1);

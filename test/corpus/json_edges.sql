-- json/jsonb edges of the JSON.parse + as_json round trip: escapes decoded
-- (\u0000, surrogate pairs, \/), -0.0, exponent forms, long decimals.
CREATE TABLE corpus_json_edges (id integer PRIMARY KEY, j json, jb jsonb);
-- rows
INSERT INTO corpus_json_edges VALUES
  (1, '"\u0000"', '"\u00e9"'),
  (2, '"\ud83d\ude00 \/"', '"\ud83d\ude00 \/"'),
  (3, '[-0.0, 1E+2, 0.1000000000000000055511151231257827]',
      '[-0.0, 1E+2, 0.1000000000000000055511151231257827]');

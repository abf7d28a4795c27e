-- interval edges of Duration#to_i: fractional months, mixed signs, truncation
-- toward zero of sub-second parts.
CREATE TABLE corpus_interval_edges (id integer PRIMARY KEY, iv interval);
-- rows
INSERT INTO corpus_interval_edges VALUES
  (1, '1.5 months'), (2, '1 year -1 second'), (3, '-1 year -2 months'), (4, '1 week'),
  (5, '100 years'), (6, '00:00:00.000001'), (7, '-0.5 seconds'), (8, '1 day -00:00:00.000001');

-- interval: ActiveSupport::Duration#as_json, i.e. to_i of the seconds with
-- Duration's units (year 31556952 s, month 2629746 s, day 86400 s), truncated
-- toward zero.
CREATE TABLE corpus_intervals (id integer PRIMARY KEY, iv interval);
-- rows
INSERT INTO corpus_intervals VALUES
  (1, '1 year 2 months 3 days 04:05:06.5'),
  (2, '-1 day'),
  (3, '0'),
  (4, '1 day 2 hours'),
  (5, '1 mon'),
  (6, '-00:00:01.5'),
  (7, '25 hours'),
  (8, '-1 day +02:00:00'),
  (9, '1 year'),
  (10, '0.999999 seconds'),
  (11, NULL);

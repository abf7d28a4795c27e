-- arrays: JSON arrays of the element renderings (nested for 2-D), NULL
-- elements as null; a quoted "NULL" element is the string.
CREATE TABLE corpus_arrays (id integer PRIMARY KEY, ints int[], texts text[], grid int[][],
                            nums numeric[], tss timestamptz[]);
-- rows
SET TimeZone = 'UTC';
INSERT INTO corpus_arrays VALUES
  (1, '{1,NULL,3}', '{"a,b",NULL,"say \"hi\"","NULL",""}', '{{1,2},{3,4}}',
      '{1.50,NaN,-0.50,100}', '{"2024-05-01 10:00:00.123456+00",NULL}'),
  (2, '{}', '{}', '{}', '{}', '{}'),
  (3, '{-2147483648}', '{"back\\slash","<&>","Zürich ✓"," spaced "}', '{{NULL,5}}',
      '{0.000001}', '{"2024-05-01 12:00:00.5+02"}'),
  (4, NULL, NULL, NULL, NULL, NULL);

-- json and jsonb: ActiveRecord decodes the column text with JSON.parse and
-- as_json re-encodes it: minified, keys in the text's order (json keeps the
-- input order, last duplicate wins in place; jsonb's text has its own order:
-- shorter keys first, then bytewise), numbers with . or e become Ruby Floats
-- (Float#to_s), others Integers, strings escaped as ActiveSupport does.
CREATE TABLE corpus_jsons (id integer PRIMARY KEY, j json, jb jsonb);
-- rows
INSERT INTO corpus_jsons VALUES
  (1, '{"b": 1, "a": [1.0]}', '{"b": 1, "a": [1.0]}'),
  (2, '{"outer": {"z": null, "y": [true, false], "x": {"deep": "v"}}}',
      '{"outer": {"z": null, "y": [true, false], "x": {"deep": "v"}}}'),
  (3, '[1, 1.5, 1e2, 1.5E-7, -0, 12345678901234567890, 1.10, 0.1]',
      '[1, 1.5, 1e2, 1.5E-7, -0, 12345678901234567890, 1.10, 0.1]'),
  (4, '"just a string"', '"just a string"'),
  (5, 'null', 'null'),
  (6, '{"s": "<a href=\"x\">&</a>", "u": "\u00e9\u2028", "n": "line\nnext"}',
      '{"s": "<a href=\"x\">&</a>", "u": "\u00e9\u2028", "n": "line\nnext"}'),
  (7, '{"a": 1, "b": 0, "a": 2}', '{"a": 1, "b": 0, "a": 2}'),
  (8, '{}', '[]'),
  (9, '{"long_key": 1, "k": 2, "aa": 3, "b": 4}', '{"long_key": 1, "k": 2, "aa": 3, "b": 4}'),
  (10, NULL, NULL);

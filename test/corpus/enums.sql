-- enum: its label as a JSON string; arrays of it as JSON arrays.
CREATE TYPE corpus_mood AS ENUM ('happy', 'sad', 'it''s <ok>', 'Zürich ✓');
CREATE TABLE corpus_enums (id integer PRIMARY KEY, mood corpus_mood, moods corpus_mood[]);
-- rows
INSERT INTO corpus_enums VALUES
  (1, 'happy', '{happy,sad}'),
  (2, 'sad', '{}'),
  (3, 'it''s <ok>', '{"it''s <ok>",NULL}'),
  (4, 'Zürich ✓', NULL),
  (5, NULL, NULL);

-- uuid: JSON string, PostgreSQL's canonical lower-case text.
CREATE TABLE corpus_uuids (id integer PRIMARY KEY, u uuid);
-- rows
INSERT INTO corpus_uuids VALUES
  (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  (2, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'),
  (3, '{a0eebc999c0b4ef8bb6d6bb9bd380a13}'),
  (4, '00000000-0000-0000-0000-000000000000'),
  (5, NULL);

-- date: "YYYY-MM-DD" (Date#as_json).
CREATE TABLE corpus_dates (id integer PRIMARY KEY, d date);
-- rows
INSERT INTO corpus_dates VALUES
  (1, '2024-05-01'), (2, '2000-01-01'), (3, '1999-12-31'), (4, '0001-01-01'),
  (5, '2024-02-29'), (6, '9999-12-31'), (7, NULL);

-- date +-infinity: ActiveRecord reads +-Float::INFINITY, whose as_json is nil.
CREATE TABLE corpus_date_infinities (id integer PRIMARY KEY, d date);
-- rows
INSERT INTO corpus_date_infinities VALUES (1, 'infinity'), (2, '-infinity');

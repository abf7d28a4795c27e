-- Aggregates through dependencies, default serializers: a has_many dependency
-- sideloaded under its table name as an array ordered by primary key (numeric
-- order for integer keys) with the ids in links, [] when none; a has_one
-- dependency sideloaded under its link's name as a record, null when the
-- foreign key is NULL. Sideloads in the order of the dependencies.
-- dependencies: corpus_aggregates_fees corpus_aggregates_rentals
CREATE TABLE corpus_aggregates_rentals (id integer PRIMARY KEY, name text, price numeric(10,2));
CREATE TABLE corpus_aggregates (id integer PRIMARY KEY,
  rental_id integer REFERENCES corpus_aggregates_rentals, start_at timestamptz);
CREATE TABLE corpus_aggregates_fees (id integer PRIMARY KEY,
  corpus_aggregate_id integer REFERENCES corpus_aggregates, name text, amount numeric(10,2));
-- rows
INSERT INTO corpus_aggregates_rentals VALUES (7, 'Villa', 100);
INSERT INTO corpus_aggregates VALUES (1, 7, '2024-07-01 16:00:00+00'), (2, NULL, NULL), (3, 7, NULL);
INSERT INTO corpus_aggregates_fees VALUES (10, 1, 'Linen', 25.5), (9, 1, 'Cleaning', 50), (11, 2, NULL, NULL);

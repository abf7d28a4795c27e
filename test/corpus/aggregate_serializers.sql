-- Aggregates with declared serializers: the parent's attributes chosen and
-- ordered, its has_one link renamed ("location"), which also names the has_one
-- sideload; a child rendered by its custom function (jsonb key order: shorter
-- keys first); a related record with a column excepted; text primary keys
-- ordered as text; uuid links as strings.
-- dependencies: corpus_aggregate_serializers_items corpus_aggregate_serializers_places
CREATE TABLE corpus_aggregate_serializers_places (id uuid PRIMARY KEY, name text, secret text);
CREATE TABLE corpus_aggregate_serializers (id bigint PRIMARY KEY,
  place_id uuid REFERENCES corpus_aggregate_serializers_places, title text, internal text);
CREATE TABLE corpus_aggregate_serializers_items (id text PRIMARY KEY,
  owner_id bigint REFERENCES corpus_aggregate_serializers, qty integer);
CREATE FUNCTION corpus_aggregate_item_json(i corpus_aggregate_serializers_items) RETURNS jsonb
  LANGUAGE sql AS $$ SELECT jsonb_build_object('sku', i.id, 'qty', i.qty * 2) $$;
SELECT dionysus.serializer('corpus_aggregate_serializers_items',
  function => 'corpus_aggregate_item_json(corpus_aggregate_serializers_items)');
SELECT dionysus.serializer('corpus_aggregate_serializers_places', "except" => ARRAY['secret']);
SELECT dionysus.serializer('corpus_aggregate_serializers', attributes => ARRAY['title', 'id'],
  has_one => '{"location": "place_id"}');
-- rows
INSERT INTO corpus_aggregate_serializers_places VALUES ('00000000-0000-0000-0000-00000000000a', 'HQ', 'x');
INSERT INTO corpus_aggregate_serializers VALUES (1, '00000000-0000-0000-0000-00000000000a', 'First', 'hidden'),
  (2, NULL, 'Second', NULL);
INSERT INTO corpus_aggregate_serializers_items VALUES ('b', 1, 1), ('a', 1, 2), ('c', 2, NULL);

-- Shared by the regression tests: the extension and try(), which runs a
-- statement and shows its SQLSTATE and message (stable across versions,
-- unlike VERBOSITY verbose's source locations).
CREATE EXTENSION dionysus;
CREATE FUNCTION try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text; h text;
BEGIN
  EXECUTE stmt;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' | DETAIL: ' || nullif(d, ''), '')
         || coalesce(' | HINT: ' || nullif(h, ''), '');
END $$;

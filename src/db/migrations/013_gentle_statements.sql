-- Statements that stay cheap however large the tables grow: the outbox's retention reads an index of
-- the rows it may delete, and the task delivery recap reads only the tasks of its window through an
-- index on tasks.created_at (docs/report-views.md).

-- Outbox retention (src/outbox/retention.ts): sent and cancelled rows by age. Only those rows are in
-- the index, so a batch never walks past the failed rows kept for an operator, however many there are.
CREATE INDEX IF NOT EXISTS wa_outbox_retention_idx ON wa_outbox (created_at, id) WHERE status IN ('sent', 'cancelled');

-- The functions below read Cicero_V2's tables, which a database may not have (yet): their bodies are
-- checked when they run, not now.
SET LOCAL check_function_bodies = off;

-- The first whole minute at or after t (t itself when it is one).
CREATE OR REPLACE FUNCTION cicero_wa_minute_ceil(t TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE AS $$
  SELECT date_trunc('minute', t) + CASE WHEN t > date_trunc('minute', t) THEN interval '1 minute' ELSE interval '0' END
$$;

-- The task batches delivered in [p_from, p_to): the one definition of the recap's rows and their
-- wording, used by the service's task_delivery_recap_view (over all time) and by the job (over its
-- window). A batch is delivered at the minute of its tasks' created_at, so "delivered_at >= p_from"
-- is "created_at >= the first whole minute at or after p_from", a range an index on tasks (created_at)
-- serves. A plain SQL function, so the planner inlines it and the window reaches the index.
CREATE OR REPLACE FUNCTION cicero_wa_task_deliveries(p_from TIMESTAMP, p_to TIMESTAMP)
RETURNS TABLE (recipient TEXT, client_id TEXT, shortcode TEXT, delivered_at TIMESTAMP, personnel_count INTEGER, summary TEXT)
LANGUAGE sql STABLE AS $$
  SELECT c.client_operator::text, c.client_id::text, t.shortcode::text,
         date_trunc('minute', t.created_at)::timestamp,
         count(DISTINCT t.user_id)::int,
         '• ' || to_char(date_trunc('minute', t.created_at), 'DD/MM HH24:MI') || ' — '
           || coalesce(nullif(btrim(c.nama), ''), c.client_id) || ': tugas post ' || t.shortcode
           || coalesce(' ("' || left(regexp_replace(nullif(btrim(p.caption), ''), '\s+', ' ', 'g'), 40) || '")', '')
           || ' dikirim ke ' || count(DISTINCT t.user_id) || ' personil'
    FROM tasks t
    JOIN insta_post p ON p.shortcode = t.shortcode
    JOIN clients c ON c.client_id = p.client_id
   WHERE c.client_status IS DISTINCT FROM false AND nullif(btrim(c.client_operator), '') IS NOT NULL
     AND t.created_at >= cicero_wa_minute_ceil(p_from) AND t.created_at < cicero_wa_minute_ceil(p_to)
   GROUP BY c.client_id, c.nama, c.client_operator, t.shortcode, p.caption, date_trunc('minute', t.created_at)
$$;

-- What the comment on the service's own task_delivery_recap_view says: it names the definition it was
-- set on, so a view replaced since (CREATE OR REPLACE VIEW keeps a comment) is no longer taken for ours.
CREATE OR REPLACE FUNCTION cicero_wa_task_view_marker(p_definition TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT 'cicero-wa-gateway: the service''s own view over cicero_wa_task_deliveries(); the task delivery recap '
         || 'reads that function for its window. Replace the view and the recap reads yours. Definition '
         || md5(p_definition)
$$;

-- Whether task_delivery_recap_view is the service's own (marked, and unchanged since).
CREATE OR REPLACE FUNCTION cicero_wa_task_view_is_own() RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
  SELECT coalesce(obj_description(v.oid, 'pg_class') = cicero_wa_task_view_marker(pg_get_viewdef(v.oid)), false)
    FROM (SELECT to_regclass('task_delivery_recap_view')::oid AS oid) v
   WHERE v.oid IS NOT NULL
$$;

-- Makes the service's task_delivery_recap_view read cicero_wa_task_deliveries() and marks it, when the
-- view is the one cicero_wa_install_report_views() (005) installs or one this function made; a view of
-- any other definition is an operator's and is left exactly as it is. Recognised by comparing
-- pg_get_viewdef with that of the same text made here as a temporary view (the same server prints the
-- same definition the same way). Column types are kept as the view has them (Cicero_V2's own), so
-- CREATE OR REPLACE VIEW keeps its grants and anything built on it. Runs here and at every start-up,
-- after the views are installed. Returns whether the view is the service's own.
CREATE OR REPLACE FUNCTION cicero_wa_adopt_task_view() RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
  v_view REGCLASS;
  v_def TEXT;
  v_types TEXT[];
  v_own TEXT;
  v_recognised BOOLEAN;
BEGIN
  PERFORM pg_advisory_xact_lock(4206813222); -- the lock cicero_wa_install_report_views() takes
  v_view := to_regclass('task_delivery_recap_view');
  IF v_view IS NULL OR (SELECT relkind FROM pg_class WHERE oid = v_view) <> 'v' THEN
    RETURN false;
  END IF;
  IF cicero_wa_task_view_is_own() THEN
    RETURN true;
  END IF;
  v_def := pg_get_viewdef(v_view);
  SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) INTO v_types
    FROM pg_attribute a WHERE a.attrelid = v_view AND a.attnum > 0 AND NOT a.attisdropped;
  IF (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = v_view AND a.attnum > 0 AND NOT a.attisdropped)
     IS DISTINCT FROM ARRAY['recipient', 'client_id', 'shortcode', 'delivered_at', 'personnel_count', 'summary'] THEN
    RETURN false;
  END IF;
  v_own := format(
    'SELECT d.recipient::%s AS recipient, d.client_id::%s AS client_id, d.shortcode::%s AS shortcode, '
    'd.delivered_at::%s AS delivered_at, d.personnel_count::%s AS personnel_count, d.summary::%s AS summary '
    'FROM cicero_wa_task_deliveries(''-infinity''::timestamp, ''infinity''::timestamp) d',
    v_types[1], v_types[2], v_types[3], v_types[4], v_types[5], v_types[6]);
  -- Both definitions made as temporary views and printed, in a block undone at its end (no view is left
  -- behind in the session). The definition 005 installs, word for word: only to recognise it.
  BEGIN
    CREATE TEMP VIEW cicero_wa_task_view_005 AS
    SELECT c.client_operator AS recipient, c.client_id, t.shortcode,
           date_trunc('minute', t.created_at) AS delivered_at,
           count(DISTINCT t.user_id)::int AS personnel_count,
           '• ' || to_char(date_trunc('minute', t.created_at), 'DD/MM HH24:MI') || ' — '
             || coalesce(nullif(btrim(c.nama), ''), c.client_id) || ': tugas post ' || t.shortcode
             || coalesce(' ("' || left(regexp_replace(nullif(btrim(p.caption), ''), '\s+', ' ', 'g'), 40) || '")', '')
             || ' dikirim ke ' || count(DISTINCT t.user_id) || ' personil' AS summary
      FROM tasks t
      JOIN insta_post p ON p.shortcode = t.shortcode
      JOIN clients c ON c.client_id = p.client_id
     WHERE c.client_status IS DISTINCT FROM false AND nullif(btrim(c.client_operator), '') IS NOT NULL
     GROUP BY c.client_id, c.nama, c.client_operator, t.shortcode, p.caption, date_trunc('minute', t.created_at);
    EXECUTE 'CREATE TEMP VIEW cicero_wa_task_view_own AS ' || v_own;
    v_recognised := v_def IN (pg_get_viewdef('pg_temp.cicero_wa_task_view_005'::regclass), pg_get_viewdef('pg_temp.cicero_wa_task_view_own'::regclass));
    RAISE EXCEPTION USING ERRCODE = 'CWA01', MESSAGE = 'undo the temporary views';
  EXCEPTION WHEN SQLSTATE 'CWA01' THEN
    NULL; -- v_recognised keeps its value; the temporary views are gone
  END;
  IF NOT v_recognised THEN
    RETURN false;
  END IF;
  EXECUTE 'CREATE OR REPLACE VIEW task_delivery_recap_view AS ' || v_own;
  EXECUTE format('COMMENT ON VIEW task_delivery_recap_view IS %L', cicero_wa_task_view_marker(pg_get_viewdef(v_view)));
  RETURN true;
EXCEPTION WHEN OTHERS THEN
  -- Whatever went wrong, the view stays as it was and the recap reads it as it is.
  RAISE WARNING 'task_delivery_recap_view left as it is: %', SQLERRM;
  RETURN false;
END;
$$;

SELECT cicero_wa_adopt_task_view();

-- The daily, weekly and monthly recaps are made by the service itself (src/features/rekap/): numbers
-- from one set-based pass over the period, wording in TypeScript. The views of those names stay the
-- operator's way to send a recap of their own wording (docs/report-views.md): the service no longer
-- installs them, and drops the ones it installed (recognised by their definition: a call of
-- cicero_wa_engagement_recap with the service's titles). A view of an operator's own is kept.
DO $$
DECLARE
  v_view TEXT;
BEGIN
  FOREACH v_view IN ARRAY ARRAY['daily_report_view', 'weekly_report_view', 'monthly_report_view'] LOOP
    IF EXISTS (SELECT 1 FROM pg_views
                WHERE schemaname = current_schema() AND viewname = v_view
                  AND definition LIKE '%cicero_wa_engagement_recap(%'
                  AND definition ~ 'Rekap (Harian|Mingguan|Bulanan) Engagement') THEN
      EXECUTE format('DROP VIEW %I', v_view);
    END IF;
  END LOOP;
  BEGIN
    DROP FUNCTION IF EXISTS cicero_wa_engagement_recap(TEXT, DATE, DATE, TEXT, TEXT);
  EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL; -- an operator's own view calls it: it stays for that view
  END;
END $$;

-- From now on only the task delivery recap's view is installed.
CREATE OR REPLACE FUNCTION cicero_wa_install_report_views() RETURNS TEXT[]
LANGUAGE plpgsql AS $$
DECLARE
  v_installed TEXT[] := '{}';
  v_table TEXT;
BEGIN
  -- Instances starting together install once: the second waits here, then finds the view.
  PERFORM pg_advisory_xact_lock(4206813222);
  FOREACH v_table IN ARRAY ARRAY['clients', 'user', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment', 'tasks'] LOOP
    IF to_regclass(format('%I', v_table)) IS NULL THEN
      RETURN v_installed; -- not a Cicero_V2 database (yet)
    END IF;
  END LOOP;

  IF to_regclass('task_delivery_recap_view') IS NULL THEN
    EXECUTE $view$
      CREATE VIEW task_delivery_recap_view AS
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
       GROUP BY c.client_id, c.nama, c.client_operator, t.shortcode, p.caption, date_trunc('minute', t.created_at)
    $view$;
    v_installed := v_installed || 'task_delivery_recap_view'::text;
  END IF;

  RETURN v_installed;
END;
$$;

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
    -- The service's own view: the one definition of the recap's rows, cicero_wa_task_deliveries() (013),
    -- over all time, marked as the service's (so the recap reads the function for its window).
    CREATE VIEW task_delivery_recap_view AS
      SELECT d.recipient, d.client_id, d.shortcode, d.delivered_at, d.personnel_count, d.summary
        FROM cicero_wa_task_deliveries('-infinity'::timestamp, 'infinity'::timestamp) d;
    EXECUTE format('COMMENT ON VIEW task_delivery_recap_view IS %L',
                   cicero_wa_task_view_marker(pg_get_viewdef('task_delivery_recap_view'::regclass)));
    v_installed := v_installed || 'task_delivery_recap_view'::text;
  END IF;

  RETURN v_installed;
END;
$$;

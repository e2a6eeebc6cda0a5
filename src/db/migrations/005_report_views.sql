-- The four report views the seed reads (daily_report_view, weekly_report_view, monthly_report_view,
-- task_delivery_recap_view), built on Cicero_V2's tables. docs/report-views.md is their contract.
--
-- The views are installed by cicero_wa_install_report_views(): only when Cicero_V2's tables exist, and
-- only where no object of that name exists, so an operator's own view is never replaced. It is called
-- here and again at every start-up (Cicero_V2's tables may appear after this migration ran).

-- Position of the task delivery recap: deliveries up to `position` have been recapped.
CREATE TABLE IF NOT EXISTS cicero_wa_watermarks (
  job TEXT PRIMARY KEY,
  position TIMESTAMP NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A social-media handle as Cicero_V2 compares them: trimmed, lower case, without leading @.
CREATE OR REPLACE FUNCTION cicero_wa_handle(handle TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT nullif(lower(regexp_replace(btrim(handle), '^@+', '')), '')
$$;

-- "Selasa, 24 November 2026".
CREATE OR REPLACE FUNCTION cicero_wa_date_words(d DATE) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY['Minggu', 'Senin', 'Selasa', 'Rabu', 'Kamis', 'Jumat', 'Sabtu'])[extract(dow FROM d)::int + 1]
         || ', ' || extract(day FROM d)::int || ' '
         || (ARRAY['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September',
                   'Oktober', 'November', 'Desember'])[extract(month FROM d)::int]
         || ' ' || extract(year FROM d)::int
$$;

-- "November 2026".
CREATE OR REPLACE FUNCTION cicero_wa_month_words(d DATE) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus', 'September',
                'Oktober', 'November', 'Desember'])[extract(month FROM d)::int]
         || ' ' || extract(year FROM d)::int
$$;

-- The engagement recap of one unit for the days from_date..to_date (Jakarta local dates, as Cicero_V2
-- stores its timestamps), as Cicero_V2 judges it: per person and platform, "sudah" (engaged with at
-- least half of the unit's posts), "kurang" (some, under half), "belum" (none); personnel without a
-- handle counted apart; personnel with exception = true or status = false left out.
CREATE OR REPLACE FUNCTION cicero_wa_engagement_recap(
  p_client_id TEXT, p_from DATE, p_to DATE, p_title TEXT, p_period_words TEXT
) RETURNS TABLE (post_count INTEGER, summary TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_unit TEXT;
  v_ig INTEGER;
  v_tt INTEGER;
  v_total RECORD;
  v_row RECORD;
  v_people INTEGER := 0;
  v_text TEXT;
  v_divisions TEXT := '';
BEGIN
  SELECT coalesce(nullif(btrim(c.nama), ''), c.client_id) INTO v_unit FROM clients c WHERE c.client_id = p_client_id;
  SELECT count(*) INTO v_ig FROM insta_post p
   WHERE p.client_id = p_client_id AND p.created_at >= p_from AND p.created_at < p_to + 1;
  SELECT count(*) INTO v_tt FROM tiktok_post p
   WHERE p.client_id = p_client_id AND p.created_at >= p_from AND p.created_at < p_to + 1;

  FOR v_row IN
  WITH people AS (
    SELECT coalesce(nullif(btrim(u.divisi), ''), 'Tanpa divisi') AS divisi,
           cicero_wa_handle(u.insta) AS ig, cicero_wa_handle(u.tiktok) AS tt
      FROM "user" u
     WHERE u.client_id = p_client_id AND u.status IS DISTINCT FROM false AND u.exception IS DISTINCT FROM true
  ), ig_engaged AS (
    SELECT DISTINCT p.shortcode, cicero_wa_handle(x.value) AS handle
      FROM insta_post p
      JOIN insta_like l ON l.shortcode = p.shortcode
     CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(l.likes) = 'array' THEN l.likes ELSE '[]'::jsonb END) AS x(value)
     WHERE p.client_id = p_client_id AND p.created_at >= p_from AND p.created_at < p_to + 1
  ), tt_engaged AS (
    SELECT DISTINCT p.video_id, cicero_wa_handle(x.value) AS handle
      FROM tiktok_post p
      JOIN tiktok_comment c ON c.video_id = p.video_id
     CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.comments) = 'array' THEN c.comments ELSE '[]'::jsonb END) AS x(value)
     WHERE p.client_id = p_client_id AND p.created_at >= p_from AND p.created_at < p_to + 1
  ), judged AS (
    SELECT pe.divisi,
           CASE WHEN pe.ig IS NULL THEN 'nouser'
                WHEN v_ig = 0 THEN 'none'
                WHEN 2 * (SELECT count(*) FROM ig_engaged e WHERE e.handle = pe.ig) >= v_ig THEN 'done'
                WHEN EXISTS (SELECT 1 FROM ig_engaged e WHERE e.handle = pe.ig) THEN 'partly'
                ELSE 'none' END AS ig,
           CASE WHEN pe.tt IS NULL THEN 'nouser'
                WHEN v_tt = 0 THEN 'none'
                WHEN 2 * (SELECT count(*) FROM tt_engaged e WHERE e.handle = pe.tt) >= v_tt THEN 'done'
                WHEN EXISTS (SELECT 1 FROM tt_engaged e WHERE e.handle = pe.tt) THEN 'partly'
                ELSE 'none' END AS tt
      FROM people pe
  )
  SELECT grouping(divisi) = 1 AS is_total, divisi, count(*)::int AS total,
         count(*) FILTER (WHERE ig = 'done')::int AS ig_done, count(*) FILTER (WHERE ig = 'partly')::int AS ig_partly,
         count(*) FILTER (WHERE ig = 'none')::int AS ig_none, count(*) FILTER (WHERE ig = 'nouser')::int AS ig_nouser,
         count(*) FILTER (WHERE tt = 'done')::int AS tt_done, count(*) FILTER (WHERE tt = 'partly')::int AS tt_partly,
         count(*) FILTER (WHERE tt = 'none')::int AS tt_none, count(*) FILTER (WHERE tt = 'nouser')::int AS tt_nouser
    FROM judged
   GROUP BY ROLLUP (divisi)
   ORDER BY grouping(divisi) DESC, divisi
  LOOP
    IF v_row.is_total THEN
      v_total := v_row;
      v_people := v_row.total;
    ELSE
      v_divisions := v_divisions || '• ' || v_row.divisi || ' (' || v_row.total || '): IG '
        || v_row.ig_done || '/' || v_row.ig_partly || '/' || v_row.ig_none || '/' || v_row.ig_nouser
        || ' · TikTok ' || v_row.tt_done || '/' || v_row.tt_partly || '/' || v_row.tt_none || '/' || v_row.tt_nouser || E'\n';
    END IF;
  END LOOP;
  IF v_people = 0 THEN
    -- Nobody to judge: every count is 0.
    SELECT true AS is_total, NULL::text AS divisi, 0 AS total, 0 AS ig_done, 0 AS ig_partly, 0 AS ig_none, 0 AS ig_nouser,
           0 AS tt_done, 0 AS tt_partly, 0 AS tt_none, 0 AS tt_nouser INTO v_total;
  END IF;

  v_text := 'Mohon ijin Komandan,' || E'\n\n'
         || '*' || p_title || '*' || E'\n'
         || '*' || v_unit || '*' || E'\n'
         || p_period_words || E'\n\n'
         || 'Konten: Instagram ' || v_ig || ' · TikTok ' || v_tt || E'\n'
         || 'Personil dinilai: ' || v_people || E'\n\n'
         || '*Instagram (likes)*' || E'\n'
         || CASE WHEN v_ig = 0 THEN 'Tidak ada konten.' || E'\n'
                 ELSE '✅ Sudah: ' || coalesce(v_total.ig_done, 0) || E'\n'
                   || '⚠️ Kurang: ' || coalesce(v_total.ig_partly, 0) || E'\n'
                   || '❌ Belum: ' || coalesce(v_total.ig_none, 0) || E'\n' END
         || '❔ Belum update username: ' || coalesce(v_total.ig_nouser, 0) || E'\n\n'
         || '*TikTok (komentar)*' || E'\n'
         || CASE WHEN v_tt = 0 THEN 'Tidak ada konten.' || E'\n'
                 ELSE '✅ Sudah: ' || coalesce(v_total.tt_done, 0) || E'\n'
                   || '⚠️ Kurang: ' || coalesce(v_total.tt_partly, 0) || E'\n'
                   || '❌ Belum: ' || coalesce(v_total.tt_none, 0) || E'\n' END
         || '❔ Belum update username: ' || coalesce(v_total.tt_nouser, 0) || E'\n';

  IF v_divisions <> '' THEN
    v_text := v_text || E'\n' || '*Per divisi* (sudah/kurang/belum/tanpa username)' || E'\n' || v_divisions;
  END IF;
  v_text := v_text || E'\n' || '_Pesan otomatis Cicero_';

  post_count := v_ig + v_tt;
  summary := v_text;
  RETURN NEXT;
END;
$$;

CREATE OR REPLACE FUNCTION cicero_wa_install_report_views() RETURNS TEXT[]
LANGUAGE plpgsql AS $$
DECLARE
  v_installed TEXT[] := '{}';
  v_table TEXT;
BEGIN
  -- Instances starting together install once: the second waits here, then finds the views.
  PERFORM pg_advisory_xact_lock(4206813222);
  FOREACH v_table IN ARRAY ARRAY['clients', 'user', 'insta_post', 'insta_like', 'tiktok_post', 'tiktok_comment', 'tasks'] LOOP
    IF to_regclass(format('%I', v_table)) IS NULL THEN
      RETURN v_installed; -- not a Cicero_V2 database (yet)
    END IF;
  END LOOP;

  IF to_regclass('daily_report_view') IS NULL THEN
    EXECUTE $view$
      CREATE VIEW daily_report_view AS
      SELECT c.client_group AS recipient, d.report_date, c.client_id, r.post_count, r.summary
        FROM (SELECT g::date AS report_date FROM generate_series(date '2000-01-01', date '2099-12-31', interval '1 day') g) d
       CROSS JOIN clients c
       CROSS JOIN LATERAL cicero_wa_engagement_recap(c.client_id, d.report_date, d.report_date,
                                                     'Rekap Harian Engagement', cicero_wa_date_words(d.report_date)) r
       WHERE c.client_status IS DISTINCT FROM false AND c.client_group LIKE '%@g.us'
    $view$;
    v_installed := v_installed || 'daily_report_view'::text;
  END IF;

  IF to_regclass('weekly_report_view') IS NULL THEN
    EXECUTE $view$
      CREATE VIEW weekly_report_view AS
      SELECT c.client_group AS recipient, w.week_start, c.client_id, r.post_count, r.summary
        FROM (SELECT g::date AS week_start FROM generate_series(date '2000-01-03', date '2099-12-28', interval '7 days') g) w
       CROSS JOIN clients c
       CROSS JOIN LATERAL cicero_wa_engagement_recap(c.client_id, w.week_start, w.week_start + 6,
                                                     'Rekap Mingguan Engagement',
                                                     cicero_wa_date_words(w.week_start) || ' s.d. ' || cicero_wa_date_words(w.week_start + 6)) r
       WHERE c.client_status IS DISTINCT FROM false AND c.client_group LIKE '%@g.us'
    $view$;
    v_installed := v_installed || 'weekly_report_view'::text;
  END IF;

  IF to_regclass('monthly_report_view') IS NULL THEN
    EXECUTE $view$
      CREATE VIEW monthly_report_view AS
      SELECT c.client_group AS recipient, m.month_start, c.client_id, r.post_count, r.summary
        FROM (SELECT g::date AS month_start FROM generate_series(date '2000-01-01', date '2099-12-01', interval '1 month') g) m
       CROSS JOIN clients c
       CROSS JOIN LATERAL cicero_wa_engagement_recap(c.client_id, m.month_start, (m.month_start + interval '1 month')::date - 1,
                                                     'Rekap Bulanan Engagement', cicero_wa_month_words(m.month_start)) r
       WHERE c.client_status IS DISTINCT FROM false AND c.client_group LIKE '%@g.us'
    $view$;
    v_installed := v_installed || 'monthly_report_view'::text;
  END IF;

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

SELECT cicero_wa_install_report_views();

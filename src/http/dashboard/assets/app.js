/*
 * cicero-wa-gateway dashboard. One page, five views (#hari-ini, #sesi, #pesan, #jadwal, #komplain),
 * reading and acting only through the HTTP API, refreshed by polling every few seconds. Every text that
 * comes from data is put in the page as text (never as HTML).
 */
(function () {
  'use strict';

  var body = document.body;
  var cfg = {
    view: body.dataset.view,
    level: body.dataset.level || 'read',
    csrf: body.dataset.csrf || '',
    signedIn: body.dataset.signedin === 'yes',
    tz: body.dataset.tz,
    zone: body.dataset.zone,
    session: body.dataset.session,
    dryRun: body.dataset.dryrun === 'yes',
  };
  var canAct = cfg.level === 'full';
  var REFRESH_MS = 2500;

  var TEXT = {
    id: {
      title: 'Gateway WhatsApp Cicero', today: 'Hari ini', session: 'Sesi WhatsApp', messages: 'Pesan', jobs: 'Jadwal', complaints: 'Komplain',
      inbox: 'Pesan masuk', outcomes: { complaint: 'komplain dicatat', complaint_format_reply: 'format komplain dikirim', complaint_nrp_not_found: 'NRP tidak ditemukan', complaint_over_limit: 'melebihi batas laporan', opt_in: 'notifikasi diaktifkan', opt_out: 'notifikasi dinonaktifkan', opt_in_unknown: 'nomor belum terdaftar', none: 'tidak ada tindakan' }, received: 'Diterima', chat: 'Obrolan', sender: 'Pengirim', handled: 'Ditangani', text: 'Isi', webhooks: 'Pengiriman webhook', event: 'Peristiwa', receiver: 'Penerima webhook',
      signOut: 'Keluar', signIn: 'Masuk', key: 'Kunci API', signInHelp: 'Masukkan API_KEY (akses penuh) atau API_READ_KEY (hanya baca).',
      wrongKey: 'Kunci tidak valid.', readOnly: 'hanya baca', fullAccess: 'akses penuh', lang: 'English',
      recapsToday: 'Rekap dan pesan hari ini', type: 'Jenis', enqueued: 'Diantrekan', sent: 'Terkirim', confirmed: 'Terkonfirmasi', failed: 'Gagal', waiting: 'Menunggu',
      none: 'Belum ada.', backlog: 'Antrean', pending: 'menunggu', sending: 'sedang dikirim', oldestDue: 'Pesan jatuh tempo tertua', seconds: 'detik',
      failures24h: 'Kegagalan 24 jam terakhir', reason: 'Alasan', count: 'Jumlah', state: 'Status', since: 'sejak', whatsapp: 'WhatsApp',
      scanSteps: ['Buka WhatsApp di ponsel.', 'Ketuk Menu (⋮) atau Setelan, lalu Perangkat tertaut.', 'Ketuk Tautkan perangkat.', 'Arahkan kamera ke kode QR ini. Kode berganti sendiri sekitar setiap 20 detik.'],
      scanTitle: 'Pindai kode QR', qrNeedsFull: 'Kode QR menautkan ponsel ke nomor ini, jadi hanya ditampilkan setelah masuk dengan kunci akses penuh (API_KEY).', pairCode: 'Atau tautkan dengan nomor telepon', phone: 'Nomor (dengan kode negara, mis. 6281234567890)', getCode: 'Minta kode',
      codeIs: 'Masukkan kode ini di ponsel (WhatsApp > Perangkat tertaut > Tautkan dengan nomor telepon):', number: 'Nomor', webVersion: 'Versi WhatsApp Web',
      logout: 'Keluarkan sesi (logout)', confirmLogout: 'Keluarkan sesi WhatsApp ini? Ponsel harus memindai kode QR lagi.',
      status: 'Status', recipient: 'Penerima', dateFrom: 'Dari tanggal', dateTo: 'Sampai tanggal', all: 'Semua', filter: 'Saring', attempts: 'Percobaan',
      created: 'Dibuat', sentAt: 'Terkirim', receipt: 'Tanda terima', lastError: 'Galat terakhir', actions: 'Tindakan', retry: 'Coba lagi', cancel: 'Batalkan',
      show: 'Lihat', hide: 'Tutup', retrySelected: 'Coba lagi yang dipilih', confirmCancel: 'Batalkan pesan ini? Pesan tidak akan dikirim.',
      job: 'Tugas', schedule: 'Jadwal', next: 'Berikutnya', paused: 'DIJEDA', lastRun: 'Jalan terakhir', outcome: 'Hasil', runNow: 'Jalankan sekarang', date: 'Tanggal',
      heldBackRun: 'Ditahan', times: 'Jam', saveTimes: 'Simpan jam', timesHelp: 'Jam dalam {zone} (JJ:MM), dipisah koma; kosongkan untuk mematikan tugas. Berlaku tanpa restart.', timesSaved: 'Jam disimpan', timesDefault: 'bawaan', timesSet: 'diubah',
      confirmRun: 'Jalankan tugas ini sekarang?', history: 'Riwayat', ran: 'Selesai', never: 'belum pernah', complainant: 'Pelapor', template: 'Templat', reply: 'Balasan',
      responded: 'Dijawab', failureReason: 'Alasan gagal', done: 'Berhasil', ackLevels: { '-1': 'galat', '0': 'menunggu', '1': 'server', '2': 'diterima', '3': 'dibaca', '4': 'diputar' },
      guard: 'Pengaman nomor', guardSending: 'mengirim', guardPaused: 'dijeda', until: 'sampai', risk: 'Skor risiko', warmup: 'Pemanasan', warmupDay: 'hari ke-', warmupDone: 'selesai',
      sentHour: 'Terkirim 1 jam', sentDay: 'Terkirim 24 jam', dailyBudget: 'Batas 24 jam', pause: 'Jeda pengiriman', resume: 'Lanjutkan pengiriman',
      confirmPause: 'Jeda pengiriman dari nomor ini? Pesan menunggu sampai dilanjutkan.', riskLevels: { low: 'rendah', medium: 'sedang', high: 'tinggi', critical: 'kritis' },
      pauseKinds: { cooling: 'pendinginan', critical: 'risiko kritis', operator: 'oleh operator' },
      pageFix: 'Perbaikan halaman WhatsApp Web', pageFixStates: { active: 'aktif', not_needed: 'tidak diperlukan pada versi ini', off: 'dimatikan (WA_PAGE_FIX=false)', failed: 'gagal dipasang', unavailable: 'tidak berlaku', not_applied: 'belum dipasang' },
      handOvers: 'Riwayat serah ke WhatsApp', handedOver: 'Diserahkan', part: 'Bagian', checkedInChat: 'Dicek di chat',
      checks: { found: 'ditemukan di chat: terkonfirmasi', not_found_resent: 'tidak ada di chat: dikirim ulang', not_found_kept: 'tidak ada di chat: menunggu keputusan operator', not_far_enough: 'riwayat chat belum cukup jauh: belum diputuskan', unreadable: 'chat tidak terbaca: belum diputuskan' },
      handOverOutcomes: { handing_over: 'sedang diserahkan', confirmed: 'terkonfirmasi', unknown: 'belum diketahui', unconfirmed: 'tidak terkonfirmasi', failed: 'gagal sebelum diserahkan', rejected: 'tidak sampai, dikirim ulang' },
      statuses: { pending: 'menunggu', sending: 'sedang dikirim', sent: 'terkirim', failed: 'gagal', cancelled: 'dibatalkan', other: 'status lain' },
      confirmations: { confirmed: 'terkonfirmasi', awaiting: 'menunggu konfirmasi', unconfirmed: 'tidak terkonfirmasi', dry_run: 'uji coba: tidak dikirim' },
      runStatuses: { running: 'berjalan', succeeded: 'berhasil', failed: 'gagal', skipped: 'dilewati' },
      triggers: { schedule: 'terjadwal', 'catch-up': 'susulan', manual: 'manual' },
      complaintStatuses: { pending: 'menunggu', queued: 'diantrekan', responded: 'dijawab', failed: 'gagal', other: 'status lain' },
      webhookStatuses: { pending: 'menunggu', delivered: 'terkirim', failed: 'gagal' },
      names: { 'daily-report': 'Rekap harian', 'weekly-report': 'Rekap mingguan', 'monthly-report': 'Rekap bulanan', 'task-delivery-recap': 'Rekap pengiriman tugas', 'complaint-response': 'Balasan komplain', 'outbox-retention': 'Pembersihan outbox', 'outbox-maintenance': 'Perawatan outbox', 'wa-gateway-poll': 'Penyisiran outbox', 'reminder-release': 'Pelepasan pengingat engagement', 'engagement-reminder': 'Pengingat engagement', 'engagement-thanks': 'Terima kasih engagement', 'task-broadcast': 'Siaran tugas ke grup', digest: 'Ringkasan', 'complaint-reply': 'Balasan komplain', 'complaint-format-reply': 'Balasan format komplain', 'complaint-note': 'Catatan komplain', 'complaint-operator-notice': 'Pemberitahuan ke operator', 'notifwa-reply': 'Balasan notifwa', manual: 'Manual', api: 'Lewat API' },
      scheduleOff: 'mati', dryRun: 'Uji coba',
      failureReasons: { not_on_whatsapp: 'nomor tidak terdaftar di WhatsApp', invalid_recipient: 'nomor atau grup tujuan tidak valid', rejected: 'ditolak WhatsApp', unconfirmed: 'tidak terkonfirmasi (tidak dikirim ulang otomatis)', timeout: 'waktu habis', not_ready: 'WhatsApp belum siap', connection_lost: 'koneksi WhatsApp terputus', send_error: 'kesalahan saat mengirim', content_too_large: 'teks terlalu panjang', caption_too_long: 'keterangan dokumen terlalu panjang', document_invalid: 'dokumen tidak valid', document_too_large: 'dokumen terlalu besar (WA_DOCUMENT_MAX_BYTES)', empty_content: 'pesan kosong', not_in_group: 'nomor ini bukan anggota grup', not_group_admin: 'hanya admin yang boleh mengirim ke grup ini dan nomor ini bukan admin', ack_error: 'WhatsApp melaporkan galat (ack -1)', not_delivered: 'tidak ada di obrolan (diperiksa)', not_taken: 'tidak diterima WhatsApp Web', no_hand_over: 'tidak diserahkan ke WhatsApp', processing_error: 'galat saat memproses', other: 'lainnya' },
      holds: { quiet_hours: 'jam tenang (WA_QUIET_HOURS)', budget_minute: 'batas pesan per menit tercapai (WA_BUDGET_PER_MINUTE)', budget_hour: 'batas pesan per jam tercapai (WA_BUDGET_PER_HOUR)', budget_day: 'batas pesan 24 jam tercapai (WA_BUDGET_PER_DAY)', warmup: 'batas harian masa pemanasan nomor tercapai (WA_WARMUP_SCHEDULE)', cold_per_day: 'batas harian ke nomor yang belum pernah menulis (WA_COLD_PER_DAY)', cold_gap: 'jeda antarpesan ke nomor yang belum pernah menulis (WA_COLD_GAP_SECONDS)', same_text: 'teks yang sama ke terlalu banyak orang dalam 1 jam (WA_SAME_TEXT_PER_HOUR)', paused_operator: 'pengiriman dijeda oleh operator', paused_cooling: 'pengiriman dijeda untuk pendinginan (skor risiko tinggi)', paused_critical: 'pengiriman dijeda karena skor risiko kritis' },
      heldBy: 'ditahan', untilResumed: 'sampai dilanjutkan operator', dueAt: 'dijadwalkan', heldTitle: 'Ditahan pengaman nomor', messagesHeld: 'pesan',
      testMode: 'MODE UJI COBA (WA_TRANSPORT=log): pesan hanya dicatat di log dan tidak dikirim ke WhatsApp. Pesan uji coba tidak dihitung sebagai terkirim.',
      causes: { dns: 'WhatsApp Web tidak dapat dijangkau dari server ini (jaringan/DNS): nama web.whatsapp.com tidak ditemukan. Periksa DNS server ini.', offline: 'WhatsApp Web tidak dapat dijangkau: server ini tidak terhubung ke jaringan.', blocked: 'WhatsApp Web tidak dapat dijangkau di port 443: periksa firewall atau proxy (proxy diatur di WA_PUPPETEER_ARGS dengan --proxy-server=…).', proxy: 'WhatsApp Web tidak dapat dijangkau: proxy menolak sambungan. Periksa --proxy-server di WA_PUPPETEER_ARGS.', tls: 'WhatsApp Web tidak dapat dijangkau: sambungan TLS gagal. Periksa jam server ini dan proxy yang menyadap.', no_chromium: 'Chromium belum terpasang: apt-get install -y chromium (atau atur WA_CHROMIUM_PATH).' },
      outageWait: 'Pesan tetap menunggu di antrean dan dikirim setelah tersambung kembali.', nextTry: 'Percobaan berikutnya pukul', technical: 'Rincian teknis',
      budgetsLeft: 'Sisa batas kirim', perMinute: 'menit ini', perHour: 'jam ini', perDay: '24 jam', waitingNow: 'Pesan menunggu', inSending: 'sedang dikirim', heldBack: 'ditahan pengaman nomor', notRunningHere: 'tidak berjalan', notRunningHelp: 'Nomor ini dikenal dari basis data (antrean atau catatan pengaman nomor), tetapi tidak ada proses yang menjalankannya sekarang (semua worker penuh, atau disematkan ke host lain).',
      runBy: 'Dijalankan oleh',
      sentFrom: 'Nomor pengirim', notRouted: 'Belum ada nomor', movedHere: 'dialihkan', moved: 'Dialihkan',
      routeReasons: { explicit: 'dipilih oleh pengirim pesan', wrote_last: 'nomor yang terakhir dihubungi orang ini', delivered_last: 'nomor yang terakhir berhasil mengirim kepadanya', home: 'nomor utama untuk jenis pesan ini', any_number: 'nomor lain yang bisa mengirim', group_member: 'anggota grup ini', group_admin: 'admin grup ini (hanya admin yang boleh menulis)', only_number: 'satu-satunya nomor' },
      unit: 'Satuan', groupsOutOfReach: 'Grup unit yang tidak terjangkau', groupsOutOfReachHelp: 'Tidak ada nomor yang menjadi anggota grup ini (atau hanya admin yang boleh menulis dan tidak ada nomor yang menjadi admin): pesannya langsung gagal. Masukkan salah satu nomor ke grup, atau perbaiki clients.client_group.',
      groupsNumber: 'Grup', groupsUnknown: 'belum terbaca dari WhatsApp', groupsAdmin: 'admin di', groupsReadOnly: 'hanya admin yang boleh menulis, nomor ini bukan admin',
      addNumber: 'Tambah nomor', numberName: 'Nama sesi (huruf kecil, angka, - atau _)', numberLabel: 'Keterangan (mis. nomor admin)', numberAdded: 'Nomor ditambahkan; kode QR-nya muncul di atas sebentar lagi.',
      addNumberHelp: 'Setiap nomor punya login WhatsApp sendiri: pindai kode QR-nya dengan ponsel nomor tersebut. Pesan tanpa sesi dikirim dari nomor yang diajak bicara orangnya, atau dari anggota grupnya.',
      enableNumber: 'Aktifkan', disableNumber: 'Nonaktifkan', removeNumber: 'Hapus nomor', numberDisabled: 'nonaktif', numberDisabledHelp: 'Nomor ini dinonaktifkan: tidak mengirim; pesannya dialihkan ke nomor lain yang boleh membawanya.',
      confirmDisable: 'Nonaktifkan nomor ini? Pesan yang belum diserahkan ke WhatsApp dialihkan ke nomor lain bila bisa.', confirmRemove: 'Hapus nomor ini dari gateway? Login WhatsApp-nya tetap tersimpan di disk.',
      notPaired: 'belum ditautkan', notPairedHelp: 'Belum ada nomor yang ditautkan: tidak ada yang dikirim sampai ponsel memindai kode QR.',
      states: { ready: 'siap', awaiting_qr: 'menunggu pemindaian QR', authenticated: 'terautentikasi', starting: 'memulai', disconnected: 'terputus', reconnecting: 'menyambung ulang', failed: 'gagal', none: 'tidak ada' },
    },
    en: {
      title: 'Cicero WhatsApp gateway', today: 'Today', session: 'WhatsApp session', messages: 'Messages', jobs: 'Schedule', complaints: 'Complaints',
      inbox: 'Incoming', outcomes: { complaint: 'complaint taken', complaint_format_reply: 'format reply sent', complaint_nrp_not_found: 'NRP not found', complaint_over_limit: 'over the report limit', opt_in: 'notifications on', opt_out: 'notifications off', opt_in_unknown: 'number not registered', none: 'nothing to do' }, received: 'Received', chat: 'Chat', sender: 'Sender', handled: 'Handled', text: 'Text', webhooks: 'Webhook deliveries', event: 'Event', receiver: 'Receiver',
      signOut: 'Sign out', signIn: 'Sign in', key: 'API key', signInHelp: 'Enter API_KEY (full access) or API_READ_KEY (read only).',
      wrongKey: 'The key is not valid.', readOnly: 'read only', fullAccess: 'full access', lang: 'Bahasa Indonesia',
      recapsToday: "Today's recaps and messages", type: 'Type', enqueued: 'Enqueued', sent: 'Sent', confirmed: 'Confirmed', failed: 'Failed', waiting: 'Waiting',
      none: 'None yet.', backlog: 'Backlog', pending: 'pending', sending: 'being sent', oldestDue: 'Oldest due message', seconds: 'seconds',
      failures24h: 'Failures in the last 24 hours', reason: 'Reason', count: 'Count', state: 'State', since: 'since', whatsapp: 'WhatsApp',
      scanSteps: ['Open WhatsApp on the phone.', 'Tap Menu (⋮) or Settings, then Linked devices.', 'Tap Link a device.', 'Point the camera at this QR code. It changes by itself about every 20 seconds.'],
      scanTitle: 'Scan the QR code', qrNeedsFull: 'The QR code links a phone to this number, so it is shown only to someone signed in with the full-access key (API_KEY).', pairCode: 'Or link with a phone number', phone: 'Number (with country code, e.g. 6281234567890)', getCode: 'Get a code',
      codeIs: 'Enter this code on the phone (WhatsApp > Linked devices > Link with phone number):', number: 'Number', webVersion: 'WhatsApp Web version',
      logout: 'Log the session out', confirmLogout: 'Log this WhatsApp session out? The phone will have to scan a QR code again.',
      status: 'Status', recipient: 'Recipient', dateFrom: 'From date', dateTo: 'To date', all: 'All', filter: 'Filter', attempts: 'Attempts',
      created: 'Created', sentAt: 'Sent', receipt: 'Receipt', lastError: 'Last error', actions: 'Actions', retry: 'Retry', cancel: 'Cancel',
      show: 'Show', hide: 'Hide', retrySelected: 'Retry selected', confirmCancel: 'Cancel this message? It will not be sent.',
      job: 'Job', schedule: 'Schedule', next: 'Next', paused: 'PAUSED', lastRun: 'Last run', outcome: 'Outcome', runNow: 'Run now', date: 'Date',
      heldBackRun: 'Held back', times: 'Times', saveTimes: 'Save times', timesHelp: 'Times in {zone} (HH:MM), comma-separated; empty switches the job off. Applies without a restart.', timesSaved: 'Times saved', timesDefault: 'default', timesSet: 'changed',
      confirmRun: 'Run this job now?', history: 'History', ran: 'Done', never: 'never', complainant: 'Complainant', template: 'Template', reply: 'Reply',
      responded: 'Responded', failureReason: 'Failure reason', done: 'Done', ackLevels: { '-1': 'error', '0': 'pending', '1': 'server', '2': 'delivered', '3': 'read', '4': 'played' },
      guard: 'Ban-risk guard', guardSending: 'sending', guardPaused: 'paused', until: 'until', risk: 'Risk score', warmup: 'Warm-up', warmupDay: 'day ', warmupDone: 'done',
      sentHour: 'Sent in 1 hour', sentDay: 'Sent in 24 hours', dailyBudget: '24-hour budget', pause: 'Pause sending', resume: 'Resume sending',
      confirmPause: 'Pause sending from this number? Messages wait until it is resumed.', riskLevels: { low: 'low', medium: 'medium', high: 'high', critical: 'critical' },
      pauseKinds: { cooling: 'cooling down', critical: 'critical risk', operator: 'by an operator' },
      pageFix: 'WhatsApp Web page fix', pageFixStates: { active: 'active', not_needed: 'not needed on this build', off: 'switched off (WA_PAGE_FIX=false)', failed: 'could not be applied', unavailable: 'not applicable', not_applied: 'not applied yet' },
      handOvers: 'Hand-overs to WhatsApp', handedOver: 'Handed over', part: 'Part', checkedInChat: 'Checked in the chat',
      checks: { found: 'found in the chat: confirmed', not_found_resent: 'not in the chat: sent again', not_found_kept: 'not in the chat: left to an operator', not_far_enough: 'chat history not far enough back: open', unreadable: 'chat could not be read: open' },
      handOverOutcomes: { handing_over: 'being handed over', confirmed: 'confirmed', unknown: 'unknown', unconfirmed: 'unconfirmed', failed: 'failed before the hand-over', rejected: 'did not arrive, sent again' },
      statuses: { pending: 'pending', sending: 'being sent', sent: 'sent', failed: 'failed', cancelled: 'cancelled', other: 'other status' },
      confirmations: { confirmed: 'confirmed', awaiting: 'awaiting confirmation', unconfirmed: 'unconfirmed', dry_run: 'dry run: not sent' },
      runStatuses: { running: 'running', succeeded: 'succeeded', failed: 'failed', skipped: 'skipped' },
      triggers: { schedule: 'scheduled', 'catch-up': 'catch-up', manual: 'manual' },
      complaintStatuses: { pending: 'pending', queued: 'queued', responded: 'responded', failed: 'failed', other: 'other status' },
      webhookStatuses: { pending: 'pending', delivered: 'delivered', failed: 'failed' },
      names: { 'daily-report': 'Daily recap', 'weekly-report': 'Weekly recap', 'monthly-report': 'Monthly recap', 'task-delivery-recap': 'Task delivery recap', 'complaint-response': 'Complaint replies', 'outbox-retention': 'Outbox retention', 'outbox-maintenance': 'Outbox maintenance', 'wa-gateway-poll': 'Outbox sweep', 'reminder-release': 'Engagement reminder release', 'engagement-reminder': 'Engagement reminder', 'engagement-thanks': 'Engagement thank-you', 'task-broadcast': 'Task broadcast to groups', digest: 'Digest', 'complaint-reply': 'Complaint reply', 'complaint-format-reply': 'Complaint format reply', 'complaint-note': 'Complaint note', 'complaint-operator-notice': 'Notice to the operator', 'notifwa-reply': 'notifwa reply', manual: 'Manual', api: 'Through the API' },
      scheduleOff: 'off', dryRun: 'Dry run',
      failureReasons: { not_on_whatsapp: 'number not on WhatsApp', invalid_recipient: 'invalid number or group', rejected: 'rejected by WhatsApp', unconfirmed: 'unconfirmed (never resent on its own)', timeout: 'timed out', not_ready: 'WhatsApp not ready', connection_lost: 'WhatsApp connection lost', send_error: 'error while sending', content_too_large: 'text too long', caption_too_long: 'document caption too long', document_invalid: 'invalid document', document_too_large: 'document too large (WA_DOCUMENT_MAX_BYTES)', empty_content: 'empty message', not_in_group: 'this number is not in the group', not_group_admin: 'only admins may send to the group and this number is not one', ack_error: 'WhatsApp reported an error (ack -1)', not_delivered: 'not in the chat (checked)', not_taken: 'not taken by WhatsApp Web', no_hand_over: 'not handed to WhatsApp', processing_error: 'error while processing', other: 'other' },
      holds: { quiet_hours: 'quiet hours (WA_QUIET_HOURS)', budget_minute: 'messages per minute reached (WA_BUDGET_PER_MINUTE)', budget_hour: 'messages per hour reached (WA_BUDGET_PER_HOUR)', budget_day: 'messages in 24 hours reached (WA_BUDGET_PER_DAY)', warmup: "the warm-up's daily budget reached (WA_WARMUP_SCHEDULE)", cold_per_day: 'daily budget to people who have not written reached (WA_COLD_PER_DAY)', cold_gap: 'gap between messages to people who have not written (WA_COLD_GAP_SECONDS)', same_text: 'the same text to too many people in an hour (WA_SAME_TEXT_PER_HOUR)', paused_operator: 'sending paused by an operator', paused_cooling: 'sending paused to cool down (high risk score)', paused_critical: 'sending paused at a critical risk score' },
      heldBy: 'held', untilResumed: 'until an operator resumes', dueAt: 'due', heldTitle: 'Held by the ban-risk guard', messagesHeld: 'messages',
      testMode: 'TEST MODE (WA_TRANSPORT=log): messages are only logged, not sent to WhatsApp. Dry-run messages are not counted as sent.',
      causes: { dns: 'WhatsApp Web cannot be reached from this server (network/DNS): the name web.whatsapp.com does not resolve. Check DNS on this server.', offline: 'WhatsApp Web cannot be reached: this server has no network connection.', blocked: 'WhatsApp Web cannot be reached on port 443: check the firewall or proxy (a proxy goes in WA_PUPPETEER_ARGS as --proxy-server=…).', proxy: 'WhatsApp Web cannot be reached: the proxy refused the connection. Check --proxy-server in WA_PUPPETEER_ARGS.', tls: 'WhatsApp Web cannot be reached: the TLS connection failed. Check the server clock and any intercepting proxy.', no_chromium: 'Chromium is not installed: apt-get install -y chromium (or set WA_CHROMIUM_PATH).' },
      outageWait: 'Messages wait in the queue and go out once it is back.', nextTry: 'Next try at', technical: 'Technical detail',
      budgetsLeft: 'Sending budget left', perMinute: 'this minute', perHour: 'this hour', perDay: '24 hours', waitingNow: 'Messages waiting', inSending: 'being sent', heldBack: 'held by the ban-risk guard', notRunningHere: 'not running', notRunningHelp: 'This number is known from the database (queued messages or ban-risk guard records), but no process runs it now (every worker is full, or it is pinned to another host).',
      runBy: 'Run by',
      sentFrom: 'Sent from number', notRouted: 'No number yet', movedHere: 'moved', moved: 'Moved',
      routeReasons: { explicit: 'chosen by the sender of the message', wrote_last: 'the number this person last wrote to', delivered_last: 'the number that last reached this person', home: 'the home number of this message type', any_number: 'another number that can send', group_member: 'a member of this group', group_admin: 'an admin of this group (only admins may write)', only_number: 'the only number' },
      unit: 'Unit', groupsOutOfReach: 'Unit groups out of reach', groupsOutOfReachHelp: 'No number is a member of these groups (or only admins may write and no number is an admin): their messages fail at once. Add one of the numbers to the group, or correct clients.client_group.',
      groupsNumber: 'Groups', groupsUnknown: 'not yet read from WhatsApp', groupsAdmin: 'admin in', groupsReadOnly: 'admins-only where this number is no admin',
      addNumber: 'Add a number', numberName: 'Session name (lower-case letters, digits, - or _)', numberLabel: 'Label (e.g. admin number)', numberAdded: 'Number added; its QR code appears above shortly.',
      addNumberHelp: 'Each number has its own WhatsApp login: scan its QR code with that number\'s phone. Messages without a session go from the number the person talks to, or from a member of the group.',
      enableNumber: 'Enable', disableNumber: 'Disable', removeNumber: 'Remove number', numberDisabled: 'disabled', numberDisabledHelp: 'This number is disabled: it sends nothing; its messages move to another number that may carry them.',
      confirmDisable: 'Disable this number? Messages not yet handed to WhatsApp move to another number where they can.', confirmRemove: 'Remove this number from the gateway? Its WhatsApp login stays on disk.',
      notPaired: 'not paired', notPairedHelp: 'No number is paired yet: nothing is sent until a phone scans the QR code.',
      states: { ready: 'ready', awaiting_qr: 'waiting for a QR scan', authenticated: 'authenticated', starting: 'starting', disconnected: 'disconnected', reconnecting: 'reconnecting', failed: 'failed', none: 'none' },
    },
  };
  var lang = localStorage.getItem('cicero-wa-lang') || body.parentElement.lang || 'id';
  function t(key) { return (TEXT[lang] || TEXT.id)[key]; }

  // ---- DOM helpers --------------------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var children = Array.prototype.slice.call(arguments, 2);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    });
    children.forEach(function (c) { if (c !== null && c !== undefined) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function fileSize(bytes) { return bytes === null || bytes === undefined ? '-' : bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MB' : bytes >= 1024 ? Math.round(bytes / 1024) + ' kB' : bytes + ' B'; }
  function badge(value, label) { return el('span', { class: 'badge ' + (value || ''), text: label || value || '-' }); }
  function card(title) { var s = el('section', { class: 'card' }, el('h2', { text: title })); for (var i = 1; i < arguments.length; i++) if (arguments[i]) s.appendChild(arguments[i]); return s; }
  /** A table whose cells carry their column's label (shown beside the value on a phone). */
  function table(columns, rows, render) {
    var head = el('tr', null);
    columns.forEach(function (c) { head.appendChild(el('th', { class: c.num ? 'num' : null, text: c.label })); });
    var tbody = el('tbody', null);
    rows.forEach(function (row) {
      var tr = el('tr', null);
      var cells = render(row);
      // A row of its own across the table (a message opened), not squeezed into one column.
      if (cells instanceof Node) {
        tr.className = 'wide';
        tr.appendChild(el('td', { colspan: columns.length, class: 'wide' }, cells));
        tbody.appendChild(tr);
        return;
      }
      cells.forEach(function (cell, i) {
        var td = el('td', { 'data-label': columns[i].label, class: columns[i].num ? 'num' : null });
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? '-' : String(cell);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    return el('div', { class: 'table-wrap' }, el('table', { class: 'stack' }, el('thead', null, head), tbody));
  }

  /** An instant shown in CRON_TIMEZONE with the zone named: "25-11-2026 07:00:03 WIB". */
  function when(iso) {
    if (!iso) return '-';
    var d = new Date(iso);
    var parts = new Intl.DateTimeFormat('en-GB', { timeZone: cfg.tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(d);
    var p = {}; parts.forEach(function (x) { p[x.type] = x.value; });
    return p.day + '-' + p.month + '-' + p.year + ' ' + p.hour + ':' + p.minute + ':' + p.second + ' ' + cfg.zone;
  }
  function stateLabel(state) { return (t('states') || {})[state] || state; }
  /** The word for a code (a status, a job, a rule) in the page's language; the code itself where there is none. */
  function word(group, key) {
    var w = (t(group) || {})[key];
    return w === undefined ? (key === null || key === undefined ? '-' : String(key)) : w;
  }
  /** A clock time in CRON_TIMEZONE with the zone named: "23:14:05 WIB". */
  function clock(iso) { return iso ? when(iso).slice(11) : '-'; }
  /** A name, with the code it stands for (an id, a slug) smaller beside it and as its tooltip. */
  /** A number's risk score and warm-up day. */
  function riskLine(g) {
    return el('p', { text: t('risk') + ': ' + g.riskScore + ' (' + (t('riskLevels')[g.riskLevel] || g.riskLevel) + ') · ' + t('warmup') + ': ' + (g.warmupDay ? t('warmupDay') + g.warmupDay : t('warmupDone')) });
  }
  /** The room left now in a number's minute, hour and 24-hour budgets (the 24 hours: the warm-up's day while smaller). */
  function budgetsLine(g, id) {
    var b = g.budgets;
    var one = function (label, x) { return label + ' ' + x.left + '/' + x.limit; };
    return el('p', { id: id || null, class: 'budgets', text: t('budgetsLeft') + ': ' + [one(t('perMinute'), b.minute), one(t('perHour'), b.hour), one(t('perDay'), b.day)].join(' · ') });
  }
  /** A number's messages waiting: pending and being sent, and those the governor holds back, by rule. */
  function waitingLine(w, id) {
    var text = t('waitingNow') + ': ' + (w.pending + w.sending) + ' (' + t('inSending') + ' ' + w.sending + ')';
    if (w.heldBack > 0) text += ' · ' + t('heldBack') + ' ' + w.heldBack + ': ' + w.heldBackByKind.map(function (h) { return word('holds', h.kind) + ' ' + h.count; }).join(', ');
    return el('p', { id: id || null, class: 'waiting', text: text });
  }
  // Which number sends a message and why: the routing's reason in words, and every move a failover made.
  function routeLine(m) {
    var reason = m.routeReason || '';
    var failover = reason.indexOf('failover: ') === 0;
    var code = failover ? reason.slice('failover: '.length) : reason;
    var words = (t('routeReasons') || {})[code] || code;
    var text = m.session ? t('sentFrom') + ' ' + m.session + (words ? ' — ' + (failover ? t('movedHere') + ': ' : '') + words : '') : t('notRouted') + (words ? ' — ' + words : '');
    var p = el('p', { class: 'route', id: 'route-' + m.id, 'data-reason': code, text: text });
    (m.routeMoves || []).forEach(function (mv) { p.appendChild(el('br')); p.appendChild(el('span', { class: 'muted', text: t('moved') + ' ' + mv.from + ' → ' + mv.to + ' (' + when(mv.at) + '): ' + mv.why })); });
    return p;
  }
  // A number's groups as WhatsApp Web last listed them: member of, admin in, and those where it may not write.
  function groupsLine(g, id) {
    if (!g) return el('p', { id: id || null, class: 'muted groups', text: t('groupsNumber') + ': ' + t('groupsUnknown') });
    var text = t('groupsNumber') + ': ' + g.member + ' (' + t('groupsAdmin') + ' ' + g.admin + ')';
    if (g.readOnly > 0) text += ' · ' + g.readOnly + ' ' + t('groupsReadOnly');
    return el('p', { id: id || null, class: 'groups', text: text });
  }
  function named(name, code) {
    if (!name || String(name).toLowerCase() === String(code).toLowerCase()) return el('span', { text: name || code });
    return el('span', { class: 'named', title: code }, el('span', { text: name }), ' ', el('span', { class: 'muted code', text: code }));
  }
  /** A schedule in words (cronstrue, times with the zone named); the expression itself where cronstrue cannot read it. */
  function scheduleWords(expression) {
    if (!expression) return t('scheduleOff');
    try {
      var words = window.cronstrue.toString(expression, { locale: lang === 'id' ? 'id' : 'en', use24HourTimeFormat: true, throwExceptionOnParseError: true });
      return words.replace(/\b(\d{1,2}:\d{2}(?::\d{2})?)\b/g, '$1 ' + cfg.zone);
    } catch (e) {
      return expression;
    }
  }
  /** A hold of the governor: its rule in words (its own words for a rule this page does not know), until when. */
  function holdText(h) {
    return (h.kind === 'other' ? h.reason : word('holds', h.kind)) + ' ' + (h.until ? t('until') + ' ' + when(h.until) : t('untilResumed'));
  }
  /** Why WhatsApp Web cannot be reached, in words, with the next try's time; the transport's own words folded away. */
  function problemBlock(reason, problem) {
    return el('div', { class: 'problem', id: 'whatsapp-problem', 'data-cause': problem.cause },
      el('p', { text: word('causes', problem.cause) + ' ' + t('outageWait') }),
      problem.nextTryAt ? el('p', { class: 'muted', id: 'next-try', text: t('nextTry') + ' ' + clock(problem.nextTryAt) }) : null,
      el('details', null, el('summary', { text: t('technical') }), el('code', { class: 'muted', text: reason || '' })));
  }
  /** A message's status in words: a dry run's never as sent; a waiting one with why and until when. */
  function messageStatus(m) {
    var dry = m.status === 'sent' && m.confirmation === 'dry_run';
    var node = el('span', { 'data-status': m.status, class: 'status' }, dry ? badge('dry_run', word('confirmations', 'dry_run')) : badge(m.status, word('statuses', m.status === null ? 'other' : m.status)));
    if (m.status === 'sent' && !dry && m.confirmation) node.append(' ', badge(m.confirmed ? 'confirmed' : '', word('confirmations', m.confirmation)));
    if (m.status === 'pending' && m.heldBack) node.append(el('span', { class: 'hold', 'data-hold': m.heldBack.kind, title: m.heldBack.reason, text: t('heldBy') + ': ' + holdText(m.heldBack) }));
    else if (m.status === 'pending' && m.nextAttemptAt && new Date(m.nextAttemptAt) > new Date()) node.append(el('span', { class: 'hold muted', text: t('dueAt') + ' ' + when(m.nextAttemptAt) }));
    return node;
  }

  /** A node-cron schedule: in words, with its variable and expression beside. */
  function scheduleCell(j) {
    var code = j.variable + '=' + (j.expression || 'off');
    return el('span', { class: 'named', title: code, 'data-schedule': j.name }, el('span', { text: scheduleWords(j.expression) }), ' ', el('span', { class: 'muted code', text: code }));
  }
  /** A schedule that is data: its times with the zone named, and (full access) a field to change them. */
  function timesCell(j, root, state) {
    var list = j.times.times;
    var shown = el('span', { 'data-times': j.name, text: (list.length ? list.join(', ') + ' ' + cfg.zone : t('scheduleOff')) + ' (' + (j.times.source === 'default' ? t('timesDefault') : t('timesSet')) + ')' });
    if (!canAct) return el('span', { 'data-schedule': j.name }, shown);
    var input = el('input', { type: 'text', 'data-times-for': j.name, 'aria-label': t('times') + ' (' + cfg.zone + ')', size: 24, value: state.times[j.name] !== undefined ? state.times[j.name] : list.join(', '),
      oninput: function (ev) { state.times[j.name] = ev.target.value; } });
    var save = el('button', { 'data-times-save': j.name, onclick: function () {
      var text = input.value.trim();
      var times = text === '' ? [] : text.split(/[\s,]+/).filter(function (x) { return x !== ''; });
      api('PUT', '/api/jobs/' + j.name + '/times', { times: times }).then(function (r) {
        delete state.times[j.name];
        input.blur();
        state.notice = { text: t('timesSaved') + ' (' + word('names', j.name) + '): ' + (r.times.length ? r.times.join(', ') + ' ' + r.zone : t('scheduleOff')), error: false };
        refresh();
      }, function (e) {
        state.notice = { text: e.message, error: true };
        input.blur();
        refresh();
      });
    }, text: t('saveTimes') });
    return el('span', { 'data-schedule': j.name }, shown, el('br'), input, ' ', save, el('br'), el('span', { class: 'muted', text: t('timesHelp').replace('{zone}', cfg.zone) }));
  }

  // ---- API ----------------------------------------------------------------------------------------
  function api(method, path, payload) {
    var headers = { accept: 'application/json' };
    // Every change is JSON, with or without a body (the server refuses anything else), and carries the CSRF token.
    if (method !== 'GET') { headers['x-csrf-token'] = cfg.csrf; headers['content-type'] = 'application/json'; }
    return fetch(path, { method: method, headers: headers, credentials: 'same-origin', body: payload === undefined ? undefined : JSON.stringify(payload) }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error('signed out'); }
      return r.text().then(function (text) {
        var data = text ? JSON.parse(text) : null;
        if (!r.ok) { var e = new Error((data && data.message) || ('HTTP ' + r.status)); e.status = r.status; throw e; }
        return data;
      });
    });
  }
  function flash(target, message, isError) {
    var n = el('div', { class: isError ? 'notice error' : 'notice', role: 'status', text: message });
    target.prepend(n);
    setTimeout(function () { n.remove(); }, 6000);
  }

  // ---- Sign-in ------------------------------------------------------------------------------------
  function signIn() {
    var app = document.getElementById('app');
    var error = el('p', { class: 'error', role: 'alert', id: 'signin-error' });
    var input = el('input', { type: 'password', id: 'key', name: 'key', autocomplete: 'current-password', required: true });
    var form = el('form', { id: 'signin', onsubmit: function (ev) {
      ev.preventDefault();
      error.textContent = '';
      fetch('/dashboard/login', { method: 'POST', headers: { 'content-type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify({ key: input.value }) }).then(function (r) {
        if (r.status === 204) location.reload();
        else return r.json().then(function (d) { error.textContent = r.status === 401 ? t('wrongKey') : d.message; });
      });
    } }, el('h1', { text: t('title') }), el('p', { class: 'muted', text: t('signInHelp') }), el('label', null, t('key'), input), error, el('button', { type: 'submit', text: t('signIn') }));
    app.replaceChildren(form);
    input.focus();
  }

  // ---- Views --------------------------------------------------------------------------------------
  var views = {
    'hari-ini': function (root) {
      return api('GET', '/api/summary').then(function (s) {
        // A dry run's messages are never counted as sent: a column of their own where there are any.
        var dry = s.today.some(function (r) { return r.dryRun > 0; });
        var columns = [{ label: t('type') }, { label: t('enqueued'), num: true }, { label: t('sent'), num: true }, { label: t('confirmed'), num: true }, { label: t('failed'), num: true }, { label: t('waiting'), num: true }];
        if (dry) columns.push({ label: t('dryRun'), num: true });
        var jobs = s.today.length === 0 ? el('p', { class: 'muted', text: t('none') }) : table(columns, s.today, function (r) {
          var cells = [named(word('names', r.type), r.type), r.enqueued, r.sent, r.confirmed, r.failed, r.waiting];
          if (dry) cells.push(r.dryRun);
          return cells;
        });
        var w = s.whatsapp;
        var wa = w ? el('div', null, el('p', null, badge(w.state, stateLabel(w.state)), ' ', w.problem ? '' : el('span', { class: 'muted', text: w.reason || '' })), w.problem ? problemBlock(w.reason, w.problem) : null) : el('p', { class: 'muted', text: stateLabel('none') });
        var held = el('div', { id: 'held' });
        (s.held || []).forEach(function (h) { held.appendChild(el('p', { class: 'hold', 'data-hold': h.kind, title: h.reason, text: h.count + ' ' + t('messagesHeld') + ' ' + t('heldBy') + ': ' + holdText(h) })); });
        var backlog = el('div', null,
          el('div', { class: 'stat', id: 'backlog', text: String(s.backlog.pending + s.backlog.sending) }),
          el('p', { class: 'muted', text: s.backlog.pending + ' ' + t('pending') + ', ' + s.backlog.sending + ' ' + t('sending') }),
          el('p', { class: 'muted', text: t('oldestDue') + ': ' + (s.backlog.oldestDueSeconds === null ? '-' : Math.round(s.backlog.oldestDueSeconds) + ' ' + t('seconds')) }),
          held);
        var failures = s.failures24h.length === 0 ? el('p', { class: 'muted', text: t('none') }) : table([{ label: t('reason') }, { label: t('count'), num: true }], s.failures24h, function (r) { return [named(word('failureReasons', r.reason), r.reason), r.count]; });
        root.replaceChildren(
          el('div', { class: 'grid' }, card(t('whatsapp'), wa), card(t('backlog'), backlog), card(t('failures24h'), failures)),
          card(t('recapsToday') + ' (' + s.date + ', ' + s.zone + ')', el('div', { id: 'today-table' }, jobs)));
      });
    },

    sesi: function (root, state) {
      return api('GET', '/api/sessions').then(function (data) {
        // Every number running in the cluster in full (those of this process first), then those known only from the database.
        var running = data.sessions.filter(function (x) { return x.running; });
        var others = data.sessions.filter(function (x) { return !x.running; });
        // Drawn again only when something changed: the picture does not flicker, a number being typed stays.
        var signature = [lang, JSON.stringify(data.unitGroupsOutOfReach), JSON.stringify(data.sessions.map(function (x) {
          return [x.name, x.label, x.enabled, x.groups, x.state, x.reason, x.pairing && x.pairing.issuedAt, x.number, x.webVersion, x.paired, x.governor, x.pageFix, x.waiting, x.runBy];
        }))].join('|');
        if (state.signature === signature) return;
        // A form being filled in is not drawn over.
        if (root.contains(document.activeElement) && document.activeElement.tagName === 'INPUT' && document.activeElement.value) return;
        state.signature = signature;
        var blocks = [];
        running.forEach(function (s, i) { blocks = blocks.concat(runningNumber(s, i === 0 ? '' : '-' + s.name)); });
        others.forEach(function (o) { blocks.push(otherNumber(o)); });
        // Unit groups no number can write to: their recaps fail at once until a number joins (or is made admin).
        if (data.unitGroupsOutOfReach.length > 0) {
          blocks.push(card(t('groupsOutOfReach'), el('div', { id: 'groups-out-of-reach' },
            el('p', { class: 'warn', text: t('groupsOutOfReachHelp') }),
            table([{ label: t('unit') }, { label: t('reason') }], data.unitGroupsOutOfReach, function (g) { return [named(g.unit, g.chatId), named(word('failureReasons', g.failureCode), g.failureCode)]; }))));
        }
        if (canAct) blocks.push(addNumberForm(root));
        root.replaceChildren.apply(root, blocks);
      });

      // One number run by this process: its state, QR code or pairing code, guard and actions (`sfx` keeps element ids apart).
      function runningNumber(s, sfx) {
        var g = s.governor;
        // The transport's reason only where it explains a problem (the steps say what to do while pairing).
        var reason = s.state === 'ready' || s.state === 'awaiting_qr' ? '' : (s.reason || '') + ' — ';
        var parts = s.problem
          ? [el('p', null, badge(s.state, stateLabel(s.state)), ' ', el('span', { class: 'muted', id: 'session-reason' + sfx, text: s.since ? t('since') + ' ' + when(s.since) : '' })), problemBlock(s.reason, s.problem)]
          : [el('p', null, badge(s.state, stateLabel(s.state)), ' ', el('span', { class: 'muted', id: 'session-reason' + sfx, text: reason + (s.since ? t('since') + ' ' + when(s.since) : '') }))];
        if (s.state === 'ready') {
          parts.push(el('p', { id: 'session-number' + sfx, text: t('number') + ': ' + (s.number || '-') }), el('p', { class: 'muted', text: t('webVersion') + ': ' + (s.webVersion || '-') }));
        }
        if (s.pageFix) {
          var fixWord = (t('pageFixStates') || {})[s.pageFix.state] || s.pageFix.state;
          parts.push(el('p', { id: 'session-page-fix' + sfx, 'data-state': s.pageFix.state, class: s.pageFix.state === 'failed' || s.pageFix.state === 'off' ? 'warn' : 'muted', title: s.pageFix.detail || '' },
            t('pageFix') + ': ', badge(s.pageFix.state === 'active' || s.pageFix.state === 'not_needed' ? 'ready' : 'failed', fixWord), s.pageFix.at ? ' (' + when(s.pageFix.at) + ')' : ''));
        }
        // A number another instance of the cluster runs: shown from what that instance publishes, controlled through it.
        if (s.runBy) parts.push(el('p', { class: 'muted', id: 'session-run-by' + sfx, text: t('runBy') + ': ' + (s.runBy.host || '') + ' (' + s.runBy.instance + ')' }));
        parts.push(waitingLine(s.waiting, 'session-waiting' + sfx));
        parts.push(groupsLine(s.groups, 'session-groups' + sfx));
        var infoBody = el('div', null);
        parts.forEach(function (part) { infoBody.appendChild(part); });
        var info = card(t('session') + ' ' + s.name + (s.label ? ' — ' + s.label : ''), infoBody);
        info.setAttribute('data-session', s.name);
        var blocks = [info];
        if (s.registered) info.appendChild(numberActions(s, sfx));
        // The QR code is a credential (whoever scans it controls the number): full access only.
        if (s.pairing && s.pairing.qr && !canAct) {
          blocks.push(card(t('scanTitle'), el('p', { id: 'qr-needs-full' + sfx, class: 'muted', text: t('qrNeedsFull') })));
        } else if (s.pairing && s.pairing.qr) {
          var steps = el('ol', { class: 'steps' }); t('scanSteps').forEach(function (x) { steps.appendChild(el('li', { text: x })); });
          var img = el('img', { id: 'qr' + sfx, alt: t('scanTitle'), src: '/api/sessions/' + encodeURIComponent(s.name) + '/qr?format=png&v=' + encodeURIComponent(s.pairing.issuedAt), 'data-issued': s.pairing.issuedAt });
          blocks.push(card(t('scanTitle'), el('div', { class: 'qr' }, img, steps)));
        }
        if (canAct && s.state === 'awaiting_qr') {
          var phone = el('input', { id: 'pair-phone' + sfx, inputmode: 'numeric', pattern: '\\+?[0-9]{8,15}' });
          var out = el('p', { id: 'pair-code' + sfx });
          blocks.push(card(t('pairCode'), el('form', { class: 'filters', onsubmit: function (ev) {
            ev.preventDefault();
            api('POST', '/api/sessions/' + encodeURIComponent(s.name) + '/pairing-code', { phone: phone.value.trim() })
              .then(function (r) { out.textContent = t('codeIs') + ' ' + r.code; }, function (e) { out.textContent = e.message; });
          } }, el('label', null, t('phone'), phone), el('button', { type: 'submit', text: t('getCode') })), out));
        }
        if (g) {
          // Sending, paused, or nothing to send from: a number never paired does not send.
          var guardState = g.paused
            ? el('p', null, badge('failed', t('guardPaused') + ' (' + word('pauseKinds', g.pauseKind) + ')'), ' ', el('span', { class: 'muted', text: (g.pausedUntil ? t('until') + ' ' + when(g.pausedUntil) + ' — ' : '') + (g.pauseReason || '') }))
            : s.paired === false
              ? el('p', null, badge('', t('notPaired')), ' ', el('span', { class: 'muted', text: t('notPairedHelp') }))
              : el('p', null, badge('ready', t('guardSending')));
          var guardBody = el('div', { id: 'session-guard' + sfx }, guardState, riskLine(g), budgetsLine(g, 'session-budgets' + sfx),
            el('p', { class: 'muted', text: t('sentHour') + ': ' + g.sentLastHour + ' · ' + t('sentDay') + ': ' + g.sentLastDay + ' / ' + t('dailyBudget') + ' ' + g.dailyBudget }));
          if (canAct) {
            guardBody.appendChild(g.paused
              ? el('button', { id: 'resume-session' + sfx, onclick: function () {
                api('POST', '/api/sessions/' + encodeURIComponent(s.name) + '/resume').then(refresh, function (e) { flash(root, e.message, true); });
              }, text: t('resume') })
              : el('button', { class: 'danger', id: 'pause-session' + sfx, onclick: function () {
                if (!confirm(t('confirmPause'))) return;
                api('POST', '/api/sessions/' + encodeURIComponent(s.name) + '/pause', { reason: 'dashboard' }).then(refresh, function (e) { flash(root, e.message, true); });
              }, text: t('pause') }));
          }
          blocks.push(card(t('guard'), guardBody));
        }
        if (canAct && s.transport && s.paired) {
          info.appendChild(el('button', { class: 'danger', id: 'logout-session' + sfx, onclick: function () {
            if (!confirm(t('confirmLogout'))) return;
            api('POST', '/api/sessions/' + encodeURIComponent(s.name) + '/logout').then(refresh, function (e) { flash(root, e.message, true); });
          }, text: t('logout') }));
        }
        return blocks;
      }

      // Numbers this process does not run (their rows or governor records are in the database): what they have waiting and left.
      function otherNumber(o) {
        var body = el('div', { class: 'other-session', 'data-session': o.name },
          el('p', null, badge('', o.registered && !o.enabled ? t('numberDisabled') : t('notRunningHere')), ' ', el('span', { class: 'muted', text: o.registered && !o.enabled ? t('numberDisabledHelp') : t('notRunningHelp') })));
        if (o.governor) {
          if (o.governor.paused) body.appendChild(el('p', null, badge('failed', t('guardPaused') + ' (' + word('pauseKinds', o.governor.pauseKind) + ')')));
          body.appendChild(riskLine(o.governor));
          body.appendChild(budgetsLine(o.governor));
        }
        body.appendChild(waitingLine(o.waiting));
        body.appendChild(groupsLine(o.groups));
        if (o.registered) body.appendChild(numberActions(o, '-' + o.name));
        return card(t('session') + ' ' + o.name + (o.label ? ' — ' + o.label : ''), body);
      }

      // Enable, disable or remove a registered number (full access).
      function numberActions(s, sfx) {
        var box = el('p', { class: 'actions' });
        if (!canAct) return box;
        var act = function (method, path, question) {
          return function () {
            if (question && !confirm(question)) return;
            api(method, '/api/sessions/' + encodeURIComponent(s.name) + path).then(refresh, function (e) { flash(root, e.message, true); });
          };
        };
        box.appendChild(s.enabled === false
          ? el('button', { id: 'enable-number' + sfx, onclick: act('POST', '/enable'), text: t('enableNumber') })
          : el('button', { id: 'disable-number' + sfx, onclick: act('POST', '/disable', t('confirmDisable')), text: t('disableNumber') }));
        box.appendChild(el('button', { class: 'danger', id: 'remove-number' + sfx, onclick: act('DELETE', '', t('confirmRemove')), text: t('removeNumber') }));
        return box;
      }

      // "Tambah nomor": a new number gets its own WhatsApp login; its QR code appears above once it starts.
      function addNumberForm(root) {
        var name = el('input', { id: 'new-number-name', required: 'required', pattern: '[a-z0-9][a-z0-9_\\-]{0,31}', placeholder: 'admin' });
        var label = el('input', { id: 'new-number-label', maxlength: '100' });
        // What the last addition said stays through the redraw it causes.
        var out = el('p', { id: 'new-number-result', class: 'muted', text: state.addNote || '' });
        return card(t('addNumber'), el('form', { class: 'filters', id: 'add-number', onsubmit: function (ev) {
          ev.preventDefault();
          var body = { label: label.value.trim() || undefined };
          api('POST', '/api/sessions/' + encodeURIComponent(name.value.trim()), body).then(function () {
            out.textContent = state.addNote = t('numberAdded');
            name.value = ''; label.value = '';
            state.signature = null;
            refresh();
          }, function (e) { out.textContent = state.addNote = e.message; });
        } }, el('label', null, t('numberName'), name), el('label', null, t('numberLabel'), label), el('button', { type: 'submit', text: t('addNumber') })), out, el('p', { class: 'muted', text: t('addNumberHelp') }));
      }
    },

    pesan: function (root, state) {
      // One message opened: its whole text, then each hand-over to WhatsApp and what a look into the chat found.
      function messageDetail(id, full) {
        var box = el('div', { class: 'message-detail', id: 'detail-' + id }, el('div', { class: 'text', id: 'text-' + id, text: full.text }));
        box.appendChild(routeLine(full));
        if (full.heldBack) box.appendChild(el('p', { class: 'hold', 'data-hold': full.heldBack.kind, text: t('heldBy') + ': ' + holdText(full.heldBack) }, el('br'), el('span', { class: 'muted', text: full.heldBack.reason })));
        if (full.handOvers && full.handOvers.length) {
          var list = el('ol', { class: 'hand-overs', id: 'hand-overs-' + id });
          full.handOvers.forEach(function (h) {
            var outcome = (t('handOverOutcomes') || {})[h.outcome] || h.outcome;
            var item = el('li', { 'data-outcome': h.outcome }, when(h.handedOverAt) + ' — ' + t('part') + ' ' + (h.part + 1) + '/' + h.parts + ': ' + outcome + (h.reason ? ' (' + h.reason + ')' : ''));
            if (h.chatCheck) {
              var c = h.chatCheck;
              var key = c.result === 'not_found' ? (c.resent ? 'not_found_resent' : 'not_found_kept') : c.result;
              item.appendChild(el('div', { class: 'muted', 'data-check': c.result, text: t('checkedInChat') + ' ' + when(c.at) + ': ' + ((t('checks') || {})[key] || c.result) + (c.error ? ' — ' + c.error : '') }));
            }
            list.appendChild(item);
          });
          box.appendChild(el('p', { class: 'muted', text: t('handOvers') }));
          box.appendChild(list);
        }
        return box;
      }
      if (!state.form) {
        var statusSelect = el('select', { name: 'status' }, el('option', { value: '', text: t('all') }));
        // The statuses are the outbox's own words (GET /api/outbox/vocabulary), named here in the chosen language.
        api('GET', '/api/outbox/vocabulary').then(function (v) {
          v.statuses.forEach(function (x) { statusSelect.appendChild(el('option', { value: x, text: word('statuses', x) })); });
        });
        state.form = el('form', { class: 'filters', id: 'message-filters', onsubmit: function (ev) { ev.preventDefault(); refresh(); } },
          el('label', null, t('status'), statusSelect),
          el('label', null, t('type'), el('input', { name: 'type', size: 14 })),
          el('label', null, t('recipient'), el('input', { name: 'recipient', size: 14 })),
          el('label', null, t('dateFrom'), el('input', { name: 'from', type: 'date' })),
          el('label', null, t('dateTo'), el('input', { name: 'to', type: 'date' })),
          el('button', { type: 'submit', text: t('filter') }));
        state.selected = {};
        state.open = {};
        state.list = el('div', { id: 'message-list' });
        var bulk = canAct ? el('button', { id: 'retry-selected', class: 'secondary', onclick: function () {
          var ids = Object.keys(state.selected);
          Promise.all(ids.map(function (id) { return api('POST', '/api/messages/' + id + '/retry').catch(function (e) { return e; }); })).then(function () { state.selected = {}; refresh(); });
        }, text: t('retrySelected') }) : null;
        root.replaceChildren(card(t('messages'), state.form, bulk, state.list));
      }
      var f = new FormData(state.form);
      var q = new URLSearchParams({ limit: '100' });
      ['status', 'type', 'recipient'].forEach(function (k) { if (f.get(k)) q.set(k, f.get(k)); });
      if (f.get('from')) q.set('since', f.get('from') + 'T00:00:00' + offsetOf());
      if (f.get('to')) q.set('until', nextDay(f.get('to')) + 'T00:00:00' + offsetOf());
      return api('GET', '/api/messages?' + q.toString()).then(function (data) {
        var columns = [{ label: '' }, { label: 'ID', num: true }, { label: t('status') }, { label: t('type') }, { label: t('recipient') }, { label: t('attempts'), num: true }, { label: t('created') }, { label: t('sentAt') }, { label: t('receipt') }, { label: t('lastError') }, { label: t('actions') }];
        var rows = [];
        data.messages.forEach(function (m) {
          rows.push({ m: m });
          if (state.open[m.id]) rows.push({ detail: m });
        });
        var tableNode = table(columns, rows, function (r) {
          if (r.detail) return messageDetail(r.detail.id, state.open[r.detail.id]);
          var m = r.m;
          var box = canAct && (m.status === 'failed' || m.status === 'cancelled') ? el('input', { type: 'checkbox', 'aria-label': 'ID ' + m.id, checked: !!state.selected[m.id], onchange: function (ev) { if (ev.target.checked) state.selected[m.id] = true; else delete state.selected[m.id]; } }) : '';
          var actions = el('span', null, el('button', { class: 'secondary', onclick: function () {
            if (state.open[m.id]) { delete state.open[m.id]; refresh(); return; }
            api('GET', '/api/messages/' + m.id).then(function (full) { state.open[m.id] = full; refresh(); });
          }, text: state.open[m.id] ? t('hide') : t('show') }));
          if (canAct && (m.status === 'failed' || m.status === 'cancelled')) actions.append(' ', el('button', { 'data-retry': m.id, onclick: function () { api('POST', '/api/messages/' + m.id + '/retry').then(refresh, function (e) { flash(root, e.message, true); }); }, text: t('retry') }));
          if (canAct && (m.status === 'pending' || m.status === 'failed')) actions.append(' ', el('button', { class: 'danger', 'data-cancel': m.id, onclick: function () { if (confirm(t('confirmCancel'))) api('POST', '/api/messages/' + m.id + '/cancel').then(refresh, function (e) { flash(root, e.message, true); }); }, text: t('cancel') }));
          var receipt = m.ack === null ? '-' : ((t('ackLevels') || {})[String(m.ack)] || m.ack) + (m.readAt ? ' ' + when(m.readAt) : m.deliveredAt ? ' ' + when(m.deliveredAt) : '');
          // A document: its name and size beside the type (its caption is the text shown on opening).
          var type = el('span', null, named(word('names', m.type), m.type), m.document ? el('br') : null, m.document ? el('span', { class: 'muted', text: '\u{1F4C4} ' + (m.document.fileName || '?') + ' (' + fileSize(m.document.size) + ')' }) : null);
          return [box, m.id, messageStatus(m), type, named(m.recipientName, m.recipient), m.attempts, when(m.createdAt), when(m.sentAt), receipt, m.lastError || '', actions];
        });
        state.list.replaceChildren(tableNode);
      });
    },

    jadwal: function (root, state) {
      // What "run now" answered, kept across refreshes until the page is left.
      state.results = state.results || {};
      state.dates = state.dates || {};
      // Times being typed, kept across refreshes until saved.
      state.times = state.times || {};
      return api('GET', '/api/jobs').then(function (data) {
        // A form being filled in is not drawn over.
        if (root.contains(document.activeElement) && document.activeElement.tagName === 'INPUT' && document.activeElement.value) return;
        // What saving the times answered, until the page is left or times are saved again.
        var notice = state.notice ? el('div', { class: state.notice.error ? 'notice error' : 'notice', role: 'status', id: 'times-notice', text: state.notice.text }) : null;
        root.replaceChildren.apply(root, [notice, card(t('jobs'), table(
          [{ label: t('job') }, { label: t('schedule') }, { label: t('next') }, { label: t('lastRun') }, { label: t('enqueued'), num: true }, { label: t('heldBackRun'), num: true }, { label: t('outcome') }, { label: t('history') }, { label: t('actions') }],
          data.jobs,
          function (j) {
            var last = j.lastRun;
            var outcome = last ? el('span', null, badge(last.status, word('runStatuses', last.status)), ' ', el('span', { class: 'muted', text: last.error || last.detail || '' })) : (j.shared ? t('never') : '-');
            var action = null;
            if (canAct) {
              var date = j.name.indexOf('-report') > 0 ? el('input', { type: 'date', 'aria-label': t('date'), 'data-date-for': j.name, value: state.dates[j.name] || null, oninput: function (ev) { state.dates[j.name] = ev.target.value; } }) : null;
              var result = el('span', { class: 'muted', 'data-result-for': j.name, text: state.results[j.name] || '' });
              var show = function (text) { state.results[j.name] = text; result.textContent = text; var live = root.querySelector('[data-result-for="' + j.name + '"]'); if (live) live.textContent = text; };
              action = el('span', null, date, ' ', el('button', { 'data-run': j.name, onclick: function () {
                if (!confirm(t('confirmRun') + ' (' + word('names', j.name) + (date && date.value ? ', ' + date.value : '') + ')')) return;
                show('…');
                api('POST', '/api/jobs/' + j.name + '/run', date && date.value ? { date: date.value } : undefined).then(function (r) {
                  show(t('ran') + ': ' + word('runStatuses', r.status) + (r.enqueued !== undefined && r.enqueued !== null ? ', ' + r.enqueued : '') + (r.heldBack ? ', ' + t('heldBackRun').toLowerCase() + ' ' + r.heldBack : ''));
                }, function (e) { show(e.message); });
              }, text: t('runNow') }), ' ', result);
            }
            var history = el('ul', { class: 'runs' });
            (j.recentRuns || []).slice(1).forEach(function (r) { history.appendChild(el('li', null, when(r.slot) + ' ', badge(r.status, word('runStatuses', r.status)), r.error ? ' ' + r.error : '')); });
            var schedule = j.times ? timesCell(j, root, state) : scheduleCell(j);
            return [named(word('names', j.name), j.name), schedule, (j.next ? when(j.next) : '-') + (j.paused ? ' ' + t('paused') : ''), last ? when(last.slot) + ' (' + word('triggers', last.trigger) + ')' : '-',
              last && last.enqueued !== null ? last.enqueued : '-', last && last.heldBack !== null ? last.heldBack : '-', outcome, history.childElementCount ? history : '-', action || ''];
          }))].filter(Boolean));
      });
    },

    'pesan-masuk': function (root) {
      return Promise.all([api('GET', '/api/inbox?limit=100'), api('GET', '/api/webhooks?limit=100')]).then(function (res) {
        var inbox = res[0].messages;
        var deliveries = res[1].deliveries;
        var inboxTable = inbox.length === 0 ? el('p', { class: 'muted', text: t('none') }) : table(
          [{ label: 'ID', num: true }, { label: t('received') }, { label: t('chat') }, { label: t('sender') }, { label: t('handled') }, { label: t('text') }],
          inbox,
          function (m) {
            var text = (m.media ? '[' + (m.media.mimeType || 'media') + '] ' : '') + m.body;
            var outcome = m.outcome === null ? '…' : (t('outcomes')[m.outcome] || m.outcome);
            return [m.id, when(m.receivedAt), named(m.chatName, m.chatId), (m.senderName ? m.senderName + ' ' : '') + (m.senderPhone || m.senderId), outcome, el('div', { class: 'text', text: text })];
          });
        var hookTable = deliveries.length === 0 ? el('p', { class: 'muted', text: t('none') }) : table(
          [{ label: 'ID', num: true }, { label: t('event') }, { label: t('status') }, { label: t('attempts'), num: true }, { label: t('created') }, { label: t('receiver') }, { label: t('lastError') }, { label: t('actions') }],
          deliveries,
          function (d) {
            var action = canAct && d.status === 'failed' ? el('button', { 'data-retry-webhook': d.id, onclick: function () { api('POST', '/api/webhooks/' + d.id + '/retry').then(refresh, function (e) { flash(root, e.message, true); }); }, text: t('retry') }) : '';
            var host = d.url.replace(/^https?:\/\//, '').split('/')[0];
            return [d.id, d.event, badge(d.status === 'delivered' ? 'sent' : d.status, word('webhookStatuses', d.status)), d.attempts, when(d.createdAt), host, d.lastError || '', action];
          });
        root.replaceChildren(card(t('inbox'), el('div', { id: 'inbox-table' }, inboxTable)), card(t('webhooks'), hookTable));
      });
    },

    komplain: function (root) {
      return api('GET', '/api/complaints?limit=100').then(function (data) {
        root.replaceChildren(card(t('complaints'), data.complaints.length === 0 ? el('p', { class: 'muted', text: t('none') }) : table(
          [{ label: 'ID', num: true }, { label: t('status') }, { label: t('complainant') }, { label: t('template') }, { label: t('created') }, { label: t('responded') }, { label: t('reply') }, { label: t('failureReason') }, { label: t('actions') }],
          data.complaints,
          function (c) {
            var action = canAct && c.status === 'failed' ? el('button', { 'data-retry-complaint': c.id, onclick: function () { api('POST', '/api/complaints/' + c.id + '/retry').then(refresh, function (e) { flash(root, e.message, true); }); }, text: t('retry') }) : '';
            return [c.id, badge(c.status, word('complaintStatuses', c.status)), c.complainant, c.responseTemplate, when(c.createdAt), when(c.respondedAt), c.outboxId === null ? '-' : String(c.outboxId), c.failureReason || '', action];
          })));
      });
    },
  };

  function offsetOf() {
    var sample = new Intl.DateTimeFormat('en-US', { timeZone: cfg.tz, timeZoneName: 'longOffset' }).formatToParts(new Date()).find(function (p) { return p.type === 'timeZoneName'; });
    var text = sample ? sample.value.replace('GMT', '') : '';
    return text === '' ? '+00:00' : text;
  }
  function nextDay(date) {
    var d = new Date(date + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  // ---- Shell, routing, refresh --------------------------------------------------------------------
  var TABS = [['hari-ini', 'today'], ['sesi', 'session'], ['pesan', 'messages'], ['pesan-masuk', 'inbox'], ['jadwal', 'jobs'], ['komplain', 'complaints']];
  var current = null;
  var states = {};
  var busy = false;
  var again = false;
  var main;

  function shell() {
    var nav = el('nav', { class: 'tabs', 'aria-label': 'menu' });
    TABS.forEach(function (tab) { nav.appendChild(el('a', { href: '#' + tab[0], 'data-tab': tab[0], text: t(tab[1]) })); });
    var right = el('span', { class: 'who', text: (canAct ? t('fullAccess') : t('readOnly')) });
    var header = el('header', { class: 'top' }, el('h1', { text: t('title') }), right,
      el('button', { id: 'lang', onclick: function () { lang = lang === 'id' ? 'en' : 'id'; localStorage.setItem('cicero-wa-lang', lang); document.documentElement.lang = lang; states = {}; current = null; shell(); route(); }, text: t('lang') }),
      cfg.signedIn ? el('button', { id: 'sign-out', onclick: function () {
        fetch('/dashboard/logout', { method: 'POST', headers: { 'x-csrf-token': cfg.csrf, 'content-type': 'application/json' }, credentials: 'same-origin' }).then(function () { location.reload(); });
      }, text: t('signOut') }) : null);
    main = el('main', { id: 'view' });
    // A dry run, said on every page: nothing it shows as handled went to WhatsApp.
    var testMode = cfg.dryRun ? el('div', { class: 'test-mode', id: 'test-mode', role: 'status', text: t('testMode') }) : null;
    document.getElementById('app').replaceChildren.apply(document.getElementById('app'), [header, testMode, nav, main].filter(Boolean));
  }

  function route() {
    var name = (location.hash || '#hari-ini').slice(1);
    if (!views[name]) name = 'hari-ini';
    if (name !== current) { current = name; main.replaceChildren(); states[name] = {}; }
    document.querySelectorAll('nav.tabs a').forEach(function (a) { if (a.dataset.tab === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current'); });
    refresh();
  }

  /**
   * Draws the current view. One drawing at a time: asked for while one runs (a language switch, a tab
   * opened, a button while the page reads the API), it runs once more right after, for what is current
   * then. A view that throws is shown as an error and never stops the refreshing.
   */
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    again = false;
    var name = current;
    new Promise(function (resolve) { resolve(views[name](main, states[name])); })
      .catch(function (e) { var message = (e && e.message) || String(e); if (message !== 'signed out') flash(main, message, true); })
      .then(function () {
        busy = false;
        if (again) refresh();
        else body.dataset.loaded = name;
      });
  }

  if (cfg.view === 'signin') { document.documentElement.lang = lang; signIn(); return; }
  document.documentElement.lang = lang;
  shell();
  window.addEventListener('hashchange', route);
  route();
  setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
})();

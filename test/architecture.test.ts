/**
 * The layout of src/ as docs/architecture.md draws it, checked on the code itself:
 *
 * - imports point down the layers (never up, never sideways between rooms of one layer, but for the
 *   pairs the docs name);
 * - only the configuration reads process.env;
 * - one module writes each table;
 * - one composition root builds the service's parts; main.ts stays short;
 * - a file over 300 lines has a sentence in docs/architecture.md saying why.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './helpers/cli.js';

const SRC = path.join(REPO_ROOT, 'src');

/** The rooms of src/ by layer: a file may import from a lower layer, or from its own room. */
const LAYERS: Array<[string, number]> = [
  ['lib', 0],
  ['jobs.ts', 1],
  ['config', 2],
  ['db', 3],
  ['outbox', 4],
  ['whatsapp', 4],
  ['governor', 4],
  ['webhooks', 4],
  ['groups', 4],
  ['sessions', 4],
  ['features', 5],
  ['inbound', 5],
  ['delivery', 5],
  ['scheduler', 6],
  ['http', 6],
  ['app', 7],
  ['commands', 7],
  ['main.ts', 8],
];

/** Sideways imports the docs allow: the commands use the composition root; the HTTP API the scheduler; the sessions the outbox's listing. */
const SIDEWAYS: Array<[string, string]> = [
  ['commands', 'app'],
  ['http', 'scheduler'], // the API lists and runs jobs
  ['sessions', 'outbox'], // a session is not removed while the outbox is sending its messages
];

/** Who writes each table (INSERT, UPDATE, DELETE, TRUNCATE). */
const OWNERS: Record<string, string | string[]> = {
  wa_outbox: 'outbox/',
  wa_outbox_sends: 'outbox/',
  complaint_queue: 'features/complaints/',
  cron_job_runs: 'scheduler/',
  cicero_wa_job_times: 'scheduler/',
  cicero_wa_watermarks: 'features/rekap/',
  wa_task_broadcasts: 'features/reminders/',
  cicero_wa_migrations: 'db/',
  wa_inbox: 'inbound/',
  webhook_deliveries: 'webhooks/',
  wa_governor_sends: 'governor/',
  wa_session_guard: 'governor/',
  wa_risk_events: 'governor/',
  wa_group_members: 'groups/',
  wa_sessions: 'sessions/',
  wa_session_live: 'sessions/',
  wa_session_commands: 'sessions/',
  wa_chat_affinity: 'sessions/',
  wa_reminder_state: 'features/reminders/',
  wa_reminder_plan: 'features/reminders/',
  wa_reminder_runs: 'features/reminders/',
  // WA_AUTH_STORE=postgres: the sealed WhatsApp logins, written only by the store of the whatsapp-web.js transport.
  wa_auth_store: 'whatsapp/wwebjs/auth-store.ts',
  http_sign_ins: 'http/',
  http_auth_failures: 'http/',
  // Cicero_V2's own tables: only the demo dataset writes them (into an empty database).
  clients: 'features/rekap/demo/',
  // notifwa#on/off sets one column of a person: the only write into Cicero_V2's tables.
  user: ['features/rekap/demo/', 'features/notifwa/'],
  insta_post: 'features/rekap/demo/',
  insta_like: 'features/rekap/demo/',
  tiktok_post: 'features/rekap/demo/',
  tiktok_comment: 'features/rekap/demo/',
  tasks: 'features/rekap/demo/',
};

async function sourceFiles(dir: string = SRC): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []))),
  );
  return nested.flat();
}

/** The room of a path under src/: its first folder, or the file itself at the top. */
function room(relative: string): string {
  const first = relative.split('/')[0]!;
  return first;
}

function layer(relative: string): number {
  const found = LAYERS.find(([name]) => name === room(relative));
  assert.ok(found, `${relative} is in no room of the layout (add it to docs/architecture.md and this test)`);
  return found[1];
}

describe('the layout of src/ (docs/architecture.md)', () => {
  it('imports point down the layers', async () => {
    const wrong: string[] = [];
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      const text = await fs.readFile(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const to = path.relative(SRC, path.resolve(path.dirname(file), spec!)).replace(/\.js$/, '.ts');
        if (to.startsWith('..')) continue;
        if (room(to) === room(from)) continue;
        const allowed = layer(to) < layer(from) || SIDEWAYS.some(([a, b]) => room(from) === a && room(to) === b);
        if (!allowed) wrong.push(`${from} → ${to}`);
      }
    }
    assert.deepEqual(wrong, [], 'imports that point up or sideways');
  });

  it('only the configuration reads process.env (the environment may be handed on to a child process)', async () => {
    const readers: string[] = [];
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      if (from.startsWith('config/')) continue;
      const text = (await fs.readFile(file, 'utf8')).replace(/\.\.\.process\.env\b/g, '');
      if (/process\.env\b/.test(text)) readers.push(from);
    }
    assert.deepEqual(readers, []);
  });

  it('one module writes each table', async () => {
    const wrong: string[] = [];
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      const text = await fs.readFile(file, 'utf8');
      for (const [, table] of text.matchAll(/\b(?:INSERT\s+INTO|(?<!FOR\s)UPDATE|DELETE\s+FROM|TRUNCATE)\s+"?([a-z_][a-z0-9_]*)"?/g)) {
        const name = table!.toLowerCase();
        if (['set', 'of', 'on', 'cascade'].includes(name)) continue;
        const owner = OWNERS[name];
        if (!owner) wrong.push(`${from} writes ${name}, which has no owner in the layout`);
        else if (![owner].flat().some((o) => from.startsWith(o))) wrong.push(`${from} writes ${name}, owned by ${[owner].flat().join(' and ')}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('one composition root builds the service; main.ts only runs the command line', async () => {
    const builders = /\bnew (Dispatcher|Scheduler|Confirmer)\(|\bcreateTransport\(|\bcomplaintResponder\(/;
    const elsewhere: string[] = [];
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      // The composition root, and the per-session part of it (each number's transport, built as wa_sessions changes).
      if (from === 'app/app.ts' || from === 'app/session-transports.ts') continue;
      const text = await fs.readFile(file, 'utf8');
      for (const line of text.split('\n')) {
        // A session's delivery builds its dispatcher and confirmer side by side; export lines and definitions are not construction.
        if (builders.test(line) && from !== 'delivery/session-delivery.ts' && !/^export (function|class)/.test(line)) {
          elsewhere.push(`${from}: ${line.trim()}`);
        }
      }
    }
    assert.deepEqual(elsewhere, []);
    const main = await fs.readFile(path.join(SRC, 'main.ts'), 'utf8');
    assert.ok(main.split('\n').length <= 40, `main.ts has ${main.split('\n').length} lines`);
  });

  it('every error an operator can see extends OperatorError (one line, no stack trace)', async () => {
    // Errors that never reach an operator: the dispatcher and the transports turn them into outcomes.
    // HttpError becomes a JSON response of the API.
    const internal = new Set(['SendError', 'HandOverRefused', 'AbortedError', 'SendTimeout', 'OperatorError', 'HttpError']);
    const bases = new Map<string, { base: string; file: string }>();
    for (const file of await sourceFiles()) {
      const text = await fs.readFile(file, 'utf8');
      for (const [, name, base] of text.matchAll(/class (\w+Error) extends (\w+)/g)) bases.set(name!, { base: base!, file: path.relative(SRC, file) });
    }
    const wrong: string[] = [];
    let operatorErrors = 0;
    for (const [name, { file }] of bases) {
      if (internal.has(name)) continue;
      let ancestor = name;
      while (ancestor !== 'OperatorError' && bases.has(ancestor)) ancestor = bases.get(ancestor)!.base;
      if (ancestor === 'OperatorError') operatorErrors++;
      else wrong.push(`${file}: ${name} does not extend OperatorError`);
    }
    assert.deepEqual(wrong, []);
    assert.ok(operatorErrors >= 8, `${operatorErrors} operator errors found`);
  });

  it("no SQL string below features/ names a feature's table (a lower layer learns what it needs from a rule the feature registers)", async () => {
    // A feature's tables: those features/ writes, and Cicero_V2's, which only features read.
    const featureTables = Object.entries(OWNERS).filter(([, owner]) => [owner].flat().every((o) => o.startsWith('features/'))).map(([table]) => table);
    assert.ok(featureTables.includes('complaint_queue') && featureTables.includes('clients'), featureTables.join());
    const wrong: string[] = [];
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      if (layer(from) >= layer('features')) continue;
      const text = await fs.readFile(file, 'utf8');
      for (const [, sql] of text.matchAll(/`([^`]*)`|'([^'\n]*)'|"([^"\n]*)"/g)) {
        if (!sql || !/\b(SELECT|FROM|JOIN|UPDATE|INSERT|DELETE)\b/.test(sql)) continue;
        for (const table of featureTables) if (new RegExp(`\\b(FROM|JOIN|INTO|UPDATE)\\s+"?${table}"?\\b`, 'i').test(sql)) wrong.push(`${from} names ${table}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("wa_outbox.status and wa_outbox_sends.outcome are each written from one file; the outbox's word lists are written once", async () => {
    const writers = { status: new Set<string>(), outcome: new Set<string>() };
    const lists: Record<string, string[]> = { statuses: [], outcomes: [] };
    for (const file of await sourceFiles()) {
      const from = path.relative(SRC, file);
      const text = await fs.readFile(file, 'utf8');
      for (const [, statement] of text.matchAll(/`([^`]*)`/g)) {
        const sets = statement!.match(/\bUPDATE\s+(wa_outbox_sends|wa_outbox)\b[\s\S]*?\bSET\b([\s\S]*?)(\bWHERE\b|\bFROM\b|$)/g) ?? [];
        for (const set of sets) {
          const table = /UPDATE\s+(wa_outbox_sends|wa_outbox)\b/.exec(set)![1];
          if (table === 'wa_outbox' && /\bstatus\s*=(?!=)/.test(set.split(/\bSET\b/)[1]!)) writers.status.add(from);
          if (table === 'wa_outbox_sends' && /\boutcome\s*=/.test(set.split(/\bSET\b/)[1]!)) writers.outcome.add(from);
        }
        if (/INSERT INTO wa_outbox_sends/.test(statement!)) writers.outcome.add(from);
      }
      if (/'pending', 'sending', 'sent', 'failed', 'cancelled'/.test(text)) lists.statuses!.push(from);
      if (/'handing_over', 'confirmed', 'unknown', 'unconfirmed'/.test(text)) lists.outcomes!.push(from);
    }
    assert.deepEqual([...writers.status], ['outbox/row-status.ts']);
    assert.deepEqual([...writers.outcome], ['outbox/part-outcomes.ts']);
    assert.deepEqual(lists, { statuses: ['outbox/vocabulary.ts'], outcomes: ['outbox/vocabulary.ts'] });
  });

  it('no drain runs maintenance statements: the dispatcher and the hand-over protocol import none of them', async () => {
    const maintenance = /\b(recoverExpiredLeases|normaliseStatuses|expireUnknown|expireUnconfirmed|healSummaries|requeueRejected)\b/;
    for (const file of ['delivery/dispatcher.ts', 'delivery/hand-over.ts', 'delivery/governor-gate.ts']) {
      assert.doesNotMatch(await fs.readFile(path.join(SRC, file), 'utf8'), maintenance, file);
    }
  });

  it('a file over 300 lines has a sentence in docs/architecture.md saying why', async () => {
    const docs = await fs.readFile(path.join(REPO_ROOT, 'docs', 'architecture.md'), 'utf8');
    const section = docs.split('### Files over 300 lines')[1]?.split('\n## ')[0] ?? '';
    const unexplained: string[] = [];
    for (const file of await sourceFiles()) {
      const lines = (await fs.readFile(file, 'utf8')).split('\n').length;
      const from = path.relative(SRC, file);
      if (lines > 300 && !new RegExp(`^- \`src/${from.replace(/[.]/g, '\\.')}\`.{20,}`, 'm').test(section)) unexplained.push(`${from} (${lines} lines)`);
    }
    assert.deepEqual(unexplained, []);
  });
});

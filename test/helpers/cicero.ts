import fs from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../../src/db/pool.js';
import { REPO_ROOT } from './cli.js';

/** Creates Cicero_V2's tables (as the demo ships them) with the test rows of test/fixtures/cicero-v2-rows.sql. */
export async function loadCiceroTables(db: Queryable): Promise<void> {
  await db.query(await fs.readFile(path.join(REPO_ROOT, 'src/features/rekap/demo/cicero-v2-schema.sql'), 'utf8'));
  await db.query(await fs.readFile(path.join(REPO_ROOT, 'test/fixtures/cicero-v2-rows.sql'), 'utf8'));
}

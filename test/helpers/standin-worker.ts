/**
 * A worker of the cluster (`startApp`, configured from the environment like `cicero-wa start`) whose every
 * session runs on a stand-in WhatsApp Web client, one per session, each on the worker's own data
 * directory. What it hands over is appended to `<TEST_HANDOVER_DIR>/<session>.jsonl` (with this
 * process's pid). While a session's "browser" is open (its transport started and not yet closed), the
 * file `<TEST_ALIVE_DIR>/<session>@<pid>` exists: what the tests' sampler reads to count live owners.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startApp } from '../../src/app/app.js';
import { createLogger } from '../../src/lib/logger.js';
import type { Transport } from '../../src/whatsapp/transport.js';
import { standInTransport } from './wa-standin.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const handOverDir = process.env.TEST_HANDOVER_DIR!;
const aliveDir = process.env.TEST_ALIVE_DIR!;

function standIn(session: string, authProfile: string): Transport {
  const transport = standInTransport(
    {
      authPath: config.wa.authPath,
      authProfile,
      logger: logger.child({ session }),
      behaviour: { createAfterMs: null, resolveAfterMs: 20, handOverLog: path.join(handOverDir, `${session}.jsonl`) },
    },
    (client) => setTimeout(() => client.emit('ready'), 10),
  );
  const marker = path.join(aliveDir, `${session}@${process.pid}`);
  const start = transport.start.bind(transport);
  const close = transport.close.bind(transport);
  transport.start = async () => {
    writeFileSync(marker, '');
    await start();
  };
  transport.close = async () => {
    await close();
    rmSync(marker, { force: true });
  };
  return transport;
}

const app = await startApp(config, logger, {
  transport: standIn('default', config.wa.authProfile),
  transports: (session) => standIn(session.name, session.authProfile),
  drawQr: null,
});
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));

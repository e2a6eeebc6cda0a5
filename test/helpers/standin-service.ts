/**
 * The service (`startApp`, configured from the environment like `cicero-wa start`) with the WhatsApp
 * Web transport on a stand-in client that behaves like today's WhatsApp Web: sendMessage takes the
 * message, appends it to TEST_HANDOVER_LOG, and resolves undefined after TEST_RESOLVE_AFTER_MS; no
 * own-message event follows. For the crash test: a SIGKILL lands between a hand-over and its record.
 */
import { loadConfig } from '../../src/config/index.js';
import { startApp } from '../../src/app/app.js';
import { createLogger } from '../../src/lib/logger.js';
import { standInTransport } from './wa-standin.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const transport = standInTransport(
  {
    authPath: config.wa.authPath,
    sessionName: config.wa.sessionName,
    logger,
    behaviour: { createAfterMs: null, resolveAfterMs: Number(process.env.TEST_RESOLVE_AFTER_MS ?? '300'), handOverLog: process.env.TEST_HANDOVER_LOG! },
  },
  (client) => setTimeout(() => client.emit('ready'), 10),
);
const app = await startApp(config, logger, { transport });
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));

/**
 * The service (`startApp`, configured from the environment like `cicero-wa start`) with the WhatsApp
 * Web transport on a stand-in client that behaves like today's WhatsApp Web: sendMessage takes the
 * message, appends it to TEST_HANDOVER_LOG (the account's history, which the next process's page loads),
 * and resolves after TEST_RESOLVE_AFTER_MS with what the page gives (TEST_RESOLVE_WITH=undefined: no id
 * back); no own-message event follows. For the crash tests: a SIGKILL lands between a hand-over and
 * its record.
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
    authProfile: config.wa.authProfile,
    logger,
    behaviour: {
      createAfterMs: null,
      resolveAfterMs: Number(process.env.TEST_RESOLVE_AFTER_MS ?? '300'),
      takeAfterMs: Number(process.env.TEST_TAKE_AFTER_MS ?? '0'),
      // Chats people wrote in before (TEST_RECEIVED_FROM, comma-separated chat ids): the service never goes cold.
      received: (process.env.TEST_RECEIVED_FROM ?? '').split(',').filter(Boolean).map((chatId) => ({ chatId, body: 'Selamat pagi' })),
      resolveWith: (process.env.TEST_RESOLVE_WITH as 'page' | 'undefined' | undefined) ?? 'page',
      handOverLog: process.env.TEST_HANDOVER_LOG!,
    },
  },
  (client) => setTimeout(() => client.emit('ready'), 10),
);
const app = await startApp(config, logger, { transport });
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));

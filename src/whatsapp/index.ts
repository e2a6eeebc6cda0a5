/** Builds the transport WA_TRANSPORT names. */
import type { Config } from '../config/index.js';
import type { Logger } from '../lib/logger.js';
import { FakeTransport } from './fake-transport.js';
import { LogTransport } from './log-transport.js';
import type { Transport } from './transport.js';
import { WhatsAppWebTransport } from './wwebjs/transport.js';

export function createTransport(config: Config, logger: Logger): Transport {
  switch (config.wa.transport) {
    case 'log':
      return new LogTransport(logger);
    case 'fake':
      logger.warn('WA_TRANSPORT=fake: messages go to a test stand-in, not to WhatsApp');
      return new FakeTransport({
        sendLogFile: config.wa.fake.sendLogFile,
        sendDelayMs: config.wa.fake.sendDelayMs,
        handOverDelayMs: config.wa.fake.handOverDelayMs,
        inboundFile: config.wa.fake.inboundFile,
        inboundIntervalMs: config.wa.fake.inboundIntervalMs,
      });
    case 'wwebjs':
      return new WhatsAppWebTransport({
        authPath: config.wa.authPath,
        authProfile: config.wa.authProfile,
        chromiumPath: config.wa.chromiumPath,
        puppeteerArgs: config.wa.puppeteerArgs,
        pairPhone: config.wa.pairPhone,
        readyTimeoutMs: config.wa.readyTimeoutMs,
        reconnectBaseMs: config.wa.reconnectBaseMs,
        reconnectMaxMs: config.wa.reconnectMaxMs,
        authTimeoutMs: config.wa.authTimeoutMs,
        webVersion: config.wa.webVersion,
        webVersionUrl: config.wa.webVersionUrl,
        pageFix: config.wa.pageFix,
        logger: logger.child({ component: 'wa-client' }),
      });
  }
}

export type { Transport } from './transport.js';

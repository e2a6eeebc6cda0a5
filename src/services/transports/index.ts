/** Builds the transport WA_TRANSPORT names. */
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { FakeTransport } from './fake-transport.js';
import { LogTransport } from './log-transport.js';
import type { Transport } from './transport.js';

export class TransportUnavailableError extends Error {}

export function createTransport(config: Config, logger: Logger): Transport {
  switch (config.wa.transport) {
    case 'log':
      return new LogTransport(logger);
    case 'fake':
      logger.warn('WA_TRANSPORT=fake: messages go to a test stand-in, not to WhatsApp');
      return new FakeTransport({ sendLogFile: config.wa.fake.sendLogFile, sendDelayMs: config.wa.fake.sendDelayMs });
    case 'wwebjs':
      throw new TransportUnavailableError('WA_TRANSPORT=wwebjs: the WhatsApp Web transport is not available in this version; use WA_TRANSPORT=log');
  }
}

export type { Transport } from './transport.js';

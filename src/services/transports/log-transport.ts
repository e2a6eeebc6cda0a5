/**
 * The dry-run transport (WA_TRANSPORT=log): every message becomes one structured log line and the send
 * succeeds. Ready as soon as it starts.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { TransportWithState, type SendHooks, type SendResult, type Transport } from './transport.js';

export class LogTransport extends TransportWithState implements Transport {
  readonly name = 'log';

  /** `echo`: also write each message as plain text (the demo, for people reading the terminal). */
  constructor(
    private readonly logger: Logger,
    private readonly echo: ((text: string) => void) | null = null,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.state.set('ready');
  }

  async sendText(chatId: string, text: string, hooks: SendHooks): Promise<SendResult> {
    await hooks.handOver();
    const messageId = `log-${randomUUID()}`;
    this.logger.info({ transport: 'log', chatId, messageId, length: text.length, text }, 'message (dry run, not sent)');
    this.echo?.(`\n──── to ${chatId} ────\n${text}\n`);
    return { outcome: 'confirmed', messageId };
  }

  async close(): Promise<void> {
    this.state.set('disconnected', 'closed');
  }
}

/**
 * The dry-run transport (WA_TRANSPORT=log): every message becomes one structured log line and the send
 * succeeds. Ready as soon as it starts.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { TransportStateHolder, type SentMessage, type StateListener, type Transport, type TransportStatus } from './transport.js';

export class LogTransport implements Transport {
  readonly name = 'log';
  private readonly state = new TransportStateHolder();

  constructor(private readonly logger: Logger) {}

  async start(): Promise<void> {
    this.state.set('ready');
  }

  status(): TransportStatus {
    return this.state.status;
  }

  isReady(): boolean {
    return this.state.status.state === 'ready';
  }

  onStateChange(listener: StateListener): () => void {
    return this.state.subscribe(listener);
  }

  async sendText(chatId: string, text: string): Promise<SentMessage> {
    const messageId = `log-${randomUUID()}`;
    this.logger.info({ transport: 'log', chatId, messageId, length: text.length, text }, 'message (dry run, not sent)');
    return { messageId };
  }

  async close(): Promise<void> {
    this.state.set('disconnected', 'closed');
  }
}

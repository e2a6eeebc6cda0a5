/**
 * The dry-run transport (WA_TRANSPORT=log): every message becomes one structured log line and the send
 * succeeds. Ready as soon as it starts; before that and once closed, a send fails before the hand-over
 * (not_ready), as any transport's does.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { SendError, TransportBase, type OutgoingDocument, type SendHooks, type SendResult, type Transport } from './transport.js';
import { OperatorError } from '../lib/errors.js';

/** A dry run started on a database with messages waiting for WhatsApp: it would mark them sent. */
export class DryRunBacklogError extends OperatorError {
  constructor(rows: number) {
    super(
      `WA_TRANSPORT=log is a dry run: it would mark the ${rows} message(s) waiting in wa_outbox as sent without sending them. ` +
        'Run the dry run on a database without a backlog (unset DATABASE_URL for the embedded one, or npm run demo), ' +
        'or set WA_DRY_RUN_TAKE_BACKLOG=true to log them too (cicero-wa outbox retry --dry-run puts them back afterwards)',
    );
  }
}

export class LogTransport extends TransportBase implements Transport {
  readonly name = 'log';
  readonly dryRun = true;

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
    this.assertReady();
    await hooks.handOver();
    const messageId = `log-${randomUUID()}`;
    // The text is shown (echo), and logged only at debug: message bodies stay out of the info log.
    this.logger.info({ transport: 'log', chatId, messageId, length: text.length }, 'message (dry run, not sent)');
    this.logger.debug({ transport: 'log', messageId, text }, 'dry-run message text');
    this.echo?.(`\n──── to ${chatId} ────\n${text}\n`);
    return { outcome: 'confirmed', messageId };
  }

  async sendDocument(chatId: string, document: OutgoingDocument, hooks: SendHooks): Promise<SendResult> {
    this.assertReady();
    await hooks.handOver();
    const messageId = `log-${randomUUID()}`;
    const { fileName, mimeType, bytes } = document;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const caption = document.caption ?? '';
    // As for text, the caption is logged only at debug; its length at info.
    this.logger.info({ transport: 'log', chatId, messageId, fileName, mimeType, size: bytes.length, sha256, captionLength: caption.length }, 'document (dry run, not sent)');
    if (caption) this.logger.debug({ transport: 'log', messageId, caption }, 'dry-run document caption');
    this.echo?.(`\n──── to ${chatId} ────\n[document ${fileName}, ${mimeType}, ${bytes.length} bytes]${caption ? `\n${caption}` : ''}\n`);
    return { outcome: 'confirmed', messageId };
  }

  /** A dry run shows no one anything: logged at debug, and no time spent. */
  async showTyping(chatId: string, durationMs: number): Promise<void> {
    this.logger.debug({ transport: 'log', chatId, durationMs }, 'typing (dry run, not shown)');
  }

  async close(): Promise<void> {
    this.state.set('disconnected', 'closed');
  }

  /** Not started, or closed: nothing is shown, and the row is not marked as shown. */
  private assertReady(): void {
    if (!this.isReady()) throw new SendError('transient', 'not_ready', `the dry run is ${this.status().state}${this.status().reason ? ` (${this.status().reason})` : ''}`);
  }
}

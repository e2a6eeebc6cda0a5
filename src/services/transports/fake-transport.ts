/**
 * A scriptable stand-in for WhatsApp, for tests (WA_TRANSPORT=fake): it can delay sends, fail chosen
 * sends transiently or permanently, and become not ready. Every completed send is kept in `sends` and,
 * when `sendLogFile` is set, appended to that file as one JSON line (several processes may share it).
 */
import { appendFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { SendError, TransportWithState, type SentMessage, type Transport } from './transport.js';

export type FakeOutcome = 'ok' | { fail: 'transient' | 'permanent'; reason: string };

export interface FakeSendCall {
  chatId: string;
  text: string;
  /** 1 for the first send to this chat id with this text, 2 for the next, … */
  attempt: number;
}

export interface FakeSend {
  chatId: string;
  text: string;
  messageId: string;
  startedAt: number;
  endedAt: number;
}

export interface FakeTransportOptions {
  sendDelayMs?: number;
  sendLogFile?: string | null;
  ready?: boolean;
  /** Decides each send's outcome; default: every send succeeds. */
  behaviour?: (call: FakeSendCall) => FakeOutcome | Promise<FakeOutcome>;
}

export class FakeTransport extends TransportWithState implements Transport {
  readonly name = 'fake';
  readonly sends: FakeSend[] = [];
  /** Most sends ever in progress at once (the dispatcher must keep this at 1). */
  maxConcurrentSends = 0;
  private inFlight = 0;
  private readonly attempts = new Map<string, number>();

  constructor(private readonly options: FakeTransportOptions = {}) {
    super();
  }

  async start(): Promise<void> {
    this.state.set(this.options.ready === false ? 'disconnected' : 'ready', this.options.ready === false ? 'fake: not ready' : null);
  }

  /** Makes the transport ready or not, as WhatsApp connecting or dropping would. */
  setReady(ready: boolean, reason: string | null = null): void {
    this.state.set(ready ? 'ready' : 'disconnected', ready ? null : (reason ?? 'fake: not ready'));
  }

  private readonly ackListeners = new Set<(messageId: string, ack: number) => void>();

  onAck(listener: (messageId: string, ack: number) => void): () => void {
    this.ackListeners.add(listener);
    return () => this.ackListeners.delete(listener);
  }

  /** Delivers a receipt for a sent message, as WhatsApp's message_ack would. */
  emitAck(messageId: string, ack: number): void {
    for (const listener of this.ackListeners) listener(messageId, ack);
  }

  setBehaviour(behaviour: FakeTransportOptions['behaviour']): void {
    this.options.behaviour = behaviour;
  }

  async sendText(chatId: string, text: string): Promise<SentMessage> {
    this.inFlight++;
    this.maxConcurrentSends = Math.max(this.maxConcurrentSends, this.inFlight);
    const startedAt = performance.now();
    try {
      if (!this.isReady()) throw new SendError('transient', 'not_ready', 'fake transport is not ready');
      const key = `${chatId}\u0000${text}`;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      if (this.options.sendDelayMs) await new Promise((r) => setTimeout(r, this.options.sendDelayMs));
      const outcome = (await this.options.behaviour?.({ chatId, text, attempt })) ?? 'ok';
      if (outcome !== 'ok') throw new SendError(outcome.fail, outcome.reason, 'fake transport scripted failure');
      const messageId = `fake-${randomUUID()}`;
      const send = { chatId, text, messageId, startedAt, endedAt: performance.now() };
      this.sends.push(send);
      if (this.options.sendLogFile) {
        appendFileSync(this.options.sendLogFile, `${JSON.stringify({ pid: process.pid, chatId, messageId, text })}\n`);
      }
      return { messageId };
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.state.set('disconnected', 'closed');
  }
}

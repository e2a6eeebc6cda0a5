/**
 * A message's fate, for the modules that follow it: an outcome hook runs in the transaction that marks
 * the outbox row sent or failed (and in the lease recovery's and the ack-error path's), so what the
 * module records (a complaint answered) and the outbox always agree. One registry per process.
 */
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';

/** The row an outcome is about. */
export interface OutcomeRow {
  id: number;
  type: string;
  recipient: string;
}

export interface OutcomeEvent {
  row: OutcomeRow;
  status: 'sent' | 'failed';
  /** Why it failed; null when sent. */
  reason: string | null;
  /** The database's send time; null when failed. */
  sentAt: Date | null;
}

/**
 * Runs inside the transaction that marks the outbox row, in a savepoint with a short lock timeout: a
 * hook that throws is tried again, then given up (the outcome stands; the module reconciles).
 */
export type OutcomeHook = (tx: pg.PoolClient, event: OutcomeEvent) => Promise<void>;

/** A delivery receipt recorded on outbox rows (ack 1 server, 2 delivered, 3 read, 4 played). */
export interface ReceiptEvent {
  rowIds: number[];
  messageId: string;
  ack: number;
}

/** Runs in the transaction that records the receipt. */
export type ReceiptHook = (tx: pg.PoolClient, event: ReceiptEvent) => Promise<void>;

/** How long an outcome hook may wait for a row lock before it is given up (the outcome is kept). */
const HOOK_LOCK_TIMEOUT_MS = 2000;

/**
 * The process's one registry of outcome and receipt hooks, shared by every dispatcher, confirmer and
 * the outbox maintenance: a module registers once, whichever part of the service settles its message.
 */
export class OutcomeHooks {
  private readonly byType = new Map<string, OutcomeHook[]>();
  private readonly everyType: OutcomeHook[] = [];
  private readonly receipts: ReceiptHook[] = [];

  /** Registers a hook for the outcome (sent or failed) of rows of these types; `'*'` for every type. */
  onOutcome(types: string[] | '*', hook: OutcomeHook): void {
    if (types === '*') this.everyType.push(hook);
    else for (const type of types) this.byType.set(type, [...(this.byType.get(type) ?? []), hook]);
  }

  /** Registers a hook run in the transaction that records a delivery receipt. */
  onReceipt(hook: ReceiptHook): void {
    this.receipts.push(hook);
  }

  /** The hooks for a row of this type (none: its mark needs no transaction of its own). */
  outcomeHooks(type: string): OutcomeHook[] {
    return [...(this.byType.get(type) ?? []), ...this.everyType];
  }

  receiptHooks(): readonly ReceiptHook[] {
    return this.receipts;
  }

  /**
   * Runs the hooks for a row's outcome in `tx`, the transaction that marks it: each in a savepoint with a
   * short lock timeout, tried up to three times, so a failing hook is logged and never undoes the outcome.
   */
  async run(tx: pg.PoolClient, event: OutcomeEvent, logger: Logger): Promise<void> {
    for (const hook of this.outcomeHooks(event.row.type)) {
      for (let attempt = 1; ; attempt++) {
        await tx.query('SAVEPOINT outcome_hook');
        try {
          // A lock held elsewhere (an operator's open transaction on the complaint) must not stall delivery.
          await tx.query(`SET LOCAL lock_timeout = '${HOOK_LOCK_TIMEOUT_MS}ms'`);
          await hook(tx, event);
          await tx.query('RELEASE SAVEPOINT outcome_hook');
          break;
        } catch (err) {
          await tx.query('ROLLBACK TO SAVEPOINT outcome_hook');
          const lockTimeout = (err as { code?: string }).code === '55P03';
          if (lockTimeout || attempt >= 3) {
            logger.error(
              { id: event.row.id, err: (err as Error).message },
              'outcome hook failed; the row keeps its outcome and the module that registered the hook reconciles',
            );
            break;
          }
        }
      }
    }
    await tx.query('SET LOCAL lock_timeout = 0');
  }
}

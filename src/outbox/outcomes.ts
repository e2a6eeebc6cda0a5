/**
 * A message's fate, for the modules that follow it: an outcome hook runs in the transaction that marks
 * the outbox row sent or failed (and in the lease recovery's and the ack-error path's), so what the
 * module records (a complaint answered) and the outbox always agree.
 */
import type pg from 'pg';

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

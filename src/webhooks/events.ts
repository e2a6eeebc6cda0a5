/**
 * Webhook events, recorded in the transaction of what caused them: a message stored, a complaint
 * taken, a message's outcome marked, a receipt recorded, the session's state. Nothing is recorded for
 * an event no receiver asked for (WEBHOOK_EVENTS), or when no WEBHOOK_URL is set.
 */
import type { Queryable } from '../db/pool.js';
import type { WebhookEvent } from '../config/index.js';
import { recordDeliveries } from './deliveries.js';

export interface WebhookSettings {
  urls: string[];
  events: WebhookEvent[];
  retryForMs: number;
}

export class WebhookEvents {
  private readonly wanted: Set<string>;

  constructor(private readonly settings: WebhookSettings) {
    this.wanted = new Set(settings.urls.length > 0 ? settings.events : []);
  }

  wants(event: WebhookEvent): boolean {
    return this.wanted.has(event);
  }

  /** Records the event for every receiver; `orderingKey` (the chat) keeps one chat's events in order. Returns its id, or null. */
  async record(db: Queryable, event: WebhookEvent, payload: Record<string, unknown>, orderingKey: string): Promise<string | null> {
    if (!this.wants(event)) return null;
    return recordDeliveries(db, this.settings.urls, event, { event, at: new Date().toISOString(), data: payload }, orderingKey, this.settings.retryForMs);
  }
}

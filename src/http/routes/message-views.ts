/**
 * The shapes of a message in the HTTP API (JSON schemas: they validate, serialise and make the OpenAPI
 * document): a message as listed, and one message with its history of hand-overs to WhatsApp.
 */
import { OUTBOX_PRIORITIES } from '../../outbox/enqueue.js';
import { FAILURE_CODES } from '../../outbox/vocabulary.js';
import { heldBackSchema } from './message-holds.js';

/** A message as listed and as written. */
export const messageView = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    status: { type: 'string', nullable: true, description: 'pending, sending, sent, failed or cancelled' },
    type: { type: 'string' },
    recipient: { type: 'string' },
    recipientName: { type: 'string', nullable: true, description: "for a unit's WhatsApp group: the unit's name (Cicero_V2's clients.nama where clients.client_group is the recipient)" },
    session: { type: 'string', nullable: true, description: 'the WhatsApp session that sends it; null while the message waits to be routed' },
    routeReason: {
      type: 'string',
      nullable: true,
      description: 'why this session: explicit, wrote_last, delivered_last, home, any_number, group_member, group_admin, only_number; failover: … after a move; menunggu: … when it waits on a number that cannot send; null while it waits to be routed',
    },
    routeMoves: {
      type: 'array',
      description: 'every move of the message from one session to another (failover)',
      items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, at: { type: 'string' }, why: { type: 'string' } } },
    },
    priority: { type: 'string', enum: [...OUTBOX_PRIORITIES], description: 'reply, normal or bulk: due messages are sent in that order' },
    attempts: { type: 'integer' },
    lastError: { type: 'string', nullable: true },
    failureCode: { type: 'string', nullable: true, enum: [...FAILURE_CODES, null], description: 'for a failed message: why, as a code (GET /api/outbox/vocabulary lists them)' },
    confirmation: { type: 'string', nullable: true, description: 'for sent messages: confirmed, awaiting, unconfirmed or dry_run' },
    confirmed: { type: 'boolean', description: 'WhatsApp gave the id of every part' },
    waMessageId: { type: 'string', nullable: true },
    ack: { type: 'integer', nullable: true },
    dedupKey: { type: 'string', nullable: true },
    createdAt: { type: 'string', nullable: true },
    nextAttemptAt: { type: 'string', nullable: true },
    sentAt: { type: 'string', nullable: true },
    deliveredAt: { type: 'string', nullable: true },
    readAt: { type: 'string', nullable: true },
    text: { type: 'string', description: 'the whole text, or a document\'s caption (GET of one message only)' },
    document: {
      type: 'object',
      nullable: true,
      description: 'a document\'s name, type and size in bytes (never its content); null for text',
      properties: { fileName: { type: 'string', nullable: true }, mimeType: { type: 'string', nullable: true }, size: { type: 'integer', nullable: true } },
    },
    followsId: { type: 'integer', nullable: true, description: 'the message this one is not sent before' },
    digestKey: { type: 'string', nullable: true, description: 'the digest key it waits under: it goes out folded into a digest, never on its own' },
    digestId: { type: 'integer', nullable: true, description: 'for a message folded into a digest: the digest (a message of type digest); it ends as that one ends' },
    digestCount: { type: 'integer', nullable: true, description: 'for a digest: how many messages it folds (GET of one message lists them)' },
    heldBack: heldBackSchema,
  },
} as const;

/** A hand-over's look into its chat (wa_outbox_sends.chat_check). */
const chatCheckView = {
  type: 'object',
  nullable: true,
  description: 'what a look into the chat found: found (confirmed), not_found (not delivered; resent says whether it was sent again), not_far_enough or unreadable (left open)',
  properties: {
    result: { type: 'string', enum: ['found', 'not_found', 'not_far_enough', 'unreadable'] },
    at: { type: 'string' },
    chatId: { type: 'string' },
    fetched: { type: 'integer', nullable: true },
    oldestAt: { type: 'string', nullable: true },
    messageId: { type: 'string', nullable: true },
    ack: { type: 'integer', nullable: true },
    resent: { type: 'boolean', nullable: true },
    error: { type: 'string', nullable: true },
  },
} as const;

/** One message with its history: every hand-over to WhatsApp, its outcome and how it was settled. */
export const messageDetailView = {
  ...messageView,
  properties: {
    ...messageView.properties,
    handOvers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          part: { type: 'integer', description: '0-based part of a split text' },
          parts: { type: 'integer' },
          chatId: { type: 'string' },
          handedOverAt: { type: 'string' },
          outcome: { type: 'string', description: 'handing_over, confirmed, unknown, unconfirmed, failed (before the hand-over) or rejected (did not arrive: the part is sent again)' },
          reason: { type: 'string', nullable: true },
          waMessageId: { type: 'string', nullable: true },
          settledAt: { type: 'string', nullable: true },
          ack: { type: 'integer', nullable: true },
          chatCheck: chatCheckView,
        },
      },
    },
    digestEntries: {
      type: 'array',
      nullable: true,
      description: 'for a digest: the messages it folds, in the order it lists them; null for any other message',
      items: { type: 'object', properties: { id: { type: 'integer' }, status: { type: 'string', nullable: true }, createdAt: { type: 'string', nullable: true }, text: { type: 'string' } } },
    },
  },
} as const;

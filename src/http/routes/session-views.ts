/**
 * The shape of `GET /api/sessions` (its response schema): each session's transport state, and each
 * number's governor (risk, pause, budgets left) and waiting messages. A field missing from an answer
 * fails the response naming it.
 */
import type { SessionRecord } from '../../sessions/registry.js';
import { waitingSchema } from '../session-overview.js';

const nullableString = { type: 'string', nullable: true } as const;
const budgetSchema = {
  type: 'object',
  required: ['limit', 'used', 'left'],
  properties: { limit: { type: 'integer' }, used: { type: 'integer', description: 'messages counted in its sliding window' }, left: { type: 'integer', description: 'room left now (never below 0)' } },
} as const;

/** One session in `GET /api/sessions`. */
const sessionSchema = {
  type: 'object',
  required: ['name', 'running', 'state', 'governor', 'waiting'],
  properties: {
    name: { type: 'string' },
    running: { type: 'boolean', description: 'whether an instance of the cluster runs the session now (this one or another: see here and runBy); false: known only from the database' },
    here: { type: 'boolean', description: 'whether this process runs it' },
    runBy: {
      type: 'object',
      nullable: true,
      description: 'the instance that runs it, when another one does (its state, QR code and pairing are shown from what that instance publishes; pairing codes and logout are passed to it)',
      properties: { instance: { type: 'string' }, host: { type: 'string', nullable: true } },
    },
    authProfile: nullableString,
    whatsappSession: nullableString,
    transport: nullableString,
    state: { type: 'string', description: 'the transport state; none where this process sends nothing from it' },
    reason: nullableString,
    since: nullableString,
    webVersion: nullableString,
    number: nullableString,
    pageFix: { type: 'object', nullable: true, additionalProperties: true },
    pairing: { type: 'object', nullable: true, properties: { qr: { type: 'boolean' }, code: nullableString, issuedAt: nullableString } },
    paired: { type: 'boolean', nullable: true },
    dryRun: { type: 'boolean' },
    problem: { type: 'object', nullable: true, additionalProperties: true },
    governor: {
      type: 'object',
      nullable: true,
      description: 'the ban-risk governor (null when WA_GOVERNOR=off)',
      required: ['riskScore', 'riskLevel', 'budgets'],
      properties: {
        paused: { type: 'boolean' },
        pauseKind: nullableString,
        pausedUntil: nullableString,
        pauseReason: nullableString,
        riskScore: { type: 'integer' },
        riskLevel: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
        warmupDay: { type: 'integer', nullable: true, description: "the warm-up's day (1 = the first), null when it is over or off" },
        dailyBudget: { type: 'integer' },
        sentLastHour: { type: 'integer' },
        sentLastDay: { type: 'integer' },
        budgets: {
          type: 'object',
          description: 'room left now in WA_BUDGET_PER_MINUTE, _HOUR and _DAY (the day: the warm-up\'s day while smaller)',
          required: ['minute', 'hour', 'day'],
          properties: { minute: budgetSchema, hour: budgetSchema, day: budgetSchema },
        },
      },
    },
    waiting: waitingSchema,
    registered: { type: 'boolean', description: 'whether the session is in the registry (wa_sessions); false: known only from its messages or governor records' },
    label: { ...nullableString, description: "the registry's label (null: not registered)" },
    enabled: { type: 'boolean', nullable: true, description: 'whether the service runs it (null: not registered)' },
    pairingMethod: { type: 'string', enum: ['qr', 'code'], nullable: true, description: 'how it pairs: a QR code, or a code sent to its pairing phone (null: not registered)' },
    homeTypes: { type: 'array', nullable: true, items: { type: 'string' }, description: 'the message types it is the home number of (null: not registered)' },
    pairedNumber: { ...nullableString, description: 'the number it paired, as its client last reported to the registry' },
    groups: {
      type: 'object',
      nullable: true,
      description: "the number's groups as WhatsApp Web last listed them (null: never listed)",
      required: ['member', 'admin', 'readOnly', 'seenAt'],
      properties: {
        member: { type: 'integer', description: 'groups it is a member of' },
        admin: { type: 'integer', description: 'of those, where it is an admin' },
        readOnly: { type: 'integer', description: 'of those, where only admins write and it is none (it cannot send there)' },
        seenAt: { type: 'string' },
      },
    },
  },
} as const;

/** A session's registry fields in `GET /api/sessions` (all null but `registered` for a session not in wa_sessions). */
export function registryFields(r: SessionRecord | null) {
  return {
    registered: r !== null,
    label: r?.label ?? null,
    enabled: r?.enabled ?? null,
    pairingMethod: r?.pairing ?? null,
    homeTypes: r?.homeTypes ?? null,
    pairedNumber: r?.pairedNumber ?? null,
  };
}

export const sessionsResponse = {
  type: 'object',
  required: ['sessions', 'unitGroupsOutOfReach'],
  properties: {
    sessions: { type: 'array', items: sessionSchema },
    unitGroupsOutOfReach: {
      type: 'array',
      description: "active units' WhatsApp groups no number can write to (no number is in it, or only admins write and no number is an admin): their messages fail at once",
      items: {
        type: 'object',
        required: ['chatId', 'unit', 'failureCode', 'reason'],
        properties: { chatId: { type: 'string' }, unit: { type: 'string' }, failureCode: { type: 'string', enum: ['not_in_group', 'not_group_admin'] }, reason: { type: 'string' } },
      },
    },
  },
} as const;

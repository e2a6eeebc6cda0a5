/** The WhatsApp numbers a process runs, as the HTTP API and the metrics read them (app/session-runtimes.ts implements it). */
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { IntakeStats } from '../inbound/intake.js';
import type { LiveView } from '../sessions/live-view.js';
import type { Transport } from '../whatsapp/transport.js';

/** One WhatsApp number this process runs: its transport, its dispatcher, its intake's counts. */
export interface RunningSession {
  readonly name: string;
  readonly transport: Transport;
  readonly delivery: { readonly dispatcher: Dispatcher };
  readonly intake: { readonly stats: IntakeStats };
  /** Its WhatsApp state as the API shows it (what its holder publishes for other instances too). */
  view(): LiveView;
}

/** The numbers this process runs now; they start and stop as wa_sessions changes. */
export interface RunningSessions {
  get(name: string): RunningSession | undefined;
  list(): RunningSession[];
  /** The service's own session (`default`) when it runs here, else the first; null when none runs. */
  primary(): RunningSession | null;
  /** Told when a session starts or stops after the service started. */
  onChange(listener: (session: RunningSession, change: 'started' | 'stopped') => void): () => void;
}

/** No sessions: a process that sends nothing (SERVICE_ROLE=scheduler). */
export const NO_SESSIONS: RunningSessions = { get: () => undefined, list: () => [], primary: () => null, onChange: () => () => undefined };

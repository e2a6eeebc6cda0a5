/**
 * The parts the service is made of, each started and stopped by the composition root, in order, and
 * each able to say how it is (`status()`), and the roles a process can take.
 */

export type { Role } from '../config/index.js';

export interface ComponentStatus {
  state: 'idle' | 'running' | 'stopped';
  /** What it is doing or waiting for, in a few words. */
  detail?: string;
}

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stops its work; never throws for work that was already stopped. */
  stop(): Promise<void>;
  status(): ComponentStatus;
}

/** A component from a start and a stop function (most parts are exactly that). */
export function component(name: string, start: () => Promise<void> | void, stop: () => Promise<void> | void, detail?: () => string | undefined): Component {
  let state: ComponentStatus['state'] = 'idle';
  return {
    name,
    async start() {
      await start();
      state = 'running';
    },
    async stop() {
      if (state !== 'running') return;
      state = 'stopped';
      await stop();
    },
    status() {
      const note = detail?.();
      return note === undefined ? { state } : { state, detail: note };
    },
  };
}

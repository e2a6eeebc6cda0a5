/**
 * The parts the service is made of, each started and stopped by the composition root, in order, and
 * each able to say how it is (`status()`), and the roles a process can take.
 */

import type { Role } from '../config/index.js';

export type { Role };

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

/** A component that listens on a database channel. */
export function listenerComponent(name: string, listener: { start(): Promise<void>; stop(): Promise<void> }): Component {
  return component(name, () => listener.start(), () => listener.stop());
}

/** Which jobs a role runs: a worker the local ones (its own poll), a scheduler the shared ones. */
export function runsIn(role: Role | 'command', shared: boolean): boolean {
  if (role === 'worker') return !shared;
  if (role === 'scheduler') return shared;
  return true;
}

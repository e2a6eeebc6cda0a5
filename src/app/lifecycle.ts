/**
 * Running the service until it is told to stop: SIGTERM or SIGINT (also sent to npm or its process
 * group: the same Ctrl-C arriving twice within a second is one request), the process that started it
 * disappearing, or the service itself deciding (the demo). A signal during start-up is honoured once
 * start-up has finished, so nothing (the embedded PostgreSQL, Chromium) is left behind.
 *
 * A stop that takes longer than 9 s ends Chromium and the embedded PostgreSQL at once and exits with
 * code 1; a second, different stop signal does the same at once.
 */
import type { Logger } from '../lib/logger.js';
import type { App } from './app.js';

/** How long a stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 9000;
/** The same stop signal again within this time is the same request (not "exit now"). */
const REPEATED_SIGNAL_MS = 1000;

/**
 * Stops the service when the process that started it disappears (npm killed, a wrapper script gone):
 * the service would otherwise live on, with its PostgreSQL and Chromium, without anyone to stop it.
 * A service started by init (parent pid 1, systemd or a container's entry point) is not watched.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  timer.unref();
}

export interface RunOptions {
  /**
   * Runs once the service is up; returning 'stop' stops it (the demo, when its work is done). `stopping`
   * is aborted when a stop is requested meanwhile: the service (and its database) is going away, so the
   * work ends there, and what it throws then is not an error.
   */
  afterStart?: (app: App, stopping: AbortSignal) => Promise<'stop' | void>;
}

/** Builds and starts the app, and resolves with the exit code once it has stopped. */
export async function runUntilStopped(build: () => Promise<App>, logger: Logger, options: RunOptions = {}): Promise<number> {
  let app: App | null = null;
  let stopRequested: NodeJS.Signals | null = null;
  let stoppingItself = false;
  let firstSignalAt = 0;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });

  // The deadline runs from the moment stopping begins (after start-up, if a signal came during it);
  // when it passes, Chromium and the embedded PostgreSQL are ended before the process exits.
  let stopping = false;
  const stoppingSignal = new AbortController();
  /** 1 when the work after start-up failed: the service stops, and the exit code says so. */
  let exitCode = 0;
  const stopApp = (running: App) => {
    if (stopping) return;
    stopping = true;
    stoppingSignal.abort();
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown took too long; ending Chromium and PostgreSQL and exiting');
      running.kill();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    void running.stop().then(() => resolveStopped(exitCode), () => resolveStopped(1));
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      // Ctrl-C reaches both npm and the service, and npm passes it on: the same request, twice.
      // A signal while the service stops by itself (the demo) is that same stop, too.
      if (stoppingItself || (signal === stopRequested && Date.now() - firstSignalAt < REPEATED_SIGNAL_MS)) return;
      logger.warn({ signal }, 'second stop signal: exiting now');
      app?.kill();
      process.exit(1);
    }
    stopRequested = signal;
    firstSignalAt = Date.now();
    logger.info({ signal }, 'stop requested');
    // Start-up still under way: the stop happens once it has finished (see below).
    if (app) stopApp(app);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  watchParent(() => {
    if (stopRequested) return;
    logger.warn('the process that started the service is gone; stopping');
    stop('SIGTERM');
  });

  app = await build();
  if (!stopRequested && options.afterStart) {
    let outcome: 'stop' | void = undefined;
    try {
      outcome = await options.afterStart(app, stoppingSignal.signal);
    } catch (err) {
      // A stop requested meanwhile closes what the work was using: that is the stop, not a failure.
      if (!stopRequested) {
        logger.error({ err: (err as Error).message }, 'the work after start-up failed; stopping');
        exitCode = 1;
        outcome = 'stop';
      }
    }
    if (outcome === 'stop' && !stopRequested) {
      stoppingItself = true;
      stopRequested = 'SIGTERM';
    }
  }
  if (stopRequested) stopApp(app);
  return stopped;
}

/**
 * The time source for decisions about jobs and periods. The service uses the system clock; tests pass
 * a fixed or stepping one, so a week can be simulated without waiting for it.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that always says `at` (tests). */
export function fixedClock(at: Date | string): Clock {
  const time = new Date(at).getTime();
  return { now: () => new Date(time) };
}

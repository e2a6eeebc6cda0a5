/** A command line the CLI cannot run: exit code 2, with the message and the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses a positive whole number given for `name`, or throws a UsageError naming it. */
export function positiveInteger(name: string, value: string, max = 2 ** 31 - 1): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${name} "${value}" is invalid: expected a whole number from 1 to ${max}`);
  }
  return Number(value);
}

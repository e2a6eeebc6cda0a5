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

/** `<command> list [--status S] [--limit N]`: validated status (one of `statuses`) and limit (default 50). */
export function parseListOptions<S extends string>(
  command: string,
  rest: string[],
  statuses: readonly S[],
  options: { status?: string; limit?: string },
): { status?: S; limit: number } {
  if (rest.length > 0) throw new UsageError(`${command} list takes no ids (got ${rest.join(' ')})`);
  if (options.status !== undefined && !(statuses as readonly string[]).includes(options.status)) {
    throw new UsageError(`--status "${options.status}" is invalid: expected one of ${statuses.join(', ')}`);
  }
  const limit = options.limit === undefined ? 50 : positiveInteger('--limit', options.limit, 10_000);
  return { ...(options.status !== undefined ? { status: options.status as S } : {}), limit };
}

/** `<command> <action> <id...>`: at least one positive id, and no list options. */
export function parseIds(command: string, action: string, rest: string[], options: { status?: string; limit?: string }): number[] {
  if (options.status !== undefined || options.limit !== undefined) throw new UsageError(`${command} ${action} takes only ids`);
  if (rest.length === 0) throw new UsageError(`${command} ${action} needs at least one id`);
  return rest.map((id) => positiveInteger('id', id));
}

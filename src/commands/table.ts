/**
 * What a command prints: a table with a header row (each column as wide as its widest cell, the last
 * one free), or, with `--json`, the same rows as one JSON document. Results go to stdout, logs to stderr.
 */

export interface Column<T> {
  header: string;
  cell: (row: T) => string;
  /** Numbers line up on the right. */
  right?: boolean;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string[] {
  const cells = rows.map((row) => columns.map((c) => c.cell(row).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : columns[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

/** The text of a message shortened to `max` characters on one line. */
export function preview(text: string, max = 40): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function json(value: unknown): string[] {
  return [JSON.stringify(value, null, 2)];
}

/** What the tests of `cicero-wa doctor` share: a stand-in Chromium, and one check's line of its output. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A stand-in browser executable that prints a version, so doctor's Chromium check is quick and predictable. */
export async function fakeChromium(dir: string): Promise<string> {
  const file = path.join(dir, 'chromium');
  await fs.writeFile(file, '#!/bin/sh\necho "Chromium 156.0.1234.5 built on Debian"\n', { mode: 0o755 });
  return file;
}

/** The line of `check` in doctor's output (`ok   name  detail`, `WARN name  detail`, `FAIL …`). */
export function line(stdout: string, check: string): string {
  const found = stdout.split('\n').find((l) => l.slice(5).startsWith(check));
  assert.ok(found, `no "${check}" line in:\n${stdout}`);
  return found;
}

/**
 * A session's browser can always be killed: while WhatsApp Web is being closed (its destroy not
 * answering), kill() reaches that browser too, not only a current one. What a process that lost a
 * session's lease relies on to be sure the number's old browser is gone (app/session-runtime.ts,
 * abandon). The browser is a real child process standing in for Chromium; WhatsApp Web is a stand-in.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../src/lib/logger.js';
import { waitUntil } from './helpers/dispatch.js';
import { standInTransport } from './helpers/wa-standin.js';
import { tempDir } from './helpers/cli.js';
import fs from 'node:fs/promises';
import path from 'node:path';

describe("killing a session's browser (stand-in WhatsApp Web, a real child process as its browser)", () => {
  const browsers: ChildProcess[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const b of browsers) if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  it('kill() during a close that hangs kills the browser being closed at once', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const browser = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    browsers.push(browser);
    const transport = standInTransport({ authPath: path.join(dir, 'wa-auth'), authProfile: 'kill', logger: silentLogger(), behaviour: {} }, (client) => {
      // A browser that does not answer destroy (WhatsApp Web frozen): close() waits out its own timeout.
      (client as unknown as { pupBrowser: unknown }).pupBrowser = { process: () => browser };
      client.destroy = () => new Promise<void>(() => undefined);
      setTimeout(() => client.emit('ready'), 10);
    });
    await transport.start();
    await waitUntil(() => transport.status().state === 'ready', 5000, 'ready');
    const closing = transport.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(browser.exitCode === null && browser.signalCode === null, true, 'still running while the close waits');
    transport.kill();
    const ms = await waitUntil(() => browser.signalCode === 'SIGKILL', 1000, 'the browser being closed killed');
    assert.ok(ms < 1000);
    await closing;
  });
});

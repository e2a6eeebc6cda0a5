/**
 * The deployment guide's files (docs/deployment.md, deploy/) stay true to the service: every setting
 * they give is one the service reads, and the settings of each file, with its values, are a
 * configuration the service accepts (the image's with those of the guide's `docker run`); the files the guide links to exist; the systemd unit passes
 * `systemd-analyze verify` where systemd is installed, and runs what `npm start` runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../src/config/index.js';
import { REPO_ROOT } from './helpers/cli.js';

const FILES = ['deploy/cicero-wa-gateway.service', 'deploy/Dockerfile', 'deploy/nginx.conf', 'deploy/Caddyfile'];

/** NAME=value settings in a file (Environment= lines, ENV lines, comments naming the settings that go with it). */
function settingsOf(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const [, name, value] of text.matchAll(/\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)=([^\s\\]*)/g)) {
    // A placeholder ("<at least 16 characters>", "$(openssl rand -hex 32)") stands for a good value.
    settings.set(name!, /^["']?[<$]/.test(value!) ? 'k'.repeat(32) : value!);
  }
  return settings;
}

const read = (file: string) => fs.readFile(path.join(REPO_ROOT, file), 'utf8');

describe('the deployment guide and its files', () => {
  it('name only settings the service reads (.env.example), and each file\'s settings are a configuration it accepts', async () => {
    const documented = new Set([...(await read('.env.example')).matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    documented.add('NODE_ENV');
    const guide = await read('docs/deployment.md');
    // The image's settings go with those the guide's `docker run` gives it.
    const dockerRun = settingsOf(guide.split('\n').filter((line) => /^\s*-e [A-Z]/.test(line)).join('\n'));
    assert.ok(dockerRun.has('API_KEY'), "the guide's docker run gives API_KEY");
    for (const file of [...FILES, 'docs/deployment.md']) {
      const settings = settingsOf(await read(file));
      if (file === 'deploy/Dockerfile') for (const [name, value] of dockerRun) settings.set(name, value);
      assert.deepEqual([...settings.keys()].filter((name) => !documented.has(name)), [], `${file} names settings the service does not read`);
      if (file.endsWith('.md')) continue; // the guide's examples are each a fragment
      assert.ok(settings.size > 0, `${file} gives its settings`);
      assert.doesNotThrow(() => parseConfig(Object.fromEntries(settings), '/srv/cicero-wa'), `${file}: its settings are refused`);
    }
  });

  it('links only to files that exist', async () => {
    const guide = await read('docs/deployment.md');
    const links = [...guide.matchAll(/\]\((\.\.\/[^)#\s]+)\)/g)].map((m) => path.normalize(path.join('docs', m[1]!)));
    assert.ok(links.some((l) => l.startsWith('deploy/')), 'the guide links to deploy/');
    assert.deepEqual(links.filter((l) => !existsSync(path.join(REPO_ROOT, l))), []);
    for (const file of FILES) assert.ok(guide.includes(file), `the guide names ${file}`);
  });

  it('the systemd unit runs what npm start runs, stops the service alone first, and passes systemd-analyze verify', async (t) => {
    const unit = await read('deploy/cicero-wa-gateway.service');
    const start = (JSON.parse(await read('package.json')) as { scripts: { start: string } }).scripts.start.replace(/^exec /, '');
    assert.match(unit, new RegExp(`^ExecStart=/usr/bin/${start.replace(/\./g, '\\.')}$`, 'm'), `ExecStart runs "${start}"`);
    assert.match(unit, /^KillMode=mixed$/m, 'SIGTERM to the service alone: it stops its PostgreSQL and Chromium itself');
    const verify = spawnSync('systemd-analyze', ['verify', path.join(REPO_ROOT, 'deploy/cicero-wa-gateway.service')], { encoding: 'utf8' });
    if (verify.error) {
      t.skip(`systemd-analyze is not installed here (${(verify.error as NodeJS.ErrnoException).code})`);
      return;
    }
    assert.equal(verify.status, 0, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`);
  });
});

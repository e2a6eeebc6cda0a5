/**
 * The deployment guide's files (docs/deployment.md, deploy/) stay true to the service: every setting
 * they give is one the service reads, and the settings of each file, with its values, are a
 * configuration the service accepts (the image's with those of the guide's `docker run`, and with those
 * of each Kubernetes workload); the files the guide links to exist; the systemd units pass
 * `systemd-analyze verify` where systemd is installed, run what `npm start` runs and give the service
 * time to hand its numbers over; the Kubernetes example runs each role as the guide says (probes on
 * /healthz and /readyz, workers with their own volume and their pod's name as WA_HOST_LABEL, memory
 * sized per session).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { BYTES_PER_SESSION, RESERVED_BYTES } from '../src/config/capacity.js';
import { parseConfig } from '../src/config/index.js';
import { REPO_ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dirs.js';

const UNITS = ['deploy/cicero-wa-gateway.service', 'deploy/cicero-wa-worker@.service', 'deploy/cicero-wa-http.service', 'deploy/cicero-wa-scheduler.service'];
const FILES = [...UNITS, 'deploy/Dockerfile', 'deploy/nginx.conf', 'deploy/Caddyfile'];
const KUBERNETES_DIR = 'deploy/kubernetes';
const KUBERNETES = ['secret.yaml', 'http.yaml', 'worker.yaml', 'scheduler.yaml'].map((f) => `${KUBERNETES_DIR}/${f}`);
/** The role each unit runs (the original unit: the default, everything). */
const UNIT_ROLES: Record<string, string> = {
  'deploy/cicero-wa-gateway.service': 'all',
  'deploy/cicero-wa-worker@.service': 'worker',
  'deploy/cicero-wa-http.service': 'http',
  'deploy/cicero-wa-scheduler.service': 'scheduler',
};
/** What systemd puts for the specifiers the units use: an instance (the worker's port) and a host name. */
const SPECIFIERS: Record<string, string> = { '%i': '8081', '%I': '8081', '%H': 'wa-1.polres.example', '%l': 'wa-1' };
const MIB = 1024 * 1024;

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

/** The service's own stop deadline (src/app/lifecycle.ts): a supervisor must wait longer than this. */
async function stopDeadlineSeconds(): Promise<number> {
  const match = /SHUTDOWN_DEADLINE_MS = (\d+)/.exec(await read('src/app/lifecycle.ts'));
  assert.ok(match, 'src/app/lifecycle.ts gives SHUTDOWN_DEADLINE_MS');
  return Number(match[1]) / 1000;
}

/** Memory for a worker running `sessions` sessions: 600 MiB each and 1 GiB for the service (src/config/capacity.ts). */
const workerMemoryMiB = (sessions: number) => (sessions * BYTES_PER_SESSION + RESERVED_BYTES) / MIB;

/** A unit's settings with systemd's specifiers put in, as systemd would run them. */
function unitSettings(text: string): Map<string, string> {
  const expanded = text.replace(/%[a-zA-Z]/g, (s) => SPECIFIERS[s] ?? s);
  return settingsOf(expanded);
}

/** One `Key=value` line of a unit ('' when absent; the last one wins). */
const unitValue = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].pop()?.[1] ?? '';

/** A systemd size (MemoryMax=3424M) in MiB: K, M, G, T are powers of 1024. */
function systemdMiB(size: string): number {
  const match = /^(\d+)([KMGT])?$/.exec(size);
  assert.ok(match, `"${size}" is a size`);
  const factor = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[match[2] as 'K' | 'M' | 'G' | 'T'] ?? 1 / MIB;
  return Number(match[1]) * factor;
}

/** A Kubernetes quantity (3424Mi, 1Gi) in MiB. */
function kubernetesMiB(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|Ti)$/.exec(quantity);
  assert.ok(match, `"${quantity}" is a quantity in Ki, Mi, Gi or Ti`);
  return Number(match[1]) * { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024 }[match[2] as 'Ki' | 'Mi' | 'Gi' | 'Ti'];
}

interface EnvVar {
  name: string;
  value?: unknown;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    serviceName?: string;
    selector?: Record<string, unknown> & { matchLabels?: Record<string, string> };
    ports?: Array<{ name?: string; port: number; targetPort?: string | number }>;
    clusterIP?: string;
    template?: { metadata: { labels: Record<string, string> }; spec: { terminationGracePeriodSeconds?: number; containers: Container[] } };
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
  };
}

async function manifests(): Promise<Array<Manifest & { file: string }>> {
  const all: Array<Manifest & { file: string }> = [];
  for (const file of KUBERNETES) {
    for (const doc of parseAllDocuments(await read(file))) {
      assert.deepEqual(doc.errors, [], `${file} is valid YAML`);
      const value = doc.toJS() as Manifest | null;
      if (value) all.push({ ...value, file });
    }
  }
  return all;
}

/** A workload's settings as its pod has them: the image's ENV, then its env, secrets and downward API put in. */
async function podSettings(workload: Manifest, all: Manifest[]): Promise<Map<string, string>> {
  const settings = settingsOf((await read('deploy/Dockerfile')).split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n'));
  const container = workload.spec!.template!.spec.containers[0]!;
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      // Kubernetes refuses a number or a boolean here ("8080" must be quoted).
      assert.equal(typeof variable.value, 'string', `${workload.metadata.name}: ${variable.name}'s value is a string`);
      settings.set(variable.name, variable.value as string);
    } else if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const secret = all.find((m) => m.kind === 'Secret' && m.metadata.name === name);
      assert.ok(secret?.stringData?.[key] !== undefined, `${workload.metadata.name}: ${variable.name} comes from the Secret ${name}, which gives ${key}`);
      settings.set(variable.name, secret.stringData[key]);
    } else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') {
      settings.set(variable.name, `${workload.metadata.name}-0`); // a StatefulSet's first pod
    } else {
      assert.fail(`${workload.metadata.name}: ${variable.name} has a value, a secretKeyRef or the pod's name`);
    }
  }
  return settings;
}

const probePath = (probe: Probe | undefined) => probe?.httpGet?.path;

describe('the deployment guide and its files', () => {
  it('name only settings the service reads (.env.example), and each file\'s settings are a configuration it accepts', async () => {
    const documented = new Set([...(await read('.env.example')).matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    documented.add('NODE_ENV');
    const guide = await read('docs/deployment.md');
    // The image's settings go with those the guide's `docker run` gives it.
    const dockerRun = settingsOf(guide.split('\n').filter((line) => /^\s*-e [A-Z]/.test(line)).join('\n'));
    assert.ok(dockerRun.has('API_KEY'), "the guide's docker run gives API_KEY");
    for (const file of [...FILES, 'docs/deployment.md']) {
      const settings = file.endsWith('.service') ? unitSettings(await read(file)) : settingsOf(await read(file));
      if (file === 'deploy/Dockerfile') for (const [name, value] of dockerRun) settings.set(name, value);
      assert.deepEqual([...settings.keys()].filter((name) => !documented.has(name)), [], `${file} names settings the service does not read`);
      if (file.endsWith('.md')) continue; // the guide's examples are each a fragment
      assert.ok(settings.size > 0, `${file} gives its settings`);
      assert.doesNotThrow(() => parseConfig(Object.fromEntries(settings), '/srv/cicero-wa'), `${file}: its settings are refused`);
    }
  });

  it('links only to files that exist, and names every file in deploy/', async () => {
    const guide = await read('docs/deployment.md');
    const links = [...guide.matchAll(/\]\((\.\.\/[^)#\s]+)\)/g)].map((m) => path.normalize(path.join('docs', m[1]!)));
    assert.ok(links.some((l) => l.startsWith('deploy/')), 'the guide links to deploy/');
    assert.deepEqual(links.filter((l) => !existsSync(path.join(REPO_ROOT, l))), []);
    for (const file of [...FILES, ...KUBERNETES, `${KUBERNETES_DIR}/kustomization.yaml`]) assert.ok(guide.includes(file), `the guide names ${file}`);
    // Nothing in deploy/ the guide and this test do not know.
    const present = [...(await fs.readdir(path.join(REPO_ROOT, 'deploy'))).filter((f) => f !== 'kubernetes').map((f) => `deploy/${f}`), ...(await fs.readdir(path.join(REPO_ROOT, KUBERNETES_DIR))).map((f) => `${KUBERNETES_DIR}/${f}`)];
    assert.deepEqual(present.filter((f) => ![...FILES, ...KUBERNETES, `${KUBERNETES_DIR}/kustomization.yaml`].includes(f)), []);
  });

  for (const file of UNITS) {
    it(`${file} runs what npm start runs as its role, stops the service alone, waits out its stop, and passes systemd-analyze verify`, async (t) => {
      const unit = await read(file);
      const start = (JSON.parse(await read('package.json')) as { scripts: { start: string } }).scripts.start.replace(/^exec /, '');
      assert.match(unit, new RegExp(`^ExecStart=/usr/bin/${start.replace(/\./g, '\\.')}$`, 'm'), `ExecStart runs "${start}"`);
      assert.match(unit, /^KillMode=mixed$/m, 'SIGTERM to the service alone: it stops its PostgreSQL and Chromium itself');
      const deadline = await stopDeadlineSeconds();
      assert.ok(Number(unitValue(unit, 'TimeoutStopSec')) >= deadline + 5, `TimeoutStopSec leaves the service its ${deadline} s to stop and hand over, and more`);
      const settings = unitSettings(unit);
      assert.equal(settings.get('SERVICE_ROLE') ?? 'all', UNIT_ROLES[file]);
      // Its own data directory, the one systemd makes for it.
      assert.equal(settings.get('DATA_DIR'), path.posix.join('/var/lib', unitValue(unit, 'StateDirectory').replace(/%[a-zA-Z]/g, (s) => SPECIFIERS[s] ?? s)));
      if (UNIT_ROLES[file] === 'worker') {
        const sessions = Number(settings.get('WA_MAX_SESSIONS'));
        assert.ok(sessions >= 1, 'a worker unit gives WA_MAX_SESSIONS (the service cannot read its MemoryMax)');
        assert.equal(systemdMiB(unitValue(unit, 'MemoryMax')), workerMemoryMiB(sessions), 'MemoryMax is WA_MAX_SESSIONS x 600 MiB + 1 GiB');
        assert.match(unit, /^Environment=WA_HOST_LABEL=.*%i/m, 'each instance its own host label (its own pairings)');
        assert.match(unit, /^Environment=HTTP_PORT=%i$/m, 'each instance its own port');
      }

      const dir = await tempDir('unit-');
      try {
        // A template is checked as itself and as an instance of it (its specifiers put in).
        const copies = [path.basename(file), ...(file.includes('@.') ? [path.basename(file).replace('@.', `@${SPECIFIERS['%i']}.`)] : [])];
        for (const copy of copies) await fs.writeFile(path.join(dir, copy), unit);
        for (const copy of copies) {
          const verify = spawnSync('systemd-analyze', ['verify', path.join(dir, copy)], { encoding: 'utf8' });
          if (verify.error) {
            t.skip(`systemd-analyze is not installed here (${(verify.error as NodeJS.ErrnoException).code})`);
            return;
          }
          assert.equal(verify.status, 0, `systemd-analyze verify ${copy}:\n${verify.stdout}${verify.stderr}`);
          // A line it cannot parse is reported ("…, ignoring") with status 0.
          const about = `${verify.stdout}${verify.stderr}`.split('\n').filter((line) => line.includes(copy));
          assert.deepEqual(about, [], `systemd-analyze verify has something to say about ${copy}`);
        }
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('the Kubernetes example: each workload\'s settings, with the image\'s and its Secret\'s, are a configuration the service accepts', async () => {
    const documented = new Set([...(await read('.env.example')).matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    documented.add('NODE_ENV');
    const all = await manifests();
    const workloads = all.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');
    assert.deepEqual(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort(), ['Deployment/cicero-wa-http', 'Deployment/cicero-wa-scheduler', 'StatefulSet/cicero-wa-worker']);
    for (const workload of workloads) {
      const settings = await podSettings(workload, all);
      assert.deepEqual([...settings.keys()].filter((name) => !documented.has(name)), [], `${workload.metadata.name} names settings the service does not read`);
      assert.doesNotThrow(() => parseConfig(Object.fromEntries(settings), '/app'), `${workload.metadata.name}: its settings are refused`);
    }
    const kustomization = await read(`${KUBERNETES_DIR}/kustomization.yaml`);
    for (const file of KUBERNETES) assert.match(kustomization, new RegExp(`^\\s*- ${path.basename(file).replace('.', '\\.')}$`, 'm'), `kustomization.yaml lists ${file}`);
  });

  it('the Kubernetes example runs each role as the guide says: probes, replicas, the workers\' volume, label and memory', async () => {
    const all = await manifests();
    const deadline = await stopDeadlineSeconds();
    const find = (kind: string, name: string) => {
      const found = all.find((m) => m.kind === kind && m.metadata.name === name);
      assert.ok(found, `${kind}/${name}`);
      return found;
    };
    for (const [kind, name, role] of [
      ['Deployment', 'cicero-wa-http', 'http'],
      ['Deployment', 'cicero-wa-scheduler', 'scheduler'],
      ['StatefulSet', 'cicero-wa-worker', 'worker'],
    ] as const) {
      const workload = find(kind, name);
      const settings = await podSettings(workload, all);
      const pod = workload.spec!.template!;
      const container = pod.spec.containers[0]!;
      assert.equal(settings.get('SERVICE_ROLE'), role, `${name} runs SERVICE_ROLE=${role}`);
      assert.deepEqual(workload.spec!.selector!.matchLabels, pod.metadata.labels, `${name}'s selector is its pods' labels`);
      assert.ok((pod.spec.terminationGracePeriodSeconds ?? 30) >= deadline + 5, `${name} leaves the service its ${deadline} s to stop`);
      // The probes reach the service's own port.
      const port = container.ports?.find((p) => p.name === 'http');
      assert.equal(String(port?.containerPort), settings.get('HTTP_PORT') ?? '8080', `${name}'s port "http" is HTTP_PORT`);
      assert.equal(probePath(container.livenessProbe), '/healthz', `${name}: liveness on /healthz`);
      assert.equal(probePath(container.startupProbe), '/healthz', `${name}: start-up on /healthz`);
      for (const probe of [container.livenessProbe, container.startupProbe, container.readinessProbe]) if (probe) assert.equal(probe.httpGet?.port, 'http');
      if (role === 'worker') {
        // A worker's /readyz is 503 while its numbers wait for a QR code: it would hold a rollout up.
        assert.equal(container.readinessProbe, undefined, 'workers have no readiness probe');
        assert.equal(workload.spec!.serviceName, 'cicero-wa-worker');
        const headless = find('Service', 'cicero-wa-worker');
        assert.equal(headless.spec!.clusterIP, 'None');
        // Each pod its own volume for DATA_DIR (the LocalAuth pairings of its numbers).
        const claim = workload.spec!.volumeClaimTemplates?.[0]?.metadata.name;
        assert.ok(claim, 'a volume claim per pod');
        assert.equal(container.volumeMounts?.find((v) => v.name === claim)?.mountPath, settings.get('DATA_DIR'), 'the volume is DATA_DIR');
        const label = container.env?.find((e) => e.name === 'WA_HOST_LABEL');
        assert.equal(label?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', "WA_HOST_LABEL is the pod's name");
        const sessions = Number(settings.get('WA_MAX_SESSIONS'));
        assert.ok(sessions >= 1, 'WA_MAX_SESSIONS is given');
        const memory = workerMemoryMiB(sessions);
        assert.equal(kubernetesMiB(container.resources!.requests!.memory!), memory, 'memory request: WA_MAX_SESSIONS x 600Mi + 1Gi');
        assert.equal(kubernetesMiB(container.resources!.limits!.memory!), memory, 'memory limit: WA_MAX_SESSIONS x 600Mi + 1Gi');
      } else {
        assert.equal(probePath(container.readinessProbe), '/readyz', `${name}: readiness on /readyz`);
        assert.ok(kubernetesMiB(container.resources!.limits!.memory!) >= 512, `${name}: a memory limit of 512Mi or more`);
      }
      if (role === 'http') {
        assert.ok((workload.spec!.replicas ?? 1) >= 2, 'the http Deployment runs two replicas or more');
        const service = find('Service', 'cicero-wa-http');
        assert.deepEqual(service.spec!.selector, pod.metadata.labels, 'the Service selects the http pods');
        assert.equal(service.spec!.ports?.[0]?.targetPort, 'http');
      }
      if (role === 'scheduler') assert.ok((workload.spec!.replicas ?? 1) >= 1);
    }
  });
});
